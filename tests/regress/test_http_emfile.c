/*
 * File descriptors exhausted made the daemon spin: with more idle HTTP
 * connections than descriptors, accept() failed with EMFILE, libevent
 * retried at once and logged each failure (100% CPU, hundreds of
 * thousands of lines a second, /healthz unanswered). Now the listener
 * pauses with a backoff, libevent's lines are rate-limited, connections
 * are capped (http.max_connections) and idle ones closed
 * (http.idle_timeout).
 *
 * 1. RLIMIT_NOFILE 128 and 150 idle connections, with the default
 *    connection cap (above what the limit allows): over 5 s the daemon
 *    uses little CPU and writes few lines; once the clients close,
 *    /healthz answers within a bound.
 * 2. http.max_connections 8: never more than 8 accepted at once; idle
 *    ones are closed after http.idle_timeout, so every client is served
 *    in turn, and /healthz answers after them.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_CONNS	150

/* Rewrites the http line of p's config with more keys (borrowed). */
static void
set_http(const struct harness_paced *p, const char *more)
{
	char want[128], line[512], *text, *at;
	FILE *f = fopen(p->config, "r");
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	snprintf(want, sizeof(want), "http: {listen: \"127.0.0.1:%d\"}\n",
	    p->http_port);
	cr_assert_not_null(at = strstr(text, want), "no http line in %s",
	    p->config);
	snprintf(line, sizeof(line), "http: {listen: \"127.0.0.1:%d\", %s}\n",
	    p->http_port, more);
	f = fopen(p->config, "w");
	cr_assert_not_null(f);
	fwrite(text, 1, (size_t)(at - text), f);
	fputs(line, f);
	fputs(at + strlen(want), f);
	fclose(f);
	free(text);
}

/* A non-blocking connect to the daemon's HTTP port; the fd or -1. */
static int
open_idle(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* utime + stime of pid in seconds. */
static double
cpu_seconds(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Fields after the command name, which may hold spaces: state is
	 * field 3; utime and stime are 14 and 15. */
	cr_assert_not_null(p = strrchr(buf, ')'));
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %lu %lu", &ut, &st), 2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Lines of the file at path, and in *with those holding needle. */
static long
count_lines(const char *path, const char *needle, long *with)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	long n = 0;

	*with = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		n += strchr(line, '\n') != NULL;
		*with += strstr(line, needle) != NULL;
	}
	fclose(f);
	return n;
}

