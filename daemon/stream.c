/*
 * stream.c: GET /v1/stream, the change stream as Server-Sent Events.
 *
 * Every change goes through Redis: the board script and the evaluator
 * PUBLISH on the changes channel (changes.c, board_redis.c), and each
 * daemon SUBSCRIBEs to it on a hiredis connection of its own, so that a
 * browser connected to one daemon sees the changes every daemon of the
 * group computed. A message received is kept in a ring (the last
 * STREAM_RING messages, at most STREAM_WINDOW_MS old) for Last-Event-ID
 * resume, and written to every open stream whose filter it passes: one
 * copy into each stream's output buffer, no Redis call per client.
 *
 * A stream is a long response (evhttp_send_reply_start, one chunk per
 * message). Its connection's timeout is lifted (the idle timeout would
 * close it) and a comment line goes to every stream each
 * http.stream_heartbeat, which keeps proxies from closing it and shows a
 * closed client (the write fails). A client that does not read is cut
 * when STREAM_BACKLOG bytes wait for it. At most http.max_streams streams
 * are open at once (they count against http.max_connections too).
 *
 * While the subscription is down nothing reaches the ring; when it is
 * back the ring is emptied and every stream gets a "reset" event (the
 * changes in between are lost: read the boards again), as does a resume
 * from an id the ring no longer holds.
 *
 * The subscription is held only while someone may want it: from the
 * first stream opened until STREAM_WINDOW_MS after the last one closed
 * (a client reconnecting within the window still resumes). Without a
 * subscriber on the channel the board script reads no rank and publishes
 * nothing (board_redis.c), so a daemon nobody watches pays nothing for
 * the change stream. Dropping it empties the ring: a later resume gets a
 * reset.
 */
#include "stream.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "caltime.h"
#include "changes.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "redis_tls.h"
#include "xmalloc.h"

#define STREAM_RING		1024
#define STREAM_WINDOW_MS	(5 * 60 * 1000)
#define STREAM_BACKLOG		(1024 * 1024)
#define STREAM_RETRY_MS		3000	/* the client's reconnect delay */
#define STREAM_RESUB_MS		1000
#define STREAM_FRAME_MAX	65536	/* longer messages are refused */

struct msg {
	char *id;			/* owned; NULL: empty slot */
	char *team;			/* owned; NULL: not a team's */
	char *frame;			/* owned: the SSE lines */
	size_t len;
	int64_t mono_ms;
};

struct client {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	char *team;			/* owned; NULL: everything */
	TAILQ_ENTRY(client) entry;
};

TAILQ_HEAD(client_list, client);

struct stream {
	struct event_base *base;
	const struct config *const *cfg;
	char *channel;
	char *host, *unix_path, *username, *password;
	int port;
	/* Redis Cluster: pub/sub reaches every node, so any seed serves;
	 * each attempt takes the next, past a node that is gone. */
	struct config_redis_node *seeds;
	size_t nseeds, next_seed;
	bool tls;			/* rediss:// */
	char *ca_file;
	int max_streams;
	struct client_list clients;
	int nclients;
	struct msg ring[STREAM_RING];
	size_t head, count;		/* oldest slot; messages held */
	struct evbuffer *tmp;
	struct event *heartbeat_ev;
	struct event *resub_ev;
	struct event *idle_ev;		/* the last stream closed a while ago */
	bool wanted;			/* subscribe, and stay subscribed */
	redisAsyncContext *ac;
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *dns_req;
	bool subscribed, was_subscribed, freeing;
	struct metric *m_clients, *m_messages, *m_bad, *m_cut, *m_subscribed;
};

static void subscribe_start(struct stream *s);

static void
msg_clear(struct msg *m)
{
	free(m->id);
	free(m->team);
	free(m->frame);
	memset(m, 0, sizeof(*m));
}

static void
ring_clear(struct stream *s)
{
	for (size_t i = 0; i < STREAM_RING; i++)
		msg_clear(&s->ring[i]);
	s->head = 0;
	s->count = 0;
}

static bool
passes(const struct client *c, const char *team)
{
	return c->team == NULL || (team != NULL && strcmp(c->team, team) == 0);
}

