/*
 * A counter shard that loses acknowledged writes while the rest of Redis
 * keeps them (a Redis Cluster primary that crashed before its fsync, or
 * a failover to a replica that lagged): every key of one shard is rolled
 * back to a snapshot taken half-way through the stream, its watermark
 * included, while P:offsets and the other shards stay at the end. On
 * restart paced reads each partition again from the lowest of P:offsets
 * and the shards' watermarks, the shard that went back counts its events
 * again, the others find them in their dedupe sets: Redis ends exactly as
 * the oracle says.
 */

#include "harness.h"
#include "harness_impl.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "xmalloc.h"

/* One key of the snapshot. */
struct saved {
	char *key;
	char *dump;
	size_t len;
	long long pttl;
};

/* Every key of shard (name and DUMP with its PTTL) into *out. */
static size_t
snapshot(int shard, struct saved **out)
{
	redisReply *keys, *d, *t;
	size_t n = 0;

	keys = harness_redis_cmd("KEYS %s:{s:%d}:*", harness_prefix(), shard);
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	*out = xcalloc(keys->elements + 1, sizeof(**out));
	for (size_t i = 0; i < keys->elements; i++) {
		const char *k = keys->element[i]->str;

		d = harness_redis_cmd("DUMP %s", k);
		t = harness_redis_cmd("PTTL %s", k);
		cr_assert(d != NULL && d->type == REDIS_REPLY_STRING);
		cr_assert(t != NULL && t->type == REDIS_REPLY_INTEGER);
		(*out)[n].key = xstrdup(k);
		(*out)[n].dump = xmalloc(d->len);
		memcpy((*out)[n].dump, d->str, d->len);
		(*out)[n].len = d->len;
		(*out)[n].pttl = t->integer > 0 ? t->integer : 0;
		n++;
		freeReplyObject(d);
		freeReplyObject(t);
	}
	freeReplyObject(keys);
	return n;
}

/* Shard's keys as they were in the snapshot: newer keys deleted, the
 * others restored. */
static void
roll_back(int shard, struct saved *s, size_t n)
{
	redisReply *keys, *r;

	keys = harness_redis_cmd("KEYS %s:{s:%d}:*", harness_prefix(), shard);
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < keys->elements; i++)
		freeReplyObject(harness_redis_cmd("DEL %s",
		    keys->element[i]->str));
	freeReplyObject(keys);
	for (size_t i = 0; i < n; i++) {
		r = harness_redis_cmd("RESTORE %s %lld %b REPLACE", s[i].key,
		    s[i].pttl, s[i].dump, s[i].len);
		cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "RESTORE "
		    "%s: %s", s[i].key, r != NULL && r->str ? r->str : "?");
		freeReplyObject(r);
	}
}

/* Writes the lines [from, to) of the generated stream as file name. */
static void
stream_part(const char *all, size_t nlines, size_t from, size_t to,
    const char *name)
{
	const char *p = all, *start = NULL, *end = NULL;
	size_t line = 0;
	char *part;

	for (; *p != '\0' && line <= nlines; line++) {
		const char *nl = strchr(p, '\n');

		if (line == from)
			start = p;
		if (nl == NULL) {
			p += strlen(p);
			break;
		}
		p = nl + 1;
		if (line + 1 == to)
			end = p;
	}
	cr_assert(start != NULL && end != NULL && end > start);
	part = xcalloc(1, (size_t)(end - start) + 1);
	memcpy(part, start, (size_t)(end - start));
	cr_assert_eq(harness_gen_write(name, part), 0);
	free(part);
}

static bool
exact(void *arg)
{
	(void)arg;
	return harness_compare_redis(0) == 0;
}

Test(shard_rollback, lost_writes_of_one_shard_counted_again,
    .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	struct saved *saved = NULL;
	struct config c;
	char *path, *all;
	size_t nlines = 0, nsaved;
	const char *rep;
	int shard;
	redisReply *wm;

	cr_assert_eq(harness_start_stack("shard_rollback", 7), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	path = xasprintf("%s/gen/stream.tsv", harness_run_dir());
	all = harness_read_file(path, NULL);
	free(path);
	cr_assert_not_null(all);
	for (const char *q = all; *q != '\0'; q++)
		nlines += *q == '\n';
	cr_assert_gt(nlines, 100);
	stream_part(all, nlines, 0, nlines / 2, "first.tsv");
	stream_part(all, nlines, nlines / 2, nlines, "second.tsv");
	free(all);

	/* The shard of the probe rep: it has events on both sides. */
	rep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    harness_expected(), "probe"), "rep")->valuestring;
	memset(&c, 0, sizeof(c));
	c.redis.shards = 32;
	shard = keys_shard_of(&c, rep);

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce_file("first.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	nsaved = snapshot(shard, &saved);
	harness_log("shard %d: %zu keys saved half-way", shard, nsaved);
	wm = harness_redis_cmd("HLEN %s:{s:%d}:wm:%s", harness_prefix(), shard,
	    HARNESS_TOPIC);
	cr_assert(wm != NULL && wm->type == REDIS_REPLY_INTEGER &&
	    wm->integer > 0, "the shard has a watermark");
	freeReplyObject(wm);

	cr_assert_eq(harness_produce_file("second.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_compare_redis(5), 0, "exact before the loss");
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, HARNESS_WAIT_MS, NULL), 0);
	p.pid = 0;

	roll_back(shard, saved, nsaved);
	cr_assert_neq(harness_compare_redis(0), 0, "the rollback lost counts");
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_wait_log(&p, "redis_watermark_behind",
	    HARNESS_WAIT_MS), 0);
	/* P:offsets and the committed offsets were at the end all along:
	 * wait for the counts themselves. */
	harness_wait_until(exact, NULL, HARNESS_WAIT_MS, "the shard's events "
	    "to be counted again");
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle after the shard's writes were lost");
	for (size_t i = 0; i < nsaved; i++) {
		free(saved[i].key);
		free(saved[i].dump);
	}
	free(saved);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
