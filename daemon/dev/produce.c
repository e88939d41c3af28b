/*
 * produce.c: paced-produce, a command-line producer for the activity topic.
 * It sends JSON lines from a file, exact KEY<TAB>VALUE lines (--keyed), or
 * a synthetic demo stream for the roster of a paced config (--synthetic).
 * Unlike the daemon it blocks freely: the main thread paces, hands
 * messages to librdkafka and serves delivery reports through
 * rd_kafka_poll(); at exit it flushes (bounded) and reports failures in its
 * exit status.
 *
 * Messages are keyed by rep_id and partitioned with librdkafka's
 * murmur2_random, which places a keyed message where the Java client's
 * default partitioner does, so any tool can tell which partition holds a
 * rep's events.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "caltime.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define PRODUCE_MAX_LINE	(1024 * 1024)	/* bytes, without the newline */
#define PRODUCE_SUMMARY_NS	(10 * 1000000000LL)
#define PRODUCE_FLUSH_MS	30000
#define PRODUCE_DEFAULT_RATE	20.0	/* events/s of the synthetic stream */
#define PRODUCE_DEFAULT_BAD	0.002
#define PRODUCE_DUP_RATIO	0.01
#define PRODUCE_RING		32	/* recent events a duplicate may copy */

static volatile sig_atomic_t produce_stop;

struct produce {
	rd_kafka_t *rk;
	const char *topic;
	double rate;		/* messages/s; 0: as fast as possible */
	int64_t interval_ns;
	int64_t next_ns;	/* monotonic time the next send is due */
	int64_t summary_ns;	/* monotonic time of the next summary */
	int64_t start_ns;

	uint64_t sent;		/* handed to librdkafka */
	uint64_t delivered;
	uint64_t failed;	/* delivery errors, refused or never flushed */
	uint64_t input_errors;	/* lines that could not be sent */
	char first_error[256];

	struct synth *synth;	/* NULL unless --synthetic */
};

/* ---- the synthetic stream ---- */

enum synth_profile {
	SYNTH_STEADY,
	SYNTH_LAGGING,
	SYNTH_IDLE,
};

static const char *const synth_profile_names[] = {
	"steady", "lagging", "idle",
};

/*
 * The activity funnel of a steady rep, as relative frequencies: calls and
 * emails dominate, about one call in six becomes a conversation, one
 * conversation in five books a meeting, and the later stages thin out
 * from there. A lagging rep has the same mix at a third of the rate.
 */
static const struct {
	const char *type;
	double weight;
} synth_funnel[] = {
	{ "call",			54.0 },
	{ "email",			30.0 },
	{ "conversation",		 9.0 },
	{ "meeting_scheduled",		 1.8 },
	{ "meeting_held",		 1.4 },
	{ "roi_discussion",		 0.9 },
	{ "proposal_sent",		 0.6 },
	{ "sales_accepted_opportunity",	 0.5 },
	{ "deal_closed",		 0.2 },
};
#define SYNTH_NFUNNEL (sizeof(synth_funnel) / sizeof(synth_funnel[0]))

enum synth_bad {
	SYNTH_BAD_MALFORMED,
	SYNTH_BAD_MISSING_FIELD,
	SYNTH_BAD_UNKNOWN_TYPE,
	SYNTH_BAD_UNKNOWN_REP,
	SYNTH_BAD_COUNT
};

static const char *const synth_bad_names[] = {
	"malformed_json", "missing_field", "unknown_type", "unknown_rep",
};

struct synth_type {
	const char *name;	/* borrowed from the funnel or the config */
	double cum;		/* cumulative weight, for sampling */
	uint64_t sent;
};

struct synth_rep {
	const char *id;		/* borrowed from the config */
	const char *team;
	struct tzone *tz;	/* borrowed from synth.zones; may be NULL */
	enum synth_profile profile;
	double cum;		/* cumulative weight, for sampling */
};

struct synth {
	struct config *cfg;
	struct tzone **zones;	/* one per team; NULL where it did not open */
	struct synth_rep *reps;	/* only reps with a non-zero weight */
	size_t nreps;
	struct synth_type *types;
	size_t ntypes;
	double bad_ratio;
	char unknown_rep[32];	/* the rep id of the last unknown_rep event */
	uint64_t rng;		/* choices: deterministic from the seed */
	uint64_t idrng;		/* event ids: different on every run */

