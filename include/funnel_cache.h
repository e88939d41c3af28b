#ifndef PACED_FUNNEL_CACHE_H
#define PACED_FUNNEL_CACHE_H

/*
 * The window conversion rates the scorecard snapshots' forecast uses,
 * kept in memory. Per team x role with a funnel that a snapshot asked
 * for (a group), the sums of its reps' day counters over the
 * funnel.window full local days before the team's current day (the team
 * rates), and each of its reps' own. A group is read again at most once
 * per local day of its team: the first funnel_cache_want of a later day
 * makes it due; until that read is in, the previous day's figures serve.
 *
 * Reads go through funnel_read.c on the caller's Redis connection, one
 * chunk of FUNNEL_CACHE_CHUNK reps at a time (one chunk in flight, the
 * next on a later turn of the loop): per chunk at most redis.shards x
 * window days HMGETs for reps of one zone (a day more per further zone
 * offset). A failed chunk drops the pass; it is tried again
 * FUNNEL_CACHE_RETRY_MS later. A pass that is in is written to Redis on
 * the same connection (README, "Redis keys": keys_funnel_team of each of
 * its groups, keys_funnel_rep of each of its reps; HSET then EXPIREAT,
 * FUNNEL_CACHE_CHUNK keys a turn of the loop, replies only counted when
 * they fail) before the next pass starts. Memory: two funnel_counts per
 * rep of the roster and per team x role, whatever is wanted.
 *
 * The pass can also be driven by hand (no base or connection: the unit
 * tests): funnel_cache_chunk fills a read, funnel_cache_chunk_done takes
 * it back.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "funnel.h"
#include "funnel_read.h"
#include "roster.h"

struct event_base;
struct redis_conn;
struct funnel_cache;

#define FUNNEL_CACHE_CHUNK	200
#define FUNNEL_CACHE_RETRY_MS	30000

/* What a rep's forecast takes from the cache. */
struct funnel_cache_rates {
	struct funnel_conv conv[FUNNEL_STEPS_MAX];	/* nfunnel - 1 */
	struct funnel_value deal_size;	/* the rep's, else its team's */
	int32_t window_to;		/* the window's last local day */
};

/* Borrows base and conn (both NULL: driven by hand) and the config and
 * roster read through cfg and roster. Returns owned; free with
 * funnel_cache_free. */
struct funnel_cache *funnel_cache_new(struct event_base *base,
    struct redis_conn *conn, const struct config *const *cfg,
    const struct roster *const *roster);
/* Frees fc; replies still owed find it gone. NULL does nothing. */
void funnel_cache_free(struct funnel_cache *fc);
/* rr (borrowed, its role with a funnel) is snapshot at at_ms: its group
 * is wanted, and due when its figures are older than the team's local
 * day of at_ms. */
void funnel_cache_want(struct funnel_cache *fc, const struct roster_rep *rr,
    int64_t at_ms);
/* Fills out (caller's) with rr's rates (funnel_rep_conversions against
 * its team's) and returns true, or false while they are not known. */
bool funnel_cache_rates(const struct funnel_cache *fc,
    const struct roster_rep *rr, struct funnel_cache_rates *out);
/* The config or roster was swapped: everything known is forgotten. */
void funnel_cache_reconfigured(struct funnel_cache *fc);

/* Driving a pass by hand. Starts a pass if none is under way and a
 * group is due, and fills rd (emptied first; the caller's) with its next
 * chunk planned; returns the chunk's number of reps (0: nothing to
 * read). */
size_t funnel_cache_chunk(struct funnel_cache *fc, struct funnel_read *rd);
/* The chunk in rd (borrowed; its replies taken) is read (ok) or failed;
 * the last chunk of a pass makes its groups' figures current. */
void funnel_cache_chunk_done(struct funnel_cache *fc,
    const struct funnel_read *rd, bool ok);

#endif
