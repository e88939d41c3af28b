/*
 * The alert sinks against real peers: a loopback redis-server, the dev
 * broker, and webhook receivers served by evhttp on the test's own event
 * base. Every wait runs the loop until a condition holds or a deadline
 * passes.
 */

#include "sink.h"

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

#include "harness.h"
#include "metrics.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define WAIT_MS		30000
#define MAX_POSTS	64

/* What a receiver got. */
struct post {
	char *path;
	char *auth;		/* NULL when absent */
	char *ctype;
	cJSON *body;		/* NULL when not JSON */
};

struct receiver {
	struct evhttp *http;
	int status;		/* answered to every POST */
	struct post posts[MAX_POSTS];
	size_t nposts;
};

/* One test's world. */
static struct event_base *base;
static struct redis_conn *conn;
static struct config cfg;
static struct config_webhook hooks[2];
static struct receiver rx;

struct done {
	bool called;
	int status;
	int calls;
};

/* Runs the loop until pred(arg) or timeout_ms; returns pred's last word. */
static bool
run_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
	return harness_loop_until(base, pred, arg, timeout_ms);
}

static void
redis_state(bool up, void *arg)
{
	(void)up;
	(void)arg;
}

static bool
redis_is_up(void *arg)
{
	(void)arg;
	return redis_conn_up(conn);
}

static bool
redis_is_down(void *arg)
{
	(void)arg;
	return !redis_conn_up(conn);
}

static void
receive(struct evhttp_request *req, void *arg)
{
	struct receiver *r = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	size_t len = evbuffer_get_length(in);
	char *body = xmalloc(len + 1);
	const char *v;

	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if (r->nposts < MAX_POSTS) {
		struct post *p = &r->posts[r->nposts++];

		p->path = xstrdup(evhttp_request_get_uri(req));
		p->auth = (v = evhttp_find_header(h, "Authorization")) != NULL ?
		    xstrdup(v) : NULL;
		p->ctype = (v = evhttp_find_header(h, "Content-Type")) != NULL ?
		    xstrdup(v) : NULL;
		p->body = cJSON_Parse(body);
	}
	free(body);
	evhttp_send_reply(req, r->status, r->status == 200 ? "OK" : "Nope",
	    NULL);
}

static void
receiver_start(int port)
{
	rx.http = evhttp_new(base);
	evhttp_set_allowed_methods(rx.http, EVHTTP_REQ_POST);
	evhttp_set_gencb(rx.http, receive, &rx);
	cr_assert_eq(evhttp_bind_socket(rx.http, "127.0.0.1",
	    (unsigned short)port), 0, "cannot listen on %d", port);
}

static void
receiver_clear(void)
{
	for (size_t i = 0; i < rx.nposts; i++) {
		free(rx.posts[i].path);
		free(rx.posts[i].auth);
		free(rx.posts[i].ctype);
		cJSON_Delete(rx.posts[i].body);
	}
	rx.nposts = 0;
}

struct want_posts {
	size_t n;
};

static bool
got_posts(void *arg)
{
	return rx.nposts >= ((struct want_posts *)arg)->n;
}

static double
metric(const char *name, const char *labels)
{
	return metrics_value(metrics_counter(name, labels, "test"));
}

struct want_metric {
	const char *name, *labels;
	double min;
};

static bool
metric_at_least(void *arg)
{
	struct want_metric *w = arg;

	return metric(w->name, w->labels) >= w->min;
}

/* Waits until webhook index has n deliveries acknowledged (the receiver
 * records a post before its answer reaches the sender). */
static bool
wait_delivered(int index, double n)
{
	char labels[64];
	struct want_metric w = { "paced_webhook_deliveries_total", labels, n };

	snprintf(labels, sizeof(labels), "webhook=\"%d\",result=\"ok\"", index);
	return run_until(metric_at_least, &w, WAIT_MS);
}

static bool
publish_done(void *arg)
{
	return ((struct done *)arg)->called;
}

static void
on_published(int status, void *arg)
{
	struct done *d = arg;

	d->called = true;
	d->status = status;
	d->calls++;
}

