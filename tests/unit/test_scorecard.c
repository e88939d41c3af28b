#include "scorecard.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * The worked example of docs/config.md ("Targets: overrides, schedules,
 * out of office"), row by row, through scorecard_compute(): which of the
 * four layers sets each target, and the proration for r007's days away.
 * The figures are the ones the table gives, worked out by hand there.
 * Plus the other side of the scorecard: a rep with no layer setting a
 * period has no target for it, and the figures follow the actual.
 */
static const char yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: meetings_scheduled, kind: leading, events: [meeting_scheduled]}\n"
    "calendars:\n"
    "  default: {holidays: [\"2026-12-25\"]}\n"
    "roles:\n"
    "  sdr:\n"
    "    targets:\n"
    "      calls: {day: 50, week: 250}\n"
    "      meetings_scheduled: {week: 10, month: 40}\n"
    "    schedule:\n"
    "      - {from: 2026-12-01, targets: {calls: {day: 40}}}\n"
    "teams: [{id: east, timezone: America/New_York, calendar: default}]\n"
    "reps:\n"
    "  - id: r007\n"
    "    team: east\n"
    "    role: sdr\n"
    "    targets: {meetings_scheduled: {month: 12}}\n"
    "    schedule:\n"
    "      - {from: 2026-09-01, targets: {meetings_scheduled: {month: 5}}}\n"
    "      - {from: 2026-10-01, targets: {meetings_scheduled: {month: 10}}}\n"
    "      - {from: 2026-11-01, targets: {}}\n"
    "    out_of_office: [\"2026-11-26\", \"2026-12-21..2026-12-24\"]\n"
    "  - {id: r008, team: east, role: sdr}\n";

static struct config *cfg;
static struct roster *roster;

