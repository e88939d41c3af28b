#include "evaluate.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/*
 * A UTC team working Mon-Fri 09:00-17:00; r1 must make 40 calls a day.
 * 2026-11-23 is a Monday. Working fraction at 11:00 = 2/8 = 0.25 (past
 * the 0.2 grace); at 10:00 = 0.125 (inside it).
 */
static const char yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: deals, kind: lagging, events: [deal]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}, deals: {day: 1}}}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
    "managers: [{id: m1, manager: vp}, {id: vp}]\n"
    "reps: [{id: r1, team: t, role: sdr}]\n"
    "alerts: {periods: [day], kpis: leading, warning_below: 0.8, critical_below: 0.5,\n"
    "         grace: 0.2, repeat_interval: 4h, evaluate_every: 1m,\n"
    "         min_breach: 0s, min_breach_evaluations: 1, resolve_margin: 0}\n";

static struct config *cfg;
static struct roster *roster;
static struct eval_state states[2 * PERIOD_COUNT];
/* The rep's calls in the bucket of a state whose bucket has ended. */
static double ended_calls;

static void
setup(void)
{
	char *errs = NULL, err[256];

	cfg = config_load_buffer("eval.yaml", yaml, sizeof(yaml) - 1, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	roster = roster_new(cfg, err, sizeof(err));
	cr_assert_not_null(roster, "%s", err);
	memset(states, 0, sizeof(states));
	ended_calls = 0;
}

static void
teardown(void)
{
	roster_free(roster);
	config_free(cfg);
}

/* Evaluates r1 of roster r (config c) at the given UTC time with calls =
 * actual; keeps the states. */
static void
run_with(const struct config *c, const struct roster *r, const char *when,
    double calls, struct eval_result *res)
{
	int64_t at;
	double actual[2 * PERIOD_COUNT] = { 0 }, ended[2 * PERIOD_COUNT] = { 0 };

	cr_assert_eq(caltime_parse_rfc3339(when, strlen(when), &at), 0);
	for (int p = 0; p < PERIOD_COUNT; p++) {
		actual[p * 2 + 0] = calls;
		ended[0 * PERIOD_COUNT + p] = ended_calls;
	}
	memset(res, 0, sizeof(*res));
	evaluate_rep(c, roster_rep(r, "r1"), at, actual, states, ended, res);
	for (size_t s = 0; s < 2 * PERIOD_COUNT; s++)
		if (res->changed[s])
			states[s] = res->states[s];
}

static void
run(const char *when, double calls, struct eval_result *res)
{
	run_with(cfg, roster, when, calls, res);
}

TestSuite(evaluate, .init = setup, .fini = teardown);

Test(evaluate, silence_fires_critical_after_grace_only)
{
	struct eval_result res;

	run("2026-11-23T08:30:00Z", 0, &res);	/* before work: not started */
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
	run("2026-11-23T10:00:00Z", 0, &res);	/* 0.125 < grace 0.2 */
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
	run("2026-11-23T11:00:00Z", 0, &res);	/* 0.25, pace 0: critical */
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.status, ALERT_STATUS_FIRING);
	cr_assert_eq(res.alerts[0].action.severity, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(res.alerts[0].nnotify, 2);
	cr_assert_str_eq(res.alerts[0].notify[0], "m1");
	cr_assert_str_eq(res.alerts[0].notify[1], "vp");
	cr_assert_not_null(strstr(res.alerts[0].json, "\"status\":\"firing\""));
	cr_assert_not_null(strstr(res.alerts[0].json, "\"kpi\":\"calls\""));
	cr_assert_not_null(strstr(res.alerts[0].json, "\"period\":\"day\""));
	/* expected_to_date = 40 * 0.25 = 10 */
	cr_assert_not_null(strstr(res.alerts[0].json, "\"expected_to_date\":10"));
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"period_start\":\"2026-11-23T00:00:00+00:00\""));
	/* deals is lagging: alerts.kpis is leading, so it never fires */
	eval_result_clear(&res);
}

Test(evaluate, no_repeat_inside_interval_then_resolved_on_recovery)
{
	struct eval_result res;
	char id[ALERT_ID_SIZE];

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	strcpy(id, res.alerts[0].alert_id);
	eval_result_clear(&res);
	run("2026-11-23T12:00:00Z", 0, &res);	/* 1 h < 4 h repeat interval */
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
	/* 15:00: fraction 6/8, expected 30; 30 calls is pace 1.0: resolved */
	run("2026-11-23T15:00:00Z", 30, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.status, ALERT_STATUS_RESOLVED);
	cr_assert_str_eq(res.alerts[0].alert_id, id);
	eval_result_clear(&res);
}

