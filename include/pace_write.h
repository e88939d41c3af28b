#ifndef PACED_PACE_WRITE_H
#define PACED_PACE_WRITE_H

/*
 * The pace figures of a judgement, written for dashboards and the read
 * API: one hash per period bucket with a target, all of them in one
 * script call that nothing waits for (the next judgement rewrites them).
 */

#include "config.h"
#include "redis_conn.h"
#include "roster.h"
#include "scorecard.h"

struct pace_write;

/* Borrows conn (must outlive it); registers the script with it. Returns
 * owned; free with pace_write_free. */
struct pace_write *pace_write_new(struct redis_conn *conn);
/* NULL does nothing. */
void pace_write_free(struct pace_write *w);
/* Writes rr's figures of cards[PERIOD_COUNT] (borrowed for the call). */
void pace_write_send(struct pace_write *w, const struct config *cfg,
    const struct roster_rep *rr, const struct scorecard *cards);

#endif
