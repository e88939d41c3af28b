#include "pacing.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

/*
 * Day numbers were counted by hand from 2026-01-01 = 20454 (a Thursday;
 * 56 years since 1970 with 14 leap days: 56 * 365 + 14):
 *	2026-03-08 = 20454 + 31 + 28 + 7 = 20520, a Sunday (DST starts)
 *	2026-11-01 = 20454 + 304 = 20758, a Sunday (DST ends)
 *	2026-11-23 = 20758 + 22 = 20780, a Monday
 * America/New_York is UTC-5 (EST) from 2026-11-01 02:00 and UTC-4 (EDT)
 * from 2026-03-08 02:00 to then; local h:m on a day is UTC h+5 or h+4.
 */
#define MIN_MS		60000LL
#define HOUR_MS		3600000LL
#define DAY_MS		86400000LL
#define EPS		1e-9

#define D_0308		20520		/* 2026-03-08, Sunday */
#define D_1101		20758		/* 2026-11-01, Sunday */
#define D_1123		20780		/* 2026-11-23, Monday */
#define D_1125		(D_1123 + 2)	/* Wednesday */
#define D_1126		(D_1123 + 3)	/* Thursday, Thanksgiving */
#define D_1127		(D_1123 + 4)	/* Friday */
#define D_1128		(D_1123 + 5)	/* Saturday */
#define D_1130		(D_1123 + 7)	/* Monday */

#define MONFRI		0x1fu		/* bits 0..4: Monday to Friday */
#define ALLWEEK		0x7fu

/* Local wall time h:m on day in a zone offset_h hours west of UTC. */
static int64_t
west(int32_t day, int h, int m, int offset_h)
{
	return (int64_t)day * DAY_MS + (h + offset_h) * HOUR_MS + m * MIN_MS;
}

static struct bucket
mkbucket(enum period p, int32_t start, int32_t end)
{
	struct bucket	b = { .period = p, .start_day = start, .end_day = end };

	b.start_ms = (int64_t)start * DAY_MS;
	b.end_ms = (int64_t)end * DAY_MS;
	return b;
}

static struct tzone *
ny(void)
{
	char		 err[128];
	struct tzone	*z = tzone_open("America/New_York", err, sizeof(err));

	cr_assert_not_null(z, "%s", err);
	return z;
}

static const struct pacing_calendar office = {
	.working_days = MONFRI, .work_start_min = 9 * 60,
	.work_end_min = 17 * 60,
};

Test(pacing, names_and_defaults)
{
	struct pacing_thresholds	th;

	cr_assert_str_eq(pacing_status_name(PACING_NOT_STARTED),
	    "not_started");
	cr_assert_str_eq(pacing_status_name(PACING_AHEAD), "ahead");
	cr_assert_str_eq(pacing_status_name(PACING_ON_PACE), "on_pace");
	cr_assert_str_eq(pacing_status_name(PACING_BEHIND), "behind");
	cr_assert_str_eq(pacing_status_name(PACING_CRITICAL), "critical");
	pacing_thresholds_default(&th);
	cr_assert_eq(th.ahead_above, 1.1);
	cr_assert_eq(th.warning_below, 0.8);
	cr_assert_eq(th.critical_below, 0.5);
}

Test(worktime, weekend_reads_the_same_as_friday_evening)
{
	struct tzone		*z = ny();
	struct bucket		 wk = mkbucket(PERIOD_WEEK, D_1123, D_1123 + 7);
	struct bucket		 mo = mkbucket(PERIOD_MONTH, D_1101,
				    D_1101 + 30);
	struct pacing_worktime	 wt;
	int64_t			 at[3];

	/* Friday 17:00, Saturday 23:00 and the next Monday 09:00 EST. */
	at[0] = west(D_1127, 17, 0, 5);
	at[1] = west(D_1128, 23, 0, 5);
	at[2] = west(D_1130, 9, 0, 5);
	for (int i = 0; i < 3; i++) {
		/* The week: 5 days * 480 = 2400 minutes, all gone by. */
		pacing_worktime(&office, NULL, z, &wk, at[i], &wt);
		cr_assert_eq(wt.total_ms, 2400 * MIN_MS);
		cr_assert_eq(wt.elapsed_ms, 2400 * MIN_MS, "instant %d", i);
		cr_assert_eq(wt.days_period, 5);
		cr_assert_eq(pacing_worktime_fraction(&wt), 1.0);
		cr_assert_eq(pacing_worktime_days_remaining(&wt), 0.0);

		/*
		 * November 2026 starts on a Sunday: Mon-Fri of Nov 2..27 are
		 * 4 * 5 = 20 days (9600 min) before the weekend, and Monday
		 * Nov 30 makes 21 (10080 min). Monday 09:00 adds nothing.
		 */
		pacing_worktime(&office, NULL, z, &mo, at[i], &wt);
		cr_assert_eq(wt.days_period, 21);
		cr_assert_eq(wt.total_ms, 10080 * MIN_MS);
		cr_assert_eq(wt.elapsed_ms, 9600 * MIN_MS, "instant %d", i);
		cr_assert_float_eq(pacing_worktime_fraction(&wt), 20.0 / 21,
		    EPS);
		cr_assert_eq(pacing_worktime_days_remaining(&wt), 1.0);
	}
	tzone_free(z);
}

