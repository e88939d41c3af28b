/*
 * batch.c: aggregation of one poll batch. Called for every decoded event
 * by the ingest path, read by redis_apply when the batch is flushed.
 * Groups are found through a small open-addressing table keyed by
 * (rep slot, type, local day); all arrays grow geometrically and are kept
 * across batches.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define NONE UINT32_MAX

static void
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;

	if (need <= *cap)
		return;
	while (n < need)
		n *= 2;
	*p = xreallocarray(*p, n, elem);
	*cap = n;
}

struct batch *
batch_new(void)
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->table_cap = 1024;
	b->table = xcalloc(b->table_cap, sizeof(uint32_t));
	b->note_part = UINT32_MAX;
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	free(b->reps);
	free(b->groups);
	free(b->events);
	free(b->ids);
	free(b->parts);
	free(b->rep_slot);
	free(b->rep_stamp);
	free(b->table);
	free(b);
}

void
batch_reset(struct batch *b, uint64_t seq, size_t nreps_total)
{
	b->seq = seq;
	b->nmessages = 0;
	b->nreps = b->ngroups = b->nevents = b->ids_len = b->nparts = 0;
	b->note_part = UINT32_MAX;
	if (nreps_total > b->rep_slots) {
		b->rep_slot = xreallocarray(b->rep_slot, nreps_total, sizeof(uint32_t));
		b->rep_stamp = xreallocarray(b->rep_stamp, nreps_total, sizeof(uint64_t));
		memset(b->rep_stamp + b->rep_slots, 0,
		    (nreps_total - b->rep_slots) * sizeof(uint64_t));
		b->rep_slots = nreps_total;
	}
	memset(b->table, 0, b->table_cap * sizeof(uint32_t));
}

void
batch_note_offset(struct batch *b, int32_t partition, int64_t offset)
{
	b->nmessages++;
	b->note_offset = offset;
	for (size_t i = 0; i < b->nparts; i++) {
		if (b->parts[i].partition == partition) {
			b->parts[i].last_offset = offset;
			b->note_part = (uint32_t)i;
			return;
		}
	}
	b->note_part = (uint32_t)b->nparts;
	grow((void **)&b->parts, &b->parts_cap, b->nparts + 1, sizeof(*b->parts));
	b->parts[b->nparts].partition = partition;
	b->parts[b->nparts].first_offset = offset;
	b->parts[b->nparts].last_offset = offset;
	b->parts[b->nparts].first_event_ms = INT64_MAX;
	b->nparts++;
}

static uint32_t
group_hash(uint32_t rep, const size_t *kpis, int32_t day)
{
	uint64_t h = ((uint64_t)rep * 0x9E3779B97F4A7C15ULL) ^
	    ((uint64_t)(uintptr_t)kpis * 0xC2B2AE3D27D4EB4FULL) ^
	    ((uint64_t)(uint32_t)day * 0x165667B19E3779F9ULL);

	h ^= h >> 29;
	return (uint32_t)h;
}

static void
table_rehash(struct batch *b)
{
	size_t cap = b->table_cap * 2;

	free(b->table);
	b->table = xcalloc(cap, sizeof(uint32_t));
	b->table_cap = cap;
	for (size_t g = 0; g < b->ngroups; g++) {
		struct batch_group *gr = &b->groups[g];
		size_t i = group_hash(gr->rep, gr->kpis, gr->local_day) & (cap - 1);

		while (b->table[i] != 0)
			i = (i + 1) & (cap - 1);
		b->table[i] = (uint32_t)g + 1;
	}
}

static uint32_t
rep_slot(struct batch *b, const struct roster_rep *rep)
{
	size_t ri = rep->index;
	struct batch_rep *br;

	if (ri < b->rep_slots && b->rep_stamp[ri] == b->seq + 1)
		return b->rep_slot[ri];
	grow((void **)&b->reps, &b->reps_cap, b->nreps + 1, sizeof(*b->reps));
	br = &b->reps[b->nreps];
	br->rep = rep;
	br->first_group = br->last_group = NONE;
	br->ngroups = br->nevents = 0;
	if (ri < b->rep_slots) {
		b->rep_stamp[ri] = b->seq + 1;
		b->rep_slot[ri] = (uint32_t)b->nreps;
	}
	return (uint32_t)b->nreps++;
}

static uint32_t
group_find(struct batch *b, uint32_t rep, const size_t *kpis, size_t nkpis,
    int32_t day)
{
	size_t mask, i;
	struct batch_group *gr;
	struct batch_rep *br;

	if ((b->ngroups + 1) * 2 > b->table_cap)
		table_rehash(b);
	mask = b->table_cap - 1;
	for (i = group_hash(rep, kpis, day) & mask; b->table[i] != 0;
	    i = (i + 1) & mask) {
		gr = &b->groups[b->table[i] - 1];
		if (gr->rep == rep && gr->kpis == kpis && gr->local_day == day)
			return b->table[i] - 1;
	}
	grow((void **)&b->groups, &b->groups_cap, b->ngroups + 1,
	    sizeof(*b->groups));
	gr = &b->groups[b->ngroups];
	gr->rep = rep;
	gr->kpis = kpis;
	gr->nkpis = (uint32_t)nkpis;
	gr->local_day = day;
	gr->first = gr->last = NONE;
	gr->nevents = 0;
	gr->next = NONE;
	b->table[i] = (uint32_t)b->ngroups + 1;
	br = &b->reps[rep];
	if (br->last_group == NONE)
		br->first_group = (uint32_t)b->ngroups;
	else
		b->groups[br->last_group].next = (uint32_t)b->ngroups;
	br->last_group = (uint32_t)b->ngroups;
	br->ngroups++;
	return (uint32_t)b->ngroups++;
}

void
batch_add(struct batch *b, const struct roster_rep *rep, const size_t *kpis,
    size_t nkpis, int32_t local_day, int32_t utc_day, const struct activity *ev)
{
	uint32_t slot = rep_slot(b, rep);
	uint32_t g = group_find(b, slot, kpis, nkpis, local_day);
	size_t idlen = strlen(ev->event_id);
	struct batch_event *e;
	struct batch_group *gr;

	grow((void **)&b->ids, &b->ids_cap, b->ids_len + idlen, 1);
	memcpy(b->ids + b->ids_len, ev->event_id, idlen);
	grow((void **)&b->events, &b->events_cap, b->nevents + 1,
	    sizeof(*b->events));
	e = &b->events[b->nevents];
	e->id_off = (uint32_t)b->ids_len;
	e->id_len = (uint16_t)idlen;
	e->utc_day = utc_day;
	e->count = ev->count;
	e->amount = ev->has_amount ? ev->amount : 0;
	e->next = NONE;
	e->part = b->note_part;
	e->offset = b->note_offset;
	if (e->part < b->nparts &&
	    ev->occurred_at_ms < b->parts[e->part].first_event_ms)
		b->parts[e->part].first_event_ms = ev->occurred_at_ms;
	b->ids_len += idlen;

	gr = &b->groups[g];
	if (gr->last == NONE)
		gr->first = (uint32_t)b->nevents;
	else
		b->events[gr->last].next = (uint32_t)b->nevents;
	gr->last = (uint32_t)b->nevents;
	gr->nevents++;
	b->reps[slot].nevents++;
	b->nevents++;
}
