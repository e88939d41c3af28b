/*
 * redis_apply.c: turns a pre-aggregated batch into Redis script calls.
 *
 * Rep script (KEYS: the rep's dedupe sets, then its counter hashes; all
 * under {rep:ID}): only events whose id is new to the set of its UTC day
 * add their count/amount to the group's totals, which are then added once
 * per KPI field, and their ids are added to the sets. Every value is
 * checked before the first write (see rep_script). It answers [counted,
 * duplicates, refused, value...]: refused lists the events it could not
 * count (and then nothing was written, nor any value follows), the values
 * are the absolute field values after the call, in the order of the
 * targets sent. Replaying the same call changes nothing.
 *
 * Expiry is set when a key first appears, so a busy key does not add an
 * EXPIREAT to the append-only file with every batch; a dedupe set's is
 * also pushed back when it falls over a day short (see
 * keys_seen_expire_at).
 *
 * Leaderboards (board_redis.c): with the team calls, one call per board
 * the batch touches, from the same absolute values; and one per contest
 * the batch feeds (contest_redis.c).
 *
 * Team script (KEYS: pairs of team totals hash and contributions hash,
 * under {team:ID}): for each (kpi, rep, absolute value) it raises the rep's
 * recorded contribution to that value if higher and adds the difference to
 * the total. Counters only grow, so taking the maximum is exact and makes
 * the step idempotent and safe against a stale write from a former owner.
 */
#include "redis_apply.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_redis.h"
#include "contest_redis.h"
#include "keys.h"
#include "log.h"
#include "reply.h"
#include "xmalloc.h"

/* Lua: a field's text as a number Redis can add to, or nil. 'c': an
 * integer as HINCRBY reads it, at most 18 digits (so adding a batch can
 * never overflow); 'a': a decimal HINCRBYFLOAT reads, finite as a double.
 * A missing field (false) is 0. */
#define LUA_NUM \
	"local function num(v, kd)\n" \
	"  if v == false or v == nil then return 0 end\n" \
	"  if type(v) ~= 'string' or #v == 0 or #v > 5000 or v:find('%s') then return nil end\n" \
	"  if kd == 'c' then\n" \
	"    if v == '0' then return 0 end\n" \
	"    local d = v:match('^%-?([1-9]%d*)$')\n" \
	"    if d == nil or #d > 18 then return nil end\n" \
	"    return tonumber(v)\n" \
	"  end\n" \
	"  local x = tonumber(v)\n" \
	"  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end\n" \
	"  return x\n" \
	"end\n" \
	"local function fits(x, kd)\n" \
	"  if kd == 'c' then return x < 1e18 end\n" \
	"  return x == x and x < math.huge and x > -math.huge\n" \
	"end\n"

/*
 * Two passes. The first only reads, one command per key: which ids are
 * new (SMISMEMBER on each dedupe set, and ids met earlier in the call),
 * the text of every counter field the call names (HMGET on each counter
 * hash), and from these whether every field a group adds to holds a
 * number that stays one after the addition. A group that fails refuses
 * its new events; if any is refused the call writes nothing and answers
 * their positions (1-based, in the order sent), so that no id is ever
 * marked seen without its counts. Only then the second pass writes, with
 * commands that can no longer fail: one SADD per dedupe set, one
 * increment per field, whose answer is the value sent back (a field not
 * written answers the text read). A counter hash gets its expiry when
 * none of the fields the call names existed (it may be new; a hash gets
 * its expiry when created, so one holding any of them has it already);
 * a dedupe set's is checked with PTTL.
 */
