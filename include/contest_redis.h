#ifndef PACED_CONTEST_REDIS_H
#define PACED_CONTEST_REDIS_H

/*
 * Contests in Redis. The writes of an applied batch: from the absolute
 * day values the boards get (struct board_write), one script call per
 * contest the batch feeds keeps each member's absolute day values in the
 * contest's days hash (HSET of absolute values, never an increment) and
 * moves its total on the contest board by what they changed, so a replay
 * changes nothing; a race's member that reaches the goal gets the time in
 * the reached hash (HSETNX: the first time stays). Once a contest's
 * result is claimed its board no longer moves. Also the closing script
 * and the reading of a board into standings lines.
 */

#include <stddef.h>
#include <stdint.h>

#include "board_redis.h"
#include "config.h"
#include "contest.h"
#include "redis_conn.h"

struct redisReply;

/* The write script and the closing script, for redis_conn_add_script.
 * Static. */
const char *contest_redis_script(void);
const char *contest_redis_close_script(void);
/*
 * Sends the contest calls for n writes w (borrowed): one per contest of
 * cfg some write feeds (a day value of its KPI, or of a KPI its members'
 * activity score weighs, on one of its days, of a rep taking part), with
 * the script registered as sha; now_ms is the time a race's finish is
 * recorded with. Each reply goes to cb(reply, arg). Returns the calls
 * sent; *failed is set when one could not be sent.
 */
size_t contest_redis_write(struct redis_conn *conn, int sha,
    const struct config *cfg, const struct board_write *w, size_t n,
    int64_t now_ms, redis_reply_cb *cb, void *arg, int *failed);
/*
 * Standings lines, one per member of ct (v: ct->nmembers, caller's), from
 * a reply to ZRANGE board 0 -1 WITHSCORES and one to HGETALL reached
 * (NULL: none); members missing from Redis have 0. Ids Redis holds that
 * are no longer members are left out. 0, or -1 when a reply has not
 * that shape. Borrows all; not ranked.
 */
int contest_redis_lines(const struct config *cfg,
    const struct config_contest *ct, const struct redisReply *board,
    const struct redisReply *reached, struct contest_line *v);

#endif
