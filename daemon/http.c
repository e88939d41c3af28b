/*
 * http.c: evhttp routes. Health and metrics answer at once; the scorecard
 * reads the rep's counter hash for the requested bucket with one HGETALL
 * and answers from the reply. Errors are JSON {"error": "..."} with a 4xx
 * or 5xx status. When http.token_file is set, /v1/ requires
 * "Authorization: Bearer <token>".
 *
 * Reads go to their own Redis connection, at most READS_INFLIGHT at a
 * time (the rest wait in order), so a burst of API requests neither
 * delays ingest's commands on a shared connection nor fills Redis with
 * a long pipeline of ours.
 *
 * Connections: evhttp 2.1 has no connection limit and spins on accept()
 * when descriptors run out. Each accepted connection gets a bufferevent
 * made here (evhttp_set_bevcb), counted open; its close is hooked with
 * evhttp_connection_set_closecb on the same loop turn. At
 * http.max_connections the listener stops accepting (the kernel's backlog
 * holds the rest) until one closes; an accept() error (EMFILE, ENFILE,
 * ENOBUFS) pauses it with a backoff. Idle connections close after
 * http.idle_timeout. The output buffer's callback sees each response's
 * status line, which is how requests evhttp refuses by itself (400, 413,
 * 501) are counted.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "caltime.h"
#include "decode.h"
#include "http_boards.h"
#include "http_contests.h"
#include "http_funnel.h"
#include "http_dash.h"
#include "http_route.h"
#include "ingest.h"
#include "keys.h"
#include "jsontext.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "read_gate.h"
#include "redis_conn.h"
#include "reply.h"
#include "scorecard.h"
#include "stream.h"
#include "xmalloc.h"

#define READS_INFLIGHT		8	/* commands on the read connection */
#define ACCEPT_BACKOFF_MIN_MS	50
#define ACCEPT_BACKOFF_MAX_MS	2000
#define ACCEPT_LOG_EVERY_MS	10000

/*
 * A request waiting for Redis: queued (sent false) or sent. http_free
 * frees the queued ones and orphans the sent ones (h and req NULL:
 * evhttp_free frees the requests) before redis_conn_free hands their
 * callbacks NULL, which then only free what they hold.
 */
struct waiting {
	struct http *h;
	struct evhttp_request *req;
	redis_reply_cb *done;		/* frees the request's struct */
	struct redis_argv *cmd;		/* the read; owned until handed on */
	TAILQ_ENTRY(waiting) entry;	/* h->waiting: every one */
};

TAILQ_HEAD(waiting_list, waiting);

enum accept_state { ACCEPTING, PAUSED_FULL, PAUSED_ERROR };

struct http {
	struct evhttp *evh;
	struct evconnlistener *lev;	/* evhttp's; borrowed */
	struct http_deps deps;
	struct metric *m_requests[3];	/* 2xx, 4xx, 5xx */
	struct metric *m_refused;	/* answered by evhttp itself */
	struct waiting_list waiting;
	struct read_gate *gate;		/* every route's reads */

	int max_conns;
	int open;			/* connections open */
	struct bufferevent **fresh;	/* accepted; close not hooked yet */
	size_t nfresh, fresh_cap;
	struct event *adopt_ev;
	enum accept_state accept_state;
	struct event *resume_ev;
	long backoff_ms;
	int64_t error_since_ms;		/* first accept error of a run; 0 none */
	int error_pauses;
	bool error_logged;		/* this run's pause was logged */
	int64_t error_log_ms;		/* when a pause was last logged */
	bool replying;			/* inside reply(): our own response */
	bool freeing;
	struct metric *m_open, *m_paused, *m_pauses_full, *m_pauses_error;
	struct http *next;		/* every http, for the listener's errorcb */
	struct http_boards *boards;	/* leaderboards, teams, managers */
	struct http_contests *contests;
	struct http_funnel *funnel;	/* the funnel routes */
	struct http_dash *dash;		/* the dashboard page, /v1/org */
	struct stream *stream;		/* GET /v1/stream */
};

