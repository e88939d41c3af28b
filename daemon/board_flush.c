/*
 * board_flush.c: the coalesced board writer. redis_apply.c hands it the
 * absolute values each applied batch's shard scripts answered
 * (board_flush_add); its timer writes them every leaderboards.flush_every.
 *
 * Values wait with their board, one per rep (a table per board): a new
 * value of a rep already waiting replaces it when higher. Boards with
 * values waiting queue in the order they got their first one. A flush
 * takes whole boards from the head of the queue, at most BOARD_FLUSH_MAX
 * (f->max) values (a board bigger than that alone is split), so a big
 * roster never holds the loop: the cost of a flush is linear in what it
 * takes. The rest wait for the next tick, or for the next loop turn when
 * a whole flush's worth waits. Only one flush is in flight at a time.
 *
 * A flush first asks PUBSUB NUMSUB of the change stream's channel (not on
 * Redis Cluster, where a node counts its own subscribers only: there the
 * board script always runs). Nobody subscribed: one ZADD GT per board,
 * pipelined, and an EXPIREAT for each board whose expiry this process has
 * not set since the connection came up (the key may be new; EXPIREAT ...
 * NX needs Redis 7 and paced supports 6.2). Someone subscribed: the board
 * script per board (board_redis.c), which reads positions and publishes
 * rank moves, and checks the expiry itself.
 *
 * A board whose write fails (an error reply, a lost connection; nothing
 * sent when PUBSUB NUMSUB fails) gets its values back, merged with those
 * that came meanwhile, for the next tick: ZADD GT makes writing a value
 * twice harmless. The other boards of the flush are written. A failing
 * flush is logged once until one succeeds. Values still here when the process dies are lost
 * from the boards (README, Leaderboards, says what mends them).
 *
 * The only values dropped while running are those of a board whose
 * expiry has passed when a flush takes it (Redis away that long, or a
 * board kept failing): writing them would bring back a board Redis has
 * dropped, with no expiry when this process had set it before. They are
 * counted (paced_board_values_dropped_total{reason="expired"}).
 *
 * Memory: the scope and rep names met are kept (interned) for the
 * process's life, bounded by the roster; a board's record (its key, and
 * whether its expiry is set) is dropped once it has had no value for
 * BOARD_IDLE_MS; a big board's index is freed when a flush empties it.
 */
#include "board_flush.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "caltime.h"
#include "hash.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "xmalloc.h"

#define BOARD_IDLE_MS		(10 * 60 * 1000)
#define EVICT_EVERY_MS		(60 * 1000)
#define STOP_FAILURES_MAX	3
#define VALUE_MAX		31	/* bytes of a value's text */
#define IDX_KEEP_MAX		1024	/* a board's index kept when empty */

/* A set of strings, each kept once (open addressing, at most half full). */
struct strset {
	char **v;
	size_t n, cap;
};

/* One rep's highest value on one board. */
struct fentry {
	const char *rep;		/* interned */
	double num;
	uint8_t len;
	char text[VALUE_MAX];
};

struct fboard {
	const char *scope;		/* interned */
	size_t kpi;
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	char *key;			/* owned */
	bool expiry_set;		/* since the connection came up */
	bool queued;			/* in the queue of boards waiting */
	bool busy;			/* in the flush in flight */
	int64_t used_ms;		/* monotonic: the last value added */
	/* the values waiting, and their index by rep (position + 1; 0:
	 * empty; a power of two, at most half full) */
	struct fentry *v;
	size_t n, cap;
	uint32_t *idx;
	size_t idx_cap;
};

struct flush_op;

/* One board's commands in a flush, with the values taken from it. */
struct board_cmd {
	struct flush_op *op;
	struct fboard *b;
	struct fentry *v;		/* owned */
	size_t n;
	bool failed;
};

struct flush_op {
	struct board_flush *f;		/* NULL once f is freed */
	struct board_cmd *cmds;		/* owned */
	size_t ncmds;
	size_t n;			/* values */
	int outstanding;
	bool failed, script, sent;
	const char *err;		/* the first error (static text) */
};

