/*
 * Two daemons against a Redis Cluster of three primaries with a replica
 * each, alerts firing all along: mid-stream one primary is handed to its
 * replica (CLUSTER FAILOVER), later another is SIGKILLed and the cluster
 * promotes its replica. Every counter must stay exact, no alert go out
 * twice, and none be lost: every alert the firing set holds at the end
 * was sent on the alerts topic.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

/* Alert ids in P:alerts:firing with no firing message on the topic. */
static int
firing_not_sent(int *nfiring)
{
	struct harness_msgs m = { NULL, 0 };
	redisReply *r = harness_redis_cmd("HKEYS paced:alerts:firing");
	int missing = 0;

	*nfiring = -1;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    harness_read_topic(HARNESS_TOPIC_ALERTS, &m) == -1) {
		if (r != NULL)
			freeReplyObject(r);
		return 1;
	}
	*nfiring = (int)r->elements;
	for (size_t i = 0; i < r->elements; i++) {
		bool sent = false;

		for (size_t k = 0; k < m.n && !sent; k++) {
			const struct harness_header *id, *st;

			id = harness_msg_header(&m.v[k], "paced.alert_id");
			st = harness_msg_header(&m.v[k], "paced.status");
			sent = id != NULL && id->value != NULL && st != NULL &&
			    st->value != NULL &&
			    strcmp(id->value, r->element[i]->str) == 0 &&
			    strcmp(st->value, "firing") == 0;
		}
		if (!sent && missing++ < 10)
			harness_log("alert %s is firing in Redis but was never "
			    "sent", r->element[i]->str);
	}
	freeReplyObject(r);
	harness_msgs_free(&m);
	return missing;
}

static bool
redis_down(void *arg)
{
	return harness_paced_metric(arg, "paced_redis_up{conn=\"main\"}") == 0;
}

Test(fault, cluster_failover_and_primary_killed, .fini = harness_teardown,
    .timeout = 600)
{
	struct harness_paced p[2];
	int64_t total;
	pid_t prod;
	int i, rep0, rep1, nfiring;

	cr_assert_eq(fault_stack("fault_cluster_failover", 22,
	    fault_events(12000), FAULT_CLUSTER | FAULT_REPLICAS), 0);
	total = harness_stream_messages();
	cr_assert_neq(rep0 = harness_cluster_replica_of(0), -1);
	cr_assert_neq(rep1 = harness_cluster_replica_of(1), -1);
	for (i = 0; i < 2; i++)
		cr_assert_eq(fault_paced(&p[i], i, false), 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(harness_paced_wait_ready(&p[i], HARNESS_WAIT_MS),
		    0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 40)), -1);
	cr_assert_eq(harness_wait_applied(total / 4, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_cluster_failover(rep0), 0);
	harness_log("failover at %lld applied", (long long)harness_applied());
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	harness_cluster_kill(1);
	cr_expect_eq(harness_wait_until(redis_down, &p[0], HARNESS_WAIT_MS,
	    "paced #0 to see a primary missing"), 0);
	cr_assert_eq(harness_cluster_wait_promoted(rep1), 0,
	    "the cluster did not promote node 1's replica");
	harness_log("node 1's replica promoted at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("cluster_failover", 1, false), 0);
	cr_expect_eq(firing_not_sent(&nfiring), 0, "alerts lost");
	harness_log("%d alerts firing at the end, each sent", nfiring);
	cr_expect_gt(nfiring, 0, "no alert firing at the end: nothing to "
	    "check");
	for (i = 0; i < 2; i++)
		cr_expect(harness_alive(p[i].pid), "paced #%d exited; see %s",
		    i, p[i].log);
}
