/*
 * sink_webhook.c: one HTTP or HTTPS endpoint (Slack-compatible incoming
 * webhook, Teams, or any receiver of JSON). Bodies wait in a bounded queue
 * and are POSTed one at a time, in order. A 2xx answer delivers the head
 * of the queue; anything else, a failed connection or TLS handshake, or a
 * timeout retries it after a backoff that doubles up to a cap. A receiver
 * that is away (no connection, no answer, a certificate that does not
 * verify, 408, 429, 5xx) is waited for however long it takes: the message
 * is not at fault. A message the receiver refuses (any other status) is
 * retried max_retries times, then dropped and counted. Past the queue's
 * cap the oldest waiting body is dropped, so a receiver that is down for
 * long costs bounded memory and gets the newest news when back.
 *
 * Transport: libcurl's multi interface driven by the loop's own event base
 * (the "multi_socket" pattern): curl tells us, through its socket and
 * timer callbacks, which descriptors to watch and when to call it back;
 * libevent events call curl_multi_socket_action, which never blocks. Every
 * webhook, http:// or https://, goes this one way: one code path to test,
 * and curl verifies certificates and host names (on, always) with the
 * system's CA store or the webhook's ca_file. Host names are resolved by
 * curl's threaded resolver, off the loop. Each webhook has its own multi
 * handle and one easy handle, reused, so its connection is kept alive.
 *
 * Pitfalls of the pattern kept in mind here: curl may call the timer
 * callback from inside curl_multi_add_handle and asks for a zero timeout
 * there, so the timer event only arms (curl_multi_socket_action is never
 * called from inside a curl callback); libevent may report an event for
 * a descriptor curl just dropped (curl ignores it); finished transfers are
 * read with curl_multi_info_read after every action, and removed from the
 * multi there, outside curl's callbacks; curl_multi_cleanup may still call
 * the socket callback, so the socket records outlive it.
 *
 * Everything runs from libevent callbacks of ours: a send is started from
 * a timer, never from inside curl or from the caller of
 * sink_webhook_enqueue.
 *
 * Also the body formats (pure): a digest per manager and a single alert.
 */
#include "sink.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "backoff.h"
#include "budget.h"
#include "jsontext.h"
#include "log.h"
#include "metrics.h"
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

/* One descriptor curl asked us to watch. */
struct wh_sock {
	struct sink_webhook *wh;
	curl_socket_t fd;
	struct event *ev;
	LIST_ENTRY(wh_sock) entry;
};

LIST_HEAD(wh_socks, wh_sock);

/* Why an attempt failed, for logs and paced_webhook_errors_total. */
enum wh_err {
	WH_ERR_TLS,			/* handshake, certificate, host name */
	WH_ERR_CONNECT,			/* refused, unreachable, reset */
	WH_ERR_DNS,
	WH_ERR_TIMEOUT,
	WH_ERR_STATUS,			/* an HTTP status other than 2xx */
	WH_ERR_OTHER,
	WH_ERR_COUNT
};

static const char *const wh_err_names[WH_ERR_COUNT] = {
	"tls", "connect", "dns", "timeout", "status", "other"
};

struct sink_webhook {
	struct event_base *base;
	int index;
	char *url;
	char *host;			/* host[:port], for log lines */
	char *token;			/* may be NULL */
	char *ca_file;			/* may be NULL: the system's CAs */
	int64_t timeout_ms;
	int64_t connect_timeout_ms;
	int max_retries;
	bool digest;

	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;	/* of the attempt in flight */
	bool in_flight;			/* the easy handle is in the multi */
	bool reset;			/* ca_file changed: reset the handle */
	char errbuf[CURL_ERROR_SIZE];
	struct wh_socks socks;
	struct event *timer_ev;		/* curl's timeout */

	struct wh_queue queue;		/* head: in flight or next */
	size_t nqueue;
	struct backoff backoff;		/* the pauses after failures */
	struct event *send_ev;		/* starts the next attempt */

	struct metric *m_ok, *m_retry, *m_dropped, *m_queue;
	struct metric *m_err[WH_ERR_COUNT];
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

	if (wh->in_flight || TAILQ_EMPTY(&wh->queue))
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

/* The receiver is down, overloaded, unreachable or not verified (code 0:
 * no HTTP answer): no fault of the message, which waits for it. */
static bool
receiver_away(long code)
{
	return code == 0 || code == 408 || code == 429 || code >= 500;
}

/* detail: curl's own words (never the URL), or NULL. */
static void
attempt_failed(struct sink_webhook *wh, long code, enum wh_err why,
    const char *detail)
{
	struct wh_msg *m = TAILQ_FIRST(&wh->queue);
	long delay = backoff_next(&wh->backoff);

	metrics_inc(wh->m_err[why]);
	if (m == NULL)
		return;
	m->failures++;
	if (!receiver_away(code) && ++m->refusals > wh->max_retries) {
		metrics_inc(wh->m_dropped);
		log_warnx("webhook_dropped", "webhook=%d host=%s attempts=%d "
		    "status=%ld why=%s", wh->index, wh->host, m->failures,
		    code, wh_err_names[why]);
		pop_head(wh);
	} else {
		metrics_inc(wh->m_retry);
		/* The first failure of a message is worth a line; the
		 * retries after it are in the metrics. */
		if (m->failures == 1)
			log_warnx("webhook_failed", "webhook=%d host=%s "
			    "status=%ld why=%s error=%s retry_ms=%ld",
			    wh->index, wh->host, code, wh_err_names[why],
			    log_quote(detail != NULL ? detail : ""), delay);
	}
	/* Whether retried or dropped, the receiver is failing: the next
	 * attempt waits. */
	schedule_send(wh, delay);
}

static enum wh_err
classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return WH_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return WH_ERR_DNS;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return WH_ERR_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return WH_ERR_TLS;
	default:
		return WH_ERR_OTHER;
	}
}