/* The alerts of the cases: three reps, managers m1, m2 and m9 above m1. */
struct fixture {
	struct alert_record rec[8];
	char *json[8];
	char ids[8][32], reps[8][32], msgs[8][128];
	size_t n;
};

static const char *const notify_m1[] = { "m1" };
static const char *const notify_m1_m9[] = { "m1", "m9" };
static const char *const notify_m2[] = { "m2" };

static void
fixture_add(struct fixture *f, const char *mgr, const char *const *notify,
    size_t nnotify, const char *status, const char *severity,
    const char *message)
{
	size_t i = f->n++;
	struct alert_record *a = &f->rec[i];
	cJSON *o = cJSON_CreateObject(), *arr;

	snprintf(f->ids[i], sizeof(f->ids[i]), "a%zu00000000000000", i + 1);
	snprintf(f->reps[i], sizeof(f->reps[i]), "r%zu", i + 1);
	snprintf(f->msgs[i], sizeof(f->msgs[i]), "%s", message);
	cJSON_AddStringToObject(o, "alert_id", f->ids[i]);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "severity", severity);
	cJSON_AddStringToObject(o, "rep_id", f->reps[i]);
	cJSON_AddStringToObject(o, "manager_id", mgr);
	arr = cJSON_AddArrayToObject(o, "notify");
	for (size_t k = 0; k < nnotify; k++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(notify[k]));
	cJSON_AddStringToObject(o, "kpi", "calls");
	cJSON_AddStringToObject(o, "period", "day");
	cJSON_AddStringToObject(o, "message", message);
	f->json[i] = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	a->alert_id = f->ids[i];
	a->rep_id = f->reps[i];
	a->team_id = "east";
	a->manager_id = mgr;
	a->notify = notify;
	a->nnotify = nnotify;
	a->status = status;
	a->severity = severity;
	a->kpi = "calls";
	a->period = "day";
	a->message = f->msgs[i];
	a->json = f->json[i];
}

static void
fixture_three(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	fixture_add(f, "m1", notify_m1, 1, "firing", "warning",
	    "r1 is behind on calls: 10 of 25 expected by now (<40% & falling)");
	fixture_add(f, "m1", notify_m1_m9, 2, "firing", "critical",
	    "r2 is far behind on calls: 2 of 25 expected by now");
	fixture_add(f, "m2", notify_m2, 1, "resolved", "warning",
	    "r3 is back on pace on calls");
}

static void
fixture_free(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++)
		cJSON_free(f->json[i]);
}

/* Redis and the broker, a connection, and a config pointing at them. */
static void
world_start(const char *name)
{
	struct redis_conn_opts o = { 0 };

	cr_assert_eq(harness_setup(name), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = harness_redis_port();
	o.timeout_ms = 2000;
	o.name = "sinks";
	conn = redis_conn_new(base, &o, redis_state, NULL);
	cr_assert(run_until(redis_is_up, NULL, WAIT_MS), "Redis never came up");

	memset(&cfg, 0, sizeof(cfg));
	memset(hooks, 0, sizeof(hooks));
	cfg.kafka.brokers = (char *)harness_brokers();
	cfg.kafka.topic_alerts = HARNESS_TOPIC_ALERTS;
	cfg.kafka.topic_dlq = HARNESS_TOPIC_DLQ;
	cfg.kafka.partitioner = "murmur2_random";
	cfg.redis.key_prefix = "paced";
	cfg.alerts.stream_maxlen = 1000;
	cfg.alerts.webhooks = hooks;
	rx.status = 200;
}

static void
world_stop(struct sinks *s)
{
	sinks_free(s, 1000);
	if (rx.http != NULL)
		evhttp_free(rx.http);
	rx.http = NULL;
	receiver_clear();
	redis_conn_free(conn);
	conn = NULL;
	event_base_free(base);
	base = NULL;
	for (size_t i = 0; i < 2; i++)
		free(hooks[i].url);
	metrics_reset();
}

static void
hook(size_t i, int port, const char *path, const char *token, bool digest,
    int max_retries)
{
	hooks[i].url = xasprintf("http://127.0.0.1:%d%s", port, path);
	hooks[i].token = (char *)token;
	hooks[i].timeout_ms = 2000;
	hooks[i].max_retries = max_retries;
	hooks[i].digest = digest;
	if (cfg.alerts.nwebhooks < i + 1)
		cfg.alerts.nwebhooks = i + 1;
}

static struct sinks *
sinks_start(void)
{
	char err[256] = "";
	struct sinks *s = sinks_new(base, &cfg, conn, err, sizeof(err));

	cr_assert_not_null(s, "sinks_new: %s", err);
	return s;
}

static int
publish_wait(struct sinks *s, const struct fixture *f)
{
	struct done d = { false, 99, 0 };

	sinks_publish(s, f->rec, f->n, on_published, &d);
	cr_assert(!d.called, "the callback ran inside sinks_publish");
	cr_assert(run_until(publish_done, &d, WAIT_MS), "no answer from the "
	    "sinks");
	cr_assert_eq(d.calls, 1);
	return d.status;
}

static const char *
field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1]->str;
	return NULL;
}

