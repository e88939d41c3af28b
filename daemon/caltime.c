/*
 * caltime.c: everything about time. Civil dates are plain arithmetic on
 * day numbers (proleptic Gregorian, no libc time zone state), RFC 3339
 * parsing serves the decoder on every event, time zones come from ICU with
 * one calendar object per zone, and period buckets are cut from day
 * numbers and then pinned to UTC through the zone. The decoder, the batch
 * stage and the pacing timer call in here; all of it runs on the loop
 * thread, so the per-zone caches need no locking.
 */
#include "caltime.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/ucal.h>
#include <unicode/utypes.h>

#include "xmalloc.h"

#define MS_PER_DAY	86400000LL

static const char *const period_names[PERIOD_COUNT] = {
	"day", "week", "month", "quarter"
};

const char *
caltime_period_name(enum period p)
{
	if ((unsigned)p >= PERIOD_COUNT)
		return "unknown";
	return period_names[p];
}

int
caltime_period_parse(const char *s, enum period *out)
{
	for (int i = 0; i < PERIOD_COUNT; i++) {
		if (strcmp(s, period_names[i]) == 0) {
			*out = (enum period)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date. Years are shifted
 * to start in March so the leap day falls at the end of the shifted year,
 * then counted in 400-year eras of 146097 days.
 */
int32_t
caltime_days_from_civil(int y, unsigned m, unsigned d)
{
	int		 era;
	unsigned	 yoe, mp, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);		/* 0..399 */
	mp = m > 2 ? m - 3 : m + 9;			/* March = 0 */
	doy = (153 * mp + 2) / 5 + d - 1;		/* 0..365 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* 0..146096 */
	return (int32_t)era * 146097 + (int32_t)doe - 719468;
}

/* The inverse of caltime_days_from_civil. */
void
caltime_civil_from_days(int32_t day, int *y, unsigned *m, unsigned *d)
{
	int64_t		 z, era;
	unsigned	 doe, yoe, doy, mp;
	int64_t		 year;

	z = (int64_t)day + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	year = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	if (*m <= 2)
		year++;
	*y = (int)year;
}

int
caltime_weekday(int32_t day)
{
	/* 1970-01-01 was a Thursday (3 when Monday is 0). */
	int	w = (int)(((int64_t)day + 3) % 7);

	return w < 0 ? w + 7 : w;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(int y, unsigned m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && is_leap(y))
		return 29;
	return mdays[m - 1];
}

/* Reads exactly n ASCII digits at s; returns the value or -1. */
static int
digits(const char *s, int n)
{
	int	v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses "YYYY-MM-DD" at s (10 bytes available); 0 or -1. */
static int
parse_ymd(const char *s, int *y, unsigned *m, unsigned *d)
{
	int	yy, mm, dd;

	if ((yy = digits(s, 4)) < 1 || s[4] != '-' ||
	    (mm = digits(s + 5, 2)) < 1 || mm > 12 || s[7] != '-' ||
	    (dd = digits(s + 8, 2)) < 1 ||
	    (unsigned)dd > days_in_month(yy, (unsigned)mm))
		return -1;
	*y = yy;
	*m = (unsigned)mm;
	*d = (unsigned)dd;
	return 0;
}

/*
 * Strict RFC 3339 (section 5.6): every field has a fixed width, so the
 * parser walks fixed positions and only the fraction varies in length.
 * A leap second (:60) is kept in its own minute as 59.999 rather than
 * spilling into the next one, so an event never lands in a later day.
 */
int
caltime_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
	int		 y, hh, mi, ss, oh, om, frac = 0, sign;
	unsigned	 m, d;
	size_t		 i, nd;
	int64_t		 secs;

	/* Shortest form: "YYYY-MM-DDTHH:MM:SSZ". */
	if (s == NULL || len < 20)
		return -1;
	if (parse_ymd(s, &y, &m, &d) != 0)
		return -1;
	if (s[10] != 'T' && s[10] != 't')
		return -1;
	if ((hh = digits(s + 11, 2)) < 0 || hh > 23 || s[13] != ':' ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59 || s[16] != ':' ||
	    (ss = digits(s + 17, 2)) < 0 || ss > 60)
		return -1;

	i = 19;
	if (s[i] == '.') {
		i++;
		for (nd = 0; i < len && s[i] >= '0' && s[i] <= '9'; nd++, i++) {
			if (nd < 3)
				frac = frac * 10 + (s[i] - '0');
		}
		if (nd < 1 || nd > 9)
			return -1;
		for (; nd < 3; nd++)
			frac *= 10;
	}

	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		oh = om = 0;
		sign = 1;
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (len - i < 6)
			return -1;
		if ((oh = digits(s + i + 1, 2)) < 0 || oh > 23 ||
		    s[i + 3] != ':' ||
		    (om = digits(s + i + 4, 2)) < 0 || om > 59)
			return -1;
		i += 6;
	} else
		return -1;
	if (i != len)
		return -1;

	if (ss == 60) {
		ss = 59;
		frac = 999;
	}
	secs = (int64_t)caltime_days_from_civil(y, m, d) * 86400 +
	    hh * 3600 + mi * 60 + ss - sign * (oh * 3600 + om * 60);
	*ms = secs * 1000 + frac;
	return 0;
}

int64_t
caltime_floor_div(int64_t a, int64_t b)
{
	int64_t	q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

void
caltime_format_utc(int64_t ms, char *buf, size_t buflen)
{
	int64_t		 day, rem;
	int		 y;
	unsigned	 m, d;

	day = caltime_floor_div(ms, MS_PER_DAY);
	rem = ms - day * MS_PER_DAY;
	caltime_civil_from_days((int32_t)day, &y, &m, &d);
	if (y >= 0 && y <= 9999 && buflen >= 25) {	/* printf's output */
		int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60);
		int s = (int)(rem / 1000 % 60), f = (int)(rem % 1000);

		caltime_format_date((int32_t)day, buf, buflen);
		buf[10] = 'T';
		buf[11] = (char)('0' + h / 10);
		buf[12] = (char)('0' + h % 10);
		buf[13] = ':';
		buf[14] = (char)('0' + mi / 10);
		buf[15] = (char)('0' + mi % 10);
		buf[16] = ':';
		buf[17] = (char)('0' + s / 10);
		buf[18] = (char)('0' + s % 10);
		buf[19] = '.';
		buf[20] = (char)('0' + f / 100);
		buf[21] = (char)('0' + f / 10 % 10);
		buf[22] = (char)('0' + f % 10);
		buf[23] = 'Z';
		buf[24] = '\0';
		return;
	}
	snprintf(buf, buflen, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
	    (int)(rem / 3600000), (int)(rem / 60000 % 60),
	    (int)(rem / 1000 % 60), (int)(rem % 1000));
}

void
caltime_format_local(int64_t ms, int32_t offset_ms, char *buf, size_t buflen)
{
	int64_t		 local = ms + offset_ms, day, rem;
	int		 y, off_min = offset_ms / 60000;
	unsigned	 m, d;

	day = caltime_floor_div(local, MS_PER_DAY);
	rem = local - day * MS_PER_DAY;
	caltime_civil_from_days((int32_t)day, &y, &m, &d);
	snprintf(buf, buflen, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", y, m,
	    d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
	    (int)(rem / 1000 % 60), off_min < 0 ? '-' : '+',
	    abs(off_min) / 60, abs(off_min) % 60);
}

int
caltime_parse_date(const char *s, int32_t *day)
{
	int		 y;
	unsigned	 m, d;

	if (s == NULL || strlen(s) != 10 || parse_ymd(s, &y, &m, &d) != 0)
		return -1;
	*day = caltime_days_from_civil(y, m, d);
	return 0;
}

void
caltime_format_date(int32_t day, char *buf, size_t buflen)
{
	int		 y;
	unsigned	 m, d;

	caltime_civil_from_days(day, &y, &m, &d);
	if (y >= 0 && y <= 9999 && buflen >= 11) {	/* printf's output */
		buf[0] = (char)('0' + y / 1000);
		buf[1] = (char)('0' + y / 100 % 10);
		buf[2] = (char)('0' + y / 10 % 10);
		buf[3] = (char)('0' + y % 10);
		buf[4] = '-';
		buf[5] = (char)('0' + m / 10);
		buf[6] = (char)('0' + m % 10);
		buf[7] = '-';
		buf[8] = (char)('0' + d / 10);
		buf[9] = (char)('0' + d % 10);
		buf[10] = '\0';
		return;
	}
	snprintf(buf, buflen, "%04d-%02u-%02u", y, m, d);
}

int
caltime_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char	*name;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
		{ "d", MS_PER_DAY },
	};
	int64_t		 n = 0;
	const char	*p;

	if (s == NULL)
		return -1;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (p == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].name) != 0)
			continue;
		if (n > INT64_MAX / units[i].ms)
			return -1;
		*ms = n * units[i].ms;
		return 0;
	}
	return -1;
}

