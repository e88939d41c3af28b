/*
 * backtest.c: `paced backtest`, the engine replayed from a file. Each line
 * goes through what the ingest path does (classify(): decode, too_old past
 * the dedupe window, the roster, the KPIs of the activity type; the
 * event-clock gate of evclock.c; the buckets of the event's local day in
 * the team's zone, dedupe by rep, UTC day and event_id as the rep script
 * does) into counters kept in memory, and every evaluate_every boundary the watermark passes is judged
 * by evaluate_rep(), the daemon's own code, so the alert lines are the
 * bytes the daemon would send. As in the daemon, only the alert states an
 * evaluation marks changed are stored (their target feeds the message of
 * a later period_ended resolution, with the ended bucket's final counter
 * as it stands in memory at that boundary). Unlike the daemon it has no
 * too_far_in_future check: the wall clock means nothing to a replay, and
 * it always runs on the event clock, whatever the file's clock key says.
 *
 * Speed. Judging every rep at every boundary (--exhaustive) is exact but
 * slow: a quarter at one minute is 130,000 boundaries a rep. The default
 * judges a rep only at a boundary where one of its alert state machines
 * would send or change (a breach under way counts its evaluations, see
 * alert.h), which yields the same bytes because an evaluation that leaves
 * every state machine as it was changes nothing that matters: the only
 * other writes, a fresh state for a new bucket
 * with nothing firing and the clearing of a quiet state whose pair has no
 * target in the new bucket, read the same whenever they are made (a quiet
 * state of an ended bucket and no state at all both start the next bucket
 * afresh).
 *
 * Between two evaluations the stored states are fixed, and until an event
 * is counted or a bucket turns over so are the counters and the targets:
 * the input of each state machine (status, pace, elapsed share, and the
 * working time the repeat interval counts) is then a function of the
 * elapsed working time alone, and so is its answer. The scheduler
 * computes those inputs for a boundary without evaluate_rep(): working
 * time from a per-team table of the day's working spans (the same zone
 * conversions pacing_worktime() makes), the targets and the period's
 * totals from one scorecard_compute() per bucket, then pacing_evaluate()
 * and alert_step() on a copy of the state, the very functions
 * evaluate_rep() calls. To find the next boundary that sends it searches
 * (doubling steps, then bisection) for the next boundary where a
 * signature of every alerting slot changes: the status, whether the grace
 * share is reached, and the alert level status and pace ask for. Each part
 * only moves one way while working time grows (pace falls for
 * higher-is-better KPIs and rises for lower-is-better ones; status is
 * monotone in pace, and so is the level, but for a broken cap, critical
 * whatever the pace, which stays broken while the counters are fixed), so
 * a signature equal at both ends of a range is constant over it.
 * The signature also holds whether the pace is at the recovery threshold
 * (warning_below + resolve_margin) and whether the bucket's working time
 * is all gone, both one-way too.
 * The wake is the first of: a boundary where the signature changes and the
 * state machine would send or change, the boundary where the working time
 * since the last message of an alert at the level asked for reaches the
 * repeat interval, the boundary where a breach under way that has counted
 * its evaluations has lasted alerts.min_breach of working time (both found
 * by bisection too: working time never runs backwards),
 * and the next bucket boundary of an alerting period (where an alert of
 * the ended bucket resolves, even for a slot without a target in the new
 * one).
 *
 * A counted event moves the inputs of its rep. More of a higher-is-better
 * KPI can only raise its pace, which takes sends away except the recovery
 * of a firing alert, and that would show at the very next boundary; so
 * the wake stays valid (it may be early, never late) unless that
 * boundary would send, or the KPI is lower-is-better (see counted()).
 *
 * Safety net: the span table is checked against pacing_worktime() when it
 * is built, and every bucket refresh and every evaluation compares the
 * predicted working time, targets and send with what the engine computed.
 * A disagreement (a calendar or zone the table cannot model) is counted
 * in model_mismatches and the team's reps are judged at every boundary
 * from then on.
 */
#include "backtest.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "bt_store.h"
#include "caltime.h"
#include "classify.h"
#include "evaluate.h"
#include "evclock.h"
#include "hash.h"
#include "pacing.h"
#include "roster.h"
#include "scorecard.h"
#include "xmalloc.h"

#define DAY_MS		86400000LL
#define TICK_NEVER	INT64_MAX
/* Days a team's span table grows by beyond what is asked, each side. */
#define TEAM_MARGIN	64
/* Signature of a slot whose bucket has no target: it never sends. */
#define SIG_NO_TARGET	0xff
/* Signature's level part while nothing has started (no pace yet). */
#define SIG_WANT_NS	3

/* A team's working spans per local day, the working-time model. */
struct bt_team {
	bool		 ready;
	bool		 unsafe;	/* the model failed a check */
	const char	*id;
	struct tzone	*zone;		/* the roster's */
	struct pacing_calendar cal;
	int32_t		 base;		/* first day held */
	int32_t		 n;
	int64_t		*start;		/* UTC start of day base + i's hours */
	int64_t		*len;		/* working ms; 0: not a working day */
	int64_t		*cum;		/* cum[i]: sum of len[0 .. i) */
};

/* What a rep's scheduler keeps of the bucket of one alerting period. */
struct bt_bucket {
	bool		 valid;
	int32_t		 start_day, end_day;
	int64_t		 start_ms, end_ms;
	int64_t		 end_tick;	/* first boundary in the next bucket */
	struct pacing_worktime wt;	/* all but elapsed_ms */
	int64_t		 gone;		/* working ms before the data began */
	uint32_t	 row;		/* its counters */
};

struct bt_rep {
	const struct roster_rep *rr;
	struct bt_team	*team;
	struct eval_state *states;	/* [k * PERIOD_COUNT + p], as stored */
	struct bt_bucket bucket[PERIOD_COUNT];
	double		*target;	/* [p * nkpis + k], cached buckets */
	bool		*has_target;
	int64_t		 wake;		/* next boundary to examine */
	size_t		 heap_pos;	/* SIZE_MAX: not queued */
};

