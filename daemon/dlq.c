/*
 * dlq.c: owns the dead-letter producer. dlq_send copies the message and
 * its headers into librdkafka; the delivery report comes back on the loop
 * (main queue -> pipe -> libevent). A failed delivery is kept and produced
 * again from a retry timer: the batch that holds the bad event does not
 * complete, so its offset is not stored, until the DLQ has it.
 */
#include "dlq.h"

#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "consumer.h"
#include "xmalloc.h"

#define RETRY_MS	2000

struct retry {
	char *key, *value, *reason;
	size_t keylen, valuelen;
	int32_t partition;
	int64_t offset;
	uint64_t seq;
	struct retry *next;
};

struct dlq {
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	char *topic;
	dlq_delivered_cb *cb;
	void *arg;
	int outstanding;
	int pipefd[2];
	struct event *pipe_ev, *tick_ev, *retry_ev;
	struct retry *retries;
	struct metric *m_sent, *m_failed;
};

static void produce(struct dlq *d, const void *key, size_t keylen,
    const void *value, size_t valuelen, const char *reason, int32_t partition,
    int64_t offset, uint64_t seq);

static void
header_str(rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t len)
{
	const void *v;
	size_t vl;

	buf[0] = '\0';
	if (rd_kafka_header_get_last(hdrs, name, &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR)
		snprintf(buf, len, "%.*s", (int)vl, (const char *)v);
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct dlq *d = opaque;
	uint64_t seq = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	d->outstanding--;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		metrics_inc(d->m_sent);
		if (d->cb != NULL)
			d->cb(seq, d->arg);
		return;
	}
	/* Keep it and try again: a bad event is never dropped. */
	metrics_inc(d->m_failed);
	log_warnx("dlq_delivery_failed", "err=%s retry_ms=%d",
	    log_quote(rd_kafka_err2str(m->err)), RETRY_MS);
	struct retry *r = xcalloc(1, sizeof(*r));
	rd_kafka_headers_t *hdrs = NULL;
	char part[32] = "", off[32] = "", reason[128] = "";

	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		header_str(hdrs, "paced.reason", reason, sizeof(reason));
		header_str(hdrs, "paced.source.partition", part, sizeof(part));
		header_str(hdrs, "paced.source.offset", off, sizeof(off));
	}
	r->key = m->key ? xstrndup(m->key, m->key_len) : NULL;
	r->keylen = m->key_len;
	r->value = m->payload ? xstrndup(m->payload, m->len) : NULL;
	r->valuelen = m->len;
	r->reason = xstrdup(reason);
	r->partition = (int32_t)strtol(part, NULL, 10);
	r->offset = strtoll(off, NULL, 10);
	r->seq = seq;
	r->next = d->retries;
	d->retries = r;
	if (!evtimer_pending(d->retry_ev, NULL)) {
		struct timeval tv = { RETRY_MS / 1000, (RETRY_MS % 1000) * 1000 };

		evtimer_add(d->retry_ev, &tv);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dlq *d = arg;
	struct retry *r = d->retries, *next;

	(void)fd;
	(void)what;
	d->retries = NULL;
	for (; r != NULL; r = next) {
		next = r->next;
		produce(d, r->key, r->key ? r->keylen : 0, r->value,
		    r->value ? r->valuelen : 0, r->reason, r->partition, r->offset,
		    r->seq);
		free(r->key);
		free(r->value);
		free(r->reason);
		free(r);
	}
}

static void
serve(struct dlq *d)
{
	rd_kafka_poll(d->rk, 0);
}

static void
pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	serve(arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	serve(arg);
}

static void
rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 4)
		log_warnx("kafka_log", "client=dlq fac=%s msg=%s", fac, log_quote(buf));
	else
		log_debug("kafka_log", "client=dlq fac=%s msg=%s", fac, log_quote(buf));
}

