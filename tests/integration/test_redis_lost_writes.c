/*
 * Redis loses its last writes: SIGKILL redis-server mid-stream, cut the
 * tail off its append-only file (what appendfsync everysec may lose when
 * the machine goes down), restart it. Counters, seen sets and partition
 * watermarks roll back together to an earlier state; the daemon must
 * notice, seek back to the watermark Redis holds and end with Redis equal
 * to the oracle exactly.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>

Test(redis_lost_writes, aof_tail_lost, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	pid_t prod;
	int64_t total, before, at_kill;
	int st;

	cr_assert_eq(harness_start_stack("redis_lost_writes", 6), 0);
	total = harness_stream_messages();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_neq(prod = harness_produce_start((int)(total / 8)), -1);
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	at_kill = harness_applied();
	harness_redis_stop(SIGKILL);
	cr_assert_gt(harness_redis_truncate_aof(4 << 20), 0);
	cr_assert_eq(harness_redis_start(), 0);
	before = harness_applied();
	harness_log("after the restart Redis holds %lld applied offsets "
	    "(at least %lld before the kill)", (long long)before,
	    (long long)at_kill);
	/* Otherwise the test would prove nothing: Redis went back in time. */
	cr_assert_lt(before, at_kill, "Redis lost no watermark");

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect(harness_alive(p.pid), "paced exited (status %d); see %s",
	    harness_exit_status(p.pid), p.log);
}