struct bt {
	const struct config	*cfg;
	struct roster		*roster;
	const struct backtest_opts *opts;
	struct backtest_stats	*st;
	FILE			*out;
	int64_t			 every;
	/* the first event's instant: the data began (INT64_MIN before) */
	int64_t			 since_ms;
	size_t			 nkpis;
	size_t			 nreps;
	struct alert_rules	 rules;
	struct pacing_thresholds th;
	bool			*alerting;	/* [k * PERIOD_COUNT + p] */
	bool			 aperiod[PERIOD_COUNT];
	size_t			*akpi[PERIOD_COUNT];	/* alerting KPIs of p */
	size_t			 nakpi[PERIOD_COUNT];
	size_t			 nslots;
	uint8_t			*sig0, *sig1;
	struct bt_team		*teams;
	struct bt_rep		*reps;
	size_t			*heap;		/* rep indices */
	size_t			 nheap;
	struct counters		 cnt;
	struct idset		 ids;
	struct clock		 clock;
	struct evclock		 ec;		/* ec.done: judged up to there */
	int64_t			 cur_tick;	/* the boundary being judged */
	double			*actual;	/* scratch, [p * nkpis + k] */
	int32_t			 cur_start[PERIOD_COUNT];	/* its buckets */
	double			*ended;		/* scratch, [k * PERIOD_COUNT + p] */
	double			*zeros;
	struct scorecard_kpi	*scratch;
	bool			 warned;
};

static int64_t
ceil_div(int64_t a, int64_t b)
{
	return -caltime_floor_div(-a, b);
}

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The row of (rep, p, start_day) in bt's counters; UINT32_MAX when
 * absent and !create. */
static uint32_t
counters_row(struct bt *bt, size_t rep, enum period p, int32_t start_day,
    bool create)
{
	return counters_find(&bt->cnt, bt->nkpis, counter_key(rep, p,
	    start_day), create);
}

static double *
counters_vals(struct bt *bt, uint32_t row)
{
	return bt->cnt.vals + (size_t)row * bt->nkpis;
}

/* ---- the working-time model ---- */

/* The part of the span [s, s + len) before t (pacing's span_elapsed,
 * written so that t may be INT64_MAX). */
static int64_t
span_part(int64_t s, int64_t len, int64_t t)
{
	if (len <= 0 || t <= s)
		return 0;
	if (t >= s + len)
		return len;
	return t - s;
}

static void schedule(struct bt *, size_t, int64_t);

/* The model failed for team t: from the next boundary on, its reps are
 * judged at every boundary. */
static void
team_mismatch(struct bt *bt, struct bt_team *t, const char *what)
{
	bt->st->model_mismatches++;
	if (t->unsafe)
		return;
	if (!bt->warned) {
		fprintf(stderr, "paced backtest: working-time model disagrees "
		    "with the engine for team %s (%s); its reps are judged at "
		    "every boundary\n", t->id, what);
		bt->warned = true;
	}
	t->unsafe = true;
	for (size_t ri = 0; ri < bt->nreps; ri++)
		if (bt->reps[ri].team == t && bt->reps[ri].heap_pos !=
		    SIZE_MAX && bt->reps[ri].wake > bt->cur_tick + 1)
			schedule(bt, ri, bt->cur_tick + 1);
}

/*
 * Checks the table as the model relies on it: each day's hours start after
 * the previous day's end, and pacing_worktime() of a one-day bucket agrees
 * with the span at its start, middle and end.
 */
static void
team_verify(struct bt *bt, struct bt_team *t, const struct period_rules *rules)
{
	for (int32_t i = 0; i < t->n; i++) {
		int32_t d = t->base + i;
		int64_t at[3];
		struct bucket b;

		if (i + 1 < t->n && (t->start[i + 1] <= t->start[i] ||
		    t->start[i] + t->len[i] > t->start[i + 1])) {
			team_mismatch(bt, t, "overlapping working days");
			return;
		}
		if (t->len[i] == 0)
			continue;
		caltime_bucket_of_day(rules, PERIOD_DAY, d, &b);
		at[0] = t->start[i];
		at[1] = t->start[i] + t->len[i] / 2;
		at[2] = t->start[i] + t->len[i];
		for (int j = 0; j < 3; j++) {
			struct pacing_worktime wt;

			pacing_worktime(&t->cal, NULL, t->zone, &b, at[j], &wt);
			if (wt.total_ms != t->len[i] ||
			    wt.elapsed_ms != span_part(t->start[i], t->len[i],
			    at[j])) {
				team_mismatch(bt, t, "working day");
				return;
			}
		}
	}
}

/* Makes t's table hold the days [lo, hi). */
static void
team_cover(struct bt *bt, struct bt_team *t, const struct period_rules *rules,
    int32_t lo, int32_t hi)
{
	const struct pacing_calendar *cal = &t->cal;
	bool hours_ok;
	int32_t nlo, nhi;

	if (t->n > 0 && lo >= t->base && hi <= t->base + t->n)
		return;
	nlo = lo - TEAM_MARGIN;
	nhi = hi + TEAM_MARGIN;
	if (t->n > 0) {
		if (t->base < nlo)
			nlo = t->base;
		if (t->base + t->n > nhi)
			nhi = t->base + t->n;
	}
	t->base = nlo;
	t->n = nhi - nlo;
	t->start = xreallocarray(t->start, (size_t)t->n, sizeof(int64_t));
	t->len = xreallocarray(t->len, (size_t)t->n, sizeof(int64_t));
	t->cum = xreallocarray(t->cum, (size_t)t->n + 1, sizeof(int64_t));
	/* pacing_worktime() counts nothing for hours config would refuse. */
	hours_ok = cal->work_start_min >= 0 && cal->work_end_min <= 1440 &&
	    cal->work_end_min > cal->work_start_min;
	t->cum[0] = 0;
	for (int32_t i = 0; i < t->n; i++) {
		int32_t d = t->base + i;
		int64_t s, e;

		s = tzone_local_to_utc(t->zone, d, cal->work_start_min);
		e = tzone_local_to_utc(t->zone, d, cal->work_end_min);
		t->start[i] = s;
		t->len[i] = hours_ok && e > s &&
		    pacing_is_working_day(cal, d) ? e - s : 0;
		t->cum[i + 1] = t->cum[i] + t->len[i];
	}
	team_verify(bt, t, rules);
}

