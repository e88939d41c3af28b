/*
 * contest.c: contests, the pure part (see contest.h). A contest counts
 * whole local days (each rep's own, as its counters do); its state and
 * its result follow its time zone: running from its first day's midnight
 * to the midnight after its last, the result once settle has passed.
 */
#include "contest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "caltime.h"
#include "jsontext.h"
#include "xmalloc.h"

enum contest_state
contest_state_at(const struct config_contest *ct, int64_t now_ms)
{
	if (now_ms < ct->starts_ms)
		return CONTEST_UPCOMING;
	if (now_ms < ct->ends_ms)
		return CONTEST_RUNNING;
	return CONTEST_ENDED;
}

const char *
contest_state_name(enum contest_state s)
{
	static const char *const names[] = { "upcoming", "running", "ended" };

	return names[s];
}

bool
contest_due(const struct config_contest *ct, int64_t now_ms)
{
	return now_ms >= ct->ends_ms + ct->settle_ms;
}

const struct config_contest *
contest_find(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->ncontests; i++)
		if (cfg->contests[i].id != NULL &&
		    strcmp(cfg->contests[i].id, id) == 0)
			return &cfg->contests[i];
	return NULL;
}

ssize_t
contest_member_of_rep(const struct config_contest *ct, size_t rep)
{
	size_t lo = 0, hi = ct->nrep_member;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ct->rep_member[mid] < rep)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ct->nrep_member && ct->rep_member[lo] == rep)
		return (ssize_t)ct->rep_slot[lo];
	return -1;
}

const char *
contest_member_id(const struct config *cfg, const struct config_contest *ct,
    size_t i)
{
	return ct->teams ? cfg->teams[ct->members[i]].id :
	    cfg->reps[ct->members[i]].id;
}

struct contest_index {
	const char **id;	/* sorted */
	size_t *member;
	size_t n;
};

struct id_ref {
	const char *id;
	size_t member;
};

static int
id_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct id_ref *)a)->id,
	    ((const struct id_ref *)b)->id);
}

struct contest_index *
contest_index_new(const struct config *cfg, const struct config_contest *ct)
{
	struct contest_index *x = xcalloc(1, sizeof(*x));
	struct id_ref *v = xcalloc(ct->nmembers + 1, sizeof(*v));

	for (size_t i = 0; i < ct->nmembers; i++) {
		v[i].id = contest_member_id(cfg, ct, i);
		v[i].member = i;
	}
	qsort(v, ct->nmembers, sizeof(*v), id_ref_cmp);
	x->id = xcalloc(ct->nmembers + 1, sizeof(*x->id));
	x->member = xcalloc(ct->nmembers + 1, sizeof(*x->member));
	for (size_t i = 0; i < ct->nmembers; i++) {
		x->id[i] = v[i].id;
		x->member[i] = v[i].member;
	}
	x->n = ct->nmembers;
	free(v);
	return x;
}

ssize_t
contest_index_find(const struct contest_index *x, const char *id, size_t len)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(x->id[mid], id, len);

		if (c == 0 && x->id[mid][len] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->n && strncmp(x->id[lo], id, len) == 0 &&
	    x->id[lo][len] == '\0')
		return (ssize_t)x->member[lo];
	return -1;
}

void
contest_index_free(struct contest_index *x)
{
	if (x == NULL)
		return;
	free(x->id);
	free(x->member);
	free(x);
}

/* Ranks e[0..n) with board_rank and writes the ranks, from first on,
 * back to the lines, in the new order, into out. */
static void
rank_part(const struct config *cfg, const struct config_contest *ct,
    const struct contest_line *v, const size_t *idx, size_t n, bool by_time,
    size_t first, struct contest_line *out)
{
	struct board_entry *e = xcalloc(n + 1, sizeof(*e));

	for (size_t i = 0; i < n; i++) {
		const struct contest_line *l = &v[idx[i]];

		e[i].rep_id = contest_member_id(cfg, ct, l->member);
		e[i].has_key = true;
		e[i].key = by_time ? (double)l->reached_ms : l->value;
		e[i].index = idx[i];
	}
	board_rank(e, n, by_time);
	for (size_t i = 0; i < n; i++) {
		out[i] = v[e[i].index];
		out[i].rank = e[i].rank + first;
		out[i].tied = e[i].tied;
	}
	free(e);
}

