/*
 * ingest_positions.c: where the assigned partitions stand (enum pos),
 * driven by the consumer's rebalance callbacks, Redis replies, the Redis
 * connection state and the retry timer.
 *
 * An assignment waits for the watermarks Redis holds (the next offset
 * whose effects Redis lacks), so a partition always starts where Redis
 * says it stopped: UNASSIGNED -> ASSIGNING -> ASSIGN_READING -> ACTIVE.
 * Any Redis failure while ACTIVE enters recovery: epoch++ (late replies
 * of the old epoch are ignored), batches dropped, partitions paused; once
 * Redis is usable again each partition seeks to its watermark, or to the
 * first offset not seen acknowledged: RECOVERING -> RESYNCING -> ACTIVE.
 * A revoke writes the batches first (REVOKING; not when the partitions
 * are lost) and then unassigns. A partition is caught up (owner.c) once
 * its lag is small: its reps are judged on the wall clock from then on.
 */
#include "ingest_int.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>

#include "batch.h"
#include "caltime.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_apply.h"
#include "redis_conn.h"
#include "xmalloc.h"

/* A partition is caught up once its lag falls to this; until then its
 * reps are not judged on the wall clock (a backlog would make steady reps
 * look behind). After CATCH_UP_MAX_MS they are judged anyway. */
#define CAUGHT_UP_LAG		100
#define CATCH_UP_MAX_MS		(10LL * 60 * 1000)
#define BACKLOG_CHECK_MS	100

static const char *const pos_names[] = { "unassigned", "assigning",
    "assign_reading", "active", "recovering", "resyncing", "revoking",
    "revoking_lost" };

void
ingest_pos_enter(struct ingest *i, enum pos p)
{
	if (i->pos == p)
		return;
	log_info("ingest_positions", "old=%s new=%s partitions=%zu",
	    pos_names[i->pos], pos_names[p], i->nparts);
	i->pos = p;
}

bool
ingest_positioned(const struct ingest *i)
{
	return i->pos >= POS_ACTIVE;
}

bool
ingest_recovering(const struct ingest *i)
{
	return i->pos == POS_RECOVERING || i->pos == POS_RESYNCING;
}

bool
ingest_revoking(const struct ingest *i)
{
	return i->pos == POS_REVOKING || i->pos == POS_REVOKING_LOST;
}

struct part_state *
ingest_part_find(struct ingest *i, int32_t partition)
{
	for (size_t k = 0; k < i->nparts; k++)
		if (i->parts[k].partition == partition)
			return &i->parts[k];
	return NULL;
}

static void
schedule_retry(struct ingest *i)
{
	backoff_arm(&i->backoff, i->retry_ev, false);
}

static void resync(struct ingest *i);
static void read_assign_watermarks(struct ingest *i);

void
ingest_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *i = arg;

	(void)fd;
	(void)what;
	if (i->pos == POS_ASSIGNING)
		read_assign_watermarks(i);
	if (i->pos == POS_RECOVERING)
		resync(i);
}

/* ---- failure and recovery ---- */

void
ingest_fail(struct ingest *i, const char *why)
{
	if (ingest_recovering(i))
		return;
	log_warnx("ingest_recovering", "why=%s partitions=%zu counting=%s "
	    "finishing=%s", log_quote(why), i->nparts,
	    ingest_flight_name(i->counting.stage),
	    ingest_flight_name(i->finishing.stage));
	metrics_inc(i->m.recoveries);
	/* A revoke under way unassigns below; before an assignment is
	 * positioned there is nothing to recover (it reads Redis anyway). */
	if (i->pos == POS_ACTIVE)
		ingest_pos_enter(i, POS_RECOVERING);
	else if (i->pos == POS_ASSIGN_READING)
		ingest_pos_enter(i, POS_ASSIGNING);	/* its reply is stale */
	ingest_drop_batches(i);
	if (ingest_positioned(i))
		consumer_pause_all(i->consumer, true);
	ingest_update_paused(i);
	if (redis_conn_up(i->conn))
		schedule_retry(i);
	if (ingest_revoking(i))
		ingest_revoke_progress(i);
	else if (i->life != LIFE_RUNNING)
		ingest_stop_progress(i);
}

static void
resync_done(int status, const int64_t *offsets, const int64_t *done,
    void *arg)
{
	struct ingest *i = ingest_ticket_use(arg);
	const char *topic;

	if (i == NULL)
		return;
	if (i->pos != POS_RESYNCING) {
		schedule_retry(i);
		return;
	}
	if (status != 0) {
		ingest_pos_enter(i, POS_RECOVERING);
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
		if (done[k] > ps->done_below)
			ps->done_below = done[k];
	}
	ingest_pos_enter(i, POS_ACTIVE);
	backoff_reset(&i->backoff);
	consumer_pause_all(i->consumer, false);
	ingest_update_paused(i);
	log_info("ingest_resumed", "partitions=%zu", i->nparts);
}

