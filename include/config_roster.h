#ifndef PACED_CONFIG_ROSTER_H
#define PACED_CONFIG_ROSTER_H

/*
 * roster_file: the roster as CSV (rep_id,team,role,manager), the other
 * way to give config.c's reps. Not for callers of config.h.
 */

#include "config_yaml.h"

/* roster_file (stage 3: names teams and roles). Borrows n and path; the
 * reps read go to l->c, which owns them. Errors read FILE:LINE: message. */
void load_roster_file(struct loader *l, yaml_node_t *n, const char *path);

#endif
