/*
 * ingest_ticks.c: the event clock on the ingest path (clock: event). Every
 * evaluate_every boundary the watermark passes is judged with exactly the
 * events before it applied: the gate (evclock.c) holds back a message past
 * the next boundary, the batches drain, the evaluator (through the
 * ingest's hooks) judges each boundary up to the message's own, and then
 * the message goes in. A boundary whose evaluation failed is judged
 * again, never skipped. The last boundary judged is kept in Redis per
 * partition, so a restart goes on from there. Called from the message
 * path, batch completion and the evaluator's replies.
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
		ingest_ticks_run(i);
		return;
	}
	/* A boundary whose evaluation failed is judged again, never skipped:
	 * on the event clock it would not come back. */
	metrics_inc(i->m.tick_retries);
	event_base_once(i->base, -1, EV_TIMEOUT, tick_retry_cb, i, &later);
}

void
ingest_ticks_run(struct ingest *i)
{
	if (i->ticks == TICKS_RUNNING)
		return;
	if (i->evclock.done >= i->tick_target || i->hooks.tick == NULL ||
	    ingest_recovering(i) || i->life != LIFE_RUNNING ||
	    ingest_revoking(i)) {
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
