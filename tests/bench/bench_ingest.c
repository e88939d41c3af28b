/*
 * bench_ingest: paced's own work per event on the ingest path, without
 * Kafka on the consuming side. Realistic activity events (JSON, as the
 * producers write them) go through the stages the daemon runs for each
 * message: classify (decode, validate, the rep and its KPIs, the local
 * day), batch_add, the enriched events output (enriched_add formats each
 * counted event; enriched_release hands a batch's messages to the
 * producer, whose broker is unreachable, so they stay queued), then the
 * batch's shard script calls (redis_apply_counters, its replies and the
 * leaderboard values handed to the coalesced board writer) against a real
 * redis-server started here on a free loopback port.
 *
 * A wall-clock rate is printed, but the machine is shared: the figure to
 * compare is the instruction count per event of each stage, under
 *   valgrind --tool=callgrind --toggle-collect=classify \
 *     --toggle-collect=batch_add --toggle-collect=enriched_add \
 *     --toggle-collect=enriched_release \
 *     --toggle-collect=redis_apply_counters --toggle-collect=shard_reply \
 *     build/tests/bench/bench_ingest
 * then callgrind_annotate --inclusive=yes, each function's count divided by
 * the events (tests/bench/callgrind-stages.sh does both).
 *
 * BENCH_INGEST_EVENTS (default 50000), BENCH_INGEST_REPS (100000),
 * BENCH_INGEST_TEAMS (50) and BENCH_INGEST_DAYS (5) set the spread; batches
 * hold 5000 events, as the daemon's default. The run checks that every
 * event was counted once (the dedupe sets' sizes) and the enriched
 * messages produced.
 */
#include "benchutil.h"
#include "classify.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "board_flush.h"
#include "caltime.h"
#include "config.h"
#include "enriched.h"
#include "redis_apply.h"
#include "redis_conn.h"
#include "roster.h"
#include "xmalloc.h"

#define CHUNK		5000
#define NEVENTS		50000
#define NREPS		100000
#define NTEAMS		50
#define DAY_MS		86400000LL

static int pending;
static int released;

static void
done_cb(int status, const struct apply_stats *st, void *arg)
{
	(void)st;
	(void)arg;
	if (status != 0) {
		fprintf(stderr, "bench_ingest: apply failed\n");
		exit(1);
	}
	pending--;
}

static void
release_cb(void *arg, int status)
{
	(void)arg;
	(void)status;
	released--;
}

static const char *zones[] = { "America/New_York", "Europe/Berlin",
    "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney" };

/* The config: nreps reps over nteams teams, the enriched output on. */
static struct config *
write_config(const char *dir, int port, int nreps, int nteams)
{
	char path[512], *errs = NULL;
	struct config *cfg;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ingest.yaml", dir);
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fprintf(f, "kafka: {brokers: \"127.0.0.1:1\"}\n"
	    "redis: {url: \"redis://127.0.0.1:%d/0\"}\n"
	    "analytics: {enriched: true}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_scheduled]}\n"
	    "  - {name: won, kind: lagging, events: [deal_won]}\n"
	    "  - {name: revenue, kind: lagging, measure: amount, events: [deal_won]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri]}}\n"
	    "roles: {sdr: {targets: {calls: {day: 50}}}}\nteams:\n", port);
	for (int t = 0; t < nteams; t++)
		fprintf(f, "  - {id: t%02d, timezone: %s, calendar: default, "
		    "manager: m%02d}\n", t, zones[t % 5], t);
	fprintf(f, "reps:\n");
	for (int i = 0; i < nreps; i++)
		fprintf(f, "  - {id: r%06d, team: t%02d, role: sdr}\n", i,
		    i % nteams);
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "bench_ingest: %s", errs);
		free(errs);
	}
	return cfg;
}

/* n events as JSON text, one after the other in *buf; off[i], len[i]. */
static char *
make_events(int n, int nreps, int ndays, size_t *off, size_t *len)
{
	static const char *types[] = { "call", "email", "conversation",
	    "meeting_scheduled", "deal_won" };
	int64_t now = caltime_wall_ms();
	size_t cap = (size_t)n * 256, used = 0;
	char *buf = xmalloc(cap);

	srand(7);
	for (int e = 0; e < n; e++) {
		int type = rand() % 20 == 0 ? 4 : rand() % 4;
		int64_t at = now - (int64_t)(rand() % ndays) * DAY_MS -
		    (int64_t)(rand() % 36000) * 1000;
		char when[40], amount[32] = "";
		int w;

		caltime_format_utc(at, when, sizeof(when));
		if (type == 4)
			snprintf(amount, sizeof(amount), ",\"amount\":%d.%02d",
			    100 + rand() % 5000, rand() % 100);
		w = snprintf(buf + used, cap - used, "{\"event_id\":"
		    "\"%08x-%04x-%04x-%04x-%08x%04x\",\"rep_id\":\"r%06d\","
		    "\"type\":\"%s\",\"occurred_at\":\"%s\",\"count\":1%s}",
		    (unsigned)rand(), rand() & 0xffff, rand() & 0xffff,
		    rand() & 0xffff, (unsigned)rand(), e & 0xffff,
		    rand() % nreps, types[type], when, amount);
		off[e] = used;
		len[e] = (size_t)w;
		used += (size_t)w;
	}
	return buf;
}

