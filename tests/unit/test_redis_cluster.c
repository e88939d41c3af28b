/*
 * redis_cluster.c's pure parts: CRC16 and hash tags against the values
 * Redis 7's CLUSTER KEYSLOT answers, the slot of each command form paced
 * sends (scripts by their numkeys keys, multi-key commands, keyless ones,
 * calls whose keys span slots), MOVED/ASK parsing, CLUSTER SLOTS replies
 * built the way hiredis builds them, and the layout check against keys.c.
 * Pure.
 */

#include "redis_cluster.h"

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#define DAY_MS	(86400 * INT64_C(1000))

static int
slot_of(const char *key)
{
	return redis_cluster_key_slot(key, strlen(key));
}

Test(redis_cluster, crc16_reference_vector)
{
	/* CRC-16/XMODEM check value of "123456789". */
	cr_assert_eq(redis_cluster_crc16("123456789", 9), 0x31C3);
	cr_assert_eq(redis_cluster_crc16("", 0), 0);
}

/* Each value was read from redis-server 7.0.15 with CLUSTER KEYSLOT. */
Test(redis_cluster, key_slots_match_redis)
{
	static const struct {
		const char *key;
		int slot;
	} v[] = {
		{ "123456789", 12739 },
		{ "foo", 12182 },
		{ "bar", 5061 },
		{ "hello", 866 },
		{ "somekey", 11058 },
		{ "{user1000}.following", 3443 },
		{ "{user1000}.followers", 3443 },
		{ "foo{}{bar}", 8363 },		/* empty tag: whole key */
		{ "foo{{bar}}zap", 4015 },	/* tag "{bar" */
		{ "foo{bar}{zap}", 5061 },	/* first tag only: "bar" */
		{ "paced:{rep:r001}:alerts", 13204 },
		{ "", 0 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_expect_eq(slot_of(v[i].key), v[i].slot, "%s: %d, want %d",
		    v[i].key, slot_of(v[i].key), v[i].slot);
	/* A key holding NUL bytes hashes all of them. */
	cr_expect_neq(redis_cluster_key_slot("a\0b", 3), slot_of("a"));
	/* No closing brace: the whole key. */
	cr_expect_eq(slot_of("{foo"), redis_cluster_crc16("{foo", 4) & 16383);
}

static int
cmd_slot(int argc, ...)
{
	const char *argv[16];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, const char *);
	va_end(ap);
	return redis_cluster_command_slot(argc, argv, NULL);
}

Test(redis_cluster, command_slots)
{
	int a = slot_of("{rep:a}:x");

	cr_expect_eq(cmd_slot(2, "HGETALL", "foo"), 12182);
	cr_expect_eq(cmd_slot(4, "hset", "bar", "f", "v"), 5061);
	cr_expect_eq(cmd_slot(5, "EVALSHA", "abc", "2", "{rep:a}:x",
	    "{rep:a}:y"), a);
	/* Arguments after the keys do not count. */
	cr_expect_eq(cmd_slot(5, "EVALSHA", "abc", "1", "{rep:a}:x", "foo"),
	    a);
	cr_expect_eq(cmd_slot(5, "EVALSHA", "abc", "2", "{rep:a}:x", "foo"),
	    REDIS_CLUSTER_CROSSSLOT);
	cr_expect_eq(cmd_slot(4, "DEL", "{t}1", "{t}2", "{t}3"), slot_of("t"));
	cr_expect_eq(cmd_slot(3, "DEL", "foo", "bar"),
	    REDIS_CLUSTER_CROSSSLOT);
	cr_expect_eq(cmd_slot(5, "MSET", "{t}1", "foo", "{t}2", "bar"),
	    slot_of("t"));
	cr_expect_eq(cmd_slot(3, "RENAME", "foo", "bar"),
	    REDIS_CLUSTER_CROSSSLOT);
	/* No key: any node. */
	cr_expect_eq(cmd_slot(1, "PING"), REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(3, "PUBLISH", "foo", "msg"), REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(2, "INFO", "server"), REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(3, "SCRIPT", "LOAD", "return 1"),
	    REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(3, "EVAL", "return 1", "0"), REDIS_CLUSTER_ANY);
	/* A bad numkeys is Redis's to refuse. */
	cr_expect_eq(cmd_slot(4, "EVALSHA", "abc", "5", "foo"),
	    REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(4, "EVALSHA", "abc", "x", "foo"),
	    REDIS_CLUSTER_ANY);
	cr_expect_eq(cmd_slot(1, "GET"), REDIS_CLUSTER_ANY);
}

Test(redis_cluster, command_slot_with_lengths)
{
	const char *argv[] = { "HGET", "foo-and-more", "f" };
	size_t lens[] = { 4, 3, 1 };

	cr_expect_eq(redis_cluster_command_slot(3, argv, lens), 12182);
}

Test(redis_cluster, redirects)
{
	char host[64];
	bool ask;
	int slot, port;

	cr_assert_eq(redis_cluster_redirect("MOVED 3999 127.0.0.1:6381", &ask,
	    &slot, host, sizeof(host), &port), 0);
	cr_expect(!ask);
	cr_expect_eq(slot, 3999);
	cr_expect_str_eq(host, "127.0.0.1");
	cr_expect_eq(port, 6381);
	cr_assert_eq(redis_cluster_redirect("ASK 12182 ::1:7002", &ask, &slot,
	    host, sizeof(host), &port), 0);
	cr_expect(ask);
	cr_expect_eq(slot, 12182);
	cr_expect_str_eq(host, "::1");
	cr_expect_eq(port, 7002);
	cr_expect_eq(redis_cluster_redirect("ERR wrong", &ask, &slot, host,
	    sizeof(host), &port), -1);
	cr_expect_eq(redis_cluster_redirect("MOVED 16384 h:1", &ask, &slot,
	    host, sizeof(host), &port), -1);
	cr_expect_eq(redis_cluster_redirect("MOVED 1 h", &ask, &slot, host,
	    sizeof(host), &port), -1);
	cr_expect_eq(redis_cluster_redirect("MOVED 1 h:0", &ask, &slot, host,
	    sizeof(host), &port), -1);
	cr_expect_eq(redis_cluster_redirect("MOVED 1 :80", &ask, &slot, host,
	    sizeof(host), &port), -1);
	cr_expect_eq(redis_cluster_redirect("MOVED x h:1", &ask, &slot, host,
	    sizeof(host), &port), -1);
	/* A host longer than the buffer is refused, not cut. */
	cr_expect_eq(redis_cluster_redirect("MOVED 1 abcdefgh:1", &ask, &slot,
	    host, 4, &port), -1);
}

static redisReply *
mk(int type)
{
	redisReply *r = calloc(1, sizeof(*r));

	r->type = type;
	return r;
}

static redisReply *
str(const char *s)
{
	redisReply *r = mk(REDIS_REPLY_STRING);

	r->len = strlen(s);
	r->str = strdup(s);
	return r;
}

static redisReply *
integer(long long v)
{
	redisReply *r = mk(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static redisReply *
array(size_t n, ...)
{
	redisReply *r = mk(REDIS_REPLY_ARRAY);
	va_list ap;

	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void
tree_free(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		tree_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

/* One range as Redis 7 answers it: primary then a replica. */
static redisReply *
range(long long a, long long b, const char *host, long long port)
{
	return array(4, integer(a), integer(b),
	    array(4, str(host), integer(port), str("id1"), array(0)),
	    array(4, str(host), integer(port + 100), str("id2"), array(0)));
}

Test(redis_cluster, parse_slots)
{
	redisReply *r = array(4, range(0, 5460, "127.0.0.1", 7000),
	    range(5461, 10922, "", 7001), range(10923, 16383, "10.0.0.3",
	    7002), range(100, 100, "?", 7003));
	struct redis_cluster_range *v;
	size_t n;
	char err[128];

	cr_assert_eq(redis_cluster_parse_slots(r, "seed.example", &v, &n, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 3);	/* "?": endpoint unknown, left out */
	cr_expect_eq(v[0].first, 0);
	cr_expect_eq(v[0].last, 5460);
	cr_expect_str_eq(v[0].host, "127.0.0.1");
	cr_expect_eq(v[0].port, 7000);
	cr_expect_str_eq(v[1].host, "seed.example");	/* "": the node asked */
	cr_expect_eq(v[2].first, 10923);
	cr_expect_eq(v[2].port, 7002);
	free(v);
	tree_free(r);
}

Test(redis_cluster, parse_slots_refuses_bad_shapes)
{
	redisReply *bad[] = {
		mk(REDIS_REPLY_NIL),
		array(1, integer(1)),
		array(1, array(3, integer(0), integer(16384),
		    array(2, str("h"), integer(1)))),
		array(1, array(3, integer(10), integer(5),
		    array(2, str("h"), integer(1)))),
		array(1, array(3, integer(0), integer(1),
		    array(2, str("h"), integer(0)))),
		array(1, array(3, integer(0), integer(1),
		    array(1, str("h")))),
		array(1, array(3, str("0"), integer(1),
		    array(2, str("h"), integer(1)))),
	};
	struct redis_cluster_range *v;
	size_t n;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(redis_cluster_parse_slots(bad[i], "h", &v, &n, err,
		    sizeof(err)), -1, "shape %zu accepted", i);
		cr_expect_null(v);
		cr_expect_neq(err[0], '\0');
		tree_free(bad[i]);
	}
	{
		redisReply *e = mk(REDIS_REPLY_ERROR);

		e->str = strdup("ERR This instance has cluster support "
		    "disabled");
		e->len = strlen(e->str);
		cr_expect_eq(redis_cluster_parse_slots(e, "h", &v, &n, err,
		    sizeof(err)), -1);
		cr_expect(strstr(err, "cluster support disabled") != NULL,
		    "%s", err);
		tree_free(e);
	}
}

static struct config
cfg_with(char *prefix)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.redis.key_prefix = prefix;
	c.redis.shards = 32;
	c.redis.dedupe_window_ms = 35 * DAY_MS;
	for (int p = 0; p < PERIOD_COUNT; p++)
		c.redis.retention_ms[p] = 400 * DAY_MS;
	return c;
}

Test(redis_cluster, the_key_layout_shards)
{
	struct config c = cfg_with("paced");
	char err[256] = "";

	cr_expect_eq(redis_cluster_check_layout(&c, err, sizeof(err)), 0, "%s",
	    err);
}

/* A prefix that is itself a hash tag puts every key in one slot, and
 * one counter shard puts every count there: the check refuses both. */
Test(redis_cluster, a_layout_in_one_slot_is_refused)
{
	struct config c = cfg_with("{paced}");
	char err[256] = "";

	cr_expect_eq(redis_cluster_check_layout(&c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cannot shard") != NULL, "%s", err);
	c = cfg_with("paced");
	c.redis.shards = 1;
	err[0] = '\0';
	cr_expect_eq(redis_cluster_check_layout(&c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "redis.shards is 1") != NULL, "%s", err);
}
