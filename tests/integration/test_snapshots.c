/*
 * Scorecard snapshots on the event clock: three reps (one never active,
 * never alerting) over three days. Each day bucket that closes gets one
 * final snapshot per rep x KPI with a target, with the bucket's final
 * figures, equal to the scorecard API at the bucket's last second; a
 * SIGKILL and restart sends none of them again (the Redis marker); open
 * buckets are snapshot on the way, marked final: false. The role's
 * funnel (calls -> meetings) puts a forecast in the snapshots: once the
 * restarted daemon has read the window's rates, the next open snapshots
 * carry the team's rate of the two days before (1 meeting / 4 calls),
 * and Redis holds the same window figures (P:funnel:team:*,
 * P:{rep:R}:funnel).
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static const char *const reps[] = { "r1", "r2", "r3" };
static const char *const kpis[] = { "calls", "meetings" };
/* Final actual of day 1 and day 2 per rep and KPI. */
static const double day1[3][2] = { { 3, 0 }, { 0, 1 }, { 0, 0 } };
static const double day2[3][2] = { { 1, 0 }, { 0, 0 }, { 0, 0 } };

static char dates[3][16];	/* day 1..3, YYYY-MM-DD (UTC) */

static const char *
str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static char *
event(const char *rep, const char *id, const char *type, int day,
    const char *hms)
{
	return xasprintf("%s\t{\"event_id\":\"%s\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%sT%sZ\"}\n", rep, id, rep,
	    type, dates[day], hms);
}

/* How many finals of rep x KPI x day bucket `date` all[0..nall) holds;
 * *last is the last one. */
static int
finals_of(const char *rep, const char *kpi, const char *date,
    const cJSON **last, cJSON **all, size_t nall)
{
	int n = 0;

	for (size_t k = 0; k < nall; k++) {
		const cJSON *o = all[k];
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "final");

		if (o == NULL || !cJSON_IsTrue(f) ||
		    strcmp(str_of(o, "rep_id"), rep) != 0 ||
		    strcmp(str_of(o, "kpi"), kpi) != 0 ||
		    strcmp(str_of(o, "period"), "day") != 0 ||
		    strcmp(str_of(o, "period_start"), date) != 0)
			continue;
		n++;
		*last = o;
	}
	return n;
}

/* The API's figures of rep x kpi on day `date` at its last second. */
static int
api_matches(const struct harness_paced *p, const char *rep, const char *kpi,
    const char *date, const cJSON *snap)
{
	char path[256], *body = NULL;
	int status, bad = 0;
	cJSON *o, *list, *it;

	snprintf(path, sizeof(path), "/v1/reps/%s/scorecard?period=day&"
	    "at=%sT23:59:59Z", rep, date);
	if (harness_http_get(p->http_port, path, &status, &body) != 0 ||
	    status != 200) {
		free(body);
		harness_log("snapshots: %s answered %d", path, status);
		return 1;
	}
	o = cJSON_Parse(body);
	free(body);
	list = cJSON_GetObjectItemCaseSensitive(o, "kpis");
	cJSON_ArrayForEach(it, list) {
		if (strcmp(str_of(it, "kpi"), kpi) != 0)
			continue;
		if (num_of(it, "actual") != num_of(snap, "actual") ||
		    num_of(it, "target") != num_of(snap, "target") ||
		    num_of(it, "expected_to_date") !=
		    num_of(snap, "expected_to_date") ||
		    strcmp(str_of(it, "status"), str_of(snap, "status")) != 0) {
			char *a = cJSON_PrintUnformatted(it);
			char *b = cJSON_PrintUnformatted(snap);

			harness_log("snapshots: API %s\n  snapshot %s", a, b);
			free(a);
			free(b);
			bad++;
		}
		cJSON_Delete(o);
		return bad;
	}
	harness_log("snapshots: %s has no %s", path, kpi);
	cJSON_Delete(o);
	return 1;
}

struct marker_wait {
	const char *date;
};

struct metric_wait {
	const struct harness_paced *p;
	const char *name;
	double at_least;
};

