/*
 * SIGHUP: a broken file is refused and the old config keeps running (the
 * daemon keeps counting exactly); a file that changes a restart-only key
 * is refused too; a valid change is taken.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct want {
	struct harness_paced *p;
	const char *series;
	double value;
};

static bool
metric_is(void *arg)
{
	struct want *w = arg;
	char *body = NULL;
	double v = -1;
	int status;

	if (harness_http_get(w->p->http_port, "/metrics", &status, &body) == 0 &&
	    status == 200)
		harness_metric(body, w->series, &v);
	free(body);
	return v == w->value;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(reload, bad_files_keep_the_old_config, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	struct want failed = { &p, "paced_config_reloads_total{result=\"failed\"}", 0 };
	struct want ok = { &p, "paced_config_reloads_total{result=\"ok\"}", 1 };
	char *orig, *text, *at;
	pid_t prod;
	int st;

	cr_assert_eq(harness_start_stack("reload", 5), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_neq(prod = harness_produce_start(5000), -1);
	orig = slurp(p.config);

	/* 1. Not YAML at all. */
	text = malloc(strlen(orig) + 64);
	sprintf(text, "%s\n  - [unclosed\n", orig);
	spit(p.config, text);
	free(text);
	cr_assert_eq(kill(p.pid, SIGHUP), 0);
	failed.value = 1;
	cr_assert_eq(harness_wait_until(metric_is, &failed, 20000,
	    "the broken reload to be refused"), 0);

	/* 2. Valid, but changes a key that needs a restart. */
	text = strdup(orig);
	at = strstr(text, "group_id: paced-it");
	cr_assert_not_null(at);
	memcpy(at, "group_id: paced-xx", 18);
	spit(p.config, text);
	free(text);
	cr_assert_eq(kill(p.pid, SIGHUP), 0);
	failed.value = 2;
	cr_assert_eq(harness_wait_until(metric_is, &failed, 20000,
	    "the restart-only change to be refused"), 0);

	/* 3. A valid change: the log level. */
	text = strdup(orig);
	at = strstr(text, "level: info");
	cr_assert_not_null(at);
	memcpy(at, "level: warn", 11);
	spit(p.config, text);
	free(text);
	cr_assert_eq(kill(p.pid, SIGHUP), 0);
	cr_assert_eq(harness_wait_until(metric_is, &ok, 20000,
	    "the valid reload to be taken"), 0);
	free(orig);

	cr_assert_eq(harness_wait_exit(prod, HARNESS_WAIT_MS, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "paced-produce failed");
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the oracle");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
