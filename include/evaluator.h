#ifndef PACED_EVALUATOR_H
#define PACED_EVALUATOR_H

/*
 * The pacing evaluator on the loop: on a timer over the whole roster
 * (silent reps included; each member evaluates only the reps whose
 * partition it owns), again soon after a rep's counters change, and on
 * the event clock at every evaluate_every boundary the watermark passes.
 * Counters and alert state come from the evaluator's copy of the rep
 * (repcache.h) or are read from Redis; alerts go to the sinks;
 * the new state is stored only once the durable sinks accepted the alerts,
 * so a restart neither re-fires nor forgets one. At start and after a
 * reload it also resolves the firing alerts of reps no longer on the
 * roster (reason rep_removed), for the reps whose partition it owns.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "roster.h"

struct event_base;
struct redis_conn;
struct sinks;
struct changes;
struct owner;
struct scorecard;
struct evaluator;

struct evaluator_deps {
	struct event_base *base;
	struct redis_conn *conn;
	struct sinks *sinks;
	const struct owner *owner;	/* ownership of reps, the clock */
	const struct config *const *cfg;	/* read through: reloads */
	const struct roster *const *roster;
	struct changes *changes;	/* pace status changes; may be NULL */
	/* Told of each rep judged, with its scorecards of every period at
	 * at_ms (cards[PERIOD_COUNT], borrowed for the call); may be NULL.
	 * main.c wires it to the scorecard snapshots. */
	void (*judged)(const struct roster_rep *rep, int64_t at_ms,
	    const struct scorecard *cards, void *arg);
	void *judged_arg;
};

/* Borrows deps' targets. Returns owned (free with evaluator_free). */
struct evaluator *evaluator_new(const struct evaluator_deps *deps);
/* Frees e; in-flight work is abandoned. NULL does nothing. */
void evaluator_free(struct evaluator *e);
/* The config or roster was swapped: drop work based on the old ones, and
 * look for alerts of reps the new roster lacks. */
void evaluator_reconfigured(struct evaluator *e);
/* More reps are owned now (a partition's backlog was read): judge the
 * reps of the partitions caught up since the last call (or the last
 * timer) now rather than at the next timer, each once (wall clock only).
 * Changes that came before they were owned are judged with them. */
void evaluator_owned_grew(struct evaluator *e);
/* Rep (config index) has new counters: evaluate it soon (wall clock). */
void evaluator_rep_changed(struct evaluator *e, size_t rep_index);
/* While held (the ingest is behind), reps changed are only marked; once
 * released they are judged, each once, a few thousand every 250 ms at
 * most. The timer's passes go on either way. */
void evaluator_hold_changes(struct evaluator *e, bool hold);
/* A counting script under cfg answered value (len bytes of text) for
 * rr's kpi in the bucket of period p starting on start_day: the
 * evaluator's copy takes it (a batch of another config is ignored). */
void evaluator_counted(struct evaluator *e, const struct config *cfg,
    const struct roster_rep *rr, size_t kpi, enum period p, int32_t start_day,
    const char *value, size_t len);
/* Some counts were written or not, nobody knows (a failed batch): the
 * evaluator reads every rep from Redis again. */
void evaluator_counts_unknown(struct evaluator *e);
/* Event clock: evaluates every owned rep at at_ms; done_cb(arg, status)
 * once all are settled (never from inside this call), status -1 when an
 * evaluation failed (nothing was stored for it: judge the tick again). */
void evaluator_tick(struct evaluator *e, int64_t at_ms,
    void (*done_cb)(void *, int), void *arg);
/* Number of evaluations waiting or in flight (tests, shutdown). */
size_t evaluator_busy(const struct evaluator *e);
/* A stop: evaluations waiting are dropped (their ticks report -1, so
 * nothing is recorded as judged), on the next loop turn; no new work is
 * taken; those in flight finish. */
void evaluator_stop(struct evaluator *e);

#endif
