/*
 * The shared producer's resend queue, against an in-process mock cluster
 * whose broker we can take down: messages that time out while it is down
 * are reported failed, produced again from the resend timer, and land
 * once it is back, with their keys, values and headers intact. The same
 * path keeps the dead-letter producer from ever dropping a bad event.
 * A message larger than message.max.bytes goes as a copy cut to fit and
 * marked with the cut header; a fatal client error reaches kafka_fatal.
 */

#include "producer.h"

#include <criterion/criterion.h>

#include <event2/event.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "kafka_loop.h"
#include "metrics.h"

#define WAIT_MS		60000
#define TOPIC		"t.resend"
#define NMSG		3

static struct event_base *base;

struct reports {
	int ok[NMSG];
	int failed[NMSG];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until pred(arg) or timeout_ms; returns pred's last word. */
static bool
run_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
	return harness_loop_until(base, pred, arg, timeout_ms);
}

static void
report(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct reports *r = arg;
	intptr_t i = (intptr_t)opaque;

	cr_assert(i >= 0 && i < NMSG);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		r->ok[i]++;
	else
		r->failed[i]++;
}

static bool
all_failed(void *arg)
{
	struct reports *r = arg;

	for (int i = 0; i < NMSG; i++)
		if (r->failed[i] == 0)
			return false;
	return true;
}

static bool
all_ok(void *arg)
{
	struct reports *r = arg;

	for (int i = 0; i < NMSG; i++)
		if (r->ok[i] == 0)
			return false;
	return true;
}

static const char *
header(rd_kafka_message_t *m, const char *name, char *buf, size_t len)
{
	rd_kafka_headers_t *h;
	const void *v;
	size_t vl;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, name, &v, &vl) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	snprintf(buf, len, "%.*s", (int)vl, (const char *)v);
	return buf;
}

Test(sink_producer, resends_what_failed, .fini = harness_teardown,
    .timeout = 180)
{
	rd_kafka_conf_t *mconf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *mrk, *rk;
	rd_kafka_topic_partition_list_t *tl;
	struct producer *p;
	struct reports r;
	struct config cfg;
	struct producer_opts o = { 0 };
	char err[512], group[64];
	int seen[NMSG] = { 0 }, total = 0;
	int64_t deadline;

	cr_assert_eq(harness_setup("sink_producer"), 0);
	memset(&r, 0, sizeof(r));
	mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
	cr_assert_not_null(mrk, "%s", err);
	cr_assert_not_null(mc = rd_kafka_mock_cluster_new(mrk, 1));
	cr_assert_eq(rd_kafka_mock_topic_create(mc, TOPIC, 1, 1), 0);
	base = event_base_new();

	memset(&cfg, 0, sizeof(cfg));
	cfg.kafka.brokers = (char *)rd_kafka_mock_cluster_bootstraps(mc);
	o.name = "test";
	o.message_timeout_ms = 1000;
	o.resend = true;
	o.cb = report;
	o.arg = &r;
	p = producer_new(base, &cfg, &o, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);

	/* Broker down: every message times out and is reported failed. */
	rd_kafka_mock_broker_set_down(mc, 1);
	for (intptr_t i = 0; i < NMSG; i++) {
		char key[16], val[32], reason[16];
		struct producer_header h[2] = {
			{ "paced.reason", reason, 0 },
			{ "paced.empty", "", 0 },
		};
		struct producer_msg m = {
			.topic = TOPIC, .key = key, .value = val,
			.headers = h, .nheaders = 2,
		};

		m.keylen = (size_t)snprintf(key, sizeof(key), "k%d", (int)i);
		m.valuelen = (size_t)snprintf(val, sizeof(val), "value %d",
		    (int)i);
		h[0].len = (size_t)snprintf(reason, sizeof(reason), "why%d",
		    (int)i);
		cr_assert_eq(producer_send(p, &m, (void *)i), 0);
	}
	cr_expect_eq(producer_outstanding(p), NMSG);
	cr_assert(run_until(all_failed, &r, WAIT_MS), "no failed reports");
	cr_expect_eq(producer_outstanding(p), NMSG,
	    "failed messages must stay outstanding");
	cr_expect(!all_ok(&r));

	/* Back up: the resend timer produces them again. */
	rd_kafka_mock_broker_set_up(mc, 1);
	cr_assert(run_until(all_ok, &r, WAIT_MS), "never delivered");
	cr_expect_eq(producer_outstanding(p), 0);
	producer_free(p, 1000);

	/* Read the partition back. */
	snprintf(group, sizeof(group), "g%ld", (long)now_ms());
	{
		rd_kafka_conf_t *c = rd_kafka_conf_new();

		rd_kafka_conf_set(c, "bootstrap.servers", cfg.kafka.brokers,
		    err, sizeof(err));
		rd_kafka_conf_set(c, "group.id", group, err, sizeof(err));
		rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
		cr_assert_not_null(rk, "%s", err);
	}
	tl = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tl, TOPIC, 0)->offset =
	    RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, tl), 0);
	rd_kafka_topic_partition_list_destroy(tl);
	deadline = now_ms() + WAIT_MS;
	while (total < NMSG && now_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		char want[32], got[32];
		int i;

		if (m == NULL)
			continue;
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			rd_kafka_message_destroy(m);
			continue;
		}
		cr_assert_eq(m->key_len, 2);
		i = ((const char *)m->key)[1] - '0';
		cr_assert(i >= 0 && i < NMSG);
		seen[i]++;
		total++;
		snprintf(want, sizeof(want), "value %d", i);
		cr_expect_eq(m->len, strlen(want));
		cr_expect(memcmp(m->payload, want, m->len) == 0);
		snprintf(want, sizeof(want), "why%d", i);
		cr_expect_str_eq(header(m, "paced.reason", got, sizeof(got)),
		    want);
		cr_expect_str_eq(header(m, "paced.empty", got, sizeof(got)), "");
		rd_kafka_message_destroy(m);
	}
	for (int i = 0; i < NMSG; i++)
		cr_expect_eq(seen[i], 1, "message %d seen %d times", i, seen[i]);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(mrk);
	event_base_free(base);
	metrics_reset();
}

