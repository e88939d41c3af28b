/*
 * changes.h: the messages of the change stream (README "Change stream"):
 * rank moves on a leaderboard and pace status changes, published on the
 * channel keys_changes_channel() names.
 */
#ifndef PACED_CHANGES_H
#define PACED_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"
#include "roster.h"
#include "scorecard.h"

struct redis_conn;
struct changes;

#define CHANGES_VERSION		1
/* "<instance>-<seq>": 16 hex digits, '-', up to 20 digits, NUL. */
#define CHANGES_ID_SIZE		40

/* The next message id of this process: the instance (fixed at the first
 * call, from the wall clock and the pid) and a sequence number that only
 * grows. */
void changes_next_id(char *buf, size_t len);
/* True when s has the form of a message id. */
int changes_id_valid(const char *s);

/* The opening of a rank message (owned): a JSON object without its
 * closing brace, to which the board script adds "moves". */
char *changes_rank_head(const char *scope, const char *kpi, enum period p,
    int32_t start_day);

/* Last pace status per (rep, KPI, period), to see what changed. */
struct changes *changes_new(void);
void changes_free(struct changes *c);
/*
 * Compares the statuses of an evaluation (cards: one per period, for rr)
 * with the last ones this process saw and PUBLISHes one message per
 * change on conn. The first evaluation of a (rep, KPI, period) here sets
 * the baseline and publishes nothing. Returns the messages sent.
 */
size_t changes_status(struct changes *c, struct redis_conn *conn,
    const struct config *cfg, const struct roster_rep *rr,
    const struct scorecard *cards);

#endif
