#ifndef PACED_INGEST_H
#define PACED_INGEST_H

/*
 * The ingest path: Kafka message -> classify (decode, roster) -> batch ->
 * Redis -> offsets. It writes who owns which rep and the event times
 * seen into the owner (owner.h), and tells the stage after it (the
 * evaluator) through struct ingest_hooks. Owns the batching, the
 * partition positions and the recovery when Redis fails: partitions are
 * paused, the unacknowledged batches are dropped, and once Redis is back
 * every partition is moved to the watermark Redis holds (the next offset
 * whose effects Redis does not have), so an outage, a timeout or even
 * lost Redis writes cost no count and double none.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "consumer.h"
#include "enriched.h"
#include "roster.h"

struct event_base;
struct redis_conn;
struct dlq;
struct board_flush;
struct owner;
struct ingest;

/*
 * What the ingest tells the stage after it (the evaluator). main.c fills
 * it in, as it does struct consumer_handlers, so that neither stage
 * knows the other's header. Any member may be NULL.
 */
struct ingest_hooks {
	/* Rep (roster index) has new counters in Redis. */
	void (*rep_changed)(size_t rep_index, void *arg);
	/* More reps are owned now (a partition's backlog was read). */
	void (*owned_grew)(void *arg);
	/* Event clock: judge every owned rep at at_ms, then call
	 * done_cb(done_arg, status) (never from inside this call); status -1
	 * when an evaluation failed and the boundary must be judged again. */
	void (*tick)(int64_t at_ms, void (*done_cb)(void *, int),
	    void *done_arg, void *arg);
	/* A counting script answered value (len bytes of text, not
	 * NUL-terminated) for rr's kpi in the bucket of period p starting
	 * on start_day, in a batch under cfg. */
	void (*counted)(const struct config *cfg, const struct roster_rep *rr,
	    size_t kpi, enum period p, int32_t start_day, const char *value,
	    size_t len, void *arg);
	/* A batch's counting failed: some of its counts may be written. */
	void (*counts_unknown)(void *arg);
	/* The ingest fell behind (over batch.max_messages of its partitions'
	 * messages not applied yet: behind true), or caught up again (under
	 * half of that): work that competes with counting for Redis may
	 * wait meanwhile. */
	void (*backlog)(bool behind, void *arg);
	void *arg;
};

/*
 * Where the ingest hands its counted events (the enriched events topic).
 * main.c fills it in. event is called for each counted event of batch
 * seq as it is read; once Redis has applied batch seq, applied is called
 * and returns true when it will call done_cb(done_arg, status) (never
 * from inside), status 0 once the output has the batch's events: the
 * batch's watermarks and offsets wait for it. dropped: batch seq was
 * dropped (its events are read again). Members NULL: no output.
 */
struct ingest_output {
	void (*event)(uint64_t seq, const struct enriched_event *ev,
	    void *arg);
	bool (*applied)(uint64_t seq, void (*done_cb)(void *, int),
	    void *done_arg, void *arg);
	void (*dropped)(uint64_t seq, void *arg);
	void *arg;
};

/* Borrows base, conn and own (written here: assignment, caught-up
 * partitions, event times); cfg and roster are borrowed until replaced
 * with ingest_set_config. Returns owned (free with ingest_free). */
struct ingest *ingest_new(struct event_base *base, struct redis_conn *conn,
    struct owner *own, const struct config *cfg, const struct roster *roster);
/* Frees i; NULL does nothing. Redis replies still owed to it (a forced
 * stop leaves some) find nobody when they come. */
void ingest_free(struct ingest *i);
/* The consumer handlers that feed i (arg set to i). */
struct consumer_handlers ingest_handlers(struct ingest *i);
/* Hands i the consumer and DLQ producer (borrowed, must outlive i). */
void ingest_attach(struct ingest *i, struct consumer *c, struct dlq *d);
/* Sets whom i tells about changed reps and clock ticks (copied; NULL:
 * nobody). */
void ingest_set_hooks(struct ingest *i, const struct ingest_hooks *h);
/* Hands the leaderboard values of applied batches to boards (borrowed,
 * must outlive i; board_flush.h). Without: one write per board and batch. */
void ingest_set_boards(struct ingest *i, struct board_flush *boards);
/* Sets where counted events go (copied; NULL: nowhere). */
void ingest_set_output(struct ingest *i, const struct ingest_output *o);
/* redis_state_cb of the main connection (arg: i). */
void ingest_redis_state(bool up, void *arg);
/* dlq_delivered_cb (arg: i). */
void ingest_dlq_delivered(uint64_t seq, void *arg);
/*
 * Swaps in a new config and roster (borrowed from now on). The old pair is
 * handed back by ingest_take_retired once no batch uses it; call only when
 * ingest_take_retired has nothing left to give.
 */
void ingest_set_config(struct ingest *i, const struct config *cfg,
    const struct roster *roster);
/* Returns (and forgets) a retired config/roster pair safe to free, or
 * false when none is ready. */
bool ingest_take_retired(struct ingest *i, const struct config **cfg,
    const struct roster **roster);
/* True while a retired config/roster is still referenced. */
bool ingest_has_retired(const struct ingest *i);
/* Starts a graceful stop: stop taking messages, finish in-flight writes,
 * store offsets, leave the group; done_cb runs when all is settled. */
void ingest_stop(struct ingest *i, void (*done_cb)(void *), void *arg);
/* Ready: Redis up, partitions assigned and positioned, not recovering,
 * and the DLQ not stuck. */
bool ingest_ready(const struct ingest *i);
/* Whether the ingest's Redis connection is usable. */
bool ingest_redis_up(const struct ingest *i);
/* True while a DLQ message has waited longer than dlq.stuck_after. */
bool ingest_dlq_stuck(const struct ingest *i);

#endif
