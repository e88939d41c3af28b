/*
 * The shard watermarks a batch writes (redis_apply.c, put_watermark),
 * against a real redis-server: a shard's call carries the partitions its
 * own events came from, so a shard moves only those; at the refresh every
 * shard called gets every partition of the batch, a shard without events
 * included. Two reps in two shards, each fed from its own partition; the
 * refresh interval is set by hand (an hour, then 0) so that no timing
 * decides which of the two a batch is. The counts stay exact throughout.
 */
#include "redis_apply.h"

#include "harness.h"

#include <criterion/criterion.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "caltime.h"
#include "decode.h"
#include "keys.h"
#include "log.h"
#include "roster.h"
#include "xmalloc.h"

#define TOPIC	"sales.activity"

static struct event_base *base;
static struct redis_conn *conn;
static struct redis_apply *apply;
static struct config *cfg;
static struct roster *roster;
static struct batch *b;
static bool up;
static int pending, status;
static int32_t today;
static const struct roster_rep *rep_a, *rep_b;	/* shards 0 and 1 */
static int nevents;

static void
state_cb(bool is_up, void *arg)
{
	(void)arg;
	up = is_up;
}

static void
done_cb(int st, const struct apply_stats *stats, void *arg)
{
	(void)stats;
	(void)arg;
	status = st;
	pending--;
}

static bool
is_up(void *arg)
{
	(void)arg;
	return up;
}

static bool
applied(void *arg)
{
	(void)arg;
	return pending == 0;
}

