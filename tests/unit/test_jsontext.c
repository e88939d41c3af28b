/*
 * jsontext_number against cJSON's own number printing, which the pace
 * figures used to go through: the same text for integers, ratios,
 * magnitudes from 1e-9 to 1e20, near ties and the special values, and
 * text that reads back as the number. Pure.
 */

#include "jsontext.h"

#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's text for d, as a JSON value on its own. */
static char *
cjson_text(double d)
{
	cJSON *o = cJSON_CreateNumber(d);
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

static void
same_as_cjson(double d)
{
	char buf[JSONTEXT_NUMBER_SIZE];
	size_t n = jsontext_number(buf, d);
	char *want = cjson_text(d);

	cr_assert_str_eq(buf, want, "d=%.17g", d);
	cr_assert_eq(n, strlen(want), "d=%.17g", d);
	if (isfinite(d)) {
		double back = strtod(buf, NULL);

		cr_assert(fabs(back - d) <= fmax(fabs(back), fabs(d)) * DBL_EPSILON,
		    "d=%.17g text=%s", d, buf);
	}
	cJSON_free(want);
}

/* A deterministic generator (no libc rand: same numbers everywhere). */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(jsontext, specials_and_integers)
{
	static const double v[] = {
		0.0, -0.0, 1, -1, 42, 2147483647.0, -2147483648.0, 2147483648.0,
		-2147483649.0, 3e9, 1e15, 1e16, 123456789012345678.0, 1e300,
		0.5, -0.5, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 0.0001, 0.00009999,
		0.000123456789, 999999999999999.9, 99999999999999.99, 1e-5, 1e-9,
		5e-324, DBL_MAX, -DBL_MAX, 1.5, 2.675, 1.005, 0.045, 100.125,
		NAN, INFINITY, -INFINITY,
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		same_as_cjson(v[i]);
}

Test(jsontext, ratios_like_pace_figures)
{
	/* pace, expected_to_date, projected, required_rate: quotients of
	 * counts and targets, working minutes and shares. */
	for (int a = 0; a <= 400; a++)
		for (int b = 1; b <= 120; b++) {
			same_as_cjson((double)a / b);
			same_as_cjson((double)a * 50.0 / (b * 7.0));
		}
}

Test(jsontext, random_magnitudes)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 200000; i++) {
		double mant = (double)(next(&s) >> 11) / 9007199254740992.0;
		int ex = (int)(next(&s) % 30) - 10;
		double d = mant * pow(10, ex);

		same_as_cjson(next(&s) & 1 ? -d : d);
	}
}

Test(jsontext, near_ties_of_the_fifteenth_digit)
{
	/* d.ddddddddddddd5 at several magnitudes, and their neighbours. */
	uint64_t s = 12345;

	for (int i = 0; i < 20000; i++) {
		uint64_t m = 100000000000000ULL + next(&s) % 900000000000000ULL;
		int ex = (int)(next(&s) % 19) - 18;
		double d = ((double)m + 0.5) * pow(10, ex);

		same_as_cjson(d);
		same_as_cjson(nextafter(d, 0));
		same_as_cjson(nextafter(d, INFINITY));
	}
}

Test(jsontext, exact_ties_and_random_doubles)
{
	/* Exact ties of the fifteenth digit (printf rounds them to even),
	 * the rounding that carries to the next power of 10, and doubles of
	 * random bits across the fast path's range and its edges. */
	static const double v[] = {
		1234567890123.125, 1234567890123.375, 1234567890123.625,
		9999999999999.995, 999999999999999.5, 99999999999999.95,
		0.00099999999999999995, 0.000999999999999999, 9.9999999999999995,
		1e-4, 1e15, 0.0001000000000000001, 999999999999999.875,
	};
	uint64_t s = 0x2545f4914f6cdd1dULL;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		same_as_cjson(v[i]);
		same_as_cjson(nextafter(v[i], 0));
		same_as_cjson(nextafter(v[i], INFINITY));
	}
	for (int i = 0; i < 300000; i++) {
		/* exponents of 2^-16 .. 2^53: 1.5e-5 .. 1.8e16 */
		uint64_t bits = (next(&s) & ((1ULL << 52) - 1)) |
		    ((uint64_t)(1023 - 16 + next(&s) % 70) << 52);
		double d;

		memcpy(&d, &bits, sizeof(d));
		same_as_cjson(next(&s) & 1 ? -d : d);
	}
}