	struct {
		char *key;
		char *value;
	} ring[PRODUCE_RING];
	size_t ring_len, ring_next;

	uint64_t dups;
	uint64_t bad[SYNTH_BAD_COUNT];
};

static int64_t
produce_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
produce_on_signal(int sig)
{
	(void)sig;
	produce_stop = 1;
}

/* splitmix64: small, fast, and good enough to make demo data. */
static uint64_t
synth_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static double
synth_uniform(uint64_t *s)
{
	return (double)(synth_next(s) >> 11) * 0x1.0p-53;
}

static bool
synth_type_configured(const struct config *c, const char *type)
{
	for (size_t k = 0; k < c->nkpis; k++) {
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			if (strcmp(c->kpis[k].events[e], type) == 0)
				return true;
		}
	}
	return false;
}

/*
 * Builds the type table: the funnel types the config counts, or, when it
 * counts none of them, every configured event type with equal weight.
 */
static void
synth_build_types(struct synth *s)
{
	const struct config *c = s->cfg;
	double cum = 0;

	s->types = xcalloc(SYNTH_NFUNNEL, sizeof(*s->types));
	for (size_t i = 0; i < SYNTH_NFUNNEL; i++) {
		if (!synth_type_configured(c, synth_funnel[i].type))
			continue;
		cum += synth_funnel[i].weight;
		s->types[s->ntypes].name = synth_funnel[i].type;
		s->types[s->ntypes++].cum = cum;
	}
	if (s->ntypes > 0)
		return;

	for (size_t k = 0; k < c->nkpis; k++) {
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			bool dup = false;

			for (size_t t = 0; t < s->ntypes; t++)
				dup |= strcmp(s->types[t].name,
				    c->kpis[k].events[e]) == 0;
			if (dup)
				continue;
			s->types = xreallocarray(s->types, s->ntypes + 1,
			    sizeof(*s->types));
			s->types[s->ntypes].name = c->kpis[k].events[e];
			s->types[s->ntypes].sent = 0;
			s->types[s->ntypes].cum = (double)(s->ntypes + 1);
			s->ntypes++;
		}
	}
}

/*
 * Assigns profiles: every twelfth rep in roster order starting with the
 * fifth (r005, r017, r029, r041, r053 in the dev roster) is idle, so the
 * demo always has silent reps to alert on; about a fifth of the others,
 * picked by the seed, lag at a third of the normal rate.
 */
static void
synth_build_reps(struct synth *s)
{
	const struct config *c = s->cfg;
	enum synth_profile *prof = xcalloc(c->nreps, sizeof(*prof));
	size_t *active = xcalloc(c->nreps, sizeof(*active));
	size_t nactive = 0, nlag;
	double cum = 0;
	char idle[1024] = "", lag[1024] = "";

	for (size_t i = 0; i < c->nreps; i++) {
		if (i % 12 == 4)
			prof[i] = SYNTH_IDLE;
		else
			active[nactive++] = i;
	}
	/* A partial Fisher-Yates shuffle picks the laggards. */
	nlag = (c->nreps + 2) / 5;
	if (nlag > nactive)
		nlag = nactive;
	for (size_t i = 0; i < nlag; i++) {
		size_t j = i + (size_t)(synth_next(&s->rng) % (nactive - i));
		size_t t = active[i];

		active[i] = active[j];
		active[j] = t;
		prof[active[i]] = SYNTH_LAGGING;
	}

	s->reps = xcalloc(c->nreps, sizeof(*s->reps));
	for (size_t i = 0; i < c->nreps; i++) {
		char *list = prof[i] == SYNTH_IDLE ? idle : lag;
		size_t len = strlen(list);

		if (prof[i] != SYNTH_STEADY && len + 140 < sizeof(idle))
			snprintf(list + len, sizeof(idle) - len, "%s%s",
			    len > 0 ? "," : "", c->reps[i].id);
		if (prof[i] == SYNTH_IDLE)
			continue;
		cum += prof[i] == SYNTH_LAGGING ? 1.0 / 3.0 : 1.0;
		s->reps[s->nreps].id = c->reps[i].id;
		s->reps[s->nreps].team = c->teams[c->reps[i].team].id;
		s->reps[s->nreps].tz = s->zones[c->reps[i].team];
		s->reps[s->nreps].profile = prof[i];
		s->reps[s->nreps++].cum = cum;
	}
	log_info("synthetic_profiles", "reps=%zu active=%zu %s=%s %s=%s",
	    c->nreps, s->nreps, synth_profile_names[SYNTH_IDLE],
	    log_quote(idle), synth_profile_names[SYNTH_LAGGING],
	    log_quote(lag));
	free(active);
	free(prof);
}

