/*
 * redis_cluster.c: Redis Cluster routing under redis_conn.h's API.
 *
 * A routed redis_conn (redis_conn_new_routed) hands each command here.
 * The slot of its keys picks the primary from the slot map, read with
 * CLUSTER SLOTS from any connected node (a seed at first); each primary
 * has one redis_conn of its own (connect, handshake, the scripts, the
 * watchdog and backoff are that module's), all on the one event base.
 * Each command is copied so that it can be sent again: after MOVED (the
 * slot's new owner noted at once, the whole map read again soon), after
 * ASK (ASKING then the command, on the named node, once), after TRYAGAIN
 * or CLUSTERDOWN or while the slot's primary is not connected (a doubling
 * pause, bounded by redis.command_timeout), after NOSCRIPT (SCRIPT LOAD on
 * that node, then the call again, once). A NULL reply (connection lost,
 * command timed out) is handed on as it is: the outcome is unknown, and
 * only the caller knows whether a retry is safe.
 *
 * The connection is up while every slot has a connected primary: callers
 * (the ingest) pause and re-read their watermarks when it goes down, as
 * they do when a single Redis goes away. A lost node or a redirection asks
 * for a new map; a tick reads it until it covers every slot again, and
 * then every 30 s. Called by the loop only: node state callbacks, replies,
 * the tick and retry timers.
 */
#include "redis_cluster.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backoff.h"
#include "caltime.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define CL_MAX_SCRIPTS		8
#define CL_MAX_REDIRECTS	8
#define CL_RETRY_MIN_MS		20
#define CL_RETRY_MAX_MS		1000
#define CL_TICK_MS		100
#define CL_REFRESH_MIN_MS	100
#define CL_REFRESH_MAX_MS	2000
#define CL_REFRESH_IDLE_MS	30000

/* ---- pure: hashing, keys of a command, replies ---- */

uint16_t
redis_cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) :
			    (uint16_t)(crc << 1);
	}
	return crc;
}

int
redis_cluster_key_slot(const char *key, size_t len)
{
	size_t s, e;

	for (s = 0; s < len && key[s] != '{'; s++)
		;
	if (s < len) {
		for (e = s + 1; e < len && key[e] != '}'; e++)
			;
		if (e < len && e > s + 1)
			return redis_cluster_crc16(key + s + 1, e - s - 1) &
			    (REDIS_CLUSTER_SLOTS - 1);
	}
	return redis_cluster_crc16(key, len) & (REDIS_CLUSTER_SLOTS - 1);
}

static size_t
arg_len(const char **argv, const size_t *argvlen, int i)
{
	return argvlen != NULL ? argvlen[i] : strlen(argv[i]);
}

