#include "snapshot.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <string.h>

#include "caltime.h"

/* A rep in UTC; Monday 2026-11-23, working hours 09:00-17:00. */
static const char yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: deals, kind: lagging, events: [deal]}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], "
    "working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
    "reps: [{id: r001, team: t, role: sdr}]\n";

static struct config *cfg;
static struct roster *roster;

static void
setup(void)
{
	char *errs = NULL, err[256];

	cfg = config_load_buffer("snapshot.yaml", yaml, sizeof(yaml) - 1, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	roster = roster_new(cfg, err, sizeof(err));
	cr_assert_not_null(roster, "%s", err);
}

static void
teardown(void)
{
	roster_free(roster);
	config_free(cfg);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

Test(snapshot, figures_key_and_final_flag)
{
	const struct roster_rep *rr = roster_rep(roster, "r001");
	struct scorecard_kpi kpis[2];
	struct scorecard card = { .kpis = kpis };
	double actual[2] = { 10, 0 };
	int64_t at;
	char buf[2048], key[256];
	size_t n, kl;
	cJSON *o;

	/* 13:00, half the working day: 20 expected, 10 done, pace 0.5. */
	cr_assert_eq(caltime_parse_rfc3339("2026-11-23T13:00:00Z", 20, &at), 0);
	scorecard_compute(cfg, rr, PERIOD_DAY, at, actual, &card);
	cr_assert(kpis[0].has_target);
	cr_assert(!kpis[1].has_target);
	n = snapshot_format(rr, cfg, 0, &card, at, true, NULL, buf,
	    sizeof(buf));
	cr_assert_lt(n, sizeof(buf));
	o = cJSON_ParseWithLength(buf, n);
	cr_assert_not_null(o, "not JSON: %.*s", (int)n, buf);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "schema")->valuestring,
	    "paced.scorecard");
	cr_expect_eq(cJSON_GetObjectItem(o, "version")->valueint, 1);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "kpi")->valuestring, "calls");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "period_start")->valuestring,
	    "2026-11-23");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "period_end")->valuestring,
	    "2026-11-24");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "at")->valuestring,
	    "2026-11-23T13:00:00.000Z");
	cr_expect_eq(cJSON_GetObjectItem(o, "actual")->valuedouble, 10);
	cr_expect_eq(cJSON_GetObjectItem(o, "target")->valuedouble, 40);
	cr_expect_eq(cJSON_GetObjectItem(o, "expected_to_date")->valuedouble,
	    20);
	cr_expect_eq(cJSON_GetObjectItem(o, "pace")->valuedouble, 0.5);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "status")->valuestring,
	    "behind");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(o, "final")));
	cJSON_Delete(o);

	kl = snapshot_key(rr, cfg, 0, &card, key, sizeof(key));
	cr_assert_lt(kl, sizeof(key));
	key[kl] = '\0';
	cr_expect_str_eq(key, "r001|calls|day|2026-11-23");

	/* Too small a buffer: the length needed, as snprintf says it. */
	cr_expect_eq(snapshot_format(rr, cfg, 0, &card, at, false, NULL,
	    buf, 16),
	    n + 1);	/* "false" is one byte longer than "true" */
}

/*
 * The forecast: an sdr funnel calls -> meetings -> deals with a revenue
 * KPI; targets calls 40 a day, revenue 20,000 a day. Monday 13:00, half
 * the working day: 10 calls so far. Rates used: 0.2 (the rep's), 0.25
 * (the team's), a deal is worth 10,000. By hand: projected_top 10 / 0.5
 * = 20, conversion 0.05, expected_deals 1, expected_revenue 10,000;
 * 2 deals needed, required_activity ceil(2 / 0.05 - 10) = 30.
 */
static const char funnel_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: meetings, kind: leading, events: [meeting]}\n"
    "  - {name: deals, kind: lagging, events: [deal]}\n"
    "  - {name: revenue, kind: lagging, events: [deal], measure: amount}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], "
    "working_hours: \"09:00-17:00\"}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}, revenue: {day: 20000}}, "
    "funnel: [calls, meetings, deals]}}\n"
    "teams: [{id: t, timezone: UTC, calendar: default, manager: m1}]\n"
    "funnel: {revenue: revenue}\n"
    "reps: [{id: r001, team: t, role: sdr}]\n";

static cJSON *
num_of(cJSON *o, const char *name)
{
	cJSON *v = cJSON_GetObjectItem(o, name);

	cr_assert(cJSON_IsNumber(v), "%s is not a number", name);
	return v;
}

