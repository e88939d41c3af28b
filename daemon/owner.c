/*
 * owner.c: partition assignment, caught-up partitions, rep ownership and
 * the judging clock (see owner.h). Written by the ingest path on
 * assignment, revoke, catch-up and every valid event; read by the
 * evaluator (which reps to judge, at what instant) and the HTTP routes
 * (the default instant). The partitioner is parsed once per config, so a
 * lookup costs one hash of the rep id and a scan of the assigned
 * partitions (a handful per member).
 *
 * The stall fence. The group's heartbeats come from librdkafka's threads,
 * which a stopped process (SIGSTOP, a frozen VM, heavy swapping) stops
 * too: past the session timeout the group hands this member's partitions
 * to another, and on waking the member still believes it owns them until
 * its next heartbeat is answered. Judging meanwhile would send a second
 * copy of what the new owner sends. So a loop that did not run for nearly
 * a session timeout (session.timeout.ms less heartbeat.interval.ms) judges
 * nothing until a rebalance event arrives or three heartbeat intervals
 * have passed without one (the assignment held).
 */
#include "owner.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "partitioner.h"
#include "roster.h"
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
	/* began[p] (known[p]): when partition p's data began */
	int64_t *began;
	bool *known;
	size_t nbegan;
	/* the stall fence (monotonic ms) */
	int64_t stall_ms, fence_ms;
	int64_t alive_at;		/* last owner_alive or rebalance */
	int64_t fence_until;		/* 0: not fenced */
	uint64_t stalls;
};

/* A librdkafka duration property of cfg in ms, or def. */
static int64_t
property_ms(const struct config *cfg, const char *key, int64_t def)
{
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const char *v = cfg->kafka.properties[i].value;
		char *end;
		long long n;

		if (strcmp(cfg->kafka.properties[i].key, key) != 0)
			continue;
		n = strtoll(v, &end, 10);
		if (end != v && *end == '\0' && n > 0)
			return n;
	}
	return def;
}

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
	free(o->began);
	free(o->known);
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
	/* librdkafka's defaults: 45 s and 3 s */
	{
		int64_t session = property_ms(cfg, "session.timeout.ms", 45000);
		int64_t beat = property_ms(cfg, "heartbeat.interval.ms", 3000);

		o->stall_ms = session - beat;
		if (o->stall_ms < 1000)
			o->stall_ms = 1000;
		o->fence_ms = 3 * beat;
	}
}

/* Fences o when the loop has not run for stall_ms before now. */
static void
stall_check(struct owner *o, int64_t now)
{
	if (o->alive_at == 0 || now - o->alive_at <= o->stall_ms ||
	    o->fence_until != 0)
		return;
	o->fence_until = now + o->fence_ms;
	o->stalls++;
	log_warnx("owner_fenced", "stalled_ms=%" PRId64 " fence_ms=%" PRId64
	    " reason=%s", now - o->alive_at, o->fence_ms, log_quote("the loop "
	    "did not run for nearly a session timeout: the group may have "
	    "handed this member's partitions on; nothing is judged until a "
	    "rebalance or the fence's end"));
}

bool
owner_alive(struct owner *o, int64_t now)
{
	stall_check(o, now);
	o->alive_at = now;
	if (o->fence_until == 0 || now < o->fence_until)
		return false;
	o->fence_until = 0;
	o->epoch++;		/* every caught-up partition is news again */
	log_info("owner_unfenced", "reason=%s", log_quote("no rebalance "
	    "came: the assignment held"));
	return true;
}

bool
owner_fenced(const struct owner *o)
{
	/* a stall main's timer has not seen yet counts as one */
	return o->fence_until != 0 || (o->alive_at != 0 &&
	    caltime_mono_ms() - o->alive_at > o->stall_ms);
}

uint64_t
owner_stalls(const struct owner *o)
{
	return o->stalls;
}

/* A rebalance event: the client knows its membership again. */
static void
rebalanced(struct owner *o)
{
	o->fence_until = 0;
	o->alive_at = caltime_mono_ms();
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
	rebalanced(o);
}

void
owner_unassign(struct owner *o)
{
	o->nparts = 0;
	o->epoch++;
	rebalanced(o);
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

/* owner_owns of a rep in partition. */
static bool
owns_partition(const struct owner *o, int32_t partition)
{
	const struct owned_part *p;

	if (o->fence_until != 0 || partition < 0 ||
	    (p = part_find(o, partition)) == NULL)
		return false;
	/* On the wall clock a rep is judged once its partition's backlog is
	 * read; the event clock judges each boundary after exactly the events
	 * before it, backlog or not. */
	return p->caught_up || o->clock.mode == CLOCK_MODE_EVENT;
}

bool
owner_owns(const struct owner *o, const char *rep_id)
{
	return owns_partition(o, owner_partition_of(o, rep_id));
}

bool
owner_owns_rep(const struct owner *o, const struct roster_rep *rr)
{
	if (o->count <= 0)
		return false;
	return owns_partition(o, partitioner_pick_hash(
	    rr->part_hash[o->kind], o->count));
}

void
owner_set_began(struct owner *o, int32_t partition, int64_t began_ms)
{
	if (partition < 0)
		return;
	if ((size_t)partition >= o->nbegan) {
		size_t n = (size_t)partition + 1;

		o->began = xrealloc(o->began, n * sizeof(*o->began));
		o->known = xrealloc(o->known, n * sizeof(*o->known));
		for (size_t k = o->nbegan; k < n; k++)
			o->known[k] = false;
		o->nbegan = n;
	}
	o->began[partition] = began_ms;
	o->known[partition] = true;
}

bool
owner_began_known(const struct owner *o, int32_t partition)
{
	return partition >= 0 && (size_t)partition < o->nbegan &&
	    o->known[partition];
}

int64_t
owner_data_since(const struct owner *o, const char *rep_id)
{
	int32_t partition = owner_partition_of(o, rep_id);

	if (!owner_began_known(o, partition))
		return INT64_MIN;
	return o->began[partition];
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
