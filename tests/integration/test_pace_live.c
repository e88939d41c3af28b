/*
 * The wall clock, live, with evaluate_every 1 h, so that the timer
 * explains no judgement here. Ten calls against a day target of 200 at
 * local noon wait in the topic when paced starts: the rep is judged once
 * that backlog is counted, and fires critical with the ten calls in (a
 * judgement between reading the backlog and counting it would see 0).
 * Then 150 more calls: the rep is judged again because its counters
 * changed, and the alert resolves (recovered) within seconds; then 40
 * more, and the pace hash follows. The judgements after the first come
 * from the evaluator's copy of the rep, kept current by the counting
 * script's answers (no Redis read). At each step the scorecard endpoint and the
 * pace hash in Redis carry the pace figures, checked against their
 * definitions: expected_to_date = target x elapsed working share, pace =
 * actual / expected, projected = actual / share, required_rate = what is
 * left per remaining working day.
 *
 * The team's zone is a fixed-offset one picked so that its local time is
 * between 12:00 and 13:00, and every hour of every day is working time:
 * the share is about 0.5 and no bucket rolls over during the test.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define REP		"r-live"
#define TARGET		200.0
#define JUDGED_MS	15000	/* on change: well before the 1 h timer */

static int http_port;

static bool
close_to(double got, double want)
{
	return fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want));
}

/*
 * The figures of one KPI (an object with actual, target, expected_to_date,
 * pace, projected, required_rate, status) against their definitions, for
 * a day that is all working time: share = expected / target.
 */
static void
check_figures(const cJSON *f, double actual, const char *status,
    const char *where)
{
	double expected = harness_num(f, "expected_to_date"), share;

	cr_expect(close_to(harness_num(f, "actual"), actual), "%s: actual %g",
	    where, harness_num(f, "actual"));
	cr_expect(close_to(harness_num(f, "target"), TARGET), "%s: target %g",
	    where, harness_num(f, "target"));
	share = expected / TARGET;
	cr_expect(share > 0.49 && share < 0.56, "%s: share %g is not about "
	    "noon's", where, share);
	cr_expect(close_to(harness_num(f, "pace"), actual / expected),
	    "%s: pace %g, want %g", where, harness_num(f, "pace"), actual /
	    expected);
	cr_expect(close_to(harness_num(f, "projected"), actual / share), "%s: "
	    "projected %g, want %g", where, harness_num(f, "projected"),
	    actual / share);
	if (actual < TARGET)
		cr_expect(close_to(harness_num(f, "required_rate"),
		    (TARGET - actual) / (1 - share)), "%s: required_rate %g, "
		    "want %g", where, harness_num(f, "required_rate"),
		    (TARGET - actual) / (1 - share));
	cr_expect_str_eq(harness_str(f, "status"), status, "%s", where);
}

static void
check_scorecard(double actual, const char *status)
{
	cJSON *sc = harness_get_ok(http_port, "/v1/reps/" REP
	    "/scorecard?period=day");
	const cJSON *k = cJSON_GetArrayItem(harness_item(sc, "kpis"), 0);

	cr_assert_not_null(k, "no KPI in the scorecard");
	cr_expect_str_eq(harness_str(k, "kpi"), "calls");
	cr_expect_str_eq(harness_str(sc, "rep_id"), REP);
	check_figures(k, actual, status, "scorecard");
	cJSON_Delete(sc);
}

/* The pace hash of today's day bucket, written by the last judgement. */
static void
check_pace_hash(double actual, const char *status)
{
	redisReply *keys, *v;
	cJSON *f;

	keys = harness_redis_cmd("KEYS paced:{rep:" REP "}:pace:day:*");
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY &&
	    keys->elements == 1, "want one day pace hash");
	v = harness_redis_cmd("HGET %s calls", keys->element[0]->str);
	cr_assert(v != NULL && v->type == REDIS_REPLY_STRING,
	    "no calls field in %s", keys->element[0]->str);
	f = cJSON_Parse(v->str);
	cr_assert_not_null(f, "not JSON: %s", v->str);
	check_figures(f, actual, status, "pace hash");
	cJSON_Delete(f);
	freeReplyObject(v);
	/* It expires (set when the hash first appeared): 400 days past the
	 * bucket, give or take the spare day. */
	v = harness_redis_cmd("TTL %s", keys->element[0]->str);
	cr_assert(v != NULL && v->type == REDIS_REPLY_INTEGER);
	cr_expect(v->integer > 399LL * 86400 && v->integer <= 403LL * 86400,
	    "TTL of %s: %lld s", keys->element[0]->str, v->integer);
	freeReplyObject(v);
	freeReplyObject(keys);
}

/* n calls of REP at now, event ids from first, produced (and, with
 * counted, counted by the daemon). */
