/*
 * The enriched events topic, read back as a consumer would: a stream with
 * duplicates, bad and skipped events, the daemon SIGKILLed mid-stream and
 * started again. Once Redis holds every partition's watermark (which moves
 * only after the enriched messages of a batch are acknowledged), the topic
 * must hold every counted event at least once, and exactly once deduped by
 * (rep_id, event_id), with the oracle's team, KPIs and period buckets;
 * nothing for a bad or skipped event; every repeat equal to the first copy
 * but for received_at and source.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* One deduped event: the first copy read and how many copies came. */
struct seen {
	char *key;		/* rep_id "\t" event_id */
	cJSON *first;		/* owned */
	int copies;
	bool expected;
};

static struct seen *seen;
static size_t nseen;

/* Message k of the topic: its key and index, sorted by key then index. */
struct entry {
	char *key;
	size_t index;
	cJSON *o;		/* owned */
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->key,
	    ((const struct seen *)b)->key);
}

static struct seen *
seen_find(const char *key)
{
	struct seen k = { .key = (char *)key };

	return bsearch(&k, seen, nseen, sizeof(*seen), seen_cmp);
}

static const char *
str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Equal but for received_at and source (which say when and from which
 * copy of the event the message was made). */
static bool
same_event(const cJSON *a, const cJSON *b)
{
	cJSON *x = cJSON_Duplicate(a, 1), *y = cJSON_Duplicate(b, 1);
	bool eq;

	cJSON_DeleteItemFromObject(x, "received_at");
	cJSON_DeleteItemFromObject(y, "received_at");
	cJSON_DeleteItemFromObject(x, "source");
	cJSON_DeleteItemFromObject(y, "source");
	eq = cJSON_Compare(x, y, 1);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}

/* Checks the fixed fields of one message; returns the problems found. */
static int
check_message(const struct harness_msg *m, const cJSON *o,
    const int64_t *hi, int nparts)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "version");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(src, "partition");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(src, "offset");
	const char *rep = str_of(o, "rep_id");
	const char *topic = str_of(src, "topic");
	int bad = 0;

	if (!cJSON_IsNumber(ver) || ver->valueint != 1 ||
	    str_of(o, "schema") == NULL ||
	    strcmp(str_of(o, "schema"), "paced.enriched") != 0) {
		harness_log("enriched: schema/version wrong at %d:%lld",
		    (int)m->partition, (long long)m->offset);
		bad++;
	}
	if (rep == NULL || m->key == NULL || strcmp(rep, m->key) != 0) {
		harness_log("enriched: key %s is not rep_id %s",
		    m->key ? (char *)m->key : "(null)", rep ? rep : "(null)");
		bad++;
	}
	if (topic == NULL || strcmp(topic, HARNESS_TOPIC) != 0 ||
	    !cJSON_IsNumber(part) || !cJSON_IsNumber(off) ||
	    part->valueint < 0 || part->valueint >= nparts ||
	    off->valuedouble < 0 ||
	    off->valuedouble >= (double)hi[part->valueint]) {
		harness_log("enriched: bad source at %d:%lld",
		    (int)m->partition, (long long)m->offset);
		bad++;
	}
	if (str_of(o, "received_at") == NULL || str_of(o, "occurred_at") == NULL ||
	    str_of(o, "event_id") == NULL || str_of(o, "role") == NULL ||
	    str_of(o, "timezone") == NULL) {
		harness_log("enriched: a field is missing at %d:%lld",
		    (int)m->partition, (long long)m->offset);
		bad++;
	}
	return bad;
}

/* The oracle's record of a counted event against the first copy. */
static int
check_expected(const cJSON *want, const cJSON *got)
{
	const cJSON *wk = cJSON_GetObjectItemCaseSensitive(want, "kpis");
	const cJSON *gk = cJSON_GetObjectItemCaseSensitive(got, "kpis");
	const cJSON *wb = cJSON_GetObjectItemCaseSensitive(want, "buckets");
	const cJSON *gb = cJSON_GetObjectItemCaseSensitive(got, "buckets");
	const char *wt = str_of(want, "type"), *gt = str_of(got, "type");
	const char *wteam = str_of(want, "team"), *gteam = str_of(got, "team_id");

	if (wt == NULL || gt == NULL || strcmp(wt, gt) != 0 ||
	    wteam == NULL || gteam == NULL || strcmp(wteam, gteam) != 0 ||
	    !cJSON_Compare(wk, gk, 1) || !cJSON_Compare(wb, gb, 1)) {
		char *a = cJSON_PrintUnformatted(want);
		char *b = cJSON_PrintUnformatted(got);

		harness_log("enriched: differs from the oracle:\n  want %s\n"
		    "  got  %s", a, b);
		free(a);
		free(b);
		return 1;
	}
	return 0;
}

