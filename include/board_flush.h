#ifndef PACED_BOARD_FLUSH_H
#define PACED_BOARD_FLUSH_H

/*
 * The coalesced board writer: the leaderboard values of applied batches
 * are merged in memory (per rep, KPI and bucket, the highest value: boards
 * hold absolute scores written with ZADD GT, so keeping the maximum is what
 * Redis would keep) and written on a timer, every leaderboards.flush_every,
 * at most BOARD_FLUSH_MAX values a flush. Nobody subscribed to the change
 * stream: one pipelined ZADD GT per board, and an EXPIREAT the first time
 * the writer meets a board; someone subscribed (or Redis Cluster): the
 * board script, which publishes rank moves (board_redis.h). A board
 * whose write fails keeps its values, merged with the newer ones, for the
 * next tick.
 */

#include <stdbool.h>
#include <stddef.h>

#include "board_redis.h"
#include "config.h"
#include "redis_conn.h"

struct event_base;
struct board_flush;

/* The values one flush sends at most; the rest go on the next tick. */
#define BOARD_FLUSH_MAX	10000

typedef void board_flush_done_cb(void *arg);

/* Borrows base, conn and cfg (*cfg is the config in force, read at each
 * flush); registers the board script with conn and arms the timer.
 * Returns owned; free with board_flush_free. */
struct board_flush *board_flush_new(struct event_base *base,
    struct redis_conn *conn, const struct config *const *cfg);
/* Frees f and every value still waiting (lost from the boards: see
 * README, Leaderboards). A flush in flight is forgotten: its replies
 * find f gone. NULL does nothing. */
void board_flush_free(struct board_flush *f);
/* Merges n writes (borrowed; their values are copied) of a batch applied
 * under cfg (borrowed) into the values waiting. */
void board_flush_add(struct board_flush *f, const struct config *cfg,
    const struct board_write *w, size_t n);
/* A reload is in force: the reps' boards are worked out again (a rep
 * moved to another team goes to that team's boards). */
void board_flush_reloaded(struct board_flush *f);
/* The main connection went down or came up: a Redis that came back may
 * have lost keys, so every board gets its expiry set again. */
void board_flush_redis_state(struct board_flush *f, bool up);
/* The final flush of a graceful stop: flushes at once and again until
 * nothing waits, then calls cb(arg) once. Gives up (the values left are
 * logged as dropped) when Redis is not connected or three flushes fail.
 * cb may run before this returns. */
void board_flush_stop(struct board_flush *f, board_flush_done_cb *cb,
    void *arg);
/* Values waiting or in flight. */
size_t board_flush_pending(const struct board_flush *f);
/* Sets the values a flush sends at most (tests; default BOARD_FLUSH_MAX). */
void board_flush_set_max(struct board_flush *f, size_t max);
/* Flushes now if nothing is in flight (tests, benches): as a tick. */
void board_flush_now(struct board_flush *f);

#endif