Test(worktime, holiday_inside_a_week)
{
	struct tzone		*z = ny();
	int32_t			 hol[] = { D_1126 };
	struct pacing_calendar	 cal = office;
	struct bucket		 wk = mkbucket(PERIOD_WEEK, D_1123, D_1123 + 7);
	struct pacing_worktime	 wt;
	int32_t			 period, present;

	cal.holidays = hol;
	cal.nholidays = 1;
	cr_assert(pacing_is_working_day(&cal, D_1125));
	cr_assert(!pacing_is_working_day(&cal, D_1126));
	cr_assert(!pacing_is_working_day(&cal, D_1128));

	/*
	 * Thanksgiving leaves 4 days: 4 * 480 = 1920 minutes. Wednesday
	 * 12:00 EST (17:00Z): Mon 480 + Tue 480 + Wed 180 = 1140 minutes;
	 * 1140 / 1920 = 0.59375; 780 minutes left = 1.625 days.
	 */
	pacing_worktime(&cal, NULL, z, &wk, west(D_1125, 12, 0, 5), &wt);
	cr_assert_eq(wt.days_period, 4);
	cr_assert_eq(wt.days_present, 4);
	cr_assert_eq(wt.total_ms, 1920 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 1140 * MIN_MS);
	cr_assert_eq(pacing_worktime_fraction(&wt), 0.59375);
	cr_assert_eq(pacing_worktime_days_remaining(&wt), 1.625);

	/* On the holiday itself nothing moves: still Mon-Wed, 1440. */
	pacing_worktime(&cal, NULL, z, &wk, west(D_1126, 15, 0, 5), &wt);
	cr_assert_eq(wt.elapsed_ms, 1440 * MIN_MS);

	pacing_working_days(&cal, NULL, &wk, &period, &present);
	cr_assert_eq(period, 4);
	cr_assert_eq(present, 4);
	tzone_free(z);
}

Test(worktime, dst_start_keeps_working_minutes)
{
	struct tzone		*z = ny();
	struct period_rules	 sun = { 6, 1 };	/* Sunday weeks */
	struct period_rules	 mon = { 0, 1 };	/* Monday weeks */
	struct pacing_calendar	 allday = {
		.working_days = ALLWEEK, .work_start_min = 0,
		.work_end_min = 1440,
	};
	struct bucket		 b;
	struct pacing_worktime	 wt;

	/*
	 * A Sunday-start week: Sun Mar 8 .. Sat Mar 14, the jump to EDT at
	 * 02:00 on its first day. Mon-Fri 09:00-17:00 are all EDT: 5 * 480
	 * = 2400 minutes. Monday 12:00 EDT (16:00Z) is 180 minutes in.
	 */
	caltime_bucket_of_day(&sun, PERIOD_WEEK, D_0308 + 3, &b);
	cr_assert_eq(b.start_day, D_0308);
	pacing_worktime(&office, NULL, z, &b, west(D_0308 + 1, 12, 0, 4), &wt);
	cr_assert_eq(wt.total_ms, 2400 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 180 * MIN_MS);

	/* The Monday week Mar 2..8 ends with the jump: Friday 17:00 EST
	 * (22:00Z) has all 2400 minutes gone. */
	caltime_bucket_of_day(&mon, PERIOD_WEEK, D_0308, &b);
	cr_assert_eq(b.start_day, D_0308 - 6);
	pacing_worktime(&office, NULL, z, &b, west(D_0308 - 2, 17, 0, 5), &wt);
	cr_assert_eq(wt.total_ms, 2400 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 2400 * MIN_MS);

	/*
	 * Hours around the clock: the jump lies inside them. The week holds
	 * 7 * 1440 - 60 = 10020 real minutes. At 03:30 EDT (07:30Z) on the
	 * Sunday, midnight EST was 05:00Z: 150 minutes real, not the 210 the
	 * wall clock suggests.
	 */
	caltime_bucket_of_day(&sun, PERIOD_WEEK, D_0308, &b);
	pacing_worktime(&allday, NULL, z, &b, west(D_0308, 3, 30, 4), &wt);
	cr_assert_eq(wt.total_ms, 10020 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 150 * MIN_MS);
	cr_assert_eq(wt.days_period, 7);
	tzone_free(z);
}