Test(evaluate, warning_then_period_end_resolves_old_bucket)
{
	struct eval_result res;

	/* 16:00: fraction 7/8, expected 35; 25 calls: pace 0.714 -> warning */
	run("2026-11-23T16:00:00Z", 25, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.severity, ALERT_LEVEL_WARNING);
	cr_assert_eq(res.alerts[0].nnotify, 1, "a warning is not escalated");
	eval_result_clear(&res);
	/* Tuesday 09:30: Monday's bucket is over, its alert resolves; the new
	 * day is inside its grace, so nothing fires for it. */
	run("2026-11-24T09:30:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_PERIOD_ENDED);
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"period_start\":\"2026-11-23T00:00:00+00:00\""));
	eval_result_clear(&res);
}

/*
 * The period_ended message tells how the period really ended. r1 is
 * silent at 11:00 (critical fires: 0 of 10 expected), then makes 15
 * calls late in the afternoon, not enough to resolve (15 of 40 by 17:00
 * is pace 0.375), and no message goes out after 11:00. Tuesday: Monday's
 * alert resolves with Monday's final count, 15 of 40, not the 0 of its
 * last message; all of Monday's working time is over, so expected is the
 * target, projected the actual, and no rate is left to reach it.
 */
Test(evaluate, period_end_carries_the_final_figures)
{
	struct eval_result res;
	const struct eval_state *st = &states[0 * PERIOD_COUNT + PERIOD_DAY];

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	eval_result_clear(&res);
	cr_assert(evaluate_ending(st, st->start_day + 1));
	cr_assert_not(evaluate_ending(st, st->start_day));
	ended_calls = 15;
	run("2026-11-24T09:30:00Z", 2, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_PERIOD_ENDED);
	cr_assert_str_eq(res.alerts[0].message,
	    "The day ended with r1 at 15 of 40 calls (37% of target).");
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"actual\":15,\"target\":40,\"expected_to_date\":40,"
	    "\"pace\":0.375,\"projected\":15,\"required_rate\":null,"
	    "\"remaining\":25"),
	    "%s", res.alerts[0].json);
	cr_assert_not(evaluate_ending(st, st->start_day + 1),
	    "the new day's state does not fire");
	eval_result_clear(&res);

	/* Met by the end (a late batch counted after the last judgement):
	 * pace 1.05, nothing more required. */
	memset(states, 0, sizeof(states));
	run("2026-11-23T11:00:00Z", 0, &res);
	eval_result_clear(&res);
	ended_calls = 42;
	run("2026-11-24T09:30:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"actual\":42,\"target\":40,\"expected_to_date\":40,"
	    "\"pace\":1.05,\"projected\":42,\"required_rate\":null,"
	    "\"remaining\":0"),
	    "%s", res.alerts[0].json);
	cr_assert_str_eq(res.alerts[0].message,
	    "The day ended with r1 at 42 of 40 calls (105% of target).");
	eval_result_clear(&res);
}

/*
 * Repeats count working time (09:00-17:00): the critical alert of 11:00
 * (2 working hours in) repeats at 15:00 (6), and not at 19:00 or 23:00,
 * 4 and 8 hours of wall time later, when the day's hours are over.
 */
