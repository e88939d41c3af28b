#include "backtest.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "caltime.h"

#define FX(name)	"tests/fixtures/backtest/" name
/* 2026-11-23, a Monday, as a day number. */
#define MONDAY		20780

/* Output of one run, split in lines. */
struct run {
	char *buf;
	size_t len;
	char **lines;
	size_t nlines;
	struct backtest_stats st;
};

static void
run_free(struct run *r)
{
	free(r->buf);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

static void
split(struct run *r)
{
	char *p = r->buf, *nl;

	r->lines = calloc(r->len + 1, sizeof(char *));
	while (p < r->buf + r->len && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		r->lines[r->nlines++] = p;
		p = nl + 1;
	}
}

/* Replays in (the whole stream) for cfg; keeps a copy of the raw bytes. */
static void
replay(const struct config *cfg, FILE *in, const struct backtest_opts *o,
    struct run *r, char **raw, size_t *rawlen)
{
	FILE *out;
	char err[256] = "";

	memset(r, 0, sizeof(*r));
	out = open_memstream(&r->buf, &r->len);
	cr_assert_not_null(out);
	cr_assert_eq(backtest_run(cfg, in, out, o, &r->st, err, sizeof(err)),
	    0, "%s", err);
	fclose(out);
	if (raw != NULL) {
		*raw = malloc(r->len + 1);
		memcpy(*raw, r->buf, r->len + 1);
		*rawlen = r->len;
	}
	split(r);
}

static struct config *
load_file(const char *path)
{
	char *errs = NULL;
	struct config *c = config_load(path, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	return c;
}

static struct config *
load_yaml(const char *yaml)
{
	char *errs = NULL;
	struct config *c = config_load_buffer("inline.yaml", yaml, strlen(yaml),
	    &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	return c;
}

static void
replay_file(const struct config *cfg, const char *path,
    const struct backtest_opts *o, struct run *r)
{
	FILE *in = fopen(path, "r");

	cr_assert_not_null(in, "%s", path);
	replay(cfg, in, o, r, NULL, NULL);
	fclose(in);
}

static void
replay_text(const struct config *cfg, const char *text,
    const struct backtest_opts *o, struct run *r)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(in);
	replay(cfg, in, o, r, NULL, NULL);
	fclose(in);
}

static const char *
field(cJSON *o, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(v), "field %s", name);
	return v->valuestring;
}

/* Checks one alert line against what was worked out by hand. */
static void
expect_line(const char *line, const char *rep, const char *kpi,
    const char *period, int32_t start_day, const char *status,
    enum alert_level severity, const char *reason, const char *evaluated_at)
{
	cJSON *o = cJSON_Parse(line);
	char id[ALERT_ID_SIZE];

	cr_assert_not_null(o, "not JSON: %s", line);
	alert_id(rep, kpi, period, start_day, severity, id);
	cr_assert_str_eq(field(o, "alert_id"), id, "%s", line);
	cr_assert_str_eq(field(o, "rep_id"), rep, "%s", line);
	cr_assert_str_eq(field(o, "status"), status, "%s", line);
	cr_assert_str_eq(field(o, "severity"), alert_level_name(severity), "%s",
	    line);
	cr_assert_str_eq(field(o, "reason"), reason, "%s", line);
	cr_assert_str_eq(field(o, "kpi"), kpi, "%s", line);
	cr_assert_str_eq(field(o, "period"), period, "%s", line);
	cr_assert_str_eq(field(o, "evaluated_at"), evaluated_at, "%s", line);
	cJSON_Delete(o);
}

static double
number(const char *line, const char *name)
{
	cJSON *o = cJSON_Parse(line), *v;
	double d;

	cr_assert_not_null(o);
	v = cJSON_GetObjectItemCaseSensitive(o, name);
	cr_assert(cJSON_IsNumber(v), "field %s", name);
	d = v->valuedouble;
	cJSON_Delete(o);
	return d;
}

/*
 * The fixture: r1 is silent all day; r2 makes 6 calls at 09:30, 10 at
 * 11:10, 10 at 12:55 and 10 at 14:55 (a duplicate of the first event is
 * dropped); r3 makes 40 calls by 09:05 and a deal. Target: 40 calls a day
 * over 09:00-17:00 (480 min), grace 0.2 (96 min: 10:36), 15-minute ticks,
 * warning below 0.8, critical below 0.5, repeat every 4 h.
 *  10:30: 90/480 = 0.1875 < grace: nothing fires.
 *  10:45: 105/480 = 0.21875, expected 8.75. r1: pace 0, critical (an
 *         escalation, the manager's manager told); r2: 6/8.75 = 0.69,
 *         warning.
 *  11:00: r2 10 expected, pace 0.6: still warning, no repeat.
 *  11:15: r2 has 16 (the 11:10 event), expected 11.25, pace 1.42:
 *         resolved, under the warning's id.
 *  14:45: r1's repeat (4 h after 10:45); r2 at 26/28.75 = 0.90 is fine.
 * The file ends with the 14:55 event, whose boundary is 14:45: the clock
 * stops there. r3 is never behind; deals are lagging and do not alert.
 */
static void
check_first_four(struct run *r)
{
	cr_assert_geq(r->nlines, 4);
	expect_line(r->lines[0], "r1", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	expect_line(r->lines[1], "r2", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_WARNING, "fired", "2026-11-23T10:45:00.000Z");
	expect_line(r->lines[2], "r2", "calls", "day", MONDAY, "resolved",
	    ALERT_LEVEL_WARNING, "recovered", "2026-11-23T11:15:00.000Z");
	expect_line(r->lines[3], "r1", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-23T14:45:00.000Z");
	cr_assert_float_eq(number(r->lines[0], "expected_to_date"), 8.75, 1e-9);
	cr_assert_float_eq(number(r->lines[1], "pace"), 6 / 8.75, 1e-9);
	cr_assert_float_eq(number(r->lines[2], "actual"), 16, 1e-9);
	cr_assert_float_eq(number(r->lines[3], "expected_to_date"), 28.75,
	    1e-9);
	cr_assert_not_null(strstr(r->lines[0], "\"notify\":[\"m1\",\"vp\"]"));
	cr_assert_not_null(strstr(r->lines[1], "\"notify\":[\"m1\"]"));
}

Test(backtest, fixture_alerts_by_hand)
{
	struct config *cfg = load_file(FX("config.yaml"));
	struct backtest_opts o = { 0 };
	struct run r;

	replay_file(cfg, FX("events.jsonl"), &o, &r);
	cr_assert_eq(r.nlines, 4);
	check_first_four(&r);
	cr_assert_eq(r.st.read, 8);
	cr_assert_eq(r.st.counted, 7);
	cr_assert_eq(r.st.duplicates, 1);
	cr_assert_eq(r.st.bad, 0);
	cr_assert_eq(r.st.skipped, 0);
	/* First event 08:00 sets the clock; 08:15 .. 14:45 is 27 ticks. */
	cr_assert_eq(r.st.ticks, 27);
	cr_assert_eq(r.st.alerts, 4);
	/* Only the boundaries that send are evaluated. */
	cr_assert_eq(r.st.evaluations, 4);
	cr_assert_eq(r.st.model_mismatches, 0);
	run_free(&r);
	config_free(cfg);
}

/*
 * With --until Tuesday 00:00 the clock carries on: r1 is still silent,
 * but its critical alert does not repeat again. The repeat interval counts
 * working time: the 14:45 repeat was sent 345 working minutes into the
 * day, the next would be due at 585, and the day has 480 (17:00). Wall
 * time would have repeated "Needs 40 more today" at 18:45 and 22:45.
 * Midnight ends the day bucket: resolved, period_ended, with the figures
 * last sent (0 of 40).
 */
Test(backtest, until_judges_silence_and_period_end)
{
	struct config *cfg = load_file(FX("config.yaml"));
	struct backtest_opts o = { .has_until = true };
	const char *until = "2026-11-24T00:00:00Z";
	struct run r;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until), &o.until_ms),
	    0);
	replay_file(cfg, FX("events.jsonl"), &o, &r);
	cr_assert_eq(r.nlines, 5);
	check_first_four(&r);
	expect_line(r.lines[4], "r1", "calls", "day", MONDAY, "resolved",
	    ALERT_LEVEL_CRITICAL, "period_ended", "2026-11-24T00:00:00.000Z");
	cr_assert_not_null(strstr(r.lines[4],
	    "\"period_start\":\"2026-11-23T00:00:00+00:00\""));
	cr_assert_not_null(strstr(r.lines[4],
	    "The day ended with r1 at 0 of 40 calls (0% of target)."));
	/* 08:15 Monday .. 00:00 Tuesday */
	cr_assert_eq(r.st.ticks, 64);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, exhaustive_gives_the_same_bytes_on_the_fixture)
{
	struct config *cfg = load_file(FX("config.yaml"));
	struct backtest_opts fast = { .has_until = true }, ex;
	const char *until = "2026-11-24T00:00:00Z";
	struct run a, b;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until),
	    &fast.until_ms), 0);
	ex = fast;
	ex.exhaustive = true;
	replay_file(cfg, FX("events.jsonl"), &fast, &a);
	replay_file(cfg, FX("events.jsonl"), &ex, &b);
	cr_assert_eq(a.nlines, 5);
	cr_assert_eq(b.nlines, 5);
	for (size_t i = 0; i < a.nlines; i++)
		cr_assert_str_eq(a.lines[i], b.lines[i]);
	/* 3 reps x 64 ticks */
	cr_assert_eq(b.st.evaluations, 192);
	cr_assert_lt(a.st.evaluations, b.st.evaluations);
	run_free(&a);
	run_free(&b);
	config_free(cfg);
}