/* The listener's error callback gets evhttp as its argument: this list
 * finds the http that owns the listener. */
static struct http *all_http;

static void
read_reply(const redisReply *r, void *arg);

/* Registers a request to answer from the reply of w->cmd, sent through
 * the read gate (at once, or once fewer than READS_INFLIGHT reads are in
 * flight). done gets the reply (NULL: unknown) and frees w. */
static void
waiting_start(struct http *h, struct waiting *w, struct evhttp_request *req,
    redis_reply_cb *done)
{
	int rc;

	w->h = h;
	w->req = req;
	w->done = done;
	TAILQ_INSERT_TAIL(&h->waiting, w, entry);
	rc = read_gate_send(h->gate, w->cmd, read_reply, w);
	redis_argv_free(w->cmd);
	w->cmd = NULL;
	if (rc != 0)
		w->done(NULL, w);
}

/* The reply came: true when there is still someone to answer (w is then
 * off the list), false when http_free orphaned w. */
static bool
waiting_done(struct waiting *w)
{
	if (w->h == NULL)
		return false;
	TAILQ_REMOVE(&w->h->waiting, w, entry);
	return true;
}

static void
read_reply(const redisReply *r, void *arg)
{
	struct waiting *w = arg;

	w->done(r, w);		/* frees w */
}

static void
reply(struct http *h, struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    ctype);
	metrics_inc(h->m_requests[code >= 500 ? 2 : code >= 400 ? 1 : 0]);
	h->replying = true;	/* output_cb: this status line is counted */
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 304 ?
	    "Not Modified" : code == 404 ?
	    "Not Found" : code == 400 ? "Bad Request" : code == 401 ?
	    "Unauthorized" : code == 405 ? "Method Not Allowed" :
	    code == 503 ? "Service Unavailable" : "Error", body);
	h->replying = false;
}

static void
boards_reply(struct evhttp_request *req, int code, struct evbuffer *body,
    void *arg)
{
	reply(arg, req, code, "application/json", body);
}

static void
dash_reply(struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body, void *arg)
{
	reply(arg, req, code, ctype, body);
}

static void
reply_json(struct http *h, struct evhttp_request *req, int code, cJSON *obj)
{
	struct evbuffer *b = jsontext_body(obj);

	reply(h, req, code, "application/json", b);
	evbuffer_free(b);
}

static void
reply_error(struct http *h, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *b = jsontext_error_body(msg);

	reply(h, req, code, "application/json", b);
	evbuffer_free(b);
}

static void
route_healthz(struct http *h, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "ok\n");
	reply(h, req, 200, "text/plain", b);
	evbuffer_free(b);
}

static void
route_readyz(struct http *h, struct evhttp_request *req)
{
	cJSON *o = cJSON_CreateObject();
	bool ready = ingest_ready(h->deps.ingest);

	cJSON_AddStringToObject(o, "status", ready ? "ready" : "not_ready");
	cJSON_AddBoolToObject(o, "redis_up",
	    ingest_redis_up(h->deps.ingest));
	cJSON_AddBoolToObject(o, "redis_reads_up",
	    redis_conn_up(h->deps.reads));
	cJSON_AddBoolToObject(o, "dlq_stuck", ingest_dlq_stuck(h->deps.ingest));
	reply_json(h, req, ready ? 200 : 503, o);
	cJSON_Delete(o);
}

static void
route_metrics(struct http *h, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	metrics_render(b);
	reply(h, req, 200, "text/plain; version=0.0.4", b);
	evbuffer_free(b);
}

/* A scorecard request waiting for Redis. It keeps the rep's id, not
 * pointers into the config: a reload may swap the config meanwhile. */
struct scorecard_req {
	struct waiting w;		/* first: h and req */
	char rep_id[EVENT_REP_MAX + 1];
	enum period period;
	int64_t at_ms;
};

