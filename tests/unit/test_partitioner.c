#include "partitioner.h"

#include <criterion/criterion.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>

/*
 * Expected values come from outside this code: the murmur2 vectors are the
 * ones Kafka's own UtilsTest.testMurmur2 publishes (Java ints), "kafka" and
 * "giberish123456789" are librdkafka's murmur2 unit test values, the CRC of
 * "123456789" is the standard CRC-32 check value, and the partitions were
 * computed by a separate Python implementation (zlib.crc32 for CRC-32).
 * The mock cluster tests then let librdkafka itself pick the partitions.
 */

static uint32_t
mm(const char *s)
{
	return partitioner_murmur2(s, strlen(s));
}

Test(partitioner, murmur2_matches_kafka_published_vectors)
{
	cr_assert_eq((int32_t)mm("21"), -973932308);
	cr_assert_eq((int32_t)mm("foobar"), -790332482);
	cr_assert_eq((int32_t)mm("a-little-bit-long-string"), -985981536);
	cr_assert_eq((int32_t)mm("a-little-bit-longer-string"), -1486304829);
	cr_assert_eq((int32_t)mm("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h8"
	    "9h8"), -58897971);
	cr_assert_eq((int32_t)mm("abc"), 479470107);
	cr_assert_eq(mm("kafka"), 0xd067cf64U);
	cr_assert_eq(mm("giberish123456789"), 0x8f552b0cU);
	cr_assert_eq(partitioner_murmur2("", 0), 0x106e08d9U);
	cr_assert_eq(partitioner_murmur2(NULL, 0), 0x106e08d9U);
}

Test(partitioner, murmur2_reads_bytes_as_unsigned)
{
	/* Bytes >= 0x80 sign-extend if read through plain char. */
	static const unsigned char hi[] = { 0x80, 0xff, 0xfe };
	static const char utf8[] = "\xc3\xa9t\xc3\xa9!";	/* "été!" */

	cr_assert_eq(partitioner_murmur2(hi, sizeof(hi)), 0x30534f55U);
	cr_assert_eq(partitioner_murmur2(utf8, strlen(utf8)), 0x483f2e24U);
	cr_assert_eq(partitioner_partition(hi, sizeof(hi), 6), 1);
	cr_assert_eq(partitioner_partition(utf8, strlen(utf8), 7), 5);
}

Test(partitioner, murmur2_partitions)
{
	cr_assert_eq(partitioner_partition("r001", 4, 6), 1);
	cr_assert_eq(partitioner_partition("r001", 4, 7), 6);
	cr_assert_eq(partitioner_partition("r007", 4, 6), 1);
	cr_assert_eq(partitioner_partition("r007", 4, 7), 3);
	cr_assert_eq(partitioner_partition("kafka", 5, 6), 4);
	cr_assert_eq(partitioner_partition("kafka", 5, 7), 3);
	/* Sign bit set (0x8f552b0c): cleared, not negated. */
	cr_assert_eq(partitioner_partition("giberish123456789", 17, 6), 2);
	cr_assert_eq(partitioner_partition("giberish123456789", 17, 7), 5);
	cr_assert_eq(partitioner_partition("r001", 4, 1), 0);
	cr_assert_eq(partitioner_partition("r001", 4, 0), -1);
	cr_assert_eq(partitioner_partition("r001", 4, -3), -1);
}

Test(partitioner, crc32_values_and_partitions)
{
	cr_assert_eq(partitioner_crc32("123456789", 9), 0xcbf43926U);
	cr_assert_eq(partitioner_crc32("", 0), 0);
	cr_assert_eq(partitioner_crc32("kafka", 5), 0x5bbc7517U);
	cr_assert_eq(partitioner_crc32("r007", 4), 0xa3e2c167U);
	/* 0xa3e2c167 has its top bit set: used unsigned, as librdkafka does. */
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "r007", 4, 6), 1);
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "r007", 4, 7), 6);
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "r001", 4, 6), 4);
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "r001", 4, 7), 2);
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "kafka", 5, 7), 6);
	cr_assert_eq(partitioner_pick(PARTITIONER_CRC32, "r001", 4, 0), -1);
	cr_assert_eq(partitioner_pick(PARTITIONER_MURMUR2, "r001", 4, 7), 6);
}

