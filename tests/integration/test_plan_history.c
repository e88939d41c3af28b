/*
 * `paced plan --from-history` against a real redis-server: month counters
 * written in the documented key layout (README, "Redis keys"; names from
 * keys.c) for the reps of the plan, plus counters that must not count (a
 * month before and after the range, a rep of a role outside the plan,
 * another key prefix). The proposed rates are the ratios of the sums over
 * the range; a step with too little volume falls back to its typed rate,
 * or fails with exit 2 without one; a Redis that cannot be reached is
 * exit 1.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "caltime.h"
#include "config.h"
#include "keys.h"
#include "xmalloc.h"

static char out[65536];
static char *cfg_path;
static struct config *cfg;

/* Runs build/paced plan with the config and args; stdout (and stderr
 * when err) in out; returns the exit code. */
static int
plan(const char *args, bool err)
{
	char cmd[2048];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/paced plan --config %s %s %s",
	    harness_build_dir(), cfg_path, args, err ? "2>&1" : "2>/dev/null");
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	harness_log("%s -> %d\n%s", cmd, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	    out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* HSETs the month counters of rep (its fields in its shard's hash) for
 * the month starting y-m-01. */
static void
seed(const char *rep, int y, unsigned m, long calls, long conv, long props,
    long deals)
{
	char *key = keys_rep_counters(cfg, rep, PERIOD_MONTH,
	    caltime_days_from_civil(y, m, 1));
	redisReply *r = harness_redis_cmd("HSET %s %s|calls %ld "
	    "%s|conversations %ld %s|proposals %ld %s|deals %ld", key, rep,
	    calls, rep, conv, rep, props, rep, deals);

	cr_assert_not_null(r);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
	freeReplyObject(r);
	free(key);
}

static const cJSON *
step(const cJSON *o, int i, const char *field)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o,
	    "steps"), i), field);
}

TestSuite(plan_history, .fini = harness_teardown);

Test(plan_history, rates_from_the_measured_funnel)
{
	char *yaml, *errs = NULL;
	cJSON *o;
	FILE *f;
	double r0, r1;

	cr_assert_eq(harness_setup("plan_history"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	yaml = xasprintf(
	    "redis: {url: \"redis://127.0.0.1:%d/0\", key_prefix: plantest}\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: proposals, kind: leading, events: [proposal_sent]}\n"
	    "  - {name: deals, kind: lagging, events: [deal_closed]}\n"
	    "calendars: {default: {holidays: [\"2027-01-01\"]}}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 50}, conversations: {day: 5}}}\n"
	    "  ae: {targets: {proposals: {week: 2}, deals: {month: 2}}}\n"
	    "  mgr: {}\n"
	    "teams: [{id: east, timezone: America/New_York, calendar: default}]\n"
	    "reps:\n"
	    "  - {id: s01, team: east, role: sdr}\n"
	    "  - {id: s02, team: east, role: sdr}\n"
	    "  - {id: a01, team: east, role: ae}\n"
	    "  - {id: m01, team: east, role: mgr}\n",
	    harness_redis_port());
	cfg_path = harness_path("plan.yaml");
	f = fopen(cfg_path, "w");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	free(yaml);
	cfg = config_load(cfg_path, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");

	/* January to March 2027, the three months before --at 2027-04-15:
	 * calls 3000, conversations 450, proposals 40, deals 10. */
	seed("s01", 2027, 1, 600, 90, 0, 0);
	seed("s01", 2027, 2, 500, 70, 0, 0);
	seed("s01", 2027, 3, 400, 80, 0, 0);
	seed("s02", 2027, 1, 500, 60, 0, 0);
	seed("s02", 2027, 3, 1000, 150, 0, 0);
	seed("a01", 2027, 1, 0, 0, 10, 2);
	seed("a01", 2027, 2, 0, 0, 12, 3);
	seed("a01", 2027, 3, 0, 0, 18, 5);
	/* None of these count: outside the months, outside the roles. */
	seed("s01", 2026, 12, 9000, 9000, 0, 0);
	seed("a01", 2027, 4, 0, 0, 900, 900);
	seed("m01", 2027, 2, 9000, 9000, 9000, 9000);
	{
		redisReply *r = harness_redis_cmd("HSET paced:{rep:s01}:cnt:"
		    "month:2027-02-01 calls 9000 conversations 9000");

		freeReplyObject(r);
	}

	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals --from-history --at 2027-04-15 --json", false),
	    0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	r0 = step(o, 0, "rate")->valuedouble;
	r1 = step(o, 1, "rate")->valuedouble;
	cr_assert(fabs(r0 - 450.0 / 3000) < 1e-12, "%g", r0);
	cr_assert(fabs(r1 - 40.0 / 450) < 1e-12, "%g", r1);
	cr_assert(fabs(step(o, 2, "rate")->valuedouble - 10.0 / 40) < 1e-12);
	cr_assert_str_eq(step(o, 0, "source")->valuestring, "history");
	cr_assert_eq(cJSON_GetObjectItem(step(o, 0, "history"), "from")
	    ->valuedouble, 3000);
	/* 700k / 35k = 20 deals; / 0.25 = 80 proposals; / (40/450) = 900
	 * conversations; / 0.15 = 6000 calls, shared by two SDRs. */
	cr_assert(fabs(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(o, "funnel"), 0), "per_rep")->valuedouble -
	    3000) < 1e-6, "%s", out);
	cJSON_Delete(o);

	/* With one month (March) the deals step has 18 proposals, fewer
	 * than 30: the typed rate stands in, and the YAML says why. */
	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals=0.2 --from-history --history-months 1 "
	    "--at 2027-04-01", false), 0, "%s", out);
	cr_assert_not_null(strstr(out, "-> conversations at 0.164 (history; "
	    "measured 1400 -> 230)"), "%s", out);
	cr_assert_not_null(strstr(out, "-> deals at 0.2 (typed; measured 18 "
	    "-> 5; too little history (18 proposals, fewer than 30))"),
	    "%s", out);
	/* Without a typed rate: exit 2 naming the step. */
	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals --from-history --history-months 1 "
	    "--at 2027-04-01", true), 2, "%s", out);
	cr_assert_not_null(strstr(out, "step proposals:deals has no rate: "
	    "too little history (18 proposals, fewer than 30)"), "%s", out);
	/* --min-volume 10 lets March's 18 proposals speak. */
	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals --from-history --history-months 1 "
	    "--min-volume 10 --at 2027-04-01 --json", false), 0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cr_assert(fabs(step(o, 2, "rate")->valuedouble - 5.0 / 18) < 1e-12);
	cJSON_Delete(o);
	/* Bad history options are usage errors. */
	cr_assert_eq(plan("--revenue 1 --deal-size 1 --funnel proposals:deals "
	    "--from-history --history-months 0", true), 2, "%s", out);
	cr_assert_eq(plan("--revenue 1 --deal-size 1 --funnel proposals:deals "
	    "--from-history --at 2027-13-01", true), 2, "%s", out);

	/* No Redis: exit 1, said plainly. */
	harness_redis_stop(SIGKILL);
	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals --from-history", true), 1, "%s", out);
	cr_assert_not_null(strstr(out, "redis: cannot connect"), "%s", out);
	config_free(cfg);
	free(cfg_path);
}