int64_t
caltime_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
caltime_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_now(const struct clock *c)
{
	if (c->mode == CLOCK_MODE_EVENT)
		return c->watermark_ms;
	if (c->fixed_ms != 0)
		return c->fixed_ms;
	return caltime_wall_ms();
}

/*
 * The watermark is kept in both modes (it is the highest event time seen,
 * useful for lag in wall mode too); only event mode reads it as "now".
 */
void
clock_observe(struct clock *c, int64_t event_ms)
{
	if (event_ms > c->watermark_ms)
		c->watermark_ms = event_ms;
}

/*
 * Time zones. ICU answers "what is the offset at instant t" and "when is
 * the next/previous transition"; everything else is derived here from
 * those two questions, so no calendar field arithmetic (with its Julian
 * cutover and lenient rollover rules) is involved.
 */

/* Instants are clamped to +-100 million days, as ECMAScript dates are, so
 * that day numbers fit in int32_t and sums never overflow. */
#define MS_LIMIT	(100000000LL * MS_PER_DAY)

/* Local midnights cached per zone, indexed by day number modulo this. */
#define MIDNIGHT_SLOTS	16
#define SPAN_SLOTS	4

struct tzone {
	char		*name;
	UCalendar	*cal;

	/*
	 * The last instant range looked up: within [lo, hi) the offset is
	 * off and the local day is day. The range is the local day cut
	 * short by any transition, so a run of events of one day costs no
	 * ICU call at all.
	 */
	int64_t		 lo;
	int64_t		 hi;
	int32_t		 off;
	int32_t		 day;

