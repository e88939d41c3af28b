/*
 * bench_boards: what the leaderboards and the contests cost per applied
 * batch. A redis-server (started here on a free loopback port,
 * append-only on, fsync every second) gets, batch after batch, exactly
 * the calls the daemon sends once a batch's shard scripts have answered:
 * board_redis_write() and contest_redis_write() with the batch's absolute
 * values (each rep x KPI touched, in its four period buckets). The boards
 * again through the coalesced writer (board_flush.h), on buckets of their
 * own: flushed after every batch, after every 4 batches (values merged
 * across batches), and after every batch with a subscriber on the change
 * stream's channel (the board script).
 *
 * The org: BENCH_BOARD_REPS reps (default 1000) in 20 teams, SDRs and
 * AEs, a manager per team under two directors, three regions; boards per
 * org, team, role, manager and region; two contests (a race on calls
 * among every rep, an activity-score contest among the teams). A batch is
 * 5000 events over random reps and three KPIs, on one day.
 *
 * Per batch, for the boards and the contests apart: script calls, Redis
 * commands (INFO commandstats, the scripts' own commands included),
 * redis-server CPU (INFO cpu), this process's CPU to build the calls
 * (what it costs the daemon's loop) and the wall time from the first call
 * sent to the last reply (p50, p99); then the same batches sent again (a
 * replay: no value changes) for the contests. BENCH_BOARD_REPS sets the
 * org's size.
 */
#include "benchutil.h"
#include "board_flush.h"
#include "board_redis.h"
#include "contest_redis.h"

#include <arpa/inet.h>
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
#include "roster.h"

#define NTEAMS		20
#define NKPIS		3
#define BATCH_EVENTS	5000
#define NBATCHES	30
/* The coalesced writer's runs, each on buckets of its own (start days
 * moved back by 100 days a run, so every period's bucket differs). */
#define NMODES		3
static const char *const mode_names[NMODES] = {
	"boards, flush per batch", "boards, flush per 4 batches",
	"boards, flush, a listener",
};

static int pending;

static void
reply_cb(const redisReply *r, void *arg)
{
	(void)arg;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "bench_boards: a call failed: %s\n",
		    r != NULL ? r->str : "no reply");
		exit(1);
	}
	pending--;
}