/* The same history on a Redis Cluster of three primaries (redis.cluster:
 * true, redis.url a node): paced plan follows MOVED to each key's node. */
Test(plan_history, rates_from_a_redis_cluster)
{
	char *yaml, *errs = NULL;
	cJSON *o;
	FILE *f;
	long long elsewhere = 0;

	cr_assert_eq(harness_setup("plan_history_cluster"), 0);
	cr_assert_eq(harness_cluster_start(3, 0), 0);
	yaml = xasprintf(
	    "redis: {url: \"redis://127.0.0.1:%d\", key_prefix: plantest, "
	    "cluster: true}\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: proposals, kind: leading, events: [proposal_sent]}\n"
	    "  - {name: deals, kind: lagging, events: [deal_closed]}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 50}, conversations: {day: 5}}}\n"
	    "  ae: {targets: {proposals: {week: 2}, deals: {month: 2}}}\n"
	    "teams: [{id: east, timezone: America/New_York}]\n"
	    "reps:\n"
	    "  - {id: s01, team: east, role: sdr}\n"
	    "  - {id: s02, team: east, role: sdr}\n"
	    "  - {id: a01, team: east, role: ae}\n",
	    harness_cluster_port(0));
	cfg_path = harness_path("plan.yaml");
	f = fopen(cfg_path, "w");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	free(yaml);
	cfg = config_load(cfg_path, &errs);
	cr_assert_not_null(cfg, "%s", errs ? errs : "");
	seed("s01", 2027, 1, 600, 90, 0, 0);
	seed("s01", 2027, 2, 500, 70, 0, 0);
	seed("s01", 2027, 3, 400, 80, 0, 0);
	seed("s02", 2027, 1, 500, 60, 0, 0);
	seed("s02", 2027, 3, 1000, 150, 0, 0);
	seed("a01", 2027, 1, 0, 0, 10, 2);
	seed("a01", 2027, 2, 0, 0, 12, 3);
	seed("a01", 2027, 3, 0, 0, 18, 5);
	/* Some of it lives away from the node paced plan starts at. */
	for (int i = 1; i < 3; i++) {
		redisReply *r = harness_cluster_node_cmd(i, "DBSIZE");

		if (r != NULL && r->type == REDIS_REPLY_INTEGER)
			elsewhere += r->integer;
		if (r != NULL)
			freeReplyObject(r);
	}
	cr_assert_gt(elsewhere, 0, "every key is on the seed: no redirection "
	    "to follow");

	cr_assert_eq(plan("--revenue 700000 --deal-size 35000 --year 2027 "
	    "--funnel calls:conversations,conversations:proposals,"
	    "proposals:deals --from-history --at 2027-04-15 --json", true),
	    0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cr_assert(fabs(step(o, 0, "rate")->valuedouble - 450.0 / 3000) < 1e-12,
	    "%s", out);
	cr_assert(fabs(step(o, 1, "rate")->valuedouble - 40.0 / 450) < 1e-12);
	cr_assert(fabs(step(o, 2, "rate")->valuedouble - 10.0 / 40) < 1e-12);
	cJSON_Delete(o);
	config_free(cfg);
	free(cfg_path);
}
