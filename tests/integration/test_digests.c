/*
 * Scheduled digests and held messages through the daemon, on the wall
 * clock, against a webhook receiver on the test's own event base.
 *
 * The teams' zone is picked so that it is about noon there (Etc/GMT-N),
 * and the times of the config are set a minute or two ahead of now:
 *
 *  - digests_once_across_processes: two daemons; at the morning time each
 *    manager gets one morning summary (its silent reps behind, with the
 *    recovery of s-good as positive news), and one end-of-week scorecard
 *    (s-good's target met); a daemon killed and started again sends
 *    neither again (the Redis marker), and says so in its metrics.
 *  - held_messages_survive_a_restart: the working hours begin a few
 *    minutes ahead; the silent reps' alerts are held (P:webhook:held),
 *    the daemon is SIGKILLed and started again; one held alert resolves
 *    during the night (its rep calls) and is never sent; another leaves
 *    the firing set (as when another process resolved it); at the start
 *    of the working hours the one still true goes out, once.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"
#include "xmalloc.h"

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Posts of that kind ("morning", "weekly"; NULL: alert digests) to
 * manager; *last the last of them. */
static size_t
count(const char *kind, const char *manager, const cJSON **last)
{
	size_t n = 0;

	for (size_t i = 0; i < harness_hook_count(); i++) {
		const char *k = str(harness_hook_post(i), "kind");
		const char *m = str(harness_hook_post(i), "manager_id");

		if (m == NULL || strcmp(m, manager) != 0)
			continue;
		if ((kind == NULL) != (k == NULL) ||
		    (kind != NULL && strcmp(kind, k) != 0))
			continue;
		n++;
		if (last != NULL)
			*last = harness_hook_post(i);
	}
	return n;
}

struct want {
	const char *kind;
	const char *manager;
	size_t n;
};

static bool
have(void *arg)
{
	const struct want *w = arg;

	for (; w->manager != NULL; w++)
		if (count(w->kind, w->manager, NULL) < w->n)
			return false;
	return true;
}

/* An entry of array name of o with rep_id rep (and kind, if not NULL). */
static const cJSON *
entry(const cJSON *o, const char *name, const char *rep, const char *kind)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, name)) {
		if (str(e, "rep_id") == NULL || strcmp(str(e, "rep_id"), rep) != 0)
			continue;
		if (kind == NULL || (str(e, "kind") != NULL &&
		    strcmp(str(e, "kind"), kind) == 0))
			return e;
	}
	return NULL;
}

/* The zone where it is about noon now, and local now (ms). */
static int64_t
noon_zone(char *zone, size_t len)
{
	time_t t = time(NULL);
	int hour = (int)((t / 3600) % 24), off = 12 - hour;

	if (off > 0)
		snprintf(zone, len, "Etc/GMT-%d", off);
	else if (off < 0)
		snprintf(zone, len, "Etc/GMT+%d", -off);
	else
		snprintf(zone, len, "Etc/UTC");
	return ((int64_t)t + off * 3600) * 1000;
}

/* "HH:MM" of the local minute `ahead` minutes after local_ms's. */
static void
hhmm(int64_t local_ms, int ahead, char *buf, size_t len)
{
	int64_t min = local_ms / 60000 + ahead;

	snprintf(buf, len, "%02d:%02d", (int)((min / 60) % 24),
	    (int)(min % 60));
}

static const char *const dows[] = { "mon", "tue", "wed", "thu", "fri", "sat",
    "sun" };

/* One call of rep, age_s seconds ago. */
static void
write_stream(const char *rep, const char *id, int age_s)
{
	char ts[32], *text;
	time_t t = time(NULL) - age_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text = xasprintf("%s\t{\"event_id\":\"%s\",\"rep_id\":\"%s\","
	    "\"type\":\"call\",\"occurred_at\":\"%s\"}\n", rep, id, rep, ts);
	cr_assert_eq(harness_gen_write("stream.tsv", text), 0);
	free(text);
}

static void
write_org(const char *zone, const char *hours, const char *alerts_extra,
    int port)
{
	char *org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"%s\"\n"
	    "    week_start: %s\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 7000}}}\n"
	    "  tiny: {targets: {calls: {week: 1}}}\n"
	    "teams:\n"
	    "  - {id: north, timezone: %s, manager: m-north}\n"
	    "  - {id: south, timezone: %s, manager: m-south}\n"
	    "reps:\n"
	    "  - {id: n-silent-1, team: north, role: ae}\n"
	    "  - {id: n-silent-2, team: north, role: ae}\n"
	    "  - {id: s-good, team: south, role: tiny}\n"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: leading\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  resolve_margin: 0\n"
	    "  escalate_critical: false\n"
	    "%s"
	    "  webhooks:\n"
	    "    - {url: \"http://127.0.0.1:%d/hook\", timeout: 5s, "
	    "max_retries: 0, digest: true}\n",
	    hours, harness_week_start_3d_ago(), zone, zone, alerts_extra, port);

	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
}

