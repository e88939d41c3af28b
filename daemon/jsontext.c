/*
 * jsontext.c: one cJSON object to one owned line of text. The copy makes
 * the text free()-able whatever allocator cJSON was built with.
 */
#include "jsontext.h"

#include <event2/buffer.h>
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct evbuffer *
jsontext_body(const cJSON *obj)
{
	struct evbuffer *buf = evbuffer_new();
	char *p = cJSON_PrintUnformatted(obj);

	if (buf == NULL || p == NULL)
		fatalx("out_of_memory", "what=json_body");
	evbuffer_add(buf, p, strlen(p));
	evbuffer_add(buf, "\n", 1);
	cJSON_free(p);
	return buf;
}

struct evbuffer *
jsontext_error_body(const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	struct evbuffer *buf;

	if (o == NULL || cJSON_AddStringToObject(o, "error", msg) == NULL)
		fatalx("out_of_memory", "what=json_error");
	buf = jsontext_body(o);
	cJSON_Delete(o);
	return buf;
}

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
 * A fast path for what the pace figures hold (magnitudes 1e-4..1e15),
 * giving cJSON's text without printf: d's 15 (else 17) significant
 * digits as an integer, from a long double product (exact powers of 10,
 * a relative error below 1e-19, so the rounding is right away from a
 * tie). cJSON keeps the 15 digits when they read back within its
 * tolerance (one unit in the last place or so), which is decided here in
 * units of d's last place. Whatever is near a tie, a binade edge or that
 * tolerance returns 0: cJSON's own way (printf, read back) then decides.
 */
static const long double pow10l_tab[] = {
	1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
	1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
};

/* round(a * 10^k) when that has exactly `digits` digits and is not near
 * a tie; 0 otherwise. */
static uint64_t
digits_of(double a, int k, int digits, long double *exact)
{
	long double scaled = (long double)a * pow10l_tab[k];
	uint64_t m = (uint64_t)(scaled + 0.5L);
	uint64_t lo = digits == 15 ? 100000000000000ULL : 10000000000000000ULL;

	/* The product's error: below 2^-64 relative, so under 6e-5 for 15
	 * digits (scaled < 1e15) and 6e-3 for 17: margins of 6e-4 and 1e-2. */
	if (m < lo || m >= lo * 10 ||
	    fabsl(scaled - (long double)m) > (digits == 15 ? 0.4994L : 0.49L))
		return 0;
	*exact = (long double)m / pow10l_tab[k];
	return m;
}

/* Writes m / 10^k the way %g writes it (no exponent, no trailing zeros). */
static size_t
write_fixed(char *buf, bool neg, uint64_t m, int k)
{
	char digits[24];
	int nd = 0, point, len = 0;

	while (k > 0 && m % 10 == 0) {
		m /= 10;
		k--;
	}
	while (m > 0 || nd == 0) {
		digits[nd++] = (char)('0' + m % 10);
		m /= 10;
	}
	if (neg)
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

static size_t
number_fast(char *buf, double d)
{
	double a = fabs(d), frac, back;
	int e10, e2;
	long double v15, v17, ulps, off;
	uint64_t m15, m17;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	frac = frexp(a, &e2);
	if (frac < 0.5 + 1e-9 || frac > 1 - 1e-9)
		return 0;	/* a binade edge: the tolerance changes there */
	e10 = (int)floor(log10(a));	/* off by one near a power of 10: */
	if (e10 < -4 || e10 > 14)	/* then m is out of range below */
		return 0;
	if ((m15 = digits_of(a, 14 - e10, 15, &v15)) == 0)
		return 0;
	/* Where the 15 digits read back, in units of a's last place. */
	ulps = fabsl(v15 - (long double)a) / ldexpl(1.0L, e2 - 53);
	off = ulps - floorl(ulps);
	/* v15 is within 2^-64 relative of m15 / 10^k: 2^-12 of a's place */
	if (off > 0.497L && off < 0.503L)
		return 0;	/* reading back could round either way */
	/* Away from a midpoint of a's binade, the 15 digits read back as
	 * the double nearest v15: cJSON's own test, on that double. */
	back = (double)v15;
	if (fabs(back - a) <= fmax(back, a) * DBL_EPSILON)
		return write_fixed(buf, d < 0, m15, 14 - e10);
	if ((m17 = digits_of(a, 16 - e10, 17, &v17)) == 0)
		return 0;
	return write_fixed(buf, d < 0, m17, 16 - e10);
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
		/* "%d", without printf's cost */
		long long v = (long long)d;
		char tmp[16];
		size_t k = 0, o = 0;

		if (v < 0) {
			buf[o++] = '-';
			v = -v;
		}
		do {
			tmp[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		while (k > 0)
			buf[o++] = tmp[--k];
		buf[o] = '\0';
		return o;
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
