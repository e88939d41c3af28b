/*
 * The funnel routes against a real Redis and the mock broker, with the
 * figures worked out by hand below.
 *
 * Teams in UTC, Monday to Friday 09:00-17:00. The week under test (W)
 * starts on the Monday two weeks before this one; readings are at its
 * Wednesday 13:00: 20 of the week's 40 working hours gone, an elapsed
 * share of 0.5. The 30-day window ends that Wednesday and holds the
 * Monday of W-7 and the Monday and Tuesday of W. Role sdr's funnel is
 * calls -> convs -> meetings -> deals, revenue from the deals' amounts;
 * its week target of revenue is 150000. min_volume 20, coaching_below 0.8.
 *
 *   rep team      window: calls convs meetings deals revenue   week W: calls convs meetings deals revenue
 *   a1  east               200    40       10     2   60000             120    20        4     1   30000
 *   a2  east               500   200       20     4  100000             100    40        4     1   25000
 *   a3  east               300    60       10     2   40000               0     0        0     0       0
 *   b1  west                50    10        5     1   10000               0     0        0     0       0
 *   c1  west (role lead, no funnel: in no figure)
 *
 * east's window: 1000 300 40 8 200000: rates .3, .1333, .2; deal 25000.
 * a1: .2 (< .8 x .3 = .24: below_team), .25, 10 meetings < 20: the
 *     team's .2. Conversion .01, deal 30000. 120 calls at half time: 240
 *     projected, 2.4 deals, 72000. 150000 / 30000 = 5 deals = 500 calls:
 *     380 more.
 * a2: .4, .1 (< .8 x .1333 = .1067: below_team), .2 (20 >= 20: its own).
 *     Conversion .008, deal 25000: 200 projected, 1.6 deals, 40000;
 *     6 deals = 750 calls: 650 more.
 * a3: .2 (below_team), .1667, the team's .2: .00667, deal 20000; 0 so
 *     far: 0 projected; 7.5 deals = 1125 calls: 1125 more.
 * east's forecast: 220 so far, 440 projected, 4 deals, 112000, target
 *     450000, 2155 more calls.
 * b1 alone in west: .2, .5, .2 (the team's are its own), .02, deal
 *     10000: 15 deals = 750 calls.
 * The org (sdr): 1050 310 45 9 210000; its forecast sums the reps': 220
 *     so far, 440 projected, 4 deals, 112000, target 600000, 2905 more.
 *
 * Cost: the read API's Redis round trips of a request are counted: one
 * per (shard, window day) and (shard, bucket) among the reps read.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static int http_port;
static char at_q[64];

static void
expect_num(const cJSON *o, const char *name, double want, const char *what)
{
	cr_expect(harness_close_to(harness_num(o, name), want),
	    "%s: %s %.12g, want %.12g", what, name, harness_num(o, name), want);
}

/* Appends one event of rep on day at hour:00 UTC. */
static char *
add_event(char *lines, const char *rep, const char *type, int64_t day,
    int hour, int count, double amount, int *seq)
{
	char date[16], am[48] = "", *next;

	if (count == 0)
		return lines;
	harness_day_text(day, date, sizeof(date));
	if (amount > 0)
		snprintf(am, sizeof(am), ",\"amount\":%.0f", amount);
	next = xasprintf("%s%s\t{\"event_id\":\"fn-%d\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%sT%02d:00:00Z\","
	    "\"count\":%d%s}\n", lines ? lines : "", rep, *seq, rep, type,
	    date, hour, count, am);
	(*seq)++;
	free(lines);
	return next;
}

/* A rep's activity on one day: calls, convs, meetings and deals of the
 * given amounts. */
static char *
add_day(char *lines, const char *rep, int64_t day, int calls, int convs,
    int meetings, const double *deals, size_t ndeals, int *seq)
{
	lines = add_event(lines, rep, "call", day, 10, calls, 0, seq);
	lines = add_event(lines, rep, "conv", day, 11, convs, 0, seq);
	lines = add_event(lines, rep, "meeting", day, 12, meetings, 0, seq);
	for (size_t i = 0; i < ndeals; i++)
		lines = add_event(lines, rep, "deal", day, 14, 1, deals[i],
		    seq);
	return lines;
}

/* The conversion from -> of a conversions list. */
static const cJSON *
conv(const cJSON *o, const char *from)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, harness_item(o, "conversions"))
		if (strcmp(harness_str(c, "from"), from) == 0)
			return c;
	cr_assert_fail("no conversion from %s", from);
	return NULL;
}

