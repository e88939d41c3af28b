/*
 * redis_writes.c: a list of repeatable Redis writes sent until all are
 * acknowledged (see redis_writes.h). A round sends every command with a
 * reply callback; when the last reply is in, either all were OK (done is
 * called) or the round is repeated after a backoff (200 ms doubling to
 * 5 s) from a timer, never from inside a hiredis callback's caller. The
 * first failed round of a list is logged (alert_state_store_failed);
 * every failed round is counted in paced_alert_state_retries_total.
 */
#include "redis_writes.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "backoff.h"
#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define RETRY_MIN_MS	200
#define RETRY_MAX_MS	5000

struct redis_writes {
	struct redis_conn *conn;
	char *what;
	struct redis_argv **v;
	size_t n;
	int pending;			/* replies due */
	bool failed;			/* a reply of this round was not OK */
	bool abandoned;			/* freed with replies due */
	int rounds;
	redis_writes_done_cb *done;
	redis_writes_tried_cb *tried;	/* one round only */
	void *arg;
	struct event_base *base;
	struct event *retry_ev;		/* made at the first retry */
	struct backoff backoff;
};

static void retry_cb(evutil_socket_t, short, void *);

/* Looked up when a round fails, not per list: lists are made per
 * evaluation, and a lookup walks the registry. */
struct metric *
redis_writes_metrics(void)
{
	return metrics_counter("paced_alert_state_retries_total", NULL,
	    "Rounds of storing again the alert states of sent alerts after "
	    "Redis did not acknowledge them");
}

struct redis_writes *
redis_writes_new(struct event_base *base, struct redis_conn *conn,
    const char *what)
{
	struct redis_writes *w = xcalloc(1, sizeof(*w));

	w->conn = conn;
	w->what = xstrdup(what);
	w->base = base;
	backoff_init(&w->backoff, RETRY_MIN_MS, RETRY_MAX_MS);
	return w;
}

struct redis_argv *
redis_writes_add(struct redis_writes *w)
{
	struct redis_argv *v = redis_argv_new();

	w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
	w->v[w->n++] = v;
	return v;
}

size_t
redis_writes_count(const struct redis_writes *w)
{
	return w->n;
}

static void
release(struct redis_writes *w)
{
	for (size_t i = 0; i < w->n; i++)
		redis_argv_free(w->v[i]);
	free(w->v);
	if (w->retry_ev != NULL)
		event_free(w->retry_ev);
	free(w->what);
	free(w);
}

/* The last reply of a round is in. */
static void
round_end(struct redis_writes *w)
{
	if (w->abandoned) {
		release(w);
		return;
	}
	if (w->tried != NULL) {
		/* tried may free w: nothing after it. */
		w->tried(w->arg, !w->failed);
		return;
	}
	if (!w->failed) {
		/* done may free w: nothing after it. */
		w->done(w->arg);
		return;
	}
	metrics_inc(redis_writes_metrics());
	if (w->retry_ev == NULL)
		w->retry_ev = evtimer_new(w->base, retry_cb, w);
	if (w->rounds == 1)
		log_warnx("alert_state_store_failed", "what=%s commands=%zu "
		    "retry_ms=%ld", w->what, w->n, w->backoff.next_ms);
	backoff_arm(&w->backoff, w->retry_ev, true);
}

static void
reply_cb(const redisReply *r, void *arg)
{
	struct redis_writes *w = arg;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		w->failed = true;
	if (--w->pending == 0)
		round_end(w);
}

/* One round: every write again (they are absolute), each reply checked. */
static void
send_round(struct redis_writes *w)
{
	w->failed = false;
	w->rounds++;
	/* One extra count while sending: a reply may come from inside a
	 * send, and the round must not end before the last is sent. */
	w->pending = 1;
	for (size_t i = 0; i < w->n; i++) {
		if (redis_conn_send(w->conn, w->v[i], reply_cb, w) != 0) {
			w->failed = true;	/* not connected */
			break;
		}
		w->pending++;
	}
	if (--w->pending == 0)
		round_end(w);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_round(arg);
}

void
redis_writes_try(struct redis_writes *w, redis_writes_tried_cb *tried,
    void *arg)
{
	w->tried = tried;
	redis_writes_start(w, NULL, arg);
}

void
redis_writes_start(struct redis_writes *w, redis_writes_done_cb *done,
    void *arg)
{
	w->done = done;
	w->arg = arg;
	send_round(w);
}

void
redis_writes_free(struct redis_writes *w)
{
	if (w == NULL)
		return;
	if (w->pending > 0) {
		w->abandoned = true;
		if (w->retry_ev != NULL)
			evtimer_del(w->retry_ev);
		return;
	}
	release(w);
}
