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
 * giving cJSON's text without printf or a read back, exactly: a double
 * is m * 2^-s (m of 53 bits, s from 3 to 66 in that range), so d * 10^k
 * (k up to 20) is the integer m * 10^k (below 2^120) shifted right by s,
 * and its rounding to the nearest integer (ties to even, as printf does)
 * is exact in 128 bits. cJSON reads its 15 digits back with sscanf: q
 * (below 2^53) over 10^k (exact up to 10^22) is one correctly rounded
 * division, the double strtod gives for that text. Outside the range, or
 * where %g would write an exponent, returns 0 and cJSON's own way (printf,
 * read back) decides.
 */
__extension__ typedef unsigned __int128 u128;

static const uint64_t pow10_u64[] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

static const double pow10_dbl[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* m * 10^k (k <= 20), exact. */
static u128
times_pow10(uint64_t m, int k)
{
	u128 p = (u128)m * pow10_u64[k > 19 ? 19 : k];

	return k > 19 ? p * 10 : p;
}

/* m * 10^k / 2^s rounded to the nearest integer, ties to even. */
static uint64_t
round_scaled(uint64_t m, int k, int s)
{
	u128 p = times_pow10(m, k);
	u128 q = p >> s, r = p - (q << s), half = (u128)1 << (s - 1);

	if (r > half || (r == half && (q & 1) != 0))
		q++;
	return (uint64_t)q;
}

static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes m / 10^k the way %g writes it (no exponent, no trailing zeros). */
static size_t
write_fixed(char *buf, bool neg, uint64_t m, int k)
{
	char digits[24], *d = digits + sizeof(digits);
	int nd, point;
	size_t len = 0;

	while (k > 0 && m % 10 == 0) {
		m /= 10;
		k--;
	}
	while (m >= 100) {
		unsigned r = (unsigned)(m % 100);

		m /= 100;
		d -= 2;
		memcpy(d, digit_pairs + 2 * r, 2);
	}
	if (m >= 10) {
		d -= 2;
		memcpy(d, digit_pairs + 2 * m, 2);
	} else {
		*--d = (char)('0' + m);
	}
	nd = (int)(digits + sizeof(digits) - d);
	if (neg)
		buf[len++] = '-';
	point = nd - k;		/* digits before the decimal point */
	if (point <= 0) {
		buf[len++] = '0';
		buf[len++] = '.';
		for (int i = point; i < 0; i++)
			buf[len++] = '0';
		memcpy(buf + len, d, (size_t)nd);
		len += (size_t)nd;
	} else {
		memcpy(buf + len, d, (size_t)point);
		len += (size_t)point;
		if (nd > point) {
			buf[len++] = '.';
			memcpy(buf + len, d + point, (size_t)(nd - point));
			len += (size_t)(nd - point);
		}
	}
	buf[len] = '\0';
	return len;
}

/* exact: the text reads back as d itself (15 digits only when they do,
 * else 17, which always do); else as cJSON checks it (within an epsilon). */
static size_t
number_fast(char *buf, double d, bool exact)
{
	double a = fabs(d), back;
	uint64_t bits, m, q;
	int s, e2, e10, g, k, tries;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	memcpy(&bits, &a, sizeof(bits));
	/* a = m * 2^-s, a normal number here */
	m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
	s = 1075 - (int)(bits >> 52);
	/* a is in [2^(e2-1), 2^e2): floor(log10(a)) is about
	 * (e2 - 1) * log10(2); the integer part of a * 10^(14 - e10) says
	 * which one (15 digits, no more, no less). */
	e2 = 53 - s;
	g = (e2 - 1) * 1233;
	e10 = g >= 0 ? g / 4096 : -((-g + 4095) / 4096);
	for (tries = 0;; tries++) {
		uint64_t t;

		k = 14 - e10;
		if (k < 0 || k > 18 || tries == 3)
			return 0;
		t = (uint64_t)(times_pow10(m, k) >> s);
		if (t >= pow10_u64[15])
			e10++;
		else if (t < pow10_u64[14])
			e10--;
		else
			break;
	}
	q = round_scaled(m, k, s);
	if (q == pow10_u64[15] && e10 == 14)
		return 0;	/* %g writes 1e+15 */
	back = (double)q / pow10_dbl[k];
	if (exact ? back == a : fabs(back - a) <= fmax(back, a) * DBL_EPSILON)
		return write_fixed(buf, d < 0, q, k);
	/* 17 digits, as cJSON prints when the 15 do not read back. */
	return write_fixed(buf, d < 0, round_scaled(m, k + 2, s), k + 2);
}

size_t
jsontext_i64(char *buf, int64_t v)
{
	char tmp[24];
	size_t k = 0, o = 0;
	/* the magnitude as unsigned: INT64_MIN has no positive int64_t */
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (v < 0)
		buf[o++] = '-';
	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	while (k > 0)
		buf[o++] = tmp[--k];
	buf[o] = '\0';
	return o;
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
	if (d >= -2147483648.0 && d < 2147483648.0 && d == (double)(int)d)
		return jsontext_i64(buf, (int64_t)d);	/* "%d" */
	if ((n = number_fast(buf, d, false)) > 0)
		return n;
	/* cJSON's own way: 15 digits, 17 when those do not read back. */
	len = snprintf(buf, JSONTEXT_NUMBER_SIZE, "%1.15g", d);
	test = strtod(buf, NULL);
	if (!(fabs(test - d) <= fmax(fabs(test), fabs(d)) * DBL_EPSILON))
		len = snprintf(buf, JSONTEXT_NUMBER_SIZE, "%1.17g", d);
	return (size_t)len;
}

size_t
jsontext_number_exact(char *buf, double d)
{
	size_t n;

	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d &&
	    !(d == 0 && signbit(d)))
		return jsontext_i64(buf, (int64_t)d);
	if ((n = number_fast(buf, d, true)) > 0)
		return n;
	return (size_t)snprintf(buf, JSONTEXT_NUMBER_SIZE, "%.17g", d);
}

double
jsontext_strtod(const char *s)
{
	const char *p = s + (*s == '-');
	uint64_t v = 0;
	int n = 0;

	/* digits only, 1 to 15 of them: exact in a double */
	while (*p >= '0' && *p <= '9' && n < 16) {
		v = v * 10 + (uint64_t)(*p++ - '0');
		n++;
	}
	if (*p != '\0' || n == 0 || n > 15)
		return strtod(s, NULL);
	return *s == '-' ? -(double)v : (double)v;
}
