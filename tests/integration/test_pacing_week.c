/*
 * The pacing engine over one simulated week on the event clock, against
 * the real daemon, redis-server and the dev broker. tests/tools/gen_week.py
 * writes the week (three reps: on pace, slow then catching up, silent from
 * Wednesday; and a fourth whose late-Friday call carries the clock past the
 * last boundary) and, from the documented rules, every alert message the
 * daemon must publish. The alerts topic must hold exactly those, in order,
 * each once; so must the Redis stream; /v1/alerts must list what still
 * fires; Redis must hold the exact counters.
 *
 * The same week again with the daemon stopped once Wednesday is applied
 * (SIGKILL, then SIGTERM) and started again: the topic must end the same.
 * Killed at a moment of its choosing, the daemon may publish an alert
 * twice (publishing and recording it are two writes, to Kafka and Redis),
 * never lose or change one; the same with redis-server stalled past the
 * command timeout instead. And the week already waiting in the topic when
 * the daemon starts must give the same alerts.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "partitioner.h"

#define MAX_REPORT	12

static void
week_stack(const char *name)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	char *args[] = { "--now", now, "--split-after", "wed", NULL };
	const cJSON *reps, *r;
	int32_t first = -1, p;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cr_assert_eq(harness_setup(name), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen_script("gen_week.py", args), 0);

	/* On the event clock a boundary is judged when the first later event
	 * arrives, so the week must be consumed in time order: every rep in
	 * one partition, the one paced-produce (murmur2) picks. */
	reps = cJSON_GetObjectItemCaseSensitive(harness_expected(), "reps");
	cr_assert(cJSON_IsArray(reps));
	cJSON_ArrayForEach(r, reps) {
		p = partitioner_pick(PARTITIONER_MURMUR2, r->valuestring,
		    strlen(r->valuestring), HARNESS_PARTITIONS);
		if (first == -1)
			first = p;
		cr_assert_eq(p, first, "%s is in partition %d, not %d",
		    r->valuestring, p, first);
	}
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static bool
same_str(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* One line for a report: "evaluated_at rep period status severity reason". */
static void
describe(const cJSON *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s/%s %s %s %s actual %g",
	    str(a, "evaluated_at"), str(a, "rep_id"), str(a, "kpi"),
	    str(a, "period"), str(a, "status"), str(a, "severity"),
	    str(a, "reason") != NULL ? str(a, "reason") : "-",
	    num(a, "actual"));
}

/* Differences between one published alert and its expected form; logs
 * them (up to the report budget) and returns their number. */
