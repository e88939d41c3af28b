#ifndef PACED_PRODUCER_H
#define PACED_PRODUCER_H

/*
 * An idempotent librdkafka producer driven by the libevent loop: delivery
 * reports and librdkafka's logs come back on the loop thread (main queue
 * -> pipe -> libevent, plus a 200 ms poll timer, since the pipe is written
 * only on the queue's empty -> non-empty edge). Optionally, a message whose
 * delivery failed is kept and produced again after a pause, so that it is
 * never dropped, and one too large for the producer or the broker is cut
 * to fit and marked with a header. A fatal client error goes to
 * kafka_fatal (kafka_loop.h). The DLQ and the alert sink each own one.
 */

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct producer;

/* One header; name and value are borrowed. */
struct producer_header {
	const char *name;
	const void *value;
	size_t len;
};

/* One message; every pointer is borrowed for producer_send. */
struct producer_msg {
	const char *topic;
	const void *key;		/* NULL: no key */
	size_t keylen;
	const void *value;		/* NULL: a null value */
	size_t valuelen;
	const struct producer_header *headers;
	size_t nheaders;
};

/*
 * A delivery report for the message sent with opaque: err is
 * RD_KAFKA_RESP_ERR_NO_ERROR when the broker has it. With resend, a failed
 * report is followed later by another one for the same opaque.
 */
typedef void producer_report_cb(void *opaque, rd_kafka_resp_err_t err,
    void *arg);

struct producer_opts {
	const char *name;		/* "dlq", "alerts": logs and metrics */
	int64_t message_timeout_ms;	/* 0: librdkafka retries forever */
	bool resend;			/* produce a failed message again */
	/* With resend: a message too large (MSG_SIZE_TOO_LARGE, from
	 * librdkafka's message.max.bytes or from the broker) has its value
	 * cut to fit and this header added, its value the original value
	 * size in decimal. NULL: such a message waits for ever. */
	const char *cut_header;
	producer_report_cb *cb;		/* may be NULL */
	void *arg;
};

/*
 * Borrows base, cfg (kafka.* copied into librdkafka) and opts (copied).
 * Returns owned (free with producer_free) or NULL with librdkafka's text
 * in err.
 */
struct producer *producer_new(struct event_base *base,
    const struct config *cfg, const struct producer_opts *opts, char *err,
    size_t errlen);
/*
 * Produces m (borrowed; copied). Returns 0: a report for opaque follows,
 * never from inside this call. Without resend, -1 when librdkafka refused
 * the message (queue full, unknown topic...): no report follows. With
 * resend it always returns 0 (a refused message waits for the next
 * attempt).
 */
int producer_send(struct producer *p, const struct producer_msg *m,
    void *opaque);
/* Messages sent and not yet reported delivered (in flight or waiting to
 * be produced again). */
int producer_outstanding(const struct producer *p);
/* How long the oldest outstanding message has waited since
 * producer_send, in ms; 0 when none is outstanding. */
int64_t producer_oldest_ms(const struct producer *p);
/* Messages cut to fit (cut_header) since producer_new. */
uint64_t producer_truncated(const struct producer *p);
/* True after a fatal client error: nothing more will be delivered. */
bool producer_failed(const struct producer *p);
/* Borrowed librdkafka handle (for tests). */
rd_kafka_t *producer_handle(struct producer *p);
/* Replaces the report callback (NULL: none), e.g. before a flush that
 * outlives the owner. */
void producer_set_cb(struct producer *p, producer_report_cb *cb, void *arg);
/*
 * Waits up to timeout_ms for deliveries (blocking: only after the loop has
 * stopped; reports are still handed to the callback while it waits), then
 * frees p; messages still undelivered are dropped without a report. NULL
 * does nothing.
 */
void producer_free(struct producer *p, int timeout_ms);

#endif
