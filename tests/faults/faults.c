/*
 * The fault suite's shared part: the stack with alerts firing, the
 * checks every scenario ends with and its one-line report, and the small
 * probes the soak samples (resident set, descriptors, Redis memory).
 */

#include "faults.h"
#include "harness_impl.h"

#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static unsigned fault_seed = 1;

int
fault_events(int def)
{
	const char *s = getenv("PACED_FAULT_EVENTS");
	long v;

	if (s != NULL && *s != '\0' && (v = strtol(s, NULL, 10)) > 0)
		return (int)v;
	return def;
}

int
fault_rand(int lo, int hi)
{
	fault_seed = fault_seed * 1103515245u + 12345u;
	return lo + (int)((fault_seed >> 16) % (unsigned)(hi - lo + 1));
}

void
fault_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* Replaces every from in *s by to; *s owned. */
static void
replace_all(char **s, const char *from, const char *to)
{
	char *p, *out;
	size_t off = 0;

	while ((p = strstr(*s + off, from)) != NULL) {
		off = (size_t)(p - *s) + strlen(to);
		out = xasprintf("%.*s%s%s", (int)(p - *s), *s, to,
		    p + strlen(from));
		free(*s);
		*s = out;
	}
}

/*
 * Every day and hour is working time and alerts are judged every second,
 * one evaluation deciding a change of level: the reps behind their
 * targets alert during the run. The counters do not
 * depend on working time, so the oracle stands.
 */
static int
alerting_org(void)
{
	char *path = harness_path("gen/org.yaml"), *org, *out;
	int rc;

	org = harness_read_file(path, NULL);
	free(path);
	if (org == NULL)
		return -1;
	replace_all(&org, "working_days: [mon, tue, wed, thu, fri]",
	    "working_days: [mon, tue, wed, thu, fri, sat, sun]");
	replace_all(&org, "working_hours: \"09:00-17:00\"",
	    "working_hours: \"00:00-24:00\"");
	out = xasprintf("%s"
	    "alerts:\n"
	    "  periods: [day, week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n", org);
	rc = harness_gen_write("org.yaml", out);
	free(org);
	free(out);
	return rc;
}

int
fault_stack(const char *name, unsigned seed, int events, int flags)
{
	const char *s = getenv("PACED_TEST_SEED");

	if (s != NULL && *s != '\0')
		seed = (unsigned)strtoul(s, NULL, 10);
	fault_seed = seed;
	if (harness_setup(name) == -1)
		return -1;
	if ((flags & FAULT_CLUSTER) ? harness_cluster_start(3,
	    (flags & FAULT_REPLICAS) ? 1 : 0) == -1 :
	    harness_redis_start() == -1)
		return -1;
	if (flags & FAULT_12_PARTITIONS)
		harness_set_partitions(12);
	if ((flags & FAULT_LOCAL_BROKER) ? harness_broker_start_local() == -1 :
	    harness_broker_start() == -1)
		return -1;
	if (harness_gen(seed, events) == -1 || alerting_org() == -1)
		return -1;
	harness_log("scenario %s: seed %u, %d events", name, seed, events);
	return 0;
}

int
fault_paced(struct harness_paced *p, int i, bool wait)
{
	if (harness_paced_config(p, i, NULL) == -1 ||
	    harness_paced_start(p) == -1)
		return -1;
	return wait ? harness_paced_wait_ready(p, HARNESS_WAIT_MS) : 0;
}

int
fault_finish(pid_t prod)
{
	int st;

	if (prod > 0) {
		if (harness_wait_exit(prod, 300000, &st) == -1) {
			harness_log("paced-produce did not finish");
			return -1;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			harness_log("paced-produce failed (status %d)", st);
			return -1;
		}
	}
	return harness_wait_caught_up(180000);
}

/* Distinct event ids in the dedupe sets of one Redis (node -1) or of
 * cluster node node; -1 when it cannot be read. */
