/*
 * ingest_ticks.c: the event clock on the ingest path (clock: event). Every
 * evaluate_every boundary the watermark passes is judged with exactly the
 * events before it applied: the gate (evclock.c) holds back a message past
 * the next boundary, the batches drain, the evaluator (through the
 * ingest's hooks) judges each boundary up to the message's own, and then
 * the message goes in. A boundary whose evaluation failed is judged
 * again, never skipped. The last boundary judged is kept in Redis per
 * partition, so a restart goes on from there: it is written for every
 * assigned partition, and Redis has acknowledged it, before the first
 * event past it goes in. Otherwise a crash after that event was counted
 * would have the restart judge the boundary again with the event's count
 * in Redis. Called from the message path, batch completion and the
 * evaluator's replies.
 */
#include "ingest_int.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>

#include "batch.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_apply.h"
#include "xmalloc.h"

static const char *const ticks_names[] = { "idle", "waiting", "running" };

static void
ticks_enter(struct ingest *i, enum ticks t)
{
	if (i->ticks == t)
		return;
	log_debug("ingest_ticks", "old=%s new=%s done=%" PRId64 " target=%"
	    PRId64, ticks_names[i->ticks], ticks_names[t], i->evclock.done,
	    i->tick_target);
	i->ticks = t;
}

/* Whether boundaries may be judged (or saved) now. */
static bool
ticks_can_go(const struct ingest *i)
{
	return i->hooks.tick != NULL && !ingest_recovering(i) &&
	    i->life == LIFE_RUNNING && !ingest_revoking(i);
}

bool
ingest_ticks_allow(struct ingest *i, int64_t at_ms)
{
	int64_t target;

	if (i->cfg->clock != CLOCK_MODE_EVENT || i->hooks.tick == NULL ||
	    i->evclock.every_ms <= 0)
		return true;
	/* Who owns which rep is known only with the partition count; the
	 * consumer kicks the drain when it arrives. */
	if (owner_partition_count(i->owner) <= 0)
		return false;
	if (i->ticks_unsaved) {
		/* Nothing goes in before the last boundary judged is in
		 * Redis; written here unless a write or a judgement is under
		 * way (a write dropped with a recovery left the state
		 * waiting: this takes it up). */
		if (i->ticks != TICKS_RUNNING && !i->ticks_saving &&
		    ticks_can_go(i))
			ingest_ticks_run(i);
		return false;
	}
	if (evclock_admit(&i->evclock, at_ms, &target))
		return true;
	if (i->ticks != TICKS_IDLE)
		return false;
	i->tick_target = target;
	ticks_enter(i, TICKS_WAITING);
	if (!ingest_in_flight(i) && i->cur->nmessages == 0)
		ingest_ticks_run(i);
	else
		ingest_maybe_flush(i);
	return false;
}

static void
tick_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ingest_ticks_run(arg);
}

static void
tick_done_cb(void *arg, int status)
{
	struct ingest *i = arg;
	struct timeval later = { 0, 200 * 1000 };

	ticks_enter(i, TICKS_WAITING);
	if (status == 0) {
		evclock_judged(&i->evclock, i->evclock.done + 1);
		i->ticks_unsaved = true;
		ingest_ticks_run(i);
		return;
	}
	/* A boundary whose evaluation failed is judged again, never skipped:
	 * on the event clock it would not come back. */
	metrics_inc(i->m.tick_retries);
	event_base_once(i->base, -1, EV_TIMEOUT, tick_retry_cb, i, &later);
}

static void
ticks_saved(int status, void *arg)
{
	struct ingest *i = ingest_ticket_use(arg);
	struct timeval later = { 0, 200 * 1000 };

	if (i == NULL)
		return;		/* dropped meanwhile: written again later */
	i->ticks_saving = false;
	if (status != 0) {
		log_warnx("event_clock_save_failed", "boundary=%" PRId64
		    " retry_ms=200", i->ticks_saving_done);
		event_base_once(i->base, -1, EV_TIMEOUT, tick_retry_cb, i,
		    &later);
		return;
	}
	if (i->ticks_saving_done == i->evclock.done)
		i->ticks_unsaved = false;
	ingest_ticks_run(i);
}

/* Writes the last boundary judged for every assigned partition; true
 * when the write went out (ticks_saved follows). */
static bool
ticks_save(struct ingest *i)
{
	struct ticket *t;
	int32_t *pl;
	int rc;

	if (i->nparts == 0) {
		i->ticks_unsaved = false;	/* nothing to hold back */
		return false;
	}
	pl = xcalloc(i->nparts, sizeof(*pl));
	for (size_t k = 0; k < i->nparts; k++)
		pl[k] = i->parts[k].partition;
	t = ingest_ticket_new(i);
	i->ticks_saving_done = i->evclock.done;
	rc = redis_apply_save_evclock_parts(i->apply, i->cfg,
	    i->cfg->kafka.topic_activity, pl, i->nparts, i->evclock.done,
	    ticks_saved, t);
	free(pl);
	if (rc != 0) {
		(void)ingest_ticket_use(t);
		return false;
	}
	i->ticks_saving = true;
	return true;
}

void
ingest_ticks_run(struct ingest *i)
{
	struct timeval later = { 0, 200 * 1000 };

	if (i->ticks == TICKS_RUNNING || i->ticks_saving)
		return;
	if (i->evclock.done >= i->tick_target || !ticks_can_go(i)) {
		if (i->ticks_unsaved && ticks_can_go(i)) {
			/* Judged up to the target: into Redis first. */
			ticks_enter(i, TICKS_WAITING);
			if (!ticks_save(i) && i->ticks_unsaved)
				event_base_once(i->base, -1, EV_TIMEOUT,
				    tick_retry_cb, i, &later);
			else if (!i->ticks_unsaved)
				ingest_ticks_run(i);
			return;
		}
		ticks_enter(i, TICKS_IDLE);
		consumer_kick(i->consumer);
		return;
	}
	ticks_enter(i, TICKS_RUNNING);
	i->hooks.tick(evclock_at(&i->evclock, i->evclock.done + 1),
	    tick_done_cb, i, i->hooks.arg);
}

/* The boundary judged before the batch's events, per partition, after
 * their watermark (an older value only re-judges). */
void
ingest_ticks_save(struct ingest *i, const struct batch *b)
{
	redis_apply_save_evclock(i->apply, i->cfg, i->cfg->kafka.topic_activity,
	    b, i->evclock.done);
}

/* Not called without an answer: i may be gone then (shutdown). */
static void
ticks_read(int status, const int64_t *ticks, const bool *present, size_t n,
    void *arg)
{
	struct ingest *i = arg;
	int64_t *saved;
	size_t m = 0;

	if (status != 0) {
		evclock_restore(&i->evclock, NULL, 0);
		return;
	}
	saved = xcalloc(n ? n : 1, sizeof(*saved));
	for (size_t k = 0; k < n; k++)
		if (present[k])
			saved[m++] = ticks[k];
	evclock_restore(&i->evclock, saved, m);
	free(saved);
}

void
ingest_ticks_restore(struct ingest *i, const int32_t *partitions, size_t n)
{
	if (i->cfg->clock != CLOCK_MODE_EVENT || i->evclock.started)
		return;
	/* Same connection as the watermarks: this answer comes first. */
	redis_apply_read_evclock(i->apply, i->cfg, i->cfg->kafka.topic_activity,
	    partitions, n, ticks_read, i);
}
