#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_loop.h"
#include "redis_tls.h"
#include "xmalloc.h"

#define FX(name)	"tests/fixtures/config/" name

/* The part of a minimal valid file after the scalar sections. */
#define TAIL \
	"kpis:\n" \
	"  - {name: calls, kind: leading, events: [call, email]}\n" \
	"roles:\n" \
	"  sdr: {targets: {calls: {day: 50}}}\n" \
	"teams:\n" \
	"  - {id: east, timezone: America/New_York}\n" \
	"reps:\n" \
	"  - {id: r001, team: east, role: sdr}\n"

static struct config *
load_ok(const char *path)
{
	char		*errs = NULL;
	struct config	*c = config_load(path, &errs);

	cr_assert_not_null(c, "%s did not load:\n%s", path,
	    errs != NULL ? errs : "(no message)");
	cr_assert_null(errs);
	return c;
}

/* Returns the owned error text of a file that must not load. */
static char *
load_bad(const char *path)
{
	char		*errs = NULL;
	struct config	*c = config_load(path, &errs);

	cr_assert_null(c, "%s loaded but must not", path);
	cr_assert_not_null(errs);
	return errs;
}

static struct config *
buf_load(const char *text, char **errs)
{
	*errs = NULL;
	return config_load_buffer(FX("buffer.yaml"), text, strlen(text), errs);
}

static size_t
count_lines(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Asserts that line is one whole line of errs. */
static void
assert_line(const char *errs, const char *line)
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

Test(config, contract_example_loads)
{
	struct config	*c = load_ok(FX("contract.yaml"));

	cr_assert_str_eq(c->path, FX("contract.yaml"));
	cr_assert_str_eq(c->kafka.brokers, "127.0.0.1:9092");
	cr_assert_str_eq(c->kafka.group_id, "paced");
	cr_assert_str_eq(c->kafka.topic_activity, "sales.activity");
	cr_assert_str_eq(c->kafka.topic_dlq, "sales.activity.dlq");
	cr_assert_str_eq(c->kafka.topic_alerts, "sales.alerts");
	cr_assert_eq(c->kafka.nproperties, 0);
	cr_assert_str_eq(c->redis.url, "redis://127.0.0.1:6379/0");
	cr_assert_str_eq(c->redis.host, "127.0.0.1");
	cr_assert_eq(c->redis.port, 6379);
	cr_assert_eq(c->redis.db, 0);
	cr_assert_null(c->redis.unix_path);
	cr_assert_null(c->redis.password);
	cr_assert_str_eq(c->redis.key_prefix, "paced");
	cr_assert_eq(c->redis.dedupe_window_ms, 35LL * 86400 * 1000);
	cr_assert_str_eq(c->http.listen, "127.0.0.1:9464");
	cr_assert_str_eq(c->http.host, "127.0.0.1");
	cr_assert_eq(c->http.port, 9464);
	cr_assert_null(c->http.token);
	cr_assert_eq(c->log.level, LOG_LEVEL_INFO);
	cr_assert_eq(c->log.format, LOG_FORMAT_LOGFMT);
	cr_assert_eq(c->clock, CLOCK_MODE_WALL);
	cr_assert_eq(c->unknown_rep, UNKNOWN_REP_SKIP);

	cr_assert_eq(c->nkpis, 5);
	cr_assert_str_eq(c->kpis[0].name, "calls");
	cr_assert_eq(c->kpis[0].kind, KPI_LEADING);
	cr_assert_eq(c->kpis[0].measure, KPI_MEASURE_COUNT);
	cr_assert_eq(c->kpis[0].nevents, 2);
	cr_assert_str_eq(c->kpis[0].events[0], "call");
	cr_assert_str_eq(c->kpis[0].events[1], "email");
	cr_assert_str_eq(c->kpis[3].name, "sales_accepted_opportunities");
	cr_assert_eq(c->kpis[3].kind, KPI_LAGGING);
	cr_assert_str_eq(c->kpis[4].name, "revenue");
	cr_assert_eq(c->kpis[4].measure, KPI_MEASURE_AMOUNT);
	cr_assert_eq(config_kpi_index(c, "revenue"), 4);
	cr_assert_eq(config_kpi_index(c, "nope"), -1);

	cr_assert_eq(c->ncalendars, 1);
	cr_assert_str_eq(c->calendars[0].name, "default");
	cr_assert_eq(c->calendars[0].working_days, 0x1f);
	cr_assert_eq(c->calendars[0].work_start_min, 9 * 60);
	cr_assert_eq(c->calendars[0].work_end_min, 17 * 60);
	cr_assert_eq(c->calendars[0].rules.week_start, 0);
	cr_assert_eq(c->calendars[0].rules.fiscal_year_start, 1);
	cr_assert_eq(c->calendars[0].nholidays, 2);
	/* 2026-01-01 is day 20454; Dec 25 is 358 days later. */
	cr_assert_eq(c->calendars[0].holidays[0], 20454 + 358);
	cr_assert_eq(c->calendars[0].holidays[1], 20454 + 365);

	cr_assert_eq(c->nroles, 1);
	cr_assert_str_eq(c->roles[0].name, "sdr");
	cr_assert_eq(c->roles[0].ntargets, 4);
	cr_assert_eq(c->roles[0].targets[0].kpi, 0);
	cr_assert(c->roles[0].targets[0].set[PERIOD_DAY]);
	cr_assert_float_eq(c->roles[0].targets[0].value[PERIOD_DAY], 50, 1e-9);
	cr_assert_float_eq(c->roles[0].targets[0].value[PERIOD_WEEK], 250,
	    1e-9);
	cr_assert_float_eq(c->roles[0].targets[0].value[PERIOD_MONTH], 1000,
	    1e-9);
	cr_assert_not(c->roles[0].targets[0].set[PERIOD_QUARTER]);
	cr_assert_eq(c->roles[0].targets[2].kpi, 2);
	cr_assert_not(c->roles[0].targets[2].set[PERIOD_DAY]);
	cr_assert_float_eq(c->roles[0].targets[2].value[PERIOD_WEEK], 5, 1e-9);
	cr_assert_eq(c->roles[0].targets[3].kpi, 3);
	cr_assert_float_eq(c->roles[0].targets[3].value[PERIOD_MONTH], 8,
	    1e-9);

	cr_assert_eq(c->nteams, 1);
	cr_assert_str_eq(c->teams[0].id, "east");
	cr_assert_str_eq(c->teams[0].timezone, "America/New_York");
	cr_assert_eq(c->teams[0].calendar, 0);
	cr_assert_str_eq(c->teams[0].manager, "m-east");
	cr_assert_eq(c->nreps, 1);
	cr_assert_str_eq(c->reps[0].id, "r001");
	cr_assert_eq(c->reps[0].team, 0);
	cr_assert_eq(c->reps[0].role, 0);
	cr_assert_str_eq(c->reps[0].manager, "m-east");

	cr_assert(c->alerts.periods[PERIOD_DAY]);
	cr_assert(c->alerts.periods[PERIOD_WEEK]);
	cr_assert_not(c->alerts.periods[PERIOD_MONTH]);
	cr_assert(c->alerts.leading_only);
	cr_assert_float_eq(c->alerts.warning_below, 0.8, 1e-9);
	cr_assert_float_eq(c->alerts.critical_below, 0.5, 1e-9);
	cr_assert_float_eq(c->alerts.grace, 0.2, 1e-9);
	cr_assert_eq(c->alerts.repeat_interval_ms, 4LL * 3600 * 1000);
	cr_assert_eq(c->alerts.evaluate_every_ms, 60 * 1000);
	config_free(c);
}

Test(config, defaults)
{
	struct config	*c = load_ok(FX("minimal.yaml"));

	cr_assert_str_eq(c->kafka.brokers, "127.0.0.1:9092");
	cr_assert_str_eq(c->kafka.group_id, "paced");
	cr_assert_str_eq(c->kafka.topic_activity, "sales.activity");
	cr_assert_str_eq(c->kafka.topic_dlq, "sales.activity.dlq");
	cr_assert_str_eq(c->kafka.topic_alerts, "sales.alerts");
	cr_assert_str_eq(c->redis.url, "redis://127.0.0.1:6379/0");
	cr_assert_str_eq(c->redis.host, "127.0.0.1");
	cr_assert_eq(c->redis.port, 6379);
	cr_assert_null(c->redis.username);
	cr_assert_null(c->redis.password);
	cr_assert_str_eq(c->redis.key_prefix, "paced");
	cr_assert_eq(c->redis.dedupe_window_ms, 3024000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_DAY], 34560000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_WEEK], 69120000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_MONTH], 69120000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_QUARTER], 69120000000LL);
	cr_assert_eq(c->redis.command_timeout_ms, 5000);
	cr_assert_str_eq(c->http.listen, "127.0.0.1:9464");
	cr_assert_eq(c->http.port, 9464);
	cr_assert_null(c->http.token);
	cr_assert_eq(c->log.level, LOG_LEVEL_INFO);
	cr_assert_eq(c->log.format, LOG_FORMAT_LOGFMT);
	cr_assert_eq(c->clock, CLOCK_MODE_WALL);
	cr_assert_eq(c->unknown_rep, UNKNOWN_REP_SKIP);
	cr_assert_eq(c->batch.max_messages, 20000);
	cr_assert_eq(c->batch.max_wait_ms, 10);
	cr_assert_eq(c->dlq.stuck_after_ms, 30000);
	cr_assert(c->alerts.periods[PERIOD_DAY]);
	cr_assert(c->alerts.periods[PERIOD_WEEK]);
	cr_assert_not(c->alerts.periods[PERIOD_MONTH]);
	cr_assert_not(c->alerts.periods[PERIOD_QUARTER]);
	cr_assert(c->alerts.leading_only);
	cr_assert_eq(c->alerts.nkpis, 0);
	cr_assert_float_eq(c->alerts.warning_below, 0.8, 1e-9);
	cr_assert_float_eq(c->alerts.critical_below, 0.5, 1e-9);
	cr_assert_float_eq(c->alerts.grace, 0.2, 1e-9);
	cr_assert_eq(c->alerts.repeat_interval_ms, 14400000);
	cr_assert_eq(c->alerts.evaluate_every_ms, 60000);
	/* No calendars key: a built-in default, Monday to Friday 9 to 5. */
	cr_assert_eq(c->ncalendars, 1);
	cr_assert_str_eq(c->calendars[0].name, "default");
	cr_assert_eq(c->calendars[0].working_days, 0x1f);
	cr_assert_eq(c->calendars[0].work_start_min, 540);
	cr_assert_eq(c->calendars[0].work_end_min, 1020);
	cr_assert_eq(c->calendars[0].nholidays, 0);
	cr_assert_eq(c->teams[0].calendar, 0);
	cr_assert_null(c->teams[0].manager);
	cr_assert_null(c->reps[0].manager);
	cr_assert_eq(c->kpis[0].measure, KPI_MEASURE_COUNT);
	/* Everything added with targets v2 is optional. */
	cr_assert_str_eq(c->kafka.partitioner, "murmur2_random");
	cr_assert_eq(c->kpis[0].better, KPI_BETTER_HIGHER);
	cr_assert_eq(c->roles[0].nschedule, 0);
	cr_assert_null(c->roles[0].schedule);
	cr_assert_eq(c->reps[0].ntargets, 0);
	cr_assert_null(c->reps[0].targets);
	cr_assert_eq(c->reps[0].nschedule, 0);
	cr_assert_eq(c->reps[0].nout_of_office, 0);
	cr_assert_null(c->reps[0].out_of_office);
	cr_assert_eq(c->nmanagers, 0);
	cr_assert_null(c->managers);
	cr_assert_float_eq(c->alerts.ahead_above, 1.1, 1e-9);
	cr_assert(c->alerts.escalate_critical);
	cr_assert_eq(c->alerts.stream_maxlen, 10000);
	cr_assert_eq(c->alerts.reevaluate_per_second, 2000);
	cr_assert_eq(c->alerts.nwebhooks, 0);
	cr_assert_null(c->alerts.webhooks);
	cr_assert_eq(c->boards.flush_every_ms, 250);
	config_free(c);
}

