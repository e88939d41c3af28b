/*
 * The coalesced board writer (board_flush.c) against a real redis-server:
 * values merged to each (board, rep)'s highest, the bound per flush, a
 * failed flush (an error reply, a lost connection) keeping its values,
 * the values of an expired board dropped and counted, the final flush
 * of a stop, the expiry
 * set once per board, and the board script when someone listens to the
 * change stream. The flushes are driven by hand (board_flush_now); the
 * timer's period is set long enough not to interfere. Last, the daemon:
 * with a flush_every longer than the test, a SIGTERM writes the values
 * waiting, and every org day board then equals the counters.
 */
#include "board_flush.h"

#include "harness.h"

#include <criterion/criterion.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "caltime.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "roster.h"
#include "xmalloc.h"

#define NREPS	12

static struct event_base *base;
static struct redis_conn *conn;
static struct config *cfg;
static const struct config *cfg_now;
static struct roster *roster;
static struct board_flush *bf;
static bool up;
static int32_t today;

static void
state_cb(bool is_up, void *arg)
{
	(void)arg;
	up = is_up;
}

static double
metric(const char *name, const char *labels)
{
	struct metric *m = labels != NULL && strstr(name, "total") != NULL ?
	    metrics_counter(name, labels, "") : strstr(name, "total") != NULL ?
	    metrics_counter(name, NULL, "") : metrics_gauge(name, NULL, "");

	return metrics_value(m);
}

static double
flushes(void)
{
	return metric("paced_board_flushes_total", "outcome=\"ok\"") +
	    metric("paced_board_flushes_total", "outcome=\"failed\"");
}

/* Runs the loop until pred() or 10 s. */
static bool
drive(bool (*pred)(void))
{
	for (int i = 0; i < 10000; i++) {
		if (pred())
			return true;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (pred())
			return true;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return pred();
}

static double flushes_before;

static bool
flush_ended(void)
{
	return flushes() > flushes_before;
}

/* One flush, to its end. */
static void
flush(void)
{
	flushes_before = flushes();
	board_flush_now(bf);
	cr_assert(drive(flush_ended), "the flush did not end");
}

static bool
flush_ended_4(void)
{
	return metric("paced_board_flushes_total", "outcome=\"ok\"") >= 4;
}

static bool
is_up(void)
{
	return up;
}

/* The config of the board tests, written to file and loaded: rep r00 in
 * team0 (t1 or t2), the others in t1. */
static struct config *
load_config(const char *file, const char *team0)
{
	char *path, *errs = NULL, *text;
	struct config *c;
	size_t len = 0;
	FILE *mf;

	mf = open_memstream(&text, &len);
	fprintf(mf, "redis: {url: \"redis://127.0.0.1:%d/0\"}\n"
	    "kpis:\n  - {name: calls, kind: leading, events: [call]}\n"
	    "roles:\n  sdr: {targets: {calls: {day: 50}}}\n"
	    "leaderboards: {flush_every: 10s}\n"
	    "teams:\n  - {id: t1, timezone: UTC, manager: m1}\n"
	    "  - {id: t2, timezone: UTC, manager: m2}\n"
	    "reps:\n", harness_redis_port());
	for (int r = 0; r < NREPS; r++)
		fprintf(mf, "  - {id: r%02d, team: %s, role: sdr}\n", r,
		    r == 0 ? team0 : "t1");
	fclose(mf);
	path = harness_path("%s", file);
	mf = fopen(path, "w");
	cr_assert_not_null(mf);
	fputs(text, mf);
	fclose(mf);
	free(text);
	c = config_load(path, &errs);
	cr_assert_not_null(c, "%s", errs ? errs : "");
	free(path);
	return c;
}

static void
setup(const char *name)
{
	char err[256];
	struct redis_conn_opts o = { 0 };

	cr_assert_eq(harness_setup(name), 0);
	cr_assert_eq(harness_redis_start(), 0);
	cfg = load_config("flush.yaml", "t1");
	cfg_now = cfg;
	roster = roster_new(cfg, err, sizeof(err));
	cr_assert_not_null(roster, "%s", err);
	log_set_level(LOG_LEVEL_WARN);
	today = (int32_t)(time(NULL) / 86400);
	base = event_base_new();
	o.host = "127.0.0.1";
	o.port = harness_redis_port();
	o.timeout_ms = 5000;
	o.name = "test";
	conn = redis_conn_new(base, &o, state_cb, NULL);
	bf = board_flush_new(base, conn, &cfg_now);
	cr_assert(drive(is_up), "redis connection not up");
}

static void
teardown(void)
{
	board_flush_free(bf);
	redis_conn_free(conn);
	event_base_free(base);
	roster_free(roster);
	config_free(cfg);
	harness_teardown();
}

/* Rep r's day value of calls, as the shard script would answer it. */
static struct board_write
wr(int r, const char *value)
{
	struct board_write w = { 0 };

	w.rep = roster_rep_at(roster, (size_t)r);
	w.kpi = 0;
	w.period = PERIOD_DAY;
	w.start_day = today;
	w.expire_at = keys_bucket_expire_at(cfg, PERIOD_DAY, today);
	w.value = value;
	w.value_len = strlen(value);
	return w;
}

static void
put(int r, const char *value)
{
	struct board_write w = wr(r, value);

	board_flush_add(bf, cfg, &w, 1);
}

static char *
board_key(const char *scope)
{
	return keys_board(cfg, scope, "calls", PERIOD_DAY, today);
}

/* Rep r's score on scope's calls board of day; -1 when absent. */
static double
score_on(const char *scope, int32_t day, int r)
{
	char *key = keys_board(cfg, scope, "calls", PERIOD_DAY, day), rep[8];
	redisReply *x;
	double v = -1;

	snprintf(rep, sizeof(rep), "r%02d", r);
	x = harness_redis_cmd("ZSCORE %s %s", key, rep);
	if (x != NULL && x->type == REDIS_REPLY_STRING)
		v = atof(x->str);
	freeReplyObject(x);
	free(key);
	return v;
}

/* Rep r's score on scope's board of today; -1 when absent. */
static double
score(const char *scope, int r)
{
	return score_on(scope, today, r);
}

/* Calls of a command so far (INFO commandstats); 0 when never called. */
static long long
calls(const char *cmd)
{
	redisReply *r = harness_redis_cmd("INFO commandstats");
	char needle[64], *s;
	long long n = 0;

	snprintf(needle, sizeof(needle), "cmdstat_%s:calls=", cmd);
	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    (s = strstr(r->str, needle)) != NULL)
		n = atoll(s + strlen(needle));
	freeReplyObject(r);
	return n;
}

