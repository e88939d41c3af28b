/*
 * ingest.c: the ingest path's state machine, driven by consumer callbacks
 * (message, assign, revoke), Redis replies, DLQ delivery reports and the
 * Redis connection state.
 *
 * One batch is in flight at a time while the next one fills (group
 * commit: an idle stream is written at once, a busy one in large
 * batches). A batch in flight goes COUNTERS (rep and team scripts) ->
 * WAIT_DLQ (its bad events delivered) -> WATERMARK (the partitions' next
 * offsets written to Redis after the counters, so an append-only Redis
 * that loses its last writes loses the watermark with them) -> offsets
 * stored in Kafka.
 *
 * Any Redis failure enters recovery: epoch++ (late replies of the old
 * epoch are ignored), batches dropped, partitions paused; when Redis is
 * usable again each partition seeks to the watermark Redis holds, or to
 * the first offset we have not seen acknowledged. Assignment waits for
 * the watermarks in the same way, so a partition always starts where
 * Redis says it stopped.
 *
 * A batch is flushed when it holds batch.max_messages or its first message
 * is batch.max_wait old, and at once when an event-clock boundary, a
 * revoke or a stop waits for it. A batch waiting for the DLQ waits as
 * long as it takes (the consumer pauses and keeps polling meanwhile),
 * except that a revoke or a stop gives up on it after DLQ_GIVE_UP_MS:
 * both batches are dropped unstored, and their events are read again.
 */
#include "ingest.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "caltime.h"
#include "decode.h"
#include "dlq.h"
#include "evaluator.h"
#include "log.h"
#include "metrics.h"
#include "partitioner.h"
#include "redis_apply.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS		200
#define BACKOFF_MAX_MS		10000
#define FUTURE_SKEW_MS		(24LL * 3600 * 1000)
#define DAY_MS			86400000LL
/* A partition is caught up once its lag falls to this; until then its
 * reps are not judged on the wall clock (a backlog would make steady reps
 * look behind). After CATCH_UP_MAX_MS they are judged anyway. */
#define CAUGHT_UP_LAG		100
#define CATCH_UP_MAX_MS		(10LL * 60 * 1000)
/* A revoke or a stop waits this long for a batch's bad events to reach
 * the DLQ, then drops the batch without storing its offsets. */
#define DLQ_GIVE_UP_MS		5000

enum flight { FLIGHT_NONE, FLIGHT_COUNTERS, FLIGHT_WAIT_DLQ, FLIGHT_WATERMARK };
enum assign_state { ASSIGN_NONE, ASSIGN_PENDING, ASSIGN_ACTIVE };

static const char *const flight_names[] = { "none", "counters", "wait_dlq", "watermark" };

struct part_state {
	int32_t partition;
	int64_t next_needed;	/* lowest offset Redis may lack; -1 unknown */
	bool caught_up;		/* its backlog was read once since assignment */
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

enum skip_reason { SKIP_UNKNOWN_REP, SKIP_UNKNOWN_TYPE, SKIP_COUNT };
enum extra_bad { BAD_TOO_OLD = DECODE_REASON_COUNT, BAD_TOO_FAR_IN_FUTURE,
    BAD_COUNT };

struct ingest {
	struct event_base *base;
	struct redis_conn *conn;
	struct redis_apply *apply;
	struct consumer *consumer;
	struct dlq *dlq;
	struct evaluator *evaluator;
	const struct config *cfg;
	const struct roster *roster;
	const struct config *retired_cfg;
	const struct roster *retired_roster;
	uint64_t retire_seq;
	bool retired_ready;
	struct clock clock;

	struct anchor *anchor;		/* found by the tickets */
	struct batch *cur, *inflight, *spare;
	int cur_dlq, inflight_dlq;
	uint64_t next_seq;
	uint64_t epoch;
	enum flight flight;
	int64_t cur_started_ms;		/* monotonic: cur's first message */
	int64_t wait_dlq_since_ms;	/* monotonic: the flight began WAIT_DLQ */
	bool dlq_stuck;			/* as last logged */

	enum assign_state assign_state;
	rd_kafka_topic_partition_list_t *pending_assign;
	struct part_state *parts;
	size_t nparts;
	bool reading_watermarks;

	bool recovering;
	long backoff_ms;
	struct event *retry_ev;
	struct event *flush_ev;
	struct event *gauge_ev;

	bool revoking, revoke_lost, stopping, closing;

	/* Event clock: every evaluate_every boundary the watermark passes is
	 * evaluated with exactly the events before it applied. */
	bool tick_init;
	bool tick_restored;	/* tick_saved read from Redis at assignment */
	int64_t tick_saved;	/* the lowest boundary judged, of the partitions */
	int64_t tick_done;	/* boundaries up to this index are evaluated */
	int64_t tick_target;	/* evaluate up to this one, then go on */
	bool tick_waiting;	/* waiting for the batches to drain */
	bool tick_running;
	void (*stop_cb)(void *);
	void *stop_arg;

