/*
 * CLIENT KILL of every connection but the test's own, five times
 * mid-stream: the daemon's counting and sink connections drop with
 * writes in flight. It must reconnect, re-read from the Redis watermark
 * and end with every counter exact.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <stdlib.h>

Test(fault, client_kill, .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p;
	redisReply *r;
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_client_kill", 12, fault_events(12000),
	    0), 0);
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 15)), -1);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(harness_wait_applied(total * (i + 1) / 7,
		    HARNESS_WAIT_MS), 0);
		r = harness_redis_cmd("CLIENT KILL TYPE normal SKIPME yes");
		cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER,
		    "CLIENT KILL failed");
		harness_log("CLIENT KILL #%d: %lld connections, %lld applied",
		    i + 1, r->integer, (long long)harness_applied());
		cr_expect_gt(r->integer, 0, "paced had no connection");
		freeReplyObject(r);
	}
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("client_kill", 1, false), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
