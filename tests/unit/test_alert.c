#include "alert.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* alerts: {warning_below: 0.8, critical_below: 0.5, grace: 0.2,
 * repeat_interval: 4h} */
static const struct alert_rules rules = {
	.warning_below = 0.8,
	.critical_below = 0.5,
	.grace = 0.2,
	.repeat_interval_ms = 4 * 3600 * 1000,
};

#define HOUR	(3600 * 1000LL)
#define MIN	(60 * 1000LL)
#define T0	1795424400000LL	/* 2026-11-23T09:00:00Z, a Monday */

/* One step with worked_ms given: the working time of the period gone by. */
static struct alert_action
step_w(struct alert_state *st, enum alert_pace status, double pace,
    double elapsed, int64_t worked_ms, int64_t now_ms)
{
	struct alert_input in = {
		.status = status,
		.pace = pace,
		.elapsed = elapsed,
		.worked_ms = worked_ms,
		.now_ms = now_ms,
		.period_ended = false,
	};
	struct alert_action a;

	alert_step(&rules, st, &in, &a);
	return a;
}

/*
 * One step where all the time since T0 is working time (one long working
 * stretch), so that wall and working time agree; the tests of repeats
 * outside working hours use step_w.
 */
static struct alert_action
step(struct alert_state *st, enum alert_pace status, double pace,
    double elapsed, int64_t now_ms)
{
	return step_w(st, status, pace, elapsed, now_ms - T0, now_ms);
}

static struct alert_action
step_ended(struct alert_state *st, enum alert_pace status, double pace,
    int64_t now_ms)
{
	struct alert_input in = {
		.status = status,
		.pace = pace,
		.elapsed = 1.0,
		.now_ms = now_ms,
		.period_ended = true,
	};
	struct alert_action a;

	alert_step(&rules, st, &in, &a);
	return a;
}

static void
assert_nothing(const struct alert_action *a)
{
	cr_assert_not(a->send);
	cr_assert_not(a->escalate);
	cr_assert_not(a->repeat);
}

static void
assert_state(const struct alert_state *st, enum alert_level level,
    int64_t fired, int64_t sent, uint32_t repeats)
{
	cr_assert_eq(st->level, level);
	cr_assert_eq(st->fired_at_ms, fired);
	cr_assert_eq(st->last_sent_ms, sent);
	cr_assert_eq(st->repeats, repeats);
}

Test(alert, on_pace_to_behind_fires_warning)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_ON_PACE, 0.95, 0.3, T0);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.35, T0 + HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert_not(a.escalate);
	cr_assert_not(a.repeat);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_NONE);
	cr_assert_eq(a.reason, ALERT_REASON_FIRED);
	assert_state(&st, ALERT_LEVEL_WARNING, T0 + HOUR, T0 + HOUR, 0);

	/* Still behind a minute later: a transition fires once. */
	a = step(&st, ALERT_PACE_BEHIND, 0.69, 0.36, T0 + HOUR + 60000);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_WARNING, T0 + HOUR, T0 + HOUR, 0);
}

Test(alert, warning_escalates_to_critical)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.3, T0);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);

	a = step(&st, ALERT_PACE_CRITICAL, 0.45, 0.4, T0 + 2 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_not(a.repeat);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_WARNING);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);
	assert_state(&st, ALERT_LEVEL_CRITICAL, T0 + 2 * HOUR, T0 + 2 * HOUR,
	    0);

	a = step(&st, ALERT_PACE_CRITICAL, 0.40, 0.45, T0 + 3 * HOUR);
	assert_nothing(&a);
}

Test(alert, straight_to_critical_is_an_escalation)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_CRITICAL, 0.3, 0.5, T0);
	cr_assert(a.send);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_NONE);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);
}

/* Under step() all time is working time: wall and working time agree. */
Test(alert, repeats_after_the_interval_and_not_before)
{
	struct alert_state st = { 0 };
	struct alert_action a;
	int64_t iv = rules.repeat_interval_ms;

	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.3, T0);
	cr_assert(a.send);

	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0 + iv - 1);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0, 0);

	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0 + iv);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	/* Same severity, so the same alert id. */
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert(a.repeat);
	cr_assert_not(a.escalate);
	cr_assert_eq(a.reason, ALERT_REASON_REPEAT);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0 + iv, 1);

	/* The next interval counts from the repeat. */
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.6, T0 + 2 * iv - 1);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.6, T0 + 2 * iv);
	cr_assert(a.send);
	cr_assert(a.repeat);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0 + 2 * iv, 2);
}

/*
 * The interval counts the rep's working time (09:00-17:00 here), not wall
 * time. A silent rep's day alert fires critical at Monday 10:45, 105
 * working minutes in: the repeat falls due at 345 working minutes, 14:45.
 * The day's hours end at 17:00 with 135 minutes since then, and no more
 * working time comes before the bucket ends at midnight: no repeat at
 * 18:45 or 22:45 ("Needs 40 more today" to a manager at night), which
 * wall time would send.
 */