/*
 * The working time of rep cr (its out-of-office days taken out) in the
 * bucket of days [a, b) before instant at; INT64_MAX gives the total.
 */
static int64_t
model_elapsed(const struct bt_team *t, const struct config_rep *cr,
    int32_t a, int32_t b, int64_t at)
{
	size_t i0 = (size_t)(a - t->base), i1 = (size_t)(b - t->base);
	size_t lo = i0, hi = i1, mid;
	int64_t e = 0;

	/* Days whose hours start before at: all but the last are over. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->start[mid] < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > i0)
		e = t->cum[lo - 1] - t->cum[i0] +
		    span_part(t->start[lo - 1], t->len[lo - 1], at);
	if (cr->nout_of_office > 0) {
		size_t j = 0, n = cr->nout_of_office;

		lo = 0;
		hi = n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (cr->out_of_office[mid] < a)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (j = lo; j < n && cr->out_of_office[j] < b; j++) {
			size_t i = (size_t)(cr->out_of_office[j] - t->base);

			if (j > lo && cr->out_of_office[j] ==
			    cr->out_of_office[j - 1])
				continue;
			e -= span_part(t->start[i], t->len[i], at);
		}
	}
	return e;
}

/* ---- the schedule: an indexed binary heap of reps by (wake, index) ---- */

/* The working time of rep r in its cached bucket of period p before at,
 * counted from when the data began (scorecard_since), as evaluate_rep()
 * reads it. */
static int64_t
bucket_worked(const struct bt *bt, const struct bt_rep *r, int p, int64_t at)
{
	const struct bt_bucket *bc = &r->bucket[p];
	int64_t e;

	(void)bt;
	if (bc->wt.total_ms <= 0)
		return 0;
	e = model_elapsed(r->team, r->rr->rep, bc->start_day, bc->end_day, at);
	return e > bc->gone ? e - bc->gone : 0;
}

static bool
heap_less(const struct bt *bt, size_t a, size_t b)
{
	int64_t wa = bt->reps[a].wake, wb = bt->reps[b].wake;

	return wa < wb || (wa == wb && a < b);
}

static void
heap_place(struct bt *bt, size_t i, size_t ri)
{
	bt->heap[i] = ri;
	bt->reps[ri].heap_pos = i;
}

static void
heap_up(struct bt *bt, size_t i)
{
	size_t ri = bt->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!heap_less(bt, ri, bt->heap[parent]))
			break;
		heap_place(bt, i, bt->heap[parent]);
		i = parent;
	}
	heap_place(bt, i, ri);
}

static void
heap_down(struct bt *bt, size_t i)
{
	size_t ri = bt->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= bt->nheap)
			break;
		if (c + 1 < bt->nheap && heap_less(bt, bt->heap[c + 1],
		    bt->heap[c]))
			c++;
		if (!heap_less(bt, bt->heap[c], ri))
			break;
		heap_place(bt, i, bt->heap[c]);
		i = c;
	}
	heap_place(bt, i, ri);
}

static void
heap_remove_at(struct bt *bt, size_t i)
{
	size_t ri = bt->heap[i], last = bt->heap[--bt->nheap];

	bt->reps[ri].heap_pos = SIZE_MAX;
	if (i == bt->nheap)
		return;
	heap_place(bt, i, last);
	heap_up(bt, i);
	heap_down(bt, bt->reps[last].heap_pos);
}

/* Sets rep ri's wake to tick (TICK_NEVER: none). */
static void
schedule(struct bt *bt, size_t ri, int64_t tick)
{
	struct bt_rep *r = &bt->reps[ri];

	if (r->heap_pos != SIZE_MAX)
		heap_remove_at(bt, r->heap_pos);
	r->wake = tick;
	if (tick == TICK_NEVER)
		return;
	bt->heap[bt->nheap] = ri;
	r->heap_pos = bt->nheap++;
	heap_up(bt, r->heap_pos);
}

/* ---- judging ---- */

/* The rep's counters of every period's bucket holding at, for evaluate_rep. */
static void
gather_actual(struct bt *bt, size_t ri, int64_t at)
{
	const struct roster_rep *rr = bt->reps[ri].rr;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		struct bucket b;
		uint32_t row;

		scorecard_bucket(rr, (enum period)p, at, &b);
		bt->cur_start[p] = b.start_day;
		row = counters_row(bt, ri, (enum period)p, b.start_day, false);
		if (row == UINT32_MAX)
			memset(bt->actual + (size_t)p * bt->nkpis, 0,
			    bt->nkpis * sizeof(double));
		else
			memcpy(bt->actual + (size_t)p * bt->nkpis,
			    counters_vals(bt, row), bt->nkpis * sizeof(double));
	}
}

/*
 * The rep's final counters of the ended buckets whose alerts
 * evaluate_rep() resolves (period_ended), after gather_actual. Events
 * are counted only up to the boundary judged, and both modes judge the
 * boundary at the same line of the file, so they read the same values.
 */
static void
gather_ended(struct bt *bt, size_t ri)
{
	const struct eval_state *st = bt->reps[ri].states;

	for (size_t k = 0; k < bt->nkpis; k++) {
		for (int p = 0; p < PERIOD_COUNT; p++) {
			size_t slot = k * PERIOD_COUNT + (size_t)p;
			uint32_t row;

			bt->ended[slot] = 0;
			if (!evaluate_ending(&st[slot], bt->cur_start[p]))
				continue;
			row = counters_row(bt, ri, (enum period)p,
			    st[slot].start_day, false);
			if (row != UINT32_MAX)
				bt->ended[slot] = counters_vals(bt, row)[k];
		}
	}
}

/* Compares what evaluate_rep() computed with the scheduler's model. */
static void
verify_eval(struct bt *bt, struct bt_rep *r, int64_t at,
    const struct eval_result *res)
{
	if (res->nalerts == 0) {
		team_mismatch(bt, r->team, "predicted alert not sent");
		return;
	}
	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &res->cards[p];
		const struct bt_bucket *bc = &r->bucket[p];

		if (!bt->aperiod[p])
			continue;
		if (card->bucket.start_day != bc->start_day ||
		    card->wt.total_ms != bc->wt.total_ms ||
		    card->wt.elapsed_ms != bucket_worked(bt, r, p, at)) {
			team_mismatch(bt, r->team, "working time");
			return;
		}
		for (size_t j = 0; j < bt->nakpi[p]; j++) {
			size_t k = bt->akpi[p][j];
			size_t ti = (size_t)p * bt->nkpis + k;

			if (card->kpis[k].has_target != r->has_target[ti] ||
			    (r->has_target[ti] &&
			    card->kpis[k].fig.target != r->target[ti])) {
				team_mismatch(bt, r->team, "target");
				return;
			}
		}
	}
}

