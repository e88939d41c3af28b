/*
 * Three daemons share 12 partitions; mid-stream one is SIGKILLed while it
 * holds partitions and, later, a fourth joins. The group moves the
 * partitions twice (after the dead member's session timeout, then for
 * the newcomer): every counter must stay exact and no alert go out twice
 * (each rep is judged by whichever member owns its partition now).
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

Test(fault, members_killed_and_added, .fini = harness_teardown,
    .timeout = 600)
{
	struct harness_paced p[4];
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_members", 20, fault_events(12000),
	    FAULT_12_PARTITIONS), 0);
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
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	cr_assert_eq(fault_paced(&p[3], 3, false), 0);
	harness_log("paced #3 added at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(harness_wait_until(has_counted, &p[3], HARNESS_WAIT_MS,
	    "paced #3 to count events"), 0);
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("members_12_parts", 1, false), 0);
	for (i = 0; i < 4; i++)
		cr_expect(i == 2 || harness_alive(p[i].pid),
		    "paced #%d exited; see %s", i, p[i].log);
}
