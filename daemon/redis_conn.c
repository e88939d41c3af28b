/*
 * redis_conn.c: owns one hiredis async context and its lifecycle.
 *
 * States: DOWN (backoff timer armed) -> [RESOLVING] -> CONNECTING ->
 * HANDSHAKE (AUTH, SELECT, SCRIPT LOAD in flight) -> UP. A host name is
 * resolved with libevent's asynchronous DNS before each connect, because
 * hiredis would call a blocking getaddrinfo on the loop; an address or a
 * unix socket goes straight to CONNECTING. Any failure goes back to DOWN with
 * a doubled backoff (100 ms .. 10 s). Every command carries a deadline; a
 * watchdog timer looks at the oldest in-flight command (Redis answers in
 * order) and, past its deadline, frees the context, which hands NULL to
 * every pending callback. hiredis contexts are never freed from inside a
 * hiredis callback: that work is deferred to a zero-delay timer.
 */
#include "redis_conn.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/adapters/libevent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "caltime.h"
#include "jsontext.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "redis_tls.h"
#include "reply.h"
#include "xmalloc.h"

#define REDIS_MAX_SCRIPTS	8
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000

enum conn_state { CONN_DOWN, CONN_RESOLVING, CONN_CONNECTING, CONN_HANDSHAKE,
    CONN_UP };

static const char *const state_names[] = { "down", "resolving", "connecting",
    "handshake", "up" };

struct pending {
	struct redis_conn *conn;
	redis_reply_cb *cb;
	void *arg;
	int64_t deadline_ms;
	int64_t sent_ms;
	struct pending *next;
};

struct redis_conn {
	struct event_base *base;
	char *host, *unix_path, *username, *password, *name;
	int port, db;
	bool tls;			/* rediss:// */
	bool check_settings, advised;
	char *ca_file;			/* NULL: the system's CA store */
	long timeout_ms;
	redis_state_cb *state_cb;
	void *state_arg;

	struct evdns_base *dns;		/* NULL: host is an address */
	struct evdns_getaddrinfo_request *dns_req;	/* in flight */
	char addr[INET6_ADDRSTRLEN];	/* host, resolved */

	redisAsyncContext *ac;
	enum conn_state state;
	int64_t connect_deadline_ms;
	struct backoff backoff;
	int handshake_left;
	bool drop_requested;
	bool dying;		/* hiredis is tearing the context down */
	char drop_reason[128];

	struct pending *head, *tail;	/* in-flight, oldest first */
	/* A command in the protocol's form, before hiredis copies it: kept
	 * from one command to the next. */
	char *fmt;
	size_t fmt_cap;

	const char *scripts[REDIS_MAX_SCRIPTS];
	char shas[REDIS_MAX_SCRIPTS][41];
	int nscripts;

	struct event *retry_ev;		/* backoff timer */
	struct event *watchdog_ev;	/* periodic deadline check */
	struct event *drop_ev;		/* deferred free of the context */

	struct metric *m_up, *m_latency, *m_timeouts, *m_reconnects;

	/* Set on a routed connection: everything above is unused. */
	const struct redis_conn_router *router;
	void *rt;
};

static void conn_connect(struct redis_conn *c);
static void conn_drop(struct redis_conn *c, const char *why);

static void
conn_set_state(struct redis_conn *c, enum conn_state s)
{
	if (c->state == s)
		return;
	log_info("redis_state", "conn=%s old=%s new=%s", c->name,
	    state_names[c->state], state_names[s]);
	c->state = s;
	metrics_set(c->m_up, s == CONN_UP ? 1 : 0);
}

static void
schedule_retry(struct redis_conn *c)
{
	backoff_arm(&c->backoff, c->retry_ev, true);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_connect(arg);
}

/* Pops the oldest pending entry; hiredis answers in order. */
static struct pending *
pending_pop(struct redis_conn *c, struct pending *p)
{
	struct pending **pp;

	/* Normally p is the head; search to stay correct if not. */
	for (pp = &c->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			if (c->tail == p) {
				c->tail = NULL;
				for (struct pending *q = c->head; q != NULL; q = q->next)
					c->tail = q;
			}
			return p;
		}
	}
	return NULL;
}

