/*
 * ingest.c: the ingest path's messages and batches, driven by consumer
 * callbacks (message, accepting, closed), Redis replies, DLQ delivery
 * reports and the flush and gauge timers. The partitions' positions
 * (assignment, recovery, revoke, catch-up) are in ingest_positions.c, the
 * event clock in ingest_ticks.c; ingest_int.h holds the struct.
 *
 * A batch fills while at most two are in flight (group commit: an idle
 * stream is written at once, a busy one in large batches). A batch in
 * flight goes COUNTERS (rep and team scripts) -> COUNTED (while the batch
 * before it finishes) -> WAIT_DLQ (its bad events delivered, and its
 * counted events acknowledged by the output, struct ingest_output: the
 * enriched events topic) -> WATERMARK (the partitions' next offsets
 * written to Redis after the counters, so an append-only Redis that loses
 * its last writes loses the watermark with them) -> offsets stored in
 * Kafka. The next batch's counters are sent while the one before waits
 * for its acknowledgements: its counts are visible that much sooner, and
 * the watermarks still move in batch order, each after everything below
 * it was counted and delivered. Any Redis failure drops every batch (see
 * ingest_positions.c); their events are read again, and the dedupe sets
 * count once what a dropped batch had counted already.
 *
 * When a rep script refuses events (a counter field holds no number; the
 * call then wrote nothing), the batch fails the same way and those
 * messages, remembered by partition and offset, go to the DLQ as
 * counter_refused when the recovery reads them again.
 *
 * A batch is flushed when it holds batch.max_messages or its first message
 * is batch.max_wait old, and at once when an event-clock boundary, a
 * revoke or a stop waits for it. A batch waiting for the DLQ waits as
 * long as it takes (the consumer pauses and keeps polling meanwhile),
 * except that a revoke or a stop gives up on it after DLQ_GIVE_UP_MS:
 * every batch is dropped unstored, and their events are read again.
 */
#include "ingest_int.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch.h"
#include "caltime.h"
#include "consumer.h"
#include "dlq.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_apply.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define FUTURE_SKEW_MS		(24LL * 3600 * 1000)
#define NOT_FETCHING_MS		30000	/* assigned, not fetched: warn */

static const char *const flight_names[] = { "none", "counters", "counted",
    "wait_dlq", "watermark" };
static const char *const life_names[] = { "running", "stopping", "closing" };

struct ticket *
ingest_ticket_new(struct ingest *i)
{
	struct ticket *t = xmalloc(sizeof(*t));

	t->a = i->anchor;
	t->a->refs++;
	t->epoch = i->epoch;
	return t;
}

/* Takes ownership of t; returns the ingest when t is current (the ingest
 * still there, same epoch), else NULL. */
struct ingest *
ingest_ticket_use(struct ticket *t)
{
	struct anchor *a = t->a;
	struct ingest *i = a->i;
	bool current = i != NULL && t->epoch == i->epoch;

	free(t);
	if (--a->refs == 0 && a->i == NULL)
		free(a);
	return current ? i : NULL;
}

const char *
ingest_flight_name(enum flight f)
{
	return flight_names[f];
}

/* The slot's batch enters stage f (NONE: it leaves the slot); the time
 * of the stage it leaves is observed. */
static void
slot_enter(struct ingest *i, struct flight_slot *sl, enum flight f)
{
	int64_t now = caltime_mono_ms();

	if (sl->stage == f)
		return;
	log_debug("ingest_flight", "seq=%" PRIu64 " old=%s new=%s",
	    sl->b != NULL ? sl->b->seq : 0, flight_names[sl->stage],
	    flight_names[f]);
	if (sl->stage != FLIGHT_NONE)
		metrics_observe(i->m.stage[sl->stage],
		    (double)(now - sl->since_ms) / 1000.0);
	sl->stage = f;
	sl->since_ms = now;
}

bool
ingest_in_flight(const struct ingest *i)
{
	return i->counting.b != NULL || i->finishing.b != NULL;
}

/* No batch may start counting now: one is. (On the event clock too: a
 * boundary judged is in Redis before an event past it goes in, see
 * ingest_ticks.c, so a kill with two batches in flight judges nothing
 * again.) */
static bool
counting_busy(const struct ingest *i)
{
	return i->counting.b != NULL;
}

static void
life_enter(struct ingest *i, enum life l)
{
	if (i->life == l)
		return;
	log_info("ingest_life", "old=%s new=%s", life_names[i->life],
	    life_names[l]);
	i->life = l;
}

