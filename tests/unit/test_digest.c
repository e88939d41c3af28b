/*
 * The scheduled digests' rules on a fixed clock (hand-checked timelines
 * in America/New_York, 09:00-17:00 Mon-Fri, Thanksgiving 2026-11-26 a
 * holiday) and the message format.
 */
#include "digest.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct tzone *ny;
static const int32_t holidays[] = { 20783 };	/* 2026-11-26 */
static const struct pacing_calendar cal = {
	.working_days = 0x1f,
	.work_start_min = 540,
	.work_end_min = 1020,
	.holidays = holidays,
	.nholidays = 1,
};
static struct config_alerts al;

static int64_t
at(int month, int day_of_month, int hour, int minute)
{
	int32_t day = caltime_days_from_civil(2026, (unsigned)month,
	    (unsigned)day_of_month);

	return tzone_local_to_utc(ny, day, hour * 60 + minute);
}

static void
setup(void)
{
	char err[128];

	ny = tzone_open("America/New_York", err, sizeof(err));
	cr_assert_not_null(ny, "%s", err);
	memset(&al, 0, sizeof(al));
	al.digest_morning = true;
	al.digest_morning_min = 8 * 60 + 30;	/* 08:30 */
	al.digest_weekly = true;
	al.digest_weekly_dow = 4;		/* fri */
	al.digest_weekly_min = 16 * 60;		/* 16:00 */
}

static void
teardown(void)
{
	tzone_free(ny);
}

TestSuite(digest, .init = setup, .fini = teardown);

static bool
due(enum digest_kind k, int64_t now, int32_t *day)
{
	return digest_due(&al, k, &cal, ny, now, day);
}

/*
 * Morning, 08:30 New York:
 *   Tue 24 Nov 08:29  not yet
 *   Tue 24 Nov 08:30  due, for the 24th (13:30 UTC: EST, UTC-5)
 *   Tue 24 Nov 16:59  still due (a start at noon sends it)
 *   Tue 24 Nov 17:00  over: the working day ended
 *   Thu 26 Nov 09:00  a holiday: none
 *   Sat 28 Nov 09:00  a weekend: none
 *   Mon 2 Nov 08:30   due, the day after DST ended (13:30 UTC again;
 *                     on Fri 30 Oct, EDT, it is 12:30 UTC)
 */
Test(digest, morning_timeline)
{
	int32_t day = 0;

	cr_assert_not(due(DIGEST_MORNING, at(11, 24, 8, 29), &day));
	cr_assert(due(DIGEST_MORNING, at(11, 24, 8, 30), &day));
	cr_assert_eq(day, caltime_days_from_civil(2026, 11, 24));
	cr_assert_eq(at(11, 24, 8, 30) % 86400000, (13 * 60 + 30) * 60000LL);
	cr_assert(due(DIGEST_MORNING, at(11, 24, 16, 59), &day));
	cr_assert_not(due(DIGEST_MORNING, at(11, 24, 17, 0), &day));
	cr_assert_not(due(DIGEST_MORNING, at(11, 26, 9, 0), &day));
	cr_assert_not(due(DIGEST_MORNING, at(11, 28, 9, 0), &day));
	cr_assert(due(DIGEST_MORNING, at(11, 2, 8, 30), &day));
	cr_assert_eq(at(11, 2, 8, 30) % 86400000, (13 * 60 + 30) * 60000LL);
	cr_assert(due(DIGEST_MORNING, at(10, 30, 8, 30), &day));
	cr_assert_eq(at(10, 30, 8, 30) % 86400000, (12 * 60 + 30) * 60000LL);
	cr_assert_not(due(DIGEST_MORNING, at(10, 30, 8, 29), &day));
	al.digest_morning = false;
	cr_assert_not(due(DIGEST_MORNING, at(11, 24, 9, 0), &day));
}

