#ifndef PACED_REPCACHE_H
#define PACED_REPCACHE_H

/*
 * What the evaluator knows of its reps without reading Redis: each rep's
 * counters in the four buckets it was last judged in, and its alert
 * states as Redis holds them. An evaluation that finds all of it here
 * sends no read; one that does not reads Redis and fills it in.
 *
 * Redis stays the truth. The counters are the absolute values the
 * counting scripts answered (this member's own writes, which are the
 * only writes to the counters of the reps it owns) or a read; the states
 * are what the evaluator wrote once Redis acknowledged it. A rep is read
 * again at least every REPCACHE_REFRESH_MS, and the whole cache is
 * forgotten when the writes of this member may have missed it: a batch
 * whose counts are unknown, a rebalance, a reload.
 *
 * A read and a counting script run on different connections, so a read's
 * answer may come after the script's although Redis ran it before: the
 * read fills a rep only when no counted value of that rep came between
 * its sending (repcache_epoch) and its answer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "evaluate.h"

/* A rep known here is read from Redis again after this long. */
#define REPCACHE_REFRESH_MS	(10 * 60 * 1000)

struct repcache;

/* For nreps reps of nkpis KPIs. Returns owned; free with repcache_free. */
struct repcache *repcache_new(size_t nreps, size_t nkpis);
/* NULL does nothing. */
void repcache_free(struct repcache *c);
/* Forgets every rep, and takes a new size (a reload). */
void repcache_reset(struct repcache *c, size_t nreps, size_t nkpis);
/* Forgets every rep. */
void repcache_clear(struct repcache *c);
/* Forgets one rep (its states write was not acknowledged). */
void repcache_forget(struct repcache *c, size_t rep);
/* Reps known (counters and states), for the metrics. */
size_t repcache_known(const struct repcache *c);
/* Counts the clearings (repcache_clear, repcache_reset): what was read or
 * written before one is no longer the cache's to take. */
uint64_t repcache_generation(const struct repcache *c);

/* The count of values counted for rep so far: a read sent at one epoch
 * fills the rep only if it is the same when the answer comes. */
uint32_t repcache_epoch(const struct repcache *c, size_t rep);
/* A counting script answered v for rep's kpi in the bucket of period p
 * that starts on start_day. */
void repcache_counted(struct repcache *c, size_t rep, size_t kpi,
    enum period p, int32_t start_day, double v);

/*
 * True when rep is known in the buckets starting on start[] (one per
 * period) and was read less than REPCACHE_REFRESH_MS before now_ms
 * (monotonic): actual[p * nkpis + k] gets its counters,
 * prev[k * PERIOD_COUNT + p] its states (as eval_state_brief leaves
 * them; prev must come zeroed: a rep with no state leaves it so) and
 * *last_at the instant it was last judged (0: never).
 */
bool repcache_get(const struct repcache *c, size_t rep,
    const int32_t start[PERIOD_COUNT], int64_t now_ms, double *actual,
    struct eval_state *prev, int64_t *last_at);
/* What a read sent at epoch found (same layouts as repcache_get). */
void repcache_fill(struct repcache *c, size_t rep, uint32_t epoch,
    const int32_t start[PERIOD_COUNT], const double *actual,
    const struct eval_state *prev, int64_t last_at, int64_t now_ms);
/* True when rep's last judgement here left an alert firing or a breach
 * under way (its entry may be gone since: a new bucket, a clearing), or
 * it was not judged here since the roster was set (it may have one). A
 * hint. */
bool repcache_alerting(const struct repcache *c, size_t rep);
/* Rep's whole states after a judgement (the layout of repcache_get's
 * prev): the hint of repcache_alerting, copy or not. */
void repcache_note_alerting(struct repcache *c, size_t rep,
    const struct eval_state *states);
/* The sum of the pace figures last written for rep since its last read
 * (pace_write_send's; 0: none), NULL when rep is not known. Borrowed
 * until the next call that changes c. */
uint64_t *repcache_pace_sum(struct repcache *c, size_t rep);
/* Redis acknowledged rep's states after a judgement at last_at: the
 * changed ones (states[s] where changed[s]; not present: deleted). */
void repcache_stored(struct repcache *c, size_t rep,
    const struct eval_state *states, const bool *changed, int64_t last_at);

#endif