/* Runs maybe_flush in ms (at once: 0). */
static void
arm_flush(struct ingest *i, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(i->flush_ev, &tv);
}

static void
retire_check(struct ingest *i, uint64_t done_seq)
{
	if (i->retired_cfg != NULL && done_seq >= i->retire_seq)
		i->retired_ready = true;
}

static void
batch_discard(struct ingest *i, struct batch **b)
{
	if (*b == NULL)
		return;
	if (i->out.dropped != NULL)
		i->out.dropped((*b)->seq, i->out.arg);
	retire_check(i, (*b)->seq);
	batch_reset(*b, i->next_seq++, roster_size(i->roster));
}

void
ingest_discard_cur(struct ingest *i)
{
	if (i->cur->nmessages > 0)
		batch_discard(i, &i->cur);
}

/* ---- message path ---- */

/* A dead-letter copy of m, unless a batch that finished whole (its copies
 * acknowledged, P:offsets written) held m already: a read that starts
 * behind P:offsets, to mend a shard's counts, sends no second copy. */
static void
dead_letter(struct ingest *i, const struct part_state *ps,
    const rd_kafka_message_t *m, const char *reason)
{
	if (m->offset < ps->done_below) {
		metrics_inc(i->m.dlq_reread_skipped);
		return;
	}
	dlq_send(i->dlq, m, reason, i->cur->seq);
	i->cur_dlq++;
}

static void
count_bad(struct ingest *i, const struct part_state *ps,
    const rd_kafka_message_t *m, int reason)
{
	metrics_inc(i->m.bad);
	metrics_inc(i->m.bad_reason[reason]);
	dead_letter(i, ps, m, classify_bad_name(reason));
}

/* True (and forgotten) when Redis refused the counts of this message. */
static bool
refused_take(struct ingest *i, int32_t partition, int64_t offset)
{
	for (size_t k = 0; k < i->nrefused; k++) {
		if (i->refused[k].partition == partition &&
		    i->refused[k].offset == offset) {
			i->refused[k] = i->refused[--i->nrefused];
			return true;
		}
	}
	return false;
}

/* Remembers the messages of st->refused, to be sent to the DLQ when the
 * recovery reads them again: the calls that refused wrote nothing, so
 * the other events of the batch are counted then, and these are not lost
 * (nor marked seen without their counts). */
static void
refused_add(struct ingest *i, const struct apply_stats *st)
{
	for (size_t k = 0; k < st->nrefused; k++) {
		if (i->nrefused == i->refused_cap) {
			i->refused_cap = i->refused_cap ? i->refused_cap * 2 : 16;
			i->refused = xreallocarray(i->refused, i->refused_cap,
			    sizeof(*i->refused));
		}
		i->refused[i->nrefused++] = st->refused[k];
	}
}

static void
output_event(struct ingest *i, const rd_kafka_message_t *m,
    const struct classified *c)
{
	struct enriched_event ee = {
		.cfg = i->cfg,
		.ev = &c->ev,
		.rep = c->rep,
		.kpis = c->kpis,
		.nkpis = c->nkpis,
		.local_day = c->local_day,
		.topic = i->cfg->kafka.topic_activity,
		.partition = m->partition,
		.offset = m->offset,
		.received_ms = caltime_wall_ms(),
	};

	i->out.event(i->cur->seq, &ee, i->out.arg);
}

/* The time from the message's Kafka timestamp (set by its producer or
 * the broker) to its reading here: where an event's latency goes before
 * paced has it. A timestamp in the future (clock skew) counts as 0. */
static void
read_delay_note(struct ingest *i, const rd_kafka_message_t *m)
{
	rd_kafka_timestamp_type_t tt;
	int64_t ts = rd_kafka_message_timestamp(m, &tt), d;

	if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts <= 0)
		return;
	d = caltime_wall_ms() - ts;
	metrics_observe(i->m.read_delay, d > 0 ? (double)d / 1000.0 : 0.0);
}

