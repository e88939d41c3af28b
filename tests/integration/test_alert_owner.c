/*
 * Two daemons in one consumer group share the six partitions on the wall
 * clock. Twelve reps never send anything (silence is what must be caught)
 * while a few reps without targets send events, so there is traffic. Each
 * member judges only the reps whose partition (Kafka's murmur2 of the rep
 * id) it holds: every silent rep's alert appears exactly once on the
 * alerts topic, every rep is owned by exactly one member, and /v1/alerts
 * on either member lists them all.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partitioner.h"
#include "xmalloc.h"

#define NSILENT		12
#define NOBSERVERS	6
#define EVENTS_EACH	10

static void
silent_id(int i, char *buf, size_t len)
{
	snprintf(buf, len, "silent-%02d", i + 1);
}

/* Every hour of every day is working time and the week started three
 * days ago: a silent rep is critical at any moment (grace 0), and no
 * bucket rolls over during the test. */
static void
write_org(void)
{
	char *reps = xstrdup(""), *org, *next, id[32];

	for (int i = 0; i < NSILENT; i++) {
		silent_id(i, id, sizeof(id));
		next = xasprintf("%s  - {id: %s, team: core, role: ae}\n", reps,
		    id);
		free(reps);
		reps = next;
	}
	for (int i = 0; i < NOBSERVERS; i++) {
		next = xasprintf("%s  - {id: obs-%d, team: core, "
		    "role: observer}\n", reps, i + 1);
		free(reps);
		reps = next;
	}
	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "    week_start: %s\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 7000}}}\n"
	    "  observer: {}\n"
	    "teams:\n"
	    "  - {id: core, timezone: Etc/UTC, manager: m-core}\n"
	    "reps:\n"
	    "%s"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  resolve_margin: 0\n", harness_week_start_3d_ago(), reps);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
	free(reps);
}

/* Calls of the reps without targets over the last hour. */
static void
write_stream(void)
{
	char *text = xstrdup(""), *next, ts[32];
	time_t now = time(NULL);
	struct tm tm;

	for (int i = 0; i < NOBSERVERS; i++) {
		for (int k = 0; k < EVENTS_EACH; k++) {
			time_t t = now - 3600 + (time_t)(k * 300 + i);

			gmtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			next = xasprintf("%sobs-%d\t{\"event_id\":\"o%d-%d\","
			    "\"rep_id\":\"obs-%d\",\"type\":\"call\","
			    "\"occurred_at\":\"%s\"}\n", text, i + 1, i + 1, k,
			    i + 1, ts);
			free(text);
			text = next;
		}
	}
	cr_assert_eq(harness_gen_write("stream.tsv", text), 0);
	free(text);
}

static bool
both_ready(void *arg)
{
	struct harness_paced *p = arg;
	int status;

	for (int i = 0; i < 2; i++)
		if (!harness_alive(p[i].pid))
			return true;	/* the caller notices */
	for (int i = 0; i < 2; i++)
		if (harness_http_get(p[i].http_port, "/readyz", &status,
		    NULL) == -1 || status != 200)
			return false;
	return true;
}

static bool
stream_full(void *arg)
{
	redisReply *r = harness_redis_cmd("XLEN paced:alerts");
	bool ok = r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer >= *(long long *)arg;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

struct rounds {
	struct harness_paced *p;
	double from[2];
	double want[2];		/* evaluations each member must add */
};

/* Both members have judged their reps again, `want` more times each. */
static bool
more_rounds(void *arg)
{
	struct rounds *r = arg;

	for (int i = 0; i < 2; i++)
		if (harness_paced_metric(&r->p[i],
		    "paced_evaluations_total{result=\"ok\"}") <
		    r->from[i] + r->want[i])
			return false;
	return true;
}

/* Partitions of the member's latest assignment, from its log: a bit mask. */
static unsigned
assigned_mask(const struct harness_paced *p)
{
	FILE *f = fopen(p->log, "r");
	char line[1024];
	unsigned mask = 0;
	int part;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *s;

		if (strstr(line, "event=kafka_rebalance") != NULL)
			mask = 0;
		if ((s = strstr(line, "event=ingest_assigned partition=")) !=
		    NULL && sscanf(s, "event=ingest_assigned partition=%d",
		    &part) == 1 && part >= 0 && part < 32)
			mask |= 1u << part;
	}
	fclose(f);
	return mask;
}

/* Assignments the member received, from its log. */
static int
assignments(const struct harness_paced *p)
{
	FILE *f = fopen(p->log, "r");
	char line[1024];
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "event=kafka_rebalance what=assign") != NULL)
			n++;
	fclose(f);
	return n;
}

/* Lines of the member's log that record rep's alert. */
static int
alert_lines(const struct harness_paced *p, const char *rep)
{
	FILE *f = fopen(p->log, "r");
	char line[1024], needle[64];
	int n = 0;

	cr_assert_not_null(f);
	snprintf(needle, sizeof(needle), " rep=%s ", rep);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "event=alert ") != NULL &&
		    strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
check_listing(const struct harness_paced *p)
{
	char *body = NULL, id[32];
	int status;
	cJSON *o;
	const cJSON *list, *a;

	cr_assert_eq(harness_http_get(p->http_port, "/v1/alerts?status=firing",
	    &status, &body), 0);
	cr_assert_eq(status, 200, "paced #%d /v1/alerts: %d", p->index,
	    status);
	o = cJSON_Parse(body);
	free(body);
	list = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	cr_assert(cJSON_IsArray(list));
	cr_expect_eq(cJSON_GetArraySize(list), NSILENT,
	    "paced #%d lists %d alerts", p->index, cJSON_GetArraySize(list));
	for (int i = 0; i < NSILENT; i++) {
		int seen = 0;

		silent_id(i, id, sizeof(id));
		cJSON_ArrayForEach(a, list) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(a,
			    "rep_id");

			if (cJSON_IsString(r) &&
			    strcmp(r->valuestring, id) == 0)
				seen++;
		}
		cr_expect_eq(seen, 1, "paced #%d lists %s %d times", p->index,
		    id, seen);
	}
	cJSON_Delete(o);
}

