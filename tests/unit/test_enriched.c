#include "enriched.h"

#include <criterion/criterion.h>
#include <string.h>

#include "caltime.h"
#include "classify.h"

/* A rep in Tokyo (UTC+9), weeks from Sunday, fiscal year from February:
 * 20:00Z on Sunday 2026-11-22 is Monday the 23rd there. */
static const char yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: revenue, kind: lagging, events: [call], measure: amount}\n"
    "calendars: {default: {working_days: [mon, tue, wed, thu, fri], "
    "working_hours: \"09:00-17:00\", week_start: sun, fiscal_year_start: feb}}\n"
    "roles: {sdr: {targets: {calls: {day: 40}}}}\n"
    "teams: [{id: t, timezone: Asia/Tokyo, calendar: default, manager: m1}]\n"
    "reps: [{id: r001, team: t, role: sdr}]\n";

static struct config *cfg;
static struct roster *roster;

static void
setup(void)
{
	char *errs = NULL, err[256];

	cfg = config_load_buffer("enriched.yaml", yaml, sizeof(yaml) - 1, &errs);
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

/* Classifies line and formats it as the ingest would hand it over. */
static size_t
format(const char *line, char *buf, size_t cap)
{
	struct classified c;
	struct enriched_event ee;

	classify(roster, line, strlen(line), 0, INT64_MAX, &c);
	cr_assert_eq(c.outcome, CLASSIFY_COUNTED);
	ee = (struct enriched_event){
		.cfg = cfg, .ev = &c.ev, .rep = c.rep, .kpis = c.kpis,
		.nkpis = c.nkpis, .local_day = c.local_day,
		.topic = "sales.activity", .partition = 2, .offset = 41,
		.received_ms = 1795377600123LL,	/* 2026-11-22T20:00:00.123Z */
	};
	return enriched_format(&ee, buf, cap);
}

TestSuite(enriched, .init = setup, .fini = teardown);

Test(enriched, normalized_fields_and_buckets)
{
	char buf[2048];
	size_t n = format("{\"event_id\":\"e\\\"1\\u0001\",\"rep_id\":\"r001\","
	    "\"type\":\"call\",\"occurred_at\":\"2026-11-22T20:00:00Z\","
	    "\"count\":3,\"amount\":12.5,\"team_id\":\"other\"}", buf,
	    sizeof(buf));

	cr_assert_lt(n, sizeof(buf));
	buf[n] = '\0';
	cr_assert_str_eq(buf, "{\"schema\":\"paced.enriched\",\"version\":1,"
	    "\"event_id\":\"e\\\"1\\u0001\",\"rep_id\":\"r001\",\"type\":\"call\","
	    "\"occurred_at\":\"2026-11-22T20:00:00.000Z\",\"count\":3,"
	    "\"amount\":12.5,\"kpis\":[\"calls\",\"revenue\"],\"team_id\":\"t\","
	    "\"manager_id\":\"m1\",\"role\":\"sdr\",\"timezone\":\"Asia/Tokyo\","
	    "\"local_date\":\"2026-11-23\",\"buckets\":{\"day\":\"2026-11-23\","
	    "\"week\":\"2026-11-22\",\"month\":\"2026-11-01\","
	    "\"quarter\":\"2026-11-01\"},"
	    "\"received_at\":\"2026-11-22T20:00:00.123Z\","
	    "\"source\":{\"topic\":\"sales.activity\",\"partition\":2,"
	    "\"offset\":41}}");
}

Test(enriched, short_buffer_reports_the_length_needed)
{
	char big[2048], small[40];
	const char *line = "{\"event_id\":\"e2\",\"rep_id\":\"r001\","
	    "\"type\":\"call\",\"occurred_at\":\"2026-11-22T20:00:00Z\"}";
	size_t n = format(line, big, sizeof(big));
	size_t m = format(line, small, sizeof(small));

	cr_assert_eq(m, n);
	cr_assert(memcmp(big, small, sizeof(small)) == 0);
	big[n] = '\0';
	cr_assert_not_null(strstr(big, "\"amount\":null"));
}
