/*
 * Leaderboards, team scorecards and a manager's reps against a real Redis
 * and the mock broker, with figures worked out by hand below.
 *
 * Two teams in UTC, Monday to Friday 09:00-17:00. The week under test
 * starts on the Monday two weeks before this one (W); the week before it
 * (W-7) is the previous bucket. Readings are at Wednesday 13:00 of week W:
 * 20 of the week's 40 working hours are gone, an elapsed share of 0.5.
 *
 *   rep  team  role  manager  calls (W-7, W)  meetings (W)  region
 *   a1   east  sdr   m-east      100, 60         5            emea
 *   a2   east  sdr   m-east       20, 60         2            apac
 *   a3   east  ae    m-ae         80, 40        12     (m-ae reports to m-east)
 *   b1   west  sdr   m-west      150, 90         0            emea
 *   b2   west  ae    m-west       10, 10        40
 *   b3   west  sdr   m-west        -,  -         -     (no activity at all)
 *
 * Week targets: sdr calls 100, meetings 10; ae calls 50, meetings 20.
 * Activity score: sdr 0.6 calls + 0.4 meetings, ae 0.5 + 0.5, each KPI's
 * percent of target capped at 150.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static int http_port;
static char at_q[64];		/* "at=..." of the readings, URL-encoded */
static char week_date[16];	/* W as YYYY-MM-DD */

/* One expected line of a board. */
struct want {
	const char *rep;
	int rank;
	bool tied;
	double key;		/* value, percent, improvement or score */
};

static void
check_board(const cJSON *b, const char *keyname, const struct want *w,
    size_t n, size_t size, const char *what)
{
	const cJSON *entries = harness_item(b, "entries");

	cr_assert(cJSON_IsArray(entries), "%s: no entries", what);
	cr_expect_eq((size_t)cJSON_GetArraySize(entries), n,
	    "%s: %d entries, want %zu", what, cJSON_GetArraySize(entries), n);
	cr_expect(harness_close_to(harness_num(b, "size"), (double)size),
	    "%s: size %g", what, harness_num(b, "size"));
	for (size_t i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(entries, (int)i);

		cr_assert_not_null(e, "%s: no entry %zu", what, i);
		cr_expect_str_eq(harness_str(e, "rep_id"), w[i].rep,
		    "%s: line %zu", what, i + 1);
		cr_expect(harness_close_to(harness_num(e, "rank"), w[i].rank),
		    "%s: %s rank %g, want %d", what, w[i].rep,
		    harness_num(e, "rank"), w[i].rank);
		cr_expect_eq(cJSON_IsTrue(harness_item(e, "tied")), w[i].tied,
		    "%s: %s tied", what, w[i].rep);
		cr_expect(harness_close_to(harness_num(e, keyname), w[i].key),
		    "%s: %s %s %g, want %g", what, w[i].rep, keyname,
		    harness_num(e, keyname), w[i].key);
	}
}

/* Appends n events of one kind for rep on day at 10:00 UTC. */
static char *
add_events(char *lines, const char *rep, const char *type, int64_t day,
    int count, int *seq)
{
	char date[16], *next;

	if (count == 0)
		return lines;
	harness_day_text(day, date, sizeof(date));
	/* Two events, so that a count splits over a batch or two. */
	next = xasprintf("%s%s\t{\"event_id\":\"bd-%d\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%sT10:00:00Z\",\"count\":%d}\n"
	    "%s\t{\"event_id\":\"bd-%d\",\"rep_id\":\"%s\",\"type\":\"%s\","
	    "\"occurred_at\":\"%sT11:00:00Z\",\"count\":%d}\n",
	    lines ? lines : "", rep, *seq, rep, type, date, count - count / 2,
	    rep, *seq + 1, rep, type, date, count / 2);
	*seq += 2;
	free(lines);
	return next;
}

