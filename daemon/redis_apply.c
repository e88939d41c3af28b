/*
 * redis_apply.c: turns a pre-aggregated batch into Redis script calls.
 *
 * Counters are sharded (keys.h, keys_shard_of): a rep's counters, the ids
 * counted for it and its team's share live in its shard's keys, all under
 * the hash tag {s:N}. One script call per shard the batch touches writes
 * them all, so the cost is per shard and batch, not per rep or event.
 *
 * Shard script (KEYS: the shard's dedupe sets, then its counter hashes,
 * then its team hashes, one per counter hash and in the same order): only
 * events whose "rep|id" is new to the set of its UTC day add their
 * count/amount to the group's totals, which are then added once per KPI
 * field, to the rep's field and to its team's; the ids join the sets.
 * Every value is checked before the first write (see count_script.c). It
 * answers [counted, duplicates, refused, left_out, value...]: refused
 * lists the events it could not count (and then nothing was written, nor
 * any value follows); left_out counts team fields that hold no number
 * (those team totals are not written; the reps' counts are); the values
 * are the reps' absolute field values after the call, in the order of the
 * targets sent. Replaying the same call changes nothing: a team share
 * grows only by events new to the dedupe set, in the same atomic step.
 *
 * Expiry is set when a key first appears, so a busy key does not add an
 * EXPIREAT to the append-only file with every batch; a dedupe set's is
 * also pushed back when it falls over a day short (see
 * keys_seen_expire_at).
 *
 * Leaderboards: after the shard calls, the absolute values the shard
 * calls answered go to the coalesced board writer (board_flush.c), which
 * writes them on its timer; without one, one call per board the batch
 * touches (board_redis.c). And one call per contest the batch feeds
 * (contest_redis.c).
 */
#include "redis_apply.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_flush.h"
#include "board_redis.h"
#include "contest_redis.h"
#include "count_script.h"
#include "keys.h"
#include "log.h"
#include "reply.h"
#include "xmalloc.h"


/* Every shard's watermark is written at least this often, events or not:
 * a batch calls only the shards that hold its reps. */
#define WM_REFRESH_MS	1000

struct redis_apply {
	struct redis_conn *conn;
	int shard_sha, board_sha, contest_sha;
	struct board_flush *boards;	/* NULL: a call per board and batch */
	struct apply_values values;
	int64_t wm_all_at;		/* monotonic ms of the last call to all */
	int64_t wm_refresh_ms;		/* WM_REFRESH_MS */
};

/* A rep's absolute value of one field after the shard script. */
struct contrib {
	const struct roster_rep *rr;
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	size_t kpi;
	size_t val_off, val_len;	/* its text in apply_op.vals */
};

struct apply_op {
	struct redis_apply *a;
	const struct config *cfg;
	apply_done_cb *cb;
	void *arg;
	int outstanding;
	int failed;
	bool board_phase;
	struct apply_stats stats;
	const struct batch *b;
	/* events a shard script refused (their fields hold no number) */
	struct apply_refused *refused;
	size_t nrefused, refused_cap;
	/* the values' text, exactly as Redis answered it */
	char *vals;
	size_t vals_len, vals_cap;
	struct contrib *targets;
	size_t ntargets, targets_cap;
	/* batch rep indices, grouped by shard: call c holds
	 * order[call_reps[c]] .. order[call_reps[c + 1] - 1] */
	uint32_t *order;
	size_t *call_reps;
	size_t *call_first, *call_count;	/* its targets */
	size_t ncalls;
	/* every call carries every partition of the batch (the watermark
	 * refresh), or only those of its own events: per b->parts index,
	 * the last call (+ 1) with an event from it; NULL at the refresh */
	uint32_t *part_mark;
	size_t *kpi_len;	/* strlen of each KPI's name */
};

static void op_finish(struct apply_op *op);

/* Sets the text of target c to s (len bytes). */
static void
contrib_set(struct apply_op *op, struct contrib *c, const char *s, size_t len)
{
	if (op->vals_len + len > op->vals_cap) {
		size_t cap = op->vals_cap ? op->vals_cap : 4096;

		while (cap < op->vals_len + len)
			cap *= 2;
		op->vals = xrealloc(op->vals, cap);
		op->vals_cap = cap;
	}
	memcpy(op->vals + op->vals_len, s, len);
	c->val_off = op->vals_len;
	c->val_len = len;
	op->vals_len += len;
}

struct shard_call {
	struct apply_op *op;
	size_t index;
};

/* Records the refused event at position pos (1-based, in the order shard
 * call `call` sent its events). */
static void
note_refused(struct apply_op *op, size_t call, long long pos)
{
	const struct batch *b = op->b;
	long long k = 0;

	for (size_t i = op->call_reps[call]; i < op->call_reps[call + 1]; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];

		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next)
			for (uint32_t e = b->groups[g].first; e != UINT32_MAX;
			    e = b->events[e].next) {
				if (++k != pos)
					continue;
				if (op->nrefused == op->refused_cap) {
					op->refused_cap = op->refused_cap ?
					    op->refused_cap * 2 : 16;
					op->refused = xreallocarray(op->refused,
					    op->refused_cap,
					    sizeof(*op->refused));
				}
				op->refused[op->nrefused].partition =
				    b->events[e].part < b->nparts ?
				    b->parts[b->events[e].part].partition : -1;
				op->refused[op->nrefused].offset =
				    b->events[e].offset;
				op->nrefused++;
				return;
			}
	}
}

