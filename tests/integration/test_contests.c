/*
 * Contests against a real Redis, the mock broker and a webhook receiver
 * (paced-webhook), with the figures worked out by hand below. One team
 * calendar of seven working days in UTC; T is today (UTC). Day targets of
 * role sdr: calls 10, meetings 2. Activity score: 0.5 calls + 0.5
 * meetings, each percent capped at 150, so one rep's day scores at most
 * 150.
 *
 *   rep  team  calls                          meetings
 *   a1   east  T-2: 20, T-1: 12 (phase 1)      T-1: 1
 *   a2   east  T-2: 15 (phase 1), T-1: 16 (phase 2)
 *   a3   east  T-5: 50 (outside every window)  T-1: 3
 *   b1   west  T-1: 29
 *   b2   west  T-1: 31                         T-2: 1
 *   b3   west  nothing at all
 *   past-race: a1 T-7: 12; a2 T-6: 5, then after its result T-6: +20.
 *
 * race-calls (race to 30 calls, T-2..T+1, reps a1 a2 a3 b1 b3): a1 has
 * 32 after phase 1 and finishes first, a2 has 31 after phase 2 and
 * finishes second, b1 29, a3 and b3 0 (tied at rank 4).
 * top-calls (highest calls, T-2..T+1, reps a1 a2 b1 b2): a1 32, a2 and
 * b2 31 (tied at rank 2), b1 29 at rank 4.
 * team-score (highest activity score, T-2..T+1, teams east west):
 *   a1: T-2 0.5 x min(200,150) = 75; T-1 0.5 x 120 + 0.5 x 50 = 85: 160
 *   a2: T-2 0.5 x 150 = 75; T-1 0.5 x 160 -> 75: 150
 *   a3: T-1 meetings 0.5 x 150 = 75 (its T-5 calls are outside): 75
 *   east = 385
 *   b1: T-1 0.5 x min(290,150) = 75; b2: T-1 75, T-2 0.5 x 50 = 25: 100
 *   west = 175
 * past-race (race to 10 calls, T-8..T-6, reps a1 a2): ended; a1 wins
 * with 12, a2 has 5. Its result is published once (stream, topic,
 * webhook), also across a restart, and its board no longer moves.
 * later (T+2..T+3) is upcoming.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"
#include "xmalloc.h"

static int http_port;
static int64_t today;

/* Appends one event of count for rep on day (10:00 UTC). */
static char *
add_event(char *lines, const char *rep, const char *type, int64_t day,
    int count, int *seq)
{
	char date[16], *next;

	harness_day_text(day, date, sizeof(date));
	next = xasprintf("%s%s\t{\"event_id\":\"ct-%d\",\"rep_id\":\"%s\","
	    "\"type\":\"%s\",\"occurred_at\":\"%sT10:00:00Z\",\"count\":%d}\n",
	    lines ? lines : "", rep, (*seq)++, rep, type, date, count);
	free(lines);
	return next;
}

struct want {
	const char *id;
	int rank;
	bool tied;
	double value;
};

/* GET /v1/contests/{id}: its lines against w. Returns the answer. */
static cJSON *
check_contest(const char *id, const char *idkey, const struct want *w,
    size_t n)
{
	char path[128];
	cJSON *c;
	const cJSON *e;

	snprintf(path, sizeof(path), "/v1/contests/%s", id);
	c = harness_get_ok(http_port, "%s", path);
	e = harness_item(c, "entries");
	cr_assert(cJSON_IsArray(e), "%s: no entries", id);
	cr_expect_eq((size_t)cJSON_GetArraySize(e), n, "%s: %d lines", id,
	    cJSON_GetArraySize(e));
	cr_expect_eq(harness_num(c, "size"), (double)n);
	for (size_t i = 0; i < n; i++) {
		const cJSON *x = cJSON_GetArrayItem(e, (int)i);

		cr_assert_not_null(x);
		cr_expect_str_eq(harness_str(x, idkey), w[i].id, "%s line %zu",
		    id, i + 1);
		cr_expect_eq(harness_num(x, "rank"), w[i].rank, "%s %s rank %g",
		    id, w[i].id, harness_num(x, "rank"));
		cr_expect_eq(cJSON_IsTrue(harness_item(x, "tied")), w[i].tied,
		    "%s %s tied", id, w[i].id);
		cr_expect(fabs(harness_num(x, "value") - w[i].value) < 1e-6,
		    "%s %s value %g, want %g", id, w[i].id,
		    harness_num(x, "value"), w[i].value);
	}
	return c;
}

