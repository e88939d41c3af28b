/*
 * board_flush.c: the coalesced board writer. redis_apply.c hands it the
 * absolute values each applied batch's shard scripts answered
 * (board_flush_add); its timer writes them every leaderboards.flush_every.
 *
 * Values wait with their rep first: a rep's record holds its values (one
 * per KPI, period and bucket: a newer one replaces it when higher) and
 * the scopes of its boards (org, team, role, managers, groupings),
 * worked out when the rep is first met and again after a reload. Adding
 * a value is one look-up of its rep and a short scan of the rep's few
 * values. (A table per board, looked up once per board and value, cost
 * a cache miss or two each on a big roster: most of the daemon's CPU per
 * event.) Reps with values waiting queue in the order they got their
 * first one.
 *
 * When less than a flush's worth waits on the boards, a flush first
 * spreads the reps' values over their boards (appended to each board's
 * list, whole reps in order, at most SPREAD_MAX board values a turn);
 * then it takes whole boards from the head of the board queue, at most
 * f->max (BOARD_FLUSH_MAX) values (a board bigger than that alone is
 * split), so that each board gets one command with all of its values,
 * and a big roster never holds the loop: the cost of a flush is linear
 * in what it takes. The rest wait for the next tick, or for the next
 * loop turn when a whole flush's worth waits. Only one flush is in
 * flight at a time. A rep's value is on a board's list at most once per
 * spread; the lists hold at most a flush's worth plus one spread, the
 * reps' records merge the rest.
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
 * sent when PUBSUB NUMSUB fails) gets the values it was sent back on its
 * list, for the next flush, with whatever its reps brought meanwhile
 * (ZADD GT makes writing a value twice, or a lower one after a higher,
 * harmless). The other boards of the flush are written.
 * A rep whose scopes change with a reload while it has values waiting
 * has them spread over its old boards first. A failing flush is logged
 * once until one succeeds. Values still here when the process dies are
 * lost from the boards (README, Leaderboards, says what mends them).
 *
 * Memory: a record per rep met and the names of scopes and KPIs met are
 * kept for the process's life, bounded by the rosters; a board's record
 * (its key, whether its expiry is set) is dropped once it has had no
 * value for BOARD_IDLE_MS.
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
#define REP_SCAN_MAX		16	/* a rep's values found by a scan */
#define REP_KEEP_MAX		16	/* a rep's value array kept when empty */
#define SPREAD_MAX		(16 * BOARD_FLUSH_MAX)	/* board values a turn */

/* A set of strings, each kept once (open addressing, at most half full). */
struct strset {
	char **v;
	size_t n, cap;
};

/* A value's text and number. */
struct fnum {
	double num;
	uint8_t len;
	char text[VALUE_MAX];
};

/* One value of a rep waiting: every board of its scopes gets it. */
struct fval {
	const char *kpi;		/* interned */
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	struct fnum x;
};

/* A rep met, with its values waiting. */
struct frep {
	const char *id;			/* interned */
	const char **sc;		/* its boards' scopes (interned); owned */
	size_t nsc;
	const struct config *sc_cfg;	/* what they were worked out from */
	uint64_t sc_gen;
	struct fval *v;			/* owned */
	size_t n, cap;
	uint32_t *idx;			/* v by (kpi, period, day) once n >=
					 * REP_SCAN_MAX: position + 1, a power
					 * of two, at most half full */
	size_t idx_cap;
	bool indexed;			/* idx holds every value */
	bool queued;
};

/* One rep's value on one board: a board's list, a flush's command. */
struct fentry {
	const char *rep;		/* interned */
	struct fnum x;
};

struct fboard {
	const char *scope;		/* interned */
	const char *kpi;		/* interned */
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	char *key;			/* owned */
	bool expiry_set;		/* since the connection came up */
	bool queued;			/* in the queue of boards with values */
	bool busy;			/* in the flush in flight */
	int64_t used_ms;		/* monotonic: the last value taken */
	struct fentry *v;		/* values waiting; owned */
	size_t n, cap;
};

/* A first come, first served queue (a ring). */
struct ring {
	void **v;
	size_t head, n, cap;
};

struct flush_op;

