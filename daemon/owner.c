/*
 * owner.c: partition assignment, caught-up partitions, rep ownership and
 * the judging clock (see owner.h). Written by the ingest path on
 * assignment, revoke, catch-up and every valid event; read by the
 * evaluator (which reps to judge, at what instant) and the HTTP routes
 * (the default instant). The partitioner is parsed once per config, so a
 * lookup costs one hash of the rep id and a scan of the assigned
 * partitions (a handful per member).
 */
#include "owner.h"

#include <stdlib.h>
#include <string.h>

#include "partitioner.h"
#include "xmalloc.h"

struct owned_part {
	int32_t partition;
	bool caught_up;
};

struct owner {
	enum partitioner_kind kind;
	int count;			/* partitions of the topic; <= 0 unknown */
	struct owned_part *parts;
	size_t nparts;
	uint64_t epoch;			/* assignments and unassignments */
	struct clock clock;
};

static struct owned_part *
part_find(const struct owner *o, int32_t partition)
{
	for (size_t k = 0; k < o->nparts; k++)
		if (o->parts[k].partition == partition)
			return &o->parts[k];
	return NULL;
}

struct owner *
owner_new(const struct config *cfg)
{
	struct owner *o = xcalloc(1, sizeof(*o));

	o->count = -1;
	owner_set_config(o, cfg);
	return o;
}

void
owner_free(struct owner *o)
{
	if (o == NULL)
		return;
	free(o->parts);
	free(o);
}

void
owner_set_config(struct owner *o, const struct config *cfg)
{
	/* The config loader rejects an unknown name; murmur2 otherwise. */
	o->kind = PARTITIONER_MURMUR2;
	if (cfg->kafka.partitioner != NULL &&
	    partitioner_parse(cfg->kafka.partitioner, &o->kind) != 0)
		o->kind = PARTITIONER_MURMUR2;
	o->clock.mode = cfg->clock;
}

void
owner_set_partition_count(struct owner *o, int count)
{
	o->count = count;
}

int
owner_partition_count(const struct owner *o)
{
	return o->count;
}

void
owner_assign(struct owner *o, const int32_t *partitions, size_t n)
{
	free(o->parts);
	o->parts = xcalloc(n ? n : 1, sizeof(*o->parts));
	for (size_t k = 0; k < n; k++)
		o->parts[k].partition = partitions[k];
	o->nparts = n;
	o->epoch++;
}

void
owner_unassign(struct owner *o)
{
	o->nparts = 0;
	o->epoch++;
}

uint64_t
owner_epoch(const struct owner *o)
{
	return o->epoch;
}

size_t
owner_assigned(const struct owner *o)
{
	return o->nparts;
}

bool
owner_set_caught_up(struct owner *o, int32_t partition)
{
	struct owned_part *p = part_find(o, partition);

	if (p == NULL || p->caught_up)
		return false;
	p->caught_up = true;
	return true;
}

bool
owner_caught_up(const struct owner *o, int32_t partition)
{
	const struct owned_part *p = part_find(o, partition);

	return p != NULL && p->caught_up;
}

int32_t
owner_partition_of(const struct owner *o, const char *rep_id)
{
	if (o->count <= 0)
		return -1;
	return partitioner_pick(o->kind, rep_id, strlen(rep_id), o->count);
}

bool
owner_owns(const struct owner *o, const char *rep_id)
{
	const struct owned_part *p;
	int32_t partition = owner_partition_of(o, rep_id);

	if (partition < 0 || (p = part_find(o, partition)) == NULL)
		return false;
	/* On the wall clock a rep is judged once its partition's backlog is
	 * read; the event clock judges each boundary after exactly the events
	 * before it, backlog or not. */
	return p->caught_up || o->clock.mode == CLOCK_MODE_EVENT;
}

void
owner_observe(struct owner *o, int64_t event_ms)
{
	clock_observe(&o->clock, event_ms);
}

const struct clock *
owner_clock(const struct owner *o)
{
	return &o->clock;
}
