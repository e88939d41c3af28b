/*
 * sink_kafka.c: the alerts topic. Each alert's JSON is produced with key
 * rep_id (one rep's alerts stay in order in one partition) and the headers
 * paced.alert_id and paced.status, through a producer of our own whose
 * delivery reports arrive on the loop. Accepted means the broker
 * acknowledged it.
 *
 * Unlike the DLQ, a message is not retried forever: the evaluator waits
 * for our answer before it stores its alert state, and publishes again at
 * its next evaluation when we say no, so an answer must come within a
 * bound even while the brokers are away. Republishing is safe: alert_id is
 * stable and consumers dedupe by it.
 */
#include "sink.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "producer.h"
#include "xmalloc.h"

/* librdkafka's own retries stop after this; then we answer -1. */
#define SINK_KAFKA_TIMEOUT_MS	30000

struct kafka_req {
	sink_result_cb *cb;
	void *arg;
	TAILQ_ENTRY(kafka_req) entry;
};

TAILQ_HEAD(kafka_req_list, kafka_req);

struct sink_kafka {
	struct producer *p;
	char *topic;
	bool closing;
	struct kafka_req_list reqs;	/* sent, not yet reported */
};

static void
report_cb(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct sink_kafka *k = arg;
	struct kafka_req *q = opaque;

	TAILQ_REMOVE(&k->reqs, q, entry);
	if (!k->closing)
		q->cb(err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1, q->arg);
	free(q);
}

struct sink_kafka *
sink_kafka_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	struct sink_kafka *k = xcalloc(1, sizeof(*k));
	struct producer_opts o = {
		.name = "alerts",
		.message_timeout_ms = SINK_KAFKA_TIMEOUT_MS,
		.resend = false,
		.cb = report_cb,
		.arg = k,
	};

	TAILQ_INIT(&k->reqs);
	if ((k->p = producer_new(base, cfg, &o, err, errlen)) == NULL) {
		free(k);
		return NULL;
	}
	k->topic = xstrdup(cfg->kafka.topic_alerts != NULL ?
	    cfg->kafka.topic_alerts : "sales.alerts");
	return k;
}

void
sink_kafka_send(struct sink_kafka *k, const struct alert_record *a,
    sink_result_cb *cb, void *arg)
{
	const char *id = a->alert_id != NULL ? a->alert_id : "";
	const char *status = a->status != NULL ? a->status : "";
	struct producer_header h[2] = {
		{ "paced.alert_id", id, strlen(id) },
		{ "paced.status", status, strlen(status) },
	};
	struct producer_msg m = {
		.topic = k->topic,
		.key = a->rep_id,
		.keylen = a->rep_id != NULL ? strlen(a->rep_id) : 0,
		.value = a->json,
		.valuelen = a->json != NULL ? strlen(a->json) : 0,
		.headers = h,
		.nheaders = 2,
	};
	struct kafka_req *q = xcalloc(1, sizeof(*q));

	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&k->reqs, q, entry);
	if (producer_send(k->p, &m, q) != 0) {
		/* Refused locally (queue full...): no report will come. */
		TAILQ_REMOVE(&k->reqs, q, entry);
		free(q);
		cb(-1, arg);
	}
}

void
sink_kafka_free(struct sink_kafka *k, int timeout_ms)
{
	struct kafka_req *q;

	if (k == NULL)
		return;
	k->closing = true;	/* the owner is going: reports only free */
	producer_free(k->p, timeout_ms);
	while ((q = TAILQ_FIRST(&k->reqs)) != NULL) {
		TAILQ_REMOVE(&k->reqs, q, entry);
		free(q);
	}
	free(k->topic);
	free(k);
}
