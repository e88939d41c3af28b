/*
 * contest_redis.c: contests in Redis, called by redis_apply.c with the
 * board writes of each applied batch (see contest_redis.h), by the
 * closing of ended contests and by the HTTP reads.
 *
 * Write script (KEYS: days hash, board, reached hash, result marker; all
 * under {contest:ID}). ARGV: expire_at, mode, goal ('' for highest),
 * now_ms, then entries.
 *   kpi mode, entries (member, "rep|date", absolute value): a value
 *   above the field's is stored and the member's total moves by the
 *   difference (day values only grow, as the counters they are read
 *   from; a stale lower value from a former owner changes nothing).
 *   score mode, entries (member, "rep|date", K, then K x (kpi, value or
 *   '-', coef, cap)): each weighted KPI's day value is stored as above
 *   under "rep|date|kpi", the day's activity score is worked out again
 *   from the stored values (sum of min(value x coef, cap): coef is
 *   weight x 100 / the day's target, cap weight x the score's cap) and
 *   kept under "rep|date", and the total moves by its change.
 * Every field the call names is read with one HMGET and the changed
 * ones written with one HSET (in slices of 1000, for Lua's unpack limit),
 * so the commands per call do not grow with its entries. The same values
 * sent again change no field, so nothing moves: a replay leaves the board
 * as it was. Nothing is written once the result marker
 * exists (the result is being or was sent: the standings are final).
 * Answers {members moved, finishes recorded}, or -1 when frozen.
 *
 * Close script (KEYS: result marker, board, reached). ARGV: now_ms,
 * lease_ms, expire_at. Answers {"sent"} when the result went out,
 * {"busy"} while another claim is younger than the lease, else claims it
 * (state pending, at now; this also freezes the board) and answers
 * {"go", board WITHSCORES, reached HGETALL}.
 */
#include "contest_redis.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "caltime.h"
#include "keys.h"
#include "scorecard.h"
#include "xmalloc.h"

static const char script[] =
	"if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end\n"
	"local goal = tonumber(ARGV[3])\n"
	"local fields, seen, cur, set = {}, {}, {}, {}\n"
	"local function want(f)\n"
	"  if not seen[f] then seen[f] = true; fields[#fields + 1] = f end\n"
	"end\n"
	"local entries, i = {}, 5\n"
	"if ARGV[2] == 'kpi' then\n"
	"  while i + 2 <= #ARGV do\n"
	"    entries[#entries + 1] = {ARGV[i], ARGV[i + 1], ARGV[i + 2]}\n"
	"    want(ARGV[i + 1]); i = i + 3\n"
	"  end\n"
	"else\n"
	"  while i + 2 <= #ARGV do\n"
	"    local e = {ARGV[i], ARGV[i + 1], {}}\n"
	"    local k = tonumber(ARGV[i + 2]); i = i + 3\n"
	"    want(e[2])\n"
	"    for j = 1, k do\n"
	"      local f = e[2] .. '|' .. ARGV[i]\n"
	"      e[3][j] = {f, ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])}\n"
	"      want(f); i = i + 4\n"
	"    end\n"
	"    entries[#entries + 1] = e\n"
	"  end\n"
	"end\n"
	"for s = 1, #fields, 1000 do\n"
	"  local r = redis.call('HMGET', KEYS[1], unpack(fields, s, math.min(#fields, s + 999)))\n"
	"  for j = 1, #r do cur[fields[s + j - 1]] = tonumber(r[j] or '0') or 0 end\n"
	"end\n"
	"local function fmt(x) return string.format('%.17g', x) end\n"
	"local function raise(f, text)\n"
	"  local v = tonumber(text)\n"
	"  if v ~= nil and v > cur[f] then\n"
	"    local d = v - cur[f]; cur[f] = v; set[f] = text; return d\n"
	"  end\n"
	"  return 0\n"
	"end\n"
	"local delta, order = {}, {}\n"
	"local function add(m, d)\n"
	"  if d == 0 then return end\n"
	"  if delta[m] == nil then order[#order + 1] = m; delta[m] = 0 end\n"
	"  delta[m] = delta[m] + d\n"
	"end\n"
	"for _, e in ipairs(entries) do\n"
	"  if ARGV[2] == 'kpi' then\n"
	"    add(e[1], raise(e[2], e[3]))\n"
	"  else\n"
	"    local score = 0\n"
	"    for _, p in ipairs(e[3]) do\n"
	"      raise(p[1], p[2])\n"
	"      score = score + math.min(cur[p[1]] * p[3], p[4])\n"
	"    end\n"
	"    local old = cur[e[2]]\n"
	"    if fmt(score) ~= fmt(old) then\n"
	"      cur[e[2]] = score; set[e[2]] = fmt(score); add(e[1], score - old)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local flat = {}\n"
	"for _, f in ipairs(fields) do\n"
	"  if set[f] then flat[#flat + 1] = f; flat[#flat + 1] = set[f] end\n"
	"end\n"
	"for s = 1, #flat, 1000 do\n"
	"  redis.call('HSET', KEYS[1], unpack(flat, s, math.min(#flat, s + 999)))\n"
	"end\n"
	"local reached = 0\n"
	"for _, m in ipairs(order) do\n"
	"  local t = tonumber(redis.call('ZINCRBY', KEYS[2], fmt(delta[m]), m))\n"
	"  if goal ~= nil and t >= goal then\n"
	"    reached = reached + redis.call('HSETNX', KEYS[3], m, ARGV[4])\n"
	"  end\n"
	"end\n"
	"for k = 1, 3 do\n"
	"  if redis.call('PTTL', KEYS[k]) == -1 then redis.call('EXPIREAT', KEYS[k], ARGV[1]) end\n"
	"end\n"
	"return {#order, reached}\n";

