/*
 * Quiet hours (quiet.c), by hand: a New York team working Mon-Fri
 * 09:00-17:00, Thursday 2026-11-26 a holiday (Thanksgiving).
 *
 *  Mon 23 17:00 (after the hours)    quiet
 *  Mon 23 16:59                      at work
 *  Tue 24 08:59                      quiet; 09:00 at work
 *  Thu 26 11:00 (holiday)            quiet
 *  Sat 28 11:00                      quiet
 *
 * And a night, held and merged:
 *  Mon 22:00  A fires (warning)      held
 *  Mon 22:30  B fires                held
 *  Mon 23:00  A resolves             A dropped with its firing: never sent
 *  Mon 23:10  C resolves (it fired by day; period_ended at midnight)
 *                                    held
 *  Tue 01:00  B repeats              replaces B's firing, in its place
 *  Tue 02:00  W (a warning) held; then K, the critical that supersedes W:
 *                                    W dropped, K held
 *  Tue 08:59  release                nothing (quiet)
 *  Tue 09:00  release                B (the repeat), C, K in that order
 */
#include "quiet.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct tzone *ny;
static const int32_t holidays[] = { 20783 };	/* 2026-11-26 */
static const struct pacing_calendar cal = {
	.working_days = 0x1f,
	.work_start_min = 540,
	.work_end_min = 1020,
	.holidays = holidays,
	.nholidays = 1,
};
static int64_t now;

static int64_t
at(int day_of_month, int hour, int minute)
{
	int32_t day = caltime_days_from_civil(2026, 11, (unsigned)day_of_month);

	return tzone_local_to_utc(ny, day, hour * 60 + minute);
}

static bool
working(void *ctx, const char *team)
{
	(void)ctx;
	cr_assert_str_eq(team, "east");
	return quiet_working(&cal, ny, now);
}

static void
setup(void)
{
	char err[128];

	ny = tzone_open("America/New_York", err, sizeof(err));
	cr_assert_not_null(ny, "%s", err);
}

static void
teardown(void)
{
	tzone_free(ny);
}

TestSuite(quiet, .init = setup, .fini = teardown);

Test(quiet, working_time_of_a_team)
{
	cr_assert(quiet_working(&cal, ny, at(23, 16, 59)));
	cr_assert_not(quiet_working(&cal, ny, at(23, 17, 0)));
	cr_assert_not(quiet_working(&cal, ny, at(24, 8, 59)));
	cr_assert(quiet_working(&cal, ny, at(24, 9, 0)));
	cr_assert_not(quiet_working(&cal, ny, at(26, 11, 0)));
	cr_assert_not(quiet_working(&cal, ny, at(28, 11, 0)));
	cr_assert(quiet_working(&cal, ny, at(27, 11, 0)));
}

static int freed;

static void
free_item(void *p)
{
	freed++;
	free(p);
}

Test(quiet, a_night_held_and_merged)
{
	struct quiet *q = quiet_new(free_item);
	void **out;
	size_t n;

	freed = 0;
	quiet_hold(q, "A", "east", true, NULL, strdup("A fired"));
	quiet_hold(q, "B", "east", true, NULL, strdup("B fired"));
	quiet_hold(q, "A", "east", false, NULL, strdup("A resolved"));
	cr_assert_eq(freed, 2, "A's firing and resolution are gone");
	quiet_hold(q, "C", "east", false, NULL, strdup("C period_ended"));
	quiet_hold(q, "B", "east", true, NULL, strdup("B repeat"));
	cr_assert_eq(freed, 3);
	quiet_hold(q, "W", "east", true, NULL, strdup("W fired"));
	quiet_hold(q, "K", "east", true, "W", strdup("K escalated"));
	cr_assert_eq(freed, 4);
	cr_assert_eq(quiet_count(q), 3);

	now = at(24, 8, 59);
	cr_assert_eq(quiet_release(q, working, NULL, &out), 0);
	cr_assert_null(out);
	now = at(24, 9, 0);
	n = quiet_release(q, working, NULL, &out);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(out[0], "B repeat");
	cr_assert_str_eq(out[1], "C period_ended");
	cr_assert_str_eq(out[2], "K escalated");
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	free(out);
	cr_assert_eq(quiet_count(q), 0);
	quiet_free(q);
}

Test(quiet, free_releases_what_is_held)
{
	struct quiet *q = quiet_new(free_item);

	freed = 0;
	quiet_hold(q, "A", "east", true, NULL, strdup("A"));
	quiet_hold(q, "B", "east", false, NULL, strdup("B"));
	quiet_free(q);
	cr_assert_eq(freed, 2);
}