/* A morning time after the hours (18:00) is due for an hour. */
Test(digest, morning_after_hours)
{
	int32_t day;

	al.digest_morning_min = 18 * 60;
	cr_assert_not(due(DIGEST_MORNING, at(11, 24, 17, 59), &day));
	cr_assert(due(DIGEST_MORNING, at(11, 24, 18, 0), &day));
	cr_assert(due(DIGEST_MORNING, at(11, 24, 18, 59), &day));
	cr_assert_not(due(DIGEST_MORNING, at(11, 24, 19, 0), &day));
}

/*
 * Weekly, fri 16:00 New York:
 *   Fri 27 Nov 15:59  not yet
 *   Fri 27 Nov 16:00  due, for the 27th
 *   Fri 27 Nov 23:59  still due
 *   Sat 28 Nov 00:00  over
 *   Thu 26 Nov 16:00  not the weekday
 */
Test(digest, weekly_timeline)
{
	int32_t day = 0;

	cr_assert_not(due(DIGEST_WEEKLY, at(11, 27, 15, 59), &day));
	cr_assert(due(DIGEST_WEEKLY, at(11, 27, 16, 0), &day));
	cr_assert_eq(day, caltime_days_from_civil(2026, 11, 27));
	cr_assert(due(DIGEST_WEEKLY, at(11, 27, 23, 59), &day));
	cr_assert_not(due(DIGEST_WEEKLY, at(11, 28, 0, 0), &day));
	cr_assert_not(due(DIGEST_WEEKLY, at(11, 26, 16, 0), &day));
}

/* Mon 30 Nov looks back to Fri 27; Fri 27 to Wed 25 (Thanksgiving). */
Test(digest, previous_working_day)
{
	cr_assert_eq(digest_prev_working_day(&cal,
	    caltime_days_from_civil(2026, 11, 30)),
	    caltime_days_from_civil(2026, 11, 27));
	cr_assert_eq(digest_prev_working_day(&cal,
	    caltime_days_from_civil(2026, 11, 27)),
	    caltime_days_from_civil(2026, 11, 25));
}

Test(digest, figures_parse)
{
	const char *ok = "{\"actual\":12,\"target\":50,\"expected_to_date\":25,"
	    "\"pace\":0.48,\"projected\":24,\"status\":\"critical\"}";
	const char *nopace = "{\"actual\":0,\"target\":50,"
	    "\"expected_to_date\":0,\"status\":\"not_started\"}";
	struct digest_line l;

	memset(&l, 0, sizeof(l));
	cr_assert_eq(digest_parse_figures(ok, strlen(ok), &l), 0);
	cr_assert_float_eq(l.actual, 12, 1e-9);
	cr_assert_float_eq(l.target, 50, 1e-9);
	cr_assert(l.has_pace);
	cr_assert_float_eq(l.pace, 0.48, 1e-9);
	cr_assert_str_eq(l.status, "critical");
	cr_assert_eq(digest_parse_figures(nopace, strlen(nopace), &l), 0);
	cr_assert_not(l.has_pace);
	cr_assert_eq(digest_parse_figures("{\"actual\":1}", 12, &l), -1);
	cr_assert_eq(digest_parse_figures("{\"actual\":1,\"target\":2,"
	    "\"status\":\"weird\"}", 38, &l), -1);
	cr_assert_eq(digest_parse_figures("nope", 4, &l), -1);
}

