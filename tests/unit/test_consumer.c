/*
 * The consumer's check for partitions assigned and not fetched
 * (consumer_not_fetching, from librdkafka's statistics): a real consumer
 * handle, against a broker address nothing listens on (its partitions
 * never start) and against librdkafka's mock cluster (they do).
 */
#include "consumer.h"

#include <criterion/criterion.h>
#include <event2/event.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "config.h"
#include "log.h"

static unsigned seen;	/* bit p: a message of partition p arrived */

static bool
on_message(const rd_kafka_message_t *m, void *arg)
{
	(void)arg;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition >= 0 &&
	    m->partition < 2)
		seen |= 1u << m->partition;
	return true;
}

static void
on_assign(const rd_kafka_topic_partition_list_t *parts, void *arg)
{
	(void)parts;
	(void)arg;
}

static void
on_revoke(const rd_kafka_topic_partition_list_t *parts, bool lost, void *arg)
{
	(void)parts;
	(void)lost;
	(void)arg;
}

static bool
on_accepting(void *arg)
{
	(void)arg;
	return true;
}

static void
on_closed(void *arg)
{
	(void)arg;
}

static struct config *
config_for(const char *brokers)
{
	char yaml[1024];
	char *errs = NULL;
	struct config *cfg;

	/* Statistics every 100 ms instead of 5 s. */
	snprintf(yaml, sizeof(yaml),
	    "kafka:\n  brokers: \"%s\"\n"
	    "  properties: {statistics.interval.ms: \"100\"}\n"
	    "kpis:\n  - {name: calls, kind: leading, events: [call]}\n"
	    "roles: {sdr: {targets: {calls: {day: 50}}}}\n"
	    "teams:\n  - {id: east, timezone: UTC}\n"
	    "reps:\n  - {id: r1, team: east, role: sdr}\n", brokers);
	cfg = config_load_buffer("consumer.yaml", yaml, strlen(yaml), &errs);
	cr_assert_not_null(cfg, "%s", errs != NULL ? errs : "");
	free(errs);
	return cfg;
}

static bool
none_fetching(struct consumer *c)
{
	return consumer_not_fetching(c, 0) == 2;
}

static bool
both_delivered(struct consumer *c)
{
	(void)c;
	return seen == 3;
}

/* Runs the loop for ms, or until done(c) when done is set. */
static void
run_loop(struct event_base *base, struct consumer *c,
    bool (*done)(struct consumer *), int ms)
{
	int64_t end = caltime_mono_ms() + ms;

	while ((done == NULL || !done(c)) && caltime_mono_ms() < end) {
		struct timeval tv = { 0, 50000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* Assigns partitions 0 and 1 (committed offsets), runs the loop until
 * done (at most timeout_ms), then 500 ms more (five statistics), and
 * returns consumer_not_fetching(c, 0). */
static int
run_assigned(const char *brokers, bool (*done)(struct consumer *),
    int timeout_ms)
{
	struct config *cfg = config_for(brokers);
	struct event_base *base = event_base_new();
	struct consumer_handlers h = {
		.message = on_message, .assign = on_assign,
		.revoke = on_revoke, .accepting = on_accepting,
		.closed = on_closed,
	};
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
	struct consumer *c;
	char err[512];
	int n;

	c = consumer_new(base, cfg, &h, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	for (int32_t p = 0; p < 2; p++)
		rd_kafka_topic_partition_list_add(l, cfg->kafka.topic_activity,
		    p)->offset = RD_KAFKA_OFFSET_INVALID;
	consumer_assign(c, l);
	rd_kafka_topic_partition_list_destroy(l);
	run_loop(base, c, done, timeout_ms);
	cr_expect(done(c), "not reached in %d ms", timeout_ms);
	run_loop(base, c, NULL, 500);
	n = consumer_not_fetching(c, 0);
	/* The threshold holds: none has been idle for a minute. */
	cr_expect_eq(consumer_not_fetching(c, 60000), 0);
	consumer_free(c);
	event_base_free(base);
	config_free(cfg);
	return n;
}

Test(consumer, partitions_that_never_start_are_counted)
{
	log_set_level(LOG_LEVEL_ERROR);
	/* Nothing listens there: no coordinator, no committed offset, no
	 * fetcher. */
	cr_assert_eq(run_assigned("127.0.0.1:1", none_fetching, 10000), 2);
}

Test(consumer, fetching_partitions_are_not)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;

	log_set_level(LOG_LEVEL_ERROR);
	/* A producer with a mock cluster of its own, one message in each
	 * partition. */
	cr_assert_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err,
	    sizeof(err)), RD_KAFKA_CONF_OK, "%s", err);
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	cr_assert_not_null(rk, "%s", err);
	mc = rd_kafka_handle_mock_cluster(rk);
	cr_assert_not_null(mc);
	cr_assert_eq(rd_kafka_mock_topic_create(mc, "sales.activity", 2, 1),
	    RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int32_t p = 0; p < 2; p++)
		cr_assert_eq(rd_kafka_producev(rk,
		    RD_KAFKA_V_TOPIC("sales.activity"), RD_KAFKA_V_PARTITION(p),
		    RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_END),
		    RD_KAFKA_RESP_ERR_NO_ERROR);
	cr_assert_eq(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	/* Both partitions deliver: none is counted. */
	seen = 0;
	cr_assert_eq(run_assigned(rd_kafka_mock_cluster_bootstraps(mc),
	    both_delivered, 20000), 0);
	rd_kafka_destroy(rk);
}
