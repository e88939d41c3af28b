/*
 * Integration test harness: the oracle. Compares what the daemon left in
 * Redis, on the dead-letter topic and on /metrics with the generator's
 * expected.json, and reports every difference found.
 */

#include "harness.h"
#include "harness_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Printable form of bytes for diffs: static buffer, truncated. */
static const char *
show(const void *p, size_t len)
{
	static char buf[4][200];
	static int k;
	const unsigned char *s = p;
	char *b = buf[k = (k + 1) % 4], *e = b + sizeof buf[0] - 8;
	size_t i;

	for (i = 0; i < len && b < e; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			*b++ = (char)s[i];
		else
			b += snprintf(b, 5, "\\x%02x", s[i]);
	}
	if (i < len)
		b += snprintf(b, 8, "...");
	*b = '\0';
	return buf[k];
}

static bool
number_eq(double want, double got)
{
	return fabs(want - got) <= 1e-6 + 1e-11 * fabs(want);
}

/* Appends to a bounded line buffer. */
static void
line_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Compares one expected hash; returns the number of fields that differ
 * and prints one line for the key when it differs. */
static int
compare_key(const cJSON *want, const char *key, int *reported, int max)
{
	redisReply *r;
	const cJSON *f;
	size_t i;
	int bad = 0;
	double got;
	bool *matched;
	char line[1024] = "";

	r = harness_redis_cmd("HGETALL %s", key);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if ((*reported)++ < max)
			harness_log("redis: %s: HGETALL failed (%s)", key,
			    r != NULL && r->type == REDIS_REPLY_ERROR ?
			    r->str : "no reply");
		if (r != NULL)
			freeReplyObject(r);
		return 1;
	}
	if (r->elements == 0) {
		cJSON_ArrayForEach(f, want)
			if (f->valuedouble != 0) {
				bad++;
				line_add(line, sizeof line, " %s=%.15g",
				    f->string, f->valuedouble);
			}
		if (bad > 0 && (*reported)++ < max)
			harness_log("redis: %s: missing; expected%s", key,
			    line);
		freeReplyObject(r);
		return bad;
	}
	matched = xcalloc(r->elements / 2 + 1, sizeof *matched);
	cJSON_ArrayForEach(f, want) {
		for (i = 0; i + 1 < r->elements; i += 2)
			if (strcmp(r->element[i]->str, f->string) == 0)
				break;
		if (i + 1 >= r->elements) {
			if (f->valuedouble != 0) {
				bad++;
				line_add(line, sizeof line, " %s missing "
				    "(expected %.15g);", f->string,
				    f->valuedouble);
			}
			continue;
		}
		matched[i / 2] = true;
		got = strtod(r->element[i + 1]->str, NULL);
		if (!number_eq(f->valuedouble, got)) {
			bad++;
			line_add(line, sizeof line, " %s = %s, expected %.15g "
			    "(%+g);", f->string, r->element[i + 1]->str,
			    f->valuedouble, got - f->valuedouble);
		}
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		if (matched[i / 2])
			continue;
		got = strtod(r->element[i + 1]->str, NULL);
		if (got != 0) {
			bad++;
			line_add(line, sizeof line, " unexpected %s = %s;",
			    r->element[i]->str, r->element[i + 1]->str);
		}
	}
	if (bad > 0 && (*reported)++ < max)
		harness_log("redis: %s:%s", key, line);
	free(matched);
	freeReplyObject(r);
	return bad;
}