static bool
is_cmd(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static bool
is_one_of(const char *s, size_t len, const char *const *names)
{
	for (; *names != NULL; names++)
		if (is_cmd(s, len, *names))
			return true;
	return false;
}

/* Folds the slot of key i into *slot; false when it differs. */
static bool
fold_slot(int *slot, const char **argv, const size_t *argvlen, int i)
{
	int s = redis_cluster_key_slot(argv[i], arg_len(argv, argvlen, i));

	if (*slot == REDIS_CLUSTER_ANY)
		*slot = s;
	return *slot == s;
}

int
redis_cluster_command_slot(int argc, const char **argv,
    const size_t *argvlen)
{
	static const char *const keyless[] = { "PING", "INFO", "PUBLISH",
	    "SCRIPT", "CLUSTER", "AUTH", "SELECT", "ECHO", "TIME", "HELLO",
	    "CLIENT", "COMMAND", "CONFIG", "FUNCTION", "ASKING", "READONLY",
	    "READWRITE", "DBSIZE", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE",
	    "PUNSUBSCRIBE", "WAIT", "SCAN", "KEYS", "RANDOMKEY", "FLUSHALL",
	    "FLUSHDB", "LASTSAVE", "ROLE", NULL };
	static const char *const scripts[] = { "EVAL", "EVALSHA", "EVAL_RO",
	    "EVALSHA_RO", "FCALL", "FCALL_RO", NULL };
	static const char *const all_keys[] = { "DEL", "UNLINK", "EXISTS",
	    "MGET", "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF", "PFCOUNT",
	    "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", NULL };
	static const char *const two_keys[] = { "RENAME", "RENAMENX", "SMOVE",
	    "RPOPLPUSH", "LMOVE", "COPY", NULL };
	int slot = REDIS_CLUSTER_ANY, first = 1, last = 1, step = 1;
	size_t len;

	if (argc < 1)
		return REDIS_CLUSTER_ANY;
	len = arg_len(argv, argvlen, 0);
	if (is_one_of(argv[0], len, keyless))
		return REDIS_CLUSTER_ANY;
	if (is_one_of(argv[0], len, scripts)) {
		char buf[16];
		size_t nl;
		long nk;
		char *end;

		if (argc < 3 || (nl = arg_len(argv, argvlen, 2)) == 0 ||
		    nl >= sizeof(buf))
			return REDIS_CLUSTER_ANY;
		memcpy(buf, argv[2], nl);
		buf[nl] = '\0';
		nk = strtol(buf, &end, 10);
		if (*end != '\0' || nk <= 0 || nk > argc - 3)
			return REDIS_CLUSTER_ANY;	/* Redis answers it */
		first = 3;
		last = 2 + (int)nk;
	} else if (is_one_of(argv[0], len, all_keys)) {
		last = argc - 1;
	} else if (is_cmd(argv[0], len, "MSET") ||
	    is_cmd(argv[0], len, "MSETNX")) {
		last = argc - 1;
		step = 2;
	} else if (is_one_of(argv[0], len, two_keys)) {
		last = argc > 2 ? 2 : 1;
	}
	if (argc <= first)
		return REDIS_CLUSTER_ANY;
	if (last > argc - 1)
		last = argc - 1;
	for (int i = first; i <= last; i += step)
		if (!fold_slot(&slot, argv, argvlen, i))
			return REDIS_CLUSTER_CROSSSLOT;
	return slot;
}

int
redis_cluster_redirect(const char *err, bool *ask, int *slot, char *host,
    size_t hostlen, int *port)
{
	const char *p, *colon;
	char *end;
	long s, pt;

	if (strncmp(err, "MOVED ", 6) == 0) {
		*ask = false;
		p = err + 6;
	} else if (strncmp(err, "ASK ", 4) == 0) {
		*ask = true;
		p = err + 4;
	} else
		return -1;
	s = strtol(p, &end, 10);
	if (end == p || *end != ' ' || s < 0 || s >= REDIS_CLUSTER_SLOTS)
		return -1;
	p = end + 1;
	/* host:port, the host possibly an IPv6 address: the last colon. */
	if ((colon = strrchr(p, ':')) == NULL || colon == p ||
	    (size_t)(colon - p) >= hostlen)
		return -1;
	pt = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || (*end != '\0' && *end != ' ') || pt < 1 ||
	    pt > 65535)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*slot = (int)s;
	*port = (int)pt;
	return 0;
}

int
redis_cluster_parse_slots(const struct redisReply *r, const char *asked_host,
    struct redis_cluster_range **out, size_t *n, char *err, size_t errlen)
{
	struct redis_cluster_range *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "CLUSTER SLOTS: %s", r != NULL &&
		    r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
		return -1;
	}
	v = xcalloc(r->elements ? r->elements : 1, sizeof(*v));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *node;
		const char *h;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    (node = e->element[2])->type != REDIS_REPLY_ARRAY ||
		    node->elements < 2 ||
		    node->element[0]->type != REDIS_REPLY_STRING ||
		    node->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[0]->integer < 0 ||
		    e->element[1]->integer >= REDIS_CLUSTER_SLOTS ||
		    e->element[0]->integer > e->element[1]->integer ||
		    node->element[1]->integer < 1 ||
		    node->element[1]->integer > 65535) {
			snprintf(err, errlen, "CLUSTER SLOTS: range %zu has an "
			    "unexpected shape", i);
			free(v);
			return -1;
		}
		h = node->element[0]->str;
		if (strcmp(h, "?") == 0)
			continue;	/* endpoint unknown to that node */
		if (*h == '\0')
			h = asked_host;
		if (strlen(h) >= sizeof(v[k].host)) {
			snprintf(err, errlen, "CLUSTER SLOTS: host name too "
			    "long");
			free(v);
			return -1;
		}
		v[k].first = (int)e->element[0]->integer;
		v[k].last = (int)e->element[1]->integer;
		snprintf(v[k].host, sizeof(v[k].host), "%s", h);
		v[k].port = (int)node->element[1]->integer;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The slot of an owned key (freed). */
