/*
 * The argument vector commands are built with: no bound on the number or
 * the size of arguments, bytes kept as given (NUL included), reuse after
 * a reset. The connection itself is covered by the integration tests.
 */

#include "redis_conn.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
expect_arg(const struct redis_argv *v, size_t i, const char *want,
    size_t wantlen)
{
	size_t len;
	const char *s = redis_argv_at(v, i, &len);

	cr_expect_eq(len, wantlen, "argument %zu: length %zu, want %zu", i,
	    len, wantlen);
	cr_expect_eq(memcmp(s, want, wantlen), 0, "argument %zu differs", i);
}

Test(redis_argv, builds_a_command)
{
	struct redis_argv *v = redis_argv_new();
	char *owned = strdup("paced:alerts:firing");

	redis_argv_str(v, "HSET");
	redis_argv_take(v, owned);
	redis_argv_fmt(v, "%d:%s", 42, "day");
	redis_argv_add(v, "a\0b", 3);
	redis_argv_str(v, "");
	cr_assert_eq(redis_argv_count(v), 5);
	expect_arg(v, 0, "HSET", 4);
	expect_arg(v, 1, "paced:alerts:firing", 19);
	expect_arg(v, 2, "42:day", 6);
	expect_arg(v, 3, "a\0b", 3);
	expect_arg(v, 4, "", 0);
	redis_argv_free(v);
}

Test(redis_argv, has_no_bound)
{
	struct redis_argv *v = redis_argv_new();
	char *big = malloc(100001);

	memset(big, 'k', 100000);
	big[100000] = '\0';
	for (int i = 0; i < 5000; i++)
		redis_argv_fmt(v, "%d", i);
	/* A formatted argument longer than any fixed buffer. */
	redis_argv_fmt(v, "%s:%s", big, big);
	redis_argv_str(v, big);
	cr_assert_eq(redis_argv_count(v), 5002);
	expect_arg(v, 0, "0", 1);
	expect_arg(v, 4999, "4999", 4);
	cr_expect_eq(strlen(redis_argv_at(v, 5000, NULL)), 200001);
	cr_expect_eq(redis_argv_at(v, 5000, NULL)[100000], ':');
	expect_arg(v, 5001, big, 100000);
	free(big);
	redis_argv_free(v);
}

Test(redis_argv, reset_empties_it_for_the_next_command)
{
	struct redis_argv *v = redis_argv_new();

	redis_argv_str(v, "HGETALL");
	redis_argv_str(v, "k1");
	redis_argv_reset(v);
	cr_expect_eq(redis_argv_count(v), 0);
	redis_argv_str(v, "DEL");
	cr_assert_eq(redis_argv_count(v), 1);
	expect_arg(v, 0, "DEL", 3);
	redis_argv_free(v);
	redis_argv_free(NULL);
}

Test(redis_argv, writes_doubles_as_printf_would)
{
	struct redis_argv *v = redis_argv_new();
	const double cases[] = { 0, -0.0, 1, 4999, 123.45, 0.1, 1e15,
	    99999999999999999.0, 1e17, 1e18, -3, 2.5e-300, 1.0 / 3 };
	size_t n = sizeof(cases) / sizeof(cases[0]);
	char want[40];

	for (size_t i = 0; i < n; i++)
		redis_argv_double(v, cases[i]);
	cr_assert_eq(redis_argv_count(v), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%.17g", cases[i]);
		expect_arg(v, i, want, strlen(want));
	}
	redis_argv_free(v);
}

Test(redis_argv, builds_an_argument_in_place)
{
	struct redis_argv *v = redis_argv_new();
	char *p;

	redis_argv_str(v, "HGET");
	p = redis_argv_begin(v, 100000);	/* more than the first buffer */
	memset(p, 'x', 100000);
	memcpy(p, "key", 3);
	redis_argv_end(v, 3);
	redis_argv_str(v, "f");
	cr_assert_eq(redis_argv_count(v), 3);
	expect_arg(v, 0, "HGET", 4);
	expect_arg(v, 1, "key", 3);
	expect_arg(v, 2, "f", 1);
	redis_argv_free(v);
}

Test(redis_argv, writes_integers_as_printf_would)
{
	struct redis_argv *v = redis_argv_new();
	const int64_t cases[] = { 0, 7, -7, 10, 1795000000000LL, -1795000000000LL,
	    INT64_MAX, INT64_MIN };
	char want[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		redis_argv_int(v, cases[i]);
	cr_assert_eq(redis_argv_count(v), sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "%" PRId64, cases[i]);
		expect_arg(v, i, want, strlen(want));
	}
	redis_argv_free(v);
}
