/*
 * SIGTERM during load: the daemon must exit 0 within 15 s after committing
 * exactly what it applied: the Kafka committed offsets of its group equal,
 * partition by partition, the watermark it wrote to Redis
 * (P:offsets:<topic>), never more. A new daemon then finishes the stream:
 * Redis must equal the oracle, and the dead-letter topic hold each bad
 * event exactly once.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>

Test(sigterm, sigterm_under_load, .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	pid_t prod;
	int64_t total, t;
	int64_t committed[HARNESS_PARTITIONS], applied[HARNESS_PARTITIONS];
	int st, i;

	cr_assert_eq(harness_start_stack("sigterm", 5), 0);
	total = harness_stream_messages();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_neq(prod = harness_produce_start((int)(total / 6)), -1);
	cr_assert_eq(harness_wait_applied(total / 3, HARNESS_WAIT_MS), 0);
	t = harness_elapsed_ms();
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 15000, &st), 0,
	    "paced still running 15 s after SIGTERM; see %s", p.log);
	harness_log("paced exited %lld ms after SIGTERM with %lld of %lld "
	    "applied", (long long)(harness_elapsed_ms() - t),
	    (long long)harness_applied(), (long long)total);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced did not exit 0 (wait status 0x%x); see %s", st, p.log);

	/* What the group committed is what Redis says was applied. */
	cr_assert_eq(harness_committed(committed, HARNESS_PARTITIONS), 0);
	cr_assert_eq(harness_applied_offsets(applied, HARNESS_PARTITIONS), 0);
	for (i = 0; i < HARNESS_PARTITIONS; i++) {
		harness_log("partition %d: committed %lld, applied %lld", i,
		    (long long)committed[i], (long long)applied[i]);
		if (applied[i] < 0)
			cr_expect_lt(committed[i], 0, "partition %d: committed "
			    "%lld with nothing applied", i,
			    (long long)committed[i]);
		else
			cr_expect_eq(committed[i], applied[i], "partition %d: "
			    "committed %lld, applied %lld", i,
			    (long long)committed[i], (long long)applied[i]);
	}

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	/* A restart reads from the lowest shard watermark, which may lag
	 * P:offsets by up to a second: bad events read again there must not
	 * get a second dead-letter copy. */
	harness_log("dead-letter copies not sent again: %.0f",
	    harness_paced_metric(&p, "paced_dlq_reread_skipped_total"));
	cr_expect_eq(harness_check_dlq(true, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
