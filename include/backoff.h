#ifndef PACED_BACKOFF_H
#define PACED_BACKOFF_H

/*
 * A retry pause that doubles after each failure, from min_ms up to max_ms,
 * and starts again at min_ms after a success: the Redis connection, the
 * ingest's recovery and the webhooks retry with one. Plain data, no
 * allocation; the caller owns the timer it arms.
 */

#include <stdbool.h>

struct event;

struct backoff {
	long min_ms, max_ms;
	long next_ms;		/* the pause the next failure waits */
};

/* Sets the bounds (max_ms below min_ms counts as min_ms) and resets b. */
void backoff_init(struct backoff *b, long min_ms, long max_ms);
/* A success: the next pause is min_ms again. */
void backoff_reset(struct backoff *b);
/* A failure: returns the pause to wait now and doubles the next one, up
 * to max_ms. */
long backoff_next(struct backoff *b);
/* Arms the timer ev (borrowed) for backoff_next(b) ms; when ev is pending
 * already and !restart, leaves it (and b) as they are. */
void backoff_arm(struct backoff *b, struct event *ev, bool restart);

#endif
