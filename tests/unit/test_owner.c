#include "owner.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Partitions of r001 and r007 (murmur2, as Kafka's Java client; CRC-32,
 * librdkafka's consistent_random) are the ones test_partitioner.c checks
 * against published vectors: murmur2 puts r001 in 6 of 7 and r007 in 3
 * of 7; CRC-32 puts r007 in 6 of 7.
 */
static const char base_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
    "reps: [{id: r001, team: t, role: sdr}, {id: r007, team: t, role: sdr}]\n";

static struct config *
load(const char *extra)
{
	char *text, *errs = NULL;
	size_t n = strlen(base_yaml) + strlen(extra) + 1;
	struct config *c;

	text = malloc(n);
	cr_assert_not_null(text);
	snprintf(text, n, "%s%s", base_yaml, extra);
	c = config_load_buffer("owner.yaml", text, strlen(text), &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	free(text);
	return c;
}

Test(owner, owns_nothing_until_count_and_assignment_are_known)
{
	struct config *c = load("clock: event\n");
	struct owner *o = owner_new(c);
	const int32_t parts[] = { 3 };

	cr_assert_not(owner_owns(o, "r007"), "no partition count yet");
	cr_assert_eq(owner_partition_of(o, "r007"), -1);
	owner_assign(o, parts, 1);
	cr_assert_not(owner_owns(o, "r007"), "assigned, count still unknown");
	owner_set_partition_count(o, 7);
	cr_assert_eq(owner_partition_count(o), 7);
	cr_assert_eq(owner_partition_of(o, "r007"), 3);
	cr_assert(owner_owns(o, "r007"), "event clock: owned at once");
	cr_assert_not(owner_owns(o, "r001"), "r001 lives in partition 6");
	owner_unassign(o);
	cr_assert_eq(owner_assigned(o), 0);
	cr_assert_not(owner_owns(o, "r007"), "revoked");
	owner_free(o);
	config_free(c);
}

Test(owner, wall_clock_owns_once_caught_up)
{
	struct config *c = load("clock: wall\n");
	struct owner *o = owner_new(c);
	const int32_t parts[] = { 3, 6 };

	owner_set_partition_count(o, 7);
	owner_assign(o, parts, 2);
	cr_assert_eq(owner_assigned(o), 2);
	cr_assert_not(owner_owns(o, "r007"), "backlog not read yet");
	cr_assert_not(owner_set_caught_up(o, 5), "partition 5 is not ours");
	cr_assert(owner_set_caught_up(o, 3));
	cr_assert_not(owner_set_caught_up(o, 3), "caught up once, not news");
	cr_assert(owner_caught_up(o, 3));
	cr_assert_not(owner_caught_up(o, 6));
	cr_assert(owner_owns(o, "r007"));
	cr_assert_not(owner_owns(o, "r001"), "partition 6 still catching up");
	/* A new assignment starts over. */
	owner_assign(o, parts, 2);
	cr_assert_not(owner_owns(o, "r007"));
	owner_free(o);
	config_free(c);
}

Test(owner, partitioner_follows_the_config)
{
	struct config *c = load("clock: event\nkafka: {partitioner: consistent_random}\n");
	struct config *m = load("clock: event\n");
	struct owner *o = owner_new(c);
	const int32_t parts[] = { 6 };

	owner_set_partition_count(o, 7);
	owner_assign(o, parts, 1);
	cr_assert_eq(owner_partition_of(o, "r007"), 6, "CRC-32");
	cr_assert(owner_owns(o, "r007"));
	owner_set_config(o, m);
	cr_assert_eq(owner_partition_of(o, "r007"), 3, "murmur2 after reload");
	cr_assert_not(owner_owns(o, "r007"));
	cr_assert(owner_owns(o, "r001"));
	owner_free(o);
	config_free(c);
	config_free(m);
}

Test(owner, clock_follows_events_in_event_mode)
{
	struct config *c = load("clock: event\n");
	struct config *w = load("clock: wall\n");
	struct owner *o = owner_new(c);

	owner_observe(o, 1000);
	owner_observe(o, 500);		/* late: the watermark stays */
	cr_assert_eq(clock_now(owner_clock(o)), 1000);
	owner_set_config(o, w);
	cr_assert_geq(clock_now(owner_clock(o)), caltime_wall_ms() - 60000,
	    "wall clock after the switch");
	cr_assert_eq(owner_clock(o)->watermark_ms, 1000, "watermark kept");
	owner_free(o);
	config_free(c);
	config_free(w);
}

Test(owner, epoch_moves_with_every_assignment)
{
	struct config *c = load("clock: wall\n");
	struct owner *o = owner_new(c);
	int32_t parts[] = { 0, 1 };
	uint64_t e0 = owner_epoch(o), e1, e2;

	owner_set_partition_count(o, 2);
	owner_assign(o, parts, 2);
	e1 = owner_epoch(o);
	cr_assert_neq(e1, e0, "an assignment moves the epoch");
	cr_assert(owner_set_caught_up(o, 0));
	cr_assert_eq(owner_epoch(o), e1, "a catch-up does not");
	owner_unassign(o);
	e2 = owner_epoch(o);
	cr_assert_neq(e2, e1, "an unassignment moves it");
	owner_assign(o, parts, 2);
	cr_assert_neq(owner_epoch(o), e2, "the same partitions again move it");
	cr_assert(!owner_caught_up(o, 0), "caught up anew after it");
	owner_free(o);
	config_free(c);
}
