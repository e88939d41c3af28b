/*
 * producer.c: owns one librdkafka producer handle and its place on the
 * loop. Reports and logs arrive on librdkafka's main queue, which wakes
 * the loop through a pipe; a 200 ms timer polls as well, because the pipe
 * is written only when the queue goes from empty to non-empty. With
 * resend, a message whose delivery failed is copied out of its report and
 * produced again from a timer, oldest first.
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

#include "kafka_loop.h"
#include "log.h"
#include "xmalloc.h"

#define RESEND_MS	2000	/* pause before producing a failed message again */
#define FAIL_LOG_MS	10000	/* at most one failure line per this, per producer */
#define SERVE_ROUNDS	64	/* polls per wake-up: keeps callbacks short */

struct resend_header {
	char *name;
	void *value;
	size_t len;
};

struct resend {
	char *topic;
	void *key, *value;
	size_t keylen, valuelen;
	struct resend_header *headers;
	size_t nheaders;
	void *opaque;
	TAILQ_ENTRY(resend) entry;
};

TAILQ_HEAD(resend_list, resend);

struct producer {
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	char *name;
	bool resend;
	producer_report_cb *cb;
	void *arg;
	int inflight;
	int nresend;
	struct resend_list resends;
	struct kafka_wake *wake;
	struct event *resend_ev;
	int64_t fail_logged_ms;	/* monotonic time of the last failure line */
	unsigned fail_quiet;	/* failures since then, not logged */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs a failure at most every FAIL_LOG_MS, with the count it held back:
 * a broker outage fails every message, and lines are not per message. */
static void
log_failure(struct producer *p, const char *what, rd_kafka_resp_err_t err)
{
	int64_t now = mono_ms();

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

static void
resend_free(struct resend *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->topic);
	free(r->key);
	free(r->value);
	free(r);
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

static void
resend_push(struct producer *p, struct resend *r)
{
	TAILQ_INSERT_TAIL(&p->resends, r, entry);
	p->nresend++;
	if (!evtimer_pending(p->resend_ev, NULL)) {
		struct timeval tv = { RESEND_MS / 1000, (RESEND_MS % 1000) * 1000 };

		evtimer_add(p->resend_ev, &tv);
	}
}

/* Keeps a copy of m (borrowed) for the resend timer. */
static void
resend_keep_msg(struct producer *p, const struct producer_msg *m, void *opaque)
{
	struct resend *r = xcalloc(1, sizeof(*r));

	r->topic = xstrdup(m->topic);
	r->key = memdup(m->key, m->keylen);
	r->keylen = m->key != NULL ? m->keylen : 0;
	r->value = memdup(m->value, m->valuelen);
	r->valuelen = m->value != NULL ? m->valuelen : 0;
	if (m->nheaders > 0)
		r->headers = xcalloc(m->nheaders, sizeof(*r->headers));
	for (size_t i = 0; i < m->nheaders; i++) {
		r->headers[i].name = xstrdup(m->headers[i].name);
		r->headers[i].value = memdup(m->headers[i].value,
		    m->headers[i].len);
		r->headers[i].len = m->headers[i].len;
	}
	r->nheaders = m->nheaders;
	r->opaque = opaque;
	resend_push(p, r);
}

/* Keeps a copy of a failed message from its report (borrowed). */
static void
resend_keep_report(struct producer *p, const rd_kafka_message_t *m)
{
	struct resend *r = xcalloc(1, sizeof(*r));
	rd_kafka_headers_t *hdrs = NULL;

	r->topic = xstrdup(rd_kafka_topic_name(m->rkt));
	r->key = memdup(m->key, m->key_len);
	r->keylen = m->key != NULL ? m->key_len : 0;
	r->value = memdup(m->payload, m->len);
	r->valuelen = m->payload != NULL ? m->len : 0;
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		size_t n = rd_kafka_header_cnt(hdrs);
		const char *name;
		const void *v;
		size_t vl;

		r->headers = xcalloc(n > 0 ? n : 1, sizeof(*r->headers));
		for (size_t i = 0; i < n; i++) {
			if (rd_kafka_header_get_all(hdrs, i, &name, &v, &vl) !=
			    RD_KAFKA_RESP_ERR_NO_ERROR)
				break;
			r->headers[i].name = xstrdup(name);
			r->headers[i].value = memdup(v, vl);
			r->headers[i].len = v != NULL ? vl : 0;
			r->nheaders++;
		}
	}
	r->opaque = m->_private;
	resend_push(p, r);
}

/* Hands m to librdkafka; returns librdkafka's answer. */
static rd_kafka_resp_err_t
produce(struct producer *p, const struct producer_msg *m, void *opaque)
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
	    RD_KAFKA_V_OPAQUE(opaque),
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

int
producer_send(struct producer *p, const struct producer_msg *m, void *opaque)
{
	rd_kafka_resp_err_t e;

	if ((e = produce(p, m, opaque)) == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	log_failure(p, "produce", e);
	if (!p->resend)
		return -1;
	resend_keep_msg(p, m, opaque);
	return 0;
}

static void
resend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct producer *p = arg;
	struct resend *r;

	(void)fd;
	(void)what;
	while ((r = TAILQ_FIRST(&p->resends)) != NULL) {
		struct producer_header hv[32], *h = hv;
		struct producer_msg m;
		rd_kafka_resp_err_t e;

		if (r->nheaders > sizeof(hv) / sizeof(hv[0]))
			h = xcalloc(r->nheaders, sizeof(*h));
		for (size_t i = 0; i < r->nheaders; i++) {
			h[i].name = r->headers[i].name;
			h[i].value = r->headers[i].value;
			h[i].len = r->headers[i].len;
		}
		m.topic = r->topic;
		m.key = r->key;
		m.keylen = r->keylen;
		m.value = r->value;
		m.valuelen = r->valuelen;
		m.headers = h;
		m.nheaders = r->nheaders;
		e = produce(p, &m, r->opaque);
		if (h != hv)
			free(h);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			/* Still refused: keep the order, wait again. */
			struct timeval tv = { RESEND_MS / 1000,
			    (RESEND_MS % 1000) * 1000 };

			log_failure(p, "produce", e);
			evtimer_add(p->resend_ev, &tv);
			return;
		}
		TAILQ_REMOVE(&p->resends, r, entry);
		p->nresend--;
		resend_free(r);
	}
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct producer *p = opaque;

