#ifndef PACED_PLAN_HISTORY_H
#define PACED_PLAN_HISTORY_H

/*
 * The measured funnel for `paced plan --from-history`: the month counters
 * of a list of reps, summed per KPI, read from Redis with one blocking
 * connection (the command runs no event loop). Key names come from
 * keys.c.
 */

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Adds to totals[k] (cfg->nkpis entries, caller's) the values of every
 * KPI k in the month counters P:{rep:R}:cnt:month:<date> of each rep of
 * reps[0..nreps) (borrowed ids) for the nmonths months that start at
 * local day first_month (a month's first day). A missing key counts 0.
 * Borrows cfg (redis.url, credentials, db, key prefix). Returns 0, or -1
 * with the reason in err (no connection, a Redis error, a value that is
 * not a number).
 */
int plan_history_read(const struct config *cfg, const char *const *reps,
    size_t nreps, int32_t first_month, int nmonths, double *totals,
    char *err, size_t errlen);

struct redisReply;
/* Adds one reply r of key (both borrowed) to totals: the HMGET of a
 * rep's fields (one element per KPI of cfg, in order; nil: none counted);
 * 0, or -1 with the reason in err (an error reply, not an array, a KPI's
 * value not a count). plan_history_read's parser, public for the reply fuzzer. */
int plan_history_add_reply(const struct config *cfg, const char *key,
    const struct redisReply *r, double *totals, char *err, size_t errlen);

#endif
