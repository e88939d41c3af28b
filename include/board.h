#ifndef PACED_BOARD_H
#define PACED_BOARD_H

/*
 * Leaderboards, the pure part: which boards a rep's values are written to
 * (its scopes), who is in a scope, ranking with ties, and the activity
 * score. Called by the board writes of a batch and by the HTTP reads.
 */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "roster.h"

enum board_scope_kind { BOARD_ORG, BOARD_TEAM, BOARD_ROLE, BOARD_MANAGER,
    BOARD_GROUP };

/* A scope as a reader names it: "org", "team:T", "role:R", "manager:M", or
 * "<grouping>:<value>" for a grouping of the reps' groups (region:emea). */
struct board_scope {
	enum board_scope_kind kind;
	char group[40];		/* BOARD_GROUP: the grouping's name */
	char id[160];		/* empty for org */
};

/* The longest scope name, NUL included. */
#define BOARD_SCOPE_MAX	(sizeof(((struct board_scope *)0)->id) + 48)

/* Called with each scope name (borrowed; valid during the call). */
typedef void board_scope_cb(const char *scope, void *arg);

/*
 * The boards rep's values go to, by scope name: org, its team, its role
 * and every manager above it (its manager, that manager's manager, ...)
 * when cfg's groupings hold role and manager, and <grouping>:<value> for
 * each further grouping the rep's groups give a value. Borrows all.
 */
void board_rep_scopes(const struct config *cfg, const struct roster_rep *rep,
    board_scope_cb *fn, void *arg);
/* Parses s (borrowed) into *out; 0, or -1 when s is not "org" nor
 * "<kind>:<id>" with a kind of 1 to 32 of a-z 0-9 _ and an id. A kind
 * other than team, role and manager is a BOARD_GROUP. */
int board_scope_parse(const char *s, struct board_scope *out);
/* The scope's name into buf (caller's, BOARD_SCOPE_MAX bytes). */
void board_scope_name(const struct board_scope *sc, char *buf, size_t len);
/* True when rep is in scope sc: for a manager, directly or through the
 * managers hierarchy. Borrows all. */
bool board_in_scope(const struct config *cfg, const struct roster_rep *rep,
    const struct board_scope *sc);
/* The value rep r has for grouping name in its groups, or NULL. */
const char *board_rep_group(const struct config_rep *r, const char *name);
/* True when cfg's leaderboards.groupings names further grouping name. */
bool board_grouping_listed(const struct config *cfg, const char *name);
/* True when manager id has manager up above it, at any depth (or is it).
 * Borrows all. */
bool board_manager_under(const struct config *cfg, const char *id,
    const char *up);

/* One line of a board. */
struct board_entry {
	const char *rep_id;	/* borrowed */
	double key;		/* what is ranked */
	bool has_key;		/* false: no figure (no target); ranked last */
	size_t rank;		/* 1-based; equal keys share one */
	bool tied;		/* another entry has the same rank */
	size_t index;		/* the caller's */
};

/*
 * Sorts e (n entries, caller's) best first: higher keys first (lower with
 * lower_better), entries without a key last; equal keys by rep_id. Then
 * sets rank (1, 2, 2, 4: equal keys share the rank of the first) and tied.
 */
void board_rank(struct board_entry *e, size_t n, bool lower_better);

/* A percent of target: 100 * actual / target, or -1 when target <= 0. */
double board_percent(double actual, double target);
/*
 * The activity score of a rep of role (index into cfg->roles):
 * sum over the role's weighted KPIs of weight x min(percent, cap), a KPI
 * without a target counting 0. percent[k] < 0 means no target. Returns -1
 * when the role has no weights.
 */
double board_activity_score(const struct config *cfg, size_t role,
    const double *percent);
/* True when role (index) weights KPI k in its activity score. */
bool board_score_weighs(const struct config *cfg, size_t role, size_t k);

#endif
