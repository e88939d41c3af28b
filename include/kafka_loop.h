#ifndef PACED_KAFKA_LOOP_H
#define PACED_KAFKA_LOOP_H

/*
 * librdkafka glue shared by the consumer and the producers: setting
 * properties with librdkafka's own error text, and a queue that wakes the
 * libevent loop. rd_kafka_queue_io_event_enable writes its byte only when
 * the queue goes from empty to non-empty, so the wake-up also polls from a
 * timer, in case a callback stopped before the queue was empty.
 */

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct kafka_wake;

/* Sets k=v on conf (borrowed); 0 or -1 with "k: librdkafka's text". */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
    char *err, size_t errlen);
/* Applies cfg's kafka.properties to conf, leaving out the consumer-only
 * ones when for_producer (a producer warns about each); 0 or -1 with
 * "kafka.properties.KEY: librdkafka's text" in err. */
int kafka_conf_properties(rd_kafka_conf_t *conf, const struct config *cfg,
    bool for_producer, char *err, size_t errlen);

/* Calls cb(arg) on the loop whenever q (borrowed; must outlive the wake)
 * turns non-empty, and every tick_ms. Returns owned (free with
 * kafka_wake_free) or NULL with the reason in err. */
struct kafka_wake *kafka_wake_new(struct event_base *base, rd_kafka_queue_t *q,
    int tick_ms, void (*cb)(void *), void *arg, char *err, size_t errlen);
/* Stops the wake-ups and frees w; NULL does nothing. */
void kafka_wake_free(struct kafka_wake *w);

/* One partition of a statistics document: its number and librdkafka's
 * fetch state ("active", "none", "offset-query", "stopped", ...). */
typedef void kafka_stats_part_cb(int32_t partition, const char *fetch_state,
    void *arg);
/* Walks the partitions of topic in a librdkafka statistics JSON document
 * (json borrowed, len bytes; the "-1" entry of unassigned messages left
 * out), calling cb for each. Returns how many, or -1 for a document that
 * does not parse. */
int kafka_stats_partitions(const char *json, size_t len, const char *topic,
    kafka_stats_part_cb *cb, void *arg);

/*
 * A fatal librdkafka error (the client cannot go on, e.g. an idempotent
 * producer that lost its sequence) is reported here by whichever client
 * meets it; the daemon answers with a graceful stop. Called on the loop
 * thread from inside a librdkafka callback: the handler must only record
 * the request. cb NULL: errors are only logged.
 */
typedef void kafka_fatal_cb(const char *client, const char *reason,
    void *arg);
/* Sets the process' fatal-error handler (cb and arg borrowed). */
void kafka_set_fatal_cb(kafka_fatal_cb *cb, void *arg);
/* Logs a fatal error of client (borrowed strings) and tells the handler. */
void kafka_fatal(const char *client, const char *reason);

#endif
