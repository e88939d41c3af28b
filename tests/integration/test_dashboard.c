/*
 * The dashboard in a browser: paced with a bearer token, the dev broker
 * and Redis; tests/browser/dash_check.py drives headless Chromium (Debian's
 * chromium package) over the DevTools protocol. The page must ask for the
 * token, show team east's calls board in the order of the first events,
 * read the change stream (GET /v1/stream), then, once events that change
 * the ranks are produced, show the new order without a reload, brought by
 * the stream; no JavaScript or console error; screenshots.
 *
 * Artifacts: dashboard-before.png, dashboard.png (laptop, whole page),
 * dashboard-tv.png (TV mode), and on a failure dashboard-failed.png, in the
 * test's run folder build/tmp/dashboard-<pid>/ (kept until the next run),
 * with browser.log (the script's steps) and chromium.log.
 *
 * Today's calls, UTC, every day a working day from 00:00 to 24:00:
 *   first  a1 6, a2 4, a3 2, a4 0  ->  a1, a2, a3, a4
 *   then   a3 +8 (10)              ->  a3, a1, a2, a4
 * A contest runs from yesterday to tomorrow (a race to 20 calls among
 * a1..a4): the contests panel shows it with a1 (6) leading.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define TOKEN		"dash-test-token"
#define BROWSER_MS	90000

static const char org_yaml[] =
    "clock: wall\n"
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: meetings, kind: leading, events: [meeting_held]}\n"
    "calendars:\n"
    "  default:\n"
    "    working_days: [mon, tue, wed, thu, fri, sat, sun]\n"
    "    working_hours: \"00:00-24:00\"\n"
    "roles:\n"
    "  sdr: {targets: {calls: {day: 12}, meetings: {day: 2}}}\n"
    "teams:\n"
    "  - {id: east, timezone: UTC, manager: m-east}\n"
    "  - {id: west, timezone: UTC, manager: m-west}\n"
    "reps:\n"
    "  - {id: a1, team: east, role: sdr}\n"
    "  - {id: a2, team: east, role: sdr}\n"
    "  - {id: a3, team: east, role: sdr}\n"
    "  - {id: a4, team: east, role: sdr}\n"
    "  - {id: b1, team: west, role: sdr}\n"
    "leaderboards:\n"
    "  activity_score:\n"
    "    weights:\n"
    "      sdr: {calls: 0.7, meetings: 0.3}\n"
    "alerts:\n"
    "  periods: [day]\n"
    "  grace: 0\n"
    "  evaluate_every: 2s\n";

/* One event line (key TAB JSON) of count calls or meetings at ts. */
static char *
event_line(char *lines, const char *rep, const char *type, int count,
    int seq, const char *ts)
{
	char *next = xasprintf("%s%s\t{\"event_id\":\"dash-%d\",\"rep_id\":"
	    "\"%s\",\"type\":\"%s\",\"occurred_at\":\"%s\",\"count\":%d}\n",
	    lines ? lines : "", rep, seq, rep, type, ts, count);

	free(lines);
	return next;
}

/* Puts token_file into the http line of p's config (harness_paced_config
 * writes "http: {listen: ...}" on one line). */
static void
add_token(const struct harness_paced *p, const char *token_path)
{
	FILE *f = fopen(p->config, "r");
	char *text, *at, *out;
	long len;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = xcalloc(1, (size_t)len + 1);
	cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	at = strstr(text, "http: {listen: ");
	cr_assert_not_null(at, "no http line in %s", p->config);
	at = strchr(at, '}');
	cr_assert_not_null(at);
	*at = '\0';
	out = xasprintf("%s, token_file: \"%s\"}%s", text, token_path, at + 1);
	f = fopen(p->config, "w");
	cr_assert_not_null(f);
	fputs(out, f);
	fclose(f);
	free(out);
	free(text);
}

/* Copies the browser script's lines to stderr (and so to the test's
 * output). */
static void
show_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

static pid_t browser;

/* The script wrote its ready file, or gave up. */
static bool
ready_or_gone(void *arg)
{
	FILE *f = fopen(arg, "r");

	if (f != NULL)
		fclose(f);
	return f != NULL || !harness_alive(browser);
}

