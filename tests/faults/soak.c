/*
 * The soak: one daemon under a steady stream for PACED_SOAK_SECONDS
 * (default 600) while a fault strikes every 30 s in turn (SCRIPT FLUSH,
 * CLIENT KILL of its connections, redis-server SIGSTOPped for 4 s, past
 * the command timeout). The same generated stream is produced again and
 * again (one pass every 120 s): after the first pass every event is a
 * duplicate, so the counters must stay exact and Redis must not grow.
 * At the end of each pass (all read and applied) the daemon's resident
 * set and open descriptors and Redis's used memory are sampled; from the
 * second pass to the last they must stay flat (RSS within 10% + 2 MiB,
 * descriptors within 2, Redis memory within 5% + 256 KiB).
 */

#include "faults.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "xmalloc.h"

#define PASS_SECONDS	120
#define RATE		50	/* events per second */
#define FAULT_EVERY_MS	30000
#define MAX_PASSES	64

struct sample {
	int64_t	  at_ms;
	long	  rss_kb;
	long	  fds;
	long long redis;
};

static int
soak_seconds(void)
{
	const char *s = getenv("PACED_SOAK_SECONDS");
	long v;

	if (s != NULL && *s != '\0' && (v = strtol(s, NULL, 10)) > 0)
		return (int)v;
	return 600;
}

static void
strike(int k, pid_t paced)
{
	redisReply *r;

	switch (k % 3) {
	case 0:
		r = harness_redis_cmd("SCRIPT FLUSH");
		harness_log("soak fault: SCRIPT FLUSH");
		break;
	case 1:
		r = harness_redis_cmd("CLIENT KILL TYPE normal SKIPME yes");
		harness_log("soak fault: CLIENT KILL (%lld connections)",
		    r != NULL && r->type == REDIS_REPLY_INTEGER ?
		    r->integer : -1);
		break;
	default:
		r = NULL;
		harness_log("soak fault: redis-server SIGSTOP for 4 s");
		harness_kill(harness_redis_pid(), SIGSTOP);
		fault_sleep_ms(4000);
		harness_kill(harness_redis_pid(), SIGCONT);
		break;
	}
	if (r != NULL)
		freeReplyObject(r);
	cr_assert(harness_alive(paced), "paced exited during the soak");
}

Test(fault, soak, .fini = harness_teardown, .timeout = 7200)
{
	struct sample s[MAX_PASSES];
	struct harness_paced p;
	int64_t start, next_fault, end;
	int passes = 0, k = 0, st, i;
	pid_t prod;
	FILE *f;
	char *path;

	cr_assert_eq(fault_stack("fault_soak", 21, RATE * PASS_SECONDS, 0), 0);
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	start = harness_elapsed_ms();
	end = start + (int64_t)soak_seconds() * 1000;
	next_fault = start + FAULT_EVERY_MS;
	harness_log("soak: %d s at %d events/s, %lld events a pass",
	    soak_seconds(), RATE, (long long)harness_stream_messages());
	while (passes < MAX_PASSES && (passes == 0 ||
	    harness_elapsed_ms() < end)) {
		cr_assert_neq(prod = harness_produce_start(RATE), -1);
		while (harness_wait_exit(prod, 1000, &st) == -1) {
			if (harness_elapsed_ms() >= next_fault) {
				strike(k++, p.pid);
				next_fault += FAULT_EVERY_MS;
			}
		}
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "paced-produce failed");
		cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
		s[passes].at_ms = harness_elapsed_ms() - start;
		s[passes].rss_kb = fault_rss_kb(p.pid);
		s[passes].fds = fault_fds(p.pid);
		s[passes].redis = fault_redis_memory();
		harness_log("soak pass %d at %.0f s: rss %ld kB, fds %ld, "
		    "redis used_memory %lld B", passes + 1,
		    s[passes].at_ms / 1000.0, s[passes].rss_kb, s[passes].fds,
		    s[passes].redis);
		passes++;
	}
	cr_assert_geq(passes, 3, "the soak needs three passes at least");
	cr_expect_eq(fault_report("soak", passes, false), 0);

	path = xasprintf("%s/tmp/soak.txt", harness_build_dir());
	f = fopen(path, "w");
	free(path);
	for (i = 0; i < passes; i++)
		if (f != NULL)
			fprintf(f, "pass %d at %4.0f s: rss %ld kB, fds %ld, "
			    "redis used_memory %lld B\n", i + 1,
			    s[i].at_ms / 1000.0, s[i].rss_kb, s[i].fds,
			    s[i].redis);
	if (f != NULL) {
		fprintf(f, "%d faults over %.0f s, %lld events produced\n", k,
		    s[passes - 1].at_ms / 1000.0,
		    (long long)passes * harness_stream_messages());
		fclose(f);
	}
	cr_expect_leq(s[passes - 1].rss_kb, s[1].rss_kb + s[1].rss_kb / 10 +
	    2048, "paced's RSS grew: %ld kB after pass 2, %ld kB at the end",
	    s[1].rss_kb, s[passes - 1].rss_kb);
	cr_expect_leq(s[passes - 1].fds, s[1].fds + 2, "paced's descriptors "
	    "grew: %ld after pass 2, %ld at the end", s[1].fds,
	    s[passes - 1].fds);
	cr_expect_leq(s[passes - 1].redis, s[1].redis + s[1].redis / 20 +
	    262144, "Redis grew: %lld B after pass 2, %lld B at the end",
	    s[1].redis, s[passes - 1].redis);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