static const char rep_script[] =
	LUA_NUM
	"local S = tonumber(ARGV[1])\n"
	"local now = tonumber(ARGV[2])\n"
	"local C = #KEYS - S\n"
	"local a = 3\n"
	"local exp = {}\n"
	"for k = 1, S + C do exp[k] = tonumber(ARGV[a]); a = a + 1 end\n"
	"local G = tonumber(ARGV[a]); a = a + 1\n"
	"local function sliced(call, cmd, key, list)\n"
	"  local out = {}\n"
	"  for s = 1, #list, 1000 do\n"
	"    local r = call(cmd, key, unpack(list, s, math.min(#list, s + 999)))\n"
	"    if type(r) == 'table' and r.err then return nil end\n"
	"    if type(r) == 'table' then for _, v in ipairs(r) do out[#out + 1] = v end end\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"local groups, ids, fl, fi = {}, {}, {}, {}\n"
	"local tk, tf = {}, {}\n"
	"for g = 1, G do\n"
	"  local T = tonumber(ARGV[a]); a = a + 1\n"
	"  local t0 = a; a = a + 3 * T\n"
	"  local E = tonumber(ARGV[a]); a = a + 1\n"
	"  local e0 = a; a = a + 4 * E\n"
	"  groups[g] = {t0, T, e0, E}\n"
	"  for e = 0, E - 1 do\n"
	"    local k = tonumber(ARGV[e0 + 4 * e])\n"
	"    local l = ids[k] or {}; ids[k] = l; l[#l + 1] = ARGV[e0 + 4 * e + 1]\n"
	"  end\n"
	"  for t = 0, T - 1 do\n"
	"    local k, f = S + tonumber(ARGV[t0 + 3 * t]), ARGV[t0 + 3 * t + 1]\n"
	"    tk[#tk + 1] = k; tf[#tf + 1] = f\n"
	"    local m = fi[k] or {}; fi[k] = m\n"
	"    if m[f] == nil then\n"
	"      local l = fl[k] or {}; fl[k] = l; l[#l + 1] = f; m[f] = true\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local member, text, existed = {}, {}, {}\n"
	"for k = 1, S do\n"
	"  if ids[k] then\n"
	"    local r = sliced(redis.pcall, 'SMISMEMBER', KEYS[k], ids[k])\n"
	"    if r then\n"
	"      local m = {}\n"
	"      for j, v in ipairs(r) do if v == 1 then m[ids[k][j]] = true end end\n"
	"      member[k] = m\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for k = S + 1, S + C do\n"
	"  if fl[k] then\n"
	"    local r = sliced(redis.pcall, 'HMGET', KEYS[k], fl[k])\n"
	"    if r then\n"
	"      local m = {}\n"
	"      for j, v in ipairs(r) do m[fl[k][j]] = v; if v then existed[k] = true end end\n"
	"      text[k] = m\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local cur, pend, okg, bad = {}, {}, {}, {}\n"
	"local pos, total = 0, 0\n"
	"for g = 1, G do\n"
	"  local t0, T, e0, E = groups[g][1], groups[g][2], groups[g][3], groups[g][4]\n"
	"  local n, amt, new, ok = 0, 0, {}, true\n"
	"  for e = 0, E - 1 do\n"
	"    local i = e0 + 4 * e\n"
	"    local k = tonumber(ARGV[i])\n"
	"    local pk = ARGV[i] .. '|' .. ARGV[i + 1]\n"
	"    if member[k] == nil then ok = false end\n"
	"    if not (member[k] and member[k][ARGV[i + 1]]) and not pend[pk] then\n"
	"      pend[pk] = true; new[#new + 1] = e\n"
	"      n = n + tonumber(ARGV[i + 2]); amt = amt + tonumber(ARGV[i + 3])\n"
	"    end\n"
	"  end\n"
	"  local plan = {}\n"
	"  for t = 0, T - 1 do\n"
	"    local k = S + tonumber(ARGV[t0 + 3 * t])\n"
	"    local field = ARGV[t0 + 3 * t + 1]\n"
	"    local kd = ARGV[t0 + 3 * t + 2]\n"
	"    local add = n\n"
	"    if kd == 'a' then add = amt end\n"
	"    if add > 0 then\n"
	"      local ck = k .. '|' .. field\n"
	"      local v = cur[ck]\n"
	"      if v == nil then\n"
	"        v = text[k] ~= nil and num(text[k][field], kd) or false\n"
	"        cur[ck] = v\n"
	"      end\n"
	"      if v == false or not fits(v + add, kd) then ok = false\n"
	"      else plan[#plan + 1] = {ck, v + add} end\n"
	"    end\n"
	"  end\n"
	"  if ok then\n"
	"    for _, pl in ipairs(plan) do cur[pl[1]] = pl[2] end\n"
	"    okg[#okg + 1] = {t0, T, e0, new, n, amt}\n"
	"  else\n"
	"    for _, e in ipairs(new) do bad[#bad + 1] = pos + e + 1 end\n"
	"  end\n"
	"  pos = pos + E; total = total + E\n"
	"end\n"
	"if #bad > 0 then return {0, 0, bad} end\n"
	"local counted, got, adds, wrote = 0, {}, {}, {}\n"
	"for _, gr in ipairs(okg) do\n"
	"  for _, e in ipairs(gr[4]) do\n"
	"    local i = gr[3] + 4 * e\n"
	"    local k = tonumber(ARGV[i])\n"
	"    local l = adds[k] or {}; adds[k] = l; l[#l + 1] = ARGV[i + 1]\n"
	"  end\n"
	"  counted = counted + #gr[4]\n"
	"end\n"
	"for k = 1, S do\n"
	"  if adds[k] then sliced(redis.call, 'SADD', KEYS[k], adds[k]) end\n"
	"end\n"
	"for _, gr in ipairs(okg) do\n"
	"  local t0, T, n, amt = gr[1], gr[2], gr[5], gr[6]\n"
	"  for t = 0, T - 1 do\n"
	"    local k = S + tonumber(ARGV[t0 + 3 * t])\n"
	"    local field = ARGV[t0 + 3 * t + 1]\n"
	"    local ck = k .. '|' .. field\n"
	"    if ARGV[t0 + 3 * t + 2] == 'a' then\n"
	"      if amt > 0 then\n"
	"        got[ck] = redis.call('HINCRBYFLOAT', KEYS[k], field, amt); wrote[k] = true\n"
	"      end\n"
	"    elseif n > 0 then\n"
	"      got[ck] = redis.call('HINCRBY', KEYS[k], field, n); wrote[k] = true\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local out = {counted, total - counted, {}}\n"
	"for i = 1, #tk do\n"
	"  local v = got[tk[i] .. '|' .. tf[i]]\n"
	"  if v == nil then\n"
	"    if text[tk[i]] == nil then v = '' else v = text[tk[i]][tf[i]] or '0' end\n"
	"  end\n"
	"  out[#out + 1] = v\n"
	"end\n"
	"for k = 1, S do\n"
	"  local t = redis.call('PTTL', KEYS[k])\n"
	"  if t == -1 or (t >= 0 and t < (exp[k] - now - 86400) * 1000) then\n"
	"    redis.call('EXPIREAT', KEYS[k], exp[k])\n"
	"  end\n"
	"end\n"
	"for k = S + 1, S + C do\n"
	"  if wrote[k] and not existed[k] then redis.call('EXPIREAT', KEYS[k], exp[k]) end\n"
	"end\n"
	"return out\n";

