#ifndef PACED_HASH_H
#define PACED_HASH_H

/*
 * FNV-1a, 64 bits: the one non-cryptographic hash of paced (alert ids, the
 * backtest's dedupe set, the demo producer's jitter). Pure. The values
 * reach Redis and Kafka (alert ids), so the function never changes.
 */

#include <stddef.h>
#include <stdint.h>

/* The FNV-1a 64-bit offset basis: the h of the first call. */
#define HASH_FNV1A_INIT	0xcbf29ce484222325ULL

/* Folds len bytes at buf (borrowed) into h; returns the new hash. */
uint64_t hash_fnv1a(uint64_t h, const void *buf, size_t len);

#endif
