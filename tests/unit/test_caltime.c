#include "caltime.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/*
 * Expected instants are written as day number plus time of day. Day
 * numbers were counted by hand: 1970-01-01 to 2026-01-01 is 56 years with
 * 14 leap days (1972..2024), so 56 * 365 + 14 = 20454.
 */
#define DAY_MS		86400000LL
#define HOUR_MS		3600000LL
#define MIN_MS		60000LL
#define Y2026		20454			/* 2026-01-01 */
#define D_0308		(Y2026 + 31 + 28 + 7)	/* 2026-03-08, a Sunday */
#define D_0329		(Y2026 + 31 + 28 + 28)	/* 2026-03-29, a Sunday */
#define D_1101		(Y2026 + 304)		/* 2026-11-01, a Sunday */
#define D_1123		(Y2026 + 304 + 22)	/* 2026-11-23, a Monday */

static int64_t
at(int32_t day, int h, int m)
{
	return (int64_t)day * DAY_MS + h * HOUR_MS + m * MIN_MS;
}

static int
parse(const char *s, int64_t *ms)
{
	return caltime_parse_rfc3339(s, strlen(s), ms);
}

Test(rfc3339, utc_z)
{
	int64_t	ms = -1;

	cr_assert_eq(parse("2026-11-23T14:05:00Z", &ms), 0);
	cr_assert_eq(ms, 1795442700000LL);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	cr_assert_eq(parse("1970-01-01T00:00:00Z", &ms), 0);
	cr_assert_eq(ms, 0);
}