/*
 * A lower-is-better KPI and a repeat interval that is no multiple of the
 * tick. ra logs 40 calls at 09:01 (fine all day) and 3 no-shows at 11:00
 * against a cap of 4 a day; rb is silent. 15-minute ticks, grace 0.2,
 * repeats every 50 min.
 *  ra: 11:15: expected 4 * 135/480 = 1.125 of the cap used, pace
 *      1.125/3 = 0.375: critical. The rep had nothing to send before the
 *      event, so only the rule "a lower-is-better KPI moved: look again"
 *      finds this boundary. From 12:00 (pace 0.5) the critical alert holds
 *      quietly at warning level; 14:00: 300/480 -> 2.5/3 = 0.83, on pace:
 *      resolved.
 *  rb: critical at 10:45, then a repeat at the first tick at least 50
 *      working minutes after the last (all inside the hours, so wall time
 *      would give the same): 11:45, 12:45, 13:45, 14:45.
 */
static const char lower_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: no_shows, kind: leading, events: [no_show], better: lower}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
    " working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}, no_shows: {day: 4}}}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m}]\n"
    "reps: [{id: ra, team: t, role: sdr}, {id: rb, team: t, role: sdr}]\n"
    "alerts: {periods: [day], kpis: leading, warning_below: 0.8,"
    " critical_below: 0.5, grace: 0.2, repeat_interval: 50m,"
    " evaluate_every: 15m, min_breach: 0s, min_breach_evaluations: 1,"
    " resolve_margin: 0}\n";