static int
compare_alert(size_t i, const cJSON *want, const cJSON *got, int *reported)
{
	static const char *const fields[] = { "rep_id", "kpi", "period",
	    "status", "severity", "reason", "evaluated_at", "period_start",
	    "period_end" };
	static const char *const figures[] = { "expected_to_date", "pace",
	    "projected", "required_rate", "remaining" };
	const cJSON *wn, *gn;
	int bad = 0;
	double w, g;

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		if (same_str(str(want, fields[f]), str(got, fields[f])))
			continue;
		bad++;
		if ((*reported)++ < MAX_REPORT)
			harness_log("alert %zu: %s is %s, expected %s", i,
			    fields[f], str(got, fields[f]) ?
			    str(got, fields[f]) : "(none)",
			    str(want, fields[f]));
	}
	if (!same_str(str(got, "team_id"), "central") ||
	    !same_str(str(got, "manager_id"), "m-central")) {
		bad++;
		if ((*reported)++ < MAX_REPORT)
			harness_log("alert %zu: team %s manager %s", i,
			    str(got, "team_id"), str(got, "manager_id"));
	}
	if (num(want, "actual") != num(got, "actual") ||
	    num(want, "target") != num(got, "target")) {
		bad++;
		if ((*reported)++ < MAX_REPORT)
			harness_log("alert %zu: actual/target %g/%g, expected "
			    "%g/%g", i, num(got, "actual"), num(got, "target"),
			    num(want, "actual"), num(want, "target"));
	}
	/* Figures computed in floating point: equal to 1e-9, or both null. */
	for (size_t f = 0; f < sizeof(figures) / sizeof(figures[0]); f++) {
		const cJSON *wf = cJSON_GetObjectItemCaseSensitive(want,
		    figures[f]);
		const cJSON *gf = cJSON_GetObjectItemCaseSensitive(got,
		    figures[f]);

		if (cJSON_IsNull(wf) && cJSON_IsNull(gf))
			continue;
		w = num(want, figures[f]);
		g = num(got, figures[f]);
		if (cJSON_IsNumber(wf) && cJSON_IsNumber(gf) &&
		    fabs(w - g) <= 1e-9 * (1 + fabs(w)))
			continue;
		bad++;
		if ((*reported)++ >= MAX_REPORT)
			continue;
		if (cJSON_IsNumber(wf) && cJSON_IsNumber(gf))
			harness_log("alert %zu: %s %.17g, expected %.17g", i,
			    figures[f], g, w);
		else
			harness_log("alert %zu: %s %s, expected %s", i,
			    figures[f], gf == NULL ? "absent" :
			    cJSON_IsNull(gf) ? "null" : "a number",
			    cJSON_IsNull(wf) ? "null" : "a number");
	}
	/* notify: the manager, and vp-sales for a critical alert. */
	wn = cJSON_GetObjectItemCaseSensitive(want, "notify");
	gn = cJSON_GetObjectItemCaseSensitive(got, "notify");
	if (!cJSON_IsArray(gn) ||
	    cJSON_GetArraySize(gn) != cJSON_GetArraySize(wn)) {
		bad++;
		if ((*reported)++ < MAX_REPORT)
			harness_log("alert %zu: notify has %d names, expected "
			    "%d", i, cJSON_IsArray(gn) ?
			    cJSON_GetArraySize(gn) : -1,
			    cJSON_GetArraySize(wn));
	} else {
		for (int k = 0; k < cJSON_GetArraySize(wn); k++) {
			if (same_str(cJSON_GetArrayItem(wn, k)->valuestring,
			    cJSON_GetArrayItem(gn, k)->valuestring))
				continue;
			bad++;
			if ((*reported)++ < MAX_REPORT)
				harness_log("alert %zu: notify[%d] differs", i,
				    k);
		}
	}
	return bad;
}

/* alert_id is the same for the same rep, KPI, period bucket and severity,
 * and differs otherwise. Returns the number of inconsistencies. */
static int
check_ids(const cJSON *want, cJSON *const *got, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const cJSON *wi = cJSON_GetArrayItem(want, (int)i);

		if (str(got[i], "alert_id") == NULL ||
		    strlen(str(got[i], "alert_id")) != 16) {
			harness_log("alert %zu: bad alert_id", i);
			bad++;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			const cJSON *wj = cJSON_GetArrayItem(want, (int)j);
			bool same_key = same_str(str(wi, "rep_id"),
			    str(wj, "rep_id")) && same_str(str(wi, "period"),
			    str(wj, "period")) && same_str(str(wi, "bucket"),
			    str(wj, "bucket")) && same_str(str(wi, "severity"),
			    str(wj, "severity"));
			bool same_id = same_str(str(got[i], "alert_id"),
			    str(got[j], "alert_id"));

			if (same_key != same_id) {
				harness_log("alerts %zu and %zu: ids %s and "
				    "%s, %s expected", j, i,
				    str(got[j], "alert_id"),
				    str(got[i], "alert_id"),
				    same_key ? "one id" : "two ids");
				bad++;
			}
		}
	}
	return bad;
}

/*
 * Compares the published alerts (parsed, in publication order) with
 * expected.json's list: the same length and, position by position, the
 * same alert. Logs both lists when they differ. Returns the number of
 * differences.
 */
