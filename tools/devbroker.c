/*
 * devbroker.c: paced-devbroker, a standalone Kafka-protocol broker for
 * `make run` and the integration tests. It hosts librdkafka's mock cluster
 * inside an otherwise idle producer handle, creates the topics paced uses,
 * publishes the bootstrap address (stdout and, atomically, a file) and then
 * sleeps in sigwait() until SIGTERM or SIGINT. The mock cluster's own
 * threads serve every client connection; this file only sets it up and
 * tears it down.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log.h"
#include "xmalloc.h"

#define DEVBROKER_MAX_BROKERS		16
#define DEVBROKER_MAX_PARTITIONS	1024

static const char *const devbroker_default_topics[] = {
	"sales.activity",
	"sales.activity.dlq",
	"sales.alerts",
	"sales.activity.enriched",
	"sales.scorecards",
};

static void __attribute__((noreturn))
devbroker_usage(FILE *f, int status)
{
	fprintf(f,
"usage: paced-devbroker [--brokers N] [--partitions N] [--topic NAME]...\n"
"                       [--addr-file PATH]\n"
"\n"
"A local Kafka-protocol broker (librdkafka's mock cluster) on loopback.\n"
"Any Kafka client can reach it at the printed bootstrap address.\n"
"\n"
"  --brokers N       brokers in the cluster (default 1, at most %d)\n"
"  --partitions N    partitions per topic (default 6, at most %d)\n"
"  --topic NAME      create this topic (repeatable); default: sales.activity,\n"
"                    sales.activity.dlq, sales.alerts, sales.activity.enriched,\n"
"                    sales.scorecards\n"
"  --addr-file PATH  write the bootstrap address to PATH (atomically, through\n"
"                    a temporary file and rename) once listening; removed\n"
"                    at exit\n"
"  --help            this text\n"
"\n"
"Prints \"broker: listening on HOST:PORT[,HOST:PORT...]\" on stdout, then\n"
"runs until SIGTERM or SIGINT. Data lives in memory only and is gone at exit.\n"
"\n"
"Limits of the mock cluster: each partition keeps only about 5 MiB (or 100k\n"
"message sets) and silently drops its oldest data past that; produce with\n"
"compression.type=lz4 or use more partitions for large streams. No SSL/SASL\n"
"and no CreateTopics: topics are created here, or auto-created on first use\n"
"with the mock's default of 4 partitions. A new consumer group waits about\n"
"3 s before its first join.\n",
	    DEVBROKER_MAX_BROKERS, DEVBROKER_MAX_PARTITIONS);
	exit(status);
}

/* Parses a decimal int in [min, max]; returns 0 or -1. */
static int
devbroker_parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Writes addr plus a newline to path through path.tmp and rename(), so a
 * reader polling for the file never sees it half-written. Borrows both.
 */
static int
devbroker_write_addr(const char *path, const char *addr, char *err,
    size_t errlen)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f;

	if ((f = fopen(tmp, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fprintf(f, "%s\n", addr) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/*
 * librdkafka logs from its own threads; log.c's quoting buffers are not
 * shared across threads, so these lines are written directly, in the same
 * logfmt shape.
 */
static void
devbroker_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	(void)rk;
	/* The hosting handle has no bootstrap.servers on purpose. */
	if (strcmp(fac, "CONFWARN") == 0)
		return;
	fprintf(stderr, "level=%s event=rdkafka fac=%s msg=\"%s\"\n",
	    level <= 3 ? "error" : level <= 5 ? "warn" : "info", fac, buf);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers",	required_argument, NULL, 'b' },
		{ "partitions",	required_argument, NULL, 'p' },
		{ "topic",	required_argument, NULL, 't' },
		{ "addr-file",	required_argument, NULL, 'a' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **topics = NULL;
	size_t ntopics = 0;
	const char *addr_file = NULL, *bootstraps;
	int nbrokers = 1, npartitions = 6, replication, ch, sig;
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_resp_err_t kerr;
	sigset_t set;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (devbroker_parse_int(optarg, 1, DEVBROKER_MAX_BROKERS,
			    &nbrokers) != 0)
				fatalx("usage", "msg=\"--brokers wants 1..%d\"",
				    DEVBROKER_MAX_BROKERS);
			break;
		case 'p':
			if (devbroker_parse_int(optarg, 1,
			    DEVBROKER_MAX_PARTITIONS, &npartitions) != 0)
				fatalx("usage", "msg=\"--partitions wants 1..%d\"",
				    DEVBROKER_MAX_PARTITIONS);
			break;
		case 't':
			if (*optarg == '\0')
				fatalx("usage", "msg=\"--topic wants a name\"");
			topics = xreallocarray(topics, ntopics + 1,
			    sizeof(*topics));
			topics[ntopics++] = optarg;
			break;
		case 'a':
			addr_file = optarg;
			break;
		case 'h':
			devbroker_usage(stdout, 0);
		default:
			devbroker_usage(stderr, 2);
		}
	}
	if (optind != argc)
		devbroker_usage(stderr, 2);
	if (ntopics == 0) {
		ntopics = sizeof(devbroker_default_topics) /
		    sizeof(devbroker_default_topics[0]);
		topics = xreallocarray(NULL, ntopics, sizeof(*topics));
		for (size_t i = 0; i < ntopics; i++)
			topics[i] = devbroker_default_topics[i];
	}

	/*
	 * Block the stop signals before librdkafka starts its threads, so
	 * they inherit the mask and sigwait() below is the only receiver.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("sigmask", "msg=\"cannot block signals\"");
	signal(SIGPIPE, SIG_IGN);

	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, devbroker_rdkafka_log);
	/*
	 * The mock brokers' sockets take the hosting handle's settings: with
	 * Nagle on (librdkafka's default), a reply written in two parts
	 * waits for the client's delayed ACK, about 40 ms (measured: one
	 * produce of 200 messages to 32 partitions, p99 of the delivery
	 * reports 46 ms with it, a few ms without).
	 */
	if (rd_kafka_conf_set(conf, "client.id", "paced-devbroker", errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK)
		fatalx("rdkafka_conf", "err=%s", log_quote(errstr));
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL)
		fatalx("rdkafka_new", "err=%s", log_quote(errstr));
	conf = NULL;	/* owned by rk now */

	if ((mc = rd_kafka_mock_cluster_new(rk, nbrokers)) == NULL)
		fatalx("mock_cluster", "msg=\"cannot create the mock cluster\"");

	/* The mock cluster refuses a replication factor above its size. */
	replication = nbrokers < 3 ? nbrokers : 3;
	for (size_t i = 0; i < ntopics; i++) {
		kerr = rd_kafka_mock_topic_create(mc, topics[i], npartitions,
		    replication);
		if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
			fatalx("topic_create", "topic=%s err=%s",
			    log_quote(topics[i]),
			    log_quote(rd_kafka_err2str(kerr)));
	}

	bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	if (addr_file != NULL && devbroker_write_addr(addr_file, bootstraps,
	    errstr, sizeof(errstr)) != 0)
		fatalx("addr_file", "err=%s", log_quote(errstr));
	printf("broker: listening on %s\n", bootstraps);
	fflush(stdout);
	log_info("broker_ready", "brokers=%d partitions=%d topics=%zu",
	    nbrokers, npartitions, ntopics);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
	log_info("broker_stop", "signal=%s", sig == SIGINT ? "INT" : "TERM");

	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	if (addr_file != NULL)
		unlink(addr_file);
	free(topics);
	return 0;
}
