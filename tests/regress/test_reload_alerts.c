/*
 * Alerts left open by a reload: a firing alert whose (KPI, period) no
 * longer alerts, whose rep lost its target, or whose rep left the roster
 * was never resolved, and stayed in paced:alerts:firing and /v1/alerts for
 * ever. Three silent reps fire on calls and emails (every hour is working
 * time, grace 0). A SIGHUP then takes emails out of alerts.kpis, moves s2
 * to a role without a calls target and removes s3 from the roster: every
 * alert but s1's calls must resolve, once, with the reason that says why.
 * Then s1 is removed while paced is stopped: at the next start its last
 * alert resolves too.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "xmalloc.h"

#define NOBSERVERS	3

/* Every hour of every day is working time and the week started three
 * days ago: a silent rep is critical at once, and no bucket ends during
 * the test. reps: the YAML lines of the alerted reps; kpis: alerts.kpis. */
static void
write_org(const char *reps, const char *kpis)
{
	char *org, *obs = xstrdup(""), *next;

	for (int i = 0; i < NOBSERVERS; i++) {
		next = xasprintf("%s  - {id: obs-%d, team: core, "
		    "role: observer}\n", obs, i + 1);
		free(obs);
		obs = next;
	}
	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: emails, kind: leading, events: [email]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "    week_start: %s\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 7000}, emails: {week: 7000}}}\n"
	    "  mailer: {targets: {emails: {week: 7000}}}\n"
	    "  observer: {}\n"
	    "teams:\n"
	    "  - {id: core, timezone: Etc/UTC, manager: m-core}\n"
	    "reps:\n"
	    "%s%s"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  kpis: %s\n"
	    "  grace: 0\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1s\n"
	    "  min_breach: 0s\n"
	    "  min_breach_evaluations: 1\n"
	    "  resolve_margin: 0\n",
	    harness_week_start_3d_ago(), reps, obs, kpis);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
	free(obs);
}

/* A few calls of the reps without targets, so that there is traffic. */
static void
write_stream(void)
{
	char *text = xstrdup(""), *next, ts[32];
	time_t t = time(NULL) - 600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 0; i < NOBSERVERS; i++) {
		next = xasprintf("%sobs-%d\t{\"event_id\":\"o%d\","
		    "\"rep_id\":\"obs-%d\",\"type\":\"call\","
		    "\"occurred_at\":\"%s\"}\n", text, i + 1, i + 1, i + 1, ts);
		free(text);
		text = next;
	}
	cr_assert_eq(harness_gen_write("stream.tsv", text), 0);
	free(text);
}

/* An integer reply of "verb key [field]"; -1 when it is not one. */
static long long
redis_int(const char *verb, const char *key, const char *field)
{
	redisReply *r = field != NULL ?
	    harness_redis_cmd("%s %s %s", verb, key, field) :
	    harness_redis_cmd("%s %s", verb, key);
	long long v = -1;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

struct counts {
	long long stream, firing;
};

static bool
counts_are(void *arg)
{
	struct counts *c = arg;

	return redis_int("XLEN", "paced:alerts", NULL) == c->stream &&
	    redis_int("HLEN", "paced:alerts:firing", NULL) == c->firing;
}

/* The stream's alerts from index `from` on, as "rep kpi status reason"
 * lines sorted, joined by ";" into buf. */
static void
stream_summary(int from, char *buf, size_t len)
{
	redisReply *r = harness_redis_cmd("XRANGE paced:alerts - +");
	char lines[16][96];
	int n = 0;

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = (size_t)from; i < r->elements && n < 16; i++) {
		const redisReply *f = r->element[i]->element[1];
		cJSON *o = NULL;

		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (strcmp(f->element[k]->str, "json") == 0)
				o = cJSON_Parse(f->element[k + 1]->str);
		cr_assert_not_null(o);
		snprintf(lines[n++], sizeof(lines[0]), "%s %s %s %s",
		    cJSON_GetObjectItem(o, "rep_id")->valuestring,
		    cJSON_GetObjectItem(o, "kpi")->valuestring,
		    cJSON_GetObjectItem(o, "status")->valuestring,
		    cJSON_GetObjectItem(o, "reason")->valuestring);
		cJSON_Delete(o);
	}
	freeReplyObject(r);
	qsort(lines, (size_t)n, sizeof(lines[0]),
	    (int (*)(const void *, const void *))strcmp);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, ";", len - strlen(buf) - 1);
		strncat(buf, lines[i], len - strlen(buf) - 1);
	}
}

