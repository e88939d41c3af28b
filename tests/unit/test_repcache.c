/*
 * The evaluator's copy of its reps' counters and states (repcache.h):
 * what a read fills, what counted values change, when a rep must be read
 * again (a new bucket, a count racing a read, the refresh interval, a
 * forgotten rep, a clearing), and that states come back as
 * eval_state_parse_brief would read them from Redis. Pure.
 */

#include "repcache.h"

#include <criterion/criterion.h>

#include <string.h>

#define NKPIS	2
#define NSLOTS	(NKPIS * PERIOD_COUNT)
#define T0	1000000

static const int32_t starts[PERIOD_COUNT] = { 100, 98, 90, 60 };

/* A read: kpi k of period p holds 10 * p + k + 1; no state. */
static void
read_values(double *actual)
{
	for (int p = 0; p < PERIOD_COUNT; p++)
		for (int k = 0; k < NKPIS; k++)
			actual[p * NKPIS + k] = 10 * p + k + 1;
}

static struct repcache *
filled(size_t rep)
{
	struct repcache *c = repcache_new(4, NKPIS);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];

	read_values(actual);
	memset(prev, 0, sizeof(prev));
	repcache_fill(c, rep, repcache_epoch(c, rep), starts, actual, prev,
	    777, T0);
	return c;
}

