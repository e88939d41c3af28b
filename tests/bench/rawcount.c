/*
 * rawcount: the ceiling of the end-to-end bench. A plain librdkafka
 * consumer that reads a whole topic from its first offset and only counts
 * the messages and their bytes: no parsing, no Redis. What paced does on
 * top of this is the price of its work. It assigns every partition
 * itself (no consumer group, so no join wait), times from the first
 * message to the last, and prints one JSON line:
 *
 *   {"messages":N,"bytes":B,"seconds":S,"per_second":R,"cpu_seconds":C}
 *
 * (C: this process's CPU time, every thread, over the same span.)
 *
 * usage: rawcount BROKERS TOPIC EXPECTED [TIMEOUT_S]
 * Exits 0 once EXPECTED messages are read, 1 if the count is not reached
 * within TIMEOUT_S (default 120) seconds after start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static double
rawcount_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
rawcount_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
rawcount_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "rawcount: %s: %s\n", k, err);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_conf_t *conf;
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t kerr;
	rd_kafka_t *rk;
	char err[256];
	long long expected, count = 0, bytes = 0;
	double timeout = 120, start, first = 0, last = 0, cpu0 = 0, cpu1;
	int rc = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: rawcount BROKERS TOPIC EXPECTED [TIMEOUT_S]\n");
		return 2;
	}
	expected = atoll(argv[3]);
	if (argc == 5)
		timeout = atof(argv[4]);

	conf = rd_kafka_conf_new();
	rawcount_set(conf, "bootstrap.servers", argv[1]);
	rawcount_set(conf, "group.id", "bench-rawcount");
	rawcount_set(conf, "enable.auto.commit", "false");
	rawcount_set(conf, "enable.partition.eof", "false");
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rawcount: %s\n", err);
		return 2;
	}
	rd_kafka_poll_set_consumer(rk);

	rkt = rd_kafka_topic_new(rk, argv[2], NULL);
	kerr = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
	    md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "rawcount: no metadata for %s: %s\n", argv[2],
		    rd_kafka_err2str(kerr != RD_KAFKA_RESP_ERR_NO_ERROR ? kerr :
		    md->topics[0].err));
		return 2;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, argv[2],
		    md->topics[0].partitions[i].id)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	if ((kerr = rd_kafka_assign(rk, parts)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "rawcount: assign: %s\n", rd_kafka_err2str(kerr));
		return 2;
	}
	rd_kafka_topic_partition_list_destroy(parts);

	start = rawcount_now();
	while (count < expected) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (m == NULL) {
			if (rawcount_now() - start > timeout) {
				rc = 1;
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (count == 0) {
				first = rawcount_now();
				cpu0 = rawcount_cpu();
			}
			count++;
			bytes += (long long)m->len;
		} else {
			fprintf(stderr, "rawcount: %s\n", rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
	}
	last = rawcount_now();
	cpu1 = rawcount_cpu();
	printf("{\"messages\":%lld,\"bytes\":%lld,\"seconds\":%.6f,"
	    "\"per_second\":%.1f,\"cpu_seconds\":%.6f}\n",
	    count, bytes, last - first,
	    last > first ? (double)(count - 1) / (last - first) : 0.0,
	    count > 0 ? cpu1 - cpu0 : 0.0);
	if (rc != 0)
		fprintf(stderr, "rawcount: %lld of %lld messages in %.0f s\n",
		    count, expected, timeout);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}
