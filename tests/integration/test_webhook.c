/*
 * The daemon's webhook (digest mode) against a receiver served by evhttp
 * on the test's own event base, over loopback: silent reps fire on the
 * wall clock, and each manager (and, for critical alerts, the manager's
 * manager) gets one digest per evaluation, with a Slack "text" and the
 * alerts. Then the receiver goes away, the roster grows (SIGHUP), and the
 * new alerts still reach the alerts topic and the Redis stream at once;
 * when the receiver is back the queued digests arrive, each once, though
 * max_retries is 0: a receiver that is away costs no retry.
 *
 * Every wait runs the test's loop (the receiver) until a condition holds
 * or a deadline passes.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define WAIT_MS		30000
#define MAX_POSTS	64
#define TOKEN		"hook-s3cret"
#define DELIVERIES	"paced_webhook_deliveries_total{webhook=\"0\","
#define DELIVERED	DELIVERIES "result=\"ok\"}"
#define RETRIED		DELIVERIES "result=\"retry\"}"
#define DROPPED		DELIVERIES "result=\"dropped\"}"

struct post {
	char *path;
	char *auth;
	char *ctype;
	cJSON *body;
};

static struct event_base *base;
static struct evhttp *http;
static struct post posts[MAX_POSTS];
static size_t nposts;

static void
receive(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	size_t len = evbuffer_get_length(in);
	char *body = xmalloc(len + 1);
	const char *v;

	(void)arg;
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if (nposts < MAX_POSTS) {
		struct post *p = &posts[nposts++];

		p->path = xstrdup(evhttp_request_get_uri(req));
		p->auth = (v = evhttp_find_header(h, "Authorization")) != NULL ?
		    xstrdup(v) : NULL;
		p->ctype = (v = evhttp_find_header(h, "Content-Type")) != NULL ?
		    xstrdup(v) : NULL;
		p->body = cJSON_Parse(body);
		harness_log("received %s: %zu bytes for %s", p->path, len,
		    p->body != NULL && cJSON_IsString(cJSON_GetObjectItem(
		    p->body, "manager_id")) ? cJSON_GetObjectItem(p->body,
		    "manager_id")->valuestring : "?");
	}
	free(body);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
receiver_start(int port)
{
	http = evhttp_new(base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_POST);
	evhttp_set_gencb(http, receive, NULL);
	cr_assert_eq(evhttp_bind_socket(http, "127.0.0.1",
	    (unsigned short)port), 0, "cannot listen on %d", port);
	harness_log("receiver listening on %d", port);
}

static void
receiver_stop(void)
{
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
	harness_log("receiver stopped");
}

static void
cleanup(void)
{
	receiver_stop();
	for (size_t i = 0; i < nposts; i++) {
		free(posts[i].path);
		free(posts[i].auth);
		free(posts[i].ctype);
		cJSON_Delete(posts[i].body);
	}
	nposts = 0;
	if (base != NULL)
		event_base_free(base);
	base = NULL;
	harness_teardown();
}

/* Runs the loop until pred(arg) or timeout_ms; returns pred's last word. */
static bool
run_until(bool (*pred)(void *), void *arg, int timeout_ms, const char *what)
{
	if (harness_loop_until(base, pred, arg, timeout_ms))
		return true;
	harness_log("timed out after %d ms waiting for %s", timeout_ms, what);
	return false;
}

static bool
posts_at_least(void *arg)
{
	return nposts >= *(size_t *)arg;
}

struct want_metric {
	const struct harness_paced *p;
	const char *series;
	double min;
};

static bool
metric_at_least(void *arg)
{
	struct want_metric *w = arg;

	return harness_paced_metric(w->p, w->series) >= w->min;
}