Test(digest, morning_message)
{
	struct digest_line behind[] = {
		{ .rep_id = "r001", .kpi = "calls", .period = PERIOD_WEEK,
		  .start_day = caltime_days_from_civil(2026, 11, 23),
		  .actual = 40, .target = 250, .expected = 75, .has_pace = true,
		  .pace = 0.53, .status = "behind" },
	};
	struct digest_news news[] = {
		{ "recovered", "r002", "calls", "day", -1, 45, 50 },
		{ "target_met", "r003", "calls", "day",
		  caltime_days_from_civil(2026, 11, 23), 52, 50 },
	};
	char *body = digest_body(DIGEST_MORNING, "m-east",
	    caltime_days_from_civil(2026, 11, 24), behind, 1, NULL, 0, news, 2, NULL);
	cJSON *o = cJSON_Parse(body), *b, *n;
	const char *text;

	cr_assert_not_null(o, "%s", body);
	cr_assert_eq(cJSON_GetObjectItem(o, "version")->valueint, 1);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "kind")->valuestring, "morning");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "manager_id")->valuestring,
	    "m-east");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "date")->valuestring,
	    "2026-11-24");
	text = cJSON_GetObjectItem(o, "text")->valuestring;
	cr_assert_str_eq(text, "*paced: morning summary for m-east, 2026-11-24* "
	    "(1 behind)\n"
	    "\xe2\x80\xa2 r001 is behind on calls this week: 40 of 250 "
	    "(pace 0.53, 16% of target)\n"
	    "\xe2\x80\xa2 Good news: r002 recovered from critical on calls "
	    "(day): 45 of 50\n"
	    "\xe2\x80\xa2 Good news: r003 met the day target of calls: 52 of 50");
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "behind"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(b, "period_start")->valuestring,
	    "2026-11-23");
	cr_assert_float_eq(cJSON_GetObjectItem(b, "remaining")->valuedouble,
	    210, 1e-9);
	n = cJSON_GetObjectItem(o, "news");
	cr_assert_eq(cJSON_GetArraySize(n), 2);
	cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(n, 0),
	    "period_start"));
	cr_assert_null(cJSON_GetObjectItem(o, "scorecard"));
	cJSON_Delete(o);
	free(body);
}

Test(digest, weekly_message_and_no_one_behind)
{
	struct digest_line card[] = {
		{ .rep_id = "r001", .kpi = "calls", .period = PERIOD_WEEK,
		  .start_day = caltime_days_from_civil(2026, 11, 23),
		  .actual = 240, .target = 250, .status = "on_pace" },
	};
	char *body = digest_body(DIGEST_WEEKLY, "m-east",
	    caltime_days_from_civil(2026, 11, 27), NULL, 0, card, 1, NULL, 0, NULL);
	cJSON *o = cJSON_Parse(body), *c;

	cr_assert_str_eq(cJSON_GetObjectItem(o, "text")->valuestring,
	    "*paced: week scorecard for m-east, 2026-11-27*\n"
	    "\xe2\x80\xa2 r001: calls 240 of 250 (96%), on_pace");
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "scorecard"), 0);
	cr_assert_float_eq(cJSON_GetObjectItem(c, "percent")->valuedouble, 96,
	    1e-9);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "news")), 0);
	cJSON_Delete(o);
	free(body);
	body = digest_body(DIGEST_MORNING, "m-x", 20000, NULL, 0, NULL, 0, NULL,
	    0, NULL);
	cr_assert(strstr(body, "No one is behind.") != NULL, "%s", body);
	free(body);
}

