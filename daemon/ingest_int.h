#ifndef PACED_INGEST_INT_H
#define PACED_INGEST_INT_H

/*
 * The ingest's private parts, shared by its three files, one job each:
 * ingest.c (messages, the batch lifecycle, the stop, config retirement,
 * metrics), ingest_positions.c (assignment, recovery, revoke, catch-up)
 * and ingest_ticks.c (the event clock's boundaries). Not for other
 * modules: they include ingest.h.
 *
 * Three machines, each with one state enum and one enter function that
 * logs old -> new: the batches in flight (enum flight, one per slot), the
 * partitions' positions (enum pos) and the daemon's life (enum life); the
 * event-clock driver is a fourth, smaller one (enum ticks).
 */

#include "ingest.h"

#include <event2/util.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "classify.h"
#include "evclock.h"

struct batch;
struct event;
struct metric;
struct redis_apply;

#define BACKOFF_MIN_MS		200
#define BACKOFF_MAX_MS		10000
/* A revoke or a stop waits this long for a batch's bad events to reach
 * the DLQ, then drops the batch without storing its offsets. */
#define DLQ_GIVE_UP_MS		5000

/* A batch past filling: COUNTERS (its rep and team scripts sent) ->
 * COUNTED (acknowledged; it waits while the batch ahead finishes) ->
 * WAIT_DLQ (its bad events delivered, its counted events acknowledged by
 * the output) -> WATERMARK (the partitions' next offsets written) ->
 * offsets stored in Kafka. Two are in flight at most, in two slots: one
 * counting (COUNTERS, COUNTED), one finishing (WAIT_DLQ, WATERMARK), so a
 * batch's counters overlap the wait of the batch before it, and
 * watermarks are written in batch order. */
enum flight {
	FLIGHT_NONE,
	FLIGHT_COUNTERS,
	FLIGHT_COUNTED,
	FLIGHT_WAIT_DLQ,
	FLIGHT_WATERMARK,
};

struct flight_slot {
	struct batch *b;	/* NULL: empty */
	enum flight stage;
	int64_t since_ms;	/* monotonic: the stage began */
	int dlq;		/* its dead-letter copies not yet delivered */
	bool out;		/* waiting for the output's acknowledgement */
};

/* Where the partitions stand. Messages are taken only in POS_ACTIVE. */
enum pos {
	POS_UNASSIGNED,		/* nothing assigned */
	POS_ASSIGNING,		/* assigned by the group; the watermarks are
				 * to be read (when Redis is usable) */
	POS_ASSIGN_READING,	/* reading them */
	POS_ACTIVE,		/* positioned, taking messages */
	POS_RECOVERING,		/* Redis failed: paused, batches dropped; the
				 * watermarks are to be read again */
	POS_RESYNCING,		/* reading them, to seek back */
	POS_REVOKING,		/* revoked: writing the batches, then
				 * unassigning */
	POS_REVOKING_LOST,	/* revoked as lost: writing nothing more */
};

/* The daemon's life: a stop finishes in-flight writes, then closes the
 * consumer (leaves the group). */
enum life {
	LIFE_RUNNING,
	LIFE_STOPPING,
	LIFE_CLOSING,		/* consumer_close called */
};

/* The event clock's driver: a message past the next boundary waits while
 * the batches drain and the evaluator judges each boundary up to its. */
enum ticks {
	TICKS_IDLE,
	TICKS_WAITING,		/* draining batches, or pausing after a
				 * failed evaluation */
	TICKS_RUNNING,		/* an evaluation of a boundary in flight */
};

struct part_state {
	int32_t partition;
	int64_t next_needed;	/* lowest offset Redis may lack; -1 unknown */
	int64_t done_below;	/* offsets below: dead-lettered already */
	int64_t assigned_ms;
};

/* What a reply owed to the ingest finds it through: it outlives the ingest
 * while tickets are out (a forced stop frees the ingest before the Redis
 * connection hands its pending callbacks a NULL reply). */
struct anchor {
	struct ingest *i;	/* NULL once the ingest is freed */
	unsigned refs;		/* tickets out */
};

struct ticket {
	struct anchor *a;
	uint64_t epoch;
};

/* Named handles of the ingest's metrics (README, Metrics). */
struct ingest_metrics {
	/* paced_events_total by outcome */
	struct metric *counted, *duplicate, *bad, *skipped;
	struct metric *bad_reason[CLASSIFY_BAD_COUNT];	/* [0] unused */
	struct metric *skip_reason[CLASSIFY_SKIP_COUNT];
	struct metric *batch_msgs, *batches_ok, *batches_failed;
	struct metric *paused, *recoveries, *lag, *assigned, *ready;
	struct metric *not_fetching;
	struct metric *kafka_errors, *event_delay, *read_delay, *tick_retries;
	struct metric *dlq_reread_skipped;
	struct metric *stage[FLIGHT_WATERMARK + 1];	/* [NONE]: filling */
};

