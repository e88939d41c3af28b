#ifndef PACED_CONFIG_BOARDS_H
#define PACED_CONFIG_BOARDS_H

/*
 * The leaderboards block of the config file: which roster groupings get
 * boards of their own, and the activity score's weights per role. Rows of
 * config.c's key table; each borrows the node and path it is given and
 * stores what it reads in l->c. Not for callers of config.h.
 */

#include "config_yaml.h"

/* leaderboards.groupings (stage 1). */
void load_board_groupings(struct loader *l, yaml_node_t *n,
    const char *path);
/* A rep's groups: {grouping: value}, into r (called by the reps loader). */
void load_rep_groups(struct loader *l, yaml_node_t *n, const char *path,
    struct config_rep *r);
/* leaderboards.activity_score.weights (stage 3: names roles and KPIs). */
void load_score_weights(struct loader *l, yaml_node_t *n, const char *path);

#endif