static void
resync(struct ingest *i)
{
	struct ticket *t;
	int32_t *pl;

	if (i->pos != POS_RECOVERING || !redis_conn_up(i->conn) ||
	    i->life != LIFE_RUNNING)
		return;
	if (i->nparts == 0) {
		ingest_pos_enter(i, POS_ACTIVE);
		consumer_pause_all(i->consumer, false);
		ingest_update_paused(i);
		return;
	}
	pl = xcalloc(i->nparts, sizeof(int32_t));
	for (size_t k = 0; k < i->nparts; k++)
		pl[k] = i->parts[k].partition;
	ingest_pos_enter(i, POS_RESYNCING);
	t = ingest_ticket_new(i);
	if (redis_apply_read_watermarks(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, pl, i->nparts, resync_done, t) != 0) {
		(void)ingest_ticket_use(t);
		ingest_pos_enter(i, POS_RECOVERING);
		schedule_retry(i);
	}
	free(pl);
}

void
ingest_redis_state(bool up, void *arg)
{
	struct ingest *i = arg;

	if (!up) {
		ingest_fail(i, "redis connection lost");
		return;
	}
	if (i->pos == POS_ASSIGNING)
		read_assign_watermarks(i);
	if (i->pos == POS_RECOVERING)
		resync(i);
	ingest_maybe_flush(i);
}

/* ---- rebalance ---- */

/* Not called without an answer: i may be gone then (shutdown). */
static void
began_known(int32_t partition, int64_t began_ms, void *arg)
{
	struct ingest *i = arg;

	owner_set_began(i->owner, partition, began_ms);
}

/* When each partition's data began (keys_began): read on assignment;
 * noted by the first batch that counts events from a partition, before
 * its watermark is written (same connection, so a stored watermark means
 * a stored start), or as 0 (judge every bucket whole) for a partition
 * consumed before the start was recorded. */
void
ingest_began_note(struct ingest *i, int32_t partition, int64_t began_ms)
{
	if (owner_began_known(i->owner, partition))
		return;
	(void)redis_apply_note_began(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, partition, began_ms, began_known, i);
}

static void
assign_done(int status, const int64_t *offsets, const int64_t *done,
    void *arg)
{
	struct ingest *i = ingest_ticket_use(arg);
	rd_kafka_topic_partition_list_t *l;
	int32_t *pl;

	if (i == NULL || i->pos != POS_ASSIGN_READING)
		return;
	if (status != 0) {
		ingest_pos_enter(i, POS_ASSIGNING);
		schedule_retry(i);
		return;
	}
	l = i->pending_assign;
	i->pending_assign = NULL;
	free(i->parts);
	i->nparts = (size_t)l->cnt;
	i->parts = xcalloc(i->nparts ? i->nparts : 1, sizeof(*i->parts));
	pl = xcalloc(i->nparts ? i->nparts : 1, sizeof(*pl));
	for (int k = 0; k < l->cnt; k++) {
		pl[k] = l->elems[k].partition;
		l->elems[k].offset = offsets[k] >= 0 ? offsets[k] :
		    RD_KAFKA_OFFSET_INVALID;
		i->parts[k].partition = l->elems[k].partition;
		i->parts[k].next_needed = offsets[k];
		i->parts[k].done_below = done[k];
		i->parts[k].assigned_ms = caltime_wall_ms();
		if (offsets[k] >= 0)
			ingest_began_note(i, l->elems[k].partition, 0);
		log_info("ingest_assigned", "partition=%d offset=%" PRId64
		    " from=%s", (int)l->elems[k].partition, offsets[k],
		    offsets[k] >= 0 ? "redis" : "committed");
	}
	owner_assign(i->owner, pl, i->nparts);
	free(pl);
	ingest_pos_enter(i, POS_ACTIVE);
	backoff_reset(&i->backoff);
	consumer_assign(i->consumer, l);
	ingest_update_paused(i);
	rd_kafka_topic_partition_list_destroy(l);
}

static void
read_assign_watermarks(struct ingest *i)
{
	rd_kafka_topic_partition_list_t *l = i->pending_assign;
	int32_t *pl;
	struct ticket *t;

	if (l == NULL || i->pos != POS_ASSIGNING || !redis_conn_up(i->conn))
		return;
	pl = xcalloc(l->cnt ? (size_t)l->cnt : 1, sizeof(int32_t));
	for (int k = 0; k < l->cnt; k++)
		pl[k] = l->elems[k].partition;
	ingest_ticks_restore(i, pl, (size_t)l->cnt);
	/* Same connection: known before the watermarks' answer. */
	(void)redis_apply_read_began(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, pl, (size_t)l->cnt, began_known, i);
	t = ingest_ticket_new(i);
	ingest_pos_enter(i, POS_ASSIGN_READING);
	if (redis_apply_read_watermarks(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, pl, (size_t)l->cnt, assign_done, t) != 0) {
		(void)ingest_ticket_use(t);
		ingest_pos_enter(i, POS_ASSIGNING);
		schedule_retry(i);
	}
	free(pl);
}

