/*
 * Integration test harness: paced instances. Their configs (the stack's
 * addresses, the test's extra settings, the generated org.yaml), starting,
 * readiness, their logs, signals, and one metric read off /metrics.
 */

#include "harness.h"
#include "harness_impl.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static struct {
	const char	*redis_host;	/* in paced's redis.url; NULL: address */
	char		*kafka_props;	/* extra kafka.properties lines */
} H;

void
harness_paced_reset(void)
{
	free(H.kafka_props);
	memset(&H, 0, sizeof H);
}

void
harness_redis_host(const char *host)
{
	H.redis_host = host;
}

const char *
harness_week_start_3d_ago(void)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	return names[(tm.tm_wday + 7 - 3) % 7];
}

static int paced_config_write(struct harness_paced *p, const char *extra);

int
harness_paced_config(struct harness_paced *p, int index, const char *extra)
{
	memset(p, 0, sizeof *p);
	p->index = index;
	if ((p->http_port = harness_free_port()) == -1)
		return -1;
	return paced_config_write(p, extra);
}

void
harness_kafka_property(const char *key, const char *value)
{
	char *line = xasprintf("%s    %s: \"%s\"\n",
	    H.kafka_props != NULL ? H.kafka_props : "", key, value);

	free(H.kafka_props);
	H.kafka_props = line;
}

int
harness_paced_rewrite(struct harness_paced *p, const char *extra)
{
	return paced_config_write(p, extra);
}