/* The integer answer of "<verb> <key>" is want. */
static bool
redis_int_is(const char *verb, const char *key, long long want)
{
	redisReply *r = harness_redis_cmd("%s %s", verb, key);
	bool ok = r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == want;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static bool
s_good_recovered(void *arg)
{
	(void)arg;
	return redis_int_is("HLEN", "paced:alerts:firing", 2);
}

Test(digests, digests_once_across_processes, .fini = harness_teardown,
    .timeout = 360)
{
	struct harness_paced p0, p1;
	char zone[32], morning[8], extra[256];
	int64_t local = noon_zone(zone, sizeof(zone));
	int32_t lday = (int32_t)(local / 86400000);
	const cJSON *m;
	int port;

	cr_assert_eq(harness_setup("digests"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	port = harness_hook_start();
	cr_assert_gt(port, 0);
	hhmm(local, 2, morning, sizeof(morning));
	snprintf(extra, sizeof(extra), "  quiet_hours: none\n"
	    "  digest:\n    morning: \"%s\"\n    weekly: \"%s %s\"\n"
	    "    positive_news: true\n", morning, dows[(lday + 3) % 7],
	    morning);
	harness_log("zone %s, digests at %s local", zone, morning);
	write_org(zone, "00:00-24:00", extra, port);
	cr_assert_eq(harness_paced_config(&p0, 0, NULL), 0);
	cr_assert_eq(harness_paced_config(&p1, 1, NULL), 0);
	cr_assert_eq(harness_paced_start(&p0), 0);
	cr_assert_eq(harness_paced_start(&p1), 0);
	cr_assert_eq(harness_paced_wait_ready(&p0, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_wait_ready(&p1, HARNESS_WAIT_MS), 0);

	/* The three silent reps fire; then s-good calls once, meets its
	 * week target of 1 and recovers from critical. */
	{
		struct want w[] = { { NULL, "m-north", 1 },
		    { NULL, "m-south", 1 }, { NULL, NULL, 0 } };

		cr_assert(harness_hook_run_until(have, w, 60000, "the alert digests"));
	}
	harness_hook_drain(1000);
	write_stream("s-good", "g1", 60);
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	cr_assert(harness_hook_run_until(s_good_recovered, NULL, 60000,
	    "s-good's recovery"));

	/* The digests: once each, whichever process sent them. */
	{
		struct want w[] = { { "morning", "m-north", 1 },
		    { "morning", "m-south", 1 }, { "weekly", "m-north", 1 },
		    { "weekly", "m-south", 1 }, { NULL, NULL, 0 } };

		cr_assert(harness_hook_run_until(have, w, 200000, "the scheduled digests"));
	}
	harness_hook_drain(1000);
	cr_assert_eq(count("morning", "m-north", &m), 1);
	cr_expect_eq(cJSON_GetObjectItem(m, "version")->valueint, 1);
	cr_expect_not_null(entry(m, "behind", "n-silent-1", NULL));
	cr_expect_not_null(entry(m, "behind", "n-silent-2", NULL));
	cr_expect_str_eq(str(entry(m, "behind", "n-silent-1", NULL),
	    "status"), "critical");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "behind")), 2);
	cr_assert_eq(count("morning", "m-south", &m), 1);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "behind")), 0);
	cr_expect_not_null(entry(m, "news", "s-good", "recovered"),
	    "no recovery in %s", str(m, "text"));
	cr_assert_eq(count("weekly", "m-north", &m), 1);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "scorecard")),
	    2);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "news")), 0);
	cr_assert_eq(count("weekly", "m-south", &m), 1);
	cr_expect_not_null(entry(m, "news", "s-good", "target_met"));
	/* 1 call against a target that the data's start shrank below 1. */
	cr_expect_geq(cJSON_GetObjectItem(entry(m, "scorecard", "s-good",
	    NULL), "percent")->valuedouble, 100);
	cr_expect(redis_int_is("HLEN", "paced:digest:news:m-south", 0),
	    "the news were not cleared");
	{
		char date[16], *cmd;
		redisReply *r;

		caltime_format_date(lday, date, sizeof(date));
		cmd = xasprintf("paced:digest:morning:m-north:%s", date);
		r = harness_redis_cmd("GET %s", cmd);
		cr_expect(r != NULL && r->type == REDIS_REPLY_STRING &&
		    strcmp(r->str, "sent") == 0, "%s: not sent", cmd);
		if (r != NULL)
			freeReplyObject(r);
		free(cmd);
	}

	/* Between them the two processes sent each digest once. */
	for (int k = 0; k < 2; k++) {
		char *series = xasprintf("paced_digests_total{kind=\"%s\","
		    "result=\"sent\"}", k == 0 ? "morning" : "weekly");

		cr_expect_eq(harness_paced_metric(&p0, series) +
		    harness_paced_metric(&p1, series), 2, "%s", series);
		free(series);
	}

	/* Killed and started again: nothing is sent twice. */
	cr_assert_eq(harness_paced_kill(&p0, SIGKILL), 0);
	cr_assert_eq(harness_paced_start(&p0), 0);
	cr_assert_eq(harness_paced_wait_ready(&p0, HARNESS_WAIT_MS), 0);
	harness_hook_drain(12000);	/* three digest ticks */
	cr_expect_eq(count("morning", "m-north", NULL), 1);
	cr_expect_eq(count("morning", "m-south", NULL), 1);
	cr_expect_eq(count("weekly", "m-north", NULL), 1);
	cr_expect_eq(count("weekly", "m-south", NULL), 1);
	cr_expect_eq(harness_paced_metric(&p0, "paced_digests_total{"
	    "kind=\"morning\",result=\"already_sent\"}"), 2);
	cr_expect_eq(harness_paced_metric(&p0, "paced_digests_total{"
	    "kind=\"weekly\",result=\"already_sent\"}"), 2);
}

