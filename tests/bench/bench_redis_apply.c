/*
 * bench_redis_apply: what pre-aggregating a poll batch buys. The same
 * events are applied to a real redis-server (started here on a free
 * loopback port, append-only on, fsync every second) twice, side by side:
 * once as batches of 5000 pre-aggregated events (one script call per rep
 * per batch, as the daemon does), once as one script call per event
 * (pipelined 5000 deep, so only the aggregation differs). Both runs must
 * end with the same counters; the ratio of their rates is the claim.
 *
 * Then what counting costs Redis, per event, at a realistic spread
 * (COST_EVENTS events over COST_REPS reps in COST_TEAMS teams, days of
 * the current week, batches of 5000 with their watermark, as the daemon
 * writes them): Redis commands (INFO commandstats, the scripts' own
 * commands included), redis-server CPU (INFO cpu), memory (used_memory)
 * and append-only file bytes, each as a delta over the run divided by the
 * events counted. The leaderboard values go to the coalesced board
 * writer, flushed after each batch (the most a flush can cost: nothing
 * merged across batches); BENCH_COST_BOARDS=0 drops them instead, to
 * see the counting script alone. BENCH_COST_EVENTS, BENCH_COST_REPS,
 * BENCH_COST_TEAMS and BENCH_COST_DAYS override the spread,
 * BENCH_COST_BATCH the batch size (5000 here; the daemon's
 * batch.max_messages is 20000 by default); BENCH_COST_ONLY=1 runs this
 * part alone, e.g. under
 *   valgrind --tool=callgrind --toggle-collect=redis_apply_counters ...
 */
#include "benchutil.h"
#include "redis_apply.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "board_flush.h"
#include "config.h"
#include "log.h"
#include "roster.h"

#define NEVENTS	60000
#define NREPS	60
#define CHUNK	5000
#define COST_EVENTS	200000
#define COST_REPS	100000
#define COST_TEAMS	50

static int pending;

static void
done_cb(int status, const struct apply_stats *st, void *arg)
{
	(void)st;
	(void)arg;
	if (status != 0) {
		fprintf(stderr, "bench: apply failed\n");
		exit(1);
	}
	pending--;
}

static long long
sum_field(redisContext *rc, const char *field)
{
	long long total = 0;
	redisReply *r = redisCommand(rc, "EVAL %s 0 %s", "local n = 0; "
	    "local c = '0'; local suf = '|' .. ARGV[1]; repeat "
	    "local r = redis.call('SCAN', c, 'MATCH', '*:{s:*}:cnt:day:*', "
	    "'COUNT', 1000); c = r[1]; for _, k in ipairs(r[2]) do "
	    "local h = redis.call('HGETALL', k); for i = 1, #h, 2 do "
	    "if h[i]:sub(-#suf) == suf then n = n + tonumber(h[i + 1]) end "
	    "end end until c == '0'; return n", field);

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		total = r->integer;
	freeReplyObject(r);
	return total;
}

/* INFO <section> as one owned string, or NULL. */
static char *
info(redisContext *rc, const char *section)
{
	redisReply *r = redisCommand(rc, "INFO %s", section);
	char *s = NULL;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		s = strdup(r->str);
	freeReplyObject(r);
	return s;
}

/* Bytes of the append-only files (Redis 7 keeps them in appendonlydir). */
static long long
aof_bytes(const char *dir)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	long long total = 0;

	snprintf(path, sizeof(path), "%s/appendonlydir", dir);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char f[1024];

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		if (stat(f, &st) == 0)
			total += st.st_size;
	}
	closedir(d);
	return total;
}

/* Prints the commands of INFO commandstats per event, the largest first,
 * and returns their sum (the bench's own INFO and CONFIG left out). */
