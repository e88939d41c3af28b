/*
 * producer.c: owns one librdkafka producer handle and its place on the
 * loop. Reports and logs arrive on librdkafka's main queue, which wakes
 * the loop through a pipe; a 200 ms timer polls as well, because the pipe
 * is written only when the queue goes from empty to non-empty.
 *
 * Every message sent is tracked from producer_send to its last report, in
 * send order, so the owner can see how many are outstanding and how long
 * the oldest has waited. With resend, the producer keeps its own copy of
 * each message and produces a failed one again from a timer, oldest
 * first; with a truncation header as well, a message too large for the
 * producer or the broker is cut to fit and marked instead of failing for
 * ever.
 */
#include "producer.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "caltime.h"
#include "kafka_loop.h"
#include "log.h"
#include "xmalloc.h"

#define RESEND_MS	2000	/* pause before producing a failed message again */
#define FAIL_LOG_MS	10000	/* at most one failure line per this, per producer */
#define SERVE_ROUNDS	64	/* polls per wake-up: keeps callbacks short */
/* librdkafka's bound on one record's framing (RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD)
 * and on one header's (two varints); plus a margin for what we do not
 * count exactly. */
#define RECORD_OVERHEAD	36
#define HEADER_OVERHEAD	10
#define CUT_MARGIN	64
#define NO_CUT		SIZE_MAX

struct copy_header {
	char *name;
	void *value;
	size_t len;
};

/* One message from producer_send to its last report. */
struct pmsg {
	void *opaque;
	int64_t first_ms;	/* monotonic time of producer_send */
	size_t cut;		/* value cut to this many bytes, or NO_CUT */
	/* With resend, a copy of the message. */
	char *topic;
	void *key, *value;
	size_t keylen, valuelen;
	struct copy_header *headers;
	size_t nheaders;
	TAILQ_ENTRY(pmsg) all;		/* outstanding, oldest first */
	TAILQ_ENTRY(pmsg) wait;		/* waiting to be produced again */
	/* With resend, the copies of topic, key and value, each with a NUL:
	 * one allocation per message, the pmsg's own. */
	char data[];
};

TAILQ_HEAD(pmsg_list, pmsg);

struct producer {
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	char *name;
	bool resend;
	char *cut_header;	/* NULL: never cut */
	size_t max_bytes;	/* message.max.bytes */
	producer_report_cb *cb;
	void *arg;
	int inflight;		/* handed to librdkafka, not reported */
	int nwaiting;
	int npending;
	uint64_t ncut;
	bool failed;		/* a fatal error: nothing will be delivered */
	struct pmsg_list pending;	/* every outstanding message */
	struct pmsg_list waiting;	/* the resend queue */
	struct kafka_wake *wake;
	struct event *resend_ev;
	int64_t fail_logged_ms;	/* monotonic time of the last failure line */
	unsigned fail_quiet;	/* failures since then, not logged */
};

/* Logs a failure at most every FAIL_LOG_MS, with the count it held back:
 * a broker outage fails every message, and lines are not per message. */
static void
log_failure(struct producer *p, const char *what, rd_kafka_resp_err_t err)
{
	int64_t now = caltime_mono_ms();

	if (p->fail_logged_ms != 0 && now - p->fail_logged_ms < FAIL_LOG_MS) {
		p->fail_quiet++;
		return;
	}
	log_warnx("kafka_produce_failed", "producer=%s what=%s err=%s "
	    "resend=%s more=%u", p->name, what, log_quote(rd_kafka_err2str(err)),
	    p->resend ? "yes" : "no", p->fail_quiet);
	p->fail_logged_ms = now;
	p->fail_quiet = 0;
}

static void *
memdup(const void *v, size_t len)
{
	void *c;

	if (v == NULL)
		return NULL;
	c = xmalloc(len + 1);
	memcpy(c, v, len);
	((char *)c)[len] = '\0';
	return c;
}

/* A new pmsg with room for extra bytes of copies (pmsg_copy). */
static struct pmsg *
pmsg_new(struct producer *p, void *opaque, size_t extra)
{
	struct pmsg *pm = xmalloc(sizeof(*pm) + extra);

	memset(pm, 0, sizeof(*pm));

	pm->opaque = opaque;
	pm->first_ms = caltime_mono_ms();
	pm->cut = NO_CUT;
	TAILQ_INSERT_TAIL(&p->pending, pm, all);
	p->npending++;
	return pm;
}