Test(worktime, dst_end_keeps_working_minutes)
{
	struct tzone		*z = ny();
	struct period_rules	 sun = { 6, 1 };	/* Sunday weeks */
	struct pacing_calendar	 allday = {
		.working_days = ALLWEEK, .work_start_min = 0,
		.work_end_min = 1440,
	};
	struct bucket		 b;
	struct pacing_worktime	 wt;

	/*
	 * Sun Nov 1 .. Sat Nov 7, back to EST at 02:00 on the Sunday.
	 * Mon-Fri: 5 * 480 = 2400 minutes; Monday 12:00 EST (17:00Z): 180.
	 */
	caltime_bucket_of_day(&sun, PERIOD_WEEK, D_1101 + 4, &b);
	cr_assert_eq(b.start_day, D_1101);
	pacing_worktime(&office, NULL, z, &b, west(D_1101 + 1, 12, 0, 5), &wt);
	cr_assert_eq(wt.total_ms, 2400 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 180 * MIN_MS);

	/*
	 * Around the clock: 7 * 1440 + 60 = 10140 minutes. Midnight EDT
	 * was 04:00Z. 01:30 EDT (05:30Z, first pass) is 90 minutes in;
	 * 01:30 EST (06:30Z, second pass) is 150, so the repeated hour
	 * keeps counting instead of going back.
	 */
	pacing_worktime(&allday, NULL, z, &b, west(D_1101, 1, 30, 4), &wt);
	cr_assert_eq(wt.total_ms, 10140 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 90 * MIN_MS);
	pacing_worktime(&allday, NULL, z, &b, west(D_1101, 1, 30, 5), &wt);
	cr_assert_eq(wt.elapsed_ms, 150 * MIN_MS);
	/* Monday 00:00 EST (05:00Z): the whole 25-hour Sunday. */
	pacing_worktime(&allday, NULL, z, &b, west(D_1101 + 1, 0, 0, 5), &wt);
	cr_assert_eq(wt.elapsed_ms, 1500 * MIN_MS);
	tzone_free(z);
}

Test(worktime, fiscal_quarter_from_february)
{
	struct tzone		*z = ny();
	struct period_rules	 r = { 0, 2 };	/* FY from February */
	/*
	 * 2027-01-01 = 20454 + 365 = 20819 (a Friday), outside the quarter;
	 * Good Friday 2027-03-26 = 20878 + 25 = 20903; 2027-04-03 = 20911 is
	 * a Saturday and changes nothing.
	 */
	int32_t			 hol[] = { 20819, 20903, 20911 };
	struct pacing_calendar	 cal = office;
	struct bucket		 b;
	struct pacing_worktime	 wt;

	cal.holidays = hol;
	cal.nholidays = 3;

	/*
	 * Fiscal Q1 is Feb-Apr 2027: Feb 1 = 20819 + 31 = 20850 (a Monday)
	 * to May 1 = 20850 + 28 + 31 + 30 = 20939.
	 */
	caltime_bucket_of_day(&r, PERIOD_QUARTER, 20903, &b);
	cr_assert_eq(b.start_day, 20850);
	cr_assert_eq(b.end_day, 20939);

	/*
	 * Working days by hand: February (28 days from a Monday) = 4 weeks
	 * = 20; March 1 is a Monday, 31 days = 4 weeks + Mon-Wed = 23;
	 * April 1 is a Thursday, 30 days = 4 weeks + Thu-Fri = 22; 65 in
	 * all, less Good Friday = 64 days = 64 * 480 = 30720 minutes. The
	 * DST jump (Sunday Mar 14) falls outside the hours.
	 */
	pacing_worktime(&cal, NULL, z, &b, west(20878, 9, 0, 5), &wt);
	cr_assert_eq(wt.days_period, 64);
	cr_assert_eq(wt.total_ms, 30720 * MIN_MS);
	/* Monday Mar 1 09:00 EST: February's 20 days = 9600 minutes;
	 * 9600 / 30720 = 0.3125. */
	cr_assert_eq(wt.elapsed_ms, 9600 * MIN_MS);
	cr_assert_eq(pacing_worktime_fraction(&wt), 0.3125);

	/*
	 * Monday Apr 5 (20909 + 4) 09:00 EDT (13:00Z): February 20 + March
	 * 22 (23 less Good Friday) + Apr 1-2 = 44 days = 21120 minutes;
	 * 20 days = 9600 minutes remain.
	 */
	pacing_worktime(&cal, NULL, z, &b, west(20913, 9, 0, 4), &wt);
	cr_assert_eq(wt.elapsed_ms, 21120 * MIN_MS);
	cr_assert_eq(pacing_worktime_days_remaining(&wt), 20.0);
	tzone_free(z);
}