struct cut_state {
	int ok, failed;
	int fatal;
};

static void
cut_report(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct cut_state *c = arg;

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		c->ok++;
	else
		c->failed++;
}

static bool
two_ok(void *arg)
{
	return ((struct cut_state *)arg)->ok == 2;
}

static bool
fatal_seen(void *arg)
{
	return ((struct cut_state *)arg)->fatal > 0;
}

static void
on_fatal(const char *client, const char *reason, void *arg)
{
	(void)reason;
	cr_expect_str_eq(client, "cut");
	((struct cut_state *)arg)->fatal++;
}

Test(sink_producer, cuts_what_is_too_large, .fini = harness_teardown,
    .timeout = 180)
{
	rd_kafka_conf_t *mconf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *mrk, *rk;
	rd_kafka_topic_partition_list_t *tl;
	struct producer *p;
	struct config cfg;
	struct config_kv kv = { "message.max.bytes", "2000" };
	struct producer_opts o = { 0 };
	struct cut_state st = { 0, 0, 0 };
	static char big[10000];
	char err[512], group[64], buf[64];
	int seen = 0;
	int64_t deadline;

	cr_assert_eq(harness_setup("sink_producer_cut"), 0);
	mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
	cr_assert_not_null(mrk, "%s", err);
	cr_assert_not_null(mc = rd_kafka_mock_cluster_new(mrk, 1));
	cr_assert_eq(rd_kafka_mock_topic_create(mc, "t.cut", 1, 1), 0);
	base = event_base_new();
	memset(&cfg, 0, sizeof(cfg));
	cfg.kafka.brokers = (char *)rd_kafka_mock_cluster_bootstraps(mc);
	cfg.kafka.properties = &kv;
	cfg.kafka.nproperties = 1;
	o.name = "cut";
	o.resend = true;
	o.cut_header = "x.truncated";
	o.cb = cut_report;
	o.arg = &st;
	p = producer_new(base, &cfg, &o, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	{
		struct producer_header h = { "paced.reason", "too_large", 9 };
		struct producer_msg large = { .topic = "t.cut", .key = "k1",
		    .keylen = 2, .value = big, .valuelen = sizeof(big),
		    .headers = &h, .nheaders = 1 };
		struct producer_msg small = { .topic = "t.cut", .key = "k2",
		    .keylen = 2, .value = big, .valuelen = 100 };

		cr_assert_eq(producer_send(p, &large, NULL), 0);
		cr_assert_eq(producer_send(p, &small, NULL), 0);
	}
	cr_expect_eq(producer_outstanding(p), 2);
	cr_expect_eq(producer_truncated(p), 1);
	cr_assert(run_until(two_ok, &st, WAIT_MS), "never delivered");
	cr_expect_eq(st.failed, 0);
	cr_expect_eq(producer_outstanding(p), 0);
	cr_expect_eq(producer_oldest_ms(p), 0);

	/* A fatal error (as an idempotent producer meets on a sequence gap)
	 * is handed to the process' handler. */
	kafka_set_fatal_cb(on_fatal, &st);
	rd_kafka_test_fatal_error(producer_handle(p),
	    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "test");
	cr_expect(run_until(fatal_seen, &st, WAIT_MS), "no fatal report");
	cr_expect(producer_failed(p));
	kafka_set_fatal_cb(NULL, NULL);
	producer_free(p, 0);

	snprintf(group, sizeof(group), "g%ld", (long)now_ms());
	{
		rd_kafka_conf_t *c = rd_kafka_conf_new();

		rd_kafka_conf_set(c, "bootstrap.servers", cfg.kafka.brokers,
		    err, sizeof(err));
		rd_kafka_conf_set(c, "group.id", group, err, sizeof(err));
		rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
		cr_assert_not_null(rk, "%s", err);
	}
	tl = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tl, "t.cut", 0)->offset =
	    RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, tl), 0);
	rd_kafka_topic_partition_list_destroy(tl);
	deadline = now_ms() + WAIT_MS;
	while (seen < 2 && now_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			seen++;
			if (memcmp(m->key, "k1", 2) == 0) {
				cr_expect_lt(m->len, 2000);
				cr_expect_gt(m->len, 1000);
				cr_expect(memcmp(m->payload, big, m->len) == 0);
				cr_expect_str_eq(header(m, "x.truncated", buf,
				    sizeof(buf)), "10000");
				cr_expect_str_eq(header(m, "paced.reason", buf,
				    sizeof(buf)), "too_large");
			} else {
				cr_expect_eq(m->len, 100);
				cr_expect_null(header(m, "x.truncated", buf,
				    sizeof(buf)));
			}
		}
		rd_kafka_message_destroy(m);
	}
	cr_expect_eq(seen, 2);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(mrk);
	event_base_free(base);
	metrics_reset();
}