	struct metric *m_events[4];
	struct metric *m_bad[BAD_COUNT];
	struct metric *m_skipped[SKIP_COUNT];
	struct metric *m_batch_msgs, *m_batches_ok, *m_batches_failed;
	struct metric *m_paused, *m_recoveries, *m_lag, *m_assigned, *m_ready;
	struct metric *m_kafka_errors, *m_event_delay, *m_tick_retries;
};

static void maybe_flush(struct ingest *i);
static void update_paused(struct ingest *i);
static void fail(struct ingest *i, const char *why);
static void resync(struct ingest *i);
static void read_assign_watermarks(struct ingest *i);
static void revoke_progress(struct ingest *i);
static void stop_progress(struct ingest *i);

static struct ticket *
ticket_new(struct ingest *i)
{
	struct ticket *t = xmalloc(sizeof(*t));

	t->a = i->anchor;
	t->a->refs++;
	t->epoch = i->epoch;
	return t;
}

/* Takes ownership of t; returns the ingest when t is current (the ingest
 * still there, same epoch), else NULL. */
static struct ingest *
ticket_use(struct ticket *t)
{
	struct anchor *a = t->a;
	struct ingest *i = a->i;
	bool current = i != NULL && t->epoch == i->epoch;

	free(t);
	if (--a->refs == 0 && a->i == NULL)
		free(a);
	return current ? i : NULL;
}

static struct part_state *
part_find(struct ingest *i, int32_t partition)
{
	for (size_t k = 0; k < i->nparts; k++)
		if (i->parts[k].partition == partition)
			return &i->parts[k];
	return NULL;
}

static void
set_flight(struct ingest *i, enum flight f)
{
	if (i->flight == f)
		return;
	log_debug("ingest_flight", "old=%s new=%s", flight_names[i->flight],
	    flight_names[f]);
	i->flight = f;
	if (f == FLIGHT_WAIT_DLQ)
		i->wait_dlq_since_ms = caltime_mono_ms();
}

/* Runs maybe_flush in ms (at once: 0). */
static void
arm_flush(struct ingest *i, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(i->flush_ev, &tv);
}

static void
schedule_retry(struct ingest *i)
{
	struct timeval tv = { i->backoff_ms / 1000, (i->backoff_ms % 1000) * 1000 };

	if (evtimer_pending(i->retry_ev, NULL))
		return;
	evtimer_add(i->retry_ev, &tv);
	i->backoff_ms = i->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    i->backoff_ms * 2;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *i = arg;

	(void)fd;
	(void)what;
	if (i->assign_state == ASSIGN_PENDING)
		read_assign_watermarks(i);
	if (i->recovering)
		resync(i);
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
	retire_check(i, (*b)->seq);
	batch_reset(*b, i->next_seq++, roster_size(i->roster));
}

/* ---- message path ---- */

static void
count_bad(struct ingest *i, const rd_kafka_message_t *m, int reason,
    const char *name)
{
	metrics_inc(i->m_events[2]);
	metrics_inc(i->m_bad[reason]);
	dlq_send(i->dlq, m, name, i->cur->seq);
	i->cur_dlq++;
}

static void run_ticks(struct ingest *i);

/* Event clock: false while the boundaries before this event's time are
 * not evaluated yet (the message waits with the consumer). */
static bool
ticks_allow(struct ingest *i, const struct event *ev)
{
	int64_t every = i->cfg->alerts.evaluate_every_ms;
	int64_t idx;

	if (i->cfg->clock != CLOCK_MODE_EVENT || i->evaluator == NULL ||
	    every <= 0)
		return true;
	/* Who owns which rep is known only with the partition count; the
	 * consumer kicks the drain when it arrives. */
	if (consumer_partition_count(i->consumer) <= 0)
		return false;
	idx = ev->occurred_at_ms >= 0 ? ev->occurred_at_ms / every :
	    -((-ev->occurred_at_ms + every - 1) / every);
	if (!i->tick_init) {
		i->tick_init = true;
		/* A restart goes on from the last boundary judged before it,
		 * not from the first event it reads. */
		if (i->tick_restored && i->tick_saved < idx) {
			i->tick_done = i->tick_saved;
		} else {
			i->tick_done = idx;
			return true;
		}
	}
	if (idx <= i->tick_done)
		return true;
	if (i->tick_running || i->tick_waiting)
		return false;
	i->tick_target = idx;
	i->tick_waiting = true;
	if (i->inflight == NULL && i->cur->nmessages == 0)
		run_ticks(i);
	else
		maybe_flush(i);
	return false;
}

static bool
on_message(const rd_kafka_message_t *m, void *arg)
{
	struct ingest *i = arg;
	struct part_state *ps;
	struct event ev;
	enum decode_reason r;
	const struct roster_rep *rep;
	const size_t *kpis;
	size_t nkpis;
	int64_t now;
	int bad;
	const char *bad_name;

	if (m->err) {
		metrics_inc(i->m_kafka_errors);
		log_warnx("kafka_consume_error", "err=%s",
		    log_quote(rd_kafka_message_errstr(m)));
		return true;
	}
	ps = part_find(i, m->partition);
	if (ps == NULL || i->assign_state != ASSIGN_ACTIVE)
		return true;	/* not (yet) ours: the owner will read it */
	if (ps->next_needed < 0)
		ps->next_needed = m->offset;
	if (i->recovering || i->revoking || i->stopping)
		return true;	/* resync or the next owner re-reads it */

	/* Every check that makes the event bad comes before the clock: a bad
	 * event's time must not move it (one far in the future would run
	 * the event clock ahead). */
	r = decode_event(m->payload, m->payload ? m->len : 0, &ev);
	bad = (int)r;
	bad_name = r != DECODE_OK ? decode_reason_name(r) : NULL;
	if (r == DECODE_OK) {
		now = clock_now(&i->clock);
		if (ev.occurred_at_ms < now - i->cfg->redis.dedupe_window_ms) {
			/* Too old to dedupe: counting it could count it twice. */
			bad = BAD_TOO_OLD;
			bad_name = "too_old";
		} else if (ev.occurred_at_ms > caltime_wall_ms() + FUTURE_SKEW_MS) {
			bad = BAD_TOO_FAR_IN_FUTURE;
			bad_name = "too_far_in_future";
		}
	}
	if (bad_name == NULL && !ticks_allow(i, &ev))
		return false;
	if (i->cur->nmessages == 0) {
		i->cur_started_ms = caltime_mono_ms();
		arm_flush(i, i->cfg->batch.max_wait_ms);
	}
	batch_note_offset(i->cur, m->partition, m->offset);
	if (bad_name != NULL) {
		count_bad(i, m, bad, bad_name);
		goto out;
	}
	/* Any valid event is evidence of the time, counted or skipped. */
	clock_observe(&i->clock, ev.occurred_at_ms);
	if ((rep = roster_rep(i->roster, ev.rep_id)) == NULL) {
		metrics_inc(i->m_events[3]);
		metrics_inc(i->m_skipped[SKIP_UNKNOWN_REP]);
		if (i->cfg->unknown_rep == UNKNOWN_REP_DLQ) {
			dlq_send(i->dlq, m, "unknown_rep", i->cur->seq);
			i->cur_dlq++;
		}
		goto out;
	}
	kpis = roster_kpis_for_type(i->roster, ev.type, &nkpis);
	if (nkpis == 0) {
		metrics_inc(i->m_events[3]);
		metrics_inc(i->m_skipped[SKIP_UNKNOWN_TYPE]);
		goto out;
	}
	metrics_observe(i->m_event_delay,
	    (double)(caltime_wall_ms() - ev.occurred_at_ms) / 1000.0);
	batch_add(i->cur, rep, kpis, nkpis,
	    tzone_local_day(rep->zone, ev.occurred_at_ms),
	    (int32_t)(ev.occurred_at_ms >= 0 ? ev.occurred_at_ms / DAY_MS :
	    (ev.occurred_at_ms - DAY_MS + 1) / DAY_MS), &ev);
out:
	if (i->inflight == NULL &&
	    i->cur->nmessages >= (size_t)i->cfg->batch.max_messages)
		maybe_flush(i);
	return true;
}

static bool
on_accepting(void *arg)
{
	struct ingest *i = arg;

	if (i->revoking || i->stopping)
		return false;
	/* Backpressure: the next batch is full while one is in flight. */
	return !(i->inflight != NULL &&
	    i->cur->nmessages >= (size_t)i->cfg->batch.max_messages);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	maybe_flush(arg);
}

/* ---- batch lifecycle ---- */

/* Event clock: the boundary judged before the batch's events, per
 * partition, after their watermark (an older value only re-judges). */
static void
save_ticks(struct ingest *i, const struct batch *b)
{
	redis_apply_save_evclock(i->apply, i->cfg, i->cfg->kafka.topic_activity,
	    b, i->tick_done);
}

/* Not called without an answer: i may be gone then (shutdown). */
static void
ticks_read(int status, const int64_t *ticks, const bool *present, size_t n,
    void *arg)
{
	struct ingest *i = arg;

	i->tick_restored = false;
	if (status != 0)
		return;
	for (size_t k = 0; k < n; k++) {
		int64_t v;

		if (!present[k])
			continue;
		v = ticks[k];
		if (!i->tick_restored || v < i->tick_saved)
			i->tick_saved = v;
		i->tick_restored = true;
	}
}

static void
batch_complete(struct ingest *i)
{
	struct batch *b = i->inflight;
	const char *topic = i->cfg->kafka.topic_activity;

	for (size_t k = 0; k < b->nparts; k++) {
		struct part_state *ps = part_find(i, b->parts[k].partition);

		if (ps == NULL)
			continue;
		ps->next_needed = b->parts[k].last_offset + 1;
		consumer_store(i->consumer, topic, b->parts[k].partition,
		    b->parts[k].last_offset + 1);
	}
	if (i->cfg->clock == CLOCK_MODE_EVENT && i->tick_init)
		save_ticks(i, b);
	metrics_inc(i->m_batches_ok);
	metrics_observe(i->m_batch_msgs, (double)b->nmessages);
	if (i->evaluator != NULL)
		for (size_t k = 0; k < b->nreps; k++)
			evaluator_rep_changed(i->evaluator, b->reps[k].rep->index);
	retire_check(i, b->seq);
	i->spare = b;
	i->inflight = NULL;
	set_flight(i, FLIGHT_NONE);
	i->backoff_ms = BACKOFF_MIN_MS;

	if (i->revoking)
		revoke_progress(i);
	else if (i->stopping)
		stop_progress(i);
	else if (i->tick_waiting) {
		if (i->cur->nmessages > 0)
			maybe_flush(i);
		else
			run_ticks(i);
	} else {
		maybe_flush(i);
		consumer_kick(i->consumer);
	}
}

static void
tick_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_ticks(arg);
}