Test(board_flush, merge_keeps_max, .fini = teardown, .timeout = 60)
{
	struct board_write w[3];

	setup("board_flush_merge");
	put(0, "5");
	put(0, "3");
	put(0, "7");
	put(1, "2.5");
	/* One batch holding two values of the same board and rep (a week
	 * board gets one per day): the higher stays. */
	w[0] = wr(2, "9");
	w[1] = wr(2, "4");
	w[2] = wr(3, "11");
	board_flush_add(bf, cfg, w, 3);
	/* 4 reps on 4 boards (org, team, role, manager) */
	cr_assert_eq(board_flush_pending(bf), 16);
	cr_assert_eq(metric("paced_board_values_pending", NULL), 16);
	flush();
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(metric("paced_board_values_written_total", NULL), 16);
	cr_assert_eq(score("org", 0), 7);
	cr_assert_eq(score("team:t1", 0), 7);
	cr_assert_eq(score("role:sdr", 0), 7);
	cr_assert_eq(score("manager:m1", 0), 7);
	cr_assert_float_eq(score("org", 1), 2.5, 1e-9);
	cr_assert_eq(score("org", 2), 9);
	cr_assert_eq(score("org", 3), 11);
	/* A lower value later (a stale write of a former owner) never
	 * lowers a score: ZADD GT. */
	put(0, "6");
	flush();
	cr_assert_eq(score("org", 0), 7);
	put(0, "8");
	flush();
	cr_assert_eq(score("org", 0), 8);
	cr_assert_eq(metric("paced_board_flushes_total", "outcome=\"failed\""),
	    0);
}

static bool
nothing_waits(void)
{
	return board_flush_pending(bf) == 0;
}