/* Loads the config and builds the generator; exits on error. */
static struct synth *
synth_new(const char *path, uint64_t seed, double bad_ratio)
{
	struct synth *s = xcalloc(1, sizeof(*s));
	char *errs = NULL, err[256];
	uint64_t entropy;
	struct timespec ts;

	if ((s->cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "%s", errs != NULL ? errs : "");
		fatalx("config", "path=%s msg=\"cannot load\"", log_quote(path));
	}
	free(errs);
	if (s->cfg->nreps == 0 || s->cfg->nkpis == 0)
		fatalx("config", "path=%s msg=\"no reps or no KPIs\"",
		    log_quote(path));

	s->rng = seed;
	/* Ids must differ between runs, or paced would drop a rerun as
	 * duplicates of the last one. */
	if (getentropy(&entropy, sizeof(entropy)) != 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		entropy = (uint64_t)ts.tv_sec * 1000000000ULL +
		    (uint64_t)ts.tv_nsec;
		entropy ^= (uint64_t)getpid() << 32;
	}
	s->idrng = entropy;
	s->bad_ratio = bad_ratio;

	s->zones = xcalloc(s->cfg->nteams, sizeof(*s->zones));
	for (size_t t = 0; t < s->cfg->nteams; t++) {
		s->zones[t] = tzone_open(s->cfg->teams[t].timezone, err,
		    sizeof(err));
		if (s->zones[t] == NULL)
			log_warnx("timezone", "team=%s msg=\"UTC only\" err=%s",
			    s->cfg->teams[t].id, log_quote(err));
	}
	synth_build_types(s);
	synth_build_reps(s);
	if (s->nreps == 0)
		log_warnx("synthetic", "msg=\"every rep is idle\"");
	return s;
}

static void
synth_free(struct synth *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ring_len; i++) {
		free(s->ring[i].key);
		free(s->ring[i].value);
	}
	for (size_t t = 0; t < s->cfg->nteams; t++)
		tzone_free(s->zones[t]);
	free(s->zones);
	free(s->reps);
	free(s->types);
	config_free(s->cfg);
	free(s);
}

/* Appends s as a JSON string (quotes included) to buf at *off. */
static void
synth_json_str(char *buf, size_t size, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (*off + 1 < size)
		buf[(*off)++] = '"';
	for (; *s != '\0' && *off + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[(*off)++] = '\\';
			buf[(*off)++] = (char)c;
		} else if (c < 0x20) {
			buf[(*off)++] = '\\';
			buf[(*off)++] = 'u';
			buf[(*off)++] = '0';
			buf[(*off)++] = '0';
			buf[(*off)++] = hex[c >> 4];
			buf[(*off)++] = hex[c & 15];
		} else
			buf[(*off)++] = (char)c;
	}
	if (*off + 1 < size)
		buf[(*off)++] = '"';
	buf[*off] = '\0';
}

static void
synth_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
synth_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = (size_t)n < size - *off ? *off + (size_t)n : size - 1;
}

/* A version-4-shaped UUID, unique within the run by construction. */
static void
synth_event_id(struct synth *s, char *buf, size_t size)
{
	uint64_t a = synth_next(&s->idrng), b = synth_next(&s->idrng);

	snprintf(buf, size, "%08x-%04x-4%03x-%04x-%012llx",
	    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
	    (unsigned)a & 0xfff, (unsigned)((b >> 48) & 0x3fff) | 0x8000,
	    (unsigned long long)(b & 0xffffffffffffULL));
}