Test(snapshot, forecast_by_hand)
{
	char *errs = NULL, err[256], buf[4096];
	struct config *fcfg = config_load_buffer("funnel.yaml", funnel_yaml,
	    sizeof(funnel_yaml) - 1, &errs);
	struct roster *fro;
	const struct roster_rep *rr;
	struct scorecard_kpi kpis[4];
	struct scorecard card = { .kpis = kpis };
	double actual[4] = { 10, 2, 0, 0 };
	struct funnel_cache_rates rates;
	struct snapshot_forecast f;
	cJSON *o, *x, *list, *e;
	int64_t at;
	size_t n;

	cr_assert_not_null(fcfg, "%s", errs ? errs : "");
	fro = roster_new(fcfg, err, sizeof(err));
	cr_assert_not_null(fro, "%s", err);
	rr = roster_rep(fro, "r001");
	cr_assert_eq(caltime_parse_rfc3339("2026-11-23T13:00:00Z", 20, &at), 0);
	scorecard_compute(fcfg, rr, PERIOD_DAY, at, actual, &card);

	memset(&rates, 0, sizeof(rates));
	rates.conv[0].used = (struct funnel_value){ true, 0.2 };
	rates.conv[0].source = FUNNEL_SOURCE_REP;
	rates.conv[1].used = (struct funnel_value){ true, 0.25 };
	rates.conv[1].source = FUNNEL_SOURCE_TEAM;
	rates.deal_size = (struct funnel_value){ true, 10000 };
	rates.window_to = card.bucket.start_day - 1;
	snapshot_forecast(rr, fcfg, &card, &rates, &f);

	/* Every record of the bucket carries it; here the calls record. */
	n = snapshot_format(rr, fcfg, 0, &card, at, false, &f, buf,
	    sizeof(buf));
	cr_assert_lt(n, sizeof(buf));
	o = cJSON_ParseWithLength(buf, n);
	cr_assert_not_null(o, "not JSON: %.*s", (int)n, buf);
	x = cJSON_GetObjectItem(o, "forecast");
	cr_assert(cJSON_IsObject(x), "%.*s", (int)n, buf);
	cr_expect_str_eq(cJSON_GetObjectItem(x, "top_kpi")->valuestring,
	    "calls");
	cr_expect_float_eq(num_of(x, "elapsed_fraction")->valuedouble, 0.5,
	    1e-12);
	cr_expect_float_eq(num_of(x, "top_so_far")->valuedouble, 10, 1e-12);
	cr_expect_float_eq(num_of(x, "projected_top")->valuedouble, 20, 1e-9);
	cr_expect_float_eq(num_of(x, "conversion")->valuedouble, 0.05, 1e-12);
	cr_expect_float_eq(num_of(x, "expected_deals")->valuedouble, 1, 1e-9);
	cr_expect_float_eq(num_of(x, "expected_revenue")->valuedouble, 10000,
	    1e-6);
	cr_expect_str_eq(cJSON_GetObjectItem(x, "target_kpi")->valuestring,
	    "revenue");
	cr_expect_float_eq(num_of(x, "target")->valuedouble, 20000, 1e-9);
	cr_expect_eq(num_of(x, "required_activity")->valuedouble, 30);
	cr_expect_eq(num_of(x, "avg_deal_size")->valuedouble, 10000);
	cr_expect_str_eq(cJSON_GetObjectItem(x, "window_to")->valuestring,
	    "2026-11-22");
	list = cJSON_GetObjectItem(x, "rates");
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	e = cJSON_GetArrayItem(list, 0);
	cr_expect_str_eq(cJSON_GetObjectItem(e, "from")->valuestring, "calls");
	cr_expect_str_eq(cJSON_GetObjectItem(e, "to")->valuestring,
	    "meetings");
	cr_expect_float_eq(num_of(e, "rate_used")->valuedouble, 0.2, 1e-12);
	cr_expect_str_eq(cJSON_GetObjectItem(e, "rate_source")->valuestring,
	    "rep");
	e = cJSON_GetArrayItem(list, 1);
	cr_expect_str_eq(cJSON_GetObjectItem(e, "to")->valuestring, "deals");
	cr_expect_str_eq(cJSON_GetObjectItem(e, "rate_source")->valuestring,
	    "team");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(o, "final")));
	cJSON_Delete(o);

	/* Rates not known yet: null. */
	n = snapshot_format(rr, fcfg, 3, &card, at, false, NULL, buf,
	    sizeof(buf));
	o = cJSON_ParseWithLength(buf, n);
	cr_assert_not_null(o, "not JSON: %.*s", (int)n, buf);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "kpi")->valuestring,
	    "revenue");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(o, "forecast")));
	cJSON_Delete(o);

	roster_free(fro);
	config_free(fcfg);
}

Test(snapshot, no_forecast_without_a_funnel)
{
	const struct roster_rep *rr = roster_rep(roster, "r001");
	struct scorecard_kpi kpis[2];
	struct scorecard card = { .kpis = kpis };
	double actual[2] = { 10, 0 };
	int64_t at;
	char buf[2048];
	size_t n;
	cJSON *o;

	cr_assert_eq(caltime_parse_rfc3339("2026-11-23T13:00:00Z", 20, &at), 0);
	scorecard_compute(cfg, rr, PERIOD_DAY, at, actual, &card);
	n = snapshot_format(rr, cfg, 0, &card, at, false, NULL, buf,
	    sizeof(buf));
	o = cJSON_ParseWithLength(buf, n);
	cr_assert_not_null(o);
	cr_expect_null(cJSON_GetObjectItem(o, "forecast"));
	cJSON_Delete(o);
}
