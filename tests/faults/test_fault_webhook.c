/*
 * Webhook receivers that misbehave, served by threads of the test: one
 * answers each request only after 30 s (within the webhook's timeout of
 * 60 s), one resets every connection. Alerts fire all through a steady
 * stream. Neither may slow counting, lose an alert on the topic or send
 * one twice there; the slow one must get no message twice (nothing timed
 * out, so nothing was retried); once the resetting one behaves, its queue
 * must drain with nothing dropped.
 */

#include "faults.h"
#include "harness_impl.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xmalloc.h"

enum mode { MODE_OK, MODE_SLOW, MODE_RESET };

#define MAX_BODIES	512

static atomic_int mode;
static atomic_int connections, requests, answered;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *bodies[MAX_BODIES];
static int nbodies, twice;

/* The value of the Content-Length header in the head [buf, end), or 0. */
static size_t
content_length(const char *buf, const char *end)
{
	static const char name[] = "content-length:";
	const char *p;
	size_t i;

	for (p = buf; p + sizeof name - 1 < end; p++) {
		for (i = 0; i < sizeof name - 1; i++)
			if (tolower((unsigned char)p[i]) != name[i])
				break;
		if (i == sizeof name - 1)
			return strtoul(p + i, NULL, 10);
	}
	return 0;
}

/* Reads one request; returns its body (owned) or NULL at EOF/error. */
static char *
read_request(int fd)
{
	char buf[65536], *end;
	size_t len = 0, need;
	ssize_t n;

	for (;;) {
		if (len == sizeof buf - 1)
			return NULL;
		if ((n = read(fd, buf + len, sizeof buf - 1 - len)) <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		need = (size_t)(end + 4 - buf) + content_length(buf, end);
		if (len >= need)
			return xstrdup(end + 4);
	}
}

static void
record(char *body)
{
	int i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nbodies; i++)
		if (strcmp(bodies[i], body) == 0) {
			twice++;
			break;
		}
	if (i == nbodies && nbodies < MAX_BODIES)
		bodies[nbodies++] = body;
	else
		free(body);
	pthread_mutex_unlock(&mu);
}

static void *
serve(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Connection: keep-alive\r\n\r\n";
	struct linger lg = { 1, 0 };
	int fd = (int)(intptr_t)arg;
	char *body;

	while ((body = read_request(fd)) != NULL) {
		atomic_fetch_add(&requests, 1);
		if (atomic_load(&mode) == MODE_RESET) {
			free(body);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			break;
		}
		if (atomic_load(&mode) == MODE_SLOW)
			fault_sleep_ms(30000);
		if (write(fd, ok, sizeof ok - 1) != (ssize_t)sizeof ok - 1) {
			free(body);
			break;
		}
		atomic_fetch_add(&answered, 1);
		record(body);
	}
	close(fd);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		atomic_fetch_add(&connections, 1);
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return NULL;
}

/* Listens on a free loopback port; returns it. */
static int
receiver_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pthread_t t;

	cr_assert_neq(fd, -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(pthread_create(&t, NULL, accept_loop,
	    (void *)(intptr_t)fd), 0);
	pthread_detach(t);
	return ntohs(sa.sin_port);
}

/* Appends the webhook to the alerts block (the last of org.yaml). */
static void
add_webhook(int port, const char *timeout)
{
	char *path = harness_path("gen/org.yaml"), *org, *out;

	org = harness_read_file(path, NULL);
	free(path);
	cr_assert_not_null(org);
	out = xasprintf("%s  webhooks:\n"
	    "    - {url: \"http://127.0.0.1:%d/hook\", timeout: %s, "
	    "digest: true}\n", org, port, timeout);
	cr_assert_eq(harness_gen_write("org.yaml", out), 0);
	free(org);
	free(out);
}

static bool
queue_empty(void *arg)
{
	return harness_paced_metric(arg, "paced_webhook_queue") == 0;
}

static bool
answered_3(void *arg)
{
	(void)arg;
	return atomic_load(&answered) >= 3;
}

static void
run(const char *name, unsigned seed, enum mode m)
{
	struct harness_paced p;
	int64_t total;
	pid_t prod;

	atomic_store(&mode, m);
	cr_assert_eq(fault_stack(name, seed, fault_events(12000), 0), 0);
	add_webhook(receiver_start(), m == MODE_SLOW ? "60s" : "5s");
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 15)), -1);
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report(name + 6, 1, true), 0);
	harness_log("receiver: %d connections, %d requests, %d answered, "
	    "%d bodies, %d twice; queue %.0f", atomic_load(&connections),
	    atomic_load(&requests), atomic_load(&answered), nbodies, twice,
	    harness_paced_metric(&p, "paced_webhook_queue"));
	cr_expect_gt(atomic_load(&requests), 0, "no webhook request came");
	if (m == MODE_SLOW) {
		/* Three answers take 90 s at least: the second and third
		 * were queued while the first was waited for. */
		cr_expect_eq(harness_wait_until(answered_3, NULL, 150000,
		    "three slow answers"), 0);
		harness_log("receiver: %d requests, %d answered, %d twice",
		    atomic_load(&requests), atomic_load(&answered), twice);
		cr_expect_eq(twice, 0, "the slow receiver got a message twice");
		cr_expect_eq(harness_paced_metric(&p,
		    "paced_webhook_deliveries_total{webhook=\"0\","
		    "result=\"retry\"}"), 0, "a slow answer was retried");
	} else {
		cr_expect_eq(atomic_load(&answered), 0);
		cr_expect_gt(atomic_load(&connections), 1, "no retry");
		atomic_store(&mode, MODE_OK);
		/* Backoff doubles up to 5 min: give it one full wait. */
		cr_expect_eq(harness_wait_until(queue_empty, &p, 330000,
		    "the webhook queue to drain"), 0);
		cr_expect_gt(atomic_load(&answered), 0);
		cr_expect_eq(harness_paced_metric(&p,
		    "paced_webhook_deliveries_total{webhook=\"0\","
		    "result=\"dropped\"}"), 0, "a message was dropped");
	}
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

Test(fault, webhook_slow, .fini = harness_teardown, .timeout = 600)
{
	run("fault_webhook_slow", 18, MODE_SLOW);
}

Test(fault, webhook_reset, .fini = harness_teardown, .timeout = 900)
{
	run("fault_webhook_reset", 19, MODE_RESET);
}
