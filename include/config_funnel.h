#ifndef PACED_CONFIG_FUNNEL_H
#define PACED_CONFIG_FUNNEL_H

/*
 * The funnel of the config file: a role's ordered list of KPIs (its
 * `funnel:` key) and the top-level `funnel` block's revenue KPI and the
 * rule that the window is whole days. Rows of config.c's key table and
 * the roles loader; each borrows the node and path it is given and stores
 * what it reads in l->c. Not for callers of config.h.
 */

#include "config_yaml.h"
#include "funnel.h"

/* The most steps (KPIs) a funnel has. */
#define CONFIG_FUNNEL_MAX	FUNNEL_STEPS_MAX

/* A role's funnel: a list of 2 to CONFIG_FUNNEL_MAX count KPIs, top
 * first, into r (called by the roles loader, stage 2). */
void load_role_funnel(struct loader *l, yaml_node_t *n, const char *path,
    struct config_role *r);
/* funnel.revenue (stage 2: names a KPI). */
void load_funnel_revenue(struct loader *l, yaml_node_t *n, const char *path);
/* The checks that need every key in (funnel.window in whole days). */
void funnel_config_finish(struct loader *l);

#endif