Test(board_flush, bound_per_flush, .fini = teardown, .timeout = 60)
{
	setup("board_flush_bound");
	board_flush_set_max(bf, 10);
	for (int r = 0; r < NREPS; r++)
		put(r, "1");
	/* A newer value of a waiting entry merges in place. */
	put(NREPS - 1, "3");
	cr_assert_eq(board_flush_pending(bf), NREPS * 4);
	board_flush_now(bf);
	/* 48 values, 12 reps on 4 boards each: a flush of 10 at a time (a
	 * board of 12 is split), each started at the next loop turn while a
	 * whole flush's worth waits; the last 8 wait for the tick (10s
	 * here): flushed by hand. */
	cr_assert(drive(flush_ended_4));
	cr_assert_eq(metric("paced_board_values_written_total", NULL), 40);
	cr_assert_eq(board_flush_pending(bf), 8);
	flush();
	cr_assert(drive(nothing_waits));
	cr_assert_eq(metric("paced_board_flushes_total", "outcome=\"ok\""), 5);
	cr_assert_eq(metric("paced_board_values_written_total", NULL),
	    NREPS * 4);
	for (int r = 0; r < NREPS - 1; r++)
		cr_assert_eq(score("org", r), 1);
	cr_assert_eq(score("org", NREPS - 1), 3);
	cr_assert_eq(score("manager:m1", NREPS - 1), 3);
}

Test(board_flush, failed_flush_keeps_values, .fini = teardown, .timeout = 60)
{
	char *org;

	setup("board_flush_failed");
	org = board_key("org");
	put(0, "4");
	put(1, "6");
	/* The org board's key holds a string: its ZADD fails (WRONGTYPE).
	 * The flush counts as failed and keeps that board's values; the
	 * other boards' are written. */
	freeReplyObject(harness_redis_cmd("SET %s x", org));
	flush();
	cr_assert_eq(metric("paced_board_flushes_total", "outcome=\"failed\""),
	    1);
	cr_assert_eq(board_flush_pending(bf), 2);
	cr_assert_eq(metric("paced_board_values_written_total", NULL), 6);
	cr_assert_eq(score("team:t1", 0), 4);
	/* Failing again: kept again. */
	flush();
	cr_assert_eq(metric("paced_board_flushes_total", "outcome=\"failed\""),
	    2);
	cr_assert_eq(board_flush_pending(bf), 2);
	/* Newer values meanwhile: merged with the ones put back. */
	put(0, "5");
	put(1, "2");
	put(2, "1");
	/* The 2 kept on org as they were, and the 3 reps' new values on
	 * their 4 boards each: one flush sends both (ZADD GT keeps the
	 * highest: rep 0 raised to 5, rep 1 keeps 6). */
	cr_assert_eq(board_flush_pending(bf), 14);
	freeReplyObject(harness_redis_cmd("DEL %s", org));
	flush();
	cr_assert_eq(metric("paced_board_flushes_total", "outcome=\"ok\""), 1);
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(score("org", 0), 5);
	cr_assert_eq(score("org", 1), 6);
	cr_assert_eq(score("org", 2), 1);
	cr_assert_eq(score("team:t1", 1), 6);
	free(org);
}

Test(board_flush, reload_moves_rep, .fini = teardown, .timeout = 60)
{
	struct config *moved;
	struct roster *roster2;
	struct board_write w;
	char err[256];

	setup("board_flush_reload");
	put(0, "3");
	/* A reload moves r00 to t2 (manager m2) while its value waits: that
	 * value stays on t1's boards, the next goes to t2's. */
	moved = load_config("moved.yaml", "t2");
	roster2 = roster_new(moved, err, sizeof(err));
	cr_assert_not_null(roster2, "%s", err);
	cfg_now = moved;
	board_flush_reloaded(bf);
	w = wr(0, "4");
	w.rep = roster_rep_at(roster2, 0);
	board_flush_add(bf, moved, &w, 1);
	cr_assert_eq(board_flush_pending(bf), 8);
	flush();
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(score("team:t1", 0), 3);
	cr_assert_eq(score("manager:m1", 0), 3);
	cr_assert_eq(score("team:t2", 0), 4);
	cr_assert_eq(score("manager:m2", 0), 4);
	cr_assert_eq(score("org", 0), 4);
	cr_assert_eq(score("role:sdr", 0), 4);
	/* Another value: t2's boards only. */
	w.value = "6";
	w.value_len = 1;
	board_flush_add(bf, moved, &w, 1);
	cr_assert_eq(board_flush_pending(bf), 4);
	flush();
	cr_assert_eq(score("team:t1", 0), 3);
	cr_assert_eq(score("team:t2", 0), 6);
	cfg_now = cfg;
	roster_free(roster2);
	config_free(moved);
}