static void
check_conv(const cJSON *o, const char *from, double rate, double team,
    double used, const char *source, bool below, const char *what)
{
	const cJSON *c = conv(o, from);

	expect_num(c, "window_rate", rate, what);
	expect_num(c, "team_window_rate", team, what);
	expect_num(c, "rate_used", used, what);
	cr_expect_str_eq(harness_str(c, "rate_source"), source, "%s: %s source",
	    what, from);
	cr_expect_eq(cJSON_IsTrue(harness_item(c, "below_team")), below,
	    "%s: %s below_team", what, from);
}

static const cJSON *
rep_entry(const cJSON *reps, const char *id)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, reps)
		if (strcmp(harness_str(r, "rep_id"), id) == 0)
			return r;
	cr_assert_fail("no rep %s", id);
	return NULL;
}

static void
check_forecast(const cJSON *o, double so_far, double projected,
    double deals, double revenue, double target, double required,
    const char *what)
{
	const cJSON *f = harness_item(o, "forecast");

	cr_expect_str_eq(harness_str(f, "top_kpi"), "calls");
	expect_num(f, "top_so_far", so_far, what);
	expect_num(f, "projected_top", projected, what);
	expect_num(f, "expected_deals", deals, what);
	expect_num(f, "expected_revenue", revenue, what);
	cr_expect_str_eq(harness_str(f, "target_kpi"), "revenue", "%s", what);
	expect_num(f, "target", target, what);
	expect_num(f, "required_activity", required, what);
}

static void
check_rep(void)
{
	cJSON *r = harness_get_ok(http_port,
	    "/v1/reps/a1/funnel?period=week&%s", at_q);
	const cJSON *s, *f;

	cr_expect_str_eq(harness_str(r, "rep_id"), "a1");
	cr_expect_str_eq(harness_str(r, "team_id"), "east");
	cr_expect_str_eq(harness_str(r, "role"), "sdr");
	cr_expect_str_eq(harness_str(r, "period"), "week");
	expect_num(r, "window_days", 30, "a1");
	expect_num(r, "min_volume", 20, "a1");
	s = cJSON_GetArrayItem(harness_item(r, "steps"), 0);
	cr_expect_str_eq(harness_str(s, "kpi"), "calls");
	expect_num(s, "window", 200, "a1 calls");
	expect_num(s, "bucket", 120, "a1 calls");
	expect_num(harness_item(r, "revenue"), "window", 60000, "a1 revenue");
	expect_num(r, "avg_deal_size", 30000, "a1");
	check_conv(r, "calls", 0.2, 0.3, 0.2, "rep", true, "a1");
	check_conv(r, "convs", 0.25, 40.0 / 300, 0.25, "rep", false, "a1");
	check_conv(r, "meetings", 0.2, 0.2, 0.2, "team", false, "a1");
	expect_num(conv(r, "calls"), "bucket_rate", 20.0 / 120, "a1");
	expect_num(conv(r, "meetings"), "bucket_rate", 0.25, "a1");
	check_forecast(r, 120, 240, 2.4, 72000, 150000, 380, "a1");
	f = harness_item(r, "forecast");
	expect_num(f, "elapsed_fraction", 0.5, "a1");
	expect_num(f, "conversion", 0.01, "a1");
	cJSON_Delete(r);

	/* week=day: Wednesday has no activity yet. */
	r = harness_get_ok(http_port, "/v1/reps/a2/funnel?period=day&%s", at_q);
	check_conv(r, "convs", 0.1, 40.0 / 300, 0.1, "rep", true, "a2");
	check_conv(r, "meetings", 0.2, 0.2, 0.2, "rep", false, "a2");
	cr_expect(cJSON_IsNull(harness_item(conv(r, "calls"), "bucket_rate")));
	f = harness_item(r, "forecast");
	expect_num(f, "top_so_far", 0, "a2 day");
	cJSON_Delete(r);
}