static bool
on_message(const rd_kafka_message_t *m, void *arg)
{
	struct ingest *i = arg;
	struct part_state *ps;
	struct classified c;

	if (m->err) {
		metrics_inc(i->m.kafka_errors);
		log_warnx("kafka_consume_error", "err=%s",
		    log_quote(rd_kafka_message_errstr(m)));
		return true;
	}
	ps = ingest_part_find(i, m->partition);
	if (ps == NULL || !ingest_positioned(i))
		return true;	/* not (yet) ours: the owner will read it */
	if (ps->next_needed < 0)
		ps->next_needed = m->offset;
	if (i->pos != POS_ACTIVE || i->life != LIFE_RUNNING)
		return true;	/* resync or the next owner re-reads it */
	read_delay_note(i, m);

	if (refused_take(i, m->partition, m->offset)) {
		c.outcome = CLASSIFY_BAD;
		c.bad = CLASSIFY_BAD_COUNTER_REFUSED;
	} else {
		classify(i->roster, m->payload, m->payload ? m->len : 0,
		    clock_now(owner_clock(i->owner)) -
		    i->cfg->redis.dedupe_window_ms,
		    caltime_wall_ms() + FUTURE_SKEW_MS, &c);
	}
	/* Every check that makes the event bad comes before the clock: a bad
	 * event's time must not move it (one far in the future would run
	 * the event clock ahead). */
	if (c.outcome != CLASSIFY_BAD &&
	    !ingest_ticks_allow(i, c.ev.occurred_at_ms))
		return false;
	if (i->cur->nmessages == 0) {
		i->cur_started_ms = caltime_mono_ms();
		arm_flush(i, i->cfg->batch.max_wait_ms);
	}
	batch_note_offset(i->cur, m->partition, m->offset);
	switch (c.outcome) {
	case CLASSIFY_BAD:
		count_bad(i, ps, m, c.bad);
		break;
	case CLASSIFY_SKIPPED:
		/* Any valid event is evidence of the time, counted or not. */
		owner_observe(i->owner, c.ev.occurred_at_ms);
		metrics_inc(i->m.skipped);
		metrics_inc(i->m.skip_reason[c.skip]);
		if (c.skip == CLASSIFY_SKIP_UNKNOWN_REP &&
		    i->cfg->unknown_rep == UNKNOWN_REP_DLQ) {
			dead_letter(i, ps, m, "unknown_rep");
		}
		break;
	case CLASSIFY_COUNTED:
		owner_observe(i->owner, c.ev.occurred_at_ms);
		metrics_observe(i->m.event_delay,
		    (double)(caltime_wall_ms() - c.ev.occurred_at_ms) / 1000.0);
		batch_add(i->cur, c.rep, c.kpis, c.nkpis, c.local_day,
		    c.utc_day, &c.ev);
		if (i->out.event != NULL)
			output_event(i, m, &c);
		break;
	}
	if (!counting_busy(i) &&
	    i->cur->nmessages >= (size_t)i->cfg->batch.max_messages)
		ingest_maybe_flush(i);
	return true;
}

static bool
on_accepting(void *arg)
{
	struct ingest *i = arg;

	if (ingest_revoking(i) || i->life != LIFE_RUNNING)
		return false;
	/* Backpressure: the next batch is full while one is counting. */
	return !(counting_busy(i) &&
	    i->cur->nmessages >= (size_t)i->cfg->batch.max_messages);
}

static void
on_partitions(int count, void *arg)
{
	struct ingest *i = arg;

	owner_set_partition_count(i->owner, count);
}

/* Not from batch_complete itself: the evaluator then starts its reads,
 * as from the gauge timer, outside the Redis reply being handled. */
static void
catch_up_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ingest_catch_up(arg, true);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ingest_maybe_flush(arg);
}

/* ---- batch lifecycle ---- */

static void progress(struct ingest *i);

/* A batch done with (completed or dropped) is kept to fill next, unless
 * one is kept already. */
static void
batch_keep_spare(struct ingest *i, struct batch *b)
{
	if (i->spare == NULL)
		i->spare = b;
	else
		batch_free(b);
}

/* The counting slot's batch, counted, becomes the finishing one when the
 * batch ahead has finished: it waits for its bad events and the output,
 * then writes its watermark. */
static void
advance(struct ingest *i)
{
	struct flight_slot *c = &i->counting, *f = &i->finishing;

	if (f->b != NULL || c->b == NULL || c->stage != FLIGHT_COUNTED)
		return;
	slot_enter(i, c, FLIGHT_NONE);
	f->b = c->b;
	f->dlq = c->dlq;
	f->out = c->out;
	slot_enter(i, f, FLIGHT_WAIT_DLQ);	/* from NONE: it was empty */
	c->b = NULL;
	c->dlq = 0;
	c->out = false;
	progress(i);
}

