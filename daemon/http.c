/*
 * http.c: evhttp routes. Health and metrics answer at once; the scorecard
 * reads the rep's counter hash for the requested bucket with one HGETALL
 * and answers from the reply. Errors are JSON {"error": "..."} with a 4xx
 * or 5xx status. When http.token_file is set, /v1/ requires
 * "Authorization: Bearer <token>".
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "caltime.h"
#include "decode.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_conn.h"
#include "scorecard.h"
#include "xmalloc.h"

/*
 * A request waiting for Redis. http_free orphans the ones still waiting
 * (h and req NULL: evhttp_free frees the requests) before redis_conn_free
 * hands their callbacks NULL, which then only free what they hold.
 */
struct waiting {
	struct http *h;
	struct evhttp_request *req;
	TAILQ_ENTRY(waiting) entry;
};

TAILQ_HEAD(waiting_list, waiting);

struct http {
	struct evhttp *evh;
	struct http_deps deps;
	struct metric *m_requests[3];	/* 2xx, 4xx, 5xx */
	struct waiting_list waiting;
};

static void
waiting_start(struct http *h, struct waiting *w, struct evhttp_request *req)
{
	w->h = h;
	w->req = req;
	TAILQ_INSERT_TAIL(&h->waiting, w, entry);
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
reply(struct http *h, struct evhttp_request *req, int code, const char *ctype,
    struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    ctype);
	metrics_inc(h->m_requests[code >= 500 ? 2 : code >= 400 ? 1 : 0]);
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 404 ?
	    "Not Found" : code == 400 ? "Bad Request" : code == 401 ?
	    "Unauthorized" : code == 405 ? "Method Not Allowed" :
	    code == 503 ? "Service Unavailable" : "Error", body);
}

static void
reply_json(struct http *h, struct evhttp_request *req, int code, cJSON *obj)
{
	struct evbuffer *b = evbuffer_new();
	char *s = cJSON_PrintUnformatted(obj);

	evbuffer_add_printf(b, "%s\n", s);
	reply(h, req, code, "application/json", b);
	free(s);
	evbuffer_free(b);
}

static void
reply_error(struct http *h, struct evhttp_request *req, int code,
    const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	reply_json(h, req, code, o);
	cJSON_Delete(o);
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
	cJSON_AddBoolToObject(o, "redis_up", redis_conn_up(h->deps.conn));
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
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		reply_error(sc->w.h, sc->w.req, 503, r == NULL ?
		    "redis unavailable" : "unexpected redis reply");
		free(sc);
		return;
	}
	if (rep == NULL) {
		reply_error(sc->w.h, sc->w.req, 404, "rep not on the roster");
		free(sc);
		return;
	}
	actual = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(double));
	card.kpis = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*card.kpis));
	for (size_t j = 0; j + 1 < r->elements; j += 2) {
		int k = config_kpi_index(cfg, r->element[j]->str);

		if (k >= 0)
			actual[k] = strtod(r->element[j + 1]->str, NULL);
	}
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
route_scorecard(struct http *h, struct evhttp_request *req, const char *rep_id)
{
	const struct config *cfg = *h->deps.cfg;
	const struct roster *roster = *h->deps.roster;
	struct evkeyvalq q;
	const char *ps, *at, *qs;
	struct scorecard_req *sc;
	const struct roster_rep *rep;
	struct bucket bucket;
	struct redis_argv *v;
	int rc;

	qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	evhttp_parse_query_str(qs != NULL ? qs : "", &q);
	sc = xcalloc(1, sizeof(*sc));
	snprintf(sc->rep_id, sizeof(sc->rep_id), "%s", rep_id);
	ps = evhttp_find_header(&q, "period");
	at = evhttp_find_header(&q, "at");
	if (ps == NULL)
		sc->period = PERIOD_DAY;
	else if (caltime_period_parse(ps, &sc->period) != 0) {
		reply_error(h, req, 400, "period must be day, week, month or quarter");
		goto done;
	}
	sc->at_ms = clock_now(owner_clock(h->deps.owner));
	if (at != NULL && caltime_parse_rfc3339(at, strlen(at), &sc->at_ms) != 0) {
		reply_error(h, req, 400, "at must be RFC 3339 with an offset");
		goto done;
	}
	if ((rep = roster_rep(roster, rep_id)) == NULL) {
		reply_error(h, req, 404, "rep not on the roster");
		goto done;
	}
	scorecard_bucket(rep, sc->period, sc->at_ms, &bucket);
	v = redis_argv_new();
	redis_argv_str(v, "HGETALL");
	redis_argv_take(v, keys_rep_counters(cfg, rep_id, sc->period,
	    bucket.start_day));
	waiting_start(h, &sc->w, req);
	rc = redis_conn_send(h->deps.conn, v, scorecard_reply, sc);
	redis_argv_free(v);
	if (rc != 0) {
		waiting_done(&sc->w);
		reply_error(h, req, 503, "redis unavailable");
		goto done;
	}
	evhttp_clear_headers(&q);
	return;
done:
	evhttp_clear_headers(&q);
	free(sc);
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
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
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
	struct evkeyvalq q;
	const char *qs, *status;
	struct alerts_req *ar;
	struct redis_argv *v;
	int rc;

	qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	evhttp_parse_query_str(qs != NULL ? qs : "", &q);
	status = evhttp_find_header(&q, "status");
	if (status != NULL && strcmp(status, "firing") != 0) {
		evhttp_clear_headers(&q);
		reply_error(h, req, 400, "status must be firing");
		return;
	}
	evhttp_clear_headers(&q);
	v = redis_argv_new();
	redis_argv_str(v, "HGETALL");
	redis_argv_take(v, keys_alerts_firing(cfg));
	ar = xcalloc(1, sizeof(*ar));
	waiting_start(h, &ar->w, req);
	rc = redis_conn_send(h->deps.conn, v, alerts_reply, ar);
	redis_argv_free(v);
	if (rc != 0) {
		waiting_done(&ar->w);
		free(ar);
		reply_error(h, req, 503, "redis unavailable");
	}
}

