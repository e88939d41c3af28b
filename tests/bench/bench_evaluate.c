/*
 * bench_evaluate: one evaluation pass over N reps (BENCH_REPS, 100000 by
 * default) against a real redis-server started here on a free loopback
 * port. Every rep's counters of the four buckets holding the instant are
 * seeded first (keys from the keys module), ahead of target so that no
 * alert fires; then the evaluator judges every owned rep at one event
 * clock tick, as the daemon does. A first pass stores the alert states and
 * creates the pace hashes; the second, the steady state, is measured:
 * CPU of the loop thread per rep (the daemon's paced CPU), Redis commands
 * per rep (INFO commandstats before and after) and the pass's wall time.
 * For instruction counts, run it under
 *   valgrind --tool=callgrind --toggle-collect=measured_pass
 * with a small BENCH_REPS (callgrind prints the instructions of the pass).
 */
#include "benchutil.h"
#include "evaluator.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_conn.h"
#include "roster.h"
#include "scorecard.h"
#include "sink.h"

#define NPARTS		4
#define AT_MS		1773241200000LL	/* 2026-03-11 15:00 UTC, a Wednesday */

static int ticks_left;
static int tick_status;

static void
tick_done(void *arg, int status)
{
	(void)arg;
	if (status != 0)
		tick_status = status;
	ticks_left--;
}

/* Commands the server ran so far, INFO's own excluded. */
static long long
commands(redisContext *rc)
{
	redisReply *r = redisCommand(rc, "INFO commandstats");
	long long n = 0;
	const char *p;

	for (p = r != NULL ? r->str : NULL; p != NULL && (p = strstr(p, "calls=")) != NULL;
	    p += 6)
		n += atoll(p + 6);
	freeReplyObject(r);
	return n;
}

/* The sum of the samples of metric `name` (e.g. the count of the
 * connection's latency histogram: commands paced sent and had answered). */
static long long
metric_sum(const char *name)
{
	struct evbuffer *b = evbuffer_new();
	long long n = 0;
	char *text, *p;

	metrics_render(b);
	evbuffer_add(b, "", 1);
	text = (char *)evbuffer_pullup(b, -1);
	for (p = text; (p = strstr(p, name)) != NULL; p += strlen(name)) {
		char *sp = strchr(p, ' ');

		if (sp != NULL)
			n += atoll(sp + 1);
	}
	evbuffer_free(b);
	return n;
}

static void
seed(redisContext *rc, const struct config *cfg, const struct roster *ro)
{
	size_t n = roster_size(ro), sent = 0;

	for (size_t i = 0; i < n; i++) {
		const struct roster_rep *rr = roster_rep_at(ro, i);

		for (int p = 0; p < PERIOD_COUNT; p++) {
			struct bucket b;
			char *key;
			int mult = p == PERIOD_DAY ? 1 : p == PERIOD_WEEK ? 5 :
			    p == PERIOD_MONTH ? 22 : 66;

			scorecard_bucket(rr, (enum period)p, AT_MS, &b);
			key = keys_rep_counters(cfg, rr->rep->id, (enum period)p,
			    b.start_day);
			redisAppendCommand(rc, "HSET %s %s|calls %d "
			    "%s|conversations %d %s|meetings %d", key,
			    rr->rep->id, (int)(200 + i % 50) * mult,
			    rr->rep->id, (int)(40 + i % 7) * mult,
			    rr->rep->id, (int)(10 + i % 3) * mult);
			free(key);
			sent++;
		}
		while (sent > 1000 || (i + 1 == n && sent > 0)) {
			redisReply *r;

			if (redisGetReply(rc, (void **)&r) != REDIS_OK)
				exit(1);
			freeReplyObject(r);
			sent--;
		}
	}
}

static void
run_tick(struct event_base *base, struct evaluator *e, int64_t at)
{
	ticks_left = 1;
	evaluator_tick(e, at, tick_done, NULL);
	while (ticks_left > 0)
		event_base_loop(base, EVLOOP_ONCE);
}

/* The measured pass: callgrind's --toggle-collect names it (it must
 * not be folded with run_tick: the clock readings keep it apart). */
void measured_pass(struct event_base *base, struct evaluator *e, int64_t at,
    double *cpu, double *wall) __attribute__((noinline));

void
measured_pass(struct event_base *base, struct evaluator *e, int64_t at,
    double *cpu, double *wall)
{
	double c0 = benchutil_clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = benchutil_clock_s(CLOCK_MONOTONIC);

	run_tick(base, e, at);
	*wall = benchutil_clock_s(CLOCK_MONOTONIC) - w0;
	*cpu = benchutil_clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
}