struct board_flush {
	struct event_base *base;
	struct redis_conn *conn;
	const struct config *const *cfg;
	struct event *timer;
	struct event *again;		/* the next flush, at the next loop turn */
	int sha;
	size_t max;
	struct strset scopes, reps;
	/* boards by (scope, kpi, period, day): open addressing */
	struct fboard **bt;
	size_t nb, bt_cap;
	/* boards with values waiting, first come first served: a ring */
	struct fboard **q;
	size_t qhead, qn, qcap;
	size_t waiting;			/* values waiting, over all boards */
	struct flush_op *op;		/* the flush in flight */
	size_t inflight;		/* its values */
	int64_t evicted_ms;
	/* the scopes of the last rep added (interned) */
	const char **sc;
	size_t nsc, sc_cap;
	/* the stop */
	board_flush_done_cb *stop_cb;
	void *stop_arg;
	bool stopping;
	int stop_failures;
	bool failing;			/* the last flush failed */
	uint64_t failures;		/* flushes failed in a row */
	struct metric *m_pending, *m_ok, *m_failed, *m_written;
	struct metric *m_expired;
};

static void flush_start(struct board_flush *f);
static void op_free(struct flush_op *op);

static const char *
strset_intern(struct strset *s, const char *str)
{
	size_t len = strlen(str), mask, i;

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char **t = xcalloc(cap, sizeof(*t));

		for (size_t k = 0; k < s->cap; k++) {
			if (s->v[k] == NULL)
				continue;
			i = hash_fnv1a(HASH_FNV1A_INIT, s->v[k],
			    strlen(s->v[k])) & (cap - 1);
			while (t[i] != NULL)
				i = (i + 1) & (cap - 1);
			t[i] = s->v[k];
		}
		free(s->v);
		s->v = t;
		s->cap = cap;
	}
	mask = s->cap - 1;
	i = hash_fnv1a(HASH_FNV1A_INIT, str, len) & mask;
	for (; s->v[i] != NULL; i = (i + 1) & mask)
		if (strcmp(s->v[i], str) == 0)
			return s->v[i];
	s->n++;
	return s->v[i] = xstrdup(str);
}

static void
strset_free(struct strset *s)
{
	for (size_t k = 0; k < s->cap; k++)
		free(s->v[k]);
	free(s->v);
}

/* A 64-bit finalizer (murmur3's): table positions from pointers and
 * small integers, cheaper than hashing their bytes. */
static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t
board_hash(const char *scope, size_t kpi, enum period p, int32_t day)
{
	return mix((uint64_t)(uintptr_t)scope ^ mix((uint64_t)kpi << 40 ^
	    (uint64_t)p << 32 ^ (uint32_t)day));
}

static void
board_place(struct fboard **t, size_t cap, struct fboard *b)
{
	size_t i = board_hash(b->scope, b->kpi, b->period, b->start_day) &
	    (cap - 1);

	while (t[i] != NULL)
		i = (i + 1) & (cap - 1);
	t[i] = b;
}

/* Rebuilds the board table at cap (a power of two), leaving out the
 * records evict() cleared. */
static void
boards_rehash(struct board_flush *f, size_t cap)
{
	struct fboard **t = xcalloc(cap, sizeof(*t));

	for (size_t k = 0; k < f->bt_cap; k++)
		if (f->bt[k] != NULL)
			board_place(t, cap, f->bt[k]);
	free(f->bt);
	f->bt = t;
	f->bt_cap = cap;
}