Test(config, every_key_away_from_default)
{
	struct config		*c = load_ok(FX("full.yaml"));
	struct config_calendar	*emea;

	cr_assert_str_eq(c->kafka.brokers,
	    "kafka-1.internal:9092,kafka-2.internal:9092");
	cr_assert_str_eq(c->kafka.group_id, "paced-prod");
	cr_assert_str_eq(c->kafka.topic_activity, "crm.activity");
	cr_assert_str_eq(c->kafka.topic_dlq, "crm.activity.dead");
	cr_assert_str_eq(c->kafka.topic_alerts, "crm.alerts");
	cr_assert_eq(c->kafka.nproperties, 2);
	cr_assert_str_eq(c->kafka.properties[0].key, "session.timeout.ms");
	cr_assert_str_eq(c->kafka.properties[0].value, "6000");
	cr_assert_str_eq(c->kafka.properties[1].key, "fetch.wait.max.ms");
	cr_assert_str_eq(c->kafka.properties[1].value, "20");
	cr_assert_null(c->redis.host);
	cr_assert_str_eq(c->redis.unix_path, "/run/redis/redis.sock");
	cr_assert_eq(c->redis.db, 4);
	cr_assert_str_eq(c->redis.username, "paced");
	cr_assert_str_eq(c->redis.password, "plain-pass");
	cr_assert_str_eq(c->redis.key_prefix, "pace.prod");
	cr_assert_eq(c->redis.dedupe_window_ms, 172800000);
	cr_assert_eq(c->redis.retention_ms[PERIOD_DAY], 2592000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_WEEK], 7776000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_MONTH], 34560000000LL);
	cr_assert_eq(c->redis.retention_ms[PERIOD_QUARTER], 86400000000LL);
	cr_assert_eq(c->redis.command_timeout_ms, 250);
	cr_assert_str_eq(c->http.host, "::1");
	cr_assert_eq(c->http.port, 9500);
	cr_assert_null(c->http.token);
	cr_assert_eq(c->log.level, LOG_LEVEL_DEBUG);
	cr_assert_eq(c->log.format, LOG_FORMAT_JSON);
	cr_assert_eq(c->clock, CLOCK_MODE_EVENT);
	cr_assert_eq(c->unknown_rep, UNKNOWN_REP_DLQ);
	cr_assert_eq(c->batch.max_messages, 100);
	cr_assert_eq(c->batch.max_wait_ms, 2000);
	cr_assert_eq(c->dlq.stuck_after_ms, 45000);

	/* An event type may feed several KPIs. */
	cr_assert_str_eq(c->kpis[2].events[0], "deal_closed");
	cr_assert_str_eq(c->kpis[3].events[0], "deal_closed");

	cr_assert_eq(c->ncalendars, 2);
	emea = &c->calendars[0];
	cr_assert_str_eq(emea->name, "emea");
	/* sun mon tue wed thu: bits 6, 0, 1, 2, 3 */
	cr_assert_eq(emea->working_days, 0x4f);
	cr_assert_eq(emea->work_start_min, 8 * 60 + 30);
	cr_assert_eq(emea->work_end_min, 24 * 60);
	cr_assert_eq(emea->rules.week_start, 6);
	cr_assert_eq(emea->rules.fiscal_year_start, 2);
	/* Sorted and deduplicated: 2026-12-24, 2026-12-25, 2027-01-01. */
	cr_assert_eq(emea->nholidays, 3);
	cr_assert_eq(emea->holidays[0], 20811);
	cr_assert_eq(emea->holidays[1], 20812);
	cr_assert_eq(emea->holidays[2], 20819);
	cr_assert_str_eq(c->calendars[1].name, "default");
	cr_assert_eq(c->calendars[1].working_days, 0x1f);

	cr_assert_str_eq(c->roles[0].name, "ae");
	cr_assert_eq(c->roles[0].ntargets, 2);
	cr_assert_eq(c->roles[0].targets[0].kpi, 1);
	cr_assert_float_eq(c->roles[0].targets[0].value[PERIOD_QUARTER], 120,
	    1e-9);
	cr_assert_eq(c->roles[0].targets[1].kpi, 3);
	cr_assert_not(c->roles[0].targets[1].set[PERIOD_DAY]);
	cr_assert_float_eq(c->roles[0].targets[1].value[PERIOD_QUARTER],
	    250000.5, 1e-9);

	cr_assert_eq(c->teams[0].calendar, 0);
	/* No calendar given: the one named default. */
	cr_assert_eq(c->teams[1].calendar, 1);
	cr_assert_str_eq(c->reps[1].manager, "m-other");

	cr_assert_not(c->alerts.periods[PERIOD_DAY]);
	cr_assert(c->alerts.periods[PERIOD_WEEK]);
	cr_assert(c->alerts.periods[PERIOD_MONTH]);
	cr_assert(c->alerts.periods[PERIOD_QUARTER]);
	cr_assert_not(c->alerts.leading_only);
	cr_assert_eq(c->alerts.nkpis, 2);
	cr_assert_str_eq(c->alerts.kpis[0], "calls");
	cr_assert_str_eq(c->alerts.kpis[1], "revenue");
	cr_assert_float_eq(c->alerts.warning_below, 1, 1e-9);
	cr_assert_float_eq(c->alerts.critical_below, 0.25, 1e-9);
	cr_assert_float_eq(c->alerts.grace, 0, 1e-9);
	cr_assert_eq(c->alerts.repeat_interval_ms, 1800000);
	cr_assert_eq(c->alerts.evaluate_every_ms, 10000);
	config_free(c);
}

Test(config, every_new_key_away_from_default)
{
	struct config			*c = load_ok(FX("full.yaml"));
	const struct config_rep		*r;
	const struct config_schedule	*s;
	const struct config_webhook	*h;

	cr_assert_str_eq(c->kafka.partitioner, "consistent_random");
	cr_assert_eq(c->nkpis, 6);
	cr_assert_eq(c->kpis[3].better, KPI_BETTER_HIGHER);
	cr_assert_str_eq(c->kpis[4].name, "no_shows");
	cr_assert_eq(c->kpis[4].better, KPI_BETTER_LOWER);
	cr_assert_eq(c->kpis[5].better, KPI_BETTER_HIGHER);

	/* Written 2027-02-01 first, then 2026-11-01 (day 20758). */
	cr_assert_eq(c->roles[0].nschedule, 2);
	s = &c->roles[0].schedule[0];
	cr_assert_eq(s->from_day, 20758);
	cr_assert_eq(s->ntargets, 2);
	cr_assert_eq(s->targets[0].kpi, 3);
	cr_assert(s->targets[0].set[PERIOD_QUARTER]);
	cr_assert_not(s->targets[0].set[PERIOD_MONTH]);
	cr_assert_float_eq(s->targets[0].value[PERIOD_QUARTER], 200000, 1e-9);
	cr_assert_eq(s->targets[1].kpi, 4);
	cr_assert_float_eq(s->targets[1].value[PERIOD_MONTH], 4, 1e-9);
	s = &c->roles[0].schedule[1];
	cr_assert_eq(s->from_day, 20850);
	cr_assert_eq(s->ntargets, 1);
	cr_assert_float_eq(s->targets[0].value[PERIOD_QUARTER], 300000, 1e-9);
	cr_assert_eq(c->roles[1].nschedule, 0);

	cr_assert_eq(c->nreps, 3);
	cr_assert_eq(c->reps[0].ntargets, 0);
	r = &c->reps[2];
	cr_assert_str_eq(r->id, "r003");
	cr_assert_eq(r->ntargets, 2);
	cr_assert_eq(r->targets[0].kpi, 0);
	cr_assert_float_eq(r->targets[0].value[PERIOD_DAY], 30, 1e-9);
	cr_assert_float_eq(r->targets[0].value[PERIOD_WEEK], 150, 1e-9);
	cr_assert_not(r->targets[0].set[PERIOD_MONTH]);
	cr_assert_eq(r->targets[1].kpi, 4);
	cr_assert_float_eq(r->targets[1].value[PERIOD_WEEK], 2, 1e-9);
	/* 2026-12-07 (20794) sorts before 2027-01-04 (20822), which sets
	 * nothing: back to the role. */
	cr_assert_eq(r->nschedule, 2);
	cr_assert_eq(r->schedule[0].from_day, 20794);
	cr_assert_eq(r->schedule[0].ntargets, 1);
	cr_assert_float_eq(r->schedule[0].targets[0].value[PERIOD_DAY], 20,
	    1e-9);
	cr_assert_eq(r->schedule[1].from_day, 20822);
	cr_assert_eq(r->schedule[1].ntargets, 0);
	/* 12-31..01-01, 12-24, 12-31 again, 12-30..12-30: four days. */
	cr_assert_eq(r->nout_of_office, 4);
	cr_assert_eq(r->out_of_office[0], 20811);
	cr_assert_eq(r->out_of_office[1], 20817);
	cr_assert_eq(r->out_of_office[2], 20818);
	cr_assert_eq(r->out_of_office[3], 20819);

	cr_assert_eq(c->nmanagers, 3);
	cr_assert_str_eq(c->managers[0].id, "m-emea");
	cr_assert_str_eq(c->managers[0].manager, "cro");
	cr_assert_str_eq(c->managers[1].id, "m-other");
	cr_assert_null(c->managers[1].manager);
	cr_assert_str_eq(c->managers[2].id, "cro");
	cr_assert_null(c->managers[2].manager);

	cr_assert_float_eq(c->alerts.ahead_above, 1.5, 1e-9);
	cr_assert_not(c->alerts.escalate_critical);
	cr_assert_eq(c->alerts.stream_maxlen, 100);
	cr_assert_eq(c->alerts.nwebhooks, 3);
	h = &c->alerts.webhooks[0];
	cr_assert_str_eq(h->url,
	    "http://hooks.example.com:8081/paced/alerts?team=all");
	cr_assert_str_eq(h->token, "tok-123");
	cr_assert_eq(h->timeout_ms, 100);
	cr_assert_eq(h->max_retries, 0);
	cr_assert_not(h->digest);
	h = &c->alerts.webhooks[1];
	cr_assert_str_eq(h->url, "http://[::1]/x");
	cr_assert_null(h->token);
	cr_assert_eq(h->timeout_ms, 60000);
	cr_assert_eq(h->max_retries, 100);
	cr_assert(h->digest);
	/* Nothing but the url: every default. */
	h = &c->alerts.webhooks[2];
	cr_assert_str_eq(h->url, "http://10.0.0.7:80/");
	cr_assert_null(h->token);
	cr_assert_eq(h->timeout_ms, 5000);
	cr_assert_eq(h->max_retries, 10);
	cr_assert(h->digest);
	config_free(c);
}

Test(config, targets_example_loads)
{
	struct config			*c = load_ok(FX("targets.yaml"));
	const struct config_role	*role;
	const struct config_rep		*r;

	cr_assert_str_eq(c->kafka.partitioner, "murmur2_random");
	cr_assert_eq(c->nkpis, 3);
	cr_assert_eq(c->kpis[0].better, KPI_BETTER_HIGHER);
	cr_assert_eq(c->kpis[1].better, KPI_BETTER_HIGHER);
	cr_assert_str_eq(c->kpis[2].name, "no_shows");
	cr_assert_eq(c->kpis[2].better, KPI_BETTER_LOWER);

	role = &c->roles[0];
	cr_assert_eq(role->ntargets, 1);
	cr_assert_float_eq(role->targets[0].value[PERIOD_DAY], 50, 1e-9);
	cr_assert_float_eq(role->targets[0].value[PERIOD_WEEK], 250, 1e-9);
	/* 2026-12-01: 2026-01-01 (20454) + 334. */
	cr_assert_eq(role->nschedule, 1);
	cr_assert_eq(role->schedule[0].from_day, 20788);
	cr_assert_eq(role->schedule[0].ntargets, 1);
	cr_assert_eq(role->schedule[0].targets[0].kpi, 0);
	cr_assert(role->schedule[0].targets[0].set[PERIOD_DAY]);
	cr_assert_not(role->schedule[0].targets[0].set[PERIOD_WEEK]);
	cr_assert_float_eq(role->schedule[0].targets[0].value[PERIOD_DAY], 40,
	    1e-9);

	cr_assert_eq(c->nreps, 2);
	r = &c->reps[0];
	cr_assert_str_eq(r->id, "r007");
	cr_assert_str_eq(r->manager, "m-east");
	cr_assert_eq(r->ntargets, 1);
	cr_assert_eq(r->targets[0].kpi, 1);
	cr_assert(r->targets[0].set[PERIOD_MONTH]);
	cr_assert_not(r->targets[0].set[PERIOD_DAY]);
	cr_assert_float_eq(r->targets[0].value[PERIOD_MONTH], 12, 1e-9);
	/* 09-01 = 20697, 10-01 = 20727, 11-01 = 20758. */
	cr_assert_eq(r->nschedule, 3);
	cr_assert_eq(r->schedule[0].from_day, 20697);
	cr_assert_eq(r->schedule[0].ntargets, 1);
	cr_assert_eq(r->schedule[0].targets[0].kpi, 1);
	cr_assert_float_eq(r->schedule[0].targets[0].value[PERIOD_MONTH], 5,
	    1e-9);
	cr_assert_eq(r->schedule[1].from_day, 20727);
	cr_assert_float_eq(r->schedule[1].targets[0].value[PERIOD_MONTH], 10,
	    1e-9);
	cr_assert_eq(r->schedule[2].from_day, 20758);
	cr_assert_eq(r->schedule[2].ntargets, 0);
	/* 2026-11-26 (20783), then 12-21..12-24 (20808..20811): 4 days. */
	cr_assert_eq(r->nout_of_office, 5);
	cr_assert_eq(r->out_of_office[0], 20783);
	cr_assert_eq(r->out_of_office[1], 20808);
	cr_assert_eq(r->out_of_office[2], 20809);
	cr_assert_eq(r->out_of_office[3], 20810);
	cr_assert_eq(r->out_of_office[4], 20811);
	cr_assert_eq(c->reps[1].ntargets, 0);
	cr_assert_eq(c->reps[1].nschedule, 0);
	cr_assert_eq(c->reps[1].nout_of_office, 0);

	cr_assert_eq(c->nmanagers, 2);
	cr_assert_str_eq(c->managers[0].id, "m-east");
	cr_assert_str_eq(c->managers[0].manager, "vp-sales");
	cr_assert_str_eq(c->managers[1].id, "vp-sales");
	cr_assert_null(c->managers[1].manager);

	cr_assert_float_eq(c->alerts.ahead_above, 1.1, 1e-9);
	cr_assert(c->alerts.escalate_critical);
	cr_assert_eq(c->alerts.stream_maxlen, 10000);
	cr_assert_eq(c->alerts.nwebhooks, 1);
	cr_assert_str_eq(c->alerts.webhooks[0].url,
	    "http://127.0.0.1:8080/paced");
	cr_assert_null(c->alerts.webhooks[0].token);
	cr_assert_eq(c->alerts.webhooks[0].timeout_ms, 5000);
	cr_assert_eq(c->alerts.webhooks[0].max_retries, 10);
	cr_assert(c->alerts.webhooks[0].digest);
	config_free(c);
}