struct dlq *
dlq_new(struct event_base *base, const struct config *cfg,
    dlq_delivered_cb *cb, void *arg, char *err, size_t errlen)
{
	struct dlq *d = xcalloc(1, sizeof(*d));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	struct timeval tick = { 0, 200 * 1000 };
	char e[512];
	static const char *const fixed[][2] = {
		{ "enable.idempotence", "true" },
		/* 0: librdkafka retries until delivered; our retry covers
		 * the permanent errors. */
		{ "message.timeout.ms", "0" },
		{ "linger.ms", "5" },
		{ "log.queue", "true" },
	};

	d->cb = cb;
	d->arg = arg;
	d->pipefd[0] = d->pipefd[1] = -1;
	d->topic = xstrdup(cfg->kafka.topic_dlq);
	if (consumer_apply_properties(conf, cfg, true, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], e, sizeof(e))
		    != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s: %s", fixed[i][0], e);
			goto fail;
		}
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, e,
	    sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "bootstrap.servers: %s", e);
		goto fail;
	}
	rd_kafka_conf_set_opaque(conf, d);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_log_cb(conf, rk_log_cb);
	d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
	if (d->rk == NULL)
		goto fail;
	conf = NULL;
	rd_kafka_set_log_queue(d->rk, NULL);
	d->queue = rd_kafka_queue_get_main(d->rk);
	if (pipe(d->pipefd) != 0) {
		snprintf(err, errlen, "pipe failed");
		dlq_free(d, 0);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(d->pipefd[i], F_SETFL, fcntl(d->pipefd[i], F_GETFL) | O_NONBLOCK);
		fcntl(d->pipefd[i], F_SETFD, FD_CLOEXEC);
	}
	rd_kafka_queue_io_event_enable(d->queue, d->pipefd[1], "1", 1);
	d->pipe_ev = event_new(base, d->pipefd[0], EV_READ | EV_PERSIST, pipe_cb, d);
	d->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, d);
	d->retry_ev = evtimer_new(base, retry_cb, d);
	event_add(d->pipe_ev, NULL);
	event_add(d->tick_ev, &tick);
	d->m_sent = metrics_counter("paced_dlq_messages_total", "result=\"delivered\"",
	    "Bad events produced to the dead-letter topic");
	d->m_failed = metrics_counter("paced_dlq_messages_total", "result=\"retried\"",
	    "Bad events produced to the dead-letter topic");
	return d;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	free(d->topic);
	free(d);
	return NULL;
}

static void
produce(struct dlq *d, const void *key, size_t keylen, const void *value,
    size_t valuelen, const char *reason, int32_t partition, int64_t offset,
    uint64_t seq)
{
	char part[16], off[24];
	rd_kafka_resp_err_t e;

	snprintf(part, sizeof(part), "%" PRId32, partition);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	for (int attempt = 0; ; attempt++) {
		e = rd_kafka_producev(d->rk,
		    RD_KAFKA_V_TOPIC(d->topic),
		    RD_KAFKA_V_KEY(key, keylen),
		    RD_KAFKA_V_VALUE((void *)value, valuelen),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_HEADER("paced.reason", reason, -1),
		    RD_KAFKA_V_HEADER("paced.source.partition", part, -1),
		    RD_KAFKA_V_HEADER("paced.source.offset", off, -1),
		    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq),
		    RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 100)
			break;
		/* The local queue is full: serve reports and try again. */
		rd_kafka_poll(d->rk, 10);
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		struct retry *r = xcalloc(1, sizeof(*r));

		log_warnx("dlq_produce_failed", "err=%s retry_ms=%d",
		    log_quote(rd_kafka_err2str(e)), RETRY_MS);
		r->key = key ? xstrndup(key, keylen) : NULL;
		r->keylen = keylen;
		r->value = value ? xstrndup(value, valuelen) : NULL;
		r->valuelen = valuelen;
		r->reason = xstrdup(reason);
		r->partition = partition;
		r->offset = offset;
		r->seq = seq;
		r->next = d->retries;
		d->retries = r;
		if (!evtimer_pending(d->retry_ev, NULL)) {
			struct timeval tv = { RETRY_MS / 1000, 0 };

			evtimer_add(d->retry_ev, &tv);
		}
		return;
	}
	d->outstanding++;
}

void
dlq_send(struct dlq *d, const rd_kafka_message_t *src, const char *reason,
    uint64_t seq)
{
	produce(d, src->key, src->key ? src->key_len : 0, src->payload,
	    src->payload ? src->len : 0, reason, src->partition, src->offset, seq);
}

int
dlq_outstanding(const struct dlq *d)
{
	int n = d->outstanding;

	for (struct retry *r = d->retries; r != NULL; r = r->next)
		n++;
	return n;
}

void
dlq_free(struct dlq *d, int timeout_ms)
{
	if (d == NULL)
		return;
	if (d->pipe_ev != NULL)
		event_free(d->pipe_ev);
	if (d->tick_ev != NULL)
		event_free(d->tick_ev);
	if (d->retry_ev != NULL)
		event_free(d->retry_ev);
	if (d->queue != NULL) {
		rd_kafka_queue_io_event_enable(d->queue, -1, NULL, 0);
		rd_kafka_queue_destroy(d->queue);
	}
	d->cb = NULL;		/* the owner may be gone while we flush */
	if (d->rk != NULL) {
		if (timeout_ms > 0)
			rd_kafka_flush(d->rk, timeout_ms);
		rd_kafka_destroy(d->rk);
	}
	for (struct retry *r = d->retries, *next; r != NULL; r = next) {
		next = r->next;
		free(r->key);
		free(r->value);
		free(r->reason);
		free(r);
	}
	for (int i = 0; i < 2; i++)
		if (d->pipefd[i] >= 0)
			close(d->pipefd[i]);
	free(d->topic);
	free(d);
}