static int
compare_alerts(const char *what, cJSON *const *got, size_t n)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "alerts");
	size_t nwant = (size_t)cJSON_GetArraySize(want), i;
	int bad = 0, reported = 0;
	char line[512];

	if (n != nwant) {
		harness_log("%s: %zu alerts, expected %zu", what, n, nwant);
		bad++;
	}
	for (i = 0; i < n && i < nwant; i++)
		bad += compare_alert(i, cJSON_GetArrayItem(want, (int)i),
		    got[i], &reported);
	if (n == nwant)
		bad += check_ids(want, got, n);
	if (bad > 0) {
		harness_log("%s: %d differences; expected:", what, bad);
		for (i = 0; i < nwant; i++) {
			describe(cJSON_GetArrayItem(want, (int)i), line,
			    sizeof(line));
			harness_log("  want %2zu %s", i, line);
		}
		for (i = 0; i < n; i++) {
			describe(got[i], line, sizeof(line));
			harness_log("  got  %2zu %s", i, line);
		}
	} else {
		harness_log("%s: the %zu expected alerts, in order", what, n);
	}
	return bad;
}

/*
 * At least once: the published alerts are the expected ones in order,
 * each at least once, where every extra message repeats an earlier one
 * byte for byte (same alert_id, same evaluated_at). Returns the number of
 * problems; *dups gets the number of repeats.
 */
static int
compare_at_least_once(cJSON *const *got, char *const *raw, size_t n,
    size_t *dups)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "alerts");
	size_t nwant = (size_t)cJSON_GetArraySize(want), j = 0;
	int bad = 0, reported = 0;
	char line[512];

	*dups = 0;
	for (size_t i = 0; i < n; i++) {
		int diff = 0;

		if (j < nwant) {
			int quiet = MAX_REPORT;	/* report nothing yet */

			diff = compare_alert(j,
			    cJSON_GetArrayItem(want, (int)j), got[i], &quiet);
			if (diff == 0) {
				j++;
				continue;
			}
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(raw[k], raw[i]) == 0) {
				(*dups)++;
				describe(got[i], line, sizeof(line));
				harness_log("repeated: %s (id %s)", line,
				    str(got[i], "alert_id"));
				diff = 0;
				break;
			}
		}
		if (diff != 0) {
			if (bad == 0 && j < nwant) {
				int loud = 0;	/* say which fields differ */

				compare_alert(j, cJSON_GetArrayItem(want, (int)j),
				    got[i], &loud);
			}
			bad++;
			describe(got[i], line, sizeof(line));
			if (reported++ < MAX_REPORT)
				harness_log("message %zu unexpected: %s", i,
				    line);
		}
	}
	for (; j < nwant; j++) {
		bad++;
		describe(cJSON_GetArrayItem(want, (int)j), line, sizeof(line));
		if (reported++ < MAX_REPORT)
			harness_log("missing: %s", line);
	}
	return bad;
}

/* The alerts topic: every message keyed by its rep, with the id and status
 * headers, all in one partition (one key partition for every rep). */
static int
check_topic(void)
{
	struct harness_msgs m;
	cJSON **got;
	int bad = 0;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	got = calloc(m.n + 1, sizeof(*got));
	for (size_t i = 0; i < m.n; i++) {
		const struct harness_msg *x = &m.v[i];
		const struct harness_header *h;

		got[i] = cJSON_Parse(x->value != NULL ? x->value : "");
		cr_assert_not_null(got[i], "alert %zu is not JSON", i);
		if (x->partition != m.v[0].partition) {
			harness_log("alert %zu in partition %d, the first "
			    "in %d", i, x->partition, m.v[0].partition);
			bad++;
		}
		if (!same_str(x->key, str(got[i], "rep_id")))
			bad++;
		h = harness_msg_header(x, "paced.alert_id");
		if (h == NULL || !same_str(h->value, str(got[i], "alert_id")))
			bad++;
		h = harness_msg_header(x, "paced.status");
		if (h == NULL || !same_str(h->value, str(got[i], "status")))
			bad++;
	}
	if (bad > 0)
		harness_log("alerts topic: %d key, header or partition "
		    "problems", bad);
	bad += compare_alerts("alerts topic", got, m.n);
	for (size_t i = 0; i < m.n; i++)
		cJSON_Delete(got[i]);
	free(got);
	harness_msgs_free(&m);
	return bad;
}

