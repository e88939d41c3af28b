/*
 * SCRIPT FLUSH five times mid-stream: every EVALSHA of the daemon's
 * counting script meets NOSCRIPT; the daemon drops the connection, loads
 * the script again and re-reads from the Redis watermark. Nothing may be
 * lost or counted twice; the re-read sends the bad events of the dropped
 * batches to the dead-letter topic again (at least once, by design).
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <stdlib.h>

Test(fault, script_flush, .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p;
	redisReply *r;
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_script_flush", 11, fault_events(12000),
	    0), 0);
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 15)), -1);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(harness_wait_applied(total * (i + 1) / 7,
		    HARNESS_WAIT_MS), 0);
		r = harness_redis_cmd("SCRIPT FLUSH");
		cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS,
		    "SCRIPT FLUSH failed");
		freeReplyObject(r);
		harness_log("SCRIPT FLUSH #%d at %lld applied", i + 1,
		    (long long)harness_applied());
	}
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("script_flush", 1, false), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