static void
check_team(void)
{
	cJSON *t = harness_get_ok(http_port,
	    "/v1/teams/east/funnel?period=week&%s", at_q);
	const cJSON *g, *reps = harness_item(t, "reps");

	cr_expect_str_eq(harness_str(t, "team_id"), "east");
	expect_num(t, "reps_count", 3, "east");
	cr_assert_eq(cJSON_GetArraySize(harness_item(t, "funnels")), 1);
	g = cJSON_GetArrayItem(harness_item(t, "funnels"), 0);
	cr_expect_str_eq(harness_str(g, "role"), "sdr");
	expect_num(conv(g, "calls"), "window_rate", 0.3, "east");
	expect_num(conv(g, "convs"), "window_rate", 40.0 / 300, "east");
	expect_num(conv(g, "calls"), "bucket_rate", 60.0 / 220, "east");
	expect_num(g, "avg_deal_size", 25000, "east");
	check_forecast(g, 220, 440, 4, 112000, 450000, 2155, "east");
	expect_num(harness_item(g, "forecast"), "reps", 3, "east");
	cr_assert_eq(cJSON_GetArraySize(reps), 3);
	check_forecast(rep_entry(reps, "a2"), 100, 200, 1.6, 40000, 150000,
	    650, "a2");
	check_conv(rep_entry(reps, "a3"), "calls", 0.2, 0.3, 0.2, "rep", true,
	    "a3");
	check_conv(rep_entry(reps, "a3"), "convs", 10.0 / 60, 40.0 / 300,
	    10.0 / 60, "rep", false, "a3");
	check_forecast(rep_entry(reps, "a3"), 0, 0, 0, 0, 150000, 1125, "a3");
	cJSON_Delete(t);

	/* west: c1's role has no funnel; b1 is its team. */
	t = harness_get_ok(http_port, "/v1/teams/west/funnel?period=week&%s",
	    at_q);
	expect_num(t, "reps_count", 1, "west");
	reps = harness_item(t, "reps");
	check_conv(rep_entry(reps, "b1"), "calls", 0.2, 0.2, 0.2, "rep", false,
	    "b1");
	check_conv(rep_entry(reps, "b1"), "convs", 0.5, 0.5, 0.5, "team",
	    false, "b1");
	check_forecast(rep_entry(reps, "b1"), 0, 0, 0, 0, 150000, 750, "b1");
	cJSON_Delete(t);
}

static void
check_org(void)
{
	cJSON *o = harness_get_ok(http_port, "/v1/org/funnel?period=week&%s",
	    at_q);
	const cJSON *g, *teams = harness_item(o, "teams"), *t;
	int seen = 0;

	expect_num(o, "reps_count", 4, "org");
	cr_assert_eq(cJSON_GetArraySize(harness_item(o, "funnels")), 1);
	g = cJSON_GetArrayItem(harness_item(o, "funnels"), 0);
	expect_num(conv(g, "calls"), "window_rate", 310.0 / 1050, "org");
	expect_num(conv(g, "convs"), "window_rate", 45.0 / 310, "org");
	expect_num(conv(g, "meetings"), "window_rate", 0.2, "org");
	/* 210000 / 9, printed to the cent */
	expect_num(g, "avg_deal_size", 23333.33, "org");
	check_forecast(g, 220, 440, 4, 112000, 600000, 2905, "org");
	cJSON_ArrayForEach(t, teams) {
		const cJSON *tg = cJSON_GetArrayItem(harness_item(t, "funnels"),
		    0);

		seen++;
		if (strcmp(harness_str(t, "team_id"), "west") == 0)
			check_forecast(tg, 0, 0, 0, 0, 150000, 750, "org west");
	}
	cr_expect_eq(seen, 2);
	cJSON_Delete(o);
}

/* The counter shard of a rep (README, Redis keys: FNV-1a 64 mod 32). */
static unsigned
shard_of(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	return (unsigned)(h % 32);
}

/* Distinct shards among n ids. */
static unsigned
shards_of(const char *const *ids, size_t n)
{
	uint32_t seen = 0;
	unsigned count = 0;

	for (size_t i = 0; i < n; i++)
		if (!(seen & (1u << shard_of(ids[i])))) {
			seen |= 1u << shard_of(ids[i]);
			count++;
		}
	return count;
}

/* The Redis commands of a request: one per shard and window day, one per
 * shard and bucket (the reps are in one zone, their week starts the same
 * day), whatever the number of reps. */
static void
check_cost(const struct harness_paced *p)
{
	static const char *const east[] = { "a1", "a2", "a3" };
	static const char *const org[] = { "a1", "a2", "a3", "b1" };
	static const char series[] =
	    "paced_redis_latency_seconds_count{conn=\"http\"}";
	double before, after;
	cJSON *j;

	before = harness_paced_metric(p, series);
	j = harness_get_ok(http_port, "/v1/org/funnel?period=week&%s", at_q);
	cJSON_Delete(j);
	after = harness_paced_metric(p, series);
	cr_expect_eq(after - before, shards_of(org, 4) * 31.0,
	    "org: %g commands, want %u shards x 31", after - before,
	    shards_of(org, 4));
	before = after;
	j = harness_get_ok(http_port, "/v1/reps/a1/funnel?period=week&%s",
	    at_q);
	cJSON_Delete(j);
	after = harness_paced_metric(p, series);
	cr_expect_eq(after - before, shards_of(east, 3) * 31.0,
	    "a1 (its team's sdr reps): %g commands, want %u shards x 31",
	    after - before, shards_of(east, 3));
	harness_log("org request: %g commands", shards_of(org, 4) * 31.0);
}

