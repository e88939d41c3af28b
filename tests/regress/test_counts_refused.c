/*
 * A large amount lost real counts: three deal_closed events of one rep in
 * one batch with amounts 1e308, 1e308 and 100 made the rep script's
 * HINCRBYFLOAT fail (an infinite sum) after its SADDs had run, and Redis
 * keeps a script's earlier writes: all three ids were marked seen,
 * deals_closed was 3, revenue had no field, nothing went to the DLQ, and
 * the real $100 deal was gone. Any error in the middle of the script
 * (HINCRBY on a field holding a float) did the same.
 *
 * Now the decoder refuses an amount past 1e15 (bad_amount), and the
 * script checks every field before its first write: a call that cannot
 * add all its counts writes nothing, and the events it refused go to the
 * DLQ (counter_refused) when the batch is read again, while the rep's
 * other events are counted. Also guarded: a count past what the script
 * adds exactly (15 digits) and an amount field holding text.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "xmalloc.h"

static char when[40], day[16];

static void
set_now(void)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
}

static char *
event(const char *rep, const char *id, const char *type, const char *amount)
{
	return xasprintf("%s\t{\"event_id\":\"%s\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%s\"%s%s}\n", rep, id, rep, type,
	    when, amount != NULL ? ",\"amount\":" : "",
	    amount != NULL ? amount : "");
}

/* Produces the lines (each from event(), taken) as one file. */
static void
produce(const char *name, char *lines[], size_t n)
{
	size_t len = 0;
	char *all;

	for (size_t k = 0; k < n; k++)
		len += strlen(lines[k]);
	all = xcalloc(1, len + 1);
	for (size_t k = 0; k < n; k++) {
		strcat(all, lines[k]);
		free(lines[k]);
	}
	cr_assert_eq(harness_gen_write(name, all), 0);
	free(all);
	cr_assert_eq(harness_produce_file(name, 0), 0);
}

/* The counter shard of rep under the default redis.shards (32). */
static int
shard_of(const char *rep)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.redis.shards = 32;
	return keys_shard_of(&c, rep);
}

/* The day counter hash holding rep's fields; owned. */
static char *
day_key(const char *rep)
{
	return xasprintf("paced:{s:%d}:cnt:day:%s", shard_of(rep), day);
}

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

/* rep's day counter of kpi is want. */
static void
expect_rep(const char *rep, const char *kpi, const char *want)
{
	char *key = day_key(rep), *field = xasprintf("%s|%s", rep, kpi);
	char *v = hget(key, field);

	cr_expect_str_eq(v, want, "%s %s is \"%s\", not \"%s\"", key, field, v,
	    want);
	free(v);
	free(field);
	free(key);
}

/* Sets rep's day counter of kpi to v by hand. */
static void
set_rep(const char *rep, const char *kpi, const char *v)
{
	char *key = day_key(rep);

	freeReplyObject(harness_redis_cmd("HSET %s %s|%s %s", key, rep, kpi,
	    v));
	free(key);
}

/* Every counter hash of rep lacks field. */
static void
expect_no_field(const char *rep, const char *field)
{
	redisReply *keys = harness_redis_cmd("KEYS paced:{s:%d}:cnt:*",
	    shard_of(rep));
	char *f = xasprintf("%s|%s", rep, field);

	cr_assert_not_null(keys);
	cr_assert_eq(keys->type, REDIS_REPLY_ARRAY);
	cr_assert_gt(keys->elements, 0);
	for (size_t k = 0; k < keys->elements; k++) {
		char *v = hget(keys->element[k]->str, f);

		cr_expect_str_eq(v, "", "%s %s holds \"%s\"",
		    keys->element[k]->str, f, v);
		free(v);
	}
	free(f);
	freeReplyObject(keys);
}

static bool
seen_has(const char *rep, const char *id)
{
	redisReply *r = harness_redis_cmd("SISMEMBER paced:{s:%d}:seen:%s %s|%s",
	    shard_of(rep), day, rep, id);
	bool yes;

	cr_assert_not_null(r);
	yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return yes;
}

/* The DLQ's reasons by event id: counts of (id, reason) pairs. */
static int
dlq_count(const char *id, const char *reason)
{
	struct harness_msgs m;
	char needle[160];
	int n = 0;

	snprintf(needle, sizeof(needle), "\"event_id\":\"%s\"", id);
	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_DLQ, &m), 0);
	for (size_t k = 0; k < m.n; k++) {
		const struct harness_header *h =
		    harness_msg_header(&m.v[k], "paced.reason");

		if (m.v[k].value != NULL && strstr(m.v[k].value, needle) &&
		    h != NULL && h->value != NULL && strcmp(h->value, reason) == 0)
			n++;
	}
	harness_msgs_free(&m);
	return n;
}

static bool
dlq_holds(void *arg)
{
	struct harness_msgs m;
	size_t n = 0;

	if (harness_read_topic(HARNESS_TOPIC_DLQ, &m) == 0) {
		n = m.n;
		harness_msgs_free(&m);
	}
	return n >= *(size_t *)arg;
}

static double
metric(const struct harness_paced *p, const char *series)
{
	double v = harness_paced_metric(p, series);

	return v < 0 ? 0 : v;
}