static const char lower_events[] =
    "{\"event_id\":\"1\",\"rep_id\":\"ra\",\"type\":\"call\","
    "\"occurred_at\":\"2026-11-23T09:01:00Z\",\"count\":40}\n"
    "{\"event_id\":\"2\",\"rep_id\":\"ra\",\"type\":\"no_show\","
    "\"occurred_at\":\"2026-11-23T11:00:00Z\",\"count\":3}\n";

static void
check_lower(bool exhaustive)
{
	struct config *cfg = load_yaml(lower_yaml);
	struct backtest_opts o = { .has_until = true,
	    .exhaustive = exhaustive };
	const char *until = "2026-11-23T15:00:00Z";
	struct run r;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until), &o.until_ms),
	    0);
	replay_text(cfg, lower_events, &o, &r);
	cr_assert_eq(r.nlines, 7, "%zu lines", r.nlines);
	expect_line(r.lines[0], "rb", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	expect_line(r.lines[1], "ra", "no_shows", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T11:15:00.000Z");
	expect_line(r.lines[2], "rb", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-23T11:45:00.000Z");
	expect_line(r.lines[3], "rb", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-23T12:45:00.000Z");
	expect_line(r.lines[4], "rb", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-23T13:45:00.000Z");
	expect_line(r.lines[5], "ra", "no_shows", "day", MONDAY, "resolved",
	    ALERT_LEVEL_CRITICAL, "recovered", "2026-11-23T14:00:00.000Z");
	expect_line(r.lines[6], "rb", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-23T14:45:00.000Z");
	cr_assert_float_eq(number(r.lines[1], "pace"), 0.375, 1e-9);
	cr_assert_eq(r.st.model_mismatches, 0);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, lower_is_better_and_odd_repeat_fast)
{
	check_lower(false);
}

Test(backtest, lower_is_better_and_odd_repeat_exhaustive)
{
	check_lower(true);
}

/*
 * A cap broken late in the week. No-shows are lower-is-better with a cap
 * of 10 a week; rc logs 11 on Friday at 14:10, rd 9 (within the cap). The
 * week's working time is 5 x 8 h = 40 h; 15-minute ticks, repeat every 2 h.
 * (The first line, a call, maps to no KPI: it only starts the clock on
 * Monday, so that the whole week is judged.)
 *  Friday 14:15: 37.25 of 40 h gone, 9.3125 of the allowance may be used.
 *      rc: pace 9.3125 / 11 = 0.85, above warning_below, but the cap is
 *      broken: status critical, so a critical alert (escalated). rd: pace
 *      9.3125 / 9 = 1.03, on pace: nothing.
 *  16:15: rc's repeat, 2 h later (pace 9.8125 / 11 = 0.89), 39.25 h in.
 *      The next would be due at 41.25 working hours; the week has 40, so
 *      none comes over the weekend (wall time would have sent one every
 *      2 h from 18:15 Friday to 22:15 Sunday, 27 in all).
 *  Monday 00:00: the week ends: resolved, period_ended.
 * Both modes must give these lines, byte for byte the same.
 */
static const char cap_yaml[] =
    "kpis:\n"
    "  - {name: no_shows, kind: leading, events: [no_show], better: lower}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
    " working_hours: \"09:00-17:00\"}}\n"
    "roles: {ae: {targets: {no_shows: {week: 10}}}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m}]\n"
    "reps: [{id: rc, team: t, role: ae}, {id: rd, team: t, role: ae}]\n"
    "alerts: {periods: [week], kpis: leading, warning_below: 0.8,"
    " critical_below: 0.5, grace: 0.2, repeat_interval: 2h,"
    " evaluate_every: 15m, min_breach: 0s, min_breach_evaluations: 1,"
    " resolve_margin: 0}\n";

static const char cap_events[] =
    "{\"event_id\":\"1\",\"rep_id\":\"rc\",\"type\":\"call\","
    "\"occurred_at\":\"2026-11-23T08:00:00Z\"}\n"
    "{\"event_id\":\"2\",\"rep_id\":\"rc\",\"type\":\"no_show\","
    "\"occurred_at\":\"2026-11-27T14:10:00Z\",\"count\":11}\n"
    "{\"event_id\":\"3\",\"rep_id\":\"rd\",\"type\":\"no_show\","
    "\"occurred_at\":\"2026-11-27T14:10:00Z\",\"count\":9}\n";

static void
check_cap(bool exhaustive, char **raw, size_t *rawlen)
{
	struct config *cfg = load_yaml(cap_yaml);
	struct backtest_opts o = { .has_until = true,
	    .exhaustive = exhaustive };
	const char *until = "2026-11-30T00:00:00Z";
	FILE *in;
	struct run r;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until), &o.until_ms),
	    0);
	in = fmemopen((void *)cap_events, strlen(cap_events), "r");
	cr_assert_not_null(in);
	replay(cfg, in, &o, &r, raw, rawlen);
	fclose(in);
	cr_assert_eq(r.nlines, 3, "%zu lines", r.nlines);
	expect_line(r.lines[0], "rc", "no_shows", "week", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-27T14:15:00.000Z");
	expect_line(r.lines[1], "rc", "no_shows", "week", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "repeat", "2026-11-27T16:15:00.000Z");
	expect_line(r.lines[2], "rc", "no_shows", "week", MONDAY, "resolved",
	    ALERT_LEVEL_CRITICAL, "period_ended", "2026-11-30T00:00:00.000Z");
	cr_assert_float_eq(number(r.lines[0], "pace"), 9.3125 / 11, 1e-9);
	cr_assert_float_eq(number(r.lines[0], "actual"), 11, 1e-9);
	cr_assert_float_eq(number(r.lines[1], "pace"), 9.8125 / 11, 1e-9);
	cr_assert_not_null(strstr(r.lines[0], "\"notify\":[\"m\"]"));
	cr_assert_eq(r.st.model_mismatches, 0);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, late_cap_break_fast_equals_exhaustive)
{
	char *a, *b;
	size_t la, lb;

	check_cap(false, &a, &la);
	check_cap(true, &b, &lb);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(a, b, la) == 0, "outputs differ");
	free(a);
	free(b);
}

/*
 * A late partial recovery: the period_ended message carries the day's
 * final count, in both modes. re is silent until 15:20 (critical at
 * 10:45, pace 0), then logs 15 calls: 15 of 40 is pace 0.375 even at
 * 17:00, so the alert stays firing, quietly (repeats every 8 h). At
 * midnight Monday's alert resolves with 15 of 40, not the 0 of its only
 * message; the 15 are counted into Monday after the last message was
 * sent, so only the counter can tell. (rz, without targets, starts the
 * clock.)
 */
static const char late_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
    " working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}}}, observer: {}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m}]\n"
    "reps: [{id: re, team: t, role: sdr}, {id: rz, team: t, role: observer}]\n"
    "alerts: {periods: [day], kpis: leading, warning_below: 0.8,"
    " critical_below: 0.5, grace: 0.2, repeat_interval: 8h,"
    " evaluate_every: 15m, min_breach: 0s, min_breach_evaluations: 1,"
    " resolve_margin: 0}\n";

static const char late_events[] =
    "{\"event_id\":\"1\",\"rep_id\":\"rz\",\"type\":\"call\","
    "\"occurred_at\":\"2026-11-23T08:00:00Z\"}\n"
    "{\"event_id\":\"2\",\"rep_id\":\"re\",\"type\":\"call\","
    "\"occurred_at\":\"2026-11-23T15:20:00Z\",\"count\":15}\n";

static void
check_late(bool exhaustive, char **raw, size_t *rawlen)
{
	struct config *cfg = load_yaml(late_yaml);
	struct backtest_opts o = { .has_until = true,
	    .exhaustive = exhaustive };
	const char *until = "2026-11-24T00:00:00Z";
	cJSON *j;
	FILE *in;
	struct run r;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until), &o.until_ms),
	    0);
	in = fmemopen((void *)late_events, strlen(late_events), "r");
	cr_assert_not_null(in);
	replay(cfg, in, &o, &r, raw, rawlen);
	fclose(in);
	cr_assert_eq(r.nlines, 2, "%zu lines", r.nlines);
	expect_line(r.lines[0], "re", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	cr_assert_float_eq(number(r.lines[0], "actual"), 0, 1e-9);
	expect_line(r.lines[1], "re", "calls", "day", MONDAY, "resolved",
	    ALERT_LEVEL_CRITICAL, "period_ended", "2026-11-24T00:00:00.000Z");
	cr_assert_float_eq(number(r.lines[1], "actual"), 15, 1e-9);
	cr_assert_float_eq(number(r.lines[1], "target"), 40, 1e-9);
	cr_assert_float_eq(number(r.lines[1], "expected_to_date"), 40, 1e-9);
	cr_assert_float_eq(number(r.lines[1], "pace"), 0.375, 1e-9);
	cr_assert_float_eq(number(r.lines[1], "projected"), 15, 1e-9);
	j = cJSON_Parse(r.lines[1]);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
	    "required_rate")), "%s", r.lines[1]);
	cJSON_Delete(j);
	cr_assert_not_null(strstr(r.lines[1],
	    "The day ended with re at 15 of 40 calls (37% of target)."));
	cr_assert_eq(r.st.model_mismatches, 0);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, period_end_final_count_fast_equals_exhaustive)
{
	char *a, *b;
	size_t la, lb;

	check_late(false, &a, &la);
	check_late(true, &b, &lb);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(a, b, la) == 0, "outputs differ");
	free(a);
	free(b);
}