static double
commands_per_event(redisContext *rc, double events)
{
	char *s = info(rc, "commandstats"), *line, *save = NULL;
	struct { char name[48]; long long calls; } c[64];
	int n = 0;
	double total = 0;
	long long script_usec = 0;

	for (line = s ? strtok_r(s, "\r\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char name[48];
		long long calls, usec;

		if (sscanf(line, "cmdstat_%47[^:]:calls=%lld,usec=%lld", name,
		    &calls, &usec) == 3 && strcmp(name, "evalsha") == 0)
			script_usec = usec;
		if (sscanf(line, "cmdstat_%47[^:]:calls=%lld", name, &calls) != 2 ||
		    strcmp(name, "info") == 0 || strncmp(name, "config", 6) == 0 ||
		    n == 64)
			continue;
		snprintf(c[n].name, sizeof(c[n].name), "%s", name);
		c[n++].calls = calls;
		total += (double)calls;
	}
	free(s);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (c[j].calls > c[i].calls) {
				char t[sizeof(c[0])];

				memcpy(t, &c[i], sizeof(t));
				memcpy(&c[i], &c[j], sizeof(t));
				memcpy(&c[j], t, sizeof(t));
			}
	printf("    commands:");
	for (int i = 0; i < n; i++)
		printf(" %s %.2f", c[i].name, (double)c[i].calls / events);
	printf("\n    inside the scripts: %.1f us per event\n",
	    (double)script_usec / events);
	return total / events;
}

static const char *cost_zones[] = { "America/New_York", "Europe/Berlin",
    "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney" };

/* What counting costs Redis per event at COST_REPS reps (see the top). */
static int
cost_run(const char *dir, int port, redisContext *rc)
{
	static const char *types[] = { "call", "email", "conversation",
	    "meeting_scheduled", "deal_won" };
	int nevents = benchutil_env_int("BENCH_COST_EVENTS", COST_EVENTS);
	int nreps = benchutil_env_int("BENCH_COST_REPS", COST_REPS);
	int nteams = benchutil_env_int("BENCH_COST_TEAMS", COST_TEAMS);
	int ndays = benchutil_env_int("BENCH_COST_DAYS", 5);
	int chunk = benchutil_env_int("BENCH_COST_BATCH", CHUNK);
	char path[512], url[64], err[256], *errs = NULL;
	struct config *cfg;
	struct roster *roster;
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_apply *apply;
	struct board_flush *bf;
	struct redis_conn *dead = NULL;
	bool dead_up = false;
	const struct config *cfg_now;
	const char *bv = getenv("BENCH_COST_BOARDS");
	bool boards = bv == NULL || atoi(bv) != 0;
	struct redis_conn_opts o = { 0 };
	struct batch *b = batch_new();
	struct activity ev;
	bool up = false;
	FILE *f;
	int32_t today = (int32_t)(time(NULL) / 86400);
	double cpu0, mem0, t0, secs, cmds, cpu, mem;
	long long aof0, aof, counted, team_calls, calls = 0;
	redisReply *r;

	snprintf(path, sizeof(path), "%s/cost.yaml", dir);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	f = fopen(path, "w");
	fprintf(f, "redis: {url: \"%s\"}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_scheduled]}\n"
	    "  - {name: won, kind: lagging, events: [deal_won]}\n"
	    "  - {name: revenue, kind: lagging, measure: amount, events: [deal_won]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri]}}\n"
	    "roles: {sdr: {targets: {calls: {day: 50}}}}\nteams:\n", url);
	for (int t = 0; t < nteams; t++)
		fprintf(f, "  - {id: t%02d, timezone: %s, calendar: default}\n", t,
		    cost_zones[t % 5]);
	fprintf(f, "reps:\n");
	for (int i = 0; i < nreps; i++)
		fprintf(f, "  - {id: r%06d, team: t%02d, role: sdr}\n", i,
		    i % nteams);
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "bench: %s", errs);
		return 1;
	}
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = port;
	o.timeout_ms = 300000;	/* a script under valgrind */
	o.name = "bench";
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	apply = redis_apply_new(conn);
	cfg_now = cfg;
	if (boards) {
		bf = board_flush_new(base, conn, &cfg_now);
	} else {
		/* A writer whose connection never comes up: the values
		 * wait in memory and are dropped at the end. */
		struct redis_conn_opts d = o;

		d.port = benchutil_free_port();
		d.name = "nowhere";
		dead = redis_conn_new(base, &d, benchutil_up_cb, &dead_up);
		bf = board_flush_new(base, dead, &cfg_now);
	}
	redis_apply_set_boards(apply, bf);
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);

	freeReplyObject(redisCommand(rc, "FLUSHALL"));
	freeReplyObject(redisCommand(rc, "CONFIG RESETSTAT"));
	cpu0 = benchutil_server_cpu(rc);
	mem0 = benchutil_info_num(rc, "memory", "used_memory");
	aof0 = aof_bytes(dir);
	srand(11);
	memset(&ev, 0, sizeof(ev));
	t0 = benchutil_now_s();
	for (int c = 0; c < nevents; c += chunk) {
		batch_reset(b, (uint64_t)c + 1, (size_t)nreps);
		for (int e = c; e < c + chunk && e < nevents; e++) {
			int type = rand() % 20 == 0 ? 4 : rand() % 4;
			const struct roster_rep *rep =
			    roster_rep_at(roster, (size_t)(rand() % nreps));
			const size_t *kp;
			size_t nk;
			int32_t day = today - rand() % ndays;

			snprintf(ev.event_id, sizeof(ev.event_id),
			    "%08x-%04x-%04x-cost-%08d", rand(), rand() & 0xffff,
			    rand() & 0xffff, e);
			ev.count = 1;
			calls += type < 2;
			ev.amount = type == 4 ? 100 + rand() % 5000 : 0;
			kp = roster_kpis_for_type(roster, types[type], &nk);
			batch_note_offset(b, e % 32, e / 32);
			batch_add(b, rep, kp, nk, day, day, &ev);
		}
		pending++;
		if (redis_apply_counters(apply, b, roster, cfg, done_cb, NULL) != 0)
			return 1;
		while (pending > 0)
			event_base_loop(base, EVLOOP_ONCE);
		pending++;
		if (redis_apply_watermarks(apply, cfg, "sales.activity", b,
		    done_cb, NULL) != 0)
			return 1;
		while (pending > 0)
			event_base_loop(base, EVLOOP_ONCE);
		while (boards && board_flush_pending(bf) > 0) {
			board_flush_now(bf);
			event_base_loop(base, EVLOOP_ONCE);
		}
	}
	secs = benchutil_now_s() - t0;
	sleep(2);		/* appendfsync everysec: let the file catch up */
	cpu = benchutil_server_cpu(rc) - cpu0;
	mem = benchutil_info_num(rc, "memory", "used_memory") - mem0;
	aof = aof_bytes(dir) - aof0;
	printf("bench_redis_apply cost: %d events, %d reps, %d teams, %d days, "
	    "batches of %d with their watermark, %s; redis-server appendonly, "
	    "fsync everysec\n", nevents, nreps, nteams, ndays, chunk, boards ?
	    "boards flushed after each" : "boards left out");
	printf("  %.0f events/s applied\n", nevents / secs);
	cmds = commands_per_event(rc, nevents);
	printf("  per event: %.1f Redis commands, %.1f us redis-server CPU, "
	    "%.0f B memory, %.0f B AOF\n", cmds, cpu * 1e6 / nevents,
	    mem / nevents, (double)aof / nevents);
	counted = 0;
	r = redisCommand(rc, "EVAL %s 0", "local n = 0; local c = '0'; "
	    "repeat local r = redis.call('SCAN', c, 'MATCH', '*:{s:*}:seen:*', "
	    "'COUNT', 1000); c = r[1]; for _, k in ipairs(r[2]) do "
	    "n = n + redis.call('SCARD', k) end until c == '0'; return n");
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		counted = r->integer;
	freeReplyObject(r);

	team_calls = 0;
	r = redisCommand(rc, "EVAL %s 0", "local n = 0; local c = '0'; "
	    "repeat local r = redis.call('SCAN', c, 'MATCH', '*:{s:*}:team:day:*', "
	    "'COUNT', 1000); c = r[1]; for _, k in ipairs(r[2]) do "
	    "local h = redis.call('HGETALL', k); for i = 1, #h, 2 do "
	    "if h[i]:sub(-6) == '|calls' then n = n + tonumber(h[i + 1]) end "
	    "end end until c == '0'; return n");
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		team_calls = r->integer;
	freeReplyObject(r);
	printf("  check: ids in the dedupe sets %lld of %d; team day totals of "
	    "calls %lld of %lld\n", counted, nevents, team_calls, calls);

	batch_free(b);
	redis_apply_free(apply);
	redis_conn_free(conn);
	redis_conn_free(dead);
	board_flush_free(bf);	/* BENCH_COST_BOARDS=0: the values dropped */
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	return counted == nevents && team_calls == calls ? 0 : 1;
}

