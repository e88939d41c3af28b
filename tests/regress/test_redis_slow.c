/*
 * A Redis that stops answering without closing the connection (here
 * SIGSTOP for 5 s, as a stuck or swapping server would): hiredis 0.14 has no
 * command timeout, so the daemon's own watchdog must give up after
 * redis.command_timeout (2 s in the harness), drop the connection, pause,
 * and once Redis answers again resume from the Redis watermark with
 * nothing lost or counted twice. The daemon is given Redis by host name
 * ("localhost"), so every connect, the reconnects included, goes through
 * its asynchronous resolver first.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static bool
stall_over(void *arg)
{
	return harness_elapsed_ms() >= *(int64_t *)arg;
}

/* Lines of the file at path that contain needle. */
static int
lines_with(const char *path, const char *needle)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

Test(redis_slow, stalled_redis_times_out_and_recovers, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	pid_t prod, pid;
	int64_t total, until;
	int st;

	cr_assert_eq(harness_start_stack("redis_slow", 11), 0);
	total = harness_stream_messages();
	harness_redis_host("localhost");
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_neq(prod = harness_produce_start((int)(total / 8)), -1);
	cr_assert_eq(harness_wait_applied(total / 4, HARNESS_WAIT_MS), 0);
	/* Redis answers nobody for 5 s: longer than the 2 s timeout. */
	cr_assert_gt(pid = harness_redis_pid(), 0);
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	until = harness_elapsed_ms() + 5000;
	harness_wait_until(stall_over, &until, 10000, "a 5 s stall");
	cr_assert_eq(kill(pid, SIGCONT), 0);

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	/* The connection with commands out when Redis stopped times out:
	 * the ingest one (batches all the time at this rate), the main one
	 * only if the evaluator had a read or write out then. */
	cr_expect_gt(harness_paced_metric(&p,
	    "paced_redis_timeouts_total{conn=\"main\"}") +
	    harness_paced_metric(&p,
	    "paced_redis_timeouts_total{conn=\"ingest\"}"), 0,
	    "the watchdog never fired");
	cr_expect_gt(harness_paced_metric(&p, "paced_recoveries_total"), 0,
	    "the ingest path never paused and re-read its positions");
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic differs");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	/* The first connects and at least one reconnect resolved the name. */
	cr_expect_geq(lines_with(p.log, "event=redis_state conn=main "
	    "old=down new=resolving") + lines_with(p.log, "event=redis_state "
	    "conn=ingest old=down new=resolving"), 3, "see %s", p.log);
	cr_expect_eq(lines_with(p.log, "event=redis_resolve_failed"), 0,
	    "see %s", p.log);
}
