#ifndef PACED_CONSUMER_H
#define PACED_CONSUMER_H

/*
 * The Kafka consumer: a librdkafka consumer-group member whose queue wakes
 * the libevent loop through a pipe (rd_kafka_queue_io_event_enable), plus
 * a timer that polls anyway (the wake-up byte is written only on the
 * empty -> non-empty edge, and a consumer that stops polling leaves the
 * group). Rebalances are handed to the owner, which decides when to call
 * consumer_assign/consumer_unassign: assignment waits for the Redis
 * watermarks, revocation waits for in-flight writes. When the owner holds
 * messages back for long (handlers.accepting false, or a message
 * refused), the partitions are paused and polling goes on, so the member
 * stays in the group. A fatal client error goes to kafka_fatal
 * (kafka_loop.h).
 */

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct consumer;

struct consumer_handlers {
	/* A message (borrowed). Returns false to leave it with the consumer,
	 * which stops draining and offers it again, first, after
	 * consumer_kick or at the next poll tick. */
	bool (*message)(const rd_kafka_message_t *m, void *arg);
	/* Partitions (borrowed) were assigned: call consumer_assign later. */
	void (*assign)(const rd_kafka_topic_partition_list_t *parts, void *arg);
	/* Partitions (borrowed) are revoked (lost when lost is true): call
	 * consumer_unassign once writes are settled. */
	void (*revoke)(const rd_kafka_topic_partition_list_t *parts, bool lost,
	    void *arg);
	/* False while the owner cannot take more messages (backpressure). */
	bool (*accepting)(void *arg);
	/* After consumer_close: the group was left. */
	void (*closed)(void *arg);
	/* The activity topic's partition count became known or changed
	 * (may be NULL). */
	void (*partitions)(int count, void *arg);
	void *arg;
};

/* Borrows base and cfg (for the call). Returns owned (free with
 * consumer_free) or NULL with librdkafka's message in err. */
struct consumer *consumer_new(struct event_base *base,
    const struct config *cfg, const struct consumer_handlers *h, char *err,
    size_t errlen);
/* Frees c (after consumer_close completed, or abruptly); NULL: nothing. */
void consumer_free(struct consumer *c);
/* Subscribes to the activity topic; 0 or -1. */
int consumer_start(struct consumer *c, const struct config *cfg, char *err,
    size_t errlen);
/* Applies an assignment (borrowed; offsets set, or RD_KAFKA_OFFSET_INVALID
 * for the committed one), not paused by the owner. */
void consumer_assign(struct consumer *c,
    const rd_kafka_topic_partition_list_t *parts);
/* Drops the current assignment after committing stored offsets. */
void consumer_unassign(struct consumer *c);
/* Pauses or resumes every assigned partition for the owner (kept apart
 * from the consumer's own backpressure pause; both are applied). */
void consumer_pause_all(struct consumer *c, bool pause);
/* True while the assigned partitions are paused, for either reason. */
bool consumer_paused(const struct consumer *c);
/* Moves a partition's fetch position (asynchronously); its messages held
 * back are dropped. */
void consumer_seek(struct consumer *c, const char *topic, int32_t partition,
    int64_t offset);
/* Stores next_offset of a partition for the next commit; 0 or -1 (the
 * partition is no longer ours). */
int consumer_store(struct consumer *c, const char *topic, int32_t partition,
    int64_t next_offset);
/* Asks the loop to drain the queue again (after backpressure ends). */
void consumer_kick(struct consumer *c);
/* Starts leaving the group without blocking; handlers.closed follows. */
void consumer_close(struct consumer *c);
/* Sum over assigned partitions of high watermark - position (cached
 * values, no network); -1 when unknown. */
int64_t consumer_lag(struct consumer *c);
/* Drops the messages left with the consumer (after a revoke). */
void consumer_drop_held(struct consumer *c);
/* Assigned partitions whose fetch state in librdkafka's statistics has
 * not been "active" for min_ms or longer (a partition assigned and not
 * fetched; paused ones stay "active"). */
int consumer_not_fetching(const struct consumer *c, int64_t min_ms);
/* Partition count of the activity topic from librdkafka's statistics;
 * -1 until the first statistics arrive. */
int consumer_partition_count(const struct consumer *c);
/* Messages of partition between from (the first offset the caller has
 * not finished with; -1: unknown, then the consume position) and the
 * cached high watermark; -1 when unknown. No network. */
int64_t consumer_partition_lag(struct consumer *c, int32_t partition,
    int64_t from);
/* Number of partitions currently assigned. */
int consumer_assigned(struct consumer *c);
/* Borrowed librdkafka handle (for the owner's metrics and tests). */
rd_kafka_t *consumer_handle(struct consumer *c);

#endif