Test(partitioner, parse_names)
{
	enum partitioner_kind k = PARTITIONER_CRC32;

	cr_assert_eq(partitioner_parse("murmur2_random", &k), 0);
	cr_assert_eq(k, PARTITIONER_MURMUR2);
	k = PARTITIONER_CRC32;
	cr_assert_eq(partitioner_parse("murmur2", &k), 0);
	cr_assert_eq(k, PARTITIONER_MURMUR2);
	cr_assert_eq(partitioner_parse("consistent_random", &k), 0);
	cr_assert_eq(k, PARTITIONER_CRC32);
	k = PARTITIONER_MURMUR2;
	cr_assert_eq(partitioner_parse("consistent", &k), 0);
	cr_assert_eq(k, PARTITIONER_CRC32);

	k = PARTITIONER_MURMUR2;
	cr_assert_eq(partitioner_parse("random", &k), -1);
	cr_assert_eq(partitioner_parse("fnv1a_random", &k), -1);
	cr_assert_eq(partitioner_parse("Murmur2", &k), -1);
	cr_assert_eq(partitioner_parse("murmur2 ", &k), -1);
	cr_assert_eq(partitioner_parse("", &k), -1);
	cr_assert_eq(partitioner_parse(NULL, &k), -1);
	cr_assert_eq(k, PARTITIONER_MURMUR2, "a failed parse leaves *out");

	cr_assert_str_eq(partitioner_name(PARTITIONER_MURMUR2),
	    "murmur2_random");
	cr_assert_str_eq(partitioner_name(PARTITIONER_CRC32),
	    "consistent_random");
}

/*
 * A real producer against librdkafka's mock cluster, on loopback: the
 * partition in each delivery report must be the one computed here. One
 * cluster and one producer serve every case (each topic names its own
 * partitioner), as every librdkafka handle costs up to a second to start
 * and stop.
 */

#define NKEYS	200
#define KEYMAX	40

static const struct {
	const char *topic;
	const char *partitioner;
	enum partitioner_kind kind;
	int32_t npartitions;
} cases[] = {
	{ "murmur2_random.6", "murmur2_random", PARTITIONER_MURMUR2, 6 },
	{ "murmur2_random.7", "murmur2_random", PARTITIONER_MURMUR2, 7 },
	{ "consistent_random.6", "consistent_random", PARTITIONER_CRC32, 6 },
	{ "consistent_random.7", "consistent_random", PARTITIONER_CRC32, 7 },
	{ "murmur2.6", "murmur2", PARTITIONER_MURMUR2, 6 },
	{ "murmur2.7", "murmur2", PARTITIONER_MURMUR2, 7 },
	{ "consistent.6", "consistent", PARTITIONER_CRC32, 6 },
	{ "consistent.7", "consistent", PARTITIONER_CRC32, 7 },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

struct keyset {
	unsigned char key[NKEYS][KEYMAX];
	size_t len[NKEYS];
};

struct deliveries {
	int32_t partition[NCASES][NKEYS];
	int ndone;
	int nerr;
};

/* Rep-like ids of every tail length, then binary keys with bytes >= 0x80
 * and NULs, from a fixed linear congruential sequence. */
static void
keyset_fill(struct keyset *ks)
{
	uint32_t x = 12345;
	size_t i, j;

	for (i = 0; i < NKEYS; i++) {
		if (i < NKEYS / 2) {
			ks->len[i] = (size_t)snprintf((char *)ks->key[i],
			    KEYMAX, "rep-%zu%.*s", i, (int)(i % 9),
			    "@team.xy");
			continue;
		}
		ks->len[i] = 1 + i % (KEYMAX - 1);
		for (j = 0; j < ks->len[i]; j++) {
			x = x * 1103515245U + 12345U;
			ks->key[i][j] = (unsigned char)(x >> 16);
		}
	}
}

static void
quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

/* The message opaque is case * NKEYS + key. */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct deliveries *d = opaque;
	size_t n = (size_t)(uintptr_t)m->_private;

	(void)rk;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || n >= NCASES * NKEYS)
		d->nerr++;
	else
		d->partition[n / NKEYS][n % NKEYS] = m->partition;
	d->ndone++;
}