Test(worktime, ooo_days_leave_the_rep_period)
{
	struct tzone		*z = ny();
	struct bucket		 wk = mkbucket(PERIOD_WEEK, D_1123, D_1123 + 7);
	int32_t			 days[] = { D_1125 };
	struct pacing_absence	 ooo = { days, 1 };
	struct pacing_worktime	 wt;

	/*
	 * Out on Wednesday: 4 days, 1920 minutes. Wednesday 12:00 EST
	 * counts nothing of Wednesday: Mon + Tue = 960 minutes.
	 */
	pacing_worktime(&office, &ooo, z, &wk, west(D_1125, 12, 0, 5), &wt);
	cr_assert_eq(wt.days_period, 5);
	cr_assert_eq(wt.days_present, 4);
	cr_assert_eq(wt.total_ms, 1920 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 960 * MIN_MS);

	/* The same through the team figure plus the rep's days. */
	pacing_worktime(&office, NULL, z, &wk, west(D_1125, 12, 0, 5), &wt);
	cr_assert_eq(wt.elapsed_ms, 1140 * MIN_MS);
	pacing_worktime_apply_ooo(&wt, &office, &ooo, z, &wk,
	    west(D_1125, 12, 0, 5));
	cr_assert_eq(wt.days_present, 4);
	cr_assert_eq(wt.total_ms, 1920 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 960 * MIN_MS);
	tzone_free(z);
}

Test(target, layers_and_ramp)
{
	/* 2025-12-01 = 20454 - 31 = 20423; Feb 1 = 20454 + 31 = 20485;
	 * Mar 1 = 20485 + 28 = 20513; Apr 1 = 20513 + 31 = 20544;
	 * Feb 10 = 20485 + 9 = 20494. */
	struct pacing_targets		role = {
		.set = { [PERIOD_DAY] = true, [PERIOD_MONTH] = true },
		.value = { [PERIOD_DAY] = 1, [PERIOD_MONTH] = 20 },
	};
	struct pacing_schedule_entry	ramp[] = {
		{ 20454, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 5 } } },
		{ 20485, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 10 } } },
		{ 20513, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 15 } } },
		{ 20544, { .set = { false } } },	/* back to the role */
	};
	struct pacing_target_source	src = {
		.role = &role,
		.rep_schedule = { ramp, 4 },
	};
	double				v;

	/* Before the first entry: the role's 20. */
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20423, &v), 0);
	cr_assert_eq(v, 20);
	/* 5 -> 10 -> 15 over the first three months, then 20 again. */
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20454, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20485, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20513, &v), 0);
	cr_assert_eq(v, 15);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20544, &v), 0);
	cr_assert_eq(v, 20);
	/* The ramp sets months only; days fall through to the role. */
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_DAY, 20490, &v), 0);
	cr_assert_eq(v, 1);
	/* Nobody sets a week target. */
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_WEEK, 20490, &v), -1);

	/* An entry dated mid-month waits for the next bucket: the bucket
	 * starting Feb 1 still sees January's 5. */
	ramp[1].from_day = 20494;
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20485, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20513, &v), 0);
	cr_assert_eq(v, 15);
}

