/*
 * count_script.c: the counting script, called once per counter shard and
 * batch by redis_apply.c (whose opening says what a call does), and the
 * packing of the numbers it is sent.
 *
 * Two passes. The first only reads, one command per key: which ids are
 * new (SMISMEMBER on each dedupe set, and ids met earlier in the call),
 * the text of every rep field the call names (HMGET on each counter
 * hash), and from these whether every rep field a group adds to holds a
 * number that stays one after the addition. A group that fails refuses
 * its new events; if any is refused the call writes nothing and answers
 * their positions (1-based, in the order sent), so that no id is ever
 * marked seen without its counts. Only then the second pass writes, with
 * commands that can no longer fail: one SADD per dedupe set and one HSET
 * per hash of every value that changed. A team hash is read (HMGET of
 * every team field the call names) just before its HSET, and only when
 * the call adds to one of its fields: a team field holding no number is
 * left out (and counted); the others are written. A hash gets its expiry
 * when none of the fields the call names existed (it may be new; a hash
 * gets its expiry when created, so one holding any of them has it
 * already); a dedupe set's is checked with PTTL.
 *
 * The last key is the shard's watermark hash: once the counts are in,
 * each partition the call names (W below: those of the call's events,
 * or every partition of the batch at the refresh, redis_apply.c) gets
 * its next offset there, in the same atomic step, so a shard's
 * watermark says: every event before it that belongs to this shard is
 * counted.
 *
 * A field's text as a number (num): kind 0, a count: an integer of at
 * most 15 digits (Lua's numbers are doubles: exact below 2^53, and adding
 * a batch stays below it); kind 1, an amount: a decimal, finite as a
 * double. A missing field is 0. A value written back (fmt): an integer in
 * full ('%d': below 10^15 the same text as '%.0f'), a decimal in the
 * fewest digits that read back the same double.
 *
 * KEYS: the shard's dedupe sets (S), its counter hashes (C), its team
 * hashes (C, one per counter hash and in the same order), its watermark
 * hash.
 *
 * ARGV: S, C, now, P (periods), W, W x (partition, next offset), the
 * EXPIREAT of each set and counter hash (a team hash has its counter
 * hash's), the numbers N (below), then the names, each once: the members
 * of each set ("rep|event_id"), the rep fields of each counter hash, the
 * team fields of each team hash, in the order of the keys.
 *
 * N, a MessagePack array: per set its number of members, per counter
 * hash its number of rep fields, per team hash its number of team fields,
 * G, then per group: K, K x (kind; then per period, day to quarter, the
 * index of its rep field among all the rep fields of the call, and of
 * its team field among the team fields, from 1), E, E x (the index of
 * its member among all the members of the call, from 1, count, amount).
 * A group's targets, in the order their values are answered: per KPI,
 * per period.
 *
 * The script's cost is per field and per event, so that work is kept
 * small: the names are sent once (no table keyed by a name), the numbers
 * are packed (none parsed from text), the values live in arrays indexed
 * as the names are, and a read's arguments are a range of ARGV.
 *
 * A hash Redis keeps as a listpack (a small hash: one list, a field found
 * by walking it) from which the call reads 32 fields or more is read
 * whole, with HGETALL: one walk instead of one per field.
 */
#include "count_script.h"

#include <string.h>