static void
tick_done_cb(void *arg, int status)
{
	struct ingest *i = arg;
	struct timeval later = { 0, 200 * 1000 };

	i->tick_running = false;
	if (status == 0) {
		i->tick_done++;
		run_ticks(i);
		return;
	}
	/* A boundary whose evaluation failed is judged again, never skipped:
	 * on the event clock it would not come back. */
	metrics_inc(i->m_tick_retries);
	event_base_once(i->base, -1, EV_TIMEOUT, tick_retry_cb, i, &later);
}

/* Evaluates the next boundary up to tick_target, one at a time; then
 * lets the waiting message in. */
static void
run_ticks(struct ingest *i)
{
	int64_t every = i->cfg->alerts.evaluate_every_ms;

	if (i->tick_running)
		return;
	if (i->tick_done >= i->tick_target || i->evaluator == NULL ||
	    i->recovering || i->stopping || i->revoking) {
		i->tick_waiting = false;
		consumer_kick(i->consumer);
		return;
	}
	i->tick_waiting = true;
	i->tick_running = true;
	evaluator_tick(i->evaluator, (i->tick_done + 1) * every, tick_done_cb, i);
}

static void
watermark_done(int status, const struct apply_stats *st, void *arg)
{
	struct ingest *i = ticket_use(arg);

	(void)st;
	if (i == NULL)
		return;
	if (status != 0) {
		fail(i, "watermark write failed");
		return;
	}
	batch_complete(i);
}