Test(repcache, empty_misses)
{
	struct repcache *c = repcache_new(4, NKPIS);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at = -1;

	cr_assert_not(repcache_get(c, 0, starts, T0, actual, prev, &last_at));
	cr_assert_eq(repcache_known(c), 0);
	/* Counting a rep never judged here keeps nothing. */
	repcache_counted(c, 0, 0, PERIOD_DAY, 100, 5);
	cr_assert_not(repcache_get(c, 0, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

Test(repcache, fill_then_hit)
{
	struct repcache *c = filled(1);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at = 0;

	memset(prev, 0, sizeof(prev));
	cr_assert_eq(repcache_known(c), 1);
	cr_assert(repcache_get(c, 1, starts, T0 + 5, actual, prev, &last_at));
	cr_assert_eq(last_at, 777);
	for (int p = 0; p < PERIOD_COUNT; p++)
		for (int k = 0; k < NKPIS; k++)
			cr_assert_eq(actual[p * NKPIS + k], 10 * p + k + 1);
	for (int s = 0; s < NSLOTS; s++)
		cr_assert_not(prev[s].present);
	/* Another rep is not known. */
	cr_assert_not(repcache_get(c, 2, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

Test(repcache, counted_updates_the_bucket)
{
	struct repcache *c = filled(1);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at;

	repcache_counted(c, 1, 1, PERIOD_WEEK, 98, 42.5);
	/* An earlier bucket's count (a late event) changes nothing. */
	repcache_counted(c, 1, 0, PERIOD_WEEK, 91, 1000);
	cr_assert(repcache_get(c, 1, starts, T0, actual, prev, &last_at));
	cr_assert_eq(actual[PERIOD_WEEK * NKPIS + 1], 42.5);
	cr_assert_eq(actual[PERIOD_WEEK * NKPIS + 0], 11);
	repcache_free(c);
}

Test(repcache, new_bucket_needs_a_read)
{
	struct repcache *c = filled(1);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at;
	int32_t next[PERIOD_COUNT] = { 101, 98, 90, 60 };

	/* The next day's first count: only that KPI is known there. */
	repcache_counted(c, 1, 0, PERIOD_DAY, 101, 3);
	cr_assert_not(repcache_get(c, 1, next, T0, actual, prev, &last_at));
	cr_assert_not(repcache_get(c, 1, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

Test(repcache, count_during_a_read_discards_the_read)
{
	struct repcache *c = repcache_new(4, NKPIS);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at;
	uint32_t epoch = repcache_epoch(c, 3);

	read_values(actual);
	memset(prev, 0, sizeof(prev));
	/* The script's answer came first: the read may be older. */
	repcache_counted(c, 3, 0, PERIOD_DAY, 100, 99);
	repcache_fill(c, 3, epoch, starts, actual, prev, 0, T0);
	cr_assert_not(repcache_get(c, 3, starts, T0, actual, prev, &last_at));
	/* A read sent after it fills. */
	repcache_fill(c, 3, repcache_epoch(c, 3), starts, actual, prev, 0, T0);
	cr_assert(repcache_get(c, 3, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

Test(repcache, refresh_interval)
{
	struct repcache *c = filled(0);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at;

	cr_assert(repcache_get(c, 0, starts, T0 + REPCACHE_REFRESH_MS - 1,
	    actual, prev, &last_at));
	cr_assert_not(repcache_get(c, 0, starts, T0 + REPCACHE_REFRESH_MS,
	    actual, prev, &last_at));
	/* A clock going back reads too. */
	cr_assert_not(repcache_get(c, 0, starts, T0 - 1, actual, prev,
	    &last_at));
	repcache_free(c);
}

Test(repcache, forget_clear_reset)
{
	struct repcache *c = filled(0);
	double actual[NSLOTS];
	struct eval_state prev[NSLOTS];
	int64_t last_at;

	repcache_forget(c, 0);
	cr_assert_eq(repcache_known(c), 0);
	cr_assert_not(repcache_get(c, 0, starts, T0, actual, prev, &last_at));
	repcache_free(c);

	c = filled(2);
	repcache_clear(c);
	cr_assert_eq(repcache_known(c), 0);
	cr_assert_not(repcache_get(c, 2, starts, T0, actual, prev, &last_at));
	repcache_free(c);

	c = filled(2);
	repcache_reset(c, 10, NKPIS);
	cr_assert_eq(repcache_known(c), 0);
	cr_assert_not(repcache_get(c, 2, starts, T0, actual, prev, &last_at));
	/* Out of range: ignored. */
	repcache_counted(c, 10, 0, PERIOD_DAY, 100, 1);
	repcache_forget(c, 10);
	cr_assert_not(repcache_get(c, 10, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

/* A state as stored, and as parse_brief reads it back from its text. */
static void
some_state(struct eval_state *s)
{
	memset(s, 0, sizeof(*s));
	s->present = true;
	s->start_day = 98;
	s->alert.level = ALERT_LEVEL_WARNING;
	s->alert.fired_at_ms = 1700000000000;
	s->alert.last_sent_ms = 1700000060000;
	s->alert.repeats = 2;
	s->alert.last_sent_worked_ms = 3600000;
	s->actual = 4;
	s->target = 300;
	s->expected = 120;
	s->pace = 0.0333;
	s->required_rate = 7.5;
}

Test(repcache, stored_states_read_back_as_redis_holds_them)
{
	struct repcache *c = filled(1);
	struct eval_state states[NSLOTS], prev[NSLOTS], parsed;
	bool changed[NSLOTS] = { false };
	double actual[NSLOTS];
	int64_t last_at;
	char text[EVAL_STATE_SIZE];
	size_t slot = 1 * PERIOD_COUNT + PERIOD_WEEK;

	memset(states, 0, sizeof(states));
	memset(prev, 0, sizeof(prev));
	some_state(&states[slot]);
	changed[slot] = true;
	repcache_stored(c, 1, states, changed, 888);
	cr_assert(repcache_get(c, 1, starts, T0, actual, prev, &last_at));
	cr_assert_eq(last_at, 888);
	eval_state_format(&states[slot], text, sizeof(text));
	cr_assert_eq(eval_state_parse_brief(text, strlen(text), &parsed), 0);
	cr_assert_eq(memcmp(&prev[slot], &parsed, sizeof(parsed)), 0);
	for (size_t s = 0; s < NSLOTS; s++)
		if (s != slot)
			cr_assert_not(prev[s].present);

	/* Deleted (changed, not present): none left. */
	memset(&states[slot], 0, sizeof(states[slot]));
	repcache_stored(c, 1, states, changed, 999);
	memset(prev, 0, sizeof(prev));
	cr_assert(repcache_get(c, 1, starts, T0, actual, prev, &last_at));
	cr_assert_not(prev[slot].present);
	cr_assert_eq(last_at, 999);
	repcache_free(c);
}

Test(repcache, stored_needs_a_known_rep)
{
	struct repcache *c = repcache_new(4, NKPIS);
	struct eval_state states[NSLOTS], prev[NSLOTS];
	bool changed[NSLOTS] = { false };
	double actual[NSLOTS];
	int64_t last_at;

	memset(states, 0, sizeof(states));
	some_state(&states[0]);
	changed[0] = true;
	repcache_stored(c, 0, states, changed, 5);
	cr_assert_not(repcache_get(c, 0, starts, T0, actual, prev, &last_at));
	repcache_free(c);
}

/* Several states: kept by slot through additions, changes and deletions
 * in any order (each as eval_state_brief keeps it: its target marks it
 * here); a read (fill) replaces them all. */
Test(repcache, several_states_by_slot)
{
	struct repcache *c = filled(2);
	struct eval_state states[NSLOTS], prev[NSLOTS];
	bool changed[NSLOTS];
	double actual[NSLOTS];
	int64_t last_at;

	memset(states, 0, sizeof(states));
	memset(changed, 0, sizeof(changed));
	for (size_t s = 1; s < NSLOTS; s += 2) {	/* 1, 3, 5, 7 */
		some_state(&states[s]);
		states[s].target = (double)s;
		changed[s] = true;
	}
	repcache_stored(c, 2, states, changed, 10);
	/* 3 gone, 5 changed, 6 new; 1 and 7 not changed (left as they
	 * are even though states[] says otherwise now) */
	memset(changed, 0, sizeof(changed));
	memset(&states[3], 0, sizeof(states[3]));
	changed[3] = true;
	states[5].target = 55;
	changed[5] = true;
	some_state(&states[6]);
	states[6].target = 66;
	changed[6] = true;
	states[1].target = 1000;
	repcache_stored(c, 2, states, changed, 20);
	memset(prev, 0, sizeof(prev));
	cr_assert(repcache_get(c, 2, starts, T0, actual, prev, &last_at));
	for (size_t s = 0; s < NSLOTS; s++) {
		double v[NSLOTS] = { 0, 1, 0, 0, 0, 55, 66, 7 };

		cr_assert_eq(prev[s].present, s == 1 || s == 5 || s == 6 ||
		    s == 7, "slot %zu", s);
		if (prev[s].present)
			cr_assert_eq(prev[s].target, v[s], "slot %zu: %g", s,
			    prev[s].target);
	}
	/* A read replaces every state: one left. */
	memset(states, 0, sizeof(states));
	some_state(&states[4]);
	repcache_fill(c, 2, repcache_epoch(c, 2), starts, actual, states, 30,
	    T0);
	memset(prev, 0, sizeof(prev));
	cr_assert(repcache_get(c, 2, starts, T0, actual, prev, &last_at));
	for (size_t s = 0; s < NSLOTS; s++)
		cr_assert_eq(prev[s].present, s == 4, "slot %zu", s);
	repcache_free(c);
}

/* The hint of which changed reps to judge first: unknown until judged,
 * then whether an alert fires or a breach is under way; a state with
 * neither (what an alerting pair keeps once calm) is not one; the hint
 * outlives a forgotten entry and a clearing, not a reset. */
Test(repcache, alerting_hint)
{
	struct repcache *c = repcache_new(4, NKPIS);
	struct eval_state s[NSLOTS];

	cr_assert(repcache_alerting(c, 1), "unknown reads as alerting");
	cr_assert(repcache_alerting(c, 99), "out of range reads as alerting");
	memset(s, 0, sizeof(s));
	repcache_note_alerting(c, 1, s);
	cr_assert_not(repcache_alerting(c, 1));
	s[3].present = true;		/* calm: level none, no breach */
	repcache_note_alerting(c, 1, s);
	cr_assert_not(repcache_alerting(c, 1));
	s[3].alert.pending = ALERT_PENDING_UP;
	repcache_note_alerting(c, 1, s);
	cr_assert(repcache_alerting(c, 1), "a breach under way");
	s[3].alert.pending = ALERT_PENDING_NONE;
	repcache_note_alerting(c, 1, s);
	cr_assert_not(repcache_alerting(c, 1), "the breach is over");
	s[NSLOTS - 1].present = true;
	s[NSLOTS - 1].alert.level = ALERT_LEVEL_WARNING;
	repcache_note_alerting(c, 2, s);
	cr_assert(repcache_alerting(c, 2), "an alert firing");
	cr_assert(repcache_alerting(c, 0), "rep 0 is still unknown");
	repcache_forget(c, 2);
	repcache_clear(c);
	cr_assert(repcache_alerting(c, 2), "the hint went with the clearing");
	cr_assert_not(repcache_alerting(c, 1));
	repcache_reset(c, 4, NKPIS);
	cr_assert(repcache_alerting(c, 1), "a reset keeps an old roster's hint");
	repcache_free(c);
}
