#ifndef PACED_CONFIG_ORG_H
#define PACED_CONFIG_ORG_H

/*
 * The org schema of the config file: kpis, calendars, roles, teams, reps,
 * managers, and the alert lists that name them (alerts.periods,
 * alerts.kpis, alerts.webhooks). Each loader is a row of config.c's key
 * table, run in its stage; each borrows the node and path it is given and
 * stores what it reads in l->c, which owns it. Not for callers of
 * config.h.
 */

#include "config_yaml.h"

/* Where each rep came from, for duplicate reports. */
struct rep_src {
	struct where	 w;
	char		*path;	/* owned; NULL for a roster file's rep */
};

/* kpis (stage 1). */
void load_kpis(struct loader *l, yaml_node_t *n, const char *path);
/* calendars (stage 1). */
void load_calendars(struct loader *l, yaml_node_t *n, const char *path);
/* Without a calendars key: Monday to Friday, 09:00-17:00, no holidays. */
void default_calendar(struct loader *l);
/* roles (stage 2: names KPIs). */
void load_roles(struct loader *l, yaml_node_t *n, const char *path);
/* teams (stage 2: names calendars). */
void load_teams(struct loader *l, yaml_node_t *n, const char *path);
/* reps (stage 3: names teams and roles). */
void load_reps(struct loader *l, yaml_node_t *n, const char *path);
/* managers (stage 1). */
void load_managers(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.periods (stage 1). */
void load_alert_periods(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.kpis (stage 2: names KPIs). */
void load_alert_kpis(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.quiet_hours (stage 3: names teams). */
void load_quiet_hours(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.digest.morning: "HH:MM" or null. */
void load_digest_morning(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.digest.weekly: "<weekday> HH:MM" or null. */
void load_digest_weekly(struct loader *l, yaml_node_t *n, const char *path);
/* alerts.webhooks (stage 1); messages name the url's key, never the url. */
void load_webhooks(struct loader *l, yaml_node_t *n, const char *path);

/* Fills rep r's team and role from their names (borrowed); each where
 * locates one field. */
void rep_fill(struct loader *l, struct config_rep *r,
    const struct where *wteam, const struct where *wrole, const char *team,
    const char *role);
/* Reports repeated rep ids of l->c->reps; src[i] locates rep i. Takes
 * ownership of src and frees it. */
void rep_dups(struct loader *l, struct rep_src *src);

#endif