Test(alert, repeats_count_working_time_not_wall_time)
{
	struct alert_state st = { 0 };
	struct alert_action a;
	const int64_t day = T0 - 9 * HOUR;	/* Monday 00:00 */

	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 105.0 / 480, 105 * MIN,
	    day + 10 * HOUR + 45 * MIN);
	cr_assert(a.send);
	cr_assert_eq(st.last_sent_worked_ms, 105 * MIN);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 344.0 / 480, 344 * MIN,
	    day + 14 * HOUR + 44 * MIN);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 345.0 / 480, 345 * MIN,
	    day + 14 * HOUR + 45 * MIN);
	cr_assert(a.send);
	cr_assert(a.repeat);
	assert_state(&st, ALERT_LEVEL_CRITICAL, day + 10 * HOUR + 45 * MIN,
	    day + 14 * HOUR + 45 * MIN, 1);
	cr_assert_eq(st.last_sent_worked_ms, 345 * MIN);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 1, 480 * MIN, day + 17 * HOUR);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 1, 480 * MIN,
	    day + 18 * HOUR + 45 * MIN);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 1, 480 * MIN,
	    day + 22 * HOUR + 45 * MIN);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0, 1, 480 * MIN,
	    day + 23 * HOUR + 59 * MIN);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_CRITICAL, day + 10 * HOUR + 45 * MIN,
	    day + 14 * HOUR + 45 * MIN, 1);
}

/*
 * A week alert across a night: sent Thursday 15:00, 30 of the week's 40
 * working hours in. Thursday 17:00 to Friday 09:00 adds nothing, so the
 * evaluations at 19:00, 23:00, 03:00 and 07:00 (4 h of wall time apart)
 * send nothing; the repeat falls due at 34 working hours, Friday 11:00.
 */
Test(alert, week_repeat_waits_for_the_next_working_morning)
{
	struct alert_state st = { 0 };
	struct alert_action a;
	const int64_t thu = T0 + 3 * 24 * HOUR;	/* Thursday 09:00 */

	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.75, 30 * HOUR,
	    thu + 6 * HOUR);
	cr_assert(a.send);
	for (int h = 10; h <= 22; h += 4) {
		a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.8, 32 * HOUR,
		    thu + h * HOUR);
		assert_nothing(&a);
	}
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.85, 34 * HOUR - 1,
	    thu + 26 * HOUR - 1);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.85, 34 * HOUR,
	    thu + 26 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	assert_state(&st, ALERT_LEVEL_WARNING, thu + 6 * HOUR,
	    thu + 26 * HOUR, 1);
	cr_assert_eq(st.last_sent_worked_ms, 34 * HOUR);
}

/*
 * Working time that went backwards (a holiday or an out-of-office day
 * added to the calendar for a day already worked) repeats nothing until
 * it has made up the difference and the interval.
 */
Test(alert, worked_time_going_back_repeats_nothing_until_caught_up)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 5 * HOUR, T0);
	cr_assert(a.send);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 3 * HOUR, T0 + 10 * HOUR);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 9 * HOUR - 1,
	    T0 + 20 * HOUR);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 9 * HOUR, T0 + 21 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);

	/* A negative working time reads as 0. */
	memset(&st, 0, sizeof(st));
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, -5, T0);
	cr_assert(a.send);
	cr_assert_eq(st.last_sent_worked_ms, 0);
}

Test(alert, critical_repeats_keep_escalating)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_CRITICAL, 0.2, 0.3, T0);
	cr_assert(a.send);
	a = step(&st, ALERT_PACE_CRITICAL, 0.2, 0.5, T0 + 4 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_NONE);
}

Test(alert, no_repeat_when_disabled_or_clock_went_back)
{
	struct alert_rules norepeat = rules;
	struct alert_input in = {
		.status = ALERT_PACE_BEHIND, .pace = 0.7, .elapsed = 0.5,
		.now_ms = T0,
	};
	struct alert_state st = { 0 };
	struct alert_action a;

	norepeat.repeat_interval_ms = 0;
	alert_step(&norepeat, &st, &in, &a);
	cr_assert(a.send);
	in.now_ms = T0 + 1000 * HOUR;
	alert_step(&norepeat, &st, &in, &a);
	assert_nothing(&a);

	memset(&st, 0, sizeof(st));
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0);
	cr_assert(a.send);
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0 - 5 * HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0, 0);
}

Test(alert, back_on_pace_resolves_once)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	step(&st, ALERT_PACE_BEHIND, 0.7, 0.3, T0);
	a = step(&st, ALERT_PACE_ON_PACE, 0.85, 0.4, T0 + HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert_not(a.escalate);
	cr_assert_not(a.repeat);
	cr_assert_eq(a.reason, ALERT_REASON_RECOVERED);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	a = step(&st, ALERT_PACE_ON_PACE, 0.9, 0.45, T0 + 2 * HOUR);
	assert_nothing(&a);

	/* Falling behind again fires again. */
	a = step(&st, ALERT_PACE_BEHIND, 0.75, 0.5, T0 + 3 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert_eq(a.reason, ALERT_REASON_FIRED);
}

Test(alert, ahead_resolves_critical_to_the_same_audience)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	step(&st, ALERT_PACE_CRITICAL, 0.1, 0.3, T0);
	a = step(&st, ALERT_PACE_AHEAD, 1.3, 0.6, T0 + 5 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.reason, ALERT_REASON_RECOVERED);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);
}