Test(config, targets_errors)
{
	char	*errs = load_bad(FX("targets_bad.yaml"));

	cr_assert_str_eq(errs,
	    FX("targets_bad.yaml") ":2:16: kafka.partitioner: invalid value "
	    "\"murmur3\" (use murmur2_random, murmur2, consistent_random, "
	    "consistent)\n"
	    FX("targets_bad.yaml") ":5:64: kpis[1].better: invalid value "
	    "\"less\" (use higher, lower)\n"
	    FX("targets_bad.yaml") ":11:16: roles.sdr.schedule[1].from: "
	    "duplicate schedule date \"2026-12-01\" (first at 10:16)\n"
	    FX("targets_bad.yaml") ":12:16: roles.sdr.schedule[2].from: "
	    "invalid date \"2026-13-01\" (use YYYY-MM-DD)\n"
	    FX("targets_bad.yaml") ":19:15: reps[0].targets.meetings: unknown "
	    "KPI \"meetings\" (valid: calls, no_shows)\n"
	    FX("targets_bad.yaml") ":20:21: reps[0].out_of_office[0]: range "
	    "\"2026-12-24..2026-12-21\" ends before it starts\n"
	    FX("targets_bad.yaml") ":22:27: managers[0].manager: manager "
	    "cycle: m-east -> vp-sales -> cro -> m-east\n"
	    FX("targets_bad.yaml") ":25:27: managers[3].manager: manager "
	    "\"cfo\" is not listed in managers (did you mean \"cro\"?)\n"
	    FX("targets_bad.yaml") ":28:13: alerts.webhooks[0].url: invalid "
	    "url: unsupported scheme (use https://host[:port]/path or "
	    "http://host[:port]/path)\n"
	    FX("targets_bad.yaml") ":29:53: alerts.webhooks[1].timeout: 90s is "
	    "above the maximum 60s\n");
	free(errs);
}

/* The same sdr role and east team under each case of this file. */
#define TARGETS_HEAD \
	"kpis:\n" \
	"  - {name: calls, kind: leading, events: [call]}\n" \
	"roles: {sdr: {targets: {calls: {day: 50}}}}\n" \
	"teams: [{id: east, timezone: UTC}]\n"

Test(config, out_of_office_forms)
{
	char		*errs;
	struct config	*c = buf_load(TARGETS_HEAD
	    "reps:\n"
	    "  - {id: r1, team: east, role: sdr, out_of_office: []}\n"
	    "  - {id: r2, team: east, role: sdr, out_of_office: null}\n"
	    "  - {id: r3, team: east, role: sdr,\n"
	    "     out_of_office: [2024-02-28..2024-03-01, "
	    "2025-12-31..2026-01-01]}\n"
	    "  - {id: r4, team: east, role: sdr,\n"
	    "     out_of_office: [2026-01-01..2026-12-31, "
	    "2027-01-01..2028-01-01]}\n",
	    &errs);

	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->reps[0].nout_of_office, 0);
	cr_assert_eq(c->reps[1].nout_of_office, 0);
	/* A leap day counts: Feb 28, 29, Mar 1 of 2024 (days 19781..19783),
	 * then a range over a new year (20453, 20454). */
	cr_assert_eq(c->reps[2].nout_of_office, 5);
	cr_assert_eq(c->reps[2].out_of_office[0], 19781);
	cr_assert_eq(c->reps[2].out_of_office[2], 19783);
	cr_assert_eq(c->reps[2].out_of_office[3], 20453);
	cr_assert_eq(c->reps[2].out_of_office[4], 20454);
	/* 365 days, then 366 (2027-01-01..2028-01-01): both at most 366. */
	cr_assert_eq(c->reps[3].nout_of_office, 365 + 366);
	cr_assert_eq(c->reps[3].out_of_office[0], 20454);
	cr_assert_eq(c->reps[3].out_of_office[365 + 365], 20454 + 365 + 365);
	config_free(c);

	c = buf_load(TARGETS_HEAD
	    "reps:\n"
	    "  - id: r1\n"
	    "    team: east\n"
	    "    role: sdr\n"
	    "    out_of_office:\n"
	    "      - 2026-02-30\n"
	    "      - 2026-01-01..2027-01-02\n"
	    "      - 2026-01-01...2026-01-02\n"
	    "      - 2026-01-01..\n"
	    "      - [2026-01-01]\n"
	    "  - {id: r2, team: east, role: sdr, out_of_office: 2026-01-01}\n",
	    &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":10:9: reps[0].out_of_office[0]: invalid date "
	    "\"2026-02-30\" (use YYYY-MM-DD or a range "
	    "YYYY-MM-DD..YYYY-MM-DD)\n"
	    FX("buffer.yaml") ":11:9: reps[0].out_of_office[1]: range "
	    "\"2026-01-01..2027-01-02\" spans 367 days (at most 366)\n"
	    FX("buffer.yaml") ":12:9: reps[0].out_of_office[2]: invalid range "
	    "\"2026-01-01...2026-01-02\" (use YYYY-MM-DD..YYYY-MM-DD)\n"
	    FX("buffer.yaml") ":13:9: reps[0].out_of_office[3]: invalid range "
	    "\"2026-01-01..\" (use YYYY-MM-DD..YYYY-MM-DD)\n"
	    FX("buffer.yaml") ":14:9: reps[0].out_of_office[4]: expected a "
	    "string, got a list\n"
	    FX("buffer.yaml") ":15:52: reps[1].out_of_office: expected a list, "
	    "got a scalar\n");
	free(errs);
}

Test(config, out_of_office_cap)
{
	char		*text, *errs = NULL;
	size_t		 len;
	struct config	*c;

	/* Ten leap years of 366 days reach the cap of 3660; an eleventh is
	 * one too many, reported at that item (lines 10 to 20). */
	text = malloc(4096);
	len = (size_t)sprintf(text, TARGETS_HEAD
	    "reps:\n"
	    "  - id: r1\n"
	    "    team: east\n"
	    "    role: sdr\n"
	    "    out_of_office:\n");
	for (int i = 0; i < 11; i++)
		len += (size_t)sprintf(text + len, "      - %d-01-01..%d-12-31\n",
		    2104 + 4 * i, 2104 + 4 * i);
	c = config_load_buffer(FX("buffer.yaml"), text, len, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":20:9: "
	    "reps[0].out_of_office[10]: more than 3660 out-of-office days\n");
	free(errs);
	free(text);
}

Test(config, schedule_and_override_shapes)
{
	char		*errs;
	struct config	*c = buf_load(TARGETS_HEAD
	    "reps:\n"
	    "  - id: r1\n"
	    "    team: east\n"
	    "    role: sdr\n"
	    "    targets: {calls: {day: -2}}\n"
	    "    schedule:\n"
	    "      - {targets: {calls: {day: 1}}}\n"
	    "      - {from: \"2026-12-01\", targets: {calls: {}}, to: x}\n"
	    "      - 2026-12-01\n"
	    "  - {id: r2, team: east, role: sdr, "
	    "schedule: {from: 2026-12-01}}\n",
	    &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":9:28: reps[0].targets.calls.day: a target "
	    "cannot be negative\n"
	    FX("buffer.yaml") ":11:9: reps[0].schedule[0].from: required key "
	    "is missing\n"
	    FX("buffer.yaml") ":12:47: reps[0].schedule[1].targets.calls: give "
	    "at least one of day, week, month, quarter\n"
	    FX("buffer.yaml") ":12:52: reps[0].schedule[1].to: unknown key "
	    "(valid: from, targets)\n"
	    FX("buffer.yaml") ":13:9: reps[0].schedule[2]: expected a mapping, "
	    "got a scalar\n"
	    FX("buffer.yaml") ":14:47: reps[1].schedule: expected a list, got "
	    "a mapping\n");
	free(errs);
}

Test(config, manager_tree_errors)
{
	char		*errs;
	struct config	*c = buf_load(TARGETS_HEAD
	    "reps: [{id: r1, team: east, role: sdr, manager: m-unlisted}]\n"
	    "managers:\n"
	    "  - {id: solo, manager: solo}\n"
	    "  - {id: b, manager: a}\n"
	    "  - {id: a, manager: b}\n"
	    "  - {id: c, manager: a}\n"
	    "  - {id: c}\n"
	    "  - {id: \"bad id\"}\n"
	    "  - {manager: a}\n", &errs);

	/* A rep's manager need not be listed; a manager's manager must. */
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":7:25: managers[0].manager: manager cycle: "
	    "solo -> solo\n"
	    FX("buffer.yaml") ":8:22: managers[1].manager: manager cycle: "
	    "b -> a -> b\n"
	    FX("buffer.yaml") ":11:10: managers[4].id: duplicate manager id "
	    "\"c\" (first at 10:10)\n"
	    FX("buffer.yaml") ":12:10: managers[5].id: invalid manager id "
	    "\"bad id\" (1 to 128 of A-Z a-z 0-9 . _ @ -)\n"
	    FX("buffer.yaml") ":13:5: managers[6].id: required key is "
	    "missing\n");
	free(errs);
	c = buf_load(TARGETS_HEAD
	    "reps: [{id: r1, team: east, role: sdr}]\n"
	    "managers: []\n", &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->nmanagers, 0);
	config_free(c);
}

Test(config, webhook_urls)
{
	static const char *const ok[] = {
		"http://h/", "http://hooks.example.com/a/b?c=d&e=f",
		"http://10.1.2.3:65535/x", "http://[fe80::1]:8080/p",
		"http://my_host.local/p", "http://${PACED_TEST_HOOK_HOST}/p",
		"https://hooks.slack.com/services/T0/B0/x",
		"https://[::1]:8443/p",
	};
	static const struct {
		const char	*url;
		const char	*why;
	} bad[] = {
		{ "HTTPS://h/p", "unsupported scheme (use https://host[:port]"
		    "/path or http://host[:port]/path)" },
		{ "ftp://h/p", "unsupported scheme (use https://host[:port]"
		    "/path or http://host[:port]/path)" },
		{ "h:80/p", "unsupported scheme (use https://host[:port]"
		    "/path or http://host[:port]/path)" },
		{ "https://h", "missing /path after the host (e.g. "
		    "http://host:8080/paced)" },
		{ "http://h", "missing /path after the host (e.g. "
		    "http://host:8080/paced)" },
		{ "http://h:8080", "missing /path after the host (e.g. "
		    "http://host:8080/paced)" },
		{ "http:///p", "missing host" },
		{ "http://h:0/p", "invalid port (1 to 65535)" },
		{ "http://h:x/p", "invalid port (1 to 65535)" },
		{ "http://::1/p", "write an IPv6 address in brackets: "
		    "[::1]:port" },
		{ "http://[::g]/p", "invalid IPv6 address" },
		{ "http://[::1/p", "missing ] after an IPv6 address" },
		{ "http://300.1.1.1/p", "invalid IPv4 address" },
		{ "http://user:pw@h/p", "user:password@ is not supported "
		    "(give a bearer token with token_file)" },
		{ "http://h!/p", "invalid host name (A-Z a-z 0-9 . - _; an "
		    "IPv6 address goes in brackets)" },
		{ "http://h/a b", "the path holds a space, a control character "
		    "or a #" },
		{ "http://h/a#frag", "the path holds a space, a control "
		    "character or a #" },
	};
	char		 buf[1024], want[512], *errs;
	struct config	*c;

	setenv("PACED_TEST_HOOK_HOST", "hooks.internal:9000", 1);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "alerts: {webhooks: [{url: \"%s\"}]}"
		    "\n" TAIL, ok[i]);
		c = buf_load(buf, &errs);
		cr_assert_not_null(c, "%s: %s", ok[i], errs);
		cr_assert_eq(c->alerts.nwebhooks, 1);
		config_free(c);
	}
	c = buf_load("alerts: {webhooks: [{url: \"http://${PACED_TEST_HOOK_"
	    "HOST}/p\"}]}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(c->alerts.webhooks[0].url,
	    "http://hooks.internal:9000/p");
	config_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "alerts: {webhooks: [{url: \"%s\"}]}"
		    "\n" TAIL, bad[i].url);
		snprintf(want, sizeof(want), FX("buffer.yaml") ":1:27: "
		    "alerts.webhooks[0].url: invalid url: %s\n", bad[i].why);
		c = buf_load(buf, &errs);
		cr_assert_null(c, "%s loaded", bad[i].url);
		cr_assert_str_eq(errs, want);
		free(errs);
	}
}

Test(config, webhook_fields)
{
	char		*errs;
	struct config	*c = buf_load("alerts:\n"
	    "  webhooks:\n"
	    "    - {url: \"http://h/a\", timeout: 99ms, max_retries: 101}\n"
	    "    - {url: \"http://h/a\", digest: yes, max_retries: \"3\"}\n"
	    "    - {token_file: secrets/nope, retries: 3}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":3:36: alerts.webhooks[0].timeout: 99ms is "
	    "below the minimum 100ms\n"
	    FX("buffer.yaml") ":3:55: alerts.webhooks[0].max_retries: 101 is "
	    "out of range (0 to 100)\n"
	    FX("buffer.yaml") ":4:13: alerts.webhooks[1].url: the same url as "
	    "alerts.webhooks[0].url\n"
	    FX("buffer.yaml") ":4:35: alerts.webhooks[1].digest: invalid "
	    "boolean \"yes\" (use true or false)\n"
	    FX("buffer.yaml") ":4:53: alerts.webhooks[1].max_retries: "
	    "expected an integer, got a quoted string\n"
	    FX("buffer.yaml") ":5:7: alerts.webhooks[2].url: required key is "
	    "missing\n"
	    FX("buffer.yaml") ":5:20: alerts.webhooks[2].token_file: cannot "
	    "read " FX("secrets/nope") ": No such file or directory\n"
	    FX("buffer.yaml") ":5:34: alerts.webhooks[2].retries: unknown key "
	    "(valid: url, token_file, timeout, max_retries, digest, ca_file, "
	    "connect_timeout)\n");
	free(errs);
}

