/*
 * config_contests.c: the contests block of the config file. Each item is a
 * competition over whole local days (from..to) on one KPI or on the
 * activity score, among the reps listed or among the teams listed, won by
 * the first to reach a goal (race) or by the highest total at the end
 * (highest). Run by config.c's key table in its last stage, once the KPIs,
 * teams, reps and score weights are known; every problem is reported at
 * its file:line with the others.
 */
#include "config_contests.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const char *const item_keys[] = { "id", "name", "metric", "kind",
    "goal", "from", "to", "timezone", "reps", "teams", "settle", NULL };
enum { F_ID, F_NAME, F_METRIC, F_KIND, F_GOAL, F_FROM, F_TO, F_TZ, F_REPS,
    F_TEAMS, F_SETTLE, F_COUNT };
static const char *const kind_names[] = { "race", "highest", NULL };

_Static_assert(CONTEST_RACE == 0 && CONTEST_HIGHEST == 1, "kind order");

/* A contest id: 1 to CONTEST_ID_MAX of a-z 0-9 _ -. */
static bool
contest_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONTEST_ID_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A date field; 0 with *day, else reported and -1. */
static int
field_date(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, int32_t *day)
{
	char	*s = field_string(l, item, n, path, true);
	int	 rc = -1;

	if (s == NULL)
		return -1;
	if (caltime_parse_date(s, day) == 0)
		rc = 0;
	else
		node_error(l, n, path, "invalid date \"%s\" (use YYYY-MM-DD)",
		    s);
	free(s);
	return rc;
}

/* The metric: a KPI (not better: lower) or the activity score. */
static void
load_metric(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, struct config_contest *ct)
{
	struct where	 w = node_where(l, n, path);
	char		*s = field_string(l, item, n, path, true);
	ssize_t		 k;

	if (s == NULL)
		return;
	if (strcmp(s, CONTEST_ACTIVITY_SCORE) == 0 &&
	    name_index_find(&l->kpi_names, s) < 0) {
		ct->kpi = -1;
		if (l->c->boards.score_weights == NULL)
			node_error(l, n, path, "a contest on the activity "
			    "score needs leaderboards.activity_score.weights");
	} else if ((k = lookup_name(l, &l->kpi_names, &w, "KPI", s)) >= 0) {
		ct->kpi = (int)k;
		if (l->c->kpis[k].better == KPI_BETTER_LOWER)
			node_error(l, n, path, "KPI \"%s\" is better lower; "
			    "a contest ranks the highest totals first", s);
	}
	free(s);
}

/* The goal: required for a race (> 0), refused for highest. */
static void
load_goal(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, struct config_contest *ct)
{
	char	*s;
	double	 v;

	if (ct->kind == CONTEST_HIGHEST) {
		if (n != NULL)
			node_error(l, n, path, "a highest contest has no goal "
			    "(the highest total at the end wins)");
		return;
	}
	if (n == NULL || node_is_null(n)) {
		node_error(l, n != NULL ? n : item, path, "required key is "
		    "missing (a race is won by the first to reach its goal)");
		return;
	}
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "a number");
		return;
	}
	if ((s = scalar_text(l, n, path)) == NULL)
		return;
	if (parse_number(s, &v) != 0 || !(v > 0) || v > 1e15)
		node_error(l, n, path, "goal \"%s\" must be a number > 0 and "
		    "<= 1e15", s);
	else
		ct->goal = v;
	free(s);
}

/* Context of one members list. */
struct members {
	struct config_contest	*ct;
	const struct name_index	*ni;
	const char		*what;
	size_t			 max;
};

/* The reps or teams list: names that exist, each once. */
static void
load_members(struct loader *l, const yaml_node_t *n, const char *path,
    const struct members *m)
{
	struct config_contest	*ct = m->ct;
	size_t			 cnt;
	bool			*seen;

	if (seq_open(l, n, path, false, "a contest needs at least one "
	    "member", &cnt) != 0)
		return;
	if (cnt > CONTEST_MEMBERS_MAX) {
		node_error(l, n, path, "at most %d members in a contest",
		    CONTEST_MEMBERS_MAX);
		return;
	}
	seen = xcalloc(m->max + 1, sizeof(*seen));
	ct->members = xcalloc(cnt + 1, sizeof(*ct->members));
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t	*it = seq_at(l, n, i);
		char		*ip = path_index(path, i), *s;
		struct where	 w = node_where(l, it, ip);
		ssize_t		 k;

		if (it == NULL || it->type != YAML_SCALAR_NODE)
			type_error(l, it, ip, m->what);
		else if ((s = scalar_text(l, it, ip)) != NULL) {
			if ((k = lookup_name(l, m->ni, &w, m->what, s)) >= 0) {
				if (seen[k])
					node_error(l, it, ip, "%s \"%s\" is "
					    "listed twice", m->what, s);
				else
					ct->members[ct->nmembers++] = (size_t)k;
				seen[k] = true;
			}
			free(s);
		}
		free(ip);
	}
	free(seen);
}