static void
command_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct pending *p = privdata;
	struct redis_conn *c = p->conn;
	redisReply *reply = r;

	(void)ac;
	pending_pop(c, p);
	if (reply == NULL)
		c->dying = true;	/* no new commands on this context */
	else
		metrics_observe(c->m_latency, (double)(caltime_mono_ms() - p->sent_ms) / 1000.0);
	p->cb(reply, p->arg);
	free(p);
}

/* Writes v in decimal at o; returns the end. */
static char *
put_size(char *o, size_t v)
{
	return o + jsontext_i64(o, (int64_t)v);	/* sizes fit */
}

/* The command in the protocol's form, written here into the connection's
 * buffer (hiredis's own formatting costs a printf per argument), queued
 * with command_cb for p. */
static int
send_formatted(struct redis_conn *c, struct pending *p, int argc,
    const char **argv, const size_t *argvlen)
{
	size_t len = 1 + 20 + 2, alen;
	char *buf, *o;

	/* argvlen NULL: the arguments are strings (as hiredis takes them) */
	for (int i = 0; i < argc; i++)
		len += 1 + 20 + 2 + (argvlen != NULL ? argvlen[i] :
		    strlen(argv[i])) + 2;
	if (len > c->fmt_cap) {
		free(c->fmt);
		c->fmt_cap = len > 4096 ? len : 4096;
		c->fmt = xmalloc(c->fmt_cap);
	}
	o = buf = c->fmt;
	*o++ = '*';
	o = put_size(o, (size_t)argc);
	*o++ = '\r';
	*o++ = '\n';
	for (int i = 0; i < argc; i++) {
		alen = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
		*o++ = '$';
		o = put_size(o, alen);
		*o++ = '\r';
		*o++ = '\n';
		memcpy(o, argv[i], alen);
		o += alen;
		*o++ = '\r';
		*o++ = '\n';
	}
	return redisAsyncFormattedCommand(c->ac, command_cb, p, buf,
	    (size_t)(o - buf));
}

/*
 * hiredis keeps what is to be written in one buffer, written when the
 * loop finds the socket writable: a callback that sends thousands of
 * commands (a pass of evaluations, a batch's calls) grows it to megabytes,
 * copied at each doubling and freed once written. Past FLUSH_EARLY bytes
 * it is written now (non-blocking, as the write event would): the buffer
 * stays small and Redis starts on the commands sooner. An error is left
 * in the context for the write event to handle (no callback runs here).
 */
#define FLUSH_EARLY	(64 * 1024)

static void
flush_early(struct redis_conn *c)
{
	redisContext *rc = &c->ac->c;
	int done = 0;

	if (rc->err == 0 && sdslen(rc->obuf) >= FLUSH_EARLY)
		(void)redisBufferWrite(rc, &done);
}

int
redis_conn_command(struct redis_conn *c, int argc, const char **argv,
    const size_t *argvlen, redis_reply_cb *cb, void *arg)
{
	struct pending *p;

	if (c->router != NULL)
		return c->router->command(c->rt, argc, argv, argvlen, cb, arg);
	if (c->state != CONN_UP || c->ac == NULL || c->dying)
		return -1;
	p = xcalloc(1, sizeof(*p));
	p->conn = c;
	p->cb = cb;
	p->arg = arg;
	p->sent_ms = caltime_mono_ms();
	p->deadline_ms = p->sent_ms + c->timeout_ms;
	if (send_formatted(c, p, argc, argv, argvlen) != REDIS_OK) {
		free(p);
		return -1;
	}
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	flush_early(c);
	return 0;
}

static void
handshake_done(struct redis_conn *c)
{
	if (--c->handshake_left > 0 || c->state != CONN_HANDSHAKE)
		return;
	backoff_reset(&c->backoff);
	conn_set_state(c, CONN_UP);
	log_info("redis_connected", "conn=%s addr=%s:%d scripts=%d", c->name,
	    c->unix_path ? c->unix_path : c->host, c->unix_path ? 0 : c->port,
	    c->nscripts);
	c->state_cb(true, c->state_arg);
}

