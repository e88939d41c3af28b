/*
 * sink_webhook.c: one HTTP endpoint (Slack-compatible incoming webhook or
 * any receiver of JSON). Bodies wait in a bounded queue and are POSTed one
 * at a time, in order, over a kept-alive evhttp connection on the loop. A
 * 2xx answer delivers the head of the queue; anything else, a dropped
 * connection or the attempt timer retries it after a backoff that doubles
 * up to a cap. A receiver that is away (no connection, no answer, 408,
 * 429, 5xx) is waited for however long it takes: the message is not at
 * fault. A message the receiver refuses (any other status) is retried
 * max_retries times, then dropped and counted. Past the queue's cap the
 * oldest waiting body is dropped, so a receiver that is down for long
 * costs bounded memory and gets the newest news when back.
 *
 * Everything runs from libevent callbacks of ours: a send is started from
 * a timer, never from inside evhttp's own callback or from the caller of
 * sink_webhook_enqueue.
 *
 * Also the body formats (pure): a digest per manager and a single alert.
 */
#include "sink.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "backoff.h"
#include "budget.h"
#include "jsontext.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "xmalloc.h"

#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		(5 * 60 * 1000)
#define QUEUE_MAX		10000
#define DIGEST_TEXT_LINES	50	/* bullets in "text"; "alerts" has all */

static long backoff_min_ms = BACKOFF_MIN_MS;
static long backoff_max_ms = BACKOFF_MAX_MS;
static size_t queue_max = QUEUE_MAX;

struct wh_msg {
	char *body;
	int failures;			/* failed attempts so far */
	int refusals;			/* of them, refused by the receiver */
	TAILQ_ENTRY(wh_msg) entry;
};

TAILQ_HEAD(wh_queue, wh_msg);

struct sink_webhook {
	struct event_base *base;
	int index;
	char *url;
	char *host;			/* for connect; no brackets */
	char *host_header;		/* Host: value */
	int port;
	char *target;			/* path?query */
	char *token;			/* may be NULL */
	int64_t timeout_ms;
	int max_retries;
	bool digest;

	struct evdns_base *dns;		/* only for a host name */
	struct evhttp_connection *evcon;
	struct evhttp_request *req;	/* the attempt in flight, or NULL */
	struct wh_queue queue;		/* head: in flight or next */
	size_t nqueue;
	struct backoff backoff;		/* the pauses after failures */

	struct event *send_ev;		/* starts the next attempt */
	struct event *deadline_ev;	/* bounds the attempt in flight */

	struct metric *m_ok, *m_retry, *m_dropped, *m_queue;
};

void
sink_webhook_set_backoff(long min_ms, long max_ms)
{
	backoff_min_ms = min_ms > 0 ? min_ms : BACKOFF_MIN_MS;
	backoff_max_ms = max_ms > 0 ? max_ms : BACKOFF_MAX_MS;
	if (backoff_max_ms < backoff_min_ms)
		backoff_max_ms = backoff_min_ms;
}

void
sink_webhook_set_queue_max(size_t max)
{
	queue_max = max > 0 ? max : QUEUE_MAX;
}

static void
msg_free(struct wh_msg *m)
{
	free(m->body);
	free(m);
}

static void
update_gauge(struct sink_webhook *wh)
{
	metrics_set(wh->m_queue, (double)wh->nqueue);
}

static void
schedule_send(struct sink_webhook *wh, long delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	if (wh->req != NULL || TAILQ_EMPTY(&wh->queue))
		return;
	evtimer_add(wh->send_ev, &tv);
}

/* The head was dropped or delivered: the next one goes now. */
static void
pop_head(struct sink_webhook *wh)
{
	struct wh_msg *m = TAILQ_FIRST(&wh->queue);

	TAILQ_REMOVE(&wh->queue, m, entry);
	wh->nqueue--;
	msg_free(m);
	update_gauge(wh);
}

/* The receiver is down, overloaded or unreachable (code 0: no HTTP
 * answer): no fault of the message, which waits for it to come back. */
static bool
receiver_away(int code)
{
	return code == 0 || code == 408 || code == 429 || code >= 500;
}