static void
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char err[256];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK)
		cr_assert_fail("%s=%s: %s", name, value, err);
}

static rd_kafka_t *
producer_new(const char *bootstraps, struct deliveries *d)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	char err[256];

	rd_kafka_conf_set_log_cb(conf, quiet_log);
	if (bootstraps != NULL) {
		conf_set(conf, "bootstrap.servers", bootstraps);
		conf_set(conf, "linger.ms", "5");
		conf_set(conf, "message.timeout.ms", "10000");
		rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
		rd_kafka_conf_set_opaque(conf, d);
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL)
		cr_assert_fail("rd_kafka_new: %s", err);
	return rk;
}

static rd_kafka_topic_t *
topic_new(rd_kafka_t *rk, const char *name, const char *partitioner)
{
	rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
	rd_kafka_topic_t *rkt;
	char err[256];

	if (rd_kafka_topic_conf_set(tconf, "partitioner", partitioner, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK)
		cr_assert_fail("partitioner=%s: %s", partitioner, err);
	rkt = rd_kafka_topic_new(rk, name, tconf);
	cr_assert_not_null(rkt, "%s", rd_kafka_err2str(rd_kafka_last_error()));
	return rkt;
}

Test(partitioner, librdkafka_picks_the_same_partitions, .timeout = 30)
{
	static struct keyset ks;
	static struct deliveries d;
	rd_kafka_topic_t *rkt[NCASES];
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_resp_err_t e;
	rd_kafka_t *host, *rk;
	int hits[7];
	size_t c, i;
	int32_t p;

	keyset_fill(&ks);
	memset(&d, 0, sizeof(d));
	host = producer_new(NULL, NULL);
	mc = rd_kafka_mock_cluster_new(host, 1);
	cr_assert_not_null(mc);
	for (c = 0; c < NCASES; c++) {
		e = rd_kafka_mock_topic_create(mc, cases[c].topic,
		    cases[c].npartitions, 1);
		cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR);
		for (i = 0; i < NKEYS; i++)
			d.partition[c][i] = -1;
	}

	rk = producer_new(rd_kafka_mock_cluster_bootstraps(mc), &d);
	for (c = 0; c < NCASES; c++) {
		rkt[c] = topic_new(rk, cases[c].topic, cases[c].partitioner);
		for (i = 0; i < NKEYS; i++) {
			e = rd_kafka_producev(rk,
			    RD_KAFKA_V_RKT(rkt[c]),
			    RD_KAFKA_V_KEY(ks.key[i], ks.len[i]),
			    RD_KAFKA_V_VALUE("x", 1),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)
			    (c * NKEYS + i)),
			    RD_KAFKA_V_END);
			cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
			    rd_kafka_err2str(e));
		}
	}
	e = rd_kafka_flush(rk, 15000);
	cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "%s", rd_kafka_err2str(e));
	for (c = 0; c < NCASES; c++)
		rd_kafka_topic_destroy(rkt[c]);
	rd_kafka_destroy(rk);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(host);

	cr_assert_eq(d.ndone, (int)(NCASES * NKEYS));
	cr_assert_eq(d.nerr, 0);
	for (c = 0; c < NCASES; c++) {
		memset(hits, 0, sizeof(hits));
		for (i = 0; i < NKEYS; i++) {
			p = partitioner_pick(cases[c].kind, ks.key[i],
			    ks.len[i], cases[c].npartitions);
			cr_assert_eq(d.partition[c][i], p,
			    "%s: key %zu (len %zu): librdkafka %d, ours %d",
			    cases[c].topic, i, ks.len[i], d.partition[c][i],
			    p);
			hits[p]++;
		}
		/* Every partition in use: the keys really spread. */
		for (p = 0; p < cases[c].npartitions; p++)
			cr_assert_gt(hits[p], 0, "%s: partition %d unused",
			    cases[c].topic, p);
	}
}
