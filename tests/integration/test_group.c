/*
 * Two daemons in one consumer group share the 6 partitions; one is
 * SIGKILLed mid-stream while it holds partitions. The survivor takes them
 * over after the session timeout and finishes: Redis must equal the
 * oracle exactly.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>

static bool
both_ready(void *arg)
{
	struct harness_paced *p = arg;
	int i, status;

	for (i = 0; i < 2; i++)
		if (!harness_alive(p[i].pid))
			return true;	/* the caller notices */
	for (i = 0; i < 2; i++)
		if (harness_http_get(p[i].http_port, "/readyz", &status,
		    NULL) == -1 || status != 200)
			return false;
	return true;
}

/* The instance has counted events itself, so it owns partitions. */
static bool
has_counted(void *arg)
{
	struct harness_paced *p = arg;
	char *body = NULL;
	double v = 0;
	int status;

	if (!harness_alive(p->pid))
		return true;	/* the caller notices */
	if (harness_http_get(p->http_port, "/metrics", &status, &body) == 0 &&
	    status == 200)
		harness_metric(body, "paced_events_total{outcome=\"counted\"}",
		    &v);
	free(body);
	return v > 0;
}

Test(group, sigkill_one_member, .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p[2];
	pid_t prod;
	int64_t total;
	int i, st;

	cr_assert_eq(harness_start_stack("group", 3), 0);
	total = harness_stream_messages();
	for (i = 0; i < 2; i++) {
		cr_assert_eq(harness_paced_config(&p[i], i, NULL), 0);
		cr_assert_eq(harness_paced_start(&p[i]), 0);
	}
	cr_assert_eq(harness_wait_until(both_ready, p, HARNESS_WAIT_MS,
	    "both members to hold partitions"), 0);
	for (i = 0; i < 2; i++)
		cr_assert(harness_alive(p[i].pid), "paced #%d exited; see %s",
		    i, p[i].log);
	harness_log("both members ready");

	cr_assert_neq(prod = harness_produce_start((int)(total / 8)), -1);
	cr_assert_eq(harness_wait_applied(total / 3, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_until(has_counted, &p[1], HARNESS_WAIT_MS,
	    "the victim to count events"), 0);
	cr_assert(harness_alive(p[1].pid), "paced #1 exited; see %s",
	    p[1].log);
	cr_assert_eq(harness_paced_kill(&p[1], SIGKILL), 0);
	harness_log("member 1 killed with %lld of %lld applied",
	    (long long)harness_applied(), (long long)total);

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect(harness_alive(p[0].pid), "the survivor exited; see %s",
	    p[0].log);
}