/* occurred_at = ms, in UTC ("Z") or in the zone's local offset. */
static void
synth_timestamp(struct tzone *tz, bool local, int64_t ms, char *buf,
    size_t size)
{
	int32_t off;
	int64_t l;
	time_t secs;
	struct tm tm;
	int offmin;

	if (tz == NULL || !local) {
		caltime_format_utc(ms, buf, size);
		return;
	}
	off = tzone_offset_at(tz, ms);
	offmin = off / 60000;
	l = ms + (int64_t)offmin * 60000;
	secs = (time_t)(l / 1000);
	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(l % 1000), offmin < 0 ? '-' : '+',
	    abs(offmin) / 60, abs(offmin) % 60);
}

/*
 * Writes one event object to buf. bad selects a defect (or
 * SYNTH_BAD_COUNT for none). Returns the rep id to key it by, valid
 * until the next call.
 */
static const char *
synth_event(struct synth *s, char *buf, size_t size, enum synth_bad bad,
    size_t *typeidx)
{
	const struct synth_rep *r;
	const char *type, *rep_id;
	char id[40], ts[48];
	double x = synth_uniform(&s->rng) * s->reps[s->nreps - 1].cum;
	size_t lo = 0, hi = s->nreps - 1, off = 0;

	while (lo < hi) {		/* first rep with cum > x */
		size_t mid = lo + (hi - lo) / 2;

		if (s->reps[mid].cum > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	r = &s->reps[lo];

	x = synth_uniform(&s->rng) * s->types[s->ntypes - 1].cum;
	for (*typeidx = 0; *typeidx + 1 < s->ntypes &&
	    s->types[*typeidx].cum <= x; (*typeidx)++)
		;
	type = s->types[*typeidx].name;
	rep_id = r->id;
	if (bad == SYNTH_BAD_UNKNOWN_TYPE)
		type = "fax_sent";
	if (bad == SYNTH_BAD_UNKNOWN_REP) {
		snprintf(s->unknown_rep, sizeof(s->unknown_rep), "zz%03u",
		    (unsigned)(synth_next(&s->rng) % 1000));
		rep_id = s->unknown_rep;
	}

	synth_event_id(s, id, sizeof(id));
	synth_timestamp(r->tz, synth_uniform(&s->rng) < 0.5,
	    caltime_wall_ms(), ts, sizeof(ts));

	synth_appendf(buf, size, &off, "{\"event_id\":\"%s\",\"rep_id\":", id);
	synth_json_str(buf, size, &off, rep_id);
	synth_appendf(buf, size, &off, ",\"type\":");
	synth_json_str(buf, size, &off, type);
	/* The missing field is occurred_at: without it nothing is countable. */
	if (bad != SYNTH_BAD_MISSING_FIELD)
		synth_appendf(buf, size, &off, ",\"occurred_at\":\"%s\"", ts);
	if (strcmp(type, "deal_closed") == 0)
		synth_appendf(buf, size, &off, ",\"amount\":%.2f",
		    5000.0 + floor(synth_uniform(&s->rng) * 1500.0) * 50.0);
	if (strcmp(type, "email") == 0 && synth_uniform(&s->rng) < 0.05)
		synth_appendf(buf, size, &off, ",\"count\":%u",
		    2 + (unsigned)(synth_next(&s->rng) % 3));
	if (synth_uniform(&s->rng) < 0.5) {
		synth_appendf(buf, size, &off, ",\"team_id\":");
		synth_json_str(buf, size, &off, r->team);
	}
	synth_appendf(buf, size, &off, ",\"source\":\"paced-produce\"}");
	if (bad == SYNTH_BAD_MALFORMED)
		buf[off / 2] = '\0';	/* cut mid-object */
	return rep_id;
}

static void
synth_remember(struct synth *s, const char *key, const char *value)
{
	size_t i = s->ring_next;

	if (i < s->ring_len) {
		free(s->ring[i].key);
		free(s->ring[i].value);
	} else
		s->ring_len++;
	s->ring[i].key = xstrdup(key);
	s->ring[i].value = xstrdup(value);
	s->ring_next = (i + 1) % PRODUCE_RING;
}

/* ---- producing ---- */

static void
produce_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct produce *p = opaque;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		p->delivered++;
		return;
	}
	if (p->failed++ == 0)
		snprintf(p->first_error, sizeof(p->first_error), "%s",
		    rd_kafka_err2str(m->err));
}

