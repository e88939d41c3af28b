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
 * Every value is checked before the first write (see shard_script). It
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
#include "keys.h"
#include "log.h"
#include "reply.h"
#include "xmalloc.h"

/* Lua: a field's text as a number, or nil. 'c': an integer of at most 15
 * digits (Lua's numbers are doubles: exact below 2^53, and adding a batch
 * stays below it); 'a': a decimal, finite as a double. A missing field
 * (false) is 0. fmt() writes a value back: an integer in full, a decimal
 * in the fewest digits that read back the same double. */
#define LUA_NUM \
	"local tonumber, find, byte, format = tonumber, string.find, " \
	"string.byte, string.format\n" \
	"local function num(v, kd)\n" \
	"  if v == false or v == nil then return 0 end\n" \
	"  if type(v) ~= 'string' or #v == 0 or #v > 5000 then return nil end\n" \
	"  if kd == 'c' then\n" \
	"    if v == '0' then return 0 end\n" \
	"    if not find(v, '^%-?[1-9]%d*$') then return nil end\n" \
	"    local d = #v\n" \
	"    if byte(v, 1) == 45 then d = d - 1 end\n" \
	"    if d > 15 then return nil end\n" \
	"    return tonumber(v)\n" \
	"  end\n" \
	"  if find(v, '%s') then return nil end\n" \
	"  local x = tonumber(v)\n" \
	"  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end\n" \
	"  return x\n" \
	"end\n" \
	"local function fits(x, kd)\n" \
	"  if kd == 'c' then return x < 1e15 and x > -1e15 end\n" \
	"  return x == x and x < math.huge and x > -math.huge\n" \
	"end\n" \
	"local function fmt(x, kd)\n" \
	"  if kd == 'c' or (x == math.floor(x) and x < 1e15 and x > -1e15) then\n" \
	"    return format('%.0f', x)\n" \
	"  end\n" \
	"  for _, f in ipairs({'%.15g', '%.16g'}) do\n" \
	"    local s = format(f, x)\n" \
	"    if tonumber(s) == x then return s end\n" \
	"  end\n" \
	"  return format('%.17g', x)\n" \
	"end\n"

/*
 * Two passes. The first only reads, one command per key: which ids are
 * new (SMISMEMBER on each dedupe set, and ids met earlier in the call),
 * the text of every counter and team field the call names (HMGET on each
 * hash), and from these whether every rep field a group adds to holds a
 * number that stays one after the addition. A group that fails refuses
 * its new events; if any is refused the call writes nothing and answers
 * their positions (1-based, in the order sent), so that no id is ever
 * marked seen without its counts. Only then the second pass writes, with
 * commands that can no longer fail: one SADD per dedupe set and one HSET
 * per hash of every value that changed. A team field holding no number
 * is left out (and counted); the others are written. A hash gets its
 * expiry when none of the fields the call names existed (it may be new;
 * a hash gets its expiry when created, so one holding any of them has it
 * already); a dedupe set's is checked with PTTL.
 *
 * The last key is the shard's watermark hash: once the counts are in,
 * each partition of the batch gets its next offset there, in the same
 * atomic step. Every shard is called for every batch (one with none of
 * the batch's reps writes its watermark alone), so a shard's watermark
 * says: every event before it that belongs to this shard is counted.
 *
 * ARGV: S (dedupe sets), C (counter hashes), now, P (periods), W, W x
 * (partition, next offset), the EXPIREAT of each set and counter hash (a
 * team hash has its counter hash's), G, then per group: K, K x (rep field, kind 'c'|'a', team
 * field), the P counter key indices of its buckets (day to quarter), E,
 * E x (set index, member, count, amount). Its targets, in the order the
 * values are answered: per KPI, per period.
 *
 * State is kept in tables keyed by key index, then field, rather than in
 * concatenated strings: the script's cost is in its table and string
 * work, per field, not in Redis commands. So that work is kept small: the
 * library functions it calls per field are locals, each event's set
 * index is read from ARGV once, a group's planned additions go to arrays
 * reused by every group (not a table per field), and a changed value is
 * formatted once, for its HSET and its answer.
 */
