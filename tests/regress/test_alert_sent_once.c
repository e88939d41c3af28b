/*
 * An alert message was sent twice when Redis failed between the alerts
 * topic taking the message and the alert state being stored (seen under
 * CLIENT KILL in the fault suite): the state writes went unchecked, the
 * next evaluation read the old state and sent the same message again.
 *
 * Made deterministic with an ACL: paced's user may not HSET, so every
 * write of the alert state fails (NOPERM) while the topic and the stream
 * (XADD) take the message. The daemon must hold the rep, retry the same
 * writes and send nothing more; once HSET is allowed again the state is
 * stored, evaluations go on, and the message is still on the topic and
 * the stream once.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

static void
write_org(void)
{
	char *org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "    week_start: %s\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 7000}}}\n"
	    "teams:\n"
	    "  - {id: core, timezone: Etc/UTC, manager: m-core}\n"
	    "reps:\n"
	    "  - {id: s1, team: core, role: ae}\n"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  quiet_hours: none\n", harness_week_start_3d_ago());

	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
}

static long long
stream_len(void)
{
	redisReply *r = harness_redis_cmd("XLEN paced:alerts");
	long long v = -1;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

static bool
one_alert(void *arg)
{
	(void)arg;
	return stream_len() >= 1;
}

static bool
state_stored(void *arg)
{
	redisReply *r = harness_redis_cmd("HGET paced:{rep:s1}:alerts "
	    "calls:week");
	bool ok = r != NULL && r->type == REDIS_REPLY_STRING &&
	    strstr(r->str, "a2:") != NULL;

	if (ok)
		harness_log("state stored: %s", r->str);
	if (r != NULL)
		freeReplyObject(r);
	(void)arg;
	return ok;
}

static bool
firing_stored(void *arg)
{
	redisReply *r = harness_redis_cmd("HLEN paced:alerts:firing");
	bool ok = r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1;

	if (r != NULL)
		freeReplyObject(r);
	(void)arg;
	return ok;
}

static void
acl(const char *rule)
{
	redisReply *r = harness_redis_cmd("ACL SETUSER default %s", rule);

	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS,
	    "ACL SETUSER default %s failed", rule);
	freeReplyObject(r);
}

static size_t
topic_messages(void)
{
	struct harness_msgs m;
	size_t n;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	n = m.n;
	harness_msgs_free(&m);
	return n;
}

Test(regress, alert_sent_once_when_its_state_write_fails,
    .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;
	double evals;

	cr_assert_eq(harness_setup("alert_sent_once"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	acl("-hset");
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_eq(harness_wait_until(one_alert, NULL, HARNESS_WAIT_MS,
	    "the alert on the stream"), 0);
	/* Evaluations every second: four of them would have sent it again. */
	sleep(4);
	cr_assert_eq(stream_len(), 1, "the alert went to the stream %lld "
	    "times", stream_len());
	cr_expect(harness_paced_logged(&p, "alert_state_store_failed"),
	    "no alert_state_store_failed line");
	cr_expect_geq(harness_paced_metric(&p,
	    "paced_alert_state_retries_total"), 2);
	cr_expect(!state_stored(NULL), "HSET was allowed");

	acl("+hset");
	cr_assert_eq(harness_wait_until(state_stored, NULL, HARNESS_WAIT_MS,
	    "the state stored"), 0);
	cr_assert_eq(harness_wait_until(firing_stored, NULL, HARNESS_WAIT_MS,
	    "the firing set"), 0);
	evals = harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"ok\"}");
	sleep(3);
	cr_expect_gt(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"ok\"}"), evals,
	    "no evaluation since the state was stored");
	cr_expect_eq(stream_len(), 1);
	cr_expect_eq(topic_messages(), 1);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_alerts_total{status=\"firing\",severity=\"critical\"}") +
	    harness_paced_metric(&p,
	    "paced_alerts_total{status=\"firing\",severity=\"warning\"}"), 1);
	harness_paced_kill(&p, SIGTERM);
}