void
contest_rank(const struct config *cfg, const struct config_contest *ct,
    struct contest_line *v, size_t n)
{
	struct contest_line *out = xcalloc(n + 1, sizeof(*out));
	size_t *done = xcalloc(n + 1, sizeof(*done));
	size_t *rest = xcalloc(n + 1, sizeof(*rest));
	size_t nd = 0, nr = 0;

	for (size_t i = 0; i < n; i++) {
		if (ct->kind == CONTEST_RACE && v[i].reached)
			done[nd++] = i;
		else
			rest[nr++] = i;
	}
	rank_part(cfg, ct, v, done, nd, true, 0, out);
	rank_part(cfg, ct, v, rest, nr, false, nd, out + nd);
	memcpy(v, out, n * sizeof(*v));
	free(out);
	free(done);
	free(rest);
}

/* A total as it is shown: sums of day values added as doubles are
 * rounded to 1e-9 so that 0.1 + 0.2 reads 0.3. */
static double
shown(double x)
{
	return round(x * 1e9) / 1e9;
}

static void
add_time(cJSON *o, const char *name, int64_t ms)
{
	char ts[40];

	caltime_format_local(ms, 0, ts, sizeof(ts));
	cJSON_AddStringToObject(o, name, ts);
}

static void
add_date(cJSON *o, const char *name, int32_t day)
{
	char d[16];

	caltime_format_date(day, d, sizeof(d));
	cJSON_AddStringToObject(o, name, d);
}

static const char *
metric_name(const struct config *cfg, const struct config_contest *ct)
{
	return ct->kpi >= 0 ? cfg->kpis[ct->kpi].name : "activity_score";
}

/* The teams taking part: the members, or the reps' teams. */
static cJSON *
teams_of(const struct config *cfg, const struct config_contest *ct)
{
	cJSON *a = cJSON_CreateArray();
	bool *seen = xcalloc(cfg->nteams + 1, sizeof(*seen));

	for (size_t i = 0; i < ct->nmembers; i++) {
		size_t t = ct->teams ? ct->members[i] :
		    cfg->reps[ct->members[i]].team;

		if (t < cfg->nteams && !seen[t]) {
			seen[t] = true;
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(cfg->teams[t].id));
		}
	}
	free(seen);
	return a;
}

void
contest_describe(const struct config *cfg, const struct config_contest *ct,
    int64_t now_ms, cJSON *o)
{
	cJSON_AddStringToObject(o, "id", ct->id);
	cJSON_AddStringToObject(o, "name", ct->name);
	cJSON_AddStringToObject(o, "kind", ct->kind == CONTEST_RACE ? "race" :
	    "highest");
	cJSON_AddStringToObject(o, "metric", metric_name(cfg, ct));
	if (ct->kpi >= 0)
		cJSON_AddStringToObject(o, "kpi", cfg->kpis[ct->kpi].name);
	else
		cJSON_AddNullToObject(o, "kpi");
	if (ct->kind == CONTEST_RACE)
		cJSON_AddNumberToObject(o, "goal", ct->goal);
	else
		cJSON_AddNullToObject(o, "goal");
	cJSON_AddStringToObject(o, "members", ct->teams ? "teams" : "reps");
	cJSON_AddItemToObject(o, "teams", teams_of(cfg, ct));
	add_date(o, "from", ct->first_day);
	add_date(o, "to", ct->last_day);
	cJSON_AddStringToObject(o, "timezone", ct->timezone);
	add_time(o, "starts_at", ct->starts_ms);
	add_time(o, "ends_at", ct->ends_ms);
	cJSON_AddStringToObject(o, "state",
	    contest_state_name(contest_state_at(ct, now_ms)));
}

