#ifndef PACED_CALTIME_H
#define PACED_CALTIME_H

/*
 * Time: RFC 3339 parsing and formatting, IANA time zones (through ICU, so
 * each team has its own zone object and no process-wide TZ is touched),
 * period buckets (day, week, month, fiscal quarter) in a team's zone, and
 * the injectable clock (wall or event watermark).
 *
 * All instants are int64_t milliseconds since the Unix epoch, UTC.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum period {
	PERIOD_DAY,
	PERIOD_WEEK,
	PERIOD_MONTH,
	PERIOD_QUARTER,
	PERIOD_COUNT
};

/* Returns "day", "week", "month" or "quarter"; static storage. */
const char *caltime_period_name(enum period p);
/* Parses a period name; returns 0 or -1. */
int caltime_period_parse(const char *s, enum period *out);

/*
 * Parses RFC 3339 date-time with a mandatory offset ("Z" or +hh:mm/-hh:mm),
 * optional fractional seconds (truncated to milliseconds). Borrows s (len
 * bytes, need not be NUL-terminated). Returns 0 and sets *ms, or -1.
 */
int caltime_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/* a / b rounded toward minus infinity (b > 0 or b < 0, never 0): the day
 * or boundary index of an instant before 1970 too. */
int64_t caltime_floor_div(int64_t a, int64_t b);

/* Formats ms as UTC RFC 3339 with milliseconds ("2026-11-23T14:05:00.000Z")
 * into buf (at least 25 bytes). */
void caltime_format_utc(int64_t ms, char *buf, size_t buflen);

/* Formats ms as local time at the given UTC offset, to the second, with
 * the offset ("2026-11-23T00:00:00-05:00"), into buf (at least 26 bytes). */
void caltime_format_local(int64_t ms, int32_t offset_ms, char *buf,
    size_t buflen);

/* Parses "YYYY-MM-DD" into a day number (days since 1970-01-01, proleptic
 * Gregorian); returns 0 or -1. */
int caltime_parse_date(const char *s, int32_t *day);
/* Formats a day number as "YYYY-MM-DD" into buf (at least 11 bytes). */
void caltime_format_date(int32_t day, char *buf, size_t buflen);
/* Civil date conversions on day numbers (no time zone involved). */
int32_t caltime_days_from_civil(int y, unsigned m, unsigned d);
void caltime_civil_from_days(int32_t day, int *y, unsigned *m, unsigned *d);
/* Day of week of a day number: 0 = Monday ... 6 = Sunday. */
int caltime_weekday(int32_t day);

/* Parses durations "500ms", "30s", "5m", "2h", "35d" into ms; 0 or -1. */
int caltime_parse_duration(const char *s, int64_t *ms);

/* An IANA time zone. Opaque. */
struct tzone;

/* Opens zone "America/New_York"; returns owned zone (free with
 * tzone_free) or NULL with a reason in err. Unknown names fail. */
struct tzone *tzone_open(const char *iana, char *err, size_t errlen);
/* Frees z; NULL does nothing. */
void tzone_free(struct tzone *z);
/* Borrows z; returns its IANA name (valid while z lives). */
const char *tzone_name(const struct tzone *z);
/* UTC offset in ms (standard plus daylight) of zone z at instant ms. */
int32_t tzone_offset_at(struct tzone *z, int64_t ms);
/* Local day number of instant ms in zone z. */
int32_t tzone_local_day(struct tzone *z, int64_t ms);
/* The UTC instant of local wall time day + minute_of_day in zone z. In a
 * DST gap the time moves forward; in an overlap the earlier instant wins. */
int64_t tzone_local_to_utc(struct tzone *z, int32_t day, int minute_of_day);

/* How a team's calendar cuts periods. */
struct period_rules {
	int week_start;		/* 0 = Monday ... 6 = Sunday */
	int fiscal_year_start;	/* month 1..12; quarters follow it */
};

/* A period bucket in one zone: local start day (inclusive) and end day
 * (exclusive), and the UTC instants of their local midnights. */
struct bucket {
	enum period period;
	int32_t start_day;
	int32_t end_day;
	int64_t start_ms;
	int64_t end_ms;
};

/* Computes the bucket of period p that holds local day `day`; borrows r.
 * Pure: start_ms/end_ms are the days' midnights read as UTC. */
void caltime_bucket_of_day(const struct period_rules *r, enum period p,
    int32_t day, struct bucket *b);
/* Computes the bucket of period p holding instant ms in zone z, with the
 * UTC bounds filled in. */
void caltime_bucket(struct tzone *z, const struct period_rules *r,
    enum period p, int64_t ms, struct bucket *b);

/*
 * The clock. Wall time by default; event mode follows the highest event
 * time seen (the watermark), for replays, tests and backtests.
 */
enum clock_mode {
	CLOCK_MODE_WALL,
	CLOCK_MODE_EVENT,
};

struct clock {
	enum clock_mode mode;
	int64_t watermark_ms;	/* event mode: highest occurred_at seen */
	int64_t fixed_ms;	/* when non-zero, wall mode returns this (tests) */
};

/* Returns the wall time now in ms. */
int64_t caltime_wall_ms(void);
/* Returns a monotonic time in ms (deadlines, ages; not a date). */
int64_t caltime_mono_ms(void);
/* Returns the clock's current time in ms. */
int64_t clock_now(const struct clock *c);
/* Feeds an event time; moves the watermark forward in event mode. */
void clock_observe(struct clock *c, int64_t event_ms);

#endif
