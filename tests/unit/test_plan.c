#include "plan.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"
#include "scorecard.h"

/*
 * The target planner: the worked example of README ("paced plan") against
 * figures worked out by hand, the rounding rule, every kind of bad input,
 * rates from history, and the round trip: the roles: block it prints,
 * loaded as config, gives scorecards with the planned targets.
 */

/* Everything but the roles' targets: the planner reads the catalogue,
 * which role targets which KPI, the roster and the calendar. 2027 has 261
 * weekdays; the five holidays all fall on weekdays: 256 working days. */
#define BASE \
    "kpis:\n" \
    "  - {name: calls, kind: leading, events: [call, email]}\n" \
    "  - {name: conversations, kind: leading, events: [conversation]}\n" \
    "  - {name: meetings_scheduled, kind: leading, events: [meeting_scheduled]}\n" \
    "  - {name: meetings_held, kind: leading, events: [meeting_held]}\n" \
    "  - {name: proposals, kind: leading, events: [proposal_sent]}\n" \
    "  - {name: deals, kind: lagging, events: [deal_closed]}\n" \
    "  - {name: revenue, kind: lagging, events: [deal_closed], measure: amount}\n" \
    "  - {name: no_shows, kind: lagging, events: [no_show], better: lower}\n" \
    "calendars:\n" \
    "  default:\n" \
    "    holidays: [\"2027-01-01\", \"2027-05-31\", \"2027-07-05\",\n" \
    "               \"2027-11-25\", \"2027-12-24\"]\n" \
    "  fiscal: {fiscal_year_start: apr}\n" \
    "teams:\n" \
    "  - {id: east, timezone: America/New_York, calendar: default}\n" \
    "  - {id: apac, timezone: Asia/Tokyo, calendar: fiscal}\n" \
    "reps:\n" \
    "  - {id: s01, team: east, role: sdr}\n" \
    "  - {id: s02, team: east, role: sdr}\n" \
    "  - {id: s03, team: east, role: sdr}\n" \
    "  - {id: s04, team: east, role: sdr}\n" \
    "  - {id: a01, team: east, role: ae}\n" \
    "  - {id: a02, team: east, role: ae}\n" \
    "  - {id: t01, team: apac, role: ae}\n"

static const char base_roles[] = BASE
    "roles:\n"
    "  sdr:\n"
    "    targets:\n"
    "      calls: {day: 50}\n"
    "      conversations: {day: 8}\n"
    "      meetings_scheduled: {week: 5}\n"
    "  ae:\n"
    "    targets:\n"
    "      meetings_held: {week: 5}\n"
    "      proposals: {month: 10}\n"
    "      deals: {quarter: 10}\n"
    "      revenue: {quarter: 100000}\n";

#define FUNNEL "calls:conversations=0.1,conversations:meetings_scheduled=0.25," \
    "meetings_scheduled:meetings_held=0.8,meetings_held:proposals=0.5," \
    "proposals:deals=0.25"

static struct config *cfg;
static struct plan_input in;
static char err[512];