static void
batch_complete(struct ingest *i)
{
	struct batch *b = i->finishing.b;
	const char *topic = i->cfg->kafka.topic_activity;

	for (size_t k = 0; k < b->nparts; k++) {
		struct part_state *ps = ingest_part_find(i, b->parts[k].partition);

		if (ps == NULL)
			continue;
		ps->next_needed = b->parts[k].last_offset + 1;
		consumer_store(i->consumer, topic, b->parts[k].partition,
		    b->parts[k].last_offset + 1);
		/* Its backlog may be read now: on the gauge timer alone, its
		 * reps would go unjudged for up to a second more, and the new
		 * counts of that time be their first status (changes.c). */
		if (!owner_caught_up(i->owner, ps->partition))
			event_active(i->catch_up_ev, EV_TIMEOUT, 0);
	}
	if (i->cfg->clock == CLOCK_MODE_EVENT && i->evclock.started)
		ingest_ticks_save(i, b);
	metrics_inc(i->m.batches_ok);
	metrics_observe(i->m.batch_msgs, (double)b->nmessages);
	if (i->hooks.rep_changed != NULL)
		for (size_t k = 0; k < b->nreps; k++)
			i->hooks.rep_changed(b->reps[k].rep->index, i->hooks.arg);
	ingest_backlog_check(i, false);
	retire_check(i, b->seq);
	batch_keep_spare(i, b);
	slot_enter(i, &i->finishing, FLIGHT_NONE);
	i->finishing.b = NULL;
	backoff_reset(&i->backoff);
	advance(i);

	if (ingest_revoking(i))
		ingest_revoke_progress(i);
	else if (i->life != LIFE_RUNNING)
		ingest_stop_progress(i);
	else if (i->ticks != TICKS_IDLE) {
		if (i->cur->nmessages > 0)
			ingest_maybe_flush(i);
		else if (!ingest_in_flight(i))
			ingest_ticks_run(i);
	} else {
		ingest_maybe_flush(i);
		consumer_kick(i->consumer);
	}
}

static void
watermark_done(int status, const struct apply_stats *st, void *arg)
{
	struct ingest *i = ingest_ticket_use(arg);

	(void)st;
	if (i == NULL)
		return;
	if (status != 0) {
		ingest_fail(i, "watermark write failed");
		return;
	}
	batch_complete(i);
}

static void
progress(struct ingest *i)
{
	struct flight_slot *f = &i->finishing;
	struct ticket *t;

	if (f->stage != FLIGHT_WAIT_DLQ || f->dlq > 0 || f->out)
		return;
	for (size_t k = 0; k < f->b->nparts; k++)
		if (f->b->parts[k].first_event_ms != INT64_MAX)
			ingest_began_note(i, f->b->parts[k].partition,
			    f->b->parts[k].first_event_ms);
	t = ingest_ticket_new(i);
	slot_enter(i, f, FLIGHT_WATERMARK);
	if (redis_apply_watermarks(i->apply, i->cfg, i->cfg->kafka.topic_activity,
	    f->b, watermark_done, t) != 0) {
		(void)ingest_ticket_use(t);
		ingest_fail(i, "redis not usable for the watermark");
	}
}

/* What the output's acknowledgement finds its batch by. */
struct out_wait {
	struct ticket *t;
	uint64_t seq;
};

/* The output has the events of batch w->seq (status 0). */
static void
output_done(void *arg, int status)
{
	struct out_wait *w = arg;
	struct ingest *i = ingest_ticket_use(w->t);
	uint64_t seq = w->seq;
	struct flight_slot *sl = NULL;

	free(w);
	if (i == NULL)
		return;
	if (i->finishing.b != NULL && i->finishing.b->seq == seq)
		sl = &i->finishing;
	else if (i->counting.b != NULL && i->counting.b->seq == seq)
		sl = &i->counting;
	if (sl == NULL || !sl->out)
		return;
	if (status != 0) {
		ingest_fail(i, "enriched output failed");
		return;
	}
	sl->out = false;
	progress(i);
}

static void
counters_done(int status, const struct apply_stats *st, void *arg)
{
	struct ingest *i = ingest_ticket_use(arg);

	if (i == NULL)
		return;
	if (status != 0) {
		if (st != NULL && st->nrefused > 0) {
			refused_add(i, st);
			ingest_fail(i, "counts refused: a counter holds no number");
		} else {
			ingest_fail(i, "counter write failed");
		}
		return;
	}
	metrics_add(i->m.counted, (double)st->counted);
	metrics_add(i->m.duplicate, (double)st->duplicates);
	slot_enter(i, &i->counting, FLIGHT_COUNTED);
	/* Its events go out now, behind the batch before's (released when
	 * it was counted): the acknowledgements overlap that batch's wait. */
	if (i->out.applied != NULL) {
		struct out_wait *w = xmalloc(sizeof(*w));

		w->t = ingest_ticket_new(i);
		w->seq = i->counting.b->seq;
		i->counting.out = i->out.applied(w->seq, output_done, w,
		    i->out.arg);
		if (!i->counting.out) {
			(void)ingest_ticket_use(w->t);
			free(w);
		}
	}
	advance(i);
	/* The slot is free for the next batch, whose counters overlap this
	 * one's wait. */
	if (i->counting.b == NULL)
		ingest_maybe_flush(i);
}