/* The room pmsg_copy needs for m's topic, key and value. */
static size_t
pmsg_copy_size(const struct producer_msg *m)
{
	return strlen(m->topic) + 1 +
	    (m->key != NULL ? m->keylen + 1 : 0) +
	    (m->value != NULL ? m->valuelen + 1 : 0);
}

/* len bytes of v and a NUL at *at, which moves past them; NULL stays. */
static void *
place(char **at, const void *v, size_t len)
{
	char *c = *at;

	if (v == NULL)
		return NULL;
	memcpy(c, v, len);
	c[len] = '\0';
	*at += len + 1;
	return c;
}

/* Keeps a copy of m (borrowed) in pm, for the resend timer: topic, key
 * and value in pm's own storage (pmsg_new with pmsg_copy_size). */
static void
pmsg_copy(struct pmsg *pm, const struct producer_msg *m)
{
	char *at = pm->data;

	pm->topic = place(&at, m->topic, strlen(m->topic));
	pm->key = place(&at, m->key, m->keylen);
	pm->keylen = m->key != NULL ? m->keylen : 0;
	pm->value = place(&at, m->value, m->valuelen);
	pm->valuelen = m->value != NULL ? m->valuelen : 0;
	if (m->nheaders > 0)
		pm->headers = xcalloc(m->nheaders, sizeof(*pm->headers));
	for (size_t i = 0; i < m->nheaders; i++) {
		pm->headers[i].name = xstrdup(m->headers[i].name);
		pm->headers[i].value = memdup(m->headers[i].value,
		    m->headers[i].len);
		pm->headers[i].len = m->headers[i].len;
	}
	pm->nheaders = m->nheaders;
}

/* Forgets pm: its last report came, or the producer is going. */
static void
pmsg_free(struct producer *p, struct pmsg *pm)
{
	TAILQ_REMOVE(&p->pending, pm, all);
	p->npending--;
	for (size_t i = 0; i < pm->nheaders; i++) {
		free(pm->headers[i].name);
		free(pm->headers[i].value);
	}
	free(pm->headers);
	free(pm);
}

static void
wait_push(struct producer *p, struct pmsg *pm)
{
	TAILQ_INSERT_TAIL(&p->waiting, pm, wait);
	p->nwaiting++;
	if (!evtimer_pending(p->resend_ev, NULL)) {
		struct timeval tv = { RESEND_MS / 1000, (RESEND_MS % 1000) * 1000 };

		evtimer_add(p->resend_ev, &tv);
	}
}

/* Hands m to librdkafka with pm as its opaque; returns librdkafka's
 * answer. */
static rd_kafka_resp_err_t
produce(struct producer *p, const struct producer_msg *m, struct pmsg *pm)
{
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t e;
	size_t keylen = m->key != NULL ? m->keylen : 0;
	size_t valuelen = m->value != NULL ? m->valuelen : 0;

	if (m->nheaders > 0) {
		hdrs = rd_kafka_headers_new(m->nheaders);
		for (size_t i = 0; i < m->nheaders; i++)
			rd_kafka_header_add(hdrs, m->headers[i].name, -1,
			    m->headers[i].value, (ssize_t)m->headers[i].len);
	}
	e = rd_kafka_producev(p->rk,
	    RD_KAFKA_V_TOPIC(m->topic),
	    RD_KAFKA_V_KEY((void *)m->key, keylen),
	    RD_KAFKA_V_VALUE((void *)m->value, valuelen),
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_HEADERS(hdrs),
	    RD_KAFKA_V_OPAQUE(pm),
	    RD_KAFKA_V_END);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* librdkafka takes the headers only on success. */
		if (hdrs != NULL)
			rd_kafka_headers_destroy(hdrs);
		return e;
	}
	p->inflight++;
	return e;
}

/* Produces pm's copy, cut and marked when pm->cut says so. */
static rd_kafka_resp_err_t
produce_copy(struct producer *p, struct pmsg *pm)
{
	struct producer_header hv[32], *h = hv;
	struct producer_msg m;
	char size[24];
	size_t n = pm->nheaders + 1;
	rd_kafka_resp_err_t e;

	if (n > sizeof(hv) / sizeof(hv[0]))
		h = xcalloc(n, sizeof(*h));
	for (size_t i = 0; i < pm->nheaders; i++) {
		h[i].name = pm->headers[i].name;
		h[i].value = pm->headers[i].value;
		h[i].len = pm->headers[i].len;
	}
	m.topic = pm->topic;
	m.key = pm->key;
	m.keylen = pm->keylen;
	m.value = pm->value;
	m.valuelen = pm->valuelen;
	m.headers = h;
	m.nheaders = pm->nheaders;
	if (pm->cut != NO_CUT && pm->cut < pm->valuelen) {
		/* The header says how large the value was. */
		m.valuelen = pm->cut;
		h[m.nheaders].name = p->cut_header;
		h[m.nheaders].value = size;
		h[m.nheaders].len = (size_t)snprintf(size, sizeof(size), "%zu",
		    pm->valuelen);
		m.nheaders++;
	}
	e = produce(p, &m, pm);
	if (h != hv)
		free(h);
	return e;
}

