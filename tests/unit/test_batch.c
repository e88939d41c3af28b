#include "batch.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct activity
mkevent(const char *id, int count, double amount)
{
	struct activity ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.event_id, sizeof(ev.event_id), "%s", id);
	ev.count = count;
	ev.has_amount = amount > 0;
	ev.amount = amount;
	return ev;
}

Test(batch, groups_by_rep_type_and_day)
{
	struct batch *b = batch_new();
	struct roster_rep r1 = { .index = 0 }, r2 = { .index = 1 };
	size_t calls[1] = { 0 }, deals[2] = { 1, 2 };
	struct activity e;

	batch_reset(b, 1, 2);
	e = mkevent("a", 1, 0);
	batch_add(b, &r1, calls, 1, 100, 100, &e);
	e = mkevent("b", 2, 0);
	batch_add(b, &r1, calls, 1, 100, 100, &e);
	e = mkevent("c", 1, 0);
	batch_add(b, &r1, calls, 1, 101, 101, &e);	/* another day */
	e = mkevent("d", 1, 500.5);
	batch_add(b, &r1, deals, 2, 100, 100, &e);	/* another type */
	e = mkevent("e", 1, 0);
	batch_add(b, &r2, calls, 1, 100, 99, &e);	/* another rep */

	cr_assert_eq(b->nreps, 2);
	cr_assert_eq(b->ngroups, 4);
	cr_assert_eq(b->nevents, 5);
	cr_assert_eq(b->reps[0].rep, &r1);
	cr_assert_eq(b->reps[0].ngroups, 3);
	cr_assert_eq(b->reps[0].nevents, 4);
	cr_assert_eq(b->reps[1].ngroups, 1);

	/* The first group holds a and b, in order. */
	const struct batch_group *g = &b->groups[b->reps[0].first_group];
	cr_assert_eq(g->nevents, 2);
	cr_assert_eq(g->local_day, 100);
	const struct batch_event *ev = &b->events[g->first];
	cr_assert_eq(ev->id_len, 1);
	cr_assert_eq(b->ids[ev->id_off], 'a');
	ev = &b->events[ev->next];
	cr_assert_eq(b->ids[ev->id_off], 'b');
	cr_assert_eq(ev->count, 2);
	cr_assert_eq(ev->next, UINT32_MAX);

	/* The deal group keeps its amount and both KPIs. */
	g = &b->groups[b->groups[g->next].next];
	cr_assert_eq(g->nkpis, 2);
	cr_assert_float_eq(b->events[g->first].amount, 500.5, 1e-9);
	batch_free(b);
}

Test(batch, offsets_track_first_and_last_per_partition)
{
	struct batch *b = batch_new();

	batch_reset(b, 1, 0);
	batch_note_offset(b, 3, 10);
	batch_note_offset(b, 1, 7);
	batch_note_offset(b, 3, 11);
	batch_note_offset(b, 3, 15);
	cr_assert_eq(b->nmessages, 4);
	cr_assert_eq(b->nparts, 2);
	cr_assert_eq(b->parts[0].partition, 3);
	cr_assert_eq(b->parts[0].first_offset, 10);
	cr_assert_eq(b->parts[0].last_offset, 15);
	cr_assert_eq(b->parts[1].last_offset, 7);
	batch_free(b);
}

Test(batch, reset_reuses_storage_and_forgets_groups)
{
	struct batch *b = batch_new();
	struct roster_rep r = { .index = 0 };
	size_t k[1] = { 0 };
	char id[16];

	batch_reset(b, 1, 1);
	/* Enough groups to force the table to grow a few times. */
	for (int d = 0; d < 5000; d++) {
		struct activity e;

		snprintf(id, sizeof(id), "id%d", d);
		e = mkevent(id, 1, 0);
		batch_add(b, &r, k, 1, d, d, &e);
	}
	cr_assert_eq(b->ngroups, 5000);
	cr_assert_eq(b->reps[0].ngroups, 5000);
	batch_reset(b, 2, 1);
	cr_assert_eq(b->nreps, 0);
	cr_assert_eq(b->ngroups, 0);
	{
		struct activity e = mkevent("x", 1, 0);

		batch_add(b, &r, k, 1, 7, 7, &e);
	}
	cr_assert_eq(b->nreps, 1);
	cr_assert_eq(b->ngroups, 1);
	cr_assert_eq(b->groups[0].local_day, 7);
	batch_free(b);
}

Test(batch, free_null_is_a_noop)
{
	batch_free(NULL);
	cr_assert(true);
}