static void
produce_calls(int first, int n, bool counted)
{
	char when[40], *lines = NULL, *line;
	size_t len = 0;
	time_t t = time(NULL);
	struct tm tm;
	int64_t applied = harness_applied();

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = first; i < first + n; i++) {
		line = xasprintf("%s" REP "\t{\"event_id\":\"live-%d\","
		    "\"rep_id\":\"" REP "\",\"type\":\"call\","
		    "\"occurred_at\":\"%s\"}\n", lines ? lines : "", i, when);
		free(lines);
		lines = line;
		len++;
	}
	cr_assert_eq(harness_gen_write("calls.tsv", lines), 0);
	free(lines);
	cr_assert_eq(harness_produce_file("calls.tsv", 0), 0);
	if (counted)
		cr_assert_eq(harness_wait_applied((applied > 0 ? applied : 0) +
	    (int64_t)len, HARNESS_WAIT_MS), 0);
}

/* The day pace hash's actual is arg (text). */
static bool
pace_hash_is(void *arg)
{
	redisReply *keys, *v = NULL;
	cJSON *f = NULL;
	bool ok = false;

	keys = harness_redis_cmd("KEYS paced:{rep:" REP "}:pace:day:*");
	if (keys != NULL && keys->type == REDIS_REPLY_ARRAY &&
	    keys->elements == 1)
		v = harness_redis_cmd("HGET %s calls", keys->element[0]->str);
	if (v != NULL && v->type == REDIS_REPLY_STRING &&
	    (f = cJSON_Parse(v->str)) != NULL)
		ok = close_to(harness_num(f, "actual"), atof(arg));
	cJSON_Delete(f);
	if (v != NULL)
		freeReplyObject(v);
	if (keys != NULL)
		freeReplyObject(keys);
	return ok;
}

struct want_firing {
	size_t n;
};

static bool
firing_is(void *arg)
{
	char *body = NULL;
	int status = 0;
	size_t n = SIZE_MAX;
	cJSON *j;

	if (harness_http_get(http_port, "/v1/alerts?status=firing", &status,
	    &body) == 0 && status == 200 && (j = cJSON_Parse(body)) != NULL) {
		const cJSON *a = harness_item(j, "alerts");

		if (cJSON_IsArray(a))
			n = (size_t)cJSON_GetArraySize(a);
		cJSON_Delete(j);
	}
	free(body);
	return n == ((struct want_firing *)arg)->n;
}

/*
 * The run folder, Redis, the broker and paced's config for REP alone in a
 * team whose zone is at about local noon (Etc/GMT-N is UTC+N: N = 12 - the
 * UTC hour puts noon there), working every day in hours, with a day target
 * of TARGET on calls and the alerts block's lines after periods and kpis.
 */
static void
setup_noon(const char *name, const char *hours, const char *alerts,
    struct harness_paced *p)
{
	time_t t = time(NULL);
	struct tm tm;
	char zone[32], *org;

	gmtime_r(&t, &tm);
	snprintf(zone, sizeof(zone), "Etc/GMT%+d", tm.tm_hour - 12);
	cr_assert_eq(harness_setup(name), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"%s\"\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {day: %g}}}\n"
	    "teams:\n"
	    "  - {id: noon, timezone: \"%s\", manager: m-noon}\n"
	    "reps:\n"
	    "  - {id: " REP ", team: noon, role: ae}\n"
	    "alerts:\n"
	    "  periods: [day]\n"
	    "  kpis: leading\n"
	    "%s", hours, TARGET, zone, alerts);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
	harness_log("team zone %s", zone);
	cr_assert_eq(harness_paced_config(p, 0, NULL), 0);
}

