#ifndef PACED_PACING_H
#define PACED_PACING_H

/*
 * The arithmetic of pacing: how much working time of a period bucket a rep
 * has and how much of it has gone by, which target applies to a rep, KPI
 * and bucket, and how actual compares with the share of the target that
 * should be done by now. Pure: no I/O, no allocation, no global state. The
 * only state touched is the lookup cache inside the caller's struct tzone.
 *
 * Inputs are plain structs that point into memory the caller owns (the
 * loaded config, a roster); nothing here keeps a pointer after it returns.
 *
 * Working time. A calendar says which weekdays are working days and the
 * working hours as local wall-clock times; holidays are whole days off for
 * everyone, out-of-office (OOO) days whole days off for one rep. Both take
 * the day out of the period: nothing is expected of it, so a holiday
 * shrinks the period (the same target over fewer days) and an OOO day
 * shrinks the rep's own period (and prorates the rep's target, below).
 * Nothing outside the hours counts, so Friday 17:00, Saturday 23:00 and
 * the next Monday 09:00 read the same elapsed time.
 *
 * Daylight saving time. The hours are wall-clock times, and a working day
 * is measured as the real time between the instants its local start and
 * end map to (tzone_local_to_utc). A 09:00-17:00 day on a DST night is 480
 * minutes as usual, because the jump (02:00 in America/New_York) falls
 * outside the hours. When the jump falls inside the hours (a 00:00-24:00
 * calendar, or a zone that switches at midday), the day holds the real
 * time worked: 23 hours on a spring-forward day, 25 on a fall-back day,
 * and the elapsed part of the current day is real time since the start of
 * its hours, so it never jumps and never runs backwards.
 *
 * Targets. For one KPI, a value per period comes from four layers; the
 * first that sets the bucket's period wins:
 *	1. the rep's schedule entry in force at the bucket's start day;
 *	2. the rep's override;
 *	3. the role's schedule entry in force at the bucket's start day;
 *	4. the role's targets.
 * An entry is in force from its from_day until the next entry's; an entry
 * that leaves a period unset lets that period fall through to the next
 * layer, so a ramp ends with an entry that sets nothing (back to the role).
 * A rep with OOO days gets target * present days / working days of the
 * period, where working days exclude holidays and present days also
 * exclude the rep's OOO days that fall on working days. A period with no
 * working day at all (a Saturday, a holiday) has target 0.
 *
 * Pace, higher is better (calls, meetings, revenue):
 *	fraction	 elapsed working time / the rep's working time (0..1)
 *	expected_to_date target * fraction
 *	pace		 actual / expected_to_date; null when that is 0
 *	projected	 actual / fraction: the end-of-period value at the
 *			 rate so far (actual once all working time is over);
 *			 null before any working time has gone by
 *	required_rate	 (target - actual) / remaining working days, where
 *			 remaining days = remaining working time / the
 *			 calendar's working day (end - start); 0 once the
 *			 target is reached; null when no working time remains
 *			 and the target is not reached
 *	status		 not_started while fraction is 0 (before the first
 *			 working minute, or a period without working time);
 *			 then, on pace: ahead (>= ahead_above), on_pace
 *			 (>= warning_below), behind (>= critical_below),
 *			 critical (below). With a target of 0 and time gone
 *			 by, pace is null and the status on_pace: a zero
 *			 target cannot be missed.
 *
 * Pace, lower is better (a cap: no-shows, discount given). The target is
 * the most allowed in the period and expected_to_date the share of that
 * allowance that may have been used by now. Pace keeps "higher is better":
 *	pace		 expected_to_date / actual, at most PACING_PACE_CAP;
 *			 an actual of 0 (nothing used) is PACING_PACE_CAP
 *	projected	 actual / fraction, as above: usage at the end of the
 *			 period if it goes on at this rate
 *	required_rate	 the remaining budget per remaining working day:
 *			 (target - actual) / remaining days, 0 once the cap
 *			 is used up, null when no working time remains
 *	status		 as above, except that an actual above the target is
 *			 critical whatever the pace: the cap is broken and no
 *			 remaining time can mend it.
 *
 * "null" is a has_* flag, never NaN, so JSON output can write null.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"

/* Default status thresholds on pace (the alerts block may override the
 * last two). */
#define PACING_AHEAD_ABOVE	1.1
#define PACING_WARNING_BELOW	0.8
#define PACING_CRITICAL_BELOW	0.5
/* The best pace a lower-is-better KPI can show (nothing used at all). */
#define PACING_PACE_CAP		2.0

/* A team calendar as pacing needs it; config fills it from its own. */
struct pacing_calendar {
	unsigned	 working_days;	/* bit 0 = Monday ... bit 6 = Sunday */
	int		 work_start_min; /* minutes after local midnight */
	int		 work_end_min;	/* > start, at most 1440 */
	const int32_t	*holidays;	/* sorted day numbers; may repeat */
	size_t		 nholidays;
};

/* One rep's out-of-office days: sorted local day numbers; may repeat. */
struct pacing_absence {
	const int32_t	*days;
	size_t		 ndays;
};

/*
 * Working time of one bucket for one rep at one instant. All times are
 * milliseconds of working time.
 */
struct pacing_worktime {
	int64_t		 total_ms;	/* the rep's working time */
	int64_t		 elapsed_ms;	/* the part of it before now */
	int64_t		 day_ms;	/* one working day: end - start */
	int32_t		 days_period;	/* working days less holidays */
	int32_t		 days_present;	/* days_period less the rep's OOO */
};

/* One KPI's targets for each period; unset periods have no target. */
struct pacing_targets {
	bool		 set[PERIOD_COUNT];
	double		 value[PERIOD_COUNT];
};