static const char script[] =
	"local tonumber, find, byte = tonumber, string.find, string.byte\n"
	"local format = string.format\n"
	"local unpack, floor, huge = unpack, math.floor, math.huge\n"
	"local pcall_, call_ = redis.pcall, redis.call\n"
	"local function num(v, kd)\n"
	"  if v == false or v == nil then return 0 end\n"
	"  if type(v) ~= 'string' or #v == 0 or #v > 5000 then return nil end\n"
	"  if kd == 0 then\n"
	"    if v == '0' then return 0 end\n"
	"    if not find(v, '^%-?[1-9]%d*$') then return nil end\n"
	"    local d = #v\n"
	"    if byte(v, 1) == 45 then d = d - 1 end\n"
	"    if d > 15 then return nil end\n"
	"    return tonumber(v)\n"
	"  end\n"
	"  if find(v, '%s') then return nil end\n"
	"  local x = tonumber(v)\n"
	"  if x == nil or x ~= x or x == huge or x == -huge then\n"
	"    return nil\n"
	"  end\n"
	"  return x\n"
	"end\n"
	"local function fits(x, kd)\n"
	"  if kd == 0 then return x < 1e15 and x > -1e15 end\n"
	"  return x == x and x < huge and x > -huge\n"
	"end\n"
	"local function fmt(x, kd)\n"
	"  if kd == 0 or (x == floor(x) and x < 1e15 and x > -1e15) then\n"
	"    return format('%d', x)\n"
	"  end\n"
	"  local s = format('%.15g', x)\n"
	"  if tonumber(s) == x then return s end\n"
	"  s = format('%.16g', x)\n"
	"  if tonumber(s) == x then return s end\n"
	"  return format('%.17g', x)\n"
	"end\n"
	"local A = ARGV\n"
	"local S, C = tonumber(A[1]), tonumber(A[2])\n"
	"local now, P, W = tonumber(A[3]), tonumber(A[4]), tonumber(A[5])\n"
	"local x0 = 6 + 2 * W + S + C\n"
	"local N = cmsgpack.unpack(A[x0])\n"
	"local function read(cmd, key, lo, hi, dst, d0)\n"
	"  if cmd == 'HMGET' and hi - lo >= 31 then\n"
	"    local enc = pcall_('OBJECT', 'ENCODING', key)\n"
	"    if enc == 'listpack' or enc == 'ziplist' then\n"
	"      local r = pcall_('HGETALL', key)\n"
	"      if r.err then return false end\n"
	"      local w, o = {}, d0 - lo + 1\n"
	"      for i = lo, hi do w[A[i]] = o + i; dst[o + i] = false end\n"
	"      for i = 1, #r, 2 do\n"
	"        local j = w[r[i]]\n"
	"        if j then dst[j] = r[i + 1] end\n"
	"      end\n"
	"      return true\n"
	"    end\n"
	"  end\n"
	"  for s = lo, hi, 1000 do\n"
	"    local e = s + 999\n"
	"    if e > hi then e = hi end\n"
	"    local r = pcall_(cmd, key, unpack(A, s, e))\n"
	"    if r.err then return false end\n"
	"    local o = d0 + s - lo\n"
	"    for i = 1, e - s + 1 do dst[o + i] = r[i] end\n"
	"  end\n"
	"  return true\n"
	"end\n"
	"local function write(cmd, key, l, n)\n"
	"  for s = 1, n, 1000 do\n"
	"    local e = s + 999\n"
	"    if e > n then e = n end\n"
	"    call_(cmd, key, unpack(l, s, e))\n"
	"  end\n"
	"end\n"
	"local function any(t, lo, hi)\n"
	"  for i = lo, hi do if t[i] then return true end end\n"
	"  return false\n"
	"end\n"
	"local st, rt, existed, ms, rs, ts = {}, {}, {}, {}, {}, {}\n"
	"local ao, so = x0 + 1, 0\n"
	"for k = 1, S do\n"
	"  local m = N[k]\n"
	"  ms[k] = ao\n"
	"  if not read('SMISMEMBER', KEYS[k], ao, ao + m - 1, st, so) then\n"
	"    for i = so + 1, so + m do st[i] = -1 end\n"
	"  end\n"
	"  ao = ao + m; so = so + m\n"
	"end\n"
	"so = 0\n"
	"for k = 1, C do\n"
	"  local f = N[S + k]\n"
	"  rs[k] = ao\n"
	"  if f > 0 then\n"
	"    if read('HMGET', KEYS[S + k], ao, ao + f - 1, rt, so) then\n"
	"      existed[S + k] = any(rt, so + 1, so + f)\n"
	"    else\n"
	"      for i = so + 1, so + f do rt[i] = 0 end\n"
	"    end\n"
	"  end\n"
	"  ao = ao + f; so = so + f\n"
	"end\n"
	"for k = 1, C do ts[k] = ao; ao = ao + N[S + C + k] end\n"
	"local G, c0, KW = N[S + 2 * C + 1], S + 2 * C + 2, 1 + 2 * P\n"
	"local cur, chg, taken, tadd, tkd = {}, {}, {}, {}, {}\n"
	"local pk, pv, pd, pt, pa, nw, bad = {}, {}, {}, {}, {}, {}, {}\n"
	"local nb, pos, counted, c = 0, 0, 0, c0\n"
	"for g = 1, G do\n"
	"  local K = N[c]\n"
	"  local q0 = c + 1\n"
	"  c = q0 + K * KW\n"
	"  local E = N[c]\n"
	"  c = c + 1\n"
	"  local n, amt, nn, ok = 0, 0, 0, true\n"
	"  for e = 1, E do\n"
	"    local j = N[c]\n"
	"    local t = st[j]\n"
	"    if t == -1 then ok = false end\n"
	"    if t ~= 1 and not taken[j] then\n"
	"      taken[j] = true; nn = nn + 1; nw[nn] = pos + e\n"
	"      n = n + N[c + 1]; amt = amt + N[c + 2]\n"
	"    end\n"
	"    c = c + 3\n"
	"  end\n"
	"  if nn > 0 then\n"
	"    local np = 0\n"
	"    for b = q0, q0 + (K - 1) * KW, KW do\n"
	"      local kd = N[b]\n"
	"      local add = n\n"
	"      if kd == 1 then add = amt end\n"
	"      if add > 0 then\n"
	"        for i = b + 1, b + 2 * P, 2 do\n"
	"          local s = N[i]\n"
	"          local v = cur[s]\n"
	"          if v == nil then\n"
	"            v = rt[s]\n"
	"            if v == false then v = 0\n"
	"            else v = num(v, kd) or false end\n"
	"            cur[s] = v\n"
	"          end\n"
	"          if v == false or not fits(v + add, kd) then ok = false\n"
	"          else\n"
	"            np = np + 1; pk[np] = s; pv[np] = v + add; pd[np] = kd\n"
	"            pt[np] = N[i + 1]; pa[np] = add\n"
	"          end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    if ok then\n"
	"      for i = 1, np do\n"
	"        local s, t = pk[i], pt[i]\n"
	"        cur[s] = pv[i]; chg[s] = pd[i]\n"
	"        tadd[t] = (tadd[t] or 0) + pa[i]; tkd[t] = pd[i]\n"
	"      end\n"
	"      counted = counted + nn\n"
	"    else\n"
	"      for i = 1, nn do nb = nb + 1; bad[nb] = nw[i] end\n"
	"    end\n"
	"  end\n"
	"  pos = pos + E\n"
	"end\n"
	"if nb > 0 then return {0, 0, bad, 0} end\n"
	"local hs, left, tx = {}, 0, {}\n"
	"so = 0\n"
	"for k = 1, S do\n"
	"  local l, nl, o = {}, 0, ms[k] - so - 1\n"
	"  for j = so + 1, so + N[k] do\n"
	"    if taken[j] then nl = nl + 1; l[nl] = A[o + j] end\n"
	"  end\n"
	"  write('SADD', KEYS[k], l, nl)\n"
	"  so = so + N[k]\n"
	"end\n"
	"so = 0\n"
	"for k = 1, C do\n"
	"  local f, l, nl, o = N[S + k], {}, 0, rs[k] - so - 1\n"
	"  for s = so + 1, so + f do\n"
	"    local kd = chg[s]\n"
	"    if kd then\n"
	"      local v = cur[s]\n"
	"      if kd == 0 then v = format('%d', v) else v = fmt(v, kd) end\n"
	"      tx[s] = v; l[nl + 1] = A[o + s]; l[nl + 2] = v; nl = nl + 2\n"
	"    end\n"
	"  end\n"
	"  write('HSET', KEYS[S + k], l, nl)\n"
	"  hs[S + k] = nl > 0\n"
	"  so = so + f\n"
	"end\n"
	"so = 0\n"
	"for k = 1, C do\n"
	"  local f, key = N[S + C + k], KEYS[S + C + k]\n"
	"  if any(tadd, so + 1, so + f) then\n"
	"    local r, l, nl, o = {}, {}, 0, ts[k] - so - 1\n"
	"    if read('HMGET', key, ts[k], ts[k] + f - 1, r, 0) then\n"
	"      existed[S + C + k] = any(r, 1, f)\n"
	"    else r = nil end\n"
	"    for s = so + 1, so + f do\n"
	"      local ta = tadd[s]\n"
	"      if ta then\n"
	"        local kd = tkd[s]\n"
	"        local old = r ~= nil and num(r[s - so], kd)\n"
	"        if old and fits(old + ta, kd) then\n"
	"          l[nl + 1] = A[o + s]; l[nl + 2] = fmt(old + ta, kd)\n"
	"          nl = nl + 2\n"
	"        else left = left + 1 end\n"
	"      end\n"
	"    end\n"
	"    write('HSET', key, l, nl)\n"
	"    hs[S + C + k] = nl > 0\n"
	"  end\n"
	"  so = so + f\n"
	"end\n"
	"if W > 0 then\n"
	"  call_('HSET', KEYS[#KEYS], unpack(A, 6, 5 + 2 * W))\n"
	"end\n"
	"local out, no = {counted, pos - counted, {}, left}, 4\n"
	"c = c0\n"
	"for g = 1, G do\n"
	"  local K = N[c]\n"
	"  local q0 = c + 1\n"
	"  c = q0 + K * KW\n"
	"  c = c + 1 + 3 * N[c]\n"
	"  for b = q0, q0 + (K - 1) * KW, KW do\n"
	"    for i = b + 1, b + 2 * P, 2 do\n"
	"      local s = N[i]\n"
	"      local v = tx[s]\n"
	"      if v == nil then\n"
	"        v = rt[s]\n"
	"        if v == 0 then v = '' elseif not v then v = '0' end\n"
	"      end\n"
	"      no = no + 1; out[no] = v\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for k = 1, S do\n"
	"  local ex = tonumber(A[5 + 2 * W + k])\n"
	"  local t = call_('PTTL', KEYS[k])\n"
	"  if t == -1 or (t >= 0 and t < (ex - now - 86400) * 1000) then\n"
	"    call_('EXPIREAT', KEYS[k], ex)\n"
	"  end\n"
	"end\n"
	"for k = S + 1, S + 2 * C do\n"
	"  if hs[k] and not existed[k] then\n"
	"    local e = k\n"
	"    if k > S + C then e = k - C end\n"
	"    call_('EXPIREAT', KEYS[k], A[5 + 2 * W + e])\n"
	"  end\n"
	"end\n"
	"return out\n";

const char *
count_script(void)
{
	return script;
}

char *
count_script_pack_array(char *p, uint32_t n)
{
	*p++ = (char)0xdd;
	for (int i = 3; i >= 0; i--)
		*p++ = (char)(n >> (8 * i));
	return p;
}

char *
count_script_pack_int(char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int n;

	if (v >= 0 && v < 128) {
		*p++ = (char)v;
		return p;
	}
	if (v >= 0 && v <= UINT32_MAX) {
		*p++ = (char)0xce;	/* uint 32 */
		n = 4;
	} else if (v >= INT32_MIN && v < 0) {
		*p++ = (char)0xd2;	/* int 32 */
		n = 4;
	} else {
		*p++ = (char)(v < 0 ? 0xd3 : 0xcf);	/* int 64, uint 64 */
		n = 8;
	}
	for (int i = n - 1; i >= 0; i--)
		*p++ = (char)(u >> (8 * i));
	return p;
}

char *
count_script_pack_double(char *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	*p++ = (char)0xcb;	/* float 64 */
	for (int i = 7; i >= 0; i--)
		*p++ = (char)(u >> (8 * i));
	return p;
}