/* Writes the config of p (index and port set) and its paths. */
static int
paced_config_write(struct harness_paced *p, const char *extra)
{
	char *org, *orgpath, *text, *path, *log, *kdebug;
	const char *dbg = getenv("PACED_TEST_KAFKA_DEBUG");
	int index = p->index;

	orgpath = xasprintf("%s/org.yaml", harness_gen_dir());
	org = harness_read_file(orgpath, NULL);
	free(orgpath);
	if (org == NULL) {
		harness_log("no org.yaml: run harness_gen first");
		return -1;
	}
	/* librdkafka's debug contexts (e.g. "cgrp,topic"), logged at level
	 * debug: for a test that hangs in the group or the fetcher. */
	kdebug = dbg != NULL && *dbg != '\0' ?
	    xasprintf("    debug: \"%s\"\n", dbg) : xstrdup("");
	text = xasprintf(
	    "# paced integration test, instance %d\n"
	    "kafka:\n"
	    "  brokers: \"%s\"\n"
	    "  group_id: " HARNESS_GROUP "\n"
	    "  topics: {activity: %s, dlq: %s, alerts: %s}\n"
	    "  properties:\n"
	    "    session.timeout.ms: \"6000\"\n"
	    "    heartbeat.interval.ms: \"1000\"\n"
	    "    auto.offset.reset: earliest\n"
	    "%s%s"
	    "redis:\n"
	    "  url: \"redis://%s:%d/0\"\n"
	    "  key_prefix: %s\n"
	    "  dedupe_window: 35d\n"
	    "  command_timeout: 2s\n"
	    "%s"		/* redis.cluster, with a cluster */
	    "http: {listen: \"127.0.0.1:%d\"}\n"
	    "log: {level: %s, format: logfmt}\n"
	    "%s"		/* batch, unless extra has its own */
	    "%s%s"
	    "%s",
	    index, harness_brokers(), HARNESS_TOPIC, HARNESS_TOPIC_DLQ,
	    HARNESS_TOPIC_ALERTS, H.kafka_props != NULL ? H.kafka_props : "",
	    kdebug,
	    H.redis_host != NULL ? H.redis_host : "127.0.0.1",
	    harness_redis_port(), harness_prefix(),
	    harness_cluster_yaml() != NULL ? harness_cluster_yaml() : "",
	    p->http_port, *kdebug != '\0' ? "debug" : "info",
	    extra != NULL && strstr(extra, "batch:") != NULL ? "" :
	    "batch: {max_messages: 500, max_wait: 20ms}\n",
	    extra != NULL ? extra : "",
	    extra != NULL && *extra != '\0' &&
	    extra[strlen(extra) - 1] != '\n' ? "\n" : "", org);
	free(org);
	free(kdebug);
	path = harness_path("paced-%d.yaml", index);
	log = harness_path("paced-%d.log", index);
	snprintf(p->config, sizeof p->config, "%s", path);
	snprintf(p->log, sizeof p->log, "%s", log);
	free(path);
	free(log);
	if (harness_write_file(p->config, text) == -1) {
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

/* The daemons started (by HTTP port), for harness_wait_boards. */
#define STARTED_MAX	64
static struct {
	int port;
	pid_t pid;
	char log[PATH_MAX];
} started[STARTED_MAX];

static void
note_started(const struct harness_paced *p)
{
	int free_slot = -1;

	for (int k = 0; k < STARTED_MAX; k++) {
		if (started[k].port == p->http_port) {
			started[k].pid = p->pid;
			snprintf(started[k].log, sizeof started[k].log, "%s",
			    p->log);
			return;
		}
		if (free_slot == -1 && (started[k].port == 0 ||
		    !harness_alive(started[k].pid)))
			free_slot = k;
	}
	if (free_slot != -1) {
		started[free_slot].port = p->http_port;
		started[free_slot].pid = p->pid;
		snprintf(started[free_slot].log, sizeof started[free_slot].log,
		    "%s", p->log);
	}
}

static bool
boards_written(void *arg)
{
	(void)arg;
	for (int k = 0; k < STARTED_MAX; k++) {
		struct harness_paced q = { 0 };

		if (started[k].port == 0 || !harness_alive(started[k].pid))
			continue;
		q.http_port = started[k].port;
		/* No answer (stopped, stopping): nothing to wait for. */
		if (harness_paced_metric(&q, "paced_board_values_pending") > 0)
			return false;
	}
	return true;
}

int
harness_wait_boards(int timeout_ms)
{
	if (harness_wait_until(boards_written, NULL, timeout_ms,
	    "the board values written (paced_board_values_pending 0)") == 0)
		return 0;
	/* Which daemon, and whether its flushes fail or never end. */
	harness_paced_diagnose();
	return -1;
}

/* The last lines of a log, to the harness log. */
static void
log_tail(const char *path, int lines)
{
	char buf[1024];
	long *starts;
	long n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	starts = xcalloc((size_t)lines, sizeof(*starts));
	for (;;) {
		long at = ftell(f);

		if (fgets(buf, sizeof buf, f) == NULL)
			break;
		starts[n++ % lines] = at;
		/* A line longer than buf: the rest is the same line. */
		while (strchr(buf, '\n') == NULL &&
		    fgets(buf, sizeof buf, f) != NULL)
			;
	}
	for (long k = n > lines ? n - lines : 0; k < n; k++) {
		if (fseek(f, starts[k % lines], SEEK_SET) != 0 ||
		    fgets(buf, sizeof buf, f) == NULL)
			break;
		buf[strcspn(buf, "\n")] = '\0';
		harness_log("    | %s", buf);
	}
	free(starts);
	fclose(f);
}

void
harness_paced_diagnose(void)
{
	static const char *const names[] = {
		"paced_ready", "paced_assigned_partitions", "paced_paused",
		"paced_consumer_lag", "paced_recoveries_total",
		"paced_events_total{outcome=\"counted\"}",
		"paced_events_total{outcome=\"bad\"}",
		"paced_events_total{outcome=\"skipped\"}",
		"paced_batches_total{result=\"applied\"}",
		"paced_batches_total{result=\"failed\"}",
		"paced_kafka_consume_errors_total",
		"paced_event_clock_retries_total", "paced_loop_stalls_total",
		"paced_redis_up", "paced_redis_timeouts_total",
		"paced_kafka_partitions_not_fetching",
		"paced_board_values_pending",
		"paced_board_flushes_total{outcome=\"ok\"}",
		"paced_board_flushes_total{outcome=\"failed\"}",
		"paced_board_values_written_total",
	};

	for (int k = 0; k < STARTED_MAX; k++) {
		struct harness_paced q = { 0 };

		if (started[k].port == 0 || !harness_alive(started[k].pid))
			continue;
		q.http_port = started[k].port;
		harness_log("  paced pid %ld, http %d:", (long)started[k].pid,
		    started[k].port);
		for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
			harness_log("    %s %g", names[n],
			    harness_paced_metric(&q, names[n]));
		log_tail(started[k].log, 30);
	}
}

int
harness_paced_start(struct harness_paced *p)
{
	char *bin = xasprintf("%s/paced", harness_build_dir());
	char *argv[] = { bin, "--config", p->config, NULL };
	FILE *f;

	if ((f = fopen(p->log, "a")) != NULL) {
		fprintf(f, "==== harness: start at %.3fs\n",
		    harness_elapsed_ms() / 1000.0);
		fclose(f);
	}
	p->pid = harness_spawn(argv, p->log);
	free(bin);
	if (p->pid == -1) {
		p->pid = 0;
		return -1;
	}
	harness_log("paced #%d pid %ld, http %d", p->index, (long)p->pid,
	    p->http_port);
	note_started(p);
	return 0;
}

static bool
paced_ready(void *arg)
{
	struct harness_paced *p = arg;
	int status;

	if (!harness_alive(p->pid))
		return true;
	return harness_http_get(p->http_port, "/readyz", &status, NULL) == 0 &&
	    status == 200;
}

int
harness_paced_wait_ready(struct harness_paced *p, int timeout_ms)
{
	int64_t t = harness_elapsed_ms();

	if (harness_wait_until(paced_ready, p, timeout_ms, "/readyz") == -1)
		return -1;
	if (!harness_alive(p->pid)) {
		harness_log("paced #%d exited (status %d); see %s", p->index,
		    harness_exit_status(p->pid), p->log);
		return -1;
	}
	harness_log("paced #%d ready after %lld ms", p->index,
	    (long long)(harness_elapsed_ms() - t));
	return 0;
}

bool
harness_paced_logged(const struct harness_paced *p, const char *needle)
{
	static const char mark[] = "==== harness: start at ";
	char *text, *run, *s;
	bool found;

	if ((text = harness_read_file(p->log, NULL)) == NULL)
		return false;
	for (run = text; (s = strstr(run + 1, mark)) != NULL; run = s)
		;
	found = strstr(run, needle) != NULL;
	free(text);
	return found;
}

struct log_wait {
	const struct harness_paced *p;
	const char *needle;
};

static bool
log_has(void *arg)
{
	struct log_wait *w = arg;

	return harness_paced_logged(w->p, w->needle);
}

int
harness_paced_wait_log(const struct harness_paced *p, const char *needle,
    int timeout_ms)
{
	struct log_wait w = { p, needle };
	char what[256];

	snprintf(what, sizeof what, "paced #%d to log %s", p->index, needle);
	return harness_wait_until(log_has, &w, timeout_ms, what);
}

int
harness_paced_kill(struct harness_paced *p, int sig)
{
	if (p->pid <= 0)
		return -1;
	if (sig == SIGKILL) {
		harness_kill_and_reap(p->pid);
		harness_log("paced #%d pid %ld killed", p->index, (long)p->pid);
		p->pid = 0;
		return 0;
	}
	return harness_kill(p->pid, sig);
}

double
harness_paced_metric(const struct harness_paced *p, const char *series)
{
	char *body = NULL;
	double v = -1;
	int status;

	if (harness_http_get(p->http_port, "/metrics", &status, &body) == 0 &&
	    status == 200 && harness_metric(body, series, &v) == -1)
		v = -1;
	free(body);
	return v;
}