/* The stream holds exactly f's alerts, in order, with every field. */
static void
check_stream(const struct fixture *f, size_t times)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - +");

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(r->elements, f->n * times, "stream has %zu entries",
	    r->elements);
	for (size_t i = 0; i < r->elements; i++) {
		const struct alert_record *a = &f->rec[i % f->n];
		const redisReply *fields = r->element[i]->element[1];

		cr_expect_str_eq(field(fields, "alert_id"), a->alert_id);
		cr_expect_str_eq(field(fields, "rep_id"), a->rep_id);
		cr_expect_str_eq(field(fields, "status"), a->status);
		cr_expect_str_eq(field(fields, "severity"), a->severity);
		cr_expect_str_eq(field(fields, "json"), a->json);
	}
	freeReplyObject(r);
}

/* The alerts topic holds f's alerts, keyed by rep, each `times` times. */
static void
check_topic(const struct fixture *f, size_t times)
{
	struct harness_msgs m;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	cr_assert_eq(m.n, f->n * times, "topic has %zu messages", m.n);
	for (size_t i = 0; i < f->n; i++) {
		size_t seen = 0;

		for (size_t k = 0; k < m.n; k++) {
			const struct harness_msg *x = &m.v[k];
			const struct harness_header *h;

			if (x->key == NULL || strcmp(x->key, f->rec[i].rep_id) != 0)
				continue;
			seen++;
			cr_expect_str_eq(x->value, f->json[i]);
			h = harness_msg_header(x, "paced.alert_id");
			cr_assert_not_null(h);
			cr_expect_str_eq(h->value, f->ids[i]);
			h = harness_msg_header(x, "paced.status");
			cr_assert_not_null(h);
			cr_expect_str_eq(h->value, f->rec[i].status);
		}
		cr_expect_eq(seen, times, "rep %s: %zu messages",
		    f->rec[i].rep_id, seen);
	}
	harness_msgs_free(&m);
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A digest names manager and holds the alerts ids[0..n). */
static void
check_digest(const struct post *p, const char *manager, const char *header,
    const char *const *ids, size_t n)
{
	const cJSON *alerts;
	const char *text;

	cr_assert_not_null(p->body, "digest for %s is not JSON", manager);
	cr_expect_str_eq(str(p->body, "manager_id"), manager);
	text = str(p->body, "text");
	cr_assert_not_null(text);
	cr_expect(strncmp(text, header, strlen(header)) == 0,
	    "text starts %.80s", text);
	alerts = cJSON_GetObjectItemCaseSensitive(p->body, "alerts");
	cr_assert(cJSON_IsArray(alerts));
	cr_assert_eq((size_t)cJSON_GetArraySize(alerts), n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(str(cJSON_GetArrayItem(alerts, (int)i),
		    "alert_id"), ids[i]);
}

Test(sinks, publish_fans_out, .fini = harness_teardown, .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct want_posts want = { 6 };
	int port;
	const char *m1[] = { "a100000000000000", "a200000000000000" };
	const char *m9[] = { "a200000000000000" };
	const char *m2[] = { "a300000000000000" };
	size_t nd = 0, ns = 0;
	const struct post *digests[8], *singles[8];

	world_start("sinks_fanout");
	port = harness_free_port();
	receiver_start(port);
	hook(0, port, "/hook/digest", "s3cret", true, 3);
	hook(1, port, "/hook/single?channel=x", NULL, false, 3);
	s = sinks_start();
	fixture_three(&f);

	cr_assert_eq(publish_wait(s, &f), 0);
	check_stream(&f, 1);
	check_topic(&f, 1);

	/* Three digests (m1: r1 and r2; m9: r2 escalated; m2: r3) and one
	 * post per alert for the other webhook. */
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	for (size_t i = 0; i < rx.nposts; i++) {
		const struct post *p = &rx.posts[i];

		cr_expect_str_eq(p->ctype, "application/json");
		if (strcmp(p->path, "/hook/digest") == 0) {
			cr_expect_str_eq(p->auth, "Bearer s3cret");
			digests[nd++] = p;
		} else {
			cr_expect_str_eq(p->path, "/hook/single?channel=x");
			cr_expect_null(p->auth);
			singles[ns++] = p;
		}
	}
	cr_assert_eq(nd, 3);
	cr_assert_eq(ns, 3);
	check_digest(digests[0], "m1",
	    "*paced: 2 pacing alerts for m1* (2 firing, 0 resolved)\n"
	    "\xe2\x80\xa2 r1 is behind on calls: 10 of 25 expected by now "
	    "(&lt;40% &amp; falling)\n"
	    "\xe2\x80\xa2 r2 is far behind on calls: 2 of 25 expected by now",
	    m1, 2);
	check_digest(digests[1], "m9",
	    "*paced: 1 pacing alert for m9* (1 firing, 0 resolved)\n"
	    "\xe2\x80\xa2 r2 is far behind", m9, 1);
	check_digest(digests[2], "m2",
	    "*paced: 1 pacing alert for m2* (0 firing, 1 resolved)\n"
	    "\xe2\x80\xa2 r3 is back on pace on calls", m2, 1);
	for (size_t i = 0; i < 3; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(singles[i]->body,
		    "alert");

		cr_assert_not_null(singles[i]->body);
		cr_expect_str_eq(str(a, "alert_id"), f.ids[i]);
		cr_expect_str_eq(str(a, "message"), f.msgs[i]);
	}
	cr_expect_str_eq(str(singles[0]->body, "text"),
	    "r1 is behind on calls: 10 of 25 expected by now "
	    "(&lt;40% &amp; falling)");
	cr_expect(wait_delivered(0, 3));
	cr_expect(wait_delivered(1, 3));
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\""), 3);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"1\",result=\"ok\""), 3);
	cr_expect_eq(metric("paced_sink_failures_total", "sink=\"kafka\""), 0);
	cr_expect_eq(metric("paced_sink_failures_total", "sink=\"redis\""), 0);

	/* Nothing at all: still answered later, with 0. */
	{
		struct fixture none = { .n = 0 };

		cr_expect_eq(publish_wait(s, &none), 0);
	}
	fixture_free(&f);
	world_stop(s);
}

