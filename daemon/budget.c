/*
 * budget.c: the per-manager daily budget of webhook digests; the rules
 * are in budget.h.
 */
#include "budget.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct entry {
	char *manager;			/* NULL: the alerts of no manager */
	int32_t day;
	long used;			/* lines sent on day */
	long held;			/* lines held on day */
	long held_before;		/* held on the previous day, unsaid */
};

struct budget {
	struct entry *e;
	size_t n, cap;
};

struct budget *
budget_new(void)
{
	return xcalloc(1, sizeof(struct budget));
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->e[i].manager);
	free(b->e);
	free(b);
}

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static struct entry *
find_entry(const struct budget *b, const char *manager)
{
	for (size_t i = 0; i < b->n; i++)
		if (same(b->e[i].manager, manager))
			return &b->e[i];
	return NULL;
}

static struct entry *
entry_of(struct budget *b, const char *manager, int32_t day)
{
	struct entry *e;

	for (size_t i = 0; i < b->n; i++)
		if (same(b->e[i].manager, manager))
			return &b->e[i];
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->e = xreallocarray(b->e, b->cap, sizeof(*b->e));
	}
	e = &b->e[b->n++];
	memset(e, 0, sizeof(*e));
	e->manager = manager != NULL ? xstrdup(manager) : NULL;
	e->day = day;
	return e;
}

size_t
budget_take(struct budget *b, const char *manager, int32_t day, long max,
    const bool *critical, size_t *idx, size_t n, struct budget_note *note)
{
	struct entry *e = entry_of(b, manager, day);
	size_t *tmp, k = 0, keep;
	long left;

	memset(note, 0, sizeof(*note));
	note->max = max;
	if (e->day != day) {
		/* A new day: what the last one held is said once, now. */
		e->held_before = e->held;
		e->day = day;
		e->used = 0;
		e->held = 0;
	}
	if (max <= 0)
		keep = n;
	else {
		/* Critical firing first, each part in its order. */
		tmp = xcalloc(n > 0 ? n : 1, sizeof(*tmp));
		for (size_t i = 0; i < n; i++)
			if (critical[idx[i]])
				tmp[k++] = idx[i];
		for (size_t i = 0; i < n; i++)
			if (!critical[idx[i]])
				tmp[k++] = idx[i];
		memcpy(idx, tmp, n * sizeof(*idx));
		free(tmp);
		left = max > e->used ? max - e->used : 0;
		keep = (size_t)left < n ? (size_t)left : n;
	}
	e->used += (long)keep;
	e->held += (long)(n - keep);
	if (keep == 0)
		return 0;	/* the limit was reached before: nothing */
	note->held_now = (long)(n - keep);
	note->held_before = e->held_before;
	e->held_before = 0;
	return keep;
}

void
budget_seed(struct budget *b, const char *manager, int32_t day, long used,
    long held, long held_before)
{
	struct entry *e = find_entry(b, manager);

	if (e == NULL) {
		e = entry_of(b, manager, day);
		e->used = used;
		e->held = held;
		e->held_before = held_before;
		return;
	}
	if (day < e->day)
		return;
	if (day > e->day) {
		e->day = day;
		e->used = used;
		e->held = held;
		e->held_before = held_before;
		return;
	}
	if (used > e->used)
		e->used = used;
	if (held > e->held)
		e->held = held;
	if (held_before > e->held_before)
		e->held_before = held_before;
}

int
budget_state(const struct budget *b, const char *manager, int32_t *day,
    long *used, long *held, long *held_before)
{
	const struct entry *e = find_entry(b, manager);

	if (e == NULL)
		return -1;
	*day = e->day;
	*used = e->used;
	*held = e->held;
	*held_before = e->held_before;
	return 0;
}
