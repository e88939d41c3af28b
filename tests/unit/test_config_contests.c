/*
 * The contests block of the config: what a valid list loads into (days,
 * instants in the contest's zone, members and the reps that count for
 * them), and every error with its file:line:column.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contest.h"

#define FILE_NAME	"tests/fixtures/config/buffer.yaml"

#define HEAD \
	"kpis:\n" \
	"  - {name: calls, kind: leading, events: [call]}\n" \
	"  - {name: demos, kind: leading, events: [demo]}\n" \
	"  - {name: churn, kind: lagging, events: [churn], better: lower}\n" \
	"roles:\n" \
	"  sdr: {targets: {calls: {day: 50}, demos: {day: 4}}}\n" \
	"  ae: {targets: {demos: {day: 2}}}\n" \
	"teams:\n" \
	"  - {id: east, timezone: America/New_York}\n" \
	"  - {id: west, timezone: America/Los_Angeles}\n" \
	"reps:\n" \
	"  - {id: r1, team: east, role: sdr}\n" \
	"  - {id: r2, team: west, role: sdr}\n" \
	"  - {id: r3, team: west, role: ae}\n" \
	"  - {id: r4, team: east, role: sdr}\n"

#define WEIGHTS \
	"leaderboards:\n" \
	"  activity_score: {weights: {sdr: {calls: 0.5, demos: 0.5}}}\n"
#define WEIGHTS_AE \
	"leaderboards:\n" \
	"  activity_score: {weights: {sdr: {calls: 0.5, demos: 0.5},\n" \
	"    ae: {demos: 1}}}\n"

static struct config *
load(const char *text, char **errs)
{
	*errs = NULL;
	return config_load_buffer(FILE_NAME, text, strlen(text), errs);
}

/* The errors of text, which must not load; owned. */
static char *
bad(const char *text)
{
	char		*errs;
	struct config	*c = load(text, &errs);

	cr_assert_null(c, "loaded but must not:\n%s", text);
	cr_assert_not_null(errs);
	return errs;
}

static void
has_line(const char *errs, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = errs;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == errs || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	cr_assert_fail("missing line:\n%s\nin:\n%s", line, errs);
}

