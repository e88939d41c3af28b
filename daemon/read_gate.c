/*
 * read_gate.c: the HTTP API's bound on reads in flight (see read_gate.h).
 * A queued read keeps a copy of its command; a sent one a small entry
 * whose gate pointer is cleared when the gate is freed first, so the
 * connection's late callback touches nothing freed.
 */
#include "read_gate.h"

#include <stdlib.h>
#include <sys/queue.h>

#include "metrics.h"
#include "xmalloc.h"

struct gate_read {
	struct read_gate *g;		/* NULL: the gate is gone */
	redis_reply_cb *cb;
	void *arg;
	struct redis_argv *cmd;		/* while queued */
	TAILQ_ENTRY(gate_read) entry;	/* g->queue or g->sent */
};

TAILQ_HEAD(gate_reads, gate_read);

struct read_gate {
	struct redis_conn *conn;
	int max;
	size_t inflight, queued;
	struct gate_reads queue, sent;
	struct metric *m_inflight, *m_queued;
};

static void
gauges(struct read_gate *g)
{
	metrics_set(g->m_inflight, (double)g->inflight);
	metrics_set(g->m_queued, (double)g->queued);
}

static void pump(struct read_gate *g);

struct read_gate *
read_gate_new(struct redis_conn *conn, int max)
{
	struct read_gate *g = xcalloc(1, sizeof(*g));

	g->conn = conn;
	g->max = max > 0 ? max : 1;
	TAILQ_INIT(&g->queue);
	TAILQ_INIT(&g->sent);
	g->m_inflight = metrics_gauge("paced_http_redis_reads",
	    "state=\"inflight\"", "The API's Redis reads: sent and not "
	    "answered yet (at most 8), or waiting for room");
	g->m_queued = metrics_gauge("paced_http_redis_reads",
	    "state=\"queued\"", "The API's Redis reads: sent and not "
	    "answered yet (at most 8), or waiting for room");
	gauges(g);
	return g;
}

void
read_gate_free(struct read_gate *g)
{
	struct gate_read *rd;

	if (g == NULL)
		return;
	while ((rd = TAILQ_FIRST(&g->sent)) != NULL) {
		TAILQ_REMOVE(&g->sent, rd, entry);
		rd->g = NULL;		/* freed by its reply */
	}
	while ((rd = TAILQ_FIRST(&g->queue)) != NULL) {
		TAILQ_REMOVE(&g->queue, rd, entry);
		redis_argv_free(rd->cmd);
		rd->cb(NULL, rd->arg);
		free(rd);
	}
	free(g);
}

bool
read_gate_up(const struct read_gate *g)
{
	return redis_conn_up(g->conn);
}

size_t
read_gate_inflight(const struct read_gate *g)
{
	return g->inflight;
}

size_t
read_gate_queued(const struct read_gate *g)
{
	return g->queued;
}

static void
gate_reply(const struct redisReply *r, void *arg)
{
	struct gate_read *rd = arg;
	struct read_gate *g = rd->g;

	if (g != NULL) {
		TAILQ_REMOVE(&g->sent, rd, entry);
		g->inflight--;
	}
	rd->cb(r, rd->arg);
	free(rd);
	if (g != NULL) {
		pump(g);
		gauges(g);
	}
}

/* Sends rd now: 0, or -1 (the connection is down; rd untouched). */
static int
send_now(struct read_gate *g, struct gate_read *rd, struct redis_argv *v)
{
	rd->g = g;
	TAILQ_INSERT_TAIL(&g->sent, rd, entry);
	g->inflight++;
	if (redis_conn_send(g->conn, v, gate_reply, rd) != 0) {
		TAILQ_REMOVE(&g->sent, rd, entry);
		g->inflight--;
		return -1;
	}
	return 0;
}

/* Sends queued reads while there is room; with the connection down the
 * queued ones get NULL. A callback may queue more: the loop takes them. */
static void
pump(struct read_gate *g)
{
	struct gate_read *rd;

	while (g->inflight < (size_t)g->max &&
	    (rd = TAILQ_FIRST(&g->queue)) != NULL) {
		struct redis_argv *cmd = rd->cmd;

		TAILQ_REMOVE(&g->queue, rd, entry);
		g->queued--;
		rd->cmd = NULL;
		if (send_now(g, rd, cmd) != 0) {
			rd->cb(NULL, rd->arg);
			free(rd);
		}
		redis_argv_free(cmd);
	}
}

int
read_gate_send(struct read_gate *g, struct redis_argv *v, redis_reply_cb *cb,
    void *arg)
{
	struct gate_read *rd;

	if (!redis_conn_up(g->conn))
		return -1;
	rd = xcalloc(1, sizeof(*rd));
	rd->cb = cb;
	rd->arg = arg;
	if (g->inflight < (size_t)g->max && TAILQ_EMPTY(&g->queue)) {
		if (send_now(g, rd, v) != 0) {
			free(rd);
			return -1;
		}
		gauges(g);
		return 0;
	}
	rd->g = g;
	rd->cmd = redis_argv_new();
	for (size_t i = 0; i < redis_argv_count(v); i++) {
		size_t len;
		const char *s = redis_argv_at(v, i, &len);

		redis_argv_add(rd->cmd, s, len);
	}
	TAILQ_INSERT_TAIL(&g->queue, rd, entry);
	g->queued++;
	gauges(g);
	return 0;
}
