/*
 * each_rep_judged_once: start-up after a backlog on the wall clock: the six partitions catch up
 * at different moments (one holds a large backlog, read one message a batch,
 * the rest little or nothing), and each catch-up tells the evaluator that more reps are
 * owned. Every rep must be judged once for it, not once per partition
 * that catches up: paced_evaluations_total ends at the number of reps
 * (plus at most one more for each rep whose events were still being
 * counted when its partition caught up). The timer (evaluate_every: 1d)
 * does not fire meanwhile.
 *
 * changes_held_while_behind: with every rep judged and paced idle, a
 * burst of calls by the busy reps is read one message a batch, so the
 * unapplied messages stay over batch.max_messages for a while: the
 * re-evaluations after changes wait (logged, paced_evaluator_changes_held)
 * and each busy rep is judged again about once when the ingest has caught
 * up, not once per 250 ms of reading.
 *
 * timer_pass_spread: evaluate_every 2s over 2,006 reps: each pass queues
 * the roster in steps over about half the interval (not all at once), no
 * pass overruns the next tick, and every rep is judged once a pass.
 *
 * changes_paced: alerts.reevaluate_per_second 40 and a call for each of
 * 300 reps at once: they are judged again at that pace (about 7.5 s),
 * not all within the 250 ms after their counts, and each of them is.
 *
 * changes_alerting_first: the same at 20 a second, the busy reps (far
 * behind a huge target, grace 0: a breach under way, an alert state)
 * called after the 300 silent ones (a target of 0: no state): the busy
 * reps' pace figures show their call within about a second, ahead of
 * the silent reps marked before them.
 */

#include "harness.h"
#include "harness_impl.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define NSILENT		300
#define NBUSY		6
#define HEAVY_EVENTS	12000	/* for busy-1: its partition catches up last */
#define LIGHT_EVENTS	20

static const char *alerts_extra = "";	/* more of write_org's alerts */
static const char *grace = "0.99";	/* write_org's alerts.grace */
static const char *quiet_role = "ae";	/* the silent reps' role */

/* nquiet silent reps and the NBUSY busy ones, judged every `every`. */
static void
write_org(int nquiet, const char *every)
{
	char *reps = xstrdup(""), *org, *next;

	for (int i = 0; i < nquiet; i++) {
		next = xasprintf("%s  - {id: quiet-%04d, team: core, role: %s}\n",
		    reps, i + 1, quiet_role);
		free(reps);
		reps = next;
	}
	for (int i = 0; i < NBUSY; i++) {
		next = xasprintf("%s  - {id: busy-%d, team: core, role: ae}\n",
		    reps, i + 1);
		free(reps);
		reps = next;
	}
	org = xasprintf(
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
	    "    working_hours: \"00:00-24:00\"\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {week: 1000000}}}\n"
	    "  calm: {targets: {calls: {week: 0}}}\n"
	    "teams:\n"
	    "  - {id: core, timezone: Etc/UTC, manager: m-core}\n"
	    "reps:\n"
	    "%s"
	    "alerts:\n"
	    "  periods: [week]\n"
	    "  grace: %s\n"
	    "  evaluate_every: %s\n%s", reps, grace, every, alerts_extra);
	cr_assert_eq(harness_gen_write("org.yaml", org), 0);
	free(org);
	free(reps);
}

/* Calls of the busy reps over the last hour, busy-1 heavy of them, the
 * others light each; event ids begin with tag. */
static void
write_calls(const char *name, const char *tag, int heavy, int light)
{
	size_t cap = (size_t)(heavy + NBUSY * light) * 200, len = 0;
	char *text = xmalloc(cap), ts[32];
	time_t now = time(NULL);
	struct tm tm;

	for (int i = 0; i < NBUSY; i++) {
		int n = i == 0 ? heavy : light;

		for (int k = 0; k < n; k++) {
			time_t t = now - 3600 + (time_t)(k % 3000);

			gmtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			len += (size_t)snprintf(text + len, cap - len,
			    "busy-%d\t{\"event_id\":\"%s%d-%d\",\"rep_id\":"
			    "\"busy-%d\",\"type\":\"call\",\"occurred_at\":\"%s\"}\n",
			    i + 1, tag, i + 1, k, i + 1, ts);
			cr_assert_lt(len, cap);
		}
	}
	cr_assert_eq(harness_gen_write(name, text), 0);
	free(text);
}

