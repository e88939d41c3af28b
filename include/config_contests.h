#ifndef PACED_CONFIG_CONTESTS_H
#define PACED_CONFIG_CONTESTS_H

/*
 * The contests block of the config file: time-bounded competitions on a
 * KPI or the activity score, among reps or teams. A row of config.c's key
 * table (its last stage: it names KPIs, teams, reps and the activity
 * score's weights); it borrows the node and path it is given and stores
 * what it reads in l->c. Not for callers of config.h.
 */

#include "config_yaml.h"

/* The activity score's name where a KPI's would be. */
#define CONTEST_ACTIVITY_SCORE	"activity_score"
/* At most this many contests, members of one, and days in one. */
#define CONTESTS_MAX		100
#define CONTEST_MEMBERS_MAX	10000
#define CONTEST_DAYS_MAX	366
/* The longest contest id. */
#define CONTEST_ID_MAX		64

/* contests (stage 4). */
void load_contests(struct loader *l, yaml_node_t *n, const char *path);
/* Frees what load_contests stored in c (the list included). */
void contests_config_free(struct config *c);

#endif
