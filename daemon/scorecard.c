/*
 * scorecard.c: config and roster to the pure pacing math. The target
 * sources are built per call from the role's and the rep's targets and
 * schedules (every schedule entry is kept for every KPI, so an entry that
 * does not name a KPI still ends the previous entry's value for it).
 * A memo (optional, the evaluator's) keeps the buckets and the working
 * time every rep of a team shares at one instant: an evaluation pass
 * works them out once per team, not once per rep.
 */
#include "scorecard.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Direct-mapped. Buckets: per zone and calendar the four holding the
 * instant judged. Working days: per zone, calendar and bucket, those as of
 * the local day of the instant judged (one entry for the whole day) and
 * as of the day each partition's data began (constant: 4 x zones x
 * partitions keys, 1,280 with 10 zones and 32 partitions); at 128 slots
 * those evicted one another, at 4,096 (about 300 KiB) they mostly stay. */
#define MEMO_SLOTS	128
#define MEMO_WT_SLOTS	4096

struct memo_bucket {
	bool used;
	const struct config_calendar *cal;
	const struct tzone *zone;
	enum period p;
	int64_t at_ms;
	struct bucket b;
};

/* The working days of a bucket as of a local day, without out-of-office
 * days (the rep's own): the working time at any instant of that day
 * without a zone lookup. */
struct memo_worktime {
	bool used;
	const struct config_calendar *cal;
	const struct tzone *zone;
	int32_t start_day, end_day;
	struct pacing_workdays wd;
};

struct scorecard_memo {
	struct memo_bucket buckets[MEMO_SLOTS];
	struct memo_worktime worktimes[MEMO_WT_SLOTS];
};

struct scorecard_memo *
scorecard_memo_new(void)
{
	return xcalloc(1, sizeof(struct scorecard_memo));
}

void
scorecard_memo_free(struct scorecard_memo *m)
{
	free(m);
}

void
scorecard_memo_clear(struct scorecard_memo *m)
{
	if (m != NULL)
		memset(m, 0, sizeof(*m));
}

static size_t
memo_slot(const void *cal, const void *zone, int64_t a, int64_t b,
    size_t slots)
{
	uint64_t h = (uint64_t)(uintptr_t)cal * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)(uintptr_t)zone * 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)a * 0x165667b19e3779f9ULL;
	h ^= (uint64_t)b * 0x27d4eb2f165667c5ULL;
	h ^= h >> 33;		/* every bit of the key into the low ones */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)(h % slots);
}

static void
bucket_of(struct scorecard_memo *m, const struct roster_rep *rep,
    enum period p, int64_t at_ms, struct bucket *b)
{
	struct memo_bucket *e;

	if (m == NULL) {
		caltime_bucket(rep->zone, &rep->calendar->rules, p, at_ms, b);
		return;
	}
	e = &m->buckets[memo_slot(rep->calendar, rep->zone, at_ms, p,
	    MEMO_SLOTS)];
	if (!e->used || e->cal != rep->calendar || e->zone != rep->zone ||
	    e->p != p || e->at_ms != at_ms) {
		caltime_bucket(rep->zone, &rep->calendar->rules, p, at_ms,
		    &e->b);
		e->used = true;
		e->cal = rep->calendar;
		e->zone = rep->zone;
		e->p = p;
		e->at_ms = at_ms;
	}
	*b = e->b;
}

/* pacing_worktime() for rep, the team's part from the memo. */
static void
worktime_of(struct scorecard_memo *m, const struct roster_rep *rep,
    const struct bucket *b, int64_t at_ms, struct pacing_worktime *wt)
{
	const struct config_rep *cr = rep->rep;
	struct pacing_calendar cal;
	struct pacing_absence ooo = { cr->out_of_office, cr->nout_of_office };
	struct memo_worktime *e;
	int32_t today;

	scorecard_calendar(rep->calendar, &cal);
	if (m == NULL) {
		pacing_worktime(&cal, &ooo, rep->zone, b, at_ms, wt);
		return;
	}
	today = tzone_local_day(rep->zone, at_ms);
	e = &m->worktimes[memo_slot(rep->calendar, rep->zone, today,
	    ((int64_t)b->start_day << 32) ^ (uint32_t)b->end_day,
	    MEMO_WT_SLOTS)];
	if (!e->used || e->cal != rep->calendar || e->zone != rep->zone ||
	    e->start_day != b->start_day || e->end_day != b->end_day ||
	    e->wd.today != today) {
		pacing_workdays(&cal, rep->zone, b, today, &e->wd);
		e->used = true;
		e->cal = rep->calendar;
		e->zone = rep->zone;
		e->start_day = b->start_day;
		e->end_day = b->end_day;
	}
	pacing_worktime_at(&e->wd, at_ms, wt);
	/* What pacing_worktime() does last, with the rep's days. */
	pacing_worktime_apply_ooo(wt, &cal, &ooo, rep->zone, b, at_ms);
}

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
	bucket_of(NULL, rep, p, at_ms, b);
}

void
scorecard_bucket_memo(struct scorecard_memo *m, const struct roster_rep *rep,
    enum period p, int64_t at_ms, struct bucket *b)
{
	bucket_of(m, rep, p, at_ms, b);
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
	worktime_of(NULL, rep, b, at_ms, wt);
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

static int64_t
since_gone(struct scorecard_memo *m, const struct roster_rep *rep,
    const struct bucket *b, int64_t since_ms)
{
	struct pacing_worktime before;

	if (since_ms <= b->start_ms)
		return 0;
	worktime_of(m, rep, b, since_ms, &before);
	return before.elapsed_ms > 0 ? before.elapsed_ms : 0;
}

int64_t
scorecard_since_gone(const struct roster_rep *rep, const struct bucket *b,
    int64_t since_ms)
{
	return since_gone(NULL, rep, b, since_ms);
}

void
scorecard_since(const struct config *cfg, const struct roster_rep *rep,
    int64_t since_ms, struct scorecard *sc)
{
	scorecard_since_memo(cfg, rep, since_ms, NULL, sc);
}

void
scorecard_since_memo(const struct config *cfg, const struct roster_rep *rep,
    int64_t since_ms, struct scorecard_memo *m, struct scorecard *sc)
{
	struct pacing_thresholds th;
	int64_t gone = since_gone(m, rep, &sc->bucket, since_ms);
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
	scorecard_compute_memo(cfg, rep, p, at_ms, actual, NULL, sc);
}

void
scorecard_compute_memo(const struct config *cfg,
    const struct roster_rep *rep, enum period p, int64_t at_ms,
    const double *actual, struct scorecard_memo *m, struct scorecard *sc)
{
	const struct config_role *role = rep->role;
	const struct config_rep *cr = rep->rep;
	struct pacing_thresholds th;

	thresholds_of(cfg, &th);
	sc->period = p;
	bucket_of(m, rep, p, at_ms, &sc->bucket);
	worktime_of(m, rep, &sc->bucket, at_ms, &sc->wt);
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