Test(evaluate, repeats_count_working_time)
{
	struct eval_result res;
	const struct eval_state *st = &states[0 * PERIOD_COUNT + PERIOD_DAY];

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(st->alert.last_sent_worked_ms, 2 * 3600000LL);
	eval_result_clear(&res);
	run("2026-11-23T14:59:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
	run("2026-11-23T15:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_REPEAT);
	cr_assert_eq(st->alert.last_sent_worked_ms, 6 * 3600000LL);
	eval_result_clear(&res);
	run("2026-11-23T19:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
	run("2026-11-23T23:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	eval_result_clear(&res);
}

/*
 * A state stored by an older release ("a1": no working time) gets the
 * working time of its last message from the calendar, and is stored back
 * in the new form at once. Last sent at 15:00 (6 working hours): the
 * wall-time rule would repeat at 19:00; working time says 2 hours have
 * gone by, nothing is sent, and the state reads 6 hours.
 */
Test(evaluate, a1_state_gets_its_working_time_from_the_calendar)
{
	static const char old[] = "20780|a1:c:1795431600000:1795446000000:1|"
	    "0|40|30|0|5.333";
	static const char old2[] = "20780|a1:c:1795431600000:1795431600000:0|"
	    "0|40|10|0|5";
	struct eval_state *slot = &states[0 * PERIOD_COUNT + PERIOD_DAY];
	struct eval_result res;
	char buf[EVAL_STATE_SIZE];

	cr_assert_eq(eval_state_parse(old, sizeof(old) - 1, slot), 0);
	cr_assert_eq(slot->alert.last_sent_worked_ms, ALERT_WORKED_UNKNOWN);
	run("2026-11-23T19:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert(res.changed[0 * PERIOD_COUNT + PERIOD_DAY],
	    "stored in the new form");
	cr_assert_eq(slot->alert.last_sent_worked_ms, 6 * 3600000LL);
	eval_state_format(slot, buf, sizeof(buf));
	cr_assert_not_null(strstr(buf,
	    "|a2:c:1795431600000:1795446000000:1:21600000|"), "%s", buf);
	eval_result_clear(&res);

	/* Read at 12:00 (last sent 11:00, 2 working hours in): the repeat
	 * comes at 15:00, as if the state had been written by this release. */
	cr_assert_eq(eval_state_parse(old2, sizeof(old2) - 1, slot), 0);
	run("2026-11-23T12:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert_eq(slot->alert.last_sent_worked_ms, 2 * 3600000LL);
	eval_result_clear(&res);
	run("2026-11-23T15:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_REPEAT);
	eval_result_clear(&res);
}

Test(evaluate, state_round_trips)
{
	struct eval_state s = { .present = true, .start_day = 20780,
	    .actual = 3, .target = 40, .expected = 12.5, .pace = 0.24,
	    .required_rate = 9 }, t;
	char buf[EVAL_STATE_SIZE];

	s.alert.level = ALERT_LEVEL_CRITICAL;
	s.alert.fired_at_ms = 1795000000000;
	s.alert.last_sent_ms = 1795000060000;
	eval_state_format(&s, buf, sizeof(buf));
	cr_assert_eq(eval_state_parse(buf, strlen(buf), &t), 0);
	cr_assert_eq(t.start_day, 20780);
	cr_assert_eq(t.alert.level, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(t.alert.last_sent_ms, 1795000060000);
	cr_assert_float_eq(t.expected, 12.5, 1e-12);
	cr_assert_eq(eval_state_parse("garbage", 7, &t), -1);
	cr_assert_eq(eval_state_parse("1|x|1|2|3|4|5", 13, &t), -1);
	/* What judging reads: the same bucket, alert and target. */
	cr_assert_eq(eval_state_parse_brief(buf, strlen(buf), &t), 0);
	cr_assert(t.present);
	cr_assert_eq(t.start_day, 20780);
	cr_assert(alert_state_equal(&t.alert, &s.alert));
	cr_assert_eq(t.target, 40);
	cr_assert_eq(t.expected, 0, "not read back");
	cr_assert_eq(eval_state_parse_brief("garbage", 7, &t), -1);
	cr_assert_eq(eval_state_parse_brief("1|x|1|2|3|4|5", 13, &t), -1);
	cr_assert_eq(eval_state_parse_brief("1||1|2|3|4|5", 12, &t), -1);
	cr_assert_eq(eval_state_parse_brief(buf, strlen(buf) - 2, &t), -1,
	    "the last figure cut off: six fields");
	snprintf(buf, sizeof(buf), "x|a2:n:0:0:0:0|1|2|3|4|5");
	cr_assert_eq(eval_state_parse_brief(buf, strlen(buf), &t), -1);
	snprintf(buf, sizeof(buf), "1|a2:n:0:0:0:0|1|2|3|4|5|6");
	cr_assert_eq(eval_state_parse_brief(buf, strlen(buf), &t), -1);
	snprintf(buf, sizeof(buf), "1|a2:n:0:0:0:0|1|2.5|3|4|5");
	cr_assert_eq(eval_state_parse_brief(buf, strlen(buf), &t), 0);
	cr_assert_eq(t.target, 2.5);
}

/* A second config for r1, as a reload would swap in: yaml with the text
 * from..to replaced. */
struct reloaded {
	struct config *cfg;
	struct roster *roster;
};

static void
reload(const char *from, const char *to, struct reloaded *out)
{
	char *text, *at, *errs = NULL, err[256];
	size_t n;

	at = strstr(yaml, from);
	cr_assert_not_null(at, "%s", from);
	n = sizeof(yaml) - 1 - strlen(from) + strlen(to);
	text = calloc(1, n + 1);
	memcpy(text, yaml, (size_t)(at - yaml));
	strcat(text, to);
	strcat(text, at + strlen(from));
	out->cfg = config_load_buffer("reload.yaml", text, strlen(text), &errs);
	cr_assert_not_null(out->cfg, "%s", errs ? errs : "");
	out->roster = roster_new(out->cfg, err, sizeof(err));
	cr_assert_not_null(out->roster, "%s", err);
	free(text);
}

static void
reloaded_free(struct reloaded *r)
{
	roster_free(r->roster);
	config_free(r->cfg);
}

/*
 * A reload takes calls/day out of the alert rules while its critical
 * alert fires: the next evaluation resolves it (not_evaluated) with the
 * figures of now (12:00: 3 calls, 15 expected, pace 0.2) and clears the
 * state, which is then deleted rather than stored; after that, nothing.
 */
Test(evaluate, rule_removed_resolves_and_clears)
{
	const size_t slot = 0 * PERIOD_COUNT + PERIOD_DAY;
	struct eval_result res;
	struct reloaded r;

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	eval_result_clear(&res);
	reload("periods: [day]", "periods: [week]", &r);
	cr_assert_not(evaluate_alerting(r.cfg, 0, PERIOD_DAY));
	run_with(r.cfg, r.roster, "2026-11-23T12:00:00Z", 3, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.status, ALERT_STATUS_RESOLVED);
	cr_assert_eq(res.alerts[0].action.severity, ALERT_LEVEL_CRITICAL);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_NOT_EVALUATED);
	cr_assert_eq(res.alerts[0].nnotify, 2, "as the critical alert did");
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"reason\":\"not_evaluated\""));
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"actual\":3,\"target\":40,\"expected_to_date\":15,"
	    "\"pace\":0.2,"), "%s", res.alerts[0].json);
	cr_assert_str_eq(res.alerts[0].message, "r1 is no longer judged on "
	    "calls today: alert closed (3 of 15 expected by now; target 40).");
	cr_assert(res.changed[slot]);
	cr_assert_not(res.states[slot].present, "deleted, not stored");
	eval_result_clear(&res);
	run_with(r.cfg, r.roster, "2026-11-23T13:00:00Z", 3, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert_not(res.changed[slot], "nothing left to delete");
	eval_result_clear(&res);
	reloaded_free(&r);
}

/*
 * The rep loses its target for calls/day (its role keeps only deals):
 * the firing alert resolves (not_evaluated) with the rep's count now
 * against the target it was judged by. A state that does not fire is
 * only cleared.
 */
Test(evaluate, target_removed_resolves_and_clears)
{
	const size_t slot = 0 * PERIOD_COUNT + PERIOD_DAY;
	struct eval_result res;
	struct reloaded r;

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	eval_result_clear(&res);
	reload("targets: {calls: {day: 40}, deals: {day: 1}}",
	    "targets: {deals: {day: 1}}", &r);
	run_with(r.cfg, r.roster, "2026-11-23T12:00:00Z", 3, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_NOT_EVALUATED);
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"actual\":3,\"target\":40,\"expected_to_date\":15,"
	    "\"pace\":0.2,"), "%s", res.alerts[0].json);
	cr_assert_not(res.states[slot].present);
	eval_result_clear(&res);

	/* Quiet state (on pace at 12:00), then the target goes: cleared
	 * without a message. */
	memset(states, 0, sizeof(states));
	run("2026-11-23T12:00:00Z", 15, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert(states[slot].present);
	eval_result_clear(&res);
	run_with(r.cfg, r.roster, "2026-11-23T13:00:00Z", 15, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert(res.changed[slot]);
	cr_assert_not(res.states[slot].present);
	eval_result_clear(&res);
	reloaded_free(&r);
}

/*
 * r1's day target ends with Monday (a schedule entry that sets nothing
 * from Tuesday). Monday's critical alert still resolves at the day's end
 * (period_ended, with Monday's count and target), though Tuesday has no
 * target to judge; then the state is gone.
 */
Test(evaluate, period_end_into_a_bucket_without_target)
{
	const size_t slot = 0 * PERIOD_COUNT + PERIOD_DAY;
	struct eval_result res;
	struct reloaded r;

	reload("roles: {sdr: {targets: {calls: {day: 40}, deals: {day: 1}}}}",
	    "roles: {sdr: {targets: {deals: {day: 1}}, schedule: ["
	    "{from: \"2026-11-01\", targets: {calls: {day: 40}}},"
	    "{from: \"2026-11-24\", targets: {}}]}}", &r);
	run_with(r.cfg, r.roster, "2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	eval_result_clear(&res);
	ended_calls = 9;
	run_with(r.cfg, r.roster, "2026-11-24T11:00:00Z", 0, &res);
	cr_assert_eq(res.cards[PERIOD_DAY].kpis[0].has_target, false);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.reason, ALERT_REASON_PERIOD_ENDED);
	cr_assert_not_null(strstr(res.alerts[0].json,
	    "\"actual\":9,\"target\":40,\"expected_to_date\":40,"), "%s",
	    res.alerts[0].json);
	cr_assert_not(res.states[slot].present);
	eval_result_clear(&res);
	reloaded_free(&r);
}

/*
 * r1 left the roster while its critical alert fires: the stored alert
 * becomes a resolved copy (reason rep_removed, evaluated_at now, a
 * sentence saying so), the same id, audience and figures.
 */
Test(evaluate, rep_removed_copies_the_stored_alert)
{
	struct eval_result res;
	struct eval_removed rm;
	int64_t at;
	cJSON *o;

	run("2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(caltime_parse_rfc3339("2026-11-24T08:00:00Z", 20, &at), 0);
	cr_assert_eq(evaluate_rep_removed(res.alerts[0].json,
	    strlen(res.alerts[0].json), at, &rm), 0);
	cr_assert_str_eq(rm.alert_id, res.alerts[0].alert_id);
	cr_assert_eq(rm.severity, ALERT_LEVEL_CRITICAL);
	cr_assert_str_eq(rm.rep_id, "r1");
	cr_assert_str_eq(rm.team_id, "t");
	cr_assert_str_eq(rm.manager_id, "m1");
	cr_assert_str_eq(rm.kpi, "calls");
	cr_assert_str_eq(rm.period, "day");
	cr_assert_eq(rm.nnotify, 2);
	cr_assert_str_eq(rm.notify[1], "vp");
	cr_assert_str_eq(rm.message, "r1 is no longer on the roster: its "
	    "critical alert on calls for the day is closed.");
	o = cJSON_Parse(rm.json);
	cr_assert_not_null(o);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "status")->valuestring,
	    "resolved");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring,
	    "rep_removed");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "evaluated_at")->valuestring,
	    "2026-11-24T08:00:00.000Z");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring,
	    rm.message);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "period_start")->valuestring,
	    "2026-11-23T00:00:00+00:00");
	cr_assert_float_eq(cJSON_GetObjectItem(o, "expected_to_date")->valuedouble,
	    10, 1e-9);
	cJSON_Delete(o);
	eval_removed_clear(&rm);

	/* Not a firing alert: refused. */
	cr_assert_eq(evaluate_rep_removed("{}", 2, at, &rm), -1);
	cr_assert_eq(evaluate_rep_removed("nope", 4, at, &rm), -1);
	cr_assert_eq(evaluate_rep_removed(rm.message, 0, at, &rm), -1);
	eval_result_clear(&res);
}