/*
 * Each entry is checked before its writes (the rep's value and recorded
 * contribution are numbers, the total stays one); an entry that fails is
 * left out and counted in the answer {entries, left_out}. Entries are
 * independent, so writing the others is safe.
 *
 * The commands are per key, not per entry: for each (period, day) pair
 * one HMGET of the contributions it names and one HSET of those that
 * rise; for each KPI of the pair one HGET of the total and one increment
 * by the sum of its rises. A rep named twice for one field (two groups of
 * the rep in one bucket) counts once, at its larger value. Lists are
 * sent in slices, as unpack() has a bounded stack.
 */
static const char team_script[] =
	LUA_NUM
	"local P = #KEYS / 2\n"
	"local a = 1\n"
	"local exp = {}\n"
	"for p = 1, P do exp[p] = ARGV[a]; a = a + 1 end\n"
	"local N = tonumber(ARGV[a]); a = a + 1\n"
	"local by, idx = {}, {}\n"
	"for i = 1, N do\n"
	"  local p = tonumber(ARGV[a])\n"
	"  local f = ARGV[a + 1] .. '|' .. ARGV[a + 2]\n"
	"  local ix = idx[p] or {}; idx[p] = ix\n"
	"  local l = by[p] or {}; by[p] = l\n"
	"  local j = ix[f]\n"
	"  if j == nil then\n"
	"    l[#l + 1] = {f, ARGV[a + 1], ARGV[a + 3], ARGV[a + 4]}; ix[f] = #l\n"
	"  else\n"
	"    local e = l[j]\n"
	"    local v, w = num(e[3], e[4]), num(ARGV[a + 3], ARGV[a + 4])\n"
	"    if w and (not v or w > v) then e[3] = ARGV[a + 3] end\n"
	"  end\n"
	"  a = a + 5\n"
	"end\n"
	"local function slices(cmd, key, list, per, fn)\n"
	"  local out = {}\n"
	"  for s = 1, #list, per do\n"
	"    local args = {}\n"
	"    for j = s, math.min(#list, s + per - 1) do fn(args, list[j]) end\n"
	"    local r = redis.pcall(cmd, key, unpack(args))\n"
	"    if type(r) == 'table' and r.err then return nil end\n"
	"    if type(r) == 'table' then for _, v in ipairs(r) do out[#out + 1] = v end end\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"local skipped = 0\n"
	"for p = 1, P do\n"
	"  local l = by[p] or {}\n"
	"  local old = #l > 0 and slices('HMGET', KEYS[2 * p], l, 1000,\n"
	"    function(args, e) args[#args + 1] = e[1] end)\n"
	"  local rise, kinds, order = {}, {}, {}\n"
	"  for j, e in ipairs(l) do\n"
	"    local v = num(e[3], e[4])\n"
	"    local o = old and num(old[j], e[4])\n"
	"    if not (v and o) then skipped = skipped + 1\n"
	"    elseif v > o then\n"
	"      local k = e[2]\n"
	"      if rise[k] == nil then rise[k] = {0, {}}; kinds[k] = e[4]; order[#order + 1] = k end\n"
	"      rise[k][1] = rise[k][1] + (v - o)\n"
	"      table.insert(rise[k][2], e)\n"
	"    end\n"
	"  end\n"
	"  local sets = {}\n"
	"  for _, k in ipairs(order) do\n"
	"    local kd, d, es = kinds[k], rise[k][1], rise[k][2]\n"
	"    local t = redis.pcall('HGET', KEYS[2 * p - 1], k)\n"
	"    local tot = type(t) ~= 'table' and num(t, kd)\n"
	"    if tot and fits(tot + d, kd) then\n"
	"      if kd == 'a' then\n"
	"        redis.call('HINCRBYFLOAT', KEYS[2 * p - 1], k, d)\n"
	"      else\n"
	"        redis.call('HINCRBY', KEYS[2 * p - 1], k, string.format('%d', d))\n"
	"      end\n"
	"      for _, e in ipairs(es) do sets[#sets + 1] = e end\n"
	"    else skipped = skipped + #es end\n"
	"  end\n"
	"  if #sets > 0 then\n"
	"    slices('HSET', KEYS[2 * p], sets, 500,\n"
	"      function(args, e) args[#args + 1] = e[1]; args[#args + 1] = e[3] end)\n"
	"  end\n"
	"end\n"
	"for k = 1, 2 * P do\n"
	"  if redis.call('PTTL', KEYS[k]) == -1 then\n"
	"    redis.call('EXPIREAT', KEYS[k], exp[math.floor((k + 1) / 2)])\n"
	"  end\n"
	"end\n"
	"return {N, skipped}\n";