static void
add_opt_number(cJSON *o, const char *name, bool has, double v)
{
	if (has)
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void
scorecard_reply(const redisReply *r, void *arg)
{
	struct scorecard_req *sc = arg;
	const struct config *cfg;
	const struct roster_rep *rep;
	struct scorecard card;
	double *actual;
	cJSON *o, *kpis;
	char ts[40];

	if (!waiting_done(&sc->w)) {
		free(sc);
		return;
	}
	cfg = *sc->w.h->deps.cfg;
	rep = roster_rep(*sc->w.h->deps.roster, sc->rep_id);
	actual = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(double));
	if (reply_counter_values(cfg, r, actual) != 0) {
		reply_error(sc->w.h, sc->w.req, 503, r == NULL ?
		    "redis unavailable" : "unexpected redis reply");
		free(actual);
		free(sc);
		return;
	}
	if (rep == NULL) {
		reply_error(sc->w.h, sc->w.req, 404, "rep not on the roster");
		free(actual);
		free(sc);
		return;
	}
	card.kpis = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*card.kpis));
	scorecard_compute(cfg, rep, sc->period, sc->at_ms, actual, &card);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "rep_id", rep->rep->id);
	cJSON_AddStringToObject(o, "team_id", rep->team->id);
	cJSON_AddStringToObject(o, "role", rep->role->name);
	cJSON_AddStringToObject(o, "period", caltime_period_name(sc->period));
	caltime_format_local(card.bucket.start_ms,
	    tzone_offset_at(rep->zone, card.bucket.start_ms), ts, sizeof(ts));
	cJSON_AddStringToObject(o, "period_start", ts);
	caltime_format_local(card.bucket.end_ms,
	    tzone_offset_at(rep->zone, card.bucket.end_ms), ts, sizeof(ts));
	cJSON_AddStringToObject(o, "period_end", ts);
	caltime_format_local(sc->at_ms, tzone_offset_at(rep->zone, sc->at_ms),
	    ts, sizeof(ts));
	cJSON_AddStringToObject(o, "at", ts);
	cJSON_AddNumberToObject(o, "working_days", card.wt.days_period);
	cJSON_AddNumberToObject(o, "working_days_present", card.wt.days_present);
	cJSON_AddNumberToObject(o, "elapsed_fraction",
	    pacing_worktime_fraction(&card.wt));
	kpis = cJSON_AddArrayToObject(o, "kpis");
	for (size_t k = 0; k < cfg->nkpis; k++) {
		const struct config_kpi *kpi = &cfg->kpis[k];
		const struct scorecard_kpi *sk = &card.kpis[k];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "kpi", kpi->name);
		cJSON_AddStringToObject(e, "kind",
		    kpi->kind == KPI_LEADING ? "leading" : "lagging");
		cJSON_AddStringToObject(e, "measure",
		    kpi->measure == KPI_MEASURE_AMOUNT ? "amount" : "count");
		cJSON_AddNumberToObject(e, "actual", sk->actual);
		add_opt_number(e, "target", sk->has_target, sk->fig.target);
		add_opt_number(e, "expected_to_date", sk->has_target,
		    sk->fig.expected_to_date);
		add_opt_number(e, "pace", sk->has_target && sk->fig.has_pace,
		    sk->fig.pace);
		add_opt_number(e, "projected", sk->has_target &&
		    sk->fig.has_projected, sk->fig.projected);
		add_opt_number(e, "required_rate", sk->has_target &&
		    sk->fig.has_required_rate, sk->fig.required_rate);
		if (sk->has_target)
			cJSON_AddStringToObject(e, "status",
			    pacing_status_name(sk->fig.status));
		else
			cJSON_AddNullToObject(e, "status");
		cJSON_AddItemToArray(kpis, e);
	}
	reply_json(sc->w.h, sc->w.req, 200, o);
	cJSON_Delete(o);
	free(card.kpis);
	free(actual);
	free(sc);
}