/*
 * The answer to CONFIG GET hash-max-*-entries: name, value pairs (Redis 7
 * answers the listpack setting and its older name, Redis 6.2 only
 * hash-max-ziplist-entries). A counter hash Redis keeps as a listpack is
 * one list: every field the counting script sets is found by walking it.
 * At Redis's default of 512 entries that walk was most of the script's
 * cost in bench_redis_apply; 128 trades some memory for it (README, Redis
 * settings).
 */
#define LISTPACK_ADVICE	128

static void
settings_reply(struct redis_conn *c, const redisReply *reply)
{
	long long v = 0;
	char *end;

	if (c->advised || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 1; i < reply->elements; i += 2) {
		const redisReply *e = reply->element[i];
		long long x;

		if (e->type != REDIS_REPLY_STRING)
			continue;
		x = strtoll(e->str, &end, 10);
		if (*end == '\0' && x > v)
			v = x;
	}
	if (v <= LISTPACK_ADVICE)
		return;
	c->advised = true;
	log_info("redis_setting_advice", "conn=%s "
	    "setting=hash-max-listpack-entries value=%lld advice=%d "
	    "why=%s", c->name, v, LISTPACK_ADVICE, log_quote("counter "
	    "hashes of up to that many fields are walked for every field "
	    "counted: less Redis CPU at the advised size, some more memory; "
	    "see README, Redis settings"));
}

static void
handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct pending *p = privdata;
	struct redis_conn *c = p->conn;
	redisReply *reply = r;
	intptr_t step = (intptr_t)p->arg;

	(void)ac;
	pending_pop(c, p);
	free(p);
	if (reply == NULL)
		return;		/* the disconnect path handles it */
	if (step == 3) {
		/* Advice only: a server that refuses CONFIG is fine. */
		if (reply->type == REDIS_REPLY_ERROR)
			log_debug("redis_settings_unknown", "conn=%s err=%s",
			    c->name, log_quote(reply->str));
		else
			settings_reply(c, reply);
		handshake_done(c);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("redis_handshake_failed", "conn=%s step=%ld err=%s",
		    c->name, (long)step, log_quote(reply->str));
		conn_drop(c, "handshake error");
		return;
	}
	if (step >= 100)
		reply_sha1(reply, c->shas[step - 100]);
	handshake_done(c);
}

/* Queues one handshake command; the connection is in HANDSHAKE state. */
static void
handshake_send(struct redis_conn *c, intptr_t step, int argc,
    const char **argv)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	size_t lens[4];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	p->conn = c;
	p->arg = (void *)step;
	p->sent_ms = caltime_mono_ms();
	p->deadline_ms = p->sent_ms + c->timeout_ms;
	if (redisAsyncCommandArgv(c->ac, handshake_reply, p, argc, argv, lens)
	    != REDIS_OK) {
		free(p);
		conn_drop(c, "handshake send failed");
		return;
	}
	c->handshake_left++;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;
	char dbs[16];

	if (status != REDIS_OK) {
		/* hiredis frees the context after a failed connect. */
		log_warnx("redis_connect_failed", "conn=%s err=%s retry_ms=%ld",
		    c->name, log_quote(ac->errstr), c->backoff.next_ms);
		c->ac = NULL;
		conn_set_state(c, CONN_DOWN);
		schedule_retry(c);
		return;
	}
	conn_set_state(c, CONN_HANDSHAKE);
	c->handshake_left = 1;	/* released after queuing all steps */
	if (c->password != NULL) {
		const char *argv[3] = { "AUTH", c->username ? c->username : c->password,
		    c->password };

		handshake_send(c, 1, c->username ? 3 : 2, argv);
	}
	if (c->db != 0) {
		const char *argv[2] = { "SELECT", dbs };

		snprintf(dbs, sizeof(dbs), "%d", c->db);
		handshake_send(c, 2, 2, argv);
	}
	if (c->check_settings) {
		const char *argv[3] = { "CONFIG", "GET",
		    "hash-max-*-entries" };

		handshake_send(c, 3, 3, argv);
	}
	for (int i = 0; i < c->nscripts; i++) {
		const char *argv[3] = { "SCRIPT", "LOAD", c->scripts[i] };

		handshake_send(c, 100 + i, 3, argv);
	}
	handshake_done(c);
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;
	bool was_up = c->state == CONN_UP;

	(void)status;
	if (c->ac != ac)
		return;		/* we dropped it ourselves; already handled */
	c->ac = NULL;
	log_warnx("redis_disconnected", "conn=%s err=%s", c->name,
	    log_quote(ac->errstr[0] ? ac->errstr : "closed"));
	conn_set_state(c, CONN_DOWN);
	schedule_retry(c);
	if (was_up)
		c->state_cb(false, c->state_arg);
}