Test(counts_refused, no_id_seen_without_its_counts, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	const char *cur;
	char *lines[7];
	size_t want_dlq;

	set_now();
	cr_assert_eq(harness_setup("counts_refused"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: deals_closed, kind: lagging, events: [deal_closed]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal_closed], measure: amount}\n"
	    "calendars:\n"
	    "  default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {day: 10}}}\n"
	    "teams:\n"
	    "  - {id: utc, timezone: UTC, manager: m-utc}\n"
	    "reps:\n"
	    "  - {id: r-huge, team: utc, role: ae}\n"
	    "  - {id: r-float, team: utc, role: ae}\n"
	    "  - {id: r-wrap, team: utc, role: ae}\n"
	    "  - {id: r-text, team: utc, role: ae}\n"
	    "alerts: {periods: [day], evaluate_every: 1h}\n"), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);

	/* A float where HINCRBY wants an integer, set by hand before the
	 * batch: r-float's day counter of deals_closed. */
	set_rep("r-float", "deals_closed", "1.5");
	/* A count past what the script adds exactly. */
	set_rep("r-wrap", "deals_closed", "9223372036854775800");
	/* An amount that is no number. */
	set_rep("r-text", "revenue", "n/a");

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* 1. Amounts 1e308, 1e308 and 100 in one batch. */
	lines[0] = event("r-huge", "h1", "deal_closed", "1e308");
	lines[1] = event("r-huge", "h2", "deal_closed", "1e308");
	lines[2] = event("r-huge", "h3", "deal_closed", "100");
	produce("huge.tsv", lines, 3);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	/* 2. Two deals onto the float field, and a call of the same rep;
	 * deals onto the full count and onto the text, in the same batch. */
	lines[0] = event("r-float", "f1", "deal_closed", "200");
	lines[1] = event("r-float", "f2", "deal_closed", "300");
	lines[2] = event("r-float", "f3", "call", NULL);
	lines[3] = event("r-wrap", "w1", "deal_closed", "10");
	lines[4] = event("r-text", "x1", "deal_closed", "10");
	lines[5] = event("r-text", "x2", "call", NULL);
	produce("float.tsv", lines, 6);

	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	want_dlq = 6;
	cr_assert_eq(harness_wait_until(dlq_holds, &want_dlq, HARNESS_WAIT_MS,
	    "six messages on the DLQ"), 0);

	/* The $100 deal is counted; the two huge amounts are bad. */
	cur = "r-huge";
	expect_rep(cur, "deals_closed", "1");
	expect_rep(cur, "revenue", "100");
	cr_expect(seen_has("r-huge", "h3"));
	cr_expect(!seen_has("r-huge", "h1"), "h1 marked seen");
	cr_expect(!seen_has("r-huge", "h2"), "h2 marked seen");
	cr_expect_eq(dlq_count("h1", "bad_amount"), 1);
	cr_expect_eq(dlq_count("h2", "bad_amount"), 1);

	/* The deals hitting the float are refused whole: no id seen, no
	 * count in any bucket, both on the DLQ; the call is counted. */
	cur = "r-float";
	expect_rep(cur, "deals_closed", "1.5");
	expect_rep(cur, "calls", "1");
	expect_no_field("r-float", "revenue");
	cr_expect(!seen_has("r-float", "f1"), "f1 marked seen");
	cr_expect(!seen_has("r-float", "f2"), "f2 marked seen");
	cr_expect(seen_has("r-float", "f3"));
	cr_expect_eq(dlq_count("f1", "counter_refused"), 1);
	cr_expect_eq(dlq_count("f2", "counter_refused"), 1);
	cr_expect_eq(dlq_count("f3", "counter_refused"), 0);

	cur = "r-wrap";
	expect_rep(cur, "deals_closed", "9223372036854775800");
	expect_no_field("r-wrap", "revenue");
	cr_expect(!seen_has("r-wrap", "w1"), "w1 marked seen");
	cr_expect_eq(dlq_count("w1", "counter_refused"), 1);
	cur = "r-text";
	expect_rep(cur, "revenue", "n/a");
	expect_no_field("r-text", "deals_closed");
	expect_rep(cur, "calls", "1");
	cr_expect(!seen_has("r-text", "x1"), "x1 marked seen");
	cr_expect(seen_has("r-text", "x2"));
	cr_expect_eq(dlq_count("x1", "counter_refused"), 1);

	cr_expect_eq(metric(&p, "paced_bad_events_total{reason=\"bad_amount\"}"), 2);
	cr_expect_eq(metric(&p,
	    "paced_bad_events_total{reason=\"counter_refused\"}"), 4);
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"counted\"}"), 3);

	/* Once the field is mended, the refused deals replayed from the DLQ
	 * count: they were never marked seen. */
	cur = "r-float";
	set_rep(cur, "deals_closed", "1");
	lines[0] = event("r-float", "f1", "deal_closed", "200");
	lines[1] = event("r-float", "f2", "deal_closed", "300");
	produce("replay.tsv", lines, 2);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	expect_rep(cur, "deals_closed", "3");
	expect_rep(cur, "revenue", "500");
	cr_expect(seen_has("r-float", "f1"));
	cr_expect(seen_has("r-float", "f2"));
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"counted\"}"), 5);
	cr_expect_eq(metric(&p, "paced_events_total{outcome=\"duplicate\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