static void
board_reply(const redisReply *r, void *arg)
{
	struct apply_op *op = arg;
	const char *err = reply_error_text(r);

	if (err != NULL) {
		log_warnx("redis_apply_failed", "step=board err=%s",
		    log_quote(err));
		if (reply_noscript(r))
			redis_conn_reset(op->a->conn, "script missing (NOSCRIPT)");
		op->failed = 1;
	}
	if (--op->outstanding == 0)
		op_finish(op);
}

/* The leaderboards, from the absolute values the shard scripts answered. */
static void
send_board_calls(struct apply_op *op)
{
	struct board_write *w;

	if (op->ntargets == 0)
		return;
	w = xcalloc(op->ntargets, sizeof(*w));
	for (size_t i = 0; i < op->ntargets; i++) {
		const struct contrib *c = &op->targets[i];

		w[i].rep = c->rr;
		w[i].kpi = c->kpi;
		w[i].period = c->period;
		w[i].start_day = c->start_day;
		w[i].expire_at = c->expire_at;
		w[i].value = op->vals + c->val_off;
		w[i].value_len = c->val_len;
	}
	if (op->a->boards != NULL)
		board_flush_add(op->a->boards, op->cfg, w, op->ntargets);
	else
		op->outstanding += (int)board_redis_write(op->a->conn,
		    op->a->board_sha, op->cfg, w, op->ntargets, board_reply,
		    op, &op->failed);
	/* Contests, from the same absolute day values. */
	op->outstanding += (int)contest_redis_write(op->a->conn,
	    op->a->contest_sha, op->cfg, w, op->ntargets, caltime_wall_ms(),
	    board_reply, op, &op->failed);
	free(w);
}

static void
shard_reply(const redisReply *r, void *arg)
{
	struct shard_call *sc = arg;
	struct apply_op *op = sc->op;
	const char *err = reply_error_text(r);
	const redisReply *bad = NULL;

	if (err == NULL && reply_shard_script(r, op->call_count[sc->index]) != 0)
		err = "unexpected reply shape from the shard script";
	if (err == NULL)
		bad = r->element[2];
	if (err != NULL) {
		log_warnx("redis_apply_failed", "step=shard err=%s",
		    log_quote(err));
		if (reply_noscript(r))
			redis_conn_reset(op->a->conn, "script missing (NOSCRIPT)");
		op->failed = 1;
	} else if (bad->elements > 0) {
		/* Nothing of this call was written. */
		log_warnx("redis_counts_refused", "events=%zu err=%s",
		    bad->elements, log_quote("a counter or dedupe key holds "
		    "a value no count can be added to"));
		for (size_t i = 0; i < bad->elements; i++)
			if (bad->element[i]->type == REDIS_REPLY_INTEGER)
				note_refused(op, sc->index,
				    bad->element[i]->integer);
		op->failed = 1;
	} else {
		size_t first = op->call_first[sc->index];

		op->stats.counted += (uint64_t)r->element[0]->integer;
		op->stats.duplicates += (uint64_t)r->element[1]->integer;
		if (r->element[3]->integer > 0)
			log_warnx("redis_team_totals_left_out", "fields=%lld "
			    "err=%s", (long long)r->element[3]->integer,
			    log_quote("a team total field holds no number; "
			    "fix or delete it"));
		for (size_t i = 4; i < r->elements; i++) {
			const redisReply *v = r->element[i];
			struct contrib *c = &op->targets[first + i - 4];
			char num[32];
			int n;

			if (v->type == REDIS_REPLY_STRING) {
				contrib_set(op, c, v->str, v->len);
			} else if (v->type == REDIS_REPLY_INTEGER) {
				n = snprintf(num, sizeof(num), "%lld",
				    (long long)v->integer);
				contrib_set(op, c, num, (size_t)n);
			}
		}
	}
	free(sc);
	if (--op->outstanding == 0)
		op_finish(op);
}

/* The shard calls are over: their values, or that they are unknown. */
static void
hand_values(struct apply_op *op)
{
	const struct apply_values *av = &op->a->values;

	if (op->failed) {
		if (av->unknown != NULL)
			av->unknown(av->arg);
		return;
	}
	if (av->counted == NULL)
		return;
	for (size_t i = 0; i < op->ntargets; i++) {
		const struct contrib *c = &op->targets[i];

		av->counted(op->cfg, c->rr, c->kpi, c->period, c->start_day,
		    op->vals + c->val_off, c->val_len, av->arg);
	}
}

