#ifndef PACED_DLQ_H
#define PACED_DLQ_H

/*
 * The dead-letter producer: a bad event goes to the DLQ topic with its
 * original key and bytes and the headers paced.reason,
 * paced.source.partition and paced.source.offset. Idempotent producer;
 * a delivery that fails is produced again after a pause, so no bad event
 * is dropped; one too large for the producer or the broker goes as a copy
 * whose value is cut to fit, with the header paced.truncated (the original
 * value size). Delivery reports are served on the loop through a queue fd.
 */

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct dlq;

/* A message tagged with seq was delivered (or given up on shutdown). */
typedef void dlq_delivered_cb(uint64_t seq, void *arg);

/* Borrows base and cfg (copied). Returns owned (free with dlq_free) or
 * NULL with librdkafka's message in err. */
struct dlq *dlq_new(struct event_base *base, const struct config *cfg,
    dlq_delivered_cb *cb, void *arg, char *err, size_t errlen);
/* Produces src's key and value (borrowed, copied) with the headers;
 * delivery is reported with seq. */
void dlq_send(struct dlq *d, const rd_kafka_message_t *src,
    const char *reason, uint64_t seq);
/* Messages produced and not yet delivered. */
int dlq_outstanding(const struct dlq *d);
/* How long the oldest undelivered message has waited, in ms; 0: none. */
int64_t dlq_oldest_ms(const struct dlq *d);
/* True after a fatal producer error: nothing more will be delivered. */
bool dlq_failed(const struct dlq *d);
/* Waits up to timeout_ms for deliveries (blocking: only after the loop
 * has stopped), then frees d. NULL does nothing. */
void dlq_free(struct dlq *d, int timeout_ms);

#endif