/* One finished transfer: its easy handle leaves the multi (we are not
 * inside a curl callback here), then the queue moves on. */
static void
transfer_done(struct sink_webhook *wh, CURLcode rc)
{
	long code = 0;
	char detail[CURL_ERROR_SIZE];

	curl_easy_getinfo(wh->easy, CURLINFO_RESPONSE_CODE, &code);
	snprintf(detail, sizeof(detail), "%s", wh->errbuf[0] != '\0' ?
	    wh->errbuf : curl_easy_strerror(rc));
	curl_multi_remove_handle(wh->multi, wh->easy);
	curl_slist_free_all(wh->headers);
	wh->headers = NULL;
	wh->in_flight = false;
	if (rc != CURLE_OK) {
		attempt_failed(wh, 0, classify(rc), detail);
		return;
	}
	if (code >= 200 && code < 300) {
		metrics_inc(wh->m_ok);
		backoff_reset(&wh->backoff);
		pop_head(wh);
		schedule_send(wh, 0);
		return;
	}
	snprintf(detail, sizeof(detail), "the receiver answered %ld", code);
	attempt_failed(wh, code, WH_ERR_STATUS, detail);
}

static void
check_done(struct sink_webhook *wh)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(wh->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == wh->easy &&
		    wh->in_flight)
			transfer_done(wh, msg->data.result);
}

/* curl's timeout expired: let it act, then look for finished transfers. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_webhook *wh = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(wh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(wh);
}

/* A descriptor curl watches is ready. */
static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wh_sock *ws = arg;
	struct sink_webhook *wh = ws->wh;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	/* ws may be freed inside this call (CURL_POLL_REMOVE). */
	curl_multi_socket_action(wh->multi, fd, flags, &running);
	check_done(wh);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl says, or stop. */
static int
curl_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct sink_webhook *wh = userp;
	struct wh_sock *ws = sockp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ws != NULL) {
			event_free(ws->ev);
			LIST_REMOVE(ws, entry);
			free(ws);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		kind |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		kind |= EV_WRITE;
	if (ws == NULL) {
		ws = xcalloc(1, sizeof(*ws));
		ws->wh = wh;
		ws->fd = s;
		ws->ev = event_new(wh->base, s, kind, sock_event_cb, ws);
		LIST_INSERT_HEAD(&wh->socks, ws, entry);
		curl_multi_assign(wh->multi, s, ws);
	} else {
		event_del(ws->ev);
		event_assign(ws->ev, wh->base, s, kind, sock_event_cb, ws);
	}
	event_add(ws->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms or stops the timer event. */
static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct sink_webhook *wh = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(wh->timer_ev);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(wh->timer_ev, &tv);
	return 0;
}

/* The answer's body is not read: Slack says "ok", others say more. */
static size_t
discard_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static void
easy_setup(struct sink_webhook *wh)
{
	CURL *e = wh->easy;

	curl_easy_setopt(e, CURLOPT_URL, wh->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "paced");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, wh->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, wh);
}

static void
send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_webhook *wh = arg;
	struct wh_msg *m = TAILQ_FIRST(&wh->queue);
	CURL *e = wh->easy;
	struct curl_slist *h = NULL;

	(void)fd;
	(void)what;
	if (m == NULL || wh->in_flight)
		return;
	/* CURLOPT_CAINFO set to NULL would drop curl's default bundle
	 * rather than restore it: a webhook that stops naming a CA file
	 * starts from a fresh handle (connections and caches stay). */
	if (wh->reset) {
		curl_easy_reset(e);
		easy_setup(wh);
		wh->reset = false;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before a large body. */
	h = curl_slist_append(h, "Expect:");
	if (wh->token != NULL) {
		char *auth = xasprintf("Authorization: Bearer %s", wh->token);

		h = curl_slist_append(h, auth);
		free(auth);
	}
	if (h == NULL)
		fatalx("webhook", "curl_slist_append: out of memory");
	wh->headers = h;
	wh->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(m->body));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wh->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(wh->connect_timeout_ms < wh->timeout_ms ?
	    wh->connect_timeout_ms : wh->timeout_ms));
	if (wh->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, wh->ca_file);
	wh->in_flight = true;
	/* curl arms its timer from here (curl_timer_cb); the transfer
	 * starts from the loop. */
	if (curl_multi_add_handle(wh->multi, e) != CURLM_OK) {
		curl_slist_free_all(wh->headers);
		wh->headers = NULL;
		wh->in_flight = false;
		attempt_failed(wh, 0, WH_ERR_OTHER, "curl_multi_add_handle");
	}
}