struct owned_all {
	struct harness_paced *p;
	double want;
};

static bool
owns_all(void *arg)
{
	struct owned_all *o = arg;

	return harness_paced_metric(o->p, "paced_owned_reps") >= o->want;
}

/* Distinct seconds in which the log records a partition caught up. */
static int
catch_up_moments(const struct harness_paced *p)
{
	FILE *f = fopen(p->log, "r");
	char line[1024], last[32] = "", *s;
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "event=partition_caught_up") == NULL ||
		    (s = strstr(line, "ts=")) == NULL)
			continue;
		/* ts=YYYY-MM-DDTHH:MM:SS: the whole second */
		if (strncmp(s + 3, last, 19) != 0) {
			snprintf(last, sizeof(last), "%.19s", s + 3);
			n++;
		}
	}
	fclose(f);
	return n;
}

/* Lines of p's log holding needle. */
static int
log_count(const struct harness_paced *p, const char *needle)
{
	FILE *f = fopen(p->log, "r");
	char line[1024];
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* paced_evaluations_total once no evaluation ran for two seconds. */
static double
settled_evaluations(struct harness_paced *p)
{
	double evals = harness_paced_metric(p, "paced_evaluations_total"), before;

	do {
		before = evals;
		sleep(2);
		evals = harness_paced_metric(p, "paced_evaluations_total");
	} while (evals != before);
	return evals;
}

/* A stack with the org, the stream of calls written to name (see
 * write_calls) produced first, and paced reading one message a batch,
 * started and owning every rep once its partitions caught up. */
static void
start_owning(struct harness_paced *p, const char *test, const char *name,
    const char *tag, int heavy, int light, int nquiet, const char *every)
{
	struct owned_all o;

	cr_assert_eq(harness_setup(test), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org(nquiet, every);
	write_calls(name, tag, heavy, light);
	cr_assert_eq(harness_produce_file(name, 0), 0);
	cr_assert_eq(harness_paced_config(p, 0,
	    "batch: {max_messages: 1}\n"), 0);
	cr_assert_eq(harness_paced_start(p), 0);
	cr_assert_eq(harness_paced_wait_ready(p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	o.p = p;
	o.want = nquiet + NBUSY;
	cr_assert_eq(harness_wait_until(owns_all, &o, HARNESS_WAIT_MS,
	    "every rep owned"), 0);
}

Test(eval_catchup, each_rep_judged_once, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	double evals;

	/* One message a batch: the heavy partition is read over several
	 * seconds, the others at once. */
	start_owning(&p, "eval_catchup", "stream.tsv", "b", HEAVY_EVENTS,
	    LIGHT_EVENTS, NSILENT, "1d");
	evals = settled_evaluations(&p);
	harness_log("%g evaluations for %d reps; partitions caught up in %d "
	    "distinct seconds", evals, NSILENT + NBUSY, catch_up_moments(&p));
	cr_expect_geq(evals, NSILENT + NBUSY, "a rep was not judged");
	cr_expect_leq(evals, NSILENT + 2 * NBUSY,
	    "%g evaluations for %d reps: judged once per partition caught up?",
	    evals, NSILENT + NBUSY);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"failed\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

#define BURST_EACH	4000	/* calls of each busy rep in the burst */

Test(eval_catchup, changes_held_while_behind, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	double judged, evals;
	int held;

	start_owning(&p, "eval_catchup_held", "first.tsv", "f", 1, 1, NSILENT,
	    "1d");
	judged = settled_evaluations(&p);
	cr_assert_geq(judged, NSILENT + NBUSY);
	/* The start-up's few messages may have held them already. */
	held = log_count(&p, "event=evaluator_changes held=yes");

	write_calls("burst.tsv", "x", BURST_EACH, BURST_EACH);
	cr_assert_eq(harness_produce_file("burst.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	evals = settled_evaluations(&p) - judged;
	harness_log("%d calls over %d reps read 1 a batch: %g evaluations",
	    NBUSY * BURST_EACH, NBUSY, evals);
	cr_expect_gt(log_count(&p, "event=evaluator_changes held=yes"), held,
	    "the re-evaluations after changes never waited; see %s", p.log);
	cr_expect_eq(log_count(&p, "event=evaluator_changes held=no"),
	    log_count(&p, "event=evaluator_changes held=yes"),
	    "a hold not released; see %s", p.log);
	cr_expect_eq(harness_paced_metric(&p, "paced_evaluator_changes_held"),
	    0);
	cr_expect_eq(harness_paced_metric(&p, "paced_evaluator_changed_reps"),
	    0);
	/* Each busy rep once when released, and once more at most for the
	 * last batches, read after the release. */
	cr_expect_geq(evals, NBUSY, "a changed rep was not judged again");
	cr_expect_leq(evals, 2 * NBUSY, "%g evaluations for %d changed reps",
	    evals, NBUSY);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"failed\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

#define SPREAD_QUIET	2000

static bool
passed_once(void *arg)
{
	return harness_paced_metric(arg, "paced_evaluation_passes_total") >= 1;
}

Test(eval_catchup, timer_pass_spread, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	double secs, e0, e1;
	int reps = SPREAD_QUIET + NBUSY;

	start_owning(&p, "eval_catchup_spread", "few.tsv", "s", 1, 1,
	    SPREAD_QUIET, "2s");
	/* The first whole pass sets the gauge. */
	cr_assert_eq(harness_wait_until(passed_once, &p, HARNESS_WAIT_MS,
	    "a timer pass over every rep"), 0);
	e0 = harness_paced_metric(&p, "paced_evaluations_total");
	sleep(8);		/* four ticks */
	e1 = harness_paced_metric(&p, "paced_evaluations_total");
	secs = harness_paced_metric(&p, "paced_evaluation_pass_seconds");
	harness_log("%d reps every 2 s: a pass queued in %.3f s, %g "
	    "evaluations in 8 s", reps, secs, e1 - e0);
	/* 2,006 reps over 1 s: a share every 50 ms, the last one queued
	 * about 950 ms after the tick. At once, the pass would take 0 s. */
	cr_expect_geq(secs, 0.8, "the pass was not spread: %.3f s", secs);
	cr_expect_lt(secs, 2.0, "the pass took the whole interval");
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluation_pass_overruns_total"), 0);
	cr_expect_geq(e1 - e0, 3.0 * reps, "a pass left reps out");
	cr_expect_leq(e1 - e0, 5.0 * reps, "a rep judged twice a pass");
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"failed\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

#define PACE_PER_SECOND	40

/* One call in the last minute for each of the nquiet silent reps. */
static void
write_quiet_calls(const char *name, int nquiet)
{
	size_t cap = (size_t)nquiet * 200, len = 0;
	char *text = xmalloc(cap), ts[32];
	time_t t = time(NULL) - 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 0; i < nquiet; i++) {
		len += (size_t)snprintf(text + len, cap - len,
		    "quiet-%04d\t{\"event_id\":\"q%d\",\"rep_id\":"
		    "\"quiet-%04d\",\"type\":\"call\",\"occurred_at\":"
		    "\"%s\"}\n", i + 1, i, i + 1, ts);
		cr_assert_lt(len, cap);
	}
	cr_assert_eq(harness_gen_write(name, text), 0);
	free(text);
}

/* A stack with the org (write_org as the globals say) and nothing
 * produced, paced started, owning every rep, each judged once: the
 * evaluations by then. */
static double
start_judged(struct harness_paced *p, const char *test)
{
	struct owned_all o;
	double judged;

	cr_assert_eq(harness_setup(test), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	write_org(NSILENT, "1d");
	cr_assert_eq(harness_paced_config(p, 0, ""), 0);
	cr_assert_eq(harness_paced_start(p), 0);
	cr_assert_eq(harness_paced_wait_ready(p, HARNESS_WAIT_MS), 0);
	o.p = p;
	o.want = NSILENT + NBUSY;
	cr_assert_eq(harness_wait_until(owns_all, &o, HARNESS_WAIT_MS,
	    "every rep owned"), 0);
	judged = settled_evaluations(p);
	cr_assert_geq(judged, NSILENT + NBUSY);
	return judged;
}

Test(eval_catchup, changes_paced, .fini = harness_teardown, .timeout = 180)
{
	struct harness_paced p;
	double judged, early, evals, secs, read_s;
	int64_t t0;

	alerts_extra = "  reevaluate_per_second: 40\n";
	judged = start_judged(&p, "eval_catchup_paced");

	write_quiet_calls("quiet.tsv", NSILENT);
	cr_assert_eq(harness_produce_file("quiet.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	t0 = harness_elapsed_ms();
	sleep(2);
	early = harness_paced_metric(&p, "paced_evaluations_total") - judged;
	read_s = (double)(harness_elapsed_ms() - t0) / 1000.0;
	evals = settled_evaluations(&p) - judged;
	secs = (double)(harness_elapsed_ms() - t0) / 1000.0;
	harness_log("%d changed reps at %d a second: %g judged in the first "
	    "%.2f s, %g in all (settled %.1f s after the counts)", NSILENT,
	    PACE_PER_SECOND, early, read_s, evals, secs);
	/* A run every 250 ms takes a quarter of a second's share; the
	 * counts were marked at most about 0.2 s before t0 (the catch-up's
	 * poll). All 300 at once would be over it (unless this box took
	 * over 6 s to read the metric). */
	cr_expect_leq(early, (read_s + 0.5) * PACE_PER_SECOND + 10,
	    "%g re-evaluations within %.2f s at %d a second", early, read_s,
	    PACE_PER_SECOND);
	cr_expect_gt(early, 0, "no re-evaluation within 2 s");
	cr_expect_geq(evals, NSILENT, "a changed rep was not judged again");
	cr_expect_leq(evals, NSILENT + NBUSY, "%g evaluations for %d changed "
	    "reps", evals, NSILENT);
	cr_expect_eq(harness_paced_metric(&p, "paced_evaluator_changed_reps"),
	    0);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"failed\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

/* The calls figure of busy rep i's week pace hash ("" when none). */
static char *
busy_pace(int i)
{
	redisReply *k, *v;
	char *out;

	k = harness_redis_cmd("KEYS %s:{rep:busy-%d}:pace:week:*",
	    harness_prefix(), i + 1);
	cr_assert(k != NULL && k->type == REDIS_REPLY_ARRAY);
	if (k->elements != 1) {
		freeReplyObject(k);
		return xstrdup("");
	}
	v = harness_redis_cmd("HGET %s calls", k->element[0]->str);
	cr_assert_not_null(v);
	out = xstrdup(v->type == REDIS_REPLY_STRING ? v->str : "");
	freeReplyObject(v);
	freeReplyObject(k);
	return out;
}

Test(eval_catchup, changes_alerting_first, .fini = harness_teardown,
    .timeout = 180)
{
	struct harness_paced p;
	double judged, early, read_s;
	int64_t t0;
	int shown = 0;

	alerts_extra = "  reevaluate_per_second: 20\n";
	grace = "0";
	quiet_role = "calm";
	judged = start_judged(&p, "eval_catchup_first");
	for (int i = 0; i < NBUSY; i++) {
		char *v = busy_pace(i);

		cr_assert(strstr(v, "\"actual\":0") != NULL,
		    "busy-%d before its call: %s", i + 1, v);
		free(v);
	}

	/* The silent reps' calls first, then one for each busy rep. */
	write_quiet_calls("quiet.tsv", NSILENT);
	write_calls("busy.tsv", "z", 1, 1);
	cr_assert_eq(harness_produce_file("quiet.tsv", 0), 0);
	cr_assert_eq(harness_produce_file("busy.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	t0 = harness_elapsed_ms();
	for (int tries = 0; tries < 40 && shown < NBUSY; tries++) {
		shown = 0;
		for (int i = 0; i < NBUSY; i++) {
			char *v = busy_pace(i);

			shown += strstr(v, "\"actual\":1") != NULL;
			free(v);
		}
		if (shown < NBUSY)
			usleep(50000);
	}
	early = harness_paced_metric(&p, "paced_evaluations_total") - judged;
	read_s = (double)(harness_elapsed_ms() - t0) / 1000.0;
	harness_log("%d of %d busy reps judged with their call %.2f s after "
	    "the counts, %g evaluations by then", shown, NBUSY, read_s, early);
	cr_expect_eq(shown, NBUSY, "a busy rep with an alert state waited "
	    "behind the silent ones");
	/* In order marked, the busy reps would come after the 300 silent
	 * ones: 15 s at 20 a second. */
	cr_expect_lt(early, NSILENT / 2, "%g evaluations before the busy "
	    "reps were judged", early);
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_evaluations_total{result=\"failed\"}"), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
