#ifndef PACED_LOG_H
#define PACED_LOG_H

/*
 * Structured logging: one line per event, logfmt or JSON. A line is an
 * event name plus key=value pairs; values holding spaces or quotes are
 * written as "%s" by the caller through log_quote().
 */

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_format {
	LOG_FORMAT_LOGFMT,
	LOG_FORMAT_JSON,
};

/* Sets the level below which lines are dropped before formatting. */
void log_set_level(enum log_level level);
/* Sets logfmt or JSON output. */
void log_set_format(enum log_format format);
/* Parses "error|warn|info|debug"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
/* Parses "logfmt|json"; returns 0 or -1. */
int log_format_parse(const char *s, enum log_format *out);
/* True when lines of this level are written (check before costly work). */
bool log_enabled(enum log_level level);
/* Routes libevent's internal messages into this module, at most 20 at
 * once and 10 a second (the rest counted in
 * paced_log_suppressed_total{source="libevent"}). Registers that metric:
 * call again after metrics_reset(). */
void log_route_libevent(void);

/* event: short snake_case name; fmt: key=value pairs. */
void log_error(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like log_warnx with err=strerror(errno) appended; preserves errno. */
void log_warn(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warnx(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug_at(const char *func, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define log_debug(event, ...) do {					\
	if (log_enabled(LOG_LEVEL_DEBUG))				\
		log_debug_at(__func__, (event), __VA_ARGS__);		\
} while (0)
/* Logs and exits 1: for startup and config only, never at runtime. */
void fatalx(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/*
 * Returns s quoted for a logfmt value in one of a few rotating static
 * buffers (valid until four more calls); use for free text and errors.
 */
const char *log_quote(const char *s);

#endif
