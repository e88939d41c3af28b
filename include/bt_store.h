#ifndef PACED_BT_STORE_H
#define PACED_BT_STORE_H

/*
 * The in-memory stores of `paced backtest` (backtest.c): the dedupe set of
 * event hashes and the counters of (rep, period, bucket), open-addressing
 * hash tables that grow by doubling. Every allocation is the store's own;
 * free with idset_free / counters_free.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"

/*
 * Dedupe set: 64-bit hashes of (rep, UTC day, event_id). Two distinct ids
 * collide with odds of about n^2 / 2^65: for 2.5 million events (a quarter
 * of a 1,000-rep org) about 2 in 10 million, when one event would be taken
 * for a duplicate. Full ids would cost some 100 MB for that quarter.
 */
struct idset {
	uint64_t	*keys;		/* 0: empty */
	size_t		 cap;		/* power of two */
	size_t		 n;
};

/* Counters: (rep, period, bucket start day) -> one row of nkpis values. */
#define COUNTER_EMPTY	UINT64_MAX
struct counters {
	uint64_t	*keys;
	uint32_t	*rows;
	size_t		 cap;		/* power of two */
	size_t		 n;
	double		*vals;		/* n rows of nkpis */
	size_t		 vals_rows;	/* rows allocated */
};

/* A bijective finaliser: spreads FNV's low bits over a table index. */
uint64_t bt_mix64(uint64_t x);
/* Adds h to s; false when it was there already. */
bool idset_add(struct idset *s, uint64_t h);
/* Frees what s holds and empties it. */
void idset_free(struct idset *s);
/* The key of (rep, p, start_day) in the counters. */
uint64_t counter_key(size_t rep, enum period p, int32_t start_day);
/* The row of key in c (rows of nkpis values, zero when new); UINT32_MAX
 * when absent and !create. */
uint32_t counters_find(struct counters *c, size_t nkpis, uint64_t key,
    bool create);
/* Frees what c holds and empties it. */
void counters_free(struct counters *c);

#endif