static void
setup(void)
{
	char *errs = NULL;

	cfg = config_load_buffer("plan.yaml", base_roles, sizeof(base_roles) - 1,
	    &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	memset(&in, 0, sizeof(in));
	in.revenue = 70e6;
	in.deal_size = 35e3;
	in.year = 2027;
	in.decimals = 1;
	in.team = "east";
}

static void
teardown(void)
{
	plan_input_free(&in);
	config_free(cfg);
}

TestSuite(plan, .init = setup, .fini = teardown);

/* The plan of in with FUNNEL, or the test fails with the reason. */
static struct plan *
worked(const char *reps)
{
	struct plan *p;

	cr_assert_eq(plan_parse_funnel(cfg, FUNNEL, false, &in, err,
	    sizeof(err)), 0, "%s", err);
	if (reps != NULL)
		cr_assert_eq(plan_parse_reps(cfg, reps, &in, err, sizeof(err)),
		    0, "%s", err);
	cr_assert_eq(plan_rates_typed(&in, cfg, err, sizeof(err)), 0, "%s", err);
	p = plan_new(cfg, &in, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(plan_work(p, err, sizeof(err)), 0, "%s", err);
	return p;
}

static const struct plan_kpi *
kpi(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nkpis; i++)
		if (strcmp(cfg->kpis[p->kpis[i].kpi].name, name) == 0)
			return &p->kpis[i];
	cr_assert_fail("no KPI %s in the plan", name);
	return NULL;
}

#define near(a, b) cr_assert(fabs((a) - (b)) < 1e-9, "%s = %.12g, not %.12g", \
    #a, (double)(a), (double)(b))

/*
 * $70M at $35k = 2,000 deals; 25% proposal-to-deal: 8,000 proposals; 50%
 * held meetings to proposals: 16,000; 80% of scheduled meetings held:
 * 20,000; 25% of conversations book one: 80,000; 10% of calls connect:
 * 800,000 calls. 40 SDRs carry the top three, 20 AEs the rest.
 */
Test(plan, worked_example_by_hand)
{
	struct plan *p = worked("sdr=40,ae=20");
	const struct plan_kpi *calls = kpi(p, "calls"), *deals = kpi(p, "deals");

	near(p->deals, 2000);
	near(kpi(p, "proposals")->total, 8000);
	near(kpi(p, "meetings_held")->total, 16000);
	near(kpi(p, "meetings_scheduled")->total, 20000);
	near(kpi(p, "conversations")->total, 80000);
	near(calls->total, 800000);
	cr_assert_eq(calls->reps, 40);
	cr_assert_eq(deals->reps, 20);
	cr_assert_str_eq(cfg->roles[calls->role].name, "sdr");
	cr_assert_str_eq(cfg->roles[kpi(p, "meetings_held")->role].name, "ae");
	/* 261 weekdays less 5 holidays; the weeks of Mon 4 Jan .. Mon 27
	 * Dec (the week of 1 Jan holds only the holiday in 2027). */
	cr_assert_eq(p->start_day, caltime_days_from_civil(2027, 1, 1));
	cr_assert_eq(p->end_day, caltime_days_from_civil(2028, 1, 1));
	cr_assert_eq(p->buckets[PERIOD_DAY], 256);
	cr_assert_eq(p->buckets[PERIOD_WEEK], 52);
	cr_assert_eq(p->buckets[PERIOD_MONTH], 12);
	cr_assert_eq(p->buckets[PERIOD_QUARTER], 4);
	/* An SDR: 20,000 calls a year; 78.125 a day -> 78.2; 384.615 a
	 * week -> 384.7; 1,666.67 a month -> 1666.7; 5,000 a quarter. */
	near(calls->per_rep, 20000);
	near(calls->value[PERIOD_DAY], 78.2);
	near(calls->value[PERIOD_WEEK], 384.7);
	near(calls->value[PERIOD_MONTH], 1666.7);
	near(calls->value[PERIOD_QUARTER], 5000);
	/* An AE: 100 deals a year; 0.39 a day -> 0.4, 1.92 a week -> 2,
	 * 8.33 a month -> 8.4, 25 a quarter. 400 proposals: 33.33 a
	 * month -> 33.4. */
	near(deals->per_rep, 100);
	near(deals->value[PERIOD_DAY], 0.4);
	near(deals->value[PERIOD_WEEK], 2);
	near(deals->value[PERIOD_MONTH], 8.4);
	near(deals->value[PERIOD_QUARTER], 25);
	near(kpi(p, "proposals")->value[PERIOD_MONTH], 33.4);
	plan_free(p);
}

Test(plan, worked_example_yaml_block)
{
	struct plan *p = worked("sdr=40,ae=20");
	char *y = plan_yaml(p);

	cr_assert_not_null(strstr(y, "= 2000 deals\n"), "%s", y);
	cr_assert_not_null(strstr(y, "256 working days, 52 weeks, 12 months, "
	    "4 quarters"), "%s", y);
	cr_assert_not_null(strstr(y, "#   proposals 8000 (ae: 20 reps, 400 "
	    "each) -> deals at 0.25 (typed)\n"), "%s", y);
	cr_assert_not_null(strstr(y, "roles:\n  sdr:\n    targets:\n"
	    "      calls: {day: 78.2, week: 384.7, month: 1666.7, quarter: 5000}\n"),
	    "%s", y);
	cr_assert_not_null(strstr(y, "  ae:\n    targets:\n"
	    "      meetings_held: {day: 3.2, week: 15.4, month: 66.7, quarter: 200}\n"
	    "      proposals: {day: 1.6, week: 7.7, month: 33.4, quarter: 100}\n"
	    "      deals: {day: 0.4, week: 2, month: 8.4, quarter: 25}\n"), "%s", y);
	free(y);
	plan_free(p);
}

Test(plan, json_has_the_same_figures_and_the_funnel)
{
	struct plan *p = worked("sdr=40,ae=20");
	char *j = plan_json(p);
	cJSON *o = cJSON_Parse(j), *f, *t;

	cr_assert_not_null(o, "%s", j);
	near(cJSON_GetObjectItem(o, "deals")->valuedouble, 2000);
	f = cJSON_GetObjectItem(o, "funnel");
	cr_assert_eq(cJSON_GetArraySize(f), 6);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "kpi")
	    ->valuestring, "calls");
	near(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "total")->valuedouble,
	    800000);
	near(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 4), "total")->valuedouble,
	    8000);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(o, "roles"), "sdr"), "targets"), "calls");
	near(cJSON_GetObjectItem(t, "day")->valuedouble, 78.2);
	near(cJSON_GetObjectItem(t, "week")->valuedouble, 384.7);
	cJSON_Delete(o);
	free(j);
	plan_free(p);
}

