/*
 * One Redis connection served everything: a burst of API requests queued
 * their reads ahead of ingest's commands, the oldest command passed
 * redis.command_timeout (2 s in the harness), the watchdog dropped the
 * connection and ingest went into recovery. The API's reads now have
 * their own connection, a few at a time.
 *
 * Many alerts firing make /v1/alerts a large read (an HGETALL of the
 * firing hash, decoded and re-encoded); 200 clients ask for it at once,
 * twice, while a stream is ingested. Ingest must not time out
 * or recover, and counts exactly; every API request gets an answer.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS		200
#define ROUNDS		2
#define FIRING		4000

/* The key prefix in p's config, into out. */
static void
key_prefix(const struct harness_paced *p, char *out, size_t outlen)
{
	char line[512];
	FILE *f = fopen(p->config, "r");

	cr_assert_not_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " key_prefix: %127s", out) == 1)
			break;
	}
	fclose(f);
	cr_assert_neq(out[0], '\0');
	(void)outlen;
}

/* Fills the hash of alerts firing with n alerts of made-up reps. */
static void
fill_firing(const char *prefix, int n)
{
	redisContext *rc = harness_redis();
	char field[64], value[256];

	cr_assert_not_null(rc);
	for (int i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "burst-%06d:calls:week", i);
		snprintf(value, sizeof(value), "{\"alert_id\":\"%016x\","
		    "\"status\":\"firing\",\"severity\":\"warning\","
		    "\"rep_id\":\"burst-%06d\",\"kpi\":\"calls\","
		    "\"period\":\"week\",\"actual\":%d,\"target\":250,"
		    "\"pace\":0.5}", i, i, i % 100);
		redisAppendCommand(rc, "HSET %s:alerts:firing %s %s", prefix,
		    field, value);
	}
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;

		cr_assert_eq(redisGetReply(rc, (void **)&r), REDIS_OK);
		freeReplyObject(r);
	}
}

/* CLIENTS concurrent GET /v1/alerts; counts answers by status into
 * ok and other; returns the number that got no answer in 60 s. */
static int
burst(int port, int *ok, int *other)
{
	struct pollfd pfd[CLIENTS];
	char buf[65536];
	int code[CLIENTS], left = 0;
	struct sockaddr_in sin;
	static const char req[] = "GET /v1/alerts?status=firing HTTP/1.1\r\n"
	    "Host: x\r\nConnection: close\r\n\r\n";
	int64_t deadline = harness_elapsed_ms() + 60000;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < CLIENTS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		cr_assert_neq(fd, -1);
		cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		cr_assert_eq(write(fd, req, sizeof(req) - 1),
		    (ssize_t)sizeof(req) - 1);
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
		code[i] = 0;
		left++;
	}
	while (left > 0 && harness_elapsed_ms() < deadline) {
		if (poll(pfd, CLIENTS, 1000) <= 0)
			continue;
		for (int i = 0; i < CLIENTS; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf) - 1);
			if (n > 0 && code[i] == 0) {
				buf[n] = '\0';
				if (sscanf(buf, "HTTP/1.%*d %d", &code[i]) != 1)
					code[i] = -1;
			}
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
			if (code[i] == 200)
				(*ok)++;
			else
				(*other)++;
		}
	}
	for (int i = 0; i < CLIENTS; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	return left;
}

Test(http_reads_burst, api_burst_does_not_stall_ingest,
    .fini = harness_teardown, .timeout = 400)
{
	struct harness_paced p;
	char prefix[128];
	int ok = 0, other = 0, lost = 0, st;
	int64_t total, t0;
	pid_t prod;

	cr_assert_eq(harness_start_stack("http_reads_burst", 29), 0);
	total = harness_stream_messages();
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	key_prefix(&p, prefix, sizeof(prefix));
	fill_firing(prefix, FIRING);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	cr_assert_neq(prod = harness_produce_start((int)(total / 15)), -1);
	cr_assert_eq(harness_wait_applied(total / 10, HARNESS_WAIT_MS), 0);
	t0 = harness_elapsed_ms();
	for (int r = 0; r < ROUNDS; r++)
		lost += burst(p.http_port, &ok, &other);
	harness_log("%d bursts of %d in %lld ms: %d answered 200, %d other, "
	    "%d unanswered", ROUNDS, CLIENTS,
	    (long long)(harness_elapsed_ms() - t0), ok, other, lost);
	cr_expect_eq(lost, 0, "requests left unanswered");
	cr_expect_gt(ok, 0);

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_redis_timeouts_total{conn=\"main\"}"), 0,
	    "ingest's connection timed out; see %s", p.log);
	cr_expect_eq(harness_paced_metric(&p, "paced_recoveries_total"), 0,
	    "ingest went into recovery; see %s", p.log);
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the oracle");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