/* One board's commands in a flush, with the values sent to it. */
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
	size_t ncmds, cmds_cap;
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
	struct strset names;		/* scopes and KPIs */
	/* reps by id: open addressing */
	struct frep **rt;
	size_t nr, rt_cap;
	/* boards by (scope, kpi, period, day): open addressing */
	struct fboard **bt;
	size_t nb, bt_cap;
	struct ring reps;		/* reps with values waiting */
	struct ring boards;		/* boards with values waiting */
	size_t waiting;			/* board values waiting, all told */
	size_t on_boards;		/* of which on the boards' lists */
	size_t gone;			/* dropped for expiry, not yet counted */
	struct flush_op *op;		/* the flush in flight */
	size_t inflight;		/* its values */
	int64_t evicted_ms;
	uint64_t gen;			/* reloads: the reps' scopes stale */
	/* KPI names of the last config added under (interned) */
	const struct config *kpi_cfg;
	uint64_t kpi_gen;
	const char **kpis;
	size_t nkpis;
	/* a rep's scopes while they are worked out */
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

static void
ring_push(struct ring *q, void *p)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		void **v = xcalloc(cap, sizeof(*v));

		for (size_t k = 0; k < q->n; k++)
			v[k] = q->v[(q->head + k) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	q->v[(q->head + q->n++) % q->cap] = p;
}