static void
progress(struct ingest *i)
{
	if (i->flight != FLIGHT_WAIT_DLQ || i->inflight_dlq > 0)
		return;
	struct ticket *t = ticket_new(i);

	set_flight(i, FLIGHT_WATERMARK);
	if (redis_apply_watermarks(i->apply, i->cfg, i->cfg->kafka.topic_activity,
	    i->inflight, watermark_done, t) != 0) {
		(void)ticket_use(t);
		fail(i, "redis not usable for the watermark");
	}
}

static void
counters_done(int status, const struct apply_stats *st, void *arg)
{
	struct ingest *i = ticket_use(arg);

	if (i == NULL)
		return;
	if (status != 0) {
		fail(i, "counter write failed");
		return;
	}
	metrics_add(i->m_events[0], (double)st->counted);
	metrics_add(i->m_events[1], (double)st->duplicates);
	set_flight(i, FLIGHT_WAIT_DLQ);
	progress(i);
}

void
ingest_dlq_delivered(uint64_t seq, void *arg)
{
	struct ingest *i = arg;

	if (i->inflight != NULL && i->inflight->seq == seq) {
		i->inflight_dlq--;
		progress(i);
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
	    i->tick_waiting || i->revoking || i->stopping)
		return true;
	age = caltime_mono_ms() - i->cur_started_ms;
	if (age >= i->cfg->batch.max_wait_ms)
		return true;
	arm_flush(i, i->cfg->batch.max_wait_ms - age);
	return false;
}

static void
maybe_flush(struct ingest *i)
{
	struct batch *b;
	struct ticket *t;

	if (i->inflight != NULL || i->recovering || i->cur->nmessages == 0 ||
	    i->assign_state != ASSIGN_ACTIVE || !redis_conn_up(i->conn))
		return;
	if (i->revoking && i->revoke_lost)
		return;
	if (!batch_due(i))
		return;
	b = i->cur;
	i->cur = i->spare != NULL ? i->spare : batch_new();
	i->spare = NULL;
	batch_reset(i->cur, i->next_seq++, roster_size(i->roster));
	i->inflight = b;
	i->inflight_dlq = i->cur_dlq;
	i->cur_dlq = 0;
	set_flight(i, FLIGHT_COUNTERS);
	if (b->nreps == 0) {
		struct apply_stats none = { 0, 0 };

		counters_done(0, &none, ticket_new(i));
		return;
	}
	t = ticket_new(i);
	if (redis_apply_counters(i->apply, b, i->roster, i->cfg, counters_done,
	    t) != 0) {
		(void)ticket_use(t);
		fail(i, "redis not usable");
	}
}

