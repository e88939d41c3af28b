/*
 * Team contributions were cut to 47 characters (contrib.value[48]): Redis
 * answers a decimal without an exponent, so a rep at amount 1e60 (60
 * digits) gave its team a total of 9.99e46. Team totals are now a shard's
 * share, raised in the same script call as the rep's field, and no value
 * passes through a fixed-size buffer: a rep field and a team field at
 * 1e60 stay at 1e60 once a deal is added, and so does the rep's board
 * score, which is made from the text the script answers.
 *
 * No event may carry 1e60 any more (bad_amount past 1e15), so the fields
 * hold it already, as fields written before that bound (or summed over
 * time) would.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "xmalloc.h"

/* HGET key field as text ("" when absent); owned. */
static char *
hget(const char *key, const char *field)
{
	redisReply *r = harness_redis_cmd("HGET %s %s", key, field);
	char *s;

	cr_assert_not_null(r);
	s = xstrdup(r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return s;
}

Test(team_contrib_text, large_rep_value_not_cut, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	time_t t = time(NULL);
	struct tm tm;
	char when[40], day[16], rep_key[256], team_key[256], board_key[256];
	char *line, *rep_val, *total, *score;
	double want, got;
	struct config c;
	int shard;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	cr_assert_eq(harness_setup("team_contrib_text"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal_closed], measure: amount}\n"
	    "calendars:\n"
	    "  default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {day: 10}}}\n"
	    "teams:\n"
	    "  - {id: big, timezone: UTC, manager: m-big}\n"
	    "reps:\n"
	    "  - {id: r-big, team: big, role: ae}\n"
	    "alerts: {periods: [day], evaluate_every: 1h}\n"), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	memset(&c, 0, sizeof(c));
	c.redis.shards = 32;
	shard = keys_shard_of(&c, "r-big");
	snprintf(rep_key, sizeof(rep_key), "paced:{s:%d}:cnt:day:%s", shard,
	    day);
	snprintf(team_key, sizeof(team_key), "paced:{s:%d}:team:day:%s", shard,
	    day);
	snprintf(board_key, sizeof(board_key),
	    "paced:{board:org:revenue:day:%s}", day);
	freeReplyObject(harness_redis_cmd("HSET %s r-big|revenue 1e60",
	    rep_key));
	freeReplyObject(harness_redis_cmd("HSET %s big|revenue 1e60",
	    team_key));

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	line = xasprintf("r-big\t{\"event_id\":\"big-1\",\"rep_id\":\"r-big\","
	    "\"type\":\"deal_closed\",\"occurred_at\":\"%s\",\"amount\":100}\n",
	    when);
	cr_assert_eq(harness_gen_write("big.tsv", line), 0);
	free(line);
	cr_assert_eq(harness_produce_file("big.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	/* The rep's value, the team's share and the board score: 1e60 + 100,
	 * which is 1e60 as a double. */
	rep_val = hget(rep_key, "r-big|revenue");
	harness_log("rep value %s", rep_val);
	want = strtod(rep_val, NULL);
	cr_assert(fabs(want - 1e60) <= 1e60 * 1e-12, "rep value %s", rep_val);
	total = hget(team_key, "big|revenue");
	got = strtod(total, NULL);
	cr_expect(fabs(got - 1e60) <= 1e60 * 1e-12, "team share %s", total);
	score = NULL;
	{
		redisReply *r = harness_redis_cmd("ZSCORE %s r-big", board_key);

		cr_assert_not_null(r);
		score = xstrdup(r->type == REDIS_REPLY_STRING ? r->str : "");
		freeReplyObject(r);
	}
	got = strtod(score, NULL);
	cr_expect(fabs(got - 1e60) <= 1e60 * 1e-12, "board score %s", score);

	free(score);
	free(total);
	free(rep_val);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