Test(enriched, sigkill_mid_stream, .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	struct harness_msgs msgs = { 0 };
	const cJSON *events;
	const cJSON *ev;
	int64_t total, at_kill, hi[HARNESS_MAX_PARTITIONS];
	int st, nparts, problems = 0, missing = 0, extra = 0, unequal = 0;
	size_t repeats = 0, nentries = 0;
	struct entry *entries;
	char key[512];
	double delivered;

	cr_assert_eq(harness_start_stack("enriched", 11), 0);
	total = harness_stream_messages();
	/* Off by default: switched on here. */
	cr_assert_eq(harness_paced_config(&p, 0, "analytics: {enriched: true}\n"),
	    0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	pid_t prod = harness_produce_start((int)(total / 6));

	cr_assert_neq(prod, -1);
	cr_assert_eq(harness_wait_applied(total / 2, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	at_kill = harness_applied();
	harness_log("killed with %lld of %lld applied", (long long)at_kill,
	    (long long)total);
	cr_expect_lt(at_kill, total, "the kill came after the whole stream");

	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	delivered = harness_paced_metric(&p,
	    "paced_enriched_messages_total{result=\"delivered\"}");

	/* No wait: the watermarks moved only after the acknowledgements. */
	nparts = harness_watermarks(HARNESS_TOPIC, hi, harness_partitions());
	cr_assert_gt(nparts, 0);
	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ENRICHED, &msgs), 0);
	entries = calloc(msgs.n + 1, sizeof(*entries));
	for (size_t k = 0; k < msgs.n; k++) {
		const struct harness_msg *m = &msgs.v[k];
		cJSON *o = m->value ? cJSON_ParseWithLength(m->value,
		    m->value_len) : NULL;

		if (o == NULL) {
			harness_log("enriched: not JSON at %d:%lld",
			    (int)m->partition, (long long)m->offset);
			problems++;
			continue;
		}
		problems += check_message(m, o, hi, nparts);
		snprintf(key, sizeof(key), "%s\t%s",
		    str_of(o, "rep_id") ? str_of(o, "rep_id") : "",
		    str_of(o, "event_id") ? str_of(o, "event_id") : "");
		entries[nentries].key = strdup(key);
		entries[nentries].index = k;
		entries[nentries++].o = o;
	}
	/* Deduped by (rep_id, event_id), the copy read first kept. */
	qsort(entries, nentries, sizeof(*entries), entry_cmp);
	seen = calloc(nentries + 1, sizeof(*seen));
	for (size_t k = 0; k < nentries; k++) {
		struct seen *s = nseen > 0 ? &seen[nseen - 1] : NULL;

		if (s != NULL && strcmp(s->key, entries[k].key) == 0) {
			s->copies++;
			repeats++;
			if (!same_event(s->first, entries[k].o) &&
			    unequal++ < 5)
				harness_log("enriched: a repeat of %s differs",
				    s->key);
			continue;
		}
		s = &seen[nseen++];
		s->key = entries[k].key;
		s->first = entries[k].o;
		s->copies = 1;
	}

	events = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "counted_events");
	cr_assert(cJSON_IsArray(events), "expected.json has no counted_events");
	cJSON_ArrayForEach(ev, events) {
		struct seen *s;

		snprintf(key, sizeof(key), "%s\t%s", str_of(ev, "rep"),
		    str_of(ev, "id"));
		if ((s = seen_find(key)) == NULL) {
			if (missing++ < 10)
				harness_log("enriched: missing %s", key);
			continue;
		}
		if (s->expected)
			continue;	/* the oracle lists each once */
		s->expected = true;
		problems += check_expected(ev, s->first);
	}
	for (size_t k = 0; k < nseen; k++)
		if (!seen[k].expected && extra++ < 10)
			harness_log("enriched: not a counted event: %s",
			    seen[k].key);

	harness_log("enriched: %zu messages, %zu distinct events of %d "
	    "counted, %zu repeats on the wire (%.1f%%), delivered by the "
	    "second run %.0f", msgs.n, nseen, cJSON_GetArraySize(events),
	    repeats, msgs.n ? 100.0 * (double)repeats / (double)msgs.n : 0.0,
	    delivered);
	cr_expect_eq(missing, 0, "%d counted events missing", missing);
	cr_expect_eq(extra, 0, "%d events that were not counted", extra);
	cr_expect_eq(problems, 0, "%d malformed or wrong messages", problems);
	cr_expect_eq(unequal, 0, "%d repeats differ from the first copy",
	    unequal);
	cr_expect_eq(nseen, (size_t)cJSON_GetArraySize(events));
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);

	for (size_t k = 0; k < nentries; k++) {
		free(entries[k].key);
		cJSON_Delete(entries[k].o);
	}
	free(entries);
	free(seen);
	harness_msgs_free(&msgs);
}
