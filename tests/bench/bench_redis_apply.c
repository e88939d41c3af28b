/*
 * bench_redis_apply: what pre-aggregating a poll batch buys. The same
 * events are applied to a real redis-server (started here on a free
 * loopback port, append-only on, fsync every second) twice, side by side:
 * once as batches of 5000 pre-aggregated events (one script call per rep
 * per batch, as the daemon does), once as one script call per event
 * (pipelined 5000 deep, so only the aggregation differs). Both runs must
 * end with the same counters; the ratio of their rates is the claim.
 */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "config.h"
#include "log.h"
#include "roster.h"

#define NEVENTS	60000
#define NREPS	60
#define CHUNK	5000

static int pending;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
state_cb(bool up, void *arg)
{
	*(bool *)arg = up;
}

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
	redisReply *keys = redisCommand(rc, "KEYS paced:{rep:*}:cnt:day:*");

	for (size_t i = 0; keys != NULL && i < keys->elements; i++) {
		redisReply *v = redisCommand(rc, "HGET %s %s", keys->element[i]->str, field);

		if (v != NULL && v->type == REDIS_REPLY_STRING)
			total += atoll(v->str);
		freeReplyObject(v);
	}
	freeReplyObject(keys);
	return total;
}

int
main(void)
{
	int port = free_port();
	char dir[] = "/tmp/paced-bench-XXXXXX", path[256], portstr[16], url[64];
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

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((redis = fork()) == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("redis-server", "redis-server", "--port", portstr, "--bind",
		    "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", "",
		    "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && rc == NULL; i++) {
		usleep(50000);
		rc = redisConnect("127.0.0.1", port);
		if (rc != NULL && rc->err) {
			redisFree(rc);
			rc = NULL;
		}
	}
	if (rc == NULL) {
		fprintf(stderr, "bench: redis-server did not start\n");
		return 1;
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
	conn = redis_conn_new(base, &o, state_cb, &up);
	apply = redis_apply_new(conn);
	while (!up)
		event_base_loop(base, EVLOOP_ONCE);

	for (int mode = 0; mode < 2; mode++) {
		double t0;
		struct batch **bs = calloc(CHUNK, sizeof(*bs));

		freeReplyObject(redisCommand(rc, "FLUSHALL"));
		for (int k = 0; k < CHUNK; k++)
			bs[k] = batch_new();
		t0 = now_s();
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
		rate[mode] = NEVENTS / (now_s() - t0);
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
	redisFree(rc);
	kill(redis, SIGTERM);
	waitpid(redis, NULL, 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return calls[0] == calls[1] && calls[0] > 0 ? 0 : 1;
}