/* Targets in force from local day from_day (a ramp step, a season). */
struct pacing_schedule_entry {
	int32_t			 from_day;
	struct pacing_targets	 targets;
};

/* Entries sorted by from_day, no two on the same day. */
struct pacing_schedule {
	const struct pacing_schedule_entry	*entries;
	size_t					 nentries;
};

/* Everything that may set one rep's target for one KPI. */
struct pacing_target_source {
	const struct pacing_targets	*role;	/* NULL: none */
	struct pacing_schedule		 role_schedule;
	const struct pacing_targets	*rep;	/* override; NULL: none */
	struct pacing_schedule		 rep_schedule;
};

enum pacing_direction {
	PACING_HIGHER_IS_BETTER,
	PACING_LOWER_IS_BETTER,
};

enum pacing_status {
	PACING_NOT_STARTED,
	PACING_AHEAD,
	PACING_ON_PACE,
	PACING_BEHIND,
	PACING_CRITICAL,
};

/* Pace thresholds: ahead_above >= warning_below >= critical_below. */
struct pacing_thresholds {
	double		 ahead_above;
	double		 warning_below;
	double		 critical_below;
};

/* The figures of one rep x KPI x bucket at one instant. */
struct pacing_figures {
	double			 actual;
	double			 target;
	double			 fraction;	/* elapsed working fraction */
	double			 expected_to_date;
	bool			 has_pace;
	double			 pace;
	bool			 has_projected;
	double			 projected;
	bool			 has_required_rate;
	double			 required_rate;
	enum pacing_status	 status;
};

/* Returns "not_started", "ahead", "on_pace", "behind" or "critical";
 * static storage. */
const char *pacing_status_name(enum pacing_status s);
/* Fills th (caller's) with the default thresholds. */
void pacing_thresholds_default(struct pacing_thresholds *th);

/* Borrows cal; true when day is a working weekday and not a holiday. */
bool pacing_is_working_day(const struct pacing_calendar *cal, int32_t day);
/*
 * Borrows all; counts the working days of bucket b (holidays excluded)
 * into *period and those the rep is present on (OOO excluded too) into
 * *present. Needs no zone. ooo may be NULL.
 */
void pacing_working_days(const struct pacing_calendar *cal,
    const struct pacing_absence *ooo, const struct bucket *b,
    int32_t *period, int32_t *present);
/*
 * Borrows all (z's cache is updated); fills wt with the working time of
 * bucket b (local days b->start_day .. b->end_day in zone z) for a rep
 * with OOO days ooo (NULL: none) at instant now_ms. Costs one zone lookup
 * per working day: callers pacing many reps of one team compute it once
 * with ooo NULL and apply each rep's OOO days with
 * pacing_worktime_apply_ooo.
 */
void pacing_worktime(const struct pacing_calendar *cal,
    const struct pacing_absence *ooo, struct tzone *z,
    const struct bucket *b, int64_t now_ms, struct pacing_worktime *wt);
/*
 * pacing_worktime in two steps, for callers that judge many instants of
 * one day: the working days of bucket b in zone z as of local day today
 * (one zone lookup per working day), then the working time at an instant
 * of that day (no lookup). pacing_worktime is the two, with today the
 * local day of now_ms, and the rep's OOO days applied after.
 */
struct pacing_workdays {
	int32_t		 today;		/* the local day it was made for */
	int32_t		 days_period;	/* working days less holidays */
	int64_t		 day_ms;	/* one working day: end - start */
	int64_t		 total_ms;	/* every working day's span */
	int64_t		 before_ms;	/* the spans of the days before today */
	int64_t		 today_start;	/* today's span, when it has one */
	int64_t		 today_len;
};
void pacing_workdays(const struct pacing_calendar *cal, struct tzone *z,
    const struct bucket *b, int32_t today, struct pacing_workdays *wd);
void pacing_worktime_at(const struct pacing_workdays *wd, int64_t now_ms,
    struct pacing_worktime *wt);
/*
 * Borrows all but wt (caller's, updated); takes the rep's OOO days out of
 * wt, which pacing_worktime filled for the same cal, z, b and now_ms with
 * no OOO days. Costs a zone lookup per OOO working day in the bucket.
 */
void pacing_worktime_apply_ooo(struct pacing_worktime *wt,
    const struct pacing_calendar *cal, const struct pacing_absence *ooo,
    struct tzone *z, const struct bucket *b, int64_t now_ms);
/* Borrows wt; elapsed / total working time, 0 when there is none. */
double pacing_worktime_fraction(const struct pacing_worktime *wt);
/* Borrows wt; the remaining working time in working days (fractional). */
double pacing_worktime_days_remaining(const struct pacing_worktime *wt);

/*
 * Borrows src; resolves the target of period p in force at local day
 * `day` (a bucket's start day) through the layers above. Returns 0 with
 * *value, or -1 when no layer sets p.
 */
int pacing_target_resolve(const struct pacing_target_source *src,
    enum period p, int32_t day, double *value);
/* Returns target * present / period, or 0 when period is 0. */
double pacing_target_prorate(double target, int32_t days_period,
    int32_t days_present);
/*
 * Borrows all; the rep's target for bucket b: resolved at b->start_day
 * for b->period, prorated with wt's day counts. Returns 0 with *value, or
 * -1 when no layer sets the period.
 */
int pacing_target(const struct pacing_target_source *src,
    const struct bucket *b, const struct pacing_worktime *wt, double *value);

/*
 * Borrows wt and th (NULL: the defaults); fills out (caller's) with the
 * figures for actual against target (both >= 0; anything else reads as
 * 0) over working time wt, in direction dir.
 */
void pacing_evaluate(double actual, double target, enum pacing_direction dir,
    const struct pacing_worktime *wt, const struct pacing_thresholds *th,
    struct pacing_figures *out);

#endif
