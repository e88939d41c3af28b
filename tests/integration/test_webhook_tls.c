/*
 * Webhooks over HTTPS: the webhook sink (libcurl's multi interface on the
 * test's own event base) against a TLS receiver in Python
 * (tests/tools/tls_receiver.py), with a CA made at test time by the
 * openssl command line. Delivered when the webhook trusts the receiver's
 * CA (by IP address and by host name, resolved off the loop); refused,
 * counted, retried and logged when it trusts another CA or the
 * certificate names another host, and delivered once the right CA is
 * given; a receiver that never answers costs timeouts, never the loop.
 *
 * Every wait runs the loop until a condition holds or a deadline passes.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "sink.h"
#include "xmalloc.h"

#define WAIT_MS		30000
#define TOKEN		"tls-hook-s3cret"

static struct event_base *base;
static int64_t max_gap_ms, last_tick_ms;

static void
cleanup(void)
{
	if (base != NULL)
		event_base_free(base);
	base = NULL;
	harness_teardown();
}

/* Every 10 ms: the longest gap between two runs says whether anything
 * held the loop. */
static void
tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = harness_elapsed_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (last_tick_ms > 0 && now - last_tick_ms > max_gap_ms)
		max_gap_ms = now - last_tick_ms;
	last_tick_ms = now;
}

static bool
run_until(bool (*pred)(void *), void *arg, int timeout_ms, const char *what)
{
	struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = { 0, 10 * 1000 };
	int64_t deadline = harness_elapsed_ms() + timeout_ms;
	bool ok;

	last_tick_ms = 0;
	event_add(ev, &tv);
	while (!(ok = pred(arg)) && harness_elapsed_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	if (!ok)
		harness_log("timed out after %d ms waiting for %s", timeout_ms,
		    what);
	return ok;
}

static double
metric(const char *name, const char *labels)
{
	return metrics_value(metrics_counter(name, labels, ""));
}

struct want {
	const char *name;
	const char *labels;
	double min;
};

static bool
metric_at_least(void *arg)
{
	struct want *w = arg;

	return metric(w->name, w->labels) >= w->min;
}

/* Lines of the receiver's record file. */
static size_t
received(const char *path, char ***lines)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	size_t n = 0;

	if (lines != NULL)
		*lines = NULL;
	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		if (lines != NULL) {
			*lines = xreallocarray(*lines, n + 1, sizeof(**lines));
			(*lines)[n] = xstrdup(buf);
		}
		n++;
	}
	fclose(f);
	return n;
}

struct want_lines {
	const char *path;
	size_t n;
};

static bool
lines_at_least(void *arg)
{
	struct want_lines *w = arg;

	return received(w->path, NULL) >= w->n;
}

/*
 * Two CAs and two server certificates in the run folder: good.pem (for
 * 127.0.0.1 and localhost) and other.pem (for other.example only), both
 * signed by ca.pem; wrong-ca.pem signed neither.
 */
static void
make_certs(void)
{
	static const char script[] =
	    "set -e\n"
	    "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
	    "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 "
	    "-subj /CN=paced-test-ca 2>/dev/null\n"
	    "openssl req -x509 $ec -keyout wrong-ca.key -out wrong-ca.pem "
	    "-days 2 -subj /CN=paced-wrong-ca 2>/dev/null\n"
	    "for n in good other; do\n"
	    "  openssl req $ec -keyout $n.key -out $n.csr -subj /CN=$n "
	    "2>/dev/null\n"
	    "done\n"
	    "echo 'subjectAltName=IP:127.0.0.1,DNS:localhost' > good.ext\n"
	    "echo 'subjectAltName=DNS:other.example' > other.ext\n"
	    "for n in good other; do\n"
	    "  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out $n.pem -days 2 -extfile $n.ext "
	    "2>/dev/null\n"
	    "done\n";
	char *cmd = xasprintf("cd '%s' && %s", harness_run_dir(), script);
	char *const argv[] = { "sh", "-c", cmd, NULL };
	char *log = harness_path("openssl.log");

	cr_assert_eq(harness_run(argv, log, 30000), 0,
	    "openssl failed; see %s", log);
	free(log);
	free(cmd);
}