void
ingest_dlq_delivered(uint64_t seq, void *arg)
{
	struct ingest *i = arg;

	if (i->finishing.b != NULL && i->finishing.b->seq == seq) {
		i->finishing.dlq--;
		progress(i);
	} else if (i->counting.b != NULL && i->counting.b->seq == seq) {
		i->counting.dlq--;
	} else if (i->cur->seq == seq) {
		i->cur_dlq--;
	}
}

/* True when cur is to be written now; else the flush timer is armed for
 * when it will be. */
static bool
batch_due(struct ingest *i)
{
	int64_t age;

	if (i->cur->nmessages >= (size_t)i->cfg->batch.max_messages ||
	    i->ticks != TICKS_IDLE || ingest_revoking(i) ||
	    i->life != LIFE_RUNNING)
		return true;
	age = caltime_mono_ms() - i->cur_started_ms;
	if (age >= i->cfg->batch.max_wait_ms)
		return true;
	arm_flush(i, i->cfg->batch.max_wait_ms - age);
	return false;
}

void
ingest_maybe_flush(struct ingest *i)
{
	struct batch *b;
	struct ticket *t;

	/* Written while positioned and not recovering, and during a revoke
	 * unless the partitions are lost. */
	if (counting_busy(i) || i->cur->nmessages == 0 ||
	    (i->pos != POS_ACTIVE && i->pos != POS_REVOKING) ||
	    !redis_conn_up(i->conn))
		return;
	if (!batch_due(i))
		return;
	metrics_observe(i->m.stage[FLIGHT_NONE],
	    (double)(caltime_mono_ms() - i->cur_started_ms) / 1000.0);
	b = i->cur;
	i->cur = i->spare != NULL ? i->spare : batch_new();
	i->spare = NULL;
	batch_reset(i->cur, i->next_seq++, roster_size(i->roster));
	i->counting.b = b;
	i->counting.dlq = i->cur_dlq;
	i->counting.out = false;
	i->cur_dlq = 0;
	slot_enter(i, &i->counting, FLIGHT_COUNTERS);
	if (b->nreps == 0) {
		struct apply_stats none = { 0 };

		counters_done(0, &none, ingest_ticket_new(i));
		return;
	}
	t = ingest_ticket_new(i);
	if (redis_apply_counters(i->apply, b, i->roster, i->cfg, counters_done,
	    t) != 0) {
		(void)ingest_ticket_use(t);
		ingest_fail(i, "redis not usable");
	}
}

static void
slot_drop(struct ingest *i, struct flight_slot *sl)
{
	slot_enter(i, sl, FLIGHT_NONE);
	sl->out = false;
	sl->dlq = 0;
	if (sl->b == NULL)
		return;
	metrics_inc(i->m.batches_failed);
	batch_discard(i, &sl->b);
	batch_keep_spare(i, sl->b);
	sl->b = NULL;
}

/* Forgets the batches in flight and the one being filled, offsets
 * unstored: their events are read again. A reply still owed for an old
 * batch finds another epoch and is ignored. */
void
ingest_drop_batches(struct ingest *i)
{
	i->epoch++;
	/* An event-clock boundary's write in flight answers a ticket of
	 * the old epoch, which finds nothing: written again later. */
	i->ticks_saving = false;
	slot_drop(i, &i->finishing);
	slot_drop(i, &i->counting);
	batch_discard(i, &i->cur);
	i->cur_dlq = 0;
}

/* A revoke or a stop waits no longer for the DLQ: it failed for good,
 * or the finishing batch has waited DLQ_GIVE_UP_MS. */
bool
ingest_dlq_give_up(const struct ingest *i)
{
	return i->finishing.stage == FLIGHT_WAIT_DLQ &&
	    (ingest_revoking(i) || i->life != LIFE_RUNNING) &&
	    (dlq_failed(i->dlq) ||
	    caltime_mono_ms() - i->finishing.since_ms >= DLQ_GIVE_UP_MS);
}