static void
setup(void)
{
	char *errs = NULL, err[256];

	cfg = config_load_buffer("example.yaml", yaml, sizeof(yaml) - 1, &errs);
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

TestSuite(scorecard, .init = setup, .fini = teardown);

/* rep's scorecard for period p at local noon (New York) of day, with
 * actual[k] = the given values; kpis caller's (cfg->nkpis). */
static void
card(const char *rep, enum period p, const char *day, const double *actual,
    struct scorecard_kpi *kpis, struct scorecard *sc)
{
	char when[64];
	int64_t at;

	snprintf(when, sizeof(when), "%sT12:00:00-05:00", day);
	cr_assert_eq(caltime_parse_rfc3339(when, strlen(when), &at), 0, "%s",
	    when);
	sc->kpis = kpis;
	scorecard_compute(cfg, roster_rep(roster, rep), p, at, actual, sc);
}

static void
expect_target(const char *rep, const char *kpi, enum period p,
    const char *day, double want)
{
	static const double zero[2] = { 0, 0 };
	struct scorecard_kpi kpis[2];
	struct scorecard sc;
	int k = config_kpi_index(cfg, kpi);

	cr_assert_geq(k, 0);
	card(rep, p, day, zero, kpis, &sc);
	cr_assert(kpis[k].has_target, "%s %s %s: no target", rep, kpi, day);
	cr_expect(fabs(kpis[k].fig.target - want) < 0.005, "%s %s %s: target "
	    "%.4f, want %.2f", rep, kpi, day, kpis[k].fig.target, want);
}

Test(scorecard, rep_schedule_ramp)
{
	expect_target("r007", "meetings_scheduled", PERIOD_MONTH, "2026-09-15", 5);
	expect_target("r007", "meetings_scheduled", PERIOD_MONTH, "2026-10-15", 10);
}

Test(scorecard, override_when_the_schedule_sets_nothing_prorated)
{
	/* 12 x 20 / 21: away Thursday 11-26. */
	expect_target("r007", "meetings_scheduled", PERIOD_MONTH, "2026-11-10",
	    12.0 * 20 / 21);
	/* 12 x 18 / 22: away 12-21..12-24, the 25th a holiday. */
	expect_target("r007", "meetings_scheduled", PERIOD_MONTH, "2026-12-10",
	    12.0 * 18 / 22);
}

Test(scorecard, role_layers)
{
	expect_target("r007", "meetings_scheduled", PERIOD_WEEK, "2026-09-08", 10);
	expect_target("r007", "calls", PERIOD_DAY, "2026-11-30", 50);
	expect_target("r007", "calls", PERIOD_DAY, "2026-12-02", 40);
	/* A day away: nothing is expected of r007. */
	expect_target("r007", "calls", PERIOD_DAY, "2026-12-22", 0);
	/* 250 x 4 / 5: away Thursday 11-26 (Thanksgiving is no holiday
	 * in this calendar). */
	expect_target("r007", "calls", PERIOD_WEEK, "2026-11-24", 200);
	/* Away Mon-Thu, Friday the holiday: no day left. */
	expect_target("r007", "calls", PERIOD_WEEK, "2026-12-22", 0);
	/* r008 has no override, no schedule, no days away. */
	expect_target("r008", "meetings_scheduled", PERIOD_MONTH, "2026-12-10", 40);
	/* A holiday takes a day from the week but nothing from the target:
	 * r008 is there on all four working days. */
	expect_target("r008", "calls", PERIOD_WEEK, "2026-12-22", 250);
}

Test(scorecard, no_layer_no_target)
{
	static const double zero[2] = { 0, 0 };
	struct scorecard_kpi kpis[2];
	struct scorecard sc;

	/* Nobody sets a quarter target, nor a day target for meetings. */
	card("r008", PERIOD_QUARTER, "2026-11-10", zero, kpis, &sc);
	cr_expect(!kpis[0].has_target);
	cr_expect(!kpis[1].has_target);
	card("r008", PERIOD_DAY, "2026-11-10", zero, kpis, &sc);
	cr_expect(kpis[0].has_target);
	cr_expect(!kpis[1].has_target);
}

Test(scorecard, figures_follow_the_actual)
{
	/* Tuesday 2026-11-10 at noon in New York: 3 of 8 working hours of
	 * the day gone (09:00-17:00), target 50: 18.75 expected. */
	static const double actual[2] = { 20, 0 };
	struct scorecard_kpi kpis[2];
	struct scorecard sc;

	card("r008", PERIOD_DAY, "2026-11-10", actual, kpis, &sc);
	cr_assert(kpis[0].has_target);
	cr_expect(fabs(kpis[0].fig.expected_to_date - 18.75) < 1e-9, "%g",
	    kpis[0].fig.expected_to_date);
	cr_expect(fabs(kpis[0].fig.pace - 20 / 18.75) < 1e-9, "%g",
	    kpis[0].fig.pace);
	cr_expect(fabs(kpis[0].fig.projected - 20 / 0.375) < 1e-9, "%g",
	    kpis[0].fig.projected);
	/* 30 left over 5/8 of a working day. */
	cr_expect(fabs(kpis[0].fig.required_rate - 48) < 1e-9, "%g",
	    kpis[0].fig.required_rate);
	cr_expect_eq(kpis[0].fig.status, PACING_ON_PACE);
	/* The day bucket: New York's midnight to midnight (UTC-5). */
	cr_expect_eq(sc.bucket.end_ms - sc.bucket.start_ms, 86400000LL);
	cr_expect_eq(sc.bucket.start_ms % 86400000LL, 5 * 3600000LL);
}

/*
 * The data began on Wednesday 2026-11-18 at 09:00 New York (a first
 * deployment, a replay that starts mid-week). r008's week (calls 250,
 * Mon-Fri 09:00-17:00, 40 working hours) judged on Wednesday at 13:00
 * with 12 calls: the 16 hours before the data are out, 24 remain, of
 * which 4 have gone by. Target 250 * 24 / 40 = 150, expected 150 * 4 /
 * 24 = 25, pace 12 / 25 = 0.48. Without the rule: expected 250 * 20 / 40
 * = 125, pace 0.096. A bucket that began after the data is unchanged.
 */
Test(scorecard, a_bucket_that_began_before_the_data)
{
	const struct roster_rep *r = roster_rep(roster, "r008");
	double actual[2] = { 12, 0 };
	struct scorecard_kpi k1[2], k2[2];
	struct scorecard sc = { .kpis = k1 }, day = { .kpis = k2 };
	int32_t wed;
	int64_t since, at;

	cr_assert_eq(caltime_parse_date("2026-11-18", &wed), 0);
	since = tzone_local_to_utc(r->zone, wed, 9 * 60);
	at = tzone_local_to_utc(r->zone, wed, 13 * 60);
	scorecard_compute(cfg, r, PERIOD_WEEK, at, actual, &sc);
	cr_assert_float_eq(sc.kpis[0].fig.expected_to_date, 125, 1e-9);
	cr_assert_eq(scorecard_since_gone(r, &sc.bucket, since),
	    16 * 3600000LL);
	scorecard_since(cfg, r, since, &sc);
	cr_assert_eq(sc.wt.total_ms, 24 * 3600000LL);
	cr_assert_eq(sc.wt.elapsed_ms, 4 * 3600000LL);
	cr_assert_float_eq(sc.kpis[0].fig.target, 150, 1e-9);
	cr_assert_float_eq(sc.kpis[0].fig.expected_to_date, 25, 1e-9);
	cr_assert_float_eq(sc.kpis[0].fig.pace, 0.48, 1e-9);
	cr_assert_eq(sc.kpis[0].fig.status, PACING_CRITICAL);

	/* Wednesday's day bucket began at midnight, before 09:00, but no
	 * working time lies between: unchanged. */
	scorecard_compute(cfg, r, PERIOD_DAY, at, actual, &day);
	cr_assert_eq(scorecard_since_gone(r, &day.bucket, since), 0);
	scorecard_since(cfg, r, since, &day);
	cr_assert_float_eq(day.kpis[0].fig.target, 50, 1e-9);
	cr_assert_eq(day.wt.total_ms, 8 * 3600000LL);
}

/* The memo's scorecards are the plain ones, byte for byte: for a rep with
 * days away and one without, every period, instants across the days
 * away, a holiday and DST changes, several instants of one day, the
 * instants the data began, and the same keys asked again (read from the
 * memo then). */
Test(scorecard, memo_gives_the_plain_figures)
{
	static const char *const when[] = {
		"2026-11-02T08:59:00-05:00", "2026-11-26T12:00:00-05:00",
		"2026-12-22T16:30:00-05:00", "2026-12-25T10:00:00-05:00",
		"2027-03-14T12:00:00-04:00", "2026-11-01T01:30:00-04:00",
		/* several instants of one day (the memo keeps a day's
		 * working days and works out each instant from them) */
		"2026-12-22T00:00:00-05:00", "2026-12-22T08:59:59.999-05:00",
		"2026-12-22T09:00:00-05:00", "2026-12-22T12:34:56.789-05:00",
		"2026-12-22T17:00:00-05:00", "2026-12-22T23:59:59.999-05:00",
		"2027-03-14T01:59:00-05:00", "2027-03-14T03:00:00-04:00",
		"2027-03-15T09:30:00-04:00", "2027-03-15T16:59:59-04:00",
		"2026-11-01T01:30:00-05:00", "2026-11-02T13:00:00-05:00",
	};
	static const char *const reps[] = { "r007", "r008" };
	struct scorecard_memo *m = scorecard_memo_new();
	double actual[2] = { 31, 4 };

	for (int round = 0; round < 2; round++)
	for (size_t w = 0; w < sizeof(when) / sizeof(when[0]); w++)
	for (size_t r = 0; r < 2; r++)
	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct roster_rep *rr = roster_rep(roster, reps[r]);
		struct scorecard_kpi ka[2], kb[2];
		struct scorecard a, b;
		struct bucket ba, bb;
		int64_t at, since;

		cr_assert_eq(caltime_parse_rfc3339(when[w], strlen(when[w]),
		    &at), 0);
		since = at - 3 * 86400000LL;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		memset(ka, 0, sizeof(ka));
		memset(kb, 0, sizeof(kb));
		a.kpis = ka;
		b.kpis = kb;
		scorecard_compute(cfg, rr, (enum period)p, at, actual, &a);
		scorecard_since(cfg, rr, since, &a);
		scorecard_compute_memo(cfg, rr, (enum period)p, at, actual, m,
		    &b);
		scorecard_since_memo(cfg, rr, since, m, &b);
		cr_assert_eq(memcmp(&a.bucket, &b.bucket, sizeof(a.bucket)), 0,
		    "%s %s p=%d", reps[r], when[w], p);
		cr_assert_eq(memcmp(&a.wt, &b.wt, sizeof(a.wt)), 0,
		    "%s %s p=%d", reps[r], when[w], p);
		cr_assert_eq(memcmp(ka, kb, sizeof(ka)), 0, "%s %s p=%d",
		    reps[r], when[w], p);
		memset(&ba, 0, sizeof(ba));
		memset(&bb, 0, sizeof(bb));
		scorecard_bucket(rr, (enum period)p, at, &ba);
		scorecard_bucket_memo(m, rr, (enum period)p, at, &bb);
		cr_assert_eq(memcmp(&ba, &bb, sizeof(ba)), 0);
	}
	scorecard_memo_clear(m);
	scorecard_memo_free(m);
	scorecard_memo_free(NULL);
}