/* The board (scope, kpi, period, day) of write w: found, or made. */
static struct fboard *
board_get(struct board_flush *f, const struct config *cfg, const char *scope,
    const struct board_write *w)
{
	struct fboard *b;
	size_t i;

	if (2 * (f->nb + 1) > f->bt_cap)
		boards_rehash(f, f->bt_cap ? f->bt_cap * 2 : 256);
	i = board_hash(scope, w->kpi, w->period, w->start_day) &
	    (f->bt_cap - 1);
	for (; (b = f->bt[i]) != NULL; i = (i + 1) & (f->bt_cap - 1))
		if (b->scope == scope && b->kpi == w->kpi &&
		    b->period == w->period && b->start_day == w->start_day)
			return b;
	b = xcalloc(1, sizeof(*b));
	b->scope = scope;
	b->kpi = w->kpi;
	b->period = w->period;
	b->start_day = w->start_day;
	b->key = keys_board(cfg, scope, cfg->kpis[w->kpi].name, w->period,
	    w->start_day);
	f->nb++;
	return f->bt[i] = b;
}

/* Drops the records of boards with no value for BOARD_IDLE_MS. */
static void
evict(struct board_flush *f, int64_t now)
{
	size_t dropped = 0;

	for (size_t k = 0; k < f->bt_cap; k++) {
		struct fboard *b = f->bt[k];

		if (b == NULL || b->n > 0 || b->busy || b->queued ||
		    now - b->used_ms < BOARD_IDLE_MS)
			continue;
		free(b->key);
		free(b->v);
		free(b->idx);
		free(b);
		f->bt[k] = NULL;
		dropped++;
	}
	if (dropped > 0) {
		f->nb -= dropped;
		boards_rehash(f, f->bt_cap);
	}
	f->evicted_ms = now;
}

static size_t
rep_hash(const char *rep)
{
	return (size_t)mix((uint64_t)(uintptr_t)rep);
}

static size_t
waiting(const struct board_flush *f)
{
	return f->waiting;
}

/* b's index of its values, built again at cap (a power of two). */
static void
idx_build(struct fboard *b, size_t cap)
{
	if (cap != b->idx_cap) {
		free(b->idx);
		b->idx = xcalloc(cap, sizeof(*b->idx));
		b->idx_cap = cap;
	} else {
		memset(b->idx, 0, cap * sizeof(*b->idx));
	}
	for (size_t k = 0; k < b->n; k++) {
		size_t i = rep_hash(b->v[k].rep) & (cap - 1);

		while (b->idx[i] != 0)
			i = (i + 1) & (cap - 1);
		b->idx[i] = (uint32_t)(k + 1);
	}
}

static void
update_gauge(struct board_flush *f)
{
	metrics_set(f->m_pending, (double)(waiting(f) + f->inflight));
}

static void
queue_push(struct board_flush *f, struct fboard *b)
{
	if (f->qn == f->qcap) {
		size_t cap = f->qcap ? f->qcap * 2 : 64;
		struct fboard **q = xcalloc(cap, sizeof(*q));

		for (size_t k = 0; k < f->qn; k++)
			q[k] = f->q[(f->qhead + k) % f->qcap];
		free(f->q);
		f->q = q;
		f->qcap = cap;
		f->qhead = 0;
	}
	f->q[(f->qhead + f->qn++) % f->qcap] = b;
	b->queued = true;
}

static struct fboard *
queue_pop(struct board_flush *f)
{
	struct fboard *b = f->q[f->qhead];

	f->qhead = (f->qhead + 1) % f->qcap;
	f->qn--;
	b->queued = false;
	return b;
}

/* Empties b's values (taken by a flush, or dropped); a big board's index
 * is not kept (an org board of 100,000 reps: 1 MiB each). */
static void
board_empty(struct fboard *b)
{
	b->n = 0;
	if (b->idx_cap > IDX_KEEP_MAX) {
		free(b->idx);
		b->idx = NULL;
		b->idx_cap = 0;
	} else if (b->idx != NULL) {
		memset(b->idx, 0, b->idx_cap * sizeof(*b->idx));
	}
}

