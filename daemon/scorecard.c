/*
 * scorecard.c: config and roster to the pure pacing math. The target
 * sources are built per call from the role's and the rep's targets and
 * schedules (every schedule entry is kept for every KPI, so an entry that
 * does not name a KPI still ends the previous entry's value for it).
 */
#include "scorecard.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static void
fill_targets(const struct config_target *t, size_t n, size_t kpi,
    struct pacing_targets *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (t[i].kpi != kpi)
			continue;
		for (int p = 0; p < PERIOD_COUNT; p++) {
			if (t[i].set[p]) {
				out->set[p] = true;
				out->value[p] = t[i].value[p];
			}
		}
	}
}

static bool
has_kpi(const struct config_target *t, size_t n, size_t kpi)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].kpi == kpi)
			return true;
	return false;
}

static struct pacing_schedule_entry *
fill_schedule(const struct config_schedule *s, size_t n, size_t kpi)
{
	struct pacing_schedule_entry *e;

	if (n == 0)
		return NULL;
	e = xcalloc(n, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		e[i].from_day = s[i].from_day;
		fill_targets(s[i].targets, s[i].ntargets, kpi, &e[i].targets);
	}
	return e;
}

void
scorecard_bucket(const struct roster_rep *rep, enum period p, int64_t at_ms,
    struct bucket *b)
{
	caltime_bucket(rep->zone, &rep->calendar->rules, p, at_ms, b);
}

void
scorecard_calendar(const struct config_calendar *cc,
    struct pacing_calendar *cal)
{
	cal->working_days = cc->working_days;
	cal->work_start_min = cc->work_start_min;
	cal->work_end_min = cc->work_end_min;
	cal->holidays = cc->holidays;
	cal->nholidays = cc->nholidays;
}

void
scorecard_worktime(const struct roster_rep *rep, const struct bucket *b,
    int64_t at_ms, struct pacing_worktime *wt)
{
	const struct config_rep *cr = rep->rep;
	struct pacing_calendar cal;
	struct pacing_absence ooo = { cr->out_of_office, cr->nout_of_office };

	scorecard_calendar(rep->calendar, &cal);
	pacing_worktime(&cal, &ooo, rep->zone, b, at_ms, wt);
}

static void
thresholds_of(const struct config *cfg, struct pacing_thresholds *th)
{
	th->ahead_above = cfg->alerts.ahead_above;
	th->warning_below = cfg->alerts.warning_below;
	th->critical_below = cfg->alerts.critical_below;
	if (th->ahead_above < th->warning_below)	/* unset: the default */
		th->ahead_above = PACING_AHEAD_ABOVE;
}

static enum pacing_direction
direction_of(const struct config *cfg, size_t k)
{
	return cfg->kpis[k].better == KPI_BETTER_LOWER ?
	    PACING_LOWER_IS_BETTER : PACING_HIGHER_IS_BETTER;
}

int64_t
scorecard_since_gone(const struct roster_rep *rep, const struct bucket *b,
    int64_t since_ms)
{
	struct pacing_worktime before;

	if (since_ms <= b->start_ms)
		return 0;
	scorecard_worktime(rep, b, since_ms, &before);
	return before.elapsed_ms > 0 ? before.elapsed_ms : 0;
}

void
scorecard_since(const struct config *cfg, const struct roster_rep *rep,
    int64_t since_ms, struct scorecard *sc)
{
	struct pacing_thresholds th;
	int64_t gone = scorecard_since_gone(rep, &sc->bucket, since_ms);
	int64_t total = sc->wt.total_ms;

	if (gone <= 0 || total <= 0)
		return;
	if (gone > total)
		gone = total;
	thresholds_of(cfg, &th);
	sc->wt.total_ms = total - gone;
	sc->wt.elapsed_ms = sc->wt.elapsed_ms > gone ?
	    sc->wt.elapsed_ms - gone : 0;
	for (size_t k = 0; k < cfg->nkpis; k++) {
		struct scorecard_kpi *out = &sc->kpis[k];

		if (!out->has_target)
			continue;
		/* The share of the target that the working time since
		 * the data began holds. */
		pacing_evaluate(out->actual, out->fig.target *
		    (double)sc->wt.total_ms / (double)total, direction_of(cfg,
		    k), &sc->wt, &th, &out->fig);
	}
}

void
scorecard_compute(const struct config *cfg, const struct roster_rep *rep,
    enum period p, int64_t at_ms, const double *actual, struct scorecard *sc)
{
	const struct config_role *role = rep->role;
	const struct config_rep *cr = rep->rep;
	struct pacing_thresholds th;

	thresholds_of(cfg, &th);
	sc->period = p;
	scorecard_bucket(rep, p, at_ms, &sc->bucket);
	scorecard_worktime(rep, &sc->bucket, at_ms, &sc->wt);
	for (size_t k = 0; k < cfg->nkpis; k++) {
		struct scorecard_kpi *out = &sc->kpis[k];
		struct pacing_targets role_t, rep_t;
		struct pacing_schedule_entry *rs, *ps;
		struct pacing_target_source src;
		double target;

		fill_targets(role->targets, role->ntargets, k, &role_t);
		fill_targets(cr->targets, cr->ntargets, k, &rep_t);
		rs = fill_schedule(role->schedule, role->nschedule, k);
		ps = fill_schedule(cr->schedule, cr->nschedule, k);
		src.role = &role_t;
		src.role_schedule.entries = rs;
		src.role_schedule.nentries = role->nschedule;
		src.rep = has_kpi(cr->targets, cr->ntargets, k) ? &rep_t : NULL;
		src.rep_schedule.entries = ps;
		src.rep_schedule.nentries = cr->nschedule;
		out->actual = actual[k];
		out->has_target = pacing_target(&src, &sc->bucket, &sc->wt,
		    &target) == 0;
		if (out->has_target)
			pacing_evaluate(actual[k], target, direction_of(cfg, k),
			    &sc->wt, &th, &out->fig);
		else
			memset(&out->fig, 0, sizeof(out->fig));
		free(rs);
		free(ps);
	}
}