static long long
node_counted(int node)
{
	redisReply *r, *c;
	char cursor[32] = "0";
	long long n = 0;
	size_t i;

	do {
		r = node < 0 ? harness_redis_cmd("SCAN %s MATCH %s:{s:*}:seen:* "
		    "COUNT 1000", cursor, "paced") : harness_cluster_node_cmd(node,
		    "SCAN %s MATCH %s:{s:*}:seen:* COUNT 1000", cursor, "paced");
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2) {
			if (r != NULL)
				freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			c = harness_redis_cmd("SCARD %s",
			    r->element[1]->element[i]->str);
			if (c != NULL && c->type == REDIS_REPLY_INTEGER)
				n += c->integer;
			if (c != NULL)
				freeReplyObject(c);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n;
}

/* Distinct event ids in every dedupe set: the events Redis counted (on a
 * cluster, summed over its primaries). */
static long long
redis_counted(void)
{
	int idx[16], np;
	long long n = 0, k;

	if (harness_cluster_nodes() == 0)
		return node_counted(-1);
	if ((np = harness_cluster_primaries(idx, 16)) == 0)
		return -1;
	for (int i = 0; i < np; i++) {
		if ((k = node_counted(idx[i])) < 0)
			return -1;
		n += k;
	}
	return n;
}

static long long
header_ll(const struct harness_msg *m, const char *name)
{
	const struct harness_header *h = harness_msg_header(m, name);

	return h != NULL && h->value != NULL ?
	    strtoll(h->value, NULL, 10) : -1;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Distinct activity offsets (partition, offset) on the dead-letter topic;
 * *copies: its messages. -1 on a read failure. */
static long long
dlq_distinct(long long *copies)
{
	struct harness_msgs m = { NULL, 0 };
	long long *k, n = 0;
	size_t i;

	if (harness_read_topic(HARNESS_TOPIC_DLQ, &m) == -1)
		return -1;
	*copies = (long long)m.n;
	k = xreallocarray(NULL, m.n + 1, sizeof(*k));
	for (i = 0; i < m.n; i++)
		k[i] = header_ll(&m.v[i], "paced.source.partition") *
		    (1LL << 40) + header_ll(&m.v[i], "paced.source.offset");
	qsort(k, m.n, sizeof(*k), cmp_ll);
	for (i = 0; i < m.n; i++)
		if (i == 0 || k[i] != k[i - 1])
			n++;
	free(k);
	harness_msgs_free(&m);
	return n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The alert messages on the alerts topic: *distinct (alert_id, status,
 * reason) and *twice, the messages that repeat an earlier one (each
 * reported). -1 on a read failure. */
static int
alerts_read(long long *distinct, long long *twice, size_t *total)
{
	struct harness_msgs m = { NULL, 0 };
	const struct harness_header *id, *st;
	const cJSON *reason;
	cJSON *j;
	char **k;
	size_t i;

	if (harness_read_topic(HARNESS_TOPIC_ALERTS, &m) == -1)
		return -1;
	k = xreallocarray(NULL, m.n + 1, sizeof(*k));
	for (i = 0; i < m.n; i++) {
		id = harness_msg_header(&m.v[i], "paced.alert_id");
		st = harness_msg_header(&m.v[i], "paced.status");
		j = m.v[i].value != NULL ? cJSON_Parse(m.v[i].value) : NULL;
		reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
		k[i] = xasprintf("%s %s %s",
		    id != NULL && id->value != NULL ? (char *)id->value : "-",
		    st != NULL && st->value != NULL ? (char *)st->value : "-",
		    cJSON_IsString(reason) ? reason->valuestring : "-");
		cJSON_Delete(j);
	}
	qsort(k, m.n, sizeof(*k), cmp_str);
	*distinct = *twice = 0;
	for (i = 0; i < m.n; i++) {
		if (i > 0 && strcmp(k[i], k[i - 1]) == 0) {
			if ((*twice)++ < 10)
				harness_log("alert sent twice: %s", k[i]);
		} else
			(*distinct)++;
	}
	for (i = 0; i < m.n; i++)
		free(k[i]);
	free(k);
	*total = m.n;
	harness_msgs_free(&m);
	return 0;
}

/* Waits until the alerts topic has not grown for 3 s (at most 40 s). */
static void
alerts_settle(void)
{
	int64_t hi[HARNESS_MAX_PARTITIONS], sum, last = -1, since = 0;
	int i;

	while (harness_elapsed_ms() - since < 3000 || last <= 0) {
		if (harness_watermarks(HARNESS_TOPIC_ALERTS, hi,
		    harness_partitions()) == -1)
			return;
		for (sum = 0, i = 0; i < harness_partitions(); i++)
			sum += hi[i];
		if (sum != last) {
			last = sum;
			since = harness_elapsed_ms();
		}
		if (harness_elapsed_ms() - since > 40000)
			return;
		fault_sleep_ms(200);
	}
}

static long long
expected_ll(const char *a, const char *b)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "totals"), *v;

	v = cJSON_GetObjectItemCaseSensitive(t, a);
	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

int
fault_report(const char *scenario, int copies, bool dlq_exact)
{
	int64_t hi[HARNESS_MAX_PARTITIONS];
	long long produced = 0, counted, bad, dlq_msgs = 0, alerts = 0;
	long long twice = 0, skipped, dups;
	size_t alert_msgs = 0;
	int i, mismatches = 0, d;
	FILE *f;
	char *path;

	if (harness_watermarks(HARNESS_TOPIC, hi, harness_partitions()) == -1)
		mismatches++;
	for (i = 0; i < harness_partitions(); i++)
		produced += hi[i];
	if (produced != (long long)copies * harness_stream_messages()) {
		harness_log("produced %lld, the stream holds %lld x %d",
		    produced, (long long)harness_stream_messages(), copies);
		mismatches++;
	}
	if ((d = harness_compare_redis(20)) != 0) {
		harness_log("%d counter differences", d);
		mismatches += d;
	}
	if ((counted = redis_counted()) != expected_ll("counted", NULL)) {
		harness_log("dedupe sets hold %lld events, the oracle counts "
		    "%lld", counted, expected_ll("counted", NULL));
		mismatches++;
	}
	if ((d = harness_check_dlq(dlq_exact && copies == 1, 20)) != 0) {
		harness_log("%d dead-letter differences", d);
		mismatches += d;
	}
	bad = dlq_distinct(&dlq_msgs);
	if (bad != (long long)copies * expected_ll("bad", NULL)) {
		harness_log("the DLQ holds %lld distinct bad events, expected "
		    "%lld x %d", bad, expected_ll("bad", NULL), copies);
		mismatches++;
	}
	alerts_settle();
	if (alerts_read(&alerts, &twice, &alert_msgs) == -1)
		mismatches++;
	if (alerts == 0) {
		harness_log("no alert on the alerts topic");
		mismatches++;
	}
	mismatches += (int)twice;
	skipped = (long long)copies * (expected_ll("skipped", "unknown_rep") +
	    expected_ll("skipped", "unknown_type"));
	dups = produced - counted - bad - skipped;
	/* A second copy of the stream is all duplicates but its bad and
	 * skipped events. */
	if (dups != copies * expected_ll("duplicate", NULL) +
	    (copies - 1) * expected_ll("counted", NULL)) {
		harness_log("duplicates %lld differ from the oracle's", dups);
		mismatches++;
	}
	fprintf(stderr, "fault: %-18s produced=%lld counted=%lld "
	    "duplicates=%lld bad=%lld alerts=%lld mismatches=%d "
	    "(dlq messages %lld, alert messages %zu, alerts twice %lld)\n",
	    scenario, produced, counted, dups, bad, alerts, mismatches,
	    dlq_msgs, alert_msgs, twice);
	path = xasprintf("%s/tmp/faults.txt", harness_build_dir());
	if ((f = fopen(path, "a")) != NULL) {
		fprintf(f, "%-18s produced=%lld counted=%lld duplicates=%lld "
		    "bad=%lld alerts=%lld mismatches=%d\n", scenario, produced,
		    counted, dups, bad, alerts, mismatches);
		fclose(f);
	}
	free(path);
	return mismatches;
}

int
fault_regroup(struct harness_paced *p, const char *group)
{
	char *text = harness_read_file(p->config, NULL), *at, *out;
	const char *from = "group_id: " HARNESS_GROUP "\n";
	int rc;

	if (text == NULL || (at = strstr(text, from)) == NULL) {
		free(text);
		return -1;
	}
	out = xasprintf("%.*sgroup_id: %s\n%s", (int)(at - text), text, group,
	    at + strlen(from));
	rc = harness_write_file(p->config, out);
	free(text);
	free(out);
	return rc;
}

long
fault_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

long
fault_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long long
fault_redis_memory(void)
{
	redisReply *r = harness_redis_cmd("INFO memory");
	long long v = -1;
	char *p;

	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    (p = strstr(r->str, "used_memory:")) != NULL)
		v = strtoll(p + 12, NULL, 10);
	if (r != NULL)
		freeReplyObject(r);
	return v;
}