/* Merges (rep, num, text) into b's values waiting. */
static void
merge(struct board_flush *f, struct fboard *b, const char *rep, double num,
    const char *text, size_t len)
{
	size_t i;
	struct fentry *e;

	if (2 * (b->n + 1) > b->idx_cap)
		idx_build(b, b->idx_cap ? b->idx_cap * 2 : 16);
	i = rep_hash(rep) & (b->idx_cap - 1);
	for (; b->idx[i] != 0; i = (i + 1) & (b->idx_cap - 1)) {
		e = &b->v[b->idx[i] - 1];
		if (e->rep != rep)
			continue;
		if (num > e->num) {
			e->num = num;
			memcpy(e->text, text, len);
			e->len = (uint8_t)len;
		}
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	e = &b->v[b->n++];
	e->rep = rep;
	e->num = num;
	memcpy(e->text, text, len);
	e->len = (uint8_t)len;
	b->idx[i] = (uint32_t)b->n;
	f->waiting++;
	if (!b->queued)
		queue_push(f, b);
}

static void
add_scope(const char *scope, void *arg)
{
	struct board_flush *f = arg;

	if (f->nsc == f->sc_cap) {
		f->sc_cap = f->sc_cap ? f->sc_cap * 2 : 16;
		f->sc = xreallocarray(f->sc, f->sc_cap, sizeof(*f->sc));
	}
	f->sc[f->nsc++] = strset_intern(&f->scopes, scope);
}

void
board_flush_add(struct board_flush *f, const struct config *cfg,
    const struct board_write *w, size_t n)
{
	const struct roster_rep *last = NULL;
	const char *rep = NULL;
	int64_t now = caltime_mono_ms();

	for (size_t i = 0; i < n; i++) {
		char text[VALUE_MAX + 1];
		char *end;
		double num;

		/* No value answered (the counter hash unreadable), or none
		 * Redis would write: nothing for the boards. */
		if (w[i].value_len == 0 || w[i].value_len > VALUE_MAX)
			continue;
		memcpy(text, w[i].value, w[i].value_len);
		text[w[i].value_len] = '\0';
		num = strtod(text, &end);
		if (*end != '\0' || num != num)
			continue;
		if (w[i].rep != last) {
			/* A rep's targets come together: its scopes once. */
			last = w[i].rep;
			f->nsc = 0;
			board_rep_scopes(cfg, last, add_scope, f);
			rep = strset_intern(&f->reps, last->rep->id);
		}
		for (size_t s = 0; s < f->nsc; s++) {
			struct fboard *b = board_get(f, cfg, f->sc[s], &w[i]);

			b->expire_at = w[i].expire_at;
			b->used_ms = now;
			merge(f, b, rep, num, text, w[i].value_len);
		}
	}
	update_gauge(f);
}

/* The end of a flush, with f still there. */
static void
flush_done(struct board_flush *f, struct flush_op *op)
{
	bool stop_now = false;
	size_t kept = 0, written = 0;

	f->op = NULL;
	f->inflight = 0;
	for (size_t c = 0; c < op->ncmds; c++) {
		struct board_cmd *cmd = &op->cmds[c];

		cmd->b->busy = false;
		if (!op->sent || cmd->failed) {
			/* Back with the values that came meanwhile. */
			for (size_t k = 0; k < cmd->n; k++)
				merge(f, cmd->b, cmd->v[k].rep, cmd->v[k].num,
				    cmd->v[k].text, cmd->v[k].len);
			kept += cmd->n;
		} else {
			/* ZADD then EXPIREAT, or the script's own check. */
			cmd->b->expiry_set = true;
			written += cmd->n;
		}
	}
	metrics_add(f->m_written, (double)written);
	if (op->failed) {
		metrics_inc(f->m_failed);
		/* Logged once until a flush succeeds (Redis answering
		 * errors every tick must not flood the log). */
		if (!f->failing)
			log_warnx("board_flush_failed", "kept=%zu written=%zu "
			    "waiting=%zu err=%s", kept, written, waiting(f),
			    log_quote(op->err != NULL ? op->err : "unknown"));
		f->failing = true;
		f->failures++;
	} else {
		metrics_inc(f->m_ok);
		if (f->failing)
			log_info("board_flush_recovered", "failed_flushes=%"
			    PRIu64, f->failures);
		f->failing = false;
		f->failures = 0;
	}
	update_gauge(f);
	if (f->stopping) {
		if (op->failed)
			f->stop_failures++;
		if (waiting(f) == 0)
			stop_now = true;
		else if (f->stop_failures >= STOP_FAILURES_MAX ||
		    !redis_conn_up(f->conn)) {
			log_warnx("board_values_dropped", "values=%zu "
			    "reason=%s", waiting(f), op->failed ?
			    "flushes failed" : "redis down");
			stop_now = true;
		} else if (!op->failed) {
			event_active(f->again, EV_TIMEOUT, 0);
		}			/* a failure: again at the next tick */
	} else if (!op->failed && waiting(f) >= f->max) {
		/* A backlog of a whole flush or more: the next one at the
		 * next loop turn, not a tick later, or a stream that brings
		 * more than max values a tick would never catch up. */
		event_active(f->again, EV_TIMEOUT, 0);
	}
	op_free(op);
	if (stop_now && f->stop_cb != NULL) {
		board_flush_done_cb *cb = f->stop_cb;

		f->stop_cb = NULL;
		cb(f->stop_arg);
	}
}

static void
op_free(struct flush_op *op)
{
	for (size_t c = 0; c < op->ncmds; c++)
		free(op->cmds[c].v);
	free(op->cmds);
	free(op);
}

static void
op_reply_done(struct flush_op *op)
{
	if (--op->outstanding > 0)
		return;
	if (op->f == NULL) {
		op_free(op);
		return;
	}
	flush_done(op->f, op);
}

/* Board cmd's commands failed: its values stay for the next flush. */
static void
cmd_failed(struct board_cmd *cmd, const char *why)
{
	cmd->failed = true;
	if (!cmd->op->failed)
		cmd->op->err = why;
	cmd->op->failed = true;
}

static void
write_reply(const redisReply *r, void *arg)
{
	struct board_cmd *cmd = arg;
	struct flush_op *op = cmd->op;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		/* The text of a reply is gone once this returns: the kind
		 * of error only. */
		cmd_failed(cmd, r == NULL ? "no reply (connection lost or "
		    "timed out)" : reply_noscript(r) ? "NOSCRIPT" :
		    strncmp(r->str, "WRONGTYPE", 9) == 0 ? "WRONGTYPE: a board "
		    "key holds another type" : "an error reply");
		if (reply_noscript(r) && op->f != NULL)
			redis_conn_reset(op->f->conn,
			    "script missing (NOSCRIPT)");
	}
	op_reply_done(op);
}