/* Judges rep ri at boundary tick with evaluate_rep(); writes its alerts. */
static void
evaluate(struct bt *bt, size_t ri, int64_t tick, bool predicted)
{
	struct bt_rep *r = &bt->reps[ri];
	int64_t at = tick * bt->every;
	struct eval_result res;

	gather_actual(bt, ri, at);
	gather_ended(bt, ri);
	memset(&res, 0, sizeof(res));
	evaluate_rep_since(bt->cfg, r->rr, at, bt->since_ms, bt->actual,
	    r->states, bt->ended, &res);
	bt->st->evaluations++;
	for (size_t s = 0; s < bt->nkpis * PERIOD_COUNT; s++)
		if (res.changed[s])
			r->states[s] = res.states[s];
	for (size_t i = 0; i < res.nalerts; i++) {
		fputs(res.alerts[i].json, bt->out);
		fputc('\n', bt->out);
	}
	bt->st->alerts += res.nalerts;
	if (predicted)
		verify_eval(bt, r, at, &res);
	eval_result_clear(&res);
}

/* Makes rep r's cached bucket of period p hold instant at. */
static void
refresh(struct bt *bt, size_t ri, enum period p, int64_t at)
{
	struct bt_rep *r = &bt->reps[ri];
	struct bt_bucket *bc = &r->bucket[p];
	const struct config_rep *cr = r->rr->rep;
	struct scorecard sc;

	if (bc->valid && at >= bc->start_ms && at < bc->end_ms)
		return;
	memset(&sc, 0, sizeof(sc));
	sc.kpis = bt->scratch;
	scorecard_compute(bt->cfg, r->rr, p, at, bt->zeros, &sc);
	bc->gone = 0;
	if (sc.wt.total_ms > 0) {
		bc->gone = scorecard_since_gone(r->rr, &sc.bucket,
		    bt->since_ms);
		if (bc->gone > sc.wt.total_ms)
			bc->gone = sc.wt.total_ms;
	}
	scorecard_since(bt->cfg, r->rr, bt->since_ms, &sc);
	bc->valid = true;
	bc->start_day = sc.bucket.start_day;
	bc->end_day = sc.bucket.end_day;
	bc->start_ms = sc.bucket.start_ms;
	bc->end_ms = sc.bucket.end_ms;
	bc->end_tick = ceil_div(bc->end_ms, bt->every);
	bc->wt = sc.wt;
	bc->row = counters_row(bt, ri, p, bc->start_day, true);
	for (size_t k = 0; k < bt->nkpis; k++) {
		size_t ti = (size_t)p * bt->nkpis + k;

		r->has_target[ti] = sc.kpis[k].has_target;
		r->target[ti] = sc.kpis[k].has_target ? sc.kpis[k].fig.target :
		    0;
	}
	team_cover(bt, r->team, &r->rr->calendar->rules, bc->start_day,
	    bc->end_day + 1);
	if (at < bc->start_ms || at >= bc->end_ms) {
		team_mismatch(bt, r->team, "bucket bounds");
		return;
	}
	if (sc.wt.total_ms > 0 && (model_elapsed(r->team, cr, bc->start_day,
	    bc->end_day, INT64_MAX) - bc->gone != sc.wt.total_ms ||
	    bucket_worked(bt, r, p, at) != sc.wt.elapsed_ms))
		team_mismatch(bt, r->team, "bucket working time");
}

/* The level alert_step() reads from a verdict (level_of in alert.c):
 * status critical is critical whatever the pace (a broken cap). */
static enum alert_level
want_level(const struct alert_rules *ru, enum pacing_status status,
    double pace)
{
	if (status == PACING_CRITICAL)
		return ALERT_LEVEL_CRITICAL;
	if (!isfinite(pace))
		return ALERT_LEVEL_WARNING;
	if (pace < ru->critical_below)
		return ALERT_LEVEL_CRITICAL;
	if (pace < ru->warning_below)
		return ALERT_LEVEL_WARNING;
	return ALERT_LEVEL_NONE;
}

/* What an evaluation would do to a slot, or to a rep: the most of them. */
enum {
	PROBE_NONE,		/* nothing: the state stays as stored */
	PROBE_QUIET,		/* the state changes, nothing is sent */
	PROBE_SEND,		/* a message is sent */
};

/* What evaluate_rep() would do to slot (k, p) with these figures and this
 * working time wt gone by in the bucket, at at. */
static int
slot_sends(struct bt *bt, const struct bt_rep *r, size_t k, int p,
    const struct pacing_figures *fig, const struct pacing_worktime *wt,
    int64_t at)
{
	const struct eval_state *es = &r->states[k * PERIOD_COUNT + (size_t)p];
	struct alert_state st, before;
	struct alert_input in;
	struct alert_action act;

	if (es->present && es->start_day != r->bucket[p].start_day) {
		if (es->alert.level != ALERT_LEVEL_NONE)
			return PROBE_SEND;	/* resolved: period_ended */
		memset(&st, 0, sizeof(st));
	} else if (es->present)
		st = es->alert;
	else
		memset(&st, 0, sizeof(st));
	before = st;
	memset(&in, 0, sizeof(in));
	in.status = (enum alert_pace)fig->status;
	in.pace = fig->has_pace ? fig->pace : NAN;
	in.elapsed = fig->fraction;
	in.worked_ms = wt->elapsed_ms;
	in.now_ms = at;
	in.no_time_left = wt->total_ms > 0 && wt->elapsed_ms >= wt->total_ms;
	alert_step(&bt->rules, &st, &in, &act);
	if (act.send)
		return PROBE_SEND;
	return alert_state_equal(&before, &st) ? PROBE_NONE : PROBE_QUIET;
}