/* The first number after "Needs " in a message. */
static double
needs_of(const char *msg)
{
	const char *p = strstr(msg, "Needs ");

	cr_assert_not_null(p, "%s", msg);
	return strtod(p + 6, NULL);
}

/*
 * One unit a message: a day alert at 11:00 (6 of 40 calls, 6 hours left)
 * says "Needs 34 more today", carries remaining 34 and no rate per
 * working day (which would be 45.3, another unit); a week alert's
 * "Needs N a working day" is its required_rate rounded up (194 calls
 * over 3.75 working days: 52).
 */
Test(evaluate, a_message_and_its_figures_speak_one_unit)
{
	static const char wyaml[] =
	    "kpis: [{name: calls, kind: leading, events: [call]},\n"
	    "       {name: deals, kind: lagging, events: [deal]}]\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
	    " working_hours: \"09:00-17:00\"}}\n"
	    "roles: {sdr: {targets: {calls: {day: 40, week: 200}}}}\n"
	    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
	    "managers: [{id: m1}]\n"
	    "reps: [{id: r1, team: t, role: sdr}]\n"
	    "alerts: {periods: [day, week], kpis: leading, min_breach: 0s,"
	    " min_breach_evaluations: 1}\n";
	char *errs = NULL, err[256];
	struct config *c = config_load_buffer("w.yaml", wyaml,
	    sizeof(wyaml) - 1, &errs);
	struct roster *r;
	struct eval_result res;
	cJSON *j;

	cr_assert_not_null(c, "%s", errs ? errs : "");
	r = roster_new(c, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	/* Tuesday 11:00: the week has 10 of 40 hours gone. */
	run_with(c, r, "2026-11-24T11:00:00Z", 6, &res);
	cr_assert_eq(res.nalerts, 2);
	for (size_t i = 0; i < res.nalerts; i++) {
		const struct eval_alert *a = &res.alerts[i];
		const cJSON *rate, *left;

		j = cJSON_Parse(a->json);
		rate = cJSON_GetObjectItemCaseSensitive(j, "required_rate");
		left = cJSON_GetObjectItemCaseSensitive(j, "remaining");
		cr_assert(cJSON_IsNumber(left), "%s", a->json);
		if (a->period == PERIOD_DAY) {
			cr_assert(cJSON_IsNull(rate), "%s", a->json);
			cr_assert_float_eq(left->valuedouble, 34, 1e-9);
			cr_assert_not_null(strstr(a->message,
			    "Needs 34 more today"), "%s", a->message);
			cr_assert_float_eq(needs_of(a->message),
			    left->valuedouble, 1e-9);
		} else {
			cr_assert(cJSON_IsNumber(rate), "%s", a->json);
			cr_assert_float_eq(left->valuedouble, 194, 1e-9);
			cr_assert_not_null(strstr(a->message,
			    "Needs 52 a working day to hit target"), "%s",
			    a->message);
			cr_assert_float_eq(needs_of(a->message),
			    ceil(rate->valuedouble - 1e-9), 1e-9);
		}
		cJSON_Delete(j);
	}
	eval_result_clear(&res);
	roster_free(r);
	config_free(c);
}

/* A breach under way changes the state without a message: it is marked
 * to be stored, so that the next evaluation, in whatever process, goes
 * on counting. */
Test(evaluate, a_breach_under_way_is_stored)
{
	static const char byaml[] =
	    "kpis: [{name: calls, kind: leading, events: [call]},\n"
	    "       {name: deals, kind: lagging, events: [deal]}]\n"
	    "calendars: {default: {working_days: [mon, tue, wed, thu, fri],"
	    " working_hours: \"09:00-17:00\"}}\n"
	    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
	    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
	    "managers: [{id: m1}]\n"
	    "reps: [{id: r1, team: t, role: sdr}]\n"
	    "alerts: {periods: [day], kpis: leading}\n";
	char *errs = NULL, err[256], buf[EVAL_STATE_SIZE];
	struct config *c = config_load_buffer("b.yaml", byaml,
	    sizeof(byaml) - 1, &errs);
	struct roster *r;
	struct eval_result res;
	size_t slot = 0 * PERIOD_COUNT + PERIOD_DAY;

	cr_assert_not_null(c, "%s", errs ? errs : "");
	r = roster_new(c, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	run_with(c, r, "2026-11-23T11:00:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert(res.changed[slot]);
	cr_assert_eq(res.states[slot].alert.pending, ALERT_PENDING_UP);
	eval_state_format(&res.states[slot], buf, sizeof(buf));
	cr_assert_not_null(strstr(buf, "|a3:n:0:0:0:0:u:1:7200000|"), "%s",
	    buf);
	eval_result_clear(&res);
	/* Ten minutes on: two evaluations, but not 15 minutes. */
	run_with(c, r, "2026-11-23T11:10:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert(res.changed[slot]);
	eval_result_clear(&res);
	run_with(c, r, "2026-11-23T11:14:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 0);
	cr_assert_not(res.changed[slot], "nothing new to store");
	eval_result_clear(&res);
	run_with(c, r, "2026-11-23T11:15:00Z", 0, &res);
	cr_assert_eq(res.nalerts, 1);
	cr_assert_eq(res.alerts[0].action.severity, ALERT_LEVEL_CRITICAL);
	eval_result_clear(&res);
	roster_free(r);
	config_free(c);
}