static void
op_finish(struct apply_op *op)
{
	if (!op->board_phase)
		hand_values(op);
	if (!op->failed && !op->board_phase) {
		op->board_phase = true;
		send_board_calls(op);
		if (op->outstanding > 0)
			return;
	}
	op->stats.refused = op->refused;
	op->stats.nrefused = op->nrefused;
	op->cb(op->failed ? -1 : 0, &op->stats, op->arg);
	free(op->refused);
	free(op->vals);
	free(op->targets);
	free(op->order);
	free(op->call_reps);
	free(op->call_first);
	free(op->call_count);
	free(op->part_mark);
	free(op->kpi_len);
	free(op);
}

/* The index of v in list (n entries, room for one more), added if new. */
static size_t
index_of(int32_t *list, size_t *n, int32_t v)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == v)
			return i;
	list[*n] = v;
	return (*n)++;
}

/* A counter bucket of a shard call. */
struct bucket_ref {
	enum period p;
	int32_t start, end;
};

static size_t
bucket_index(struct bucket_ref *l, size_t *n, enum period p,
    const struct bucket *bk)
{
	for (size_t k = 0; k < *n; k++)
		if (l[k].p == p && l[k].start == bk->start_day)
			return k;
	l[*n].p = p;
	l[*n].start = bk->start_day;
	l[*n].end = bk->end_day;
	return (*n)++;
}

static struct contrib *
target_new(struct apply_op *op)
{
	if (op->ntargets == op->targets_cap) {
		op->targets_cap = op->targets_cap ? op->targets_cap * 2 : 256;
		op->targets = xreallocarray(op->targets, op->targets_cap,
		    sizeof(*op->targets));
	}
	return &op->targets[op->ntargets++];
}

/* A target of the call: rep rr's field of kpi in bucket bk of period p,
 * "0" until the script answers. */
static void
target_add(struct apply_op *op, const struct roster_rep *rr, size_t kpi,
    enum period p, const struct bucket *bk)
{
	struct contrib *c = target_new(op);

	c->rr = rr;
	c->period = p;
	c->start_day = bk->start_day;
	c->expire_at = keys_bucket_expire_at(op->cfg, p, bk->end_day);
	c->kpi = kpi;
	contrib_set(op, c, "0", 1);
}

/* A name a shard call sends once (a dedupe member, a rep field, a team
 * field), sorted to find its repeats: a, b, c, then the bytes s order it;
 * the index it gets goes to ref. */
struct name_ref {
	uint32_t a, b, c, ref;
	const char *s;
	size_t len;
	const struct roster_rep *rr;
};

static int
name_ref_cmp(const void *x, const void *y)
{
	const struct name_ref *p = x, *q = y;

	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	if (p->c != q->c)
		return p->c < q->c ? -1 : 1;
	if (p->len != q->len)
		return p->len < q->len ? -1 : 1;
	return p->len > 0 ? memcmp(p->s, q->s, p->len) : 0;
}

/* Sorts the n names of l, gives each distinct one its index (from 1, in
 * that order) in idx[ref], counts them per value of a in per_a, and keeps
 * the first of each at the front of l. Returns how many are distinct. */
static size_t
name_refs_index(struct name_ref *l, size_t n, uint32_t *idx, uint32_t *per_a)
{
	size_t u = 0;

	qsort(l, n, sizeof(*l), name_ref_cmp);
	for (size_t i = 0; i < n; i++) {
		if (u == 0 || name_ref_cmp(&l[u - 1], &l[i]) != 0) {
			per_a[l[i].a]++;
			l[u++] = l[i];
		}
		idx[l[i].ref] = (uint32_t)u;
	}
	return u;
}

/* Writes the watermark's arguments of call `call`: W, then W x
 * (partition, next offset). A call carries the partitions its own events
 * came from (marked in part_mark as send_shard_call walks them): every event of the batch that belongs to this shard and
 * came from one of them is in this call, so the shard has counted every
 * event of theirs before the batch's end. The others move at the
 * refresh, when every call carries every partition of the batch (a shard
 * without events then gets a call of its own). Fewer fields per call: at
 * a live rate a batch of a few dozen events spread over most partitions
 * sends one or two events per call, and the whole list of partitions
 * was most of its arguments and of what Redis's append-only file got. */
static void
put_watermark(struct apply_op *op, struct redis_argv *args, size_t call)
{
	const struct batch *b = op->b;
	const uint32_t *mark = op->part_mark;
	size_t w = 0;

	for (size_t k = 0; k < b->nparts; k++)
		w += mark == NULL || mark[k] == call + 1;
	redis_argv_int(args, (int64_t)w);
	for (size_t k = 0; k < b->nparts; k++)
		if (mark == NULL || mark[k] == call + 1) {
			redis_argv_int(args, b->parts[k].partition);
			redis_argv_int(args, b->parts[k].last_offset + 1);
		}
}

/* Builds and sends shard call `call`: the reps order[from..to). The
 * arguments are written in place (numbers packed, names from the lengths
 * the roster keeps, each name once): this runs for every event of every
 * batch. */
