/*
 * Three defects of the read API:
 * - a malformed query (`?period=week&junk`) answered 200 with the day
 *   scorecard: it answers 400, as do unknown and repeated parameters;
 * - requests refused by evhttp itself (400 on a broken request line, 413
 *   on a body over the limit, 501 on a method it does not know) were
 *   missing from paced_http_requests_total: they are counted there and
 *   in paced_http_refused_total;
 * - the bearer token was compared with strcmp; now in constant time,
 *   which this test can only check for correctness: a prefix, a longer
 *   token or one differing in the last byte is refused.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN	"s3cret-token-0123456789"

/* Rewrites the http line of p's config with more keys (borrowed). */
static void
set_http(const struct harness_paced *p, const char *more)
{
	char want[128], line[1024], *text, *at;
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
	cr_assert_not_null(at = strstr(text, want));
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

/* Sends raw bytes (borrowed) and returns the status of the answer, or
 * -1 when none came. */
static int
raw(int port, const char *req)
{
	struct sockaddr_in sin;
	struct timeval tv = { 10, 0 };
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fd, code = -1;

	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	shutdown(fd, SHUT_WR);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

/* GET path with a bearer token (NULL: none); the status. */
static int
get(int port, const char *path, const char *token)
{
	char req[1024];

	if (token != NULL)
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		    "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
		    path, token);
	else
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		    "Connection: close\r\n\r\n", path);
	return raw(port, req);
}

Test(http_requests, bad_queries_refusals_and_tokens,
    .fini = harness_teardown, .timeout = 180)
{
	struct harness_paced p;
	char *tokfile, more[512];
	double ok0, c4xx0, c5xx0, ref0;
	FILE *f;

	setenv("PACED_TEST_EVENTS", "1000", 0);
	cr_assert_eq(harness_start_stack("http_requests", 23), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	tokfile = harness_path("http_token");
	cr_assert_not_null(f = fopen(tokfile, "w"));
	fputs(TOKEN "\n", f);
	fclose(f);
	snprintf(more, sizeof(more), "token_file: \"%s\"", tokfile);
	free(tokfile);
	set_http(&p, more);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* The query string. */
	cr_expect_eq(get(p.http_port, "/v1/reps/r001/scorecard?period=week",
	    TOKEN), 200);
	cr_expect_eq(get(p.http_port, "/v1/reps/r001/scorecard", TOKEN), 200);
	cr_expect_eq(get(p.http_port,
	    "/v1/reps/r001/scorecard?period=week&junk", TOKEN), 400);
	cr_expect_eq(get(p.http_port,
	    "/v1/reps/r001/scorecard?junk&period=week", TOKEN), 400);
	cr_expect_eq(get(p.http_port,
	    "/v1/reps/r001/scorecard?period=week&", TOKEN), 400);
	cr_expect_eq(get(p.http_port,
	    "/v1/reps/r001/scorecard?period=week&period=day", TOKEN), 400);
	cr_expect_eq(get(p.http_port,
	    "/v1/reps/r001/scorecard?perod=week", TOKEN), 400);
	cr_expect_eq(get(p.http_port, "/v1/reps/r001/scorecard?=week", TOKEN),
	    400);
	cr_expect_eq(get(p.http_port, "/v1/alerts?status=firing", TOKEN), 200);
	cr_expect_eq(get(p.http_port, "/v1/alerts?status=firing&x", TOKEN),
	    400);

	/* The token. */
	cr_expect_eq(get(p.http_port, "/v1/alerts", NULL), 401);
	cr_expect_eq(get(p.http_port, "/v1/alerts", "s3cret"), 401);
	cr_expect_eq(get(p.http_port, "/v1/alerts", TOKEN "0"), 401);
	cr_expect_eq(get(p.http_port, "/v1/alerts",
	    "s3cret-token-0123456780"), 401);
	cr_expect_eq(get(p.http_port, "/v1/alerts", ""), 401);
	cr_expect_eq(get(p.http_port, "/v1/alerts", TOKEN), 200);

	/* Refused by evhttp itself; nothing else runs meanwhile. */
	ok0 = harness_paced_metric(&p, "paced_http_requests_total{code=\"2xx\"}");
	c4xx0 = harness_paced_metric(&p, "paced_http_requests_total{code=\"4xx\"}");
	c5xx0 = harness_paced_metric(&p, "paced_http_requests_total{code=\"5xx\"}");
	ref0 = harness_paced_metric(&p, "paced_http_refused_total");
	cr_assert_geq(c4xx0, 0);
	cr_expect_eq(raw(p.http_port, "NOT A REQUEST\r\n\r\n"), 400);
	cr_expect_eq(raw(p.http_port, "GET /healthz HTTP/1.1\r\n"
	    "Host: x\r\nContent-Length: 999999\r\n\r\n"), 413);
	cr_expect_eq(raw(p.http_port, "OPTIONS /healthz HTTP/1.1\r\n"
	    "Host: x\r\n\r\n"), 501);
	/* Each /metrics read counts one 2xx, after it renders: 7 reads
	 * since ok0 was rendered. */
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_http_requests_total{code=\"4xx\"}"), c4xx0 + 2);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_http_requests_total{code=\"5xx\"}"), c5xx0 + 1);
	cr_expect_eq(harness_paced_metric(&p, "paced_http_refused_total"),
	    ref0 + 3);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_http_requests_total{code=\"2xx\"}"), ok0 + 7);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