/* A TCP connect succeeds: something listens. */
static bool
port_open(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	sa.sin_port = htons((uint16_t)*(int *)arg);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

/* Starts the receiver with certificate name (good, other) or silent. */
static int
receiver_start(const char *cert, const char *mode)
{
	int port = harness_free_port();
	char portstr[16], *crt = harness_path("%s.pem", cert),
	    *key = harness_path("%s.key", cert),
	    *out = harness_path("received-%d.jsonl", port),
	    *log = harness_path("receiver-%d.log", port), *script;
	pid_t pid;

	snprintf(portstr, sizeof(portstr), "%d", port);
	script = xasprintf("%s/tests/tools/tls_receiver.py", harness_root_dir());
	{
		char *const argv[] = { "python3", script, "--port", portstr,
		    "--cert", crt, "--key", key, "--out", out, "--mode",
		    (char *)mode, NULL };

		pid = harness_spawn(argv, log);
	}
	cr_assert_neq(pid, -1, "cannot start the receiver");
	cr_assert(harness_wait_until(port_open, &port, 15000,
	    "the receiver's port") == 0, "receiver not up; see %s", log);
	harness_log("receiver (%s, %s) on %d", cert, mode, port);
	free(crt);
	free(key);
	free(out);
	free(log);
	free(script);
	return port;
}

static struct sink_webhook *
webhook(const char *url, const char *ca, int64_t timeout_ms)
{
	struct config_webhook w = { 0 };
	struct sink_webhook *wh;
	char err[256] = "";

	w.url = (char *)url;
	w.token = TOKEN;
	w.ca_file = ca != NULL ? harness_path("%s", ca) : NULL;
	w.timeout_ms = timeout_ms;
	w.connect_timeout_ms = timeout_ms;
	w.max_retries = 2;
	w.digest = false;
	wh = sink_webhook_new(base, 0, &w, err, sizeof(err));
	cr_assert_not_null(wh, "sink_webhook_new: %s", err);
	free(w.ca_file);
	return wh;
}

static void
setup(const char *name)
{
	cr_assert_eq(harness_setup(name), 0);
	base = event_base_new();
	cr_assert_not_null(base);
	sink_webhook_set_backoff(100, 400);
	make_certs();
}

/* stderr (the sink's log lines) to a file of the run folder. */
static char *
capture_stderr(void)
{
	char *path = harness_path("sink.log");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_neq(fd, -1);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	return path;
}

static bool
file_holds(const char *path, const char *needle)
{
	char *s = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "r");
	bool found;

	if (f == NULL)
		return false;
	fflush(stderr);
	s = xmalloc(cap = 1 << 20);
	len = fread(s, 1, cap - 1, f);
	s[len] = '\0';
	fclose(f);
	found = strstr(s, needle) != NULL;
	free(s);
	return found;
}