Test(plan, rounding_up)
{
	near(plan_round_up(78.125, 1), 78.2);
	near(plan_round_up(78.125, 0), 79);
	near(plan_round_up(78.125, 3), 78.125);
	near(plan_round_up(1.0 / 3, 2), 0.34);
	near(plan_round_up(5000, 1), 5000);
	/* 16000 / 0.8 is a hair off 20000 in binary: still 20000. */
	near(plan_round_up(16000 / 0.8, 0), 20000);
	near(plan_round_up(0.1 * 3, 1), 0.3);
	near(plan_round_up(2.001, 0), 3);
}

/* Rounded up, and no more than one step: every role's targets summed over
 * the year's buckets meet the team's total, and one step less would not. */
Test(plan, rounded_targets_meet_the_goal_and_no_more)
{
	int d, per;
	size_t i;

	for (d = 0; d <= PLAN_DECIMALS_MAX; d++) {
		struct plan *p;

		plan_input_free(&in);
		in.decimals = d;
		in.revenue = 12345678;
		in.deal_size = 23456;
		p = worked("sdr=7,ae=3");
		for (i = 0; i < p->nkpis; i++) {
			const struct plan_kpi *k = &p->kpis[i];

			for (per = 0; per < PERIOD_COUNT; per++) {
				double sum = k->value[per] * p->buckets[per] *
				    (double)k->reps, step = pow(10, -d);

				cr_assert_geq(sum, k->total * (1 - 1e-12),
				    "%s %d", cfg->kpis[k->kpi].name, per);
				cr_assert_lt((k->value[per] - step) *
				    p->buckets[per] * (double)k->reps, k->total,
				    "%s %d", cfg->kpis[k->kpi].name, per);
			}
		}
		plan_free(p);
	}
}

