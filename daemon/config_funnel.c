/*
 * config_funnel.c: the funnel of the config file. A role lists the KPIs
 * of its funnel, top first (calls -> conversations -> ... -> deals); the
 * top-level `funnel` block holds the rolling window, the volume below
 * which a rep's rate gives way to its team's, the coaching threshold and
 * the amount KPI that the average deal size is read from, and the
 * coaching list of the morning digest (its hysteresis). Called by the
 * roles loader and config.c's key table in their stages.
 */
#include "config_funnel.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define DAY_MS	86400000LL

void
load_role_funnel(struct loader *l, yaml_node_t *n, const char *path,
    struct config_role *r)
{
	const struct config	*c = l->c;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	if (cnt < 2 || cnt > CONFIG_FUNNEL_MAX) {
		node_error(l, n, path, "a funnel has 2 to %d KPIs, top first "
		    "(got %zu)", CONFIG_FUNNEL_MAX, cnt);
		return;
	}
	r->funnel = xcalloc(cnt, sizeof(*r->funnel));
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t	*it = seq_at(l, n, i);
		char		*ip = path_index(path, i), *s;
		struct where	 w;
		ssize_t		 k;
		bool		 dup = false;

		if (it == NULL || it->type != YAML_SCALAR_NODE ||
		    node_is_null(it)) {
			type_error(l, it, ip, "a KPI name");
			free(ip);
			continue;
		}
		if ((s = scalar_text(l, it, ip)) == NULL) {
			free(ip);
			continue;
		}
		w = node_where(l, it, ip);
		k = lookup_name(l, &l->kpi_names, &w, "KPI", s);
		for (size_t j = 0; k >= 0 && j < r->nfunnel; j++)
			dup = dup || r->funnel[j] == (size_t)k;
		if (k < 0)
			;
		else if (dup)
			node_error(l, it, ip, "\"%s\" is listed twice", s);
		else if (c->kpis[k].measure != KPI_MEASURE_COUNT ||
		    c->kpis[k].better != KPI_BETTER_HIGHER)
			node_error(l, it, ip, "a funnel step is a count KPI "
			    "where higher is better (\"%s\" is not)", s);
		else
			r->funnel[r->nfunnel++] = (size_t)k;
		free(s);
		free(ip);
	}
}

void
load_funnel_revenue(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	*c = l->c;
	struct where	 w;
	ssize_t		 k;
	char		*s;

	c->funnel.has_revenue = false;
	if (node_is_null(n))
		return;
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "a KPI name");
		return;
	}
	if ((s = scalar_text(l, n, path)) == NULL)
		return;
	w = node_where(l, n, path);
	if ((k = lookup_name(l, &l->kpi_names, &w, "KPI", s)) < 0)
		;
	else if (c->kpis[k].measure != KPI_MEASURE_AMOUNT)
		node_error(l, n, path, "the revenue KPI has measure: amount "
		    "(\"%s\" counts)", s);
	else {
		c->funnel.has_revenue = true;
		c->funnel.revenue_kpi = (size_t)k;
	}
	free(s);
}

void
funnel_config_finish(struct loader *l)
{
	const struct config	*c = l->c;

	if (c->funnel.window_ms % DAY_MS != 0)
		node_error(l, seen_node(l, "funnel.window"), "funnel.window",
		    "the window is whole days (like 30d)");
	if (!c->funnel.coaching)
		return;
	if (c->funnel.coaching_below + c->funnel.coaching_margin > 1 + 1e-9) {
		const char *at = seen_node(l, "funnel.coaching_margin") != NULL ?
		    "funnel.coaching_margin" : "funnel.coaching_below";

		node_error(l, seen_node(l, at), at, "with funnel.coaching, "
		    "coaching_below + coaching_margin is at most 1 (%g + %g): "
		    "a listed step would clear only above its team's rate",
		    c->funnel.coaching_below, c->funnel.coaching_margin);
	}
	if (!c->alerts.digest_morning)
		node_error(l, seen_node(l, "funnel.coaching"),
		    "funnel.coaching", "the coaching list goes out in the "
		    "morning digest: set alerts.digest.morning");
}