/* For the batch path: the sorted reps taking part and their member. */
struct rep_slot {
	size_t	 rep;
	size_t	 slot;
};

static int
rep_slot_cmp(const void *a, const void *b)
{
	const struct rep_slot *x = a, *y = b;

	return x->rep < y->rep ? -1 : x->rep > y->rep;
}

static void
index_reps(const struct config *c, struct config_contest *ct)
{
	struct rep_slot	*v;
	size_t		 n = 0;

	v = xcalloc(ct->teams ? c->nreps + 1 : ct->nmembers + 1, sizeof(*v));
	if (!ct->teams)
		for (size_t i = 0; i < ct->nmembers; i++) {
			v[n].rep = ct->members[i];
			v[n++].slot = i;
		}
	else {
		size_t	*slot = xcalloc(c->nteams + 1, sizeof(*slot));

		/* slot + 1 of each team taking part; 0: none */
		for (size_t i = 0; i < ct->nmembers; i++)
			slot[ct->members[i]] = i + 1;
		for (size_t r = 0; r < c->nreps; r++)
			if (c->reps[r].team < c->nteams &&
			    slot[c->reps[r].team] > 0) {
				v[n].rep = r;
				v[n++].slot = slot[c->reps[r].team] - 1;
			}
		free(slot);
	}
	qsort(v, n, sizeof(*v), rep_slot_cmp);
	ct->rep_member = xcalloc(n + 1, sizeof(size_t));
	ct->rep_slot = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		ct->rep_member[i] = v[i].rep;
		ct->rep_slot[i] = v[i].slot;
	}
	ct->nrep_member = n;
	free(v);
}

/* Every rep of a score contest needs a role with weights. */
static void
check_score_roles(struct loader *l, const yaml_node_t *n, const char *path,
    const struct config_contest *ct)
{
	const struct config	*c = l->c;

	if (ct->kpi >= 0 || c->boards.score_weights == NULL)
		return;
	for (size_t i = 0; i < ct->nrep_member; i++) {
		const struct config_rep	*r = &c->reps[ct->rep_member[i]];
		bool			 any = false;

		for (size_t k = 0; k < c->nkpis; k++)
			if (c->boards.score_weights[r->role * c->nkpis + k] > 0)
				any = true;
		if (!any) {
			node_error(l, n, path, "rep \"%s\" has no activity "
			    "score: role \"%s\" has no weights in "
			    "leaderboards.activity_score.weights", r->id,
			    c->roles[r->role].name);
			return;
		}
	}
}

/* The zone: given, else the first member's team's. 0 or -1. */
static int
load_zone(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, struct config_contest *ct)
{
	const struct config	*c = l->c;
	struct tzone		*z;
	char			 err[256], *s;
	size_t			 team;

	if (n != NULL && !node_is_null(n)) {
		if ((s = field_string(l, item, n, path, true)) == NULL)
			return -1;
	} else {
		if (ct->nmembers == 0)
			return -1;
		team = ct->teams ? ct->members[0] :
		    c->reps[ct->members[0]].team;
		if (team >= c->nteams || c->teams[team].timezone == NULL)
			return -1;
		s = xstrdup(c->teams[team].timezone);
	}
	if ((z = tzone_open(s, err, sizeof(err))) == NULL) {
		node_error(l, n, path, "%s", err);
		free(s);
		return -1;
	}
	ct->timezone = s;
	ct->starts_ms = tzone_local_to_utc(z, ct->first_day, 0);
	ct->ends_ms = tzone_local_to_utc(z, ct->last_day + 1, 0);
	tzone_free(z);
	return 0;
}

/* One contest of the list. */
static void
contest_item(struct loader *l, yaml_node_t *item, const char *ip,
    struct config_contest *ct, struct name_index *reps)
{
	yaml_node_t	*v[F_COUNT + 1];
	char		*fp[F_COUNT];
	int		 kind;
	bool		 days_ok;