static void
produce_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[256];

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		log_error("kafka_fatal", "err=%s", log_quote(fatal));
		produce_stop = 1;
		return;
	}
	log_warnx("kafka_error", "code=%s err=%s", rd_kafka_err2name(err),
	    log_quote(reason));
}

/*
 * librdkafka logs from its own threads; log.c's quoting buffers are not
 * shared across threads, so these lines are written directly, in the same
 * logfmt shape.
 */
static void
produce_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	fprintf(stderr, "level=%s event=rdkafka fac=%s msg=\"%s\"\n",
	    level <= 3 ? "error" : level <= 5 ? "warn" : "info", fac, buf);
}

static void
produce_summary(struct produce *p, const char *event)
{
	char buf[1536];
	size_t off = 0;
	double secs = (double)(produce_mono_ns() - p->start_ns) / 1e9;

	synth_appendf(buf, sizeof(buf), &off,
	    "sent=%llu delivered=%llu delivery_errors=%llu input_errors=%llu "
	    "elapsed_s=%.0f",
	    (unsigned long long)p->sent, (unsigned long long)p->delivered,
	    (unsigned long long)p->failed,
	    (unsigned long long)p->input_errors, secs);
	if (p->synth != NULL) {
		struct synth *s = p->synth;

		for (size_t t = 0; t < s->ntypes; t++)
			synth_appendf(buf, sizeof(buf), &off, " %s=%llu",
			    s->types[t].name,
			    (unsigned long long)s->types[t].sent);
		synth_appendf(buf, sizeof(buf), &off, " duplicate=%llu",
		    (unsigned long long)s->dups);
		for (int b = 0; b < SYNTH_BAD_COUNT; b++)
			synth_appendf(buf, sizeof(buf), &off, " bad_%s=%llu",
			    synth_bad_names[b], (unsigned long long)s->bad[b]);
	}
	if (p->first_error[0] != '\0')
		synth_appendf(buf, sizeof(buf), &off, " first_error=%s",
		    log_quote(p->first_error));
	log_info(event, "%s", buf);
}

/* Serves delivery reports and prints the periodic summary. */
static void
produce_poll(struct produce *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
	if (produce_mono_ns() >= p->summary_ns) {
		produce_summary(p, "produce_summary");
		p->summary_ns += PRODUCE_SUMMARY_NS;
	}
}

/*
 * Waits until the next message is due at the configured rate. A stall
 * longer than a second is not made up in one burst.
 */
static void
produce_pace(struct produce *p)
{
	int64_t now;

	if (p->rate <= 0) {
		produce_poll(p, 0);
		return;
	}
	now = produce_mono_ns();
	if (p->next_ns < now - 1000000000LL)
		p->next_ns = now - 1000000000LL;
	while (!produce_stop && (now = produce_mono_ns()) < p->next_ns) {
		int64_t left = p->next_ns - now;

		if (left >= 1000000) {
			produce_poll(p, left > 1000000000LL ? 1000 :
			    (int)(left / 1000000));
		} else {
			struct timespec ts = { 0, (long)left };

			produce_poll(p, 0);
			nanosleep(&ts, NULL);
		}
	}
	p->next_ns += p->interval_ns;
}

/*
 * Hands one message to librdkafka (copied), waiting while its queue is
 * full. Borrows key (NULL for none) and value. Returns 0 or -1.
 */
static int
produce_send(struct produce *p, const void *key, size_t keylen,
    const void *value, size_t len)
{
	rd_kafka_resp_err_t err;

	if (key == NULL)
		keylen = 0;
	produce_pace(p);
	for (;;) {
		err = rd_kafka_producev(p->rk,
		    RD_KAFKA_V_TOPIC(p->topic),
		    RD_KAFKA_V_KEY(key, keylen),
		    RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		produce_poll(p, 100);
		if (produce_stop)
			break;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (p->failed++ == 0)
			snprintf(p->first_error, sizeof(p->first_error), "%s",
			    rd_kafka_err2str(err));
		return -1;
	}
	p->sent++;
	return 0;
}

/* The key of a JSON line: its string rep_id, or none. */
static void
produce_json_line(struct produce *p, const char *line, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "rep_id");
	const char *key = NULL;

	if (cJSON_IsString(rep) && rep->valuestring != NULL &&
	    rep->valuestring[0] != '\0')
		key = rep->valuestring;
	produce_send(p, key, key == NULL ? 0 : strlen(key), line, len);
	cJSON_Delete(root);
}