static void
client_forget(struct stream *s, struct client *c)
{
	struct timeval idle = { STREAM_WINDOW_MS / 1000, 0 };

	TAILQ_REMOVE(&s->clients, c, entry);
	s->nclients--;
	metrics_set(s->m_clients, s->nclients);
	free(c->team);
	free(c);
	if (s->nclients == 0 && !s->freeing)
		evtimer_add(s->idle_ev, &idle);
}

/* Writes len bytes to c; false when c was cut (too much waiting). */
static bool
client_send(struct stream *s, struct client *c, const char *data, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	struct evhttp_connection *evcon = c->evcon;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > STREAM_BACKLOG) {
		log_info("stream_client_cut", "reason=backlog team=%s",
		    c->team != NULL ? log_quote(c->team) : "-");
		metrics_inc(s->m_cut);
		client_forget(s, c);
		evhttp_connection_free(evcon);	/* frees the request */
		return false;
	}
	evbuffer_add(s->tmp, data, len);
	evhttp_send_reply_chunk(c->req, s->tmp);
	evbuffer_drain(s->tmp, evbuffer_get_length(s->tmp));
	return true;
}

/* To every stream, or (everyone false) those whose filter team passes. */
static void
broadcast(struct stream *s, bool everyone, const char *team, const char *data,
    size_t len)
{
	struct client *c, *next;

	for (c = TAILQ_FIRST(&s->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (everyone || passes(c, team))
			client_send(s, c, data, len);
	}
}

static const char reset_frame[] = "event: reset\ndata: {\"v\":1,"
    "\"type\":\"reset\"}\n\n";

/* A message of the channel: checked, kept, sent. */
static void
on_message(struct stream *s, const char *payload, size_t plen)
{
	cJSON *o = NULL;
	const cJSON *id, *type, *team, *v;
	struct msg *m;

	if (plen > STREAM_FRAME_MAX || memchr(payload, '\n', plen) != NULL ||
	    memchr(payload, '\r', plen) != NULL ||
	    (o = cJSON_ParseWithLength(payload, plen)) == NULL)
		goto bad;
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	type = cJSON_GetObjectItemCaseSensitive(o, "type");
	team = cJSON_GetObjectItemCaseSensitive(o, "team");
	v = cJSON_GetObjectItemCaseSensitive(o, "v");
	if (!cJSON_IsNumber(v) || v->valuedouble != CHANGES_VERSION ||
	    !cJSON_IsString(id) || !changes_id_valid(id->valuestring) ||
	    !cJSON_IsString(type) || strspn(type->valuestring,
	    "abcdefghijklmnopqrstuvwxyz_") != strlen(type->valuestring) ||
	    (team != NULL && !cJSON_IsString(team)))
		goto bad;
	if (s->count == STREAM_RING) {
		msg_clear(&s->ring[s->head]);
		s->head = (s->head + 1) % STREAM_RING;
		s->count--;
	}
	m = &s->ring[(s->head + s->count) % STREAM_RING];
	s->count++;
	m->id = xstrdup(id->valuestring);
	m->team = team != NULL ? xstrdup(team->valuestring) : NULL;
	m->frame = xasprintf("id: %s\nevent: %s\ndata: %.*s\n\n", m->id,
	    type->valuestring, (int)plen, payload);
	m->len = strlen(m->frame);
	m->mono_ms = caltime_mono_ms();
	cJSON_Delete(o);
	metrics_inc(s->m_messages);
	broadcast(s, false, m->team, m->frame, m->len);
	return;
bad:
	cJSON_Delete(o);
	metrics_inc(s->m_bad);
	log_debug("stream_bad_message", "len=%zu", plen);
}

static void
subscribe_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct stream *s = arg;
	redisReply *r = reply;

	(void)ac;
	if (r == NULL || s->freeing || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(r->element[0]->str, "subscribe") == 0) {
		s->subscribed = true;
		metrics_set(s->m_subscribed, 1);
		log_info("stream_subscribed", "channel=%s", log_quote(s->channel));
		if (s->was_subscribed) {
			/* What was published meanwhile is lost. */
			ring_clear(s);
			broadcast(s, true, NULL, reset_frame,
			    sizeof(reset_frame) - 1);
		}
		s->was_subscribed = true;
	} else if (strcmp(r->element[0]->str, "message") == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		on_message(s, r->element[2]->str, r->element[2]->len);
	}
}