static void
route_scorecard(struct http *h, struct evhttp_request *req,
    const struct http_request_route *rt)
{
	const struct config *cfg = *h->deps.cfg;
	const struct roster *roster = *h->deps.roster;
	struct scorecard_req *sc;
	const struct roster_rep *rep;
	struct bucket bucket;

	sc = xcalloc(1, sizeof(*sc));
	snprintf(sc->rep_id, sizeof(sc->rep_id), "%s", rt->rep_id);
	sc->period = rt->period;
	sc->at_ms = rt->has_at ? rt->at_ms : clock_now(owner_clock(h->deps.owner));
	if ((rep = roster_rep(roster, sc->rep_id)) == NULL) {
		reply_error(h, req, 404, "rep not on the roster");
		free(sc);
		return;
	}
	scorecard_bucket(rep, sc->period, sc->at_ms, &bucket);
	sc->w.cmd = redis_argv_new();
	redis_argv_str(sc->w.cmd, "HMGET");
	redis_argv_take(sc->w.cmd, keys_rep_counters(cfg, sc->rep_id,
	    sc->period, bucket.start_day));
	for (size_t k = 0; k < cfg->nkpis; k++)
		redis_argv_take(sc->w.cmd, keys_counter_field(sc->rep_id,
		    cfg->kpis[k].name));
	waiting_start(h, &sc->w, req, scorecard_reply);
}

/* A /v1/alerts request waiting for Redis. */
struct alerts_req {
	struct waiting w;
};

static void
alerts_reply(const redisReply *r, void *arg)
{
	struct alerts_req *ar = arg;
	cJSON *o, *list;

	if (!waiting_done(&ar->w)) {
		free(ar);
		return;
	}
	if (reply_hash(r) != 0) {
		reply_error(ar->w.h, ar->w.req, 503, r == NULL ?
		    "redis unavailable" : "unexpected redis reply");
		free(ar);
		return;
	}
	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "alerts");
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		cJSON *a = cJSON_ParseWithLength(r->element[i + 1]->str,
		    r->element[i + 1]->len);

		if (a != NULL)
			cJSON_AddItemToArray(list, a);
	}
	cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(list));
	reply_json(ar->w.h, ar->w.req, 200, o);
	cJSON_Delete(o);
	free(ar);
}

static void
route_alerts(struct http *h, struct evhttp_request *req)
{
	const struct config *cfg = *h->deps.cfg;
	struct alerts_req *ar;

	ar = xcalloc(1, sizeof(*ar));
	ar->w.cmd = redis_argv_new();
	redis_argv_str(ar->w.cmd, "HGETALL");
	redis_argv_take(ar->w.cmd, keys_alerts_firing(cfg));
	waiting_start(h, &ar->w, req, alerts_reply);
}

/* The event stream's status line is ours: counted here, not by
 * output_cb. */
static void
route_stream(struct http *h, struct evhttp_request *req)
{
	char msg[160];
	int code;

	h->replying = true;
	code = stream_open(h->stream, req, msg, sizeof(msg));
	h->replying = false;
	if (code == 200)
		metrics_inc(h->m_requests[0]);
	else
		reply_error(h, req, code, msg);
}

/* The route and its parameters come from http_route(), which the HTTP
 * fuzzer drives with any bytes. */
