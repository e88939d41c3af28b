/*
 * The dead-letter topic against a broker we can break (the mock cluster
 * hosted in the test process):
 *
 * - stuck: the DLQ topic answers "not authorized" for longer than
 *   max.poll.interval.ms. The daemon must hold its batches back without
 *   storing offsets, pause and keep polling (no revoke, no "maximum poll
 *   interval exceeded"), answer /readyz 503 while the DLQ is stuck, and
 *   once the topic is back end with Redis equal to the oracle, the DLQ
 *   holding each bad event and each unknown rep's event exactly once
 *   (unknown_rep: dlq), and the event larger than the producer's
 *   message.max.bytes as a truncated copy marked paced.truncated.
 * - fatal: the DLQ producer meets a fatal idempotence error (a Produce
 *   answered OUT_OF_ORDER_SEQUENCE_NUMBER): the daemon stops gracefully
 *   and exits 3, and a restart finishes the stream with nothing lost.
 *   Then a stop held up by a stalled Redis is cut short by a second
 *   SIGTERM: the daemon exits 4 at once, with API requests waiting on
 *   Redis whose callbacks must not touch the freed HTTP server.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* True when /readyz answers 503 and says the DLQ is stuck. */
static bool
dlq_stuck(void *arg)
{
	const struct harness_paced *p = arg;
	char *body = NULL;
	int status = 0;
	bool stuck;

	if (harness_http_get(p->http_port, "/readyz", &status, &body) == -1)
		return false;
	stuck = status == 503 && body != NULL &&
	    strstr(body, "\"dlq_stuck\":true") != NULL;
	free(body);
	return stuck;
}

struct stall {
	const struct harness_paced *p;
	int64_t until;
	int samples, not_ready, paused, outstanding, assigned;
};

/* Samples the daemon while the DLQ is down; true once the time is up. */
static bool
stall_sample(void *arg)
{
	struct stall *s = arg;

	s->samples++;
	s->not_ready += dlq_stuck((void *)s->p);
	s->paused += harness_paced_metric(s->p, "paced_paused") == 1;
	s->outstanding += harness_paced_metric(s->p,
	    "paced_dlq_outstanding") > 0;
	s->assigned += harness_paced_metric(s->p,
	    "paced_assigned_partitions") ==
	    HARNESS_PARTITIONS;
	return harness_elapsed_ms() >= s->until;
}

static bool
metrics_match(void *arg)
{
	return harness_check_metrics(*(int *)arg, false) == 0;
}

static bool
dlq_drained(void *arg)
{
	return harness_paced_metric(arg, "paced_dlq_outstanding") == 0;
}