/* Every board key and its members with scores, as one text. */
static char *
boards_dump(void)
{
	redisReply *keys = harness_redis_cmd("KEYS paced:{board:*");
	char **names, *out = xstrdup("");
	size_t n;

	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	n = keys->elements;
	names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = keys->element[i]->str;
	/* KEYS has no order: sort the names. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0;
		    j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		redisReply *z = harness_redis_cmd("ZRANGE %s 0 -1 WITHSCORES",
		    names[i]);
		char *next;

		cr_assert(z != NULL && z->type == REDIS_REPLY_ARRAY);
		next = xasprintf("%s%s:", out, names[i]);
		free(out);
		out = next;
		for (size_t j = 0; j < z->elements; j++) {
			next = xasprintf("%s %s", out, z->element[j]->str);
			free(out);
			out = next;
		}
		next = xasprintf("%s\n", out);
		free(out);
		out = next;
		freeReplyObject(z);
	}
	free(names);
	freeReplyObject(keys);
	return out;
}

static double
zscore(const char *key, const char *member, bool *present)
{
	redisReply *r = harness_redis_cmd("ZSCORE %s %s", key, member);
	double v = 0;

	cr_assert_not_null(r);
	*present = r->type == REDIS_REPLY_STRING;
	if (*present)
		v = strtod(r->str, NULL);
	freeReplyObject(r);
	return v;
}

static void
check_redis_boards(void)
{
	char key[160];
	bool present;

	snprintf(key, sizeof(key), "paced:{board:org:calls:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "b1", &present), 90) && present,
	    "%s b1", key);
	zscore(key, "b3", &present);
	cr_expect(!present, "b3 has no activity: not in %s", key);
	snprintf(key, sizeof(key), "paced:{board:manager:m-east:calls:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "a3", &present), 40) && present,
	    "a3 is under m-east through m-ae: %s", key);
	snprintf(key, sizeof(key), "paced:{board:manager:vp:meetings:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "b2", &present), 40) && present,
	    "%s b2", key);
	snprintf(key, sizeof(key), "paced:{board:role:ae:calls:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "a3", &present), 40) && present,
	    "%s a3", key);
	zscore(key, "a1", &present);
	cr_expect(!present, "a1 is no ae: not in %s", key);
	snprintf(key, sizeof(key), "paced:{board:region:emea:calls:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "a1", &present), 60) && present,
	    "%s a1", key);
	zscore(key, "a2", &present);
	cr_expect(!present, "a2 is in apac: not in %s", key);
	snprintf(key, sizeof(key), "paced:{board:team:west:calls:week:%s}",
	    week_date);
	cr_expect(harness_close_to(zscore(key, "b2", &present), 10) && present,
	    "%s b2", key);
}

static void
check_boards(void)
{
	static const struct want value[] = {
		{ "b1", 1, false, 90 }, { "a1", 2, true, 60 },
		{ "a2", 2, true, 60 }, { "a3", 4, false, 40 },
		{ "b2", 5, false, 10 }, { "b3", 6, false, 0 },
	};
	static const struct want percent[] = {
		{ "b1", 1, false, 90 }, { "a3", 2, false, 80 },
		{ "a1", 3, true, 60 }, { "a2", 3, true, 60 },
		{ "b2", 5, false, 20 }, { "b3", 6, false, 0 },
	};
	/* calls now - calls of the week before x 0.5 */
	static const struct want improved[] = {
		{ "a2", 1, false, 50 }, { "b1", 2, false, 15 },
		{ "a1", 3, false, 10 }, { "b2", 4, false, 5 },
		{ "a3", 5, true, 0 }, { "b3", 5, true, 0 },
	};
	/* a1 .6x60 + .4x50; a2 .6x60 + .4x20; a3 .5x80 + .5x60;
	 * b1 .6x90 + 0; b2 .5x20 + .5x150 (200 capped); b3 0 */
	static const struct want score[] = {
		{ "b2", 1, false, 85 }, { "a3", 2, false, 70 },
		{ "a1", 3, false, 56 }, { "b1", 4, false, 54 },
		{ "a2", 5, false, 44 }, { "b3", 6, false, 0 },
	};
	static const struct want team_east[] = {
		{ "a1", 1, true, 60 }, { "a2", 1, true, 60 },
		{ "a3", 3, false, 40 },
	};
	static const struct want emea[] = {
		{ "b1", 1, false, 90 }, { "a1", 2, false, 60 },
	};
	static const struct want m_east[] = {
		{ "a3", 1, false, 80 }, { "a1", 2, true, 60 },
		{ "a2", 2, true, 60 },
	};
	cJSON *b;
	const cJSON *e;

	b = harness_get_ok(http_port,
	    "/v1/leaderboards/org/calls?period=week&%s", at_q);
	check_board(b, "value", value, 6, 6, "org calls by value");
	e = cJSON_GetArrayItem(harness_item(b, "entries"), 0);
	cr_expect(harness_close_to(harness_num(e, "target"), 100) &&
	    harness_close_to(harness_num(e, "percent_to_target"), 90),
	    "b1's target and "
	    "percent");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/org/calls?period=week&%s&limit=2", at_q);
	check_board(b, "value", value, 2, 6, "org calls, limit 2");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/org/calls?period=week&%s&by=percent", at_q);
	check_board(b, "percent_to_target", percent, 6, 6,
	    "org calls by percent");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/org/calls?period=week&%s&by=improved", at_q);
	check_board(b, "improvement", improved, 6, 6, "most improved");
	e = cJSON_GetArrayItem(harness_item(b, "entries"), 0);
	cr_expect(harness_close_to(harness_num(e, "elapsed_fraction"), 0.5) &&
	    harness_close_to(harness_num(e, "previous_value"), 20) &&
	    harness_close_to(harness_num(e, "previous_at_share"), 10),
	    "a2's previous week");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/org/activity_score?period=week&%s", at_q);
	check_board(b, "score", score, 6, 6, "activity score");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/team:east/calls?period=week&%s", at_q);
	check_board(b, "value", team_east, 3, 3, "team east calls");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/region:emea/calls?period=week&%s", at_q);
	check_board(b, "value", emea, 2, 2, "region emea calls");
	cJSON_Delete(b);
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/manager:m-east/calls?period=week&%s"
	    "&by=percent", at_q);
	check_board(b, "percent_to_target", m_east, 3, 3,
	    "m-east calls by percent");
	cJSON_Delete(b);
	/* The read contract v1 form. */
	b = harness_get_ok(http_port,
	    "/v1/leaderboards/calls?period=week&%s&scope=team:east"
	    "&rank_by=percent_to_target", at_q);
	check_board(b, "percent_to_target", m_east, 3, 3, "v1 form");
	cr_expect_str_eq(harness_str(b, "rank_by"), "percent_to_target");
	cJSON_Delete(b);
}

