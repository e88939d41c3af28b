#ifndef PACED_BATCH_H
#define PACED_BATCH_H

/*
 * One poll batch: the messages taken from Kafka between two Redis writes,
 * pre-aggregated as rep x activity type x local day groups (a group fixes
 * every period bucket and KPI field it touches), each with its events'
 * ids kept for the dedupe step. Storage is reused from batch to batch, so
 * adding an event allocates nothing once the batch has warmed up.
 */

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "roster.h"

struct batch_event {
	uint32_t id_off;	/* into batch.ids */
	uint16_t id_len;
	int32_t utc_day;	/* UTC day of occurred_at: the dedupe set */
	int32_t count;
	double amount;
	uint32_t next;		/* next event of the group, UINT32_MAX ends */
	uint32_t part;		/* batch.parts index of the message it came
				 * from (the last one) */
	int64_t offset;		/* batch_note_offset recorded */
};

struct batch_group {
	uint32_t rep;		/* index into batch.reps */
	const size_t *kpis;	/* KPI indices of the activity type (roster's) */
	uint32_t nkpis;
	int32_t local_day;	/* day in the rep's team zone */
	uint32_t first, last;	/* event list */
	uint32_t nevents;
	uint32_t next;		/* next group of the same rep */
};

struct batch_rep {
	const struct roster_rep *rep;
	uint32_t first_group;
	uint32_t last_group;
	uint32_t ngroups;
	uint32_t nevents;
};

struct batch_partition {
	int32_t partition;
	int64_t first_offset;
	int64_t last_offset;
	int64_t first_event_ms;	/* earliest occurred_at counted; INT64_MAX: none */
};

struct batch {
	/* Given by batch_reset: the ingest hands out each value once, even
	 * to a batch discarded unapplied, so a DLQ copy or an output tagged
	 * with a seq can never be taken for a later batch's. */
	uint64_t seq;
	size_t nmessages;

	struct batch_rep *reps;
	size_t nreps, reps_cap;
	struct batch_group *groups;
	size_t ngroups, groups_cap;
	struct batch_event *events;
	size_t nevents, events_cap;
	char *ids;
	size_t ids_len, ids_cap;
	struct batch_partition *parts;
	size_t nparts, parts_cap;
	uint32_t note_part;	/* parts index of the message last noted;
				 * UINT32_MAX: none since batch_reset */
	int64_t note_offset;

	/* rep index in config -> slot in reps + 1 (0: absent), stamped */
	uint32_t *rep_slot;
	uint64_t *rep_stamp;
	size_t rep_slots;
	/* open-addressing table of groups: index + 1, 0 empty */
	uint32_t *table;
	size_t table_cap;
};

/* Returns an owned empty batch; free with batch_free. */
struct batch *batch_new(void);
/* Frees b; NULL does nothing. */
void batch_free(struct batch *b);
/* Empties b for reuse, keeping its storage; nreps_total sizes the rep
 * index (the roster's size). */
void batch_reset(struct batch *b, uint64_t seq, size_t nreps_total);
/* Records that a message at (partition, offset) belongs to this batch;
 * call for every message, counted or not, in consumption order. */
void batch_note_offset(struct batch *b, int32_t partition, int64_t offset);
/* Adds a counted event (borrowed; its id is copied) for rep (borrowed,
 * must outlive the batch) whose activity type counts toward the nkpis KPI
 * indices at kpis (the roster's array, borrowed: it identifies the type),
 * on local day local_day. The event is taken to come from the message
 * batch_note_offset noted last. */
void batch_add(struct batch *b, const struct roster_rep *rep,
    const size_t *kpis, size_t nkpis, int32_t local_day, int32_t utc_day,
    const struct activity *ev);

#endif