static void
produce_file(struct produce *p, const char *path, bool keyed)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *line = NULL, *tab;
	size_t cap = 0, keylen;
	ssize_t n;
	unsigned long lineno = 0;

	if (in == NULL)
		fatalx("input", "path=%s err=%s", log_quote(path),
		    log_quote(strerror(errno)));
	while (!produce_stop && (n = getline(&line, &cap, in)) != -1) {
		size_t len = (size_t)n;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > PRODUCE_MAX_LINE) {
			log_warnx("input", "line=%lu bytes=%zu "
			    "msg=\"longer than 1 MiB, skipped\"", lineno, len);
			p->input_errors++;
			continue;
		}
		if (!keyed) {
			if (len > 0)	/* blank lines separate nothing */
				produce_json_line(p, line, len);
			continue;
		}
		if ((tab = memchr(line, '\t', len)) == NULL) {
			log_warnx("input", "line=%lu msg=\"no TAB after the "
			    "key, skipped\"", lineno);
			p->input_errors++;
			continue;
		}
		keylen = (size_t)(tab - line);
		produce_send(p, keylen == 0 ? NULL : line, keylen, tab + 1,
		    len - keylen - 1);
	}
	if (ferror(in) && !produce_stop) {
		log_warn("input", "path=%s line=%lu", log_quote(path), lineno);
		p->input_errors++;
	}
	free(line);
	if (in != stdin)
		fclose(in);
}

static void
produce_synthetic(struct produce *p, double duration)
{
	struct synth *s = p->synth;
	char buf[2048];
	int64_t end = duration > 0 ?
	    p->start_ns + (int64_t)(duration * 1e9) : INT64_MAX;
	size_t t;
	const char *key;

	while (!produce_stop && produce_mono_ns() < end) {
		double x = synth_uniform(&s->rng);

		if (s->nreps == 0) {
			produce_poll(p, 1000);
			continue;
		}
		if (x < s->bad_ratio) {
			enum synth_bad b = (enum synth_bad)(synth_next(&s->rng) %
			    SYNTH_BAD_COUNT);

			key = synth_event(s, buf, sizeof(buf), b, &t);
			if (produce_send(p, key, strlen(key), buf,
			    strlen(buf)) == 0)
				s->bad[b]++;
		} else if (x < s->bad_ratio + PRODUCE_DUP_RATIO &&
		    s->ring_len > 0) {
			size_t i = (size_t)(synth_next(&s->rng) % s->ring_len);

			if (produce_send(p, s->ring[i].key,
			    strlen(s->ring[i].key), s->ring[i].value,
			    strlen(s->ring[i].value)) == 0)
				s->dups++;
		} else {
			key = synth_event(s, buf, sizeof(buf), SYNTH_BAD_COUNT,
			    &t);
			if (produce_send(p, key, strlen(key), buf,
			    strlen(buf)) == 0) {
				s->types[t].sent++;
				synth_remember(s, key, buf);
			}
		}
	}
}

static void
produce_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK)
		fatalx("kafka_config", "property=%s err=%s", log_quote(name),
		    log_quote(errstr));
}

/* Reads the first line of path (a bootstrap list); returns it owned. */
static char *
produce_read_brokers(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		fatalx("brokers_file", "path=%s err=%s", log_quote(path),
		    log_quote(strerror(errno)));
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n <= 0)
		fatalx("brokers_file", "path=%s msg=\"empty\"", log_quote(path));
	return line;
}