/* Every command Redis ran (INFO commandstats), the bench's own left out. */
static double
commands(redisContext *rc)
{
	redisReply *r = redisCommand(rc, "INFO commandstats");
	char *s, *line, *save = NULL;
	double total = 0;

	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return 0;
	s = strdup(r->str);
	for (line = strtok_r(s, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char name[48];
		long long calls;

		if (sscanf(line, "cmdstat_%47[^:]:calls=%lld", name, &calls) == 2
		    && strcmp(name, "info") != 0 && strcmp(name, "config") != 0)
			total += (double)calls;
	}
	free(s);
	freeReplyObject(r);
	return total;
}

/* This process's CPU time, s: what building the calls costs paced. */
static double
self_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct cost {
	double calls, cmds, cpu_ms, build_ms;
	double wall_ms[NBATCHES];
};

static double
flushes_done(void)
{
	return metrics_value(metrics_counter("paced_board_flushes_total",
	    "outcome=\"ok\"", "")) + metrics_value(metrics_counter(
	    "paced_board_flushes_total", "outcome=\"failed\"", ""));
}

static void
report_unit(const char *what, const struct cost *c, const char *unit)
{
	double w[NBATCHES];

	memcpy(w, c->wall_ms, sizeof(w));
	qsort(w, NBATCHES, sizeof(double), dbl_cmp);
	printf("  %-27s %6.2f %-7s %7.0f Redis commands, %6.2f ms Redis "
	    "CPU, %5.2f ms paced CPU to build them, wall p50 %6.2f ms p99 "
	    "%6.2f ms\n", what, c->calls / NBATCHES, unit, c->cmds / NBATCHES,
	    c->cpu_ms / NBATCHES, c->build_ms / NBATCHES, w[NBATCHES / 2],
	    w[NBATCHES - 1]);
}

static void
report(const char *what, const struct cost *c)
{
	report_unit(what, c, "calls,");
}

int
main(void)
{
	const char *nrep_env = getenv("BENCH_BOARD_REPS");
	int nreps = nrep_env != NULL && atoi(nrep_env) > 0 ?
	    atoi(nrep_env) : 1000;
	int port = benchutil_free_port();
	char dir[] = "/tmp/paced-bench-boards-XXXXXX", path[256];
	char day[16];
	char *errs = NULL, err[256], (*vals)[4][24];
	long long *count;
	struct board_write *w;
	struct config *cfg;
	struct roster *roster;
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_conn_opts o = { 0 };
	redisContext *rc = NULL;
	int board_sha, contest_sha;
	bool up = false, *touched;
	int32_t today = (int32_t)(time(NULL) / 86400);
	struct cost boards = { 0 }, contests = { 0 }, replay = { 0 };
	struct cost flushed[NMODES] = { { 0 } };
	struct board_flush *bf[NMODES];
	struct board_write *w2;
	const struct config *cfg_now;
	pid_t redis;
	FILE *f;
	size_t nw_max = (size_t)nreps * NKPIS * PERIOD_COUNT;
	double nwrites = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	if ((rc = benchutil_redis_start(dir, port, true, "bench_boards", &redis)) == NULL)
		return 1;

	snprintf(path, sizeof(path), "%s/bench.yaml", dir);
	f = fopen(path, "w");
	fprintf(f, "redis: {url: \"redis://127.0.0.1:%d/0\"}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri, "
	    "sat, sun]}}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 50}, conversations: {day: 8}}}\n"
	    "  ae: {targets: {conversations: {day: 4}, meetings: {day: 2}}}\n"
	    "leaderboards:\n  groupings: [role, manager, region]\n"
	    "  flush_every: 10s\n"
	    "  activity_score: {weights: {sdr: {calls: 0.6, conversations: "
	    "0.4}, ae: {conversations: 0.5, meetings: 0.5}}}\n"
	    "managers:\n  - {id: dir-1}\n  - {id: dir-2}\n", port);
	for (int t = 0; t < NTEAMS; t++)
		fprintf(f, "  - {id: m-%02d, manager: dir-%d}\n", t, 1 + t % 2);
	fprintf(f, "teams:\n");
	for (int t = 0; t < NTEAMS; t++)
		fprintf(f, "  - {id: t%02d, timezone: UTC, manager: m-%02d}\n",
		    t, t);
	fprintf(f, "reps:\n");
	for (int r = 0; r < nreps; r++)
		fprintf(f, "  - {id: r%05d, team: t%02d, role: %s, groups: "
		    "{region: g%d}}\n", r, r % NTEAMS, r % 4 == 3 ? "ae" : "sdr",
		    r % 3);
	/* two contests over today: a race among every rep, the teams'
	 * activity score */
	caltime_format_date(today, day, sizeof(day));
	fprintf(f, "contests:\n  - {id: race, metric: calls, kind: race, "
	    "goal: 1000000, from: \"%s\", to: \"%s\", reps: [", day, day);
	for (int r = 0; r < nreps; r++)
		fprintf(f, "%sr%05d", r ? ", " : "", r);
	fprintf(f, "]}\n  - {id: teams, metric: activity_score, kind: "
	    "highest, from: \"%s\", to: \"%s\", teams: [", day, day);
	for (int t = 0; t < NTEAMS; t++)
		fprintf(f, "%st%02d", t ? ", " : "", t);
	fprintf(f, "]}\n");
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "bench_boards: %s", errs);
		return 1;
	}
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_boards: %s\n", err);
		return 1;
	}

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = port;
	o.timeout_ms = 30000;
	o.name = "bench";
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	board_sha = redis_conn_add_script(conn, board_redis_script());
	contest_sha = redis_conn_add_script(conn, contest_redis_script());
	cfg_now = cfg;
	for (int m = 0; m < NMODES; m++)
		bf[m] = board_flush_new(base, conn, &cfg_now);
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);

	count = calloc((size_t)nreps * NKPIS, sizeof(*count));
	touched = calloc((size_t)nreps * NKPIS, sizeof(*touched));
	vals = calloc(nw_max, sizeof(*vals));
	w = calloc(nw_max, sizeof(*w));
	w2 = calloc(nw_max, sizeof(*w2));
	srand(11);
	for (int pass = 0; pass < 2; pass++) {
		srand(11);
		memset(count, 0, (size_t)nreps * NKPIS * sizeof(*count));
		for (int bi = 0; bi < NBATCHES; bi++) {
			size_t n = 0;
			double t0, c0, cpu0, cmd0;

			memset(touched, 0, (size_t)nreps * NKPIS);
			for (int e = 0; e < BATCH_EVENTS; e++) {
				size_t i = (size_t)(rand() % nreps) * NKPIS +
				    (size_t)(rand() % NKPIS);

				count[i]++;
				touched[i] = true;
			}
			for (size_t i = 0; i < (size_t)nreps * NKPIS; i++) {
				const struct roster_rep *rr;

				if (!touched[i])
					continue;
				rr = roster_rep_at(roster, i / NKPIS);
				for (int p = 0; p < PERIOD_COUNT; p++) {
					struct bucket bk;

					caltime_bucket_of_day(&rr->calendar->rules,
					    (enum period)p, today, &bk);
					w[n].rep = rr;
					w[n].kpi = i % NKPIS;
					w[n].period = (enum period)p;
					w[n].start_day = bk.start_day;
					w[n].expire_at = keys_bucket_expire_at(cfg,
					    (enum period)p, bk.end_day);
					/* longer buckets hold more */
					w[n].value_len = (size_t)snprintf(
					    vals[n][p], sizeof(vals[n][p]), "%lld",
					    count[i] * (p + 1));
					w[n].value = vals[n][p];
					n++;
				}
			}
			nwrites += pass == 0 ? (double)n : 0;
			/* the boards (first pass only) */
			if (pass == 0) {
				int failed = 0;

				cpu0 = benchutil_server_cpu(rc);
				cmd0 = commands(rc);
				t0 = benchutil_now_s();
				c0 = self_cpu();
				pending = (int)board_redis_write(conn, board_sha,
				    cfg, w, n, reply_cb, NULL, &failed);
				boards.build_ms += (self_cpu() - c0) * 1000;
				boards.calls += pending;
				while (pending > 0)
					event_base_loop(base, EVLOOP_ONCE);
				boards.wall_ms[bi] = (benchutil_now_s() - t0) * 1000;
				boards.cpu_ms += (benchutil_server_cpu(rc) - cpu0) * 1000;
				boards.cmds += commands(rc) - cmd0;
			}
			/* the coalesced writer (first pass only) */
			for (int m = 0; pass == 0 && m < NMODES; m++) {
				struct cost *c = &flushed[m];
				redisContext *sub = NULL;
				bool now = m != 1 || bi % 4 == 3;
				double f0;

				memcpy(w2, w, n * sizeof(*w2));
				for (size_t k = 0; k < n; k++)
					w2[k].start_day -= 100 * (m + 1);
				if (m == 2) {
					char *ch = keys_changes_channel(cfg);

					sub = redisConnect("127.0.0.1", port);
					freeReplyObject(redisCommand(sub,
					    "SUBSCRIBE %s", ch));
					free(ch);
				}
				cpu0 = benchutil_server_cpu(rc);
				cmd0 = commands(rc);
				t0 = benchutil_now_s();
				c0 = self_cpu();
				board_flush_add(bf[m], cfg, w2, n);
				f0 = flushes_done();
				/* flushes until nothing waits (a flush ends
				 * before the next starts; one that leaves
				 * less than a flush's bound would wait for the
				 * next tick) */
				while (now && board_flush_pending(bf[m]) > 0) {
					board_flush_now(bf[m]);
					event_base_loop(base, EVLOOP_ONCE);
				}
				/* the loop ran nothing else: all of it paced's
				 * work on the flushes */
				c->build_ms += (self_cpu() - c0) * 1000;
				c->calls += flushes_done() - f0;
				c->wall_ms[bi] = (benchutil_now_s() - t0) * 1000;
				c->cpu_ms += (benchutil_server_cpu(rc) - cpu0) * 1000;
				c->cmds += commands(rc) - cmd0;
				if (sub != NULL)
					redisFree(sub);
			}
			{
				struct cost *c = pass == 0 ? &contests : &replay;
				int failed = 0;

				cpu0 = benchutil_server_cpu(rc);
				cmd0 = commands(rc);
				t0 = benchutil_now_s();
				c0 = self_cpu();
				pending = (int)contest_redis_write(conn,
				    contest_sha, cfg, w, n, 1, reply_cb, NULL,
				    &failed);
				c->build_ms += (self_cpu() - c0) * 1000;
				c->calls += pending;
				while (pending > 0)
					event_base_loop(base, EVLOOP_ONCE);
				c->wall_ms[bi] = (benchutil_now_s() - t0) * 1000;
				c->cpu_ms += (benchutil_server_cpu(rc) - cpu0) * 1000;
				c->cmds += commands(rc) - cmd0;
			}
		}
	}
	{
		redisReply *r = redisCommand(rc, "ZCARD %s",
		    keys_contest_board(cfg, "race"));

		printf("bench_boards: %d reps in %d teams, batches of %d events "
		    "on %d KPIs (%.0f rep x KPI x bucket values each), %d "
		    "batches; the race's board holds %lld reps\n", nreps, NTEAMS,
		    BATCH_EVENTS, NKPIS, nwrites / NBATCHES, NBATCHES,
		    r != NULL ? r->integer : -1);
		freeReplyObject(r);
	}
	printf("  per batch:\n");
	report("leaderboards", &boards);
	for (int m = 0; m < NMODES; m++)
		report_unit(mode_names[m], &flushed[m], "flushes,");
	report("contests (2)", &contests);
	report("contests, replayed batch", &replay);
	if (metrics_value(metrics_counter("paced_board_flushes_total",
	    "outcome=\"failed\"", "")) > 0) {
		fprintf(stderr, "bench_boards: a flush failed\n");
		return 1;
	}
	for (int m = 0; m < NMODES; m++) {
		while (board_flush_pending(bf[m]) > 0) {
			board_flush_now(bf[m]);
			event_base_loop(base, EVLOOP_ONCE);
		}
		board_flush_free(bf[m]);
	}
	free(w2);
	redisFree(rc);
	kill(redis, SIGTERM);
	waitpid(redis, NULL, 0);
	return 0;
}