static void
attempt_failed(struct sink_webhook *wh, int code, const char *why)
{
	struct wh_msg *m = TAILQ_FIRST(&wh->queue);
	long delay = backoff_next(&wh->backoff);

	if (m == NULL)
		return;
	m->failures++;
	if (!receiver_away(code) && ++m->refusals > wh->max_retries) {
		metrics_inc(wh->m_dropped);
		log_warnx("webhook_dropped", "webhook=%d host=%s attempts=%d "
		    "status=%d why=%s", wh->index, wh->host_header,
		    m->failures, code, why);
		pop_head(wh);
	} else {
		metrics_inc(wh->m_retry);
		/* The first failure of a message is worth a line; the
		 * retries after it are in the metrics. */
		if (m->failures == 1)
			log_warnx("webhook_failed", "webhook=%d host=%s status=%d "
			    "why=%s retry_ms=%ld", wh->index, wh->host_header,
			    code, why, delay);
	}
	/* Whether retried or dropped, the receiver is failing: the next
	 * attempt waits. */
	schedule_send(wh, delay);
}

static void
request_done(struct evhttp_request *req, void *arg)
{
	struct sink_webhook *wh = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (wh->req == NULL)
		return;		/* already failed by the deadline */
	wh->req = NULL;
	evtimer_del(wh->deadline_ev);
	if (code >= 200 && code < 300) {
		metrics_inc(wh->m_ok);
		backoff_reset(&wh->backoff);
		pop_head(wh);
		schedule_send(wh, 0);
		return;
	}
	attempt_failed(wh, code, code == 0 ? "connection" : "status");
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_webhook *wh = arg;
	struct evhttp_request *req = wh->req;

	(void)fd;
	(void)what;
	if (req == NULL)
		return;
	/* Cancelling resets the connection and frees req without calling
	 * request_done. */
	wh->req = NULL;
	evhttp_cancel_request(req);
	attempt_failed(wh, 0, "timeout");
}

static void
send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_webhook *wh = arg;
	struct wh_msg *m = TAILQ_FIRST(&wh->queue);
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (m == NULL || wh->req != NULL)
		return;
	req = evhttp_request_new(request_done, wh);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", wh->host_header);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "paced");
	if (wh->token != NULL) {
		char *auth = xasprintf("Bearer %s", wh->token);

		evhttp_add_header(h, "Authorization", auth);
		free(auth);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), m->body,
	    strlen(m->body));
	tv.tv_sec = wh->timeout_ms / 1000;
	tv.tv_usec = (wh->timeout_ms % 1000) * 1000;
	wh->req = req;
	evtimer_add(wh->deadline_ev, &tv);
	/* A refused connect can answer from inside this call (request_done
	 * then clears wh->req); -1 means the request never got queued. */
	if (evhttp_make_request(wh->evcon, req, EVHTTP_REQ_POST,
	    wh->target) != 0 && wh->req == req) {
		wh->req = NULL;
		evtimer_del(wh->deadline_ev);
		evhttp_request_free(req);
		attempt_failed(wh, 0, "request");
	}
}

/*
 * Splits an http:// URL into wh's host, port and target. The path often
 * holds a secret (Slack's do), so neither err nor any log line quotes the
 * URL: they name the webhook's index and host.
 */
static int
parse_url(struct sink_webhook *wh, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host, *path, *query;
	size_t hl;
	int rc = -1;

	if (u == NULL) {
		snprintf(err, errlen, "webhook %d: the url is not a URL",
		    wh->index);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0) {
		snprintf(err, errlen, "webhook %d: only http:// is supported",
		    wh->index);
		goto out;
	}
	if (host == NULL || *host == '\0') {
		snprintf(err, errlen, "webhook %d: the url has no host",
		    wh->index);
		goto out;
	}
	wh->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		wh->host = xstrndup(host + 1, hl - 2);
	else
		wh->host = xstrdup(host);
	wh->host_header = wh->port == 80 ? xstrdup(host) :
	    xasprintf("%s:%d", host, wh->port);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	wh->target = xasprintf("%s%s%s", path != NULL && *path != '\0' ? path :
	    "/", query != NULL ? "?" : "", query != NULL ? query : "");
	rc = 0;
out:
	evhttp_uri_free(u);
	return rc;
}