static int
produce_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void __attribute__((noreturn))
produce_usage(FILE *f, int status)
{
	fprintf(f,
"usage: paced-produce (--brokers LIST | --brokers-file PATH) [--topic NAME]\n"
"                     [--rate N] [--property KEY=VALUE]...\n"
"                     (--file PATH [--keyed] | --synthetic --config FILE\n"
"                      [--duration SECONDS] [--seed N] [--bad-ratio F])\n"
"\n"
"Produces activity events to Kafka, keyed by rep_id.\n"
"\n"
"  --brokers LIST        bootstrap servers, host:port[,host:port...]\n"
"  --brokers-file PATH   read the bootstrap list from the first line of PATH\n"
"  --topic NAME          topic (default sales.activity)\n"
"  --rate N              messages per second; 0 = as fast as possible\n"
"                        (default 0 for --file, %g for --synthetic)\n"
"  --property KEY=VALUE  any librdkafka property (repeatable); overrides the\n"
"                        defaults below\n"
"  --file PATH           JSON lines, \"-\" for stdin: each line is one value,\n"
"                        keyed by its string rep_id (no key when the line is\n"
"                        not JSON or has none); blank lines are skipped\n"
"  --keyed               lines are KEY<TAB>VALUE, split at the first TAB;\n"
"                        the value is sent byte for byte (NUL bytes and\n"
"                        invalid UTF-8 included); an empty KEY sends no key\n"
"  --synthetic           a demo stream for the reps of --config FILE\n"
"  --duration SECONDS    stop after this long (default: until SIGINT/SIGTERM)\n"
"  --seed N              profile and event choices (default 1); event ids\n"
"                        are unique on every run whatever the seed\n"
"  --bad-ratio F         share of deliberately bad events (default %g)\n"
"\n"
"Lines may be up to 1 MiB. Defaults: enable.idempotence=true, linger.ms=5,\n"
"compression.type=lz4, partitioner=murmur2_random (the Java client's, so a\n"
"rep's partition is murmur2(rep_id) mod partitions).\n"
"\n"
"The synthetic stream: every twelfth rep of the roster starting with the\n"
"fifth is idle (r005, r017, r029, r041, r053 in config/dev.yaml); about a\n"
"fifth of the others, picked by the seed, lag at a third of the normal rate;\n"
"the rest are steady. Types follow a funnel (calls and emails, a\n"
"conversation per ~6 calls, a meeting per ~5 conversations, ..., deals of\n"
"5k-80k), only the types the config counts. About 1%% are exact resends\n"
"and --bad-ratio are malformed JSON, a missing occurred_at, an unknown type\n"
"or an unknown rep. A summary line goes to stderr every 10 s.\n"
"\n"
"Exits non-zero if any message was not delivered or any line not sent.\n",
	    PRODUCE_DEFAULT_RATE, PRODUCE_DEFAULT_BAD);
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers",		required_argument, NULL, 'b' },
		{ "brokers-file",	required_argument, NULL, 'B' },
		{ "topic",		required_argument, NULL, 't' },
		{ "rate",		required_argument, NULL, 'r' },
		{ "property",		required_argument, NULL, 'X' },
		{ "file",		required_argument, NULL, 'f' },
		{ "keyed",		no_argument,	   NULL, 'k' },
		{ "synthetic",		no_argument,	   NULL, 's' },
		{ "config",		required_argument, NULL, 'c' },
		{ "duration",		required_argument, NULL, 'd' },
		{ "seed",		required_argument, NULL, 'S' },
		{ "bad-ratio",		required_argument, NULL, 'R' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct produce p;
	const char *brokers = NULL, *brokers_file = NULL, *file = NULL;
	const char *config = NULL;
	char **props = NULL, *owned_brokers = NULL, *end, errstr[512];
	size_t nprops = 0;
	bool keyed = false, synthetic = false;
	double rate = -1, duration = 0, bad_ratio = PRODUCE_DEFAULT_BAD;
	unsigned long long seed = 1;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t err;
	struct sigaction sa;
	sigset_t set;
	int ch, status;

	memset(&p, 0, sizeof(p));
	p.topic = "sales.activity";
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			brokers = optarg;
			break;
		case 'B':
			brokers_file = optarg;
			break;
		case 't':
			p.topic = optarg;
			break;
		case 'r':
			if (produce_parse_double(optarg, 0, 1e7, &rate) != 0)
				fatalx("usage", "msg=\"--rate wants 0..1e7\"");
			break;
		case 'X':
			if (strchr(optarg, '=') == NULL)
				fatalx("usage", "msg=\"--property wants "
				    "KEY=VALUE\"");
			props = xreallocarray(props, nprops + 1,
			    sizeof(*props));
			props[nprops++] = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'k':
			keyed = true;
			break;
		case 's':
			synthetic = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'd':
			if (produce_parse_double(optarg, 0, 1e9,
			    &duration) != 0)
				fatalx("usage", "msg=\"--duration wants "
				    "seconds\"");
			break;
		case 'S':
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0')
				fatalx("usage", "msg=\"--seed wants a number\"");
			break;
		case 'R':
			if (produce_parse_double(optarg, 0, 1,
			    &bad_ratio) != 0)
				fatalx("usage", "msg=\"--bad-ratio wants "
				    "0..1\"");
			break;
		case 'h':
			produce_usage(stdout, 0);
		default:
			produce_usage(stderr, 2);
		}
	}
	if (optind != argc || (file == NULL) == !synthetic ||
	    (brokers == NULL) == (brokers_file == NULL) ||
	    (keyed && file == NULL) || (synthetic && config == NULL))
		produce_usage(stderr, 2);
	if (brokers_file != NULL)
		brokers = owned_brokers = produce_read_brokers(brokers_file);
	if (rate < 0)
		rate = synthetic ? PRODUCE_DEFAULT_RATE : 0;
	if (synthetic)
		p.synth = synth_new(config, seed, bad_ratio);

	/*
	 * librdkafka's threads inherit the mask while these are blocked, so
	 * the stop signals land on this thread and interrupt its sleeps and
	 * reads (no SA_RESTART).
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	conf = rd_kafka_conf_new();
	produce_conf_set(conf, "bootstrap.servers", brokers);
	produce_conf_set(conf, "client.id", "paced-produce");
	produce_conf_set(conf, "enable.idempotence", "true");
	produce_conf_set(conf, "linger.ms", "5");
	produce_conf_set(conf, "compression.type", "lz4");
	produce_conf_set(conf, "partitioner", "murmur2_random");
	/* Room for a 1 MiB line plus the record overhead. */
	produce_conf_set(conf, "message.max.bytes", "1200000");
	for (size_t i = 0; i < nprops; i++) {
		char *eq = strchr(props[i], '=');

		*eq = '\0';
		produce_conf_set(conf, props[i], eq + 1);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, produce_dr_cb);
	rd_kafka_conf_set_error_cb(conf, produce_error_cb);
	rd_kafka_conf_set_log_cb(conf, produce_rdkafka_log);
	rd_kafka_conf_set_opaque(conf, &p);
	if ((p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL)
		fatalx("kafka_new", "err=%s", log_quote(errstr));
	conf = NULL;	/* owned by p.rk now */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = produce_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	p.rate = rate;
	p.interval_ns = rate > 0 ? (int64_t)(1e9 / rate) : 0;
	p.start_ns = p.next_ns = produce_mono_ns();
	p.summary_ns = p.start_ns + PRODUCE_SUMMARY_NS;
	log_info("produce_start", "brokers=%s topic=%s rate=%g mode=%s",
	    log_quote(brokers), log_quote(p.topic), rate,
	    synthetic ? "synthetic" : keyed ? "keyed" : "json");

	if (synthetic)
		produce_synthetic(&p, duration);
	else
		produce_file(&p, file, keyed);

	/* A second signal during the flush would only lose the count. */
	err = rd_kafka_flush(p.rk, PRODUCE_FLUSH_MS);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		int left = rd_kafka_outq_len(p.rk);

		log_warnx("flush", "err=%s undelivered=%d",
		    log_quote(rd_kafka_err2str(err)), left);
		if (left > 0 && p.failed == 0)
			snprintf(p.first_error, sizeof(p.first_error),
			    "%s", rd_kafka_err2str(err));
		p.failed += (uint64_t)(left > 0 ? left : 0);
	}
	produce_summary(&p, "produce_done");
	status = p.failed > 0 || p.input_errors > 0 ? 1 : 0;

	rd_kafka_destroy(p.rk);
	synth_free(p.synth);
	free(owned_brokers);
	free(props);
	return status;
}
