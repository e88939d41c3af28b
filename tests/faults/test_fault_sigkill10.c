/*
 * The daemon SIGKILLed ten times at random moments (seeded) of a steady
 * stream, started again each time: at-least-once delivery plus
 * idempotent application must leave every counter exact, and the alerts
 * whose state was stored must not be sent again.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <signal.h>

Test(fault, sigkill_ten_times, .fini = harness_teardown, .timeout = 900)
{
	struct harness_paced p;
	int64_t total, before;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_sigkill10", 13, fault_events(12000),
	    0), 0);
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	/*
	 * About 150 s of stream: each restart waits out the killed member's
	 * session (6 s) before it gets partitions, so the ten kills, each a
	 * random moment after the daemon counts again, land inside it.
	 */
	cr_assert_neq(prod = harness_produce_start((int)(total / 150)), -1);
	for (i = 0; i < 10; i++) {
		before = harness_applied();
		cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
		cr_assert_eq(harness_wait_applied(before + 1, HARNESS_WAIT_MS),
		    0);
		fault_sleep_ms(fault_rand(200, 3000));
		cr_assert(harness_alive(p.pid), "paced exited; see %s", p.log);
		cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
		harness_log("SIGKILL #%d at %lld of %lld applied", i + 1,
		    (long long)harness_applied(), (long long)total);
		cr_assert_eq(fault_paced(&p, 0, false), 0);
	}
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_expect_lt(harness_applied(), total, "the kills outlasted the stream");
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("sigkill_ten_times", 1, false), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
