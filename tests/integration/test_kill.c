/*
 * SIGKILL the daemon when about half of the stream is applied, start it
 * again: Redis must still equal the oracle exactly (at-least-once delivery
 * plus idempotent application), and every bad event must reach the
 * dead-letter topic at least once, with nothing else there.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>

Test(kill, sigkill_mid_stream, .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	pid_t prod;
	int64_t total, at_kill;
	int st;

	cr_assert_eq(harness_start_stack("kill", 2), 0);
	total = harness_stream_messages();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* Spread production over about 6 s so the kill lands mid-stream. */
	cr_assert_neq(prod = harness_produce_start((int)(total / 6)), -1);
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	at_kill = harness_applied();
	harness_log("killed with %lld of %lld applied", (long long)at_kill,
	    (long long)total);
	cr_expect_lt(at_kill, total, "the kill came after the whole stream");

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
