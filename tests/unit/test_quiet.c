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

/* r2 is out of office on Tuesday 24 and Wednesday 25 November 2026. */
static const int32_t *r2_away;
static int32_t r2_days[2];

static bool
working(void *ctx, const char *team, const char *rep)
{
	(void)ctx;
	cr_assert_str_eq(team, "east");
	if (strcmp(rep, "r2") == 0 && quiet_out_of_office(r2_away, 2,
	    tzone_local_day(ny, now)))
		return false;
	return quiet_working(&cal, ny, now);
}

static void
setup(void)
{
	char err[128];

	ny = tzone_open("America/New_York", err, sizeof(err));
	cr_assert_not_null(ny, "%s", err);
	r2_days[0] = caltime_days_from_civil(2026, 11, 24);
	r2_days[1] = caltime_days_from_civil(2026, 11, 25);
	r2_away = r2_days;
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
	quiet_hold(q, "A", "east", "r1", true, NULL, strdup("A fired"));
	quiet_hold(q, "B", "east", "r1", true, NULL, strdup("B fired"));
	quiet_hold(q, "A", "east", "r1", false, NULL, strdup("A resolved"));
	cr_assert_eq(freed, 2, "A's firing and resolution are gone");
	quiet_hold(q, "C", "east", "r1", false, NULL, strdup("C period_ended"));
	quiet_hold(q, "B", "east", "r1", true, NULL, strdup("B repeat"));
	cr_assert_eq(freed, 3);
	quiet_hold(q, "W", "east", "r1", true, NULL, strdup("W fired"));
	quiet_hold(q, "K", "east", "r1", true, "W", strdup("K escalated"));
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
	quiet_hold(q, "A", "east", "r1", true, NULL, strdup("A"));
	quiet_hold(q, "B", "east", "r1", false, NULL, strdup("B"));
	quiet_free(q);
	cr_assert_eq(freed, 2);
}

Test(quiet, out_of_office_days)
{
	int32_t d[] = { 10, 12, 13, 40 };

	cr_assert_not(quiet_out_of_office(NULL, 0, 10));
	cr_assert(quiet_out_of_office(d, 4, 10));
	cr_assert_not(quiet_out_of_office(d, 4, 11));
	cr_assert(quiet_out_of_office(d, 4, 13));
	cr_assert(quiet_out_of_office(d, 4, 40));
	cr_assert_not(quiet_out_of_office(d, 4, 41));
	cr_assert_not(quiet_out_of_office(d, 4, 9));
}

/*
 * Hand-checked timeline, America/New_York, 09:00-17:00 Mon-Fri; r2 away
 * on Tue 24 and Wed 25 Nov 2026:
 *   Mon 23 15:00  r1's alert A and r2's alert B fire: sent (at work);
 *                 the caller holds nothing.
 *   Mon 23 20:00  A repeats, B repeats: held (night).
 *   Tue 24 09:00  A goes out; B stays (r2 away).
 *   Wed 25 12:00  B still held.
 *   Thu 26 11:00  B still held: r2 is back, but it is a holiday.
 *   Fri 27 09:00  B goes out, the first working minute with r2 back.
 */
Test(quiet, a_rep_out_of_office_is_held_until_back)
{
	struct quiet *q = quiet_new(free_item);
	void **out;
	size_t n;

	freed = 0;
	quiet_hold(q, "A", "east", "r1", true, NULL, strdup("A repeat"));
	quiet_hold(q, "B", "east", "r2", true, NULL, strdup("B repeat"));
	now = at(24, 8, 59);
	cr_assert_eq(quiet_release(q, working, NULL, &out), 0);
	now = at(24, 9, 0);
	n = quiet_release(q, working, NULL, &out);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(out[0], "A repeat");
	free(out[0]);
	free(out);
	cr_assert(quiet_holds(q, "B"));
	now = at(25, 12, 0);
	cr_assert_eq(quiet_release(q, working, NULL, &out), 0);
	now = at(26, 11, 0);
	cr_assert_eq(quiet_release(q, working, NULL, &out), 0);
	now = at(27, 8, 59);
	cr_assert_eq(quiet_release(q, working, NULL, &out), 0);
	now = at(27, 9, 0);
	n = quiet_release(q, working, NULL, &out);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(out[0], "B repeat");
	free(out[0]);
	free(out);
	cr_assert_eq(quiet_count(q), 0);
	cr_assert_eq(freed, 0);
	quiet_free(q);
}

/* A message read back after a restart is the earliest of its alert: a
 * later one held meanwhile wins, and the resolution of a restored firing
 * drops both. */
Test(quiet, restored_messages_are_the_earliest)
{
	struct quiet *q = quiet_new(free_item);

	freed = 0;
	quiet_hold(q, "A", "east", "r1", true, NULL, strdup("A repeat"));
	cr_assert_not(quiet_hold_earlier(q, "A", "east", "r1", true,
	    strdup("A fired, before the restart")));
	cr_assert_eq(freed, 1);
	cr_assert(quiet_hold_earlier(q, "B", "east", "r1", true,
	    strdup("B fired, before the restart")));
	quiet_hold(q, "B", "east", "r1", false, NULL, strdup("B recovered"));
	cr_assert_eq(freed, 3);
	cr_assert_not(quiet_holds(q, "B"));
	cr_assert(quiet_holds(q, "A"));
	cr_assert_eq(quiet_count(q), 1);
	quiet_free(q);
	cr_assert_eq(freed, 4);
}
