#include "backoff.h"

#include <criterion/criterion.h>

#include "caltime.h"
#include "hash.h"

Test(backoff, doubles_up_to_the_cap_and_resets)
{
	struct backoff b;

	backoff_init(&b, 200, 1000);
	cr_assert_eq(backoff_next(&b), 200);
	cr_assert_eq(backoff_next(&b), 400);
	cr_assert_eq(backoff_next(&b), 800);
	cr_assert_eq(backoff_next(&b), 1000);
	cr_assert_eq(backoff_next(&b), 1000);
	backoff_reset(&b);
	cr_assert_eq(backoff_next(&b), 200);
}

Test(backoff, max_below_min_is_min)
{
	struct backoff b;

	backoff_init(&b, 500, 100);
	cr_assert_eq(backoff_next(&b), 500);
	cr_assert_eq(backoff_next(&b), 500);
}

Test(floor_div, rounds_toward_minus_infinity)
{
	cr_assert_eq(caltime_floor_div(7, 2), 3);
	cr_assert_eq(caltime_floor_div(-7, 2), -4);
	cr_assert_eq(caltime_floor_div(-8, 2), -4);
	cr_assert_eq(caltime_floor_div(0, 60000), 0);
	cr_assert_eq(caltime_floor_div(-1, 86400000), -1);
	cr_assert_eq(caltime_floor_div(7, -2), -4);
}

/* The published FNV-1a 64 test vectors: alert ids depend on them. */
Test(hash, fnv1a_known_values)
{
	cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "", 0), 0xcbf29ce484222325ULL);
	cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
	cr_assert_eq(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6),
	    0x85944171f73967e8ULL);
	cr_assert_eq(hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, "foo", 3), "bar", 3),
	    0x85944171f73967e8ULL);
}