struct sink_webhook *
sink_webhook_new(struct event_base *base, int index,
    const struct config_webhook *w, char *err, size_t errlen)
{
	struct sink_webhook *wh = xcalloc(1, sizeof(*wh));
	char labels[96];

	wh->index = index;
	if (w->url == NULL || parse_url(wh, w->url, err, errlen) != 0) {
		if (w->url == NULL)
			snprintf(err, errlen, "webhook %d: no url", index);
		free(wh->host);
		free(wh->host_header);
		free(wh->target);
		free(wh);
		return NULL;
	}
	wh->base = base;
	wh->url = xstrdup(w->url);
	TAILQ_INIT(&wh->queue);
	/* Without a DNS base evhttp resolves a name with a blocking
	 * getaddrinfo; an address needs no resolving at all. */
	if (!netaddr_is_numeric(wh->host)) {
		wh->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (wh->dns == NULL) {
			snprintf(err, errlen, "webhook %d: no DNS resolver "
			    "for %s (/etc/resolv.conf)", index, wh->host);
			sink_webhook_free(wh);
			return NULL;
		}
	}
	wh->evcon = evhttp_connection_base_new(base, wh->dns, wh->host,
	    (unsigned short)wh->port);
	if (wh->evcon == NULL) {
		snprintf(err, errlen, "webhook %d: cannot create a "
		    "connection to %s", index, wh->host_header);
		sink_webhook_free(wh);
		return NULL;
	}
	evhttp_connection_set_retries(wh->evcon, 0);	/* we retry */
	wh->send_ev = evtimer_new(base, send_cb, wh);
	wh->deadline_ev = evtimer_new(base, deadline_cb, wh);
	backoff_init(&wh->backoff, backoff_min_ms, backoff_max_ms);
	sink_webhook_set_config(wh, w);

	snprintf(labels, sizeof(labels), "webhook=\"%d\",result=\"ok\"", index);
	wh->m_ok = metrics_counter("paced_webhook_deliveries_total", labels,
	    "Webhook attempts by result: ok, retry (failed, will retry), "
	    "dropped (retries exhausted or queue full)");
	snprintf(labels, sizeof(labels), "webhook=\"%d\",result=\"retry\"", index);
	wh->m_retry = metrics_counter("paced_webhook_deliveries_total", labels,
	    "Webhook attempts by result: ok, retry (failed, will retry), "
	    "dropped (retries exhausted or queue full)");
	snprintf(labels, sizeof(labels), "webhook=\"%d\",result=\"dropped\"",
	    index);
	wh->m_dropped = metrics_counter("paced_webhook_deliveries_total", labels,
	    "Webhook attempts by result: ok, retry (failed, will retry), "
	    "dropped (retries exhausted or queue full)");
	snprintf(labels, sizeof(labels), "webhook=\"%d\"", index);
	wh->m_queue = metrics_gauge("paced_webhook_queue", labels,
	    "Webhook messages queued or in flight");
	update_gauge(wh);
	return wh;
}

const char *
sink_webhook_url(const struct sink_webhook *wh)
{
	return wh->url;
}

bool
sink_webhook_digest(const struct sink_webhook *wh)
{
	return wh->digest;
}

