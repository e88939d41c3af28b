/*
 * board_redis.c: the board script and its calls. board_flush.c (the
 * coalesced writer the daemon uses) opens one call per board with
 * board_redis_call_open when someone listens to the change stream;
 * board_redis_write, for a caller without the writer, sends an applied
 * batch's values at once. The (board key, rep, value) triples are sorted
 * by key so that each board gets one call however many reps of the batch
 * it holds: the cost is per board and batch, never per event.
 *
 * A rep whose batch spans several days of one week has several values
 * for the week's boards: only the highest (the last) is sent.
 *
 * Board script (KEYS[1]: one board): one ZADD GT of all (value, rep)
 * pairs (in slices, for Lua's unpack limit), then EXPIREAT ARGV[1] when
 * the key has no expiry yet. GT keeps the highest value: counters only
 * grow, so a stale write from a former owner of the partition cannot
 * lower a rep's score.
 *
 * The change stream, for a board's first stream_top positions
 * (leaderboards.stream_top): before and after the ZADD the script reads
 * those positions (one ZREVRANGE each, ZRANGE for a KPI with better:
 * lower) and, when a rep of the call moved among them, PUBLISHes on
 * ARGV[2] one rank message: ARGV[3] (its opening, changes.c) with "top"
 * and "moves" [{rep, old_rank, new_rank, value}] added. Two reads of at
 * most stream_top entries per board and batch, however many reps the call
 * holds. With stream_top 0 every rep of the call is followed instead
 * (ZREVRANK before and after each: two reads per rep).
 *
 * Nobody listening (PUBSUB NUMSUB of the channel is 0), the script reads
 * no position and publishes nothing: the board write alone. "always"
 * skips that check: on Redis Cluster a node counts only its own
 * subscribers, while PUBLISH reaches every node's.
 *
 * ARGV: expire_at, channel, message opening, "asc" | "desc", stream_top,
 * "check" | "always", then the (value, rep) pairs.
 */
#include "board_redis.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "changes.h"
#include "hash.h"
#include "keys.h"
#include "xmalloc.h"

static const char script[] =
	"local asc = ARGV[4] == 'asc'\n"
	"local top = tonumber(ARGV[5])\n"
	"local pub = ARGV[2] ~= '' and (ARGV[6] == 'always' or\n"
	"  redis.call('PUBSUB', 'NUMSUB', ARGV[2])[2] > 0)\n"
	"local function head()\n"
	"  local l = redis.call(asc and 'ZRANGE' or 'ZREVRANGE', KEYS[1], 0, top - 1)\n"
	"  local at = {}\n"
	"  for i, m in ipairs(l) do at[m] = i end\n"
	"  return l, at\n"
	"end\n"
	"local rank = asc and 'ZRANK' or 'ZREVRANK'\n"
	"local before, old = {}, {}\n"
	"if pub and top > 0 then\n"
	"  local _\n"
	"  _, before = head()\n"
	"elseif pub then\n"
	"  for i = 7, #ARGV, 2 do\n"
	"    old[#old + 1] = redis.call(rank, KEYS[1], ARGV[i + 1])\n"
	"  end\n"
	"end\n"
	"for i = 7, #ARGV, 2000 do\n"
	"  redis.call('ZADD', KEYS[1], 'GT', unpack(ARGV, i, math.min(i + 1999, #ARGV)))\n"
	"end\n"
	"if redis.call('PTTL', KEYS[1]) == -1 then\n"
	"  redis.call('EXPIREAT', KEYS[1], ARGV[1])\n"
	"end\n"
	"if not pub then return (#ARGV - 6) / 2 end\n"
	"local moves = {}\n"
	"local function move(rep, o, n, v)\n"
	"  moves[#moves + 1] = '{\"rep\":' .. cjson.encode(rep) ..\n"
	"    ',\"old_rank\":' .. (o and tostring(o) or 'null') ..\n"
	"    ',\"new_rank\":' .. tostring(n) .. ',\"value\":' .. v .. '}'\n"
	"end\n"
	"if top > 0 then\n"
	"  local value = {}\n"
	"  for i = 7, #ARGV, 2 do value[ARGV[i + 1]] = ARGV[i] end\n"
	"  local l = head()\n"
	"  for i, m in ipairs(l) do\n"
	"    if value[m] and before[m] ~= i then move(m, before[m], i, value[m]) end\n"
	"  end\n"
	"else\n"
	"  local n = 0\n"
	"  for i = 7, #ARGV, 2 do\n"
	"    n = n + 1\n"
	"    local new = redis.call(rank, KEYS[1], ARGV[i + 1])\n"
	"    if new ~= old[n] then\n"
	"      move(ARGV[i + 1], old[n] and old[n] + 1, new + 1, ARGV[i])\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if #moves > 0 then\n"
	"  redis.call('PUBLISH', ARGV[2], ARGV[3] .. ',\"top\":' .. top ..\n"
	"    ',\"moves\":[' .. table.concat(moves, ',') .. ']}')\n"
	"end\n"
	"return (#ARGV - 6) / 2\n";