/*
 * A target that ends: rf's role sets 40 calls a day through Monday only
 * (a schedule entry that sets nothing from Tuesday). rf is silent, so
 * Monday's critical alert fires at 10:45 and, though Tuesday has no
 * target to judge, resolves at midnight (period_ended); nothing after.
 * The fast scheduler must wake for it as the exhaustive mode does.
 */
static const char ends_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
    " working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {schedule: [{from: \"2026-11-01\", targets: {calls:"
    " {day: 40}}}, {from: \"2026-11-24\", targets: {}}]}, observer: {}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m}]\n"
    "reps: [{id: rf, team: t, role: sdr}, {id: rz, team: t, role: observer}]\n"
    "alerts: {periods: [day], kpis: leading, warning_below: 0.8,"
    " critical_below: 0.5, grace: 0.2, repeat_interval: 8h,"
    " evaluate_every: 15m, min_breach: 0s, min_breach_evaluations: 1,"
    " resolve_margin: 0}\n";

static void
check_ends(bool exhaustive, char **raw, size_t *rawlen)
{
	struct config *cfg = load_yaml(ends_yaml);
	struct backtest_opts o = { .has_until = true,
	    .exhaustive = exhaustive };
	const char *until = "2026-11-25T00:00:00Z";
	FILE *in;
	struct run r;

	cr_assert_eq(caltime_parse_rfc3339(until, strlen(until), &o.until_ms),
	    0);
	/* rz's call only: rf is silent. */
	in = fmemopen((void *)late_events, strchr(late_events, '\n') + 1 -
	    late_events, "r");
	cr_assert_not_null(in);
	replay(cfg, in, &o, &r, raw, rawlen);
	fclose(in);
	cr_assert_eq(r.nlines, 2, "%zu lines", r.nlines);
	expect_line(r.lines[0], "rf", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	expect_line(r.lines[1], "rf", "calls", "day", MONDAY, "resolved",
	    ALERT_LEVEL_CRITICAL, "period_ended", "2026-11-24T00:00:00.000Z");
	cr_assert_float_eq(number(r.lines[1], "target"), 40, 1e-9);
	cr_assert_eq(r.st.model_mismatches, 0);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, period_end_into_no_target_fast_equals_exhaustive)
{
	char *a, *b;
	size_t la, lb;

	check_ends(false, &a, &la);
	check_ends(true, &b, &lb);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(a, b, la) == 0, "outputs differ");
	free(a);
	free(b);
}