/* SCAN on the single redis-server (node -1) or on cluster node node. */
static int
scan_node(int node, const cJSON *counters, const char *pattern,
    int *reported, int max, size_t *nkeys)
{
	redisReply *r;
	char cursor[32] = "0";
	size_t i;
	int bad = 0;

	do {
		r = node < 0 ? harness_redis_cmd("SCAN %s MATCH %s COUNT 1000",
		    cursor, pattern) : harness_cluster_node_cmd(node,
		    "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2) {
			harness_log("redis: SCAN failed");
			if (r != NULL)
				freeReplyObject(r);
			return bad + 1;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			const char *k = r->element[1]->element[i]->str;

			(*nkeys)++;
			if (cJSON_GetObjectItemCaseSensitive(counters, k) !=
			    NULL)
				continue;
			bad++;
			if ((*reported)++ < max)
				harness_log("redis: unexpected key %s", k);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return bad;
}

/* Keys matching pattern that expected.json does not hold: on the one
 * redis-server, or on every primary of a cluster. */
static int
scan_unexpected(const cJSON *counters, const char *pattern, int *reported,
    int max, size_t *nkeys)
{
	int idx[16], n, bad = 0;

	if (!harness_cluster_active())
		return scan_node(-1, counters, pattern, reported, max, nkeys);
	if ((n = harness_cluster_primaries(idx, 16)) < 3) {
		harness_log("redis: only %d primaries answer", n);
		return 1;
	}
	for (int i = 0; i < n; i++)
		bad += scan_node(idx[i], counters, pattern, reported, max,
		    nkeys);
	return bad;
}

int
harness_compare_redis(int max_report)
{
	const cJSON *counters, *h;
	char *pat;
	int bad = 0, reported = 0, nexp = 0, nkeys_bad;
	size_t nkeys = 0;

	counters = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "counters");
	if (counters == NULL) {
		harness_log("expected.json has no counters");
		return 1;
	}
	cJSON_ArrayForEach(h, counters) {
		nexp++;
		bad += compare_key(h, h->string, &reported, max_report);
	}
	if (reported > max_report)
		harness_log("redis: %d more differing keys not shown",
		    reported - max_report);
	nkeys_bad = reported;
	reported = 0;
	pat = xasprintf("%s:{s:*}:cnt:*", harness_prefix());
	bad += scan_unexpected(counters, pat, &reported, max_report, &nkeys);
	free(pat);
	pat = xasprintf("%s:{s:*}:team:*", harness_prefix());
	bad += scan_unexpected(counters, pat, &reported, max_report, &nkeys);
	free(pat);
	if (reported > max_report)
		harness_log("redis: %d more unexpected keys not shown",
		    reported - max_report);
	harness_log("redis: %d expected counter keys (%d differ), %zu counter "
	    "keys in Redis (%d unexpected); %d differences", nexp, nkeys_bad,
	    nkeys, reported, bad);
	return bad;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 into owned bytes (free()); padding tolerated. */
static unsigned char *
b64_decode(const char *s, size_t *lenp)
{
	size_t n = strlen(s), len = 0;
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0, v;

	for (; *s != '\0'; s++) {
		if ((v = b64val((unsigned char)*s)) == -1)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
		}
	}
	*lenp = len;
	return out;
}

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
header_eq(const struct harness_header *h, const char *s)
{
	return h != NULL && h->value != NULL && bytes_eq(h->value, h->len, s,
	    strlen(s));
}

static bool
header_int(const struct harness_header *h, long long *v)
{
	char *end;

	if (h == NULL || h->value == NULL || h->len == 0)
		return false;
	*v = strtoll(h->value, &end, 10);
	return end == (char *)h->value + h->len;
}

struct dlq_wait {
	int64_t want;
	int64_t have;
};

static bool
dlq_filled(void *arg)
{
	struct dlq_wait *w = arg;
	int64_t hi[HARNESS_MAX_PARTITIONS];
	int i;

	if (harness_watermarks(HARNESS_TOPIC_DLQ, hi,
	    harness_partitions()) == -1)
		return false;
	w->have = 0;
	for (i = 0; i < harness_partitions(); i++)
		w->have += hi[i];
	return w->have >= w->want;
}

/* The activity message at partition/offset, or NULL. */
static const struct harness_msg *
find_msg(const struct harness_msgs *m, long long part, long long off)
{
	size_t lo = 0, hi = m->n, mid;
	const struct harness_msg *x;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		x = &m->v[mid];
		if (x->partition == part && x->offset == off)
			return x;
		if (x->partition < part ||
		    (x->partition == part && x->offset < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One event the dead-letter topic must hold. */
struct dlq_want {
	const char	*key;
	const char	*reason;
	unsigned char	*val;
	size_t		 vlen;
};

static int dlq_truncated_seen;

/* True when m carries want's bytes: the same, or a copy cut to fit with
 * paced.truncated holding the original size. */
static bool
dlq_matches(const struct harness_msg *m, const struct dlq_want *w)
{
	const struct harness_header *h;
	long long size;

	if (bytes_eq(m->value, m->value_len, w->val, w->vlen))
		return true;
	h = harness_msg_header(m, "paced.truncated");
	return h != NULL && header_int(h, &size) && size == (long long)w->vlen &&
	    m->value_len < w->vlen &&
	    (m->value_len == 0 || memcmp(m->value, w->val, m->value_len) == 0);
}

/* Appends expected.json's list `name` to *v (n entries, cap *cap). */
static void
dlq_want_add(const char *name, const char *reason, struct dlq_want **v,
    size_t *n, size_t *cap)
{
	const cJSON *list, *b, *jv, *jr;

	list = cJSON_GetObjectItemCaseSensitive(harness_expected(), name);
	cJSON_ArrayForEach(b, list) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 128;
			*v = xreallocarray(*v, *cap, sizeof **v);
		}
		jv = cJSON_GetObjectItemCaseSensitive(b, "value_b64");
		jr = cJSON_GetObjectItemCaseSensitive(b, "reason");
		(*v)[*n].key = cJSON_GetObjectItemCaseSensitive(b,
		    "key")->valuestring;
		(*v)[*n].reason = jr != NULL ? jr->valuestring : reason;
		(*v)[*n].val = b64_decode(jv->valuestring, &(*v)[*n].vlen);
		(*n)++;
	}
}

int
harness_check_dlq(bool exact, int max_report)
{
	return harness_check_dlq_with(exact, false, max_report);
}

int
harness_dlq_truncated(void)
{
	return dlq_truncated_seen;
}

int
harness_check_dlq_with(bool exact, bool unknown_rep, int max_report)
{
	struct harness_msgs dlq, act;
	struct dlq_wait w;
	struct dlq_want *want = NULL, *x;
	size_t nwant = 0, capwant = 0, i, k;
	bool *used;
	int problems = 0, reported = 0, hits;
	long long part, off;
	const struct harness_msg *m, *src;

#define REPORT(...) do {						\
	problems++;							\
	if (reported++ < max_report)					\
		harness_log(__VA_ARGS__);				\
} while (0)
	dlq_want_add("bad", NULL, &want, &nwant, &capwant);
	if (unknown_rep) {
		size_t before = nwant;

		dlq_want_add("unknown_rep", "unknown_rep", &want, &nwant,
		    &capwant);
		if (nwant == before)
			harness_log("dlq: expected.json lists no unknown_rep "
			    "events");
	}
	dlq_truncated_seen = 0;
	w.want = (int64_t)nwant;
	w.have = 0;
	if (harness_wait_until(dlq_filled, &w, HARNESS_WAIT_MS,
	    "the dead-letter topic to fill") == -1)
		harness_log("dlq: %lld messages, %lld expected",
		    (long long)w.have, (long long)w.want);
	if (harness_read_topic(HARNESS_TOPIC_DLQ, &dlq) == -1)
		goto fail;
	if (harness_read_topic(HARNESS_TOPIC, &act) == -1) {
		harness_msgs_free(&dlq);
		goto fail;
	}
	harness_log("dlq: %zu messages read, %zu events expected; "
	    "activity topic %zu messages", dlq.n, nwant, act.n);
	used = xcalloc(dlq.n + 1, sizeof *used);
	for (k = 0; k < nwant; k++) {
		x = &want[k];
		hits = 0;
		for (i = 0; i < dlq.n; i++) {
			m = &dlq.v[i];
			if (used[i] || !dlq_matches(m, x))
				continue;
			used[i] = true;
			hits++;
			if (harness_msg_header(m, "paced.truncated") != NULL)
				dlq_truncated_seen++;
			if (!bytes_eq(m->key, m->key_len, x->key,
			    strlen(x->key)))
				REPORT("dlq: %s event at %d/%lld: key \"%s\", "
				    "expected \"%s\"", x->reason,
				    m->partition, (long long)m->offset,
				    show(m->key, m->key_len), x->key);
			if (!header_eq(harness_msg_header(m, "paced.reason"),
			    x->reason)) {
				const struct harness_header *h =
				    harness_msg_header(m, "paced.reason");

				REPORT("dlq: %s: paced.reason is \"%s\", "
				    "expected %s", show(x->val, x->vlen),
				    h != NULL ? show(h->value, h->len) :
				    "(none)", x->reason);
			}
			if (!header_int(harness_msg_header(m,
			    "paced.source.partition"), &part) ||
			    !header_int(harness_msg_header(m,
			    "paced.source.offset"), &off)) {
				REPORT("dlq: %s event: source headers missing "
				    "or not decimal", x->reason);
				continue;
			}
			src = find_msg(&act, part, off);
			if (src == NULL || !bytes_eq(src->value,
			    src->value_len, x->val, x->vlen) ||
			    !bytes_eq(src->key, src->key_len, m->key,
			    m->key_len))
				REPORT("dlq: %s event: source %lld/%lld is "
				    "not the original (%s)", x->reason,
				    part, off, src == NULL ? "no such message" :
				    show(src->value, src->value_len));
		}
		if (hits == 0)
			REPORT("dlq: missing %s event: %s", x->reason,
			    show(x->val, x->vlen));
		else if (exact && hits > 1)
			REPORT("dlq: %s event present %d times: %s",
			    x->reason, hits, show(x->val, x->vlen));
	}
	for (i = 0; i < dlq.n; i++) {
		const struct harness_header *h;

		if (used[i])
			continue;
		m = &dlq.v[i];
		h = harness_msg_header(m, "paced.reason");
		REPORT("dlq: unexpected message at %d/%lld, reason %s: %s",
		    m->partition, (long long)m->offset,
		    h != NULL ? show(h->value, h->len) : "(none)",
		    show(m->value, m->value_len));
	}
#undef REPORT
	if (reported > max_report)
		harness_log("dlq: %d more problems not shown",
		    reported - max_report);
	free(used);
	harness_msgs_free(&dlq);
	harness_msgs_free(&act);
	harness_log("dlq: %d problems (%d truncated copies)", problems,
	    dlq_truncated_seen);
	for (k = 0; k < nwant; k++)
		free(want[k].val);
	free(want);
	return problems;
fail:
	for (k = 0; k < nwant; k++)
		free(want[k].val);
	free(want);
	return 1;
}

static int
metric_check(const char *body, const char *series, double want, bool report)
{
	double got;

	if (harness_metric(body, series, &got) == -1) {
		if (want == 0)
			return 0;
		if (report)
			harness_log("metrics: %s absent, expected %.0f",
			    series, want);
		return 1;
	}
	if (got != want) {
		if (report)
			harness_log("metrics: %s = %.0f, expected %.0f",
			    series, got, want);
		return 1;
	}
	return 0;
}

int
harness_check_metrics(int port, bool report)
{
	const cJSON *t, *sk, *br, *x;
	char *body = NULL, series[256];
	int status, bad = 0;
	double skipped = 0;

	if (harness_http_get(port, "/metrics", &status, &body) == -1 ||
	    status != 200) {
		if (report)
			harness_log("metrics: GET /metrics failed");
		free(body);
		return -1;
	}
	t = cJSON_GetObjectItemCaseSensitive(harness_expected(), "totals");
	sk = cJSON_GetObjectItemCaseSensitive(t, "skipped");
	cJSON_ArrayForEach(x, sk) {
		skipped += x->valuedouble;
		snprintf(series, sizeof series,
		    "paced_skipped_events_total{reason=\"%s\"}", x->string);
		bad += metric_check(body, series, x->valuedouble, report);
	}
	bad += metric_check(body, "paced_events_total{outcome=\"counted\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "counted")->valuedouble,
	    report);
	bad += metric_check(body, "paced_events_total{outcome=\"duplicate\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "duplicate")->valuedouble,
	    report);
	bad += metric_check(body, "paced_events_total{outcome=\"bad\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "bad")->valuedouble, report);
	bad += metric_check(body, "paced_events_total{outcome=\"skipped\"}",
	    skipped, report);
	br = cJSON_GetObjectItemCaseSensitive(t, "bad_by_reason");
	cJSON_ArrayForEach(x, br) {
		snprintf(series, sizeof series,
		    "paced_bad_events_total{reason=\"%s\"}", x->string);
		bad += metric_check(body, series, x->valuedouble, report);
	}
	if (report)
		harness_log("metrics: %d differences (expected counted %.0f, "
		    "duplicate %.0f, bad %.0f, skipped %.0f)", bad,
		    cJSON_GetObjectItemCaseSensitive(t, "counted")->valuedouble,
		    cJSON_GetObjectItemCaseSensitive(t,
		    "duplicate")->valuedouble,
		    cJSON_GetObjectItemCaseSensitive(t, "bad")->valuedouble,
		    skipped);
	free(body);
	return bad;
}
