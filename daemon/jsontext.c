/*
 * jsontext.c: one cJSON object to one owned line of text. The copy makes
 * the text free()-able whatever allocator cJSON was built with.
 */
#include "jsontext.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

char *
jsontext_take(cJSON *o)
{
	char *p = cJSON_PrintUnformatted(o);
	char *s;

	cJSON_Delete(o);
	if (p == NULL)
		fatalx("out_of_memory", "what=json_print");
	s = xstrdup(p);
	cJSON_free(p);
	return s;
}

/*
 * A fast path for what the pace figures hold (magnitudes 1e-4..1e15):
 * the 15 significant digits as an integer, rounded in long double, kept
 * only when they read back exactly as d; anything else (and every tie a
 * long double could round otherwise) goes the way cJSON goes, printf and
 * a read back. Either way the text is cJSON's and reads back as d.
 */
static const long double pow10l_tab[] = {
	1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
	1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L,
};

static size_t
number_fast(char *buf, double d)
{
	double a = fabs(d);
	int e10, k;
	long double scaled;
	uint64_t m;
	char digits[24];
	int nd = 0, point, len = 0;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	e10 = (int)floor(log10(a));	/* off by one near a power of 10: */
	if (e10 < -4 || e10 > 14)	/* then m is out of range below */
		return 0;
	k = 14 - e10;		/* decimal places of 15 significant digits */
	if (k > 18)
		return 0;
	scaled = (long double)a * pow10l_tab[k];
	m = (uint64_t)(scaled + 0.5L);
	if (m < 100000000000000ULL || m >= 1000000000000000ULL)
		return 0;	/* log10 was off by one: leave it to printf */
	if (fabsl(scaled - (long double)m) > 0.4999L)
		return 0;	/* near a tie: the product's rounding could decide */
	if ((double)((long double)m / pow10l_tab[k]) != a)
		return 0;	/* 15 digits do not read back */
	while (k > 0 && m % 10 == 0) {
		m /= 10;
		k--;
	}
	while (m > 0 || nd == 0) {
		digits[nd++] = (char)('0' + m % 10);
		m /= 10;
	}
	if (d < 0)
		buf[len++] = '-';
	point = nd - k;		/* digits before the decimal point */
	if (point <= 0) {
		buf[len++] = '0';
		buf[len++] = '.';
		for (int i = point; i < 0; i++)
			buf[len++] = '0';
		while (nd > 0)
			buf[len++] = digits[--nd];
	} else {
		for (int i = 0; nd > 0; i++) {
			if (i == point)
				buf[len++] = '.';
			buf[len++] = digits[--nd];
		}
	}
	buf[len] = '\0';
	return (size_t)len;
}

size_t
jsontext_number(char *buf, double d)
{
	double test;
	size_t n;
	int len;

	if (isnan(d) || isinf(d)) {
		memcpy(buf, "null", 5);
		return 4;
	}
	if (d == 0 && signbit(d)) {	/* as this cJSON prints it */
		memcpy(buf, "-0", 3);
		return 2;
	}
	if (d >= -2147483648.0 && d < 2147483648.0 && d == (double)(int)d) {
		len = snprintf(buf, JSONTEXT_NUMBER_SIZE, "%d", (int)d);
		return (size_t)len;
	}
	if ((n = number_fast(buf, d)) > 0)
		return n;
	/* cJSON's own way: 15 digits, 17 when those do not read back. */
	len = snprintf(buf, JSONTEXT_NUMBER_SIZE, "%1.15g", d);
	test = strtod(buf, NULL);
	if (!(fabs(test - d) <= fmax(fabs(test), fabs(d)) * DBL_EPSILON))
		len = snprintf(buf, JSONTEXT_NUMBER_SIZE, "%1.17g", d);
	return (size_t)len;
}