void
ingest_on_assign(const rd_kafka_topic_partition_list_t *parts, void *arg)
{
	struct ingest *i = arg;

	if (i->pending_assign != NULL)
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
	i->pending_assign = rd_kafka_topic_partition_list_copy(parts);
	ingest_pos_enter(i, POS_ASSIGNING);
	owner_unassign(i->owner);
	i->epoch++;		/* replies about the old assignment are stale */
	read_assign_watermarks(i);
}

static void
revoke_finish(struct ingest *i)
{
	ingest_discard_cur(i);
	i->cur_dlq = 0;
	i->epoch++;
	ingest_pos_enter(i, POS_UNASSIGNED);
	i->nparts = 0;
	i->nrefused = 0;	/* the next owner finds them refused too */
	owner_unassign(i->owner);
	consumer_unassign(i->consumer);
	ingest_update_paused(i);
}

void
ingest_revoke_progress(struct ingest *i)
{
	if (ingest_dlq_give_up(i)) {
		ingest_abandon(i, "revoked while the dlq holds the batch");
		return;		/* abandon calls again */
	}
	if (ingest_in_flight(i))
		return;		/* batch_complete, fail or abandon call again */
	if (i->cur->nmessages > 0 && i->pos == POS_REVOKING &&
	    redis_conn_up(i->conn)) {
		ingest_maybe_flush(i);
		if (ingest_in_flight(i))
			return;
	}
	revoke_finish(i);
}

void
ingest_on_revoke(const rd_kafka_topic_partition_list_t *parts, bool lost,
    void *arg)
{
	struct ingest *i = arg;

	(void)parts;
	if (i->pos == POS_ASSIGNING || i->pos == POS_ASSIGN_READING) {
		rd_kafka_topic_partition_list_destroy(i->pending_assign);
		i->pending_assign = NULL;
		revoke_finish(i);
		return;
	}
	ingest_pos_enter(i, lost ? POS_REVOKING_LOST : POS_REVOKING);
	ingest_revoke_progress(i);
}

/* ---- catch-up ---- */

/* Partitions whose backlog is read are caught up; the evaluator hears
 * when more reps are owned. From the gauge timer, a lag of CAUGHT_UP_LAG
 * at most (a busy partition may never show none); on the loop turn after
 * a batch of a partition not caught up was applied (read_all), none: at
 * CAUGHT_UP_LAG there, the last events of every backlog would judge their
 * reps again right after the catch-up judged them. */
void
ingest_catch_up(struct ingest *i, bool read_all)
{
	int64_t max_lag = read_all ? 0 : CAUGHT_UP_LAG;
	bool grew = false;

	for (size_t k = 0; k < i->nparts && ingest_positioned(i); k++) {
		struct part_state *ps = &i->parts[k];
		int64_t pl;

		if (owner_caught_up(i->owner, ps->partition))
			continue;
		pl = consumer_partition_lag(i->consumer, ps->partition,
		    ps->next_needed);
		if ((pl >= 0 && pl <= max_lag) ||
		    caltime_wall_ms() - ps->assigned_ms > CATCH_UP_MAX_MS) {
			grew |= owner_set_caught_up(i->owner, ps->partition);
			log_info("partition_caught_up", "partition=%d lag=%lld",
			    (int)ps->partition, (long long)pl);
		}
	}
	if (grew && i->hooks.owned_grew != NULL)
		i->hooks.owned_grew(i->hooks.arg);
}

/* Behind: more of the owned partitions' messages wait to be applied
 * than one full batch; caught up again under half of that, so that a
 * backlog near the bound does not flap. */
void
ingest_backlog_check(struct ingest *i, bool force)
{
	int64_t now = caltime_mono_ms(), lag = 0, bound;
	bool behind;

	if (!force && now - i->backlog_checked_ms < BACKLOG_CHECK_MS)
		return;
	i->backlog_checked_ms = now;
	for (size_t k = 0; k < i->nparts && ingest_positioned(i); k++) {
		int64_t pl = consumer_partition_lag(i->consumer,
		    i->parts[k].partition, i->parts[k].next_needed);

		if (pl > 0)
			lag += pl;
	}
	bound = i->cfg->batch.max_messages;
	behind = i->behind ? lag > bound / 2 : lag > bound;
	if (behind == i->behind)
		return;
	i->behind = behind;
	log_info("ingest_backlog", "behind=%s unapplied=%lld bound=%lld",
	    behind ? "yes" : "no", (long long)lag, (long long)bound);
	if (i->hooks.backlog != NULL)
		i->hooks.backlog(behind, i->hooks.arg);
}
