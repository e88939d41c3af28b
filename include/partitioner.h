#ifndef PACED_PARTITIONER_H
#define PACED_PARTITIONER_H

/*
 * Which partition a keyed Kafka message lands in, computed the way the
 * producers compute it, so that paced (and its tools) can tell where a
 * rep's events live without asking a broker. Pure: no I/O, no state.
 *
 *  - PARTITIONER_MURMUR2: the Java client's default for keyed messages
 *    (Kafka's Utils.murmur2, seed 0x9747b28c, then & 0x7fffffff, modulo
 *    the partition count); librdkafka's "murmur2_random" and "murmur2".
 *  - PARTITIONER_CRC32: librdkafka's default "consistent_random" and
 *    "consistent": the IEEE CRC-32 (as zlib's crc32) of the key, as an
 *    unsigned 32-bit value, modulo the partition count.
 *
 * The *_random variants of librdkafka pick a random partition for a
 * message without a key (murmur2_random: NULL key; consistent_random: an
 * empty key), so no function here can predict those; paced keys every
 * message by a non-empty rep_id.
 */

#include <stddef.h>
#include <stdint.h>

enum partitioner_kind {
	PARTITIONER_MURMUR2,
	PARTITIONER_CRC32,
};
#define PARTITIONER_KINDS	2

/* Parses a librdkafka partitioner name: "murmur2_random" | "murmur2" |
 * "consistent_random" | "consistent"; borrows name. Returns 0 or -1. */
int partitioner_parse(const char *name, enum partitioner_kind *out);
/* Returns the librdkafka property value for kind ("murmur2_random" or
 * "consistent_random"); static storage. */
const char *partitioner_name(enum partitioner_kind kind);

/* Kafka's murmur2 of len bytes at key (borrowed), as an unsigned value
 * (the Java int's bit pattern). */
uint32_t partitioner_murmur2(const void *key, size_t len);
/* IEEE CRC-32 of len bytes at key (borrowed). */
uint32_t partitioner_crc32(const void *key, size_t len);

/* The Java client's partition for key (borrowed): murmur2 & 0x7fffffff,
 * modulo npartitions. Returns -1 if npartitions < 1. */
int32_t partitioner_partition(const void *key, size_t len,
    int32_t npartitions);
/* The value producers configured with kind take modulo the partition
 * count for key (borrowed); 0 for an unknown kind. */
uint32_t partitioner_key_hash(enum partitioner_kind kind, const void *key,
    size_t len);
/* The partition of a partitioner_key_hash value: -1 if npartitions < 1. */
int32_t partitioner_pick_hash(uint32_t h, int32_t npartitions);
/* The partition that producers configured with kind pick for key
 * (borrowed). Returns -1 if npartitions < 1. */
int32_t partitioner_pick(enum partitioner_kind kind, const void *key,
    size_t len, int32_t npartitions);

#endif