/* /v1/alerts?status=firing: the number of alerts listed. */
static int
listed(const struct harness_paced *p)
{
	char *body = NULL;
	int status, n = -1;
	cJSON *o;

	cr_assert_eq(harness_http_get(p->http_port, "/v1/alerts?status=firing",
	    &status, &body), 0);
	cr_assert_eq(status, 200);
	o = cJSON_Parse(body);
	free(body);
	if (cJSON_IsArray(cJSON_GetObjectItem(o, "alerts")))
		n = cJSON_GetArraySize(cJSON_GetObjectItem(o, "alerts"));
	cJSON_Delete(o);
	return n;
}

static double
evaluations(const struct harness_paced *p)
{
	char *body = NULL;
	int status;
	double v = -1;

	if (harness_http_get(p->http_port, "/metrics", &status, &body) == 0 &&
	    status == 200)
		harness_metric(body, "paced_evaluations_total{result=\"ok\"}",
		    &v);
	free(body);
	return v;
}

struct more {
	const struct harness_paced *p;
	double want;
};

static bool
evaluated_more(void *arg)
{
	struct more *m = arg;

	return evaluations(m->p) >= m->want;
}

Test(reload_alerts, resolved_not_left_open, .fini = harness_teardown,
    .timeout = 120)
{
	static const char three[] =
	    "  - {id: s1, team: core, role: ae}\n"
	    "  - {id: s2, team: core, role: ae}\n"
	    "  - {id: s3, team: core, role: ae}\n";
	static const char two[] =
	    "  - {id: s1, team: core, role: ae}\n"
	    "  - {id: s2, team: core, role: mailer}\n";
	static const char one[] =
	    "  - {id: s2, team: core, role: mailer}\n";
	struct harness_paced p;
	struct counts c;
	struct more m;
	char got[1024];
	int st;

	cr_assert_eq(harness_setup("reload_alerts"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org(three, "leading");
	write_stream();
	cr_assert_eq(harness_produce_file("stream.tsv", 0), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);

	/* Three silent reps, two KPIs: six critical alerts. */
	c.stream = 6;
	c.firing = 6;
	cr_assert_eq(harness_wait_until(counts_are, &c, HARNESS_WAIT_MS,
	    "six alerts firing"), 0);
	cr_expect_eq(listed(&p), 6);

	/* The reload: emails no longer alert, s2 has no calls target, s3 is
	 * gone. Only s1's calls alert may still fire. */
	write_org(two, "[calls]");
	cr_assert_eq(harness_paced_rewrite(&p, NULL), 0);
	cr_assert_eq(kill(p.pid, SIGHUP), 0);
	c.stream = 11;
	c.firing = 1;
	cr_assert_eq(harness_wait_until(counts_are, &c, HARNESS_WAIT_MS,
	    "five alerts resolved"), 0);
	stream_summary(6, got, sizeof(got));
	cr_expect_str_eq(got,
	    "s1 emails resolved not_evaluated;"
	    "s2 calls resolved not_evaluated;"
	    "s2 emails resolved not_evaluated;"
	    "s3 calls resolved rep_removed;"
	    "s3 emails resolved rep_removed");
	cr_expect_eq(listed(&p), 1);
	cr_expect_eq(redis_int("EXISTS", "paced:{rep:s3}:alerts", NULL), 0,
	    "the removed rep's alert states are deleted");
	cr_expect_eq(redis_int("HEXISTS", "paced:{rep:s1}:alerts", "emails:week"), 0);
	cr_expect_eq(redis_int("HEXISTS", "paced:{rep:s2}:alerts", "calls:week"), 0);
	cr_expect_eq(redis_int("HEXISTS", "paced:{rep:s1}:alerts", "calls:week"), 1);

	/* A few more rounds: nothing else is sent. */
	m.p = &p;
	m.want = evaluations(&p) + 3 * (2 + NOBSERVERS);
	cr_assert_eq(harness_wait_until(evaluated_more, &m, HARNESS_WAIT_MS,
	    "more evaluations"), 0);
	cr_expect(counts_are(&c), "only the five resolutions were sent");

	/* s1 leaves the roster while paced is down: resolved at start, once
	 * its partition is caught up. */
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, HARNESS_WAIT_MS, &st), 0);
	write_org(one, "[calls]");
	cr_assert_eq(harness_paced_rewrite(&p, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	c.stream = 12;
	c.firing = 0;
	cr_assert_eq(harness_wait_until(counts_are, &c, HARNESS_WAIT_MS,
	    "s1's alert resolved at start"), 0);
	stream_summary(11, got, sizeof(got));
	cr_expect_str_eq(got, "s1 calls resolved rep_removed");
	cr_expect_eq(listed(&p), 0);
	cr_expect_eq(redis_int("EXISTS", "paced:{rep:s1}:alerts", NULL), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
