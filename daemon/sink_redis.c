/*
 * sink_redis.c: the Redis stream P:alerts, for live consumers (XREAD
 * from $). One XADD per alert, capped with MAXLEN ~ so Redis trims whole
 * nodes cheaply; the fields are alert_id, rep_id, status, severity and
 * json (the whole alert). Accepted means Redis answered with the entry's
 * id. When the connection is down we say no at once: the evaluator
 * publishes again at its next evaluation, and an entry twice in the
 * stream is harmless (readers dedupe by alert_id).
 */
#include "sink.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "caltime.h"
#include "keys.h"
#include "log.h"
#include "redis_conn.h"
#include "reply.h"
#include "xmalloc.h"

#define ERR_LOG_MS	10000	/* at most one error line per this */

struct redis_req {
	struct sink_redis *r;
	sink_result_cb *cb;		/* NULL once the sink is freed */
	void *arg;
	TAILQ_ENTRY(redis_req) entry;
};

TAILQ_HEAD(redis_req_list, redis_req);

struct sink_redis {
	struct redis_conn *conn;
	char *key;			/* <prefix>:alerts */
	long maxlen;			/* <= 0: uncapped */
	struct redis_req_list reqs;	/* sent, reply not yet seen */
	bool dying;			/* freed by its owner; last reply frees */
	int64_t err_logged_ms;
};

struct sink_redis *
sink_redis_new(struct redis_conn *conn, const struct config *cfg)
{
	struct sink_redis *r = xcalloc(1, sizeof(*r));

	r->conn = conn;
	r->key = keys_alerts_stream(cfg);
	TAILQ_INIT(&r->reqs);
	sink_redis_set_config(r, cfg);
	return r;
}

void
sink_redis_set_config(struct sink_redis *r, const struct config *cfg)
{
	r->maxlen = cfg->alerts.stream_maxlen;
}

static void
reply_cb(const struct redisReply *reply, void *arg)
{
	struct redis_req *q = arg;
	struct sink_redis *r = q->r;
	int status = -1;

	TAILQ_REMOVE(&r->reqs, q, entry);
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		status = 0;
	else if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		/* A reply we cannot fix by retrying here (a wrong type at
		 * the key, OOM): log it now and then. */
		int64_t now = caltime_mono_ms();

		if (r->err_logged_ms == 0 || now - r->err_logged_ms >= ERR_LOG_MS) {
			log_warnx("sink_redis_error", "key=%s err=%s", r->key,
			    log_quote(reply_error_text(reply)));
			r->err_logged_ms = now;
		}
	}
	if (q->cb != NULL)
		q->cb(status, q->arg);
	free(q);
	if (r->dying && TAILQ_EMPTY(&r->reqs)) {
		free(r->key);
		free(r);
	}
}

void
sink_redis_send(struct sink_redis *r, const struct alert_record *a,
    sink_result_cb *cb, void *arg)
{
	struct redis_argv *v = redis_argv_new();
	struct redis_req *q;
	int rc;

#define ARG(s) redis_argv_str(v, (s) != NULL ? (s) : "")
	ARG("XADD");
	ARG(r->key);
	if (r->maxlen > 0) {
		ARG("MAXLEN");
		ARG("~");
		redis_argv_fmt(v, "%ld", r->maxlen);
	}
	ARG("*");
	ARG("alert_id");
	ARG(a->alert_id);
	ARG("rep_id");
	ARG(a->rep_id);
	ARG("status");
	ARG(a->status);
	ARG("severity");
	ARG(a->severity);
	ARG("json");
	ARG(a->json);
#undef ARG

	q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&r->reqs, q, entry);
	rc = redis_conn_send(r->conn, v, reply_cb, q);
	redis_argv_free(v);
	if (rc != 0) {
		/* Not connected: no reply will come. */
		TAILQ_REMOVE(&r->reqs, q, entry);
		free(q);
		cb(-1, arg);
	}
}

void
sink_redis_free(struct sink_redis *r)
{
	struct redis_req *q;

	if (r == NULL)
		return;
	if (TAILQ_EMPTY(&r->reqs)) {
		free(r->key);
		free(r);
		return;
	}
	/* The connection still owes us replies: they only free. */
	TAILQ_FOREACH(q, &r->reqs, entry)
		q->cb = NULL;
	r->dying = true;
}