static int
send_shard_call(struct apply_op *op, struct redis_argv *args, int shard,
    size_t call)
{
	const struct config *cfg = op->cfg;
	const struct batch *b = op->b;
	size_t from = op->call_reps[call], to = op->call_reps[call + 1];
	size_t nevents = 0, ngroups = 0, nseen = 0, ncnt = 0, gi;
	size_t nfields = 0, nm = 0, nf = 0, nt = 0, nnums, ei, fi;
	int64_t now = caltime_wall_ms() / 1000;
	int32_t *seen;
	struct bucket_ref *cnt;
	/* per group of the call, in order, per period: its bucket and the
	 * bucket's index in cnt */
	struct bucket *gbk;
	size_t *gidx;
	/* the names, and per event its member's index, per group x KPI x
	 * period its rep field's and team field's */
	struct name_ref *mem, *rf, *tf;
	uint32_t *midx, *ridx, *tidx, *per_set, *per_cnt, *per_team;
	char *w, *w0;
	struct shard_call *sc;

	for (size_t i = from; i < to; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];

		nevents += br->nevents;
		ngroups += br->ngroups;
		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next)
			nfields += b->groups[g].nkpis * PERIOD_COUNT;
	}
	seen = xcalloc(nevents + 1, sizeof(*seen));
	cnt = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*cnt));
	gbk = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*gbk));
	gidx = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*gidx));
	mem = xcalloc(nevents + 1, sizeof(*mem));
	rf = xcalloc(nfields + 1, sizeof(*rf));
	tf = xcalloc(nfields + 1, sizeof(*tf));
	midx = xcalloc(nevents + 1, sizeof(*midx));
	ridx = xcalloc(nfields + 1, sizeof(*ridx));
	tidx = xcalloc(nfields + 1, sizeof(*tidx));
	/* distinct dedupe days and counter buckets, every name */
	gi = ei = fi = 0;
	for (size_t i = from; i < to; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];
		const struct roster_rep *rr = br->rep;
		const struct period_rules *rules = &rr->calendar->rules;

		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next, gi += PERIOD_COUNT) {
			const struct batch_group *gr = &b->groups[g];

			for (uint32_t e = gr->first; e != UINT32_MAX;
			    e = b->events[e].next, ei++) {
				const struct batch_event *ev = &b->events[e];

				mem[ei].a = (uint32_t)index_of(seen, &nseen,
				    ev->utc_day);
				mem[ei].b = (uint32_t)(i - from);
				mem[ei].s = b->ids + ev->id_off;
				mem[ei].len = ev->id_len;
				mem[ei].rr = rr;
				mem[ei].ref = (uint32_t)ei;
				if (op->part_mark != NULL &&
				    ev->part < b->nparts)
					op->part_mark[ev->part] =
					    (uint32_t)(call + 1);
			}
			for (int p = 0; p < PERIOD_COUNT; p++) {
				caltime_bucket_of_day(rules, (enum period)p,
				    gr->local_day, &gbk[gi + p]);
				gidx[gi + p] = bucket_index(cnt, &ncnt,
				    (enum period)p, &gbk[gi + p]);
			}
			for (uint32_t k = 0; k < gr->nkpis; k++)
				for (int p = 0; p < PERIOD_COUNT; p++, fi++) {
					rf[fi].a = (uint32_t)gidx[gi + p];
					rf[fi].b = (uint32_t)(i - from);
					rf[fi].c = (uint32_t)gr->kpis[k];
					rf[fi].rr = rr;
					rf[fi].ref = (uint32_t)fi;
					tf[fi] = rf[fi];
					tf[fi].b = 0;
					tf[fi].s = rr->team->id;
					tf[fi].len = rr->team_id_len;
				}
		}
	}
	per_set = xcalloc(nseen + 1, sizeof(*per_set));
	per_cnt = xcalloc(ncnt + 1, sizeof(*per_cnt));
	per_team = xcalloc(ncnt + 1, sizeof(*per_team));
	nm = name_refs_index(mem, nevents, midx, per_set);
	nf = name_refs_index(rf, nfields, ridx, per_cnt);
	nt = name_refs_index(tf, nfields, tidx, per_team);

	redis_argv_reset(args);
	redis_argv_str(args, "EVALSHA");
	redis_argv_str(args, redis_conn_script_sha(op->a->conn,
	    op->a->shard_sha));
	redis_argv_int(args, (int64_t)(nseen + 2 * ncnt + 1));
	for (size_t k = 0; k < nseen; k++)
		redis_argv_take(args, keys_shard_seen(cfg, shard, seen[k]));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_take(args, keys_shard_counters(cfg, shard,
		    cnt[k].p, cnt[k].start));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_take(args, keys_shard_teams(cfg, shard,
		    cnt[k].p, cnt[k].start));
	redis_argv_take(args, keys_shard_watermarks(cfg, shard,
	    cfg->kafka.topic_activity));
	redis_argv_int(args, (int64_t)nseen);
	redis_argv_int(args, (int64_t)ncnt);
	redis_argv_int(args, now);
	redis_argv_int(args, PERIOD_COUNT);
	put_watermark(op, args, call);
	for (size_t k = 0; k < nseen; k++)
		redis_argv_int(args, keys_seen_expire_at(cfg, seen[k], now));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_int(args, keys_bucket_expire_at(cfg, cnt[k].p,
		    cnt[k].end));

	/* the numbers */
	nnums = nseen + 2 * ncnt + 1 + 2 * ngroups + 3 * nevents +
	    nfields / PERIOD_COUNT + 2 * nfields;
	w = w0 = redis_argv_begin(args, 5 + nnums * COUNT_SCRIPT_PACK_MAX);
	w = count_script_pack_array(w, (uint32_t)nnums);
	for (size_t k = 0; k < nseen; k++)
		w = count_script_pack_int(w, per_set[k]);
	for (size_t k = 0; k < ncnt; k++)
		w = count_script_pack_int(w, per_cnt[k]);
	for (size_t k = 0; k < ncnt; k++)
		w = count_script_pack_int(w, per_team[k]);
	w = count_script_pack_int(w, (int64_t)ngroups);
	op->call_first[call] = op->ntargets;
	gi = ei = fi = 0;
	for (size_t i = from; i < to; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];
		const struct roster_rep *rr = br->rep;

		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next, gi += PERIOD_COUNT) {
			const struct batch_group *gr = &b->groups[g];
			const struct bucket *bks = &gbk[gi];

			w = count_script_pack_int(w, gr->nkpis);
			for (uint32_t k = 0; k < gr->nkpis; k++) {
				size_t kpi = gr->kpis[k];
				bool amount = cfg->kpis[kpi].measure ==
				    KPI_MEASURE_AMOUNT;

				w = count_script_pack_int(w, amount);
				for (int q = 0; q < PERIOD_COUNT; q++, fi++) {
					w = count_script_pack_int(w, ridx[fi]);
					w = count_script_pack_int(w, tidx[fi]);
					target_add(op, rr, kpi, (enum period)q,
					    &bks[q]);
				}
			}
			w = count_script_pack_int(w, gr->nevents);
			for (uint32_t e = gr->first; e != UINT32_MAX;
			    e = b->events[e].next, ei++) {
				const struct batch_event *ev = &b->events[e];

				w = count_script_pack_int(w, midx[ei]);
				w = count_script_pack_int(w, ev->count);
				w = count_script_pack_double(w, ev->amount);
			}
		}
	}
	redis_argv_end(args, (size_t)(w - w0));
	op->call_count[call] = op->ntargets - op->call_first[call];

	/* the names, each once, in the order of their indices */
	for (size_t k = 0; k < nm; k++) {
		const struct roster_rep *rr = mem[k].rr;

		redis_argv_end(args, keys_seen_member_to(redis_argv_begin(args,
		    rr->id_len + 1 + mem[k].len), rr->rep->id, rr->id_len,
		    mem[k].s, mem[k].len));
	}
	for (size_t k = 0; k < nf; k++) {
		const struct roster_rep *rr = rf[k].rr;
		size_t kl = op->kpi_len[rf[k].c];

		redis_argv_end(args, keys_counter_field_to(
		    redis_argv_begin(args, rr->id_len + 1 + kl), rr->rep->id,
		    rr->id_len, cfg->kpis[rf[k].c].name, kl));
	}
	for (size_t k = 0; k < nt; k++) {
		size_t kl = op->kpi_len[tf[k].c];

		redis_argv_end(args, keys_team_field_to(
		    redis_argv_begin(args, tf[k].len + 1 + kl), tf[k].s,
		    tf[k].len, cfg->kpis[tf[k].c].name, kl));
	}
	free(seen);
	free(cnt);
	free(gbk);
	free(gidx);
	free(mem);
	free(rf);
	free(tf);
	free(midx);
	free(ridx);
	free(tidx);
	free(per_set);
	free(per_cnt);
	free(per_team);

	sc = xcalloc(1, sizeof(*sc));
	sc->op = op;
	sc->index = call;
	if (redis_conn_send(op->a->conn, args, shard_reply, sc) != 0) {
		free(sc);
		return -1;
	}
	op->outstanding++;
	return 0;
}