static bool
held_is(void *arg)
{
	return redis_int_is("HLEN", "paced:webhook:held", *(long long *)arg);
}

Test(digests, held_messages_survive_a_restart, .fini = harness_teardown,
    .timeout = 420)
{
	struct harness_paced p;
	char zone[32], start[8], hours[16];
	int64_t local = noon_zone(zone, sizeof(zone));
	const cJSON *m;
	long long want;
	int port;

	cr_assert_eq(harness_setup("digests_held"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	port = harness_hook_start();
	cr_assert_gt(port, 0);
	/* Working time begins three to four minutes from now. */
	hhmm(local, 4, start, sizeof(start));
	snprintf(hours, sizeof(hours), "%s-24:00", start);
	harness_log("zone %s, working hours %s", zone, hours);
	write_org(zone, hours, "  quiet_hours: all\n", port);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* At night the three alerts fire and are held, in Redis too. */
	want = 3;
	cr_assert(harness_hook_run_until(held_is, &want, 60000, "three held alerts"));
	cr_expect_eq(harness_hook_count(), 0);
	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_wait_log(&p, "webhook_held_restored",
	    HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_webhook_held_total{outcome=\"restored\"}"), 3);

	/* s-good calls and recovers, still at night: its firing and its
	 * resolution are merged away. The call is a day old, so that its
	 * partition's data begins yesterday, whose working time counts
	 * (today's has not begun: a rep judged on none is not_started). */
	write_stream("s-good", "g1", 86400);
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	want = 2;
	cr_assert(harness_hook_run_until(held_is, &want, 60000, "s-good merged away"));
	cr_expect_eq(harness_hook_count(), 0, "a post at night");

	/* n-silent-2's alert leaves the firing set, as when another
	 * process resolved it: its held firing is no longer true. */
	{
		redisReply *r = harness_redis_cmd("HGETALL paced:alerts:firing");
		bool gone = false;

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			if (strstr(r->element[i + 1]->str,
			    "\"rep_id\":\"n-silent-2\"") != NULL) {
				redisReply *d = harness_redis_cmd(
				    "HDEL paced:alerts:firing %s",
				    r->element[i]->str);

				gone = d != NULL && d->type == REDIS_REPLY_INTEGER &&
				    d->integer == 1;
				if (d != NULL)
					freeReplyObject(d);
			}
		freeReplyObject(r);
		cr_assert(gone, "n-silent-2 is not in the firing set");
	}

	/* Morning: m-north's one alert still true goes out, once; nothing
	 * for m-south. */
	{
		struct want w[] = { { NULL, "m-north", 1 }, { NULL, NULL, 0 } };

		cr_assert(harness_hook_run_until(have, w, 300000, "the held digest"));
	}
	want = 0;
	cr_assert(harness_hook_run_until(held_is, &want, 10000, "the hold emptied"));
	harness_hook_drain(5000);	/* anything more */
	cr_assert_eq(count(NULL, "m-north", &m), 1);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "alerts")), 1);
	cr_expect_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(m,
	    "alerts"), 0), "rep_id"), "n-silent-1");
	cr_expect_eq(count(NULL, "m-south", NULL), 0, "s-good was sent");
	cr_expect_eq(harness_hook_count(), 1);
	cr_expect_eq(harness_paced_metric(&p, "paced_webhook_held"), 0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_webhook_held_total{outcome=\"no_longer_firing\"}"), 1);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_webhook_held_total{outcome=\"claimed_away\"}"), 0);
}