static int
take_slot(char *key)
{
	int s = redis_cluster_key_slot(key, strlen(key));

	free(key);
	return s;
}

int
redis_cluster_check_layout(const struct config *cfg, char *err,
    size_t errlen)
{
	const char *rep = cfg->nreps > 0 ? cfg->reps[0].id : "r001";
	int32_t day = 20000;	/* any day: tags do not depend on it */
	int shard = keys_shard_of(cfg, rep), s, r, other = -1;

	/* One shard call: its dedupe sets, counters and team hashes. */
	s = take_slot(keys_shard_seen(cfg, shard, day));
	for (int p = 0; p < PERIOD_COUNT; p++)
		if (take_slot(keys_shard_counters(cfg, shard, (enum period)p,
		    day)) != s || take_slot(keys_shard_teams(cfg, shard,
		    (enum period)p, day)) != s) {
			snprintf(err, errlen, "the keys of counter shard %d "
			    "hash to several slots: one script call would span "
			    "slots", shard);
			return -1;
		}
	/* One pace call: the rep's pace hashes, with its alert states. */
	r = take_slot(keys_rep_alerts(cfg, rep));
	for (int p = 0; p < PERIOD_COUNT; p++)
		if (take_slot(keys_rep_pace(cfg, rep, (enum period)p, day)) !=
		    r) {
			snprintf(err, errlen, "the pace keys of rep %s hash to "
			    "several slots: one script call would span slots",
			    rep);
			return -1;
		}
	/* One contest call: its board, days, finishes and result marker. */
	for (size_t i = 0; i < cfg->ncontests; i++) {
		const char *id = cfg->contests[i].id;
		int c = take_slot(keys_contest_board(cfg, id));

		if (take_slot(keys_contest_days(cfg, id)) != c ||
		    take_slot(keys_contest_reached(cfg, id)) != c ||
		    take_slot(keys_contest_result(cfg, id)) != c) {
			snprintf(err, errlen, "the keys of contest %s hash to "
			    "several slots: one script call would span slots",
			    id);
			return -1;
		}
	}
	/* Shards, and reps, must spread over slots, or one primary holds
	 * them all. */
	for (int i = 0; i < cfg->redis.shards && i < 256 && other == -1; i++) {
		int o = take_slot(keys_shard_seen(cfg, i, day));

		if (o != s)
			other = o;
	}
	if (other == -1) {
		snprintf(err, errlen, "every counter shard's keys hash to one "
		    "slot (redis.shards is %d): the layout cannot shard; give "
		    "redis.shards at least a few times the number of primaries",
		    cfg->redis.shards);
		return -1;
	}
	other = -1;
	for (int i = 0; i < 64 && other == -1; i++) {
		char id[16];
		int o;

		snprintf(id, sizeof(id), "shard-%d", i);
		if ((o = take_slot(keys_rep_alerts(cfg, id))) != r)
			other = o;
	}
	if (other == -1) {
		snprintf(err, errlen, "every rep's keys hash to one slot: the "
		    "layout cannot shard");
		return -1;
	}
	return 0;
}

/* ---- the router ---- */

struct node {
	struct redis_cluster *cl;
	char *host;
	int port;
	struct redis_conn *conn;
	bool seed;		/* kept to ask for the map */
	bool primary;		/* owns slots in the map */
	bool doomed;		/* to be freed by the reap timer */
	struct node *next;
};

struct request {
	struct redis_cluster *cl;
	redis_reply_cb *cb;
	void *arg;
	int argc;
	const char **argv;	/* into buf */
	size_t *lens;
	char *buf;
	int slot;
	int redirects, waits;
	bool noscript_done;
	bool refused;		/* CROSSSLOT: answered from the timer */
	int64_t deadline_ms;
	struct node *ask;	/* next send: ASKING on this node first */
	struct event *retry_ev;
	struct request *prev, *next;
};

struct redis_cluster {
	struct event_base *base;
	struct redis_conn_opts o;	/* strings owned */
	long timeout_ms;
	redis_state_cb *state_cb;
	void *state_arg;
	struct node *nodes;
	struct node *slots[REDIS_CLUSTER_SLOTS];
	bool have_map, up, dying;
	const char *scripts[CL_MAX_SCRIPTS];
	char shas[CL_MAX_SCRIPTS][41];
	int nscripts;
	struct request *reqs;	/* every request not yet answered */
	unsigned rr;		/* round robin of keyless commands */