static void
conn_open(struct redis_conn *c)
{
	redisAsyncContext *ac;
	char err[256];

	if (c->unix_path != NULL)
		ac = redisAsyncConnectUnix(c->unix_path);
	else
		ac = redisAsyncConnect(c->dns != NULL ? c->addr : c->host,
		    c->port);
	if (ac == NULL || ac->err) {
		log_warnx("redis_connect_failed", "conn=%s err=%s", c->name,
		    log_quote(ac ? ac->errstr : "allocation failed"));
		if (ac != NULL)
			redisAsyncFree(ac);
		schedule_retry(c);
		return;
	}
	if (c->tls && redis_tls_initiate(&ac->c, c->host, c->ca_file, err,
	    sizeof(err)) != 0) {
		log_warnx("redis_tls_failed", "conn=%s err=%s", c->name,
		    log_quote(err));
		redisAsyncFree(ac);
		schedule_retry(c);
		return;
	}
	ac->data = c;
	redisLibeventAttach(ac, c->base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	c->ac = ac;
	c->dying = false;
	c->connect_deadline_ms = caltime_mono_ms() + c->timeout_ms;
	conn_set_state(c, CONN_CONNECTING);
}

/* evdns answered (possibly from inside evdns_getaddrinfo, for a name in
 * /etc/hosts). The first IPv4 address is the one connected to, else the
 * first IPv6 one: what hiredis itself prefers ("localhost" often lists
 * ::1 first, and Redis listens on 127.0.0.1 by default). */
static void
resolved_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct redis_conn *c = arg;
	struct evutil_addrinfo *p, *pick = NULL;
	const void *a = NULL;

	c->dns_req = NULL;
	if (result == EVUTIL_EAI_CANCEL)
		return;		/* redis_conn_free or the watchdog */
	for (p = result == 0 ? ai : NULL; p != NULL; p = p->ai_next) {
		if (p->ai_family == AF_INET) {
			pick = p;
			break;
		}
		if (p->ai_family == AF_INET6 && pick == NULL)
			pick = p;
	}
	if (pick != NULL && pick->ai_family == AF_INET)
		a = &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr;
	else if (pick != NULL)
		a = &((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr;
	if (a == NULL || inet_ntop(pick->ai_family, a, c->addr,
	    sizeof(c->addr)) == NULL) {
		log_warnx("redis_resolve_failed", "conn=%s host=%s err=%s",
		    c->name, c->host, log_quote(result != 0 ?
		    evutil_gai_strerror(result) : "no address"));
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		conn_set_state(c, CONN_DOWN);
		schedule_retry(c);
		return;
	}
	evutil_freeaddrinfo(ai);
	conn_open(c);
}

static void
conn_connect(struct redis_conn *c)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	if (c->ac != NULL || c->state == CONN_RESOLVING)
		return;
	metrics_inc(c->m_reconnects);
	if (c->dns == NULL) {
		conn_open(c);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	c->connect_deadline_ms = caltime_mono_ms() + c->timeout_ms;
	conn_set_state(c, CONN_RESOLVING);
	req = evdns_getaddrinfo(c->dns, c->host, NULL, &hints, resolved_cb, c);
	/* NULL when resolved_cb already ran (or failed) inside the call. */
	if (c->state == CONN_RESOLVING)
		c->dns_req = req;
}

/* Frees the context now: only ever from a libevent callback of ours. */
static void
conn_free_context(struct redis_conn *c)
{
	redisAsyncContext *ac = c->ac;
	bool was_up = c->state == CONN_UP;

	if (ac == NULL)
		return;
	c->ac = NULL;			/* disconnect_cb sees a stale context */
	conn_set_state(c, CONN_DOWN);
	redisAsyncFree(ac);		/* pending callbacks get NULL */
	c->head = c->tail = NULL;
	schedule_retry(c);
	if (was_up)
		c->state_cb(false, c->state_arg);
}

static void
drop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_conn *c = arg;

	(void)fd;
	(void)what;
	c->drop_requested = false;
	if (c->ac == NULL)
		return;
	log_warnx("redis_dropped", "conn=%s reason=%s", c->name,
	    log_quote(c->drop_reason));
	conn_free_context(c);
}

static void
conn_drop(struct redis_conn *c, const char *why)
{
	struct timeval zero = { 0, 0 };

	if (c->drop_requested)
		return;
	c->drop_requested = true;
	snprintf(c->drop_reason, sizeof(c->drop_reason), "%s", why);
	evtimer_add(c->drop_ev, &zero);
}

void
redis_conn_reset(struct redis_conn *c, const char *why)
{
	if (c->router != NULL) {
		c->router->reset(c->rt, why);
		return;
	}
	conn_drop(c, why);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_conn *c = arg;
	int64_t now = caltime_mono_ms();

	(void)fd;
	(void)what;
	if (c->state == CONN_RESOLVING && c->dns_req != NULL &&
	    now > c->connect_deadline_ms) {
		struct evdns_getaddrinfo_request *req = c->dns_req;

		metrics_inc(c->m_timeouts);
		log_warnx("redis_timeout", "conn=%s what=resolve timeout_ms=%ld",
		    c->name, c->timeout_ms);
		c->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
		conn_set_state(c, CONN_DOWN);
		schedule_retry(c);
		return;
	}
	if (c->ac == NULL)
		return;
	if (c->state == CONN_CONNECTING && now > c->connect_deadline_ms) {
		metrics_inc(c->m_timeouts);
		snprintf(c->drop_reason, sizeof(c->drop_reason), "connect timeout");
		log_warnx("redis_timeout", "conn=%s what=connect timeout_ms=%ld",
		    c->name, c->timeout_ms);
		conn_free_context(c);
		return;
	}
	if (c->head != NULL && now > c->head->deadline_ms) {
		metrics_inc(c->m_timeouts);
		log_warnx("redis_timeout", "conn=%s what=command timeout_ms=%ld",
		    c->name, c->timeout_ms);
		conn_free_context(c);
	}
}

struct redis_conn *
redis_conn_new(struct event_base *base, const struct redis_conn_opts *o,
    redis_state_cb *cb, void *arg)
{
	struct redis_conn *c = xcalloc(1, sizeof(*c));
	struct timeval tick = { 0, 100 * 1000 };
	static const double lat_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
	    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
	char labels[64];

	c->base = base;
	c->host = o->host ? xstrdup(o->host) : NULL;
	c->unix_path = o->unix_path ? xstrdup(o->unix_path) : NULL;
	c->username = o->username ? xstrdup(o->username) : NULL;
	c->password = o->password ? xstrdup(o->password) : NULL;
	c->name = xstrdup(o->name ? o->name : "main");
	c->port = o->port;
	c->db = o->db;
	c->tls = o->tls && o->unix_path == NULL;
	c->check_settings = o->check_settings;
	c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	c->state_cb = cb;
	c->state_arg = arg;
	backoff_init(&c->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	c->retry_ev = evtimer_new(base, retry_cb, c);
	c->drop_ev = evtimer_new(base, drop_cb, c);
	c->watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, c);
	event_add(c->watchdog_ev, &tick);
	if (c->host != NULL && c->unix_path == NULL &&
	    !netaddr_is_numeric(c->host)) {
		c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (c->dns == NULL)
			log_warnx("redis_resolver_missing", "conn=%s host=%s "
			    "fallback=blocking", c->name, c->host);
	}

	snprintf(labels, sizeof(labels), "conn=\"%s\"", c->name);
	c->m_up = metrics_gauge("paced_redis_up", labels,
	    "1 when the Redis connection is usable, else 0");
	c->m_latency = metrics_histogram("paced_redis_latency_seconds", labels,
	    "Redis command round-trip time", lat_bounds,
	    sizeof(lat_bounds) / sizeof(lat_bounds[0]));
	c->m_timeouts = metrics_counter("paced_redis_timeouts_total", labels,
	    "Redis connects or commands that exceeded redis.command_timeout");
	c->m_reconnects = metrics_counter("paced_redis_connects_total", labels,
	    "Redis connection attempts");
	metrics_set(c->m_up, 0);
	/* Connect from the loop, so the state callback never runs inside new. */
	{
		struct timeval zero = { 0, 0 };

		evtimer_add(c->retry_ev, &zero);
	}
	return c;
}

struct redis_conn *
redis_conn_new_routed(const struct redis_conn_router *ops, void *rt)
{
	struct redis_conn *c = xcalloc(1, sizeof(*c));

	c->router = ops;
	c->rt = rt;
	return c;
}

int
redis_conn_add_script(struct redis_conn *c, const char *lua)
{
	if (c->router != NULL)
		return c->router->add_script(c->rt, lua);
	if (c->nscripts == REDIS_MAX_SCRIPTS)
		return -1;
	c->scripts[c->nscripts] = lua;
	c->shas[c->nscripts][0] = '\0';
	return c->nscripts++;
}

const char *
redis_conn_script_sha(const struct redis_conn *c, int i)
{
	if (c->router != NULL)
		return c->router->script_sha(c->rt, i);
	return c->shas[i];
}

void
redis_conn_set_timeout(struct redis_conn *c, long timeout_ms)
{
	if (c->router != NULL) {
		c->router->set_timeout(c->rt, timeout_ms);
		return;
	}
	if (timeout_ms > 0 && timeout_ms != c->timeout_ms) {
		log_info("redis_timeout_set", "conn=%s old_ms=%ld new_ms=%ld",
		    c->name, c->timeout_ms, timeout_ms);
		c->timeout_ms = timeout_ms;
	}
}

bool
redis_conn_up(const struct redis_conn *c)
{
	if (c->router != NULL)
		return c->router->up(c->rt);
	return c->state == CONN_UP;
}

void
redis_conn_free(struct redis_conn *c)
{
	if (c == NULL)
		return;
	if (c->router != NULL) {
		c->router->free(c->rt);
		free(c);
		return;
	}
	if (c->dns_req != NULL) {
		struct evdns_getaddrinfo_request *req = c->dns_req;

		c->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);	/* resolved_cb: CANCEL */
	}
	if (c->dns != NULL)
		evdns_base_free(c->dns, 0);
	if (c->ac != NULL) {
		redisAsyncContext *ac = c->ac;

		c->ac = NULL;
		c->state = CONN_DOWN;
		redisAsyncFree(ac);
	}
	event_free(c->retry_ev);
	event_free(c->drop_ev);
	event_free(c->watchdog_ev);
	free(c->ca_file);
	free(c->host);
	free(c->unix_path);
	free(c->username);
	free(c->password);
	free(c->name);
	free(c->fmt);
	free(c);
}

