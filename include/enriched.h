#ifndef PACED_ENRICHED_H
#define PACED_ENRICHED_H

/*
 * The enriched events topic (kafka.topics.enriched, schema
 * docs/schemas/enriched-v1.json): every event of a batch Redis has applied
 * (counted, or a duplicate of an event_id already counted), normalized with
 * the KPIs it counts toward, the rep's team, manager and role, the period
 * buckets it falls in, the daemon's receive time and the message it came
 * from. The ingest path hands each counted event over as it classifies it
 * (formatted at once, kept per batch); once Redis has applied the batch it
 * releases the batch's messages and waits for their acknowledgement before
 * its watermarks and offsets move, so a crash can repeat a message on the
 * wire but never lose one. Keyed by rep_id; idempotent producer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"
#include "roster.h"

struct event_base;
struct enriched;

/* Version of the message format (the "version" field). */
#define ENRICHED_VERSION	1

/* One event as the ingest classified it; every pointer is borrowed for
 * the call. */
struct enriched_event {
	const struct config *cfg;	/* the roster's config (KPI names) */
	const struct activity *ev;
	const struct roster_rep *rep;
	const size_t *kpis;		/* KPI indices into cfg->kpis */
	size_t nkpis;
	int32_t local_day;		/* in the rep's team's zone */
	const char *topic;		/* the message it came from */
	int32_t partition;
	int64_t offset;
	int64_t received_ms;		/* wall time the daemon read it */
};

/* Borrows base and cfg (topic copied). Returns owned (free with
 * enriched_free) or NULL with librdkafka's message in err. */
struct enriched *enriched_new(struct event_base *base,
    const struct config *cfg, char *err, size_t errlen);
/* Waits up to timeout_ms for deliveries (blocking: only after the loop
 * has stopped), then frees e; releases still waiting are told -1.
 * NULL does nothing. */
void enriched_free(struct enriched *e, int timeout_ms);

/* Formats ev (borrowed) as a message of batch seq, kept until the batch is
 * released or forgotten. */
void enriched_add(struct enriched *e, uint64_t seq,
    const struct enriched_event *ev);
/*
 * Produces the messages of batch seq (and forgets those of older
 * batches). Returns true when done_cb(done_arg, status) will be called,
 * never from inside this call: status 0 once the broker has every one,
 * -1 when e is freed first. Returns false, done_cb not called, when the
 * batch has no message.
 */
bool enriched_release(struct enriched *e, uint64_t seq,
    void (*done_cb)(void *, int), void *done_arg);
/* Forgets the messages of batch seq, unproduced (the batch was dropped:
 * its events are read again). */
void enriched_forget(struct enriched *e, uint64_t seq);
/* Messages produced and not yet acknowledged. */
int enriched_outstanding(const struct enriched *e);

/* Writes ev's message value (JSON, no newline) into buf (cap bytes);
 * returns its length, or cap or more when it did not fit. Pure. */
size_t enriched_format(const struct enriched_event *ev, char *buf,
    size_t cap);

#endif
