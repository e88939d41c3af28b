/*
 * pacing.c: the arithmetic of pacing. Working time of a bucket for a rep
 * (calendar, holidays, out-of-office days, the team's zone), the target in
 * force for a rep, KPI and bucket, and the pace figures and status that
 * the scorecard and the alert evaluator report. The evaluator's timer and
 * the HTTP scorecard call in here with a snapshot of counts and a time;
 * nothing here allocates, logs or keeps state between calls.
 */
#include "pacing.h"

#include <math.h>
#include <string.h>

#define MIN_MS		60000LL
#define HOUR_MS		3600000LL
#define DAY_MS		86400000LL

static const char *const status_names[] = {
	"not_started", "ahead", "on_pace", "behind", "critical"
};

const char *
pacing_status_name(enum pacing_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

void
pacing_thresholds_default(struct pacing_thresholds *th)
{
	th->ahead_above = PACING_AHEAD_ABOVE;
	th->warning_below = PACING_WARNING_BELOW;
	th->critical_below = PACING_CRITICAL_BELOW;
}

/* Index of the first element of sorted v[0..n) that is >= day. */
static size_t
lower_bound(const int32_t *v, size_t n, int32_t day)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
in_sorted(const int32_t *v, size_t n, int32_t day)
{
	size_t	i;

	if (v == NULL || n == 0)
		return false;
	i = lower_bound(v, n, day);
	return i < n && v[i] == day;
}

static bool
working_weekday(const struct pacing_calendar *cal, int32_t day)
{
	return ((cal->working_days >> caltime_weekday(day)) & 1u) != 0;
}

bool
pacing_is_working_day(const struct pacing_calendar *cal, int32_t day)
{
	return working_weekday(cal, day) &&
	    !in_sorted(cal->holidays, cal->nholidays, day);
}

/* The nominal working day; 0 for hours config would have refused. */
static int64_t
nominal_day_ms(const struct pacing_calendar *cal)
{
	if (cal->work_start_min < 0 || cal->work_end_min > 1440 ||
	    cal->work_end_min <= cal->work_start_min)
		return 0;
	return (int64_t)(cal->work_end_min - cal->work_start_min) * MIN_MS;
}

/*
 * Counts the OOO days in [start, end) that are working days, each once
 * (the list may repeat a day).
 */
static int32_t
ooo_working_days(const struct pacing_calendar *cal,
    const struct pacing_absence *ooo, int32_t start, int32_t end)
{
	size_t	 i;
	int32_t	 n = 0;

	if (ooo == NULL || ooo->days == NULL)
		return 0;
	for (i = lower_bound(ooo->days, ooo->ndays, start);
	    i < ooo->ndays && ooo->days[i] < end; i++) {
		if (i > 0 && ooo->days[i] == ooo->days[i - 1])
			continue;
		if (pacing_is_working_day(cal, ooo->days[i]))
			n++;
	}
	return n;
}

void
pacing_working_days(const struct pacing_calendar *cal,
    const struct pacing_absence *ooo, const struct bucket *b,
    int32_t *period, int32_t *present)
{
	int32_t	n = 0;

	for (int32_t d = b->start_day; d < b->end_day; d++) {
		if (pacing_is_working_day(cal, d))
			n++;
	}
	*period = n;
	*present = n - ooo_working_days(cal, ooo, b->start_day, b->end_day);
}

/*
 * The working span of one day: the UTC instant its hours start at, into
 * *start, and its length in ms. *hint is an offset in force before the
 * day's local midnight (the last one seen). When the hours read with it
 * are valid wall times on both ends, no transition lies in between and
 * the reading is the one tzone_local_to_utc would give (the hint is the
 * earlier offset of any overlap); otherwise the zone maps both ends.
 */
static int64_t
work_span(const struct pacing_calendar *cal, struct tzone *z, int32_t day,
    int32_t *hint, int64_t *start)
{
	int64_t	midnight = (int64_t)day * DAY_MS, s, e;

	s = midnight + cal->work_start_min * MIN_MS - *hint;
	e = midnight + cal->work_end_min * MIN_MS - *hint;
	if (tzone_offset_at(z, s) != *hint || tzone_offset_at(z, e) != *hint) {
		s = tzone_local_to_utc(z, day, cal->work_start_min);
		e = tzone_local_to_utc(z, day, cal->work_end_min);
		*hint = tzone_offset_at(z, e);
	}
	*start = s;
	return e > s ? e - s : 0;
}

/* An offset in force before local midnight of day: no zone is ahead of
 * UTC by 15 hours. */
static int32_t
hint_before(struct tzone *z, int32_t day)
{
	return tzone_offset_at(z, (int64_t)day * DAY_MS - 15 * HOUR_MS);
}

/* The part of a day's span [s, s + len) before now. */
static int64_t
span_elapsed(int64_t s, int64_t len, int64_t now_ms)
{
	if (now_ms <= s)
		return 0;
	if (now_ms - s >= len)
		return len;
	return now_ms - s;
}

void
pacing_workdays(const struct pacing_calendar *cal, struct tzone *z,
    const struct bucket *b, int32_t today, struct pacing_workdays *wd)
{
	int64_t	 len, s;
	int32_t	 hint;
	size_t	 h, nh = cal->holidays != NULL ? cal->nholidays : 0;

	memset(wd, 0, sizeof(*wd));
	wd->today = today;
	wd->day_ms = nominal_day_ms(cal);
	if (wd->day_ms == 0 || b->end_day <= b->start_day)
		return;
	hint = hint_before(z, b->start_day);
	h = lower_bound(cal->holidays, nh, b->start_day);
	for (int32_t d = b->start_day; d < b->end_day; d++) {
		while (h < nh && cal->holidays[h] < d)
			h++;
		if (!working_weekday(cal, d) ||
		    (h < nh && cal->holidays[h] == d))
			continue;
		wd->days_period++;
		len = work_span(cal, z, d, &hint, &s);
		wd->total_ms += len;
		if (d < today)
			wd->before_ms += len;
		else if (d == today) {
			wd->today_start = s;
			wd->today_len = len;
		}
	}
}

void
pacing_worktime_at(const struct pacing_workdays *wd, int64_t now_ms,
    struct pacing_worktime *wt)
{
	memset(wt, 0, sizeof(*wt));
	wt->day_ms = wd->day_ms;
	wt->total_ms = wd->total_ms;
	wt->elapsed_ms = wd->before_ms +
	    span_elapsed(wd->today_start, wd->today_len, now_ms);
	wt->days_period = wd->days_period;
	wt->days_present = wd->days_period;
}

void
pacing_worktime(const struct pacing_calendar *cal,
    const struct pacing_absence *ooo, struct tzone *z,
    const struct bucket *b, int64_t now_ms, struct pacing_worktime *wt)
{
	struct pacing_workdays wd;

	pacing_workdays(cal, z, b, tzone_local_day(z, now_ms), &wd);
	pacing_worktime_at(&wd, now_ms, wt);
	pacing_worktime_apply_ooo(wt, cal, ooo, z, b, now_ms);
}

void
pacing_worktime_apply_ooo(struct pacing_worktime *wt,
    const struct pacing_calendar *cal, const struct pacing_absence *ooo,
    struct tzone *z, const struct bucket *b, int64_t now_ms)
{
	int64_t	 len, s;
	int32_t	 d, today, hint;
	size_t	 i;

	if (ooo == NULL || ooo->days == NULL || ooo->ndays == 0 ||
	    wt->day_ms == 0)
		return;
	i = lower_bound(ooo->days, ooo->ndays, b->start_day);
	if (i == ooo->ndays || ooo->days[i] >= b->end_day)
		return;

	/* Spans must match the ones pacing_worktime added, to the ms. */
	today = tzone_local_day(z, now_ms);
	hint = hint_before(z, b->start_day);
	for (; i < ooo->ndays && ooo->days[i] < b->end_day; i++) {
		d = ooo->days[i];
		if (i > 0 && d == ooo->days[i - 1])
			continue;
		if (!pacing_is_working_day(cal, d))
			continue;
		len = work_span(cal, z, d, &hint, &s);
		wt->total_ms -= len;
		wt->days_present--;
		if (d < today)
			wt->elapsed_ms -= len;
		else if (d == today)
			wt->elapsed_ms -= span_elapsed(s, len, now_ms);
	}
}

double
pacing_worktime_fraction(const struct pacing_worktime *wt)
{
	if (wt->total_ms <= 0 || wt->elapsed_ms <= 0)
		return 0;
	if (wt->elapsed_ms >= wt->total_ms)
		return 1;
	return (double)wt->elapsed_ms / (double)wt->total_ms;
}

double
pacing_worktime_days_remaining(const struct pacing_worktime *wt)
{
	int64_t	left = wt->total_ms - wt->elapsed_ms;

	if (wt->day_ms <= 0 || left <= 0)
		return 0;
	return (double)left / (double)wt->day_ms;
}

/* The entry of s in force on day: the last one starting on or before it. */
static const struct pacing_schedule_entry *
schedule_at(const struct pacing_schedule *s, int32_t day)
{
	size_t	lo = 0, hi = s->nentries, mid;

	if (s->entries == NULL)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->entries[mid].from_day <= day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &s->entries[lo - 1];
}

int
pacing_target_resolve(const struct pacing_target_source *src, enum period p,
    int32_t day, double *value)
{
	const struct pacing_schedule_entry	*e;
	const struct pacing_targets		*layer[4];

	if ((unsigned)p >= PERIOD_COUNT)
		return -1;
	e = schedule_at(&src->rep_schedule, day);
	layer[0] = e != NULL ? &e->targets : NULL;
	layer[1] = src->rep;
	e = schedule_at(&src->role_schedule, day);
	layer[2] = e != NULL ? &e->targets : NULL;
	layer[3] = src->role;
	for (size_t i = 0; i < 4; i++) {
		if (layer[i] != NULL && layer[i]->set[p]) {
			*value = layer[i]->value[p];
			return 0;
		}
	}
	return -1;
}

double
pacing_target_prorate(double target, int32_t days_period,
    int32_t days_present)
{
	if (days_period <= 0 || days_present <= 0)
		return 0;
	if (days_present >= days_period)
		return target;
	return target * days_present / days_period;
}

int
pacing_target(const struct pacing_target_source *src, const struct bucket *b,
    const struct pacing_worktime *wt, double *value)
{
	double	t;

	if (pacing_target_resolve(src, b->period, b->start_day, &t) != 0)
		return -1;
	*value = pacing_target_prorate(t, wt->days_period, wt->days_present);
	return 0;
}

/* Negative, NaN and infinite inputs read as 0: counts cannot be. */
static double
sane(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

void
pacing_evaluate(double actual, double target, enum pacing_direction dir,
    const struct pacing_worktime *wt, const struct pacing_thresholds *th,
    struct pacing_figures *out)
{
	struct pacing_thresholds	 def;
	double				 f, left;

	if (th == NULL) {
		pacing_thresholds_default(&def);
		th = &def;
	}
	memset(out, 0, sizeof(*out));
	out->actual = actual = sane(actual);
	out->target = target = sane(target);
	out->fraction = f = pacing_worktime_fraction(wt);
	/* f is exactly 1 once all working time is over, so expected is
	 * then the target itself and projected the actual. */
	out->expected_to_date = target * f;

	if (f > 0) {
		out->has_projected = true;
		out->projected = actual / f;
	}

	/* Budget or shortfall per remaining day; the same formula serves
	 * both directions. */
	left = pacing_worktime_days_remaining(wt);
	if (actual >= target) {
		out->has_required_rate = true;
		out->required_rate = 0;
	} else if (left > 0) {
		out->has_required_rate = true;
		out->required_rate = (target - actual) / left;
	}

	if (f == 0) {
		out->status = PACING_NOT_STARTED;
		return;
	}

	if (dir == PACING_LOWER_IS_BETTER) {
		out->has_pace = true;
		if (actual == 0 ||
		    out->expected_to_date >= actual * PACING_PACE_CAP)
			out->pace = PACING_PACE_CAP;
		else
			out->pace = out->expected_to_date / actual;
		if (actual > target) {
			out->status = PACING_CRITICAL;
			return;
		}
	} else {
		if (out->expected_to_date <= 0) {
			out->status = PACING_ON_PACE;
			return;
		}
		out->has_pace = true;
		out->pace = actual / out->expected_to_date;
	}

	if (out->pace >= th->ahead_above)
		out->status = PACING_AHEAD;
	else if (out->pace >= th->warning_below)
		out->status = PACING_ON_PACE;
	else if (out->pace >= th->critical_below)
		out->status = PACING_BEHIND;
	else
		out->status = PACING_CRITICAL;
}
