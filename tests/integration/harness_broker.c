/*
 * Integration test harness: the Kafka side of the stack. The dev broker
 * (paced-devbroker, librdkafka's mock cluster in a child process) or the
 * same mock hosted in the test process for fault injection, and the
 * producer (paced-produce) feeding it the generated stream.
 */

#include "harness.h"
#include "harness_impl.h"

#include <sys/wait.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static struct {
	pid_t		 broker_pid;
	rd_kafka_t	*mock_rk;	/* hosts the in-process broker */
	rd_kafka_mock_cluster_t *mock;
	char		 brokers[512];
	char		 brokers_file[PATH_MAX];
	int		 partitions;	/* 0: HARNESS_PARTITIONS */
} H;

void
harness_broker_reset(void)
{
	if (H.mock != NULL)
		rd_kafka_mock_cluster_destroy(H.mock);
	if (H.mock_rk != NULL)
		rd_kafka_destroy(H.mock_rk);
	memset(&H, 0, sizeof H);
}

static bool
addr_file_ready(void *arg)
{
	(void)arg;
	if (!harness_alive(H.broker_pid))
		return true;
	return harness_file_exists(H.brokers_file);
}

int
harness_broker_start(void)
{
	char *bin, *log, *addr;
	char parts[16];
	size_t len;

	snprintf(H.brokers_file, sizeof H.brokers_file, "%s/brokers.addr",
	    harness_run_dir());
	snprintf(parts, sizeof parts, "%d", harness_partitions());
	bin = xasprintf("%s/paced-devbroker", harness_build_dir());
	log = harness_path("broker.log");
	{
		char *argv[] = { bin, "--partitions", parts,
		    "--topic", HARNESS_TOPIC, "--topic", HARNESS_TOPIC_DLQ,
		    "--topic", HARNESS_TOPIC_ALERTS,
		    "--topic", HARNESS_TOPIC_ENRICHED,
		    "--topic", HARNESS_TOPIC_SCORECARDS,
		    "--addr-file", H.brokers_file, NULL };

		H.broker_pid = harness_spawn(argv, log);
	}
	free(bin);
	free(log);
	if (H.broker_pid == -1)
		return -1;
	if (harness_wait_until(addr_file_ready, NULL, HARNESS_WAIT_MS,
	    "the broker's address file") == -1)
		return -1;
	if (!harness_alive(H.broker_pid)) {
		harness_log("paced-devbroker exited; see broker.log");
		return -1;
	}
	if ((addr = harness_read_file(H.brokers_file, &len)) == NULL)
		return -1;
	while (len > 0 && isspace((unsigned char)addr[len - 1]))
		addr[--len] = '\0';
	snprintf(H.brokers, sizeof H.brokers, "%s", addr);
	free(addr);
	harness_log("broker pid %ld at %s", (long)H.broker_pid, H.brokers);
	return H.brokers[0] != '\0' ? 0 : -1;
}

int
harness_broker_start_local(void)
{
	static const char *const topics[] = { HARNESS_TOPIC,
	    HARNESS_TOPIC_DLQ, HARNESS_TOPIC_ALERTS, HARNESS_TOPIC_ENRICHED,
	    HARNESS_TOPIC_SCORECARDS };
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	size_t i;

	snprintf(H.brokers_file, sizeof H.brokers_file, "%s/brokers.addr",
	    harness_run_dir());
	/* The hosting handle has no bootstrap.servers on purpose. */
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
	/* The mock brokers' sockets take this handle's settings: with Nagle
	 * on, a reply written in two parts waits ~40 ms for a delayed ACK
	 * (see tools/devbroker.c). */
	rd_kafka_conf_set(conf, "socket.nagle.disable", "true", err, sizeof err);
	if ((H.mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
	    sizeof err)) == NULL) {
		harness_log("mock broker: %s", err);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	if ((H.mock = rd_kafka_mock_cluster_new(H.mock_rk, 1)) == NULL) {
		harness_log("mock broker: cannot create the cluster");
		return -1;
	}
	for (i = 0; i < sizeof topics / sizeof topics[0]; i++)
		if (rd_kafka_mock_topic_create(H.mock, topics[i],
		    harness_partitions(), 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("mock broker: cannot create %s", topics[i]);
			return -1;
		}
	snprintf(H.brokers, sizeof H.brokers, "%s",
	    rd_kafka_mock_cluster_bootstraps(H.mock));
	if (harness_write_file(H.brokers_file, H.brokers) == -1)
		return -1;
	harness_log("in-process broker at %s", H.brokers);
	return 0;
}

void
harness_set_partitions(int n)
{
	H.partitions = n > 0 && n <= HARNESS_MAX_PARTITIONS ? n : 0;
}

int
harness_partitions(void)
{
	return H.partitions > 0 ? H.partitions : HARNESS_PARTITIONS;
}

rd_kafka_mock_cluster_t *
harness_mock(void)
{
	return H.mock;
}

const char *
harness_brokers(void)
{
	return H.brokers;
}

const char *
harness_brokers_file(void)
{
	return H.brokers_file;
}

pid_t
harness_produce_start(int rate)
{
	char *bin = xasprintf("%s/paced-produce", harness_build_dir());
	char *file = xasprintf("%s/stream.tsv", harness_gen_dir());
	char *log = harness_path("produce.log");
	char srate[32];
	pid_t pid;

	snprintf(srate, sizeof srate, "%d", rate);
	{
		char *argv[] = { bin, "--brokers-file", H.brokers_file,
		    "--topic", HARNESS_TOPIC, "--keyed", "--file", file,
		    rate > 0 ? "--rate" : NULL, srate, NULL };

		pid = harness_spawn(argv, log);
	}
	free(bin);
	free(file);
	free(log);
	if (pid != -1)
		harness_log("producing %lld messages (rate %d/s), pid %ld",
		    (long long)harness_stream_messages(), rate, (long)pid);
	return pid;
}

int
harness_produce_file(const char *name, int rate)
{
	char *bin = xasprintf("%s/paced-produce", harness_build_dir());
	char *file = xasprintf("%s/%s", harness_gen_dir(), name);
	char *log = harness_path("produce.log");
	char srate[32];
	int rc;

	snprintf(srate, sizeof srate, "%d", rate);
	{
		char *argv[] = { bin, "--brokers-file", H.brokers_file,
		    "--topic", HARNESS_TOPIC, "--keyed", "--file", file,
		    rate > 0 ? "--rate" : NULL, srate, NULL };

		rc = harness_run(argv, log, 300000);
	}
	harness_log("paced-produce %s exited %d", name, rc);
	free(bin);
	free(file);
	free(log);
	return rc;
}

int
harness_produce(int rate)
{
	pid_t pid = harness_produce_start(rate);
	int st;

	if (pid == -1)
		return -1;
	if (harness_wait_exit(pid, 300000, &st) == -1) {
		harness_kill_and_reap(pid);
		harness_log("paced-produce did not finish");
		return -1;
	}
	if (!WIFEXITED(st)) {
		harness_log("paced-produce killed by signal %d", WTERMSIG(st));
		return -1;
	}
	harness_log("paced-produce exited %d", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}