static void
auth_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	redisReply *r = reply;

	(void)arg;
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		log_warnx("stream_subscribe_failed", "err=%s", log_quote(r->str));
		redisAsyncDisconnect(ac);
	}
}

static void
schedule_resub(struct stream *s)
{
	struct timeval tv = { STREAM_RESUB_MS / 1000,
	    (STREAM_RESUB_MS % 1000) * 1000 };

	if (!s->freeing && s->wanted)
		evtimer_add(s->resub_ev, &tv);
}

static void
lost(struct stream *s, const char *why)
{
	s->ac = NULL;
	if (s->subscribed && s->wanted)
		log_warnx("stream_unsubscribed", "err=%s", log_quote(why));
	s->subscribed = false;
	metrics_set(s->m_subscribed, 0);
	schedule_resub(s);
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct stream *s = ac->data;

	if (status != REDIS_OK && s != NULL)	/* hiredis frees ac */
		lost(s, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct stream *s = ac->data;

	(void)status;
	if (s != NULL)
		lost(s, ac->errstr[0] ? ac->errstr : "closed");
}

static void
connect_to(struct stream *s, const char *addr)
{
	redisAsyncContext *ac;
	const char *argv[3];
	size_t argc = 0;

	ac = s->unix_path != NULL ? redisAsyncConnectUnix(s->unix_path) :
	    redisAsyncConnect(addr, s->port);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		schedule_resub(s);
		return;
	}
	if (s->tls) {
		char err[256];

		if (redis_tls_initiate(&ac->c, s->host, s->ca_file, err,
		    sizeof(err)) != 0) {
			log_warnx("stream_tls_failed", "err=%s",
			    log_quote(err));
			redisAsyncFree(ac);
			schedule_resub(s);
			return;
		}
	}
	ac->data = s;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	if (s->password != NULL) {
		argv[argc++] = "AUTH";
		if (s->username != NULL)
			argv[argc++] = s->username;
		argv[argc++] = s->password;
		redisAsyncCommandArgv(ac, auth_reply, s, (int)argc, argv, NULL);
	}
	argv[0] = "SUBSCRIBE";
	argv[1] = s->channel;
	redisAsyncCommandArgv(ac, subscribe_reply, s, 2, argv, NULL);
	s->ac = ac;
}

static void
resolved_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct stream *s = arg;
	char addr[INET6_ADDRSTRLEN] = "";

	if (result == EVUTIL_EAI_CANCEL)
		return;
	s->dns_req = NULL;
	if (result == 0 && ai != NULL) {
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr, addr, sizeof(addr));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)
			    ai->ai_addr)->sin6_addr, addr, sizeof(addr));
	}
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	if (addr[0] == '\0') {
		schedule_resub(s);
		return;
	}
	connect_to(s, addr);
}

/* hiredis would resolve a host name with a blocking call: names go
 * through libevent's resolver first. */
static void
subscribe_start(struct stream *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	struct evutil_addrinfo hints;

	if (s->nseeds > 0) {
		const struct config_redis_node *n =
		    &s->seeds[s->next_seed++ % s->nseeds];

		free(s->host);
		s->host = xstrdup(n->host);
		s->port = n->port;
	}
	if (s->unix_path != NULL || inet_pton(AF_INET, s->host, buf) == 1 ||
	    inet_pton(AF_INET6, s->host, buf) == 1) {
		connect_to(s, s->host);
		return;
	}
	if (s->dns == NULL)
		s->dns = evdns_base_new(s->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (s->dns == NULL) {
		schedule_resub(s);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	s->dns_req = evdns_getaddrinfo(s->dns, s->host, NULL, &hints,
	    resolved_cb, s);
}

static void
resub_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	(void)what;
	if (s->wanted && s->ac == NULL && s->dns_req == NULL)
		subscribe_start(s);
}

/* A stream opens: subscribe, if not already. */
static void
want(struct stream *s)
{
	evtimer_del(s->idle_ev);
	if (s->wanted)
		return;
	s->wanted = true;
	if (s->ac == NULL && s->dns_req == NULL)
		subscribe_start(s);
}

/* No stream for STREAM_WINDOW_MS: let the subscription go. */
static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	(void)what;
	if (s->nclients > 0 || !s->wanted)
		return;
	s->wanted = false;
	evtimer_del(s->resub_ev);
	if (s->dns_req != NULL) {
		evdns_getaddrinfo_cancel(s->dns_req);
		s->dns_req = NULL;
	}
	if (s->subscribed)
		log_info("stream_idle", "channel=%s", log_quote(s->channel));
	if (s->ac != NULL)
		redisAsyncDisconnect(s->ac);	/* disconnect_cb: lost() */
	s->was_subscribed = false;		/* no reset for nobody */
	ring_clear(s);
}

