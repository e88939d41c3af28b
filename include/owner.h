#ifndef PACED_OWNER_H
#define PACED_OWNER_H

/*
 * Who judges what, and when "now" is. Each member of the consumer group
 * evaluates the reps whose activity partition (by the producers'
 * partitioner) is assigned to it, silent reps included; on the wall clock
 * only once that partition's backlog was read (a backlog would make steady
 * reps look behind), on the event clock at once. The judging clock is
 * the wall clock or the event watermark (config key clock).
 *
 * The ingest path writes this (partition count, assignment, caught-up
 * partitions, event times seen); the evaluator and the HTTP routes read
 * it. Plain state on the loop thread: no I/O, no callbacks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"

struct roster_rep;

struct owner;

/* Borrows cfg for the call (see owner_set_config). Returns owned (free
 * with owner_free). */
struct owner *owner_new(const struct config *cfg);
/* Frees o; NULL does nothing. */
void owner_free(struct owner *o);
/* Takes cfg's partitioner (parsed here, once) and clock mode; borrows
 * cfg for the call. The watermark is kept. */
void owner_set_config(struct owner *o, const struct config *cfg);

/* The activity topic's partition count (<= 0: not known yet). */
void owner_set_partition_count(struct owner *o, int count);
/* The partition count, or <= 0 while unknown. */
int owner_partition_count(const struct owner *o);
/* The partitions (borrowed for the call) are assigned to this member and
 * positioned; none is caught up. Replaces any earlier assignment. */
void owner_assign(struct owner *o, const int32_t *partitions, size_t n);
/* Nothing is assigned (a revoke, or a new assignment not positioned). */
void owner_unassign(struct owner *o);
/* Number of partitions assigned. */
size_t owner_assigned(const struct owner *o);
/* Changes with every owner_assign and owner_unassign: a partition caught
 * up under another epoch was caught up again since. */
uint64_t owner_epoch(const struct owner *o);
/* Marks an assigned partition's backlog read; returns true when that is
 * news (it was assigned and not caught up before). */
bool owner_set_caught_up(struct owner *o, int32_t partition);
/* True when partition is assigned and its backlog was read. */
bool owner_caught_up(const struct owner *o, int32_t partition);
/* The partition producers put rep_id's events in (borrowed), or -1
 * while the partition count is unknown. */
int32_t owner_partition_of(const struct owner *o, const char *rep_id);
/* True when this member judges rep_id (borrowed) now: its partition is
 * assigned here and, on the wall clock, caught up. */
bool owner_owns(const struct owner *o, const char *rep_id);
/* owner_owns of a roster rep (borrowed), from the hash the roster keeps
 * of its id: nothing hashed per call. */
bool owner_owns_rep(const struct owner *o, const struct roster_rep *rr);

/* The loop runs (main's timer, at least once a second; now: monotonic
 * ms). A stall since the last call fences o (see owner.c); returns true
 * when a fence ends without a rebalance: every caught-up partition is
 * news again (the epoch moved) and the evaluator should look. */
bool owner_alive(struct owner *o, int64_t now);
/* True while this member must judge nothing: fenced after a stall of
 * the loop, found here too (a reply can be handled before the timer).
 * owner_owns is false meanwhile. A rebalance event ends the fence. */
bool owner_fenced(const struct owner *o);
/* Stalls fenced since the start. */
uint64_t owner_stalls(const struct owner *o);
/* When partition's data began (keys_began): a bucket that began before
 * it is judged on the working time since then. Kept across assignments
 * (it never changes); read from Redis on assignment, written by the
 * ingest path the first time a partition counts events. */
void owner_set_began(struct owner *o, int32_t partition, int64_t began_ms);
/* True when partition's start is known here. */
bool owner_began_known(const struct owner *o, int32_t partition);
/* When the data of rep_id's partition (borrowed) began, for
 * evaluate_rep_since(); INT64_MIN (every bucket judged whole) while it
 * is not known. */
int64_t owner_data_since(const struct owner *o, const char *rep_id);

/* A valid event's time: moves the event watermark forward. */
void owner_observe(struct owner *o, int64_t event_ms);
/* The clock events and evaluations are judged by (borrowed from o). */
const struct clock *owner_clock(const struct owner *o);

#endif