static size_t
check_bad_requests(void)
{
	static const struct {
		const char *path;
		int status;
	} bad[] = {
		{ "/v1/reps/nobody/funnel", 404 },
		{ "/v1/reps/c1/funnel", 404 },
		{ "/v1/teams/nope/funnel", 404 },
		{ "/v1/org/funnel?period=year", 400 },
		{ "/v1/reps/a1/funnel?at=yesterday", 400 },
		{ "/v1/teams/east/funnel?at=2026-13-01T00:00:00Z", 400 },
		{ "/v1/org/funnel?limit=3", 400 },
		{ "/v1/org/funnel?period=week&period=day", 400 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = 0;
		cJSON *j = harness_get_json(http_port, bad[i].path, &status);

		cr_expect_eq(status, bad[i].status, "GET %s: %d, want %d",
		    bad[i].path, status, bad[i].status);
		cr_expect(cJSON_IsString(harness_item(j, "error")) &&
		    harness_item(j, "error")->valuestring[0] != '\0',
		    "GET %s: no error text", bad[i].path);
		cJSON_Delete(j);
	}
	return sizeof(bad) / sizeof(bad[0]);
}

Test(funnel, rates_flags_and_forecast, .fini = harness_teardown,
    .timeout = 180)
{
	static const double a1_prev[] = { 30000 }, a1_now[] = { 30000 };
	static const double a2_prev[] = { 25000, 25000, 25000 };
	static const double a2_now[] = { 25000 };
	static const double a3_prev[] = { 20000, 20000 }, b1_prev[] = { 10000 };
	struct harness_paced p;
	int64_t today = (int64_t)time(NULL) / 86400, week;
	char *lines = NULL, wed[16];
	int seq = 0;
	size_t nbad;

	/* Day 0 was a Thursday: (day + 3) % 7 is 0 on Mondays. */
	week = today - (today + 3) % 7 - 14;
	harness_day_text(week + 2, wed, sizeof(wed));
	snprintf(at_q, sizeof(at_q), "at=%sT13:00:00Z", wed);

	cr_assert_eq(harness_setup("funnel"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: convs, kind: leading, events: [conv]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "  - {name: deals, kind: lagging, events: [deal]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal], measure: amount}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri]\n"
	    "    working_hours: \"09:00-17:00\"\n"
	    "roles:\n"
	    "  sdr:\n"
	    "    targets: {calls: {week: 300}, revenue: {week: 150000}}\n"
	    "    funnel: [calls, convs, meetings, deals]\n"
	    "  lead: {targets: {calls: {week: 10}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC}\n"
	    "  - {id: west, timezone: UTC}\n"
	    "reps:\n"
	    "  - {id: a1, team: east, role: sdr}\n"
	    "  - {id: a2, team: east, role: sdr}\n"
	    "  - {id: a3, team: east, role: sdr}\n"
	    "  - {id: b1, team: west, role: sdr}\n"
	    "  - {id: c1, team: west, role: lead}\n"
	    "funnel: {window: 30d, min_volume: 20, coaching_below: 0.8, "
	    "revenue: revenue}\n"
	    "alerts:\n"
	    "  periods: [day]\n"
	    "  evaluate_every: 1h\n"), 0);
	lines = add_day(lines, "a1", week - 7, 80, 20, 6, a1_prev, 1, &seq);
	lines = add_day(lines, "a1", week, 60, 20, 0, NULL, 0, &seq);
	lines = add_day(lines, "a1", week + 1, 60, 0, 4, a1_now, 1, &seq);
	lines = add_day(lines, "a2", week - 7, 400, 160, 16, a2_prev, 3, &seq);
	lines = add_day(lines, "a2", week + 1, 100, 40, 4, a2_now, 1, &seq);
	lines = add_day(lines, "a3", week - 7, 300, 60, 10, a3_prev, 2, &seq);
	lines = add_day(lines, "b1", week - 7, 50, 10, 5, b1_prev, 1, &seq);
	lines = add_day(lines, "c1", week, 70, 0, 0, NULL, 0, &seq);
	cr_assert_eq(harness_gen_write("events.tsv", lines), 0);
	free(lines);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	http_port = p.http_port;
	cr_assert_eq(harness_produce_file("events.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	check_rep();
	check_team();
	check_org();
	check_cost(&p);
	nbad = check_bad_requests();
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_http_requests_total{code=\"4xx\"}"), (double)nbad);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