Test(config_contests, race_and_highest_load)
{
	char		*errs;
	struct config	*c = load(HEAD WEIGHTS_AE
	    "contests:\n"
	    "  - id: dec-calls\n"
	    "    name: December call blitz\n"
	    "    metric: calls\n"
	    "    kind: race\n"
	    "    goal: 100\n"
	    "    from: 2026-12-01\n"
	    "    to: 2026-12-05\n"
	    "    reps: [r4, r1, r2]\n"
	    "  - {id: teams_score, metric: activity_score, kind: highest,\n"
	    "     from: 2026-12-07, to: 2026-12-07, timezone: UTC,\n"
	    "     teams: [west, east], settle: 0s}\n", &errs);
	const struct config_contest *a, *b;

	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->ncontests, 2);
	a = &c->contests[0];
	b = &c->contests[1];
	cr_assert_str_eq(a->id, "dec-calls");
	cr_assert_str_eq(a->name, "December call blitz");
	cr_assert_eq(a->kpi, 0);
	cr_assert_eq(a->kind, CONTEST_RACE);
	cr_assert_eq(a->goal, 100);
	/* 2026-12-01 is day 20788 since 1970-01-01 */
	cr_assert_eq(a->first_day, 20788);
	cr_assert_eq(a->last_day, 20792);
	/* the first member's team zone: New York, UTC-5 in December */
	cr_assert_str_eq(a->timezone, "America/New_York");
	cr_assert_eq(a->starts_ms, (20788LL * 86400 + 5 * 3600) * 1000);
	cr_assert_eq(a->ends_ms, (20793LL * 86400 + 5 * 3600) * 1000);
	cr_assert_eq(a->settle_ms, 15 * 60 * 1000);
	cr_assert(!a->teams);
	cr_assert_eq(a->nmembers, 3);
	cr_assert_eq(a->members[0], 3);
	cr_assert_eq(a->members[1], 0);
	cr_assert_eq(a->members[2], 1);
	/* reps count for themselves; r3 takes no part */
	cr_assert_eq(contest_member_of_rep(a, 0), 1);
	cr_assert_eq(contest_member_of_rep(a, 1), 2);
	cr_assert_eq(contest_member_of_rep(a, 2), -1);
	cr_assert_eq(contest_member_of_rep(a, 3), 0);
	cr_assert_str_eq(contest_member_id(c, a, 0), "r4");

	cr_assert_str_eq(b->name, "teams_score");
	cr_assert_eq(b->kpi, -1);
	cr_assert_eq(b->kind, CONTEST_HIGHEST);
	cr_assert_eq(b->goal, 0);
	cr_assert(b->teams);
	cr_assert_str_eq(b->timezone, "UTC");
	cr_assert_eq(b->starts_ms, 20794LL * 86400 * 1000);
	cr_assert_eq(b->ends_ms, 20795LL * 86400 * 1000);
	cr_assert_eq(b->settle_ms, 0);
	/* each rep counts for its team: west is member 0, east 1 */
	cr_assert_eq(contest_member_of_rep(b, 0), 1);
	cr_assert_eq(contest_member_of_rep(b, 1), 0);
	cr_assert_eq(contest_member_of_rep(b, 2), 0);
	cr_assert_eq(contest_member_of_rep(b, 3), 1);
	cr_assert_str_eq(contest_member_id(c, b, 0), "west");

	cr_assert_eq(contest_state_at(a, a->starts_ms - 1), CONTEST_UPCOMING);
	cr_assert_eq(contest_state_at(a, a->starts_ms), CONTEST_RUNNING);
	cr_assert_eq(contest_state_at(a, a->ends_ms - 1), CONTEST_RUNNING);
	cr_assert_eq(contest_state_at(a, a->ends_ms), CONTEST_ENDED);
	cr_assert(!contest_due(a, a->ends_ms + a->settle_ms - 1));
	cr_assert(contest_due(a, a->ends_ms + a->settle_ms));
	cr_assert_eq(contest_find(c, "teams_score"), b);
	cr_assert_null(contest_find(c, "nope"));
	config_free(c);
}

Test(config_contests, none_and_null)
{
	char		*errs;
	struct config	*c = load(HEAD "contests:\n", &errs);

	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->ncontests, 0);
	config_free(c);
	c = load(HEAD, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->ncontests, 0);
	config_free(c);
}

