/*
 * A replay on the event clock double counted. With clock: event, too_old
 * is judged against the event clock, but the dedupe sets expired at a
 * wall time computed from the event's UTC day plus the dedupe window: for
 * history older than the window the set expired as it was created, and
 * the same event in two batches counted 2. Now a set lives the window past
 * the later of its day's end and the wall clock's now.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "xmalloc.h"

#define WINDOW_S	(35LL * 86400)	/* the harness's redis.dedupe_window */
#define AGE_S		(100LL * 86400)	/* the history: older than the window */

static double
metric(const struct harness_paced *p, const char *series)
{
	double v = harness_paced_metric(p, series);

	return v < 0 ? 0 : v;
}

struct want {
	const struct harness_paced *p;
	double dups;
};

static bool
dups_are(void *arg)
{
	struct want *w = arg;

	return metric(w->p, "paced_events_total{outcome=\"duplicate\"}") >=
	    w->dups;
}

/* The counter shard of r-old under the default redis.shards (32). */
static int
shard_of_old(void)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.redis.shards = 32;
	return keys_shard_of(&c, "r-old");
}

Test(event_clock_dedupe, old_history_counted_once, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	time_t t = time(NULL) - (time_t)AGE_S;
	struct tm tm;
	char when[40], day[16], *line;
	redisReply *r;
	struct want w;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	cr_assert_eq(harness_setup("event_clock_dedupe"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "clock: event\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {day: 10}}}\n"
	    "teams:\n"
	    "  - {id: utc, timezone: UTC, manager: m-utc}\n"
	    "reps:\n"
	    "  - {id: r-old, team: utc, role: ae}\n"
	    "alerts: {periods: [day], evaluate_every: 1h}\n"), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	line = xasprintf("r-old\t{\"event_id\":\"old-1\",\"rep_id\":\"r-old\","
	    "\"type\":\"call\",\"occurred_at\":\"%s\"}\n", when);
	cr_assert_eq(harness_gen_write("old.tsv", line), 0);
	free(line);

	/* The same event in two batches. */
	cr_assert_eq(harness_produce_file("old.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"counted\"}"), 1);

	/* Its set outlives the window from now, whatever its day. */
	r = harness_redis_cmd("TTL paced:{s:%d}:seen:%s", shard_of_old(), day);
	cr_assert_not_null(r);
	cr_expect_eq(r->type, REDIS_REPLY_INTEGER);
	cr_expect(r->integer > WINDOW_S - 3600,
	    "the dedupe set of %s has TTL %lld s", day, r->integer);
	freeReplyObject(r);

	cr_assert_eq(harness_produce_file("old.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	w.p = &p;
	w.dups = 1;
	cr_expect_eq(harness_wait_until(dups_are, &w, 10000,
	    "the replay to be counted as a duplicate"), 0);
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"counted\"}"), 1);
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"duplicate\"}"), 1);
	cr_expect_eq(metric(&p, "paced_bad_events_total{reason=\"too_old\"}"), 0);

	r = harness_redis_cmd("HGET paced:{s:%d}:cnt:day:%s r-old|calls",
	    shard_of_old(), day);
	cr_assert_not_null(r);
	cr_expect(r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0,
	    "calls of %s: %s", day, r->type == REDIS_REPLY_STRING ? r->str :
	    "(none)");
	freeReplyObject(r);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