Test(dlq, stuck_topic_keeps_the_member, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	struct stall s;
	int64_t total, applied;
	double counted, counters;

	cr_assert_eq(harness_setup("dlq_stuck"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start_local(), 0);
	cr_assert_eq(harness_gen(21, 4000), 0);
	total = harness_stream_messages();
	/* Polling must go on past 7 s of a stuck DLQ; the too_large bad
	 * event (70 KB) is larger than the producer may send. */
	harness_kafka_property("max.poll.interval.ms", "7000");
	harness_kafka_property("message.max.bytes", "40000");
	harness_kafka_property("topic.metadata.refresh.interval.ms", "1000");
	cr_assert_eq(harness_paced_config(&p, 0,
	    "unknown_rep: dlq\ndlq: {stuck_after: 2s}\n"), 0);
	rd_kafka_mock_topic_set_error(harness_mock(), HARNESS_TOPIC_DLQ,
	    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);

	cr_assert_eq(harness_wait_until(dlq_stuck, &p, 30000,
	    "/readyz to report the DLQ stuck"), 0);
	memset(&s, 0, sizeof(s));
	s.p = &p;
	s.until = harness_elapsed_ms() + 9000;
	harness_wait_until(stall_sample, &s, 20000, "9 s of a stuck DLQ");
	applied = harness_applied();
	harness_log("stuck DLQ: %d samples: %d not ready, %d paused, %d with "
	    "outstanding messages, %d with all partitions; %lld of %lld "
	    "applied", s.samples, s.not_ready, s.paused, s.outstanding,
	    s.assigned, (long long)applied, (long long)total);
	cr_expect_lt(applied, total, "the stream went through a stuck DLQ");
	/* The batch behind the one the DLQ holds is counted all the same
	 * (two batches in flight): more events counted than the watermarks
	 * cover, by two batches' counting (the held one may be small: the
	 * first poll's few messages). */
	counted = harness_paced_metric(&p,
	    "paced_events_total{outcome=\"counted\"}") +
	    harness_paced_metric(&p,
	    "paced_events_total{outcome=\"duplicate\"}");
	counters = harness_paced_metric(&p,
	    "paced_batch_stage_seconds_count{stage=\"counters\"}");
	harness_log("stuck DLQ: %.0f events counted by %.0f batches, %lld "
	    "messages under the watermarks", counted, counters,
	    (long long)applied);
	cr_expect_gt(counted, (double)applied, "nothing counted past the "
	    "watermarks");
	cr_expect_geq(counters, 2, "the batch behind the stuck one was not "
	    "counted");
	cr_expect_eq(s.not_ready, s.samples, "/readyz stopped reporting the "
	    "stuck DLQ");
	cr_expect_gt(s.paused, 0, "paced_paused never 1 while held back");
	cr_expect_eq(s.outstanding, s.samples, "paced_dlq_outstanding 0 "
	    "while stuck");
	cr_expect_eq(s.assigned, s.samples, "partitions lost while stuck");
	cr_expect(!harness_paced_logged(&p, "fac=MAXPOLL"),
	    "the consumer stopped polling; see %s", p.log);
	cr_expect(!harness_paced_logged(&p, "what=revoke"),
	    "the member left the group; see %s", p.log);
	cr_expect_gt(harness_paced_metric(&p, "paced_dlq_oldest_seconds"), 2);

	rd_kafka_mock_topic_set_error(harness_mock(), HARNESS_TOPIC_DLQ,
	    RD_KAFKA_RESP_ERR_NO_ERROR);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq_with(true, true, 20), 0,
	    "dead-letter topic differs");
	cr_expect_eq(harness_dlq_truncated(), 1, "the too_large event did not "
	    "arrive as one truncated copy");
	harness_wait_until(metrics_match, &p.http_port, 10000,
	    "metrics to match the totals");
	cr_expect_eq(harness_check_metrics(p.http_port, true), 0,
	    "metrics differ from the totals");
	cr_expect_eq(harness_wait_until(dlq_drained, &p, 10000,
	    "paced_dlq_outstanding 0"), 0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_dlq_messages_total{result=\"truncated\"}"), 1);
	/* librdkafka reports a missed poll deadline, and the revoke that
	 * follows, only once it is polled again: look again now. */
	cr_expect(!harness_paced_logged(&p, "fac=MAXPOLL"),
	    "the consumer stopped polling; see %s", p.log);
	cr_expect(!harness_paced_logged(&p, "what=revoke"),
	    "the member left the group; see %s", p.log);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/* Sends an HTTP request to 127.0.0.1:port and leaves the answer unread;
 * returns the socket (the caller closes it) or -1. */
static int
request_unread(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	char req[256];
	int fd, n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
time_over(void *arg)
{
	return harness_elapsed_ms() >= *(int64_t *)arg;
}

Test(dlq, fatal_error_and_forced_stop_exit_non_zero,
    .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	pid_t redis;
	int fds[2];
	int64_t until, t;
	int st;

	cr_assert_eq(harness_setup("dlq_fatal"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start_local(), 0);
	cr_assert_eq(harness_gen(22, 3000), 0);
	cr_assert_eq(harness_produce(0), 0);
	/* The next Produce request, the daemon's first, is refused as out
	 * of sequence: for an idempotent producer a fatal error. */
	rd_kafka_mock_push_request_errors(harness_mock(), 0 /* Produce */, 1,
	    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_wait_exit(p.pid, HARNESS_WAIT_MS, &st), 0,
	    "paced still running after a fatal producer error; see %s",
	    p.log);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	    "paced did not exit 3 (wait status 0x%x); see %s", st, p.log);
	cr_expect(harness_paced_logged(&p, "event=kafka_fatal"));
	cr_expect(harness_paced_logged(&p, "event=ingest_stopped"),
	    "the stop was not graceful; see %s", p.log);

	/* Nothing was lost: a restart finishes the stream exactly. */
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(false, 20), 0, "dead-letter topic "
	    "differs");
	cr_assert(harness_alive(p.pid), "paced exited; see %s", p.log);

	/* A batch in flight to a stalled Redis holds the stop up (until
	 * the 2 s command timeout); a second SIGTERM ends it at once. */
	cr_assert_gt(redis = harness_redis_pid(), 0);
	cr_assert_eq(harness_gen_write("late.tsv", "late-key\tnot json\n"), 0);
	cr_assert_eq(kill(redis, SIGSTOP), 0);
	cr_assert_eq(harness_produce_file("late.tsv", 0), 0);
	/* Two API requests wait on the stalled Redis too: the forced stop
	 * frees the HTTP server under them, and their callbacks, called
	 * when the connection goes, must not touch it (ASan checks). */
	cr_assert_neq(fds[0] = request_unread(p.http_port, "/v1/alerts"), -1);
	cr_assert_neq(fds[1] = request_unread(p.http_port,
	    "/v1/alerts?status=firing"), -1);
	until = harness_elapsed_ms() + 1000;
	harness_wait_until(time_over, &until, 5000, "the batch to be sent");
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_paced_wait_log(&p, "event=ingest_stopping",
	    5000), 0);
	t = harness_elapsed_ms();
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 10000, &st), 0);
	kill(redis, SIGCONT);
	harness_log("paced exited %lld ms after the second SIGTERM",
	    (long long)(harness_elapsed_ms() - t));
	cr_expect_lt(harness_elapsed_ms() - t, 1500, "the second signal did "
	    "not end the stop at once");
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 4,
	    "paced did not exit 4 (wait status 0x%x); see %s", st, p.log);
	cr_expect(harness_paced_logged(&p, "event=shutdown_forced"),
	    "see %s", p.log);
	close(fds[0]);
	close(fds[1]);
}
