/*
 * The minimum breach through the daemon, on the wall clock. Every hour
 * is working time, the week started three days ago, grace 0, evaluate
 * every second, alerts.min_breach 4s over 2 evaluations: a silent rep
 * asks for a critical alert at its first evaluation, but the alert fires
 * only once the breach has lasted 4 s of working time. Before it fires,
 * Redis holds the breach under way (an "a3" state with its start); the
 * alert's working time (evaluated_at less the week's start: all of it is
 * working time) is at least 4 s past that start. Then nothing more: the
 * rep stays silent, so the alert stays firing, quietly, with no flapping.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caltime.h"
#include "xmalloc.h"

static void
write_org(void)
{
	char *org = xasprintf(
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
	    "  - {id: s1, team: core, role: ae}\n"
	    "  - {id: obs-1, team: core, role: observer}\n"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 4s\n"
	    "  min_breach_evaluations: 2\n"
	    "  quiet_hours: none\n", harness_week_start_3d_ago());

	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
}

/* One call of the observer, so that there is traffic. */
static void
write_stream(void)
{
	char ts[32], *text;
	time_t t = time(NULL) - 600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text = xasprintf("obs-1\t{\"event_id\":\"o1\",\"rep_id\":\"obs-1\","
	    "\"type\":\"call\",\"occurred_at\":\"%s\"}\n", ts);
	cr_assert_eq(harness_gen_write("stream.tsv", text), 0);
	free(text);
}

/* s1's stored state of calls:week, or "" (buf of len bytes). */
static void
state_of_s1(char *buf, size_t len)
{
	redisReply *r = harness_redis_cmd("HGET paced:{rep:s1}:alerts "
	    "calls:week");

	buf[0] = '\0';
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->str);
	if (r != NULL)
		freeReplyObject(r);
}

static long long
stream_len(void)
{
	redisReply *r = harness_redis_cmd("XLEN paced:alerts");
	long long v = -1;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

static bool
breach_seen(void *arg)
{
	char *buf = arg;

	state_of_s1(buf, 256);
	return strstr(buf, "|a3:n:0:0:0:0:u:") != NULL;
}

static bool
fired_stored(void *arg)
{
	char *buf = arg;

	state_of_s1(buf, 256);
	return strstr(buf, "|a2:c:") != NULL;
}

static bool
one_alert(void *arg)
{
	(void)arg;
	return stream_len() >= 1;
}

/* The first alert's JSON (owned). */
static cJSON *
first_alert(void)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - + COUNT 1");
	cJSON *o = NULL;

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(r->elements, 1);
	for (size_t k = 0; k + 1 < r->element[0]->element[1]->elements; k += 2) {
		const redisReply *f = r->element[0]->element[1];

		if (strcmp(f->element[k]->str, "json") == 0)
			o = cJSON_Parse(f->element[k + 1]->str);
	}
	freeReplyObject(r);
	cr_assert_not_null(o);
	return o;
}

static int64_t
instant(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	int64_t ms;

	cr_assert(cJSON_IsString(v), "%s", name);
	cr_assert_eq(caltime_parse_rfc3339(v->valuestring,
	    strlen(v->valuestring), &ms), 0, "%s", v->valuestring);
	return ms;
}

Test(alert_breach, fires_after_the_minimum_breach, .fini = harness_teardown,
    .timeout = 120)
{
	struct harness_paced p;
	char state[256];
	const char *since_text;
	int64_t since, worked;
	cJSON *a;

	cr_assert_eq(harness_setup("alert_breach"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org();
	write_stream();
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* The breach under way, stored, and nothing sent for it yet. */
	cr_assert_eq(harness_wait_until(breach_seen, state, HARNESS_WAIT_MS,
	    "a breach under way in Redis"), 0);
	harness_log("state while the breach lasts: %s", state);
	since_text = strrchr(strstr(state, "|a3:"), ':') + 1;
	since = strtoll(since_text, NULL, 10);
	cr_assert_gt(since, 0);

	cr_assert_eq(harness_wait_until(one_alert, NULL, HARNESS_WAIT_MS,
	    "the alert"), 0);
	a = first_alert();
	cr_expect_str_eq(cJSON_GetObjectItem(a, "reason")->valuestring,
	    "escalated");
	cr_expect_str_eq(cJSON_GetObjectItem(a, "rep_id")->valuestring, "s1");
	/* All the week is working time: its working time at the alert is
	 * evaluated_at less its start. */
	worked = instant(a, "evaluated_at") - instant(a, "period_start");
	harness_log("breach from %" PRId64 " ms, fired at %" PRId64 " ms of "
	    "working time", since, worked);
	cr_expect_geq(worked - since, 4000, "fired %" PRId64 " ms into the "
	    "breach", worked - since);
	cJSON_Delete(a);
	/* Stored once both durable sinks took the message. */
	cr_assert_eq(harness_wait_until(fired_stored, state, HARNESS_WAIT_MS,
	    "the firing state stored"), 0);

	/* Silent still: firing, quietly, nothing more. */
	sleep(3);
	cr_expect_eq(stream_len(), 1);
	harness_paced_kill(&p, SIGTERM);
}