Test(webhook_tls, delivered_with_the_right_ca, .fini = cleanup,
    .timeout = 120)
{
	struct sink_webhook *wh;
	int port;
	char *url, *path, **lines;
	struct want_lines wl;
	struct want ok = { "paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\"", 2 };
	size_t n;

	setup("webhook_tls_ok");
	port = receiver_start("good", "answer");
	path = harness_path("received-%d.jsonl", port);

	/* By address, then by name (resolved by curl, off the loop). */
	url = xasprintf("https://127.0.0.1:%d/hook/T0/s3cret?x=1", port);
	wh = webhook(url, "ca.pem", 5000);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"one\"}"));
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"two\"}"));
	wl.path = path;
	wl.n = 2;
	cr_assert(run_until(lines_at_least, &wl, WAIT_MS, "two posts"));
	cr_assert(run_until(metric_at_least, &ok, WAIT_MS, "two deliveries"));
	sink_webhook_free(wh);
	free(url);

	url = xasprintf("https://localhost:%d/named", port);
	wh = webhook(url, "ca.pem", 5000);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"three\"}"));
	wl.n = 3;
	cr_assert(run_until(lines_at_least, &wl, WAIT_MS, "three posts"));
	ok.min = 3;
	cr_assert(run_until(metric_at_least, &ok, WAIT_MS, "three deliveries"));
	cr_expect_eq(sink_webhook_queued(wh), 0);

	n = received(path, &lines);
	cr_assert_eq(n, 3, "%zu posts", n);
	cr_expect(strstr(lines[0], "\"path\": \"/hook/T0/s3cret?x=1\"") != NULL,
	    "%s", lines[0]);
	cr_expect(strstr(lines[0], "\"authorization\": \"Bearer " TOKEN "\"")
	    != NULL, "%s", lines[0]);
	cr_expect(strstr(lines[0], "one") != NULL, "%s", lines[0]);
	cr_expect(strstr(lines[1], "two") != NULL, "%s", lines[1]);
	cr_expect(strstr(lines[2], "\"path\": \"/named\"") != NULL, "%s",
	    lines[2]);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	/* Three deliveries (two under the first webhook 0, which the
	 * second registered again), no error of any kind. */
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\""), 3);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"retry\""), 0);
	cr_expect_eq(metric("paced_webhook_errors_total",
	    "webhook=\"0\",reason=\"tls\""), 0);
	sink_webhook_free(wh);
	free(url);
	free(path);
}

/*
 * A certificate from a CA the webhook does not trust, then one for another
 * host name: every attempt fails the handshake, is counted as a tls error
 * and a retry (never dropped, whatever max_retries says: the message is
 * not at fault), logged once with curl's reason; nothing reaches the
 * receiver. Given the right CA (a reload), the same message goes through.
 */
Test(webhook_tls, refused_with_a_wrong_ca_or_host, .fini = cleanup,
    .timeout = 120)
{
	struct sink_webhook *wh;
	struct config_webhook w = { 0 };
	struct want want = { "paced_webhook_errors_total",
	    "webhook=\"0\",reason=\"tls\"", 4 };
	struct want_lines wl;
	int good, other;
	char *url, *path, *log;

	setup("webhook_tls_refused");
	log = capture_stderr();
	good = receiver_start("good", "answer");
	other = receiver_start("other", "answer");

	url = xasprintf("https://127.0.0.1:%d/hook", good);
	wh = webhook(url, "wrong-ca.pem", 5000);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"wrong ca\"}"));
	cr_assert(run_until(metric_at_least, &want, WAIT_MS,
	    "four tls errors"));
	cr_expect_eq(sink_webhook_queued(wh), 1, "the message was dropped");
	cr_expect_geq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"retry\""), 4);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\""), 0);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\""), 0);
	cr_expect(file_holds(log, "webhook_failed webhook=0 host=127.0.0.1:"),
	    "no webhook_failed line in %s", log);
	cr_expect(file_holds(log, "why=tls error=\"SSL certificate problem"),
	    "no certificate reason in %s", log);
	cr_expect(!file_holds(log, "/hook"), "the url's path was logged");
	path = harness_path("received-%d.jsonl", good);
	cr_expect_eq(received(path, NULL), 0);

	/* The right CA: the message waiting at the head goes through. */
	w.url = url;
	w.ca_file = harness_path("ca.pem");
	w.timeout_ms = w.connect_timeout_ms = 5000;
	w.max_retries = 2;
	sink_webhook_set_config(wh, &w);
	wl.path = path;
	wl.n = 1;
	cr_assert(run_until(lines_at_least, &wl, WAIT_MS, "the post"));
	cr_expect(run_until(metric_at_least, &(struct want){
	    "paced_webhook_deliveries_total", "webhook=\"0\",result=\"ok\"",
	    1 }, WAIT_MS, "the delivery counted"));
	/* A reload that drops ca_file: back to the system's store, which
	 * refuses this receiver, kept-alive connection or not. */
	free(w.ca_file);
	w.ca_file = NULL;
	sink_webhook_set_config(wh, &w);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"after reload\"}"));
	want.min = metric(want.name, want.labels) + 1;
	cr_assert(run_until(metric_at_least, &want, WAIT_MS,
	    "a tls error after the reload"));
	cr_expect_eq(received(path, NULL), 1);
	sink_webhook_free(wh);
	free(url);
	free(path);

	/* The right CA, but the certificate names other.example. */
	url = xasprintf("https://127.0.0.1:%d/hook", other);
	wh = webhook(url, "ca.pem", 5000);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"wrong host\"}"));
	want.min = metric(want.name, want.labels) + 3;
	cr_assert(run_until(metric_at_least, &want, WAIT_MS,
	    "three more tls errors"));
	cr_expect_eq(sink_webhook_queued(wh), 1);
	cr_expect(file_holds(log, "does not match") ||
	    file_holds(log, "no alternative certificate subject name"),
	    "no host name reason in %s", log);
	path = harness_path("received-%d.jsonl", other);
	cr_expect_eq(received(path, NULL), 0);
	sink_webhook_free(wh);
	free(url);
	free(path);

	/* No ca_file: the system's store, which does not hold the test's
	 * CA. Verification is on without being asked for. */
	url = xasprintf("https://127.0.0.1:%d/hook", good);
	wh = webhook(url, NULL, 5000);
	sink_webhook_enqueue(wh, xstrdup("{\"text\":\"system store\"}"));
	want.min = metric(want.name, want.labels) + 2;
	cr_assert(run_until(metric_at_least, &want, WAIT_MS,
	    "two more tls errors"));
	cr_expect_eq(sink_webhook_queued(wh), 1);
	sink_webhook_free(wh);
	free(url);
	free(log);
}