static void
dispatch(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct http_request_route rt;

	http_route(cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD,
	    evhttp_uri_get_path(uri), evhttp_uri_get_query(uri),
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization"), (*h->deps.cfg)->http.token, &rt);
	switch (rt.route) {
	case HTTP_ROUTE_ERROR:
		reply_error(h, req, rt.code, rt.err);
		break;
	case HTTP_ROUTE_HEALTHZ:
		route_healthz(h, req);
		break;
	case HTTP_ROUTE_READYZ:
		route_readyz(h, req);
		break;
	case HTTP_ROUTE_METRICS:
		route_metrics(h, req);
		break;
	case HTTP_ROUTE_ALERTS:
		route_alerts(h, req);
		break;
	case HTTP_ROUTE_STREAM:
		route_stream(h, req);
		break;
	case HTTP_ROUTE_SCORECARD:
		route_scorecard(h, req, &rt);
		break;
	case HTTP_ROUTE_BOARDS:
		/* Its own paths and parameters: http_boards.c. */
		if (!http_boards_route(h->boards, req,
		    evhttp_uri_get_path(uri)))
			reply_error(h, req, 404, "no such endpoint");
		break;
	case HTTP_ROUTE_DASH:
		/* The page and its assets, no token: http_dash.c. */
		if (!http_dash_route(h->dash, req, evhttp_uri_get_path(uri)))
			reply_error(h, req, 404, "no such endpoint");
		break;
	case HTTP_ROUTE_ORG:
		http_dash_org(h->dash, req);
		break;
	case HTTP_ROUTE_CONTESTS:
		http_contests_list(h->contests, req);
		break;
	case HTTP_ROUTE_CONTEST:
		http_contests_one(h->contests, req, rt.contest_id,
		    (size_t)rt.limit);
		break;
	case HTTP_ROUTE_FUNNEL:
		http_funnel_route(h->funnel, req, &rt);
		break;
	}
}

static void
set_accept_state(struct http *h, enum accept_state st)
{
	h->accept_state = st;
	metrics_set(h->m_paused, st == ACCEPTING ? 0 : 1);
}

/* The response about to go out starts with its status line, added in one
 * piece; a status line added outside reply() is evhttp's own answer (a
 * request it refused: 400, 413, 501, ...), counted here. */
static void
output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http *h = arg;
	struct evbuffer_ptr pos;
	char line[13];
	int code;

	if (h->replying || info->n_added < 12 ||
	    evbuffer_ptr_set(buf, &pos, info->orig_size, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &pos, line, 12) != 12)
		return;
	line[12] = '\0';
	if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    strspn(line + 9, "0123456789") != 3)
		return;
	code = atoi(line + 9);
	metrics_inc(h->m_requests[code >= 500 ? 2 : code >= 400 ? 1 : 0]);
	metrics_inc(h->m_refused);
	log_debug("http_refused", "code=%d", code);
}

/* evhttp closes a connection: one fewer open; accept again if the limit
 * had stopped it. Also called from evhttp_free. */
static void
connection_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http *h = arg;

	stream_conn_closed(h->stream, evcon);
	h->open--;
	metrics_set(h->m_open, h->open);
	if (h->freeing || h->open >= h->max_conns)
		return;
	if (h->accept_state == PAUSED_FULL) {
		set_accept_state(h, ACCEPTING);
		evconnlistener_enable(h->lev);
	} else if (h->accept_state == PAUSED_ERROR) {
		/* A descriptor was freed: try now rather than after the
		 * backoff. One try per close cannot spin. */
		evtimer_del(h->resume_ev);
		set_accept_state(h, ACCEPTING);
		evconnlistener_enable(h->lev);
	}
}

/* Runs on the loop turn of the accepts, once evhttp has wrapped each new
 * bufferevent in its connection (the bufferevent's callback argument):
 * hooks the connection's close. */
static void
adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < h->nfresh; i++) {
		struct bufferevent *bev = h->fresh[i];
		void *cbarg = NULL;
		struct evhttp_connection *evcon;

		bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
		evcon = cbarg;
		if (evcon != NULL &&
		    evhttp_connection_get_bufferevent(evcon) == bev) {
			evhttp_connection_set_closecb(evcon, connection_closed, h);
		} else {
			/* evhttp gave up on it already (its callbacks are
			 * cleared when it frees it): not open. */
			h->open--;
			metrics_set(h->m_open, h->open);
		}
		bufferevent_decref(bev);
	}
	h->nfresh = 0;
}