/* The Redis stream paced:alerts holds the same alerts, in order. */
static int
check_stream(void)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - +");
	cJSON **got;
	size_t n;
	int bad;

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	n = r->elements;
	got = calloc(n + 1, sizeof(*got));
	for (size_t i = 0; i < n; i++) {
		const redisReply *f = r->element[i]->element[1];

		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (strcmp(f->element[k]->str, "json") == 0)
				got[i] = cJSON_Parse(f->element[k + 1]->str);
		cr_assert_not_null(got[i], "stream entry %zu has no json", i);
	}
	bad = compare_alerts("redis stream", got, n);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(got[i]);
	free(got);
	freeReplyObject(r);
	return bad;
}

/*
 * /v1/alerts lists what still fires: per rep, period and bucket, the last
 * expected message, when it is a firing one.
 */
static int
check_firing(int port)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "alerts"), *w, *list, *g;
	char *body = NULL;
	cJSON *o;
	int status, nwant = 0, bad = 0, n = cJSON_GetArraySize(want);

	cr_assert_eq(harness_http_get(port, "/v1/alerts?status=firing",
	    &status, &body), 0);
	cr_assert_eq(status, 200, "/v1/alerts: %d %s", status, body);
	o = cJSON_Parse(body);
	free(body);
	list = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	cr_assert(cJSON_IsArray(list));
	for (int i = 0; i < n; i++) {
		bool last = true, found = false;

		w = cJSON_GetArrayItem(want, i);
		for (int j = i + 1; j < n && last; j++) {
			const cJSON *x = cJSON_GetArrayItem(want, j);

			if (same_str(str(x, "rep_id"), str(w, "rep_id")) &&
			    same_str(str(x, "period"), str(w, "period")) &&
			    same_str(str(x, "bucket"), str(w, "bucket")))
				last = false;
		}
		if (!last || !same_str(str(w, "status"), "firing"))
			continue;
		nwant++;
		cJSON_ArrayForEach(g, list)
			if (same_str(str(g, "rep_id"), str(w, "rep_id")) &&
			    same_str(str(g, "period"), str(w, "period")) &&
			    same_str(str(g, "severity"), str(w, "severity")) &&
			    same_str(str(g, "period_start"),
			    str(w, "period_start")))
				found = true;
		if (!found) {
			harness_log("/v1/alerts lacks %s %s %s",
			    str(w, "rep_id"), str(w, "period"),
			    str(w, "severity"));
			bad++;
		}
	}
	if (cJSON_GetArraySize(list) != nwant) {
		harness_log("/v1/alerts lists %d alerts, expected %d",
		    cJSON_GetArraySize(list), nwant);
		bad++;
	}
	cJSON_Delete(o);
	return bad;
}

/* Logs the evaluator's metrics, for a failure's report. */
static void
log_evaluator(const struct harness_paced *p)
{
	static const char *const series[] = {
	    "paced_evaluations_total{result=\"ok\"}",
	    "paced_evaluations_total{result=\"failed\"}",
	    "paced_owned_reps", "paced_alerts_total",
	    "paced_events_total{outcome=\"counted\"}",
	    "paced_events_total{outcome=\"duplicate\"}" };
	char *body = NULL;
	int status;
	double v;

	if (harness_http_get(p->http_port, "/metrics", &status, &body) == -1)
		return;
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
		if (harness_metric(body, series[i], &v) == 0)
			harness_log("%s %g", series[i], v);
	free(body);
}