Test(alert, period_end_resolves_a_firing_alert)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	step(&st, ALERT_PACE_BEHIND, 0.6, 0.5, T0);
	a = step_ended(&st, ALERT_PACE_BEHIND, 0.6, T0 + 10 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert_eq(a.reason, ALERT_REASON_PERIOD_ENDED);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	/* Once ended, nothing more: not a second resolve, not a new fire. */
	a = step_ended(&st, ALERT_PACE_CRITICAL, 0.1, T0 + 11 * HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);
}

Test(alert, period_end_resolves_critical)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	step(&st, ALERT_PACE_CRITICAL, 0.0, 0.5, T0);
	a = step_ended(&st, ALERT_PACE_CRITICAL, 0.0, T0 + HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.reason, ALERT_REASON_PERIOD_ENDED);
}

/* A pair no longer judged: a firing alert resolves once, whatever the
 * pace says; a quiet state sends nothing. */
Test(alert, not_evaluated_resolves_a_firing_alert)
{
	struct alert_state st = { 0 };
	struct alert_input in = { .status = ALERT_PACE_CRITICAL, .pace = 0.1,
	    .elapsed = 0.5, .now_ms = T0 + HOUR, .not_evaluated = true };
	struct alert_action a;

	step(&st, ALERT_PACE_CRITICAL, 0.0, 0.5, T0);
	alert_step(&rules, &st, &in, &a);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.reason, ALERT_REASON_NOT_EVALUATED);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);
	alert_step(&rules, &st, &in, &a);
	assert_nothing(&a);
}

Test(alert, nothing_fires_inside_the_grace_share)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_CRITICAL, 0.0, 0.0, T0);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_CRITICAL, 0.0, 0.19, T0 + HOUR);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.19, T0 + HOUR);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_CRITICAL, 0.0, NAN, T0 + HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	a = step(&st, ALERT_PACE_CRITICAL, 0.0, 0.2, T0 + 2 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
}

Test(alert, not_started_never_fires_nor_resolves)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_NOT_STARTED, 0.0, 0.5, T0);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_NOT_STARTED, NAN, 0.9, T0 + 9 * HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0);
	a = step(&st, ALERT_PACE_NOT_STARTED, NAN, 0.5, T0 + 9 * HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0, 0);
}

Test(alert, zero_activity_fires_critical_after_grace)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	/* Nothing logged all morning: actual 0, so pace 0. */
	a = step(&st, ALERT_PACE_CRITICAL, 0.0, 0.1, T0 + HOUR);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_CRITICAL, 0.0, 0.25, T0 + 2 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	assert_state(&st, ALERT_LEVEL_CRITICAL, T0 + 2 * HOUR, T0 + 2 * HOUR,
	    0);
}

Test(alert, critical_improving_to_warning_holds_quietly)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	step(&st, ALERT_PACE_CRITICAL, 0.3, 0.3, T0);
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.4, T0 + HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_CRITICAL, T0, T0, 0);

	/* No reminders while only at warning level, even past the interval. */
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.6, T0 + 5 * HOUR);
	assert_nothing(&a);

	/* Back below critical_below: no new fire, but the overdue repeat. */
	a = step(&st, ALERT_PACE_CRITICAL, 0.45, 0.6, T0 + 5 * HOUR + 1);
	cr_assert(a.send);
	cr_assert(a.repeat);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_NONE);
	assert_state(&st, ALERT_LEVEL_CRITICAL, T0, T0 + 5 * HOUR + 1, 1);

	a = step(&st, ALERT_PACE_ON_PACE, 0.9, 0.7, T0 + 6 * HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
}

Test(alert, behind_above_the_warning_line_neither_fires_nor_resolves)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	/* Pacing cut "behind" at 0.9; the alert rules say warn below 0.8. */
	a = step(&st, ALERT_PACE_BEHIND, 0.85, 0.5, T0);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);

	step(&st, ALERT_PACE_BEHIND, 0.75, 0.5, T0);
	a = step(&st, ALERT_PACE_BEHIND, 0.85, 0.6, T0 + HOUR);
	assert_nothing(&a);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0, 0);
	a = step(&st, ALERT_PACE_BEHIND, 0.85, 0.8, T0 + 5 * HOUR);
	assert_nothing(&a);
}

Test(alert, pace_thresholds_are_strict)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_BEHIND, 0.8, 0.5, T0);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_BEHIND, 0.5, 0.5, T0);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	a = step(&st, ALERT_PACE_CRITICAL, 0.4999, 0.5, T0);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
}

Test(alert, non_finite_pace_follows_the_status)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_BEHIND, NAN, 0.5, T0);
	cr_assert(a.send);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	a = step(&st, ALERT_PACE_CRITICAL, INFINITY, 0.5, T0);
	cr_assert(a.send);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
}

/*
 * A lower-is-better KPI over its cap: pacing says critical whatever the
 * pace. 11 no-shows against a weekly cap of 10 on Friday at 14:15 (93%
 * of the week's working time): 9.3 of the allowance may be used by now,
 * so the pace is 9.3125 / 11 = 0.85, above both lines.
 */