/* evhttp_set_bevcb: a connection was accepted. */
static struct bufferevent *
new_connection(struct event_base *base, void *arg)
{
	struct http *h = arg;
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;	/* evhttp makes its own; not counted */
	evbuffer_add_cb(bufferevent_get_output(bev), output_cb, h);
	if (h->nfresh == h->fresh_cap) {
		h->fresh_cap = h->fresh_cap ? h->fresh_cap * 2 : 16;
		h->fresh = xreallocarray(h->fresh, h->fresh_cap,
		    sizeof(*h->fresh));
	}
	/* Our reference keeps bev valid until adopt_cb, even if evhttp
	 * fails to set the connection up and frees it meanwhile. */
	bufferevent_incref(bev);
	h->fresh[h->nfresh++] = bev;
	event_active(h->adopt_ev, EV_TIMEOUT, 1);
	h->open++;
	metrics_set(h->m_open, h->open);
	if (h->error_since_ms != 0) {
		if (h->error_logged)
			log_info("http_accept_resumed", "paused_ms=%lld "
			    "pauses=%d open=%d", (long long)(caltime_mono_ms() -
			    h->error_since_ms), h->error_pauses, h->open);
		h->error_since_ms = 0;
		h->error_pauses = 0;
		h->backoff_ms = ACCEPT_BACKOFF_MIN_MS;
	}
	if (h->open >= h->max_conns && h->accept_state == ACCEPTING) {
		/* The listener checks this after each accept and stops. */
		evconnlistener_disable(h->lev);
		set_accept_state(h, PAUSED_FULL);
		metrics_inc(h->m_pauses_full);
		log_debug("http_accept_paused", "reason=max_connections open=%d",
		    h->open);
	}
	return bev;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	if (h->open >= h->max_conns) {
		set_accept_state(h, PAUSED_FULL);
		return;
	}
	set_accept_state(h, ACCEPTING);
	evconnlistener_enable(h->lev);
}

/* accept() failed with something other than EAGAIN or ECONNABORTED:
 * most often EMFILE. The listening socket stays readable, so accepting
 * again at once would spin: stop, and try again after a backoff. */
static void
accept_error(struct evconnlistener *lev, void *arg)
{
	int err = errno;
	struct http *h;
	struct timeval tv;

	(void)arg;		/* evhttp's */
	for (h = all_http; h != NULL && h->lev != lev; h = h->next)
		;
	if (h == NULL)
		return;
	evconnlistener_disable(lev);
	set_accept_state(h, PAUSED_ERROR);
	metrics_inc(h->m_pauses_error);
	if (h->error_since_ms == 0) {
		/* A run ends at the next accept. While connections come and
		 * go with descriptors still short, runs are short and many:
		 * log at most one every ACCEPT_LOG_EVERY_MS (the metric counts
		 * every pause). */
		h->error_since_ms = caltime_mono_ms();
		h->error_logged = h->error_log_ms == 0 ||
		    h->error_since_ms - h->error_log_ms >= ACCEPT_LOG_EVERY_MS;
		if (h->error_logged) {
			h->error_log_ms = h->error_since_ms;
			log_warnx("http_accept_paused", "reason=%s open=%d "
			    "retry_ms=%ld", log_quote(strerror(err)), h->open,
			    h->backoff_ms);
		}
	}
	h->error_pauses++;
	tv.tv_sec = h->backoff_ms / 1000;
	tv.tv_usec = (h->backoff_ms % 1000) * 1000;
	evtimer_add(h->resume_ev, &tv);
	h->backoff_ms = h->backoff_ms * 2 > ACCEPT_BACKOFF_MAX_MS ?
	    ACCEPT_BACKOFF_MAX_MS : h->backoff_ms * 2;
}