Test(plan, reps_counted_on_the_roster_and_fiscal_year)
{
	struct plan *p = worked(NULL);

	cr_assert_eq(kpi(p, "calls")->reps, 4);
	cr_assert_eq(kpi(p, "deals")->reps, 2);	/* t01 is in apac */
	plan_free(p);
	plan_input_free(&in);
	in.team = "apac";
	cr_assert_eq(plan_parse_funnel(cfg, "proposals:deals=0.25", false, &in,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(plan_rates_typed(&in, cfg, err, sizeof(err)), 0);
	p = plan_new(cfg, &in, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(kpi(p, "deals")->reps, 1);
	/* The fiscal calendar's year starts in April. */
	cr_assert_eq(p->start_day, caltime_days_from_civil(2027, 4, 1));
	cr_assert_eq(p->end_day, caltime_days_from_civil(2028, 4, 1));
	/* 1 Apr 2027 is a Thursday: 262 weekdays to 31 Mar 2028, in 53
	 * week buckets (the first, from Mon 29 Mar, cut by the year's
	 * start, still holds two working days of it). */
	cr_assert_eq(p->buckets[PERIOD_DAY], 262);
	cr_assert_eq(p->buckets[PERIOD_WEEK], 53);
	cr_assert_eq(p->buckets[PERIOD_MONTH], 12);
	cr_assert_eq(p->buckets[PERIOD_QUARTER], 4);
	plan_free(p);
	/* No team: two calendars, no way to choose. */
	plan_input_free(&in);
	in.team = NULL;
	cr_assert_eq(plan_parse_funnel(cfg, "proposals:deals=0.25", false, &in,
	    err, sizeof(err)), 0);
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "different calendars"), "%s", err);
}

/* Each bad input names itself. */
static void
bad_funnel(const char *spec, bool optional, const char *want)
{
	plan_input_free(&in);
	cr_assert_eq(plan_parse_funnel(cfg, spec, optional, &in, err,
	    sizeof(err)), -1, "%s", spec);
	cr_assert_not_null(strstr(err, want), "%s: %s", spec, err);
}

static void
bad_reps(const char *spec, const char *want)
{
	plan_input_free(&in);
	cr_assert_eq(plan_parse_reps(cfg, spec, &in, err, sizeof(err)), -1,
	    "%s", spec);
	cr_assert_not_null(strstr(err, want), "%s: %s", spec, err);
}

Test(plan, bad_input)
{
	double d;

	bad_funnel("", false, "empty");
	bad_funnel("calls", false, "expected from:to=rate");
	bad_funnel("calls:talks=0.1", false, "unknown KPI \"talks\"");
	bad_funnel("calls:conversations=0", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations=1.01", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations=-0.2", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations=abc", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations=nan", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations=", false, "not a number in (0, 1]");
	bad_funnel("calls:conversations", false, "has no rate");
	bad_funnel("calls:calls=0.5", false, "goes nowhere");
	bad_funnel("calls:revenue=0.5", false, "measures an amount");
	bad_funnel("calls:no_shows=0.5", false, "is a cap");
	bad_funnel("calls:conversations=0.1,proposals:deals=0.2", false,
	    "funnel order");
	bad_funnel("calls:conversations=0.1,conversations:calls=0.2", true,
	    "comes twice");
	bad_reps("sdr=0", "zero reps");
	bad_reps("sdr=-3", "not a whole number");
	bad_reps("sdr=2.5", "not a whole number");
	bad_reps("sdr=many", "not a whole number");
	bad_reps("sdr", "expected name=value");
	bad_reps("bdr=3", "unknown role \"bdr\"");
	bad_reps("sdr=1,sdr=2", "given twice");
	cr_assert_eq(plan_parse_assign(cfg, "calls=cto", &in, err, sizeof(err)),
	    -1);
	cr_assert_not_null(strstr(err, "unknown role"), "%s", err);
	cr_assert_eq(plan_parse_revenue_kpi(cfg, "deals", &in, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "measures an amount"), "%s", err);
	cr_assert_eq(plan_parse_number("1e3", &d), 0);
	near(d, 1000);
	cr_assert_eq(plan_parse_number("0x10", &d), -1);
	cr_assert_eq(plan_parse_number("inf", &d), -1);
	cr_assert_eq(plan_parse_number("1e999", &d), -1);
	cr_assert_eq(plan_parse_number("12abc", &d), -1);
	cr_assert_eq(plan_parse_number(" 12", &d), -1);
}

Test(plan, bad_plans)
{
	plan_input_free(&in);
	cr_assert_eq(plan_parse_funnel(cfg, FUNNEL, false, &in, err,
	    sizeof(err)), 0);
	in.revenue = -70e6;
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "--revenue must be above 0"), "%s", err);
	in.revenue = 70e6;
	in.deal_size = 0;
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "--deal-size"), "%s", err);
	in.deal_size = 35e3;
	/* Only SDRs: nobody has the AEs' KPIs. */
	cr_assert_eq(plan_parse_reps(cfg, "sdr=5", &in, err, sizeof(err)), 0);
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "KPI \"meetings_held\": no role of the "
	    "plan"), "%s", err);
	/* --assign to a role left out of --reps. */
	cr_assert_eq(plan_parse_assign(cfg, "meetings_held=ae", &in, err,
	    sizeof(err)), 0);
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "role ae is not in --reps"), "%s", err);
	/* A team with no SDR. */
	plan_input_free(&in);
	in.team = "apac";
	cr_assert_eq(plan_parse_funnel(cfg, FUNNEL, false, &in, err,
	    sizeof(err)), 0);
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "zero reps in team apac"), "%s", err);
	in.team = "west";
	cr_assert_null(plan_new(cfg, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "unknown team \"west\""), "%s", err);
}

