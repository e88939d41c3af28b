#ifndef PACED_REDIS_APPLY_H
#define PACED_REDIS_APPLY_H

/*
 * Applies a batch to Redis, idempotently: one script call per rep (dedupe
 * every event_id with SADD and increment the rep's counters in the same
 * atomic step, all keys under the rep's hash tag; every value checked
 * before the first write, so a call that cannot add all its counts writes
 * nothing and names the events it refused), then one script call per
 * team that raises the team totals to the sum of the reps' absolute values
 * (so a replay never inflates them); the leaderboard values go to the
 * coalesced board writer (board_flush.h), or without one a call per
 * leaderboard touched (board_redis.h). Also reads and writes the partition
 * watermarks (next offset to consume) kept in Redis.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"
#include "redis_conn.h"
#include "roster.h"

struct redis_apply;
struct board_flush;

/* The message an event came from. */
struct apply_refused {
	int32_t partition;
	int64_t offset;
};

struct apply_stats {
	uint64_t counted;	/* events counted now */
	uint64_t duplicates;	/* events whose event_id was already seen */
	/* Events a rep script refused because a field they add to (or
	 * their dedupe set) holds no value a count can be added to; the
	 * status is then -1 and the calls that refused wrote nothing. The
	 * array is borrowed until the callback returns. */
	const struct apply_refused *refused;
	size_t nrefused;
};

/* status 0: every command acknowledged; -1: failed, outcome unknown, or
 * events refused (st->nrefused > 0). */
typedef void apply_done_cb(int status, const struct apply_stats *st,
    void *arg);
/* offsets[i] is the next offset of partitions[i] to read (the lowest of
 * its shards' watermarks), or -1 when Redis holds none; done[i] is the
 * next offset of the last batch finished whole (P:offsets: its counts,
 * dead-letter copies and outputs acknowledged), or -1. A read from
 * offsets[i] re-reads [offsets[i], done[i]) only to mend counts a shard
 * lacks. status -1: the read failed. */
typedef void watermarks_cb(int status, const int64_t *offsets,
    const int64_t *done, void *arg);

/*
 * Where the absolute values the counting scripts answered go besides the
 * leaderboards: counted for each value of an applied batch (value: its
 * text, len bytes, not NUL-terminated; cfg the batch's), unknown once for
 * a batch that failed (some of its calls may have been applied). Members
 * NULL: nowhere.
 */
struct apply_values {
	void (*counted)(const struct config *cfg, const struct roster_rep *rr,
	    size_t kpi, enum period p, int32_t start_day, const char *value,
	    size_t len, void *arg);
	void (*unknown)(void *arg);
	void *arg;
};

/* Borrows conn; registers the scripts with it. Returns owned; free with
 * redis_apply_free. */
struct redis_apply *redis_apply_new(struct redis_conn *conn);
/* Frees a; in-flight operations still call back with -1. NULL: nothing. */
void redis_apply_free(struct redis_apply *a);
/* Sets where the values of applied batches go (copied; NULL: nowhere). */
void redis_apply_set_values(struct redis_apply *a,
    const struct apply_values *v);
/* Sets how often every shard is called with every partition of the batch,
 * events or not (tests; default 1 s: see redis_apply.c, put_watermark). */
void redis_apply_set_refresh_ms(struct redis_apply *a, int64_t ms);
/* Hands the leaderboard values of applied batches to boards (borrowed,
 * must outlive a) instead of writing them with each batch. */
void redis_apply_set_boards(struct redis_apply *a, struct board_flush *boards);
/*
 * Applies the counters of b (borrowed until cb) with roster r and cfg
 * (borrowed until cb). Returns 0 (cb will be called once) or -1 (Redis not
 * usable; cb not called).
 */
int redis_apply_counters(struct redis_apply *a, const struct batch *b,
    const struct roster *r, const struct config *cfg, apply_done_cb *cb,
    void *arg);
/* Stores next offsets (last_offset + 1) of b's partitions for topic. */
int redis_apply_watermarks(struct redis_apply *a, const struct config *cfg,
    const char *topic, const struct batch *b, apply_done_cb *cb, void *arg);
/* Reads the stored next offsets of n partitions (borrowed) of topic. */
int redis_apply_read_watermarks(struct redis_apply *a,
    const struct config *cfg, const char *topic, const int32_t *partitions,
    size_t n, watermarks_cb *cb, void *arg);

/*
 * The event clock (clock: event): the last evaluate_every boundary judged,
 * per partition. ticks[i] is partition i's when present[i]; n counts the
 * values Redis answered. status -1: Redis answered with an error. Not
 * called when no answer came (connection lost or freed): arg may be gone.
 */
typedef void evclock_cb(int status, const int64_t *ticks, const bool *present,
    size_t n, void *arg);
/* Stores tick as the boundary judged of every partition of b (borrowed);
 * nothing waits for the answer. No partition: nothing sent. */
void redis_apply_save_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const struct batch *b, int64_t tick);
/* Stores tick as the boundary judged of n partitions (borrowed) of topic,
 * then cb(status, arg): 0 once Redis acknowledged it, -1 on an error or
 * without an answer (the connection lost or freed: cb is still called).
 * Returns 0, or -1 (Redis not usable; cb not called). */
int redis_apply_save_evclock_parts(struct redis_apply *a,
    const struct config *cfg, const char *topic, const int32_t *partitions,
    size_t n, int64_t tick, void (*cb)(int status, void *arg), void *arg);
/* Reads the boundaries judged of n partitions (borrowed) of topic.
 * Returns 0, or -1 (Redis not usable; cb not called). */
int redis_apply_read_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, evclock_cb *cb,
    void *arg);

/* When partition's data began (keys_began), as stored; called only for
 * a value Redis answered (never without an answer: arg may be gone). */
typedef void began_cb(int32_t partition, int64_t began_ms, void *arg);
/* Reads the starts of n partitions (borrowed): cb once per partition that
 * has one. Returns 0, or -1 (cb not called). */
int redis_apply_read_began(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, began_cb *cb,
    void *arg);
/* Records began_ms as partition's start unless one is stored (HSETNX),
 * then reads the start kept into cb. Returns 0, or -1 (cb not called). */
int redis_apply_note_began(struct redis_apply *a, const struct config *cfg,
    const char *topic, int32_t partition, int64_t began_ms, began_cb *cb,
    void *arg);

#endif