static long long
dedupe_total(redisContext *rc)
{
	long long n = -1;
	redisReply *r = redisCommand(rc, "EVAL %s 0", "local n = 0; "
	    "local c = '0'; repeat local r = redis.call('SCAN', c, 'MATCH', "
	    "'*:{s:*}:seen:*', 'COUNT', 1000); c = r[1]; for _, k in "
	    "ipairs(r[2]) do n = n + redis.call('SCARD', k) end "
	    "until c == '0'; return n");

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	freeReplyObject(r);
	return n;
}

static int
run(const char *dir, int port, redisContext *rc)
{
	int nevents = benchutil_env_int("BENCH_INGEST_EVENTS", NEVENTS);
	int nreps = benchutil_env_int("BENCH_INGEST_REPS", NREPS);
	int nteams = benchutil_env_int("BENCH_INGEST_TEAMS", NTEAMS);
	int ndays = benchutil_env_int("BENCH_INGEST_DAYS", 5);
	size_t *off = xcalloc((size_t)nevents, sizeof(*off));
	size_t *len = xcalloc((size_t)nevents, sizeof(*len));
	struct config *cfg = write_config(dir, port, nreps, nteams);
	const struct config *cfg_now = cfg;
	struct roster *roster;
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_apply *apply;
	struct board_flush *bf;
	struct enriched *out;
	struct redis_conn_opts o = { 0 };
	struct batch *b = batch_new();
	struct classified c;
	char err[256], *events;
	bool up = false;
	long long counted, nout = 0, bad = 0;
	double t0, cpu0, secs, cpu;
	uint64_t seq = 0;

	if (cfg == NULL)
		return 1;
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_ingest: %s\n", err);
		return 1;
	}
	events = make_events(nevents, nreps, ndays, off, len);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = port;
	o.timeout_ms = 30000;
	o.name = "bench";
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	apply = redis_apply_new(conn);
	bf = board_flush_new(base, conn, &cfg_now);
	redis_apply_set_boards(apply, bf);
	if ((out = enriched_new(base, cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_ingest: %s\n", err);
		return 1;
	}
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);
	freeReplyObject(redisCommand(rc, "FLUSHALL"));

	t0 = benchutil_now_s();
	cpu0 = benchutil_clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int from = 0; from < nevents; from += CHUNK) {
		int64_t now = caltime_wall_ms();

		batch_reset(b, ++seq, roster_size(roster));
		for (int e = from; e < from + CHUNK && e < nevents; e++) {
			struct enriched_event ee;

			classify(roster, events + off[e], len[e],
			    now - cfg->redis.dedupe_window_ms, now + DAY_MS,
			    &c);
			batch_note_offset(b, e % 32, e / 32);
			if (c.outcome != CLASSIFY_COUNTED) {
				bad++;
				continue;
			}
			batch_add(b, c.rep, c.kpis, c.nkpis, c.local_day,
			    c.utc_day, &c.ev);
			ee.cfg = cfg;
			ee.ev = &c.ev;
			ee.rep = c.rep;
			ee.kpis = c.kpis;
			ee.nkpis = c.nkpis;
			ee.local_day = c.local_day;
			ee.topic = cfg->kafka.topic_activity;
			ee.partition = e % 32;
			ee.offset = e / 32;
			ee.received_ms = now;
			enriched_add(out, seq, &ee);
			nout++;
		}
		pending++;
		if (redis_apply_counters(apply, b, roster, cfg, done_cb,
		    NULL) != 0)
			return 1;
		while (pending > 0)
			event_base_loop(base, EVLOOP_ONCE);
		if (enriched_release(out, seq, release_cb, NULL))
			released++;
	}
	secs = benchutil_now_s() - t0;
	cpu = benchutil_clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	counted = dedupe_total(rc);
	printf("bench_ingest: %d events, %d reps, %d teams, %d days, batches "
	    "of %d: classify, batch_add, enriched output, shard script calls\n",
	    nevents, nreps, nteams, ndays, CHUNK);
	printf("  %.0f events/s, %.2f us CPU per event (this process; a noisy "
	    "figure: compare instruction counts under callgrind)\n",
	    nevents / secs, cpu * 1e6 / nevents);
	printf("  check: %lld counted of %d (%lld not), %lld enriched messages "
	    "produced, %d batches waiting for the broker\n", counted, nevents,
	    bad, nout, released);

	enriched_free(out, 0);
	batch_free(b);
	redis_apply_free(apply);
	redis_conn_free(conn);
	board_flush_free(bf);
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	free(events);
	free(off);
	free(len);
	return counted == nevents && bad == 0 ? 0 : 1;
}

int
main(void)
{
	int port = benchutil_free_port(), status;
	char dir[] = "/tmp/paced-bench-XXXXXX", cmd[256];
	redisContext *rc = NULL;
	pid_t redis;

	if (mkdtemp(dir) == NULL)
		return 1;
	if ((rc = benchutil_redis_start(dir, port, false, "bench_ingest", &redis)) == NULL)
		return 1;
	status = run(dir, port, rc);
	redisFree(rc);
	kill(redis, SIGTERM);
	waitpid(redis, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && status == 0 ? 0 : 1;
}
