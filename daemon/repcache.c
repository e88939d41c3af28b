/*
 * repcache.c: the evaluator's copy of its reps' counters and alert states
 * (see repcache.h).
 *
 * Memory: an epoch per rep on the roster (4 bytes), a pointer per rep,
 * and an entry per rep judged here: a small header, its counters only
 * once one is not zero (four buckets of nkpis doubles), and the states it
 * has (a rep alerting on 3 of its nkpis x 4 pairs keeps 3, not a slot for
 * every pair: 8 KPIs made that 3.3 KiB a rep, copied at every judgement).
 */
#include "repcache.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct rc_bucket {
	int32_t start_day;
	bool whole;		/* every KPI known (a read); else only counted */
};

/* A present state and its slot, k * PERIOD_COUNT + p. */
struct rc_state {
	uint32_t slot;
	struct eval_state s;
};

/* A rep judged here: made by a read (repcache_fill), so known whole. */
struct rc_entry {
	int64_t read_at;	/* monotonic ms of the read */
	int64_t last_at;
	struct rc_bucket b[PERIOD_COUNT];
	double *vals;		/* [p * nkpis + k]; NULL: all zero */
	struct rc_state *states;	/* nstates, by slot; NULL: none */
	uint32_t nstates;
	uint64_t pace_sum;	/* of the pace figures written since the read */
};

enum { ALERT_UNKNOWN, ALERT_NONE, ALERT_SOME };

struct repcache {
	size_t nreps, nkpis;
	uint32_t *epoch;
	struct rc_entry **ent;
	/* per rep, whether its last states known here held any: ALERT_*;
	 * a hint of which changed reps to judge first, so it outlives the
	 * entry (forgotten when its counters' bucket moved) and a clearing
	 * (a rebalance, a partition caught up): at worst it orders a rep
	 * wrongly until its next judgement */
	uint8_t *alert;
	size_t known;		/* entries */
	uint64_t gen;		/* clearings */
};

static void
entry_free(struct rc_entry *en)
{
	if (en == NULL)
		return;
	free(en->vals);
	free(en->states);
	free(en);
}

struct repcache *
repcache_new(size_t nreps, size_t nkpis)
{
	struct repcache *c = xcalloc(1, sizeof(*c));

	repcache_reset(c, nreps, nkpis);
	return c;
}

void
repcache_clear(struct repcache *c)
{
	for (size_t r = 0; r < c->nreps; r++) {
		entry_free(c->ent[r]);
		c->ent[r] = NULL;
	}
	c->known = 0;
	c->gen++;
}

void
repcache_reset(struct repcache *c, size_t nreps, size_t nkpis)
{
	repcache_clear(c);
	free(c->ent);
	free(c->epoch);
	free(c->alert);
	c->nreps = nreps;
	c->nkpis = nkpis;
	c->ent = xcalloc(nreps ? nreps : 1, sizeof(*c->ent));
	c->epoch = xcalloc(nreps ? nreps : 1, sizeof(*c->epoch));
	c->alert = xcalloc(nreps ? nreps : 1, sizeof(*c->alert));
}

void
repcache_free(struct repcache *c)
{
	if (c == NULL)
		return;
	repcache_clear(c);
	free(c->ent);
	free(c->epoch);
	free(c->alert);
	free(c);
}

void
repcache_forget(struct repcache *c, size_t rep)
{
	if (rep >= c->nreps || c->ent[rep] == NULL)
		return;
	c->known--;
	entry_free(c->ent[rep]);
	c->ent[rep] = NULL;
}

size_t
repcache_known(const struct repcache *c)
{
	return c->known;
}

uint64_t
repcache_generation(const struct repcache *c)
{
	return c->gen;
}

uint32_t
repcache_epoch(const struct repcache *c, size_t rep)
{
	return rep < c->nreps ? c->epoch[rep] : 0;
}

static size_t
nvals(const struct repcache *c)
{
	return (size_t)PERIOD_COUNT * c->nkpis;
}

void
repcache_counted(struct repcache *c, size_t rep, size_t kpi,
    enum period p, int32_t start_day, double v)
{
	struct rc_entry *en;
	struct rc_bucket *b;

	if (rep >= c->nreps || kpi >= c->nkpis || (int)p < 0 ||
	    p >= PERIOD_COUNT)
		return;
	c->epoch[rep]++;
	if ((en = c->ent[rep]) == NULL)
		return;		/* never judged here: nothing to keep */
	b = &en->b[p];
	if (start_day < b->start_day)
		return;		/* a late event in an earlier bucket */
	if (start_day > b->start_day) {
		/* A new bucket: only this KPI is known in it. */
		b->start_day = start_day;
		b->whole = false;
		if (en->vals != NULL)
			for (size_t k = 0; k < c->nkpis; k++)
				en->vals[(size_t)p * c->nkpis + k] = 0;
	}
	if (en->vals == NULL) {
		if (v == 0)
			return;
		en->vals = xcalloc(nvals(c), sizeof(double));
	}
	en->vals[(size_t)p * c->nkpis + kpi] = v;
}