struct rep_shard {
	int shard;
	uint32_t rep;
};

static int
rep_shard_cmp(const void *x, const void *y)
{
	const struct rep_shard *a = x, *b = y;

	if (a->shard != b->shard)
		return a->shard < b->shard ? -1 : 1;
	return a->rep < b->rep ? -1 : a->rep > b->rep;
}

int
redis_apply_counters(struct redis_apply *a, const struct batch *b,
    const struct roster *r, const struct config *cfg, apply_done_cb *cb,
    void *arg)
{
	struct apply_op *op;
	struct redis_argv *args;
	struct rep_shard *rs;
	size_t n = b->nreps ? b->nreps : 1;
	size_t nshards;
	int64_t now_ms;
	bool all;

	(void)r;
	if (!redis_conn_up(a->conn))
		return -1;
	op = xcalloc(1, sizeof(*op));
	op->a = a;
	op->cfg = cfg;
	op->cb = cb;
	op->arg = arg;
	op->b = b;
	/* the batch's reps, grouped by shard; a shard without any gets a
	 * call (its watermark moves) once every WM_REFRESH_MS only */
	now_ms = caltime_mono_ms();
	all = a->wm_all_at == 0 || now_ms - a->wm_all_at >= a->wm_refresh_ms;
	if (all)
		a->wm_all_at = now_ms;
	nshards = cfg->redis.shards > 0 ? (size_t)cfg->redis.shards : 1;
	rs = xcalloc(n, sizeof(*rs));
	for (size_t i = 0; i < b->nreps; i++) {
		rs[i].shard = b->reps[i].rep->shard;
		rs[i].rep = (uint32_t)i;
	}
	qsort(rs, b->nreps, sizeof(*rs), rep_shard_cmp);
	op->order = xcalloc(n, sizeof(*op->order));
	op->call_reps = xcalloc(nshards + 1, sizeof(*op->call_reps));
	op->ncalls = nshards;
	for (size_t i = 0, c = 0; c <= nshards; c++) {
		op->call_reps[c] = i;
		while (c < nshards && i < b->nreps && (size_t)rs[i].shard == c) {
			op->order[i] = rs[i].rep;
			i++;
		}
	}
	free(rs);
	op->kpi_len = xcalloc(cfg->nkpis + 1, sizeof(*op->kpi_len));
	for (size_t k = 0; k < cfg->nkpis; k++)
		op->kpi_len[k] = strlen(cfg->kpis[k].name);
	op->call_first = xcalloc(op->ncalls + 1, sizeof(size_t));
	op->call_count = xcalloc(op->ncalls + 1, sizeof(size_t));
	if (!all)
		op->part_mark = xcalloc(b->nparts + 1,
		    sizeof(*op->part_mark));
	op->outstanding = 1;	/* held until every call is sent */
	args = redis_argv_new();
	for (size_t c = 0; c < op->ncalls; c++) {
		if (!all && op->call_reps[c] == op->call_reps[c + 1])
			continue;
		if (send_shard_call(op, args, (int)c, c) != 0) {
			op->failed = 1;
			break;
		}
	}
	redis_argv_free(args);
	if (--op->outstanding == 0)
		op_finish(op);
	return 0;
}