Test(rfc3339, positive_and_negative_offsets)
{
	int64_t	ms = -1;

	cr_assert_eq(parse("2026-11-23T19:35:00+05:30", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	cr_assert_eq(parse("2026-11-23T09:05:00-05:00", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	/* An offset moving the instant across midnight and a year. */
	cr_assert_eq(parse("2026-01-01T01:00:00+02:00", &ms), 0);
	cr_assert_eq(ms, at(Y2026 - 1, 23, 0));
	cr_assert_eq(parse("2026-11-23T14:05:00+00:00", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	cr_assert_eq(parse("2026-11-23T14:05:00-00:00", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	cr_assert_eq(parse("2026-11-23T14:05:00+23:59", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5) - 23 * HOUR_MS - 59 * MIN_MS);
}

Test(rfc3339, fractions_truncate_to_ms)
{
	int64_t	base = at(D_1123, 14, 5), ms = -1;

	cr_assert_eq(parse("2026-11-23T14:05:00.5Z", &ms), 0);
	cr_assert_eq(ms, base + 500);
	cr_assert_eq(parse("2026-11-23T14:05:00.123Z", &ms), 0);
	cr_assert_eq(ms, base + 123);
	cr_assert_eq(parse("2026-11-23T14:05:00.123456789Z", &ms), 0);
	cr_assert_eq(ms, base + 123);
	cr_assert_eq(parse("2026-11-23T14:05:00.999999999+01:00", &ms), 0);
	cr_assert_eq(ms, base - HOUR_MS + 999);
	cr_assert_eq(parse("2026-11-23T14:05:00.07Z", &ms), 0);
	cr_assert_eq(ms, base + 70);
	/* Before the epoch the fraction still counts forward. */
	cr_assert_eq(parse("1969-12-31T23:59:59.999Z", &ms), 0);
	cr_assert_eq(ms, -1);
}

Test(rfc3339, lowercase_t_and_z)
{
	int64_t	ms = -1;

	cr_assert_eq(parse("2026-11-23t14:05:00z", &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
}

Test(rfc3339, leap_days)
{
	int64_t	ms = -1;

	/* 2028 - 1970 = 58 years, 14 leap days, then Jan 31 + Feb 28. */
	cr_assert_eq(parse("2028-02-29T00:00:00Z", &ms), 0);
	cr_assert_eq(ms, (int64_t)(58 * 365 + 14 + 59) * DAY_MS);
	cr_assert_eq(ms, 1835395200000LL);
	cr_assert_eq(parse("2000-02-29T12:00:00Z", &ms), 0);
	cr_assert_eq(parse("2026-02-29T00:00:00Z", &ms), -1);
	cr_assert_eq(parse("2100-02-29T00:00:00Z", &ms), -1);
	cr_assert_eq(parse("2026-04-31T00:00:00Z", &ms), -1);
	cr_assert_eq(parse("2026-12-31T00:00:00Z", &ms), 0);
	cr_assert_eq(parse("2026-12-32T00:00:00Z", &ms), -1);
}

Test(rfc3339, leap_second_clamps_into_its_minute)
{
	int64_t	ms = -1;

	/* 2016-12-31 is day 17166 (46 * 365 + 11 + 365). */
	cr_assert_eq(parse("2016-12-31T23:59:60Z", &ms), 0);
	cr_assert_eq(ms, 1483228799999LL);
	cr_assert_eq(ms, at(17166, 23, 59) + 59999);
	cr_assert_eq(parse("2016-12-31T23:59:60.5Z", &ms), 0);
	cr_assert_eq(ms, 1483228799999LL);
	cr_assert_eq(parse("2016-12-31T23:59:61Z", &ms), -1);
}

Test(rfc3339, year_range)
{
	int64_t	ms = -1;

	cr_assert_eq(parse("0001-01-01T00:00:00Z", &ms), 0);
	cr_assert_eq(ms, -62135596800000LL);
	cr_assert_eq(parse("9999-12-31T23:59:59Z", &ms), 0);
	cr_assert_eq(ms, 253402300799000LL);
	cr_assert_eq(parse("0000-01-01T00:00:00Z", &ms), -1);
}

Test(rfc3339, length_is_honoured)
{
	const char	*s = "2026-11-23T14:05:00Zjunk";
	char		 nul[] = "2026-11-23T14:05:00Z\0";
	int64_t		 ms = -1;

	cr_assert_eq(caltime_parse_rfc3339(s, 20, &ms), 0);
	cr_assert_eq(ms, at(D_1123, 14, 5));
	cr_assert_eq(caltime_parse_rfc3339(s, 21, &ms), -1);
	cr_assert_eq(caltime_parse_rfc3339(s, 19, &ms), -1);
	cr_assert_eq(caltime_parse_rfc3339(nul, 21, &ms), -1);
	cr_assert_eq(caltime_parse_rfc3339(s, 0, &ms), -1);
	/* A fraction cut off by the length has no offset after it. */
	cr_assert_eq(caltime_parse_rfc3339("2026-11-23T14:05:00.123Z", 23,
	    &ms), -1);
}

Test(rfc3339, invalid_forms)
{
	static const char *const bad[] = {
		"",
		"2026-11-23",
		"2026-11-23T14:05:00",			/* no offset */
		"2026-11-23T14:05:00.123",		/* no offset */
		"2026-11-23 14:05:00Z",			/* space separator */
		"2026-11-23_14:05:00Z",
		"2026-13-23T14:05:00Z",			/* month 13 */
		"2026-00-23T14:05:00Z",			/* month 0 */
		"2026-11-00T14:05:00Z",			/* day 0 */
		"2026-11-31T14:05:00Z",			/* 30 days in Nov */
		"2026-11-23T24:00:00Z",			/* hour 24 */
		"2026-11-23T14:60:00Z",			/* minute 60 */
		"2026-11-23T14:05:00Zjunk",		/* trailing junk */
		"2026-11-23T14:05:00Z ",
		" 2026-11-23T14:05:00Z",
		"2026-11-23T14:05:00+05:30x",
		"2026-11-23T14:05:00+0530",		/* offset without colon */
		"2026-11-23T14:05:00+05",
		"2026-11-23T14:05:00+24:00",		/* offset hour 24 */
		"2026-11-23T14:05:00+05:60",		/* offset minute 60 */
		"2026-11-23T14:05:00 +05:00",
		"2026-11-23T14:05:00.Z",		/* empty fraction */
		"2026-11-23T14:05:00.1234567890Z",	/* 10 digits */
		"2026-11-23T14:05:00,5Z",
		"2026-1-23T14:05:00Z",			/* short fields */
		"2026-11-3T14:05:00Z",
		"2026-11-23T4:05:00Z",
		"2026-11-23T14:5:00Z",
		"2026-11-23T14:05:0Z",
		"26-11-23T14:05:00Z",
		"+2026-11-23T14:05:00Z",
		"2026/11/23T14:05:00Z",
		"2026-11-23T14-05-00Z",
		"2026-11-23T14:05:00ZZ",
		"2026-11-23T14:05:00UTC",
		"2026-1a-23T14:05:00Z",
		"2026-11-23T14:05:00.12a4Z",
	};
	int64_t	ms = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], &ms), -1, "accepted \"%s\"", bad[i]);
	cr_assert_eq(ms, 42, "output written on failure");
}

Test(format, utc)
{
	char	buf[32];

	caltime_format_utc(1795442700000LL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2026-11-23T14:05:00.000Z");
	caltime_format_utc(0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	caltime_format_utc(-1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	caltime_format_utc(at(D_1123, 23, 59) + 59123, buf, 25);
	cr_assert_str_eq(buf, "2026-11-23T23:59:59.123Z");
}

/* The digits written by hand match printf's, on either side of the
 * years they cover. */
Test(format, utc_matches_printf)
{
	const int64_t step = 86400000LL * 367 + 3723456;
	char buf[64], want[64];

	for (int64_t ms = -70000LL * 31556952000LL; ms < 9000LL * 31556952000LL;
	    ms += step * 97) {
		int64_t day = caltime_floor_div(ms, 86400000LL);
		int64_t rem = ms - day * 86400000LL;
		int y;
		unsigned m, d;

		caltime_civil_from_days((int32_t)day, &y, &m, &d);
		snprintf(want, sizeof(want), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
		    y, m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
		    (int)(rem / 1000 % 60), (int)(rem % 1000));
		caltime_format_utc(ms, buf, sizeof(buf));
		cr_assert_str_eq(buf, want);
	}
}

Test(format, round_trip)
{
	static const char *const s[] = {
		"2026-11-23T14:05:00.000Z",
		"2028-02-29T23:59:59.999Z",
		"0001-01-01T00:00:00.000Z",
		"9999-12-31T23:59:59.999Z",
		"1969-07-20T20:17:40.000Z",
	};
	char	buf[32];
	int64_t	ms;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		cr_assert_eq(parse(s[i], &ms), 0);
		caltime_format_utc(ms, buf, sizeof(buf));
		cr_assert_str_eq(buf, s[i]);
	}
}

Test(duration, valid)
{
	int64_t	ms = -1;

	cr_assert_eq(caltime_parse_duration("500ms", &ms), 0);
	cr_assert_eq(ms, 500);
	cr_assert_eq(caltime_parse_duration("30s", &ms), 0);
	cr_assert_eq(ms, 30000);
	cr_assert_eq(caltime_parse_duration("5m", &ms), 0);
	cr_assert_eq(ms, 300000);
	cr_assert_eq(caltime_parse_duration("2h", &ms), 0);
	cr_assert_eq(ms, 7200000);
	cr_assert_eq(caltime_parse_duration("35d", &ms), 0);
	cr_assert_eq(ms, 3024000000LL);
	cr_assert_eq(caltime_parse_duration("0s", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(caltime_parse_duration("9223372036854775807ms", &ms), 0);
	cr_assert_eq(ms, INT64_MAX);
	/* floor(INT64_MAX / 86400000) = 106751991167 */
	cr_assert_eq(caltime_parse_duration("106751991167d", &ms), 0);
	cr_assert_eq(ms, 106751991167LL * 86400000LL);
}

Test(duration, invalid)
{
	static const char *const bad[] = {
		"", "5", "s", "ms", "-5s", "+5s", "5 s", " 5s", "5s ", "5x",
		"5sec", "5S", "5M", "1.5h", "5ms5", "5hh", "0x10s",
		"9223372036854775808ms",	/* INT64_MAX + 1 */
		"99999999999999999999s",
		"9223372036854776s",		/* times 1000 overflows */
		"106751991168d",
	};
	int64_t	ms = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(caltime_parse_duration(bad[i], &ms), -1,
		    "accepted \"%s\"", bad[i]);
	cr_assert_eq(ms, 42);
}

Test(date, parse_format_weekday)
{
	int32_t	day = -1;
	char	buf[16];

	cr_assert_eq(caltime_parse_date("1970-01-01", &day), 0);
	cr_assert_eq(day, 0);
	cr_assert_eq(caltime_weekday(0), 3);		/* a Thursday */
	cr_assert_eq(caltime_parse_date("2026-11-23", &day), 0);
	cr_assert_eq(day, D_1123);
	cr_assert_eq(day, 20780);
	cr_assert_eq(caltime_weekday(day), 0);		/* a Monday */
	cr_assert_eq(caltime_weekday(D_0308), 6);	/* a Sunday */
	cr_assert_eq(caltime_parse_date("1969-12-31", &day), 0);
	cr_assert_eq(day, -1);
	cr_assert_eq(caltime_weekday(day), 2);		/* a Wednesday */
	cr_assert_eq(caltime_weekday(-7), 3);

	caltime_format_date(D_1123, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2026-11-23");
	caltime_format_date(-1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1969-12-31");
	caltime_format_date(21243, buf, 11);
	cr_assert_str_eq(buf, "2028-02-29");

	cr_assert_eq(caltime_parse_date("2026-02-29", &day), -1);
	cr_assert_eq(caltime_parse_date("2026-11-23T", &day), -1);
	cr_assert_eq(caltime_parse_date("2026-11-2", &day), -1);
	cr_assert_eq(caltime_parse_date("2026-13-01", &day), -1);
	cr_assert_eq(caltime_parse_date("", &day), -1);
}

Test(date, civil_round_trip)
{
	int		 y;
	unsigned	 m, d;

	/* Every day of 1599..2401 maps back to itself, one day apart. */
	int32_t	first = caltime_days_from_civil(1599, 1, 1);
	int32_t	last = caltime_days_from_civil(2401, 12, 31);

	cr_assert_eq(first, -(371 * 365 + 90));	/* 90 leap days: 1600..1968 */
	for (int32_t day = first; day <= last; day++) {
		caltime_civil_from_days(day, &y, &m, &d);
		cr_assert_eq(caltime_days_from_civil(y, m, d), day);
	}
	caltime_civil_from_days(caltime_days_from_civil(2400, 2, 29), &y, &m,
	    &d);
	cr_assert(y == 2400 && m == 2 && d == 29);
}

Test(period, names)
{
	enum period	p;

	cr_assert_str_eq(caltime_period_name(PERIOD_DAY), "day");
	cr_assert_str_eq(caltime_period_name(PERIOD_WEEK), "week");
	cr_assert_str_eq(caltime_period_name(PERIOD_MONTH), "month");
	cr_assert_str_eq(caltime_period_name(PERIOD_QUARTER), "quarter");
	cr_assert_eq(caltime_period_parse("quarter", &p), 0);
	cr_assert_eq(p, PERIOD_QUARTER);
	cr_assert_eq(caltime_period_parse("week", &p), 0);
	cr_assert_eq(p, PERIOD_WEEK);
	cr_assert_eq(caltime_period_parse("year", &p), -1);
	cr_assert_eq(caltime_period_parse("Day", &p), -1);
	cr_assert_eq(caltime_period_parse("", &p), -1);
}

static int32_t
date(const char *s)
{
	int32_t	day;

	cr_assert_eq(caltime_parse_date(s, &day), 0, "%s", s);
	return day;
}

static void
check_days(const struct period_rules *r, enum period p, const char *day,
    const char *start, const char *end)
{
	struct bucket	b;

	caltime_bucket_of_day(r, p, date(day), &b);
	cr_assert_eq(b.period, p);
	cr_assert_eq(b.start_day, date(start), "%s %s: start", day,
	    caltime_period_name(p));
	cr_assert_eq(b.end_day, date(end), "%s %s: end", day,
	    caltime_period_name(p));
}

Test(bucket_of_day, day_and_week)
{
	struct period_rules	mon = { .week_start = 0, .fiscal_year_start = 1 };
	struct period_rules	sun = { .week_start = 6, .fiscal_year_start = 1 };

	check_days(&mon, PERIOD_DAY, "2026-11-23", "2026-11-23", "2026-11-24");
	/* Wednesday 2026-11-25. */
	check_days(&mon, PERIOD_WEEK, "2026-11-25", "2026-11-23", "2026-11-30");
	check_days(&sun, PERIOD_WEEK, "2026-11-25", "2026-11-22", "2026-11-29");
	/* Monday and Sunday themselves. */
	check_days(&mon, PERIOD_WEEK, "2026-11-23", "2026-11-23", "2026-11-30");
	check_days(&sun, PERIOD_WEEK, "2026-11-23", "2026-11-22", "2026-11-29");
	check_days(&mon, PERIOD_WEEK, "2026-11-29", "2026-11-23", "2026-11-30");
	check_days(&sun, PERIOD_WEEK, "2026-11-29", "2026-11-29", "2026-12-06");
	/* A week across the new year. */
	check_days(&mon, PERIOD_WEEK, "2027-01-01", "2026-12-28", "2027-01-04");
}

Test(bucket_of_day, month)
{
	struct period_rules	r = { .week_start = 0, .fiscal_year_start = 1 };

	check_days(&r, PERIOD_MONTH, "2026-11-23", "2026-11-01", "2026-12-01");
	check_days(&r, PERIOD_MONTH, "2026-12-31", "2026-12-01", "2027-01-01");
	check_days(&r, PERIOD_MONTH, "2028-02-29", "2028-02-01", "2028-03-01");
	check_days(&r, PERIOD_MONTH, "2026-02-01", "2026-02-01", "2026-03-01");
}

Test(bucket_of_day, quarter)
{
	struct period_rules	jan = { .week_start = 0, .fiscal_year_start = 1 };
	struct period_rules	feb = { .week_start = 0, .fiscal_year_start = 2 };
	struct period_rules	oct = { .week_start = 0, .fiscal_year_start = 10 };

	check_days(&jan, PERIOD_QUARTER, "2026-11-23", "2026-10-01", "2027-01-01");
	check_days(&jan, PERIOD_QUARTER, "2026-01-01", "2026-01-01", "2026-04-01");
	check_days(&jan, PERIOD_QUARTER, "2026-03-31", "2026-01-01", "2026-04-01");
	check_days(&jan, PERIOD_QUARTER, "2026-04-01", "2026-04-01", "2026-07-01");

	/* Feb-Apr, May-Jul, Aug-Oct, Nov-Jan. */
	check_days(&feb, PERIOD_QUARTER, "2026-02-01", "2026-02-01", "2026-05-01");
	check_days(&feb, PERIOD_QUARTER, "2026-04-30", "2026-02-01", "2026-05-01");
	check_days(&feb, PERIOD_QUARTER, "2026-05-01", "2026-05-01", "2026-08-01");
	check_days(&feb, PERIOD_QUARTER, "2026-10-31", "2026-08-01", "2026-11-01");
	check_days(&feb, PERIOD_QUARTER, "2026-11-23", "2026-11-01", "2027-02-01");
	/* A January date belongs to the quarter begun the November before. */
	check_days(&feb, PERIOD_QUARTER, "2027-01-15", "2026-11-01", "2027-02-01");
	check_days(&feb, PERIOD_QUARTER, "2026-01-31", "2025-11-01", "2026-02-01");

	check_days(&oct, PERIOD_QUARTER, "2026-09-30", "2026-07-01", "2026-10-01");
	check_days(&oct, PERIOD_QUARTER, "2026-12-31", "2026-10-01", "2027-01-01");
}

static struct tzone *
zone(const char *name)
{
	char		 err[256] = "";
	struct tzone	*z = tzone_open(name, err, sizeof(err));

	cr_assert_not_null(z, "%s: %s", name, err);
	cr_assert_str_eq(tzone_name(z), name);
	return z;
}

Test(tzone, unknown_names_fail)
{
	static const char *const bad[] = {
		"Mars/Olympus", "", "Etc/Unknown", "America/New York",
		"GMT+05:00", "america/new_yorkk", "../../etc/passwd",
	};
	char		 err[256];
	struct tzone	*z;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		z = tzone_open(bad[i], err, sizeof(err));
		cr_expect_null(z, "opened \"%s\"", bad[i]);
		tzone_free(z);
		cr_expect_neq(err[0], '\0', "no reason for \"%s\"", bad[i]);
	}
	err[0] = '\0';
	cr_assert_null(tzone_open("Mars/Olympus", err, sizeof(err)));
	cr_assert_not_null(strstr(err, "Mars/Olympus"), "%s", err);
	cr_assert_not_null(strstr(err, "unknown"), "%s", err);
	tzone_free(NULL);
}

Test(tzone, offsets)
{
	struct tzone	*z;

	z = zone("Asia/Kolkata");
	cr_assert_eq(tzone_offset_at(z, at(D_1123, 14, 5)), 5 * HOUR_MS +
	    30 * MIN_MS);
	cr_assert_eq(tzone_offset_at(z, at(D_0308, 0, 0)), 19800000);
	tzone_free(z);

	z = zone("UTC");
	cr_assert_eq(tzone_offset_at(z, at(D_1123, 14, 5)), 0);
	cr_assert_eq(tzone_local_day(z, at(D_1123, 23, 59)), D_1123);
	tzone_free(z);

	/* Lord Howe: +10:30 in winter, and a half-hour DST to +11:00. */
	z = zone("Australia/Lord_Howe");
	cr_assert_eq(tzone_offset_at(z, at(Y2026 + 181, 0, 0)),
	    10 * HOUR_MS + 30 * MIN_MS);			/* 2026-07-01 */
	cr_assert_eq(tzone_offset_at(z, at(Y2026, 0, 0)), 11 * HOUR_MS);
	tzone_free(z);

	/* New York switches to EDT at 07:00Z on 2026-03-08. */
	z = zone("America/New_York");
	cr_assert_eq(tzone_offset_at(z, at(D_0308, 7, 0) - 1), -5 * HOUR_MS);
	cr_assert_eq(tzone_offset_at(z, at(D_0308, 7, 0)), -4 * HOUR_MS);
	cr_assert_eq(tzone_offset_at(z, at(D_0308, 7, 0) - 1), -5 * HOUR_MS);
	/* And back to EST at 06:00Z on 2026-11-01. */
	cr_assert_eq(tzone_offset_at(z, at(D_1101, 6, 0) - 1), -4 * HOUR_MS);
	cr_assert_eq(tzone_offset_at(z, at(D_1101, 6, 0)), -5 * HOUR_MS);
	tzone_free(z);
}

Test(tzone, local_day_across_local_midnight)
{
	struct tzone	*z = zone("America/New_York");
	int64_t		 ms;

	cr_assert_eq(parse("2026-11-24T03:30:00Z", &ms), 0);
	cr_assert_eq(tzone_local_day(z, ms), D_1123);
	cr_assert_eq(tzone_local_day(z, ms), D_1123);	/* from the cache */
	/* Local midnight is 05:00Z in November. */
	cr_assert_eq(tzone_local_day(z, at(D_1123 + 1, 5, 0) - 1), D_1123);
	cr_assert_eq(tzone_local_day(z, at(D_1123 + 1, 5, 0)), D_1123 + 1);
	cr_assert_eq(tzone_local_day(z, at(D_1123, 5, 0)), D_1123);
	cr_assert_eq(tzone_local_day(z, at(D_1123, 5, 0) - 1), D_1123 - 1);
	cr_assert_eq(tzone_local_day(z, ms), D_1123);
	tzone_free(z);
}

/*
 * Walks every 10 minutes over a few days either side of a transition,
 * forwards and then backwards, so the cache is filled and crossed in both
 * directions; the expected local day follows from the known offsets.
 */
static void
walk(const char *name, int64_t change, int32_t before, int32_t after)
{
	struct tzone	*z = zone(name);
	int64_t		 from = change - 3 * DAY_MS, to = change + 3 * DAY_MS;
	int64_t		 ms, off, want;

	for (int pass = 0; pass < 2; pass++) {
		for (int64_t i = 0; i <= (to - from) / (10 * MIN_MS); i++) {
			ms = pass == 0 ? from + i * 10 * MIN_MS :
			    to - i * 10 * MIN_MS;
			off = ms < change ? before : after;
			want = (ms + off) / DAY_MS;	/* all after 1970 */
			cr_assert_eq(tzone_local_day(z, ms), want,
			    "%s at %lld", name, (long long)ms);
			cr_assert_eq(tzone_offset_at(z, ms), off,
			    "%s at %lld", name, (long long)ms);
		}
	}
	tzone_free(z);
}

Test(tzone, local_day_cache_across_transitions)
{
	walk("America/New_York", at(D_0308, 7, 0), -5 * HOUR_MS, -4 * HOUR_MS);
	walk("America/New_York", at(D_1101, 6, 0), -4 * HOUR_MS, -5 * HOUR_MS);
	/* Berlin: 01:00Z on 2026-03-29, CET to CEST. */
	walk("Europe/Berlin", at(D_0329, 1, 0), 1 * HOUR_MS, 2 * HOUR_MS);
}

Test(tzone, local_to_utc)
{
	struct tzone	*z = zone("America/New_York");

	/* An ordinary time. */
	cr_assert_eq(tzone_local_to_utc(z, D_1123, 9 * 60), at(D_1123, 14, 0));
	/* 02:30 on 2026-03-08 does not exist: it moves forward to 03:30
	 * EDT, 07:30Z. */
	cr_assert_eq(tzone_local_to_utc(z, D_0308, 2 * 60 + 30),
	    at(D_0308, 7, 30));
	cr_assert_eq(tzone_local_to_utc(z, D_0308, 2 * 60), at(D_0308, 7, 0));
	cr_assert_eq(tzone_local_to_utc(z, D_0308, 3 * 60), at(D_0308, 7, 0));
	cr_assert_eq(tzone_local_to_utc(z, D_0308, 1 * 60 + 59),
	    at(D_0308, 6, 59));
	/* 01:30 on 2026-11-01 happens twice (05:30Z EDT, 06:30Z EST): the
	 * earlier wins. */
	cr_assert_eq(tzone_local_to_utc(z, D_1101, 60 + 30), at(D_1101, 5, 30));
	cr_assert_eq(tzone_local_to_utc(z, D_1101, 2 * 60), at(D_1101, 7, 0));
	cr_assert_eq(tzone_local_to_utc(z, D_1101, 59), at(D_1101, 4, 59));
	/* Minutes past 24 h roll into the next day. */
	cr_assert_eq(tzone_local_to_utc(z, D_1123, 24 * 60), at(D_1123 + 1, 5,
	    0));
	tzone_free(z);

	z = zone("Europe/Berlin");
	/* 02:30 on 2026-03-29 does not exist: 03:30 CEST, 01:30Z. */
	cr_assert_eq(tzone_local_to_utc(z, D_0329, 2 * 60 + 30),
	    at(D_0329, 1, 30));
	tzone_free(z);
}

Test(tzone, local_to_utc_keeps_the_cache_honest)
{
	struct tzone	*z = zone("America/New_York");
	int64_t		 ms = at(D_1123, 15, 0);

	cr_assert_eq(tzone_local_day(z, ms), D_1123);
	(void)tzone_local_to_utc(z, D_0308, 2 * 60 + 30);
	cr_assert_eq(tzone_local_day(z, ms), D_1123);
	cr_assert_eq(tzone_offset_at(z, ms), -5 * HOUR_MS);
	tzone_free(z);
}

Test(bucket, day_across_local_midnight)
{
	struct period_rules	 r = { .week_start = 0, .fiscal_year_start = 1 };
	struct tzone		*z = zone("America/New_York");
	struct bucket		 b;
	int64_t			 ms;

	cr_assert_eq(parse("2026-11-24T03:30:00Z", &ms), 0);
	caltime_bucket(z, &r, PERIOD_DAY, ms, &b);
	cr_assert_eq(b.period, PERIOD_DAY);
	cr_assert_eq(b.start_day, D_1123);
	cr_assert_eq(b.end_day, D_1123 + 1);
	cr_assert_eq(b.start_ms, at(D_1123, 5, 0));
	cr_assert_eq(b.end_ms, at(D_1123 + 1, 5, 0));
	cr_assert_eq(b.start_ms, 1795410000000LL);
	tzone_free(z);
}

Test(bucket, new_york_spring_forward_day_is_23_hours)
{
	struct period_rules	 r = { .week_start = 0, .fiscal_year_start = 1 };
	struct tzone		*z = zone("America/New_York");
	struct bucket		 b;

	caltime_bucket(z, &r, PERIOD_DAY, at(D_0308, 12, 0), &b);
	cr_assert_eq(b.start_day, D_0308);
	cr_assert_eq(b.start_ms, at(D_0308, 5, 0));	/* midnight EST */
	cr_assert_eq(b.end_ms, at(D_0308 + 1, 4, 0));	/* midnight EDT */
	cr_assert_eq(b.start_ms, 1772946000000LL);
	cr_assert_eq(b.end_ms - b.start_ms, 23 * HOUR_MS);

	/* The week (Monday 03-02 to Monday 03-09) spans the change too. */
	caltime_bucket(z, &r, PERIOD_WEEK, at(D_0308, 12, 0), &b);
	cr_assert_eq(b.start_day, D_0308 - 6);
	cr_assert_eq(b.end_day, D_0308 + 1);
	cr_assert_eq(b.start_ms, at(D_0308 - 6, 5, 0));
	cr_assert_eq(b.end_ms, at(D_0308 + 1, 4, 0));
	cr_assert_eq(b.end_ms - b.start_ms, 7 * DAY_MS - HOUR_MS);
	tzone_free(z);
}

Test(bucket, new_york_fall_back_day_is_25_hours)
{
	struct period_rules	 r = { .week_start = 6, .fiscal_year_start = 1 };
	struct tzone		*z = zone("America/New_York");
	struct bucket		 b;

	/* 2026-11-01T05:30Z is 01:30 EDT, the first of two 01:30s. */
	caltime_bucket(z, &r, PERIOD_DAY, at(D_1101, 5, 30), &b);
	cr_assert_eq(b.start_day, D_1101);
	cr_assert_eq(b.start_ms, at(D_1101, 4, 0));
	cr_assert_eq(b.end_ms, at(D_1101 + 1, 5, 0));
	cr_assert_eq(b.start_ms, 1793505600000LL);
	cr_assert_eq(b.end_ms - b.start_ms, 25 * HOUR_MS);

	/* The month of November starts in EDT and ends in EST. */
	caltime_bucket(z, &r, PERIOD_MONTH, at(D_1123, 12, 0), &b);
	cr_assert_eq(b.start_day, D_1101);
	cr_assert_eq(b.end_day, D_1101 + 30);
	cr_assert_eq(b.start_ms, at(D_1101, 4, 0));
	cr_assert_eq(b.end_ms, at(D_1101 + 30, 5, 0));

	/* Sunday-start week holding Sunday 11-01 itself. */
	caltime_bucket(z, &r, PERIOD_WEEK, at(D_1101, 12, 0), &b);
	cr_assert_eq(b.start_day, D_1101);
	cr_assert_eq(b.end_day, D_1101 + 7);
	cr_assert_eq(b.end_ms - b.start_ms, 7 * DAY_MS + HOUR_MS);
	tzone_free(z);
}

Test(bucket, berlin_spring_forward)
{
	struct period_rules	 r = { .week_start = 0, .fiscal_year_start = 2 };
	struct tzone		*z = zone("Europe/Berlin");
	struct bucket		 b;

	/* 2026-03-28T23:30Z is 00:30 CET on the 29th. */
	caltime_bucket(z, &r, PERIOD_DAY, at(D_0329 - 1, 23, 30), &b);
	cr_assert_eq(b.start_day, D_0329);
	cr_assert_eq(b.start_ms, at(D_0329 - 1, 23, 0));
	cr_assert_eq(b.end_ms, at(D_0329, 22, 0));
	cr_assert_eq(b.start_ms, 1774738800000LL);
	cr_assert_eq(b.end_ms - b.start_ms, 23 * HOUR_MS);

	/* Fiscal year from February: the quarter is Feb to Apr, from
	 * midnight CET on 02-01 to midnight CEST on 05-01. */
	caltime_bucket(z, &r, PERIOD_QUARTER, at(D_0329, 12, 0), &b);
	cr_assert_eq(b.start_day, Y2026 + 31);
	cr_assert_eq(b.end_day, Y2026 + 31 + 28 + 31 + 30);
	cr_assert_eq(b.start_ms, at(Y2026 + 31, 0, 0) - HOUR_MS);
	cr_assert_eq(b.end_ms, at(Y2026 + 120, 0, 0) - 2 * HOUR_MS);
	tzone_free(z);
}

Test(bucket, quarter_of_january_in_zone)
{
	struct period_rules	 r = { .week_start = 0, .fiscal_year_start = 2 };
	struct tzone		*z = zone("America/New_York");
	struct bucket		 b;

	/* 2027-01-01T03:00Z is still 2026-12-31 in New York. */
	caltime_bucket(z, &r, PERIOD_QUARTER, at(Y2026 + 365, 3, 0), &b);
	cr_assert_eq(b.start_day, D_1101);
	cr_assert_eq(b.end_day, Y2026 + 365 + 31);
	cr_assert_eq(b.start_ms, at(D_1101, 4, 0));
	cr_assert_eq(b.end_ms, at(Y2026 + 365 + 31, 5, 0));
	tzone_free(z);
}

Test(clock, wall_fixed_and_event)
{
	struct clock	c = { .mode = CLOCK_MODE_WALL };
	int64_t		now;

	now = clock_now(&c);
	cr_assert_gt(now, 1767225600000LL);	/* after 2026-01-01 */
	cr_assert_geq(caltime_wall_ms(), now);

	c.fixed_ms = at(D_1123, 14, 5);
	cr_assert_eq(clock_now(&c), at(D_1123, 14, 5));

	c = (struct clock){ .mode = CLOCK_MODE_EVENT };
	cr_assert_eq(clock_now(&c), 0);
	clock_observe(&c, 5000);
	cr_assert_eq(clock_now(&c), 5000);
	clock_observe(&c, 3000);		/* late events do not go back */
	cr_assert_eq(clock_now(&c), 5000);
	clock_observe(&c, 9000);
	cr_assert_eq(clock_now(&c), 9000);
}