static void
heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char beat[] = ": heartbeat\n\n";
	struct stream *s = arg;

	(void)fd;
	(void)what;
	broadcast(s, true, NULL, beat, sizeof(beat) - 1);
}

static char *
dup_or_null(const char *p)
{
	return p != NULL ? xstrdup(p) : NULL;
}

struct stream *
stream_new(struct event_base *base, const struct config *start,
    const struct config *const *cfg)
{
	struct stream *s = xcalloc(1, sizeof(*s));
	struct timeval hb = { start->http.stream_heartbeat_ms / 1000,
	    (start->http.stream_heartbeat_ms % 1000) * 1000 };

	s->base = base;
	s->cfg = cfg;
	s->channel = keys_changes_channel(start);
	s->host = dup_or_null(start->redis.host);
	s->unix_path = dup_or_null(start->redis.unix_path);
	s->username = dup_or_null(start->redis.username);
	s->password = dup_or_null(start->redis.password);
	s->port = start->redis.port;
	if (start->redis.cluster && start->redis.nseeds > 0) {
		s->nseeds = start->redis.nseeds;
		s->seeds = xcalloc(s->nseeds, sizeof(*s->seeds));
		for (size_t i = 0; i < s->nseeds; i++) {
			s->seeds[i].host = xstrdup(start->redis.seeds[i].host);
			s->seeds[i].port = start->redis.seeds[i].port;
		}
	}
	s->tls = start->redis.tls && start->redis.unix_path == NULL;
	s->ca_file = dup_or_null(start->redis.ca_file);
	s->max_streams = start->http.max_streams;
	TAILQ_INIT(&s->clients);
	s->tmp = evbuffer_new();
	s->heartbeat_ev = event_new(base, -1, EV_PERSIST, heartbeat_cb, s);
	evtimer_add(s->heartbeat_ev, &hb);
	s->resub_ev = evtimer_new(base, resub_cb, s);
	s->idle_ev = evtimer_new(base, idle_cb, s);
	s->m_clients = metrics_gauge("paced_stream_clients", NULL,
	    "Change streams (GET /v1/stream) open");
	s->m_messages = metrics_counter("paced_stream_messages_total", NULL,
	    "Change messages received on the changes channel");
	s->m_bad = metrics_counter("paced_stream_bad_messages_total", NULL,
	    "Messages on the changes channel that were not change messages");
	s->m_cut = metrics_counter("paced_stream_clients_cut_total", NULL,
	    "Change streams closed because the client did not read");
	s->m_subscribed = metrics_gauge("paced_stream_subscribed", NULL,
	    "1 while subscribed to the changes channel");
	metrics_set(s->m_clients, 0);
	metrics_set(s->m_subscribed, 0);
	return s;
}

void
stream_free(struct stream *s)
{
	struct client *c;

	if (s == NULL)
		return;
	s->freeing = true;
	while ((c = TAILQ_FIRST(&s->clients)) != NULL)
		client_forget(s, c);
	if (s->dns_req != NULL)
		evdns_getaddrinfo_cancel(s->dns_req);
	if (s->dns != NULL)
		evdns_base_free(s->dns, 0);
	if (s->ac != NULL) {
		s->ac->data = NULL;
		redisAsyncFree(s->ac);	/* subscribe_reply sees freeing */
	}
	ring_clear(s);
	event_free(s->heartbeat_ev);
	event_free(s->resub_ev);
	event_free(s->idle_ev);
	evbuffer_free(s->tmp);
	free(s->channel);
	free(s->host);
	for (size_t i = 0; i < s->nseeds; i++)
		free(s->seeds[i].host);
	free(s->seeds);
	free(s->unix_path);
	free(s->username);
	free(s->password);
	free(s->ca_file);
	free(s);
}