static bool
stream_at_least(void *arg)
{
	redisReply *r = harness_redis_cmd("XLEN paced:alerts");
	bool ok = r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer >= *(long long *)arg;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The digest among posts[from..nposts) addressed to manager, or NULL. */
static const struct post *
digest_for(size_t from, const char *manager)
{
	const struct post *found = NULL;

	for (size_t i = from; i < nposts; i++) {
		const char *m = str(posts[i].body, "manager_id");

		if (m == NULL || strcmp(m, manager) != 0)
			continue;
		cr_expect_null(found, "two digests for %s", manager);
		found = &posts[i];
	}
	return found;
}

/*
 * One digest among posts[from..) for manager: the headers, a Slack text
 * that counts the alerts, and exactly the critical firing alerts of
 * reps[0..n), in any order.
 */
static void
check_digest(size_t from, const char *manager, const char *const *reps,
    size_t n)
{
	const struct post *p = digest_for(from, manager);
	const cJSON *alerts, *a;
	char head[160];

	cr_assert_not_null(p, "no digest for %s", manager);
	cr_expect_str_eq(p->path, "/hook");
	cr_expect_str_eq(p->ctype, "application/json");
	cr_expect(p->auth != NULL && strcmp(p->auth, "Bearer " TOKEN) == 0,
	    "Authorization: %s", p->auth != NULL ? p->auth : "(none)");
	snprintf(head, sizeof(head), "*paced: %zu pacing alert%s for %s* "
	    "(%zu firing, 0 resolved)\n", n, n == 1 ? "" : "s", manager, n);
	cr_assert_not_null(str(p->body, "text"), "digest without text");
	cr_expect(strncmp(str(p->body, "text"), head, strlen(head)) == 0,
	    "text of %s's digest: %.120s", manager, str(p->body, "text"));
	alerts = cJSON_GetObjectItemCaseSensitive(p->body, "alerts");
	cr_assert(cJSON_IsArray(alerts));
	cr_assert_eq((size_t)cJSON_GetArraySize(alerts), n,
	    "%s's digest holds %d alerts, expected %zu", manager,
	    cJSON_GetArraySize(alerts), n);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		cJSON_ArrayForEach(a, alerts) {
			if (str(a, "rep_id") == NULL ||
			    strcmp(str(a, "rep_id"), reps[i]) != 0)
				continue;
			seen = true;
			cr_expect_str_eq(str(a, "status"), "firing");
			cr_expect_str_eq(str(a, "severity"), "critical");
			cr_expect_str_eq(str(a, "kpi"), "calls");
			cr_expect_str_eq(str(a, "period"), "week");
			cr_expect_not_null(str(a, "alert_id"));
		}
		cr_expect(seen, "%s's digest lacks %s", manager, reps[i]);
	}
	/* One bullet per alert in the text. */
	{
		const char *t = str(p->body, "text");
		size_t bullets = 0;

		for (; (t = strstr(t, "\xe2\x80\xa2")) != NULL; t += 3)
			bullets++;
		cr_expect_eq(bullets, n, "%s's text has %zu bullets", manager,
		    bullets);
	}
}

/* The org: every hour of every day is working time, so a rep with no
 * activity is critical at any moment (grace 0). */
static void
write_org(int port, const char *token_file, bool grown)
{
	char *org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "    week_start: %s\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 7000}}}\n"
	    "managers:\n"
	    "  - {id: m-north, manager: vp-sales}\n"
	    "  - {id: vp-sales}\n"
	    "teams:\n"
	    "  - {id: north, timezone: Etc/UTC, manager: m-north}\n"
	    "  - {id: south, timezone: Etc/UTC, manager: m-south}\n"
	    "reps:\n"
	    "  - {id: n-silent-1, team: north, role: ae}\n"
	    "  - {id: n-silent-2, team: north, role: ae}\n"
	    "  - {id: s-silent-1, team: south, role: ae}\n"
	    "%s"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  resolve_margin: 0\n"
	    "  quiet_hours: none\n"
	    "  webhooks:\n"
	    "    - {url: \"http://127.0.0.1:%d/hook\", token_file: \"%s\", "
	    "timeout: 5s, max_retries: 0, digest: true}\n",
	    harness_week_start_3d_ago(),
	    grown ? "  - {id: n-silent-3, team: north, role: ae}\n"
	    "  - {id: s-silent-2, team: south, role: ae}\n" : "",
	    port, token_file);

	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
}

/* Rep ids of the messages of the alerts topic, each once: NUL-separated
 * in *ids; returns the message count. */
static size_t
topic_reps(char ***ids)
{
	struct harness_msgs m;
	char **out;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	out = xcalloc(m.n + 1, sizeof(*out));
	for (size_t i = 0; i < m.n; i++) {
		cJSON *a = cJSON_Parse(m.v[i].value != NULL ?
		    m.v[i].value : "");

		cr_assert_not_null(a);
		out[i] = xstrdup(str(a, "rep_id"));
		cr_expect_str_eq(m.v[i].key, out[i]);
		cr_expect_str_eq(str(a, "status"), "firing");
		cr_expect_str_eq(str(a, "severity"), "critical");
		cJSON_Delete(a);
	}
	*ids = out;
	{
		size_t n = m.n;

		harness_msgs_free(&m);
		return n;
	}
}