	(void)rk;
	p->inflight--;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_failure(p, "delivery", m->err);
		if (p->resend)
			resend_keep_report(p, m);
	}
	if (p->cb != NULL)
		p->cb(m->_private, m->err, p->arg);
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
	char timeout[32];

	p->name = xstrdup(o->name != NULL ? o->name : "producer");
	p->resend = o->resend;
	p->cb = o->cb;
	p->arg = o->arg;
	TAILQ_INIT(&p->resends);
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
	free(p->name);
	free(p);
	return NULL;
}

int
producer_outstanding(const struct producer *p)
{
	return p->inflight + p->nresend;
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
	struct resend *r;

	if (p == NULL)
		return;
	kafka_wake_free(p->wake);
	if (p->resend_ev != NULL)
		event_free(p->resend_ev);
	if (p->queue != NULL)
		rd_kafka_queue_destroy(p->queue);
	if (p->rk != NULL) {
		if (timeout_ms > 0)
			rd_kafka_flush(p->rk, timeout_ms);
		/* Purges what is left; its reports are not served. */
		rd_kafka_destroy(p->rk);
	}
	while ((r = TAILQ_FIRST(&p->resends)) != NULL) {
		TAILQ_REMOVE(&p->resends, r, entry);
		resend_free(r);
	}
	free(p->name);
	free(p);
}
