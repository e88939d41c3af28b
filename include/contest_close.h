#ifndef PACED_CONTEST_CLOSE_H
#define PACED_CONTEST_CLOSE_H

/*
 * The results of ended contests, published once. A timer looks at the
 * config's contests; one whose end plus settle has passed (on the judging
 * clock) is claimed in Redis (its result marker, state pending, with a
 * lease: the board stops moving), its standings read in the same script,
 * and its result message (contest result v1) handed to the sinks: the
 * alerts topic, the Redis stream and every webhook. Once the durable
 * sinks accepted it the marker reads sent, and no member of the group,
 * now or after a restart, sends it again. A claim whose holder died is
 * taken over once its lease is over, with the same standings (the board
 * was frozen by the claim) and so the same message and result_id.
 */

#include <stdint.h>

#include "config.h"

struct event_base;
struct owner;
struct redis_conn;
struct sinks;
struct contest_close;

/* What it reads; all borrowed. The config is read through on every
 * look, so a reload is seen at once. */
struct contest_close_deps {
	struct event_base *base;
	struct redis_conn *conn;
	struct sinks *sinks;
	const struct owner *owner;	/* the clock */
	const struct config *const *cfg;
};

/* Borrows deps' targets; registers the closing script with conn. Returns
 * owned; free with contest_close_free. */
struct contest_close *contest_close_new(const struct contest_close_deps *d);
/* Frees cc; answers still due free what they hold. NULL does nothing. */
void contest_close_free(struct contest_close *cc);

#endif
