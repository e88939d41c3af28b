#ifndef PACED_BOARD_REDIS_H
#define PACED_BOARD_REDIS_H

/*
 * The board script and its calls: each rep's absolute value of each KPI
 * in each bucket, as the shard script answered it, goes to the boards of
 * the rep's scopes (board.h) with one script call per board key (ZADD GT,
 * expiry set when the key first appears, rank moves published when someone
 * listens). Absolute scores, so a replay or a repeated batch leaves every
 * board as it was. The daemon coalesces the values first (board_flush.h).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"
#include "redis_conn.h"
#include "roster.h"

/* One rep's absolute value of one KPI in one bucket; all borrowed. */
struct board_write {
	const struct roster_rep *rep;
	size_t kpi;
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	const char *value;	/* as Redis answered it: value_len bytes */
	size_t value_len;
};

/* The board script, for redis_conn_add_script. Static. */
const char *board_redis_script(void);
/*
 * Empties args (borrowed) and fills it with the opening of one board
 * script call (script index sha on conn) on board key (borrowed) of scope
 * (borrowed), kpi, period and start_day: the (value, rep) pairs follow.
 * always: publish rank moves without asking PUBSUB NUMSUB first.
 */
void board_redis_call_open(struct redis_argv *args, struct redis_conn *conn,
    int sha, const struct config *cfg, const char *key, const char *scope,
    size_t kpi, enum period period, int32_t start_day, int64_t expire_at,
    bool always);
/*
 * Sends the calls for n writes (borrowed) with the script registered as
 * sha; each call's reply goes to cb(reply, arg). Returns the number of
 * calls sent; *failed is set when a call could not be sent.
 */
size_t board_redis_write(struct redis_conn *conn, int sha,
    const struct config *cfg, const struct board_write *w, size_t n,
    redis_reply_cb *cb, void *arg, int *failed);

#endif
