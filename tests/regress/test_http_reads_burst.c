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

/* A burst of CLIENTS concurrent requests. */
struct burst {
	struct pollfd pfd[CLIENTS];
	int code[CLIENTS];
	int left;
};

/* Sends CLIENTS concurrent GET path. */
static void
burst_send(struct burst *b, int port, const char *path)
{
	struct sockaddr_in sin;
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", path);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->left = 0;
	for (int i = 0; i < CLIENTS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		cr_assert_neq(fd, -1);
		cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		cr_assert_eq(write(fd, req, (size_t)n), (ssize_t)n);
		b->pfd[i].fd = fd;
		b->pfd[i].events = POLLIN;
		b->code[i] = 0;
		b->left++;
	}
}

/* Counts the burst's answers by status into ok and other; returns the
 * number that got no answer in 60 s. With p, the most reads seen waiting
 * at the gate meanwhile (sampled every 50 ms) into max_queued. */
static int
burst_collect(struct burst *b, int *ok, int *other,
    const struct harness_paced *p, double *max_queued)
{
	struct pollfd *pfd = b->pfd;
	int *code = b->code, left = b->left;
	char buf[65536];
	int64_t deadline = harness_elapsed_ms() + 60000;

	while (left > 0 && harness_elapsed_ms() < deadline) {
		if (p != NULL) {
			double q = harness_paced_metric(p,
			    "paced_http_redis_reads{state=\"queued\"}");

			if (q > *max_queued)
				*max_queued = q;
		}
		if (poll(pfd, CLIENTS, p != NULL ? 50 : 1000) <= 0)
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

/* CLIENTS concurrent GET /v1/alerts: as burst_collect. */
static int
burst(int port, int *ok, int *other)
{
	struct burst b;

	burst_send(&b, port, "/v1/alerts?status=firing");
	return burst_collect(&b, ok, other, NULL, NULL);
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

/* An org board of a week (found after ingest wrote it), grown by n
 * members no roster holds: a large ZRANGE per request for it. Its KPI
 * and date into kpi and date (the board the requests read; the others
 * are left as they are, no request reads them). Returns its new size,
 * or 0 when there is no such board. */
static long long
grow_board(const char *prefix, int n, char *kpi, size_t kpilen, char *date,
    size_t datelen)
{
	redisContext *rc = harness_redis();
	redisReply *r;
	char pattern[256], key[512] = "";
	long long size;

	cr_assert_not_null(rc);
	snprintf(pattern, sizeof(pattern), "%s:{board:org:*:week:*}", prefix);
	r = redisCommand(rc, "KEYS %s", pattern);
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements && key[0] == '\0'; i++) {
		const char *k, *w;

		if ((k = strstr(r->element[i]->str, "{board:org:")) != NULL &&
		    (w = strstr(k, ":week:")) != NULL) {
			snprintf(key, sizeof(key), "%s", r->element[i]->str);
			k += strlen("{board:org:");
			snprintf(kpi, kpilen, "%.*s", (int)(w - k), k);
			snprintf(date, datelen, "%.10s", w + strlen(":week:"));
		}
	}
	freeReplyObject(r);
	if (key[0] == '\0')
		return 0;
	for (int m = 0; m < n; m++)
		redisAppendCommand(rc, "ZADD %s %d ghost-%06d", key, m % 97, m);
	for (int m = 0; m < n; m++) {
		redisReply *z = NULL;

		cr_assert_eq(redisGetReply(rc, (void **)&z), REDIS_OK);
		freeReplyObject(z);
	}
	r = redisCommand(rc, "ZCARD %s", key);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
	size = r->integer;
	freeReplyObject(r);
	harness_log("%s grown to %lld members", key, size);
	return size;
}

/*
 * The leaderboard routes' reads went to the read connection directly,
 * past the bound the other routes keep: 200 requests for a board of
 * 20,000 members put 200 large ZRANGEs on the connection at once. They
 * now wait at the same gate (paced_http_redis_reads{state="queued"}),
 * every request is answered and the read connection never times out.
 */
Test(http_reads_burst, board_burst_waits_at_the_gate,
    .fini = harness_teardown, .timeout = 400)
{
	struct harness_paced p;
	struct burst b;
	char prefix[128], kpi[64] = "", date[16] = "", path[256];
	int ok = 0, other = 0, lost;
	double queued = 0;

	cr_assert_eq(harness_start_stack("http_reads_burst_boards", 29), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	key_prefix(&p, prefix, sizeof(prefix));
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_assert_geq(grow_board(prefix, 20000, kpi, sizeof(kpi), date,
	    sizeof(date)), 20000, "no org board of a week in Redis");
	snprintf(path, sizeof(path), "/v1/leaderboards/org/%s?period=week&"
	    "at=%sT12:00:00Z&limit=10", kpi, date);
	burst_send(&b, p.http_port, path);
	lost = burst_collect(&b, &ok, &other, &p, &queued);
	harness_log("%d GET %s: %d answered 200, %d other, %d unanswered; "
	    "at most %g reads waiting at the gate", CLIENTS, path, ok,
	    other, lost, queued);
	cr_expect_eq(lost, 0, "requests left unanswered");
	cr_expect_eq(other, 0, "requests not answered 200");
	cr_expect_gt(queued, 0, "no read waited at the gate");
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_redis_timeouts_total{conn=\"http\"}"), 0,
	    "the read connection timed out; see %s", p.log);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