/*
 * Cuts pm's value further after a "too large" answer: to what should fit
 * message.max.bytes and, when the broker refused it (halve), to at most
 * half of what was sent. False when there is nothing left to cut.
 */
static bool
cut_more(struct producer *p, struct pmsg *pm, bool halve)
{
	size_t cur = pm->cut < pm->valuelen ? pm->cut : pm->valuelen;
	size_t fixed = RECORD_OVERHEAD + CUT_MARGIN + pm->keylen +
	    HEADER_OVERHEAD + strlen(p->cut_header) + 20;
	size_t next;

	for (size_t i = 0; i < pm->nheaders; i++)
		fixed += HEADER_OVERHEAD + strlen(pm->headers[i].name) +
		    pm->headers[i].len;
	next = p->max_bytes > fixed ? p->max_bytes - fixed : 0;
	if (next > cur)
		next = cur;
	if (halve && next > cur / 2)
		next = cur / 2;
	if (next >= cur) {
		if (cur == 0)
			return false;
		next = cur / 2;
	}
	if (pm->cut == NO_CUT)
		p->ncut++;
	pm->cut = next;
	return true;
}

int
producer_send(struct producer *p, const struct producer_msg *m, void *opaque)
{
	struct pmsg *pm = pmsg_new(p, opaque, p->resend ?
	    pmsg_copy_size(m) : 0);
	rd_kafka_resp_err_t e;

	if (!p->resend) {
		if ((e = produce(p, m, pm)) == RD_KAFKA_RESP_ERR_NO_ERROR)
			return 0;
		log_failure(p, "produce", e);
		pmsg_free(p, pm);
		return -1;
	}
	pmsg_copy(pm, m);
	e = produce_copy(p, pm);
	if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && p->cut_header != NULL &&
	    cut_more(p, pm, false))
		e = produce_copy(p, pm);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_failure(p, "produce", e);
		wait_push(p, pm);
	}
	return 0;
}

static void
resend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct producer *p = arg;
	struct pmsg *pm;

	(void)fd;
	(void)what;
	while ((pm = TAILQ_FIRST(&p->waiting)) != NULL) {
		rd_kafka_resp_err_t e = produce_copy(p, pm);

		if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE &&
		    p->cut_header != NULL && cut_more(p, pm, false))
			e = produce_copy(p, pm);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			/* Still refused: keep the order, wait again. */
			struct timeval tv = { RESEND_MS / 1000,
			    (RESEND_MS % 1000) * 1000 };

			log_failure(p, "produce", e);
			evtimer_add(p->resend_ev, &tv);
			return;
		}
		TAILQ_REMOVE(&p->waiting, pm, wait);
		p->nwaiting--;
	}
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct producer *p = opaque;
	struct pmsg *pm = m->_private;

	(void)rk;
	p->inflight--;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_failure(p, "delivery", m->err);
		if (p->resend) {
			/* The broker's own limit may be below ours. */
			if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE &&
			    p->cut_header != NULL)
				cut_more(p, pm, true);
			wait_push(p, pm);
			if (p->cb != NULL)
				p->cb(pm->opaque, m->err, p->arg);
			return;
		}
	}
	if (p->cb != NULL)
		p->cb(pm->opaque, m->err, p->arg);
	pmsg_free(p, pm);
}

static void
rk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct producer *p = opaque;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		/* The idempotent producer cannot go on (e.g. a sequence
		 * gap the broker refused): every later produce fails. */
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		p->failed = true;
		kafka_fatal(p->name, fatal);
		return;
	}
	/* Transient: librdkafka reconnects and retries by itself. */
	log_warnx("kafka_error", "producer=%s code=%s reason=%s", p->name,
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), log_quote(reason));
}

static void
rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct producer *p = rd_kafka_opaque(rk);

	if (level <= 4)
		log_warnx("kafka_log", "client=%s fac=%s msg=%s",
		    p != NULL ? p->name : "producer", fac, log_quote(buf));
	else
		log_debug("kafka_log", "client=%s fac=%s msg=%s",
		    p != NULL ? p->name : "producer", fac, log_quote(buf));
}