cJSON *
contest_standings(const struct config *cfg, const struct config_contest *ct,
    const struct contest_line *v, size_t n, size_t limit)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n && i < limit; i++) {
		cJSON *x = cJSON_CreateObject();
		const char *id = contest_member_id(cfg, ct, v[i].member);

		cJSON_AddNumberToObject(x, "rank", (double)v[i].rank);
		cJSON_AddBoolToObject(x, "tied", v[i].tied);
		if (ct->teams)
			cJSON_AddStringToObject(x, "team_id", id);
		else {
			cJSON_AddStringToObject(x, "rep_id", id);
			cJSON_AddStringToObject(x, "team_id", cfg->teams[
			    cfg->reps[ct->members[v[i].member]].team].id);
		}
		cJSON_AddNumberToObject(x, "value", shown(v[i].value));
		if (ct->kind == CONTEST_RACE) {
			cJSON_AddBoolToObject(x, "reached", v[i].reached);
			if (v[i].reached)
				add_time(x, "reached_at", v[i].reached_ms);
			else
				cJSON_AddNullToObject(x, "reached_at");
		}
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

/* The winners: rank 1, when it is a finish (race) or a total > 0. */
static cJSON *
winners(const struct config *cfg, const struct config_contest *ct,
    const struct contest_line *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n && v[i].rank == 1; i++) {
		if (ct->kind == CONTEST_RACE ? !v[i].reached : !(v[i].value > 0))
			break;
		cJSON_AddItemToArray(a, cJSON_CreateString(
		    contest_member_id(cfg, ct, v[i].member)));
	}
	return a;
}

void
contest_result(const struct config *cfg, const struct config_contest *ct,
    const struct contest_line *v, size_t n, char **json, char **webhook,
    char **sentence)
{
	cJSON *o = cJSON_CreateObject(), *w, *hook;
	char id[160], num[JSONTEXT_NUMBER_SIZE], *text;
	size_t nw;

	snprintf(id, sizeof(id), "contest:%s:result", ct->id);
	cJSON_AddStringToObject(o, "type", "contest_result");
	cJSON_AddNumberToObject(o, "version", CONTEST_RESULT_VERSION);
	cJSON_AddStringToObject(o, "result_id", id);
	contest_describe(cfg, ct, ct->ends_ms, o);
	cJSON_DeleteItemFromObject(o, "state");
	w = winners(cfg, ct, v, n);
	nw = (size_t)cJSON_GetArraySize(w);
	cJSON_AddItemToObject(o, "winners", w);
	/* The first lines only: a message stays far below the topic's
	 * message size, whatever the number of members. */
	cJSON_AddNumberToObject(o, "size", (double)n);
	cJSON_AddItemToObject(o, "standings", contest_standings(cfg, ct, v, n,
	    CONTEST_RESULT_LINES));
	jsontext_number(num, ct->goal);
	if (nw == 0 && ct->kind == CONTEST_RACE)
		text = xasprintf("Contest \"%s\" ended without a winner: "
		    "nobody reached %s %s.", ct->name, num,
		    metric_name(cfg, ct));
	else if (nw == 0)
		text = xasprintf("Contest \"%s\" ended without a winner: "
		    "no activity.", ct->name);
	else {
		char val[JSONTEXT_NUMBER_SIZE];

		jsontext_number(val, shown(v[0].value));
		text = xasprintf("Contest \"%s\" ended: %s%s %s with %s %s.",
		    ct->name, contest_member_id(cfg, ct, v[0].member),
		    nw > 1 ? " (tied with others)" : "",
		    ct->kind == CONTEST_RACE ? "reached the goal first" :
		    "won", val, metric_name(cfg, ct));
	}
	*json = jsontext_take(o);
	hook = cJSON_CreateObject();
	cJSON_AddStringToObject(hook, "text", text);
	cJSON_AddItemToObject(hook, "contest_result", cJSON_Parse(*json));
	*webhook = jsontext_take(hook);
	*sentence = text;
}