/*
 * Drops the finishing batch, which waits for the DLQ, and the ones behind
 * it, storing no offset: storing a later one's would skip the earlier
 * one's events. Their counters may be in Redis already; the next
 * owner (or the restart) reads the events again from the watermark, the
 * dedupe counts them once, and their bad events go to the DLQ again (at
 * least once).
 */
void
ingest_abandon(struct ingest *i, const char *why)
{
	log_warnx("ingest_abandoned", "why=%s messages=%zu counting=%zu "
	    "pending=%zu dlq_outstanding=%d", log_quote(why),
	    i->finishing.b != NULL ? i->finishing.b->nmessages : 0,
	    i->counting.b != NULL ? i->counting.b->nmessages : 0,
	    i->cur->nmessages, dlq_outstanding(i->dlq));
	ingest_drop_batches(i);
	if (ingest_revoking(i))
		ingest_revoke_progress(i);
	else if (i->life != LIFE_RUNNING)
		ingest_stop_progress(i);
}

/* ---- stop ---- */

static void
on_closed(void *arg)
{
	struct ingest *i = arg;

	log_info("ingest_stopped", "group=left");
	if (i->stop_cb != NULL)
		i->stop_cb(i->stop_arg);
}

void
ingest_stop_progress(struct ingest *i)
{
	if (i->life == LIFE_CLOSING)
		return;
	if (ingest_dlq_give_up(i)) {
		ingest_abandon(i, "stopping while the dlq holds the batch");
		return;		/* abandon calls again */
	}
	if (ingest_in_flight(i))
		return;
	if (i->cur->nmessages > 0 && !ingest_recovering(i) &&
	    redis_conn_up(i->conn)) {
		ingest_maybe_flush(i);
		if (ingest_in_flight(i))
			return;
	}
	life_enter(i, LIFE_CLOSING);
	consumer_close(i->consumer);
}

void
ingest_stop(struct ingest *i, void (*done_cb)(void *), void *arg)
{
	i->stop_cb = done_cb;
	i->stop_arg = arg;
	if (i->life != LIFE_RUNNING)
		return;
	life_enter(i, LIFE_STOPPING);
	log_info("ingest_stopping", "inflight=%d pending=%zu",
	    (i->counting.b != NULL) + (i->finishing.b != NULL),
	    i->cur->nmessages);
	ingest_stop_progress(i);
}

/* ---- gauges ---- */

void
ingest_update_paused(struct ingest *i)
{
	metrics_set(i->m.paused, i->consumer != NULL &&
	    consumer_paused(i->consumer) ? 1 : 0);
}

/* Partitions assigned and not fetched for NOT_FETCHING_MS: a fault of the
 * Kafka client, not of the stream (their lag is unknown, so it does not
 * show in paced_consumer_lag). */
static void
not_fetching_check(struct ingest *i)
{
	int n = consumer_not_fetching(i->consumer, NOT_FETCHING_MS);

	metrics_set(i->m.not_fetching, (double)n);
	if (n == i->not_fetching)
		return;
	if (n > 0)
		log_warnx("kafka_partitions_not_fetching", "count=%d for_ms=%d "
		    "hint=\"assigned and not fetched; a restart or a rebalance "
		    "starts them again\"", n, NOT_FETCHING_MS);
	else
		log_info("kafka_partitions_fetching", "count=0");
	i->not_fetching = n;
}

static void
gauge_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *i = arg;
	int64_t lag;

	(void)fd;
	(void)what;
	if (i->consumer == NULL)
		return;
	lag = consumer_lag(i->consumer);
	if (lag >= 0)
		metrics_set(i->m.lag, (double)lag);
	ingest_catch_up(i, false);
	ingest_backlog_check(i, true);
	if (ingest_dlq_give_up(i))
		ingest_abandon(i, ingest_revoking(i) ?
		    "revoked while the dlq holds the batch" :
		    "stopping while the dlq holds the batch");
	if (ingest_dlq_stuck(i) != i->dlq_stuck) {
		i->dlq_stuck = !i->dlq_stuck;
		if (i->dlq_stuck)
			log_warnx("dlq_stuck", "outstanding=%d oldest_ms=%lld "
			    "flight=%s", dlq_outstanding(i->dlq),
			    (long long)dlq_oldest_ms(i->dlq),
			    flight_names[i->finishing.stage]);
		else
			log_info("dlq_unstuck", "outstanding=%d",
			    dlq_outstanding(i->dlq));
	}
	not_fetching_check(i);
	ingest_update_paused(i);
	metrics_set(i->m.assigned, (double)i->nparts);
	metrics_set(i->m.ready, ingest_ready(i) ? 1 : 0);
}

/* ---- setup ---- */