static bool
known_team(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nteams; i++)
		if (strcmp(cfg->teams[i].id, id) == 0)
			return true;
	return false;
}

/* The messages after last (kept, in the window) into out; false when the
 * ring does not hold last. */
static bool
replay(struct stream *s, const char *last, const char *team,
    struct evbuffer *out)
{
	int64_t oldest = caltime_mono_ms() - STREAM_WINDOW_MS;
	size_t i;

	for (i = 0; i < s->count; i++) {
		const struct msg *m = &s->ring[(s->head + i) % STREAM_RING];

		if (m->mono_ms >= oldest && strcmp(m->id, last) == 0)
			break;
	}
	if (i == s->count)
		return false;
	for (i++; i < s->count; i++) {
		const struct msg *m = &s->ring[(s->head + i) % STREAM_RING];

		if (team == NULL || (m->team != NULL &&
		    strcmp(m->team, team) == 0))
			evbuffer_add(out, m->frame, m->len);
	}
	return true;
}

int
stream_open(struct stream *s, struct evhttp_request *req, char *msg,
    size_t msglen)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = evhttp_uri_get_query(uri), *team = NULL, *last;
	struct evkeyvalq q;
	struct evkeyval *kv;
	struct evkeyvalq *hdrs;
	struct client *c;
	struct evbuffer *first;
	struct timeval forever = { 7 * 86400, 0 };
	int code = 200;

	TAILQ_INIT(&q);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		snprintf(msg, msglen, "only GET is served");
		return 405;
	}
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		snprintf(msg, msglen, "bad query string");
		return 400;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "team") != 0) {
			snprintf(msg, msglen, "unknown parameter %.64s", kv->key);
			code = 400;
		} else if (team != NULL) {
			snprintf(msg, msglen, "team given twice");
			code = 400;
		} else {
			team = kv->value;
		}
	}
	if (code == 200 && team != NULL && !known_team(*s->cfg, team)) {
		snprintf(msg, msglen, "unknown team %.64s", team);
		code = 404;
	}
	last = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Last-Event-ID");
	if (code == 200 && last != NULL && !changes_id_valid(last)) {
		snprintf(msg, msglen, "bad Last-Event-ID");
		code = 400;
	}
	if (code == 200 && s->nclients >= s->max_streams) {
		snprintf(msg, msglen, "too many streams open (http.max_streams)");
		code = 503;
	}
	if (code != 200) {
		evhttp_clear_headers(&q);
		return code;
	}
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	c->team = dup_or_null(team);
	evhttp_clear_headers(&q);
	hdrs = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdrs, "Content-Type", "text/event-stream");
	evhttp_add_header(hdrs, "Cache-Control", "no-cache");
	evhttp_add_header(hdrs, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	/* The idle timeout is for requests: the heartbeat and the backlog
	 * bound look after a stream. */
	evhttp_connection_set_timeout_tv(c->evcon, &forever);
	TAILQ_INSERT_TAIL(&s->clients, c, entry);
	s->nclients++;
	want(s);
	metrics_set(s->m_clients, s->nclients);
	first = evbuffer_new();
	evbuffer_add_printf(first, "retry: %d\n\n", STREAM_RETRY_MS);
	if (last != NULL && !replay(s, last, c->team, first))
		evbuffer_add(first, reset_frame, sizeof(reset_frame) - 1);
	evhttp_send_reply_chunk(req, first);
	evbuffer_free(first);
	log_debug("stream_open", "team=%s resume=%s streams=%d",
	    team != NULL ? log_quote(c->team) : "-",
	    last != NULL ? "yes" : "no", s->nclients);
	return 200;
}

void
stream_conn_closed(struct stream *s, struct evhttp_connection *evcon)
{
	struct client *c;
	struct evhttp_request *req;

	if (s == NULL || s->nclients == 0)
		return;
	TAILQ_FOREACH(c, &s->clients, entry)
		if (c->evcon == evcon)
			break;
	if (c == NULL)
		return;
	req = c->req;
	client_forget(s, c);
	/* A client that went away leaves the request detached from its
	 * connection (evhttp frees it only at the reply's end); still
	 * attached (evhttp_free), the connection frees it. */
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}