Test(digest, morning_message_with_coaching)
{
	struct digest_coaching items[] = {
		{ "r003", "east", "calls", "meetings", 0.05, 0.125, 200, 3 },
		{ "r004", "east", "meetings", "deals", 0.2, 0.4, 30, 2 },
	};
	struct digest_coaching_list coach = { items, 2 };
	struct digest_coaching_list none = { NULL, 0 };
	char *body = digest_body(DIGEST_MORNING, "m-east",
	    caltime_days_from_civil(2026, 11, 24), NULL, 0, NULL, 0, NULL, 0,
	    &coach);
	cJSON *o = cJSON_Parse(body), *arr, *c;

	cr_assert_not_null(o, "%s", body);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "text")->valuestring,
	    "*paced: morning summary for m-east, 2026-11-24* (0 behind)\n"
	    "\xe2\x80\xa2 No one is behind.\n"
	    "\xe2\x80\xa2 Worth a coaching talk: r003 turns calls into "
	    "meetings at 5% against the team's 12.5% (below for 3 mornings) "
	    "and r004 turns meetings into deals at 20% against the team's 40% "
	    "(below for 2 mornings).");
	arr = cJSON_GetObjectItem(o, "coaching");
	cr_assert_eq(cJSON_GetArraySize(arr), 2);
	c = cJSON_GetArrayItem(arr, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(c, "rep_id")->valuestring, "r003");
	cr_assert_str_eq(cJSON_GetObjectItem(c, "team_id")->valuestring, "east");
	cr_assert_str_eq(cJSON_GetObjectItem(c, "from_kpi")->valuestring,
	    "calls");
	cr_assert_str_eq(cJSON_GetObjectItem(c, "to_kpi")->valuestring,
	    "meetings");
	cr_assert_float_eq(cJSON_GetObjectItem(c, "rate")->valuedouble, 0.05,
	    1e-12);
	cr_assert_float_eq(cJSON_GetObjectItem(c, "team_rate")->valuedouble,
	    0.125, 1e-12);
	cr_assert_float_eq(cJSON_GetObjectItem(c, "volume")->valuedouble, 200,
	    1e-12);
	cr_assert_eq(cJSON_GetObjectItem(c, "days_below")->valueint, 3);
	cr_assert_eq(cJSON_GetObjectItem(o, "version")->valueint, 1);
	cJSON_Delete(o);
	free(body);

	/* On with no one listed: an empty list and no sentence. */
	body = digest_body(DIGEST_MORNING, "m-east", 20000, NULL, 0, NULL, 0,
	    NULL, 0, &none);
	o = cJSON_Parse(body);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "coaching")), 0);
	cr_assert_null(strstr(body, "coaching talk"), "%s", body);
	cJSON_Delete(o);
	free(body);

	/* Off: no field. */
	body = digest_body(DIGEST_MORNING, "m-east", 20000, NULL, 0, NULL, 0,
	    NULL, 0, NULL);
	cr_assert_null(strstr(body, "\"coaching\""), "%s", body);
	free(body);
}

Test(digest, coaching_sentence_names_three)
{
	struct digest_coaching items[] = {
		{ "a", "t", "calls", "meetings", 0.1, 0.3, 100, 2 },
		{ "b", "t", "calls", "meetings", 0.1, 0.3, 100, 2 },
		{ "c", "t", "calls", "meetings", 0.1, 0.3, 100, 2 },
		{ "d", "t", "calls", "meetings", 0.1, 0.3, 100, 2 },
		{ "e", "t", "calls", "meetings", 0.1, 0.3, 100, 2 },
	};
	struct digest_coaching_list coach = { items, 5 };
	char *body = digest_body(DIGEST_MORNING, "m", 20000, NULL, 0, NULL, 0,
	    NULL, 0, &coach);
	cJSON *o = cJSON_Parse(body);
	const char *text = cJSON_GetObjectItem(o, "text")->valuestring;

	cr_assert_not_null(strstr(text, "Worth a coaching talk: a turns calls "
	    "into meetings at 10% against the team's 30% (below for 2 "
	    "mornings); b turns"), "%s", text);
	cr_assert_not_null(strstr(text, "(below for 2 mornings); and 2 more."),
	    "%s", text);
	cr_assert_null(strstr(text, " d turns"), "%s", text);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "coaching")), 5);
	cJSON_Delete(o);
	free(body);
}

Test(digest, coach_state_counts_a_day_once)
{
	cr_assert_eq(digest_coach_before(NULL, 0, 20000), 0);
	cr_assert_eq(digest_coach_before("19999:1:2", 9, 20000), 2);
	cr_assert_eq(digest_coach_before("19990:0:1", 9, 20000), 1);
	/* Today's check again: from where today's started. */
	cr_assert_eq(digest_coach_before("20000:1:2", 9, 20000), 1);
	cr_assert_eq(digest_coach_before("20001:1:2", 9, 20000), 0);
	cr_assert_eq(digest_coach_before("nope", 4, 20000), 0);
	cr_assert_eq(digest_coach_before("19999:1", 7, 20000), 0);
	cr_assert_eq(digest_coach_before("19999:1:2x", 10, 20000), 0);
}
