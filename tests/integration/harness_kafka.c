/*
 * Integration test harness: where consumption stands (high watermarks,
 * the daemon's applied offsets in Redis, the group's committed offsets)
 * and reading a whole topic back from the broker.
 */

#include "harness.h"
#include "harness_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

static struct {
	rd_kafka_t	*rk_meta;
} H;

void
harness_kafka_reset(void)
{
	if (H.rk_meta != NULL)
		rd_kafka_destroy(H.rk_meta);
	H.rk_meta = NULL;
}

static rd_kafka_t *
kafka_new(rd_kafka_type_t type, const char *group)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

#define SET(k, v) do {							\
	if (rd_kafka_conf_set(conf, (k), (v), err, sizeof err) !=	\
	    RD_KAFKA_CONF_OK) {						\
		harness_log("kafka conf %s: %s", (k), err);		\
		rd_kafka_conf_destroy(conf);				\
		return NULL;						\
	}								\
} while (0)
	SET("bootstrap.servers", harness_brokers());
	SET("log_level", "3");
	if (group != NULL) {
		SET("group.id", group);
		SET("enable.auto.commit", "false");
		SET("enable.auto.offset.store", "false");
		SET("auto.offset.reset", "earliest");
	}
#undef SET
	if ((rk = rd_kafka_new(type, conf, err, sizeof err)) == NULL) {
		harness_log("rd_kafka_new: %s", err);
		return NULL;
	}
	return rk;
}

int
harness_watermarks(const char *topic, int64_t *hi, int n)
{
	rd_kafka_resp_err_t e;
	int64_t lo;
	int i;

	if (H.rk_meta == NULL &&
	    (H.rk_meta = kafka_new(RD_KAFKA_PRODUCER, NULL)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		e = rd_kafka_query_watermark_offsets(H.rk_meta, topic, i, &lo,
		    &hi[i], 5000);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("watermarks %s/%d: %s", topic, i,
			    rd_kafka_err2str(e));
			return -1;
		}
	}
	return n;
}

/* Reads the offsets hash into off[0..n) (missing fields: -1). */
static int
applied_offsets(int64_t *off, int n)
{
	redisReply *r;
	size_t i;
	long p;
	int k;

	for (k = 0; k < n; k++)
		off[k] = -1;
	r = harness_redis_cmd("HGETALL %s:offsets:%s", harness_prefix(),
	    HARNESS_TOPIC);
	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		p = strtol(r->element[i]->str, NULL, 10);
		if (p >= 0 && p < n)
			off[p] = strtoll(r->element[i + 1]->str, NULL, 10);
	}
	freeReplyObject(r);
	return 0;
}

int
harness_applied_offsets(int64_t *off, int n)
{
	return applied_offsets(off, n);
}

int
harness_committed(int64_t *off, int n)
{
	rd_kafka_t *rk = kafka_new(RD_KAFKA_CONSUMER, HARNESS_GROUP);
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;
	int i, rc = 0;

	if (rk == NULL)
		return -1;
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, HARNESS_TOPIC, i);
	/* Asks the group coordinator; joins nothing. */
	if ((e = rd_kafka_committed(rk, l, 10000)) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		harness_log("committed offsets: %s", rd_kafka_err2str(e));
		rc = -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		off[i] = l->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR ?
		    l->elems[i].offset : RD_KAFKA_OFFSET_INVALID;
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return rc;
}

int64_t
harness_applied(void)
{
	int64_t off[HARNESS_MAX_PARTITIONS], sum = 0;
	int i;

	if (applied_offsets(off, harness_partitions()) == -1)
		return -1;
	for (i = 0; i < harness_partitions(); i++)
		if (off[i] > 0)
			sum += off[i];
	return sum;
}

bool
harness_caught_up(void *arg)
{
	int64_t hi[HARNESS_MAX_PARTITIONS], off[HARNESS_MAX_PARTITIONS];
	int i;

	(void)arg;
	if (harness_watermarks(HARNESS_TOPIC, hi, harness_partitions()) == -1 ||
	    applied_offsets(off, harness_partitions()) == -1)
		return false;
	for (i = 0; i < harness_partitions(); i++) {
		/* An empty partition needs no field. */
		if (off[i] == -1 && hi[i] == 0)
			continue;
		if (off[i] != hi[i])
			return false;
	}
	return true;
}

int
harness_wait_caught_up(int timeout_ms)
{
	if (harness_wait_counted(timeout_ms) != 0)
		return -1;
	return harness_wait_boards(timeout_ms);
}

/* A wait on the applied offsets timed out: where each partition stands. */
static void
diagnose_stuck(void)
{
	int64_t hi[HARNESS_MAX_PARTITIONS], off[HARNESS_MAX_PARTITIONS];

	if (harness_watermarks(HARNESS_TOPIC, hi, harness_partitions()) != -1 &&
	    applied_offsets(off, harness_partitions()) != -1)
		for (int i = 0; i < harness_partitions(); i++)
			harness_log("  partition %d: applied %lld, high "
			    "watermark %lld", i, (long long)off[i],
			    (long long)hi[i]);
	harness_paced_diagnose();
}

