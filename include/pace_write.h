#ifndef PACED_PACE_WRITE_H
#define PACED_PACE_WRITE_H

/*
 * The pace figures of a judgement, written for dashboards and the read
 * API: one hash per period bucket with a target, all of them in one
 * script call that nothing waits for (a later judgement with other
 * figures rewrites them).
 */

#include <stdbool.h>
#include <stdint.h>

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
/*
 * Writes rr's figures of cards[PERIOD_COUNT] (borrowed for the call).
 * last (the caller's, NULL: none) holds a sum of the rep's last figures
 * written (0: none known): figures with the same sum are not written
 * again (Redis holds them, unless a write failed since: every failure
 * changes every sum); it gets the new sum. Returns true when a write was
 * sent.
 */
bool pace_write_send(struct pace_write *w, const struct config *cfg,
    const struct roster_rep *rr, const struct scorecard *cards,
    uint64_t *last);

#endif