/*
 * Bad lines are counted by reason and skipped; the good ones around them
 * still count. dedupe_window 1h: an event more than an hour older than the
 * newest counted one is too_old (bad), as in the daemon.
 */
Test(backtest, bad_lines_counted_and_skipped)
{
	static const char yaml[] =
	    "redis: {dedupe_window: 1h}\n"
	    "kpis: [{name: calls, kind: leading, events: [call]}]\n"
	    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
	    "teams: [{id: t, timezone: UTC}]\n"
	    "reps: [{id: r1, team: t, role: sdr}]\n"
	    "alerts: {periods: [day], evaluate_every: 15m, min_breach: 0s,"
	    " min_breach_evaluations: 1, resolve_margin: 0}\n";
	static const char text[] =
	    "{\"event_id\":\"1\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T12:00:00Z\"}\n"
	    "not json at all\n"
	    "\n"
	    "[1,2,3]\n"
	    "{\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T12:01:00Z\"}\n"
	    "{\"event_id\":\"2\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"yesterday\"}\n"
	    "{\"event_id\":\"3\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T12:02:00Z\",\"count\":0}\n"
	    "{\"event_id\":\"4\",\"rep_id\":\"nobody\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T12:03:00Z\"}\n"
	    "{\"event_id\":\"5\",\"rep_id\":\"r1\",\"type\":\"fax\","
	    "\"occurred_at\":\"2026-11-23T12:04:00Z\"}\n"
	    "{\"event_id\":\"6\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T10:30:00Z\"}\n"
	    "{\"event_id\":\"1\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T12:00:00Z\"}\n"
	    "{\"event_id\":\"7\",\"rep_id\":\"r1\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T11:30:00Z\",\"count\":2}\r\n";
	struct config *cfg = load_yaml(yaml);
	struct backtest_opts o = { 0 };
	struct run r;

	replay_text(cfg, text, &o, &r);
	cr_assert_eq(r.st.read, 12);
	cr_assert_eq(r.st.counted, 2, "events 1 and 7 (CRLF line)");
	cr_assert_eq(r.st.duplicates, 1);
	cr_assert_eq(r.st.bad, 7);
	cr_assert_eq(r.st.bad_reason[DECODE_INVALID_JSON], 1);
	cr_assert_eq(r.st.bad_reason[DECODE_EMPTY], 1);
	cr_assert_eq(r.st.bad_reason[DECODE_NOT_OBJECT], 1);
	cr_assert_eq(r.st.bad_reason[DECODE_MISSING_EVENT_ID], 1);
	cr_assert_eq(r.st.bad_reason[DECODE_BAD_OCCURRED_AT], 1);
	cr_assert_eq(r.st.bad_reason[DECODE_BAD_COUNT], 1);
	cr_assert_eq(r.st.too_old, 1);
	cr_assert_eq(r.st.skipped, 2);
	cr_assert_eq(r.st.unknown_rep, 1);
	cr_assert_eq(r.st.unknown_type, 1);
	/* 12:00 sets the clock and no later boundary is passed. */
	cr_assert_eq(r.st.ticks, 0);
	cr_assert_eq(r.nlines, 0);
	run_free(&r);
	config_free(cfg);
}