struct simple_op {
	apply_done_cb *cb;
	watermarks_cb *wcb;
	void *arg;
	size_t n;
};

static void
watermark_write_reply(const redisReply *r, void *arg)
{
	struct simple_op *op = arg;
	const char *err = reply_error_text(r);
	struct apply_stats st = { 0 };

	if (err != NULL)
		log_warnx("redis_apply_failed", "step=watermark err=%s",
		    log_quote(err));
	op->cb(err ? -1 : 0, &st, op->arg);
	free(op);
}

int
redis_apply_watermarks(struct redis_apply *a, const struct config *cfg,
    const char *topic, const struct batch *b, apply_done_cb *cb, void *arg)
{
	struct redis_argv *args = redis_argv_new();
	struct simple_op *op;
	int rc;

	redis_argv_str(args, "HSET");
	redis_argv_take(args, keys_offsets(cfg, topic));
	for (size_t i = 0; i < b->nparts; i++) {
		redis_argv_fmt(args, "%" PRId32, b->parts[i].partition);
		redis_argv_fmt(args, "%" PRId64, b->parts[i].last_offset + 1);
	}
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	rc = redis_conn_send(a->conn, args, watermark_write_reply, op);
	if (rc != 0)
		free(op);
	redis_argv_free(args);
	return rc;
}

/* A read of the watermarks: P:offsets and every shard's, pipelined. */
struct wm_read {
	watermarks_cb *cb;
	void *arg;
	size_t n;
	int64_t *global;	/* P:offsets: -1 none */
	int64_t *low;		/* the lowest shard watermark: INT64_MAX none */
	int outstanding;
	bool failed;
};

struct wm_reply {
	struct wm_read *op;
	bool global;
};

static void
wm_read_done(struct wm_read *op)
{
	/* A shard that holds less than P:offsets lost writes the others
	 * kept (a Redis Cluster primary's), or had no events since its last
	 * refresh (WM_REFRESH_MS): read again from there, the dedupe sets
	 * hold what was counted. With no P:offsets at all, the committed
	 * offsets decide, as before. */
	int64_t *from = xcalloc(op->n ? op->n : 1, sizeof(int64_t));

	for (size_t i = 0; i < op->n; i++) {
		from[i] = op->global[i];
		if (op->global[i] >= 0 && op->low[i] < op->global[i]) {
			log_info("redis_watermark_behind", "index=%zu "
			    "offsets=%" PRId64 " shard=%" PRId64 " behind=%"
			    PRId64, i, op->global[i], op->low[i],
			    op->global[i] - op->low[i]);
			from[i] = op->low[i];
		}
	}
	op->cb(op->failed ? -1 : 0, from, op->global, op->arg);
	free(from);
	free(op->global);
	free(op->low);
	free(op);
}

