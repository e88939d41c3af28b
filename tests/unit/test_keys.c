/*
 * The Redis key layout against README.md's key table, written out by hand:
 * every key's name, its hash tag, and the expiry rules with their edges
 * (the spare day, zones ahead of UTC, days before 1970, a window that is
 * not a whole number of seconds). Pure.
 */

#include "keys.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS	(86400 * INT64_C(1000))

/* 2026-11-23, a Monday; 2026-11-29, the Sunday after; 2026-10-01, the
 * first day of a fiscal quarter; 1969-12-31, the day before the epoch. */
#define D_2026_11_23	20780
#define D_2026_11_29	20786
#define D_2026_10_01	20727
#define D_1969_12_31	(-1)

static struct config
cfg_with(char *prefix)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.redis.key_prefix = prefix;
	c.redis.shards = 32;
	c.redis.dedupe_window_ms = 35 * DAY_MS;
	c.redis.retention_ms[PERIOD_DAY] = 400 * DAY_MS;
	c.redis.retention_ms[PERIOD_WEEK] = 800 * DAY_MS;
	c.redis.retention_ms[PERIOD_MONTH] = 800 * DAY_MS;
	c.redis.retention_ms[PERIOD_QUARTER] = 800 * DAY_MS;
	return c;
}

/* Checks k (owned) and frees it. */
static void
is(char *k, const char *want)
{
	cr_assert_not_null(k);
	cr_expect_str_eq(k, want);
	free(k);
}

/* The hash tag of k (owned): what lies between its first { and }, or ""
 * when it has none. Frees k. */
static char *
tag_of(char *k)
{
	const char *o = strchr(k, '{'), *e = o != NULL ? strchr(o, '}') : NULL;
	char *t;

	if (o == NULL || e == NULL)
		t = strdup("");
	else
		t = strndup(o + 1, (size_t)(e - o - 1));
	free(k);
	return t;
}

/* Shards: FNV-1a 64 of the rep id's bytes modulo redis.shards, as the
 * README's Python lines compute it: "r001" hashes to 4 mod 32 and 2 mod
 * 7, "r-9" to 3 mod 32. */
Test(keys, shard_is_fnv1a_modulo_shards)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	cr_expect_eq(keys_shard_of(&c, "r001"), 4);
	cr_expect_eq(keys_shard_of(&c, "r-9"), 3);
	c.redis.shards = 7;
	cr_expect_eq(keys_shard_of(&c, "r001"), 2);
	c.redis.shards = 1;
	cr_expect_eq(keys_shard_of(&c, "r001"), 0);
}

Test(keys, shard_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	/* README: redis-cli hget 'paced:{s:4}:cnt:week:2026-11-23' 'r001|calls' */
	is(keys_rep_counters(&c, "r001", PERIOD_WEEK, D_2026_11_23),
	    "paced:{s:4}:cnt:week:2026-11-23");
	is(keys_shard_counters(&c, 31, PERIOD_DAY, D_2026_11_29),
	    "paced:{s:31}:cnt:day:2026-11-29");
	is(keys_shard_counters(&c, 0, PERIOD_QUARTER, D_2026_10_01),
	    "paced:{s:0}:cnt:quarter:2026-10-01");
	is(keys_shard_teams(&c, 4, PERIOD_WEEK, D_2026_11_23),
	    "paced:{s:4}:team:week:2026-11-23");
	is(keys_shard_seen(&c, 31, D_2026_11_29), "paced:{s:31}:seen:2026-11-29");
	is(keys_shard_watermarks(&c, 4, "sales.activity"),
	    "paced:{s:4}:wm:sales.activity");
	is(keys_counter_field("r001", "calls"), "r001|calls");
	is(keys_team_field("t1", "revenue"), "t1|revenue");
	is(keys_seen_member("r001", "ev|7 x", 6), "r001|ev|7 x");
}

Test(keys, fields_written_in_place_match)
{
	char buf[64];
	size_t n;

	n = keys_counter_field_to(buf, "r001", 4, "calls", 5);
	cr_assert_eq(n, 10);
	cr_assert(memcmp(buf, "r001|calls", n) == 0);
	n = keys_team_field_to(buf, "t1", 2, "revenue", 7);
	cr_assert_eq(n, 10);
	cr_assert(memcmp(buf, "t1|revenue", n) == 0);
	n = keys_seen_member_to(buf, "r001", 4, "ev|7 x", 6);
	cr_assert_eq(n, 11);
	cr_assert(memcmp(buf, "r001|ev|7 x", n) == 0);
}

Test(keys, rep_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	is(keys_rep_pace(&c, "r001", PERIOD_MONTH, D_2026_10_01),
	    "paced:{rep:r001}:pace:month:2026-10-01");
	is(keys_rep_alerts(&c, "r001"), "paced:{rep:r001}:alerts");
}