/* A KPI line of a scorecard by name. */
static const cJSON *
kpi_line(const cJSON *kpis, const char *name)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, kpis)
		if (strcmp(harness_str(k, "kpi"), name) == 0)
			return k;
	cr_assert_fail("no KPI %s", name);
	return NULL;
}

static void
check_team_and_manager(void)
{
	cJSON *t, *m;
	const cJSON *k, *r;
	int direct = 0, seen = 0;

	/* east: calls 60+60+40 = 160 of 100+100+50 = 250; half the week
	 * gone: 125 expected, pace 1.28 (ahead). meetings 5+2+12 = 19 of
	 * 10+10+20 = 40: 20 expected, pace 0.95 (on pace). */
	t = harness_get_ok(http_port, "/v1/teams/east/scorecard?period=week&%s",
	    at_q);
	cr_expect_str_eq(harness_str(t, "team_id"), "east");
	cr_expect(harness_close_to(harness_num(t, "reps_count"), 3));
	cr_expect(harness_close_to(harness_num(t, "elapsed_fraction"), 0.5));
	k = kpi_line(harness_item(t, "kpis"), "calls");
	cr_expect(harness_close_to(harness_num(k, "actual"), 160) &&
	    harness_close_to(harness_num(k, "target"), 250) &&
	    harness_close_to(harness_num(k, "expected_to_date"), 125) &&
	    harness_close_to(harness_num(k, "pace"), 1.28) &&
	    harness_close_to(harness_num(k, "percent_to_target"), 64),
	    "east calls: %g of %g, pace %g", harness_num(k, "actual"),
	    harness_num(k, "target"), harness_num(k, "pace"));
	cr_expect_str_eq(harness_str(k, "status"), "ahead");
	k = kpi_line(harness_item(t, "kpis"), "meetings");
	cr_expect(harness_close_to(harness_num(k, "actual"), 19) &&
	    harness_close_to(harness_num(k, "target"), 40) &&
	    harness_close_to(harness_num(k, "pace"), 0.95), "east meetings");
	cr_expect_str_eq(harness_str(k, "status"), "on_pace");
	cJSON_Delete(t);
	/* west: calls 90+10+0 = 100 of 100+50+100 = 250, b3 in with 0. */
	t = harness_get_ok(http_port, "/v1/teams/west/scorecard?period=week&%s",
	    at_q);
	cr_expect(harness_close_to(harness_num(t, "reps_count"), 3));
	k = kpi_line(harness_item(t, "kpis"), "calls");
	cr_expect(harness_close_to(harness_num(k, "actual"), 100) &&
	    harness_close_to(harness_num(k, "target"), 250) &&
	    harness_close_to(harness_num(k, "pace"), 0.8), "west calls");
	cJSON_Delete(t);

	/* m-east: a1 and a2 directly (the team's manager), a3 through m-ae. */
	m = harness_get_ok(http_port, "/v1/managers/m-east/reps?period=week&%s",
	    at_q);
	cr_expect(harness_close_to(harness_num(m, "reps_count"), 3));
	cJSON_ArrayForEach(r, harness_item(m, "reps")) {
		seen++;
		if (cJSON_IsTrue(harness_item(r, "direct")))
			direct++;
		if (strcmp(harness_str(r, "rep_id"), "a3") == 0) {
			cr_expect_str_eq(harness_str(r, "manager_id"), "m-ae");
			k = kpi_line(harness_item(r, "kpis"), "meetings");
			cr_expect(harness_close_to(harness_num(k, "actual"), 12)
			    && harness_close_to(harness_num(k, "target"), 20) &&
			    harness_close_to(harness_num(k, "pace"), 1.2),
			    "a3 meetings");
		}
	}
	cr_expect_eq(seen, 3);
	cr_expect_eq(direct, 2, "a1 and a2 are direct, a3 is not");
	cJSON_Delete(m);
	m = harness_get_ok(http_port, "/v1/managers/vp/reps?period=week&%s",
	    at_q);
	cr_expect(harness_close_to(harness_num(m, "reps_count"), 6),
	    "vp sees every rep");
	cJSON_Delete(m);
	m = harness_get_ok(http_port, "/v1/managers/m-ae/reps?period=week&%s",
	    at_q);
	cr_expect(harness_close_to(harness_num(m, "reps_count"), 1));
	cJSON_Delete(m);
}