/*
 * The inputs of every alerting slot of rep r at instant at, from the
 * cached buckets (which must hold at): fills the signature sig and, with
 * sim, returns what the state machines would do (PROBE_*, the most).
 */
static int
probe(struct bt *bt, struct bt_rep *r, int64_t at, uint8_t *sig, bool sim)
{
	double resolve_at = alert_resolve_at(&bt->rules);
	int send = PROBE_NONE, s;
	size_t n = 0;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct bt_bucket *bc = &r->bucket[p];
		struct pacing_worktime wt;
		const double *vals;

		if (!bt->aperiod[p])
			continue;
		wt = bc->wt;
		wt.elapsed_ms = bucket_worked(bt, r, p, at);
		vals = counters_vals(bt, bc->row);
		for (size_t j = 0; j < bt->nakpi[p]; j++) {
			size_t k = bt->akpi[p][j];
			size_t ti = (size_t)p * bt->nkpis + k;
			struct pacing_figures fig;
			unsigned want;

			if (!r->has_target[ti]) {
				/* Judged no more, but an alert of an ended
				 * bucket still resolves (period_ended). */
				if (sim && send < PROBE_SEND && evaluate_ending(
				    &r->states[k * PERIOD_COUNT + (size_t)p],
				    bc->start_day))
					send = PROBE_SEND;
				sig[n++] = SIG_NO_TARGET;
				continue;
			}
			pacing_evaluate(vals[k], r->target[ti],
			    bt->cfg->kpis[k].better == KPI_BETTER_LOWER ?
			    PACING_LOWER_IS_BETTER : PACING_HIGHER_IS_BETTER,
			    &wt, &bt->th, &fig);
			want = fig.status == PACING_NOT_STARTED ? SIG_WANT_NS :
			    (unsigned)want_level(&bt->rules, fig.status,
			    fig.has_pace ? fig.pace : NAN);
			/* Every part moves one way as working time grows:
			 * the recovery margin with the pace, and the end of
			 * the working time once reached stays. */
			sig[n++] = (uint8_t)((unsigned)fig.status |
			    (fig.fraction >= bt->rules.grace ? 8u : 0u) |
			    want << 4 |
			    (!fig.has_pace || fig.pace >= resolve_at ? 64u :
			    0u) |
			    (wt.total_ms > 0 && wt.elapsed_ms >= wt.total_ms ?
			    128u : 0u));
			if (sim && send < PROBE_SEND) {
				s = slot_sends(bt, r, k, p, &fig, &wt, at);
				if (s > send)
					send = s;
			}
		}
	}
	return send;
}

/*
 * The first boundary in [from, the bucket's end) at which rep r's working
 * time in its cached bucket of period p reaches worked, or TICK_NEVER.
 * Working time never falls as time goes on: a bisection over boundaries.
 */
static int64_t
worked_tick(struct bt *bt, const struct bt_rep *r, int p, int64_t from,
    int64_t worked)
{
	const struct bt_bucket *bc = &r->bucket[p];
	int64_t lo = from, hi = bc->end_tick - 1, mid;

	if (bc->wt.total_ms <= 0 || worked > bc->wt.total_ms || hi < lo ||
	    bucket_worked(bt, r, p, hi * bt->every) < worked)
		return TICK_NEVER;
	/* The answer lies in [lo, hi]. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (bucket_worked(bt, r, p, mid * bt->every) >= worked)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * The first boundary at or after from where a firing alert's repeat falls
 * due (repeat_interval of working time since its last message) while the
 * signature sig says the rep is at that alert's level, out of grace.
 */
static int64_t
repeat_tick(struct bt *bt, const struct bt_rep *r, const uint8_t *sig,
    int64_t from)
{
	int64_t best = TICK_NEVER, iv = bt->rules.repeat_interval_ms;
	size_t n = 0;

	if (iv <= 0)
		return TICK_NEVER;
	for (int p = 0; p < PERIOD_COUNT; p++) {
		if (!bt->aperiod[p])
			continue;
		for (size_t j = 0; j < bt->nakpi[p]; j++) {
			size_t k = bt->akpi[p][j];
			const struct eval_state *es =
			    &r->states[k * PERIOD_COUNT + (size_t)p];
			unsigned s = sig[n++], status = s & 7;
			int64_t t;

			if (s == SIG_NO_TARGET || !es->present ||
			    es->start_day != r->bucket[p].start_day ||
			    es->alert.level == ALERT_LEVEL_NONE)
				continue;
			if ((status != PACING_BEHIND &&
			    status != PACING_CRITICAL) || (s & 8) == 0 ||
			    ((s >> 4) & 3) != (unsigned)es->alert.level)
				continue;
			/* Never met here (evaluate_rep() knows every
			 * state's working time); early is only slower. */
			if (es->alert.last_sent_worked_ms ==
			    ALERT_WORKED_UNKNOWN)
				return from;
			if (es->alert.last_sent_worked_ms > INT64_MAX - iv)
				continue;
			t = worked_tick(bt, r, p, from,
			    es->alert.last_sent_worked_ms + iv);
			if (t < best)
				best = t;
		}
	}
	return best;
}

/*
 * The first boundary at or after from where a breach under way (see
 * alert.h) that only waits for its working time has lasted
 * alerts.min_breach, or TICK_NEVER. Until then, with the signature
 * unchanged, its evaluations change nothing.
 */
static int64_t
pending_tick(struct bt *bt, const struct bt_rep *r, int64_t from)
{
	int64_t best = TICK_NEVER, need = bt->rules.min_breach_ms;
	uint32_t evals = bt->rules.min_breach_evals > 1 ?
	    bt->rules.min_breach_evals : 1;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		if (!bt->aperiod[p])
			continue;
		for (size_t j = 0; j < bt->nakpi[p]; j++) {
			size_t k = bt->akpi[p][j];
			const struct eval_state *es =
			    &r->states[k * PERIOD_COUNT + (size_t)p];
			int64_t t;

			if (!es->present ||
			    es->start_day != r->bucket[p].start_day ||
			    es->alert.pending == ALERT_PENDING_NONE)
				continue;
			/* Still counting evaluations: the next one
			 * changes the state (probe() sees it). */
			if (es->alert.pending_count < evals)
				return from;
			if (need <= 0 || es->alert.pending_since_worked_ms >
			    INT64_MAX - need)
				continue;
			t = worked_tick(bt, r, p, from,
			    es->alert.pending_since_worked_ms + need);
			if (t < best)
				best = t;
		}
	}
	return best;
}