Test(jsontext, strtod_as_libc)
{
	static const char *const v[] = {
		"0", "-0", "7", "-7", "0012", "123456789012345",
		"-123456789012345", "1234567890123456", "99999999999999999999",
		"12.5", "1e3", " 12", "+12", "12 ", "", "-", "abc", "0x10",
		"3.0000000000000004", "inf", "-nan", "18446744073709551616",
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		double a = jsontext_strtod(v[i]), b = strtod(v[i], NULL);

		cr_assert(memcmp(&a, &b, sizeof(a)) == 0 ||
		    (isnan(a) && isnan(b)), "%s: %.17g against %.17g", v[i], a, b);
	}
}

/* jsontext_number_exact: the text reads back as d, bit for bit, and has
 * at most 17 significant digits (as %.17g's). */
static void
reads_back(double d)
{
	char buf[JSONTEXT_NUMBER_SIZE], ref[40];
	size_t n = jsontext_number_exact(buf, d);
	double back = strtod(buf, NULL);

	cr_assert_eq(n, strlen(buf), "d=%.17g", d);
	if (isnan(d)) {
		cr_assert(isnan(back), "d=nan text=%s", buf);
		return;
	}
	cr_assert(memcmp(&back, &d, sizeof(d)) == 0, "d=%.17g text=%s", d, buf);
	snprintf(ref, sizeof(ref), "%.17g", d);
	cr_assert_leq(n, strlen(ref), "d=%.17g text=%s", d, buf);
}

Test(jsontext, exact_numbers_read_back)
{
	static const double v[] = {
		0, -0.0, 1, -1, 7, 1e15 - 1, -(1e15 - 1), 1e15, 2e15, 0.1, 0.3,
		1.0 / 3, 2.0 / 3, 1e-4, 9.9999999999999995e-5, 1e-300, 5e-324,
		DBL_MAX, -DBL_MAX, 123456.78901234567, 999999999999999.875,
		9999999999999.995, 0.00099999999999999995, INFINITY, -INFINITY,
		NAN,
	};
	uint64_t s = 0x853c49e6748fea9bULL;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		reads_back(v[i]);
		if (isfinite(v[i])) {
			reads_back(nextafter(v[i], 0));
			reads_back(nextafter(v[i], INFINITY));
		}
	}
	{
		/* -0 keeps its sign; 0.1 is written short, not %.17g's
		 * 0.10000000000000001 */
		char buf[JSONTEXT_NUMBER_SIZE];

		jsontext_number_exact(buf, -0.0);
		cr_assert_str_eq(buf, "-0");
		jsontext_number_exact(buf, 0.1);
		cr_assert_str_eq(buf, "0.1");
		jsontext_number_exact(buf, -123456789012345.0);
		cr_assert_str_eq(buf, "-123456789012345");
	}
	for (int i = 0; i < 300000; i++) {
		/* random bits over every exponent, and ratios as figures are */
		uint64_t bits = next(&s);
		double d, r = (double)(next(&s) % 100000) / (double)(1 + next(&s) % 997);

		memcpy(&d, &bits, sizeof(d));
		reads_back(d);
		reads_back(r);
		reads_back(-r * 1e-3);
	}
}

Test(jsontext, i64_as_printf)
{
	static const int64_t v[] = {
		0, 1, -1, 9, 10, -10, 1234567890123LL, INT32_MIN, INT32_MAX,
		INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	char buf[JSONTEXT_INT_SIZE], want[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = jsontext_i64(buf, v[i]);

		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		cr_assert_str_eq(buf, want);
		cr_assert_eq(n, strlen(want));
	}
}