struct ingest {
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_apply *apply;
	struct consumer *consumer;
	struct dlq *dlq;
	struct owner *owner;
	struct ingest_hooks hooks;
	struct ingest_output out;
	const struct config *cfg;
	const struct roster *roster;

	/* Config retirement: the pair a reload replaced, until no batch
	 * uses it. */
	const struct config *retired_cfg;
	const struct roster *retired_roster;
	uint64_t retire_seq;
	bool retired_ready;

	struct anchor *anchor;		/* found by the tickets */
	uint64_t epoch;			/* replies of older epochs are stale */

	/* The batch lifecycle (ingest.c). */
	struct batch *cur, *spare;
	int cur_dlq;
	struct flight_slot counting, finishing;
	uint64_t next_seq;
	int64_t cur_started_ms;		/* monotonic: cur's first message */
	bool dlq_stuck;			/* as last logged */
	int not_fetching;		/* as last logged */
	bool behind;			/* as last told (hooks.backlog) */
	int64_t backlog_checked_ms;	/* monotonic */
	struct event *flush_ev;
	/* Messages whose counts Redis refused (a field holds no number):
	 * when read again they go to the DLQ (counter_refused). */
	struct apply_refused *refused;
	size_t nrefused, refused_cap;

	/* The positions (ingest_positions.c). */
	enum pos pos;
	rd_kafka_topic_partition_list_t *pending_assign;
	struct part_state *parts;
	size_t nparts;
	struct backoff backoff;
	struct event *retry_ev;

	enum life life;
	void (*stop_cb)(void *);
	void *stop_arg;

	/* The event clock (ingest_ticks.c). */
	enum ticks ticks;
	struct evclock evclock;
	int64_t tick_target;		/* judge up to this boundary, then go on */
	/* A boundary judged is written to Redis for every assigned
	 * partition, and acknowledged, before an event past it goes in
	 * (ingest_ticks.c): unsaved until then, saving while the write is
	 * out (saving_done: the boundary it writes). */
	bool ticks_unsaved, ticks_saving;
	int64_t ticks_saving_done;

	struct event *gauge_ev;
	/* Catch-up looked at on the next loop turn after a batch of a
	 * partition not yet caught up was applied (ingest_catch_up). */
	struct event *catch_up_ev;
	struct ingest_metrics m;
};

/* ingest.c */
struct ticket *ingest_ticket_new(struct ingest *i);
struct ingest *ingest_ticket_use(struct ticket *t);
/* True while a batch is in flight (counting or finishing). */
bool ingest_in_flight(const struct ingest *i);
const char *ingest_flight_name(enum flight f);
void ingest_maybe_flush(struct ingest *i);
void ingest_drop_batches(struct ingest *i);
/* Forgets the batch being filled, if it holds anything. */
void ingest_discard_cur(struct ingest *i);
void ingest_update_paused(struct ingest *i);
void ingest_stop_progress(struct ingest *i);
bool ingest_dlq_give_up(const struct ingest *i);
void ingest_abandon(struct ingest *i, const char *why);

/* ingest_positions.c */
void ingest_pos_enter(struct ingest *i, enum pos p);
/* Partitions assigned and positioned (revoking or recovering included). */
bool ingest_positioned(const struct ingest *i);
bool ingest_recovering(const struct ingest *i);
bool ingest_revoking(const struct ingest *i);
struct part_state *ingest_part_find(struct ingest *i, int32_t partition);
void ingest_fail(struct ingest *i, const char *why);
void ingest_revoke_progress(struct ingest *i);
/* read_all: only partitions with no lag at all (else CAUGHT_UP_LAG). */
void ingest_catch_up(struct ingest *i, bool read_all);
/* Tells hooks.backlog when the ingest falls behind or catches up; at
 * most every BACKLOG_CHECK_MS unless forced. */
void ingest_backlog_check(struct ingest *i, bool force);
/* Notes began_ms as the start of partition's data unless known (owner.h). */
void ingest_began_note(struct ingest *i, int32_t partition, int64_t began_ms);
void ingest_retry_cb(evutil_socket_t fd, short what, void *arg);
void ingest_on_assign(const rd_kafka_topic_partition_list_t *parts,
    void *arg);
void ingest_on_revoke(const rd_kafka_topic_partition_list_t *parts,
    bool lost, void *arg);

/* ingest_ticks.c */
/* Event clock: false while the boundaries before at_ms are not judged
 * yet (the message waits with the consumer). */
bool ingest_ticks_allow(struct ingest *i, int64_t at_ms);
/* Judges the next boundary up to tick_target, or lets the waiting
 * message in. */
void ingest_ticks_run(struct ingest *i);
/* After batch b's watermarks: the boundary judged before its events. */
void ingest_ticks_save(struct ingest *i, const struct batch *b);
/* Before the first event: reads the boundaries the partitions (n of
 * them, borrowed) judged last. */
void ingest_ticks_restore(struct ingest *i, const int32_t *partitions,
    size_t n);

#endif