/* ---- failure and recovery ---- */

/* Forgets the batch in flight and the one being filled, offsets
 * unstored: their events are read again. A reply still owed for the old
 * batch finds another epoch and is ignored. */
static void
drop_batches(struct ingest *i)
{
	i->epoch++;
	set_flight(i, FLIGHT_NONE);
	if (i->inflight != NULL) {
		metrics_inc(i->m_batches_failed);
		batch_discard(i, &i->inflight);
		if (i->spare == NULL)
			i->spare = i->inflight;
		else
			batch_free(i->inflight);
		i->inflight = NULL;
	}
	batch_discard(i, &i->cur);
	i->cur_dlq = i->inflight_dlq = 0;
}

static void
fail(struct ingest *i, const char *why)
{
	if (i->recovering)
		return;
	log_warnx("ingest_recovering", "why=%s partitions=%zu flight=%s",
	    log_quote(why), i->nparts, flight_names[i->flight]);
	metrics_inc(i->m_recoveries);
	i->recovering = true;
	drop_batches(i);
	if (i->assign_state == ASSIGN_ACTIVE)
		consumer_pause_all(i->consumer, true);
	update_paused(i);
	if (redis_conn_up(i->conn))
		schedule_retry(i);
	if (i->revoking)
		revoke_progress(i);
	else if (i->stopping)
		stop_progress(i);
}

static void
resync_done(int status, const int64_t *offsets, void *arg)
{
	struct ingest *i = ticket_use(arg);
	const char *topic;

	if (i == NULL)
		return;
	i->reading_watermarks = false;
	if (status != 0 || !i->recovering) {
		schedule_retry(i);
		return;
	}
	topic = i->cfg->kafka.topic_activity;
	for (size_t k = 0; k < i->nparts; k++) {
		struct part_state *ps = &i->parts[k];
		int64_t target = offsets[k] >= 0 ? offsets[k] : ps->next_needed;

		if (target < 0)
			continue;	/* nothing consumed: position unchanged */
		log_info("ingest_seek", "partition=%d offset=%" PRId64
		    " from=%s", (int)ps->partition, target,
		    offsets[k] >= 0 ? "redis" : "last_acknowledged");
		consumer_seek(i->consumer, topic, ps->partition, target);
		ps->next_needed = target;
	}
	i->recovering = false;
	i->backoff_ms = BACKOFF_MIN_MS;
	consumer_pause_all(i->consumer, false);
	update_paused(i);
	log_info("ingest_resumed", "partitions=%zu", i->nparts);
}

static void
resync(struct ingest *i)
{
	int32_t *pl;

	if (!i->recovering || i->reading_watermarks || !redis_conn_up(i->conn) ||
	    i->revoking || i->stopping)
		return;
	if (i->assign_state != ASSIGN_ACTIVE || i->nparts == 0) {
		i->recovering = false;
		consumer_pause_all(i->consumer, false);
		update_paused(i);
		return;
	}
	pl = xcalloc(i->nparts, sizeof(int32_t));
	for (size_t k = 0; k < i->nparts; k++)
		pl[k] = i->parts[k].partition;
	i->reading_watermarks = true;
	{
		struct ticket *t = ticket_new(i);

		if (redis_apply_read_watermarks(i->apply, i->cfg,
		    i->cfg->kafka.topic_activity, pl, i->nparts, resync_done,
		    t) != 0) {
			(void)ticket_use(t);
			i->reading_watermarks = false;
			schedule_retry(i);
		}
	}
	free(pl);
}

void
ingest_redis_state(bool up, void *arg)
{
	struct ingest *i = arg;

	if (!up) {
		fail(i, "redis connection lost");
		return;
	}
	if (i->assign_state == ASSIGN_PENDING)
		read_assign_watermarks(i);
	if (i->recovering)
		resync(i);
	maybe_flush(i);
}

/* ---- rebalance ---- */

static void
assign_done(int status, const int64_t *offsets, void *arg)
{
	struct ingest *i = ticket_use(arg);
	rd_kafka_topic_partition_list_t *l;

	if (i == NULL)
		return;
	i->reading_watermarks = false;
	if (i->assign_state != ASSIGN_PENDING)
		return;
	if (status != 0) {
		schedule_retry(i);
		return;
	}
	l = i->pending_assign;
	i->pending_assign = NULL;
	free(i->parts);
	i->nparts = (size_t)l->cnt;
	i->parts = xcalloc(i->nparts ? i->nparts : 1, sizeof(*i->parts));
	for (int k = 0; k < l->cnt; k++) {
		l->elems[k].offset = offsets[k] >= 0 ? offsets[k] :
		    RD_KAFKA_OFFSET_INVALID;
		i->parts[k].partition = l->elems[k].partition;
		i->parts[k].next_needed = offsets[k];
		i->parts[k].assigned_ms = caltime_wall_ms();
		log_info("ingest_assigned", "partition=%d offset=%" PRId64
		    " from=%s", (int)l->elems[k].partition, offsets[k],
		    offsets[k] >= 0 ? "redis" : "committed");
	}
	i->assign_state = ASSIGN_ACTIVE;
	i->recovering = false;
	i->backoff_ms = BACKOFF_MIN_MS;
	consumer_assign(i->consumer, l);
	update_paused(i);
	rd_kafka_topic_partition_list_destroy(l);
}

