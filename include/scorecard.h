#ifndef PACED_SCORECARD_H
#define PACED_SCORECARD_H

/*
 * A rep's scorecard for one period bucket at one instant: for every KPI of
 * the catalogue, the target in force (role, schedules, overrides, prorated
 * for out-of-office days) and the pace figures against the actual values
 * the caller read. Pure: the HTTP scorecard, the evaluator and the
 * backtest all compute it the same way.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"
#include "pacing.h"
#include "roster.h"

struct scorecard_kpi {
	bool has_target;		/* false: no target for this period */
	struct pacing_figures fig;	/* valid when has_target */
	double actual;
};

struct scorecard {
	enum period period;
	struct bucket bucket;		/* the bucket holding the instant */
	struct pacing_worktime wt;
	struct scorecard_kpi *kpis;	/* cfg->nkpis entries, caller's */
};

/*
 * Fills sc (its kpis array: cfg->nkpis entries, caller's storage) for rep
 * (borrowed) and period p at instant at_ms, with actual[k] (borrowed; per
 * KPI index) the rep's values in that bucket.
 */
void scorecard_compute(const struct config *cfg, const struct roster_rep *rep,
    enum period p, int64_t at_ms, const double *actual, struct scorecard *sc);
/* Fills cal (caller's) with the working days, hours and holidays of cc
 * (borrowed: cal points into it). */
void scorecard_calendar(const struct config_calendar *cc,
    struct pacing_calendar *cal);
/*
 * Fills wt (caller's) with rep's working time in bucket b at instant at_ms
 * (both borrowed), out-of-office days taken out: what scorecard_compute()
 * puts in sc->wt when at_ms falls in b.
 */
void scorecard_worktime(const struct roster_rep *rep, const struct bucket *b,
    int64_t at_ms, struct pacing_worktime *wt);
/*
 * The rule for a bucket that began before paced had any data for the rep
 * (a first deployment on a Wednesday, a replay that starts mid-week):
 * the days before the data began are not read as zero activity. With
 * since_ms the instant the data began, the working time of sc's bucket
 * before it is taken out of the bucket (total and elapsed), the targets
 * shrink by the same share, and the figures are computed again: the rep
 * is judged on the working time since the data began. A bucket that began
 * at or after since_ms is left as it is. Borrows all but sc (updated).
 */
void scorecard_since(const struct config *cfg, const struct roster_rep *rep,
    int64_t since_ms, struct scorecard *sc);
/* The rep's working time in bucket b (borrowed) before since_ms, what
 * scorecard_since() takes out; 0 when b began at or after it. */
int64_t scorecard_since_gone(const struct roster_rep *rep,
    const struct bucket *b, int64_t since_ms);
/* Just the bucket of period p holding at_ms in rep's zone and calendar. */
void scorecard_bucket(const struct roster_rep *rep, enum period p,
    int64_t at_ms, struct bucket *b);

/*
 * The buckets and the working time the reps of a team share at one
 * instant, worked out once: what the *_memo forms below read and fill
 * (their results are those of the plain forms). Its keys are the config's
 * calendars and the roster's zones: clear it whenever either is swapped.
 */
struct scorecard_memo;
/* Returns an owned, empty memo; free with scorecard_memo_free. */
struct scorecard_memo *scorecard_memo_new(void);
/* Frees m; NULL does nothing. */
void scorecard_memo_free(struct scorecard_memo *m);
/* Forgets all m holds (a config or roster swap); NULL does nothing. */
void scorecard_memo_clear(struct scorecard_memo *m);
/* scorecard_compute(), scorecard_since() and scorecard_bucket() through
 * m (borrowed, updated; NULL: none). */
void scorecard_compute_memo(const struct config *cfg,
    const struct roster_rep *rep, enum period p, int64_t at_ms,
    const double *actual, struct scorecard_memo *m, struct scorecard *sc);
void scorecard_since_memo(const struct config *cfg,
    const struct roster_rep *rep, int64_t since_ms, struct scorecard_memo *m,
    struct scorecard *sc);
void scorecard_bucket_memo(struct scorecard_memo *m,
    const struct roster_rep *rep, enum period p, int64_t at_ms,
    struct bucket *b);

#endif