static bool stop_called;

static void
stop_done(void *arg)
{
	(void)arg;
	stop_called = true;
}

static bool
stop_ended(void)
{
	return stop_called;
}

Test(board_flush, stop_flushes_everything, .fini = teardown, .timeout = 60)
{
	setup("board_flush_stop");
	board_flush_set_max(bf, 5);
	for (int r = 0; r < NREPS; r++)
		put(r, "2");
	board_flush_stop(bf, stop_done, NULL);
	cr_assert(drive(stop_ended), "the stop did not end");
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(metric("paced_board_values_written_total", NULL),
	    NREPS * 4);
	for (int r = 0; r < NREPS; r++)
		cr_assert_eq(score("role:sdr", r), 2);
	/* Nothing waiting: the stop ends at once. */
	stop_called = false;
	board_flush_stop(bf, stop_done, NULL);
	cr_assert(stop_called);
}

static bool
flush_failed(void)
{
	return metric("paced_board_flushes_total", "outcome=\"failed\"") > 0;
}

/* A flush whose connection is lost keeps its values; once Redis is back
 * the next flush writes them and nothing stays pending. */
Test(board_flush, lost_connection_keeps_values, .fini = teardown,
    .timeout = 60)
{
	setup("board_flush_lost");
	put(0, "3");
	put(1, "7");
	/* The flush's commands wait in the client's buffer: the connection
	 * is gone before the loop writes them. */
	board_flush_now(bf);
	freeReplyObject(harness_redis_cmd("CLIENT KILL TYPE normal SKIPME yes"));
	cr_assert(drive(flush_failed), "the flush did not fail");
	cr_assert_eq(board_flush_pending(bf), 8);
	cr_assert_eq(metric("paced_board_values_pending", NULL), 8);
	cr_assert(drive(is_up), "redis connection not back");
	flush();
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(metric("paced_board_values_pending", NULL), 0);
	cr_assert_eq(score("org", 0), 3);
	cr_assert_eq(score("manager:m1", 1), 7);
}

/* A board whose expiry has passed gets nothing written: its values are
 * dropped at the flush that takes them, counted, and nothing stays
 * pending (a flush with only such values sends nothing; a stop ends). */
Test(board_flush, expired_board_values_dropped, .fini = teardown,
    .timeout = 60)
{
	struct board_write w;
	char *old_key;
	redisReply *r;

	setup("board_flush_expired");
	old_key = keys_board(cfg, "org", "calls", PERIOD_DAY, today - 40);
	w = wr(0, "5");
	w.start_day = today - 40;
	w.expire_at = time(NULL) - 60;
	board_flush_add(bf, cfg, &w, 1);
	put(1, "2");
	cr_assert_eq(board_flush_pending(bf), 8);
	flush();
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(metric("paced_board_values_pending", NULL), 0);
	cr_assert_eq(metric("paced_board_values_dropped_total",
	    "reason=\"expired\""), 4);
	cr_assert_eq(metric("paced_board_values_written_total", NULL), 4);
	cr_assert_eq(score("org", 1), 2);
	r = harness_redis_cmd("EXISTS %s", old_key);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 0, "the expired board was written");
	freeReplyObject(r);
	/* Only expired values: dropped at once, no flush sent. */
	board_flush_add(bf, cfg, &w, 1);
	board_flush_now(bf);
	cr_assert_eq(board_flush_pending(bf), 0);
	cr_assert_eq(metric("paced_board_values_dropped_total",
	    "reason=\"expired\""), 8);
	cr_assert_eq(flushes(), 1);
	/* A stop with only expired values ends at once. */
	board_flush_add(bf, cfg, &w, 1);
	stop_called = false;
	board_flush_stop(bf, stop_done, NULL);
	cr_assert(stop_called, "the stop did not end");
	cr_assert_eq(board_flush_pending(bf), 0);
	free(old_key);
}