static void
read_assign_watermarks(struct ingest *i)
{
	rd_kafka_topic_partition_list_t *l = i->pending_assign;
	int32_t *pl;
	struct ticket *t;

	if (l == NULL || i->reading_watermarks || !redis_conn_up(i->conn))
		return;
	pl = xcalloc(l->cnt ? (size_t)l->cnt : 1, sizeof(int32_t));
	for (int k = 0; k < l->cnt; k++)
		pl[k] = l->elems[k].partition;
	if (i->cfg->clock == CLOCK_MODE_EVENT && !i->tick_init) {
		/* Same connection: the answer comes before the watermarks'. */
		redis_apply_read_evclock(i->apply, i->cfg,
		    i->cfg->kafka.topic_activity, pl, (size_t)l->cnt, ticks_read,
		    i);
	}
	t = ticket_new(i);
	i->reading_watermarks = true;
	if (redis_apply_read_watermarks(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, pl, (size_t)l->cnt, assign_done, t) != 0) {
		(void)ticket_use(t);
		i->reading_watermarks = false;
		schedule_retry(i);
	}
	free(pl);
}

static void
on_assign(const rd_kafka_topic_partition_list_t *parts, void *arg)
{
	struct ingest *i = arg;

	if (i->pending_assign != NULL)
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
	i->pending_assign = rd_kafka_topic_partition_list_copy(parts);
	i->assign_state = ASSIGN_PENDING;
	i->epoch++;		/* replies about the old assignment are stale */
	i->reading_watermarks = false;
	read_assign_watermarks(i);
}

/* A revoke or a stop waits no longer for the DLQ: it failed for good,
 * or the in-flight batch has waited DLQ_GIVE_UP_MS. */
static bool
dlq_give_up(const struct ingest *i)
{
	return i->inflight != NULL && i->flight == FLIGHT_WAIT_DLQ &&
	    (i->revoking || i->stopping) && (dlq_failed(i->dlq) ||
	    caltime_mono_ms() - i->wait_dlq_since_ms >= DLQ_GIVE_UP_MS);
}

/*
 * Drops the in-flight batch, which waits for the DLQ, and the one filling
 * behind it, storing no offset: storing the later one's would skip the
 * earlier one's events. Their counters may be in Redis already; the next
 * owner (or the restart) reads the events again from the watermark, the
 * dedupe counts them once, and their bad events go to the DLQ again (at
 * least once).
 */
static void
abandon(struct ingest *i, const char *why)
{
	log_warnx("ingest_abandoned", "why=%s messages=%zu pending=%zu "
	    "dlq_outstanding=%d", log_quote(why),
	    i->inflight != NULL ? i->inflight->nmessages : 0,
	    i->cur->nmessages, dlq_outstanding(i->dlq));
	drop_batches(i);
	if (i->revoking)
		revoke_progress(i);
	else if (i->stopping)
		stop_progress(i);
}

static void
revoke_finish(struct ingest *i)
{
	if (i->cur->nmessages > 0)
		batch_discard(i, &i->cur);
	i->cur_dlq = 0;
	i->epoch++;
	i->assign_state = ASSIGN_NONE;
	i->nparts = 0;
	i->revoking = false;
	i->recovering = false;
	i->reading_watermarks = false;
	consumer_unassign(i->consumer);
	update_paused(i);
}

static void
revoke_progress(struct ingest *i)
{
	if (dlq_give_up(i)) {
		abandon(i, "revoked while the dlq holds the batch");
		return;		/* abandon calls again */
	}
	if (i->inflight != NULL)
		return;		/* batch_complete, fail or abandon call again */
	if (i->cur->nmessages > 0 && !i->recovering && !i->revoke_lost &&
	    redis_conn_up(i->conn)) {
		maybe_flush(i);
		if (i->inflight != NULL)
			return;
	}
	revoke_finish(i);
}

