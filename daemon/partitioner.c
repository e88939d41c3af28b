/*
 * partitioner.c: the partition a keyed message lands in, for the two
 * partitioners our producers may be configured with (see partitioner.h).
 * Pure functions, callable from any thread; nothing here talks to Kafka.
 *
 * The arithmetic follows Kafka's Java definition rather than any C port:
 * 32-bit wrap-around multiplication (unsigned here, where Java's int
 * overflow is defined and C's signed overflow is not), logical right
 * shifts (Java's >>>), and key bytes read as unsigned, which is what Java's
 * `b & 0xff` yields; a plain `char` would sign-extend bytes >= 0x80 on
 * most targets and hash non-ASCII keys differently.
 */

#include "partitioner.h"

#include <string.h>

#define MURMUR2_SEED	0x9747b28cU
#define MURMUR2_M	0x5bd1e995U
#define MURMUR2_R	24

/* Reflected form of the IEEE 802.3 polynomial 0x04c11db7. */
#define CRC32_POLY	0xedb88320U

int
partitioner_parse(const char *name, enum partitioner_kind *out)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "murmur2_random") == 0 ||
	    strcmp(name, "murmur2") == 0) {
		*out = PARTITIONER_MURMUR2;
		return 0;
	}
	if (strcmp(name, "consistent_random") == 0 ||
	    strcmp(name, "consistent") == 0) {
		*out = PARTITIONER_CRC32;
		return 0;
	}
	return -1;
}

const char *
partitioner_name(enum partitioner_kind kind)
{
	switch (kind) {
	case PARTITIONER_MURMUR2:
		return "murmur2_random";
	case PARTITIONER_CRC32:
		return "consistent_random";
	}
	return "unknown";
}

uint32_t
partitioner_murmur2(const void *key, size_t len)
{
	const unsigned char *p = key;
	size_t nblocks = len / 4, i;
	uint32_t h, k;

	/* Java hashes an int length; keys here are far below 2^31 bytes,
	 * and the truncation matches Java's for any length anyway. */
	h = MURMUR2_SEED ^ (uint32_t)len;
	for (i = 0; i < nblocks; i++, p += 4) {
		k = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		k *= MURMUR2_M;
		k ^= k >> MURMUR2_R;
		k *= MURMUR2_M;
		h *= MURMUR2_M;
		h ^= k;
	}

	/* The 1-3 trailing bytes, high one first as in Java's fall-through
	 * switch. */
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= (uint32_t)p[0];
		h *= MURMUR2_M;
		break;
	default:
		break;
	}

	h ^= h >> 13;
	h *= MURMUR2_M;
	h ^= h >> 15;
	return h;
}

uint32_t
partitioner_crc32(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t crc = 0xffffffffU;
	size_t i;
	int bit;

	/* Bit at a time: keys are short rep ids, and no table means nothing
	 * to initialise or share between threads. */
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (CRC32_POLY & (0U - (crc & 1U)));
	}
	return crc ^ 0xffffffffU;
}

int32_t
partitioner_partition(const void *key, size_t len, int32_t npartitions)
{
	return partitioner_pick(PARTITIONER_MURMUR2, key, len, npartitions);
}

uint32_t
partitioner_key_hash(enum partitioner_kind kind, const void *key, size_t len)
{
	switch (kind) {
	case PARTITIONER_MURMUR2:
		/* Java's Utils.toPositive: clear the sign bit, not abs(). */
		return partitioner_murmur2(key, len) & 0x7fffffffU;
	case PARTITIONER_CRC32:
		/* librdkafka takes the CRC unsigned: no sign bit to clear. */
		return partitioner_crc32(key, len);
	default:
		return 0;
	}
}

int32_t
partitioner_pick_hash(uint32_t h, int32_t npartitions)
{
	if (npartitions < 1)
		return -1;
	return (int32_t)(h % (uint32_t)npartitions);
}

int32_t
partitioner_pick(enum partitioner_kind kind, const void *key, size_t len,
    int32_t npartitions)
{
	if (npartitions < 1 || (kind != PARTITIONER_MURMUR2 &&
	    kind != PARTITIONER_CRC32))
		return -1;
	return partitioner_pick_hash(partitioner_key_hash(kind, key, len),
	    npartitions);
}