/*
 * Starts paced and waits until it can tell which reps it owns: it learns
 * the topic's partition count from librdkafka's statistics, seconds after
 * its assignment, and until then ingest_owns() owns nobody, so a boundary
 * passed before that would judge nobody (backlog_at_start covers that).
 */
static void
start_paced(struct harness_paced *p)
{
	cr_assert_eq(harness_paced_start(p), 0);
	cr_assert_eq(harness_paced_wait_ready(p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_paced_wait_log(p, "event=kafka_partitions",
	    HARNESS_WAIT_MS), 0);
}

Test(week, alerts_match_model, .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;
	int64_t t;

	week_stack("week");
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	start_paced(&p);

	t = harness_elapsed_ms();
	cr_assert_eq(harness_produce(0), 0);
	/* The last event is applied only after every boundary before it has
	 * been judged and its alerts accepted by the alerts topic. */
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	harness_log("week judged in %lld ms",
	    (long long)(harness_elapsed_ms() - t));

	log_evaluator(&p);
	cr_expect_eq(check_topic(), 0, "the alerts topic differs from the "
	    "model; see %s/harness.log", harness_run_dir());
	cr_expect_eq(check_stream(), 0, "the alert stream differs");
	cr_expect_eq(check_firing(p.http_port), 0, "/v1/alerts differs");
	cr_expect_eq(harness_compare_redis(20), 0, "Redis counters differ");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/* The week in two parts, with the daemon stopped by sig in between, once
 * everything up to Wednesday is applied (the daemon is then idle: its
 * last event applied, every boundary before it judged). The first event
 * the restarted daemon reads is Thursday's; the boundaries from Wednesday
 * 17:00 to Thursday 09:00 (the end of Wednesday; no repeats, which count
 * working time) must still be judged, as they are without the stop. */
static void
restart_week(const char *name, int sig)
{
	struct harness_paced p;
	const cJSON *part1;
	int st;

	week_stack(name);
	part1 = cJSON_GetObjectItemCaseSensitive(harness_expected(),
	    "part1_messages");
	cr_assert(cJSON_IsNumber(part1));
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	start_paced(&p);

	cr_assert_eq(harness_produce_file("stream-1.tsv", 0), 0);
	cr_assert_eq(harness_wait_applied((int64_t)part1->valuedouble,
	    HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	if (sig == SIGKILL) {
		cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	} else {
		cr_assert_eq(harness_paced_kill(&p, sig), 0);
		cr_assert_eq(harness_wait_exit(p.pid, HARNESS_WAIT_MS, &st), 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "paced did not stop cleanly (status %d)", st);
		harness_log("paced stopped by signal %d", sig);
	}
	start_paced(&p);
	cr_assert_eq(harness_produce_file("stream-2.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(check_topic(), 0, "the alerts topic differs from the "
	    "model after a restart; see %s/harness.log", harness_run_dir());
	cr_expect_eq(harness_compare_redis(20), 0, "Redis counters differ");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/* The week's stack and daemon, the stream produced at rate messages a
 * second: returns the producer once a third of the stream is applied. */
static pid_t
third_applied(const char *name, int rate, struct harness_paced *p)
{
	pid_t prod;

	week_stack(name);
	cr_assert_eq(harness_paced_config(p, 0, NULL), 0);
	start_paced(p);
	cr_assert_neq(prod = harness_produce_start(rate), -1);
	cr_assert_eq(harness_wait_applied(harness_stream_messages() / 3,
	    HARNESS_WAIT_MS), 0);
	return prod;
}

/* The producer exited cleanly and the daemon counted the whole stream. */
static void
produced(pid_t prod)
{
	int st;

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
}

/* The alerts topic against the model, each alert at least once (what an
 * interruption may cost: one published again); what names it. */
static void
check_at_least_once(const char *what)
{
	struct harness_msgs m;
	cJSON **got;
	char **raw;
	size_t dups;

	cr_assert_eq(harness_read_topic(HARNESS_TOPIC_ALERTS, &m), 0);
	got = calloc(m.n + 1, sizeof(*got));
	raw = calloc(m.n + 1, sizeof(*raw));
	for (size_t i = 0; i < m.n; i++) {
		raw[i] = m.v[i].value != NULL ? m.v[i].value : "";
		got[i] = cJSON_Parse(raw[i]);
		cr_assert_not_null(got[i], "alert %zu is not JSON", i);
	}
	cr_expect_eq(compare_at_least_once(got, raw, m.n, &dups), 0,
	    "an alert was lost or changed by the %s; see %s/harness.log",
	    what, harness_run_dir());
	harness_log("%zu alerts published, %zu of them repeats", m.n, dups);
	for (size_t i = 0; i < m.n; i++)
		cJSON_Delete(got[i]);
	free(got);
	free(raw);
	harness_msgs_free(&m);
}

/*
 * SIGKILL at a moment the test does not choose (the stream produced at a
 * steady rate, the daemon killed once a third of it is applied, wherever
 * its boundaries are), then a restart. An alert and the state that
 * records it cannot be written in one step to Kafka and Redis, so an
 * alert published just before the kill may be published again; none may
 * be lost or changed.
 */
Test(week, sigkill_anywhere, .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;
	pid_t prod = third_applied("week_anywhere", 400, &p);

	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	harness_log("killed with %lld of %lld applied",
	    (long long)harness_applied(), (long long)harness_stream_messages());
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	produced(prod);
	check_at_least_once("kill");
	cr_expect_eq(harness_compare_redis(20), 0, "Redis counters differ");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/*
 * redis-server stopped (SIGSTOP) for 3 s, past the daemon's command
 * timeout (2 s), once a third of the stream is applied: the ingest
 * recovers, an evaluation of a boundary may fail and is judged again,
 * and the write of the last boundary judged (which events past it wait
 * for) may be lost with the connection and is written again. Every alert
 * of the model is published (some may be published twice: their states
 * were not stored), the counters are exact, and nothing stays held.
 */
Test(week, redis_stalled_anywhere, .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;
	/* Slow enough (about 5 s) that the stall falls mid-stream. */
	pid_t prod = third_applied("week_stalled", 100, &p);

	harness_log("stopping redis with %lld of %lld applied",
	    (long long)harness_applied(), (long long)harness_stream_messages());
	cr_assert_eq(kill(harness_redis_pid(), SIGSTOP), 0);
	usleep(3000 * 1000);
	cr_assert_eq(kill(harness_redis_pid(), SIGCONT), 0);
	produced(prod);

	check_at_least_once("stall");
	cr_expect_eq(harness_compare_redis(20), 0, "Redis counters differ");
	cr_expect(harness_paced_metric(&p, "paced_redis_timeouts_total")
	    >= 1, "no Redis command timed out: the stall tested nothing");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/*
 * The week already in the topic when the daemon starts: it reads it at
 * once on assignment, before librdkafka's first statistics tell it the
 * partition count (see start_paced), and must still judge every boundary.
 */
Test(week, backlog_at_start, .fini = harness_teardown, .timeout = 120)
{
	struct harness_paced p;

	week_stack("week_backlog");
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	log_evaluator(&p);
	cr_expect_eq(check_topic(), 0, "the alerts topic differs from the "
	    "model; see %s/harness.log", harness_run_dir());
	cr_expect_eq(harness_compare_redis(20), 0, "Redis counters differ");
}

Test(week, restart_sigkill, .fini = harness_teardown, .timeout = 120)
{
	restart_week("week_kill", SIGKILL);
}

Test(week, restart_sigterm, .fini = harness_teardown, .timeout = 120)
{
	restart_week("week_term", SIGTERM);
}