static void
serve(struct producer *p)
{
	/* Until the queue is empty, within a bound per wake-up; the timer
	 * picks up anything left. */
	for (int i = 0; i < SERVE_ROUNDS; i++)
		if (rd_kafka_poll(p->rk, 0) <= 0)
			break;
}

static void
wake_cb(void *arg)
{
	serve(arg);
}

struct producer *
producer_new(struct event_base *base, const struct config *cfg,
    const struct producer_opts *o, char *err, size_t errlen)
{
	struct producer *p = xcalloc(1, sizeof(*p));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char timeout[32], maxb[32];
	size_t maxblen = sizeof(maxb);

	p->name = xstrdup(o->name != NULL ? o->name : "producer");
	p->resend = o->resend;
	p->cut_header = o->resend && o->cut_header != NULL ?
	    xstrdup(o->cut_header) : NULL;
	p->cb = o->cb;
	p->arg = o->arg;
	TAILQ_INIT(&p->pending);
	TAILQ_INIT(&p->waiting);
	snprintf(timeout, sizeof(timeout), "%" PRId64,
	    o->message_timeout_ms > 0 ? o->message_timeout_ms : 0);
	/*
	 * Our defaults, then the user's kafka.properties, then what the
	 * delivery guarantee and the key -> partition mapping depend on,
	 * which no property may change.
	 */
	if (kafka_conf_set(conf, "linger.ms", "5", err, errlen) != 0 ||
	    kafka_conf_properties(conf, cfg, true, err, errlen) != 0 ||
	    kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, err,
	    errlen) != 0 ||
	    kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) != 0 ||
	    kafka_conf_set(conf, "message.timeout.ms", timeout, err, errlen) != 0 ||
	    kafka_conf_set(conf, "partitioner", cfg->kafka.partitioner != NULL ?
	    cfg->kafka.partitioner : "murmur2_random", err, errlen) != 0 ||
	    kafka_conf_set(conf, "log.queue", "true", err, errlen) != 0)
		goto fail;
	if (rd_kafka_conf_get(conf, "message.max.bytes", maxb, &maxblen) !=
	    RD_KAFKA_CONF_OK || (p->max_bytes = strtoul(maxb, NULL, 10)) == 0)
		p->max_bytes = 1000000;
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_error_cb(conf, rk_error_cb);
	rd_kafka_conf_set_log_cb(conf, rk_log_cb);
	if ((p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen)) == NULL)
		goto fail;
	conf = NULL;		/* rd_kafka_new took it */
	rd_kafka_set_log_queue(p->rk, NULL);
	p->queue = rd_kafka_queue_get_main(p->rk);
	if ((p->wake = kafka_wake_new(base, p->queue, 200, wake_cb, p, err,
	    errlen)) == NULL) {
		producer_free(p, 0);
		return NULL;
	}
	p->resend_ev = evtimer_new(base, resend_cb, p);
	return p;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	free(p->cut_header);
	free(p->name);
	free(p);
	return NULL;
}

int
producer_outstanding(const struct producer *p)
{
	return p->npending;
}

int64_t
producer_oldest_ms(const struct producer *p)
{
	const struct pmsg *pm = TAILQ_FIRST(&p->pending);

	return pm != NULL ? caltime_mono_ms() - pm->first_ms : 0;
}

uint64_t
producer_truncated(const struct producer *p)
{
	return p->ncut;
}

bool
producer_failed(const struct producer *p)
{
	return p->failed;
}

rd_kafka_t *
producer_handle(struct producer *p)
{
	return p->rk;
}

void
producer_set_cb(struct producer *p, producer_report_cb *cb, void *arg)
{
	p->cb = cb;
	p->arg = arg;
}

void
producer_free(struct producer *p, int timeout_ms)
{
	struct pmsg *pm;

	if (p == NULL)
		return;
	kafka_wake_free(p->wake);
	if (p->queue != NULL)
		rd_kafka_queue_destroy(p->queue);
	if (p->rk != NULL) {
		/* Reports served while it waits may queue a resend: the
		 * timer is freed after (it never fires: the loop is over). */
		if (timeout_ms > 0)
			rd_kafka_flush(p->rk, timeout_ms);
		/* Purges what is left; its reports are not served. */
		rd_kafka_destroy(p->rk);
	}
	if (p->resend_ev != NULL)
		event_free(p->resend_ev);
	while ((pm = TAILQ_FIRST(&p->pending)) != NULL)
		pmsg_free(p, pm);
	free(p->cut_header);
	free(p->name);
	free(p);
}