static bool
metric_reached(void *arg)
{
	struct metric_wait *w = arg;

	return harness_paced_metric(w->p, w->name) >= w->at_least;
}

/*
 * The forecast of an open calls snapshot of day 3 judged after `since`
 * (an RFC 3339 prefix, compared as text): the team's rate of days 1 and
 * 2 (4 calls, 1 meeting: 0.25; no rep reaches min_volume), the meetings
 * target 2. Returns the problems found; *n counts the checked.
 */
static int
forecast_matches(const cJSON *o, const char *since, int *n)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "forecast");
	const cJSON *rates, *r0;
	double top, want_req;

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "final")) ||
	    strcmp(str_of(o, "kpi"), "calls") != 0 ||
	    strcmp(str_of(o, "period"), "day") != 0 ||
	    strcmp(str_of(o, "period_start"), dates[2]) != 0 ||
	    strcmp(str_of(o, "at"), since) < 0)
		return 0;
	(*n)++;
	if (!cJSON_IsObject(x)) {
		harness_log("snapshots: no forecast at %s", str_of(o, "at"));
		return 1;
	}
	top = num_of(x, "top_so_far");
	want_req = 8 - top > 0 ? 8 - top : 0;
	rates = cJSON_GetObjectItemCaseSensitive(x, "rates");
	r0 = cJSON_GetArrayItem(rates, 0);
	if (top != num_of(o, "actual") ||
	    num_of(x, "conversion") != 0.25 ||
	    strcmp(str_of(x, "top_kpi"), "calls") != 0 ||
	    strcmp(str_of(x, "target_kpi"), "meetings") != 0 ||
	    num_of(x, "target") != 2 ||
	    num_of(x, "required_activity") != want_req ||
	    fabs(num_of(x, "expected_deals") -
	    num_of(x, "projected_top") * 0.25) > 1e-9 ||
	    strcmp(str_of(x, "window_to"), dates[1]) != 0 ||
	    cJSON_GetArraySize(rates) != 1 ||
	    strcmp(str_of(r0, "rate_source"), "team") != 0) {
		char *t = cJSON_PrintUnformatted(o);

		harness_log("snapshots: forecast differs: %s", t);
		free(t);
		return 1;
	}
	return 0;
}

static bool
key_exists(void *arg)
{
	redisReply *rep = harness_redis_cmd("EXISTS %s", (const char *)arg);
	bool set = rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 1;

	if (rep != NULL)
		freeReplyObject(rep);
	return set;
}

/* The window figures of the funnel hashes in Redis: fields[] holds
 * field, value pairs, a NULL field ending them. Returns the problems. */
static int
hash_matches(const char *key, const char *const *fields)
{
	int problems = 0;

	for (size_t i = 0; fields[i] != NULL; i += 2) {
		redisReply *rep = harness_redis_cmd("HGET %s %s", key,
		    fields[i]);
		const char *got = rep != NULL &&
		    rep->type == REDIS_REPLY_STRING ? rep->str : "(none)";

		if (strcmp(got, fields[i + 1]) != 0) {
			harness_log("snapshots: %s %s is %s, want %s", key,
			    fields[i], got, fields[i + 1]);
			problems++;
		}
		if (rep != NULL)
			freeReplyObject(rep);
	}
	return problems;
}

static bool
markers_set(void *arg)
{
	struct marker_wait *w = arg;

	for (size_t r = 0; r < 3; r++) {
		redisReply *rep = harness_redis_cmd(
		    "EXISTS paced:{rep:%s}:snapfinal:day:%s", reps[r], w->date);
		bool set = rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
		    rep->integer == 1;

		if (rep != NULL)
			freeReplyObject(rep);
		if (!set)
			return false;
	}
	return true;
}