static const char close_script[] =
	"local st = redis.call('HGET', KEYS[1], 'state')\n"
	"if st == 'sent' then return {'sent'} end\n"
	"local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0') or 0\n"
	"if st == 'pending' and tonumber(ARGV[1]) - at < tonumber(ARGV[2]) then\n"
	"  return {'busy'}\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'state', 'pending', 'at', ARGV[1])\n"
	"if redis.call('PTTL', KEYS[1]) == -1 then redis.call('EXPIREAT', KEYS[1], ARGV[3]) end\n"
	"return {'go', redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),\n"
	"  redis.call('HGETALL', KEYS[3])}\n";

const char *
contest_redis_script(void)
{
	return script;
}

const char *
contest_redis_close_script(void)
{
	return close_script;
}

/* One write a contest takes, with its member. */
struct pick {
	const struct board_write *w;
	size_t member;
};

/* By rep, day, then KPI. */
static int
pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->w->rep->index != y->w->rep->index)
		return x->w->rep->index < y->w->rep->index ? -1 : 1;
	if (x->w->start_day != y->w->start_day)
		return x->w->start_day < y->w->start_day ? -1 : 1;
	if (x->w->kpi != y->w->kpi)
		return x->w->kpi < y->w->kpi ? -1 : 1;
	return 0;
}

/* "rep|YYYY-MM-DD" */
static void
add_day_field(struct redis_argv *args, const struct board_write *w)
{
	char date[16];

	caltime_format_date(w->start_day, date, sizeof(date));
	redis_argv_fmt(args, "%s|%s", w->rep->rep->id, date);
}

/* A write's value as a number (its text is not NUL-ended). */
static double
value_of(const struct board_write *w)
{
	char text[64];

	/* Values are Redis's text of a number, never this long. */
	snprintf(text, sizeof(text), "%.*s", (int)w->value_len, w->value);
	return strtod(text, NULL);
}

/* True when KPI k counts in rep rr's activity score on the day card is
 * for: weighted in its role and with a day target. */
static bool
score_counts(const struct config *cfg, const struct roster_rep *rr,
    const struct scorecard *card, size_t k)
{
	return board_score_weighs(cfg, rr->rep->role, k) &&
	    card->kpis[k].has_target && card->kpis[k].fig.target > 0;
}

/* The score mode's entry of one (rep, day): picks p[0..n) are its
 * weighted KPIs' values in this batch, by KPI. */
static void
add_score_entry(struct redis_argv *args, const struct config *cfg,
    const struct config_contest *ct, const struct pick *p, size_t n,
    struct scorecard *card, const double *zeros)
{
	const struct roster_rep *rr = p[0].w->rep;
	size_t role = rr->rep->role, nk = 0, j = 0;
	int64_t noon = tzone_local_to_utc(rr->zone, p[0].w->start_day, 720);

	/* The day's targets, as the day's activity score board has them. */
	scorecard_compute(cfg, rr, PERIOD_DAY, noon, zeros, card);
	for (size_t k = 0; k < cfg->nkpis; k++)
		if (score_counts(cfg, rr, card, k))
			nk++;
	redis_argv_str(args, contest_member_id(cfg, ct, p[0].member));
	add_day_field(args, p[0].w);
	redis_argv_fmt(args, "%zu", nk);
	for (size_t k = 0; k < cfg->nkpis; k++) {
		double wt = cfg->boards.score_weights[role * cfg->nkpis + k];
		size_t best = n;

		while (j < n && p[j].w->kpi < k)
			j++;
		/* The highest value of this KPI among the picks. */
		for (; j < n && p[j].w->kpi == k; j++)
			if (best == n || value_of(p[j].w) > value_of(p[best].w))
				best = j;
		if (!score_counts(cfg, rr, card, k))
			continue;
		redis_argv_str(args, cfg->kpis[k].name);
		if (best < n)
			redis_argv_add(args, p[best].w->value,
			    p[best].w->value_len);
		else
			redis_argv_str(args, "-");
		redis_argv_fmt(args, "%.17g", wt * 100.0 /
		    card->kpis[k].fig.target);
		redis_argv_fmt(args, "%.17g", wt * cfg->boards.score_cap);
	}
}