static void
setup(void)
{
	char *path, err[256], *errs = NULL;
	struct redis_conn_opts o = { 0 };
	FILE *f;

	cr_assert_eq(harness_setup("watermark_parts"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	path = harness_path("parts.yaml");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "redis: {url: \"redis://127.0.0.1:%d/0\", shards: 2}\n"
	    "kafka: {topics: {activity: %s}}\n"
	    "kpis:\n  - {name: calls, kind: leading, events: [call]}\n"
	    "roles:\n  sdr: {targets: {calls: {day: 50}}}\n"
	    "teams:\n  - {id: t1, timezone: UTC}\nreps:\n",
	    harness_redis_port(), TOPIC);
	for (int r = 0; r < 16; r++)
		fprintf(f, "  - {id: r%02d, team: t1, role: sdr}\n", r);
	fclose(f);
	cfg = config_load(path, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	free(path);
	roster = roster_new(cfg, err, sizeof(err));
	cr_assert_not_null(roster, "%s", err);
	for (size_t i = 0; i < roster_size(roster); i++) {
		const struct roster_rep *rr = roster_rep_at(roster, i);

		if (rr->shard == 0 && rep_a == NULL)
			rep_a = rr;
		if (rr->shard == 1 && rep_b == NULL)
			rep_b = rr;
	}
	cr_assert(rep_a != NULL && rep_b != NULL, "no rep in each shard");
	log_set_level(LOG_LEVEL_WARN);
	today = (int32_t)(time(NULL) / 86400);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = harness_redis_port();
	o.timeout_ms = 5000;
	o.name = "test";
	conn = redis_conn_new(base, &o, state_cb, NULL);
	apply = redis_apply_new(conn);
	b = batch_new();
	cr_assert(harness_loop_until(base, is_up, NULL, 10000),
	    "redis connection not up");
}

static void
teardown(void)
{
	batch_free(b);
	redis_apply_free(apply);
	redis_conn_free(conn);
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	harness_teardown();
}

/* One call event of rep at (partition, offset) into the batch. */
static void
add(const struct roster_rep *rep, int32_t partition, int64_t offset)
{
	struct activity ev;
	const size_t *kp;
	size_t nk;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.event_id, sizeof(ev.event_id), "e-%d", nevents++);
	ev.count = 1;
	kp = roster_kpis_for_type(roster, "call", &nk);
	cr_assert(nk > 0);
	batch_note_offset(b, partition, offset);
	batch_add(b, rep, kp, nk, today, today, &ev);
}

static void
apply_batch(void)
{
	pending = 1;
	cr_assert_eq(redis_apply_counters(apply, b, roster, cfg, done_cb,
	    NULL), 0);
	cr_assert(harness_loop_until(base, applied, NULL, 10000),
	    "the batch was not applied");
	cr_assert_eq(status, 0, "the batch failed");
}

/* Field f of hash key (freed here) as a number; none when absent. */
static long long
hget(char *key, const char *f, long long none)
{
	redisReply *r = harness_redis_cmd("HGET %s %s", key, f);
	long long v;

	cr_assert_not_null(r);
	v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : none;
	freeReplyObject(r);
	free(key);
	return v;
}

/* Shard s's watermark of partition p; -1 when it has none. */
static long long
wm(int s, int p)
{
	char f[16];

	snprintf(f, sizeof(f), "%d", p);
	return hget(keys_shard_watermarks(cfg, s, TOPIC), f, -1);
}

/* The rep's day count of calls. */
static long long
calls(const struct roster_rep *rep)
{
	char f[160];

	snprintf(f, sizeof(f), "%s|calls", rep->rep->id);
	return hget(keys_rep_counters(cfg, rep->rep->id, PERIOD_DAY, today),
	    f, 0);
}

Test(watermark_parts, a_shard_moves_its_own_partitions_until_the_refresh,
    .init = setup, .fini = teardown, .timeout = 60)
{
	/* The first batch is a refresh (nothing was written yet): every
	 * shard gets both partitions. */
	redis_apply_set_refresh_ms(apply, 3600 * 1000);
	batch_reset(b, 1, roster_size(roster));
	add(rep_a, 0, 10);
	add(rep_b, 1, 20);
	apply_batch();
	cr_expect_eq(wm(0, 0), 11);
	cr_expect_eq(wm(0, 1), 21);
	cr_expect_eq(wm(1, 0), 11);
	cr_expect_eq(wm(1, 1), 21);

	/* Within the refresh interval each shard moves only the partition
	 * its events came from. */
	batch_reset(b, 2, roster_size(roster));
	add(rep_a, 0, 11);
	add(rep_a, 0, 12);
	add(rep_b, 1, 21);
	apply_batch();
	cr_expect_eq(wm(0, 0), 13);
	cr_expect_eq(wm(0, 1), 21, "shard 0 moved a partition it had no "
	    "event of");
	cr_expect_eq(wm(1, 0), 11, "shard 1 moved a partition it had no "
	    "event of");
	cr_expect_eq(wm(1, 1), 22);

	/* A shard without events is not called; a partition with messages
	 * but no counted event (offset 30 of partition 2) moves nowhere. */
	batch_reset(b, 3, roster_size(roster));
	batch_note_offset(b, 2, 30);
	add(rep_a, 0, 13);
	apply_batch();
	cr_expect_eq(wm(0, 0), 14);
	cr_expect_eq(wm(0, 2), -1);
	cr_expect_eq(wm(1, 0), 11);
	cr_expect_eq(wm(1, 2), -1);

	/* The refresh: every shard, every partition of the batch. */
	redis_apply_set_refresh_ms(apply, 0);
	batch_reset(b, 4, roster_size(roster));
	batch_note_offset(b, 2, 31);
	add(rep_a, 0, 14);
	add(rep_b, 1, 22);
	apply_batch();
	cr_expect_eq(wm(0, 0), 15);
	cr_expect_eq(wm(0, 1), 23);
	cr_expect_eq(wm(0, 2), 32);
	cr_expect_eq(wm(1, 0), 15);
	cr_expect_eq(wm(1, 1), 23);
	cr_expect_eq(wm(1, 2), 32);

	cr_expect_eq(calls(rep_a), 5);
	cr_expect_eq(calls(rep_b), 3);
}