const char *
board_redis_script(void)
{
	return script;
}

void
board_redis_call_open(struct redis_argv *args, struct redis_conn *conn,
    int sha, const struct config *cfg, const char *key, const char *scope,
    size_t kpi, enum period period, int32_t start_day, int64_t expire_at,
    bool always)
{
	redis_argv_reset(args);
	redis_argv_str(args, "EVALSHA");
	redis_argv_str(args, redis_conn_script_sha(conn, sha));
	redis_argv_str(args, "1");
	redis_argv_str(args, key);
	redis_argv_int(args, expire_at);
	redis_argv_take(args, keys_changes_channel(cfg));
	redis_argv_take(args, changes_rank_head(scope, cfg->kpis[kpi].name,
	    period, start_day));
	redis_argv_str(args, cfg->kpis[kpi].better == KPI_BETTER_LOWER ?
	    "asc" : "desc");
	redis_argv_int(args, cfg->boards.stream_top);
	redis_argv_str(args, always ? "always" : "check");
}

/* One (board, rep, value); the board is (scope, KPI, period, day), its
 * key built once per board, not per line. */
struct line {
	const char *scope;		/* into gather.scopes */
	const struct board_write *w;
	double num;			/* w's value */
};

struct gather {
	const struct config *cfg;
	const struct board_write *w;
	double num;
	struct line *v;
	size_t n, cap;
	/* the scope names of the call, each once: an open-addressing table
	 * (a power of two, at most half full) */
	char **scopes;
	size_t nscopes, scopes_cap;
	size_t last, nlast;		/* the previous target's lines */
};

/* Scope s (borrowed) as kept in g: found, or added. */
static const char *
intern(struct gather *g, const char *s)
{
	size_t len = strlen(s), mask, i;

	if (2 * (g->nscopes + 1) > g->scopes_cap) {
		size_t cap = g->scopes_cap ? g->scopes_cap * 2 : 256;
		char **t = xcalloc(cap, sizeof(*t));

		for (size_t k = 0; k < g->scopes_cap; k++) {
			const char *o = g->scopes[k];

			if (o == NULL)
				continue;
			i = hash_fnv1a(HASH_FNV1A_INIT, o, strlen(o)) &
			    (cap - 1);
			while (t[i] != NULL)
				i = (i + 1) & (cap - 1);
			t[i] = g->scopes[k];
		}
		free(g->scopes);
		g->scopes = t;
		g->scopes_cap = cap;
	}
	mask = g->scopes_cap - 1;
	i = hash_fnv1a(HASH_FNV1A_INIT, s, len) & mask;
	for (; g->scopes[i] != NULL; i = (i + 1) & mask)
		if (strcmp(g->scopes[i], s) == 0)
			return g->scopes[i];
	g->nscopes++;
	return g->scopes[i] = xstrdup(s);
}