/*
 * The first boundary in (from, limit) whose signature differs from sig0
 * (the signature at from), or limit. Doubling steps, then bisection: the
 * signature never comes back to a value it left.
 */
static int64_t
first_change(struct bt *bt, struct bt_rep *r, int64_t from, int64_t limit)
{
	int64_t lo = from, hi, step = 1, t;
	size_t n = bt->nslots;

	for (;;) {
		t = limit - lo > step ? lo + step : limit - 1;
		if (t <= lo)
			return limit;
		probe(bt, r, t * bt->every, bt->sig1, false);
		if (memcmp(bt->sig0, bt->sig1, n) != 0) {
			hi = t;
			break;
		}
		if (t == limit - 1)
			return limit;
		lo = t;
		if (step < INT64_MAX / 2)
			step *= 2;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		probe(bt, r, mid * bt->every, bt->sig1, false);
		if (memcmp(bt->sig0, bt->sig1, n) != 0)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/*
 * The first boundary at or after from where rep r's state machines would
 * send with the counters as they are, or the next bucket boundary of an
 * alerting period if that comes first. The cached buckets hold from.
 */
static int64_t
next_send(struct bt *bt, struct bt_rep *r, int64_t from)
{
	int64_t cap = TICK_NEVER, t = from, limit, rt;

	if (bt->nslots == 0)
		return TICK_NEVER;	/* nothing alerts at all */
	for (int p = 0; p < PERIOD_COUNT; p++)
		if (bt->aperiod[p] && r->bucket[p].end_tick < cap)
			cap = r->bucket[p].end_tick;
	while (t < cap) {
		if (probe(bt, r, t * bt->every, bt->sig0, true) != PROBE_NONE)
			return t;
		limit = cap;
		rt = repeat_tick(bt, r, bt->sig0, t);
		if (rt < limit)
			limit = rt > t ? rt : t + 1;
		rt = pending_tick(bt, r, t);
		if (rt < limit)
			limit = rt > t ? rt : t + 1;
		t = first_change(bt, r, t, limit);
	}
	return cap;
}

/* Rep ri's wake at boundary tick: judge it if it would send, then plan. */
static void
wake(struct bt *bt, size_t ri, int64_t tick)
{
	struct bt_rep *r = &bt->reps[ri];
	int64_t at = tick * bt->every;
	int what;

	bt->cur_tick = tick;
	bt->st->wakes++;
	for (int p = 0; p < PERIOD_COUNT && !r->team->unsafe; p++)
		if (bt->aperiod[p])
			refresh(bt, ri, (enum period)p, at);
	if (!r->team->unsafe && (what = probe(bt, r, at, bt->sig0, true)) !=
	    PROBE_NONE)
		evaluate(bt, ri, tick, what == PROBE_SEND);
	else if (r->team->unsafe)
		evaluate(bt, ri, tick, false);
	if (r->team->unsafe) {
		schedule(bt, ri, tick + 1);
		return;
	}
	schedule(bt, ri, next_send(bt, r, tick + 1));
}

/* Judges every boundary after ec.done up to index target. */
static void
advance(struct bt *bt, int64_t target)
{
	if (target <= bt->ec.done)
		return;
	if (bt->opts->exhaustive) {
		for (int64_t t = bt->ec.done + 1; t <= target; t++)
			for (size_t ri = 0; ri < bt->nreps; ri++)
				evaluate(bt, ri, t, false);
	} else {
		while (bt->nheap > 0 && bt->reps[bt->heap[0]].wake <= target) {
			size_t ri = bt->heap[0];
			int64_t t = bt->reps[ri].wake;

			schedule(bt, ri, TICK_NEVER);
			wake(bt, ri, t);
		}
	}
	bt->st->ticks += (uint64_t)(target - bt->ec.done);
	evclock_judged(&bt->ec, target);
}

/*
 * After an event of rep ri counted toward kpis: is its wake still early
 * enough? More of a higher-is-better KPI raises its pace at every later
 * boundary, which takes sends away (no fire, no escalation, no repeat
 * that was not due anyway) but for one: the recovery of a firing alert.
 * Pace only falls as time goes on, so if the rep is not back on pace at
 * the next boundary it is not before its wake either: one look at the
 * next boundary settles it. A lower-is-better KPI that moved can make
 * its slot fire later on: the rep is examined again at the next boundary.
 * The wake lies inside the cached buckets (it is at most their end), so
 * the next boundary does too.
 */
static void
counted(struct bt *bt, size_t ri, const size_t *kpis, size_t nkpis)
{
	struct bt_rep *r = &bt->reps[ri];
	bool firing = false;

	if (r->wake <= bt->ec.done + 1)
		return;
	for (size_t i = 0; i < nkpis; i++) {
		size_t k = kpis[i];

		for (int p = 0; p < PERIOD_COUNT; p++) {
			size_t slot = k * PERIOD_COUNT + (size_t)p;

			if (!bt->alerting[slot])
				continue;
			if (bt->cfg->kpis[k].better == KPI_BETTER_LOWER) {
				schedule(bt, ri, bt->ec.done + 1);
				return;
			}
			if (r->states[slot].present &&
			    (r->states[slot].alert.level != ALERT_LEVEL_NONE ||
			    r->states[slot].alert.pending !=
			    ALERT_PENDING_NONE))
				firing = true;
		}
	}
	if (firing && probe(bt, r, (bt->ec.done + 1) * bt->every, bt->sig1,
	    true) != PROBE_NONE)
		schedule(bt, ri, bt->ec.done + 1);
}

/* One line of the file, classified as the ingest path classifies a
 * message (classify.c), through the same event-clock gate (evclock.c). */
static void
take_line(struct bt *bt, const char *line, size_t len)
{
	struct backtest_stats *st = bt->st;
	const struct config *cfg = bt->cfg;
	struct classified c;
	int64_t target, utc_day;
	bool first;
	size_t ri;
	uint64_t h;

	/* No too_far_in_future: the wall clock means nothing to a replay. */
	classify(bt->roster, line, len, clock_now(&bt->clock) -
	    cfg->redis.dedupe_window_ms, INT64_MAX, &c);
	/* A bad event never moves the clock. */
	if (c.outcome == CLASSIFY_BAD) {
		st->bad++;
		if (c.bad == CLASSIFY_BAD_TOO_OLD)
			st->too_old++;
		else
			st->bad_reason[c.bad]++;
		return;
	}
	first = !bt->ec.started;
	if (!evclock_admit(&bt->ec, c.ev.occurred_at_ms, &target)) {
		advance(bt, target);
		evclock_admit(&bt->ec, c.ev.occurred_at_ms, &target);
	}
	/* The data begins with the replay (scorecard_since), at the
	 * boundary the first event sets the clock to. */
	if (first)
		bt->since_ms = bt->ec.done * bt->every;
	if (first && !bt->opts->exhaustive)
		for (ri = 0; ri < bt->nreps; ri++)
			schedule(bt, ri, bt->ec.done + 1);
	/* Any valid event is evidence of the time, counted or skipped. */
	clock_observe(&bt->clock, c.ev.occurred_at_ms);

	if (c.outcome == CLASSIFY_SKIPPED) {
		st->skipped++;
		if (c.skip == CLASSIFY_SKIP_UNKNOWN_REP)
			st->unknown_rep++;
		else
			st->unknown_type++;
		return;
	}
	ri = c.rep->index;
	utc_day = c.utc_day;
	h = hash_fnv1a(HASH_FNV1A_INIT, &ri, sizeof(ri));
	h = hash_fnv1a(h, &utc_day, sizeof(utc_day));
	h = bt_mix64(hash_fnv1a(h, c.ev.event_id, strlen(c.ev.event_id)));
	if (!idset_add(&bt->ids, h)) {
		st->duplicates++;
		return;
	}
	st->counted++;
	for (int p = 0; p < PERIOD_COUNT; p++) {
		struct bucket b;
		double *v;

		caltime_bucket_of_day(&c.rep->calendar->rules, (enum period)p,
		    c.local_day, &b);
		v = counters_vals(bt, counters_row(bt, ri, (enum period)p,
		    b.start_day, true));
		for (size_t i = 0; i < c.nkpis; i++)
			v[c.kpis[i]] += cfg->kpis[c.kpis[i]].measure ==
			    KPI_MEASURE_AMOUNT ? c.ev.amount : (double)c.ev.count;
	}
	if (!bt->opts->exhaustive)
		counted(bt, ri, c.kpis, c.nkpis);
}

static void
bt_init(struct bt *bt, const struct config *cfg)
{
	size_t nk = cfg->nkpis ? cfg->nkpis : 1;

	bt->nkpis = cfg->nkpis;
	bt->since_ms = INT64_MIN;
	bt->nreps = roster_size(bt->roster);
	bt->every = cfg->alerts.evaluate_every_ms > 0 ?
	    cfg->alerts.evaluate_every_ms : 60000;
	bt->rules.warning_below = cfg->alerts.warning_below;
	bt->rules.critical_below = cfg->alerts.critical_below;
	bt->rules.grace = cfg->alerts.grace;
	bt->rules.repeat_interval_ms = cfg->alerts.repeat_interval_ms;
	bt->rules.min_breach_evals = (uint32_t)cfg->alerts.min_breach_evals;
	bt->rules.min_breach_ms = cfg->alerts.min_breach_ms;
	bt->rules.resolve_margin = cfg->alerts.resolve_margin;
	/* As scorecard_compute() sets them. */
	bt->th.ahead_above = cfg->alerts.ahead_above;
	bt->th.warning_below = cfg->alerts.warning_below;
	bt->th.critical_below = cfg->alerts.critical_below;
	if (bt->th.ahead_above < bt->th.warning_below)
		bt->th.ahead_above = PACING_AHEAD_ABOVE;
	bt->clock.mode = CLOCK_MODE_EVENT;
	evclock_init(&bt->ec, bt->every);

	bt->alerting = xcalloc(nk * PERIOD_COUNT, sizeof(bool));
	for (int p = 0; p < PERIOD_COUNT; p++) {
		bt->akpi[p] = xcalloc(nk, sizeof(size_t));
		for (size_t k = 0; k < cfg->nkpis; k++) {
			if (!evaluate_alerting(cfg, k, (enum period)p))
				continue;
			bt->alerting[k * PERIOD_COUNT + (size_t)p] = true;
			bt->akpi[p][bt->nakpi[p]++] = k;
			bt->aperiod[p] = true;
			bt->nslots++;
		}
	}
	bt->sig0 = xcalloc(bt->nslots + 1, 1);
	bt->sig1 = xcalloc(bt->nslots + 1, 1);
	bt->actual = xcalloc(nk * PERIOD_COUNT, sizeof(double));
	bt->ended = xcalloc(nk * PERIOD_COUNT, sizeof(double));
	bt->zeros = xcalloc(nk, sizeof(double));
	bt->scratch = xcalloc(nk, sizeof(struct scorecard_kpi));

	bt->teams = xcalloc(cfg->nteams ? cfg->nteams : 1, sizeof(*bt->teams));
	bt->reps = xcalloc(bt->nreps ? bt->nreps : 1, sizeof(*bt->reps));
	bt->heap = xcalloc(bt->nreps ? bt->nreps : 1, sizeof(size_t));
	for (size_t i = 0; i < bt->nreps; i++) {
		struct bt_rep *r = &bt->reps[i];
		const struct roster_rep *rr = roster_rep_at(bt->roster, i);
		struct bt_team *t = &bt->teams[rr->team - cfg->teams];
		const struct config_calendar *cc = rr->calendar;

		if (!t->ready) {
			t->ready = true;
			t->id = rr->team->id;
			t->zone = rr->zone;
			t->cal.working_days = cc->working_days;
			t->cal.work_start_min = cc->work_start_min;
			t->cal.work_end_min = cc->work_end_min;
			t->cal.holidays = cc->holidays;
			t->cal.nholidays = cc->nholidays;
		}
		r->rr = rr;
		r->team = t;
		r->states = xcalloc(nk * PERIOD_COUNT, sizeof(*r->states));
		r->target = xcalloc(nk * PERIOD_COUNT, sizeof(double));
		r->has_target = xcalloc(nk * PERIOD_COUNT, sizeof(bool));
		r->wake = TICK_NEVER;
		r->heap_pos = SIZE_MAX;
	}
}

static void
bt_free(struct bt *bt)
{
	for (size_t i = 0; i < bt->nreps; i++) {
		free(bt->reps[i].states);
		free(bt->reps[i].target);
		free(bt->reps[i].has_target);
	}
	for (size_t i = 0; i < bt->cfg->nteams; i++) {
		free(bt->teams[i].start);
		free(bt->teams[i].len);
		free(bt->teams[i].cum);
	}
	for (int p = 0; p < PERIOD_COUNT; p++)
		free(bt->akpi[p]);
	free(bt->alerting);
	free(bt->sig0);
	free(bt->sig1);
	free(bt->actual);
	free(bt->ended);
	free(bt->zeros);
	free(bt->scratch);
	free(bt->teams);
	free(bt->reps);
	free(bt->heap);
	counters_free(&bt->cnt);
	idset_free(&bt->ids);
	roster_free(bt->roster);
}

int
backtest_run(const struct config *cfg, FILE *in, FILE *out,
    const struct backtest_opts *opts, struct backtest_stats *st, char *err,
    size_t errlen)
{
	struct bt bt;
	double t0 = seconds_now();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	memset(&bt, 0, sizeof(bt));
	bt.cfg = cfg;
	bt.opts = opts;
	bt.st = st;
	bt.out = out;
	if ((bt.roster = roster_new(cfg, err, errlen)) == NULL)
		return -1;
	bt_init(&bt, cfg);

	while ((n = getline(&line, &cap, in)) != -1) {
		size_t len = (size_t)n;

		st->read++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		take_line(&bt, line, len);
	}
	free(line);
	if (ferror(in)) {
		snprintf(err, errlen, "reading events: %s", strerror(errno));
		rc = -1;
	} else if (opts->has_until && bt.ec.started)
		advance(&bt, evclock_index(&bt.ec, opts->until_ms));
	if (fflush(out) != 0 || ferror(out)) {
		if (rc == 0)
			snprintf(err, errlen, "writing alerts: %s",
			    strerror(errno));
		rc = -1;
	}
	bt_free(&bt);
	st->elapsed_s = seconds_now() - t0;
	return rc;
}

void
backtest_stats_print(const struct backtest_stats *st, bool exhaustive,
    FILE *f)
{
	fprintf(f, "backtest: events=%" PRIu64 " counted=%" PRIu64
	    " duplicates=%" PRIu64 " bad=%" PRIu64, st->read, st->counted,
	    st->duplicates, st->bad);
	for (int r = 0; r < DECODE_REASON_COUNT; r++)
		if (st->bad_reason[r] > 0)
			fprintf(f, " bad.%s=%" PRIu64,
			    decode_reason_name((enum decode_reason)r),
			    st->bad_reason[r]);
	if (st->too_old > 0)
		fprintf(f, " bad.too_old=%" PRIu64, st->too_old);
	fprintf(f, " skipped=%" PRIu64, st->skipped);
	if (st->unknown_rep > 0)
		fprintf(f, " skipped.unknown_rep=%" PRIu64, st->unknown_rep);
	if (st->unknown_type > 0)
		fprintf(f, " skipped.unknown_type=%" PRIu64, st->unknown_type);
	fprintf(f, " ticks=%" PRIu64 " evaluations=%" PRIu64 " wakes=%" PRIu64
	    " alerts=%" PRIu64, st->ticks, st->evaluations, st->wakes,
	    st->alerts);
	if (st->model_mismatches > 0)
		fprintf(f, " model_mismatches=%" PRIu64, st->model_mismatches);
	fprintf(f, " mode=%s elapsed=%.3fs\n", exhaustive ? "exhaustive" :
	    "fast", st->elapsed_s);
}

static void
backtest_usage(FILE *f)
{
	fprintf(f,
	    "usage: paced backtest --config FILE [--until RFC3339] [--exhaustive]"
	    " EVENTS.jsonl\n"
	    "\n"
	    "Replays EVENTS.jsonl (one activity event a line; - reads stdin) on\n"
	    "the event clock and prints the alerts that would have fired, one\n"
	    "JSON object a line. --until carries the clock on past the last\n"
	    "event; --exhaustive judges every rep at every boundary (slow, same\n"
	    "output). A summary goes to stderr. No broker, no Redis.\n");
}

int
backtest_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "until", required_argument, NULL, 'u' },
		{ "exhaustive", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct backtest_opts o = { 0 };
	struct backtest_stats st;
	const char *config = NULL, *until = NULL, *path;
	struct config *cfg;
	char *errs = NULL, err[512];
	FILE *in;
	int ch, rc;

	/* 0, not 1: glibc then forgets any earlier scan entirely. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:u:xh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'x':
			o.exhaustive = true;
			break;
		case 'h':
			backtest_usage(stdout);
			return 0;
		default:
			backtest_usage(stderr);
			return 2;
		}
	}
	if (config == NULL || optind + 1 != argc) {
		backtest_usage(stderr);
		return 2;
	}
	path = argv[optind];
	if (until != NULL) {
		if (caltime_parse_rfc3339(until, strlen(until),
		    &o.until_ms) != 0) {
			fprintf(stderr, "paced backtest: --until: not an RFC 3339 "
			    "time with offset: %s\n", until);
			return 2;
		}
		o.has_until = true;
	}
	if ((cfg = config_load(config, &errs)) == NULL) {
		fputs(errs ? errs : "unknown error\n", stderr);
		free(errs);
		return 1;
	}
	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "paced backtest: %s: %s\n", path,
		    strerror(errno));
		config_free(cfg);
		return 1;
	}
	rc = backtest_run(cfg, in, stdout, &o, &st, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "paced backtest: %s: %s\n", config, err);
	backtest_stats_print(&st, o.exhaustive, stderr);
	if (in != stdin)
		fclose(in);
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}
