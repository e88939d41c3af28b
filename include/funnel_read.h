#ifndef PACED_FUNNEL_READ_H
#define PACED_FUNNEL_READ_H

/*
 * Reading the funnel's counts of a set of reps: their day counters over a
 * rolling window and, optionally, their counters of one period bucket,
 * one HMGET per counter shard and day among them, each naming the fields
 * (funnel KPIs, then revenue) of that shard's reps. The caller sends the
 * commands on its own connection (http_funnel.c through the API's read
 * gate, digest_run.c on its Redis connection) and hands each reply back;
 * the counts add up in the reps' entries. No I/O here.
 *
 * Cost: for reps whose window ends on one day, at most shards x window
 * days commands (and shards x bucket start days more with a bucket),
 * whatever the number of reps.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "caltime.h"
#include "config.h"
#include "funnel.h"

struct redis_argv;

/* One rep whose counts are read. */
struct funnel_read_rep {
	const char *rep_id;		/* borrowed from the config */
	int shard;
	int32_t last_day;		/* the window's last local day */
	int32_t bucket_day;		/* the bucket's first day (with one) */
	size_t nk;			/* fields read: funnel, then revenue */
	size_t kidx[FUNNEL_STEPS_MAX + 1];
	struct funnel_counts win, cur;	/* the window's, the bucket's */
};

struct funnel_read;

/* One command of a read: a shard's counter hash of one day or bucket. */
struct funnel_read_cmd {
	struct funnel_read *fr;
	void *arg;			/* the caller's */
	bool bucket;			/* the bucket, else a window day */
	int32_t day;
	int shard;
	size_t *reps;			/* indices into fr->reps */
	size_t nreps, cap;
};

struct funnel_read {
	const struct config *cfg;	/* borrowed */
	struct funnel_read_rep *reps;	/* owned */
	size_t nreps, capreps;
	int32_t window_days;
	bool with_bucket;
	enum period period;		/* of the bucket */
	struct funnel_read_cmd *cmds;	/* owned; made by funnel_read_plan */
	size_t ncmds;
};

/* Empties fr for reps of cfg (borrowed) over window_days days and, with
 * with_bucket, the bucket of period p. fr is the caller's (zeroed or
 * emptied before); funnel_read_clear frees what it holds. */
void funnel_read_init(struct funnel_read *fr, const struct config *cfg,
    int32_t window_days, bool with_bucket, enum period p);
/* Adds rep rep_id (borrowed) of role (a role with a funnel); returns its
 * entry (valid until the next add). */
struct funnel_read_rep *funnel_read_add(struct funnel_read *fr,
    const struct config_role *role, const char *rep_id, int32_t last_day,
    int32_t bucket_day);
/* Plans the commands of fr's reps; each command's arg is set to arg. */
void funnel_read_plan(struct funnel_read *fr, void *arg);
/* Fills v (reset first) with command c's HMGET. */
void funnel_read_argv(const struct funnel_read_cmd *c, struct redis_argv *v);
/* Adds the reply r of command c (borrowed, an array) to its reps'
 * counts. */
void funnel_read_take(struct funnel_read_cmd *c, const redisReply *r);
/* Frees what fr holds (its reps and commands); fr may be reused after
 * funnel_read_init. */
void funnel_read_clear(struct funnel_read *fr);

#endif