void
sink_webhook_set_config(struct sink_webhook *wh,
    const struct config_webhook *w)
{
	struct timeval tv;

	free(wh->token);
	wh->token = w->token != NULL && *w->token != '\0' ?
	    xstrdup(w->token) : NULL;
	wh->timeout_ms = w->timeout_ms > 0 ? w->timeout_ms : 5000;
	wh->max_retries = w->max_retries >= 0 ? w->max_retries : 0;
	wh->digest = w->digest;
	/* evhttp's own read/write timeouts; the deadline timer bounds the
	 * whole attempt, connect included. */
	tv.tv_sec = wh->timeout_ms / 1000;
	tv.tv_usec = (wh->timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(wh->evcon, &tv);
}

void
sink_webhook_enqueue(struct sink_webhook *wh, char *body)
{
	struct wh_msg *m;

	if (wh->nqueue >= queue_max) {
		/* Drop the oldest that is not on the wire. */
		struct wh_msg *old = TAILQ_FIRST(&wh->queue);

		if (old != NULL && wh->req != NULL)
			old = TAILQ_NEXT(old, entry);
		if (old != NULL) {
			TAILQ_REMOVE(&wh->queue, old, entry);
			wh->nqueue--;
			msg_free(old);
			metrics_inc(wh->m_dropped);
		}
	}
	m = xcalloc(1, sizeof(*m));
	m->body = body;
	TAILQ_INSERT_TAIL(&wh->queue, m, entry);
	wh->nqueue++;
	update_gauge(wh);
	/* A pending backoff stays as it is. */
	if (!evtimer_pending(wh->send_ev, NULL))
		schedule_send(wh, 0);
}

size_t
sink_webhook_queued(const struct sink_webhook *wh)
{
	return wh->nqueue;
}

void
sink_webhook_free(struct sink_webhook *wh)
{
	struct wh_msg *m;

	if (wh == NULL)
		return;
	if (wh->nqueue > 0)
		log_warnx("webhook_queue_dropped", "webhook=%d host=%s "
		    "messages=%zu", wh->index, wh->host_header, wh->nqueue);
	if (wh->send_ev != NULL)
		event_free(wh->send_ev);
	if (wh->deadline_ev != NULL)
		event_free(wh->deadline_ev);
	/* Frees a request in flight without calling request_done. */
	if (wh->evcon != NULL)
		evhttp_connection_free(wh->evcon);
	if (wh->dns != NULL)
		evdns_base_free(wh->dns, 0);
	while ((m = TAILQ_FIRST(&wh->queue)) != NULL) {
		TAILQ_REMOVE(&wh->queue, m, entry);
		msg_free(m);
	}
	if (wh->m_queue != NULL)
		metrics_set(wh->m_queue, 0);
	free(wh->url);
	free(wh->host);
	free(wh->host_header);
	free(wh->target);
	free(wh->token);
	free(wh);
}

/* Appends s to b with Slack's three control characters escaped. */
static void
slack_escape(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		default:
			evbuffer_add(b, s, 1);
		}
	}
}

static char *
buffer_string(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	char *s = xmalloc(len + 1);

	evbuffer_remove(b, s, len);
	s[len] = '\0';
	return s;
}

/* The alert object itself when json holds one; else null. */
static cJSON *
alert_item(const char *json)
{
	cJSON *o;

	if (json == NULL || (o = cJSON_Parse(json)) == NULL)
		return cJSON_CreateNull();
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return cJSON_CreateNull();
	}
	return o;
}

char *
sink_webhook_single(const struct alert_record *a)
{
	cJSON *o = cJSON_CreateObject();
	struct evbuffer *b = evbuffer_new();
	char *text;

	slack_escape(b, a->message);
	text = buffer_string(b);
	evbuffer_free(b);
	cJSON_AddStringToObject(o, "text", text);
	free(text);
	cJSON_AddItemToObject(o, "alert", alert_item(a->json));
	return jsontext_take(o);
}

/* One digest: idx[0..n) index alerts; manager may be NULL; note (NULL:
 * none) what the budget held. */
static char *
digest_body(const char *manager, const struct alert_record *alerts,
    const size_t *idx, size_t n, const struct budget_note *note)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	struct evbuffer *b = evbuffer_new();
	size_t firing = 0;
	char *text;

	for (size_t i = 0; i < n; i++)
		if (alerts[idx[i]].status != NULL &&
		    strcmp(alerts[idx[i]].status, "firing") == 0)
			firing++;
	evbuffer_add_printf(b, "*paced: %zu pacing alert%s", n, n == 1 ? "" : "s");
	if (manager != NULL) {
		evbuffer_add_printf(b, " for ");
		slack_escape(b, manager);
	}
	evbuffer_add_printf(b, "* (%zu firing, %zu resolved)", firing,
	    n - firing);
	for (size_t i = 0; i < n && i < DIGEST_TEXT_LINES; i++) {
		const struct alert_record *a = &alerts[idx[i]];

		evbuffer_add_printf(b, "\n\xe2\x80\xa2 ");	/* U+2022 bullet */
		slack_escape(b, a->message);
	}
	if (n > DIGEST_TEXT_LINES)
		evbuffer_add_printf(b, "\n\xe2\x80\xa2 ... and %zu more",
		    n - DIGEST_TEXT_LINES);
	if (note != NULL && note->held_before > 0)
		evbuffer_add_printf(b, "\n\xe2\x80\xa2 %ld more alert%s held "
		    "on the previous day (limit: %ld a day).",
		    note->held_before, note->held_before == 1 ? " was" : "s were",
		    note->max);
	if (note != NULL && note->held_now > 0)
		evbuffer_add_printf(b, "\n\xe2\x80\xa2 %ld more alert%s held: "
		    "the limit of %ld a day is reached; the rest of today's "
		    "are on the alerts API.", note->held_now,
		    note->held_now == 1 ? " is" : "s are", note->max);
	text = buffer_string(b);
	evbuffer_free(b);
	cJSON_AddStringToObject(o, "text", text);
	free(text);
	if (manager != NULL)
		cJSON_AddStringToObject(o, "manager_id", manager);
	else
		cJSON_AddNullToObject(o, "manager_id");
	arr = cJSON_AddArrayToObject(o, "alerts");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, alert_item(alerts[idx[i]].json));
	if (note != NULL && (note->held_now > 0 || note->held_before > 0)) {
		cJSON_AddNumberToObject(o, "held", (double)note->held_now);
		cJSON_AddNumberToObject(o, "held_before",
		    (double)note->held_before);
	}
	return jsontext_take(o);
}