Test(sinks, webhook_down_then_up, .fini = harness_teardown, .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct want_posts want = { 3 };
	struct want_metric retried = { "paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"retry\"", 3 };
	int port;

	world_start("sinks_webhook_down");
	sink_webhook_set_backoff(50, 200);
	port = harness_free_port();	/* nobody listens there yet */
	hook(0, port, "/hook", NULL, true, 1000);
	s = sinks_start();
	fixture_three(&f);

	cr_assert_eq(publish_wait(s, &f), 0, "a webhook that is down held "
	    "up the durable sinks");
	check_stream(&f, 1);
	check_topic(&f, 1);
	cr_assert(run_until(metric_at_least, &retried, WAIT_MS),
	    "the webhook was not retried");
	cr_expect_eq(rx.nposts, 0);
	cr_expect_eq(metrics_value(metrics_gauge("paced_webhook_queue",
	    "webhook=\"0\"", "test")), 3);

	receiver_start(port);
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	/* In order: m1, m9, m2. */
	cr_expect_str_eq(str(rx.posts[0].body, "manager_id"), "m1");
	cr_expect_str_eq(str(rx.posts[1].body, "manager_id"), "m9");
	cr_expect_str_eq(str(rx.posts[2].body, "manager_id"), "m2");
	cr_expect(wait_delivered(0, 3));
	cr_expect_eq(metrics_value(metrics_gauge("paced_webhook_queue",
	    "webhook=\"0\"", "test")), 0);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"ok\""), 3);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\""), 0);
	fixture_free(&f);
	world_stop(s);
}