/* ---- argument vectors ---- */

/* The strings live in one buffer, addressed by offset until the vector is
 * sent (the buffer may move as it grows). */
struct redis_argv {
	char *buf;
	size_t len, cap;
	size_t *offs, *lens;
	size_t n, ncap;
	const char **argv;	/* built for sending */
};

struct redis_argv *
redis_argv_new(void)
{
	return xcalloc(1, sizeof(struct redis_argv));
}

void
redis_argv_free(struct redis_argv *v)
{
	if (v == NULL)
		return;
	free(v->buf);
	free(v->offs);
	free(v->lens);
	free(v->argv);
	free(v);
}

void
redis_argv_reset(struct redis_argv *v)
{
	v->len = v->n = 0;
}

/* Room for len more bytes (and a NUL) and one more argument. */
static void
argv_grow(struct redis_argv *v, size_t len)
{
	if (v->len + len + 1 > v->cap) {
		/* Small first: most commands are a few short arguments
		 * (a job's state write is made per evaluation). */
		size_t cap = v->cap ? v->cap : 256;

		while (cap < v->len + len + 1)
			cap *= 2;
		v->buf = xrealloc(v->buf, cap);
		v->cap = cap;
	}
	if (v->n == v->ncap) {
		v->ncap = v->ncap ? v->ncap * 2 : 16;
		v->offs = xreallocarray(v->offs, v->ncap, sizeof(size_t));
		v->lens = xreallocarray(v->lens, v->ncap, sizeof(size_t));
	}
}