static void
wm_read_reply(const redisReply *r, void *arg)
{
	struct wm_reply *wr = arg;
	struct wm_read *op = wr->op;
	const char *err = reply_error_text(r);
	int64_t *v = xcalloc(op->n ? op->n : 1, sizeof(int64_t));
	bool *present = xcalloc(op->n ? op->n : 1, sizeof(bool));

	if (err == NULL && reply_int64s(r, op->n, v, present) != 0)
		err = "unexpected reply shape to HMGET";
	if (err != NULL) {
		log_warnx("redis_watermarks_failed", "err=%s", log_quote(err));
		op->failed = true;
	} else {
		for (size_t i = 0; i < op->n; i++) {
			if (!present[i])
				continue;
			if (wr->global)
				op->global[i] = v[i];
			else if (v[i] < op->low[i])
				op->low[i] = v[i];
		}
	}
	free(present);
	free(v);
	free(wr);
	if (--op->outstanding == 0)
		wm_read_done(op);
}

int
redis_apply_read_watermarks(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, watermarks_cb *cb,
    void *arg)
{
	struct redis_argv *args;
	struct wm_read *op;
	int nshards = cfg->redis.shards > 0 ? cfg->redis.shards : 1;

	if (!redis_conn_up(a->conn))
		return -1;
	args = redis_argv_new();
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	op->n = n;
	op->global = xcalloc(n ? n : 1, sizeof(int64_t));
	op->low = xcalloc(n ? n : 1, sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		op->global[i] = -1;
		op->low[i] = INT64_MAX;
	}
	op->outstanding = 1;	/* held while sending */
	for (int s = -1; s < nshards; s++) {
		struct wm_reply *wr = xcalloc(1, sizeof(*wr));

		wr->op = op;
		wr->global = s < 0;
		redis_argv_reset(args);
		redis_argv_str(args, "HMGET");
		redis_argv_take(args, s < 0 ? keys_offsets(cfg, topic) :
		    keys_shard_watermarks(cfg, s, topic));
		for (size_t i = 0; i < n; i++)
			redis_argv_fmt(args, "%" PRId32, partitions[i]);
		if (redis_conn_send(a->conn, args, wm_read_reply, wr) != 0) {
			free(wr);
			op->failed = true;
			break;
		}
		op->outstanding++;
	}
	redis_argv_free(args);
	if (--op->outstanding == 0)
		wm_read_done(op);	/* every send failed: -1 */
	return 0;
}

static void
ignore_reply(const redisReply *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* The HSET of tick as the boundary judged of n partitions of topic,
 * sent with cb(arg). */
static int
send_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, int64_t tick,
    redis_reply_cb *cb, void *arg)
{
	struct redis_argv *args = redis_argv_new();
	int rc;

	redis_argv_str(args, "HSET");
	redis_argv_take(args, keys_evclock(cfg, topic));
	for (size_t k = 0; k < n; k++) {
		redis_argv_fmt(args, "%" PRId32, partitions[k]);
		redis_argv_fmt(args, "%" PRId64, tick);
	}
	rc = redis_conn_send(a->conn, args, cb, arg);
	redis_argv_free(args);
	return rc;
}

void
redis_apply_save_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const struct batch *b, int64_t tick)
{
	int32_t *pl;

	if (b->nparts == 0)
		return;
	pl = xcalloc(b->nparts, sizeof(*pl));
	for (size_t k = 0; k < b->nparts; k++)
		pl[k] = b->parts[k].partition;
	(void)send_evclock(a, cfg, topic, pl, b->nparts, tick, ignore_reply,
	    NULL);
	free(pl);
}

struct evclock_save {
	void (*cb)(int, void *);
	void *arg;
};

static void
evclock_saved_reply(const redisReply *r, void *arg)
{
	struct evclock_save *op = arg;

	op->cb(r != NULL && r->type == REDIS_REPLY_INTEGER ? 0 : -1, op->arg);
	free(op);
}

int
redis_apply_save_evclock_parts(struct redis_apply *a,
    const struct config *cfg, const char *topic, const int32_t *partitions,
    size_t n, int64_t tick, void (*cb)(int status, void *arg), void *arg)
{
	struct evclock_save *op = xmalloc(sizeof(*op));
	int rc;

	op->cb = cb;
	op->arg = arg;
	rc = send_evclock(a, cfg, topic, partitions, n, tick,
	    evclock_saved_reply, op);
	if (rc != 0)
		free(op);
	return rc;
}

struct evclock_op {
	evclock_cb *cb;
	void *arg;
};

static void
evclock_read_reply(const redisReply *r, void *arg)
{
	struct evclock_op *op = arg;
	int64_t *ticks;
	bool *present;
	size_t n;

	if (r == NULL) {		/* no answer: op->arg may be gone */
		free(op);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		op->cb(-1, NULL, NULL, 0, op->arg);
		free(op);
		return;
	}
	n = r->elements;
	ticks = xcalloc(n ? n : 1, sizeof(*ticks));
	present = xcalloc(n ? n : 1, sizeof(*present));
	reply_int64s(r, n, ticks, present);
	op->cb(0, ticks, present, n, op->arg);
	free(present);
	free(ticks);
	free(op);
}