static void
on_revoke(const rd_kafka_topic_partition_list_t *parts, bool lost, void *arg)
{
	struct ingest *i = arg;

	(void)parts;
	if (i->assign_state == ASSIGN_PENDING) {
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
		i->pending_assign = NULL;
		revoke_finish(i);
		return;
	}
	i->revoking = true;
	i->revoke_lost = lost;
	revoke_progress(i);
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

static void
stop_progress(struct ingest *i)
{
	if (i->closing)
		return;
	if (dlq_give_up(i)) {
		abandon(i, "stopping while the dlq holds the batch");
		return;		/* abandon calls again */
	}
	if (i->inflight != NULL)
		return;
	if (i->cur->nmessages > 0 && !i->recovering && redis_conn_up(i->conn)) {
		maybe_flush(i);
		if (i->inflight != NULL)
			return;
	}
	i->closing = true;
	consumer_close(i->consumer);
}

void
ingest_stop(struct ingest *i, void (*done_cb)(void *), void *arg)
{
	i->stop_cb = done_cb;
	i->stop_arg = arg;
	if (i->stopping)
		return;
	i->stopping = true;
	log_info("ingest_stopping", "inflight=%d pending=%zu",
	    i->inflight != NULL, i->cur->nmessages);
	stop_progress(i);
}

/* ---- gauges ---- */

static void
gauge_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *i = arg;
	bool grew = false;
	int64_t lag;

	(void)fd;
	(void)what;
	if (i->consumer == NULL)
		return;
	lag = consumer_lag(i->consumer);
	if (lag >= 0)
		metrics_set(i->m_lag, (double)lag);
	for (size_t k = 0; k < i->nparts && i->assign_state == ASSIGN_ACTIVE; k++) {
		struct part_state *ps = &i->parts[k];
		int64_t pl;

		if (ps->caught_up)
			continue;
		pl = consumer_partition_lag(i->consumer, ps->partition,
		    ps->next_needed);
		if ((pl >= 0 && pl <= CAUGHT_UP_LAG) ||
		    caltime_wall_ms() - ps->assigned_ms > CATCH_UP_MAX_MS) {
			ps->caught_up = true;
			grew = true;
			log_info("partition_caught_up", "partition=%d lag=%lld",
			    (int)ps->partition, (long long)pl);
		}
	}
	if (grew && i->evaluator != NULL)
		evaluator_owned_grew(i->evaluator);
	if (dlq_give_up(i))
		abandon(i, i->revoking ? "revoked while the dlq holds the batch" :
		    "stopping while the dlq holds the batch");
	if (ingest_dlq_stuck(i) != i->dlq_stuck) {
		i->dlq_stuck = !i->dlq_stuck;
		if (i->dlq_stuck)
			log_warnx("dlq_stuck", "outstanding=%d oldest_ms=%lld "
			    "flight=%s", dlq_outstanding(i->dlq),
			    (long long)dlq_oldest_ms(i->dlq),
			    flight_names[i->flight]);
		else
			log_info("dlq_unstuck", "outstanding=%d",
			    dlq_outstanding(i->dlq));
	}
	update_paused(i);
	metrics_set(i->m_assigned, (double)i->nparts);
	metrics_set(i->m_ready, ingest_ready(i) ? 1 : 0);
}

static void
update_paused(struct ingest *i)
{
	metrics_set(i->m_paused, i->consumer != NULL &&
	    consumer_paused(i->consumer) ? 1 : 0);
}

/* ---- setup ---- */