int
main(void)
{
	int port = benchutil_free_port();
	char dir[] = "/tmp/paced-bench-XXXXXX", path[256], url[64];
	pid_t redis;
	FILE *f;
	struct config *cfg;
	struct roster *roster;
	char *errs = NULL, err[256];
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_apply *apply;
	struct redis_conn_opts o = { 0 };
	bool up = false;
	redisContext *rc = NULL;
	static struct activity evs[NEVENTS];
	static const struct roster_rep *reps[NEVENTS];
	static const size_t *kp[NEVENTS];
	static size_t nk[NEVENTS];
	static int32_t days[NEVENTS];
	static const char *types[] = { "call", "email", "conversation", "meeting_scheduled" };
	double rate[2];
	long long calls[2];
	int cost_status;

	if (mkdtemp(dir) == NULL)
		return 1;
	if ((rc = benchutil_redis_start(dir, port, true, "bench_redis_apply", &redis)) == NULL)
		return 1;

	/* BENCH_COST_ONLY=1: the cost part alone (for callgrind, where the
	 * one-call-per-event part runs past its timeouts). */
	if (getenv("BENCH_COST_ONLY") != NULL) {
		cost_status = cost_run(dir, port, rc);
		redisFree(rc);
		kill(redis, SIGTERM);
		waitpid(redis, NULL, 0);
		snprintf(path, sizeof(path), "rm -rf %s", dir);
		return system(path) == 0 && cost_status == 0 ? 0 : 1;
	}
	snprintf(path, sizeof(path), "%s/bench.yaml", dir);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	f = fopen(path, "w");
	fprintf(f, "redis: {url: \"%s\"}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_scheduled]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri]}}\n"
	    "roles: {sdr: {targets: {calls: {day: 50}}}}\n"
	    "teams:\n  - {id: east, timezone: America/New_York, calendar: default}\n"
	    "  - {id: emea, timezone: Europe/Berlin, calendar: default}\nreps:\n", url);
	for (int r = 0; r < NREPS; r++)
		fprintf(f, "  - {id: r%03d, team: %s, role: sdr}\n", r,
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

	srand(7);
	for (int e = 0; e < NEVENTS; e++) {
		const char *type = types[rand() % 4];

		snprintf(evs[e].event_id, sizeof(evs[e].event_id),
		    "%08x-%04x-bench-%06d", rand(), rand() & 0xffff, e);
		evs[e].count = 1;
		reps[e] = roster_rep_at(roster, (size_t)(rand() % NREPS));
		kp[e] = roster_kpis_for_type(roster, type, &nk[e]);
		days[e] = 20600 + rand() % 3;
	}

	log_set_level(LOG_LEVEL_WARN);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = port;
	o.timeout_ms = 10000;
	o.name = "bench";
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	apply = redis_apply_new(conn);
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);

	for (int mode = 0; mode < 2; mode++) {
		double t0;
		struct batch **bs = calloc(CHUNK, sizeof(*bs));

		freeReplyObject(redisCommand(rc, "FLUSHALL"));
		for (int k = 0; k < CHUNK; k++)
			bs[k] = batch_new();
		t0 = benchutil_now_s();
		for (int c = 0; c < NEVENTS; c += CHUNK) {
			if (mode == 0) {
				batch_reset(bs[0], (uint64_t)c + 1, NREPS);
				for (int e = c; e < c + CHUNK; e++)
					batch_add(bs[0], reps[e], kp[e], nk[e], days[e],
					    days[e], &evs[e]);
				pending++;
				redis_apply_counters(apply, bs[0], roster, cfg, done_cb, NULL);
			} else {
				for (int e = c; e < c + CHUNK; e++) {
					struct batch *b = bs[e - c];

					batch_reset(b, (uint64_t)e + 1, NREPS);
					batch_add(b, reps[e], kp[e], nk[e], days[e], days[e],
					    &evs[e]);
					pending++;
					redis_apply_counters(apply, b, roster, cfg, done_cb, NULL);
				}
			}
			while (pending > 0)
				event_base_loop(base, EVLOOP_ONCE);
		}
		rate[mode] = NEVENTS / (benchutil_now_s() - t0);
		calls[mode] = sum_field(rc, "calls");
		for (int k = 0; k < CHUNK; k++)
			batch_free(bs[k]);
		free(bs);
	}

	printf("bench_redis_apply: %d events, %d reps, batches of %d, redis-server on loopback\n",
	    NEVENTS, NREPS, CHUNK);
	printf("  %-34s %10.0f events/s\n", "pre-aggregated batch (daemon)", rate[0]);
	printf("  %-34s %10.0f events/s\n", "one script call per event", rate[1]);
	printf("  ratio batched / per-event: %.2fx\n", rate[0] / rate[1]);
	printf("  check: calls counted %lld and %lld\n", calls[0], calls[1]);

	redis_apply_free(apply);
	redis_conn_free(conn);
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	cost_status = cost_run(dir, port, rc);
	redisFree(rc);
	kill(redis, SIGTERM);
	waitpid(redis, NULL, 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return calls[0] == calls[1] && calls[0] > 0 && cost_status == 0 ? 0 : 1;
}