static void
metrics_register(struct ingest_metrics *m)
{
	static const double size_bounds[] = { 1, 10, 100, 500, 1000, 2500,
	    5000, 10000, 25000, 50000 };
	static const double stage_bounds[] = { 0.001, 0.0025, 0.005, 0.01,
	    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
	static const double delay_bounds[] = { 1, 5, 15, 60, 300, 900, 3600,
	    21600, 86400, 604800 };
	static const char events_help[] = "Activity events consumed, by outcome";
	char labels[96];

	m->counted = metrics_counter("paced_events_total",
	    "outcome=\"counted\"", events_help);
	m->duplicate = metrics_counter("paced_events_total",
	    "outcome=\"duplicate\"", events_help);
	m->bad = metrics_counter("paced_events_total", "outcome=\"bad\"",
	    events_help);
	m->skipped = metrics_counter("paced_events_total",
	    "outcome=\"skipped\"", events_help);
	for (int k = 1; k < CLASSIFY_BAD_COUNT; k++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
		    classify_bad_name(k));
		m->bad_reason[k] = metrics_counter("paced_bad_events_total",
		    labels, "Bad events sent to the dead-letter topic, by reason");
	}
	for (int k = 0; k < CLASSIFY_SKIP_COUNT; k++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
		    classify_skip_name((enum classify_skip)k));
		m->skip_reason[k] = metrics_counter("paced_skipped_events_total",
		    labels, "Events skipped (not errors), by reason");
	}
	m->batch_msgs = metrics_histogram("paced_batch_messages", NULL,
	    "Messages per batch written to Redis", size_bounds,
	    sizeof(size_bounds) / sizeof(size_bounds[0]));
	m->batches_ok = metrics_counter("paced_batches_total",
	    "result=\"applied\"", "Batches written to Redis, by result");
	m->batches_failed = metrics_counter("paced_batches_total",
	    "result=\"failed\"", "Batches written to Redis, by result");
	m->paused = metrics_gauge("paced_paused", NULL,
	    "1 while partitions are paused: waiting for Redis, or held back");
	m->recoveries = metrics_counter("paced_recoveries_total", NULL,
	    "Times the ingest path paused and re-read positions from Redis");
	m->lag = metrics_gauge("paced_consumer_lag", NULL,
	    "Messages behind the high watermark, summed over assigned partitions");
	m->not_fetching = metrics_gauge("paced_kafka_partitions_not_fetching",
	    NULL, "Assigned partitions whose fetcher has not been active for "
	    "30 s (librdkafka's statistics); 0 when all is well");
	m->assigned = metrics_gauge("paced_assigned_partitions", NULL,
	    "Partitions assigned to this member and positioned");
	m->ready = metrics_gauge("paced_ready", NULL,
	    "1 when partitions are assigned and Redis is usable");
	m->kafka_errors = metrics_counter("paced_kafka_consume_errors_total",
	    NULL, "Errors returned by the consumer instead of a message");
	m->dlq_reread_skipped = metrics_counter(
	    "paced_dlq_reread_skipped_total", NULL, "Dead-letter copies not "
	    "sent again: the message was read again below P:offsets");
	m->tick_retries = metrics_counter("paced_event_clock_retries_total",
	    NULL, "Event-clock boundaries judged again after a failed evaluation");
	for (int f = FLIGHT_NONE; f <= FLIGHT_WATERMARK; f++) {
		snprintf(labels, sizeof(labels), "stage=\"%s\"",
		    f == FLIGHT_NONE ? "filling" : flight_names[f]);
		m->stage[f] = metrics_histogram("paced_batch_stage_seconds",
		    labels, "Time a batch spends in each stage: filling (its "
		    "first message to its flush), counters (the shard scripts), "
		    "wait_dlq (dead-letter copies and the enriched output "
		    "acknowledged), watermark (P:offsets written)", stage_bounds,
		    sizeof(stage_bounds) / sizeof(stage_bounds[0]));
	}
	m->read_delay = metrics_histogram("paced_kafka_read_delay_seconds",
	    NULL, "Wall time at reading minus the message's Kafka timestamp",
	    stage_bounds, sizeof(stage_bounds) / sizeof(stage_bounds[0]));
	m->event_delay = metrics_histogram("paced_event_delay_seconds", NULL,
	    "Wall time at consumption minus occurred_at of counted events",
	    delay_bounds, sizeof(delay_bounds) / sizeof(delay_bounds[0]));
}