Test(board_flush, expiry_set_once, .fini = teardown, .timeout = 60)
{
	char *org;
	int64_t want;
	long long e0, z0;
	redisReply *r;

	setup("board_flush_expiry");
	org = board_key("org");
	want = keys_bucket_expire_at(cfg, PERIOD_DAY, today);
	e0 = calls("expireat");
	z0 = calls("zadd");
	put(0, "1");
	flush();
	/* One ZADD and one EXPIREAT per board, no script, no PTTL. */
	cr_assert_eq(calls("zadd") - z0, 4);
	cr_assert_eq(calls("expireat") - e0, 4);
	cr_assert_eq(calls("pttl"), 0);
	cr_assert_eq(calls("evalsha"), 0);
	cr_assert_eq(calls("pubsub|numsub"), 1);
	r = harness_redis_cmd("TTL %s", org);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
	cr_assert(r->integer > 0 && llabs(r->integer - (want - time(NULL))) <
	    5, "ttl %lld, want %lld", r->integer,
	    (long long)(want - time(NULL)));
	freeReplyObject(r);
	/* The boards' expiry is known: the next flush writes ZADDs only. */
	put(1, "1");
	put(0, "2");
	flush();
	cr_assert_eq(calls("zadd") - z0, 8);
	cr_assert_eq(calls("expireat") - e0, 4);
	/* A lost connection forgets it (Redis may have lost the keys). */
	board_flush_redis_state(bf, false);
	put(0, "3");
	flush();
	cr_assert_eq(calls("expireat") - e0, 8);
	free(org);
}

Test(board_flush, script_when_someone_listens, .fini = teardown,
    .timeout = 60)
{
	redisContext *sub;
	redisReply *r;
	char *channel;
	long long z0;

	setup("board_flush_listen");
	channel = keys_changes_channel(cfg);
	sub = redisConnect("127.0.0.1", harness_redis_port());
	cr_assert(sub != NULL && sub->err == 0);
	r = redisCommand(sub, "SUBSCRIBE %s", channel);
	cr_assert_not_null(r);
	freeReplyObject(r);
	z0 = calls("zadd");
	put(0, "3");
	put(1, "5");
	flush();
	/* The board script per board (its ZADD inside), and a rank
	 * message on the channel. */
	cr_assert_eq(calls("evalsha"), 4);
	cr_assert_eq(calls("zadd") - z0, 4);
	cr_assert_eq(score("org", 1), 5);
	cr_assert_eq(redisGetReply(sub, (void **)&r), REDIS_OK);
	cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3);
	cr_assert_str_eq(r->element[0]->str, "message");
	cr_assert(strstr(r->element[2]->str, "\"type\":\"rank\"") != NULL,
	    "%s", r->element[2]->str);
	freeReplyObject(r);
	redisFree(sub);
	free(channel);
}

/* The counter of rep's kpi on date (day bucket) under prefix; 0 if none
 * (an amount KPI's events of amount 0 write no field, and the shard
 * script answers 0 for the rep). */
static double
counter(const char *prefix, const char *rep, const char *kpi,
    const char *date)
{
	struct config c;
	redisReply *r;
	double v = 0;

	memset(&c, 0, sizeof(c));
	c.redis.shards = 32;
	r = harness_redis_cmd("HGET %s:{s:%d}:cnt:day:%s %s|%s", prefix,
	    keys_shard_of(&c, rep), date, rep, kpi);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = atof(r->str);
	freeReplyObject(r);
	return v;
}