/* The entry of id in answer c's entries. */
static const cJSON *
entry_of(const cJSON *c, const char *key, const char *id)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, harness_item(c, "entries"))
		if (strcmp(harness_str(e, key), id) == 0)
			return e;
	cr_assert_fail("no entry %s", id);
	return NULL;
}

static int64_t
reached_ms(const cJSON *e)
{
	const char *s = harness_str(e, "reached_at");
	int64_t ms = 0;

	cr_assert(caltime_parse_rfc3339(s, strlen(s), &ms) == 0,
	    "reached_at \"%s\"", s);
	return ms;
}

/* The contest keys of id, dumped as one text (owned). */
static char *
contest_dump(const char *id)
{
	static const char *const parts[] = { "board", "days", "reached" };
	char *out = xstrdup("");

	for (size_t i = 0; i < 3; i++) {
		redisReply *r = harness_redis_cmd(i == 0 ?
		    "ZRANGE paced:{contest:%s}:%s 0 -1 WITHSCORES" :
		    "HGETALL paced:{contest:%s}:%s", id, parts[i]);
		char *next;

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
		for (size_t j = 0; j < r->elements; j++) {
			next = xasprintf("%s%s ", out, r->element[j]->str);
			free(out);
			out = next;
		}
		next = xasprintf("%s\n", out);
		free(out);
		out = next;
		freeReplyObject(r);
	}
	return out;
}

/* The keys of the three running contests, as one text (owned). */
static char *
contests_dump(void)
{
	char *a = contest_dump("race-calls"), *b = contest_dump("top-calls");
	char *c = contest_dump("team-score"), *all;

	all = xasprintf("%s%s%s", a, b, c);
	free(a);
	free(b);
	free(c);
	return all;
}

/* Result messages of contest id in the Redis alert stream. */
static size_t
stream_results(const char *id, cJSON **last)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - +");
	char want[96];
	size_t n = 0;

	snprintf(want, sizeof(want), "contest:%s:result", id);
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *f = r->element[i]->element[1];
		const char *aid = NULL, *status = NULL, *json = NULL;

		for (size_t k = 0; k + 1 < f->elements; k += 2) {
			if (strcmp(f->element[k]->str, "alert_id") == 0)
				aid = f->element[k + 1]->str;
			else if (strcmp(f->element[k]->str, "status") == 0)
				status = f->element[k + 1]->str;
			else if (strcmp(f->element[k]->str, "json") == 0)
				json = f->element[k + 1]->str;
		}
		if (aid == NULL || strcmp(aid, want) != 0)
			continue;
		cr_expect_str_eq(status, "contest_result");
		n++;
		if (last != NULL) {
			cJSON_Delete(*last);
			*last = cJSON_Parse(json);
		}
	}
	freeReplyObject(r);
	return n;
}

static bool
result_in_stream(void *arg)
{
	(void)arg;
	return stream_results("past-race", NULL) >= 1;
}

/* The result marker reads sent: both durable sinks took the result. */
static bool
result_marked_sent(void *arg)
{
	redisReply *r = harness_redis_cmd(
	    "HGET paced:{contest:past-race}:result state");
	bool sent;

	(void)arg;
	sent = r != NULL && r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, "sent") == 0;
	freeReplyObject(r);
	return sent;
}

/* Result messages on the alerts topic (header paced.status). */
static size_t
topic_results(void)
{
	struct harness_msgs m;
	size_t n = 0;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	for (size_t i = 0; i < m.n; i++) {
		const struct harness_header *h = harness_msg_header(&m.v[i],
		    "paced.status");

		if (h != NULL && h->value != NULL &&
		    strcmp(h->value, "contest_result") == 0) {
			n++;
			cr_expect(m.v[i].key != NULL &&
			    strcmp(m.v[i].key, "past-race") == 0,
			    "message key is the contest id");
		}
	}
	harness_msgs_free(&m);
	return n;
}

