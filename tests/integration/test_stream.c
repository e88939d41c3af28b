/*
 * The change stream against a real Redis, the mock broker and the
 * daemon: a SUBSCRIBEd Redis client and Server-Sent Events clients over
 * plain sockets (GET /v1/stream).
 *
 * One team east (a1, a2) and one team west (b1), every day all day
 * working, a day target of 1000 calls. a1's first call sets its pace
 * status (far behind); a2's calls then put it first on team:east's board
 * (a rank message, read on the stream within a second), a1's 5000 calls
 * make it ahead (a status message); with the stream closed, a2's 10000
 * calls and b1's are missed, then a reconnect with Last-Event-ID gets
 * exactly east's messages published meanwhile.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define CHANNEL		"paced:changes"

/* An SSE connection: a socket and what was read but not parsed yet. */
struct sse {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* One event: type "comment" for a comment line block. */
struct sse_event {
	char id[64];
	char type[32];
	char *data;		/* owned */
};

/* needle in the first len bytes of buf, or NULL. */
static char *
find(char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return buf + i;
	return NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects and sends the request; *status gets the code of the answer.
 * The body (JSON) of a refused one goes to *body (owned) when not NULL. */
static struct sse *
sse_open(int port, const char *path, const char *last_id, int *status,
    char **body)
{
	struct sse *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	char req[512];
	char *end;
	int64_t deadline = now_ms() + 5000;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s->fd >= 0);
	cr_assert_eq(connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	    "connect: %s", strerror(errno));
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n%s%s%s\r\n",
	    path, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
	    last_id ? "\r\n" : "");
	cr_assert_eq(write(s->fd, req, strlen(req)), (ssize_t)strlen(req));
	/* The head. */
	while ((end = find(s->buf, s->len, "\r\n\r\n")) == NULL) {
		struct pollfd pfd = { s->fd, POLLIN, 0 };
		ssize_t n;

		cr_assert(now_ms() < deadline, "no answer to GET %s", path);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
		cr_assert(n > 0, "GET %s: connection closed", path);
		s->len += (size_t)n;
	}
	s->buf[s->len] = '\0';
	cr_assert_eq(sscanf(s->buf, "HTTP/1.%*d %d", status), 1);
	if (*status == 200) {
		cr_assert(strstr(s->buf, "Content-Type: text/event-stream") != NULL,
		    "GET %s: %s", path, s->buf);
	} else if (body != NULL) {
		/* HTTP/1.0: the body ends with the connection. */
		for (;;) {
			struct pollfd pfd = { s->fd, POLLIN, 0 };
			ssize_t n;

			cr_assert(now_ms() < deadline);
			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(s->fd, s->buf + s->len,
			    sizeof(s->buf) - 1 - s->len);
			if (n <= 0)
				break;
			s->len += (size_t)n;
		}
		s->buf[s->len] = '\0';
		end = strstr(s->buf, "\r\n\r\n");
		*body = xstrdup(end + 4);
		return s;
	}
	end += 4;
	s->len -= (size_t)(end - s->buf);
	memmove(s->buf, end, s->len);
	return s;
}

static void
sse_close(struct sse *s)
{
	close(s->fd);
	free(s);
}

/* The next event or comment within timeout_ms: 0, or -1 on timeout. */
static int
sse_next(struct sse *s, int timeout_ms, struct sse_event *ev)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *end;

	memset(ev, 0, sizeof(*ev));
	while ((end = find(s->buf, s->len, "\n\n")) == NULL) {
		struct pollfd pfd = { s->fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
		cr_assert(n > 0, "the stream closed");
		s->len += (size_t)n;
	}
	*end = '\0';
	for (char *line = s->buf, *nl; line != NULL && *line != '\0';
	    line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (line[0] == ':')
			snprintf(ev->type, sizeof(ev->type), "comment");
		else if (strncmp(line, "id: ", 4) == 0)
			snprintf(ev->id, sizeof(ev->id), "%s", line + 4);
		else if (strncmp(line, "event: ", 7) == 0)
			snprintf(ev->type, sizeof(ev->type), "%s", line + 7);
		else if (strncmp(line, "data: ", 6) == 0)
			ev->data = xstrdup(line + 6);
		else if (strncmp(line, "retry: ", 7) == 0)
			snprintf(ev->type, sizeof(ev->type), "retry");
	}
	s->len -= (size_t)(end + 2 - s->buf);
	memmove(s->buf, end + 2, s->len);
	return 0;
}

/* The next event (comments and retry skipped). */
static int
sse_next_event(struct sse *s, int timeout_ms, struct sse_event *ev)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int left = (int)(deadline - now_ms());

		if (left <= 0 || sse_next(s, left, ev) != 0)
			return -1;
		if (strcmp(ev->type, "comment") != 0 &&
		    strcmp(ev->type, "retry") != 0)
			return 0;
		free(ev->data);
	}
}