/* Two roles targeting one KPI: the planner asks which, and --assign says. */
Test(plan, shared_kpi_needs_assign)
{
	static const char y[] = BASE
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 50}, proposals: {week: 1}}}\n"
	    "  ae: {targets: {proposals: {month: 10}, deals: {quarter: 10}}}\n";
	struct config *c2;
	struct plan *p;
	char *errs = NULL;

	c2 = config_load_buffer("shared.yaml", y, sizeof(y) - 1, &errs);
	cr_assert_not_null(c2, "%s", errs ? errs : "");
	plan_input_free(&in);
	cr_assert_eq(plan_parse_funnel(c2, "proposals:deals=0.25", false, &in,
	    err, sizeof(err)), 0);
	cr_assert_eq(plan_rates_typed(&in, c2, err, sizeof(err)), 0);
	cr_assert_null(plan_new(c2, &in, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "both have targets"), "%s", err);
	cr_assert_eq(plan_parse_assign(c2, "proposals=ae", &in, err,
	    sizeof(err)), 0);
	p = plan_new(c2, &in, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(p->nroles, 1);
	cr_assert_str_eq(c2->roles[p->roles[0].role].name, "ae");
	plan_free(p);
	plan_input_free(&in);
	config_free(c2);
}

/* Measured rates: the ratio where the volume allows, the typed rate as
 * the fallback (with the reason), an error where there is neither. */
Test(plan, rates_from_history)
{
	double totals[16] = { 0 };
	int calls = config_kpi_index(cfg, "calls");
	int conv = config_kpi_index(cfg, "conversations");
	int ms = config_kpi_index(cfg, "meetings_scheduled");

	plan_input_free(&in);
	cr_assert_eq(plan_parse_funnel(cfg, "calls:conversations,"
	    "conversations:meetings_scheduled=0.3", true, &in, err,
	    sizeof(err)), 0, "%s", err);
	totals[calls] = 1000;
	totals[conv] = 120;
	totals[ms] = 10;
	cr_assert_eq(plan_rates_from_history(&in, totals, 30, cfg, err,
	    sizeof(err)), 0, "%s", err);
	near(in.steps[0].rate, 0.12);
	cr_assert_eq(in.steps[0].source, PLAN_RATE_HISTORY);
	near(in.steps[1].rate, 10.0 / 120);
	cr_assert_eq(in.steps[1].source, PLAN_RATE_HISTORY);
	/* 120 conversations are below a minimum volume of 200: typed. */
	cr_assert_eq(plan_rates_from_history(&in, totals, 200, cfg, err,
	    sizeof(err)), 0, "%s", err);
	near(in.steps[1].rate, 0.3);
	cr_assert_eq(in.steps[1].source, PLAN_RATE_TYPED);
	cr_assert_not_null(strstr(in.steps[1].note, "too little history "
	    "(120 conversations"), "%s", in.steps[1].note);
	/* ... and calls with no typed rate: an error naming the step. */
	cr_assert_eq(plan_rates_from_history(&in, totals, 2000, cfg, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "step calls:conversations has no rate: "
	    "too little history (1000 calls, fewer than 2000)"), "%s", err);
	/* More out than in is not a rate. */
	totals[conv] = 1500;
	cr_assert_eq(plan_rates_from_history(&in, totals, 30, cfg, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "above 1"), "%s", err);
	totals[conv] = 0;
	cr_assert_eq(plan_rates_from_history(&in, totals, 30, cfg, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "no conversations in the history"),
	    "%s", err);
}

