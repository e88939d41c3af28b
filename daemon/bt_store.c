/*
 * bt_store.c: the dedupe set and the counters of the backtest (bt_store.h).
 */
#include "bt_store.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* A bijective finaliser: spreads FNV's low bits over the table index. */
uint64_t
bt_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void
idset_grow(struct idset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024, m = ncap - 1;
	uint64_t *nk = xcalloc(ncap, sizeof(*nk));

	for (size_t i = 0; i < s->cap; i++) {
		uint64_t h = s->keys[i];
		size_t j;

		if (h == 0)
			continue;
		for (j = (size_t)h & m; nk[j] != 0; j = (j + 1) & m)
			;
		nk[j] = h;
	}
	free(s->keys);
	s->keys = nk;
	s->cap = ncap;
}

/* Adds h; false when it was there already. */
bool
idset_add(struct idset *s, uint64_t h)
{
	size_t m, i;

	if (h == 0)
		h = 1;
	if ((s->n + 1) * 2 > s->cap)
		idset_grow(s);
	m = s->cap - 1;
	for (i = (size_t)h & m; s->keys[i] != 0; i = (i + 1) & m)
		if (s->keys[i] == h)
			return false;
	s->keys[i] = h;
	s->n++;
	return true;
}

uint64_t
counter_key(size_t rep, enum period p, int32_t start_day)
{
	return (uint64_t)rep << 34 | (uint64_t)p << 32 | (uint32_t)start_day;
}

static void
counters_grow(struct counters *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 4096, m = ncap - 1;
	uint64_t *nk = xmalloc(ncap * sizeof(*nk));
	uint32_t *nr = xmalloc(ncap * sizeof(*nr));

	for (size_t i = 0; i < ncap; i++)
		nk[i] = COUNTER_EMPTY;
	for (size_t i = 0; i < c->cap; i++) {
		size_t j;

		if (c->keys[i] == COUNTER_EMPTY)
			continue;
		for (j = (size_t)bt_mix64(c->keys[i]) & m; nk[j] != COUNTER_EMPTY;
		    j = (j + 1) & m)
			;
		nk[j] = c->keys[i];
		nr[j] = c->rows[i];
	}
	free(c->keys);
	free(c->rows);
	c->keys = nk;
	c->rows = nr;
	c->cap = ncap;
}

uint32_t
counters_find(struct counters *c, size_t nkpis, uint64_t key, bool create)
{
	size_t m, i;
	uint32_t row;

	if (c->cap == 0) {
		if (!create)
			return UINT32_MAX;
		counters_grow(c);
	}
	m = c->cap - 1;
	for (i = (size_t)bt_mix64(key) & m; c->keys[i] != COUNTER_EMPTY;
	    i = (i + 1) & m)
		if (c->keys[i] == key)
			return c->rows[i];
	if (!create)
		return UINT32_MAX;
	if ((c->n + 1) * 2 > c->cap) {
		counters_grow(c);
		m = c->cap - 1;
		for (i = (size_t)bt_mix64(key) & m; c->keys[i] != COUNTER_EMPTY;
		    i = (i + 1) & m)
			;
	}
	if (c->n == c->vals_rows) {
		c->vals_rows = c->vals_rows ? c->vals_rows * 2 : 4096;
		c->vals = xreallocarray(c->vals, c->vals_rows,
		    (nkpis ? nkpis : 1) * sizeof(double));
	}
	row = (uint32_t)c->n++;
	memset(c->vals + (size_t)row * nkpis, 0,
	    nkpis * sizeof(double));
	c->keys[i] = key;
	c->rows[i] = row;
	return row;
}

void
idset_free(struct idset *s)
{
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

void
counters_free(struct counters *c)
{
	free(c->keys);
	free(c->rows);
	free(c->vals);
	memset(c, 0, sizeof(*c));
}