Test(board_flush, daemon_stop_writes_values, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	redisReply *keys;
	double waiting;
	size_t checked = 0;
	int st;

	cr_assert_eq(harness_start_stack("board_flush_daemon", 3), 0);
	cr_assert_eq(harness_paced_config(&p, 0,
	    "leaderboards: {flush_every: 10s}\n"), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	/* The counts, not the boards (harness_wait_caught_up would wait for
	 * a tick of 10 s). */
	cr_assert_eq(harness_wait_counted(HARNESS_WAIT_MS), 0);
	waiting = harness_paced_metric(&p, "paced_board_values_pending");
	harness_log("board values waiting at the stop: %.0f", waiting);
	cr_assert_eq(harness_paced_kill(&p, SIGTERM), 0);
	cr_assert_eq(harness_wait_exit(p.pid, 30000, &st), 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d",
	    st);
	p.pid = 0;
	cr_assert_not(harness_paced_logged(&p, "board_values_dropped"));

	/* Every org day board: each member's score is its counter. */
	keys = harness_redis_cmd("KEYS *{board:org:*:day:*}");
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY &&
	    keys->elements > 0);
	for (size_t k = 0; k < keys->elements; k++) {
		const char *key = keys->element[k]->str;
		const char *at = strstr(key, ":{board:org:");
		char prefix[64], kpi[64], date[16];
		redisReply *z;

		cr_assert_not_null(at);
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(at - key), key);
		cr_assert_eq(sscanf(at, ":{board:org:%63[^:]:day:%15[^}]}",
		    kpi, date), 2, "%s", key);
		z = harness_redis_cmd("ZRANGE %s 0 -1 WITHSCORES", key);
		cr_assert(z != NULL && z->type == REDIS_REPLY_ARRAY);
		for (size_t m = 0; m + 1 < z->elements; m += 2) {
			double want = counter(prefix, z->element[m]->str, kpi,
			    date);

			cr_expect_float_eq(atof(z->element[m + 1]->str), want,
			    1e-6, "%s %s: board %s, counter %.17g", key,
			    z->element[m]->str, z->element[m + 1]->str, want);
			checked++;
		}
		freeReplyObject(z);
	}
	harness_log("%zu org day board entries equal their counters (%zu "
	    "boards)", checked, keys->elements);
	freeReplyObject(keys);
	cr_assert(checked > 0);
}

/* Every day counter field (rep|kpi) against the org day board of its KPI
 * and date: the entries that differ, and the fields checked in *n. */
static size_t
org_boards_behind(size_t *n)
{
	redisReply *keys = harness_redis_cmd("KEYS *:cnt:day:*");
	size_t behind = 0;

	*n = 0;
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	for (size_t k = 0; k < keys->elements; k++) {
		const char *key = keys->element[k]->str;
		const char *at = strstr(key, ":{s:");
		const char *date = strrchr(key, ':') + 1;
		redisReply *h = harness_redis_cmd("HGETALL %s", key);

		cr_assert_not_null(at);
		cr_assert(h != NULL && h->type == REDIS_REPLY_ARRAY);
		for (size_t f = 0; f + 1 < h->elements; f += 2) {
			const char *field = h->element[f]->str;
			const char *bar = strchr(field, '|');
			char bkey[256], rep[160];
			redisReply *z;
			double v = -1;

			cr_assert_not_null(bar);
			/* hiredis formats %s and %b only: the names first */
			snprintf(bkey, sizeof(bkey), "%.*s:{board:org:%s:day:%s}",
			    (int)(at - key), key, bar + 1, date);
			snprintf(rep, sizeof(rep), "%.*s", (int)(bar - field),
			    field);
			z = harness_redis_cmd("ZSCORE %s %s", bkey, rep);
			if (z != NULL && z->type == REDIS_REPLY_STRING)
				v = atof(z->str);
			freeReplyObject(z);
			if (v != atof(h->element[f + 1]->str))
				behind++;
			(*n)++;
		}
		freeReplyObject(h);
	}
	freeReplyObject(keys);
	return behind;
}

Test(board_flush, daemon_kill_then_next_events_mend, .fini = harness_teardown,
    .timeout = 300)
{
	struct harness_paced p;
	double waiting;
	size_t n, behind;

	cr_assert_eq(harness_start_stack("board_flush_kill", 5), 0);
	cr_assert_eq(harness_paced_config(&p, 0,
	    "leaderboards: {flush_every: 10s}\n"), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_counted(HARNESS_WAIT_MS), 0);
	waiting = harness_paced_metric(&p, "paced_board_values_pending");
	cr_assert_eq(harness_paced_kill(&p, SIGKILL), 0);
	behind = org_boards_behind(&n);
	harness_log("SIGKILL with %.0f board values waiting: %zu of %zu org "
	    "day board entries behind their counters", waiting, behind, n);
	cr_assert(n > 0);
	/* The same events again, at new offsets: duplicates, not counted,
	 * but the shard script answers the reps' absolute values, and the
	 * boards take them. */
	cr_assert_eq(harness_paced_rewrite(&p, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);
	behind = org_boards_behind(&n);
	harness_log("after the restart and the events again: %zu of %zu "
	    "behind", behind, n);
	cr_assert_eq(behind, 0);
}
