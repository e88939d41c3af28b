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

static bool
time_over(void *arg)
{
	return harness_elapsed_ms() >= *(int64_t *)arg;
}

/* Writes the first n lines of the generated stream to gen/<name>: events
 * already applied once, so producing them again changes no count. */
static void
write_again(const char *name, int n)
{
	char *path = harness_path("gen/stream.tsv");
	char *all = slurp(path), *end = all;

	for (int i = 0; i < n && end != NULL; i++)
		if ((end = strchr(end, '\n')) != NULL)
			end++;
	cr_assert_not_null(end);
	*end = '\0';
	cr_assert_eq(harness_gen_write(name, all), 0);
	free(all);
	free(path);
}

/* Rewrites p's config with from replaced by to (same length) and sends
 * SIGHUP; waits for the reload count to reach *nok. */
static void
reload_with(struct harness_paced *p, const char *from, const char *to,
    struct want *ok)
{
	char *text = slurp(p->config), *at;

	cr_assert_eq(strlen(from), strlen(to));
	cr_assert_not_null(at = strstr(text, from), "no %s in the config", from);
	memcpy(at, to, strlen(to));
	spit(p->config, text);
	free(text);
	cr_assert_eq(kill(p->pid, SIGHUP), 0);
	ok->value++;
	cr_assert_eq(harness_wait_until(metric_is, ok, 20000,
	    "the reload to be taken"), 0);
}

/*
 * redis.command_timeout and batch.max_wait, changed by SIGHUP, apply: a
 * Redis stall longer than the old timeout but shorter than the new one
 * trips no watchdog, and a batch that is not full waits max_wait before it
 * is written.
 */
Test(reload, command_timeout_and_batch_wait_apply, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	struct want ok = { &p, "paced_config_reloads_total{result=\"ok\"}", 0 };
	struct want timeouts = { &p,
	    "paced_redis_timeouts_total{conn=\"ingest\"}", 0 };
	int64_t before, until, t0, waited;
	pid_t pid;

	cr_assert_eq(harness_setup("reload_wait"), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cr_assert_eq(harness_broker_start(), 0);
	cr_assert_eq(harness_gen(6, 2000), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	cr_assert(metric_is(&timeouts), "a Redis timeout before the stall");

	/* 1. Redis stalls 4 s with a batch in flight: past the old 2 s
	 * timeout, within the new 9 s one. */
	reload_with(&p, "command_timeout: 2s", "command_timeout: 9s", &ok);
	cr_assert_gt(pid = harness_redis_pid(), 0);
	write_again("again1.tsv", 20);
	before = harness_applied();
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	cr_assert_eq(harness_produce_file("again1.tsv", 0), 0);
	until = harness_elapsed_ms() + 4000;
	harness_wait_until(time_over, &until, 10000, "a 4 s stall");
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert_eq(harness_wait_applied(before + 20, 20000), 0);
	cr_expect(metric_is(&timeouts), "the watchdog kept the old 2 s "
	    "redis.command_timeout; see %s", p.log);

	/* 2. Ten messages: written batch.max_wait (3 s) after the first
	 * arrived (without the wait, within the fetch delay, about 1 s). */
	reload_with(&p, "max_wait: 20ms", "max_wait: 3s  ", &ok);
	write_again("again2.tsv", 10);
	before = harness_applied();
	cr_assert_eq(harness_produce_file("again2.tsv", 0), 0);
	t0 = harness_elapsed_ms();
	cr_assert_eq(harness_wait_applied(before + 10, 20000), 0);
	waited = harness_elapsed_ms() - t0;
	harness_log("10 messages applied %lld ms after they were produced",
	    (long long)waited);
	cr_expect_geq(waited, 2500, "a batch of 10 was written %lld ms after "
	    "it was produced, before batch.max_wait (3 s)", (long long)waited);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