Test(config_contests, errors_name_file_line_and_key)
{
	char *errs = bad(HEAD
	    "contests:\n"						/* 16 */
	    "  - id: Bad Id\n"
	    "    metric: callz\n"
	    "    kind: sprint\n"
	    "    from: 2026-12-05\n"					/* 20 */
	    "    to: 2026-12-01\n"
	    "    reps: [r1, r9, r1]\n"
	    "  - id: two\n"
	    "    metric: churn\n"
	    "    kind: race\n"						/* 25 */
	    "    from: 2026-13-01\n"
	    "    to: 2027-12-31\n"
	    "    teams: [east]\n"
	    "    reps: [r1]\n"
	    "  - {id: three, metric: calls, kind: highest, goal: 5,\n"	/* 30 */
	    "     from: 2026-01-01, to: 2027-01-02, teams: [north],\n"
	    "     timezone: Mars/Olympus, settle: 8d, colour: red}\n"
	    "  - {id: four, metric: activity_score, kind: race, goal: -1,\n"
	    "     from: 2026-01-01, to: 2026-01-01, teams: []}\n"
	    "  - {id: two, metric: calls, kind: race, from: 2026-01-01,\n" /* 35 */
	    "     to: 2026-01-02, reps: [r1]}\n");

	has_line(errs, FILE_NAME ":17:9: contests[0].id: invalid contest id "
	    "\"Bad Id\" (1 to 64 of a-z 0-9 _ -)");
	has_line(errs, FILE_NAME ":18:13: contests[0].metric: unknown KPI "
	    "\"callz\" (did you mean \"calls\"?)");
	has_line(errs, FILE_NAME ":21:9: contests[0].to: a contest ends on or "
	    "after the day it starts (from)");
	has_line(errs, FILE_NAME ":22:16: contests[0].reps[1]: unknown rep "
	    "\"r9\" (did you mean \"r1\"?)");
	has_line(errs, FILE_NAME ":22:20: contests[0].reps[2]: rep \"r1\" is "
	    "listed twice");
	has_line(errs, FILE_NAME ":24:13: contests[1].metric: KPI \"churn\" is "
	    "better lower; a contest ranks the highest totals first");
	has_line(errs, FILE_NAME ":23:5: contests[1].goal: required key is "
	    "missing (a race is won by the first to reach its goal)");
	has_line(errs, FILE_NAME ":26:11: contests[1].from: invalid date "
	    "\"2026-13-01\" (use YYYY-MM-DD)");
	has_line(errs, FILE_NAME ":23:5: contests[1]: a contest lists either "
	    "reps (each rep for itself) or teams (team against team), not both");
	has_line(errs, FILE_NAME ":30:53: contests[2].goal: a highest contest "
	    "has no goal (the highest total at the end wins)");
	has_line(errs, FILE_NAME ":31:28: contests[2].to: a contest lasts at "
	    "most 366 days");
	has_line(errs, FILE_NAME ":31:48: contests[2].teams[0]: unknown team "
	    "\"north\" (valid: east, west)");
	has_line(errs, FILE_NAME ":33:58: contests[3].goal: goal \"-1\" must be "
	    "a number > 0 and <= 1e15");
	has_line(errs, FILE_NAME ":33:24: contests[3].metric: a contest on "
	    "the activity score needs leaderboards.activity_score.weights");
	has_line(errs, FILE_NAME ":34:47: contests[3].teams: a contest needs "
	    "at least one member");
	has_line(errs, FILE_NAME ":19:11: contests[0].kind: invalid value "
	    "\"sprint\" (use race, highest)");
	has_line(errs, FILE_NAME ":32:38: contests[2].settle: 8d is above the "
	    "maximum 7d");
	has_line(errs, FILE_NAME ":32:42: contests[2].colour: unknown key "
	    "(valid: id, name, metric, kind, goal, from, to, timezone, reps, "
	    "teams, settle)");
	has_line(errs, FILE_NAME ":35:5: contests[4].id: duplicate contest id "
	    "\"two\" (first at 23:5)");
	free(errs);
}

Test(config_contests, score_contest_needs_weights_for_every_role)
{
	char *errs = bad(HEAD WEIGHTS
	    "contests:\n"
	    "  - {id: s, metric: activity_score, kind: highest,\n"
	    "     from: 2026-12-01, to: 2026-12-02, reps: [r1, r3]}\n");

	has_line(errs, FILE_NAME ":19:21: contests[0].metric: rep \"r3\" has "
	    "no activity score: role \"ae\" has no weights in "
	    "leaderboards.activity_score.weights");
	free(errs);
}

