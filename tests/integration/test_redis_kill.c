/*
 * SIGKILL redis-server mid-stream (AOF everysec: the last second of writes
 * may be lost), keep it down about 3 s, restart it on the same port and
 * data: the daemon must ride it out without exiting, report not ready and
 * paused (paced_paused 1) while Redis is down and unpaused after, and end
 * with Redis equal to the oracle exactly.
 *
 * The setting advice (README, Redis settings) on the way: none while
 * Redis keeps hash-max-listpack-entries at 128 (set before paced starts),
 * and once (the ingest connection) after the restart has put back the
 * server's own 512.
 */

#include "harness.h"
#include "harness_impl.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>

struct outage {
	struct harness_paced *p;
	bool saw_503;
	bool saw_redis_down;
	bool saw_paused;
};

static bool
unpaused(void *arg)
{
	return harness_paced_metric(arg, "paced_paused") == 0;
}

static bool
not_ready(void *arg)
{
	struct outage *o = arg;
	char *body = NULL;
	double up = 1, paused = 0;
	int status;

	if (harness_http_get(o->p->http_port, "/metrics", &status,
	    &body) == 0 && status == 200) {
		if (harness_metric(body, "paced_redis_up", &up) == 0 && up == 0)
			o->saw_redis_down = true;
		if (harness_metric(body, "paced_paused", &paused) == 0 &&
		    paused == 1)
			o->saw_paused = true;
	}
	free(body);
	if (harness_http_get(o->p->http_port, "/readyz", &status, NULL) == 0 &&
	    status == 503)
		o->saw_503 = true;
	return o->saw_503 && o->saw_redis_down && o->saw_paused;
}

/* Samples the daemon through the outage; true once it has lasted 3 s. */
struct sample {
	struct outage *o;
	int64_t until;
};

static bool
outage_over(void *arg)
{
	struct sample *s = arg;

	not_ready(s->o);
	return harness_elapsed_ms() >= s->until;
}

/* How many lines of paced's log (every run) hold needle. */
static int
log_count(const struct harness_paced *p, const char *needle)
{
	char *text = harness_read_file(p->log, NULL), *s;
	int n = 0;

	for (s = text; s != NULL && (s = strstr(s, needle)) != NULL; s++)
		n++;
	free(text);
	return n;
}

Test(redis_kill, sigkill_redis_mid_stream, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	struct outage o = { &p, false, false, false };
	struct sample s = { &o, 0 };
	pid_t prod;
	redisReply *r;
	int64_t total;
	int st;

	cr_assert_eq(harness_start_stack("redis_kill", 4), 0);
	total = harness_stream_messages();
	r = redisCommand(harness_redis(), "CONFIG SET "
	    "hash-max-listpack-entries 128");
	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_expect_eq(log_count(&p, "redis_setting_advice"), 0,
	    "advice at 128; see %s", p.log);

	cr_assert_neq(prod = harness_produce_start((int)(total / 8)), -1);
	cr_assert_eq(harness_wait_applied(total / 3, HARNESS_WAIT_MS), 0);
	harness_redis_stop(SIGKILL);

	/* The outage lasts about 3 s; sample readiness all along. */
	s.until = harness_elapsed_ms() + 3000;
	harness_wait_until(outage_over, &s, 10000, "the outage to last 3 s");
	harness_wait_until(not_ready, &o, 10000,
	    "/readyz 503, paced_redis_up 0 and paced_paused 1");
	cr_expect(o.saw_503, "/readyz never answered 503 while Redis was "
	    "down");
	cr_expect(o.saw_redis_down, "paced_redis_up never went to 0");
	cr_expect(o.saw_paused, "paced_paused never went to 1");
	cr_assert(harness_alive(p.pid), "paced exited while Redis was down; "
	    "see %s", p.log);
	cr_assert_eq(harness_redis_start(), 0);

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect_eq(harness_wait_until(unpaused, &p, 10000,
	    "paced_paused 0"), 0, "paced_paused stayed 1 after the outage");
	cr_expect_gt(harness_paced_metric(&p,
	    "paced_redis_latency_seconds_count"), 0,
	    "no Redis round trip measured");
	cr_expect_gt(harness_paced_metric(&p, "paced_batch_messages_count"), 0,
	    "no batch size observed");
	cr_expect_eq(log_count(&p, "redis_setting_advice"), 1,
	    "advice not logged once after the restart; see %s", p.log);
	cr_expect_eq(log_count(&p, "value=512 advice=128"), 1);
	cr_expect(harness_alive(p.pid), "paced exited (status %d); see %s",
	    harness_exit_status(p.pid), p.log);
}