Test(target, seasons_and_overrides)
{
	/* 2026-10-01 = 20758 - 31 = 20727; Nov 1 = 20758; Dec 1 = 20788;
	 * 2027-01-01 = 20819. */
	struct pacing_targets		role = {
		.set = { [PERIOD_MONTH] = true },
		.value = { [PERIOD_MONTH] = 20 },
	};
	struct pacing_schedule_entry	season[] = {
		{ 20758, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 30 } } },
		{ 20788, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 25 } } },
		{ 20819, { .set = { false } } },
	};
	struct pacing_targets		over = {
		.set = { [PERIOD_MONTH] = true },
		.value = { [PERIOD_MONTH] = 12 },
	};
	struct pacing_schedule_entry	mine[] = {
		{ 20788, { .set = { [PERIOD_MONTH] = true },
		    .value = { [PERIOD_MONTH] = 8 } } },
	};
	struct pacing_target_source	src = {
		.role = &role,
		.role_schedule = { season, 3 },
	};
	double				v;

	/* Role: 20 in October, the season's 30 and 25, 20 in January. */
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20727, &v), 0);
	cr_assert_eq(v, 20);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20758, &v), 0);
	cr_assert_eq(v, 30);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20788, &v), 0);
	cr_assert_eq(v, 25);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20819, &v), 0);
	cr_assert_eq(v, 20);

	/* The rep's override replaces the role and its season: 12. */
	src.rep = &over;
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20758, &v), 0);
	cr_assert_eq(v, 12);
	/* A rep schedule entry in force beats the override: 8 from Dec. */
	src.rep_schedule.entries = mine;
	src.rep_schedule.nentries = 1;
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20758, &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20788, &v), 0);
	cr_assert_eq(v, 8);

	/* No layer at all. */
	memset(&src, 0, sizeof(src));
	cr_assert_eq(pacing_target_resolve(&src, PERIOD_MONTH, 20788, &v), -1);
}