Test(alert, broken_cap_is_critical_whatever_the_pace)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	a = step(&st, ALERT_PACE_CRITICAL, 9.3125 / 11, 0.93125, T0);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_FIRING);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert(a.escalate);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);
	assert_state(&st, ALERT_LEVEL_CRITICAL, T0, T0, 0);

	/* The pace keeps rising with time; the alert stays critical and
	 * repeats at critical level. */
	a = step(&st, ALERT_PACE_CRITICAL, 0.89, 0.95, T0 + HOUR);
	assert_nothing(&a);
	a = step(&st, ALERT_PACE_CRITICAL, 0.95, 0.99, T0 + 4 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);

	/* A warning already firing escalates when the cap breaks. */
	memset(&st, 0, sizeof(st));
	a = step(&st, ALERT_PACE_BEHIND, 0.7, 0.5, T0);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	a = step(&st, ALERT_PACE_CRITICAL, 0.9, 0.6, T0 + HOUR);
	cr_assert(a.send);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_WARNING);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);

	/* Still nothing inside the grace share. */
	memset(&st, 0, sizeof(st));
	a = step(&st, ALERT_PACE_CRITICAL, 1.0 / 11, 0.1, T0);
	assert_nothing(&a);
}

Test(alert, state_format_parse_round_trip)
{
	static const struct {
		struct alert_state st;
		const char *s;
	} cases[] = {
		{ { ALERT_LEVEL_NONE, 0, 0, 0, 0,
	    ALERT_PENDING_NONE, 0, 0 }, "a2:n:0:0:0:0" },
		{ { ALERT_LEVEL_WARNING, 1795438800000LL, 1795453200000LL, 1,
		    5 * HOUR,
	    ALERT_PENDING_NONE, 0, 0 }, "a2:w:1795438800000:1795453200000:1:18000000" },
		{ { ALERT_LEVEL_CRITICAL, 0, 0, 0, 0,
	    ALERT_PENDING_NONE, 0, 0 }, "a2:c:0:0:0:0" },
		{ { ALERT_LEVEL_CRITICAL, INT64_MAX, INT64_MAX, UINT32_MAX,
		    INT64_MAX,
	    ALERT_PENDING_NONE, 0, 0 }, "a2:c:9223372036854775807:9223372036854775807:"
		    "4294967295:9223372036854775807" },
		/* Read from "a1": written back as it came. */
		{ { ALERT_LEVEL_WARNING, 5, 7, 2, ALERT_WORKED_UNKNOWN,
	    ALERT_PENDING_NONE, 0, 0 },
		    "a1:w:5:7:2" },
	};
	char buf[ALERT_STATE_SIZE];
	struct alert_state st;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(alert_state_format(&cases[i].st, buf, sizeof(buf)),
		    0);
		cr_assert_str_eq(buf, cases[i].s);
		memset(&st, 0xa5, sizeof(st));
		cr_assert_eq(alert_state_parse(buf, strlen(buf), &st), 0,
		    "%s", buf);
		assert_state(&st, cases[i].st.level, cases[i].st.fired_at_ms,
		    cases[i].st.last_sent_ms, cases[i].st.repeats);
		cr_assert_eq(st.last_sent_worked_ms,
		    cases[i].st.last_sent_worked_ms, "%s", buf);
	}

	/* len bounds the parse: a longer buffer need not be terminated. */
	cr_assert_eq(alert_state_parse("a2:w:5:7:0:3XYZ", 12, &st), 0);
	assert_state(&st, ALERT_LEVEL_WARNING, 5, 7, 0);
	cr_assert_eq(st.last_sent_worked_ms, 3);

	/* A state stepped by alert_step survives the trip. */
	memset(&st, 0, sizeof(st));
	step(&st, ALERT_PACE_CRITICAL, 0.1, 0.5, T0 + HOUR);
	step(&st, ALERT_PACE_CRITICAL, 0.1, 0.5, T0 + 5 * HOUR);
	cr_assert_eq(alert_state_format(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a2:c:1795428000000:1795442400000:1:18000000");
}

/*
 * States stored before repeats counted working time ("a1") still load.
 * One that fires does not know the working time of its last message:
 * alert_step then repeats by wall time (the evaluator works the value out
 * from the calendar before it steps, see test_evaluate), and the message
 * it sends stores it, so from then on the interval counts working time.
 */
Test(alert, a1_states_load_and_repeat_by_wall_time_once)
{
	struct alert_state st;
	struct alert_action a;
	char buf[ALERT_STATE_SIZE];

	cr_assert_eq(alert_state_parse("a1:n:0:0:0", 10, &st), 0);
	assert_state(&st, ALERT_LEVEL_NONE, 0, 0, 0);
	cr_assert_eq(st.last_sent_worked_ms, 0, "nothing fires: no unknown");
	cr_assert_eq(alert_state_format(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a2:n:0:0:0:0");

	/* A warning last sent at T0 (Monday 09:00). */
	cr_assert_eq(alert_state_parse("a1:w:1795424400000:1795424400000:0",
	    34, &st), 0);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0, 0);
	cr_assert_eq(st.last_sent_worked_ms, ALERT_WORKED_UNKNOWN);

	/* Wall time decides: not at T0 + 4h - 1ms whatever the working time
	 * says, at T0 + 4h even though little working time has gone by. */
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 8 * HOUR,
	    T0 + 4 * HOUR - 1);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 10 * MIN, T0 + 4 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);
	assert_state(&st, ALERT_LEVEL_WARNING, T0, T0 + 4 * HOUR, 1);
	cr_assert_eq(st.last_sent_worked_ms, 10 * MIN);

	/* From here working time counts: 4h of wall time is not enough. */
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 20 * MIN, T0 + 8 * HOUR);
	assert_nothing(&a);
	a = step_w(&st, ALERT_PACE_BEHIND, 0.7, 0.5, 250 * MIN,
	    T0 + 9 * HOUR);
	cr_assert(a.send);
	cr_assert(a.repeat);
	cr_assert_eq(alert_state_format(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a2:w:1795424400000:1795456800000:2:15000000");

	/* A clock set back repeats nothing for an "a1" state either. */
	cr_assert_eq(alert_state_parse("a1:c:1795424400000:1795424400000:0",
	    34, &st), 0);
	a = step_w(&st, ALERT_PACE_CRITICAL, 0.1, 0.5, 8 * HOUR, T0 - HOUR);
	assert_nothing(&a);
}

Test(alert, state_format_refuses_small_buffers_and_bad_states)
{
	struct alert_state st = { ALERT_LEVEL_WARNING, 10, 20, 0, 30,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad1 = { ALERT_LEVEL_NONE, 5, 5, 0, 0,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad2 = { ALERT_LEVEL_WARNING, 20, 10, 0, 0,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad3 = { ALERT_LEVEL_WARNING, -1, 10, 0, 0,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad4 = { ALERT_LEVEL_WARNING, 10, 20, 0, -2,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad5 = { ALERT_LEVEL_NONE, 0, 0, 0, 7,
	    ALERT_PENDING_NONE, 0, 0 };
	struct alert_state bad6 = { ALERT_LEVEL_NONE, 0, 0, 0,
	    ALERT_WORKED_UNKNOWN,
	    ALERT_PENDING_NONE, 0, 0 };
	char buf[ALERT_STATE_SIZE];

	/* "a2:w:10:20:0:30" is 15 bytes: 16 fit, 15 do not. */
	cr_assert_eq(alert_state_format(&st, buf, 16), 0);
	cr_assert_str_eq(buf, "a2:w:10:20:0:30");
	cr_assert_eq(alert_state_format(&st, buf, 15), -1);
	cr_assert_eq(alert_state_format(&bad1, buf, sizeof(buf)), -1);
	cr_assert_eq(alert_state_format(&bad2, buf, sizeof(buf)), -1);
	cr_assert_eq(alert_state_format(&bad3, buf, sizeof(buf)), -1);
	cr_assert_eq(alert_state_format(&bad4, buf, sizeof(buf)), -1);
	cr_assert_eq(alert_state_format(&bad5, buf, sizeof(buf)), -1);
	cr_assert_eq(alert_state_format(&bad6, buf, sizeof(buf)), -1);
}

Test(alert, state_parse_rejects_garbage)
{
	static const char *bad[] = {
		"", "a", "a1", "a1:", "a1:w", "a1:w:", "a1:w:1", "a1:w:1:",
		"a1:w:1:1", "a1:w:1:1:", "a1:w:1:1:0:", "a1:w:1:1:0 ",
		" a1:w:1:1:0", "a2:w:1:1:0", "A1:w:1:1:0", "b1:w:1:1:0",
		"a1:x:1:1:0", "a1:W:1:1:0", "a1:ww:1:1:0", "a1::1:1:0",
		"a1:w::1:0", "a1:w:1::0", "a1:w:1:1:-0", "a1:w:-1:1:0",
		"a1:w:+1:1:0", "a1:w:01:1:0", "a1:w:1:01:0", "a1:w:1:1:00",
		"a1:w:1x:1:0", "a1:w:0x1:1:0", "a1:w:1.0:1:0", "a1;w;1;1;0",
		"a1:w:2:1:0",			/* sent before fired */
		"a1:n:5:5:0",			/* none, yet times */
		"a1:n:0:0:1",
		"a1:w:9223372036854775808:9223372036854775808:0",
		"a1:w:99999999999999999999:99999999999999999999:0",
		"a1:w:1:1:4294967296",
		"{\"level\":\"warning\"}",
		/* "a2": the same rules, and the working time last. */
		"a2", "a2:", "a2:w:1:1:0:", "a2:w:1:1:0:1:",
		"a2:w:1:1:0:1 ", "a2:w:1:1:0:-1", "a2:w:1:1:0:+1",
		"a2:w:1:1:0:01", "a2:w:1:1:0:1x", "a2:w:1:1:0:1.0",
		"a2:w:1:1:0:9223372036854775808", "a2:w:2:1:0:0",
		"a2:n:0:0:0:5",			/* none, yet working time */
		"a2:n:5:5:0:0", "A2:w:1:1:0:0", "a3:w:1:1:0:0",
		"a1:w:1:1:0:0",			/* "a1" has no working time */
	};
	static const struct alert_state keep = {
		ALERT_LEVEL_CRITICAL, 3, 4, 5, 6, ALERT_PENDING_NONE, 0, 0
	};
	struct alert_state st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = keep;
		cr_assert_eq(alert_state_parse(bad[i], strlen(bad[i]), &st), -1,
		    "accepted \"%s\"", bad[i]);
		assert_state(&st, keep.level, keep.fired_at_ms,
		    keep.last_sent_ms, keep.repeats);
		cr_assert_eq(st.last_sent_worked_ms, keep.last_sent_worked_ms);
	}

	/* An embedded NUL, and a length cutting a valid string short. */
	cr_assert_eq(alert_state_parse("a1:w:1\0:1:0", 11, &st), -1);
	cr_assert_eq(alert_state_parse("a1:w:1:1:0", 9, &st), -1);
	cr_assert_eq(alert_state_parse(NULL, 0, &st), -1);
}

/*
 * Expected ids from an independent Python FNV-1a 64 (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3; it gives af63dc4c8601ec8c for
 * "a", the published vector) over b"r007\0calls\0week\020780\0warning",
 * and the like; 20780 is 2026-11-23 as days since 1970-01-01.
 */
Test(alert, id_is_stable_and_differs_by_severity)
{
	char id[ALERT_ID_SIZE], id2[ALERT_ID_SIZE];

	alert_id("r007", "calls", "week", 20780, ALERT_LEVEL_WARNING, id);
	cr_assert_str_eq(id, "cada162c75b14a1e");
	alert_id("r007", "calls", "week", 20780, ALERT_LEVEL_CRITICAL, id2);
	cr_assert_str_eq(id2, "7131fb6de4f2c8ef");
	cr_assert_str_neq(id, id2);

	alert_id("r007", "calls", "week", 20787, ALERT_LEVEL_WARNING, id);
	cr_assert_str_eq(id, "847423be5e0afe37");
	alert_id("r008", "calls", "week", 20780, ALERT_LEVEL_WARNING, id);
	cr_assert_str_eq(id, "2858ff68197a0511");
	alert_id("r007", "calls", "day", 20780, ALERT_LEVEL_CRITICAL, id);
	cr_assert_str_eq(id, "d4b817c8b2e2ef2f");
	alert_id("r007", "conversations", "week", 20780, ALERT_LEVEL_CRITICAL,
	    id);
	cr_assert_str_eq(id, "d4b62c3ab8b688ce");
	alert_id("r1", "k", "day", -5, ALERT_LEVEL_WARNING, id);
	cr_assert_str_eq(id, "f07fe0e009c29243");

	/* Same inputs, same id. */
	alert_id("r007", "calls", "week", 20780, ALERT_LEVEL_CRITICAL, id);
	cr_assert_str_eq(id, id2);
	cr_assert_eq(strlen(id), ALERT_ID_SIZE - 1);
}

static const struct alert_facts week_facts = {
	.rep_id = "r007", .kpi = "calls", .period = "week",
	.actual = 21, .target = 250, .expected = 50, .pace = 0.42,
	.required_rate = 56.2,
};

Test(alert, message_firing)
{
	struct alert_action a = { .send = true, .status = ALERT_STATUS_FIRING,
	    .severity = ALERT_LEVEL_CRITICAL, .escalate = true };
	char buf[ALERT_MESSAGE_SIZE];

	cr_assert_eq(alert_message(&week_facts, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r007 is at 42% of the expected calls for this "
	    "week (21 of 50 expected by now; target 250). Needs 57 a working "
	    "day to hit target.");

	a.repeat = true;
	cr_assert_eq(alert_message(&week_facts, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r007 is still at 42% of the expected calls for "
	    "this week (21 of 50 expected by now; target 250). Needs 57 a "
	    "working day to hit target.");
}

Test(alert, message_day_fractions_and_rounding)
{
	struct alert_facts f = {
		.rep_id = "r001", .kpi = "meetings_scheduled",
		.period = "day", .actual = 1, .target = 4, .expected = 2.5,
		.pace = 0.4, .required_rate = 6,
	};
	struct alert_action a = { .send = true, .status = ALERT_STATUS_FIRING,
	    .severity = ALERT_LEVEL_CRITICAL };
	char buf[ALERT_MESSAGE_SIZE];

	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r001 is at 40% of the expected "
	    "meetings_scheduled for today (1 of 2.5 expected by now; target "
	    "4). Needs 3 more today to hit target.");

	/* 0.7999 is below a 0.8 line: it must not read as 80%. */
	f.period = "month";
	f.actual = 1234.56;
	f.expected = 1543.4;
	f.target = 20000;
	f.pace = 0.7999;
	f.required_rate = 0.31;
	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r001 is at 79% of the expected "
	    "meetings_scheduled for this month (1235 of 1543 expected by now; "
	    "target 20000). Needs 0.4 a working day to hit target.");
}

Test(alert, message_resolved)
{
	struct alert_facts f = week_facts;
	struct alert_action a = { .send = true,
	    .status = ALERT_STATUS_RESOLVED, .severity = ALERT_LEVEL_WARNING,
	    .reason = ALERT_REASON_RECOVERED };
	char buf[ALERT_MESSAGE_SIZE];

	f.actual = 52;
	f.pace = 1.04;
	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r007 is back on pace for calls this week (52 "
	    "of 50 expected by now; target 250).");

	a.reason = ALERT_REASON_PERIOD_ENDED;
	f.actual = 180;
	f.expected = 250;
	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "The week ended with r007 at 180 of 250 calls "
	    "(72% of target).");

	a.reason = ALERT_REASON_NOT_EVALUATED;
	f.actual = 12;
	f.expected = 30;
	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r007 is no longer judged on calls this week: "
	    "alert closed (12 of 30 expected by now; target 250).");

	a.reason = ALERT_REASON_REP_REMOVED;
	cr_assert_eq(alert_message(&f, &a, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r007 is no longer on the roster: its warning "
	    "alert on calls for the week is closed.");
}

Test(alert, message_cut_short_is_reported_and_terminated)
{
	struct alert_action a = { .send = true, .status = ALERT_STATUS_FIRING,
	    .severity = ALERT_LEVEL_WARNING };
	char buf[20];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(alert_message(&week_facts, &a, buf, sizeof(buf)), -1);
	cr_assert_str_eq(buf, "r007 is at 42% of t");
	cr_assert_eq(alert_message(&week_facts, &a, buf, 0), -1);
}

Test(alert, names)
{
	cr_assert_str_eq(alert_level_name(ALERT_LEVEL_WARNING), "warning");
	cr_assert_str_eq(alert_level_name(ALERT_LEVEL_CRITICAL), "critical");
	cr_assert_str_eq(alert_status_name(ALERT_STATUS_FIRING), "firing");
	cr_assert_str_eq(alert_status_name(ALERT_STATUS_RESOLVED), "resolved");
	cr_assert_str_eq(alert_reason_name(ALERT_REASON_PERIOD_ENDED),
	    "period_ended");
	cr_assert_str_eq(alert_reason_name(ALERT_REASON_NOT_EVALUATED),
	    "not_evaluated");
	cr_assert_str_eq(alert_reason_name(ALERT_REASON_REP_REMOVED),
	    "rep_removed");
	cr_assert_str_eq(alert_pace_name(ALERT_PACE_NOT_STARTED),
	    "not_started");
	cr_assert_str_eq(alert_pace_name(ALERT_PACE_ON_PACE), "on_pace");
}

/* The defaults: two evaluations spanning 15 min of working time, and
 * recovery at 0.85. */
static const struct alert_rules trust = {
	.warning_below = 0.8,
	.critical_below = 0.5,
	.grace = 0.2,
	.repeat_interval_ms = 4 * HOUR,
	.min_breach_evals = 2,
	.min_breach_ms = 15 * MIN,
	.resolve_margin = 0.05,
};

/* One step under trust, worked time = minutes since T0. */
static struct alert_action
tstep(struct alert_state *st, enum alert_pace status, double pace,
    int64_t minutes)
{
	struct alert_input in = {
		.status = status,
		.pace = pace,
		.elapsed = 0.5,
		.worked_ms = minutes * MIN,
		.now_ms = T0 + minutes * MIN,
	};
	struct alert_action a;

	alert_step(&trust, st, &in, &a);
	return a;
}

Test(alert, fires_only_after_the_minimum_breach)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	/* Every 5 minutes: 100, 105, 110 pend; 115 is 15 min on. */
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 100);
	assert_nothing(&a);
	cr_assert_eq(st.level, ALERT_LEVEL_NONE);
	cr_assert_eq(st.pending, ALERT_PENDING_UP);
	cr_assert_eq(st.pending_count, 1);
	cr_assert_eq(st.pending_since_worked_ms, 100 * MIN);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 105);
	assert_nothing(&a);
	cr_assert_eq(st.pending_count, 2);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 110);
	assert_nothing(&a);
	/* The count stops at what the rule needs. */
	cr_assert_eq(st.pending_count, 2);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 115);
	cr_assert(a.send);
	cr_assert_eq(a.reason, ALERT_REASON_FIRED);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
	cr_assert_eq(st.pending_count, 0);
	cr_assert_eq(st.fired_at_ms, T0 + 115 * MIN);
}