Test(owner, silent_reps_alerted_once, .fini = harness_teardown,
    .timeout = 120)
{
	struct harness_paced p[2];
	struct harness_msgs m;
	struct rounds rounds;
	long long want = NSILENT;
	unsigned mask[2];
	double owned[2], alerts[2], counted[2];
	char id[32];
	int owner_alerts[2] = { 0, 0 };
	bool settled;

	cr_assert_eq(harness_setup("owner"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org();
	write_stream();
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(harness_paced_config(&p[i], i, NULL), 0);
		cr_assert_eq(harness_paced_start(&p[i]), 0);
	}
	cr_assert_eq(harness_wait_until(both_ready, p, HARNESS_WAIT_MS,
	    "both members to hold partitions"), 0);
	for (int i = 0; i < 2; i++)
		cr_assert(harness_alive(p[i].pid), "paced #%d exited; see %s",
		    i, p[i].log);

	cr_assert_eq(harness_wait_until(stream_full, &want, HARNESS_WAIT_MS,
	    "an alert for every silent rep"), 0);
	/* Two more rounds each: a second alert for a rep would come now. */
	rounds.p = p;
	for (int i = 0; i < 2; i++) {
		double n = harness_paced_metric(&p[i], "paced_owned_reps");

		rounds.from[i] = harness_paced_metric(&p[i],
		    "paced_evaluations_total{result=\"ok\"}");
		rounds.want[i] = 2 * (n > 1 ? n : 1);
	}
	cr_assert_eq(harness_wait_until(more_rounds, &rounds, HARNESS_WAIT_MS,
	    "two more rounds of evaluations"), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	/* The topic: each silent rep exactly once, keyed by it. */
	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	cr_expect_eq(m.n, NSILENT, "the alerts topic holds %zu alerts", m.n);
	for (int i = 0; i < NSILENT; i++) {
		int seen = 0;

		silent_id(i, id, sizeof(id));
		for (size_t k = 0; k < m.n; k++)
			if (m.v[k].key != NULL && strcmp(m.v[k].key, id) == 0)
				seen++;
		cr_expect_eq(seen, 1, "%s: %d alerts", id, seen);
	}
	harness_msgs_free(&m);

	/* Each rep owned by one member, the one holding its partition. */
	for (int i = 0; i < 2; i++) {
		mask[i] = assigned_mask(&p[i]);
		owned[i] = harness_paced_metric(&p[i], "paced_owned_reps");
		alerts[i] = harness_paced_metric(&p[i], "paced_alerts_total");
		counted[i] = harness_paced_metric(&p[i],
		    "paced_events_total{outcome=\"counted\"}");
		harness_log("paced #%d: partitions 0x%02x, %g reps owned, %g "
		    "alerts, %g events counted", i, mask[i], owned[i],
		    alerts[i], counted[i]);
	}
	cr_expect_eq(mask[0] & mask[1], 0u, "a partition held twice");
	cr_expect_eq(mask[0] | mask[1], (1u << HARNESS_PARTITIONS) - 1,
	    "a partition held by nobody");
	cr_expect_eq(owned[0] + owned[1], NSILENT + NOBSERVERS);
	cr_expect_eq(alerts[0] + alerts[1], NSILENT,
	    "the members sent %g alerts in all", alerts[0] + alerts[1]);
	cr_expect_eq(counted[0] + counted[1], NOBSERVERS * EVENTS_EACH);
	/* When the group formed in one step, each member held the same
	 * partitions throughout, so the judge of a rep must be the holder of
	 * its partition. (After a rebalance a former holder may have judged
	 * it first; the state in Redis keeps the new one from firing again.) */
	settled = assignments(&p[0]) == 1 && assignments(&p[1]) == 1;
	harness_log("assignments: #0 %d, #1 %d", assignments(&p[0]),
	    assignments(&p[1]));
	for (int i = 0; i < NSILENT; i++) {
		int part, holder, lines[2];

		silent_id(i, id, sizeof(id));
		part = partitioner_pick(PARTITIONER_MURMUR2, id, strlen(id),
		    HARNESS_PARTITIONS);
		holder = (mask[0] >> part) & 1u ? 0 : 1;
		for (int k = 0; k < 2; k++)
			lines[k] = alert_lines(&p[k], id);
		cr_expect_eq(lines[0] + lines[1], 1, "%s alerted %d times", id,
		    lines[0] + lines[1]);
		if (settled)
			cr_expect_eq(lines[holder], 1, "%s (partition %d) was "
			    "not judged by its holder, paced #%d", id, part,
			    holder);
		owner_alerts[0] += lines[0];
		owner_alerts[1] += lines[1];
	}
	harness_log("alerts by member: #0 %d, #1 %d", owner_alerts[0],
	    owner_alerts[1]);
	if (settled)
		cr_expect(owner_alerts[0] > 0 && owner_alerts[1] > 0,
		    "one member judged every silent rep");

	check_listing(&p[0]);
	check_listing(&p[1]);
	for (int i = 0; i < 2; i++)
		cr_expect(harness_alive(p[i].pid), "paced #%d exited; see %s",
		    i, p[i].log);
}
