/*
 * hash.c: FNV-1a, 64 bits (see hash.h). Pure.
 */
#include "hash.h"

#define FNV64_PRIME	0x100000001b3ULL

uint64_t
hash_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}