	bool refreshing, want_refresh;
	char refresh_host[256];
	int64_t next_refresh_ms;
	struct backoff refresh_backoff;
	struct event *tick_ev, *reap_ev;

	struct metric *m_up, *m_slots_up, *m_primaries, *m_refreshes,
	    *m_moved, *m_ask, *m_tryagain, *m_clusterdown, *m_unreachable,
	    *m_noscript, *m_crossslot;
};

static void node_state(bool up, void *arg);
static void request_send(struct request *q);

static struct node *
node_find(struct redis_cluster *cl, const char *host, int port)
{
	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		if (n->port == port && strcmp(n->host, host) == 0 && !n->doomed)
			return n;
	return NULL;
}

static struct node *
node_get(struct redis_cluster *cl, const char *host, int port)
{
	struct redis_conn_opts o = cl->o;
	struct node *n;
	char name[320];

	if ((n = node_find(cl, host, port)) != NULL)
		return n;
	n = xcalloc(1, sizeof(*n));
	n->cl = cl;
	n->host = xstrdup(host);
	n->port = port;
	snprintf(name, sizeof(name), "%s@%s:%d", cl->o.name, host, port);
	o.host = host;
	o.port = port;
	o.unix_path = NULL;
	o.db = 0;
	o.timeout_ms = cl->timeout_ms;
	o.name = name;
	n->conn = redis_conn_new(cl->base, &o, node_state, n);
	for (int i = 0; i < cl->nscripts; i++)
		(void)redis_conn_add_script(n->conn, cl->scripts[i]);
	n->next = cl->nodes;
	cl->nodes = n;
	log_info("redis_cluster_node", "conn=%s node=%s:%d", cl->o.name, host,
	    port);
	return n;
}

static bool
node_up(const struct node *n)
{
	return n != NULL && !n->doomed && redis_conn_up(n->conn);
}

/* Recomputes whether every slot has a connected primary; tells the
 * owner on a change. */
static void
update_state(struct redis_cluster *cl)
{
	int covered = 0;
	bool up;

	for (int s = 0; s < REDIS_CLUSTER_SLOTS; s++)
		if (node_up(cl->slots[s]))
			covered++;
	metrics_set(cl->m_slots_up, covered);
	up = cl->have_map && covered == REDIS_CLUSTER_SLOTS && !cl->dying;
	if (up) {
		/* The SHA1 of a script is the same on every node. */
		for (int i = 0; i < cl->nscripts; i++)
			if (cl->shas[i][0] == '\0')
				snprintf(cl->shas[i], sizeof(cl->shas[i]), "%s",
				    redis_conn_script_sha(cl->slots[0]->conn, i));
	}
	if (up == cl->up)
		return;
	cl->up = up;
	metrics_set(cl->m_up, up ? 1 : 0);
	log_info("redis_state", "conn=%s old=%s new=%s slots_up=%d",
	    cl->o.name, up ? "down" : "up", up ? "up" : "down", covered);
	if (!up)
		cl->want_refresh = true;
	cl->state_cb(up, cl->state_arg);
}

static void
node_state(bool up, void *arg)
{
	struct node *n = arg;
	struct redis_cluster *cl = n->cl;

	if (cl->dying)
		return;
	if (!up || !cl->have_map)
		cl->want_refresh = true;
	update_state(cl);
}

/* ---- requests ---- */

static void
request_free(struct request *q)
{
	struct redis_cluster *cl = q->cl;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		cl->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	event_free(q->retry_ev);
	free(q->argv);
	free(q->lens);
	free(q->buf);
	free(q);
}

/* Hands reply (borrowed; NULL: outcome unknown) to the caller, once. */
static void
deliver(struct request *q, const redisReply *reply)
{
	redis_reply_cb *cb = q->cb;
	void *arg = q->arg;

	request_free(q);
	cb(reply, arg);
}

static void
deliver_error(struct request *q, const char *msg)
{
	redisReply r;

	memset(&r, 0, sizeof(r));
	r.type = REDIS_REPLY_ERROR;
	r.str = (char *)(uintptr_t)msg;
	r.len = strlen(msg);
	deliver(q, &r);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *q = arg;

	(void)fd;
	(void)what;
	if (q->refused) {
		deliver_error(q, "CROSSSLOT paced: the keys of this call hash "
		    "to different slots; Redis Cluster runs a call on one "
		    "slot only");
		return;
	}
	request_send(q);
}

