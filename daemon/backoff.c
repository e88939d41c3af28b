/*
 * backoff.c: doubling retry pauses (see backoff.h). Called by whoever
 * retries, on the loop thread.
 */
#include "backoff.h"

#include <event2/event.h>

void
backoff_init(struct backoff *b, long min_ms, long max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms < min_ms ? min_ms : max_ms;
	b->next_ms = min_ms;
}

void
backoff_reset(struct backoff *b)
{
	b->next_ms = b->min_ms;
}

long
backoff_next(struct backoff *b)
{
	long delay = b->next_ms;

	b->next_ms = b->next_ms > b->max_ms / 2 ? b->max_ms : b->next_ms * 2;
	return delay;
}

void
backoff_arm(struct backoff *b, struct event *ev, bool restart)
{
	struct timeval tv;
	long ms;

	if (!restart && evtimer_pending(ev, NULL))
		return;
	ms = backoff_next(b);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}