/* Sockets pid holds open. */
static int
count_sockets(pid_t pid)
{
	char path[64], link[128], target[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	cr_assert_not_null(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(link, sizeof(link), "%s/%.20s", path, e->d_name);
		if ((len = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[len] = '\0';
		n += strncmp(target, "socket:", 7) == 0;
	}
	closedir(d);
	return n;
}

static bool
sleep_over(void *arg)
{
	return harness_elapsed_ms() >= *(int64_t *)arg;
}

static void
pause_ms(int ms)
{
	int64_t until = harness_elapsed_ms() + ms;

	harness_wait_until(sleep_over, &until, ms + 1000, "a pause");
}

struct healthz {
	int port;
};

static bool
healthz_ok(void *arg)
{
	struct healthz *hz = arg;
	int status = 0;

	return harness_http_get(hz->port, "/healthz", &status, NULL) == 0 &&
	    status == 200;
}

/* Starts paced for test name with RLIMIT_NOFILE nofile (0: unchanged)
 * and the extra http keys (may be NULL). */
static void
start(struct harness_paced *p, const char *name, rlim_t nofile,
    const char *http_more)
{
	struct rlimit old, low;

	setenv("PACED_TEST_EVENTS", "2000", 0);
	cr_assert_eq(harness_start_stack(name, 17), 0);
	cr_assert_eq(harness_paced_config(p, 0, NULL), 0);
	if (http_more != NULL)
		set_http(p, http_more);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	if (nofile != 0)
		low.rlim_cur = nofile;
	/* The child inherits the limit; the test process keeps its own. */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	cr_assert_eq(harness_paced_start(p), 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(harness_paced_wait_ready(p, HARNESS_WAIT_MS), 0);
}

Test(http_emfile, exhausted_descriptors_do_not_spin,
    .fini = harness_teardown, .timeout = 240)
{
	struct harness_paced p;
	struct healthz hz;
	int fds[IDLE_CONNS], nopen = 0;
	double cpu0, cpu1;
	long lines0, lines1, lev0, lev1;
	int64_t t0;

	start(&p, "http_emfile", 128, NULL);
	hz.port = p.http_port;
	for (int i = 0; i < IDLE_CONNS; i++) {
		if ((fds[i] = open_idle(p.http_port)) != -1)
			nopen++;
	}
	cr_assert_eq(nopen, IDLE_CONNS, "could only open %d connections",
	    nopen);
	/* Let the daemon run into the limit, then measure 5 s. */
	pause_ms(500);
	cpu0 = cpu_seconds(p.pid);
	lines0 = count_lines(p.log, "event=libevent", &lev0);
	pause_ms(5000);
	cpu1 = cpu_seconds(p.pid);
	lines1 = count_lines(p.log, "event=libevent", &lev1);
	harness_log("5 s with %d idle connections: cpu %.2f s, %ld log lines",
	    IDLE_CONNS, cpu1 - cpu0, lines1 - lines0);
	cr_expect_lt(cpu1 - cpu0, 1.0, "the daemon used %.2f s of CPU in 5 s",
	    cpu1 - cpu0);
	/* Alerts of the generated stream are logged meanwhile too. */
	cr_expect_lt(lines1 - lines0, 2000, "%ld log lines in 5 s; see %s",
	    lines1 - lines0, p.log);
	/* The rate limit: 20 at once, then 10 a second. */
	cr_expect_leq(lev1 - lev0, 80, "%ld lines from libevent in 5 s",
	    lev1 - lev0);
	cr_assert(harness_alive(p.pid), "paced exited; see %s", p.log);

	for (int i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	t0 = harness_elapsed_ms();
	cr_assert_eq(harness_wait_until(healthz_ok, &hz, 10000,
	    "/healthz after the clients closed"), 0);
	harness_log("/healthz answered %lld ms after the clients closed",
	    (long long)(harness_elapsed_ms() - t0));
	cr_expect_lt(harness_elapsed_ms() - t0, 5000);
	cr_expect_gt(harness_paced_metric(&p,
	    "paced_http_accept_pauses_total{reason=\"accept_error\"}"), 0);
	cr_expect_eq(harness_paced_metric(&p, "paced_http_accept_paused"), 0);
	cr_expect(harness_paced_logged(&p, "event=http_accept_paused"),
	    "see %s", p.log);
	cr_expect(harness_paced_logged(&p, "event=http_accept_resumed"),
	    "see %s", p.log);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/* Reads fd without blocking: true once the peer closed it. */
static bool
closed_by_peer(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char c;

	if (poll(&pfd, 1, 0) != 1)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) == 0 ||
	    (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

struct clients {
	int *fds;
	int n;
	int closed;
	pid_t pid;
	int base_sockets;
	int max_extra;		/* most daemon sockets seen over base */
};

static bool
all_closed(void *arg)
{
	struct clients *c = arg;
	int extra = count_sockets(c->pid) - c->base_sockets;

	if (extra > c->max_extra)
		c->max_extra = extra;
	c->closed = 0;
	for (int i = 0; i < c->n; i++)
		c->closed += closed_by_peer(c->fds[i]);
	return c->closed == c->n;
}

Test(http_emfile, connections_capped_and_idle_ones_closed,
    .fini = harness_teardown, .timeout = 240)
{
	struct harness_paced p;
	struct healthz hz;
	struct clients c = { 0 };
	int fds[24];

	start(&p, "http_cap", 0, "max_connections: 8, idle_timeout: 1s");
	hz.port = p.http_port;
	c.fds = fds;
	c.n = 24;
	c.pid = p.pid;
	c.base_sockets = count_sockets(p.pid);
	for (int i = 0; i < c.n; i++)
		cr_assert_neq(fds[i] = open_idle(p.http_port), -1);
	/* 24 clients, 8 at a time, 1 s each: about 3 s. */
	cr_expect_eq(harness_wait_until(all_closed, &c, 30000,
	    "every idle client to be served and closed"), 0,
	    "%d of %d closed", c.closed, c.n);
	harness_log("at most %d connections held at once", c.max_extra);
	cr_expect_leq(c.max_extra, 8, "the daemon held %d connections",
	    c.max_extra);
	cr_expect_geq(c.max_extra, 1);
	for (int i = 0; i < c.n; i++)
		close(fds[i]);
	cr_assert_eq(harness_wait_until(healthz_ok, &hz, 10000, "/healthz"), 0);
	cr_expect_gt(harness_paced_metric(&p,
	    "paced_http_accept_pauses_total{reason=\"max_connections\"}"), 0);
	/* Only the request reading the metrics is open. */
	cr_expect_eq(harness_paced_metric(&p, "paced_http_connections"), 1);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
