#include "funnel_cache.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"

/*
 * Team t: reps a and b (sdr, a funnel), c (ae, none); team u: reps u0..
 * (sdr), enough of them for two chunks. Driven by hand: no loop, no
 * Redis; a chunk's counts are written into its read as its replies would
 * add them.
 */
#define U_REPS	(FUNNEL_CACHE_CHUNK + 50)

static struct config *cfg;
static struct roster *roster;

static void
setup(void)
{
	size_t cap = 4096 + U_REPS * 64, len;
	char *y = malloc(cap), *errs = NULL, err[256];

	len = (size_t)snprintf(y, cap,
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "  - {name: deals, kind: lagging, events: [deal]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal], "
	    "measure: amount}\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], "
	    "working_hours: \"09:00-17:00\"}}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 40}}, "
	    "funnel: [calls, meetings, deals]}\n"
	    "  ae: {targets: {deals: {month: 4}}}\n"
	    "teams:\n"
	    "  - {id: t, timezone: UTC, calendar: default, manager: m1}\n"
	    "  - {id: u, timezone: America/New_York, calendar: default, "
	    "manager: m1}\n"
	    "funnel: {window: 10d, min_volume: 20, revenue: revenue}\n"
	    "reps:\n"
	    "  - {id: a, team: t, role: sdr}\n"
	    "  - {id: b, team: t, role: sdr}\n"
	    "  - {id: c, team: t, role: ae}\n");
	for (int i = 0; i < U_REPS; i++)
		len += (size_t)snprintf(y + len, cap - len,
		    "  - {id: u%d, team: u, role: sdr}\n", i);
	cfg = config_load_buffer("cache.yaml", y, len, &errs);
	free(y);
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

TestSuite(funnel_cache, .init = setup, .fini = teardown);

static int64_t
at(const char *s)
{
	int64_t ms;

	cr_assert_eq(caltime_parse_rfc3339(s, strlen(s), &ms), 0);
	return ms;
}

static void
set_counts(struct funnel_read *rd, const char *rep, double calls,
    double meetings, double deals, double revenue)
{
	for (size_t i = 0; i < rd->nreps; i++) {
		struct funnel_counts *w = &rd->reps[i].win;

		if (strcmp(rd->reps[i].rep_id, rep) != 0)
			continue;
		w->step[0] = calls;
		w->step[1] = meetings;
		w->step[2] = deals;
		w->revenue = revenue;
		return;
	}
	cr_assert_fail("%s not in the chunk", rep);
}

/* Team t's pass on day d: a 100 -> 20 -> 5 deals worth 50,000; b 10 -> 1
 * -> 0. */
static void
read_team_t(struct funnel_cache *fc, struct funnel_read *rd, int32_t d)
{
	cr_assert_eq(funnel_cache_chunk(fc, rd), 2);
	cr_expect_eq(rd->window_days, 10);
	for (size_t i = 0; i < rd->nreps; i++)
		cr_expect_eq(rd->reps[i].last_day, d - 1,
		    "the window ends the day before");
	set_counts(rd, "a", 100, 20, 5, 50000);
	set_counts(rd, "b", 10, 1, 0, 0);
	funnel_cache_chunk_done(fc, rd, true);
}

Test(funnel_cache, rates_after_a_pass_own_or_team)
{
	const struct config *c = cfg;
	const struct roster *r = roster;
	struct funnel_cache *fc = funnel_cache_new(NULL, NULL, &c, &r);
	const struct roster_rep *a = roster_rep(roster, "a");
	const struct roster_rep *b = roster_rep(roster, "b");
	struct funnel_read rd;
	struct funnel_cache_rates x;
	int64_t t0 = at("2026-11-23T13:00:00Z");
	int32_t d = tzone_local_day(a->zone, t0);

	memset(&rd, 0, sizeof(rd));
	cr_expect_not(funnel_cache_rates(fc, a, &x), "nothing read yet");
	cr_expect_eq(funnel_cache_chunk(fc, &rd), 0, "nothing wanted");
	funnel_cache_want(fc, a, t0);
	read_team_t(fc, &rd, d);

	cr_assert(funnel_cache_rates(fc, a, &x));
	cr_expect_eq(x.window_to, d - 1);
	cr_expect_eq(x.conv[0].source, FUNNEL_SOURCE_REP);
	cr_expect_float_eq(x.conv[0].used.v, 0.2, 1e-12);
	cr_expect_eq(x.conv[1].source, FUNNEL_SOURCE_REP);
	cr_expect_float_eq(x.conv[1].used.v, 0.25, 1e-12);
	cr_expect_float_eq(x.deal_size.v, 10000, 1e-9);

	/* b is read with its team though never wanted: under min_volume,
	 * its team's rates and deal size. */
	cr_assert(funnel_cache_rates(fc, b, &x));
	cr_expect_eq(x.conv[0].source, FUNNEL_SOURCE_TEAM);
	cr_expect_float_eq(x.conv[0].used.v, 21.0 / 110, 1e-12);
	cr_expect_eq(x.conv[1].source, FUNNEL_SOURCE_TEAM);
	cr_expect_float_eq(x.conv[1].used.v, 5.0 / 21, 1e-12);
	cr_expect(x.deal_size.has);
	cr_expect_float_eq(x.deal_size.v, 10000, 1e-9);
	cr_expect_not(funnel_cache_rates(fc, roster_rep(roster, "c"), &x),
	    "a role without a funnel");

	funnel_cache_free(fc);
	funnel_read_clear(&rd);
}

Test(funnel_cache, once_per_local_day_and_kept_through_a_failure)
{
	const struct config *c = cfg;
	const struct roster *r = roster;
	struct funnel_cache *fc = funnel_cache_new(NULL, NULL, &c, &r);
	const struct roster_rep *a = roster_rep(roster, "a");
	struct funnel_read rd;
	struct funnel_cache_rates x;
	int64_t t0 = at("2026-11-23T13:00:00Z");
	int32_t d = tzone_local_day(a->zone, t0);

	memset(&rd, 0, sizeof(rd));
	funnel_cache_want(fc, a, t0);
	read_team_t(fc, &rd, d);

	/* The same local day again: nothing to read. */
	funnel_cache_want(fc, a, at("2026-11-23T23:59:00Z"));
	cr_expect_eq(funnel_cache_chunk(fc, &rd), 0);

	/* The next day: read again; a failure keeps the day before's. */
	funnel_cache_want(fc, a, at("2026-11-24T08:00:00Z"));
	cr_assert_eq(funnel_cache_chunk(fc, &rd), 2);
	cr_expect_eq(rd.reps[0].last_day, d);
	cr_assert(funnel_cache_rates(fc, a, &x), "served while reading");
	cr_expect_eq(x.window_to, d - 1);
	funnel_cache_chunk_done(fc, &rd, false);
	cr_assert(funnel_cache_rates(fc, a, &x));
	cr_expect_eq(x.window_to, d - 1);

	/* Due still: the retry reads it. */
	read_team_t(fc, &rd, d + 1);
	cr_assert(funnel_cache_rates(fc, a, &x));
	cr_expect_eq(x.window_to, d);

	/* A reload forgets. */
	funnel_cache_reconfigured(fc);
	cr_expect_not(funnel_cache_rates(fc, a, &x));
	funnel_cache_free(fc);
	funnel_read_clear(&rd);
}

Test(funnel_cache, chunks_are_bounded_and_days_are_the_teams)
{
	const struct config *c = cfg;
	const struct roster *r = roster;
	struct funnel_cache *fc = funnel_cache_new(NULL, NULL, &c, &r);
	const struct roster_rep *u0 = roster_rep(roster, "u0");
	struct funnel_read rd;
	struct funnel_cache_rates x;
	/* 02:00 UTC is still the 22nd in New York. */
	int64_t t0 = at("2026-11-23T02:00:00Z");
	int32_t ny = tzone_local_day(u0->zone, t0);

	cr_assert_eq(ny, tzone_local_day(roster_rep(roster, "a")->zone, t0) -
	    1);
	memset(&rd, 0, sizeof(rd));
	funnel_cache_want(fc, u0, t0);
	cr_assert_eq(funnel_cache_chunk(fc, &rd), FUNNEL_CACHE_CHUNK);
	cr_expect_eq(rd.reps[0].last_day, ny - 1);
	for (size_t i = 0; i < rd.nreps; i++)
		rd.reps[i].win.step[0] = 1;	/* 200 calls, no meeting */
	funnel_cache_chunk_done(fc, &rd, true);
	cr_expect_not(funnel_cache_rates(fc, u0, &x), "half a pass");
	cr_assert_eq(funnel_cache_chunk(fc, &rd), U_REPS - FUNNEL_CACHE_CHUNK);
	for (size_t i = 0; i < rd.nreps; i++) {
		rd.reps[i].win.step[0] = 1;
		rd.reps[i].win.step[1] = 1;	/* 50 meetings */
	}
	funnel_cache_chunk_done(fc, &rd, true);
	cr_expect_eq(funnel_cache_chunk(fc, &rd), 0, "the pass is over");
	cr_assert(funnel_cache_rates(fc, u0, &x));
	cr_expect_eq(x.window_to, ny - 1);
	cr_expect_eq(x.conv[0].source, FUNNEL_SOURCE_TEAM);
	cr_expect_float_eq(x.conv[0].used.v, 50.0 / U_REPS, 1e-12);
	cr_expect_eq(x.conv[1].source, FUNNEL_SOURCE_TEAM);
	cr_expect_float_eq(x.conv[1].used.v, 0, 1e-12);
	cr_expect_not(x.deal_size.has, "no deal in the window");
	funnel_cache_free(fc);
	funnel_read_clear(&rd);
}