/* Sends q again after a doubling pause, or, past its deadline, answers
 * last (borrowed; NULL: why). */
static void
request_wait(struct request *q, const redisReply *last, const char *why)
{
	struct redis_cluster *cl = q->cl;
	int64_t delay = CL_RETRY_MIN_MS;
	struct timeval tv;

	cl->want_refresh = true;
	for (int i = 0; i < q->waits && delay < CL_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > CL_RETRY_MAX_MS)
		delay = CL_RETRY_MAX_MS;
	if (cl->dying || caltime_mono_ms() + delay > q->deadline_ms) {
		char msg[256];

		if (last != NULL) {
			deliver(q, last);
			return;
		}
		snprintf(msg, sizeof(msg), "CLUSTERDOWN paced: %s (gave up "
		    "after %d tries)", why, q->waits + 1);
		deliver_error(q, msg);
		return;
	}
	q->waits++;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(q->retry_ev, &tv);
}

static void
ignore_reply(const redisReply *reply, void *arg)
{
	(void)reply;
	(void)arg;
}

static int
script_index(struct redis_cluster *cl, const char *sha, size_t len)
{
	for (int i = 0; i < cl->nscripts; i++)
		if (strlen(cl->shas[i]) == len &&
		    strncasecmp(cl->shas[i], sha, len) == 0)
			return i;
	return -1;
}

static void
request_reply(const redisReply *reply, void *arg)
{
	struct request *q = arg;
	struct redis_cluster *cl = q->cl;
	char host[256];
	bool ask;
	int slot, port;

	if (reply == NULL) {
		cl->want_refresh = true;
		deliver(q, NULL);
		return;
	}
	if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL || cl->dying) {
		deliver(q, reply);
		return;
	}
	if (redis_cluster_redirect(reply->str, &ask, &slot, host,
	    sizeof(host), &port) == 0) {
		struct node *n;

		if (++q->redirects > CL_MAX_REDIRECTS) {
			deliver(q, reply);
			return;
		}
		n = node_get(cl, host, port);
		if (ask) {
			metrics_inc(cl->m_ask);
			q->ask = n;
		} else {
			metrics_inc(cl->m_moved);
			cl->slots[slot] = n;
			n->primary = true;
			cl->want_refresh = true;
			update_state(cl);
		}
		request_send(q);
		return;
	}
	if (strncmp(reply->str, "TRYAGAIN", 8) == 0) {
		metrics_inc(cl->m_tryagain);
		request_wait(q, reply, NULL);
		return;
	}
	if (strncmp(reply->str, "CLUSTERDOWN", 11) == 0) {
		metrics_inc(cl->m_clusterdown);
		request_wait(q, reply, NULL);
		return;
	}
	if (strncmp(reply->str, "NOSCRIPT", 8) == 0 && !q->noscript_done &&
	    q->argc >= 2 && is_cmd(q->argv[0], q->lens[0], "EVALSHA")) {
		int i = script_index(cl, q->argv[1], q->lens[1]);
		struct node *n = q->slot >= 0 ? cl->slots[q->slot] : NULL;

		if (i >= 0 && node_up(n)) {
			const char *argv[3] = { "SCRIPT", "LOAD",
			    cl->scripts[i] };

			metrics_inc(cl->m_noscript);
			q->noscript_done = true;
			/* The same connection: loaded before the call. */
			if (redis_conn_command(n->conn, 3, argv, NULL,
			    ignore_reply, NULL) == 0) {
				request_send(q);
				return;
			}
		}
	}
	deliver(q, reply);
}

static struct node *
any_up_node(struct redis_cluster *cl)
{
	struct node *pick = NULL;
	unsigned i = 0, want = cl->rr++;
	unsigned nup = 0;

	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		if (n->primary && node_up(n))
			nup++;
	if (nup == 0)
		return NULL;
	want %= nup;
	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		if (n->primary && node_up(n) && i++ == want)
			pick = n;
	return pick;
}

