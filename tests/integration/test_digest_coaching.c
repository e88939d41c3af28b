/*
 * The morning digest's coaching list (funnel.coaching) through the
 * daemon, on the wall clock, against a webhook receiver on the test's own
 * event base. The team's zone is picked so that it is about noon there
 * and the morning time is the current minute: the digest is due at once.
 *
 * Team north (role ae, funnel calls -> meetings, min_volume 20,
 * coaching_below 0.8, coaching_margin 0.05, coaching_days 2), yesterday's
 * day counters (the window ends the day before the digest's):
 *
 *   rep      calls meetings rate   stored state      after   listed
 *   r-good    1000      400  .40   none              0       no
 *   r-low      100       10  .10   yesterday 0 -> 1  2       yes
 *   r-band     100       28  .28   yesterday 2 -> 3  4       yes (margin)
 *   r-new      100       10  .10   none              1       no
 *   r-thin      10        0  0     yesterday 2 -> 5  0       no (volume)
 *
 * The team's rate: 448 / 1310 = .342; below under .8 x that = .274, a
 * listed step clears at .85 x that = .291. A stale field of a rep no
 * longer on the roster goes when the hash is rewritten.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"
#include "config.h"
#include "keys.h"
#include "xmalloc.h"

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The morning digest received, or NULL. */
static const cJSON *
morning(void)
{
	for (size_t i = 0; i < harness_hook_count(); i++)
		if (str(harness_hook_post(i), "kind") != NULL &&
		    strcmp(str(harness_hook_post(i), "kind"), "morning") == 0)
			return harness_hook_post(i);
	return NULL;
}

static bool
have_morning(void *arg)
{
	(void)arg;
	return morning() != NULL;
}

static const cJSON *
listed(const cJSON *m, const char *rep)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(m, "coaching"))
		if (str(e, "rep_id") != NULL && strcmp(str(e, "rep_id"), rep) == 0)
			return e;
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

static void
hset(const char *key, const char *field, const char *value)
{
	redisReply *r = harness_redis_cmd("HSET %s %s %s", key, field, value);

	cr_assert_not_null(r);
	freeReplyObject(r);
}

/* rep's calls and meetings on local day `day`. */
static void
counts(const struct config *c, const char *rep, int32_t day, int calls,
    int meetings)
{
	char *key = keys_shard_counters(c, keys_shard_of(c, rep), PERIOD_DAY,
	    day);
	char *f1 = keys_counter_field(rep, "calls");
	char *f2 = keys_counter_field(rep, "meetings");
	char v1[16], v2[16];

	snprintf(v1, sizeof(v1), "%d", calls);
	snprintf(v2, sizeof(v2), "%d", meetings);
	hset(key, f1, v1);
	hset(key, f2, v2);
	free(key);
	free(f1);
	free(f2);
}

/* The stored state of rep's step, or NULL; owned. */
static char *
state(const char *key, const char *rep)
{
	redisReply *r = harness_redis_cmd("HGET %s %s|calls|meetings", key,
	    rep);
	char *s = NULL;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		s = xstrdup(r->str);
	if (r != NULL)
		freeReplyObject(r);
	return s;
}