/* A rep's funnel hash is its own tag's; a team x role's has none. */
Test(keys, funnel_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	is(keys_funnel_rep(&c, "r001"), "paced:{rep:r001}:funnel");
	is(keys_funnel_team(&c, "east", "sdr"), "paced:funnel:team:east:sdr");
	is(keys_funnel_step_field(NULL, "calls", "meetings"),
	    "calls|meetings");
	is(keys_funnel_step_field("used", "calls", "meetings"),
	    "used:calls|meetings");
	/* 3 days past the UTC midnight that ends the day after 2026-11-23,
	 * or past now when that is later (a replayed window) */
	cr_expect_eq(keys_funnel_expire_at(D_2026_11_23,
	    (int64_t)D_2026_11_23 * 86400),
	    ((int64_t)D_2026_11_23 + 2) * 86400 + 3 * 86400);
	cr_expect_eq(keys_funnel_expire_at(D_2026_11_23,
	    (int64_t)D_2026_11_23 * 86400 + 30 * 86400),
	    (int64_t)D_2026_11_23 * 86400 + 33 * 86400);
}

/* A board is its own hash tag: one slot per scope, KPI and bucket. */
Test(keys, board_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	is(keys_board(&c, "org", "calls", PERIOD_WEEK, D_2026_11_23),
	    "paced:{board:org:calls:week:2026-11-23}");
	is(keys_board(&c, "team:t1", "calls", PERIOD_DAY, D_2026_11_29),
	    "paced:{board:team:t1:calls:day:2026-11-29}");
	is(keys_board(&c, "manager:m-east", "revenue", PERIOD_WEEK,
	    D_2026_11_23), "paced:{board:manager:m-east:revenue:week:2026-11-23}");
}

/* A contest's four keys share one hash tag: one script call, one slot. */
Test(keys, contest_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	is(keys_contest_board(&c, "dec-calls"), "paced:{contest:dec-calls}:board");
	is(keys_contest_days(&c, "dec-calls"), "paced:{contest:dec-calls}:days");
	is(keys_contest_reached(&c, "dec-calls"),
	    "paced:{contest:dec-calls}:reached");
	is(keys_contest_result(&c, "dec-calls"),
	    "paced:{contest:dec-calls}:result");
	/* redis.retention.day past the spare day after the last day */
	cr_assert_eq(keys_contest_expire_at(&c, D_2026_11_23),
	    (int64_t)(D_2026_11_23 + 2) * 86400 + 400 * 86400);
}

Test(keys, untagged_keys_follow_the_table)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	is(keys_offsets(&c, "activity"), "paced:offsets:activity");
	is(keys_evclock(&c, "activity"), "paced:evclock:activity");
	is(keys_began(&c, "activity"), "paced:began:activity");
	is(keys_alerts_firing(&c), "paced:alerts:firing");
	is(keys_alerts_stream(&c), "paced:alerts");
	is(keys_changes_channel(&c), "paced:changes");
	is(keys_webhook_held(&c), "paced:webhook:held");
	is(keys_webhook_budget(&c), "paced:webhook:budget");
	is(keys_digest_sent(&c, "morning", "m-east",
	    caltime_days_from_civil(2026, 11, 24)),
	    "paced:digest:morning:m-east:2026-11-24");
	is(keys_digest_news(&c, "m-east"), "paced:digest:news:m-east");
	is(keys_digest_coach(&c, "m-east"), "paced:digest:coach:m-east");
	is(keys_digest_coach_field("r1", "calls", "meetings"),
	    "r1|calls|meetings");
	/* 8 days past the UTC midnight that ends 2026-11-24. */
	cr_expect_eq(keys_digest_expire_at(caltime_days_from_civil(2026, 11,
	    24)), ((int64_t)caltime_days_from_civil(2026, 11, 25) + 8) * 86400);
}

Test(keys, prefix_is_redis_key_prefix)
{
	char prefix[] = "pace.prod";
	struct config c = cfg_with(prefix);

	is(keys_rep_counters(&c, "r-9", PERIOD_DAY, D_2026_11_23),
	    "pace.prod:{s:3}:cnt:day:2026-11-23");
	is(keys_shard_teams(&c, 3, PERIOD_MONTH, D_2026_10_01),
	    "pace.prod:{s:3}:team:month:2026-10-01");
	is(keys_offsets(&c, "sales.activity.v1"),
	    "pace.prod:offsets:sales.activity.v1");
	is(keys_alerts_firing(&c), "pace.prod:alerts:firing");
	is(keys_alerts_stream(&c), "pace.prod:alerts");
	is(keys_changes_channel(&c), "pace.prod:changes");
}

Test(keys, long_ids_are_not_cut)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);
	char id[1001], want[1100];
	char *k;

	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(want, sizeof(want), "paced:{rep:%s}:alerts", id);
	k = keys_rep_alerts(&c, id);
	cr_expect_eq(strlen(k), strlen("paced:{rep:}:alerts") + 1000);
	is(k, want);
}