/* Returns the number of requests made. */
static size_t
check_bad_requests(void)
{
	static const struct {
		const char *path;
		int status;
	} bad[] = {
		{ "/v1/leaderboards/org/nope?period=week", 404 },
		{ "/v1/leaderboards/org/calls?period=year", 400 },
		{ "/v1/leaderboards/org/calls?at=yesterday", 400 },
		{ "/v1/leaderboards/org/calls?at=2026-13-01T00:00:00Z", 400 },
		{ "/v1/leaderboards/org/calls?limit=0", 400 },
		{ "/v1/leaderboards/org/calls?limit=1001", 400 },
		{ "/v1/leaderboards/org/calls?limit=ten", 400 },
		{ "/v1/leaderboards/org/calls?limit=", 400 },
		{ "/v1/leaderboards/org/calls?by=speed", 400 },
		{ "/v1/leaderboards/org/activity_score?by=percent", 400 },
		{ "/v1/leaderboards/team:nope/calls", 404 },
		{ "/v1/leaderboards/team:/calls", 400 },
		{ "/v1/leaderboards/galaxy:far/calls", 404 },
		{ "/v1/leaderboards/Galaxy:far/calls", 400 },
		{ "/v1/leaderboards/region:mars/calls", 404 },
		{ "/v1/leaderboards/org:x/calls", 400 },
		{ "/v1/leaderboards/role:cto/calls", 404 },
		{ "/v1/leaderboards/manager:nobody/calls", 404 },
		{ "/v1/leaderboards/%ZZ/calls", 404 },
		{ "/v1/leaderboards/org/calls/extra", 404 },
		{ "/v1/leaderboards/", 404 },
		{ "/v1/leaderboards/calls?scope=team:nope", 404 },
		{ "/v1/leaderboards/calls?rank_by=percent", 400 },
		{ "/v1/teams/nope/scorecard", 404 },
		{ "/v1/teams/east/scorecard?period=fortnight", 400 },
		{ "/v1/teams/east/scorecard?at=2026", 400 },
		{ "/v1/teams/east", 404 },
		{ "/v1/managers/nobody/reps", 404 },
		{ "/v1/managers/m-east/reps?at=noon", 400 },
		{ "/v1/managers/m-east/reps?period=", 400 },
		{ "/v1/reps/nobody/scorecard", 404 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = 0;
		cJSON *j = harness_get_json(http_port, bad[i].path, &status);

		cr_expect_eq(status, bad[i].status, "GET %s: %d, want %d",
		    bad[i].path, status, bad[i].status);
		cr_expect(cJSON_IsString(harness_item(j, "error")) &&
		    harness_item(j, "error")->valuestring[0] != '\0',
		    "GET %s: no error text", bad[i].path);
		cJSON_Delete(j);
	}
	return sizeof(bad) / sizeof(bad[0]);
}

Test(boards, ranks_scorecards_and_replay, .fini = harness_teardown,
    .timeout = 180)
{
	static const struct {
		const char *rep;
		int prev_calls, calls, meetings;
	} acts[] = {
		{ "a1", 100, 60, 5 }, { "a2", 20, 60, 2 }, { "a3", 80, 40, 12 },
		{ "b1", 150, 90, 0 }, { "b2", 10, 10, 40 },
	};
	struct harness_paced p;
	int64_t today = (int64_t)time(NULL) / 86400, week;
	char *lines = NULL, *before, *after, wed[16];
	int iseq = 0;
	size_t nbad;

	/* Day 0 was a Thursday: (day + 3) % 7 is 0 on Mondays. */
	week = today - (today + 3) % 7 - 14;
	harness_day_text(week, week_date, sizeof(week_date));
	harness_day_text(week + 2, wed, sizeof(wed));
	snprintf(at_q, sizeof(at_q), "at=%sT13:00:00Z", wed);

	cr_assert_eq(harness_setup("boards"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_write("org.yaml",
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_held]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri]\n"
	    "    working_hours: \"09:00-17:00\"\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {week: 100}, meetings: {week: 10}}}\n"
	    "  ae: {targets: {calls: {week: 50}, meetings: {week: 20}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC, manager: m-east}\n"
	    "  - {id: west, timezone: UTC, manager: m-west}\n"
	    "managers:\n"
	    "  - {id: m-ae, manager: m-east}\n"
	    "  - {id: m-east, manager: vp}\n"
	    "  - {id: m-west, manager: vp}\n"
	    "  - {id: vp}\n"
	    "reps:\n"
	    "  - {id: a1, team: east, role: sdr, groups: {region: emea}}\n"
	    "  - {id: a2, team: east, role: sdr, groups: {region: apac}}\n"
	    "  - {id: a3, team: east, role: ae, manager: m-ae}\n"
	    "  - {id: b1, team: west, role: sdr, groups: {region: emea}}\n"
	    "  - {id: b2, team: west, role: ae}\n"
	    "  - {id: b3, team: west, role: sdr}\n"
	    "leaderboards:\n"
	    "  groupings: [role, manager, region]\n"
	    "  activity_score:\n"
	    "    cap: 150\n"
	    "    weights:\n"
	    "      sdr: {calls: 0.6, meetings: 0.4}\n"
	    "      ae: {calls: 0.5, meetings: 0.5}\n"
	    "alerts:\n"
	    "  periods: [day]\n"
	    "  evaluate_every: 1h\n"), 0);
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		lines = add_events(lines, acts[i].rep, "call", week - 7,
		    acts[i].prev_calls, &iseq);
		lines = add_events(lines, acts[i].rep, "call", week,
		    acts[i].calls / 2, &iseq);
		lines = add_events(lines, acts[i].rep, "call", week + 1,
		    acts[i].calls - acts[i].calls / 2, &iseq);
		lines = add_events(lines, acts[i].rep, "meeting_held", week + 1,
		    acts[i].meetings, &iseq);
	}
	cr_assert_eq(harness_gen_write("events.tsv", lines), 0);
	free(lines);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	http_port = p.http_port;
	cr_assert_eq(harness_produce_file("events.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	check_redis_boards();
	check_boards();
	check_team_and_manager();
	nbad = check_bad_requests();
	/* Each counted once, as the daemon's own answer. */
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_http_requests_total{code=\"4xx\"}"), (double)nbad);
	cr_expect_eq(harness_paced_metric(&p, "paced_http_refused_total"), 0);

	/* The same stream again: every event a duplicate, every board as
	 * it was (absolute scores, never increments). */
	before = boards_dump();
	cr_assert_eq(harness_produce_file("events.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	after = boards_dump();
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_events_total{outcome=\"duplicate\"}"), (double)iseq,
	    "the replay's %d events were not all duplicates", iseq);
	cr_expect_str_eq(after, before, "a replay changed the boards");
	cr_expect(strlen(before) > 0 && strstr(before, "{board:org:") != NULL,
	    "no boards to compare");
	harness_log("%zu bytes of boards, unchanged by the replay",
	    strlen(before));
	free(before);
	free(after);
	check_boards();
	check_team_and_manager();
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
