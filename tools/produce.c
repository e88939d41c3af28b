/*
 * produce.c: paced-produce, a command-line producer for the activity topic.
 * It sends JSON lines from a file, exact KEY<TAB>VALUE lines (--keyed), or
 * a synthetic demo stream for the roster of a paced config (--synthetic).
 * Unlike the daemon it blocks freely: the main thread paces, hands
 * messages to librdkafka and serves delivery reports through
 * rd_kafka_poll(); at exit it flushes (bounded) and reports failures in its
 * exit status. The synthetic stream, random or following the targets
 * (--backfill), is made in synth.c.
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
#include "pacing.h"
#include "roster.h"
#include "scorecard.h"
#include "xmalloc.h"

#include "synth.h"

#define PRODUCE_MAX_LINE	(1024 * 1024)	/* bytes, without the newline */
#define PRODUCE_SUMMARY_NS	(10 * 1000000000LL)
#define PRODUCE_FLUSH_MS	30000
#define PRODUCE_DEFAULT_RATE	20.0	/* events/s of the synthetic stream */
#define PRODUCE_DEFAULT_BAD	0.002
#define PRODUCE_DUP_RATIO	0.01
#define PRODUCE_LIVE_TICK_MS	250	/* how often the live plan is read */
#define PRODUCE_BACKFILL_WAIT_MS 60000	/* for the history's delivery reports */

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
		if (s->plan)
			synth_appendf(buf, sizeof(buf), &off, " planned=%llu",
			    (unsigned long long)s->planned);
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


/*
 * Sends the plan events in evs (sorted here), each followed now and then
 * by a deliberately bad event of the same rep or an exact resend of a
 * recent event, as the random stream does. Returns how many plan events
 * were handed to librdkafka.
 */
static size_t
produce_plan_send(struct produce *p, struct sched_evs *evs)
{
	struct synth *s = p->synth;
	char buf[2048], id[40];
	size_t sent = 0;

	qsort(evs->v, evs->n, sizeof(*evs->v), sched_ev_cmp);
	for (size_t i = 0; i < evs->n && !produce_stop; i++) {
		const struct sched_ev *e = &evs->v[i];
		const struct synth_rep *r = &s->reps[e->rep];
		const struct sched_kpi *sk = &s->kpis[e->kpi];
		const char *kpi = s->cfg->kpis[e->kpi].name, *key;
		uint64_t bits;
		double x;
		size_t t = 0;

		sched_event_id(r->id, kpi, e->at, e->seq, id, sizeof(id),
		    &bits);
		x = (double)(bits >> 11) * 0x1.0p-53 *
		    sk->cum[sk->ntypes - 1];
		while (t + 1 < sk->ntypes && sk->cum[t] <= x)
			t++;
		t = sk->types[t];
		key = synth_format(s, r, s->types[t].name, e->at, id, bits,
		    false, SYNTH_BAD_COUNT, buf, sizeof(buf));
		if (produce_send(p, key, strlen(key), buf, strlen(buf)) != 0)
			continue;
		s->types[t].sent++;
		s->planned++;
		sent++;
		synth_remember(s, key, buf);

		x = synth_uniform(&s->rng);
		if (x < s->bad_ratio) {
			enum synth_bad b = (enum synth_bad)(synth_next(&s->rng) %
			    SYNTH_BAD_COUNT);

			synth_event_id(s, id, sizeof(id));
			key = synth_format(s, r, s->types[t].name, e->at, id,
			    synth_next(&s->rng), false, b, buf, sizeof(buf));
			if (produce_send(p, key, strlen(key), buf,
			    strlen(buf)) == 0)
				s->bad[b]++;
		} else if (x < s->bad_ratio + PRODUCE_DUP_RATIO) {
			size_t k = (size_t)(synth_next(&s->rng) % s->ring_len);

			if (produce_send(p, s->ring[k].key,
			    strlen(s->ring[k].key), s->ring[k].value,
			    strlen(s->ring[k].value)) == 0)
				s->dups++;
		}
	}
	evs->n = 0;
	return sent;
}

/* Where rep r's history starts: the bucket of the longest period alerts
 * watch (a week at least) holding now, within the dedupe window. */
static int64_t
produce_history_start(const struct synth *s, const struct synth_rep *r,
    int64_t now)
{
	const struct config *cfg = s->cfg;
	enum period longest = PERIOD_WEEK;
	struct bucket b;
	int64_t floor_ms = now - cfg->redis.dedupe_window_ms + 3600000;

	for (int p = PERIOD_COUNT - 1; p > PERIOD_WEEK; p--) {
		if (cfg->alerts.periods[p]) {
			longest = (enum period)p;
			break;
		}
	}
	scorecard_bucket(r->rr, longest, now, &b);
	return b.start_ms > floor_ms ? b.start_ms : floor_ms;
}

/*
 * --backfill: every rep's history up to now, as fast as the broker takes
 * it (or at --rate), waits for its delivery reports, then the plan live:
 * each event goes out once its time has come.
 */
