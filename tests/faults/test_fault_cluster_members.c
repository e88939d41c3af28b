/*
 * The members scenario on a Redis Cluster: three daemons share 12
 * partitions against three primaries; mid-stream one daemon is SIGKILLed
 * while it holds partitions, slots holding the reps' keys are resharded
 * from one primary to another, and a fourth daemon joins. Every counter
 * must stay exact and no alert go out twice: each rep is judged by the
 * one member that owns its partition, whichever primary holds its keys.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <signal.h>

static bool
has_counted(void *arg)
{
	return harness_paced_metric(arg,
	    "paced_events_total{outcome=\"counted\"}") > 0;
}

Test(fault, cluster_members_killed_added_resharded,
    .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p[4];
	int64_t total;
	pid_t prod;
	int i;
	double moved = 0;

	cr_assert_eq(fault_stack("fault_cluster_members", 21,
	    fault_events(12000), FAULT_12_PARTITIONS | FAULT_CLUSTER), 0);
	cr_assert_eq(harness_partitions(), 12);
	total = harness_stream_messages();
	for (i = 0; i < 3; i++)
		cr_assert_eq(fault_paced(&p[i], i, false), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(harness_paced_wait_ready(&p[i], HARNESS_WAIT_MS),
		    0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 40)), -1);
	cr_assert_eq(harness_wait_until(has_counted, &p[2], HARNESS_WAIT_MS,
	    "paced #2 to count events"), 0);
	cr_assert_eq(harness_wait_applied(total / 4, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_kill(&p[2], SIGKILL), 0);
	harness_log("paced #2 killed at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(harness_cluster_reshard(2, 0, 1500), 0,
	    "redis-cli --cluster reshard failed; see redis-cluster.log");
	harness_log("reshard done at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	cr_assert_eq(fault_paced(&p[3], 3, false), 0);
	harness_log("paced #3 added at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(harness_wait_until(has_counted, &p[3], HARNESS_WAIT_MS,
	    "paced #3 to count events"), 0);
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("cluster_members_12_parts", 1, false), 0);
	for (i = 0; i < 4; i++) {
		cr_expect(i == 2 || harness_alive(p[i].pid),
		    "paced #%d exited; see %s", i, p[i].log);
		if (i != 2)
			moved += harness_paced_metric(&p[i],
			    "paced_redis_cluster_redirects_total{conn=\"ingest\","
			    "kind=\"moved\"}");
	}
	harness_log("MOVED followed by the members alive: %.0f", moved);
	cr_expect_gt(moved, 0, "the reshard moved no slot a member wrote to");
}