	/* Bucket bounds repeat for every event of a period. */
	struct {
		int	 valid;
		int32_t	 day;
		int64_t	 ms;
	} midnight[MIDNIGHT_SLOTS];

	/* The stretches between transitions looked up last, so that a walk
	 * over a quarter that holds a transition (or two zones' worth of
	 * probes) does not ask ICU again each time it crosses one. */
	struct {
		int64_t	 lo, hi;
		int32_t	 off;
	} spans[SPAN_SLOTS];
	unsigned	 nspans, next_span;
};

static int64_t
clamp_ms(int64_t ms)
{
	if (ms < -MS_LIMIT)
		return -MS_LIMIT;
	if (ms > MS_LIMIT)
		return MS_LIMIT;
	return ms;
}

struct tzone *
tzone_open(const char *iana, char *err, size_t errlen)
{
	UChar		 id[128], canon[128], got[128];
	UErrorCode	 st = U_ZERO_ERROR;
	UBool		 sys = 0;
	size_t		 len, i;
	int32_t		 glen;
	UCalendar	*cal;
	struct tzone	*z;

	if (iana == NULL || (len = strlen(iana)) == 0) {
		snprintf(err, errlen, "empty time zone name");
		return NULL;
	}
	if (len >= sizeof(id) / sizeof(id[0])) {
		snprintf(err, errlen, "time zone name too long");
		return NULL;
	}
	/* IANA names are ASCII letters, digits and "/_+-". */
	for (i = 0; i < len; i++) {
		char	c = iana[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		    c == '+' || c == '-')) {
			snprintf(err, errlen, "unknown time zone \"%s\"", iana);
			return NULL;
		}
		id[i] = (UChar)c;
	}

	/*
	 * ucal_open never fails on a bad id: it quietly hands back a GMT
	 * calendar named "Etc/Unknown". Ask the tz database first, and only
	 * accept ids it knows as system zones (not "GMT+05:00" customs).
	 */
	ucal_getCanonicalTimeZoneID(id, (int32_t)len, canon,
	    (int32_t)(sizeof(canon) / sizeof(canon[0])), &sys, &st);
	if (U_FAILURE(st) || !sys || strcmp(iana, "Etc/Unknown") == 0) {
		snprintf(err, errlen, "unknown time zone \"%s\"", iana);
		return NULL;
	}

	st = U_ZERO_ERROR;
	cal = ucal_open(id, (int32_t)len, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st) || cal == NULL) {
		snprintf(err, errlen, "time zone \"%s\": %s", iana,
		    u_errorName(st));
		if (cal != NULL)
			ucal_close(cal);
		return NULL;
	}
	st = U_ZERO_ERROR;
	glen = ucal_getTimeZoneID(cal, got,
	    (int32_t)(sizeof(got) / sizeof(got[0])), &st);
	if (U_FAILURE(st) || (glen == 11 &&
	    memcmp(got, u"Etc/Unknown", 11 * sizeof(UChar)) == 0)) {
		snprintf(err, errlen, "unknown time zone \"%s\"", iana);
		ucal_close(cal);
		return NULL;
	}

	z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(iana);
	z->cal = cal;
	z->lo = z->hi = 0;	/* empty: first lookup fills it */
	return z;
}

