/*
 * paced on a real Redis Cluster (three primaries on loopback, created by
 * redis-cli --cluster create): the generated stream counted exactly; the
 * same while slots are resharded mid-stream by redis-cli (MOVED) and the
 * slots of two counter shards are moved a key at a time (TRYAGAIN while a
 * call's keys are split between two nodes, ASK once all have moved); the
 * same with
 * replicas while a primary is handed to its replica (CLUSTER FAILOVER),
 * another primary is SIGKILLed and its replica promoted, and the first
 * hand-over is undone. Redis
 * must equal the oracle exactly, the dead-letter topic hold each bad
 * event, and the outage and recovery show in the metrics.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_cluster.h"

static int
start_cluster_stack(const char *name, unsigned seed, int replicas)
{
	const char *s = getenv("PACED_TEST_SEED");

	if (s != NULL && *s != '\0')
		seed = (unsigned)strtoul(s, NULL, 10);
	if (harness_setup(name) == -1 ||
	    harness_cluster_start(3, replicas) == -1 ||
	    harness_broker_start() == -1 ||
	    harness_gen(seed, harness_events()) == -1)
		return -1;
	return 0;
}

static double
metric(struct harness_paced *p, const char *series)
{
	return harness_paced_metric(p, series);
}

/* Every counter key of the oracle is on a primary that owns its slot:
 * harness_compare_redis reads through redirections, so also check that
 * the keys are spread over all three primaries. */
static int
primaries_holding_keys(void)
{
	int idx[16], n = harness_cluster_primaries(idx, 16), holding = 0;

	for (int i = 0; i < n; i++) {
		redisReply *r = harness_cluster_node_cmd(idx[i], "DBSIZE");

		if (r != NULL && r->type == REDIS_REPLY_INTEGER &&
		    r->integer > 0)
			holding++;
		if (r != NULL)
			freeReplyObject(r);
	}
	return holding;
}

static void
check_exact(struct harness_paced *p)
{
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect_eq(primaries_holding_keys(), 3, "paced's keys are not "
	    "spread over the three primaries");
	cr_expect(harness_alive(p->pid), "paced exited (status %d); see %s",
	    harness_exit_status(p->pid), p->log);
}

/* Opens GET /v1/stream on port and leaves it open (the daemon subscribes
 * to the changes channel while a stream is open); the socket, or -1. */
static int
stream_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	static const char req[] = "GET /v1/stream HTTP/1.0\r\nHost: x\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool
subscribed(void *arg)
{
	return harness_paced_metric(arg, "paced_stream_subscribed") == 1;
}

Test(cluster, stream_counted_exactly, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	int st, sfd;

	cr_assert_eq(start_cluster_stack("cluster_exact", 11, 0), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	/* A change stream open: paced subscribes on a seed, and the board
	 * script publishes. */
	cr_assert_geq(sfd = stream_open(p.http_port), 0);
	cr_expect_eq(harness_wait_until(subscribed, &p, HARNESS_WAIT_MS,
	    "paced_stream_subscribed 1"), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	check_exact(&p);
	cr_expect_eq(harness_check_metrics(p.http_port, true), 0,
	    "event metrics differ from the oracle");
	cr_expect_eq(metric(&p, "paced_redis_up{conn=\"main\"}"), 1);
	cr_expect_eq(metric(&p, "paced_redis_up{conn=\"ingest\"}"), 1);
	cr_expect_eq(metric(&p, "paced_redis_cluster_primaries{conn=\"main\"}"),
	    3);
	cr_expect_eq(metric(&p, "paced_redis_cluster_slots_up{conn=\"main\"}"),
	    16384);
	cr_expect_eq(metric(&p, "paced_redis_cluster_crossslot_total"), 0,
	    "a call was refused for spanning slots");
	/* The board script's PUBLISH, from whichever primary ran it, reached
	 * the change stream's subscription on a seed. */
	cr_expect_eq(metric(&p, "paced_stream_subscribed"), 1);
	cr_expect_gt(metric(&p, "paced_stream_messages_total"), 0,
	    "no change message came through the cluster's pub/sub");
	cr_expect_eq(metric(&p, "paced_stream_bad_messages_total"), 0);
	close(sfd);

	/* A clean stop frees every node connection (the sanitizer build
	 * reports a leak as a failed exit). */
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 15000, &st), 0,
	    "paced still running 15 s after SIGTERM; see %s", p.log);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced did not exit 0 (wait status 0x%x); see %s", st, p.log);
}

