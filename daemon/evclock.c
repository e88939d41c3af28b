/*
 * evclock.c: the event-clock gate (see evclock.h). Called for every event
 * by the ingest path on the event clock and by the backtest. Pure.
 */
#include "evclock.h"

#include "caltime.h"

void
evclock_init(struct evclock *c, int64_t every_ms)
{
	c->every_ms = every_ms;
	c->started = false;
	c->restored = false;
	c->saved = 0;
	c->done = 0;
}

int64_t
evclock_index(const struct evclock *c, int64_t at_ms)
{
	return caltime_floor_div(at_ms, c->every_ms);
}

int64_t
evclock_at(const struct evclock *c, int64_t idx)
{
	return idx * c->every_ms;
}

bool
evclock_admit(struct evclock *c, int64_t at_ms, int64_t *target)
{
	int64_t idx = evclock_index(c, at_ms);

	if (!c->started) {
		c->started = true;
		/* A restart goes on from the last boundary judged before it,
		 * not from the first event it reads: that one may be older
		 * (a shard's watermark behind has the restart read again from
		 * there, counted already), and judging its boundaries again
		 * would use the later counts Redis holds. Older events go in
		 * as late ones do. */
		if (!c->restored) {
			c->done = idx;
			return true;
		}
		c->done = c->saved;
	}
	if (idx <= c->done)
		return true;
	*target = idx;
	return false;
}

void
evclock_judged(struct evclock *c, int64_t idx)
{
	c->done = idx;
}

void
evclock_restore(struct evclock *c, const int64_t *saved, size_t n)
{
	c->restored = n > 0;
	for (size_t k = 0; k < n; k++)
		if (k == 0 || saved[k] < c->saved)
			c->saved = saved[k];
}