static size_t
count_of(char **ids, size_t n, const char *rep)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += strcmp(ids[i], rep) == 0;
	return c;
}

Test(webhook, digests_per_manager_and_catch_up, .fini = cleanup,
    .timeout = 120)
{
	static const char *const north[] = { "n-silent-1", "n-silent-2" };
	static const char *const south[] = { "s-silent-1" };
	static const char *const north2[] = { "n-silent-3" };
	static const char *const south2[] = { "s-silent-2" };
	static const char *const all[] = { "n-silent-1", "n-silent-2",
	    "s-silent-1", "n-silent-3", "s-silent-2" };
	struct harness_paced p;
	struct want_metric w;
	char *token, **ids;
	size_t want, n;
	long long xlen;
	double evals;
	int port;

	cr_assert_eq(harness_setup("webhook"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	base = event_base_new();
	port = harness_free_port();
	receiver_start(port);
	token = harness_path("hook.token");
	cr_assert_eq(harness_gen_write("../hook.token", TOKEN "\n"), 0);
	write_org(port, token, false);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* One evaluation fires the three silent reps: one digest for each
	 * manager named: m-north (two reps), vp-sales above m-north (the
	 * alerts are critical), m-south (one rep). */
	want = 3;
	cr_assert(run_until(posts_at_least, &want, WAIT_MS, "three digests"),
	    "got %zu posts", nposts);
	check_digest(0, "m-north", north, 2);
	check_digest(0, "vp-sales", north, 2);
	check_digest(0, "m-south", south, 1);

	/* Later evaluations change nothing: no more digests. */
	evals = harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"ok\"}");
	w.p = &p;
	w.series = "paced_evaluations_total{result=\"ok\"}";
	w.min = evals + 3 * 3;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS,
	    "three more evaluations"));
	w.series = DELIVERED;
	w.min = 3;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS, "3 deliveries"));
	cr_expect_eq(nposts, 3, "%zu posts after quiet evaluations", nposts);

	/* The receiver goes away; two more silent reps join (SIGHUP). */
	receiver_stop();
	write_org(port, token, true);
	cr_assert_eq(harness_paced_rewrite(&p, NULL), 0);
	cr_assert_eq(harness_paced_kill(&p, SIGHUP), 0);
	w.series = "paced_config_reloads_total{result=\"ok\"}";
	w.min = 1;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS, "the reload"));

	/* Their alerts are durable at once: the Redis stream and the topic. */
	xlen = 5;
	cr_assert(run_until(stream_at_least, &xlen, WAIT_MS,
	    "5 alerts in the Redis stream"));
	w.series = RETRIED;
	w.min = 1;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS,
	    "a failed delivery to the absent receiver"));
	n = topic_reps(&ids);
	cr_expect_eq(n, 5, "the alerts topic holds %zu alerts", n);
	for (size_t i = 0; i < 5; i++)
		cr_expect_eq(count_of(ids, n, all[i]), 1, "%s: %zu alerts",
		    all[i], count_of(ids, n, all[i]));
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	cr_expect_eq(nposts, 3);

	/* Back: the three queued digests (m-north, vp-sales, m-south) come
	 * with the next retry, each once. */
	receiver_start(port);
	want = 6;
	cr_assert(run_until(posts_at_least, &want, WAIT_MS, "three more "
	    "digests"), "got %zu posts", nposts);
	check_digest(3, "m-north", north2, 1);
	check_digest(3, "vp-sales", north2, 1);
	check_digest(3, "m-south", south2, 1);
	w.series = DELIVERED;
	w.min = 6;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS, "6 deliveries"));
	evals = harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"ok\"}");
	w.series = "paced_evaluations_total{result=\"ok\"}";
	w.min = evals + 2 * 5;
	cr_assert(run_until(metric_at_least, &w, WAIT_MS,
	    "two more evaluations"));
	cr_expect_eq(nposts, 6, "%zu posts in all", nposts);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_webhook_queue{webhook=\"0\"}"), 0);
	cr_expect_eq(harness_paced_metric(&p, DROPPED), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	free(token);
}