/* One command a board: ZADD GT (and EXPIREAT), or the board script. */
static void
send_writes(struct board_flush *f, struct flush_op *op)
{
	const struct config *cfg = *f->cfg;
	struct redis_argv *args = redis_argv_new();

	op->sent = true;
	for (size_t c = 0; c < op->ncmds; c++) {
		struct board_cmd *cmd = &op->cmds[c];
		struct fboard *b = cmd->b;

		if (op->script) {
			board_redis_call_open(args, f->conn, f->sha, cfg, b->key,
			    b->scope, b->kpi, b->period, b->start_day,
			    b->expire_at, true);
		} else {
			redis_argv_reset(args);
			redis_argv_str(args, "ZADD");
			redis_argv_str(args, b->key);
			redis_argv_str(args, "GT");
		}
		for (size_t k = 0; k < cmd->n; k++) {
			redis_argv_add(args, cmd->v[k].text, cmd->v[k].len);
			redis_argv_str(args, cmd->v[k].rep);
		}
		if (redis_conn_send(f->conn, args, write_reply, cmd) == 0)
			op->outstanding++;
		else
			cmd_failed(cmd, "redis not connected");
		if (!op->script && !b->expiry_set) {
			redis_argv_reset(args);
			redis_argv_str(args, "EXPIREAT");
			redis_argv_str(args, b->key);
			redis_argv_int(args, b->expire_at);
			if (redis_conn_send(f->conn, args, write_reply,
			    cmd) == 0)
				op->outstanding++;
			else
				cmd_failed(cmd, "redis not connected");
		}
	}
	redis_argv_free(args);
}