/* host[:port] of url (the path often holds a secret: never logged). */
static char *
url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			out = xasprintf("%s:%s", host, port);
		else
			out = xstrdup(host);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* Once per process, before the first handle: curl_global_init is
 * thread-safe in the curl we build against (7.84 and later), and the
 * librdkafka threads never call curl. */
static int
curl_ready(char *err, size_t errlen)
{
	static bool done;

	if (done)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	done = true;
	return 0;
}

struct sink_webhook *
sink_webhook_new(struct event_base *base, int index,
    const struct config_webhook *w, char *err, size_t errlen)
{
	struct sink_webhook *wh;
	char labels[96];

	if (w->url == NULL) {
		snprintf(err, errlen, "webhook %d: no url", index);
		return NULL;
	}
	if (curl_ready(err, errlen) != 0)
		return NULL;
	wh = xcalloc(1, sizeof(*wh));
	wh->index = index;
	wh->base = base;
	LIST_INIT(&wh->socks);
	TAILQ_INIT(&wh->queue);
	if ((wh->host = url_host(w->url)) == NULL) {
		snprintf(err, errlen, "webhook %d: the url is not a URL", index);
		free(wh);
		return NULL;
	}
	wh->url = xstrdup(w->url);
	if ((wh->multi = curl_multi_init()) == NULL ||
	    (wh->easy = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "webhook %d: cannot create a curl "
		    "handle", index);
		sink_webhook_free(wh);
		return NULL;
	}
	curl_multi_setopt(wh->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(wh->multi, CURLMOPT_SOCKETDATA, wh);
	curl_multi_setopt(wh->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(wh->multi, CURLMOPT_TIMERDATA, wh);
	easy_setup(wh);
	wh->send_ev = evtimer_new(base, send_cb, wh);
	wh->timer_ev = evtimer_new(base, timer_cb, wh);
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
	for (int i = 0; i < WH_ERR_COUNT; i++) {
		snprintf(labels, sizeof(labels), "webhook=\"%d\",reason=\"%s\"",
		    index, wh_err_names[i]);
		wh->m_err[i] = metrics_counter("paced_webhook_errors_total",
		    labels, "Failed webhook attempts by reason: tls "
		    "(handshake, certificate or host name not verified), "
		    "connect, dns, timeout, status (an answer other than 2xx), "
		    "other");
	}
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
	/* Read by send_cb at each attempt: an attempt in flight keeps the
	 * settings it started with. */
	free(wh->token);
	wh->token = w->token != NULL && *w->token != '\0' ?
	    xstrdup(w->token) : NULL;
	if (wh->ca_file != NULL && w->ca_file == NULL)
		wh->reset = true;
	free(wh->ca_file);
	wh->ca_file = w->ca_file != NULL ? xstrdup(w->ca_file) : NULL;
	wh->timeout_ms = w->timeout_ms > 0 ? w->timeout_ms : 5000;
	wh->connect_timeout_ms = w->connect_timeout_ms > 0 ?
	    w->connect_timeout_ms : 5000;
	wh->max_retries = w->max_retries >= 0 ? w->max_retries : 0;
	wh->digest = w->digest;
}

void
sink_webhook_enqueue(struct sink_webhook *wh, char *body)
{
	struct wh_msg *m;

	if (wh->nqueue >= queue_max) {
		/* Drop the oldest that is not on the wire. */
		struct wh_msg *old = TAILQ_FIRST(&wh->queue);

		if (old != NULL && wh->in_flight)
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
	struct wh_sock *ws;

	if (wh == NULL)
		return;
	if (wh->nqueue > 0)
		log_warnx("webhook_queue_dropped", "webhook=%d host=%s "
		    "messages=%zu", wh->index, wh->host, wh->nqueue);
	if (wh->send_ev != NULL)
		event_free(wh->send_ev);
	wh->send_ev = NULL;
	/* curl may call both callbacks while it closes: the events and
	 * socket records it touches are freed after it. */
	if (wh->in_flight)
		curl_multi_remove_handle(wh->multi, wh->easy);
	if (wh->easy != NULL)
		curl_easy_cleanup(wh->easy);
	if (wh->multi != NULL)
		curl_multi_cleanup(wh->multi);
	curl_slist_free_all(wh->headers);
	while ((ws = LIST_FIRST(&wh->socks)) != NULL) {
		LIST_REMOVE(ws, entry);
		event_free(ws->ev);
		free(ws);
	}
	if (wh->timer_ev != NULL)
		event_free(wh->timer_ev);
	while ((m = TAILQ_FIRST(&wh->queue)) != NULL) {
		TAILQ_REMOVE(&wh->queue, m, entry);
		msg_free(m);
	}
	if (wh->m_queue != NULL)
		metrics_set(wh->m_queue, 0);
	free(wh->url);
	free(wh->host);
	free(wh->token);
	free(wh->ca_file);
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