static void *
ring_pop(struct ring *q)
{
	void *p = q->v[q->head];

	q->head = (q->head + 1) % q->cap;
	q->n--;
	return p;
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
bucket_hash(const char *kpi, enum period p, int32_t day)
{
	return mix((uint64_t)(uintptr_t)kpi ^ mix((uint64_t)p << 32 ^
	    (uint32_t)day));
}

static uint64_t
board_hash(const char *scope, const char *kpi, enum period p, int32_t day)
{
	return mix((uint64_t)(uintptr_t)scope ^ bucket_hash(kpi, p, day));
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

/* The board (scope, kpi, period, day) of value v: found, or made (its key
 * from cfg, the config in force: the key's prefix and layout do not
 * change with a reload). */
static struct fboard *
board_get(struct board_flush *f, const struct config *cfg, const char *scope,
    const struct fval *v)
{
	struct fboard *b;
	size_t i;

	if (2 * (f->nb + 1) > f->bt_cap)
		boards_rehash(f, f->bt_cap ? f->bt_cap * 2 : 256);
	i = board_hash(scope, v->kpi, v->period, v->start_day) &
	    (f->bt_cap - 1);
	for (; (b = f->bt[i]) != NULL; i = (i + 1) & (f->bt_cap - 1))
		if (b->scope == scope && b->kpi == v->kpi &&
		    b->period == v->period && b->start_day == v->start_day)
			return b;
	b = xcalloc(1, sizeof(*b));
	b->scope = scope;
	b->kpi = v->kpi;
	b->period = v->period;
	b->start_day = v->start_day;
	b->key = keys_board(cfg, scope, v->kpi, v->period, v->start_day);
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

		if (b == NULL || b->n > 0 || b->queued ||
		    b->busy ||
		    now - b->used_ms < BOARD_IDLE_MS)
			continue;
		free(b->key);
		free(b->v);
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
waiting(const struct board_flush *f)
{
	return f->waiting;
}

static void
update_gauge(struct board_flush *f)
{
	metrics_set(f->m_pending, (double)(waiting(f) + f->inflight));
}

/* Appends (rep, x) to board b's list: spread (a value already counted
 * in f->waiting) or, when back from a failed write, counted again. */
static void
board_push(struct board_flush *f, struct fboard *b, const char *rep,
    const struct fnum *x, bool back)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	b->v[b->n].rep = rep;
	b->v[b->n++].x = *x;
	f->on_boards++;
	if (back)
		f->waiting++;
	if (!b->queued) {
		b->queued = true;
		ring_push(&f->boards, b);
	}
}

static void
rep_place(struct frep **t, size_t cap, struct frep *r)
{
	size_t i = hash_fnv1a(HASH_FNV1A_INIT, r->id, strlen(r->id)) &
	    (cap - 1);

	while (t[i] != NULL)
		i = (i + 1) & (cap - 1);
	t[i] = r;
}

/* The record of rep id: found, or made. */
static struct frep *
rep_get(struct board_flush *f, const char *id)
{
	struct frep *r;
	size_t i;

	if (2 * (f->nr + 1) > f->rt_cap) {
		size_t cap = f->rt_cap ? f->rt_cap * 2 : 1024;
		struct frep **t = xcalloc(cap, sizeof(*t));

		for (size_t k = 0; k < f->rt_cap; k++)
			if (f->rt[k] != NULL)
				rep_place(t, cap, f->rt[k]);
		free(f->rt);
		f->rt = t;
		f->rt_cap = cap;
	}
	i = hash_fnv1a(HASH_FNV1A_INIT, id, strlen(id)) & (f->rt_cap - 1);
	for (; (r = f->rt[i]) != NULL; i = (i + 1) & (f->rt_cap - 1))
		if (strcmp(r->id, id) == 0)
			return r;
	r = xcalloc(1, sizeof(*r));
	r->id = xstrdup(id);
	f->nr++;
	return f->rt[i] = r;
}

static void
rep_free(struct frep *r)
{
	free((char *)r->id);
	free(r->sc);
	free(r->v);
	free(r->idx);
	free(r);
}

static void
add_scope(const char *scope, void *arg)
{
	struct board_flush *f = arg;

	if (f->nsc == f->sc_cap) {
		f->sc_cap = f->sc_cap ? f->sc_cap * 2 : 16;
		f->sc = xreallocarray(f->sc, f->sc_cap, sizeof(*f->sc));
	}
	f->sc[f->nsc++] = strset_intern(&f->names, scope);
}

static void rep_spread(struct board_flush *f, const struct config *cfg,
    struct frep *r, int64_t now, int64_t now_s);

/* r's scopes under cfg. Values it has waiting under other scopes are
 * spread over those boards first. */
static void
rep_scopes(struct board_flush *f, const struct config *cfg, struct frep *r,
    const struct roster_rep *rr)
{
	f->nsc = 0;
	board_rep_scopes(cfg, rr, add_scope, f);
	/* Still queued afterwards, with nothing: spread() skips it. */
	if (r->n > 0 && (r->nsc != f->nsc ||
	    memcmp(r->sc, f->sc, f->nsc * sizeof(*f->sc)) != 0))
		rep_spread(f, cfg, r, caltime_mono_ms(),
		    caltime_wall_ms() / 1000);
	if (r->nsc != f->nsc) {
		r->sc = xreallocarray(r->sc, f->nsc, sizeof(*r->sc));
		r->nsc = f->nsc;
	}
	memcpy(r->sc, f->sc, f->nsc * sizeof(*f->sc));
	r->sc_cfg = cfg;
	r->sc_gen = f->gen;
}

/* r's index of its values, built again for n + 1 of them. */
static void
rep_index(struct frep *r)
{
	size_t cap = 64;

	while (cap < 2 * (r->n + 1))
		cap *= 2;
	if (cap != r->idx_cap) {
		free(r->idx);
		r->idx = xcalloc(cap, sizeof(*r->idx));
		r->idx_cap = cap;
	} else {
		memset(r->idx, 0, cap * sizeof(*r->idx));
	}
	for (size_t k = 0; k < r->n; k++) {
		size_t i = bucket_hash(r->v[k].kpi, r->v[k].period,
		    r->v[k].start_day) & (cap - 1);

		while (r->idx[i] != 0)
			i = (i + 1) & (cap - 1);
		r->idx[i] = (uint32_t)(k + 1);
	}
	r->indexed = true;
}

static bool
same_bucket(const struct fval *v, const char *kpi, enum period p,
    int32_t day)
{
	return v->kpi == kpi && v->period == p && v->start_day == day;
}

/* Merges value x of (kpi, p, day, expire_at) into r's values waiting. */
static void
rep_merge(struct board_flush *f, struct frep *r, const char *kpi,
    enum period p, int32_t day, int64_t expire_at, const struct fnum *x)
{
	struct fval *v = NULL;
	size_t i = 0;

	bool indexed = r->n >= REP_SCAN_MAX;

	if (!indexed) {
		for (size_t k = 0; k < r->n; k++)
			if (same_bucket(&r->v[k], kpi, p, day)) {
				v = &r->v[k];
				break;
			}
	} else {
		if (!r->indexed || 2 * (r->n + 1) > r->idx_cap)
			rep_index(r);
		i = bucket_hash(kpi, p, day) & (r->idx_cap - 1);
		for (; r->idx[i] != 0; i = (i + 1) & (r->idx_cap - 1))
			if (same_bucket(&r->v[r->idx[i] - 1], kpi, p, day)) {
				v = &r->v[r->idx[i] - 1];
				break;
			}
	}
	if (v != NULL) {
		if (x->num > v->x.num)
			v->x = *x;
		v->expire_at = expire_at;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	v = &r->v[r->n++];
	v->kpi = kpi;
	v->period = p;
	v->start_day = day;
	v->expire_at = expire_at;
	v->x = *x;
	if (indexed)
		r->idx[i] = (uint32_t)r->n;	/* the empty slot found */
	f->waiting += r->nsc;
	if (!r->queued) {
		r->queued = true;
		ring_push(&f->reps, r);
	}
}

/* The interned names of cfg's KPIs. */
static void
kpi_names(struct board_flush *f, const struct config *cfg)
{
	if (f->kpi_cfg == cfg && f->kpi_gen == f->gen)
		return;
	free(f->kpis);
	f->kpis = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*f->kpis));
	for (size_t k = 0; k < cfg->nkpis; k++)
		f->kpis[k] = strset_intern(&f->names, cfg->kpis[k].name);
	f->nkpis = cfg->nkpis;
	f->kpi_cfg = cfg;
	f->kpi_gen = f->gen;
}

void
board_flush_add(struct board_flush *f, const struct config *cfg,
    const struct board_write *w, size_t n)
{
	const struct roster_rep *last = NULL;
	struct frep *r = NULL;

	kpi_names(f, cfg);
	for (size_t i = 0; i < n; i++) {
		char text[VALUE_MAX + 1];
		struct fnum x;
		char *end;

		/* No value answered (the counter hash unreadable), or none
		 * Redis would write: nothing for the boards. */
		if (w[i].value_len == 0 || w[i].value_len > VALUE_MAX ||
		    w[i].kpi >= f->nkpis)
			continue;
		memcpy(text, w[i].value, w[i].value_len);
		text[w[i].value_len] = '\0';
		x.num = strtod(text, &end);
		if (*end != '\0' || x.num != x.num)
			continue;
		memcpy(x.text, text, w[i].value_len);
		x.len = (uint8_t)w[i].value_len;
		if (w[i].rep != last) {
			/* A rep's targets come together: its record once. */
			last = w[i].rep;
			r = rep_get(f, last->rep->id);
			if (r->sc_cfg != cfg || r->sc_gen != f->gen)
				rep_scopes(f, cfg, r, last);
		}
		rep_merge(f, r, f->kpis[w[i].kpi], w[i].period,
		    w[i].start_day, w[i].expire_at, &x);
	}
	update_gauge(f);
}

void
board_flush_reloaded(struct board_flush *f)
{
	if (f != NULL)
		f->gen++;
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
			/* Kept on the board, for the next flush. */
			for (size_t k = 0; k < cmd->n; k++)
				board_push(f, cmd->b, cmd->v[k].rep,
				    &cmd->v[k].x, true);
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

/* The index of KPI name in cfg, or cfg->nkpis when a reload took it. */
static size_t
kpi_index(const struct config *cfg, const char *name)
{
	size_t k;

	for (k = 0; k < cfg->nkpis; k++)
		if (strcmp(cfg->kpis[k].name, name) == 0)
			break;
	return k;
}

/* One command a board: ZADD GT (and EXPIREAT), or the board script (a
 * ZADD GT for a KPI a reload took: no ranks to publish for it). */
static void
send_writes(struct board_flush *f, struct flush_op *op)
{
	const struct config *cfg = *f->cfg;
	struct redis_argv *args = redis_argv_new();

	op->sent = true;
	for (size_t c = 0; c < op->ncmds; c++) {
		struct board_cmd *cmd = &op->cmds[c];
		struct fboard *b = cmd->b;
		size_t kpi = op->script ? kpi_index(cfg, b->kpi) : cfg->nkpis;
		bool script = kpi < cfg->nkpis;

		if (script) {
			board_redis_call_open(args, f->conn, f->sha, cfg, b->key,
			    b->scope, kpi, b->period, b->start_day,
			    b->expire_at, true);
		} else {
			redis_argv_reset(args);
			redis_argv_str(args, "ZADD");
			redis_argv_str(args, b->key);
			redis_argv_str(args, "GT");
		}
		for (size_t k = 0; k < cmd->n; k++) {
			redis_argv_add(args, cmd->v[k].x.text, cmd->v[k].x.len);
			redis_argv_str(args, cmd->v[k].rep);
		}
		if (redis_conn_send(f->conn, args, write_reply, cmd) == 0)
			op->outstanding++;
		else
			cmd_failed(cmd, "redis not connected");
		if (!script && !b->expiry_set) {
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

/* A new command of op, for board b. */
static struct board_cmd *
op_cmd(struct flush_op *op, struct fboard *b)
{
	struct board_cmd *cmd;

	if (op->ncmds == op->cmds_cap) {
		op->cmds_cap = op->cmds_cap ? op->cmds_cap * 2 : 64;
		op->cmds = xreallocarray(op->cmds, op->cmds_cap,
		    sizeof(*op->cmds));
	}
	b->busy = true;
	cmd = &op->cmds[op->ncmds++];
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = op;
	cmd->b = b;
	return cmd;
}

static bool
expired(int64_t expire_at, int64_t now_s)
{
	return expire_at > 0 && expire_at <= now_s;
}

/* Moves r's values to its boards' lists (the ones expired by now_s, wall
 * clock seconds, dropped and counted in f->gone) and empties it. */
static void
rep_spread(struct board_flush *f, const struct config *cfg, struct frep *r,
    int64_t now, int64_t now_s)
{
	for (size_t k = 0; k < r->n; k++) {
		if (expired(r->v[k].expire_at, now_s)) {
			f->gone += r->nsc;
			f->waiting -= r->nsc;
			continue;
		}
		for (size_t s = 0; s < r->nsc; s++) {
			struct fboard *b = board_get(f, cfg, r->sc[s], &r->v[k]);

			b->expire_at = r->v[k].expire_at;
			b->used_ms = now;
			board_push(f, b, r->id, &r->v[k].x, false);
		}
	}
	r->n = 0;
	r->indexed = false;
	if (r->cap > REP_KEEP_MAX) {
		free(r->v);
		r->v = NULL;
		r->cap = 0;
		free(r->idx);
		r->idx = NULL;
		r->idx_cap = 0;
	}
}

/* Spreads whole reps, in order, while less than a flush's worth waits on
 * the boards, at most SPREAD_MAX board values. */
static void
spread(struct board_flush *f, const struct config *cfg, int64_t now)
{
	int64_t now_s = caltime_wall_ms() / 1000;
	size_t moved = 0;

	if (f->on_boards >= f->max)
		return;
	while (f->reps.n > 0 && moved < SPREAD_MAX) {
		struct frep *r = ring_pop(&f->reps);

		r->queued = false;
		moved += r->n * r->nsc;
		rep_spread(f, cfg, r, now, now_s);
	}
}

/* Takes whole boards from the head of the queue into op while they fit in
 * f->max (the first alone may be split); the values of a board past its
 * expiry are dropped and counted in f->gone. */
static void
take(struct board_flush *f, struct flush_op *op)
{
	int64_t now_s = caltime_wall_ms() / 1000;

	while (f->boards.n > 0 && op->n < f->max) {
		struct fboard *b = f->boards.v[f->boards.head];
		struct board_cmd *cmd;

		if (expired(b->expire_at, now_s)) {
			/* Its bucket's keys are gone: nothing to write. */
			f->gone += b->n;
			f->waiting -= b->n;
			f->on_boards -= b->n;
			(void)ring_pop(&f->boards);
			b->queued = false;
			b->n = b->cap = 0;
			free(b->v);
			b->v = NULL;
			continue;
		}
		if (op->n > 0 && op->n + b->n > f->max)
			break;
		cmd = op_cmd(op, b);
		(void)ring_pop(&f->boards);
		if (b->n <= f->max) {
			cmd->v = b->v;
			cmd->n = b->n;
			b->v = NULL;
			b->n = b->cap = 0;
			b->queued = false;
		} else {
			/* Bigger than a flush: its first max values; the
			 * rest queue again, behind the others. */
			cmd->n = f->max;
			cmd->v = xreallocarray(NULL, cmd->n, sizeof(*cmd->v));
			memcpy(cmd->v, b->v, cmd->n * sizeof(*cmd->v));
			b->n -= cmd->n;
			memmove(b->v, b->v + cmd->n, b->n * sizeof(*b->v));
			ring_push(&f->boards, b);
		}
		op->n += cmd->n;
		f->waiting -= cmd->n;
		f->on_boards -= cmd->n;
	}
}

static void
flush_start(struct board_flush *f)
{
	const struct config *cfg = *f->cfg;
	struct flush_op *op;

	if (f->op != NULL || waiting(f) == 0 || !redis_conn_up(f->conn))
		return;
	op = xcalloc(1, sizeof(*op));
	op->f = f;
	spread(f, cfg, caltime_mono_ms());
	take(f, op);
	if (f->gone > 0) {
		metrics_add(f->m_expired, (double)f->gone);
		log_info("board_values_expired", "values=%zu", f->gone);
		f->gone = 0;
		update_gauge(f);
	}
	if (op->n == 0) {
		/* Every value taken was dropped: a stop may have nothing
		 * left. */
		op_free(op);
		if (f->stopping && waiting(f) == 0 && f->stop_cb != NULL) {
			board_flush_done_cb *cb = f->stop_cb;

			f->stop_cb = NULL;
			cb(f->stop_arg);
		}
		return;
	}
	f->op = op;
	f->inflight = op->n;
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
			free(f->bt[k]);
		}
	free(f->bt);
	for (size_t k = 0; k < f->rt_cap; k++)
		if (f->rt[k] != NULL)
			rep_free(f->rt[k]);
	free(f->rt);
	free(f->reps.v);
	free(f->boards.v);
	free(f->sc);
	free(f->kpis);
	strset_free(&f->names);
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