/* Records the len bytes just written at the end of the buffer. */
static void
argv_push(struct redis_argv *v, size_t len)
{
	v->offs[v->n] = v->len;
	v->lens[v->n] = len;
	v->buf[v->len + len] = '\0';
	v->len += len + 1;
	v->n++;
}

void
redis_argv_add(struct redis_argv *v, const char *s, size_t len)
{
	argv_grow(v, len);
	memcpy(v->buf + v->len, s, len);
	argv_push(v, len);
}

void
redis_argv_str(struct redis_argv *v, const char *s)
{
	redis_argv_add(v, s, strlen(s));
}

void
redis_argv_take(struct redis_argv *v, char *s)
{
	redis_argv_str(v, s);
	free(s);
}

void
redis_argv_fmt(struct redis_argv *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)		/* only a malformed format (a bug) */
		n = 0;
	argv_grow(v, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(v->buf + v->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	argv_push(v, (size_t)n);
}

void
redis_argv_int(struct redis_argv *v, int64_t n)
{
	char tmp[JSONTEXT_INT_SIZE];
	size_t len = jsontext_i64(tmp, n);

	argv_grow(v, len);
	memcpy(v->buf + v->len, tmp, len);
	argv_push(v, len);
}

void
redis_argv_double(struct redis_argv *v, double d)
{
	/* %.17g prints an integer below 10^17 in full, without exponent or
	 * point; -0 and the rest go to printf. */
	if (d > -1e17 && d < 1e17 && d == (double)(int64_t)d &&
	    !(d == 0 && signbit(d))) {
		redis_argv_int(v, (int64_t)d);
		return;
	}
	redis_argv_fmt(v, "%.17g", d);
}

char *
redis_argv_begin(struct redis_argv *v, size_t maxlen)
{
	argv_grow(v, maxlen);
	return v->buf + v->len;
}

void
redis_argv_end(struct redis_argv *v, size_t len)
{
	argv_push(v, len);
}

size_t
redis_argv_count(const struct redis_argv *v)
{
	return v->n;
}

const char *
redis_argv_at(const struct redis_argv *v, size_t i, size_t *len)
{
	if (len != NULL)
		*len = v->lens[i];
	return v->buf + v->offs[i];
}

int
redis_conn_send(struct redis_conn *c, struct redis_argv *v,
    redis_reply_cb *cb, void *arg)
{
	/* The pointers are built now: the buffer no longer moves. */
	v->argv = xreallocarray(v->argv, v->n ? v->n : 1, sizeof(char *));
	for (size_t i = 0; i < v->n; i++)
		v->argv[i] = v->buf + v->offs[i];
	return redis_conn_command(c, (int)v->n, v->argv, v->lens, cb, arg);
}