/* Ranking: a race's finishers first by time, then totals; ties share. */
Test(config_contests, standings_rank_finishers_then_totals)
{
	char		*errs;
	struct config	*c = load(HEAD
	    "contests:\n"
	    "  - {id: r, metric: calls, kind: race, goal: 10, from: 2026-12-01,\n"
	    "     to: 2026-12-02, reps: [r1, r2, r3, r4]}\n"
	    "  - {id: h, metric: calls, kind: highest, from: 2026-12-01,\n"
	    "     to: 2026-12-02, reps: [r1, r2, r3, r4]}\n", &errs);
	struct contest_line v[4] = {
		{ .member = 0, .value = 12, .reached = true, .reached_ms = 2000 },
		{ .member = 1, .value = 7 },
		{ .member = 2, .value = 10, .reached = true, .reached_ms = 1000 },
		{ .member = 3, .value = 7 },
	}, w[4];

	cr_assert_not_null(c, "%s", errs);
	memcpy(w, v, sizeof(v));
	contest_rank(c, &c->contests[0], v, 4);
	cr_assert_eq(v[0].member, 2);	/* r3 reached 10 first */
	cr_assert_eq(v[0].rank, 1);
	cr_assert_eq(v[1].member, 0);	/* r1 next, with more calls */
	cr_assert_eq(v[1].rank, 2);
	cr_assert_eq(v[2].member, 1);	/* r2 and r4 tie at 7 */
	cr_assert_eq(v[2].rank, 3);
	cr_assert(v[2].tied);
	cr_assert_eq(v[3].member, 3);
	cr_assert_eq(v[3].rank, 3);
	cr_assert(!v[0].tied && !v[1].tied);

	contest_rank(c, &c->contests[1], w, 4);
	cr_assert_eq(w[0].member, 0);	/* highest: 12, 10, 7, 7 */
	cr_assert_eq(w[1].member, 2);
	cr_assert_eq(w[2].rank, 3);
	cr_assert_eq(w[3].rank, 3);
	config_free(c);
}

/* The result message: versioned, the same bytes for the same standings,
 * winners only for a real win. */
Test(config_contests, result_message)
{
	char		*errs, *json, *hook, *text, *json2, *hook2, *text2;
	struct config	*c = load(HEAD
	    "contests:\n"
	    "  - {id: h, name: Top callers, metric: calls, kind: highest,\n"
	    "     from: 2026-12-01, to: 2026-12-02, timezone: UTC,\n"
	    "     reps: [r1, r2]}\n"
	    "  - {id: r, metric: calls, kind: race, goal: 10,\n"
	    "     from: 2026-12-01, to: 2026-12-02, reps: [r1, r2]}\n", &errs);
	struct contest_line v[2] = {
		{ .member = 0, .value = 4 }, { .member = 1, .value = 9 },
	};
	cJSON *o;

	cr_assert_not_null(c, "%s", errs);
	contest_rank(c, &c->contests[0], v, 2);
	contest_result(c, &c->contests[0], v, 2, &json, &hook, &text);
	o = cJSON_Parse(json);
	cr_assert_not_null(o);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "type")->valuestring,
	    "contest_result");
	cr_expect_eq(cJSON_GetObjectItem(o, "version")->valuedouble, 1);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "ends_at")->valuestring,
	    "2026-12-03T00:00:00+00:00");
	cr_expect_null(cJSON_GetObjectItem(o, "state"));
	cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "winners"),
	    0)->valuestring, "r2");
	cr_expect_str_eq(text, "Contest \"Top callers\" ended: r2 won with 9 "
	    "calls.");
	cr_expect(strstr(hook, "\"contest_result\":{\"type\"") != NULL, "%s",
	    hook);
	cJSON_Delete(o);
	contest_result(c, &c->contests[0], v, 2, &json2, &hook2, &text2);
	cr_expect_str_eq(json2, json, "the same standings, other bytes");
	free(json);
	free(hook);
	free(text);
	free(json2);
	free(hook2);
	free(text2);

	/* nobody reached the race's goal: no winner */
	contest_rank(c, &c->contests[1], v, 2);
	contest_result(c, &c->contests[1], v, 2, &json, &hook, &text);
	cr_expect(strstr(json, "\"winners\":[]") != NULL, "%s", json);
	cr_expect_str_eq(text, "Contest \"r\" ended without a winner: nobody "
	    "reached 10 calls.");
	free(json);
	free(hook);
	free(text);
	config_free(c);
}
