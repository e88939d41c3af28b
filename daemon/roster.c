/*
 * roster.c: raw ids to roster entities, built once per loaded config and
 * swapped with it on reload. Two open-addressing string tables serve the
 * hot path (rep_id -> rep, activity type -> KPI indices) so decoding an
 * event never scans the roster. One time zone is opened per team and
 * shared by its reps: ICU calendars are heavy and a team has one zone.
 */
#include "roster.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "xmalloc.h"

/* A string-keyed table; keys borrow from the config, values are indices. */
struct strtab {
	const char	**keys;
	size_t		 *vals;
	size_t		  mask;	/* capacity - 1; capacity a power of two */
};

struct type_kpis {
	size_t	*kpis;
	size_t	 n;
};

struct roster {
	const struct config	*cfg;
	struct roster_rep	*reps;
	size_t			 nreps;
	struct tzone		**zones;	/* one per team */
	struct strtab		 by_id;		/* rep_id -> index in reps */
	struct strtab		 by_type;	/* type -> index in types */
	struct type_kpis	*types;
	size_t			 ntypes;
};

/* FNV-1a: short keys, no adversary worth a keyed hash (ids come from
 * our own config). */
static uint64_t
strtab_hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Sized for n keys at most half full, so probes stay short. */
static void
strtab_init(struct strtab *t, size_t n)
{
	size_t	 cap = 8;

	while (cap < n * 2)
		cap *= 2;
	t->keys = xcalloc(cap, sizeof(*t->keys));
	t->vals = xcalloc(cap, sizeof(*t->vals));
	t->mask = cap - 1;
}

static void
strtab_free(struct strtab *t)
{
	free(t->keys);
	free(t->vals);
}

/* Returns the slot holding key, or the empty slot where it would go. */
static size_t
strtab_slot(const struct strtab *t, const char *key)
{
	size_t	 i = (size_t)strtab_hash(key) & t->mask;

	while (t->keys[i] != NULL && strcmp(t->keys[i], key) != 0)
		i = (i + 1) & t->mask;
	return i;
}

/* Inserts key unless present; returns the value now stored for it. */
static size_t
strtab_put(struct strtab *t, const char *key, size_t val)
{
	size_t	 i = strtab_slot(t, key);

	if (t->keys[i] == NULL) {
		t->keys[i] = key;
		t->vals[i] = val;
	}
	return t->vals[i];
}

static bool
strtab_get(const struct strtab *t, const char *key, size_t *val)
{
	size_t	 i;

	if (t->keys == NULL)
		return false;
	i = strtab_slot(t, key);
	if (t->keys[i] == NULL)
		return false;
	*val = t->vals[i];
	return true;
}

static void
roster_types(struct roster *r)
{
	const struct config	*c = r->cfg;
	size_t			 total = 0;

	for (size_t k = 0; k < c->nkpis; k++)
		total += c->kpis[k].nevents;
	strtab_init(&r->by_type, total);
	r->types = xcalloc(total + 1, sizeof(*r->types));
	for (size_t k = 0; k < c->nkpis; k++) {
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			struct type_kpis	*t;
			size_t			 ti;

			ti = strtab_put(&r->by_type, c->kpis[k].events[e],
			    r->ntypes);
			if (ti == r->ntypes)
				r->ntypes++;
			t = &r->types[ti];
			/* The config rejects a type listed twice in a KPI. */
			t->kpis = xreallocarray(t->kpis, t->n + 1,
			    sizeof(*t->kpis));
			t->kpis[t->n++] = k;
		}
	}
}

struct roster *
roster_new(const struct config *cfg, char *err, size_t errlen)
{
	struct roster	*r = xcalloc(1, sizeof(*r));

	r->cfg = cfg;
	r->zones = xcalloc(cfg->nteams + 1, sizeof(*r->zones));
	for (size_t i = 0; i < cfg->nteams; i++) {
		r->zones[i] = tzone_open(cfg->teams[i].timezone, err, errlen);
		if (r->zones[i] == NULL)
			goto fail;
	}

	r->reps = xcalloc(cfg->nreps + 1, sizeof(*r->reps));
	r->nreps = cfg->nreps;
	strtab_init(&r->by_id, cfg->nreps);
	for (size_t i = 0; i < cfg->nreps; i++) {
		const struct config_rep	*cr = &cfg->reps[i];
		struct roster_rep	*rr = &r->reps[i];

		rr->rep = cr;
		rr->team = &cfg->teams[cr->team];
		rr->role = &cfg->roles[cr->role];
		rr->calendar = &cfg->calendars[rr->team->calendar];
		rr->zone = r->zones[cr->team];
		rr->manager = cr->manager != NULL ? cr->manager :
		    rr->team->manager;
		rr->index = i;
		rr->id_len = strlen(cr->id);
		rr->team_id_len = strlen(rr->team->id);
		rr->shard = keys_shard_of(cfg, cr->id);
		for (int k = 0; k < PARTITIONER_KINDS; k++)
			rr->part_hash[k] = partitioner_key_hash(
			    (enum partitioner_kind)k, cr->id, rr->id_len);
		if (strtab_put(&r->by_id, cr->id, i) != i) {
			snprintf(err, errlen, "duplicate rep id \"%s\"",
			    cr->id);
			goto fail;
		}
	}
	roster_types(r);
	return r;
fail:
	roster_free(r);
	return NULL;
}

void
roster_free(struct roster *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->cfg->nteams; i++)
		tzone_free(r->zones[i]);
	free(r->zones);
	for (size_t i = 0; i < r->ntypes; i++)
		free(r->types[i].kpis);
	free(r->types);
	strtab_free(&r->by_type);
	strtab_free(&r->by_id);
	free(r->reps);
	free(r);
}

const struct roster_rep *
roster_rep(const struct roster *r, const char *rep_id)
{
	size_t	 i;

	if (!strtab_get(&r->by_id, rep_id, &i))
		return NULL;
	return &r->reps[i];
}

const struct roster_rep *
roster_rep_at(const struct roster *r, size_t i)
{
	if (i >= r->nreps)
		return NULL;
	return &r->reps[i];
}

size_t
roster_size(const struct roster *r)
{
	return r->nreps;
}

const size_t *
roster_kpis_for_type(const struct roster *r, const char *type, size_t *n)
{
	size_t	 i;

	if (!strtab_get(&r->by_type, type, &i)) {
		*n = 0;
		return NULL;
	}
	*n = r->types[i].n;
	return r->types[i].kpis;
}

const struct config *
roster_config(const struct roster *r)
{
	return r->cfg;
}
