/*
 * A replay from offset 0: once the stream is counted, the daemon stops,
 * the Redis watermarks are deleted, it moves to a consumer group without
 * committed offsets (the group offsets reset: it starts at offset 0; the
 * mock cluster offers no offset reset for a group from outside it), and
 * it starts again. It reads the whole topic a second time:
 * every event is a duplicate, so every counter must be unchanged and no
 * alert sent again; the bad events go to the dead-letter topic again.
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdlib.h>

static int64_t
alerts_on_topic(void)
{
	int64_t hi[HARNESS_MAX_PARTITIONS], sum = 0;
	int i;

	if (harness_watermarks(HARNESS_TOPIC_ALERTS, hi,
	    harness_partitions()) == -1)
		return -1;
	for (i = 0; i < harness_partitions(); i++)
		sum += hi[i];
	return sum;
}

Test(fault, replay_from_zero, .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p;
	int64_t total, alerts_before;
	redisReply *r;
	pid_t prod;
	double dup;
	int st;

	cr_assert_eq(fault_stack("fault_replay", 17, fault_events(12000), 0),
	    0);
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 10)), -1);
	cr_assert_eq(fault_finish(prod), 0);
	cr_assert_eq(harness_compare_redis(20), 0, "wrong before the replay");
	/* Let the alerts of the first pass all go out. */
	cr_assert_eq(fault_report("replay_first_pass", 1, true), 0);
	alerts_before = alerts_on_topic();

	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 30000, &st), 0);
	p.pid = 0;
	r = harness_redis_cmd("DEL paced:offsets:%s", HARNESS_TOPIC);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1, "no watermark hash to delete");
	freeReplyObject(r);
	cr_assert_eq(fault_regroup(&p, HARNESS_GROUP "-replay"), 0);
	harness_log("watermarks deleted, group offsets reset: replaying %lld",
	    (long long)total);

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(fault_finish(0), 0);
	dup = harness_paced_metric(&p,
	    "paced_events_total{outcome=\"duplicate\"}");
	harness_log("the replay saw %.0f duplicates", dup);
	cr_expect_geq(dup, (double)(total - total / 10),
	    "the replay did not read the topic again");
	cr_expect_eq(fault_report("replay_from_zero", 1, false), 0);
	cr_expect_eq(alerts_on_topic(), alerts_before,
	    "the replay sent alerts");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