static const char shard_script[] =
	LUA_NUM
	"local A = ARGV\n"
	"local S = tonumber(A[1])\n"
	"local C = tonumber(A[2])\n"
	"local now = tonumber(A[3])\n"
	"local PC = tonumber(A[4])\n"
	"local W = tonumber(A[5])\n"
	"local wm = {}\n"
	"for w = 6, 5 + 2 * W do wm[#wm + 1] = A[w] end\n"
	"local a = 6 + 2 * W\n"
	"local exp = {}\n"
	"for k = 1, S + C do exp[k] = tonumber(A[a]); a = a + 1 end\n"
	"local G = tonumber(A[a]); a = a + 1\n"
	"local function sliced(call, cmd, key, list, per)\n"
	"  local out = {}\n"
	"  for s = 1, #list, per do\n"
	"    local r = call(cmd, key, unpack(list, s, math.min(#list, s + per - 1)))\n"
	"    if type(r) == 'table' and r.err then return nil end\n"
	"    if type(r) == 'table' then for _, v in ipairs(r) do out[#out + 1] = v end end\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"local groups, ids, fl, fi, ek = {}, {}, {}, {}, {}\n"
	"local function want(k, f)\n"
	"  local m = fi[k]\n"
	"  if not m then m = {}; fi[k] = m; fl[k] = {} end\n"
	"  if not m[f] then m[f] = true; local l = fl[k]; l[#l + 1] = f end\n"
	"end\n"
	"local ne = 0\n"
	"for g = 1, G do\n"
	"  local K = tonumber(A[a])\n"
	"  local f0 = a + 1\n"
	"  local b0 = f0 + 3 * K\n"
	"  local E = tonumber(A[b0 + PC])\n"
	"  local e0 = b0 + PC + 1\n"
	"  a = e0 + 4 * E\n"
	"  local bk = {}\n"
	"  for p = 1, PC do bk[p] = S + tonumber(A[b0 + p - 1]) end\n"
	"  groups[g] = {K, f0, bk, E, e0}\n"
	"  for e = 0, E - 1 do\n"
	"    local k = tonumber(A[e0 + 4 * e])\n"
	"    ne = ne + 1; ek[ne] = k\n"
	"    local l = ids[k]\n"
	"    if not l then l = {}; ids[k] = l end\n"
	"    l[#l + 1] = A[e0 + 4 * e + 1]\n"
	"  end\n"
	"  for q = 0, K - 1 do\n"
	"    local rf, tf = A[f0 + 3 * q], A[f0 + 3 * q + 2]\n"
	"    for p = 1, PC do local k = bk[p]; want(k, rf); want(k + C, tf) end\n"
	"  end\n"
	"end\n"
	"local member, text, existed = {}, {}, {}\n"
	"for k = 1, S do\n"
	"  if ids[k] then\n"
	"    local r = sliced(redis.pcall, 'SMISMEMBER', KEYS[k], ids[k], 1000)\n"
	"    if r then\n"
	"      local m, l = {}, ids[k]\n"
	"      for j, v in ipairs(r) do if v == 1 then m[l[j]] = true end end\n"
	"      member[k] = m\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for k = S + 1, S + 2 * C do\n"
	"  if fl[k] then\n"
	"    local r = sliced(redis.pcall, 'HMGET', KEYS[k], fl[k], 1000)\n"
	"    if r then\n"
	"      local m, l = {}, fl[k]\n"
	"      for j, v in ipairs(r) do m[l[j]] = v; if v then existed[k] = true end end\n"
	"      text[k] = m\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local cur, chg, pend, okg, bad = {}, {}, {}, {}, {}\n"
	"for k = S + 1, S + C do cur[k] = {}; chg[k] = {} end\n"
	"for k = 1, S do pend[k] = {} end\n"
	"local pk, pf, pv, pd = {}, {}, {}, {}\n"
	"local pos = 0\n"
	"for g = 1, G do\n"
	"  local gr = groups[g]\n"
	"  local K, f0, bk, E, e0 = gr[1], gr[2], gr[3], gr[4], gr[5]\n"
	"  local n, amt, nn, new, ok = 0, 0, 0, {}, true\n"
	"  for e = 0, E - 1 do\n"
	"    local i = e0 + 4 * e\n"
	"    local k = ek[pos + e + 1]\n"
	"    local mbr, mk, pe = A[i + 1], member[k], pend[k]\n"
	"    if mk == nil then ok = false end\n"
	"    if not (mk and mk[mbr]) and not pe[mbr] then\n"
	"      pe[mbr] = true; nn = nn + 1; new[nn] = e\n"
	"      n = n + tonumber(A[i + 2]); amt = amt + tonumber(A[i + 3])\n"
	"    end\n"
	"  end\n"
	"  local np = 0\n"
	"  if nn > 0 then\n"
	"    for q = 0, K - 1 do\n"
	"      local rf, kd = A[f0 + 3 * q], A[f0 + 3 * q + 1]\n"
	"      local add = n\n"
	"      if kd == 'a' then add = amt end\n"
	"      if add > 0 then\n"
	"        for p = 1, PC do\n"
	"          local k = bk[p]\n"
	"          local ck = cur[k]\n"
	"          local v = ck[rf]\n"
	"          if v == nil then\n"
	"            local tk = text[k]\n"
	"            v = tk ~= nil and num(tk[rf], kd) or false\n"
	"            ck[rf] = v\n"
	"          end\n"
	"          if v == false or not fits(v + add, kd) then ok = false\n"
	"          else np = np + 1; pk[np] = k; pf[np] = rf; pv[np] = v + add; pd[np] = kd end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if ok then\n"
	"    for j = 1, np do cur[pk[j]][pf[j]] = pv[j]; chg[pk[j]][pf[j]] = pd[j] end\n"
	"    if nn > 0 then okg[#okg + 1] = {g, new, n, amt} end\n"
	"  else\n"
	"    for j = 1, nn do bad[#bad + 1] = pos + new[j] + 1 end\n"
	"  end\n"
	"  pos = pos + E\n"
	"end\n"
	"if #bad > 0 then return {0, 0, bad, 0} end\n"
	"local counted, adds, tadd, tkind, torder = 0, {}, {}, {}, {}\n"
	"for _, o in ipairs(okg) do\n"
	"  local gr = groups[o[1]]\n"
	"  local K, f0, bk, e0 = gr[1], gr[2], gr[3], gr[5]\n"
	"  for _, e in ipairs(o[2]) do\n"
	"    local i = e0 + 4 * e\n"
	"    local k = tonumber(A[i])\n"
	"    local l = adds[k]\n"
	"    if not l then l = {}; adds[k] = l end\n"
	"    l[#l + 1] = A[i + 1]\n"
	"  end\n"
	"  counted = counted + #o[2]\n"
	"  for q = 0, K - 1 do\n"
	"    local kd, tf = A[f0 + 3 * q + 1], A[f0 + 3 * q + 2]\n"
	"    local add = o[3]\n"
	"    if kd == 'a' then add = o[4] end\n"
	"    if add > 0 then\n"
	"      for p = 1, PC do\n"
	"        local tk = bk[p] + C\n"
	"        local t = tadd[tk]\n"
	"        if not t then t = {}; tadd[tk] = t; tkind[tk] = {}; torder[tk] = {} end\n"
	"        if t[tf] == nil then t[tf] = 0; tkind[tk][tf] = kd; local l = torder[tk]; l[#l + 1] = tf end\n"
	"        t[tf] = t[tf] + add\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local hs, left, txt = {}, 0, {}\n"
	"for k = 1, S do\n"
	"  if adds[k] then sliced(redis.call, 'SADD', KEYS[k], adds[k], 1000) end\n"
	"end\n"
	"for k = S + 1, S + C do\n"
	"  local l, tx, ck = {}, {}, cur[k]\n"
	"  for f, kd in pairs(chg[k]) do local v = fmt(ck[f], kd); tx[f] = v; l[#l + 1] = f; l[#l + 1] = v end\n"
	"  txt[k] = tx\n"
	"  if #l > 0 then hs[k] = true; sliced(redis.call, 'HSET', KEYS[k], l, 1000) end\n"
	"end\n"
	"for k = S + C + 1, S + 2 * C do\n"
	"  if torder[k] then\n"
	"    local l, tk, ta, tn = {}, text[k], tadd[k], tkind[k]\n"
	"    for _, tf in ipairs(torder[k]) do\n"
	"      local kd = tn[tf]\n"
	"      local old = tk ~= nil and num(tk[tf], kd)\n"
	"      if old and fits(old + ta[tf], kd) then\n"
	"        l[#l + 1] = tf; l[#l + 1] = fmt(old + ta[tf], kd)\n"
	"      else left = left + 1 end\n"
	"    end\n"
	"    if #l > 0 then hs[k] = true; sliced(redis.call, 'HSET', KEYS[k], l, 1000) end\n"
	"  end\n"
	"end\n"
	"if W > 0 then redis.call('HSET', KEYS[#KEYS], unpack(wm)) end\n"
	"local out = {counted, pos - counted, {}, left}\n"
	"local no = 4\n"
	"for g = 1, G do\n"
	"  local gr = groups[g]\n"
	"  local K, f0, bk = gr[1], gr[2], gr[3]\n"
	"  for q = 0, K - 1 do\n"
	"    local rf = A[f0 + 3 * q]\n"
	"    for p = 1, PC do\n"
	"      local k = bk[p]\n"
	"      local v = txt[k][rf]\n"
	"      if v == nil then\n"
	"        local tk = text[k]\n"
	"        if tk == nil then v = '' else v = tk[rf] or '0' end\n"
	"      end\n"
	"      no = no + 1; out[no] = v\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for k = 1, S do\n"
	"  local t = redis.call('PTTL', KEYS[k])\n"
	"  if t == -1 or (t >= 0 and t < (exp[k] - now - 86400) * 1000) then\n"
	"    redis.call('EXPIREAT', KEYS[k], exp[k])\n"
	"  end\n"
	"end\n"
	"for k = S + 1, S + 2 * C do\n"
	"  if hs[k] and not existed[k] then\n"
	"    redis.call('EXPIREAT', KEYS[k], exp[k > S + C and k - C or k])\n"
	"  end\n"
	"end\n"
	"return out\n";

