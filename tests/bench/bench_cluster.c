/*
 * bench_cluster: paced's counting path against one Redis and against a
 * Redis Cluster of three primaries, on the same box. Both are started
 * here on free loopback ports (append-only, fsync every second, automatic
 * rewrites off; the cluster made with redis-cli --cluster create), and the
 * same events (BENCH_CLUSTER_EVENTS, default 200000, over
 * BENCH_CLUSTER_REPS reps in 50 teams, days of the current week) are
 * applied to each as the daemon applies them: batches of 5000,
 * pre-aggregated, one script call per counter shard and batch, then the
 * batch's watermark. Printed per target: events/s and redis-server CPU
 * per event (summed over the nodes), and a check that every event id is
 * in the dedupe sets. The machine's core count is printed with them: on 2
 * cores three primaries and the client share two cores, so the cluster
 * figure is the cost of routing on a shared box, not what three hosts give.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "config.h"
#include "log.h"
#include "redis_cluster.h"
#include "roster.h"

#define CHUNK		5000
#define NODES		3
#define NTEAMS		50

static int pending;
static pid_t pids[NODES + 1];
static int ports[NODES + 1];

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

/* Starts redis-server on ports[i] in dir; cluster mode when bus > 0. */
static pid_t
start_redis(const char *dir, int i, int bus)
{
	char port[16], busport[16], sub[512];
	pid_t pid;

	snprintf(port, sizeof(port), "%d", ports[i]);
	snprintf(busport, sizeof(busport), "%d", bus);
	snprintf(sub, sizeof(sub), "%s/%d", dir, ports[i]);
	mkdir(sub, 0700);
	if ((pid = fork()) == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		if (bus > 0)
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--dir", sub, "--appendonly",
			    "yes", "--save", "", "--loglevel", "warning",
			    "--auto-aof-rewrite-percentage", "0",
			    "--cluster-enabled", "yes", "--cluster-port", busport,
			    "--cluster-config-file", "nodes.conf", (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--dir", sub, "--appendonly",
			    "yes", "--save", "", "--loglevel", "warning",
			    "--auto-aof-rewrite-percentage", "0", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static double
server_cpu(int port)
{
	redisContext *rc = redisConnect("127.0.0.1", port);
	redisReply *r = rc != NULL && !rc->err ? redisCommand(rc, "INFO cpu") :
	    NULL;
	double v = 0;
	char *p;

	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		if ((p = strstr(r->str, "used_cpu_sys:")) != NULL)
			v += strtod(p + 13, NULL);
		if ((p = strstr(r->str, "used_cpu_user:")) != NULL)
			v += strtod(p + 14, NULL);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (rc != NULL)
		redisFree(rc);
	return v;
}

/* Event ids in the dedupe sets of the server on port. */
static long long
counted_on(int port)
{
	redisContext *rc = redisConnect("127.0.0.1", port);
	redisReply *r = NULL;
	long long n = -1;

	/* A script with no key runs anywhere, also on a cluster node, and
	 * sees that node's keys only. */
	if (rc != NULL && !rc->err)
		r = redisCommand(rc, "EVAL %s 0", "local n = 0; local c = '0'; "
		    "repeat local r = redis.call('SCAN', c, 'MATCH', "
		    "'*:{s:*}:seen:*', 'COUNT', 1000); c = r[1]; for _, k in "
		    "ipairs(r[2]) do n = n + redis.call('SCARD', k) end until "
		    "c == '0'; return n");
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	if (rc != NULL)
		redisFree(rc);
	return n;
}

static const char *zones[] = { "America/New_York", "Europe/Berlin",
    "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney" };

/* Applies the events through conn; returns events/s, or -1. */
static double
run(struct event_base *base, struct redis_conn *conn, bool *up,
    const struct config *cfg, const struct roster *roster, int nevents,
    int nreps)
{
	static const char *types[] = { "call", "email", "conversation",
	    "meeting_scheduled", "deal_won" };
	struct redis_apply *apply = redis_apply_new(conn);
	struct batch *b = batch_new();
	struct activity ev;
	int32_t today = (int32_t)(time(NULL) / 86400);
	double t0;

	while (!*up)
		event_base_loop(base, EVLOOP_ONCE);
	srand(11);
	memset(&ev, 0, sizeof(ev));
	t0 = benchutil_now_s();
	for (int c = 0; c < nevents; c += CHUNK) {
		batch_reset(b, (uint64_t)c + 1, (size_t)nreps);
		for (int e = c; e < c + CHUNK && e < nevents; e++) {
			int type = rand() % 20 == 0 ? 4 : rand() % 4;
			const struct roster_rep *rep =
			    roster_rep_at(roster, (size_t)(rand() % nreps));
			const size_t *kp;
			size_t nk;
			int32_t day = today - rand() % 5;

			snprintf(ev.event_id, sizeof(ev.event_id),
			    "%08x-%04x-cluster-%08d", rand(), rand() & 0xffff, e);
			ev.count = 1;
			ev.amount = type == 4 ? 100 + rand() % 5000 : 0;
			kp = roster_kpis_for_type(roster, types[type], &nk);
			batch_note_offset(b, e % 32, e / 32);
			batch_add(b, rep, kp, nk, day, day, &ev);
		}
		pending++;
		if (redis_apply_counters(apply, b, roster, cfg, done_cb, NULL) != 0)
			return -1;
		while (pending > 0)
			event_base_loop(base, EVLOOP_ONCE);
		pending++;
		if (redis_apply_watermarks(apply, cfg, "sales.activity", b,
		    done_cb, NULL) != 0)
			return -1;
		while (pending > 0)
			event_base_loop(base, EVLOOP_ONCE);
	}
	t0 = benchutil_now_s() - t0;
	batch_free(b);
	redis_apply_free(apply);
	return nevents / t0;
}

static void
stop_all(void)
{
	for (int i = 0; i <= NODES; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}

int
main(void)
{
	int nevents = benchutil_env_int("BENCH_CLUSTER_EVENTS", 200000);
	int nreps = benchutil_env_int("BENCH_CLUSTER_REPS", 10000);
	char dir[] = "/tmp/paced-bench-cluster-XXXXXX", path[512], err[256];
	char *errs = NULL, cmd[1024];
	struct config *cfg;
	struct roster *roster;
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_conn_opts o = { 0 };
	struct config_redis_node seeds[NODES];
	redisContext *rc;
	bool up = false;
	double rate[2], cpu0[2] = { 0, 0 }, cpu1[2] = { 0, 0 };
	long long counted[2] = { 0, 0 };
	FILE *f;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (mkdtemp(dir) == NULL)
		return 1;
	log_set_level(LOG_LEVEL_WARN);
	atexit(stop_all);
	for (int i = 0; i <= NODES; i++)
		ports[i] = benchutil_free_port();
	pids[0] = start_redis(dir, 0, 0);
	for (int i = 1; i <= NODES; i++)
		pids[i] = start_redis(dir, i, benchutil_free_port());
	for (int i = 0; i <= NODES; i++) {
		if ((rc = benchutil_redis_wait(ports[i])) == NULL) {
			fprintf(stderr, "bench: redis-server did not start\n");
			return 1;
		}
		redisFree(rc);
	}
	snprintf(cmd, sizeof(cmd), "redis-cli --cluster create 127.0.0.1:%d "
	    "127.0.0.1:%d 127.0.0.1:%d --cluster-yes >%s/create.log 2>&1",
	    ports[1], ports[2], ports[3], dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench: redis-cli --cluster create failed\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bench.yaml", dir);
	f = fopen(path, "w");
	fprintf(f, "redis: {url: \"redis://127.0.0.1:%d/0\"}\nkpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_scheduled]}\n"
	    "  - {name: won, kind: lagging, events: [deal_won]}\n"
	    "  - {name: revenue, kind: lagging, measure: amount, events: [deal_won]}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri]}}\n"
	    "roles: {sdr: {targets: {calls: {day: 50}}}}\nteams:\n", ports[0]);
	for (int t = 0; t < NTEAMS; t++)
		fprintf(f, "  - {id: t%02d, timezone: %s, calendar: default}\n", t,
		    zones[t % 5]);
	fprintf(f, "reps:\n");
	for (int i = 0; i < nreps; i++)
		fprintf(f, "  - {id: r%06d, team: t%02d, role: sdr}\n", i,
		    i % NTEAMS);
	fclose(f);
	if ((cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "bench: %s", errs);
		return 1;
	}
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	if (redis_cluster_check_layout(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	base = event_base_new();
	o.host = "127.0.0.1";
	o.timeout_ms = 30000;
	o.name = "bench";

	/* One Redis. */
	o.port = ports[0];
	cpu0[0] = server_cpu(ports[0]);
	conn = redis_conn_new(base, &o, benchutil_up_cb, &up);
	rate[0] = run(base, conn, &up, cfg, roster, nevents, nreps);
	redis_conn_free(conn);
	cpu1[0] = server_cpu(ports[0]);
	counted[0] = counted_on(ports[0]);

	/* The cluster. */
	for (int i = 0; i < NODES; i++) {
		seeds[i].host = "127.0.0.1";
		seeds[i].port = ports[i + 1];
		cpu0[1] += server_cpu(ports[i + 1]);
	}
	up = false;
	conn = redis_cluster_conn_new(base, &o, seeds, NODES, benchutil_up_cb, &up);
	rate[1] = run(base, conn, &up, cfg, roster, nevents, nreps);
	redis_conn_free(conn);
	for (int i = 0; i < NODES; i++) {
		cpu1[1] += server_cpu(ports[i + 1]);
		counted[1] += counted_on(ports[i + 1]);
	}

	printf("bench_cluster: %d events, %d reps, %d teams, %d counter shards, "
	    "batches of %d with their watermark; redis-server appendonly, "
	    "fsync everysec; %ld cores, shared by the client and every "
	    "redis-server\n", nevents, nreps, NTEAMS, cfg->redis.shards,
	    CHUNK, ncpu);
	printf("  %-28s %12s %22s %14s\n", "target", "events/s",
	    "redis-server CPU/event", "ids counted");
	printf("  %-28s %12.0f %19.1f us %14lld\n", "one Redis", rate[0],
	    (cpu1[0] - cpu0[0]) * 1e6 / nevents, counted[0]);
	printf("  %-28s %12.0f %19.1f us %14lld\n", "Redis Cluster, 3 primaries",
	    rate[1], (cpu1[1] - cpu0[1]) * 1e6 / nevents, counted[1]);
	printf("  cluster / one: %.2f\n", rate[1] / rate[0]);

	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	stop_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	return counted[0] == nevents && counted[1] == nevents ? 0 : 1;
}