/* The target scorecard_compute gives rep for KPI name, period p at local
 * noon of day (YYYY-MM-DD) in New York. */
static double
card_target(const struct config *c, const struct roster *r, const char *rep,
    const char *name, enum period p, const char *day, bool *has)
{
	struct scorecard_kpi kpis[16];
	struct scorecard sc;
	double actual[16] = { 0 };
	char when[64];
	int64_t at;
	int k = config_kpi_index(c, name);

	cr_assert_geq(k, 0);
	snprintf(when, sizeof(when), "%sT12:00:00-05:00", day);
	cr_assert_eq(caltime_parse_rfc3339(when, strlen(when), &at), 0);
	sc.kpis = kpis;
	scorecard_compute(c, roster_rep(r, rep), p, at, actual, &sc);
	*has = sc.kpis[k].has_target;
	return sc.kpis[k].fig.target;
}

/*
 * The round trip: the block printed for the worked example, pasted under
 * the base config (no roles of its own), loads, and every rep's
 * scorecard carries the planned target for every KPI and period, on days
 * across the year.
 */
Test(plan, round_trip_through_config_and_scorecards)
{
	static const char *const days[] = { "2027-01-04", "2027-03-10",
	    "2027-06-30", "2027-11-26", "2027-12-31" };
	static const char *const reps[] = { "s01", "s04", "a01", "a02" };
	struct plan *p;
	struct config *c2;
	struct roster *r;
	char *block, *text, *errs = NULL, rerr[256];
	size_t i, d, n;
	int per, seen = 0;
	bool has;

	in.has_revenue_kpi = true;
	in.revenue_kpi = (size_t)config_kpi_index(cfg, "revenue");
	p = worked(NULL);
	block = plan_yaml(p);
	text = malloc(strlen(BASE) + strlen(block) + 1);
	strcpy(text, BASE);
	strcat(text, block);
	c2 = config_load_buffer("planned.yaml", text, strlen(text), &errs);
	cr_assert_not_null(c2, "%s\n%s", errs ? errs : "", text);
	r = roster_new(c2, rerr, sizeof(rerr));
	cr_assert_not_null(r, "%s", rerr);
	for (n = 0; n < sizeof(reps) / sizeof(reps[0]); n++) {
		const struct roster_rep *rr = roster_rep(r, reps[n]);

		for (i = 0; i <= p->nkpis; i++) {
			const struct plan_kpi *k = i < p->nkpis ? &p->kpis[i] :
			    &p->revenue;
			const char *kn = cfg->kpis[k->kpi].name;
			bool mine = strcmp(rr->role->name,
			    cfg->roles[k->role].name) == 0;

			for (per = 0; per < PERIOD_COUNT; per++)
				for (d = 0; d < sizeof(days) / sizeof(days[0]);
				    d++) {
					double t = card_target(c2, r, reps[n],
					    kn, (enum period)per, days[d], &has);

					cr_assert_eq(has, mine, "%s %s", reps[n],
					    kn);
					if (!mine)
						continue;
					cr_assert_eq(t, k->value[per],
					    "%s %s %s %s: %g, planned %g",
					    reps[n], kn, caltime_period_name(
					    (enum period)per), days[d], t,
					    k->value[per]);
					seen++;
				}
		}
	}
	/* 2 SDRs x 3 KPIs + 2 AEs x 4 KPIs, 4 periods, 5 days. */
	cr_assert_eq(seen, (2 * 3 + 2 * 4) * 4 * 5);
	roster_free(r);
	config_free(c2);
	free(text);
	free(block);
	plan_free(p);
}