/* https webhooks: a CA bundle that must hold a certificate, only for an
 * https url; a connect timeout in bounds. */
Test(config, webhook_tls_fields)
{
	char		*errs;
	struct config	*c = buf_load("alerts:\n"
	    "  webhooks:\n"
	    "    - {url: \"https://h/a\", ca_file: secrets/http_token}\n"
	    "    - {url: \"http://h/b\", ca_file: ca.pem}\n"
	    "    - {url: \"https://h/c\", ca_file: nope.pem, "
	    "connect_timeout: 61s}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":3:37: alerts.webhooks[0].ca_file: "
	    FX("secrets/http_token") " holds no PEM certificate "
	    "(-----BEGIN CERTIFICATE-----)\n"
	    FX("buffer.yaml") ":4:36: alerts.webhooks[1].ca_file: a CA file "
	    "for a url that is not https://\n"
	    FX("buffer.yaml") ":5:37: alerts.webhooks[2].ca_file: cannot read "
	    FX("nope.pem") ": No such file or directory\n"
	    FX("buffer.yaml") ":5:64: alerts.webhooks[2].connect_timeout: 61s "
	    "is above the maximum 60s\n");
	free(errs);
	c = buf_load("alerts:\n"
	    "  webhooks:\n"
	    "    - {url: \"https://hooks.example.com/T0/B0\", ca_file: ca.pem, "
	    "connect_timeout: 2s}\n"
	    "    - {url: \"https://h/d\"}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(c->alerts.webhooks[0].ca_file, FX("ca.pem"));
	cr_assert_eq(c->alerts.webhooks[0].connect_timeout_ms, 2000);
	cr_assert_null(c->alerts.webhooks[1].ca_file);
	cr_assert_eq(c->alerts.webhooks[1].connect_timeout_ms, 5000);
	config_free(c);
}

Test(config, new_alert_scalars)
{
	char		*errs;
	struct config	*c = buf_load("alerts:\n"
	    "  ahead_above: 1\n"
	    "  escalate_critical: \"true\"\n"
	    "  stream_maxlen: 99\n"
	    "  reevaluate_per_second: 0\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":2:16: alerts.ahead_above: 1 is out of range "
	    "(must be > 1)\n"
	    FX("buffer.yaml") ":3:22: alerts.escalate_critical: expected a "
	    "boolean, got a quoted string\n"
	    FX("buffer.yaml") ":4:18: alerts.stream_maxlen: 99 is out of range "
	    "(100 to 10000000)\n"
	    FX("buffer.yaml") ":5:26: alerts.reevaluate_per_second: 0 is out "
	    "of range (1 to 1000000)\n");
	free(errs);
	c = buf_load("alerts: {ahead_above: 25, escalate_critical: False, "
	    "stream_maxlen: 10000000, reevaluate_per_second: 1000000}\n" TAIL,
	    &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_float_eq(c->alerts.ahead_above, 25, 1e-9);
	cr_assert_not(c->alerts.escalate_critical);
	cr_assert_eq(c->alerts.stream_maxlen, 10000000L);
	cr_assert_eq(c->alerts.reevaluate_per_second, 1000000L);
	config_free(c);
	c = buf_load("alerts: {escalate_critical: [true]}\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":1:29: "
	    "alerts.escalate_critical: expected a boolean, got a list\n");
	free(errs);
}

Test(config, board_flush_every)
{
	char		*errs;
	struct config	*c = buf_load("leaderboards:\n"
	    "  flush_every: 5ms\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":2:16: "
	    "leaderboards.flush_every: 5ms is below the minimum 10ms\n");
	free(errs);
	c = buf_load("leaderboards: {flush_every: 1s}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->boards.flush_every_ms, 1000);
	config_free(c);
}

Test(config, partitioner_names)
{
	static const char *const names[] = { "murmur2_random", "murmur2",
	    "consistent_random", "consistent" };
	char		 buf[512], *errs;
	struct config	*c;

	for (size_t i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "kafka: {partitioner: %s}\n" TAIL,
		    names[i]);
		c = buf_load(buf, &errs);
		cr_assert_not_null(c, "%s: %s", names[i], errs);
		cr_assert_str_eq(c->kafka.partitioner, names[i]);
		config_free(c);
	}
	c = buf_load("kafka: {partitioner: random}\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":1:22: kafka.partitioner: "
	    "invalid value \"random\" (use murmur2_random, murmur2, "
	    "consistent_random, consistent)\n");
	free(errs);
}

Test(config, missing_file_names_os_reason)
{
	char	*errs = load_bad(FX("no_such_file.yaml"));

	cr_assert_str_eq(errs, FX("no_such_file.yaml") ": cannot read: "
	    "No such file or directory\n");
	free(errs);
}

Test(config, directory_is_unreadable)
{
	char	*errs = load_bad("tests/fixtures/config");

	cr_assert_str_eq(errs, "tests/fixtures/config: cannot read: "
	    "Is a directory\n");
	free(errs);
}

Test(config, yaml_syntax_error_has_position)
{
	char	*errs = load_bad(FX("syntax.yaml"));

	/* The flow list opened at 3:13 runs into "redis:" on line 4. */
	cr_assert_str_eq(errs, FX("syntax.yaml") ":4:6: YAML syntax error: "
	    "did not find expected ',' or ']' (while parsing a flow sequence "
	    "at 3:13)\n");
	free(errs);
	errs = load_bad(FX("syntax2.yaml"));
	cr_assert_str_eq(errs, FX("syntax2.yaml") ":3:2: YAML syntax error: "
	    "did not find expected key (while parsing a block mapping at "
	    "1:1)\n");
	free(errs);
}

Test(config, bad_utf8_and_other_shapes)
{
	char	*errs = load_bad(FX("badutf8.yaml"));

	cr_assert_str_eq(errs, FX("badutf8.yaml") ":2:4: invalid input: "
	    "invalid leading UTF-8 octet\n");
	free(errs);
	errs = load_bad(FX("twodocs.yaml"));
	cr_assert_str_eq(errs, FX("twodocs.yaml") ":4:1: only one YAML "
	    "document is allowed\n");
	free(errs);
	errs = load_bad(FX("notmap.yaml"));
	cr_assert_str_eq(errs, FX("notmap.yaml") ":1:1: expected a mapping, "
	    "got a list\n");
	free(errs);
	errs = load_bad(FX("empty.yaml"));
	cr_assert_str_eq(errs,
	    FX("empty.yaml") ":1:1: kpis: required key is missing\n"
	    FX("empty.yaml") ":1:1: roles: required key is missing\n"
	    FX("empty.yaml") ":1:1: teams: required key is missing\n"
	    FX("empty.yaml") ":1:1: reps: required key is missing (or give "
	    "roster_file)\n");
	free(errs);
}

Test(config, unknown_keys)
{
	char	*errs = load_bad(FX("unknown_key.yaml"));

	cr_assert_str_eq(errs,
	    FX("unknown_key.yaml") ":3:3: kafka.group: unknown key (valid: "
	    "brokers, group_id, topics, properties, security, partitioner)\n"
	    FX("unknown_key.yaml") ":5:3: redis.dedupe_windw: unknown key "
	    "(did you mean \"dedupe_window\"?)\n");
	free(errs);
}

Test(config, bad_durations)
{
	char	*errs = load_bad(FX("bad_duration.yaml"));

	cr_assert_str_eq(errs,
	    FX("bad_duration.yaml") ":2:18: redis.dedupe_window: invalid "
	    "duration \"35x\" (use 500ms, 30s, 5m, 2h, 35d)\n"
	    FX("bad_duration.yaml") ":4:13: batch.max_wait: invalid duration "
	    "\"5\" (use 500ms, 30s, 5m, 2h, 35d)\n"
	    FX("bad_duration.yaml") ":6:19: alerts.evaluate_every: 500ms is "
	    "below the minimum 1s\n"
	    FX("bad_duration.yaml") ":7:20: alerts.repeat_interval: expected "
	    "a duration, got a list\n");
	free(errs);
}

Test(config, unknown_zone_named)
{
	char	*errs = load_bad(FX("bad_zone.yaml"));

	cr_assert_str_eq(errs, FX("bad_zone.yaml") ":8:15: teams[1].timezone: "
	    "unknown time zone \"Mars/Olympus\"\n");
	free(errs);
}

Test(config, unknown_kpi_in_targets)
{
	char	*errs = load_bad(FX("unknown_kpi.yaml"));

	cr_assert_str_eq(errs,
	    FX("unknown_kpi.yaml") ":8:7: roles.sdr.targets.meetings_hled: "
	    "unknown KPI \"meetings_hled\" (did you mean \"meetings_held\"?)\n"
	    FX("unknown_kpi.yaml") ":9:7: roles.sdr.targets.revenue: unknown "
	    "KPI \"revenue\" (valid: calls, meetings_held)\n");
	free(errs);
}

Test(config, bad_rep_ids)
{
	char	*errs = load_bad(FX("bad_rep_id.yaml"));

	/* reps[4] (an e-mail address) is in the charset and passes. */
	cr_assert_str_eq(errs,
	    FX("bad_rep_id.yaml") ":9:10: reps[1].id: invalid rep id "
	    "\"r 002\" (1 to 128 of A-Z a-z 0-9 . _ @ -)\n"
	    FX("bad_rep_id.yaml") ":10:10: reps[2].id: empty rep id\n"
	    FX("bad_rep_id.yaml") ":11:10: reps[3].id: rep id of 129 bytes is "
	    "too long (at most 128)\n");
	free(errs);
}

Test(config, duplicate_reps)
{
	char	*errs = load_bad(FX("dup_rep.yaml"));

	cr_assert_str_eq(errs,
	    FX("dup_rep.yaml") ":10:10: reps[2].id: duplicate rep id \"r001\" "
	    "(first at 8:10)\n"
	    FX("dup_rep.yaml") ":11:10: reps[3].id: duplicate rep id \"r002\" "
	    "(first at 9:10)\n"
	    FX("dup_rep.yaml") ":12:10: reps[4].id: duplicate rep id \"r001\" "
	    "(first at 8:10)\n");
	free(errs);
}

Test(config, many_errors_collected_in_file_order)
{
	char	*errs = load_bad(FX("multi_errors.yaml"));

	cr_assert_eq(count_lines(errs), 25, "got:\n%s", errs);
	cr_assert(strncmp(errs, FX("multi_errors.yaml") ":3:22: "
	    "kafka.topics.activity: invalid topic name \"bad topic!\"",
	    strlen(FX("multi_errors.yaml") ":3:22: kafka.topics.activity: "
	    "invalid topic name \"bad topic!\"")) == 0, "%s", errs);
	assert_line(errs, FX("multi_errors.yaml") ":5:8: redis.url: invalid "
	    "url: invalid port (1 to 65535)");
	assert_line(errs, FX("multi_errors.yaml") ":8:20: "
	    "redis.command_timeout: 10ms is below the minimum 100ms");
	assert_line(errs, FX("multi_errors.yaml") ":9:14: log.level: invalid "
	    "value \"verbose\" (use error, warn, info, debug)");
	assert_line(errs, FX("multi_errors.yaml") ":10:23: "
	    "batch.max_messages: expected an integer, got a quoted string");
	assert_line(errs, FX("multi_errors.yaml") ":13:25: kpis[1].kind: "
	    "invalid value \"sideways\" (use leading, lagging)");
	assert_line(errs, FX("multi_errors.yaml") ":13:43: kpis[1].events: "
	    "must not be empty");
	assert_line(errs, FX("multi_errors.yaml") ":14:12: kpis[2].name: "
	    "duplicate KPI \"calls\" (first at 12:12)");
	assert_line(errs, FX("multi_errors.yaml") ":14:50: kpis[2].mesure: "
	    "unknown key (did you mean \"measure\"?)");
	assert_line(errs, FX("multi_errors.yaml") ":19:20: "
	    "roles.sdr.targets.calls.day: a target cannot be negative");
	assert_line(errs, FX("multi_errors.yaml") ":22:57: teams[1].calendar: "
	    "unknown calendar \"weekend\" (valid: default)");
	assert_line(errs, FX("multi_errors.yaml") ":25:22: reps[1].team: "
	    "unknown team \"north\" (valid: east, west)");
	assert_line(errs, FX("multi_errors.yaml") ":30:19: "
	    "alerts.critical_below: must be below alerts.warning_below "
	    "(0.5 >= 0.4)");
	assert_line(errs, FX("multi_errors.yaml") ":31:10: alerts.grace: 1 is "
	    "out of range (must be >= 0 and < 1)");
	assert_line(errs, FX("multi_errors.yaml") ":32:17: alerts.kpis[1]: "
	    "unknown KPI \"deals\" (valid: calls)");
	assert_line(errs, FX("multi_errors.yaml") ":33:1: bogus: unknown key "
	    "(valid: kafka, redis, http, log, clock, unknown_rep, batch, dlq, "
	    "analytics, "
	    "kpis, calendars, roles, teams, reps, roster_file, managers, "
	    "alerts, leaderboards, contests, funnel)");
	/* The url's password never shows. */
	cr_assert_null(strstr(errs, "hunter2"));
	free(errs);
}

Test(config, env_expansion)
{
	struct config	*c;

	setenv("PACED_TEST_BROKERS", "k1:9092,k2:9092", 1);
	setenv("PACED_TEST_SUFFIX", "blue", 1);
	setenv("PACED_TEST_REDIS_USER", "app", 1);
	setenv("PACED_TEST_REDIS_PW", "p@ss:w0rd", 1);
	setenv("PACED_TEST_BATCH", "250", 1);
	c = load_ok(FX("env.yaml"));
	cr_assert_str_eq(c->kafka.brokers, "k1:9092,k2:9092");
	/* $${ is a literal ${, never expanded. */
	cr_assert_str_eq(c->kafka.group_id, "paced-blue-${NOT_EXPANDED}");
	cr_assert_str_eq(c->redis.host, "redis.internal");
	cr_assert_eq(c->redis.port, 6380);
	cr_assert_eq(c->redis.db, 2);
	cr_assert_str_eq(c->redis.username, "app");
	cr_assert_str_eq(c->redis.password, "p@ss:w0rd");
	cr_assert_eq(c->batch.max_messages, 250);
	config_free(c);
}

Test(config, env_missing_variable_named)
{
	char	*errs;

	unsetenv("PACED_TEST_UNSET_VAR");
	unsetenv("PACED_TEST_ALSO_UNSET");
	setenv("PACED_TEST_REDIS_PW", "v3ry-s3cret", 1);
	errs = load_bad(FX("env_missing.yaml"));
	cr_assert_str_eq(errs,
	    FX("env_missing.yaml") ":2:12: kafka.brokers: environment "
	    "variable PACED_TEST_UNSET_VAR is not set\n"
	    FX("env_missing.yaml") ":4:13: redis.password: environment "
	    "variable PACED_TEST_ALSO_UNSET is not set\n"
	    FX("env_missing.yaml") ":5:15: redis.key_prefix: bad variable "
	    "name in ${...} (letters, digits and _)\n");
	cr_assert_null(strstr(errs, "v3ry-s3cret"));
	free(errs);
}

Test(config, file_secrets)
{
	struct config	*c = load_ok(FX("secrets.yaml"));
	size_t		 i;

	/* Trailing newlines (and CR) trimmed; relative to the file. */
	cr_assert_str_eq(c->redis.password, "redis-s3cret");
	cr_assert_str_eq(c->redis.username, "paced");
	cr_assert_str_eq(c->http.token, "tok-123");
	cr_assert_str_eq(c->redis.host, "cache.internal");
	cr_assert_eq(c->redis.port, 6379);
	cr_assert_eq(c->redis.db, 3);
	cr_assert_eq(c->kafka.nproperties, 6);
	for (i = 0; i < c->kafka.nproperties; i++)
		if (strcmp(c->kafka.properties[i].key, "sasl.password") == 0)
			break;
	cr_assert_lt(i, c->kafka.nproperties, "sasl.password not set");
	cr_assert_str_eq(c->kafka.properties[i].value, "kafka-s3cret");
	cr_assert_str_eq(c->kafka.properties[5].key, "enable.partition.eof");
	cr_assert_str_eq(c->kafka.properties[5].value, "false");
	config_free(c);
}

Test(config, file_secret_errors_hide_values)
{
	char	*errs = load_bad(FX("secrets_bad.yaml"));

	cr_assert_str_eq(errs,
	    FX("secrets_bad.yaml") ":3:28: kafka.properties."
	    "ssl.key.password_file: " FX("secrets/empty") " is empty\n"
	    FX("secrets_bad.yaml") ":5:5: kafka.properties.sasl.password_file: "
	    "duplicate kafka property \"sasl.password\" (first at 4:5)\n"
	    FX("secrets_bad.yaml") ":8:3: redis.password_file: give "
	    "redis.password or redis.password_file, not both\n"
	    FX("secrets_bad.yaml") ":10:15: http.token_file: cannot read "
	    FX("secrets/nope") ": No such file or directory\n");
	cr_assert_null(strstr(errs, "redis-inline-s3cret"));
	cr_assert_null(strstr(errs, "from-yaml"));
	cr_assert_null(strstr(errs, "kafka-s3cret"));
	cr_assert_null(strstr(errs, "redis-s3cret"));
	free(errs);
}

/*
 * A secret with a CR or LF inside would go out in an AUTH command or an
 * Authorization header as two lines. A file's trailing newlines are
 * trimmed first (http_token ends in two), so only an inner one counts.
 */
Test(config, secret_line_break_refused)
{
	struct config	*c;
	char		*errs;

	setenv("PACED_TEST_PW_CRLF", "pw-part1\r\npw-part2", 1);
	setenv("PACED_TEST_SASL_LF", "sasl-part1\nsasl-part2", 1);
	c = buf_load(
	    "kafka:\n"
	    "  properties: {sasl.password: \"${PACED_TEST_SASL_LF}\"}\n"
	    "redis:\n"
	    "  password: \"${PACED_TEST_PW_CRLF}\"\n"
	    "http:\n"
	    "  token_file: secrets/inner_lf\n"
	    "alerts:\n"
	    "  webhooks:\n"
	    "    - {url: \"http://h/p\", token_file: secrets/inner_cr}\n"
	    "    - {url: \"http://h/q\", token_file: secrets/http_token}\n"
	    TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":2:31: kafka.properties.sasl.password: the "
	    "secret holds a line break (CR or LF): a secret is one line\n"
	    FX("buffer.yaml") ":4:13: redis.password: the secret holds a "
	    "line break (CR or LF): a secret is one line\n"
	    FX("buffer.yaml") ":6:15: http.token_file: "
	    FX("secrets/inner_lf") " holds a line break (CR or LF) before "
	    "its end: a secret is one line\n"
	    FX("buffer.yaml") ":9:39: alerts.webhooks[0].token_file: "
	    FX("secrets/inner_cr") " holds a line break (CR or LF) before "
	    "its end: a secret is one line\n");
	cr_assert_null(strstr(errs, "part"));
	cr_assert_null(strstr(errs, "tok\n"));
	cr_assert_null(strstr(errs, "pa\r"));
	free(errs);
	unsetenv("PACED_TEST_PW_CRLF");
	unsetenv("PACED_TEST_SASL_LF");
}

Test(config, librdkafka_text_surfaced)
{
	char	*errs = load_bad(FX("bad_property.yaml"));

	cr_assert_str_eq(errs,
	    FX("bad_property.yaml") ":3:25: kafka.properties.session.timeout.ms: "
	    "Invalid value for configuration property \"session.timeout.ms\"\n"
	    FX("bad_property.yaml") ":4:5: kafka.properties.no.such.property: "
	    "No such configuration property: \"no.such.property\"\n"
	    FX("bad_property.yaml") ":5:23: kafka.properties.compression.type: "
	    "Invalid value \"zstd-ish\" for configuration property "
	    "\"compression.codec\"\n"
	    FX("bad_property.yaml") ":6:5: kafka.properties.bootstrap.servers: "
	    "set kafka.brokers instead\n"
	    FX("bad_property.yaml") ":7:5: "
	    "kafka.properties.enable.auto.offset.store: managed by paced: "
	    "offsets are stored only once Redis has applied the events\n");
	free(errs);
}

Test(config, secret_masked_in_librdkafka_text)
{
	char		*errs;
	struct config	*c = buf_load("kafka: {properties: "
	    "{compression.type_file: secrets/bogus_codec}}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":1:45: "
	    "kafka.properties.compression.type_file: Invalid value \"***\" for "
	    "configuration property \"compression.codec\"\n");
	free(errs);
}

Test(config, roster_file_good)
{
	struct config	*c = load_ok(FX("roster.yaml"));

	cr_assert_eq(c->nreps, 3);
	cr_assert_str_eq(c->reps[0].id, "r001");
	cr_assert_str_eq(c->reps[0].manager, "m-east");
	/* Blanks around fields trimmed, CRLF accepted, empty manager. */
	cr_assert_str_eq(c->reps[1].id, "r002");
	cr_assert_eq(c->reps[1].team, 0);
	cr_assert_eq(c->reps[1].role, 1);
	cr_assert_null(c->reps[1].manager);
	cr_assert_str_eq(c->reps[2].id, "r003");
	cr_assert_eq(c->reps[2].team, 1);
	cr_assert_eq(c->reps[2].role, 0);
	cr_assert_str_eq(c->reps[2].manager, "m-west");
	/* The CSV has no columns for overrides, ramps or absences. */
	for (size_t i = 0; i < c->nreps; i++) {
		cr_assert_eq(c->reps[i].ntargets, 0);
		cr_assert_eq(c->reps[i].nschedule, 0);
		cr_assert_eq(c->reps[i].nout_of_office, 0);
	}
	config_free(c);
}

Test(config, roster_file_many_rows)
{
	struct config	*c = load_ok(FX("roster_big.yaml"));

	cr_assert_eq(c->nreps, 200);
	cr_assert_str_eq(c->reps[0].id, "r001");
	cr_assert_eq(c->reps[0].team, 0);
	cr_assert_null(c->reps[0].manager);
	cr_assert_str_eq(c->reps[199].id, "r200");
	cr_assert_eq(c->reps[199].team, 1);
	cr_assert_eq(c->reps[199].role, 1);
	cr_assert_str_eq(c->reps[199].manager, "m-west");
	config_free(c);
}

Test(config, roster_file_errors)
{
	char	*errs = load_bad(FX("roster_bad.yaml"));

	cr_assert_str_eq(errs,
	    FX("roster_bad.csv") ":3: unknown team \"north\" (valid: east, "
	    "west)\n"
	    FX("roster_bad.csv") ":4: invalid rep id \"bad id\" (1 to 128 of "
	    "A-Z a-z 0-9 . _ @ -)\n"
	    FX("roster_bad.csv") ":5: duplicate rep id \"r001\" (first at "
	    "line 2)\n"
	    FX("roster_bad.csv") ":6: expected 4 fields (rep_id,team,role,"
	    "manager), got 2\n"
	    FX("roster_bad.csv") ":7: unknown role \"cfo\" (valid: ae, sdr)\n"
	    FX("roster_bad.csv") ":7: invalid manager id \"m x\" (1 to 128 of "
	    "A-Z a-z 0-9 . _ @ -)\n");
	free(errs);
	errs = load_bad(FX("roster_header.yaml"));
	cr_assert_str_eq(errs, FX("roster_header.csv") ":1: the first line "
	    "must be the header rep_id,team,role,manager\n");
	free(errs);
	errs = load_bad(FX("roster_missing.yaml"));
	cr_assert_str_eq(errs, FX("roster_missing.yaml") ":7:14: roster_file: "
	    "cannot read " FX("no_such_roster.csv") ": No such file or "
	    "directory\n");
	free(errs);
	errs = load_bad(FX("roster_both.yaml"));
	cr_assert_str_eq(errs, FX("roster_both.yaml") ":9:1: roster_file: "
	    "give reps or roster_file, not both\n");
	free(errs);
}

Test(config, redis_url_forms)
{
	static const struct {
		const char	*url;
		const char	*host;
		int		 port;
		const char	*unix_path;
		const char	*user;
		const char	*pass;
		int		 db;
	} ok[] = {
		{ "redis://h", "h", 6379, NULL, NULL, NULL, 0 },
		{ "redis://h:7000/15", "h", 7000, NULL, NULL, NULL, 15 },
		{ "redis://u:p%40ss@h:1/", "h", 1, NULL, "u", "p@ss", 0 },
		{ "redis://:only-pass@10.0.0.1", "10.0.0.1", 6379, NULL, NULL,
		    "only-pass", 0 },
		{ "redis://[::1]:6390/1", "::1", 6390, NULL, NULL, NULL, 1 },
		{ "unix:///tmp/r.sock", NULL, 0, "/tmp/r.sock", NULL, NULL, 0 },
		{ "unix:///tmp/r.sock?db=7", NULL, 0, "/tmp/r.sock", NULL, NULL,
		    7 },
	};
	static const char *const bad[] = {
		"redi://h", "redis://", "redis://h:0", "redis://h:x",
		"redis://h/db", "unix://relative.sock", "unix:///s?x=1",
		"redis://u:%zz@h", "redis://::1:80", "redis://h?x",
	};
	char		 buf[1024], *errs;
	struct config	*c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "redis: {url: \"%s\"}\n" TAIL,
		    ok[i].url);
		c = buf_load(buf, &errs);
		cr_assert_not_null(c, "%s: %s", ok[i].url, errs);
		if (ok[i].host == NULL)
			cr_assert_null(c->redis.host);
		else
			cr_assert_str_eq(c->redis.host, ok[i].host);
		cr_assert_eq(c->redis.port, ok[i].port, "%s", ok[i].url);
		if (ok[i].unix_path == NULL)
			cr_assert_null(c->redis.unix_path);
		else
			cr_assert_str_eq(c->redis.unix_path, ok[i].unix_path);
		if (ok[i].user == NULL)
			cr_assert_null(c->redis.username);
		else
			cr_assert_str_eq(c->redis.username, ok[i].user);
		if (ok[i].pass == NULL)
			cr_assert_null(c->redis.password);
		else
			cr_assert_str_eq(c->redis.password, ok[i].pass);
		cr_assert_eq(c->redis.db, ok[i].db, "%s", ok[i].url);
		config_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "redis: {url: \"%s\"}\n" TAIL,
		    bad[i]);
		c = buf_load(buf, &errs);
		cr_assert_null(c, "%s loaded", bad[i]);
		cr_assert(strncmp(errs, FX("buffer.yaml") ":1:14: redis.url: "
		    "invalid url: ", strlen(FX("buffer.yaml") ":1:14: "
		    "redis.url: invalid url: ")) == 0, "%s", errs);
		cr_assert_eq(count_lines(errs), 1, "%s", errs);
		free(errs);
	}
}