Test(keys, one_hash_tag_per_shard_and_per_rep)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);
	char *t;

	/* Every key of one script call shares one tag. */
	char *rep[] = {
		keys_rep_pace(&c, "r001", PERIOD_WEEK, D_2026_11_23),
		keys_rep_alerts(&c, "r001"),
	};
	char *shard[] = {
		keys_rep_counters(&c, "r001", PERIOD_DAY, D_2026_11_23),
		keys_shard_counters(&c, 4, PERIOD_WEEK, D_2026_11_23),
		keys_shard_teams(&c, 4, PERIOD_DAY, D_2026_11_23),
		keys_shard_seen(&c, 4, D_2026_11_23),
		keys_shard_watermarks(&c, 4, "activity"),
	};
	char *none[] = {
		keys_offsets(&c, "activity"),
		keys_evclock(&c, "activity"),
		keys_began(&c, "activity"),
		keys_alerts_firing(&c),
		keys_alerts_stream(&c),
	};

	for (size_t i = 0; i < sizeof(rep) / sizeof(rep[0]); i++) {
		t = tag_of(rep[i]);
		cr_expect_str_eq(t, "rep:r001");
		free(t);
	}
	for (size_t i = 0; i < sizeof(shard) / sizeof(shard[0]); i++) {
		t = tag_of(shard[i]);
		cr_expect_str_eq(t, "s:4");
		free(t);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		t = tag_of(none[i]);
		cr_expect_str_eq(t, "");
		free(t);
	}
}

Test(keys, expire_at_is_the_midnight_ending_the_day_plus_keep)
{
	/* 1970-01-01 ends at 86400. */
	cr_expect_eq(keys_expire_at(0, 0), 86400);
	/* The day before the epoch ends at the epoch. */
	cr_expect_eq(keys_expire_at(D_1969_12_31, 0), 0);
	cr_expect_eq(keys_expire_at(-2, 0), -86400);
	/* Whole seconds: a part of a second is dropped. */
	cr_expect_eq(keys_expire_at(0, 1999), 86401);
	cr_expect_eq(keys_expire_at(0, 999), 86400);
	/* 2026-11-29 ends at 2026-11-30T00:00:00Z = 1795996800. */
	cr_expect_eq(keys_expire_at(D_2026_11_29, 0), INT64_C(1795996800));
	/* Far days do not overflow. */
	cr_expect_eq(keys_expire_at(INT32_MAX, 0), INT64_C(185542587187200));
}

Test(keys, bucket_expiry_is_retention_past_the_spare_day)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);

	/* The week of 2026-11-23 ends 2026-11-29: 800d after
	 * 2026-11-30T00:00:00Z is 2029-02-07T00:00:00Z. */
	cr_expect_eq(keys_bucket_expire_at(&c, PERIOD_WEEK, D_2026_11_29),
	    INT64_C(1865116800));
	/* Day 2026-11-23: 400d after 2026-11-24T00:00:00Z is
	 * 2027-12-29T00:00:00Z. */
	cr_expect_eq(keys_bucket_expire_at(&c, PERIOD_DAY, D_2026_11_23),
	    INT64_C(1830038400));
	/* Each period its own retention. */
	c.redis.retention_ms[PERIOD_MONTH] = DAY_MS;
	cr_expect_eq(keys_bucket_expire_at(&c, PERIOD_MONTH, D_2026_11_29),
	    INT64_C(1795996800) + 86400);
	cr_expect_eq(keys_bucket_expire_at(&c, PERIOD_QUARTER, D_2026_11_29),
	    INT64_C(1865116800));
}

Test(keys, seen_expiry_is_the_dedupe_window_after_the_utc_day)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);
	int64_t before = INT64_C(1795996800) - 3600;	/* 2026-11-29T23:00Z */

	/* 35d after 2026-11-30T00:00:00Z is 2027-01-04T00:00:00Z. */
	cr_expect_eq(keys_seen_expire_at(&c, D_2026_11_29, before),
	    INT64_C(1795996800) + 35 * 86400);
	c.redis.dedupe_window_ms = 1500;
	cr_expect_eq(keys_seen_expire_at(&c, D_2026_11_29, before),
	    INT64_C(1795996800) + 1);
	c.redis.dedupe_window_ms = 0;
	cr_expect_eq(keys_seen_expire_at(&c, D_1969_12_31, -86400), 0);
}

Test(keys, seen_expiry_is_never_before_now_plus_the_window)
{
	char prefix[] = "paced";
	struct config c = cfg_with(prefix);
	int64_t now = INT64_C(1795996800) + 100 * 86400 + 7;

	/* History 100 days old on the event clock: its set lives 35 days
	 * from now, not 65 days in the past. */
	cr_expect_eq(keys_seen_expire_at(&c, D_2026_11_29, now),
	    now + 35 * 86400);
	/* The day's end still rules when it is later. */
	cr_expect_eq(keys_seen_expire_at(&c, D_2026_11_29,
	    INT64_C(1795996800) - 1), INT64_C(1795996800) + 35 * 86400);
	cr_expect_eq(keys_seen_expire_at(&c, D_2026_11_29,
	    INT64_C(1795996800)), INT64_C(1795996800) + 35 * 86400);
}
