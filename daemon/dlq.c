/*
 * dlq.c: owns the dead-letter producer. dlq_send hands the message and
 * its headers to a producer (producer.c) in resend mode: the delivery
 * report comes back on the loop, and a failed delivery is produced again
 * after a pause, so the batch that holds the bad event does not complete,
 * and its offset is not stored, until the DLQ has it. A bad event too
 * large for the producer or the broker goes as a copy cut to fit, marked
 * with the header paced.truncated (the original value size). A 1 s timer
 * keeps the gauges of what is outstanding.
 */
#include "dlq.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "producer.h"
#include "xmalloc.h"

#define DLQ_TRUNCATED_HEADER	"paced.truncated"

struct dlq {
	struct producer *p;
	char *topic;
	dlq_delivered_cb *cb;
	void *arg;
	struct event *gauge_ev;
	uint64_t ncut;		/* truncations already counted */
	struct metric *m_sent, *m_failed, *m_cut, *m_outstanding, *m_oldest;
};

static void
update_gauges(struct dlq *d)
{
	uint64_t cut = producer_truncated(d->p);

	metrics_set(d->m_outstanding, producer_outstanding(d->p));
	metrics_set(d->m_oldest, (double)producer_oldest_ms(d->p) / 1000.0);
	if (cut > d->ncut) {
		metrics_add(d->m_cut, (double)(cut - d->ncut));
		d->ncut = cut;
	}
}

static void
gauge_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	update_gauges(arg);
}

static void
report_cb(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct dlq *d = arg;

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* The producer keeps it and produces it again. */
		metrics_inc(d->m_failed);
		return;
	}
	metrics_inc(d->m_sent);
	if (d->cb != NULL)
		d->cb((uint64_t)(uintptr_t)opaque, d->arg);
}

struct dlq *
dlq_new(struct event_base *base, const struct config *cfg,
    dlq_delivered_cb *cb, void *arg, char *err, size_t errlen)
{
	struct dlq *d = xcalloc(1, sizeof(*d));
	struct producer_opts o = {
		.name = "dlq",
		/* 0: librdkafka retries until delivered; the resend queue
		 * covers the permanent errors. */
		.message_timeout_ms = 0,
		.resend = true,
		.cut_header = DLQ_TRUNCATED_HEADER,
		.cb = report_cb,
		.arg = d,
	};
	static const char help[] = "Bad events produced to the dead-letter topic";
	struct timeval sec = { 1, 0 };

	d->cb = cb;
	d->arg = arg;
	if ((d->p = producer_new(base, cfg, &o, err, errlen)) == NULL) {
		free(d);
		return NULL;
	}
	d->topic = xstrdup(cfg->kafka.topic_dlq);
	d->m_sent = metrics_counter("paced_dlq_messages_total",
	    "result=\"delivered\"", help);
	d->m_failed = metrics_counter("paced_dlq_messages_total",
	    "result=\"retried\"", help);
	d->m_cut = metrics_counter("paced_dlq_messages_total",
	    "result=\"truncated\"", help);
	d->m_outstanding = metrics_gauge("paced_dlq_outstanding", NULL,
	    "Messages produced to the dead-letter topic and not yet delivered");
	d->m_oldest = metrics_gauge("paced_dlq_oldest_seconds", NULL,
	    "How long the oldest undelivered dead-letter message has waited");
	d->gauge_ev = event_new(base, -1, EV_PERSIST, gauge_cb, d);
	event_add(d->gauge_ev, &sec);
	return d;
}

void
dlq_send(struct dlq *d, const rd_kafka_message_t *src, const char *reason,
    uint64_t seq)
{
	char part[16], off[24];
	struct producer_header h[3] = {
		{ "paced.reason", reason, strlen(reason) },
		{ "paced.source.partition", part, 0 },
		{ "paced.source.offset", off, 0 },
	};
	struct producer_msg m = {
		.topic = d->topic,
		.key = src->key,
		.keylen = src->key != NULL ? src->key_len : 0,
		.value = src->payload,
		.valuelen = src->payload != NULL ? src->len : 0,
		.headers = h,
		.nheaders = 3,
	};

	h[1].len = (size_t)snprintf(part, sizeof(part), "%" PRId32,
	    src->partition);
	h[2].len = (size_t)snprintf(off, sizeof(off), "%" PRId64, src->offset);
	producer_send(d->p, &m, (void *)(uintptr_t)seq);
	metrics_set(d->m_outstanding, producer_outstanding(d->p));
}

int
dlq_outstanding(const struct dlq *d)
{
	return producer_outstanding(d->p);
}

int64_t
dlq_oldest_ms(const struct dlq *d)
{
	return producer_oldest_ms(d->p);
}

bool
dlq_failed(const struct dlq *d)
{
	return producer_failed(d->p);
}

void
dlq_free(struct dlq *d, int timeout_ms)
{
	if (d == NULL)
		return;
	d->cb = NULL;		/* the owner may be gone while we flush */
	if (d->gauge_ev != NULL)
		event_free(d->gauge_ev);
	producer_free(d->p, timeout_ms);
	free(d->topic);
	free(d);
}