static void
numsub_reply(const redisReply *r, void *arg)
{
	struct flush_op *op = arg;

	if (op->f == NULL) {
		op_reply_done(op);
		return;
	}
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[1]->type != REDIS_REPLY_INTEGER) {
		/* Nothing sent: every value stays for the next flush. */
		op->err = r == NULL ? "no reply (connection lost or timed "
		    "out)" : "PUBSUB NUMSUB: an error or an unexpected reply";
		op->failed = true;
	} else {
		op->script = r->element[1]->integer > 0;
		send_writes(op->f, op);
	}
	op_reply_done(op);
}

static void
flush_start(struct board_flush *f)
{
	const struct config *cfg = *f->cfg;
	struct flush_op *op;
	size_t n, expired = 0;
	int64_t now_s = caltime_wall_ms() / 1000;

	if (f->op != NULL || waiting(f) == 0 || !redis_conn_up(f->conn))
		return;
	op = xcalloc(1, sizeof(*op));
	op->f = f;
	/* Whole boards from the head of the queue while they fit; the
	 * first one alone may be split. */
	while (f->qn > 0 && op->n < f->max) {
		struct fboard *b = f->q[f->qhead];
		struct board_cmd *cmd;

		if (b->expire_at > 0 && b->expire_at <= now_s) {
			/* Its bucket's keys are gone: nothing to write. */
			(void)queue_pop(f);
			expired += b->n;
			f->waiting -= b->n;
			board_empty(b);
			continue;
		}
		if (op->n > 0 && op->n + b->n > f->max)
			break;
		if (op->ncmds % 64 == 0)
			op->cmds = xreallocarray(op->cmds, op->ncmds + 64,
			    sizeof(*op->cmds));
		cmd = &op->cmds[op->ncmds++];
		memset(cmd, 0, sizeof(*cmd));
		cmd->op = op;
		cmd->b = b;
		b->busy = true;
		(void)queue_pop(f);
		if (b->n <= f->max) {
			cmd->v = b->v;
			cmd->n = b->n;
			b->v = NULL;
			b->cap = 0;
			board_empty(b);
		} else {
			/* Bigger than a flush: its first max values; the
			 * rest queue again, behind the others. */
			cmd->n = f->max;
			cmd->v = xreallocarray(NULL, cmd->n, sizeof(*cmd->v));
			memcpy(cmd->v, b->v, cmd->n * sizeof(*cmd->v));
			b->n -= cmd->n;
			memmove(b->v, b->v + cmd->n, b->n * sizeof(*b->v));
			idx_build(b, b->idx_cap);
			queue_push(f, b);
		}
		op->n += cmd->n;
		f->waiting -= cmd->n;
	}
	if (expired > 0) {
		metrics_add(f->m_expired, (double)expired);
		log_info("board_values_expired", "values=%zu", expired);
		update_gauge(f);
	}
	if (op->n == 0) {
		/* Every value waiting was dropped: a stop has nothing left. */
		op_free(op);
		if (f->stopping && waiting(f) == 0 && f->stop_cb != NULL) {
			board_flush_done_cb *cb = f->stop_cb;

			f->stop_cb = NULL;
			cb(f->stop_arg);
		}
		return;
	}
	n = op->n;
	f->op = op;
	f->inflight = n;
	/* Held until every reply is in: a send below may answer at once. */
	op->outstanding = 1;
	if (cfg->redis.cluster) {
		/* A node counts its own subscribers only: always the script. */
		op->script = true;
		send_writes(f, op);
	} else {
		struct redis_argv *args = redis_argv_new();

		redis_argv_str(args, "PUBSUB");
		redis_argv_str(args, "NUMSUB");
		redis_argv_take(args, keys_changes_channel(cfg));
		if (redis_conn_send(f->conn, args, numsub_reply, op) == 0) {
			op->outstanding++;
		} else {
			op->err = "redis not connected";
			op->failed = true;
		}
		redis_argv_free(args);
	}
	op_reply_done(op);
}