/*
 * Redis down while the topic takes the alerts: the publish does not fail
 * (a failed publish is judged and sent again, and the topic would get
 * each alert twice); only the stream entries are sent again, until Redis
 * is back. Then the publish answers 0 and every sink has each alert once.
 */
Test(sinks, redis_down, .fini = harness_teardown, .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct done d = { false, 99, 0 };
	struct want_metric two_rounds = { "paced_sink_retries_total", NULL, 2 };
	int port;

	world_start("sinks_redis_down");
	port = harness_free_port();
	receiver_start(port);
	hook(0, port, "/hook", NULL, true, 3);
	s = sinks_start();
	fixture_three(&f);

	harness_redis_stop(SIGKILL);
	cr_assert(run_until(redis_is_down, NULL, WAIT_MS),
	    "the connection never noticed");
	sinks_publish(s, f.rec, f.n, on_published, &d);
	/* A round ends once every answer is in, the topic's included. */
	cr_assert(run_until(metric_at_least, &two_rounds, WAIT_MS),
	    "no second round");
	cr_expect(!d.called, "the publish answered %d with Redis down",
	    d.status);
	cr_expect_geq(metric("paced_sink_failures_total", "sink=\"redis\""), 6);
	cr_expect_eq(metric("paced_sink_failures_total", "sink=\"kafka\""), 0);
	/* Not accepted yet: not announced. */
	cr_expect_eq(metrics_value(metrics_gauge("paced_webhook_queue",
	    "webhook=\"0\"", "test")), 0);

	/* Back up: the stream entries go through, the publish answers. */
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert(run_until(redis_is_up, NULL, WAIT_MS), "no reconnect");
	cr_assert(run_until(publish_done, &d, WAIT_MS), "no answer");
	cr_expect_eq(d.status, 0);
	cr_expect_eq(d.calls, 1);
	check_topic(&f, 1);
	check_stream(&f, 1);
	{
		struct want_posts want = { 3 };

		cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
		    rx.nposts);
		cr_expect(wait_delivered(0, 3));
		cr_expect_eq(rx.nposts, 3);
	}
	fixture_free(&f);
	world_stop(s);
}

Test(sinks, webhook_gives_up_and_drops_oldest, .fini = harness_teardown,
    .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct want_posts want = { 3 };
	struct want_metric dropped = { "paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\"", 1 };
	int port;

	world_start("sinks_webhook_limits");
	sink_webhook_set_backoff(20, 100);
	port = harness_free_port();
	receiver_start(port);
	rx.status = 400;
	hook(0, port, "/hook", NULL, false, 2);
	s = sinks_start();

	/* A receiver that refuses the message: 1 attempt + 2 retries, then
	 * the message is dropped. */
	memset(&f, 0, sizeof(f));
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "one");
	cr_assert_eq(publish_wait(s, &f), 0);
	cr_assert(run_until(metric_at_least, &dropped, WAIT_MS), "not dropped");
	cr_expect_eq(rx.nposts, 3);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"retry\""), 2);
	cr_expect_eq(metrics_value(metrics_gauge("paced_webhook_queue",
	    "webhook=\"0\"", "test")), 0);
	fixture_free(&f);

	/* A receiver that is unwell (503) is waited for past max_retries:
	 * eight failed attempts, then it recovers and gets the message. */
	receiver_clear();
	rx.status = 503;
	memset(&f, 0, sizeof(f));
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "two");
	cr_assert_eq(publish_wait(s, &f), 0);
	{
		struct want_metric retried = { "paced_webhook_deliveries_total",
		    "webhook=\"0\",result=\"retry\"", 2 + 8 };

		cr_assert(run_until(metric_at_least, &retried, WAIT_MS),
		    "no retries");
	}
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\""), 1);
	rx.status = 200;
	cr_expect(wait_delivered(0, 1));
	cr_expect_str_eq(str(rx.posts[rx.nposts - 1].body, "text"), "two");
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\""), 1);
	fixture_free(&f);

	/* The queue keeps the newest two of five while the receiver is
	 * gone. */
	evhttp_free(rx.http);
	rx.http = NULL;
	receiver_clear();
	rx.status = 200;
	sink_webhook_set_queue_max(2);
	memset(&f, 0, sizeof(f));
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "msg 1");
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "msg 2");
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "msg 3");
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "msg 4");
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "msg 5");
	cr_assert_eq(publish_wait(s, &f), 0);
	cr_expect_eq(metric("paced_webhook_deliveries_total",
	    "webhook=\"0\",result=\"dropped\""), 1 + 3);
	receiver_start(port);
	want.n = 2;
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	cr_expect_str_eq(str(rx.posts[0].body, "text"), "msg 4");
	cr_expect_str_eq(str(rx.posts[1].body, "text"), "msg 5");
	cr_expect(wait_delivered(0, 1 + 2));
	cr_expect_eq(rx.nposts, 2);
	sink_webhook_set_queue_max(0);
	fixture_free(&f);
	world_stop(s);
}