struct redis_apply {
	struct redis_conn *conn;
	int rep_sha, team_sha, board_sha, contest_sha;
};

/* A rep's absolute value of one field after the rep script. */
struct contrib {
	const struct config_team *team;
	enum period period;
	int32_t start_day;
	int64_t expire_at;
	size_t kpi;
	const char *rep_id;
	const struct roster_rep *rr;	/* for the boards */
	size_t val_off, val_len;	/* its text in apply_op.vals */
};

struct apply_op {
	struct redis_apply *a;
	const struct config *cfg;
	apply_done_cb *cb;
	void *arg;
	int outstanding;
	int failed;
	bool team_phase;
	struct apply_stats stats;
	const struct batch *b;
	/* events a rep script refused (their fields hold no number) */
	struct apply_refused *refused;
	size_t nrefused, refused_cap;
	/* the values' text, exactly as Redis answered it (no cut: a
	 * decimal of 10^60 is 61 digits long) */
	char *vals;
	size_t vals_len, vals_cap;
	/* per rep call: where its targets start in targets[] */
	struct contrib *targets;
	size_t ntargets, targets_cap;
	size_t *call_first, *call_count;
	size_t ncalls;
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

struct rep_call {
	struct apply_op *op;
	size_t index;
};

static void
team_reply(const redisReply *r, void *arg)
{
	struct apply_op *op = arg;
	const char *err = reply_error_text(r);

	if (err == NULL && reply_team_script(r) != 0)
		err = "unexpected reply shape from the team script";
	if (err == NULL && r->element[1]->integer > 0)
		log_warnx("redis_team_totals_left_out", "entries=%lld err=%s",
		    (long long)r->element[1]->integer, log_quote("a team total "
		    "or contribution field holds no number; fix or delete it"));
	if (err != NULL) {
		log_warnx("redis_apply_failed", "step=team err=%s", log_quote(err));
		if (reply_noscript(r))
			redis_conn_reset(op->a->conn, "script missing (NOSCRIPT)");
		op->failed = 1;
	}
	if (--op->outstanding == 0)
		op_finish(op);
}

static void
send_team_calls(struct apply_op *op)
{
	struct redis_argv *args = redis_argv_new();
	const struct config *cfg = op->cfg;
	size_t nteams = cfg->nteams;

	/* One call per team: gather that team's contributions. */
	for (size_t t = 0; t < nteams; t++) {
		const struct config_team *team = &cfg->teams[t];
		size_t npairs = 0, nentries = 0;
		/* distinct (period, day) pairs of this team, small */
		struct { enum period p; int32_t day; int64_t exp; } *pairs = NULL;
		size_t pairs_cap = 0;

		for (size_t i = 0; i < op->ntargets; i++) {
			struct contrib *c = &op->targets[i];
			size_t k;

			if (c->team != team)
				continue;
			nentries++;
			for (k = 0; k < npairs; k++)
				if (pairs[k].p == c->period && pairs[k].day == c->start_day)
					break;
			if (k == npairs) {
				if (npairs == pairs_cap) {
					pairs_cap = pairs_cap ? pairs_cap * 2 : 8;
					pairs = xreallocarray(pairs, pairs_cap, sizeof(*pairs));
				}
				pairs[npairs].p = c->period;
				pairs[npairs].day = c->start_day;
				pairs[npairs].exp = c->expire_at;
				npairs++;
			}
		}
		if (nentries == 0) {
			free(pairs);
			continue;
		}
		redis_argv_reset(args);
		redis_argv_str(args, "EVALSHA");
		redis_argv_str(args, redis_conn_script_sha(op->a->conn,
		    op->a->team_sha));
		redis_argv_fmt(args, "%zu", npairs * 2);
		for (size_t k = 0; k < npairs; k++) {
			redis_argv_take(args, keys_team_counters(cfg, team->id,
			    pairs[k].p, pairs[k].day));
			redis_argv_take(args, keys_team_contrib(cfg, team->id,
			    pairs[k].p, pairs[k].day));
		}
		for (size_t k = 0; k < npairs; k++)
			redis_argv_fmt(args, "%" PRId64, pairs[k].exp);
		redis_argv_fmt(args, "%zu", nentries);
		for (size_t i = 0; i < op->ntargets; i++) {
			struct contrib *c = &op->targets[i];
			size_t k;

			if (c->team != team)
				continue;
			for (k = 0; k < npairs; k++)
				if (pairs[k].p == c->period && pairs[k].day == c->start_day)
					break;
			redis_argv_fmt(args, "%zu", k + 1);
			redis_argv_str(args, cfg->kpis[c->kpi].name);
			redis_argv_str(args, c->rep_id);
			redis_argv_add(args, op->vals + c->val_off, c->val_len);
			redis_argv_str(args, cfg->kpis[c->kpi].measure ==
			    KPI_MEASURE_AMOUNT ? "a" : "c");
		}
		free(pairs);
		if (redis_conn_send(op->a->conn, args, team_reply, op) == 0)
			op->outstanding++;
		else
			op->failed = 1;
	}
	redis_argv_free(args);
}

/* Records the refused event at position pos (1-based, in the order the
 * rep call of batch rep br sent its events). */
static void
note_refused(struct apply_op *op, const struct batch_rep *br, long long pos)
{
	const struct batch *b = op->b;
	long long k = 0;

	for (uint32_t g = br->first_group; g != UINT32_MAX; g = b->groups[g].next)
		for (uint32_t e = b->groups[g].first; e != UINT32_MAX;
		    e = b->events[e].next) {
			if (++k != pos)
				continue;
			if (op->nrefused == op->refused_cap) {
				op->refused_cap = op->refused_cap ?
				    op->refused_cap * 2 : 16;
				op->refused = xreallocarray(op->refused,
				    op->refused_cap, sizeof(*op->refused));
			}
			op->refused[op->nrefused].partition = b->events[e].partition;
			op->refused[op->nrefused].offset = b->events[e].offset;
			op->nrefused++;
			return;
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

/* The leaderboards, from the absolute values the rep script answered. */
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
	op->outstanding += (int)board_redis_write(op->a->conn,
	    op->a->board_sha, op->cfg, w, op->ntargets, board_reply, op,
	    &op->failed);
	/* Contests, from the same absolute day values. */
	op->outstanding += (int)contest_redis_write(op->a->conn,
	    op->a->contest_sha, op->cfg, w, op->ntargets, caltime_wall_ms(),
	    board_reply, op, &op->failed);
	free(w);
}

static void
rep_reply(const redisReply *r, void *arg)
{
	struct rep_call *rc = arg;
	struct apply_op *op = rc->op;
	const char *err = reply_error_text(r);
	const redisReply *bad = NULL;

	if (err == NULL && reply_rep_script(r, op->call_count[rc->index]) != 0)
		err = "unexpected reply shape from the rep script";
	if (err == NULL)
		bad = r->element[2];
	if (err != NULL) {
		log_warnx("redis_apply_failed", "step=rep err=%s", log_quote(err));
		if (reply_noscript(r))
			redis_conn_reset(op->a->conn, "script missing (NOSCRIPT)");
		op->failed = 1;
	} else if (bad->elements > 0) {
		/* Nothing of this call was written. */
		const struct batch_rep *br = &op->b->reps[rc->index];

		log_warnx("redis_counts_refused", "rep=%s events=%zu err=%s",
		    br->rep->rep->id, bad->elements, log_quote("a counter or "
		    "dedupe key holds a value no count can be added to"));
		for (size_t i = 0; i < bad->elements; i++)
			if (bad->element[i]->type == REDIS_REPLY_INTEGER)
				note_refused(op, br, bad->element[i]->integer);
		op->failed = 1;
	} else {
		size_t first = op->call_first[rc->index];

		op->stats.counted += (uint64_t)r->element[0]->integer;
		op->stats.duplicates += (uint64_t)r->element[1]->integer;
		for (size_t i = 3; i < r->elements; i++) {
			const redisReply *v = r->element[i];
			struct contrib *c = &op->targets[first + i - 3];
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
	free(rc);
	if (--op->outstanding == 0)
		op_finish(op);
}

static void
op_finish(struct apply_op *op)
{
	if (!op->failed && !op->team_phase) {
		op->team_phase = true;
		send_team_calls(op);
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
	free(op->call_first);
	free(op->call_count);
	free(op);
}

static size_t
day_index(int32_t *days, size_t *n, int32_t day)
{
	for (size_t i = 0; i < *n; i++)
		if (days[i] == day)
			return i;
	days[*n] = day;
	return (*n)++;
}

/* Builds and sends the rep script call of batch rep br. */
static int
send_rep_call(struct apply_op *op, struct redis_argv *args,
    const struct batch *b,
    const struct batch_rep *br, size_t call)
{
	const struct config *cfg = op->cfg;
	const struct roster_rep *rr = br->rep;
	const struct period_rules *rules = &rr->calendar->rules;
	int32_t *seen = xcalloc(br->nevents, sizeof(int32_t));
	int64_t now = caltime_wall_ms() / 1000;
	struct { enum period p; int32_t start, end; } *cnt;
	size_t nseen = 0, ncnt = 0, ncnt_cap = (size_t)br->ngroups * PERIOD_COUNT;
	struct rep_call *rc;
	uint32_t g;

	cnt = xcalloc(ncnt_cap, sizeof(*cnt));
	/* distinct dedupe days and counter buckets */
	for (g = br->first_group; g != UINT32_MAX; g = b->groups[g].next) {
		const struct batch_group *gr = &b->groups[g];

		for (uint32_t e = gr->first; e != UINT32_MAX; e = b->events[e].next)
			day_index(seen, &nseen, b->events[e].utc_day);
		for (int p = 0; p < PERIOD_COUNT; p++) {
			struct bucket bk;
			size_t k;

			caltime_bucket_of_day(rules, (enum period)p, gr->local_day, &bk);
			for (k = 0; k < ncnt; k++)
				if (cnt[k].p == (enum period)p && cnt[k].start == bk.start_day)
					break;
			if (k == ncnt) {
				cnt[ncnt].p = (enum period)p;
				cnt[ncnt].start = bk.start_day;
				cnt[ncnt].end = bk.end_day;
				ncnt++;
			}
		}
	}

	redis_argv_reset(args);
	redis_argv_str(args, "EVALSHA");
	redis_argv_str(args, redis_conn_script_sha(op->a->conn, op->a->rep_sha));
	redis_argv_fmt(args, "%zu", nseen + ncnt);
	for (size_t k = 0; k < nseen; k++)
		redis_argv_take(args, keys_rep_seen(cfg, rr->rep->id, seen[k]));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_take(args, keys_rep_counters(cfg, rr->rep->id,
		    cnt[k].p, cnt[k].start));
	redis_argv_fmt(args, "%zu", nseen);
	redis_argv_fmt(args, "%" PRId64, now);
	for (size_t k = 0; k < nseen; k++)
		redis_argv_fmt(args, "%" PRId64,
		    keys_seen_expire_at(cfg, seen[k], now));
	for (size_t k = 0; k < ncnt; k++)
		redis_argv_fmt(args, "%" PRId64,
		    keys_bucket_expire_at(cfg, cnt[k].p, cnt[k].end));
	redis_argv_fmt(args, "%" PRIu32, br->ngroups);

	op->call_first[call] = op->ntargets;
	for (g = br->first_group; g != UINT32_MAX; g = b->groups[g].next) {
		const struct batch_group *gr = &b->groups[g];

		redis_argv_fmt(args, "%u", (unsigned)(gr->nkpis * PERIOD_COUNT));
		for (uint32_t k = 0; k < gr->nkpis; k++) {
			size_t kpi = gr->kpis[k];

			for (int p = 0; p < PERIOD_COUNT; p++) {
				struct bucket bk;
				size_t ci;
				struct contrib *c;

				caltime_bucket_of_day(rules, (enum period)p,
				    gr->local_day, &bk);
				for (ci = 0; ci < ncnt; ci++)
					if (cnt[ci].p == (enum period)p &&
					    cnt[ci].start == bk.start_day)
						break;
				redis_argv_fmt(args, "%zu", ci + 1);
				redis_argv_str(args, cfg->kpis[kpi].name);
				redis_argv_str(args, cfg->kpis[kpi].measure ==
				    KPI_MEASURE_AMOUNT ? "a" : "c");
				if (op->ntargets == op->targets_cap) {
					op->targets_cap = op->targets_cap ?
					    op->targets_cap * 2 : 256;
					op->targets = xreallocarray(op->targets,
					    op->targets_cap, sizeof(*op->targets));
				}
				c = &op->targets[op->ntargets++];
				c->team = rr->team;
				c->period = (enum period)p;
				c->start_day = bk.start_day;
				c->expire_at = keys_bucket_expire_at(cfg,
				    (enum period)p, bk.end_day);
				c->kpi = kpi;
				c->rep_id = rr->rep->id;
				c->rr = rr;
				contrib_set(op, c, "0", 1);
			}
		}
		redis_argv_fmt(args, "%" PRIu32, gr->nevents);
		for (uint32_t e = gr->first; e != UINT32_MAX; e = b->events[e].next) {
			const struct batch_event *ev = &b->events[e];
			size_t si = day_index(seen, &nseen, ev->utc_day);

			redis_argv_fmt(args, "%zu", si + 1);
			redis_argv_add(args, b->ids + ev->id_off, ev->id_len);
			redis_argv_fmt(args, "%" PRId32, ev->count);
			redis_argv_fmt(args, "%.17g", ev->amount);
		}
	}
	op->call_count[call] = op->ntargets - op->call_first[call];
	free(seen);
	free(cnt);

	rc = xcalloc(1, sizeof(*rc));
	rc->op = op;
	rc->index = call;
	if (redis_conn_send(op->a->conn, args, rep_reply, rc) != 0) {
		free(rc);
		return -1;
	}
	op->outstanding++;
	return 0;
}

int
redis_apply_counters(struct redis_apply *a, const struct batch *b,
    const struct roster *r, const struct config *cfg, apply_done_cb *cb,
    void *arg)
{
	struct apply_op *op;
	struct redis_argv *args;

	(void)r;
	if (!redis_conn_up(a->conn))
		return -1;
	op = xcalloc(1, sizeof(*op));
	op->a = a;
	op->cfg = cfg;
	op->cb = cb;
	op->arg = arg;
	op->ncalls = b->nreps;
	op->call_first = xcalloc(b->nreps ? b->nreps : 1, sizeof(size_t));
	op->call_count = xcalloc(b->nreps ? b->nreps : 1, sizeof(size_t));
	op->b = b;
	op->outstanding = 1;	/* held until every call is sent */
	args = redis_argv_new();
	for (size_t i = 0; i < b->nreps; i++) {
		if (send_rep_call(op, args, b, &b->reps[i], i) != 0) {
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

static void
watermark_read_reply(const redisReply *r, void *arg)
{
	struct simple_op *op = arg;
	const char *err = reply_error_text(r);
	int64_t *offs = xcalloc(op->n ? op->n : 1, sizeof(int64_t));

	for (size_t i = 0; i < op->n; i++)
		offs[i] = -1;
	if (err == NULL && reply_int64s(r, op->n, offs, NULL) != 0)
		err = "unexpected reply shape to HMGET";
	if (err != NULL)
		log_warnx("redis_watermarks_failed", "err=%s", log_quote(err));
	op->wcb(err ? -1 : 0, offs, op->arg);
	free(offs);
	free(op);
}

int
redis_apply_read_watermarks(struct redis_apply *a, const struct config *cfg,
    const char *topic, const int32_t *partitions, size_t n, watermarks_cb *cb,
    void *arg)
{
	struct redis_argv *args = redis_argv_new();
	struct simple_op *op;
	int rc;

	redis_argv_str(args, "HMGET");
	redis_argv_take(args, keys_offsets(cfg, topic));
	for (size_t i = 0; i < n; i++)
		redis_argv_fmt(args, "%" PRId32, partitions[i]);
	op = xcalloc(1, sizeof(*op));
	op->wcb = cb;
	op->arg = arg;
	op->n = n;
	rc = redis_conn_send(a->conn, args, watermark_read_reply, op);
	if (rc != 0)
		free(op);
	redis_argv_free(args);
	return rc;
}

static void
ignore_reply(const redisReply *r, void *arg)
{
	(void)r;
	(void)arg;
}

void
redis_apply_save_evclock(struct redis_apply *a, const struct config *cfg,
    const char *topic, const struct batch *b, int64_t tick)
{
	struct redis_argv *args;

	if (b->nparts == 0)
		return;
	args = redis_argv_new();
	redis_argv_str(args, "HSET");
	redis_argv_take(args, keys_evclock(cfg, topic));
	for (size_t k = 0; k < b->nparts; k++) {
		redis_argv_fmt(args, "%" PRId32, b->parts[k].partition);
		redis_argv_fmt(args, "%" PRId64, tick);
	}
	redis_conn_send(a->conn, args, ignore_reply, NULL);
	redis_argv_free(args);
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
	a->rep_sha = redis_conn_add_script(conn, rep_script);
	a->team_sha = redis_conn_add_script(conn, team_script);
	a->board_sha = redis_conn_add_script(conn, board_redis_script());
	a->contest_sha = redis_conn_add_script(conn, contest_redis_script());
	return a;
}

void
redis_apply_free(struct redis_apply *a)
{
	free(a);
}