Test(digest_coaching, hysteresis_through_the_morning_digest,
    .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;
	char zone[32], hm[8], *org, *errs = NULL, *s, want[64];
	int64_t local = noon_zone(zone, sizeof(zone));
	int32_t lday = (int32_t)(local / 86400000), y = lday - 1;
	struct config *c;
	const cJSON *m, *e;
	const char *key = "paced:digest:coach:m-north";
	int port;

	cr_assert_eq(harness_setup("digest_coaching"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	port = harness_hook_start();
	cr_assert_gt(port, 0);
	snprintf(hm, sizeof(hm), "%02d:%02d",
	    (int)((local / 3600000) % 24), (int)((local / 60000) % 60));
	harness_log("zone %s, morning digest at %s local", zone, hm);
	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 10}}, funnel: [calls, meetings]}\n"
	    "teams:\n"
	    "  - {id: north, timezone: %s, manager: m-north}\n"
	    "reps:\n"
	    "  - {id: r-good, team: north, role: ae}\n"
	    "  - {id: r-low, team: north, role: ae}\n"
	    "  - {id: r-band, team: north, role: ae}\n"
	    "  - {id: r-new, team: north, role: ae}\n"
	    "  - {id: r-thin, team: north, role: ae}\n"
	    "funnel: {coaching: true}\n"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  quiet_hours: none\n"
	    "  digest: {morning: \"%s\"}\n"
	    "  webhooks:\n"
	    "    - {url: \"http://127.0.0.1:%d/hook\", timeout: 5s, "
	    "max_retries: 0, digest: true}\n", zone, hm, port);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	c = config_load_buffer("org.yaml", org, strlen(org), &errs);
	cr_assert_not_null(c, "%s", errs != NULL ? errs : "");
	free(org);

	counts(c, "r-good", y, 1000, 400);
	counts(c, "r-low", y, 100, 10);
	counts(c, "r-band", y, 100, 28);
	counts(c, "r-new", y, 100, 10);
	counts(c, "r-thin", y - 3, 10, 0);
	snprintf(want, sizeof(want), "%d:0:1", y);
	hset(key, "r-low|calls|meetings", want);
	snprintf(want, sizeof(want), "%d:2:3", y);
	hset(key, "r-band|calls|meetings", want);
	snprintf(want, sizeof(want), "%d:2:5", y);
	hset(key, "r-thin|calls|meetings", want);
	hset(key, "r-gone|calls|meetings", want);
	config_free(c);

	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert(harness_hook_run_until(have_morning, NULL, 60000,
	    "the morning digest"), "no morning digest");
	m = morning();
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "coaching")), 2,
	    "%s", str(m, "text"));
	e = listed(m, "r-low");
	cr_assert_not_null(e);
	cr_expect_str_eq(str(e, "team_id"), "north");
	cr_expect_str_eq(str(e, "from_kpi"), "calls");
	cr_expect_str_eq(str(e, "to_kpi"), "meetings");
	cr_expect_float_eq(cJSON_GetObjectItem(e, "rate")->valuedouble, 0.1,
	    1e-9);
	cr_expect_float_eq(cJSON_GetObjectItem(e, "team_rate")->valuedouble,
	    448.0 / 1310, 1e-9);
	cr_expect_eq(cJSON_GetObjectItem(e, "volume")->valueint, 100);
	cr_expect_eq(cJSON_GetObjectItem(e, "days_below")->valueint, 2);
	e = listed(m, "r-band");
	cr_assert_not_null(e);
	cr_expect_eq(cJSON_GetObjectItem(e, "days_below")->valueint, 4);
	cr_expect_not_null(strstr(str(m, "text"), "Worth a coaching talk: "),
	    "%s", str(m, "text"));

	/* The hash: the steps below or listed, today's check once. */
	s = state(key, "r-low");
	snprintf(want, sizeof(want), "%d:1:2", lday);
	cr_expect(s != NULL && strcmp(s, want) == 0, "r-low: %s", s);
	free(s);
	s = state(key, "r-band");
	snprintf(want, sizeof(want), "%d:3:4", lday);
	cr_expect(s != NULL && strcmp(s, want) == 0, "r-band: %s", s);
	free(s);
	s = state(key, "r-new");
	snprintf(want, sizeof(want), "%d:0:1", lday);
	cr_expect(s != NULL && strcmp(s, want) == 0, "r-new: %s", s);
	free(s);
	s = state(key, "r-thin");
	cr_expect_null(s, "r-thin: %s", s);
	free(s);
	s = state(key, "r-good");
	cr_expect_null(s, "r-good: %s", s);
	free(s);
	s = state(key, "r-gone");
	cr_expect_null(s, "r-gone: %s", s);
	free(s);
	{
		redisReply *r = harness_redis_cmd("TTL %s", key);

		cr_expect(r != NULL && r->type == REDIS_REPLY_INTEGER &&
		    r->integer > 7 * 86400, "no expiry");
		if (r != NULL)
			freeReplyObject(r);
	}
}
