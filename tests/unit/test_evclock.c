#include "evclock.h"

#include <criterion/criterion.h>

#define MIN	60000LL

Test(evclock, first_event_starts_at_its_own_boundary)
{
	struct evclock c;
	int64_t target = -1;

	evclock_init(&c, MIN);
	cr_assert(evclock_admit(&c, 10 * MIN + 5, &target));
	cr_assert(c.started);
	cr_assert_eq(c.done, 10);
	cr_assert(evclock_admit(&c, 10 * MIN + 59999, &target), "same minute");
	cr_assert(evclock_admit(&c, 3 * MIN, &target), "late: no boundary");
	cr_assert_not(evclock_admit(&c, 13 * MIN, &target));
	cr_assert_eq(target, 13, "judge 11, 12 and 13 first");
	evclock_judged(&c, 13);
	cr_assert(evclock_admit(&c, 13 * MIN, &target));
	cr_assert_eq(evclock_at(&c, 14), 14 * MIN);
}

Test(evclock, negative_instants_round_down)
{
	struct evclock c;
	int64_t target;

	evclock_init(&c, MIN);
	cr_assert_eq(evclock_index(&c, -1), -1);
	cr_assert_eq(evclock_index(&c, -MIN), -1);
	cr_assert_eq(evclock_index(&c, -MIN - 1), -2);
	cr_assert(evclock_admit(&c, -1, &target));
	cr_assert_eq(c.done, -1);
}

Test(evclock, restart_goes_on_from_the_lowest_saved_boundary)
{
	struct evclock c;
	const int64_t saved[] = { 9, 7, 12 };
	int64_t target = -1;

	evclock_init(&c, MIN);
	evclock_restore(&c, saved, 3);
	cr_assert(c.restored);
	cr_assert_eq(c.saved, 7);
	cr_assert_not(evclock_admit(&c, 10 * MIN, &target),
	    "boundaries 8 to 10 were not judged before the restart");
	cr_assert_eq(c.done, 7);
	cr_assert_eq(target, 10);
}

/* The first event after a restart older than the boundary saved (read
 * again from a shard's watermark behind): nothing judged again. */
Test(evclock, events_older_than_the_saved_boundary_judge_nothing_again)
{
	struct evclock c;
	const int64_t saved[] = { 12 };
	int64_t target = -1;

	evclock_init(&c, MIN);
	evclock_restore(&c, saved, 1);
	cr_assert(evclock_admit(&c, 10 * MIN, &target));
	cr_assert_eq(c.done, 12);
	cr_assert(evclock_admit(&c, 11 * MIN, &target));
	cr_assert(evclock_admit(&c, 12 * MIN + 59999, &target));
	cr_assert_eq(target, -1);
	cr_assert_not(evclock_admit(&c, 13 * MIN, &target),
	    "boundary 13 was not judged before the restart");
	cr_assert_eq(target, 13);
}

Test(evclock, restore_of_nothing_forgets)
{
	struct evclock c;
	const int64_t saved[] = { 3 };
	int64_t target;

	evclock_init(&c, MIN);
	evclock_restore(&c, saved, 1);
	evclock_restore(&c, NULL, 0);
	cr_assert_not(c.restored);
	cr_assert(evclock_admit(&c, 10 * MIN, &target));
	cr_assert_eq(c.done, 10);
}