static void
request_send(struct request *q)
{
	struct redis_cluster *cl = q->cl;
	struct node *n;

	if (cl->dying) {
		deliver(q, NULL);
		return;
	}
	if (q->ask != NULL)
		n = q->ask;
	else if (q->slot >= 0)
		n = cl->slots[q->slot];
	else
		n = any_up_node(cl);
	if (!node_up(n)) {
		metrics_inc(cl->m_unreachable);
		q->ask = NULL;
		request_wait(q, NULL, "no connected primary for the slot");
		return;
	}
	if (q->ask != NULL) {
		const char *asking[1] = { "ASKING" };

		q->ask = NULL;
		if (redis_conn_command(n->conn, 1, asking, NULL, ignore_reply,
		    NULL) != 0) {
			request_wait(q, NULL, "ASKING not sent");
			return;
		}
	}
	if (redis_conn_command(n->conn, q->argc, q->argv, q->lens,
	    request_reply, q) != 0)
		request_wait(q, NULL, "the slot's primary is not connected");
}

static int
cl_command(void *rt, int argc, const char **argv, const size_t *argvlen,
    redis_reply_cb *cb, void *arg)
{
	struct redis_cluster *cl = rt;
	struct request *q;
	size_t total = 0, off = 0;

	if (!cl->up || cl->dying || argc < 1)
		return -1;
	q = xcalloc(1, sizeof(*q));
	q->cl = cl;
	q->cb = cb;
	q->arg = arg;
	q->argc = argc;
	q->lens = xcalloc((size_t)argc, sizeof(size_t));
	q->argv = xcalloc((size_t)argc, sizeof(char *));
	for (int i = 0; i < argc; i++)
		total += (q->lens[i] = arg_len(argv, argvlen, i)) + 1;
	q->buf = xmalloc(total);
	for (int i = 0; i < argc; i++) {
		memcpy(q->buf + off, argv[i], q->lens[i]);
		q->buf[off + q->lens[i]] = '\0';
		q->argv[i] = q->buf + off;
		off += q->lens[i] + 1;
	}
	q->slot = redis_cluster_command_slot(argc, q->argv, q->lens);
	q->deadline_ms = caltime_mono_ms() + cl->timeout_ms;
	q->retry_ev = evtimer_new(cl->base, retry_cb, q);
	q->next = cl->reqs;
	if (cl->reqs != NULL)
		cl->reqs->prev = q;
	cl->reqs = q;
	if (q->slot == REDIS_CLUSTER_CROSSSLOT) {
		struct timeval zero = { 0, 0 };

		/* Answered from the loop: never inside this call. */
		metrics_inc(cl->m_crossslot);
		log_warnx("redis_cluster_crossslot", "conn=%s cmd=%s args=%d",
		    cl->o.name, q->argv[0], argc);
		q->refused = true;
		evtimer_add(q->retry_ev, &zero);
		return 0;
	}
	request_send(q);
	return 0;
}

/* ---- the slot map ---- */

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_cluster *cl = arg;
	struct node **pp = &cl->nodes;
	char labels[384];

	(void)fd;
	(void)what;
	while (*pp != NULL) {
		struct node *n = *pp;

		if (!n->doomed) {
			pp = &n->next;
			continue;
		}
		*pp = n->next;
		log_info("redis_cluster_node_gone", "conn=%s node=%s:%d",
		    cl->o.name, n->host, n->port);
		redis_conn_free(n->conn);	/* its pending get NULL */
		/* Its series stay in /metrics: say it is not in use. */
		snprintf(labels, sizeof(labels), "conn=\"%s@%s:%d\"",
		    cl->o.name, n->host, n->port);
		metrics_set(metrics_gauge("paced_redis_up", labels,
		    "1 when the Redis connection is usable, else 0"), 0);
		free(n->host);
		free(n);
	}
}

static void
apply_map(struct redis_cluster *cl, const struct redis_cluster_range *v,
    size_t nv)
{
	struct timeval zero = { 0, 0 };
	int changed = 0, covered = 0, primaries = 0;
	bool doom = false;

	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		n->primary = false;
	for (size_t i = 0; i < nv; i++) {
		struct node *n = node_get(cl, v[i].host, v[i].port);

		n->primary = true;
		for (int s = v[i].first; s <= v[i].last; s++) {
			if (cl->slots[s] != n)
				changed++;
			cl->slots[s] = n;
		}
	}
	for (int s = 0; s < REDIS_CLUSTER_SLOTS; s++) {
		if (cl->slots[s] != NULL && !cl->slots[s]->primary) {
			cl->slots[s] = NULL;
			changed++;
		}
		if (cl->slots[s] != NULL)
			covered++;
	}
	for (struct node *n = cl->nodes; n != NULL; n = n->next) {
		if (n->primary)
			primaries++;
		else if (!n->seed && !n->doomed)
			n->doomed = doom = true;
	}
	if (doom)
		evtimer_add(cl->reap_ev, &zero);
	cl->have_map = true;
	metrics_set(cl->m_primaries, primaries);
	if (changed > 0)
		log_info("redis_cluster_map", "conn=%s primaries=%d "
		    "slots_covered=%d slots_changed=%d", cl->o.name, primaries,
		    covered, changed);
}