/*
 * As in the daemon, a bad event never moves the event clock (a typo far
 * in the future would run it ahead), while a valid one does even when it
 * is skipped. Here the bad 20:00 line changes nothing and the unknown
 * rep's 11:00 event carries the clock to 11:00: 08:15 .. 11:00 is 12
 * boundaries, and the silent r1 and r2 go critical at 10:45.
 */
Test(backtest, bad_events_do_not_move_the_clock_skipped_ones_do)
{
	static const char text[] =
	    "{\"event_id\":\"a\",\"rep_id\":\"r3\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T08:00:00Z\",\"count\":40}\n"
	    "{\"event_id\":\"b\",\"rep_id\":\"r3\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T20:00:00Z\",\"count\":0}\n"
	    "{\"event_id\":\"c\",\"rep_id\":\"ghost\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-23T11:00:00Z\"}\n";
	struct config *cfg = load_file(FX("config.yaml"));
	struct backtest_opts o = { 0 };
	struct run r;

	replay_text(cfg, text, &o, &r);
	cr_assert_eq(r.st.bad_reason[DECODE_BAD_COUNT], 1);
	cr_assert_eq(r.st.unknown_rep, 1);
	cr_assert_eq(r.st.ticks, 12);
	cr_assert_eq(r.nlines, 2);
	expect_line(r.lines[0], "r1", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	expect_line(r.lines[1], "r2", "calls", "day", MONDAY, "firing",
	    ALERT_LEVEL_CRITICAL, "escalated", "2026-11-23T10:45:00.000Z");
	run_free(&r);
	config_free(cfg);
}

Test(backtest, no_events_no_clock)
{
	struct config *cfg = load_file(FX("config.yaml"));
	struct backtest_opts o = { .has_until = true, .until_ms = 1795000000000 };
	struct run r;

	replay_text(cfg, "", &o, &r);
	cr_assert_eq(r.nlines, 0);
	cr_assert_eq(r.st.ticks, 0);
	cr_assert_eq(r.st.evaluations, 0);
	run_free(&r);
	config_free(cfg);
}

Test(backtest, command_line_errors)
{
	char *a1[] = { "backtest", NULL };
	char *a2[] = { "backtest", "--config", FX("config.yaml"), NULL };
	char *a3[] = { "backtest", "--config", FX("config.yaml"), "--until",
	    "tomorrow", FX("events.jsonl"), NULL };
	char *a4[] = { "backtest", "--config", FX("missing.yaml"),
	    FX("events.jsonl"), NULL };
	char *a5[] = { "backtest", "--config", FX("config.yaml"),
	    FX("no_such_events.jsonl"), NULL };
	char *a6[] = { "backtest", "--bogus", NULL };

	cr_assert_eq(backtest_main(1, a1), 2);
	cr_assert_eq(backtest_main(3, a2), 2, "no events file");
	cr_assert_eq(backtest_main(6, a3), 2);
	cr_assert_eq(backtest_main(4, a4), 1, "config error");
	cr_assert_eq(backtest_main(4, a5), 1);
	cr_assert_eq(backtest_main(2, a6), 2);
}

/* ---- generated data: the fast path against the exhaustive one ---- */

static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static unsigned
rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/*
 * A config: four teams (UTC; New York and London, whose clocks change on
 * 1 Nov and 25 Oct 2026; Kolkata at +05:30), a Sun-Thu 08:30-24:00
 * calendar with another week start and fiscal year, a holiday; count,
 * amount and lower-is-better KPIs over all four periods; a role schedule,
 * rep overrides and out-of-office days.
 */
static char *
gen_config(unsigned nreps, const char *alert_line)
{
	static const char *const zones[] = { "UTC", "America/New_York",
	    "Europe/London", "Asia/Kolkata" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fprintf(f,
	    "redis: {dedupe_window: 3d}\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "  - {name: no_shows, kind: leading, events: [no_show], better: lower}\n"
	    "  - {name: revenue, kind: lagging, events: [deal], measure: amount}\n"
	    "calendars:\n"
	    "  default: {working_days: [mon, tue, wed, thu, fri],"
	    " working_hours: \"09:00-17:00\", holidays: [\"2026-10-28\"]}\n"
	    "  late: {working_days: [sun, mon, tue, wed, thu],"
	    " working_hours: \"08:30-24:00\", week_start: sun,"
	    " fiscal_year_start: feb}\n"
	    "roles:\n"
	    "  sdr:\n"
	    "    targets:\n"
	    "      calls: {day: 40, week: 200, month: 800}\n"
	    "      meetings: {day: 2, week: 10}\n"
	    "      no_shows: {week: 3, month: 10}\n"
	    "      revenue: {month: 50000, quarter: 150000}\n"
	    "    schedule: [{from: \"2026-10-26\", targets: {calls: {day: 30}}}]\n"
	    "  ae:\n"
	    "    targets:\n"
	    "      calls: {day: 20, week: 100}\n"
	    "      meetings: {day: 3, week: 15, month: 60}\n"
	    "      no_shows: {day: 1, week: 2}\n"
	    "      revenue: {week: 20000, month: 80000}\n"
	    "teams:\n");
	for (int i = 0; i < 4; i++)
		fprintf(f, "  - {id: t%d, timezone: %s, calendar: %s,"
		    " manager: m%d}\n", i, zones[i], i == 2 ? "late" : "default",
		    i);
	fprintf(f, "managers: [{id: m0, manager: vp}, {id: m1, manager: vp},"
	    " {id: m2, manager: vp}, {id: m3}, {id: vp}]\n");
	fprintf(f, "reps:\n");
	for (unsigned r = 0; r < nreps; r++) {
		fprintf(f, "  - {id: r%03u, team: t%u, role: %s", r,
		    rnd_below(4), rnd_below(2) ? "sdr" : "ae");
		if (rnd_below(5) == 0)
			fprintf(f, ", out_of_office: [\"2026-10-%02u..2026-10-%02u\"]",
			    20 + rnd_below(5), 26 + rnd_below(3));
		if (rnd_below(6) == 0)
			fprintf(f, ", targets: {calls: {day: 25}}");
		fprintf(f, "}\n");
	}
	fprintf(f, "alerts: %s\n", alert_line);
	fclose(f);
	return buf;
}

/*
 * Events from 2026-10-19 for ndays: each rep has a rate (silent, slow,
 * busy), times anywhere in the day (nights and weekends too), a few
 * duplicates, neighbours swapped now and then (late events), a few bad
 * lines and an unknown rep.
 */
static char *
gen_events(unsigned nreps, unsigned ndays, size_t *nout)
{
	static const char *const types[] = { "call", "call", "call", "email",
	    "meeting", "no_show", "deal", "fax" };
	const int64_t t0 = 1792368000000LL;	/* 2026-10-19T00:00:00Z */
	size_t n = 0, cap = 1024;
	int64_t *when = malloc(cap * sizeof(*when));
	unsigned *who = malloc(cap * sizeof(*who));
	char *buf = NULL, ts[40];
	size_t len = 0;
	FILE *f;

	for (unsigned r = 0; r < nreps; r++) {
		unsigned rate = rnd_below(4) == 0 ? 0 : 2 + rnd_below(12);

		for (unsigned d = 0; d < ndays; d++) {
			unsigned k = rate ? rnd_below(2 * rate + 1) : 0;

			for (unsigned i = 0; i < k; i++) {
				if (n + 2 > cap) {
					cap *= 2;
					when = realloc(when, cap * sizeof(*when));
					who = realloc(who, cap * sizeof(*who));
				}
				when[n] = t0 + (int64_t)d * 86400000 +
				    (int64_t)rnd_below(86400) * 1000;
				who[n++] = r;
			}
		}
	}
	/* Time order by insertion sort over a gap sequence (small n). */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && when[j - gap] > when[j];
			    j -= gap) {
				int64_t tw = when[j];
				unsigned tr = who[j];

				when[j] = when[j - gap];
				who[j] = who[j - gap];
				when[j - gap] = tw;
				who[j - gap] = tr;
			}
	for (size_t i = 0; i + 1 < n; i++)
		if (rnd_below(25) == 0) {
			int64_t tw = when[i];
			unsigned tr = who[i];

			when[i] = when[i + 1];
			who[i] = who[i + 1];
			when[i + 1] = tw;
			who[i + 1] = tr;
		}
	f = open_memstream(&buf, &len);
	for (size_t i = 0; i < n; i++) {
		const char *type = types[rnd_below(8)];
		char extra[64] = "";

		caltime_format_utc(when[i], ts, sizeof(ts));
		if (strcmp(type, "deal") == 0)
			snprintf(extra, sizeof(extra), ",\"amount\":%u.5",
			    rnd_below(20000));
		else if (rnd_below(4) == 0)
			snprintf(extra, sizeof(extra), ",\"count\":%u",
			    1 + rnd_below(5));
		fprintf(f, "{\"event_id\":\"e%zu\",\"rep_id\":\"r%03u\","
		    "\"type\":\"%s\",\"occurred_at\":\"%s\"%s}\n", i, who[i],
		    type, ts, extra);
		if (rnd_below(50) == 0)	/* a producer retry */
			fprintf(f, "{\"event_id\":\"e%zu\",\"rep_id\":\"r%03u\","
			    "\"type\":\"%s\",\"occurred_at\":\"%s\"%s}\n", i,
			    who[i], type, ts, extra);
		if (rnd_below(400) == 0)
			fprintf(f, "{\"event_id\":\"x\",\"rep_id\":\"r000\"\n");
		if (rnd_below(400) == 0)
			fprintf(f, "{\"event_id\":\"y%zu\",\"rep_id\":\"ghost\","
			    "\"type\":\"call\",\"occurred_at\":\"%s\"}\n", i, ts);
	}
	fclose(f);
	free(when);
	free(who);
	*nout = n;
	return buf;
}

static void
fast_equals_exhaustive(uint64_t seed, unsigned nreps, unsigned ndays,
    const char *alert_line, const char *until)
{
	struct backtest_opts fast = { 0 }, ex;
	struct config *cfg;
	struct run a, b;
	char *yaml, *events, *ra, *rb;
	size_t nev, la, lb;
	FILE *in;

	rng = seed;
	yaml = gen_config(nreps, alert_line);
	events = gen_events(nreps, ndays, &nev);
	cfg = load_yaml(yaml);
	if (until != NULL) {
		fast.has_until = true;
		cr_assert_eq(caltime_parse_rfc3339(until, strlen(until),
		    &fast.until_ms), 0);
	}
	ex = fast;
	ex.exhaustive = true;
	in = fmemopen(events, strlen(events), "r");
	replay(cfg, in, &fast, &a, &ra, &la);
	fclose(in);
	in = fmemopen(events, strlen(events), "r");
	replay(cfg, in, &ex, &b, &rb, &lb);
	fclose(in);

	cr_assert_gt(nev, 100);
	cr_assert_gt(a.st.alerts, 10, "the data should make alerts");
	cr_assert_eq(a.st.model_mismatches, 0);
	cr_assert_eq(a.st.counted, b.st.counted);
	cr_assert_eq(a.st.ticks, b.st.ticks);
	cr_assert_eq(a.st.alerts, b.st.alerts, "fast %" PRIu64 " exhaustive %"
	    PRIu64, a.st.alerts, b.st.alerts);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(ra, rb, la) == 0, "outputs differ");
	cr_assert_lt(a.st.evaluations * 2, b.st.evaluations);
	free(ra);
	free(rb);
	run_free(&a);
	run_free(&b);
	config_free(cfg);
	free(yaml);
	free(events);
}

Test(backtest, generated_day_week_leading)
{
	fast_equals_exhaustive(0x5eed0001, 24, 14,
	    "{periods: [day, week], kpis: leading, grace: 0.2,"
	    " repeat_interval: 4h, evaluate_every: 15m}", NULL);
}

Test(backtest, generated_all_periods_named_kpis)
{
	fast_equals_exhaustive(0x5eed0002, 16, 16,
	    "{periods: [day, week, month, quarter], kpis: [calls, no_shows,"
	    " revenue], warning_below: 0.9, critical_below: 0.4, grace: 0,"
	    " repeat_interval: 100m, evaluate_every: 20m, ahead_above: 1.3}",
	    "2026-11-06T12:00:00Z");
}

Test(backtest, generated_one_minute_ticks)
{
	fast_equals_exhaustive(0x5eed0003, 6, 4,
	    "{periods: [day, week], kpis: leading, grace: 0.1,"
	    " repeat_interval: 37m, evaluate_every: 1m}",
	    "2026-10-23T03:00:00Z");
}