static bool
authorized(struct http *h, struct evhttp_request *req)
{
	const struct config *cfg = *h->deps.cfg;
	const char *auth;

	if (cfg->http.token == NULL)
		return true;
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
	    strcmp(auth + 7, cfg->http.token) == 0;
}

/* "/v1/reps/{rep_id}/scorecard" with the id percent-decoded (an id may
 * hold '@', which clients encode) and checked against the rep_id rule. */
static int
rep_from_path(const char *path, char *rep, size_t replen)
{
	static const char pre[] = "/v1/reps/", post[] = "/scorecard";
	size_t plen = strlen(path), seglen;
	char seg[3 * EVENT_REP_MAX + 1], *dec;
	size_t declen = 0;
	int rc = -1;

	if (plen <= sizeof(pre) - 1 + sizeof(post) - 1 ||
	    strncmp(path, pre, sizeof(pre) - 1) != 0 ||
	    strcmp(path + plen - (sizeof(post) - 1), post) != 0)
		return -1;
	seglen = plen - (sizeof(pre) - 1) - (sizeof(post) - 1);
	if (seglen >= sizeof(seg))
		return -1;
	memcpy(seg, path + sizeof(pre) - 1, seglen);
	seg[seglen] = '\0';
	if ((dec = evhttp_uridecode(seg, 0, &declen)) == NULL)
		return -1;
	if (declen >= 1 && declen <= EVENT_REP_MAX && declen < replen &&
	    strspn(dec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._@-") == declen) {
		memcpy(rep, dec, declen + 1);
		rc = 0;
	}
	free(dec);
	return rc;
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char rep[EVENT_REP_MAX + 1];

	if (path == NULL)
		path = "/";
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		reply_error(h, req, 405, "only GET is served");
		return;
	}
	if (strcmp(path, "/healthz") == 0)
		route_healthz(h, req);
	else if (strcmp(path, "/readyz") == 0)
		route_readyz(h, req);
	else if (strcmp(path, "/metrics") == 0)
		route_metrics(h, req);
	else if (strncmp(path, "/v1/", 4) == 0 && !authorized(h, req))
		reply_error(h, req, 401, "missing or wrong bearer token");
	else if (strcmp(path, "/v1/alerts") == 0)
		route_alerts(h, req);
	else if (rep_from_path(path, rep, sizeof(rep)) == 0)
		route_scorecard(h, req, rep);
	else
		reply_error(h, req, 404, "no such endpoint");
}

struct http *
http_new(struct event_base *base, const struct config *cfg,
    const struct http_deps *deps, char *err, size_t errlen)
{
	struct http *h = xcalloc(1, sizeof(*h));

	h->deps = *deps;
	TAILQ_INIT(&h->waiting);
	h->evh = evhttp_new(base);
	if (h->evh == NULL ||
	    evhttp_bind_socket(h->evh, cfg->http.host, (ev_uint16_t)cfg->http.port) != 0) {
		snprintf(err, errlen, "http.listen %s: cannot bind", cfg->http.listen);
		http_free(h);
		return NULL;
	}
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_timeout(h->evh, 30);
	evhttp_set_max_headers_size(h->evh, 16384);
	evhttp_set_max_body_size(h->evh, 65536);
	evhttp_set_gencb(h->evh, dispatch, h);
	h->m_requests[0] = metrics_counter("paced_http_requests_total",
	    "code=\"2xx\"", "HTTP requests answered, by status class");
	h->m_requests[1] = metrics_counter("paced_http_requests_total",
	    "code=\"4xx\"", "HTTP requests answered, by status class");
	h->m_requests[2] = metrics_counter("paced_http_requests_total",
	    "code=\"5xx\"", "HTTP requests answered, by status class");
	log_info("http_listening", "addr=%s", cfg->http.listen);
	return h;
}

void
http_free(struct http *h)
{
	struct waiting *w;

	if (h == NULL)
		return;
	while ((w = TAILQ_FIRST(&h->waiting)) != NULL) {
		TAILQ_REMOVE(&h->waiting, w, entry);
		w->h = NULL;
		w->req = NULL;
	}
	if (h->evh != NULL)
		evhttp_free(h->evh);
	free(h);
}