static bool
same_manager(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

size_t
sink_webhook_digests(const struct alert_record *alerts, size_t n,
    char ***bodies)
{
	return sink_webhook_digests_budget(alerts, n, NULL, bodies);
}

size_t
sink_webhook_digests_budget(const struct alert_record *alerts, size_t n,
    const struct sink_budget *bud, char ***bodies)
{
	/* Managers in order of first mention, and per manager the alerts
	 * (by index) that name it; an alert names each manager once. */
	const char **mgr = NULL;
	size_t **idx = NULL, *nidx = NULL, nmgr = 0, cap = 0, nout = 0;
	bool *crit;
	char **out;

	for (size_t i = 0; i < n; i++) {
		const struct alert_record *a = &alerts[i];
		const char *const *names = a->notify;
		size_t nnames = a->nnotify;
		const char *fallback = a->manager_id;

		if (nnames == 0) {
			names = &fallback;
			nnames = 1;
		}
		for (size_t k = 0; k < nnames; k++) {
			size_t m;
			bool dup = false;

			for (size_t j = 0; j < k; j++)
				if (same_manager(names[j], names[k]))
					dup = true;
			if (dup)
				continue;
			for (m = 0; m < nmgr; m++)
				if (same_manager(mgr[m], names[k]))
					break;
			if (m == nmgr) {
				if (nmgr == cap) {
					cap = cap ? cap * 2 : 8;
					mgr = xreallocarray(mgr, cap, sizeof(*mgr));
					idx = xreallocarray(idx, cap, sizeof(*idx));
					nidx = xreallocarray(nidx, cap,
					    sizeof(*nidx));
				}
				mgr[m] = names[k];
				idx[m] = xcalloc(n, sizeof(**idx));
				nidx[m] = 0;
				nmgr++;
			}
			idx[m][nidx[m]++] = i;
		}
	}
	out = xcalloc(nmgr > 0 ? nmgr : 1, sizeof(*out));
	crit = xcalloc(n > 0 ? n : 1, sizeof(*crit));
	for (size_t i = 0; i < n; i++)
		crit[i] = alerts[i].severity != NULL &&
		    strcmp(alerts[i].severity, "critical") == 0 &&
		    alerts[i].status != NULL &&
		    strcmp(alerts[i].status, "firing") == 0;
	for (size_t m = 0; m < nmgr; m++) {
		struct budget_note note;
		size_t keep = nidx[m];

		if (bud != NULL) {
			keep = budget_take(bud->budget, mgr[m],
			    bud->day_of(bud->ctx, &alerts[idx[m][0]]), bud->max,
			    crit, idx[m], nidx[m], &note);
			if (bud->taken != NULL)
				bud->taken(bud->ctx, mgr[m]);
			if (keep > 0)
				out[nout++] = digest_body(mgr[m], alerts,
				    idx[m], keep, &note);
		} else
			out[nout++] = digest_body(mgr[m], alerts, idx[m], keep,
			    NULL);
		free(idx[m]);
	}
	free(crit);
	free(mgr);
	free(idx);
	free(nidx);
	*bodies = out;
	return nout;
}