size_t
contest_redis_write(struct redis_conn *conn, int sha, const struct config *cfg,
    const struct board_write *w, size_t n, int64_t now_ms, redis_reply_cb *cb,
    void *arg, int *failed)
{
	struct pick *p = NULL;
	struct redis_argv *args = NULL;
	struct scorecard card;
	double *zeros = NULL;
	size_t sent = 0;

	memset(&card, 0, sizeof(card));
	for (size_t c = 0; c < cfg->ncontests; c++) {
		const struct config_contest *ct = &cfg->contests[c];
		size_t np = 0;

		for (size_t i = 0; i < n; i++) {
			ssize_t m;

			if (w[i].period != PERIOD_DAY ||
			    w[i].start_day < ct->first_day ||
			    w[i].start_day > ct->last_day)
				continue;
			if (ct->kpi >= 0 ? w[i].kpi != (size_t)ct->kpi :
			    !board_score_weighs(cfg, w[i].rep->rep->role,
			    w[i].kpi))
				continue;
			if ((m = contest_member_of_rep(ct,
			    w[i].rep->index)) < 0)
				continue;
			if (p == NULL)
				p = xcalloc(n, sizeof(*p));
			p[np].w = &w[i];
			p[np++].member = (size_t)m;
		}
		if (np == 0)
			continue;
		if (args == NULL) {
			args = redis_argv_new();
			zeros = xcalloc(cfg->nkpis + 1, sizeof(double));
			card.kpis = xcalloc(cfg->nkpis + 1, sizeof(*card.kpis));
		}
		qsort(p, np, sizeof(*p), pick_cmp);
		redis_argv_reset(args);
		redis_argv_str(args, "EVALSHA");
		redis_argv_str(args, redis_conn_script_sha(conn, sha));
		redis_argv_str(args, "4");
		redis_argv_take(args, keys_contest_days(cfg, ct->id));
		redis_argv_take(args, keys_contest_board(cfg, ct->id));
		redis_argv_take(args, keys_contest_reached(cfg, ct->id));
		redis_argv_take(args, keys_contest_result(cfg, ct->id));
		redis_argv_fmt(args, "%" PRId64,
		    keys_contest_expire_at(cfg, ct->last_day));
		redis_argv_str(args, ct->kpi >= 0 ? "kpi" : "score");
		if (ct->kind == CONTEST_RACE)
			redis_argv_fmt(args, "%.17g", ct->goal);
		else
			redis_argv_str(args, "");
		redis_argv_fmt(args, "%" PRId64, now_ms);
		for (size_t i = 0; i < np;) {
			size_t j = i + 1;

			while (j < np && p[j].w->rep == p[i].w->rep &&
			    p[j].w->start_day == p[i].w->start_day &&
			    (ct->kpi < 0 || p[j].w->kpi == p[i].w->kpi))
				j++;
			if (ct->kpi >= 0) {
				/* A repeat of the same field: the script
				 * keeps the highest. */
				for (size_t k = i; k < j; k++) {
					redis_argv_str(args, contest_member_id(
					    cfg, ct, p[k].member));
					add_day_field(args, p[k].w);
					redis_argv_add(args, p[k].w->value,
					    p[k].w->value_len);
				}
			} else
				add_score_entry(args, cfg, ct, &p[i], j - i,
				    &card, zeros);
			i = j;
		}
		if (redis_conn_send(conn, args, cb, arg) == 0)
			sent++;
		else
			*failed = 1;
	}
	redis_argv_free(args);
	free(card.kpis);
	free(zeros);
	free(p);
	return sent;
}

int
contest_redis_lines(const struct config *cfg, const struct config_contest *ct,
    const struct redisReply *board, const struct redisReply *reached,
    struct contest_line *v)
{
	struct contest_index *x;

	if (board == NULL || board->type != REDIS_REPLY_ARRAY ||
	    board->elements % 2 != 0 || (reached != NULL &&
	    (reached->type != REDIS_REPLY_ARRAY || reached->elements % 2 != 0)))
		return -1;
	for (size_t i = 0; i < ct->nmembers; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].member = i;
	}
	x = contest_index_new(cfg, ct);
	for (size_t i = 0; i < board->elements; i += 2) {
		const struct redisReply *id = board->element[i];
		const struct redisReply *sc = board->element[i + 1];
		char text[64];
		ssize_t m;

		if (id->type != REDIS_REPLY_STRING ||
		    sc->type != REDIS_REPLY_STRING || sc->len >= sizeof(text))
			continue;
		if ((m = contest_index_find(x, id->str, id->len)) < 0)
			continue;
		memcpy(text, sc->str, sc->len);
		text[sc->len] = '\0';
		v[m].value = strtod(text, NULL);
	}
	for (size_t i = 0; reached != NULL && i < reached->elements; i += 2) {
		const struct redisReply *id = reached->element[i];
		const struct redisReply *at = reached->element[i + 1];
		char text[32];
		ssize_t m;

		if (id->type != REDIS_REPLY_STRING ||
		    at->type != REDIS_REPLY_STRING || at->len >= sizeof(text))
			continue;
		if ((m = contest_index_find(x, id->str, id->len)) < 0)
			continue;
		memcpy(text, at->str, at->len);
		text[at->len] = '\0';
		v[m].reached = true;
		v[m].reached_ms = strtoll(text, NULL, 10);
	}
	contest_index_free(x);
	return 0;
}
