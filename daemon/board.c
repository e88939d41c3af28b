/*
 * board.c: leaderboards, the pure part. A rep's value of one KPI in one
 * bucket is written to one board per scope it belongs to (board_redis.c);
 * readers rank the scope's roster from those boards (http_boards.c) with
 * board_rank, ties sharing a rank and ordered by rep_id, so that the same
 * figures always give the same board.
 */
#include "board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "org", "team", "role", "manager" };

/* The manager above manager id in cfg->managers, or NULL. */
static const char *
manager_up(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nmanagers; i++)
		if (cfg->managers[i].id != NULL &&
		    strcmp(cfg->managers[i].id, id) == 0)
			return cfg->managers[i].manager;
	return NULL;
}

void
board_rep_scopes(const struct config *cfg, const struct roster_rep *rep,
    board_scope_cb *fn, void *arg)
{
	char name[BOARD_SCOPE_MAX];
	const char *m;
	size_t depth = 0;

	fn("org", arg);
	snprintf(name, sizeof(name), "team:%s", rep->team->id);
	fn(name, arg);
	if (cfg->boards.grouping[BOARD_GROUP_ROLE]) {
		snprintf(name, sizeof(name), "role:%s", rep->role->name);
		fn(name, arg);
	}
	/* The config refuses cycles; the bound is for safety only. */
	for (m = rep->manager; cfg->boards.grouping[BOARD_GROUP_MANAGER] &&
	    m != NULL && depth <= cfg->nmanagers;
	    m = manager_up(cfg, m), depth++) {
		snprintf(name, sizeof(name), "manager:%s", m);
		fn(name, arg);
	}
	for (size_t g = 0; g < cfg->boards.ncustom; g++) {
		const char *v = board_rep_group(rep->rep,
		    cfg->boards.custom[g]);

		if (v == NULL)
			continue;
		snprintf(name, sizeof(name), "%s:%s", cfg->boards.custom[g], v);
		fn(name, arg);
	}
}

const char *
board_rep_group(const struct config_rep *r, const char *name)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].key, name) == 0)
			return r->groups[i].value;
	return NULL;
}

bool
board_grouping_listed(const struct config *cfg, const char *name)
{
	for (size_t g = 0; g < cfg->boards.ncustom; g++)
		if (strcmp(cfg->boards.custom[g], name) == 0)
			return true;
	return false;
}

int
board_scope_parse(const char *s, struct board_scope *out)
{
	const char *colon = strchr(s, ':');
	size_t klen = colon != NULL ? (size_t)(colon - s) : strlen(s);

	memset(out, 0, sizeof(*out));
	if (colon == NULL) {
		if (strcmp(s, "org") != 0)
			return -1;
		out->kind = BOARD_ORG;
		return 0;
	}
	if (klen == 0 || klen > 32 || strncmp(s, "org:", 4) == 0 || klen >= sizeof(out->group) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") < klen ||
	    colon[1] == '\0' || strlen(colon + 1) >= sizeof(out->id))
		return -1;
	out->kind = BOARD_GROUP;
	for (size_t k = 1; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strlen(kind_names[k]) == klen &&
		    strncmp(s, kind_names[k], klen) == 0)
			out->kind = (enum board_scope_kind)k;
	if (out->kind == BOARD_GROUP) {
		memcpy(out->group, s, klen);
		out->group[klen] = '\0';
	}
	snprintf(out->id, sizeof(out->id), "%s", colon + 1);
	return 0;
}

void
board_scope_name(const struct board_scope *sc, char *buf, size_t len)
{
	if (sc->kind == BOARD_ORG)
		snprintf(buf, len, "org");
	else if (sc->kind == BOARD_GROUP)
		snprintf(buf, len, "%s:%s", sc->group, sc->id);
	else
		snprintf(buf, len, "%s:%s", kind_names[sc->kind], sc->id);
}

bool
board_manager_under(const struct config *cfg, const char *id,
    const char *up)
{
	size_t depth = 0;

	for (const char *m = id; m != NULL && depth <= cfg->nmanagers;
	    m = manager_up(cfg, m), depth++)
		if (strcmp(m, up) == 0)
			return true;
	return false;
}

bool
board_in_scope(const struct config *cfg, const struct roster_rep *rep,
    const struct board_scope *sc)
{
	switch (sc->kind) {
	case BOARD_ORG:
		return true;
	case BOARD_TEAM:
		return strcmp(rep->team->id, sc->id) == 0;
	case BOARD_ROLE:
		return strcmp(rep->role->name, sc->id) == 0;
	case BOARD_MANAGER:
		return rep->manager != NULL &&
		    board_manager_under(cfg, rep->manager, sc->id);
	case BOARD_GROUP: {
		const char *v = board_rep_group(rep->rep, sc->group);

		return v != NULL && strcmp(v, sc->id) == 0;
	}
	}
	return false;
}

/* Best first: keys high to low (the caller negates them when lower is
 * better), entries without a key last, equal keys by rep_id. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct board_entry *x = a, *y = b;

	if (x->has_key != y->has_key)
		return x->has_key ? -1 : 1;
	if (x->has_key && x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return strcmp(x->rep_id, y->rep_id);
}

static bool
same_key(const struct board_entry *x, const struct board_entry *y)
{
	return x->has_key == y->has_key && (!x->has_key || x->key == y->key);
}

void
board_rank(struct board_entry *e, size_t n, bool lower_better)
{
	if (lower_better)
		for (size_t i = 0; i < n; i++)
			e[i].key = -e[i].key;
	if (n > 1)
		qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		e[i].rank = i > 0 && same_key(&e[i], &e[i - 1]) ?
		    e[i - 1].rank : i + 1;
		e[i].tied = (i > 0 && same_key(&e[i], &e[i - 1])) ||
		    (i + 1 < n && same_key(&e[i], &e[i + 1]));
	}
	if (lower_better)
		for (size_t i = 0; i < n; i++)
			e[i].key = -e[i].key;
}

double
board_percent(double actual, double target)
{
	if (!(target > 0))
		return -1;
	return 100.0 * actual / target;
}

bool
board_score_weighs(const struct config *cfg, size_t role, size_t k)
{
	return cfg->boards.score_weights != NULL && role < cfg->nroles &&
	    k < cfg->nkpis &&
	    cfg->boards.score_weights[role * cfg->nkpis + k] > 0;
}

double
board_activity_score(const struct config *cfg, size_t role,
    const double *percent)
{
	double score = 0;
	bool any = false;

	for (size_t k = 0; k < cfg->nkpis; k++) {
		double w, p;

		if (!board_score_weighs(cfg, role, k))
			continue;
		any = true;
		w = cfg->boards.score_weights[role * cfg->nkpis + k];
		p = percent[k] < 0 ? 0 : percent[k];
		if (p > cfg->boards.score_cap)
			p = cfg->boards.score_cap;
		score += w * p;
	}
	return any ? score : -1;
}