static void
slots_reply(const redisReply *reply, void *arg)
{
	struct redis_cluster *cl = arg;
	struct redis_cluster_range *v;
	size_t nv;
	char err[256];

	cl->refreshing = false;
	if (cl->dying)
		return;
	if (redis_cluster_parse_slots(reply, cl->refresh_host, &v, &nv, err,
	    sizeof(err)) != 0) {
		log_warnx("redis_cluster_map_failed", "conn=%s from=%s err=%s",
		    cl->o.name, cl->refresh_host, log_quote(reply == NULL ?
		    "no reply" : err));
		cl->want_refresh = true;
		cl->next_refresh_ms = caltime_mono_ms() +
		    backoff_next(&cl->refresh_backoff);
		return;
	}
	apply_map(cl, v, nv);
	free(v);
	update_state(cl);
	if (cl->up)
		backoff_reset(&cl->refresh_backoff);
	else {
		cl->want_refresh = true;
		cl->next_refresh_ms = caltime_mono_ms() +
		    backoff_next(&cl->refresh_backoff);
	}
}

/* Asks a connected node (a primary first, else a seed) for the map. */
static void
refresh_start(struct redis_cluster *cl)
{
	static const char *const argv[2] = { "CLUSTER", "SLOTS" };
	struct node *pick = NULL;

	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		if (node_up(n) && (pick == NULL || (n->primary &&
		    !pick->primary)))
			pick = n;
	if (pick == NULL)
		return;		/* the tick asks again */
	metrics_inc(cl->m_refreshes);
	snprintf(cl->refresh_host, sizeof(cl->refresh_host), "%s", pick->host);
	if (redis_conn_command(pick->conn, 2, (const char **)argv, NULL,
	    slots_reply, cl) == 0) {
		cl->refreshing = true;
		cl->want_refresh = false;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_cluster *cl = arg;
	int64_t now = caltime_mono_ms();

	(void)fd;
	(void)what;
	if (cl->refreshing || now < cl->next_refresh_ms)
		return;
	if (cl->want_refresh || !cl->up ||
	    now >= cl->next_refresh_ms + CL_REFRESH_IDLE_MS) {
		cl->next_refresh_ms = now + CL_REFRESH_MIN_MS;
		refresh_start(cl);
	}
}

/* ---- the routed connection's functions ---- */

static int
cl_add_script(void *rt, const char *lua)
{
	struct redis_cluster *cl = rt;

	if (cl->nscripts == CL_MAX_SCRIPTS)
		return -1;
	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		(void)redis_conn_add_script(n->conn, lua);
	cl->scripts[cl->nscripts] = lua;
	cl->shas[cl->nscripts][0] = '\0';
	return cl->nscripts++;
}

static const char *
cl_script_sha(const void *rt, int i)
{
	const struct redis_cluster *cl = rt;

	return cl->shas[i];
}

static void
cl_set_timeout(void *rt, long timeout_ms)
{
	struct redis_cluster *cl = rt;

	if (timeout_ms <= 0)
		return;
	cl->timeout_ms = timeout_ms;
	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		redis_conn_set_timeout(n->conn, timeout_ms);
}

static bool
cl_up(const void *rt)
{
	const struct redis_cluster *cl = rt;

	return cl->up;
}

static void
cl_reset(void *rt, const char *why)
{
	struct redis_cluster *cl = rt;

	log_warnx("redis_cluster_reset", "conn=%s reason=%s", cl->o.name,
	    log_quote(why));
	for (struct node *n = cl->nodes; n != NULL; n = n->next)
		redis_conn_reset(n->conn, why);
	cl->want_refresh = true;
}

static void
cl_free(void *rt)
{
	struct redis_cluster *cl = rt;

	cl->dying = true;
	/* In-flight requests get NULL from their node; waiting ones here. */
	while (cl->nodes != NULL) {
		struct node *n = cl->nodes;

		cl->nodes = n->next;
		redis_conn_free(n->conn);
		free(n->host);
		free(n);
	}
	while (cl->reqs != NULL)
		deliver(cl->reqs, NULL);
	event_free(cl->tick_ev);
	event_free(cl->reap_ev);
	free((char *)(uintptr_t)cl->o.username);
	free((char *)(uintptr_t)cl->o.password);
	free((char *)(uintptr_t)cl->o.name);
	free((char *)(uintptr_t)cl->o.ca_file);
	free(cl);
}

static const struct redis_conn_router cluster_router = {
	.command = cl_command,
	.add_script = cl_add_script,
	.script_sha = cl_script_sha,
	.set_timeout = cl_set_timeout,
	.up = cl_up,
	.reset = cl_reset,
	.free = cl_free,
};

struct redis_conn *
redis_cluster_conn_new(struct event_base *base,
    const struct redis_conn_opts *o, const struct config_redis_node *seeds,
    size_t nseeds, redis_state_cb *cb, void *arg)
{
	struct redis_cluster *cl = xcalloc(1, sizeof(*cl));
	struct timeval tick = { 0, CL_TICK_MS * 1000 };
	char labels[96];

	cl->base = base;
	cl->o.username = o->username ? xstrdup(o->username) : NULL;
	cl->o.password = o->password ? xstrdup(o->password) : NULL;
	cl->o.name = xstrdup(o->name ? o->name : "main");
	cl->o.tls = o->tls;	/* every node the same way as redis.url */
	cl->o.ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	cl->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	cl->state_cb = cb;
	cl->state_arg = arg;
	backoff_init(&cl->refresh_backoff, CL_REFRESH_MIN_MS, CL_REFRESH_MAX_MS);
	cl->want_refresh = true;
	cl->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, cl);
	event_add(cl->tick_ev, &tick);
	cl->reap_ev = evtimer_new(base, reap_cb, cl);

	snprintf(labels, sizeof(labels), "conn=\"%s\"", cl->o.name);
	cl->m_up = metrics_gauge("paced_redis_up", labels,
	    "1 when the Redis connection is usable, else 0");
	cl->m_slots_up = metrics_gauge("paced_redis_cluster_slots_up", labels,
	    "hash slots whose primary is connected (16384 when all are)");
	cl->m_primaries = metrics_gauge("paced_redis_cluster_primaries", labels,
	    "primaries in the last slot map read");
	cl->m_refreshes = metrics_counter("paced_redis_cluster_map_reads_total",
	    labels, "CLUSTER SLOTS reads of the slot map");
	{
		char l2[160];

		snprintf(l2, sizeof(l2), "%s,kind=\"moved\"", labels);
		cl->m_moved = metrics_counter(
		    "paced_redis_cluster_redirects_total", l2,
		    "MOVED and ASK redirections followed");
		snprintf(l2, sizeof(l2), "%s,kind=\"ask\"", labels);
		cl->m_ask = metrics_counter(
		    "paced_redis_cluster_redirects_total", l2,
		    "MOVED and ASK redirections followed");
		snprintf(l2, sizeof(l2), "%s,reason=\"tryagain\"", labels);
		cl->m_tryagain = metrics_counter(
		    "paced_redis_cluster_retries_total", l2,
		    "commands sent again, by reason");
		snprintf(l2, sizeof(l2), "%s,reason=\"clusterdown\"", labels);
		cl->m_clusterdown = metrics_counter(
		    "paced_redis_cluster_retries_total", l2,
		    "commands sent again, by reason");
		snprintf(l2, sizeof(l2), "%s,reason=\"unreachable\"", labels);
		cl->m_unreachable = metrics_counter(
		    "paced_redis_cluster_retries_total", l2,
		    "commands sent again, by reason");
		snprintf(l2, sizeof(l2), "%s,reason=\"noscript\"", labels);
		cl->m_noscript = metrics_counter(
		    "paced_redis_cluster_retries_total", l2,
		    "commands sent again, by reason");
	}
	cl->m_crossslot = metrics_counter("paced_redis_cluster_crossslot_total",
	    labels, "calls refused before sending: their keys span slots");
	metrics_set(cl->m_up, 0);
	for (size_t i = 0; i < nseeds; i++)
		node_get(cl, seeds[i].host, seeds[i].port)->seed = true;
	return redis_conn_new_routed(&cluster_router, cl);
}
