#ifndef PACED_EVALUATOR_INT_H
#define PACED_EVALUATOR_INT_H

/*
 * The evaluator's own declarations, shared by evaluator.c (the queue,
 * the jobs, the timers) and evaluator_sweep.c (the alerts of reps removed
 * from the roster). Not for other modules: they see evaluator.h.
 */

#include "evaluator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evaluate.h"

struct event;
struct pace_write;
struct redis_argv;
struct redis_writes;
struct repcache;
struct scorecard_memo;
struct metric;

/* Reps waiting in the order they came: [head, n) of list. */
struct dirty_q {
	size_t *list;
	size_t head, n, cap;
};

#define MAX_INFLIGHT	64
#define DIRTY_QUEUES	2	/* 0: repcache_alerting reps, 1: others */
#define DIRTY_DELAY_MS	250
/* Queue entries one pump takes per loop turn at most; the rest wait for
 * the next turn, so that ingest's I/O is served in between. */
#define PUMP_BUDGET	256
/* The wall timer's pass over the roster is spread over half of
 * evaluate_every at most: every PASS_STEP_MS a step queues the next reps
 * of the roster, the share due by then, at least PASS_MIN_STEP and at
 * most PASS_MAX_STEP of them. (The queue holds each rep once at most,
 * so it never outgrows the roster.) */
#define PASS_STEP_MS	50
#define PASS_MIN_STEP	64
#define PASS_MAX_STEP	8192
/* In the alert state hash: the instant of the last evaluation. A replay
 * on the event clock re-evaluates boundaries already judged before a
 * restart; those are skipped so time never runs backwards for a rep. */
#define EVALUATED_AT_FIELD "_evaluated_at"

struct tick {
	int64_t at;
	size_t left;
	void (*done)(void *, int);
	bool failed;		/* an evaluation of this tick failed */
	void *arg;
};

struct queued {
	size_t rep;
	int64_t at;		/* 0: now on the clock, when it starts */
	struct tick *tick;
};

struct job;

/* The argument of one read of a counter bucket (ended: of an ended
 * bucket's counter). */
struct ended_read {
	struct job *j;
	size_t slot;			/* k * PERIOD_COUNT + p; or the period */
};

struct job {
	struct evaluator *e;		/* NULL: orphaned by evaluator_free */
	struct job *prev_job, *next_job;	/* the evaluator's live jobs */
	uint64_t gen;
	size_t rep;
	int64_t at;
	struct tick *tick;
	int pending;
	bool failed;
	int64_t last_at;	/* when this rep was last evaluated; 0: never */
	double *actual;
	struct eval_state *prev;
	int32_t start[PERIOD_COUNT];	/* the buckets holding at */
	struct ended_read reads[PERIOD_COUNT];	/* the first read's */
	double *ended;			/* evaluate_rep's ended[] */
	struct ended_read *ended_reads;
	struct eval_result res;
	/* The writes of the new states, built under the job's config;
	 * after publishing, sent until Redis acknowledged them all. */
	struct redis_writes *store;
	bool storing;			/* waiting on the store */
	uint32_t cache_epoch;		/* repcache_epoch when read */
	uint64_t cache_gen;		/* repcache_generation when started */
	bool dropped;			/* not owned when judged: nothing done */
};

/* One pass over P:alerts:firing for the alerts of reps no longer on the
 * roster (see sweep_start). */
struct sweep {
	struct evaluator *e;		/* NULL: orphaned by evaluator_free */
	uint64_t gen;
	struct eval_removed *rm;	/* being published */
	size_t nrm;
	bool foreign;			/* some belong to another member */
	struct redis_writes *store;	/* after publishing, until acked */
};

struct evaluator {
	struct evaluator_deps d;
	uint64_t gen;
	bool sweep_due;			/* start or reload: look for removed reps */
	struct sweep *sweep;		/* in flight, or NULL */
	bool *dirty, *busy, *queued_plain;
	/* The reps marked dirty, each once (dirty[] says which), in the
	 * order marked: the timer takes them without scanning the roster,
	 * alerts.reevaluate_per_second at most (dirty_credit: thousandths
	 * of a rep not taken yet, so that a rate below four a second is
	 * kept too); those whose last judgement left an alert firing or a
	 * breach under way (repcache_alerting) first. */
	struct dirty_q dirty_q[DIRTY_QUEUES];
	int64_t dirty_credit;
	/* The ingest is behind: re-evaluations after changes wait (the
	 * marks stay, each rep judged once when it is released). */
	bool changes_held;
	size_t nslots;
	/* A ring of waiting evaluations, FIFO: O(1) per push and pop. */
	struct queued *queue;
	size_t qhead, nqueue, queue_cap;
	/* Taken from the queue while their rep was busy; back at the head
	 * of the queue, in order, when that rep's job ends. */
	struct queued *parked;
	size_t nparked, parked_cap;
	/* Per partition: caught up when owned_grew last looked (wall). */
	bool *part_seen;
	size_t nparts;
	uint64_t epoch_seen;		/* owner_epoch when part_seen was set */
	bool stopping;			/* evaluator_stop: take no more work */
	size_t inflight;
	struct job *jobs;		/* live jobs, for evaluator_free */
	struct job *spare[MAX_INFLIGHT];	/* finished, kept for reuse */
	size_t nspare;
	struct event *wall_ev, *dirty_ev, *pump_ev;
	int64_t wall_at;	/* the boundary wall_ev is set for (wall ms) */
	/* The wall timer's pass (pass_step): the roster index it visits
	 * next, the reps it visits in all and has still to visit, the owned
	 * ones it queued, when it began (wall ms); stepped by pass_ev. */
	size_t pass_next, pass_total, pass_left, pass_owned;
	int64_t pass_began;
	struct event *pass_ev;
	struct metric *m_pass_seconds, *m_pass_overruns, *m_passes;
	/* The pump's next turn once its budget is spent: a timer, so that
	 * the loop polls its sockets in between (an event made active from
	 * its own callback runs again before any I/O). */
	struct event *pump_later_ev;
	bool in_pump;		/* pump() is running: it goes on by itself */
	int64_t turn_now;	/* the instant of the pump's turn: the jobs
				 * it starts without one of their own */
	struct metric *m_alerts[2][2];	/* [status][severity-1] */
	struct metric *m_evals_ok, *m_evals_failed, *m_evals_dropped, *m_owned;
	struct metric *m_read_cache, *m_read_redis, *m_cache_reps;
	struct metric *m_pace_written, *m_pace_same;
	struct metric *m_changed, *m_held;
	/* The reps' counters and states as Redis holds them (repcache.h);
	 * owner_seen: the owner_epoch it was last cleared at (a rebalance
	 * forgets it). */
	struct repcache *cache;
	uint64_t owner_seen;
	struct pace_write *pace;		/* the pace hashes' writes */
	/* The teams' buckets and working time at the instants judged,
	 * shared by their reps; cleared when the config is swapped. */
	struct scorecard_memo *memo;
	/* The reads' and the pace figures' commands, built one at a time
	 * (sending copies them; no reply comes inside the send). */
	struct redis_argv *argv;
};

static inline const struct config *
cfg_of(const struct evaluator *e)
{
	return *e->d.cfg;
}

static inline const struct roster *
roster_of(const struct evaluator *e)
{
	return *e->d.roster;
}

/* evaluator_sweep.c */
/* Reads the firing set for the alerts of removed reps, if a pass is due
 * and none is running. */
void sweep_start(struct evaluator *e);
/* Frees a pass (its publishing or storing abandoned). */
void sweep_free(struct sweep *sw);

#endif
