#include "owner.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

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

/* owner_owns_rep (the roster's hashes) answers as owner_owns (the id),
 * whichever partitioner the config names, and after it changes. */
Test(owner, owns_rep_follows_owns)
{
	struct config *c = load("clock: event\nkafka: {partitioner: consistent_random}\n");
	struct config *m = load("clock: event\n");
	struct owner *o = owner_new(c);
	char err[256];
	struct roster *r = roster_new(c, err, sizeof(err));
	const int32_t parts[] = { 6 };

	cr_assert_not_null(r, "%s", err);
	for (int round = 0; round < 3; round++) {
		if (round == 1) {
			owner_set_partition_count(o, 7);
			owner_assign(o, parts, 1);
		}
		if (round == 2)
			owner_set_config(o, m);
		for (size_t i = 0; i < roster_size(r); i++) {
			const struct roster_rep *rr = roster_rep_at(r, i);

			cr_assert_eq(owner_owns_rep(o, rr),
			    owner_owns(o, rr->rep->id), "%s, round %d",
			    rr->rep->id, round);
		}
	}
	cr_assert(owner_owns_rep(o, roster_rep(r, "r001")));
	roster_free(r);
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

Test(owner, data_since_follows_the_rep_partition)
{
	struct config *c = load("");
	struct owner *o = owner_new(c);
	const int32_t parts[] = { 3 };

	/* Unknown partition count or start: every bucket whole. */
	cr_assert_eq(owner_data_since(o, "r007"), INT64_MIN);
	owner_set_partition_count(o, 7);
	cr_assert_eq(owner_data_since(o, "r007"), INT64_MIN);
	cr_assert_not(owner_began_known(o, 3));
	owner_set_began(o, 3, 1796500000000);
	cr_assert(owner_began_known(o, 3));
	cr_assert_eq(owner_data_since(o, "r007"), 1796500000000);
	cr_assert_eq(owner_data_since(o, "r001"), INT64_MIN, "partition 6");
	owner_set_began(o, 6, 0);
	cr_assert_eq(owner_data_since(o, "r001"), 0);
	/* A start never changes with the assignment. */
	owner_assign(o, parts, 1);
	owner_unassign(o);
	cr_assert_eq(owner_data_since(o, "r007"), 1796500000000);
	cr_assert_not(owner_began_known(o, -1));
	cr_assert_not(owner_began_known(o, 100));
	owner_free(o);
	config_free(c);
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

/*
 * The stall fence: session 6 s, heartbeats every 1 s, so a loop that did
 * not run for more than 5 s judges nothing for 3 s unless a rebalance
 * event comes first.
 */
static struct owner *
fenced_owner(struct config **c)
{
	const int32_t parts[] = { 3 };
	struct owner *o;

	*c = load("clock: event\n"
	    "kafka: {brokers: \"127.0.0.1:9092\", properties: "
	    "{session.timeout.ms: \"6000\", heartbeat.interval.ms: \"1000\"}}\n");
	o = owner_new(*c);
	owner_set_partition_count(o, 7);
	owner_assign(o, parts, 1);
	return o;
}

Test(owner, a_stall_fences_until_the_fence_ends)
{
	struct config *c;
	struct owner *o = fenced_owner(&c);
	int64_t now = caltime_mono_ms();
	uint64_t epoch;

	/* (times around now: owner_fenced reads the clock itself) */
	cr_assert_not(owner_alive(o, now - 8000));
	cr_assert_not(owner_alive(o, now - 4000), "4 s: no stall");
	cr_assert_not(owner_fenced(o));
	cr_assert(owner_owns(o, "r007"));
	cr_assert_eq(owner_stalls(o), 0);
	/* 5.5 s without a turn of the loop */
	cr_assert_not(owner_alive(o, now + 1500));
	cr_assert(owner_fenced(o));
	cr_assert_not(owner_owns(o, "r007"), "fenced: judges nothing");
	cr_assert_eq(owner_stalls(o), 1);
	epoch = owner_epoch(o);
	cr_assert_not(owner_alive(o, now + 4499), "fence not over");
	cr_assert(owner_fenced(o));
	cr_assert(owner_alive(o, now + 4500), "3 s later, no rebalance");
	cr_assert_not(owner_fenced(o));
	cr_assert(owner_owns(o, "r007"), "the assignment held");
	cr_assert_neq(owner_epoch(o), epoch, "caught-up partitions are news");
	owner_free(o);
	config_free(c);
}

Test(owner, a_rebalance_ends_the_fence)
{
	struct config *c;
	struct owner *o = fenced_owner(&c);
	int64_t now = caltime_mono_ms();
	const int32_t parts[] = { 6 };

	owner_alive(o, now - 20000);
	owner_alive(o, now - 10000);
	cr_assert(owner_fenced(o));
	owner_unassign(o);		/* the revoke the heartbeat brings */
	cr_assert_not(owner_fenced(o));
	cr_assert_not(owner_owns(o, "r007"));
	owner_assign(o, parts, 1);
	cr_assert(owner_owns(o, "r001"), "r001 lives in partition 6");
	owner_free(o);
	config_free(c);
}

Test(owner, a_stall_the_timer_has_not_seen_fences_too)
{
	struct config *c;
	struct owner *o = fenced_owner(&c);

	/* the last turn of the loop 6 s ago, nothing since */
	owner_alive(o, caltime_mono_ms() - 6000);
	cr_assert(owner_fenced(o), "a reply handled before the timer");
	owner_free(o);
	config_free(c);
}