/* How often the webhook receiver printed text (its log). */
static size_t
count_in_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, text) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
check_bad_requests(void)
{
	static const struct {
		const char *path;
		int status;
	} bad[] = {
		{ "/v1/contests/nope", 404 },
		{ "/v1/contests/Race-Calls", 404 },
		{ "/v1/contests/race-calls/extra", 404 },
		{ "/v1/contests/", 404 },
		{ "/v1/contests/race-calls?limit=0", 400 },
		{ "/v1/contests/race-calls?limit=10001", 400 },
		{ "/v1/contests/race-calls?limit=ten", 400 },
		{ "/v1/contests/race-calls?limit=", 400 },
		{ "/v1/contests/race-calls?limit=1&limit=2", 400 },
		{ "/v1/contests/race-calls?period=day", 400 },
		{ "/v1/contests?state=running", 400 },
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
}

static void
check_list(void)
{
	static const struct {
		const char *id, *state;
	} want[] = {
		{ "race-calls", "running" }, { "top-calls", "running" },
		{ "team-score", "running" }, { "past-race", "ended" },
		{ "later", "upcoming" },
	};
	cJSON *l = harness_get_ok(http_port, "/v1/contests");
	const cJSON *list = harness_item(l, "contests");

	cr_assert_eq(cJSON_GetArraySize(list), 5);
	for (size_t i = 0; i < 5; i++) {
		const cJSON *c = cJSON_GetArrayItem(list, (int)i);

		cr_expect_str_eq(harness_str(c, "id"), want[i].id);
		cr_expect_str_eq(harness_str(c, "state"), want[i].state, "%s",
		    want[i].id);
	}
	cr_expect_str_eq(harness_str(cJSON_GetArrayItem(list, 0), "name"),
	    "Race to 30 calls");
	cr_expect_str_eq(harness_str(cJSON_GetArrayItem(list, 2), "metric"),
	    "activity_score");
	cr_expect_str_eq(harness_str(cJSON_GetArrayItem(list, 2), "members"),
	    "teams");
	cJSON_Delete(l);
}

Test(contests, race_highest_score_replay_and_result_once,
    .fini = harness_teardown, .timeout = 240)
{
	struct harness_paced p;
	char *phase1 = NULL, *phase2 = NULL, *past = NULL, *late = NULL;
	char d[6][16], *org, *before, *after, *hook_log, *addr;
	char *hook_argv[6];
	int seq = 0, hook_port;
	int64_t now_ms, settle_s, t0, t1, t2;
	pid_t hook;
	cJSON *c, *res = NULL;
	const cJSON *e;

	now_ms = caltime_wall_ms();
	today = now_ms / 86400000;
	harness_day_text(today - 2, d[0], sizeof(d[0])); /* running from */
	harness_day_text(today + 1, d[1], sizeof(d[1]));	/* running to */
	harness_day_text(today - 8, d[2], sizeof(d[2]));	/* past from */
	harness_day_text(today - 6, d[3], sizeof(d[3]));	/* past to */
	harness_day_text(today + 2, d[4], sizeof(d[4]));	/* later */
	harness_day_text(today + 3, d[5], sizeof(d[5]));
	/* past-race ended at the midnight starting T-5: due 40 s from now */
	settle_s = (now_ms - (today - 5) * 86400000) / 1000 + 40;

	cr_assert_eq(harness_setup("contests"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);

	hook_port = harness_free_port();
	hook_log = harness_path("webhook.log");
	addr = xasprintf("127.0.0.1:%d", hook_port);
	hook_argv[0] = xasprintf("%s/paced-webhook", harness_build_dir());
	hook_argv[1] = (char *)"--listen";
	hook_argv[2] = addr;
	hook_argv[3] = NULL;
	hook = harness_spawn(hook_argv, hook_log);
	cr_assert_gt(hook, 0);

	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: meetings, kind: leading, events: [meeting_held]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"09:00-17:00\"\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 10}, meetings: {day: 2}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC, manager: m-east}\n"
	    "  - {id: west, timezone: UTC, manager: m-west}\n"
	    "reps:\n"
	    "  - {id: a1, team: east, role: sdr}\n"
	    "  - {id: a2, team: east, role: sdr}\n"
	    "  - {id: a3, team: east, role: sdr}\n"
	    "  - {id: b1, team: west, role: sdr}\n"
	    "  - {id: b2, team: west, role: sdr}\n"
	    "  - {id: b3, team: west, role: sdr}\n"
	    "leaderboards:\n"
	    "  activity_score:\n"
	    "    cap: 150\n"
	    "    weights: {sdr: {calls: 0.5, meetings: 0.5}}\n"
	    "alerts:\n"
	    "  periods: [month]\n"
	    "  evaluate_every: 1h\n"
	    "  webhooks:\n"
	    "    - {url: \"http://%s/hook\", digest: false}\n"
	    "contests:\n"
	    "  - {id: race-calls, name: Race to 30 calls, metric: calls,\n"
	    "     kind: race, goal: 30, from: %s, to: %s,\n"
	    "     reps: [a1, a2, a3, b1, b3]}\n"
	    "  - {id: top-calls, metric: calls, kind: highest, from: %s,\n"
	    "     to: %s, reps: [a1, a2, b1, b2]}\n"
	    "  - {id: team-score, metric: activity_score, kind: highest,\n"
	    "     from: %s, to: %s, teams: [east, west]}\n"
	    "  - {id: past-race, name: Past race, metric: calls, kind: race,\n"
	    "     goal: 10, from: %s, to: %s, reps: [a1, a2],\n"
	    "     settle: %llds}\n"
	    "  - {id: later, metric: calls, kind: highest, from: %s, to: %s,\n"
	    "     reps: [a1]}\n", addr, d[0], d[1], d[0], d[1], d[0], d[1],
	    d[2], d[3], (long long)settle_s, d[4], d[5]);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);

	phase1 = add_event(phase1, "a1", "call", today - 2, 20, &seq);
	phase1 = add_event(phase1, "a1", "call", today - 1, 12, &seq);
	phase1 = add_event(phase1, "a1", "meeting_held", today - 1, 1, &seq);
	phase1 = add_event(phase1, "a2", "call", today - 2, 15, &seq);
	phase1 = add_event(phase1, "a3", "call", today - 5, 50, &seq);
	phase1 = add_event(phase1, "a3", "meeting_held", today - 1, 3, &seq);
	phase1 = add_event(phase1, "b1", "call", today - 1, 29, &seq);
	phase1 = add_event(phase1, "b2", "call", today - 1, 31, &seq);
	phase1 = add_event(phase1, "b2", "meeting_held", today - 2, 1, &seq);
	past = add_event(past, "a1", "call", today - 7, 12, &seq);
	past = add_event(past, "a2", "call", today - 6, 5, &seq);
	phase2 = add_event(phase2, "a2", "call", today - 1, 16, &seq);
	late = add_event(late, "a2", "call", today - 6, 20, &seq);
	cr_assert_eq(harness_gen_write("phase1.tsv", phase1), 0);
	cr_assert_eq(harness_gen_write("phase2.tsv", phase2), 0);
	cr_assert_eq(harness_gen_write("past.tsv", past), 0);
	cr_assert_eq(harness_gen_write("late.tsv", late), 0);
	free(phase1);
	free(phase2);
	free(past);
	free(late);

	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	http_port = p.http_port;

	t0 = caltime_wall_ms();
	cr_assert_eq(harness_produce_file("past.tsv", 0), 0);
	cr_assert_eq(harness_produce_file("phase1.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	t1 = caltime_wall_ms();
	cr_assert_eq(harness_produce_file("phase2.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	t2 = caltime_wall_ms();

	check_list();
	/* race: finishers first by time, then totals; a3's T-5 calls are
	 * outside the window; b3 has nothing and still shows, at 0 */
	c = check_contest("race-calls", "rep_id", (struct want[]){
	    { "a1", 1, false, 32 }, { "a2", 2, false, 31 },
	    { "b1", 3, false, 29 }, { "a3", 4, true, 0 },
	    { "b3", 4, true, 0 } }, 5);
	e = entry_of(c, "rep_id", "a1");
	cr_expect(cJSON_IsTrue(harness_item(e, "reached")));
	/* reached_at is to the second */
	cr_expect(reached_ms(e) >= t0 / 1000 * 1000 && reached_ms(e) <= t1,
	    "a1 reached at %s, between the starts of phase 1 and 2",
	    harness_str(e, "reached_at"));
	e = entry_of(c, "rep_id", "a2");
	cr_expect(cJSON_IsTrue(harness_item(e, "reached")));
	cr_expect(reached_ms(e) >= t1 / 1000 * 1000 && reached_ms(e) <= t2,
	    "a2 reached at %s, in phase 2", harness_str(e, "reached_at"));
	e = entry_of(c, "rep_id", "b1");
	cr_expect(!cJSON_IsTrue(harness_item(e, "reached")));
	cr_expect(cJSON_IsNull(harness_item(e, "reached_at")));
	cr_expect_str_eq(harness_str(c, "state"), "running");
	cr_expect(cJSON_IsNull(harness_item(c, "result")));
	cr_expect_str_eq(harness_str(entry_of(c, "rep_id", "b1"), "team_id"),
	    "west");
	cJSON_Delete(c);
	cJSON_Delete(check_contest("top-calls", "rep_id", (struct want[]){
	    { "a1", 1, false, 32 }, { "a2", 2, true, 31 },
	    { "b2", 2, true, 31 }, { "b1", 4, false, 29 } }, 4));
	cJSON_Delete(check_contest("team-score", "team_id", (struct want[]){
	    { "east", 1, false, 385 }, { "west", 2, false, 175 } }, 2));
	c = harness_get_ok(http_port, "/v1/contests/race-calls?limit=2");
	cr_expect_eq(cJSON_GetArraySize(harness_item(c, "entries")), 2);
	cr_expect_eq(harness_num(c, "size"), 5);
	cJSON_Delete(c);
	/* the stored day values: absolute, per rep and day */
	{
		redisReply *r = harness_redis_cmd(
		    "HGET paced:{contest:race-calls}:days a1|%s", d[0]);

		cr_expect(r != NULL && r->type == REDIS_REPLY_STRING &&
		    strcmp(r->str, "20") == 0, "a1's calls on T-2");
		freeReplyObject(r);
	}
	check_bad_requests();

	/* A replay: every event a duplicate, every contest key as it was. */
	before = contests_dump();
	cr_assert_eq(harness_produce_file("phase1.tsv", 0), 0);
	cr_assert_eq(harness_produce_file("phase2.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	after = contests_dump();
	cr_expect_str_eq(after, before, "a replay changed a contest");
	cr_expect(strstr(before, "a1") != NULL, "nothing to compare");
	free(before);
	free(after);

	/* past-race: its result once, on the stream, the topic and the
	 * webhook. */
	cr_assert_eq(harness_wait_until(result_in_stream, NULL, 90000,
	    "the result of past-race on the stream"), 0);
	cr_assert_eq(stream_results("past-race", &res), 1);
	cr_assert_not_null(res);
	cr_expect_str_eq(harness_str(res, "type"), "contest_result");
	cr_expect_eq(harness_num(res, "version"), 1);
	cr_expect_str_eq(harness_str(res, "result_id"),
	    "contest:past-race:result");
	cr_expect_eq(harness_num(res, "size"), 2);
	cr_expect_eq(cJSON_GetArraySize(harness_item(res, "standings")), 2);
	cr_expect_eq(cJSON_GetArraySize(harness_item(res, "winners")), 1);
	cr_expect_str_eq(cJSON_GetArrayItem(harness_item(res, "winners"),
	    0)->valuestring, "a1");
	e = cJSON_GetArrayItem(harness_item(res, "standings"), 1);
	cr_expect_str_eq(harness_str(e, "rep_id"), "a2");
	cr_expect_eq(harness_num(e, "value"), 5);
	cr_expect_eq(harness_num(e, "rank"), 2);
	cJSON_Delete(res);
	res = NULL;
	cr_assert_eq(harness_wait_until(result_marked_sent, NULL, 30000,
	    "the result marker of past-race to read sent"), 0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_contest_results_total{outcome=\"sent\"}"), 1);
	c = harness_get_ok(http_port, "/v1/contests/past-race");
	cr_expect_str_eq(harness_str(c, "state"), "ended");
	cr_expect_str_eq(harness_str(c, "result"), "sent");
	cJSON_Delete(c);
	{
		bool seen = false;

		for (int i = 0; i < 100 && !seen; i++) {
			seen = count_in_file(hook_log,
			    "Contest \"Past race\" ended") >= 1;
			if (!seen)
				nanosleep(&(struct timespec){ 0, 100000000 },
				    NULL);
		}
		cr_expect(seen, "the webhook got no result; see %s", hook_log);
	}

	/* A restart: the marker says sent; nothing goes out again, and the
	 * board of the ended contest no longer moves. */
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 30000, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce_file("late.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	/* two closing looks (every 5 s) */
	nanosleep(&(struct timespec){ 11, 0 }, NULL);
	cr_expect_eq(stream_results("past-race", NULL), 1,
	    "the result went to the stream again after a restart");
	cr_expect_eq(topic_results(), 1, "results on the alerts topic");
	cr_expect_eq(count_in_file(hook_log, "Contest \"Past race\" ended"), 1,
	    "results at the webhook");
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_contest_results_total{outcome=\"sent\"}"), 0);
	cJSON_Delete(check_contest("past-race", "rep_id", (struct want[]){
	    { "a1", 1, false, 12 }, { "a2", 2, false, 5 } }, 2));
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	harness_kill(hook, SIGTERM);
	free(addr);
	free(hook_log);
	free(hook_argv[0]);
}
