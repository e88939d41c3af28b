/*
 * config_boards.c: the leaderboards block of the config file. Groupings
 * name the roster groupings written as boards of their own; the activity
 * score's weights say, per role, how much each KPI's percent of target
 * counts. Run by config.c's key table in their stages.
 */
#include "config_boards.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define GROUPING_MAX	32	/* bytes of a grouping's name */

_Static_assert(BOARD_GROUP_ROLE == 0 && BOARD_GROUP_MANAGER == 1 &&
    BOARD_GROUP_COUNT == 2, "grouping names follow the enum");

/* A grouping's name: 1 to GROUPING_MAX of a-z 0-9 _. */
static bool
grouping_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= GROUPING_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* One name of leaderboards.groupings. */
static void
grouping_item(struct loader *l, yaml_node_t *it, const char *ip, char *s)
{
	struct config_boards	*b = &l->c->boards;

	if (strcmp(s, "role") == 0)
		b->grouping[BOARD_GROUP_ROLE] = true;
	else if (strcmp(s, "manager") == 0)
		b->grouping[BOARD_GROUP_MANAGER] = true;
	else if (strcmp(s, "org") == 0 || strcmp(s, "team") == 0)
		node_error(l, it, ip, "%s always has boards; list role, "
		    "manager or a name of the reps' groups", s);
	else if (!grouping_name_ok(s))
		node_error(l, it, ip, "invalid grouping name \"%s\" (1 to "
		    "%d of a-z 0-9 _)", s, GROUPING_MAX);
	else {
		for (size_t i = 0; i < b->ncustom; i++)
			if (strcmp(b->custom[i], s) == 0) {
				node_error(l, it, ip, "\"%s\" is listed twice",
				    s);
				free(s);
				return;
			}
		b->custom[b->ncustom++] = s;
		return;
	}
	free(s);
}

/*
 * leaderboards.groupings: role, manager, and any other name is a grouping
 * read from the reps' groups (region: emea).
 */
void
load_board_groupings(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_boards	*b = &l->c->boards;
	size_t			 cnt;

	for (int g = 0; g < BOARD_GROUP_COUNT; g++)
		b->grouping[g] = false;
	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	b->custom = xcalloc(cnt + 1, sizeof(*b->custom));
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t	*it = seq_at(l, n, i);
		char		*ip = path_index(path, i), *s;

		if (it == NULL || it->type != YAML_SCALAR_NODE)
			type_error(l, it, ip, "a grouping name");
		else if ((s = scalar_text(l, it, ip)) != NULL)
			grouping_item(l, it, ip, s);
		free(ip);
	}
}

/* One grouping of a rep's groups. */
static void
rep_group(struct loader *l, const struct entry *e, void *arg)
{
	struct config_rep	*r = arg;
	struct config_kv	*kv;
	char			*v;

	if (!grouping_name_ok(e->name) || strcmp(e->name, "role") == 0 ||
	    strcmp(e->name, "manager") == 0 || strcmp(e->name, "org") == 0 ||
	    strcmp(e->name, "team") == 0) {
		node_error(l, e->key, e->path, "invalid grouping name \"%s\" "
		    "(1 to %d of a-z 0-9 _; not org, team, role or manager)",
		    e->name, GROUPING_MAX);
		return;
	}
	if ((v = field_id(l, e->value, e->value, e->path, true,
	    "group value")) == NULL)
		return;
	kv = &r->groups[r->ngroups++];
	kv->key = xstrdup(e->name);
	kv->value = v;
}

void
load_rep_groups(struct loader *l, yaml_node_t *n, const char *path,
    struct config_rep *r)
{
	size_t	 cnt;

	if (map_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	r->groups = xcalloc(cnt + 1, sizeof(*r->groups));
	each_entry(l, n, path, rep_group, r);
}

/* One KPI's weight in one role's score. */
static void
weight_kpi(struct loader *l, const struct entry *e, void *arg)
{
	double		*row = arg;
	ssize_t		 k;
	char		*s;
	double		 v;

	if ((k = lookup_name(l, &l->kpi_names, &e->w, "KPI", e->name)) < 0)
		return;
	if (l->c->kpis[k].better == KPI_BETTER_LOWER) {
		node_error(l, e->key, e->path, "KPI \"%s\" is better lower; "
		    "the activity score adds percents of target where more "
		    "is better", e->name);
		return;
	}
	if (e->value == NULL || e->value->type != YAML_SCALAR_NODE) {
		type_error(l, e->value, e->path, "a number");
		return;
	}
	if ((s = scalar_text(l, e->value, e->path)) == NULL)
		return;
	if (parse_number(s, &v) != 0 || v <= 0 || v > 1000)
		node_error(l, e->value, e->path, "weight \"%s\" must be a "
		    "number > 0 and <= 1000", s);
	else
		row[k] = v;
	free(s);
}

/* One role's weights. */
static void
weight_role(struct loader *l, const struct entry *e, void *arg)
{
	struct config	*c = l->c;
	ssize_t		 r;
	size_t		 cnt;

	(void)arg;
	if ((r = lookup_name(l, &l->role_names, &e->w, "role", e->name)) < 0)
		return;
	if (map_open(l, e->value, e->path, true, NULL, &cnt) != 0)
		return;
	each_entry(l, e->value, e->path, weight_kpi,
	    &c->boards.score_weights[(size_t)r * c->nkpis]);
}

/*
 * leaderboards.activity_score.weights: {role: {kpi: weight}}. A role left
 * out has no score.
 */
void
load_score_weights(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	*c = l->c;
	size_t		 cnt;

	if (map_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	if (c->nroles == 0 || c->nkpis == 0)
		return;
	c->boards.score_weights = xcalloc(c->nroles * c->nkpis,
	    sizeof(double));
	each_entry(l, n, path, weight_role, NULL);
}