int
main(void)
{
	const char *env = getenv("BENCH_REPS");
	long nreps = env != NULL ? atol(env) : 100000;
	int port = benchutil_free_port();
	char dir[] = "/tmp/paced-bench-XXXXXX", path[256], url[64];
	pid_t redis;
	FILE *f;
	struct config *cfg;
	struct roster *roster;
	const struct roster *ro;
	const struct config *ccfg;
	char *errs = NULL, err[256];
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_conn_opts o = { 0 };
	struct owner *own;
	struct sinks *sinks;
	struct evaluator *e;
	bool up = false;
	redisContext *rc = NULL;
	int32_t parts[NPARTS];
	long long c0, c1, s0, s1, n0, n1;
	double cpu, wall, rcpu0, rcpu1;
	int status;

	if (nreps <= 0 || mkdtemp(dir) == NULL)
		return 1;
	if ((rc = benchutil_redis_start(dir, port, false, "bench_evaluate", &redis)) == NULL)
		return 1;

	snprintf(path, sizeof(path), "%s/bench.yaml", dir);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	f = fopen(path, "w");
	fprintf(f, "clock: event\nredis: {url: \"%s\"}\n"
	    "kafka: {brokers: \"127.0.0.1:1\"}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_scheduled]}\n"
	    "alerts: {periods: [day, week, month, quarter]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri]}}\n"
	    "roles: {sdr: {targets: {calls: {day: 50, week: 250, month: 1000, quarter: 3000},\n"
	    "  conversations: {day: 10, week: 50}, meetings: {week: 5, month: 20}}}}\n"
	    "teams:\n  - {id: east, timezone: America/New_York, calendar: default}\n"
	    "  - {id: emea, timezone: Europe/Berlin, calendar: default}\nreps:\n", url);
	for (long r = 0; r < nreps; r++)
		fprintf(f, "  - {id: r%07ld, team: %s, role: sdr}\n", r,
		    r % 2 ? "east" : "emea");
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "bench: %s", errs);
		return 1;
	}
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	seed(rc, cfg, roster);

	log_set_level(LOG_LEVEL_ERROR);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = port;
	o.timeout_ms = 60000;
	o.name = "bench";
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	own = owner_new(cfg);
	owner_set_partition_count(own, NPARTS);
	for (int p = 0; p < NPARTS; p++)
		parts[p] = p;
	owner_assign(own, parts, NPARTS);
	owner_observe(own, AT_MS);
	if ((sinks = sinks_new(base, cfg, conn, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	ccfg = cfg;
	ro = roster;
	{
		struct evaluator_deps d = {
			.base = base, .conn = conn, .sinks = sinks, .owner = own,
			.cfg = &ccfg, .roster = &ro,
		};

		e = evaluator_new(&d);
	}
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);

	run_tick(base, e, AT_MS);	/* stores states, creates pace hashes */
	status = tick_status;
	c0 = commands(rc);
	rcpu0 = benchutil_server_cpu(rc);
	s0 = metric_sum("paced_redis_latency_seconds_count");
	n0 = metric_sum("paced_evaluations_total");
	measured_pass(base, e, AT_MS + 60000, &cpu, &wall);
	c1 = commands(rc);
	rcpu1 = benchutil_server_cpu(rc);
	s1 = metric_sum("paced_redis_latency_seconds_count");
	n1 = metric_sum("paced_evaluations_total");
	status |= tick_status;

	printf("bench_evaluate: one evaluation pass, %ld reps, 3 KPIs x 4 periods, redis-server on loopback\n",
	    nreps);
	printf("  %-34s %10.2f us\n", "paced CPU per rep", cpu * 1e6 / (double)nreps);
	printf("  %-34s %10.2f\n", "commands paced sent per rep", (double)(s1 - s0) / (double)nreps);
	printf("  %-34s %10.2f\n", "commands Redis ran per rep", (double)(c1 - c0 - 1) / (double)nreps);
	printf("  %-34s %10.2f us\n", "redis-server CPU per rep", (rcpu1 - rcpu0) * 1e6 / (double)nreps);
	printf("  %-34s %10s\n", "", "(a script's own calls included)");
	printf("  %-34s %10.3f s\n", "paced CPU of the pass", cpu);
	printf("  %-34s %10.3f s\n", "wall time of the pass", wall);
	printf("  check: tick status %d, %lld evaluations\n", status, n1 - n0);

	evaluator_free(e);
	sinks_free(sinks, 0);
	redis_conn_free(conn);
	owner_free(own);
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	redisFree(rc);
	kill(redis, SIGTERM);
	waitpid(redis, NULL, 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return status == 0 && n1 - n0 == nreps ? 0 : 1;
}
