#include "classify.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "caltime.h"

/* One rep in Tokyo (UTC+9): 20:00Z on the 23rd is the 24th there. */
static const char yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call, email]}\n"
    "  - {name: deals, kind: lagging, events: [call]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
    "teams: [{id: t, timezone: Asia/Tokyo, calendar: default, manager: m1}]\n"
    "reps: [{id: r001, team: t, role: sdr}]\n";

static struct config *cfg;
static struct roster *roster;
static struct classified c;

static void
setup(void)
{
	char *errs = NULL, err[256];

	cfg = config_load_buffer("classify.yaml", yaml, sizeof(yaml) - 1, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	roster = roster_new(cfg, err, sizeof(err));
	cr_assert_not_null(roster, "%s", err);
}

static void
teardown(void)
{
	roster_free(roster);
	config_free(cfg);
}

static int64_t
at(const char *s)
{
	int64_t ms;

	cr_assert_eq(caltime_parse_rfc3339(s, strlen(s), &ms), 0);
	return ms;
}

static void
run(const char *rep, const char *type, const char *when, int64_t oldest,
    int64_t newest)
{
	char line[256];

	snprintf(line, sizeof(line), "{\"event_id\":\"e1\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%s\"}", rep, type, when);
	classify(roster, line, strlen(line), oldest, newest, &c);
}

TestSuite(classify, .init = setup, .fini = teardown);

Test(classify, counted_with_kpis_and_both_days)
{
	run("r001", "call", "2026-11-23T20:00:00Z", 0, INT64_MAX);
	cr_assert_eq(c.outcome, CLASSIFY_COUNTED);
	cr_assert_eq(c.rep, roster_rep(roster, "r001"));
	cr_assert_eq(c.nkpis, 2, "call counts toward calls and deals");
	cr_assert_eq(c.utc_day, caltime_days_from_civil(2026, 11, 23));
	cr_assert_eq(c.local_day, caltime_days_from_civil(2026, 11, 24),
	    "the team's day in Tokyo");
	cr_assert_eq(c.ev.occurred_at_ms, at("2026-11-23T20:00:00Z"));
}

Test(classify, days_before_1970_round_down)
{
	run("r001", "email", "1969-12-31T23:00:00Z", INT64_MIN, INT64_MAX);
	cr_assert_eq(c.outcome, CLASSIFY_COUNTED);
	cr_assert_eq(c.utc_day, -1);
}

Test(classify, bad_reasons)
{
	classify(roster, "{", 1, 0, INT64_MAX, &c);
	cr_assert_eq(c.outcome, CLASSIFY_BAD);
	cr_assert_eq(c.bad, DECODE_INVALID_JSON);
	cr_assert_str_eq(classify_bad_name(c.bad), "invalid_json");

	run("r001", "call", "2026-11-23T20:00:00Z",
	    at("2026-11-23T20:00:00.001Z"), INT64_MAX);
	cr_assert_eq(c.outcome, CLASSIFY_BAD);
	cr_assert_eq(c.bad, CLASSIFY_BAD_TOO_OLD);
	cr_assert_str_eq(classify_bad_name(c.bad), "too_old");

	run("r001", "call", "2026-11-23T20:00:00Z", 0,
	    at("2026-11-23T19:59:59.999Z"));
	cr_assert_eq(c.outcome, CLASSIFY_BAD);
	cr_assert_eq(c.bad, CLASSIFY_BAD_TOO_FAR_IN_FUTURE);
	cr_assert_str_eq(classify_bad_name(c.bad), "too_far_in_future");
	/* The ingest path's own reason, named alike. */
	cr_assert_str_eq(classify_bad_name(CLASSIFY_BAD_COUNTER_REFUSED),
	    "counter_refused");

	/* On the limits themselves: not bad. */
	run("r001", "call", "2026-11-23T20:00:00Z", at("2026-11-23T20:00:00Z"),
	    at("2026-11-23T20:00:00Z"));
	cr_assert_eq(c.outcome, CLASSIFY_COUNTED);
}

Test(classify, skipped_reasons)
{
	run("r999", "call", "2026-11-23T20:00:00Z", 0, INT64_MAX);
	cr_assert_eq(c.outcome, CLASSIFY_SKIPPED);
	cr_assert_eq(c.skip, CLASSIFY_SKIP_UNKNOWN_REP);
	cr_assert_str_eq(classify_skip_name(c.skip), "unknown_rep");
	cr_assert_str_eq(c.ev.rep_id, "r999", "a skipped event is decoded");

	run("r001", "lunch", "2026-11-23T20:00:00Z", 0, INT64_MAX);
	cr_assert_eq(c.outcome, CLASSIFY_SKIPPED);
	cr_assert_eq(c.skip, CLASSIFY_SKIP_UNKNOWN_TYPE);
	cr_assert_str_eq(classify_skip_name(c.skip), "unknown_type");
}