struct http *
http_new(struct event_base *base, const struct config *cfg,
    const struct http_deps *deps, char *err, size_t errlen)
{
	struct http *h = xcalloc(1, sizeof(*h));
	struct evhttp_bound_socket *bound = NULL;

	h->deps = *deps;
	if (h->deps.reads == NULL)
		h->deps.reads = h->deps.conn;
	TAILQ_INIT(&h->waiting);
	h->gate = read_gate_new(h->deps.reads, READS_INFLIGHT);
	h->max_conns = cfg->http.max_connections;
	h->backoff_ms = ACCEPT_BACKOFF_MIN_MS;
	h->adopt_ev = evtimer_new(base, adopt_cb, h);
	h->resume_ev = evtimer_new(base, resume_cb, h);
	h->next = all_http;
	all_http = h;
	h->boards = http_boards_new(&(struct http_boards_deps){ deps->cfg,
	    deps->roster, deps->owner, h->gate, boards_reply, h });
	h->contests = http_contests_new(&(struct http_contests_deps){
	    deps->cfg, deps->owner, h->gate, boards_reply, h });
	h->funnel = http_funnel_new(&(struct http_funnel_deps){ deps->cfg,
	    deps->roster, deps->owner, h->gate, boards_reply, h });
	h->dash = http_dash_new(&(struct http_dash_deps){ deps->cfg,
	    deps->roster, dash_reply, h });
	h->stream = stream_new(base, cfg, deps->cfg);
	h->evh = evhttp_new(base);
	if (h->evh != NULL)
		bound = evhttp_bind_socket_with_handle(h->evh, cfg->http.host,
		    (ev_uint16_t)cfg->http.port);
	if (bound == NULL) {
		snprintf(err, errlen, "http.listen %s: cannot bind", cfg->http.listen);
		http_free(h);
		return NULL;
	}
	h->lev = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(h->lev, accept_error);
	evhttp_set_bevcb(h->evh, new_connection, h);
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	{
		struct timeval idle = { cfg->http.idle_timeout_ms / 1000,
		    (cfg->http.idle_timeout_ms % 1000) * 1000 };

		evhttp_set_timeout_tv(h->evh, &idle);
	}
	evhttp_set_max_headers_size(h->evh, 16384);
	evhttp_set_max_body_size(h->evh, 65536);
	evhttp_set_gencb(h->evh, dispatch, h);
	h->m_requests[0] = metrics_counter("paced_http_requests_total",
	    "code=\"2xx\"", "HTTP requests answered, by status class");
	h->m_requests[1] = metrics_counter("paced_http_requests_total",
	    "code=\"4xx\"", "HTTP requests answered, by status class");
	h->m_requests[2] = metrics_counter("paced_http_requests_total",
	    "code=\"5xx\"", "HTTP requests answered, by status class");
	h->m_refused = metrics_counter("paced_http_refused_total", NULL,
	    "HTTP requests answered by the HTTP layer itself (malformed, "
	    "too large, unknown method); also in paced_http_requests_total");
	h->m_open = metrics_gauge("paced_http_connections", NULL,
	    "HTTP connections open");
	h->m_paused = metrics_gauge("paced_http_accept_paused", NULL,
	    "1 while the HTTP listener does not accept new connections");
	h->m_pauses_full = metrics_counter("paced_http_accept_pauses_total",
	    "reason=\"max_connections\"",
	    "Times the HTTP listener stopped accepting, by reason");
	h->m_pauses_error = metrics_counter("paced_http_accept_pauses_total",
	    "reason=\"accept_error\"",
	    "Times the HTTP listener stopped accepting, by reason");
	metrics_set(h->m_open, 0);
	metrics_set(h->m_paused, 0);
	log_info("http_listening", "addr=%s max_connections=%d idle_timeout_ms=%lld",
	    cfg->http.listen, h->max_conns,
	    (long long)cfg->http.idle_timeout_ms);
	return h;
}

void
http_free(struct http *h)
{
	struct waiting *w;
	struct http **pp;

	if (h == NULL)
		return;
	for (pp = &all_http; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	h->freeing = true;
	/* Connections not hooked yet are freed by evhttp_free below. */
	for (size_t i = 0; i < h->nfresh; i++)
		bufferevent_decref(h->fresh[i]);
	h->nfresh = 0;
	/* Orphaned: their replies (the gate's NULL for the ones still
	 * waiting, below) free what they hold. */
	while ((w = TAILQ_FIRST(&h->waiting)) != NULL) {
		TAILQ_REMOVE(&h->waiting, w, entry);
		w->h = NULL;
		w->req = NULL;
	}
	http_boards_free(h->boards);
	http_contests_free(h->contests);
	http_funnel_free(h->funnel);
	read_gate_free(h->gate);
	http_dash_free(h->dash);
	if (h->evh != NULL)
		evhttp_free(h->evh);
	stream_free(h->stream);		/* its streams closed with evhttp */
	if (h->adopt_ev != NULL)
		event_free(h->adopt_ev);
	if (h->resume_ev != NULL)
		event_free(h->resume_ev);
	free(h->fresh);
	free(h);
}