Test(snapshots, final_once_per_bucket, .fini = harness_teardown,
    .timeout = 240)
{
	struct harness_paced p;
	struct harness_msgs msgs = { 0 };
	struct marker_wait mw;
	struct metric_wait fw;
	char since[32];
	int nforecast = 0;
	time_t t0 = time(NULL) - 6 * 86400;
	cJSON **all;
	char *buf, *lines[9];
	size_t nopen = 0;
	int problems = 0;

	for (int d = 0; d < 3; d++) {
		time_t t = t0 + d * 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(dates[d], sizeof(dates[d]), "%Y-%m-%d", &tm);
	}
	cr_assert_eq(harness_setup("snapshots"), 0);
	/* One partition: on the event clock an event of a partition read
	 * behind another's is late, and a final leaves late events out. */
	harness_set_partitions(1);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "clock: event\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting]}\n"
	    "calendars:\n"
	    "  default: {working_days: [mon, tue, wed, thu, fri, sat, sun], "
	    "working_hours: \"09:00-17:00\"}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 10}, meetings: {day: 2}}, "
	    "funnel: [calls, meetings]}\n"
	    "teams:\n"
	    "  - {id: utc, timezone: UTC, manager: m-utc}\n"
	    "reps:\n"
	    "  - {id: r1, team: utc, role: sdr}\n"
	    "  - {id: r2, team: utc, role: sdr}\n"
	    "  - {id: r3, team: utc, role: sdr}\n"
	    "alerts: {periods: [day], evaluate_every: 1h}\n"), 0);
	cr_assert_eq(harness_paced_config(&p, 0,
	    "analytics: {snapshot_every: 3h}\n"), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	lines[0] = event("r1", "a1", "call", 0, "10:00:00");
	lines[1] = event("r1", "a2", "call", 0, "11:00:00");
	lines[2] = event("r2", "b1", "meeting", 0, "12:30:00");
	lines[3] = event("r1", "a3", "call", 0, "15:00:00");
	lines[4] = event("r1", "a4", "call", 1, "10:00:00");
	lines[5] = event("r2", "b2", "meeting", 2, "10:30:00");
	buf = xasprintf("%s%s%s%s%s%s", lines[0], lines[1], lines[2],
	    lines[3], lines[4], lines[5]);
	cr_assert_eq(harness_gen_write("days.tsv", buf), 0);
	free(buf);
	cr_assert_eq(harness_produce_file("days.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	mw.date = dates[1];
	cr_assert_eq(harness_wait_until(markers_set, &mw, HARNESS_WAIT_MS,
	    "the finals of day 2 to be marked"), 0);

	/* A restart judges every rep afresh: no final goes out again. */
	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	lines[6] = event("r1", "a5", "call", 2, "14:00:00");
	cr_assert_eq(harness_gen_write("more.tsv", lines[6]), 0);
	cr_assert_eq(harness_produce_file("more.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_wait_log(&p, "snapshots_ready",
	    HARNESS_WAIT_MS), 0);
	/* The restarted daemon judged the 14:00 boundary: wait for its
	 * periodic snapshots (the first judgement of each rep) to land. */
	for (int tries = 0; tries < 100; tries++) {
		if (harness_paced_metric(&p,
		    "paced_snapshots_total{final=\"false\"}") >= 6)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	cr_expect_geq(harness_paced_metric(&p,
	    "paced_snapshots_total{final=\"false\"}"), 6,
	    "the restarted daemon snapshot nothing");

	/* Its first snapshots asked for the rates. Once they are read, an
	 * event at 18:00 moves the clock past 14:00, and every rep's next
	 * open snapshot (at most 3h after its last) carries the forecast. */
	fw = (struct metric_wait){ &p,
	    "paced_snapshot_funnel_reads_total{outcome=\"ok\"}", 1 };
	cr_assert_eq(harness_wait_until(metric_reached, &fw, HARNESS_WAIT_MS,
	    "the forecast's rates to be read"), 0);
	/* The rates are in Redis too: days 1 and 2, the team's 4 calls and
	 * 1 meeting; r1's 4 calls and no meeting, r2's meeting alone. */
	cr_assert_eq(harness_wait_until(key_exists,
	    "paced:{rep:r3}:funnel", HARNESS_WAIT_MS,
	    "the funnel hashes to be written"), 0);
	{
		const char *team[] = { "calls|meetings", "0.25", "calls", "4",
		    "meetings", "1", "window_to", dates[1], NULL };
		const char *r1[] = { "calls|meetings", "0", "calls", "4",
		    "used:calls|meetings", "0.25",
		    "source:calls|meetings", "team", "window_to", dates[1],
		    NULL };
		const char *r2[] = { "calls|meetings", "", "meetings", "1",
		    "used:calls|meetings", "0.25", NULL };

		cr_expect_eq(hash_matches("paced:funnel:team:utc:sdr", team) +
		    hash_matches("paced:{rep:r1}:funnel", r1) +
		    hash_matches("paced:{rep:r2}:funnel", r2), 0,
		    "the funnel hashes differ");
	}
	fw = (struct metric_wait){ &p,
	    "paced_snapshots_total{final=\"false\"}", 6 + harness_paced_metric(
	    &p, "paced_snapshots_total{final=\"false\"}") };
	lines[7] = event("r3", "c1", "meeting", 2, "18:00:00");
	cr_assert_eq(harness_gen_write("late.tsv", lines[7]), 0);
	cr_assert_eq(harness_produce_file("late.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_until(metric_reached, &fw, HARNESS_WAIT_MS,
	    "the snapshots after 14:00"), 0);
	snprintf(since, sizeof(since), "%sT14:00:01", dates[2]);

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_SCORECARDS, &msgs), 0);
	all = calloc(msgs.n + 1, sizeof(*all));
	for (size_t k = 0; k < msgs.n; k++) {
		const struct harness_msg *m = &msgs.v[k];
		char key[256];
		cJSON *o = m->value ? cJSON_ParseWithLength(m->value,
		    m->value_len) : NULL;

		all[k] = o;
		if (o == NULL) {
			problems++;
			continue;
		}
		snprintf(key, sizeof(key), "%s|%s|%s|%s", str_of(o, "rep_id"),
		    str_of(o, "kpi"), str_of(o, "period"),
		    str_of(o, "period_start"));
		if (m->key == NULL || strcmp(m->key, key) != 0 ||
		    num_of(o, "version") != 1 ||
		    strcmp(str_of(o, "schema"), "paced.scorecard") != 0) {
			harness_log("snapshots: key %s for %s",
			    m->key ? (char *)m->key : "(null)", key);
			problems++;
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
		    "final")))
			nopen++;
		problems += forecast_matches(o, since, &nforecast);
	}
	for (size_t r = 0; r < 3; r++) {
		for (size_t k = 0; k < 2; k++) {
			for (int d = 0; d < 2; d++) {
				const cJSON *last = NULL;
				int n = finals_of(reps[r], kpis[k], dates[d],
				    &last, all, msgs.n);
				double want = d == 0 ? day1[r][k] : day2[r][k];

				cr_expect_eq(n, 1, "%s %s %s: %d finals",
				    reps[r], kpis[k], dates[d], n);
				if (last == NULL)
					continue;
				cr_expect_eq(num_of(last, "actual"), want,
				    "%s %s %s: actual %g, want %g", reps[r],
				    kpis[k], dates[d], num_of(last, "actual"),
				    want);
				problems += api_matches(&p, reps[r], kpis[k],
				    dates[d], last);
			}
		}
	}
	harness_log("snapshots: %zu messages, %zu open, %zu final", msgs.n,
	    nopen, msgs.n - nopen);
	cr_expect_gt(nopen, 0, "no open-bucket snapshot");
	cr_expect_geq(nforecast, 3, "%d open calls snapshots since %s",
	    nforecast, since);
	cr_expect_eq(problems, 0, "%d malformed or differing snapshots",
	    problems);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	for (size_t k = 0; k < msgs.n; k++)
		cJSON_Delete(all[k]);
	free(all);
	for (int k = 0; k < 8; k++)
		free(lines[k]);
	harness_msgs_free(&msgs);
}