Test(sinks, reload_swaps_webhooks, .fini = harness_teardown, .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct want_posts want = { 3 };
	int port;

	world_start("sinks_reload");
	port = harness_free_port();
	receiver_start(port);
	hook(0, port, "/old", NULL, true, 3);
	s = sinks_start();
	fixture_three(&f);
	cr_assert_eq(publish_wait(s, &f), 0);
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	cr_expect(wait_delivered(0, 3));

	/* Same URL: new token and mode, same queue. Second webhook: new. */
	hooks[0].token = "t0";
	hooks[0].digest = false;
	hook(1, port, "/new", "t1", true, 3);
	sinks_set_config(s, &cfg);
	receiver_clear();
	want.n = 3 + 3;
	cr_assert_eq(publish_wait(s, &f), 0);
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	cr_expect(wait_delivered(0, 6));
	cr_expect(wait_delivered(1, 3));
	for (size_t i = 0; i < rx.nposts; i++) {
		const struct post *p = &rx.posts[i];

		if (strcmp(p->path, "/old") == 0) {
			cr_expect_str_eq(p->auth, "Bearer t0");
			cr_expect_not_null(cJSON_GetObjectItem(p->body, "alert"),
			    "/old should now get one post per alert");
		} else {
			cr_expect_str_eq(p->path, "/new");
			cr_expect_str_eq(p->auth, "Bearer t1");
			cr_expect_not_null(cJSON_GetObjectItem(p->body,
			    "manager_id"));
		}
	}

	/* Dropping every webhook: publishes still answer. */
	cfg.alerts.nwebhooks = 0;
	sinks_set_config(s, &cfg);
	cr_assert_eq(publish_wait(s, &f), 0);
	check_stream(&f, 3);
	fixture_free(&f);
	world_stop(s);
}

Test(sinks, webhook_by_host_name, .fini = harness_teardown, .timeout = 180)
{
	struct fixture f;
	struct sinks *s;
	struct want_posts want = { 1 };
	int port;

	world_start("sinks_hostname");
	port = harness_free_port();
	receiver_start(port);
	/* Where localhost is also ::1, listen there too (if IPv6 is on). */
	(void)evhttp_bind_socket(rx.http, "::1", (unsigned short)port);
	/* Resolved on the loop (evdns reads /etc/hosts), never blocking. */
	hooks[0].url = xasprintf("http://localhost:%d/named", port);
	hooks[0].timeout_ms = 2000;
	hooks[0].max_retries = 3;
	cfg.alerts.nwebhooks = 1;
	s = sinks_start();
	memset(&f, 0, sizeof(f));
	fixture_add(&f, "m1", notify_m1, 1, "firing", "warning", "named");
	cr_assert_eq(publish_wait(s, &f), 0);
	cr_assert(run_until(got_posts, &want, WAIT_MS), "got %zu posts",
	    rx.nposts);
	cr_expect_str_eq(rx.posts[0].path, "/named");
	cr_expect_str_eq(str(rx.posts[0].body, "text"), "named");
	cr_expect(wait_delivered(0, 1));
	fixture_free(&f);
	world_stop(s);
}