Test(config, url_credentials_overridden)
{
	char		*errs;
	struct config	*c = buf_load("redis:\n"
	    "  url: \"redis://urluser:urlpass@h:1/2\"\n"
	    "  username: other\n"
	    "  password: better\n" TAIL, &errs);

	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(c->redis.username, "other");
	cr_assert_str_eq(c->redis.password, "better");
	config_free(c);
}

Test(config, redis_cluster_forms)
{
	char		*errs;
	struct config	*c;

	c = buf_load("redis: {url: \"redis://:pw@h1:7000\"}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_expect(!c->redis.cluster);
	cr_expect_eq(c->redis.nseeds, 0);
	config_free(c);

	/* true: the url's node is the one seed. */
	c = buf_load("redis: {url: \"redis://:pw@h1:7000\", cluster: true}\n"
	    TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_expect(c->redis.cluster);
	cr_assert_eq(c->redis.nseeds, 1);
	cr_expect_str_eq(c->redis.seeds[0].host, "h1");
	cr_expect_eq(c->redis.seeds[0].port, 7000);
	cr_expect_str_eq(c->redis.password, "pw");
	config_free(c);

	c = buf_load("redis:\n  cluster:\n    - \"redis://a:7001\"\n"
	    "    - \"redis://[::1]:7002/0\"\n    - \"redis://b\"\n" TAIL,
	    &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_expect(c->redis.cluster);
	cr_assert_eq(c->redis.nseeds, 3);
	cr_expect_str_eq(c->redis.seeds[0].host, "a");
	cr_expect_eq(c->redis.seeds[0].port, 7001);
	cr_expect_str_eq(c->redis.seeds[1].host, "::1");
	cr_expect_eq(c->redis.seeds[2].port, 6379);
	config_free(c);

	c = buf_load("redis: {cluster: false}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_expect(!c->redis.cluster);
	config_free(c);
}

Test(config, redis_cluster_errors)
{
	static const struct {
		const char	*yaml;
		const char	*err;
	} bad[] = {
		{ "redis: {cluster: []}\n",
		    ":1:18: redis.cluster: must not be empty" },
		{ "redis: {cluster: \"true\"}\n",
		    ":1:18: redis.cluster: expected true, false or a list of "
		    "redis:// urls, got a quoted string" },
		{ "redis: {cluster: [\"unix:///tmp/r.sock\"]}\n",
		    ":1:19: redis.cluster[0]: a cluster seed must be a "
		    "redis://host:port url, not a unix socket" },
		{ "redis: {cluster: [\"redis://u:p@h:1\"]}\n",
		    ":1:19: redis.cluster[0]: give credentials in redis.url, "
		    "redis.username or redis.password, not in a seed url" },
		{ "redis: {cluster: [\"redis://h:1/3\"]}\n",
		    ":1:19: redis.cluster[0]: Redis Cluster has database 0 "
		    "only (the url names 3)" },
		{ "redis: {cluster: [\"redis://h:0\"]}\n",
		    ":1:19: redis.cluster[0]: invalid url: " },
		{ "redis: {cluster: {a: 1}}\n",
		    ":1:18: redis.cluster: expected true, false or a list of "
		    "redis:// urls" },
		{ "redis: {cluster: [\"rediss://h:1\"]}\n",
		    ":1:18: redis.cluster: seed 0 is rediss:// but redis.url "
		    "is redis://: every node is reached the same way, with "
		    "redis.url's scheme" },
		{ "redis: {url: \"redis://h:1/2\", cluster: true}\n",
		    ":1:14: redis.url: Redis Cluster has database 0 only (the "
		    "url names 2)" },
		{ "redis: {url: \"unix:///tmp/r.sock\", cluster: true}\n",
		    ":1:14: redis.url: Redis Cluster (redis.cluster) needs a "
		    "redis://host:port url, not a unix socket" },
	};
	char		 buf[1024], want[512], *errs;
	struct config	*c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s" TAIL, bad[i].yaml);
		c = buf_load(buf, &errs);
		cr_assert_null(c, "%s loaded", bad[i].yaml);
		snprintf(want, sizeof(want), FX("buffer.yaml") "%s",
		    bad[i].err);
		cr_expect(strncmp(errs, want, strlen(want)) == 0,
		    "%s: got %s want %s", bad[i].yaml, errs, want);
		cr_expect_eq(count_lines(errs), 1, "%s", errs);
		free(errs);
	}
}

Test(config, http_listen_forms)
{
	char		*errs;
	struct config	*c = buf_load("http: {listen: \"0.0.0.0:0\"}\n" TAIL,
	    &errs);

	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(c->http.host, "0.0.0.0");
	cr_assert_eq(c->http.port, 0);
	config_free(c);
	c = buf_load("http: {listen: localhost}\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":1:16: http.listen: invalid "
	    "address \"localhost\": missing :port\n");
	free(errs);
	c = buf_load("http: {listen: \"::1:80\"}\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":1:16: http.listen: invalid "
	    "address \"::1:80\": write an IPv6 address in brackets: "
	    "[::1]:port\n");
	free(errs);
}

Test(config, strict_types)
{
	char		*errs;
	struct config	*c = buf_load("batch: {max_messages: 5000.5}\n"
	    "alerts: {grace: .nan, warning_below: \"0.9\"}\n"
	    "log: {level: [info]}\n"
	    "clock: null\n"
	    "kafka: {brokers: {a: 1}}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":1:23: batch.max_messages: invalid integer "
	    "\"5000.5\"\n"
	    FX("buffer.yaml") ":2:17: alerts.grace: invalid number \".nan\"\n"
	    FX("buffer.yaml") ":2:38: alerts.warning_below: expected a number, "
	    "got a quoted string\n"
	    FX("buffer.yaml") ":3:14: log.level: expected a string, got a "
	    "list\n"
	    FX("buffer.yaml") ":4:8: clock: a value is required\n"
	    FX("buffer.yaml") ":5:18: kafka.brokers: expected a string, got a "
	    "mapping\n");
	free(errs);
}

Test(config, duplicate_keys)
{
	char		*errs;
	struct config	*c = buf_load("kafka:\n"
	    "  brokers: \"a:1\"\n"
	    "  brokers: \"b:1\"\n"
	    "calendars:\n"
	    "  default: {}\n"
	    "  default: {}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":3:3: kafka.brokers: duplicate key (first at "
	    "2:3)\n"
	    FX("buffer.yaml") ":6:3: calendars.default: duplicate key "
	    "\"default\" (first at 5:3)\n");
	free(errs);
}

Test(config, calendar_errors)
{
	char		*errs;
	struct config	*c = buf_load("calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, mon, funday]\n"
	    "    working_hours: \"17:00-09:00\"\n"
	    "    week_start: monday\n"
	    "    fiscal_year_start: 13\n"
	    "    holidays: [\"2026-02-30\"]\n"
	    "  other: {working_hours: \"9-5\", working_days: []}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":3:30: calendars.default.working_days[2]: "
	    "\"mon\" is listed twice\n"
	    FX("buffer.yaml") ":3:35: calendars.default.working_days[3]: "
	    "invalid value \"funday\" (use mon, tue, wed, thu, fri, sat, sun)\n"
	    FX("buffer.yaml") ":4:20: calendars.default.working_hours: the "
	    "start of \"17:00-09:00\" is not before its end\n"
	    FX("buffer.yaml") ":5:17: calendars.default.week_start: invalid "
	    "value \"monday\" (use mon, tue, wed, thu, fri, sat, sun)\n"
	    FX("buffer.yaml") ":6:24: calendars.default.fiscal_year_start: "
	    "invalid value \"13\" (use jan, feb, mar, apr, may, jun, jul, aug, "
	    "sep, oct, nov, dec)\n"
	    FX("buffer.yaml") ":7:16: calendars.default.holidays[0]: invalid "
	    "date \"2026-02-30\" (use YYYY-MM-DD)\n"
	    FX("buffer.yaml") ":8:26: calendars.other.working_hours: invalid "
	    "hours \"9-5\" (use HH:MM-HH:MM, e.g. 09:00-17:00)\n"
	    FX("buffer.yaml") ":8:47: calendars.other.working_days: must not "
	    "be empty\n");
	free(errs);
}

Test(config, team_without_default_calendar)
{
	char		*errs;
	struct config	*c = buf_load("calendars: {emea: {}}\n" TAIL, &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":7:5: teams[0].calendar: "
	    "required key is missing (no calendar is named default)\n");
	free(errs);
	/* A null calendar is the same as none: the one named default. */
	c = buf_load("calendars: {x: {}, default: {}}\n"
	    "kpis: [{name: calls, kind: leading, events: [call]}]\n"
	    "roles: {sdr: {}}\n"
	    "teams: [{id: east, timezone: UTC, calendar: null}]\n"
	    "reps: []\n", &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_eq(c->teams[0].calendar, 1);
	cr_assert_eq(c->nreps, 0);
	config_free(c);
}

Test(config, required_fields_in_items)
{
	char		*errs;
	struct config	*c = buf_load(
	    "kpis:\n"
	    "  - {name: calls, events: [call]}\n"
	    "roles: {sdr: {targets: {calls: {}}}}\n"
	    "teams:\n"
	    "  - {id: east}\n"
	    "reps:\n"
	    "  - {id: r001, team: east}\n", &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":2:5: kpis[0].kind: required key is missing\n"
	    FX("buffer.yaml") ":3:32: roles.sdr.targets.calls: give at least "
	    "one of day, week, month, quarter\n"
	    FX("buffer.yaml") ":5:5: teams[0].timezone: required key is "
	    "missing\n"
	    FX("buffer.yaml") ":7:5: reps[0].role: required key is missing\n");
	free(errs);
}

Test(config, alerts_kpis_forms)
{
	char		*errs;
	struct config	*c = buf_load("alerts: {kpis: all}\n" TAIL, &errs);

	cr_assert_not_null(c, "%s", errs);
	cr_assert_not(c->alerts.leading_only);
	cr_assert_eq(c->alerts.nkpis, 0);
	config_free(c);
	c = buf_load("alerts: {kpis: some, periods: [day, day, year]}\n" TAIL,
	    &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":1:16: alerts.kpis: invalid value \"some\" "
	    "(use leading, all)\n"
	    FX("buffer.yaml") ":1:37: alerts.periods[1]: \"day\" is listed "
	    "twice\n"
	    FX("buffer.yaml") ":1:42: alerts.periods[2]: invalid value "
	    "\"year\" (use day, week, month, quarter)\n");
	free(errs);
}

Test(config, too_many_errors_stop)
{
	char		*text, *errs = NULL;
	size_t		 len = 0;
	struct config	*c;

	text = malloc(200 * 16 + 1);
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, "bogus%03d: 1\n", i);
	c = config_load_buffer("big.yaml", text, len, &errs);
	cr_assert_null(c);
	cr_assert_eq(count_lines(errs), 101);
	cr_assert(strstr(errs, "big.yaml:100:1: bogus099: unknown key") !=
	    NULL);
	cr_assert_null(strstr(errs, "bogus100"));
	cr_assert(strstr(errs, "\nbig.yaml: too many errors, stopping\n") !=
	    NULL);
	free(errs);
	free(text);
}

Test(config, errors_append_to_existing_text)
{
	char		*errs = strdup("before\n");
	struct config	*c = config_load(FX("bad_zone.yaml"), &errs);

	cr_assert_null(c);
	cr_assert_str_eq(errs, "before\n" FX("bad_zone.yaml") ":8:15: "
	    "teams[1].timezone: unknown time zone \"Mars/Olympus\"\n");
	free(errs);
	/* A NULL errs is allowed and simply drops the text. */
	cr_assert_null(config_load(FX("bad_zone.yaml"), NULL));
	config_free(NULL);
}

Test(config, reload_check)
{
	char		*errs, err[256];
	struct config	*a = load_ok(FX("minimal.yaml"));
	struct config	*b = buf_load("log: {level: debug}\n"
	    "batch: {max_messages: 10}\n" TAIL, &errs);
	struct config	*d = buf_load("kafka: {brokers: \"other:9092\", "
	    "properties: {linger.ms: 5}}\n"
	    "clock: event\n" TAIL, &errs);

	cr_assert_not_null(b, "%s", errs);
	cr_assert_not_null(d, "%s", errs);
	cr_assert_eq(config_reloadable(a, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "");
	cr_assert_eq(config_reloadable(a, d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "needs a restart to change: kafka.brokers, "
	    "kafka.properties, clock");
	config_free(a);
	config_free(b);
	config_free(d);
}

Test(config, reload_new_keys)
{
	char		*errs, err[256];
	struct config	*a = load_ok(FX("targets.yaml"));
	struct config	*b, *d;
	char		*text;

	/* Every new key changed but the partitioner: a SIGHUP may do it. */
	b = buf_load("kpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email], "
	    "better: lower}\n"
	    "  - {name: meetings_scheduled, kind: leading, "
	    "events: [meeting_scheduled]}\n"
	    "  - {name: no_shows, kind: leading, events: [no_show]}\n"
	    "roles: {sdr: {targets: {calls: {day: 1}}, "
	    "schedule: [{from: 2027-01-01}]}}\n"
	    "teams: [{id: east, timezone: America/New_York}]\n"
	    "reps: [{id: r007, team: east, role: sdr, targets: {calls: "
	    "{day: 2}}, out_of_office: [2027-01-05], schedule: []}]\n"
	    "managers: [{id: x}]\n"
	    "alerts: {ahead_above: 2, escalate_critical: false, "
	    "stream_maxlen: 500, webhooks: [{url: \"http://h/x\"}]}\n",
	    &errs);
	cr_assert_not_null(b, "%s", errs);
	cr_assert_eq(config_reloadable(a, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "");

	/* The same file with another partitioner. */
	{
		FILE	*f = fopen(FX("targets.yaml"), "r");
		size_t	 len;
		char	*p;

		cr_assert_not_null(f);
		text = calloc(1, 8192);
		len = fread(text, 1, 8191, f);
		fclose(f);
		cr_assert_gt(len, 0);
		p = strstr(text, "murmur2_random");
		cr_assert_not_null(p);
		memcpy(p, "consistent    ", 14);
	}
	d = buf_load(text, &errs);
	cr_assert_not_null(d, "%s", errs);
	cr_assert_str_eq(d->kafka.partitioner, "consistent");
	cr_assert_eq(config_reloadable(a, d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "needs a restart to change: kafka.partitioner");
	free(text);
	config_free(a);
	config_free(b);
	config_free(d);
}

Test(config, shipped_example_loads)
{
	struct config	*c = load_ok("config/paced.example.yaml");

	cr_assert_gt(c->nkpis, 0);
	cr_assert_gt(c->nreps, 0);
	config_free(c);
}

Test(config, dev_config_loads)
{
	struct config	*c;

	setenv("PACED_BROKERS", "127.0.0.1:39092", 1);
	setenv("PACED_REDIS_URL", "redis://127.0.0.1:46379/0", 1);
	setenv("PACED_HTTP_LISTEN", "127.0.0.1:49464", 1);
	setenv("PACED_WEBHOOK_URL", "http://127.0.0.1:49465/paced", 1);
	setenv("PACED_CONTEST_FROM", "2026-11-30", 1);
	setenv("PACED_CONTEST_TO", "2026-12-06", 1);
	c = load_ok("config/dev.yaml");
	cr_assert_eq(c->ncontests, 2);
	cr_assert_str_eq(c->contests[0].id, "call-race");
	cr_assert_eq(c->contests[0].nmembers, 18);
	cr_assert(c->contests[1].teams);
	cr_assert_str_eq(c->kafka.brokers, "127.0.0.1:39092");
	cr_assert_eq(c->redis.port, 46379);
	cr_assert_eq(c->http.port, 49464);
	cr_assert_eq(c->nkpis, 8);
	cr_assert_str_eq(c->kpis[6].name, "deals_closed");
	cr_assert_eq(c->kpis[6].measure, KPI_MEASURE_COUNT);
	cr_assert_str_eq(c->kpis[7].name, "revenue");
	cr_assert_eq(c->kpis[7].measure, KPI_MEASURE_AMOUNT);
	cr_assert_str_eq(c->kpis[7].events[0], "deal_closed");
	cr_assert_eq(c->nteams, 5);
	cr_assert_str_eq(c->teams[4].timezone, "Australia/Sydney");
	cr_assert_eq(c->nreps, 60);
	for (size_t i = 0; i < 60; i++) {
		char	 id[8];

		snprintf(id, sizeof(id), "r%03zu", i + 1);
		cr_assert_str_eq(c->reps[i].id, id);
		cr_assert_eq(c->reps[i].team, i / 12, "%s", id);
	}
	cr_assert_str_eq(c->teams[0].id, "east");
	cr_assert_str_eq(c->teams[1].id, "central");
	cr_assert_str_eq(c->teams[2].id, "west");
	cr_assert_str_eq(c->teams[3].id, "emea");
	cr_assert_str_eq(c->teams[4].id, "apac");
	cr_assert_str_eq(c->teams[0].manager, "m-east");
	cr_assert_eq(c->alerts.evaluate_every_ms, 10000);
	cr_assert_eq(c->alerts.nwebhooks, 1);
	cr_assert_str_eq(c->alerts.webhooks[0].url, "http://127.0.0.1:49465/paced");
	/* Every team manager reports to vp-sales, who reports to nobody. */
	cr_assert_eq(c->nmanagers, 6);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_str_eq(c->managers[i].id, c->teams[i].manager);
		cr_assert_str_eq(c->managers[i].manager, "vp-sales");
	}
	cr_assert_str_eq(c->managers[5].id, "vp-sales");
	cr_assert_null(c->managers[5].manager);
	/* r002: 2026-11-27 (20784) and 2026-12-21..24 (20808..20811). */
	cr_assert_eq(c->reps[1].nout_of_office, 5);
	cr_assert_eq(c->reps[1].out_of_office[0], 20784);
	cr_assert_eq(c->reps[1].out_of_office[4], 20811);
	/* r009's ramp: 10, 20, 30 from October, then the role's 40. */
	cr_assert_eq(c->reps[8].nschedule, 4);
	cr_assert_eq(c->reps[8].schedule[1].from_day, 20758);
	cr_assert_eq(c->reps[8].schedule[1].targets[0].kpi, 2);
	cr_assert_float_eq(c->reps[8].schedule[1].targets[0].value[
	    PERIOD_MONTH], 20, 1e-9);
	cr_assert_eq(c->reps[8].schedule[3].ntargets, 0);
	for (size_t i = 0; i < 60; i++)
		if (i != 1 && i != 8)
			cr_assert(c->reps[i].nschedule == 0 &&
			    c->reps[i].nout_of_office == 0 &&
			    c->reps[i].ntargets == 0, "r%03zu", i + 1);
	config_free(c);
}

/* The alert trust keys: defaults, values, and what is refused. */
Test(config, alert_trust_keys)
{
	char		*errs = NULL;
	struct config	*c = buf_load(TAIL, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(c->alerts.min_breach_ms, 15 * 60000);
	cr_expect_eq(c->alerts.min_breach_evals, 2);
	cr_expect_float_eq(c->alerts.resolve_margin, 0.05, 1e-12);
	cr_expect_eq(c->alerts.max_per_manager_per_day, 20);
	cr_expect_eq(c->alerts.quiet_mode, QUIET_ALL);
	config_free(c);

	c = buf_load(TAIL "alerts: {min_breach: 0s, min_breach_evaluations: 1,"
	    " resolve_margin: 0, max_per_manager_per_day: 0,"
	    " quiet_hours: [east]}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(c->alerts.min_breach_ms, 0);
	cr_expect_eq(c->alerts.quiet_mode, QUIET_LISTED);
	cr_assert_eq(c->alerts.nquiet_teams, 1);
	cr_expect_str_eq(c->alerts.quiet_teams[0], "east");
	config_free(c);

	c = buf_load(TAIL "alerts: {quiet_hours: none}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(c->alerts.quiet_mode, QUIET_NONE);
	config_free(c);

	cr_assert_null(buf_load(TAIL "alerts: {quiet_hours: [west],"
	    " min_breach_evaluations: 0}\n", &errs));
	cr_expect_not_null(strstr(errs, "alerts.quiet_hours[0]: unknown team "
	    "\"west\" (did you mean \"east\"?)"), "%s", errs);
	cr_expect_not_null(strstr(errs, "alerts.min_breach_evaluations"), "%s",
	    errs);
	free(errs);
}

/* Scheduled digests: off by default; times parsed; bad ones refused
 * with their place. */
Test(config, digest_keys)
{
	char		*errs = NULL;
	struct config	*c = buf_load(TAIL, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_not(c->alerts.digest_morning);
	cr_expect_not(c->alerts.digest_weekly);
	cr_expect_not(c->alerts.positive_news);
	config_free(c);

	c = buf_load(TAIL "alerts:\n  digest: {morning: \"08:30\", weekly: "
	    "\"fri 16:05\", positive_news: true}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect(c->alerts.digest_morning);
	cr_expect_eq(c->alerts.digest_morning_min, 8 * 60 + 30);
	cr_expect(c->alerts.digest_weekly);
	cr_expect_eq(c->alerts.digest_weekly_dow, 4);
	cr_expect_eq(c->alerts.digest_weekly_min, 16 * 60 + 5);
	cr_expect(c->alerts.positive_news);
	config_free(c);

	c = buf_load(TAIL "alerts:\n  digest: {morning: null, weekly: ~}\n",
	    &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_not(c->alerts.digest_morning);
	cr_expect_not(c->alerts.digest_weekly);
	config_free(c);

	cr_assert_null(buf_load(TAIL "alerts:\n  digest: {morning: \"24:00\", "
	    "weekly: \"friday 4pm\", positive_news: 3}\n", &errs));
	cr_expect_not_null(strstr(errs, "alerts.digest.morning: expected a "
	    "local time \"HH:MM\" (00:00..23:59) or null, got \"24:00\""),
	    "%s", errs);
	cr_expect_not_null(strstr(errs, "alerts.digest.weekly: expected "
	    "\"<weekday> HH:MM\""), "%s", errs);
	cr_expect_not_null(strstr(errs, "alerts.digest.positive_news"), "%s",
	    errs);
	cr_expect_not_null(strstr(errs, "buffer.yaml:"), "no place in %s", errs);
	free(errs);
	errs = NULL;
	cr_assert_null(buf_load(TAIL "alerts:\n  digest: {weekly: \"fri 7:00\","
	    " morning: [1]}\n", &errs));
	cr_expect_not_null(strstr(errs, "\"fri 7:00\""), "%s", errs);
	cr_expect_not_null(strstr(errs, "alerts.digest.morning"), "%s", errs);
	free(errs);
}

Test(config, http_connection_limits)
{
	char		*errs, err[256];
	struct config	*a = buf_load(TAIL, &errs);
	struct config	*b, *bad;

	cr_assert_not_null(a, "%s", errs);
	cr_assert_eq(a->http.max_connections, 256);
	cr_assert_eq(a->http.idle_timeout_ms, 10000);
	b = buf_load("http: {max_connections: 8, idle_timeout: 1500ms}\n" TAIL,
	    &errs);
	cr_assert_not_null(b, "%s", errs);
	cr_assert_eq(b->http.max_connections, 8);
	cr_assert_eq(b->http.idle_timeout_ms, 1500);
	cr_assert_eq(config_reloadable(a, b, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "needs a restart to change: http.max_connections, "
	    "http.idle_timeout");
	bad = buf_load("http: {max_connections: 0, idle_timeout: 10ms}\n" TAIL,
	    &errs);
	cr_assert_null(bad);
	cr_assert_not_null(strstr(errs, "http.max_connections"), "%s", errs);
	cr_assert_not_null(strstr(errs, "http.idle_timeout: 10ms is below the "
	    "minimum 1s"), "%s", errs);
	free(errs);
	config_free(a);
	config_free(b);
}

/*
 * The keys docs/config.md documents: the first cell, `in backquotes`, of
 * each row of a table whose header starts "| key |", in its "## Keys"
 * part. Field tables ("| field |") describe items of a list, not keys.
 */
static size_t
doc_keys(char ***out)
{
	FILE	*f = fopen("docs/config.md", "r");
	char	 line[4096], **v = NULL;
	size_t	 n = 0, lineno = 0;
	bool	 in_keys = false, in_table = false;

	cr_assert_not_null(f, "cannot open docs/config.md");
	while (fgets(line, sizeof(line), f) != NULL) {
		const char	*p, *end;

		lineno++;
		if (strncmp(line, "## ", 3) == 0) {
			in_keys = strcmp(line, "## Keys\n") == 0;
			in_table = false;
			continue;
		}
		if (!in_keys)
			continue;
		if (line[0] != '|') {
			in_table = false;
			continue;
		}
		if (strncmp(line, "| key |", 7) == 0) {
			in_table = true;
			continue;
		}
		if (!in_table || strncmp(line, "|---", 4) == 0)
			continue;
		p = line + 1 + strspn(line + 1, " ");
		end = *p == '`' ? strchr(p + 1, '`') : NULL;
		cr_assert(end != NULL && end[1 + strspn(end + 1, " ")] == '|',
		    "docs/config.md:%zu: a key row starts with `key`", lineno);
		v = realloc(v, (n + 1) * sizeof(*v));
		cr_assert_not_null(v);
		v[n] = strndup(p + 1, (size_t)(end - p - 1));
		cr_assert_not_null(v[n]);
		n++;
	}
	fclose(f);
	*out = v;
	return n;
}

/* docs/config.md and the key table name the same keys. */
Test(config, docs_name_every_key)
{
	char		**docs;
	size_t		  ndocs = doc_keys(&docs), nkeys = 0;
	const char	 *path, *doc;
	int		  rc;

	cr_assert_gt(ndocs, 0, "docs/config.md: no key tables found");
	for (size_t i = 0; (rc = config_key(i, &path, &doc)) >= 0; i++) {
		size_t	 plen = strlen(path), j;

		nkeys++;
		cr_expect(doc != NULL && *doc != '\0' &&
		    strchr(doc, '\n') == NULL, "%s has no line of doc", path);
		for (j = 0; j < ndocs; j++) {
			if (rc == 0 && strcmp(docs[j], path) == 0)
				break;
			/* A section is documented by the keys under it. */
			if (rc == 1 && strncmp(docs[j], path, plen) == 0 &&
			    docs[j][plen] == '.')
				break;
		}
		cr_expect_lt(j, ndocs, "%s %s is not in docs/config.md",
		    rc == 1 ? "section" : "key", path);
	}
	cr_assert_gt(nkeys, 0);
	for (size_t j = 0; j < ndocs; j++) {
		bool	 found = false;

		for (size_t i = 0; config_key(i, &path, &doc) >= 0; i++)
			if (strcmp(docs[j], path) == 0 &&
			    config_key(i, &path, &doc) == 0)
				found = true;
		cr_expect(found, "docs/config.md documents %s, which is not a "
		    "key", docs[j]);
		for (size_t k = 0; k < j; k++)
			cr_expect_str_neq(docs[k], docs[j], "docs/config.md "
			    "documents %s twice", docs[j]);
	}
	for (size_t j = 0; j < ndocs; j++)
		free(docs[j]);
	free(docs);
}

/* The value of librdkafka property key in c's kafka.properties, or NULL. */
static const char *
property(const struct config *c, const char *key)
{
	for (size_t i = 0; i < c->kafka.nproperties; i++)
		if (strcmp(c->kafka.properties[i].key, key) == 0)
			return c->kafka.properties[i].value;
	return NULL;
}

/*
 * kafka.security becomes librdkafka properties that every Kafka client of
 * paced gets: checked on the conf the consumer and the producer build.
 */
Test(config, kafka_security_reaches_librdkafka)
{
	char		*errs, buf[512];
	size_t		 len = sizeof(buf);
	struct config	*c = buf_load("kafka:\n"
	    "  properties: {session.timeout.ms: 6000}\n"
	    "  security:\n"
	    "    protocol: sasl_ssl\n"
	    "    sasl_mechanism: SCRAM-SHA-512\n"
	    "    username: paced\n"
	    "    password_file: secrets/kafka_password\n"
	    "    ca_file: ca.pem\n" TAIL, &errs);
	rd_kafka_conf_t	*conf;
	char		 err[256];

	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(property(c, "security.protocol"), "sasl_ssl");
	cr_assert_str_eq(property(c, "sasl.mechanism"), "SCRAM-SHA-512");
	cr_assert_str_eq(property(c, "sasl.username"), "paced");
	cr_assert_str_eq(property(c, "sasl.password"), "kafka-s3cret");
	cr_assert_str_eq(property(c, "ssl.ca.location"), FX("ca.pem"));
	cr_assert_str_eq(property(c, "session.timeout.ms"), "6000");
	conf = rd_kafka_conf_new();
	cr_assert_eq(kafka_conf_properties(conf, c, false, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(rd_kafka_conf_get(conf, "security.protocol", buf, &len),
	    RD_KAFKA_CONF_OK);
	cr_expect_str_eq(buf, "sasl_ssl");
	len = sizeof(buf);
	cr_assert_eq(rd_kafka_conf_get(conf, "sasl.mechanisms", buf, &len),
	    RD_KAFKA_CONF_OK);
	cr_expect_str_eq(buf, "SCRAM-SHA-512");
	len = sizeof(buf);
	cr_assert_eq(rd_kafka_conf_get(conf, "sasl.username", buf, &len),
	    RD_KAFKA_CONF_OK);
	cr_expect_str_eq(buf, "paced");
	len = sizeof(buf);
	cr_assert_eq(rd_kafka_conf_get(conf, "ssl.ca.location", buf, &len),
	    RD_KAFKA_CONF_OK);
	cr_expect_str_eq(buf, FX("ca.pem"));
	rd_kafka_conf_destroy(conf);
	config_free(c);

	/* TLS alone, with the system's CAs. */
	c = buf_load("kafka: {security: {protocol: ssl}}\n" TAIL, &errs);
	cr_assert_not_null(c, "%s", errs);
	cr_assert_str_eq(property(c, "security.protocol"), "ssl");
	cr_assert_null(property(c, "sasl.username"));
	config_free(c);
}

/* Combinations that cannot work are refused at file:line, and the
 * password never shows. */
Test(config, kafka_security_bad_combinations)
{
	char		*errs;
	struct config	*c = buf_load("kafka:\n"
	    "  properties: {security.protocol: ssl}\n"
	    "  security:\n"
	    "    protocol: sasl_ssl\n"
	    "    sasl_mechanism: GSSAPI\n" TAIL, &errs);

	cr_assert_null(c);
	/* An invalid mechanism is reported as such, not as missing. */
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":4:15: kafka.security.protocol: sasl_ssl needs "
	    "kafka.security.username\n"
	    FX("buffer.yaml") ":4:15: kafka.security.protocol: sasl_ssl needs "
	    "kafka.security.password_file\n"
	    FX("buffer.yaml") ":4:15: kafka.security.protocol: kafka.properties "
	    "sets security.protocol too: give it in one place\n"
	    FX("buffer.yaml") ":5:21: kafka.security.sasl_mechanism: invalid "
	    "value \"GSSAPI\" (use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)\n");
	free(errs);

	c = buf_load("kafka:\n"
	    "  security:\n"
	    "    protocol: ssl\n"
	    "    username: paced\n"
	    "    password_file: secrets/kafka_password\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":4:15: kafka.security.username: only with "
	    "protocol sasl_plaintext or sasl_ssl (kafka.security.protocol is "
	    "ssl)\n"
	    FX("buffer.yaml") ":5:20: kafka.security.password_file: only with "
	    "protocol sasl_plaintext or sasl_ssl (kafka.security.protocol is "
	    "ssl)\n");
	cr_assert_null(strstr(errs, "kafka-s3cret"));
	free(errs);

	c = buf_load("kafka:\n"
	    "  security:\n"
	    "    ca_file: ca.pem\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":3:14: kafka.security.ca_file: needs "
	    "kafka.security.protocol (ssl, sasl_plaintext or sasl_ssl)\n");
	free(errs);

	c = buf_load("kafka:\n"
	    "  security: {protocol: sasl_plaintext, sasl_mechanism: PLAIN, "
	    "username: u, password_file: secrets/kafka_password, "
	    "ca_file: ca.pem}\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs,
	    FX("buffer.yaml") ":2:124: kafka.security.ca_file: only with "
	    "protocol ssl or sasl_ssl (kafka.security.protocol is "
	    "sasl_plaintext)\n");
	free(errs);
}

/*
 * rediss:// needs a hiredis with TLS: this build (Debian 12's hiredis
 * 0.14) refuses it at config check, with the reason at file:line; a build
 * against hiredis 1.x with hiredis_ssl takes it. redis.ca_file goes with
 * rediss:// only.
 */
Test(config, rediss_url)
{
	char		*errs;
	struct config	*c = buf_load("redis:\n"
	    "  url: \"rediss://redis.internal:6380/0\"\n"
	    "  ca_file: ca.pem\n" TAIL, &errs);

	if (redis_tls_supported()) {
		cr_assert_not_null(c, "%s", errs);
		cr_expect(c->redis.tls);
		cr_expect_str_eq(c->redis.ca_file, FX("ca.pem"));
		config_free(c);
	} else {
		char	*want = xasprintf(FX("buffer.yaml") ":2:8: redis.url: "
		    "rediss:// (TLS) needs hiredis 1.0 or later built with TLS "
		    "(hiredis_ssl); this paced is built against hiredis %s: use "
		    "redis:// on a private network or a unix socket, or build "
		    "against hiredis 1.x\n", redis_tls_hiredis_version());

		cr_assert_null(c);
		cr_assert_str_eq(errs, want);
		cr_expect_str_eq(redis_tls_hiredis_version(), "0.14");
		free(want);
		free(errs);
	}
	c = buf_load("redis:\n"
	    "  url: \"redis://127.0.0.1:6379/0\"\n"
	    "  ca_file: ca.pem\n" TAIL, &errs);
	cr_assert_null(c);
	cr_assert_str_eq(errs, FX("buffer.yaml") ":3:12: redis.ca_file: a CA "
	    "file for a url that is not rediss://\n");
	free(errs);
}

/* A role's funnel and the funnel block: defaults, a good file, errors
 * with file:line. */
#define FUNNEL_KPIS \
	"kpis:\n" \
	"  - {name: calls, kind: leading, events: [call]}\n" \
	"  - {name: meetings, kind: leading, events: [meeting]}\n" \
	"  - {name: deals, kind: lagging, events: [deal]}\n" \
	"  - {name: revenue, kind: lagging, events: [deal], measure: amount}\n" \
	"  - {name: no_shows, kind: leading, events: [no_show], better: lower}\n"
#define FUNNEL_TAIL \
	"teams:\n" \
	"  - {id: east, timezone: UTC}\n" \
	"reps:\n" \
	"  - {id: r001, team: east, role: sdr}\n"

Test(config, funnel_keys)
{
	char		*errs = NULL;
	struct config	*c = buf_load(TAIL, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(c->funnel.window_ms, 30LL * 86400000);
	cr_expect_eq(c->funnel.min_volume, 20);
	cr_expect_eq(c->funnel.coaching_below, 0.8);
	cr_expect_not(c->funnel.has_revenue);
	cr_expect_eq(c->roles[0].nfunnel, 0);
	config_free(c);

	c = buf_load(FUNNEL_KPIS
	    "roles:\n"
	    "  sdr: {funnel: [calls, meetings, deals]}\n"
	    FUNNEL_TAIL
	    "funnel: {window: 14d, min_volume: 5, coaching_below: 0.5, "
	    "revenue: revenue}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(c->funnel.window_ms, 14LL * 86400000);
	cr_expect_eq(c->funnel.min_volume, 5);
	cr_expect_eq(c->funnel.coaching_below, 0.5);
	cr_expect(c->funnel.has_revenue);
	cr_expect_eq(c->funnel.revenue_kpi, 3);
	cr_assert_eq(c->roles[0].nfunnel, 3);
	cr_expect_eq(c->roles[0].funnel[0], 0);
	cr_expect_eq(c->roles[0].funnel[1], 1);
	cr_expect_eq(c->roles[0].funnel[2], 2);
	config_free(c);

	cr_assert_null(buf_load(FUNNEL_KPIS
	    "roles:\n"
	    "  sdr: {funnel: [calls, meetingz, calls, revenue, no_shows]}\n"
	    "  ae: {funnel: [calls]}\n"
	    FUNNEL_TAIL
	    "funnel: {window: 36h, min_volume: 0, coaching_below: 1.5, "
	    "revenue: deals}\n", &errs));
	assert_line(errs, FX("buffer.yaml") ":8:25: roles.sdr.funnel[1]: "
	    "unknown KPI \"meetingz\" (did you mean \"meetings\"?)");
	assert_line(errs, FX("buffer.yaml") ":8:35: roles.sdr.funnel[2]: "
	    "\"calls\" is listed twice");
	assert_line(errs, FX("buffer.yaml") ":8:42: roles.sdr.funnel[3]: "
	    "a funnel step is a count KPI where higher is better "
	    "(\"revenue\" is not)");
	assert_line(errs, FX("buffer.yaml") ":8:51: roles.sdr.funnel[4]: "
	    "a funnel step is a count KPI where higher is better "
	    "(\"no_shows\" is not)");
	assert_line(errs, FX("buffer.yaml") ":9:16: roles.ae.funnel: "
	    "a funnel has 2 to 16 KPIs, top first (got 1)");
	assert_line(errs, FX("buffer.yaml") ":14:18: funnel.window: "
	    "the window is whole days (like 30d)");
	cr_expect_not_null(strstr(errs, "funnel.window: the window is whole "
	    "days"), "%s", errs);
	cr_expect_not_null(strstr(errs, "funnel.min_volume"), "%s", errs);
	cr_expect_not_null(strstr(errs, "funnel.coaching_below"), "%s", errs);
	cr_expect_not_null(strstr(errs, "funnel.revenue: the revenue KPI has "
	    "measure: amount (\"deals\" counts)"), "%s", errs);
	free(errs);
}

Test(config, funnel_coaching_keys)
{
	char		*errs = NULL;
	struct config	*c = buf_load(TAIL, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_not(c->funnel.coaching);
	cr_expect_eq(c->funnel.coaching_days, 2);
	cr_expect_eq(c->funnel.coaching_margin, 0.05);
	config_free(c);

	/* coaching_below 1 stays valid while coaching is off. */
	c = buf_load(TAIL "funnel: {coaching_below: 1}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	config_free(c);

	c = buf_load(TAIL "alerts:\n  digest: {morning: \"08:30\"}\n"
	    "funnel: {coaching: true, coaching_days: 3, coaching_margin: 0.1}\n",
	    &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect(c->funnel.coaching);
	cr_expect_eq(c->funnel.coaching_days, 3);
	cr_expect_eq(c->funnel.coaching_margin, 0.1);
	config_free(c);

	cr_assert_null(buf_load(TAIL "funnel:\n  coaching: true\n"
	    "  coaching_days: 0\n", &errs));
	assert_line(errs, FX("buffer.yaml") ":10:13: funnel.coaching: the "
	    "coaching list goes out in the morning digest: set "
	    "alerts.digest.morning");
	cr_expect_not_null(strstr(errs, "funnel.coaching_days"), "%s", errs);
	free(errs);

	cr_assert_null(buf_load(TAIL "alerts:\n  digest: {morning: \"08:30\"}\n"
	    "funnel:\n  coaching: true\n  coaching_below: 0.9\n"
	    "  coaching_margin: 0.2\n", &errs));
	assert_line(errs, FX("buffer.yaml") ":14:20: funnel.coaching_margin: "
	    "with funnel.coaching, coaching_below + coaching_margin is at "
	    "most 1 (0.9 + 0.2): a listed step would clear only above its "
	    "team's rate");
	free(errs);
}

Test(config, funnel_reloads)
{
	char		*errs = NULL, err[256];
	struct config	*old = buf_load(TAIL, &errs), *c;

	cr_assert_not_null(old, "%s", errs ? errs : "");
	c = buf_load(TAIL "funnel: {window: 7d, min_volume: 3}\n", &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	cr_expect_eq(config_reloadable(old, c, err, sizeof(err)), 0,
	    "funnel keys reload: %s", err);
	config_free(c);
	config_free(old);
}