static void
produce_plan(struct produce *p, double duration)
{
	struct synth *s = p->synth;
	struct sched_evs evs = { NULL, 0, 0 };
	int64_t end = duration > 0 ?
	    p->start_ns + (int64_t)(duration * 1e9) : INT64_MAX;
	int64_t now = caltime_wall_ms(), last = now, t0 = produce_mono_ns();
	int64_t wait_end;
	char until[40];
	size_t n;

	for (size_t r = 0; r < s->nreps; r++)
		sched_rep_events(s, r, produce_history_start(s, &s->reps[r],
		    now), now, &evs);
	n = produce_plan_send(p, &evs);
	/* From here on an event is due when its time comes. */
	p->rate = 0;
	wait_end = produce_mono_ns() + PRODUCE_BACKFILL_WAIT_MS * 1000000LL;
	while (!produce_stop && p->delivered + p->failed < p->sent &&
	    produce_mono_ns() < wait_end)
		produce_poll(p, 100);
	caltime_format_utc(now, until, sizeof(until));
	log_info("backfill_done", "events=%zu sent=%llu delivered=%llu "
	    "delivery_errors=%llu until=%s elapsed_ms=%lld", n,
	    (unsigned long long)p->sent, (unsigned long long)p->delivered,
	    (unsigned long long)p->failed, until,
	    (long long)((produce_mono_ns() - t0) / 1000000));

	while (!produce_stop && produce_mono_ns() < end) {
		produce_poll(p, PRODUCE_LIVE_TICK_MS);
		now = caltime_wall_ms();
		if (now <= last)
			continue;
		for (size_t r = 0; r < s->nreps; r++)
			sched_rep_events(s, r, last, now, &evs);
		produce_plan_send(p, &evs);
		last = now;
	}
	free(evs.v);
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
"                      [--backfill] [--duration SECONDS] [--seed N]\n"
"                      [--bad-ratio F])\n"
"       paced-produce --expect --config FILE [--seed N]\n"
"\n"
"Produces activity events to Kafka, keyed by rep_id.\n"
"\n"
"  --brokers LIST        bootstrap servers, host:port[,host:port...]\n"
"  --brokers-file PATH   read the bootstrap list from the first line of PATH\n"
"  --topic NAME          topic (default sales.activity)\n"
"  --rate N              messages per second; 0 = as fast as possible\n"
"                        (default 0 for --file and --backfill's history,\n"
"                        %g for --synthetic)\n"
"  --property KEY=VALUE  any librdkafka property (repeatable); overrides the\n"
"                        defaults below\n"
"  --file PATH           JSON lines, \"-\" for stdin: each line is one value,\n"
"                        keyed by its string rep_id (no key when the line is\n"
"                        not JSON or has none); blank lines are skipped\n"
"  --keyed               lines are KEY<TAB>VALUE, split at the first TAB;\n"
"                        the value is sent byte for byte (NUL bytes and\n"
"                        invalid UTF-8 included); an empty KEY sends no key\n"
"  --synthetic           a demo stream for the reps of --config FILE\n"
"  --backfill            the stream follows the targets: history up to now,\n"
"                        then live (see below)\n"
"  --expect              print, per team, which periods can alert now and\n"
"                        which reps should, for --backfill; then exit\n"
"  --duration SECONDS    stop after this long (default: until SIGINT/SIGTERM)\n"
"  --seed N              profile and event choices (default 1); random\n"
"                        event ids are unique on every run whatever the seed\n"
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
"With --backfill the events follow the targets instead of --rate: each rep\n"
"works every count KPI it has a target for (a type goes to the first KPI\n"
"that counts it; amounts ride on those events), steady reps at 1.05 times\n"
"the target rounded up, lagging ones at a third rounded down, idle ones not\n"
"at all, spread evenly over the working hours of the team's calendar and\n"
"zone, skipping holidays and out-of-office days. A KPI with a day target is\n"
"planned day by day, others over the week; either way at the largest pace\n"
"any of its targets asks for. First the history from the start of the\n"
"current week (or of the longest period in alerts.periods, within the\n"
"dedupe window) up to now is sent, rep by rep, then \"backfill_done\" is\n"
"logged and the plan goes on live.\n"
"Plan events have ids derived from rep, KPI and time, so a second run the\n"
"same day resends the same events and paced counts them once.\n"
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
		{ "backfill",		no_argument,	   NULL, 'F' },
		{ "expect",		no_argument,	   NULL, 'E' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct produce p;
	const char *brokers = NULL, *brokers_file = NULL, *file = NULL;
	const char *config = NULL;
	char **props = NULL, *owned_brokers = NULL, *end, errstr[512];
	size_t nprops = 0;
	bool keyed = false, synthetic = false, backfill = false, expect = false;
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
		case 'F':
			backfill = true;
			break;
		case 'E':
			expect = true;
			break;
		case 'h':
			produce_usage(stdout, 0);
		default:
			produce_usage(stderr, 2);
		}
	}
	if (expect) {
		if (optind != argc || config == NULL || synthetic ||
		    file != NULL)
			produce_usage(stderr, 2);
		p.synth = synth_new(config, seed, bad_ratio, true);
		sched_print_expect(p.synth, caltime_wall_ms(), stdout);
		synth_free(p.synth);
		return 0;
	}
	if (optind != argc || (file == NULL) == !synthetic ||
	    (brokers == NULL) == (brokers_file == NULL) ||
	    (keyed && file == NULL) || (synthetic && config == NULL) ||
	    (backfill && !synthetic))
		produce_usage(stderr, 2);
	if (brokers_file != NULL)
		brokers = owned_brokers = produce_read_brokers(brokers_file);
	if (rate < 0)
		rate = synthetic && !backfill ? PRODUCE_DEFAULT_RATE : 0;
	if (synthetic)
		p.synth = synth_new(config, seed, bad_ratio, backfill);

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
	    backfill ? "plan" : synthetic ? "synthetic" : keyed ? "keyed" :
	    "json");

	if (backfill)
		produce_plan(&p, duration);
	else if (synthetic)
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