/*
 * A receiver that accepts connections and never says a word (no TLS
 * handshake, no answer), and one that is not there at all: each attempt
 * ends at its timeout (or at once, refused) and is counted, the message
 * stays queued, and the loop never waits: the longest gap between two
 * runs of a 10 ms timer stays far below the timeout.
 */
Test(webhook_tls, a_dead_receiver_does_not_block_the_loop, .fini = cleanup,
    .timeout = 120)
{
	struct sink_webhook *wh, *gone;
	struct want want = { "paced_webhook_errors_total",
	    "webhook=\"0\",reason=\"timeout\"", 3 };
	int silent, closed = harness_free_port();
	char *url, *url2;
	struct config_webhook w = { 0 };
	char err[256];

	setup("webhook_tls_dead");
	silent = receiver_start("good", "silent");
	url = xasprintf("https://127.0.0.1:%d/hook", silent);
	wh = webhook(url, "ca.pem", 500);
	url2 = xasprintf("https://127.0.0.1:%d/hook", closed);
	w.url = url2;
	w.timeout_ms = w.connect_timeout_ms = 500;
	gone = sink_webhook_new(base, 1, &w, err, sizeof(err));
	cr_assert_not_null(gone, "%s", err);
	for (int i = 0; i < 5; i++) {
		sink_webhook_enqueue(wh, xasprintf("{\"n\":%d}", i));
		sink_webhook_enqueue(gone, xasprintf("{\"n\":%d}", i));
	}
	max_gap_ms = 0;
	cr_assert(run_until(metric_at_least, &want, WAIT_MS,
	    "three timeouts"));
	harness_log("longest loop gap %lld ms over %lld ms of timeouts",
	    (long long)max_gap_ms, (long long)harness_elapsed_ms());
	cr_expect_lt(max_gap_ms, 200, "the loop was held %lld ms",
	    (long long)max_gap_ms);
	cr_expect_eq(sink_webhook_queued(wh), 5);
	cr_expect_eq(sink_webhook_queued(gone), 5);
	cr_expect_geq(metric("paced_webhook_errors_total",
	    "webhook=\"1\",reason=\"connect\""), 1);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\""), 0);
	sink_webhook_free(gone);
	sink_webhook_free(wh);
	free(url);
	free(url2);
}