/* Every shard's watermark is written at least this often, events or not:
 * a batch calls only the shards that hold its reps. */
#define WM_REFRESH_MS	1000

struct redis_apply {
	struct redis_conn *conn;
	int shard_sha, board_sha, contest_sha;
	struct board_flush *boards;	/* NULL: a call per board and batch */
	struct apply_values values;
	int64_t wm_all_at;		/* monotonic ms of the last call to all */
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
				    b->events[e].partition;
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

/* Builds and sends shard call `call`: the reps order[from..to). The
 * arguments are written in place (numbers without printf, fields from the
 * lengths the roster keeps): this runs for every event of every batch. */
static int
send_shard_call(struct apply_op *op, struct redis_argv *args, int shard,
    size_t call)
{
	const struct config *cfg = op->cfg;
	const struct batch *b = op->b;
	size_t from = op->call_reps[call], to = op->call_reps[call + 1];
	size_t nevents = 0, ngroups = 0, nseen = 0, ncnt = 0, gi;
	int64_t now = caltime_wall_ms() / 1000;
	int32_t *seen;
	struct bucket_ref *cnt;
	/* per group of the call, in order, per period: its bucket and the
	 * bucket's index in cnt */
	struct bucket *gbk;
	size_t *gidx;
	struct shard_call *sc;

	for (size_t i = from; i < to; i++) {
		nevents += b->reps[op->order[i]].nevents;
		ngroups += b->reps[op->order[i]].ngroups;
	}
	seen = xcalloc(nevents + 1, sizeof(*seen));
	cnt = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*cnt));
	gbk = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*gbk));
	gidx = xcalloc(ngroups * PERIOD_COUNT + 1, sizeof(*gidx));
	/* distinct dedupe days and counter buckets */
	gi = 0;
	for (size_t i = from; i < to; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];
		const struct period_rules *rules = &br->rep->calendar->rules;

		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next) {
			const struct batch_group *gr = &b->groups[g];

			for (uint32_t e = gr->first; e != UINT32_MAX;
			    e = b->events[e].next)
				index_of(seen, &nseen, b->events[e].utc_day);
			for (int p = 0; p < PERIOD_COUNT; p++, gi++) {
				caltime_bucket_of_day(rules, (enum period)p,
				    gr->local_day, &gbk[gi]);
				gidx[gi] = bucket_index(cnt, &ncnt,
				    (enum period)p, &gbk[gi]);
			}
		}
	}

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
	redis_argv_int(args, (int64_t)b->nparts);
	for (size_t k = 0; k < b->nparts; k++) {
		redis_argv_int(args, b->parts[k].partition);
		redis_argv_int(args, b->parts[k].last_offset + 1);
	}
	for (size_t k = 0; k < nseen; k++)
		redis_argv_int(args, keys_seen_expire_at(cfg, seen[k], now));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_int(args, keys_bucket_expire_at(cfg, cnt[k].p,
		    cnt[k].end));
	redis_argv_int(args, (int64_t)ngroups);

	op->call_first[call] = op->ntargets;
	gi = 0;
	for (size_t i = from; i < to; i++) {
		const struct batch_rep *br = &b->reps[op->order[i]];
		const struct roster_rep *rr = br->rep;
		const char *rep_id = rr->rep->id;
		size_t rep_len = rr->id_len;

		for (uint32_t g = br->first_group; g != UINT32_MAX;
		    g = b->groups[g].next, gi += PERIOD_COUNT) {
			const struct batch_group *gr = &b->groups[g];
			const struct bucket *bks = &gbk[gi];

			redis_argv_int(args, gr->nkpis);
			for (uint32_t k = 0; k < gr->nkpis; k++) {
				const struct config_kpi *kpi =
				    &cfg->kpis[gr->kpis[k]];
				size_t kl = op->kpi_len[gr->kpis[k]];

				redis_argv_end(args, keys_counter_field_to(
				    redis_argv_begin(args, rep_len + 1 + kl),
				    rep_id, rep_len, kpi->name, kl));
				redis_argv_add(args, kpi->measure ==
				    KPI_MEASURE_AMOUNT ? "a" : "c", 1);
				redis_argv_end(args, keys_team_field_to(
				    redis_argv_begin(args,
				    rr->team_id_len + 1 + kl), rr->team->id,
				    rr->team_id_len, kpi->name, kl));
			}
			for (int p = 0; p < PERIOD_COUNT; p++)
				redis_argv_int(args, (int64_t)gidx[gi + p] + 1);
			for (uint32_t k = 0; k < gr->nkpis; k++) {
				for (int p = 0; p < PERIOD_COUNT; p++) {
					struct contrib *c = target_new(op);

					c->rr = rr;
					c->period = (enum period)p;
					c->start_day = bks[p].start_day;
					c->expire_at = keys_bucket_expire_at(
					    cfg, (enum period)p,
					    bks[p].end_day);
					c->kpi = gr->kpis[k];
					contrib_set(op, c, "0", 1);
				}
			}
			redis_argv_int(args, gr->nevents);
			for (uint32_t e = gr->first; e != UINT32_MAX;
			    e = b->events[e].next) {
				const struct batch_event *ev = &b->events[e];
				size_t si = index_of(seen, &nseen, ev->utc_day);

				redis_argv_int(args, (int64_t)si + 1);
				redis_argv_end(args, keys_seen_member_to(
				    redis_argv_begin(args,
				    rep_len + 1 + ev->id_len), rep_id, rep_len,
				    b->ids + ev->id_off, ev->id_len));
				redis_argv_int(args, ev->count);
				redis_argv_double(args, ev->amount);
			}
		}
	}
	op->call_count[call] = op->ntargets - op->call_first[call];
	free(seen);
	free(cnt);
	free(gbk);
	free(gidx);

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
	all = a->wm_all_at == 0 || now_ms - a->wm_all_at >= WM_REFRESH_MS;
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
	a->shard_sha = redis_conn_add_script(conn, shard_script);
	a->board_sha = redis_conn_add_script(conn, board_redis_script());
	a->contest_sha = redis_conn_add_script(conn, contest_redis_script());
	return a;
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