struct ingest *
ingest_new(struct event_base *base, struct redis_conn *conn,
    struct owner *own, const struct config *cfg, const struct roster *roster)
{
	struct ingest *i = xcalloc(1, sizeof(*i));
	struct timeval sec = { 1, 0 };

	i->base = base;
	i->conn = conn;
	i->owner = own;
	i->anchor = xcalloc(1, sizeof(*i->anchor));
	i->anchor->i = i;
	i->cfg = cfg;
	i->roster = roster;
	i->apply = redis_apply_new(conn);
	backoff_init(&i->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	evclock_init(&i->evclock, cfg->alerts.evaluate_every_ms);
	i->next_seq = 1;
	i->cur = batch_new();
	batch_reset(i->cur, i->next_seq++, roster_size(roster));
	i->retry_ev = evtimer_new(base, ingest_retry_cb, i);
	i->flush_ev = event_new(base, -1, 0, flush_cb, i);
	i->gauge_ev = event_new(base, -1, EV_PERSIST, gauge_cb, i);
	event_add(i->gauge_ev, &sec);
	i->catch_up_ev = event_new(base, -1, 0, catch_up_cb, i);
	metrics_register(&i->m);
	return i;
}

struct consumer_handlers
ingest_handlers(struct ingest *i)
{
	struct consumer_handlers h = {
		.message = on_message,
		.assign = ingest_on_assign,
		.revoke = ingest_on_revoke,
		.accepting = on_accepting,
		.closed = on_closed,
		.partitions = on_partitions,
		.arg = i,
	};

	return h;
}

void
ingest_attach(struct ingest *i, struct consumer *c, struct dlq *d)
{
	i->consumer = c;
	i->dlq = d;
}

void
ingest_set_boards(struct ingest *i, struct board_flush *boards)
{
	redis_apply_set_boards(i->apply, boards);
}

void
ingest_set_output(struct ingest *i, const struct ingest_output *o)
{
	static const struct ingest_output none = { 0 };

	i->out = o != NULL ? *o : none;
}

void
ingest_set_hooks(struct ingest *i, const struct ingest_hooks *h)
{
	static const struct ingest_hooks none = { 0 };
	struct apply_values av;

	i->hooks = h != NULL ? *h : none;
	av.counted = i->hooks.counted;
	av.unknown = i->hooks.counts_unknown;
	av.arg = i->hooks.arg;
	redis_apply_set_values(i->apply, &av);
}

/* ---- config retirement ---- */

void
ingest_set_config(struct ingest *i, const struct config *cfg,
    const struct roster *roster)
{
	/* Batches made before now point into the old roster. */
	i->retired_cfg = i->cfg;
	i->retired_roster = i->roster;
	i->retire_seq = i->cur->seq;
	i->retired_ready = !ingest_in_flight(i) && i->cur->nmessages == 0;
	i->cfg = cfg;
	i->roster = roster;
	i->evclock.every_ms = cfg->alerts.evaluate_every_ms;
}

bool
ingest_take_retired(struct ingest *i, const struct config **cfg,
    const struct roster **roster)
{
	if (i->retired_cfg == NULL || !i->retired_ready)
		return false;
	*cfg = i->retired_cfg;
	*roster = i->retired_roster;
	i->retired_cfg = NULL;
	i->retired_roster = NULL;
	i->retired_ready = false;
	return true;
}

bool
ingest_has_retired(const struct ingest *i)
{
	return i->retired_cfg != NULL;
}

bool
ingest_ready(const struct ingest *i)
{
	return redis_conn_up(i->conn) && i->nparts > 0 &&
	    (i->pos == POS_ACTIVE || ingest_revoking(i)) &&
	    !ingest_dlq_stuck(i);
}

bool
ingest_redis_up(const struct ingest *i)
{
	return redis_conn_up(i->conn);
}

bool
ingest_dlq_stuck(const struct ingest *i)
{
	return i->dlq != NULL &&
	    dlq_oldest_ms(i->dlq) > i->cfg->dlq.stuck_after_ms;
}

void
ingest_free(struct ingest *i)
{
	if (i == NULL)
		return;
	event_free(i->retry_ev);
	event_free(i->flush_ev);
	event_free(i->gauge_ev);
	event_free(i->catch_up_ev);
	batch_free(i->cur);
	batch_free(i->counting.b);
	batch_free(i->finishing.b);
	batch_free(i->spare);
	if (i->pending_assign != NULL)
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
	free(i->parts);
	free(i->refused);
	redis_apply_free(i->apply);
	i->anchor->i = NULL;	/* replies still owed find nobody */
	if (i->anchor->refs == 0)
		free(i->anchor);
	free(i);
}