void
tzone_free(struct tzone *z)
{
	if (z == NULL)
		return;
	ucal_close(z->cal);
	free(z->name);
	free(z);
}

const char *
tzone_name(const struct tzone *z)
{
	return z->name;
}

/* Asks ICU for the offset at ms; 0 (UTC) if ICU refuses. */
static int32_t
icu_offset(struct tzone *z, int64_t ms)
{
	UErrorCode	 st = U_ZERO_ERROR;
	int32_t		 raw, dst;

	ucal_setMillis(z->cal, (UDate)ms, &st);
	raw = ucal_get(z->cal, UCAL_ZONE_OFFSET, &st);
	dst = ucal_get(z->cal, UCAL_DST_OFFSET, &st);
	if (U_FAILURE(st))
		return 0;
	return raw + dst;
}

/* Refills the zone's cache so that it holds ms. */
static void
tzone_fill(struct tzone *z, int64_t ms)
{
	UErrorCode	 st = U_ZERO_ERROR;
	UDate		 t;
	int64_t		 lo, hi, day;
	int32_t		 off;

	for (unsigned i = 0; i < z->nspans; i++) {
		if (ms >= z->spans[i].lo && ms < z->spans[i].hi) {
			z->lo = z->spans[i].lo;
			z->hi = z->spans[i].hi;
			z->off = z->spans[i].off;
			z->day = (int32_t)caltime_floor_div(ms + z->off,
			    MS_PER_DAY);
			return;
		}
	}
	off = icu_offset(z, ms);	/* also leaves the calendar at ms */
	day = caltime_floor_div(ms + off, MS_PER_DAY);
	/* The cache spans the whole stretch between two transitions, not one
	 * day: a month or quarter bucket's working-time walk then asks ICU
	 * once, not once per day. The local day is computed from the offset. */
	lo = INT64_MIN / 2;
	hi = INT64_MAX / 2;

	/* The offset holds from the last transition up to the next one. */
	if (ucal_getTimeZoneTransitionDate(z->cal,
	    UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &t, &st) &&
	    U_SUCCESS(st) && (int64_t)t > lo)
		lo = (int64_t)t;
	st = U_ZERO_ERROR;
	if (ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_NEXT,
	    &t, &st) && U_SUCCESS(st) && (int64_t)t < hi)
		hi = (int64_t)t;
	/* Never cache a range that does not hold ms (ICU refused above). */
	if (lo > ms || hi <= ms) {
		lo = ms;
		hi = ms + 1;
	}

	z->lo = lo;
	z->hi = hi;
	z->off = off;
	z->day = (int32_t)day;
	z->spans[z->next_span].lo = lo;
	z->spans[z->next_span].hi = hi;
	z->spans[z->next_span].off = off;
	z->next_span = (z->next_span + 1) % SPAN_SLOTS;
	if (z->nspans < SPAN_SLOTS)
		z->nspans++;
}

int32_t
tzone_offset_at(struct tzone *z, int64_t ms)
{
	ms = clamp_ms(ms);
	if (ms < z->lo || ms >= z->hi)
		tzone_fill(z, ms);
	return z->off;
}

int32_t
tzone_local_day(struct tzone *z, int64_t ms)
{
	ms = clamp_ms(ms);
	if (ms < z->lo || ms >= z->hi)
		tzone_fill(z, ms);
	return (int32_t)caltime_floor_div(ms + z->off, MS_PER_DAY);
}