Test(cluster, reshard_mid_stream, .fini = harness_teardown, .timeout = 400)
{
	struct harness_paced p;
	pid_t prod;
	int64_t total;
	int st;
	double moved, ask, tryagain;

	cr_assert_eq(start_cluster_stack("cluster_reshard", 12, 0), 0);
	total = harness_stream_messages();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* About 30 s of stream: the reshard and the slot migrations take
	 * about half of it. */
	cr_assert_neq(prod = harness_produce_start((int)(total / 30)), -1);
	cr_assert_eq(harness_wait_applied(total / 5, HARNESS_WAIT_MS), 0);
	/* Node 0's first 1000 slots to node 1, one at a time, keys and all,
	 * while the daemon writes. */
	cr_assert_eq(harness_cluster_reshard(0, 1, 1000), 0,
	    "redis-cli --cluster reshard failed; see redis-cluster.log");
	harness_log("reshard done with %lld of %lld applied",
	    (long long)harness_applied(), (long long)total);
	/* Then the slots of two counter shards that hold keys (every batch
	 * writes them), a key at a time with pauses, to another primary. */
	for (int shard = 0, done = 0; shard < 32 && done < 2; shard++) {
		char tag[16];
		int n;

		snprintf(tag, sizeof tag, "{s:%d}", shard);
		n = harness_cluster_migrate_slot(redis_cluster_key_slot(tag,
		    strlen(tag)), -1, 30);
		cr_assert_geq(n, 0, "the migration of shard %d's slot failed",
		    shard);
		done += n > 0;
	}
	harness_log("slot migrations done with %lld of %lld applied",
	    (long long)harness_applied(), (long long)total);
	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	check_exact(&p);

	moved = metric(&p, "paced_redis_cluster_redirects_total{conn=\"ingest\","
	    "kind=\"moved\"}");
	ask = metric(&p, "paced_redis_cluster_redirects_total{conn=\"ingest\","
	    "kind=\"ask\"}");
	tryagain = metric(&p, "paced_redis_cluster_retries_total{conn=\"ingest\","
	    "reason=\"tryagain\"}");
	harness_log("redirections: moved %.0f, ask %.0f; tryagain %.0f", moved,
	    ask, tryagain);
	cr_expect_gt(moved, 0, "no MOVED followed: the reshard missed the "
	    "daemon's keys");
	/* Calls met the shards' slots mid-migration: ASK once every key had
	 * moved, TRYAGAIN while a call's keys were split between the nodes. */
	cr_expect_gt(ask, 0, "no ASK followed");
	cr_expect_gt(tryagain, 0, "no TRYAGAIN retried");
	cr_expect_eq(metric(&p, "paced_redis_cluster_crossslot_total"), 0);
}

/* Samples /metrics through an outage: paced_redis_up seen 0. */
static bool
saw_down(void *arg)
{
	return harness_paced_metric(arg, "paced_redis_up{conn=\"main\"}") == 0;
}

static bool
back_up(void *arg)
{
	return harness_paced_metric(arg, "paced_redis_up{conn=\"main\"}") == 1 &&
	    harness_paced_metric(arg, "paced_paused") == 0;
}

Test(cluster, failover_mid_stream, .fini = harness_teardown, .timeout = 400)
{
	struct harness_paced p;
	pid_t prod;
	int64_t total;
	int st, rep0, rep1;

	cr_assert_eq(start_cluster_stack("cluster_failover", 13, 1), 0);
	total = harness_stream_messages();
	cr_assert_neq(rep0 = harness_cluster_replica_of(0), -1);
	cr_assert_neq(rep1 = harness_cluster_replica_of(1), -1);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_neq(prod = harness_produce_start((int)(total / 12)), -1);
	cr_assert_eq(harness_wait_applied(total / 5, HARNESS_WAIT_MS), 0);
	/* A planned hand-over: the replica takes node 0's slots. */
	cr_assert_eq(harness_cluster_failover(rep0), 0);
	harness_log("failover done with %lld of %lld applied",
	    (long long)harness_applied(), (long long)total);
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);

	/* A crash: node 1 killed, its replica promoted by the cluster. */
	harness_cluster_kill(1);
	cr_expect_eq(harness_wait_until(saw_down, &p, HARNESS_WAIT_MS,
	    "paced_redis_up 0"), 0, "the lost primary never showed in "
	    "paced_redis_up");
	cr_assert_eq(harness_cluster_wait_promoted(rep1), 0,
	    "the cluster did not promote node 1's replica");
	cr_expect_eq(harness_wait_until(back_up, &p, HARNESS_WAIT_MS,
	    "paced_redis_up 1 and paced_paused 0"), 0);
	harness_log("node %d took over node 1; %lld of %lld applied", rep1,
	    (long long)harness_applied(), (long long)total);
	/* Hand node 0's slots back: node rep0, found through the map and
	 * no seed, is a replica again, and paced lets its connection go. */
	cr_assert_eq(harness_cluster_failover(0), 0);
	cr_expect_eq(harness_paced_wait_log(&p, "event=redis_cluster_node_gone",
	    HARNESS_WAIT_MS), 0, "the demoted node's connection was kept");

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	check_exact(&p);
	cr_expect_gt(metric(&p, "paced_redis_cluster_map_reads_total"
	    "{conn=\"main\"}"), 1, "the slot map was never read again");
	cr_expect_eq(metric(&p, "paced_redis_cluster_primaries{conn=\"main\"}"),
	    3);
}