Test(target, prorated_for_ooo)
{
	struct tzone			*z = ny();
	struct bucket			 wk = mkbucket(PERIOD_WEEK, D_1123,
					    D_1123 + 7);
	struct pacing_targets		 role = {
		.set = { [PERIOD_WEEK] = true },
		.value = { [PERIOD_WEEK] = 250 },
	};
	struct pacing_target_source	 src = { .role = &role };
	int32_t				 days[] = { D_1123, D_1127 };
	struct pacing_absence		 ooo = { days, 2 };
	int32_t				 hol[] = { D_1126 };
	int32_t				 days2[] = { D_1123, D_1126, D_1128 };
	struct pacing_absence		 ooo2 = { days2, 3 };
	struct pacing_calendar		 cal = office;
	struct pacing_worktime		 wt;
	struct pacing_figures		 f;
	double				 t;
	int32_t				 period, present;

	/*
	 * Out Monday and Friday: 3 of 5 days, 250 * 3 / 5 = 150. Wednesday
	 * 12:00 EST: the rep's period is Tue-Thu = 1440 minutes, of which
	 * Tue 480 + Wed 180 = 660 are gone: 150 * 660 / 1440 = 68.75.
	 */
	pacing_worktime(&office, &ooo, z, &wk, west(D_1125, 12, 0, 5), &wt);
	cr_assert_eq(wt.days_period, 5);
	cr_assert_eq(wt.days_present, 3);
	cr_assert_eq(wt.total_ms, 1440 * MIN_MS);
	cr_assert_eq(wt.elapsed_ms, 660 * MIN_MS);
	cr_assert_eq(pacing_target(&src, &wk, &wt, &t), 0);
	cr_assert_float_eq(t, 150, EPS);
	pacing_evaluate(55, t, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_float_eq(f.expected_to_date, 68.75, EPS);
	/* 55 / 68.75 = 0.8: on pace, just. */
	cr_assert_float_eq(f.pace, 0.8, EPS);
	/* 780 minutes = 1.625 days left for 95 more: 95 / 1.625. */
	cr_assert_float_eq(f.required_rate, 95 / 1.625, EPS);

	/*
	 * With Thanksgiving off for all, the week has 4 days. Out Monday,
	 * on the holiday and on Saturday: only Monday is a day lost, so
	 * 250 * 3 / 4 = 187.5.
	 */
	cal.holidays = hol;
	cal.nholidays = 1;
	pacing_working_days(&cal, &ooo2, &wk, &period, &present);
	cr_assert_eq(period, 4);
	cr_assert_eq(present, 3);
	pacing_worktime(&cal, &ooo2, z, &wk, west(D_1125, 12, 0, 5), &wt);
	cr_assert_eq(wt.days_present, 3);
	cr_assert_eq(pacing_target(&src, &wk, &wt, &t), 0);
	cr_assert_eq(t, 187.5);

	/* Proration by itself; a period without working days has none. */
	cr_assert_eq(pacing_target_prorate(250, 5, 5), 250);
	cr_assert_eq(pacing_target_prorate(250, 5, 3), 150);
	cr_assert_eq(pacing_target_prorate(250, 5, 0), 0);
	cr_assert_eq(pacing_target_prorate(250, 0, 0), 0);
	tzone_free(z);
}

Test(pace, mid_week_rates)
{
	struct tzone		*z = ny();
	struct bucket		 wk = mkbucket(PERIOD_WEEK, D_1123, D_1123 + 7);
	struct pacing_worktime	 wt;
	struct pacing_figures	 f;

	/*
	 * Wednesday 12:00 EST: 1140 of 2400 minutes, fraction 0.475.
	 * Target 250, actual 95: expected 250 * 0.475 = 118.75; pace
	 * 95 / 118.75 = 0.8; projected 95 / 0.475 = 200; 1260 minutes left
	 * = 2.625 days, so (250 - 95) / 2.625 = 59.047619... a day.
	 */
	pacing_worktime(&office, NULL, z, &wk, west(D_1125, 12, 0, 5), &wt);
	pacing_evaluate(95, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_float_eq(f.fraction, 0.475, EPS);
	cr_assert_float_eq(f.expected_to_date, 118.75, EPS);
	cr_assert(f.has_pace);
	cr_assert_float_eq(f.pace, 0.8, EPS);
	cr_assert(f.has_projected);
	cr_assert_float_eq(f.projected, 200, EPS);
	cr_assert(f.has_required_rate);
	cr_assert_float_eq(f.required_rate, 1240.0 / 21, EPS);

	/*
	 * Thursday 13:00 EST: 3 * 480 + 240 = 1680 minutes, fraction 0.7;
	 * actual 160: expected 175, pace 160 / 175 = 0.914..., projected
	 * 160 / 0.7 = 228.57..., 720 minutes = 1.5 days left, so
	 * (250 - 160) / 1.5 = 60 a day.
	 */
	pacing_worktime(&office, NULL, z, &wk, west(D_1126, 13, 0, 5), &wt);
	pacing_evaluate(160, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_float_eq(f.expected_to_date, 175, EPS);
	cr_assert_float_eq(f.pace, 160.0 / 175, EPS);
	cr_assert_float_eq(f.projected, 1600.0 / 7, EPS);
	cr_assert_float_eq(f.required_rate, 60, EPS);
	cr_assert_eq(f.status, PACING_ON_PACE);

	/* Target already reached: nothing more needed. */
	pacing_evaluate(250, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert(f.has_required_rate);
	cr_assert_eq(f.required_rate, 0);
	/* 250 / 175 = 1.43: ahead. */
	cr_assert_eq(f.status, PACING_AHEAD);
	tzone_free(z);
}

/* Half of a 5-day week gone: 1200 of 2400 minutes, 2.5 days left. */
static const struct pacing_worktime half = {
	.total_ms = 2400 * MIN_MS, .elapsed_ms = 1200 * MIN_MS,
	.day_ms = 480 * MIN_MS, .days_period = 5, .days_present = 5,
};

static enum pacing_status
status_of(double actual, double target, enum pacing_direction dir,
    const struct pacing_worktime *wt, const struct pacing_thresholds *th)
{
	struct pacing_figures	f;

	pacing_evaluate(actual, target, dir, wt, th, &f);
	return f.status;
}

Test(pace, status_thresholds_at_the_boundaries)
{
	struct pacing_thresholds	th = { 1.5, 0.9, 0.6 };
	enum pacing_direction		up = PACING_HIGHER_IS_BETTER;

	/* Target 100, expected 100 * 0.5 = 50: pace = actual / 50. */
	cr_assert_eq(status_of(55, 100, up, &half, NULL), PACING_AHEAD);
	cr_assert_eq(status_of(54.5, 100, up, &half, NULL), PACING_ON_PACE);
	cr_assert_eq(status_of(50, 100, up, &half, NULL), PACING_ON_PACE);
	cr_assert_eq(status_of(40, 100, up, &half, NULL), PACING_ON_PACE);
	cr_assert_eq(status_of(39.5, 100, up, &half, NULL), PACING_BEHIND);
	cr_assert_eq(status_of(25, 100, up, &half, NULL), PACING_BEHIND);
	cr_assert_eq(status_of(24.5, 100, up, &half, NULL), PACING_CRITICAL);
	cr_assert_eq(status_of(0, 100, up, &half, NULL), PACING_CRITICAL);

	/* Thresholds 1.5 / 0.9 / 0.6: 75, 45 and 30 are the edges. */
	cr_assert_eq(status_of(75, 100, up, &half, &th), PACING_AHEAD);
	cr_assert_eq(status_of(74.5, 100, up, &half, &th), PACING_ON_PACE);
	cr_assert_eq(status_of(45, 100, up, &half, &th), PACING_ON_PACE);
	cr_assert_eq(status_of(44.5, 100, up, &half, &th), PACING_BEHIND);
	cr_assert_eq(status_of(30, 100, up, &half, &th), PACING_BEHIND);
	cr_assert_eq(status_of(29.5, 100, up, &half, &th), PACING_CRITICAL);
}

Test(pace, lower_is_better)
{
	enum pacing_direction	 down = PACING_LOWER_IS_BETTER;
	struct pacing_worktime	 late = half;
	struct pacing_figures	 f;

	/*
	 * A cap of 10 no-shows a week, half gone: 5 may be used by now,
	 * 2.5 days left. Nothing used: the best pace there is, ahead,
	 * projected 0, budget 10 / 2.5 = 4 a day.
	 */
	pacing_evaluate(0, 10, down, &half, NULL, &f);
	cr_assert_float_eq(f.expected_to_date, 5, EPS);
	cr_assert(f.has_pace);
	cr_assert_eq(f.pace, PACING_PACE_CAP);
	cr_assert_eq(f.status, PACING_AHEAD);
	cr_assert_eq(f.projected, 0);
	cr_assert_float_eq(f.required_rate, 4, EPS);

	/* 2 used: 5 / 2 = 2.5, capped at 2. */
	pacing_evaluate(2, 10, down, &half, NULL, &f);
	cr_assert_eq(f.pace, PACING_PACE_CAP);

	/* 4 used: 5 / 4 = 1.25 ahead; projected 4 / 0.5 = 8; budget
	 * (10 - 4) / 2.5 = 2.4 a day. */
	pacing_evaluate(4, 10, down, &half, NULL, &f);
	cr_assert_float_eq(f.pace, 1.25, EPS);
	cr_assert_eq(f.status, PACING_AHEAD);
	cr_assert_float_eq(f.projected, 8, EPS);
	cr_assert_float_eq(f.required_rate, 2.4, EPS);

	/* 5 used: 5 / 5 = 1, on pace; projected 10, budget 2 a day. */
	pacing_evaluate(5, 10, down, &half, NULL, &f);
	cr_assert_float_eq(f.pace, 1, EPS);
	cr_assert_eq(f.status, PACING_ON_PACE);
	cr_assert_float_eq(f.projected, 10, EPS);
	cr_assert_float_eq(f.required_rate, 2, EPS);

	/* 8 used: 5 / 8 = 0.625, behind; budget (10 - 8) / 2.5 = 0.8. */
	pacing_evaluate(8, 10, down, &half, NULL, &f);
	cr_assert_float_eq(f.pace, 0.625, EPS);
	cr_assert_eq(f.status, PACING_BEHIND);
	cr_assert_float_eq(f.required_rate, 0.8, EPS);

	/* 10 used: 0.5, behind, no budget left. */
	pacing_evaluate(10, 10, down, &half, NULL, &f);
	cr_assert_eq(f.status, PACING_BEHIND);
	cr_assert(f.has_required_rate);
	cr_assert_eq(f.required_rate, 0);

	/*
	 * 2280 of 2400 minutes gone (0.95): 9.5 allowed; 10.5 used would
	 * read 9.5 / 10.5 = 0.905, on pace, but the cap is broken:
	 * critical.
	 */
	late.elapsed_ms = 2280 * MIN_MS;
	pacing_evaluate(10.5, 10, down, &late, NULL, &f);
	cr_assert_float_eq(f.pace, 9.5 / 10.5, EPS);
	cr_assert_eq(f.status, PACING_CRITICAL);
	cr_assert_eq(f.required_rate, 0);

	/* A zero allowance: none used is as good as it gets, one is
	 * critical (pace 0 / 1 = 0). */
	pacing_evaluate(0, 0, down, &half, NULL, &f);
	cr_assert_eq(f.status, PACING_AHEAD);
	pacing_evaluate(1, 0, down, &half, NULL, &f);
	cr_assert_eq(f.pace, 0);
	cr_assert_eq(f.status, PACING_CRITICAL);
}

Test(pace, not_started_before_the_first_working_minute)
{
	struct tzone		*z = ny();
	struct bucket		 wk = mkbucket(PERIOD_WEEK, D_1123, D_1123 + 7);
	struct pacing_worktime	 wt;
	struct pacing_figures	 f;

	/*
	 * Monday 08:00 EST (13:00Z): nothing gone, 2400 minutes = 5 days
	 * left. Target 250: expected 0, pace and projection null, 250 / 5
	 * = 50 a day needed.
	 */
	pacing_worktime(&office, NULL, z, &wk, west(D_1123, 8, 0, 5), &wt);
	cr_assert_eq(wt.elapsed_ms, 0);
	pacing_evaluate(0, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_eq(f.status, PACING_NOT_STARTED);
	cr_assert_eq(f.expected_to_date, 0);
	cr_assert(!f.has_pace);
	cr_assert(!f.has_projected);
	cr_assert(f.has_required_rate);
	cr_assert_float_eq(f.required_rate, 50, EPS);

	/* An early call at 07:30 changes nothing but the need: 249 / 5. */
	pacing_evaluate(1, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_eq(f.status, PACING_NOT_STARTED);
	cr_assert(!f.has_pace);
	cr_assert_float_eq(f.required_rate, 49.8, EPS);

	/* A lower-is-better KPI has not started either. */
	pacing_evaluate(0, 10, PACING_LOWER_IS_BETTER, &wt, NULL, &f);
	cr_assert_eq(f.status, PACING_NOT_STARTED);
	cr_assert(!f.has_pace);
	tzone_free(z);
}

Test(pace, period_over_and_empty_periods)
{
	struct tzone			*z = ny();
	struct bucket			 wk = mkbucket(PERIOD_WEEK, D_1123,
					    D_1123 + 7);
	struct bucket			 sat = mkbucket(PERIOD_DAY, D_1128,
					    D_1128 + 1);
	struct pacing_targets		 role = {
		.set = { [PERIOD_DAY] = true },
		.value = { [PERIOD_DAY] = 50 },
	};
	struct pacing_target_source	 src = { .role = &role };
	struct pacing_worktime		 wt;
	struct pacing_figures		 f;
	double				 t;

	/*
	 * Saturday 23:00 EST: the week's 2400 minutes are all gone. 200 of
	 * 250: projected = actual = 200, pace 200 / 250 = 0.8, and no time
	 * is left to need a rate in.
	 */
	pacing_worktime(&office, NULL, z, &wk, west(D_1128, 23, 0, 5), &wt);
	pacing_evaluate(200, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_eq(f.fraction, 1);
	cr_assert_eq(f.expected_to_date, 250);
	cr_assert_eq(f.projected, 200);
	cr_assert_float_eq(f.pace, 0.8, EPS);
	cr_assert(!f.has_required_rate);
	/* 260 of 250: reached, 0 needed. */
	pacing_evaluate(260, 250, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert(f.has_required_rate);
	cr_assert_eq(f.required_rate, 0);

	/*
	 * The day bucket of a Saturday has no working day: target 50 * 0
	 * / 0 reads 0, nothing has started and nothing is needed.
	 */
	pacing_worktime(&office, NULL, z, &sat, west(D_1128, 15, 0, 5), &wt);
	cr_assert_eq(wt.days_period, 0);
	cr_assert_eq(wt.total_ms, 0);
	cr_assert_eq(pacing_target(&src, &sat, &wt, &t), 0);
	cr_assert_eq(t, 0);
	pacing_evaluate(3, t, PACING_HIGHER_IS_BETTER, &wt, NULL, &f);
	cr_assert_eq(f.status, PACING_NOT_STARTED);
	cr_assert(!f.has_pace);
	cr_assert(!f.has_projected);
	cr_assert_eq(f.required_rate, 0);

	/* A zero target with time gone by cannot be missed. */
	pacing_evaluate(0, 0, PACING_HIGHER_IS_BETTER, &half, NULL, &f);
	cr_assert_eq(f.status, PACING_ON_PACE);
	cr_assert(!f.has_pace);
	/* Nonsense in reads as 0. */
	pacing_evaluate(-5, 100, PACING_HIGHER_IS_BETTER, &half, NULL, &f);
	cr_assert_eq(f.actual, 0);
	cr_assert_eq(f.status, PACING_CRITICAL);
	tzone_free(z);
}