Test(pace_live, judged_on_change_with_pace_figures, .fini = harness_teardown,
    .timeout = 120)
{
	struct harness_paced p;
	struct harness_msgs m;
	struct want_firing w;
	int64_t t0;
	cJSON *a;

	setup_noon("pace_live", "00:00-24:00",
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1h\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  resolve_margin: 0\n", &p);

	/* 10 of about 100 expected, waiting in the topic when paced starts:
	 * the rep is judged as soon as the backlog is counted (not merely
	 * read) and fires critical with the 10 calls in. */
	produce_calls(0, 10, false);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	http_port = p.http_port;
	t0 = harness_elapsed_ms();
	w.n = 1;
	cr_assert_eq(harness_wait_until(firing_is, &w, JUDGED_MS,
	    "the alert at catch-up"), 0);
	harness_log("fired %lld ms after paced was ready",
	    (long long)(harness_elapsed_ms() - t0));
	check_scorecard(10, "critical");
	check_pace_hash(10, "critical");

	/* 160 of about 100: ahead, and the alert resolves at once. */
	produce_calls(10, 150, true);
	t0 = harness_elapsed_ms();
	w.n = 0;
	cr_assert_eq(harness_wait_until(firing_is, &w, JUDGED_MS,
	    "the resolution on change"), 0);
	harness_log("resolved %lld ms after the calls were counted",
	    (long long)(harness_elapsed_ms() - t0));
	check_scorecard(160, "ahead");
	check_pace_hash(160, "ahead");
	/* Judged from the evaluator's copy of the rep (no Redis read):
	 * the counting script's answers kept it current. */
	cr_expect(harness_paced_metric(&p,
	    "paced_evaluation_reads_total{from=\"cache\"}") >= 1,
	    "no evaluation from the evaluator's copy");
	cr_expect(harness_paced_metric(&p,
	    "paced_evaluation_reads_total{from=\"redis\"}") >= 1,
	    "the first evaluation did not read Redis");

	/* 40 more: judged from the copy again, with the new count. */
	produce_calls(160, 40, true);
	cr_assert_eq(harness_wait_until(pace_hash_is, (void *)"200",
	    JUDGED_MS, "the pace hash with 200 calls"), 0);
	check_pace_hash(200, "ahead");

	/* The alerts topic: the critical alert, then its resolution. */
	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	cr_assert_eq(m.n, 2, "%zu alerts on the topic", m.n);
	a = cJSON_Parse(m.v[0].value);
	cr_assert_not_null(a);
	cr_expect_str_eq(harness_str(a, "status"), "firing");
	cr_expect_str_eq(harness_str(a, "severity"), "critical");
	cr_expect(close_to(harness_num(a, "actual"), 10));
	cJSON_Delete(a);
	a = cJSON_Parse(m.v[1].value);
	cr_assert_not_null(a);
	cr_expect_str_eq(harness_str(a, "status"), "resolved");
	cr_expect_str_eq(harness_str(a, "reason"), "recovered");
	cr_expect(close_to(harness_num(a, "actual"), 160));
	cJSON_Delete(a);
	harness_msgs_free(&m);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

struct pace_counts {
	struct harness_paced *p;
	double written, same;
};

static void
pace_counts(struct pace_counts *c)
{
	c->written = harness_paced_metric(c->p,
	    "paced_pace_writes_total{outcome=\"written\"}");
	c->same = harness_paced_metric(c->p,
	    "paced_pace_writes_total{outcome=\"unchanged\"}");
}

/* arg: a pace_counts; true once two more judgements found the figures
 * Redis holds. */
static bool
judged_same_twice(void *arg)
{
	struct pace_counts *c = arg, now = { .p = c->p };

	pace_counts(&now);
	return now.same >= c->same + 2;
}

/*
 * Figures that did not change are not written again. The team's working
 * day (09:00-10:00 local) is over, its zone picked so that it is about
 * noon there: the day's figures stand still. The 2 s timer judges the rep
 * again and again; after the first write of its 10 calls no judgement
 * writes (the same figures), the pace hash stays as written; a new call
 * changes the figures and they are written at once.
 */
Test(pace_live, same_figures_not_written_again, .fini = harness_teardown,
    .timeout = 120)
{
	struct harness_paced p;
	struct pace_counts before = { .p = &p }, after = { .p = &p };
	redisReply *r;

	setup_noon("pace_same", "09:00-10:00", "  evaluate_every: 2s\n", &p);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	http_port = p.http_port;

	produce_calls(0, 10, true);
	cr_assert_eq(harness_wait_until(pace_hash_is, (void *)"10",
	    JUDGED_MS, "the pace hash with 10 calls"), 0);
	pace_counts(&before);
	cr_assert_geq(before.written, 1, "no pace write counted");
	cr_assert_eq(harness_wait_until(judged_same_twice, &before, JUDGED_MS,
	    "two judgements of the same figures"), 0);
	pace_counts(&after);
	cr_expect_eq(after.written, before.written, "the same figures were "
	    "written again: %g writes, %g before", after.written,
	    before.written);
	/* What Redis holds was not rewritten: a value put there stays. */
	r = harness_redis_cmd("KEYS paced:{rep:" REP "}:pace:day:*");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 1);
	freeReplyObject(harness_redis_cmd("HSET %s calls mark",
	    r->element[0]->str));
	before = after;
	cr_assert_eq(harness_wait_until(judged_same_twice, &before, JUDGED_MS,
	    "two more judgements"), 0);
	freeReplyObject(r);
	r = harness_redis_cmd("KEYS paced:{rep:" REP "}:pace:day:*");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 1);
	{
		redisReply *m = harness_redis_cmd("HGET %s calls",
		    r->element[0]->str);

		cr_expect(m != NULL && m->type == REDIS_REPLY_STRING &&
		    strcmp(m->str, "mark") == 0,
		    "the pace hash was written again");
		if (m != NULL)
			freeReplyObject(m);
	}
	freeReplyObject(r);

	/* One more call: new figures, written. */
	pace_counts(&before);
	produce_calls(10, 1, true);
	cr_assert_eq(harness_wait_until(pace_hash_is, (void *)"11",
	    JUDGED_MS, "the pace hash with 11 calls"), 0);
	pace_counts(&after);
	cr_expect_gt(after.written, before.written);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
