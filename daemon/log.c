/*
 * log.c: the one place lines are written. Callers give an event name and
 * logfmt pairs; this module adds time and level and, for the JSON format,
 * re-encodes the pairs as a JSON object. Everything runs on the loop
 * thread except librdkafka's log callback, which is routed through the
 * main queue so it too arrives here on the loop.
 */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_format(enum log_format format)
{
	log_format = format;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "logfmt") == 0)
		*out = LOG_FORMAT_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

const char *
log_quote(const char *s)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ & 3];
	size_t o = 0;

	b[o++] = '"';
	for (; *s != '\0' && o < sizeof(bufs[0]) - 3; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			b[o++] = '\\';
			b[o++] = (char)c;
		} else if (c < 0x20) {
			b[o++] = ' ';
		} else {
			b[o++] = (char)c;
		}
	}
	b[o++] = '"';
	b[o] = '\0';
	return b;
}

static void
json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Re-encodes logfmt pairs as JSON members; unquotes "..." values. */
static void
pairs_to_json(FILE *f, const char *p)
{
	char val[1024];

	while (*p != '\0') {
		const char *k, *eq;
		size_t vl = 0;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		eq = p;
		if (*p == '=')
			p++;
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ' ') {
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
		}
		fputc(',', f);
		json_string(f, k, (size_t)(eq - k));
		fputc(':', f);
		json_string(f, val, vl);
	}
}

static void
log_vwrite(enum log_level level, const char *func, const char *event,
    const char *fmt, va_list ap, const char *errstr)
{
	char msg[2048], ts[96];
	struct timespec now;
	struct tm tm;
	FILE *f = stderr;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

	flockfile(f);
	if (log_format == LOG_FORMAT_JSON) {
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts,
		    level_names[level]);
		json_string(f, event, strlen(event));
		if (func != NULL) {
			fputs(",\"func\":", f);
			json_string(f, func, strlen(func));
		}
		pairs_to_json(f, msg);
		if (errstr != NULL) {
			fputs(",\"err\":", f);
			json_string(f, errstr, strlen(errstr));
		}
		fputs("}\n", f);
	} else {
		fprintf(f, "ts=%s level=%s event=%s", ts, level_names[level],
		    event);
		if (func != NULL)
			fprintf(f, " func=%s", func);
		if (msg[0] != '\0')
			fprintf(f, " %s", msg);
		if (errstr != NULL)
			fprintf(f, " err=%s", log_quote(errstr));
		fputc('\n', f);
	}
	funlockfile(f);
	fflush(f);
}

#define LOG_BODY(level, func, errstr) do {				\
	va_list ap;							\
	if (!log_enabled(level))					\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite((level), (func), event, fmt, ap, (errstr));		\
	va_end(ap);							\
} while (0)

void
log_error(const char *event, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL, NULL);
}

void
log_warn(const char *event, const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_WARN, NULL, strerror(saved));
	errno = saved;
}

void
log_warnx(const char *event, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL, NULL);
}

void
log_info(const char *event, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL, NULL);
}

void
log_debug_at(const char *func, const char *event, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, func, NULL);
}

void
fatalx(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, event, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/*
 * libevent's own lines pass a token bucket: LIBEVENT_BURST at once, then
 * LIBEVENT_PER_SEC a second. A library that logs in a loop (accept()
 * failing on EMFILE, say) must not flood the journal or starve the loop
 * on writes; what is dropped is counted, and said in the next line
 * that passes.
 */
#define LIBEVENT_BURST		20
#define LIBEVENT_PER_SEC	10

static double libevent_tokens = LIBEVENT_BURST;
static int64_t libevent_last_ms;
static uint64_t libevent_dropped;	/* since the last line that passed */
static struct metric *m_libevent_suppressed;

static bool
libevent_allow(void)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (libevent_last_ms != 0) {
		libevent_tokens += (double)(now - libevent_last_ms) *
		    LIBEVENT_PER_SEC / 1000.0;
		if (libevent_tokens > LIBEVENT_BURST)
			libevent_tokens = LIBEVENT_BURST;
	}
	libevent_last_ms = now;
	if (libevent_tokens < 1) {
		libevent_dropped++;
		if (m_libevent_suppressed != NULL)
			metrics_inc(m_libevent_suppressed);
		return false;
	}
	libevent_tokens -= 1;
	return true;
}

static void
libevent_log_cb(int severity, const char *msg)
{
	enum log_level level = severity == EVENT_LOG_DEBUG ? LOG_LEVEL_DEBUG :
	    severity == EVENT_LOG_MSG ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;

	if (!log_enabled(level) || !libevent_allow())
		return;
	if (libevent_dropped > 0) {
		log_warnx("libevent_suppressed", "lines=%llu",
		    (unsigned long long)libevent_dropped);
		libevent_dropped = 0;
	}
	switch (level) {
	case LOG_LEVEL_DEBUG:
		log_debug("libevent", "msg=%s", log_quote(msg));
		break;
	case LOG_LEVEL_INFO:
		log_info("libevent", "msg=%s", log_quote(msg));
		break;
	default:
		log_warnx("libevent", "msg=%s", log_quote(msg));
		break;
	}
}

void
log_route_libevent(void)
{
	m_libevent_suppressed = metrics_counter("paced_log_suppressed_total",
	    "source=\"libevent\"",
	    "Log lines of a library dropped by the rate limit");
	event_set_log_callback(libevent_log_cb);
}