Test(alert, a_breach_that_breaks_starts_again)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	tstep(&st, ALERT_PACE_BEHIND, 0.75, 100);
	tstep(&st, ALERT_PACE_BEHIND, 0.75, 110);
	/* Back at 0.8 (on pace) for one evaluation: the breach is over. */
	a = tstep(&st, ALERT_PACE_ON_PACE, 0.8, 114);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.79, 116);
	assert_nothing(&a);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.79, 130);
	assert_nothing(&a);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.79, 131);
	cr_assert(a.send);
	cr_assert_eq(st.fired_at_ms, T0 + 131 * MIN);
}

Test(alert, two_evaluations_even_when_the_time_is_long)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	/* evaluate_every 30m: the first evaluation alone never fires. */
	a = tstep(&st, ALERT_PACE_CRITICAL, 0, 100);
	assert_nothing(&a);
	a = tstep(&st, ALERT_PACE_CRITICAL, 0, 130);
	cr_assert(a.send);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);
	cr_assert_eq(a.severity, ALERT_LEVEL_CRITICAL);
}

Test(alert, resolves_only_above_the_margin_and_after_the_breach)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	tstep(&st, ALERT_PACE_BEHIND, 0.7, 100);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 115);
	cr_assert(a.send);
	/* 0.8 to 0.849: on pace, but inside the margin: nothing, and no
	 * breach either way. */
	a = tstep(&st, ALERT_PACE_ON_PACE, 0.84, 120);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
	cr_assert_eq(st.level, ALERT_LEVEL_WARNING);
	a = tstep(&st, ALERT_PACE_ON_PACE, 0.85, 125);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_DOWN);
	a = tstep(&st, ALERT_PACE_ON_PACE, 0.9, 135);
	assert_nothing(&a);
	a = tstep(&st, ALERT_PACE_AHEAD, 1.2, 140);
	cr_assert(a.send);
	cr_assert_eq(a.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(a.reason, ALERT_REASON_RECOVERED);
	cr_assert_eq(st.level, ALERT_LEVEL_NONE);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
}