/* HMGET of key (taken) with one field per partition: the per-partition
 * hashes of the event clock and of when the data began. Returns owned
 * (free with redis_argv_free). */
static struct redis_argv *
hmget_partitions(char *key, const int32_t *partitions, size_t n)
{
	struct redis_argv *args = redis_argv_new();

	redis_argv_str(args, "HMGET");
	redis_argv_take(args, key);
	for (size_t k = 0; k < n; k++)
		redis_argv_fmt(args, "%" PRId32, partitions[k]);
	return args;
}

int
redis_apply_read_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, evclock_cb *cb,
    void *arg)
{
	struct redis_argv *args = hmget_partitions(keys_evclock(cfg, topic),
	    partitions, n);
	struct evclock_op *op = xcalloc(1, sizeof(*op));
	int rc;

	op->cb = cb;
	op->arg = arg;
	rc = redis_conn_send(a->conn, args, evclock_read_reply, op);
	if (rc != 0)
		free(op);
	redis_argv_free(args);
	return rc;
}

struct began_op {
	began_cb *cb;
	void *arg;
	int32_t partition;
	int32_t *partitions;	/* owned: the partitions of a read */
	size_t n;
};

static void
began_read_reply(const redisReply *r, void *arg)
{
	struct began_op *op = arg;
	int64_t *at = xcalloc(op->n ? op->n : 1, sizeof(*at));
	bool *present = xcalloc(op->n ? op->n : 1, sizeof(*present));

	if (r != NULL && reply_int64s(r, op->n, at, present) == 0)
		for (size_t k = 0; k < op->n; k++)
			if (present[k])
				op->cb(op->partitions[k], at[k], op->arg);
	free(present);
	free(at);
	free(op->partitions);
	free(op);
}

int
redis_apply_read_began(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, began_cb *cb,
    void *arg)
{
	struct redis_argv *args = hmget_partitions(keys_began(cfg, topic),
	    partitions, n);
	struct began_op *op = xcalloc(1, sizeof(*op));
	int rc;

	op->cb = cb;
	op->arg = arg;
	op->n = n;
	op->partitions = xcalloc(n ? n : 1, sizeof(*op->partitions));
	if (n > 0)
		memcpy(op->partitions, partitions, n * sizeof(*partitions));
	rc = redis_conn_send(a->conn, args, began_read_reply, op);
	if (rc != 0) {
		free(op->partitions);
		free(op);
	}
	redis_argv_free(args);
	return rc;
}

static void
began_reply(const redisReply *r, void *arg)
{
	struct began_op *op = arg;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		op->cb(op->partition, strtoll(r->str, NULL, 10), op->arg);
	free(op);
}

int
redis_apply_note_began(struct redis_apply *a, const struct config *cfg,
    const char *topic, int32_t partition, int64_t began_ms, began_cb *cb,
    void *arg)
{
	struct redis_argv *args = redis_argv_new();
	struct began_op *op;
	int rc;

	redis_argv_str(args, "HSETNX");
	redis_argv_take(args, keys_began(cfg, topic));
	redis_argv_fmt(args, "%" PRId32, partition);
	redis_argv_fmt(args, "%" PRId64, began_ms);
	rc = redis_conn_send(a->conn, args, ignore_reply, NULL);
	redis_argv_free(args);
	if (rc != 0)
		return rc;
	/* Pipelined: the value kept, ours or an earlier one. */
	args = redis_argv_new();
	redis_argv_str(args, "HGET");
	redis_argv_take(args, keys_began(cfg, topic));
	redis_argv_fmt(args, "%" PRId32, partition);
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	op->partition = partition;
	rc = redis_conn_send(a->conn, args, began_reply, op);
	if (rc != 0)
		free(op);
	redis_argv_free(args);
	return rc;
}

struct redis_apply *
redis_apply_new(struct redis_conn *conn)
{
	struct redis_apply *a = xcalloc(1, sizeof(*a));

	a->conn = conn;
	a->wm_refresh_ms = WM_REFRESH_MS;
	a->shard_sha = redis_conn_add_script(conn, count_script());
	a->board_sha = redis_conn_add_script(conn, board_redis_script());
	a->contest_sha = redis_conn_add_script(conn, contest_redis_script());
	return a;
}

void
redis_apply_set_refresh_ms(struct redis_apply *a, int64_t ms)
{
	a->wm_refresh_ms = ms;
}

void
redis_apply_free(struct redis_apply *a)
{
	free(a);
}

void
redis_apply_set_values(struct redis_apply *a, const struct apply_values *v)
{
	static const struct apply_values none;

	a->values = v != NULL ? *v : none;
}

void
redis_apply_set_boards(struct redis_apply *a, struct board_flush *boards)
{
	a->boards = boards;
}
