#ifndef PACED_REDIS_CLUSTER_H
#define PACED_REDIS_CLUSTER_H

/*
 * Redis Cluster under the connection API of redis_conn.h: the slot map
 * (CLUSTER SLOTS), one redis_conn per primary on the one event base,
 * commands routed by the CRC16 of their key's hash tag, MOVED and ASK
 * followed, TRYAGAIN and CLUSTERDOWN retried with backoff, scripts loaded
 * on every node (and again on NOSCRIPT). hiredis 0.14 has no cluster
 * support, and Debian ships no cluster client: the routing is here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "redis_conn.h"

struct event_base;
struct redisReply;

#define REDIS_CLUSTER_SLOTS	16384
#define REDIS_CLUSTER_ANY	(-1)	/* a command with no key */
#define REDIS_CLUSTER_CROSSSLOT	(-2)	/* keys of several slots */

/* CRC16-CCITT (XMODEM), the one Redis Cluster hashes keys with. Borrows
 * buf. */
uint16_t redis_cluster_crc16(const char *buf, size_t len);
/* The slot of key[0..len) (borrowed): the CRC16 of its hash tag (the text
 * between the first '{' and the next '}', when not empty), else of the
 * whole key, modulo 16384. */
int redis_cluster_key_slot(const char *key, size_t len);
/* The slot a command (borrowed) must go to: the slot of its keys
 * (EVAL/EVALSHA/FCALL: the numkeys keys; DEL, EXISTS, MGET...: every
 * argument; MSET: every other one; else argv[1]), REDIS_CLUSTER_ANY for a
 * command with no key (PING, INFO, PUBLISH, SCRIPT...), or
 * REDIS_CLUSTER_CROSSSLOT when its keys hash to several slots. argvlen
 * may be NULL (strlen). */
int redis_cluster_command_slot(int argc, const char **argv,
    const size_t *argvlen);
/* Parses a redirection error (borrowed), "MOVED <slot> <host>:<port>" or
 * "ASK ...", into *ask, *slot, host[0..hostlen) and *port. 0 or -1 (not a
 * redirection). */
int redis_cluster_redirect(const char *err, bool *ask, int *slot, char *host,
    size_t hostlen, int *port);

/* One slot range of the map and the address of its primary. */
struct redis_cluster_range {
	int	 first, last;
	char	 host[256];
	int	 port;
};
/* Parses a CLUSTER SLOTS reply (borrowed); an empty host in it means the
 * node asked, asked_host (borrowed). Returns 0 with *out owned (free()) and
 * *n ranges, or -1 with the reason in err. */
int redis_cluster_parse_slots(const struct redisReply *r,
    const char *asked_host, struct redis_cluster_range **out, size_t *n,
    char *err, size_t errlen);

/* Checks that the key layout of keys.c shards: each script call's keys
 * (one counter shard's; one rep's pace and alert keys) in one slot, and
 * different shards and reps in different slots. Borrows cfg. 0, or -1
 * with the reason in err. */
int redis_cluster_check_layout(const struct config *cfg, char *err,
    size_t errlen);

/*
 * Returns an owned connection (free with redis_conn_free) that routes
 * over the cluster reached through seeds[0..nseeds) (borrowed, copied);
 * node connections take their credentials, timeout and name from o
 * (borrowed; host, port, unix_path and db unused). cb is told when every
 * slot has a connected primary (up) and when one no longer has (!up).
 */
struct redis_conn *redis_cluster_conn_new(struct event_base *base,
    const struct redis_conn_opts *o, const struct config_redis_node *seeds,
    size_t nseeds, redis_state_cb *cb, void *arg);

#endif