Test(dashboard, browser_sees_ranks_change, .fini = harness_teardown,
    .timeout = 240)
{
	struct harness_paced p;
	time_t now = time(NULL);
	struct tm tm;
	char ts[40], url[256], first_at[40];
	char *lines = NULL, *token_path, *ready, *out, *log;
	int status = 0, seq = 0;
	char *body = NULL;
	pid_t br;

	/* Today's board: keep clear of midnight UTC, when the day's board
	 * would start empty half way through. */
	if (now % 86400 > 86400 - 150 || now % 86400 < 120) {
		cr_log_info("waiting for midnight UTC to be 2 minutes away");
		while (time(NULL) % 86400 > 86400 - 150 ||
		    time(NULL) % 86400 < 120)
			sleep(1);
		now = time(NULL);
	}
	now -= 60;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(first_at, sizeof(first_at), "%s", ts);

	cr_assert_eq(harness_setup("dashboard"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	{
		char from[16], to[16], *org;
		time_t d0 = now - 86400, d1 = now + 86400;

		gmtime_r(&d0, &tm);
		strftime(from, sizeof(from), "%Y-%m-%d", &tm);
		gmtime_r(&d1, &tm);
		strftime(to, sizeof(to), "%Y-%m-%d", &tm);
		org = xasprintf("%scontests:\n"
		    "  - {id: call-race, name: Call race, metric: calls,\n"
		    "     kind: race, goal: 20, from: %s, to: %s,\n"
		    "     reps: [a1, a2, a3, a4]}\n", org_yaml, from, to);
		cr_assert_eq(harness_gen_write("org.yaml", org), 0);
		free(org);
	}
	cr_assert_eq(harness_gen_write("../http.token", TOKEN "\n"), 0);
	lines = event_line(lines, "a1", "call", 6, seq++, first_at);
	lines = event_line(lines, "a1", "meeting_held", 1, seq++, first_at);
	lines = event_line(lines, "a2", "call", 4, seq++, first_at);
	lines = event_line(lines, "a3", "call", 2, seq++, first_at);
	lines = event_line(lines, "b1", "call", 9, seq++, first_at);
	cr_assert_eq(harness_gen_write("first.tsv", lines), 0);
	free(lines);
	lines = event_line(NULL, "a3", "call", 8, seq++, first_at);
	cr_assert_eq(harness_gen_write("then.tsv", lines), 0);
	free(lines);

	token_path = harness_path("http.token");
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	add_token(&p, token_path);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce_file("first.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	/* The page without a token; the API only with it. */
	cr_assert_eq(harness_http_get(p.http_port, "/", &status, &body), 0);
	cr_expect_eq(status, 200);
	cr_expect(strstr(body, "<script src=\"/assets/app.js\"") != NULL,
	    "/ is not the dashboard page");
	free(body);
	cr_assert_eq(harness_http_get(p.http_port, "/v1/org", &status, NULL),
	    0);
	cr_expect_eq(status, 401, "/v1/org without the token: %d", status);

	ready = harness_path("browser.ready");
	out = xstrdup(harness_run_dir());
	log = harness_path("browser.log");
	snprintf(url, sizeof(url),
	    "http://127.0.0.1:%d/?team=east&period=day&kpi=calls",
	    p.http_port);
	{
		char *script = xasprintf("%s/tests/browser/dash_check.py",
		    harness_root_dir());
		char *argv[] = { "python3", script, "--url", url,
		    "--first", "a1,a2,a3,a4", "--then", "a3,a1,a2,a4",
		    "--token", TOKEN, "--ready-file", ready, "--out", out,
		    "--timeout", "25", "--expect-stream",
		    "--contest", "Call race", "--contest-leader", "a1", NULL };

		br = harness_spawn(argv, log);
		free(script);
	}
	cr_assert(br > 0, "cannot start the browser script");
	harness_log("browser script pid %ld, log %s", (long)br, log);

	/* The board is on screen in the first order: change it. */
	browser = br;
	if (harness_wait_until(ready_or_gone, ready, BROWSER_MS,
	    "the page showing the first board") != 0 ||
	    !harness_alive(br)) {
		show_log(log);
		cr_assert_fail("the page never showed the first board; see %s",
		    log);
	}
	cr_assert_eq(harness_produce_file("then.tsv", 0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	if (harness_wait_exit(br, BROWSER_MS, &status) != 0) {
		show_log(log);
		cr_assert_fail("the browser script did not finish; see %s", log);
	}
	show_log(log);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the browser script failed; see %s", log);
	{
		char *png = harness_path("dashboard.png");
		FILE *f = fopen(png, "rb");
		unsigned char sig[8] = { 0 };

		cr_expect_not_null(f, "no screenshot %s", png);
		if (f != NULL) {
			cr_expect_eq(fread(sig, 1, 8, f), 8);
			cr_expect(memcmp(sig, "\x89PNG", 4) == 0,
			    "%s is not a PNG", png);
			fclose(f);
		}
		harness_log("screenshots: %s, dashboard-tv.png", png);
		free(png);
	}
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
	free(token_path);
	free(ready);
	free(out);
	free(log);
}