struct ingest *
ingest_new(struct event_base *base, struct redis_conn *conn,
    const struct config *cfg, const struct roster *roster)
{
	struct ingest *i = xcalloc(1, sizeof(*i));
	static const char *const outcomes[] = { "counted", "duplicate", "bad", "skipped" };
	static const double size_bounds[] = { 1, 10, 100, 500, 1000, 2500, 5000,
	    10000, 25000, 50000 };
	static const double delay_bounds[] = { 1, 5, 15, 60, 300, 900, 3600,
	    21600, 86400, 604800 };
	char labels[96];
	struct timeval sec = { 1, 0 };

	i->base = base;
	i->conn = conn;
	i->anchor = xcalloc(1, sizeof(*i->anchor));
	i->anchor->i = i;
	i->cfg = cfg;
	i->roster = roster;
	i->apply = redis_apply_new(conn);
	i->clock.mode = cfg->clock;
	i->backoff_ms = BACKOFF_MIN_MS;
	i->next_seq = 1;
	i->cur = batch_new();
	batch_reset(i->cur, i->next_seq++, roster_size(roster));
	i->retry_ev = evtimer_new(base, retry_cb, i);
	i->flush_ev = event_new(base, -1, 0, flush_cb, i);
	i->gauge_ev = event_new(base, -1, EV_PERSIST, gauge_cb, i);
	event_add(i->gauge_ev, &sec);

	for (int k = 0; k < 4; k++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcomes[k]);
		i->m_events[k] = metrics_counter("paced_events_total", labels,
		    "Activity events consumed, by outcome");
	}
	for (int k = 1; k < BAD_COUNT; k++) {
		const char *name = k < DECODE_REASON_COUNT ?
		    decode_reason_name((enum decode_reason)k) :
		    k == BAD_TOO_OLD ? "too_old" : "too_far_in_future";

		snprintf(labels, sizeof(labels), "reason=\"%s\"", name);
		i->m_bad[k] = metrics_counter("paced_bad_events_total", labels,
		    "Bad events sent to the dead-letter topic, by reason");
	}
	i->m_skipped[SKIP_UNKNOWN_REP] = metrics_counter(
	    "paced_skipped_events_total", "reason=\"unknown_rep\"",
	    "Events skipped (not errors), by reason");
	i->m_skipped[SKIP_UNKNOWN_TYPE] = metrics_counter(
	    "paced_skipped_events_total", "reason=\"unknown_type\"",
	    "Events skipped (not errors), by reason");
	i->m_batch_msgs = metrics_histogram("paced_batch_messages", NULL,
	    "Messages per batch written to Redis", size_bounds,
	    sizeof(size_bounds) / sizeof(size_bounds[0]));
	i->m_batches_ok = metrics_counter("paced_batches_total",
	    "result=\"applied\"", "Batches written to Redis, by result");
	i->m_batches_failed = metrics_counter("paced_batches_total",
	    "result=\"failed\"", "Batches written to Redis, by result");
	i->m_paused = metrics_gauge("paced_paused", NULL,
	    "1 while partitions are paused: waiting for Redis, or held back");
	i->m_recoveries = metrics_counter("paced_recoveries_total", NULL,
	    "Times the ingest path paused and re-read positions from Redis");
	i->m_lag = metrics_gauge("paced_consumer_lag", NULL,
	    "Messages behind the high watermark, summed over assigned partitions");
	i->m_assigned = metrics_gauge("paced_assigned_partitions", NULL,
	    "Partitions assigned to this member and positioned");
	i->m_ready = metrics_gauge("paced_ready", NULL,
	    "1 when partitions are assigned and Redis is usable");
	i->m_kafka_errors = metrics_counter("paced_kafka_consume_errors_total",
	    NULL, "Errors returned by the consumer instead of a message");
	i->m_tick_retries = metrics_counter("paced_event_clock_retries_total",
	    NULL, "Event-clock boundaries judged again after a failed evaluation");
	i->m_event_delay = metrics_histogram("paced_event_delay_seconds", NULL,
	    "Wall time at consumption minus occurred_at of counted events",
	    delay_bounds, sizeof(delay_bounds) / sizeof(delay_bounds[0]));
	return i;
}

struct consumer_handlers
ingest_handlers(struct ingest *i)
{
	struct consumer_handlers h = {
		.message = on_message,
		.assign = on_assign,
		.revoke = on_revoke,
		.accepting = on_accepting,
		.closed = on_closed,
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
ingest_set_evaluator(struct ingest *i, struct evaluator *e)
{
	i->evaluator = e;
}

bool
ingest_owns(const struct ingest *i, const char *rep_id)
{
	enum partitioner_kind kind = PARTITIONER_MURMUR2;
	int n;

	if (i->consumer == NULL || i->assign_state != ASSIGN_ACTIVE ||
	    (n = consumer_partition_count(i->consumer)) <= 0)
		return false;
	const struct part_state *ps;

	if (i->cfg->kafka.partitioner != NULL)
		partitioner_parse(i->cfg->kafka.partitioner, &kind);
	ps = part_find((struct ingest *)i, partitioner_pick(kind, rep_id,
	    strlen(rep_id), n));
	/* On the wall clock a rep is judged once its partition's backlog is
	 * read; the event clock judges each boundary after exactly the events
	 * before it, backlog or not. */
	return ps != NULL && (ps->caught_up || i->cfg->clock == CLOCK_MODE_EVENT);
}

void
ingest_set_config(struct ingest *i, const struct config *cfg,
    const struct roster *roster)
{
	/* Batches made before now point into the old roster. */
	i->retired_cfg = i->cfg;
	i->retired_roster = i->roster;
	i->retire_seq = i->cur->seq;
	i->retired_ready = i->inflight == NULL && i->cur->nmessages == 0;
	i->cfg = cfg;
	i->roster = roster;
	i->clock.mode = cfg->clock;
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
	return redis_conn_up(i->conn) && i->assign_state == ASSIGN_ACTIVE &&
	    i->nparts > 0 && !i->recovering && !ingest_dlq_stuck(i);
}

bool
ingest_dlq_stuck(const struct ingest *i)
{
	return i->dlq != NULL &&
	    dlq_oldest_ms(i->dlq) > i->cfg->dlq.stuck_after_ms;
}

const struct clock *
ingest_clock(const struct ingest *i)
{
	return &i->clock;
}

void
ingest_free(struct ingest *i)
{
	if (i == NULL)
		return;
	event_free(i->retry_ev);
	event_free(i->flush_ev);
	event_free(i->gauge_ev);
	batch_free(i->cur);
	batch_free(i->inflight);
	batch_free(i->spare);
	if (i->pending_assign != NULL)
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
	free(i->parts);
	redis_apply_free(i->apply);
	i->anchor->i = NULL;	/* replies still owed find nobody */
	if (i->anchor->refs == 0)
		free(i->anchor);
	free(i);
}