	if (map_fields(l, item, ip, item_keys, v) != 0)
		return;
	for (int f = 0; f < F_COUNT; f++)
		fp[f] = path_key(ip, item_keys[f]);
	ct->kpi = -1;
	ct->settle_ms = 15 * 60 * 1000;
	if ((ct->id = field_string(l, item, v[F_ID], fp[F_ID], true)) != NULL &&
	    !contest_id_ok(ct->id))
		node_error(l, v[F_ID], fp[F_ID], "invalid contest id \"%s\" "
		    "(1 to %d of a-z 0-9 _ -)", ct->id, CONTEST_ID_MAX);
	ct->name = field_string(l, item, v[F_NAME], fp[F_NAME], false);
	if (ct->name != NULL && (strlen(ct->name) == 0 ||
	    strlen(ct->name) > 200))
		node_error(l, v[F_NAME], fp[F_NAME], "a name is 1 to 200 "
		    "bytes");
	if (ct->name == NULL && ct->id != NULL)
		ct->name = xstrdup(ct->id);
	load_metric(l, item, v[F_METRIC], fp[F_METRIC], ct);
	kind = field_enum(l, item, v[F_KIND], fp[F_KIND], kind_names, true);
	if (kind >= 0) {
		ct->kind = (enum contest_kind)kind;
		load_goal(l, item, v[F_GOAL], fp[F_GOAL], ct);
	}
	days_ok = field_date(l, item, v[F_FROM], fp[F_FROM],
	    &ct->first_day) == 0;
	days_ok = field_date(l, item, v[F_TO], fp[F_TO], &ct->last_day) == 0 &&
	    days_ok;
	if (days_ok && ct->last_day < ct->first_day) {
		node_error(l, v[F_TO], fp[F_TO], "a contest ends on or after "
		    "the day it starts (from)");
		days_ok = false;
	} else if (days_ok && ct->last_day - ct->first_day >=
	    CONTEST_DAYS_MAX) {
		node_error(l, v[F_TO], fp[F_TO], "a contest lasts at most %d "
		    "days", CONTEST_DAYS_MAX);
		days_ok = false;
	}
	if ((v[F_REPS] == NULL) == (v[F_TEAMS] == NULL))
		node_error(l, item, ip, "a contest lists either reps (each rep "
		    "for itself) or teams (team against team), not %s",
		    v[F_REPS] == NULL ? "neither" : "both");
	else if (v[F_REPS] != NULL)
		load_members(l, v[F_REPS], fp[F_REPS], &(struct members){ ct,
		    reps, "rep", l->c->nreps });
	else {
		ct->teams = true;
		load_members(l, v[F_TEAMS], fp[F_TEAMS], &(struct members){
		    ct, &l->team_names, "team", l->c->nteams });
	}
	index_reps(l->c, ct);
	check_score_roles(l, v[F_METRIC], fp[F_METRIC], ct);
	if (days_ok)
		load_zone(l, item, v[F_TZ], fp[F_TZ], ct);
	field_duration(l, v[F_SETTLE], fp[F_SETTLE], "0s", "7d",
	    &ct->settle_ms);
	for (int f = 0; f < F_COUNT; f++)
		free(fp[f]);
}

void
load_contests(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config		*c = l->c;
	struct name_index	 reps = { NULL, 0 };
	struct name_list	 nl;
	const char		**ids;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	if (cnt > CONTESTS_MAX) {
		node_error(l, n, path, "at most %d contests", CONTESTS_MAX);
		return;
	}
	ids = xcalloc(c->nreps + 1, sizeof(*ids));
	for (size_t i = 0; i < c->nreps; i++)
		ids[i] = c->reps[i].id != NULL ? c->reps[i].id : "";
	name_index_build(&reps, ids, c->nreps);
	c->contests = xcalloc(cnt + 1, sizeof(*c->contests));
	c->ncontests = cnt;
	names_init(&nl, cnt);
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_t	*it = seq_at(l, n, i);
		char		*ip = path_index(path, i);

		contest_item(l, it, ip, &c->contests[i], &reps);
		names_set(l, &nl, i, c->contests[i].id, it != NULL &&
		    it->type == YAML_MAPPING_NODE ? it : NULL,
		    path_key(ip, "id"));
		free(ip);
	}
	names_report(l, &nl, "contest id");
	names_free(&nl);
	free(reps.v);
	free(ids);
}

void
contests_config_free(struct config *c)
{
	for (size_t i = 0; i < c->ncontests; i++) {
		struct config_contest *ct = &c->contests[i];

		free(ct->id);
		free(ct->name);
		free(ct->timezone);
		free(ct->members);
		free(ct->rep_member);
		free(ct->rep_slot);
	}
	free(c->contests);
	c->contests = NULL;
	c->ncontests = 0;
}