static void
arm(struct board_flush *f)
{
	int64_t ms = (*f->cfg)->boards.flush_every_ms;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000 * 1000) };

	evtimer_add(f->timer, &tv);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct board_flush *f = arg;
	int64_t now = caltime_mono_ms();

	(void)fd;
	(void)what;
	if (now - f->evicted_ms >= EVICT_EVERY_MS)
		evict(f, now);
	if (f->stopping && f->op == NULL && !redis_conn_up(f->conn) &&
	    f->stop_cb != NULL) {
		board_flush_done_cb *cb = f->stop_cb;

		log_warnx("board_values_dropped", "values=%zu reason=%s",
		    waiting(f), "redis down");
		f->stop_cb = NULL;
		cb(f->stop_arg);
	}
	flush_start(f);
	arm(f);
}

static void
again_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_start(arg);
}

struct board_flush *
board_flush_new(struct event_base *base, struct redis_conn *conn,
    const struct config *const *cfg)
{
	struct board_flush *f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->conn = conn;
	f->cfg = cfg;
	f->max = BOARD_FLUSH_MAX;
	f->sha = redis_conn_add_script(conn, board_redis_script());
	f->evicted_ms = caltime_mono_ms();
	f->m_pending = metrics_gauge("paced_board_values_pending", NULL,
	    "leaderboard values waiting for their flush or in flight");
	f->m_ok = metrics_counter("paced_board_flushes_total",
	    "outcome=\"ok\"", "leaderboard flushes, by outcome");
	f->m_failed = metrics_counter("paced_board_flushes_total",
	    "outcome=\"failed\"", "leaderboard flushes, by outcome");
	f->m_written = metrics_counter("paced_board_values_written_total",
	    NULL, "leaderboard values written (acknowledged by Redis)");
	f->m_expired = metrics_counter("paced_board_values_dropped_total",
	    "reason=\"expired\"", "leaderboard values dropped, by reason");
	update_gauge(f);
	f->timer = evtimer_new(base, tick, f);
	f->again = event_new(base, -1, 0, again_cb, f);
	arm(f);
	return f;
}

void
board_flush_free(struct board_flush *f)
{
	if (f == NULL)
		return;
	if (waiting(f) + f->inflight > 0)
		log_warnx("board_values_dropped", "values=%zu reason=%s",
		    waiting(f) + f->inflight, "exit");
	if (f->op != NULL)
		f->op->f = NULL;	/* its replies find f gone */
	event_free(f->timer);
	event_free(f->again);
	for (size_t k = 0; k < f->bt_cap; k++)
		if (f->bt[k] != NULL) {
			free(f->bt[k]->key);
			free(f->bt[k]->v);
			free(f->bt[k]->idx);
			free(f->bt[k]);
		}
	free(f->bt);
	free(f->q);
	free(f->sc);
	strset_free(&f->scopes);
	strset_free(&f->reps);
	free(f);
}

void
board_flush_redis_state(struct board_flush *f, bool up)
{
	if (f == NULL || up)
		return;
	for (size_t k = 0; k < f->bt_cap; k++)
		if (f->bt[k] != NULL)
			f->bt[k]->expiry_set = false;
}

void
board_flush_stop(struct board_flush *f, board_flush_done_cb *cb, void *arg)
{
	f->stopping = true;
	f->stop_cb = cb;
	f->stop_arg = arg;
	if (f->op != NULL)
		return;		/* its end flushes the rest */
	if (waiting(f) == 0 || !redis_conn_up(f->conn)) {
		if (waiting(f) > 0)
			log_warnx("board_values_dropped", "values=%zu "
			    "reason=%s", waiting(f), "redis down");
		f->stop_cb = NULL;
		cb(arg);
		return;
	}
	flush_start(f);
}

size_t
board_flush_pending(const struct board_flush *f)
{
	return waiting(f) + f->inflight;
}

void
board_flush_set_max(struct board_flush *f, size_t max)
{
	f->max = max > 0 ? max : 1;
}

void
board_flush_now(struct board_flush *f)
{
	flush_start(f);
}
