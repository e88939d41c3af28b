#ifndef PACED_REPLY_H
#define PACED_REPLY_H

/*
 * The Redis replies the daemon reads, checked for shape before any field
 * is used: a reply of another shape than the command gives (a wrong type
 * at a key, a changed script, a proxy in between) is an error, never a
 * read of a field that is not there. Pure: no connection. The callbacks
 * that receive replies call these; tests/fuzz/fuzz_reply.c feeds them
 * any reply tree.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redisReply;
struct config;
struct eval_state;

/* The error of r: NULL gives "no reply ...", an error reply its text;
 * any other reply NULL. */
const char *reply_error_text(const struct redisReply *r);
/* True when r is an error reply starting NOSCRIPT. */
bool reply_noscript(const struct redisReply *r);
/* 0 when r is an HGETALL answer: an array of an even number of
 * strings; else -1. */
int reply_hash(const struct redisReply *r);
/* A rep's counters in one bucket (HMGET of its fields, keys_counter_field,
 * of cfg's KPIs in order): each string into actual[k]; nil (nothing
 * counted) leaves actual[k] as it was. -1 when r is not an array of
 * cfg->nkpis strings or nils (nothing written then). */
int reply_counter_values(const struct config *cfg,
    const struct redisReply *r, double *actual);
/* A rep's alert states (HGETALL of its alerts hash): "<kpi>:<period>"
 * fields into prev[k * PERIOD_COUNT + p] (an unreadable one is logged and
 * left not present), the field named evaluated_at into *last_at. -1 when
 * r is not a hash. */
int reply_eval_states(const struct config *cfg, const struct redisReply *r,
    const char *evaluated_at, struct eval_state *prev, int64_t *last_at);
/* HMGET of n integers: out[i] for each string element (present[i] true
 * when present is not NULL); other elements (nil) leave out[i] as it
 * was. -1 when r is not an array of n elements. */
int reply_int64s(const struct redisReply *r, size_t n, int64_t *out,
    bool *present);
/* The shard script's answer: counted and duplicates (integers), the
 * positions of the events it refused (an array of integers), the team
 * fields left out (an integer), then, when it refused none, the n values
 * it wrote (strings, integers or nil). 0 when r has that shape, else -1. */
int reply_shard_script(const struct redisReply *r, size_t n);
/* SCRIPT LOAD's answer: 40 hex digits into sha (41 bytes); else -1. */
int reply_sha1(const struct redisReply *r, char *sha);

#endif