int
harness_wait_counted(int timeout_ms)
{
	int64_t t = harness_elapsed_ms();

	if (harness_wait_until(harness_caught_up, NULL, timeout_ms,
	    "the offsets hash to reach the high watermarks") == 0) {
		harness_log("caught up after %lld ms",
		    (long long)(harness_elapsed_ms() - t));
		return 0;
	}
	diagnose_stuck();
	return -1;
}

static bool
applied_at_least(void *arg)
{
	return harness_applied() >= *(int64_t *)arg;
}

int
harness_wait_applied(int64_t n, int timeout_ms)
{
	char what[64];

	snprintf(what, sizeof what, "%lld messages applied", (long long)n);
	if (harness_wait_until(applied_at_least, &n, timeout_ms, what) == 0)
		return 0;
	diagnose_stuck();
	return -1;
}

static void *
copy_bytes(const void *p, size_t len)
{
	char *c;

	if (p == NULL)
		return NULL;
	c = xmalloc(len + 1);
	memcpy(c, p, len);
	c[len] = '\0';
	return c;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct harness_msg *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void
msg_copy(struct harness_msg *m, const rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *val;
	size_t size, i, n;

	memset(m, 0, sizeof *m);
	m->partition = rkm->partition;
	m->offset = rkm->offset;
	m->key = copy_bytes(rkm->key, rkm->key_len);
	m->key_len = rkm->key != NULL ? rkm->key_len : 0;
	m->value = copy_bytes(rkm->payload, rkm->len);
	m->value_len = rkm->payload != NULL ? rkm->len : 0;
	if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	n = rd_kafka_header_cnt(hdrs);
	m->headers = xcalloc(n ? n : 1, sizeof *m->headers);
	for (i = 0; i < n; i++) {
		if (rd_kafka_header_get_all(hdrs, i, &name, &val, &size) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		m->headers[i].name = xstrdup(name);
		m->headers[i].value = copy_bytes(val, size);
		m->headers[i].len = val != NULL ? size : 0;
		m->nheaders++;
	}
}

int
harness_read_topic(const char *topic, struct harness_msgs *out)
{
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *tl;
	rd_kafka_message_t *rkm;
	int64_t hi[64], lo[64], next[64];
	char group[64];
	size_t cap = 0;
	int np = harness_partitions(), i, left = 0, rc = 0;
	int64_t deadline = harness_elapsed_ms() + HARNESS_WAIT_MS;

	memset(out, 0, sizeof *out);
	snprintf(group, sizeof group, "harness-reader-%ld", (long)getpid());
	if ((rk = kafka_new(RD_KAFKA_CONSUMER, group)) == NULL)
		return -1;
	tl = rd_kafka_topic_partition_list_new(np);
	for (i = 0; i < np; i++) {
		if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo[i],
		    &hi[i], 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("watermarks of %s/%d unavailable", topic,
			    i);
			rc = -1;
			goto out;
		}
		next[i] = lo[i];
		if (hi[i] > lo[i]) {
			rd_kafka_topic_partition_list_add(tl, topic,
			    i)->offset = RD_KAFKA_OFFSET_BEGINNING;
			left++;
		}
	}
	if (left > 0 && rd_kafka_assign(rk, tl) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = -1;
		goto out;
	}
	while (left > 0) {
		if (harness_elapsed_ms() > deadline) {
			harness_log("reading %s: timed out with %d partitions "
			    "short", topic, left);
			rc = -1;
			break;
		}
		if ((rkm = rd_kafka_consumer_poll(rk, 200)) == NULL)
			continue;
		if (rkm->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				harness_log("reading %s: %s", topic,
				    rd_kafka_message_errstr(rkm));
			rd_kafka_message_destroy(rkm);
			continue;
		}
		i = rkm->partition;
		if (i >= 0 && i < np && rkm->offset >= next[i] &&
		    next[i] < hi[i]) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 1024;
				out->v = xreallocarray(out->v, cap,
				    sizeof *out->v);
			}
			msg_copy(&out->v[out->n++], rkm);
			next[i] = rkm->offset + 1;
			if (next[i] >= hi[i])
				left--;
		}
		rd_kafka_message_destroy(rkm);
	}
	if (out->n > 1)		/* an empty topic leaves out->v NULL */
		qsort(out->v, out->n, sizeof *out->v, msg_cmp);
out:
	rd_kafka_topic_partition_list_destroy(tl);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}

void
harness_msgs_free(struct harness_msgs *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->v[i].nheaders; j++) {
			free(m->v[i].headers[j].name);
			free(m->v[i].headers[j].value);
		}
		free(m->v[i].headers);
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof *m);
}

const struct harness_header *
harness_msg_header(const struct harness_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (strcmp(m->headers[i].name, name) == 0)
			return &m->headers[i];
	return NULL;
}
