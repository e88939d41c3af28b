#ifndef PACED_ROSTER_H
#define PACED_ROSTER_H

/*
 * Raw ids to roster entities: rep_id to rep (team, role, manager, zone),
 * activity type to the KPIs it counts toward. Built once per config; the
 * lookups are hash tables so the hot path does no scanning.
 */

#include <stddef.h>

#include "caltime.h"
#include "config.h"
#include "partitioner.h"

struct roster;

/* A resolved rep; pointers borrow from the roster and its config. */
struct roster_rep {
	const struct config_rep *rep;
	const struct config_team *team;
	const struct config_role *role;
	const struct config_calendar *calendar;
	struct tzone *zone;		/* the team's zone, shared per team */
	const char *manager;		/* rep's manager, else the team's; may be NULL */
	size_t index;			/* index into config.reps */
	/* Worked out once per roster, for the hot path: */
	size_t id_len;			/* strlen(rep->id) */
	size_t team_id_len;		/* strlen(team->id) */
	int shard;			/* keys_shard_of(cfg, rep->id) */
	/* partitioner_key_hash of its id, per enum partitioner_kind: who
	 * owns the rep is asked for every rep judged */
	uint32_t part_hash[PARTITIONER_KINDS];
};

/* Borrows cfg (must outlive the roster). Returns an owned roster (free with
 * roster_free) or NULL with the reason in err. */
struct roster *roster_new(const struct config *cfg, char *err, size_t errlen);
/* Frees r; NULL does nothing. */
void roster_free(struct roster *r);
/* Looks up a rep by id; returns borrowed entry or NULL. */
const struct roster_rep *roster_rep(const struct roster *r, const char *rep_id);
/* The i-th rep (0 <= i < roster_size). */
const struct roster_rep *roster_rep_at(const struct roster *r, size_t i);
size_t roster_size(const struct roster *r);
/* KPI indices counted by an activity type; sets *n (0 when unmapped) and
 * returns a borrowed array. */
const size_t *roster_kpis_for_type(const struct roster *r, const char *type,
    size_t *n);
/* Borrowed config the roster was built from. */
const struct config *roster_config(const struct roster *r);

#endif
