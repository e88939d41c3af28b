/*
 * A first deployment in the middle of the week, through the daemon, on
 * the wall clock. Every hour is working time, the week started three days
 * ago and asks 7000 calls (1000 a day); the topic holds only the last
 * minutes. Rep on1 made 1500 calls in them: on pace since the data began
 * (the start of its first day, UTC here: at most a day and a minute ago,
 * at most about 1000 calls expected), far behind on the whole week (over
 * 3000 expected). Rep q, in the same partition, made none. The week is
 * judged on the working time since the partition's data began
 * (P:began:<topic>, the earliest event of its first batch): q gets a
 * critical week alert (min_breach 0s, one evaluation), on1 gets none.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partitioner.h"
#include "xmalloc.h"

/* A rep id in on1's partition (static storage). */
static const char *
silent_rep(void)
{
	static char id[16];
	int32_t want = partitioner_pick(PARTITIONER_MURMUR2, "on1", 3,
	    HARNESS_PARTITIONS);

	for (int k = 0; k < 1000; k++) {
		snprintf(id, sizeof(id), "q%d", k);
		if (partitioner_pick(PARTITIONER_MURMUR2, id, strlen(id),
		    HARNESS_PARTITIONS) == want)
			return id;
	}
	cr_assert_fail("no rep id shares on1's partition");
	return NULL;
}

static void
write_org(const char *silent)
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
	    "  - {id: on1, team: core, role: ae}\n"
	    "  - {id: %s, team: core, role: ae}\n"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  quiet_hours: none\n", harness_week_start_3d_ago(), silent);

	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
}

/* on1's calls: 1000 two minutes ago, 500 a minute ago. first_s gets the
 * earliest event's time (seconds since the epoch). */
static void
write_stream(time_t *first_s)
{
	char t1[32], t2[32], *text;
	time_t now = time(NULL);
	struct tm tm;

	*first_s = now - 120;
	gmtime_r(first_s, &tm);
	strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", &tm);
	now -= 60;
	gmtime_r(&now, &tm);
	strftime(t2, sizeof(t2), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text = xasprintf(
	    "on1\t{\"event_id\":\"c1\",\"rep_id\":\"on1\",\"type\":\"call\","
	    "\"count\":1000,\"occurred_at\":\"%s\"}\n"
	    "on1\t{\"event_id\":\"c2\",\"rep_id\":\"on1\",\"type\":\"call\","
	    "\"count\":500,\"occurred_at\":\"%s\"}\n", t1, t2);
	cr_assert_eq(harness_gen_write("stream.tsv", text), 0);
	free(text);
}

/* Number of messages in paced:alerts about rep. */
static long
alerts_of(const char *rep)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - +");
	char *needle = xasprintf("\"rep_id\":\"%s\"", rep);
	long n = 0;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *f = r->element[i]->element[1];

			for (size_t k = 0; k + 1 < f->elements; k += 2)
				if (strcmp(f->element[k]->str, "json") == 0 &&
				    strstr(f->element[k + 1]->str, needle))
					n++;
		}
	if (r != NULL)
		freeReplyObject(r);
	free(needle);
	return n;
}

static bool
silent_alerted(void *arg)
{
	return alerts_of(arg) >= 1;
}

Test(data_began, judged_since_the_data_began, .fini = harness_teardown,
    .timeout = 120)
{
	struct harness_paced p;
	const char *silent = silent_rep();
	char *cmd;
	redisReply *r;
	time_t first_s;

	cr_assert_eq(harness_setup("data_began"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org(silent);
	write_stream(&first_s);
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* The silent rep is still caught. */
	cr_assert_eq(harness_wait_until(silent_alerted, (void *)silent,
	    HARNESS_WAIT_MS, "the silent rep's alert"), 0);
	/* The start kept is on1's first event. */
	cmd = xasprintf("HGET paced:began:%s %" PRId32, HARNESS_TOPIC,
	    partitioner_pick(PARTITIONER_MURMUR2, "on1", 3,
	    HARNESS_PARTITIONS));
	r = harness_redis_cmd(cmd);
	free(cmd);
	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	cr_expect_eq(strtoll(r->str, NULL, 10), (long long)first_s * 1000);
	freeReplyObject(r);

	/* Several evaluations later, nothing about the rep on pace. */
	sleep(3);
	cr_expect_eq(alerts_of("on1"), 0);
	harness_paced_kill(&p, SIGTERM);
}
