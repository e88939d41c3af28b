#ifndef PACED_CONTEST_H
#define PACED_CONTEST_H

/*
 * Contests, the pure part: a contest's state at an instant, who takes
 * part and for which member a rep counts, the standings ranked (a race's
 * finishers first, by when they reached the goal, then everyone by
 * total; ties share a rank as on the leaderboards), and the JSON of the
 * HTTP answers and of the result message (contest result v1). Called by
 * the batch writes (contest_redis.c), the closing of ended contests
 * (contest_close.c) and the HTTP routes (http_contests.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "config.h"

enum contest_state { CONTEST_UPCOMING, CONTEST_RUNNING, CONTEST_ENDED };

/* The version of the result message (README, "Contest result v1"). */
#define CONTEST_RESULT_VERSION	1
/* The standings lines a result message carries at most. */
#define CONTEST_RESULT_LINES	100

/* ct's state at now_ms: upcoming before its first day begins, running
 * until the midnight after its last day (both in its time zone), then
 * ended. */
enum contest_state contest_state_at(const struct config_contest *ct,
    int64_t now_ms);
/* "upcoming" | "running" | "ended"; static. */
const char *contest_state_name(enum contest_state s);
/* True once the result may go out: settle past the end. */
bool contest_due(const struct config_contest *ct, int64_t now_ms);
/* The contest id in cfg, or NULL. Borrows both. */
const struct config_contest *contest_find(const struct config *cfg,
    const char *id);
/* The member (index into ct->members) rep (index into cfg->reps) counts
 * for, or -1 when it takes no part. */
ssize_t contest_member_of_rep(const struct config_contest *ct, size_t rep);
/* Member i's id (a rep or team id); borrowed from cfg. */
const char *contest_member_id(const struct config *cfg,
    const struct config_contest *ct, size_t i);
/* The member index of id (len bytes), or -1; by a scan of the sorted
 * index made by contest_index_new. */
struct contest_index;
struct contest_index *contest_index_new(const struct config *cfg,
    const struct config_contest *ct);
ssize_t contest_index_find(const struct contest_index *x, const char *id,
    size_t len);
void contest_index_free(struct contest_index *x);

/* One member's line of the standings. */
struct contest_line {
	size_t member;		/* index into ct->members */
	double value;		/* its total; 0 without activity */
	bool reached;		/* a race's goal reached */
	int64_t reached_ms;	/* then when (ms since the epoch) */
	size_t rank;		/* 1-based; equal standing shares one */
	bool tied;
};

/*
 * Ranks v (n lines, one per member, caller's) best first. A race: the
 * members that reached the goal first, earliest first, then the others
 * by total; highest: by total. Equal standings share the rank of the
 * first (1, 2, 2, 4) and are ordered by id. Borrows cfg and ct.
 */
void contest_rank(const struct config *cfg, const struct config_contest *ct,
    struct contest_line *v, size_t n);

/* The fields that describe ct (id, name, kind, metric, goal, dates,
 * members, teams, state at now_ms) into o. Borrows all. */
void contest_describe(const struct config *cfg,
    const struct config_contest *ct, int64_t now_ms, cJSON *o);
/* The standings lines v[0..n) (ranked), as an array of at most limit
 * entries. Returns owned; the caller adds it to an object. */
cJSON *contest_standings(const struct config *cfg,
    const struct config_contest *ct, const struct contest_line *v, size_t n,
    size_t limit);
/*
 * The result message of ended contest ct with its ranked standings v:
 * one JSON line (owned, free()), its webhook body (owned) and its one
 * sentence (owned). The same standings always give the same bytes.
 */
void contest_result(const struct config *cfg, const struct config_contest *ct,
    const struct contest_line *v, size_t n, char **json, char **webhook,
    char **sentence);

#endif