bool
repcache_get(const struct repcache *c, size_t rep,
    const int32_t start[PERIOD_COUNT], int64_t now_ms, double *actual,
    struct eval_state *prev, int64_t *last_at)
{
	const struct rc_entry *en;
	size_t ns = c->nkpis * PERIOD_COUNT;

	if (rep >= c->nreps || (en = c->ent[rep]) == NULL ||
	    now_ms - en->read_at >= REPCACHE_REFRESH_MS || now_ms < en->read_at)
		return false;
	for (int p = 0; p < PERIOD_COUNT; p++)
		if (!en->b[p].whole || en->b[p].start_day != start[p])
			return false;
	if (en->vals != NULL)
		memcpy(actual, en->vals, nvals(c) * sizeof(double));
	else
		memset(actual, 0, nvals(c) * sizeof(double));
	for (size_t i = 0; i < en->nstates; i++)
		if (en->states[i].slot < ns)
			prev[en->states[i].slot] = en->states[i].s;
	*last_at = en->last_at;
	return true;
}

/* Takes the states s[i] where changed[i] (all when changed is NULL), as
 * eval_state_brief leaves them: a present one is kept (in its slot's
 * place, or added), one no longer present dropped; the list is freed
 * when it holds none. */
static void
put_states(const struct repcache *c, struct rc_entry *en,
    const struct eval_state *s, const bool *changed)
{
	size_t ns = c->nkpis * PERIOD_COUNT;

	for (size_t i = 0; i < ns; i++) {
		size_t at;

		if (changed != NULL && !changed[i])
			continue;
		for (at = 0; at < en->nstates; at++)
			if (en->states[at].slot == i)
				break;
		if (!s[i].present) {
			if (at < en->nstates)	/* last one into its place */
				en->states[at] = en->states[--en->nstates];
			continue;
		}
		if (at == en->nstates) {
			en->states = xreallocarray(en->states,
			    (size_t)en->nstates + 1, sizeof(*en->states));
			en->nstates++;
		}
		en->states[at].slot = (uint32_t)i;
		eval_state_brief(&s[i], &en->states[at].s);
	}
	if (en->nstates == 0) {
		free(en->states);
		en->states = NULL;
	}
}

void
repcache_fill(struct repcache *c, size_t rep, uint32_t epoch,
    const int32_t start[PERIOD_COUNT], const double *actual,
    const struct eval_state *prev, int64_t last_at, int64_t now_ms)
{
	struct rc_entry *en;
	bool any = false;

	if (rep >= c->nreps || c->epoch[rep] != epoch)
		return;		/* a count came in between: unsure */
	if ((en = c->ent[rep]) == NULL) {
		en = c->ent[rep] = xcalloc(1, sizeof(*en));
		c->known++;
	}
	for (int p = 0; p < PERIOD_COUNT; p++) {
		en->b[p].start_day = start[p];
		en->b[p].whole = true;
	}
	for (size_t i = 0; i < nvals(c) && !any; i++)
		any = actual[i] != 0;
	if (!any) {
		free(en->vals);
		en->vals = NULL;
	} else {
		if (en->vals == NULL)
			en->vals = xmalloc(nvals(c) * sizeof(double));
		memcpy(en->vals, actual, nvals(c) * sizeof(double));
	}
	free(en->states);
	en->states = NULL;
	en->nstates = 0;
	put_states(c, en, prev, NULL);
	en->last_at = last_at;
	en->read_at = now_ms;
	en->pace_sum = 0;	/* written again after each read */
}

bool
repcache_alerting(const struct repcache *c, size_t rep)
{
	return rep >= c->nreps || c->alert[rep] != ALERT_NONE;
}

uint64_t *
repcache_pace_sum(struct repcache *c, size_t rep)
{
	return rep < c->nreps && c->ent[rep] != NULL ?
	    &c->ent[rep]->pace_sum : NULL;
}

void
repcache_stored(struct repcache *c, size_t rep,
    const struct eval_state *states, const bool *changed, int64_t last_at)
{
	struct rc_entry *en;

	if (rep >= c->nreps || (en = c->ent[rep]) == NULL)
		return;
	en->last_at = last_at;
	put_states(c, en, states, changed);
}

void
repcache_note_alerting(struct repcache *c, size_t rep,
    const struct eval_state *states)
{
	size_t ns = c->nkpis * PERIOD_COUNT;

	if (rep >= c->nreps)
		return;
	c->alert[rep] = ALERT_NONE;
	for (size_t i = 0; i < ns; i++)
		if (states[i].present &&
		    (states[i].alert.level != ALERT_LEVEL_NONE ||
		    states[i].alert.pending != ALERT_PENDING_NONE)) {
			c->alert[rep] = ALERT_SOME;
			break;
		}
}