static const cJSON *
item(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = item(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A rank message that moved rep on scope (NULL: any). */
static bool
moves_rep(const cJSON *m, const char *scope, const char *rep)
{
	const cJSON *mv;

	if (strcmp(str(m, "type"), "rank") != 0 ||
	    (scope != NULL && strcmp(str(m, "scope"), scope) != 0))
		return false;
	cJSON_ArrayForEach(mv, item(m, "moves"))
		if (strcmp(str(mv, "rep"), rep) == 0)
			return true;
	return false;
}

/* The messages a SUBSCRIBEd client saw, in order. */
static redisContext *sub;
static cJSON *seen;

static void
sub_drain(int timeout_ms)
{
	struct timeval tv = { 0, 1000 * 50 };
	int64_t deadline = now_ms() + timeout_ms;

	redisSetTimeout(sub, tv);
	while (now_ms() < deadline) {
		redisReply *r = NULL;

		if (redisGetReply(sub, (void **)&r) != REDIS_OK) {
			cr_assert(sub->err == REDIS_ERR_IO && (errno == EAGAIN ||
			    errno == EWOULDBLOCK), "subscriber: %s", sub->errstr);
			sub->err = 0;	/* a read timeout: nothing came */
			continue;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    strcmp(r->element[0]->str, "message") == 0) {
			cJSON *m = cJSON_Parse(r->element[2]->str);

			cr_assert_not_null(m, "not JSON: %s", r->element[2]->str);
			cJSON_AddItemToArray(seen, m);
		}
		freeReplyObject(r);
	}
}

/* The first message seen that pred accepts, waiting up to 10 s. */
static const cJSON *
sub_wait(bool (*pred)(const cJSON *, const void *), const void *arg)
{
	int64_t deadline = now_ms() + 10000;

	for (;;) {
		const cJSON *m;

		cJSON_ArrayForEach(m, seen)
			if (pred(m, arg))
				return m;
		cr_assert(now_ms() < deadline, "no such message published");
		sub_drain(100);
	}
}

static bool
is_status_of(const cJSON *m, const void *rep)
{
	return strcmp(str(m, "type"), "status") == 0 &&
	    strcmp(str(m, "rep"), rep) == 0 &&
	    strcmp(str(m, "period"), "day") == 0;
}

static bool
moves_anywhere(const cJSON *m, const void *rep)
{
	return moves_rep(m, NULL, rep);
}

/* The documented form of every message (README "Change stream"). */
static void
check_format(const cJSON *m)
{
	const char *id = str(m, "id");
	const cJSON *mv;

	cr_expect(cJSON_IsNumber(item(m, "v")) && item(m, "v")->valueint == 1,
	    "v");
	cr_expect(strlen(id) > 17 && id[16] == '-', "id %s", id);
	cr_expect(strlen(str(m, "at")) == 24 && str(m, "at")[23] == 'Z',
	    "at %s", str(m, "at"));
	cr_expect(strlen(str(m, "kpi")) > 0 && strlen(str(m, "date")) == 10);
	cr_expect(strcmp(str(m, "period"), "day") == 0 ||
	    strcmp(str(m, "period"), "week") == 0 ||
	    strcmp(str(m, "period"), "month") == 0 ||
	    strcmp(str(m, "period"), "quarter") == 0, "period %s",
	    str(m, "period"));
	if (strcmp(str(m, "type"), "rank") == 0) {
		cr_expect(strlen(str(m, "scope")) > 0);
		cr_expect(cJSON_IsNumber(item(m, "top")) &&
		    item(m, "top")->valueint == 25, "top: the default "
		    "leaderboards.stream_top");
		cr_expect(cJSON_GetArraySize(item(m, "moves")) > 0);
		cJSON_ArrayForEach(mv, item(m, "moves")) {
			cr_expect(strlen(str(mv, "rep")) > 0);
			cr_expect(cJSON_IsNumber(item(mv, "new_rank")));
			cr_expect(item(mv, "new_rank")->valueint >= 1 &&
			    item(mv, "new_rank")->valueint <= 25,
			    "a move among the first 25");
			cr_expect(cJSON_IsNumber(item(mv, "old_rank")) ||
			    cJSON_IsNull(item(mv, "old_rank")));
			cr_expect(cJSON_IsNumber(item(mv, "value")));
		}
	} else {
		cr_expect_str_eq(str(m, "type"), "status");
		cr_expect(strlen(str(m, "rep")) > 0 && strlen(str(m, "team")) > 0);
		cr_expect(strlen(str(m, "old_status")) > 0);
		cr_expect_str_neq(str(m, "old_status"), str(m, "new_status"));
		cr_expect(cJSON_IsNumber(item(m, "value")) &&
		    cJSON_IsNumber(item(m, "target")));
	}
}

static void
produce(const char *name, const char *rep, int count, int *seq)
{
	char at[32], *line;
	time_t t = time(NULL) - 30;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = xasprintf("%s\t{\"event_id\":\"st-%d\",\"rep_id\":\"%s\","
	    "\"type\":\"call\",\"occurred_at\":\"%s\",\"count\":%d}\n",
	    rep, (*seq)++, rep, at, count);
	cr_assert_eq(harness_gen_write(name, line), 0);
	free(line);
	cr_assert_eq(harness_produce_file(name, 0), 0);
}

/* The harness writes http: {listen: ...}: the stream's settings join it. */
static void
set_heartbeat(const char *path, const char *setting)
{
	FILE *f = fopen(path, "r");
	char text[65536], *at, *out;
	size_t n;

	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	at = strstr(text, "\"}\n");
	cr_assert(at != NULL && strstr(text, "http: {listen:") != NULL);
	*at = '\0';
	out = xasprintf("%s\", %s}\n%s", text, setting, at + 3);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(out, f);
	fclose(f);
	free(out);
}

static void
check_refused(int port, const char *path, const char *last, int want)
{
	char *body = NULL;
	int status = 0;
	struct sse *s = sse_open(port, path, last, &status, &body);
	cJSON *j;

	cr_expect_eq(status, want, "GET %s: %d, want %d", path, status, want);
	j = body != NULL ? cJSON_Parse(body) : NULL;
	cr_expect(j != NULL && cJSON_IsString(item(j, "error")),
	    "GET %s: not a JSON error: %s", path, body ? body : "(none)");
	cJSON_Delete(j);
	free(body);
	sse_close(s);
}

Test(stream, ranks_statuses_resume_and_heartbeat, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	struct sse *a, *b;
	struct sse_event ev;
	int status = 0, seq = 0;
	int64_t t0, took, a_opened;
	char last[64] = "";
	bool got_status = false, got_beat = false;
	const cJSON *m;
	cJSON *want;
	redisReply *r;

	cr_assert_eq(harness_setup("stream"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 1000}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC}\n"
	    "  - {id: west, timezone: UTC}\n"
	    "reps:\n"
	    "  - {id: a1, team: east, role: sdr}\n"
	    "  - {id: a2, team: east, role: sdr}\n"
	    "  - {id: b1, team: west, role: sdr}\n"
	    "alerts:\n"
	    "  periods: [day]\n"
	    "  evaluate_every: 1h\n"), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	/* Streams outlive the idle timeout (1s, under the heartbeat: the
	 * heartbeat alone does not keep them); at most 3 at once. */
	set_heartbeat(p.config, "stream_heartbeat: 1200ms, idle_timeout: 1s, "
	    "max_streams: 3");
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	/* No stream open: paced holds no subscription of its own. */
	cr_expect_eq(harness_paced_metric(&p, "paced_stream_subscribed"), 0);

	sub = redisConnect("127.0.0.1", harness_redis_port());
	cr_assert(sub != NULL && sub->err == 0);
	r = redisCommand(sub, "SUBSCRIBE " CHANNEL);
	cr_assert_not_null(r);
	freeReplyObject(r);
	seen = cJSON_CreateArray();

	/* a1's first evaluation: the baseline of its status. */
	produce("e1.tsv", "a1", 1, &seq);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	sub_wait(moves_anywhere, "a1");

	a = sse_open(p.http_port, "/v1/stream?team=east", NULL, &status, NULL);
	cr_assert_eq(status, 200);
	/* The first stream makes paced subscribe. */
	cr_assert_eq(harness_paced_wait_log(&p, "stream_subscribed",
	    HARNESS_WAIT_MS), 0);
	a_opened = now_ms();

	/* a2 passes a1 on east's board. */
	produce("e2.tsv", "a2", 3, &seq);
	t0 = now_ms();
	for (;;) {
		cJSON *d;
		bool hit;

		cr_assert_eq(sse_next_event(a, 5000, &ev), 0,
		    "no rank message on the stream");
		d = cJSON_Parse(ev.data);
		cr_assert_not_null(d, "data not JSON: %s", ev.data);
		hit = strcmp(ev.type, "rank") == 0 &&
		    moves_rep(d, "team:east", "a2");
		if (hit) {
			const cJSON *mv = cJSON_GetArrayItem(item(d, "moves"), 0);

			cr_expect_str_eq(str(mv, "rep"), "a2");
			cr_expect(cJSON_IsNull(item(mv, "old_rank")));
			cr_expect_eq(item(mv, "new_rank")->valueint, 1);
			cr_expect_eq(item(mv, "value")->valueint, 3);
			cr_expect_str_eq(ev.id, str(d, "id"));
		}
		cJSON_Delete(d);
		free(ev.data);
		if (hit)
			break;
	}
	took = now_ms() - t0;
	harness_log("rank change on the stream %lld ms after the event was "
	    "produced", (long long)took);
	cr_expect(took <= 1000, "rank change after %lld ms", (long long)took);

	/* a1 goes from far behind to ahead: a status message. */
	produce("e3.tsv", "a1", 5000, &seq);
	while (!got_status) {
		cJSON *d;

		cr_assert_eq(sse_next_event(a, 10000, &ev), 0,
		    "no status message on the stream");
		d = cJSON_Parse(ev.data);
		cr_assert_not_null(d);
		cr_expect_str_eq(str(d, "team"), "east",
		    "a message of another team: %s", ev.data);
		if (strcmp(ev.type, "status") == 0 &&
		    strcmp(str(d, "rep"), "a1") == 0 &&
		    strcmp(str(d, "period"), "day") == 0) {
			cr_expect_str_eq(str(d, "new_status"), "ahead");
			got_status = true;
		}
		snprintf(last, sizeof(last), "%s", ev.id);
		cJSON_Delete(d);
		free(ev.data);
	}
	/* Heartbeats, and the stream still open past the idle timeout (1s):
	 * the client has sent nothing since its request. */
	while (!got_beat || now_ms() - a_opened < 2500) {
		cr_assert_eq(sse_next(a, 3000, &ev), 0, "no heartbeat");
		got_beat = got_beat || strcmp(ev.type, "comment") == 0;
		if (strcmp(ev.type, "comment") != 0 && ev.id[0])
			snprintf(last, sizeof(last), "%s", ev.id);
		free(ev.data);
	}
	sse_close(a);

	/* Missed: a2 ahead and first again, b1 (west). */
	produce("e4.tsv", "a2", 10000, &seq);
	produce("e5.tsv", "b1", 7, &seq);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	sub_wait(is_status_of, "a2");
	sub_wait(moves_anywhere, "b1");
	sub_drain(500);
	cJSON_ArrayForEach(m, seen)
		check_format(m);

	/* Exactly east's messages after last, in order. */
	want = cJSON_CreateArray();
	{
		bool after = false;

		cJSON_ArrayForEach(m, seen) {
			if (after && strcmp(str(m, "team"), "east") == 0)
				cJSON_AddItemToArray(want,
				    cJSON_CreateString(str(m, "id")));
			if (strcmp(str(m, "id"), last) == 0)
				after = true;
		}
		cr_assert(after, "%s was not published", last);
	}
	cr_assert(cJSON_GetArraySize(want) >= 2, "too few missed messages");
	b = sse_open(p.http_port, "/v1/stream?team=east", last, &status, NULL);
	cr_assert_eq(status, 200);
	cJSON_ArrayForEach(m, want) {
		cr_assert_eq(sse_next_event(b, 2000, &ev), 0,
		    "resume: %s missing", m->valuestring);
		cr_expect_str_eq(ev.id, m->valuestring);
		free(ev.data);
	}
	cr_expect_neq(sse_next_event(b, 700, &ev), 0,
	    "resume: one more than the missed: %s", ev.id);
	sse_close(b);
	cJSON_Delete(want);

	/* An id the ring does not hold: a reset first. */
	b = sse_open(p.http_port, "/v1/stream", "0000000000000001-1", &status,
	    NULL);
	cr_assert_eq(status, 200);
	cr_assert_eq(sse_next_event(b, 2000, &ev), 0);
	cr_expect_str_eq(ev.type, "reset");
	free(ev.data);
	sse_close(b);

	/* The cap: a fourth is refused; a closed one frees its place. */
	{
		struct sse *open3[3];
		int64_t deadline;

		for (int i = 0; i < 3; i++) {
			open3[i] = sse_open(p.http_port, "/v1/stream", NULL,
			    &status, NULL);
			cr_assert_eq(status, 200, "stream %d: %d", i, status);
		}
		check_refused(p.http_port, "/v1/stream", NULL, 503);
		cr_expect_eq(harness_paced_metric(&p, "paced_stream_clients"), 3);
		sse_close(open3[0]);
		deadline = now_ms() + 3000;
		for (;;) {
			char *body = NULL;

			open3[0] = sse_open(p.http_port, "/v1/stream", NULL,
			    &status, &body);
			free(body);
			if (status == 200)
				break;
			sse_close(open3[0]);
			cr_assert(now_ms() < deadline, "a closed stream kept "
			    "its place");
			usleep(50000);
		}
		for (int i = 0; i < 3; i++)
			sse_close(open3[i]);
	}

	check_refused(p.http_port, "/v1/stream?team=nope", NULL, 404);
	check_refused(p.http_port, "/v1/stream?color=red", NULL, 400);
	check_refused(p.http_port, "/v1/stream", "not-an-id", 400);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	cJSON_Delete(seen);
	redisFree(sub);
}