Test(alert, escalation_waits_for_its_own_breach)
{
	struct alert_state st = { 0 };
	struct alert_action a;

	tstep(&st, ALERT_PACE_BEHIND, 0.7, 100);
	a = tstep(&st, ALERT_PACE_BEHIND, 0.7, 115);
	cr_assert_eq(a.severity, ALERT_LEVEL_WARNING);
	a = tstep(&st, ALERT_PACE_CRITICAL, 0.45, 120);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_UP);
	/* Back to warning level: the escalation is off. */
	a = tstep(&st, ALERT_PACE_BEHIND, 0.55, 125);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
	tstep(&st, ALERT_PACE_CRITICAL, 0.45, 130);
	a = tstep(&st, ALERT_PACE_CRITICAL, 0.45, 145);
	cr_assert(a.send);
	cr_assert_eq(a.reason, ALERT_REASON_ESCALATED);
	cr_assert_eq(a.supersedes, ALERT_LEVEL_WARNING);
}

Test(alert, nothing_fires_once_no_working_time_is_left)
{
	struct alert_state st = { 0 };
	struct alert_input in = {
		.status = ALERT_PACE_CRITICAL,
		.pace = 0,
		.elapsed = 1.0,
		.worked_ms = 480 * MIN,
		.now_ms = T0 + 14 * HOUR,
		.no_time_left = true,
	};
	struct alert_action a;

	/* The week that ends at midnight, judged at 22:45: nothing. */
	alert_step(&trust, &st, &in, &a);
	assert_nothing(&a);
	alert_step(&trust, &st, &in, &a);
	assert_nothing(&a);
	cr_assert_eq(st.level, ALERT_LEVEL_NONE);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);

	/* A firing one neither repeats nor escalates, and still resolves
	 * at the period's end. */
	st.level = ALERT_LEVEL_WARNING;
	st.fired_at_ms = st.last_sent_ms = T0;
	st.last_sent_worked_ms = 0;
	alert_step(&trust, &st, &in, &a);
	assert_nothing(&a);
	alert_step(&trust, &st, &in, &a);
	assert_nothing(&a);
	cr_assert_eq(st.level, ALERT_LEVEL_WARNING);
	in.period_ended = true;
	alert_step(&trust, &st, &in, &a);
	cr_assert(a.send);
	cr_assert_eq(a.reason, ALERT_REASON_PERIOD_ENDED);
}