/* A line of g's current target on the board of scope (interned). */
static void
add_line(struct gather *g, const char *scope)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->v = xreallocarray(g->v, g->cap, sizeof(*g->v));
	}
	g->v[g->n].scope = scope;
	g->v[g->n].w = g->w;
	g->v[g->n].num = g->num;
	g->n++;
}

static void
add_scope(const char *scope, void *arg)
{
	struct gather *g = arg;

	add_line(g, intern(g, scope));
}

/* True when x and y are on one board. */
static bool
same_board(const struct line *x, const struct line *y)
{
	return x->scope == y->scope && x->w->kpi == y->w->kpi &&
	    x->w->period == y->w->period && x->w->start_day == y->w->start_day;
}

/* By board (scope, KPI, period, day), then rep, the highest value first. */
static int
line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	/* Scopes are interned and reps are the roster's: pointers order
	 * them (any order groups a board's lines together). */
	if (x->scope != y->scope)
		return (uintptr_t)x->scope < (uintptr_t)y->scope ? -1 : 1;
	if (x->w->kpi != y->w->kpi)
		return x->w->kpi < y->w->kpi ? -1 : 1;
	if (x->w->period != y->w->period)
		return x->w->period < y->w->period ? -1 : 1;
	if (x->w->start_day != y->w->start_day)
		return x->w->start_day < y->w->start_day ? -1 : 1;
	if (x->w->rep != y->w->rep)
		return (uintptr_t)x->w->rep < (uintptr_t)y->w->rep ? -1 : 1;
	return x->num > y->num ? -1 : x->num < y->num ? 1 : 0;
}

size_t
board_redis_write(struct redis_conn *conn, int sha, const struct config *cfg,
    const struct board_write *w, size_t n, redis_reply_cb *cb, void *arg,
    int *failed)
{
	struct gather g = { cfg, NULL, 0, NULL, 0, 0, NULL, 0, 0, 0, 0 };
	struct redis_argv *args;
	size_t sent = 0;

	for (size_t i = 0; i < n; i++) {
		char text[64];
		size_t first = g.n;

		/* Values are Redis's text of a number, never this long. */
		snprintf(text, sizeof(text), "%.*s", (int)w[i].value_len,
		    w[i].value);
		g.w = &w[i];
		g.num = strtod(text, NULL);
		if (i > 0 && w[i].rep == w[i - 1].rep && g.nlast > 0) {
			/* The rep's scopes again (its targets come together):
			 * the lines of the previous target, this one's value. */
			for (size_t k = 0; k < g.nlast; k++) {
				add_line(&g, g.v[g.last + k].scope);
			}
		} else {
			board_rep_scopes(cfg, w[i].rep, add_scope, &g);
		}
		g.last = first;
		g.nlast = g.n - first;
	}
	if (g.n > 1)
		qsort(g.v, g.n, sizeof(*g.v), line_cmp);
	args = redis_argv_new();
	for (size_t i = 0; i < g.n;) {
		size_t j = i;
		char *key = keys_board(cfg, g.v[i].scope,
		    cfg->kpis[g.v[i].w->kpi].name, g.v[i].w->period,
		    g.v[i].w->start_day);

		/* A cluster node counts its own subscribers only. */
		board_redis_call_open(args, conn, sha, cfg, key, g.v[i].scope,
		    g.v[i].w->kpi, g.v[i].w->period, g.v[i].w->start_day,
		    g.v[i].w->expire_at, cfg->redis.cluster);
		free(key);
		for (; j < g.n && same_board(&g.v[j], &g.v[i]); j++) {
			if (j > i && g.v[j].w->rep == g.v[j - 1].w->rep)
				continue;	/* a lower value of the same rep */
			redis_argv_add(args, g.v[j].w->value,
			    g.v[j].w->value_len);
			redis_argv_str(args, g.v[j].w->rep->rep->id);
		}
		if (redis_conn_send(conn, args, cb, arg) == 0)
			sent++;
		else
			*failed = 1;
		i = j;
	}
	redis_argv_free(args);
	for (size_t i = 0; i < g.scopes_cap; i++)
		free(g.scopes[i]);
	free(g.scopes);
	free(g.v);
	return sent;
}