/*
 * Local wall time to UTC. A wall time w maps to the instants u with
 * u + offset(u) = w: normally one, none in a spring-forward gap, two in a
 * fall-back overlap. Candidates come from the offsets a day either side,
 * which brackets any single transition (real offsets stay within +-14 h).
 */
int64_t
tzone_local_to_utc(struct tzone *z, int32_t day, int minute_of_day)
{
	int64_t		 w, ua, ub, lo, hi, u;
	int32_t		 oa, ob, off, cday;
	int		 va, vb;

	/* Keep the event path's cache: these probes wander a day away. */
	lo = z->lo;
	hi = z->hi;
	off = z->off;
	cday = z->day;

	w = clamp_ms((int64_t)day * MS_PER_DAY + (int64_t)minute_of_day *
	    60000);
	oa = tzone_offset_at(z, w - MS_PER_DAY);
	ob = tzone_offset_at(z, w + MS_PER_DAY);
	ua = w - oa;
	ub = w - ob;
	va = tzone_offset_at(z, ua) == oa;
	vb = tzone_offset_at(z, ub) == ob;

	if (va && vb)
		u = ua < ub ? ua : ub;	/* overlap: earlier instant */
	else if (vb)
		u = ub;
	else {
		/*
		 * Either w is valid with the earlier offset, or it falls in
		 * a gap: then read it with the offset from before the jump,
		 * which lands as far past the transition as w was past the
		 * gap's start (02:30 on a spring-forward night is 03:30).
		 */
		u = ua;
	}

	z->lo = lo;
	z->hi = hi;
	z->off = off;
	z->day = cday;
	return u;
}

void
caltime_bucket_of_day(const struct period_rules *r, enum period p,
    int32_t day, struct bucket *b)
{
	int		 y, ws, fs, sm;
	unsigned	 m, d;

	/* Rules are validated by config; fall back to ISO defaults. */
	ws = r->week_start >= 0 && r->week_start <= 6 ? r->week_start : 0;
	fs = r->fiscal_year_start >= 1 && r->fiscal_year_start <= 12 ?
	    r->fiscal_year_start : 1;

	b->period = p;
	switch (p) {
	case PERIOD_WEEK:
		b->start_day = day - (caltime_weekday(day) - ws + 7) % 7;
		b->end_day = b->start_day + 7;
		break;
	case PERIOD_MONTH:
		caltime_civil_from_days(day, &y, &m, &d);
		b->start_day = caltime_days_from_civil(y, m, 1);
		b->end_day = m == 12 ? caltime_days_from_civil(y + 1, 1, 1) :
		    caltime_days_from_civil(y, m + 1, 1);
		break;
	case PERIOD_QUARTER:
		/*
		 * Months are counted from 0 so the quarter's first month is
		 * the current one less its place in the quarter; before the
		 * year's first quarter month, it lies in the previous year.
		 */
		caltime_civil_from_days(day, &y, &m, &d);
		sm = (int)m - 1 - ((int)m - fs + 12) % 3;
		if (sm < 0) {
			sm += 12;
			y--;
		}
		b->start_day = caltime_days_from_civil(y, (unsigned)sm + 1, 1);
		sm += 3;
		if (sm >= 12) {
			sm -= 12;
			y++;
		}
		b->end_day = caltime_days_from_civil(y, (unsigned)sm + 1, 1);
		break;
	case PERIOD_DAY:
	default:
		b->start_day = day;
		b->end_day = day + 1;
		break;
	}
	b->start_ms = (int64_t)b->start_day * MS_PER_DAY;
	b->end_ms = (int64_t)b->end_day * MS_PER_DAY;
}

/* The UTC instant of local midnight starting `day`, cached per zone. */
static int64_t
tzone_midnight(struct tzone *z, int32_t day)
{
	unsigned	 slot = (unsigned)day % MIDNIGHT_SLOTS;

	if (!z->midnight[slot].valid || z->midnight[slot].day != day) {
		z->midnight[slot].ms = tzone_local_to_utc(z, day, 0);
		z->midnight[slot].day = day;
		z->midnight[slot].valid = 1;
	}
	return z->midnight[slot].ms;
}

void
caltime_bucket(struct tzone *z, const struct period_rules *r,
    enum period p, int64_t ms, struct bucket *b)
{
	caltime_bucket_of_day(r, p, tzone_local_day(z, ms), b);
	b->start_ms = tzone_midnight(z, b->start_day);
	b->end_ms = tzone_midnight(z, b->end_day);
}
