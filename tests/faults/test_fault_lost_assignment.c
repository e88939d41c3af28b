/*
 * A lost assignment: two daemons share the partitions; one is SIGSTOPped
 * for longer than the session timeout (the group evicts it and the other
 * takes every partition), then resumed: it wakes up with a batch and
 * offsets of partitions it no longer owns, must notice, rejoin and not
 * count anything twice.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdlib.h>

/* The instance has counted events itself, so it owns partitions. */
static bool
has_counted(void *arg)
{
	return harness_paced_metric(arg,
	    "paced_events_total{outcome=\"counted\"}") > 0;
}

Test(fault, lost_assignment, .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p[2];
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_lost_assignment", 16,
	    fault_events(12000), 0), 0);
	total = harness_stream_messages();
	for (i = 0; i < 2; i++)
		cr_assert_eq(fault_paced(&p[i], i, false), 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(harness_paced_wait_ready(&p[i], HARNESS_WAIT_MS),
		    0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 40)), -1);
	cr_assert_eq(harness_wait_until(has_counted, &p[1], HARNESS_WAIT_MS,
	    "paced #1 to count events"), 0);
	cr_assert_eq(harness_wait_applied(total / 5, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_kill(p[1].pid, SIGSTOP), 0);
	harness_log("paced #1 stopped at %lld applied",
	    (long long)harness_applied());
	/* Session timeout 6 s: 12 s is well past it. */
	fault_sleep_ms(12000);
	cr_assert_eq(harness_kill(p[1].pid, SIGCONT), 0);
	harness_log("paced #1 resumed at %lld applied",
	    (long long)harness_applied());
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("lost_assignment", 1, false), 0);
	for (i = 0; i < 2; i++)
		cr_expect(harness_alive(p[i].pid), "paced #%d exited; see %s",
		    i, p[i].log);
}
