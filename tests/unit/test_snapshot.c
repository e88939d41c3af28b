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
	n = snapshot_format(rr, cfg, 0, &card, at, true, buf, sizeof(buf));
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
	cr_expect_eq(snapshot_format(rr, cfg, 0, &card, at, false, buf, 16),
	    n + 1);	/* "false" is one byte longer than "true" */
}
