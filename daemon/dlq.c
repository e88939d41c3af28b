/*
 * dlq.c: owns the dead-letter producer. dlq_send hands the message and
 * its headers to a producer (producer.c) in resend mode: the delivery
 * report comes back on the loop, and a failed delivery is produced again
 * after a pause, so the batch that holds the bad event does not complete,
 * and its offset is not stored, until the DLQ has it.
 */
#include "dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "producer.h"
#include "xmalloc.h"

struct dlq {
	struct producer *p;
	char *topic;
	dlq_delivered_cb *cb;
	void *arg;
	struct metric *m_sent, *m_failed;
};

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
		.cb = report_cb,
		.arg = d,
	};

	d->cb = cb;
	d->arg = arg;
	if ((d->p = producer_new(base, cfg, &o, err, errlen)) == NULL) {
		free(d);
		return NULL;
	}
	d->topic = xstrdup(cfg->kafka.topic_dlq);
	d->m_sent = metrics_counter("paced_dlq_messages_total",
	    "result=\"delivered\"", "Bad events produced to the dead-letter topic");
	d->m_failed = metrics_counter("paced_dlq_messages_total",
	    "result=\"retried\"", "Bad events produced to the dead-letter topic");
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
}

int
dlq_outstanding(const struct dlq *d)
{
	return producer_outstanding(d->p);
}

void
dlq_free(struct dlq *d, int timeout_ms)
{
	if (d == NULL)
		return;
	d->cb = NULL;		/* the owner may be gone while we flush */
	producer_free(d->p, timeout_ms);
	free(d->topic);
	free(d);
}