Test(alert, a3_state_round_trip_and_older_forms)
{
	struct alert_state st = { ALERT_LEVEL_WARNING, 5, 7, 0, 60000,
	    ALERT_PENDING_DOWN, 2, 90000 }, back;
	struct alert_state up = { ALERT_LEVEL_NONE, 0, 0, 0, 0,
	    ALERT_PENDING_UP, 1, 120000 };
	char buf[ALERT_STATE_SIZE];

	cr_assert_eq(alert_state_format(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a3:w:5:7:0:60000:d:2:90000");
	cr_assert_eq(alert_state_parse(buf, strlen(buf), &back), 0);
	cr_assert(alert_state_equal(&st, &back));
	cr_assert_eq(alert_state_format(&up, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a3:n:0:0:0:0:u:1:120000");
	cr_assert_eq(alert_state_parse(buf, strlen(buf), &back), 0);
	cr_assert(alert_state_equal(&up, &back));
	/* No breach: still "a2", what every earlier release reads. */
	st.pending = ALERT_PENDING_NONE;
	st.pending_count = 0;
	st.pending_since_worked_ms = 0;
	cr_assert_eq(alert_state_format(&st, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "a2:w:5:7:0:60000");
	/* A stored "a2" firing state reads with no breach under way: a
	 * restart across the upgrade does not fire it again. */
	cr_assert_eq(alert_state_parse("a2:c:5:7:1:60000", 16, &back), 0);
	cr_assert_eq(back.level, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(back.pending, ALERT_PENDING_NONE);
	/* Refused: "a3" without a breach, a breach that cannot be. */
	cr_assert_eq(alert_state_parse("a3:w:5:7:0:1:n:0:0", 18, &back), -1);
	cr_assert_eq(alert_state_parse("a3:n:0:0:0:0:d:1:0", 18, &back), -1);
	cr_assert_eq(alert_state_parse("a3:c:5:7:0:1:u:1:0", 18, &back), -1);
	cr_assert_eq(alert_state_parse("a3:w:5:7:0:1:u:0:0", 18, &back), -1);
	cr_assert_eq(alert_state_parse("a3:w:5:7:0:1:u:1:", 17, &back), -1);
}

Test(alert, restart_across_the_upgrade_does_not_fire_again)
{
	struct alert_state st;
	struct alert_action a;

	/* Stored by the release before: critical, still behind. */
	cr_assert_eq(alert_state_parse("a2:c:5:7:0:6000000", 18, &st), 0);
	a = tstep(&st, ALERT_PACE_CRITICAL, 0.2, 110);
	assert_nothing(&a);
	a = tstep(&st, ALERT_PACE_CRITICAL, 0.2, 130);
	assert_nothing(&a);
	cr_assert_eq(st.pending, ALERT_PENDING_NONE);
}
