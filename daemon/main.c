/*
 * main.c: startup and shutdown order, signals, reload.
 *
 * Startup: config -> logging -> roster -> event base -> Redis connections
 * (ingest's; the HTTP reads') -> owner -> ingest -> consumer and DLQ
 * producer -> sinks -> evaluator (told by the ingest through its hooks)
 * -> contest results -> HTTP -> subscribe -> loop.
 * Signals are libevent events: SIGTERM/SIGINT start a graceful stop
 * (finish in-flight writes, store offsets, leave the group, write the
 * leaderboard values waiting, flush the producers) bounded by STOP_TIMEOUT_S in all; a second one exits at once,
 * flushing nothing. A fatal Kafka client error starts the same stop and
 * makes the exit code EXIT_FATAL. SIGHUP loads the file again and swaps it
 * in only when it is valid and changes no key that needs a restart.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backtest.h"
#include "board_flush.h"
#include "caltime.h"
#include "changes.h"
#include "config.h"
#include "consumer.h"
#include "contest_close.h"
#include "digest_run.h"
#include "dlq.h"
#include "enriched.h"
#include "evaluator.h"
#include "http.h"
#include "ingest.h"
#include "kafka_loop.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "plan_cmd.h"
#include "redis_cluster.h"
#include "redis_conn.h"
#include "roster.h"
#include "sink.h"
#include "snapshot.h"

#ifndef PACED_VERSION
#define PACED_VERSION "0.1.0"
#endif

#define STOP_TIMEOUT_S	20	/* the whole graceful stop, flushes included */
#define FLUSH_MAX_MS	5000	/* each producer's share of what is left */

/* Exit codes of the daemon (README, Command line). */
#define EXIT_CLEAN	0	/* stopped by SIGTERM/SIGINT, all settled */
#define EXIT_FATAL	3	/* a fatal Kafka client error; stopped gracefully */
#define EXIT_UNFINISHED	4	/* the stop timed out, or a second signal cut it */

struct daemon_state {
	struct event_base *base;
	const struct config *cfg;
	const struct roster *roster;
	struct redis_conn *conn;
	struct redis_conn *reads_conn;	/* the HTTP API's reads */
	struct redis_conn *ingest_conn;	/* counting and watermarks */
	struct owner *owner;
	struct ingest *ingest;
	struct board_flush *boards;	/* leaderboard values, coalesced */
	struct consumer *consumer;
	struct dlq *dlq;
	struct enriched *enriched;	/* NULL: analytics.enriched off */
	struct snapshot *snapshot;	/* NULL: analytics.snapshots off */
	struct sinks *sinks;
	struct digest_run *digests;	/* NULL on the event clock */
	struct evaluator *evaluator;
	struct contest_close *contests;	/* results of ended contests */
	struct changes *changes;	/* pace status changes seen */
	struct http *http;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer, *reap_timer;
	struct event *fatal_ev;
	bool stopping;
	bool forced;		/* timed out or cut short: flush nothing */
	int64_t stop_deadline_ms;	/* monotonic */
	int exit_code;
	struct metric *m_reloads_ok, *m_reloads_failed, *m_stalls;
	uint64_t stalls_seen;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: paced --config FILE        run the daemon\n"
	    "       paced --check-config FILE  validate FILE, print every error\n"
	    "       paced backtest --config FILE [--until RFC3339] [--exhaustive]\n"
	    "                   EVENTS.jsonl   replay events, print the alerts\n"
	    "       paced plan --config FILE --revenue N --deal-size N\n"
	    "                   --funnel ...   targets from a revenue goal\n"
	    "       paced --version | --help\n"
	    "\n"
	    "Consumes sales activity events from Kafka, keeps per-rep counters in\n"
	    "Redis and serves health, metrics and scorecards over HTTP.\n"
	    "Signals: TERM/INT stop gracefully, HUP reloads the config.\n");
}

static void
redis_state(bool up, void *arg)
{
	struct daemon_state *d = arg;

	board_flush_redis_state(d->boards, up);
}

static void
ingest_state(bool up, void *arg)
{
	struct daemon_state *d = arg;

	if (d->ingest != NULL)
		ingest_redis_state(up, d->ingest);
}

/* The read connection's state only shows in metrics and /readyz. */
static void
reads_state(bool up, void *arg)
{
	(void)up;
	(void)arg;
}

/* The ingest's hooks: what it tells the evaluator. */
static void
hook_rep_changed(size_t rep_index, void *arg)
{
	evaluator_rep_changed(arg, rep_index);
}

static void
hook_owned_grew(void *arg)
{
	evaluator_owned_grew(arg);
}

static void
hook_backlog(bool behind, void *arg)
{
	evaluator_hold_changes(arg, behind);
}

static void
hook_tick(int64_t at_ms, void (*done_cb)(void *, int), void *done_arg,
    void *arg)
{
	evaluator_tick(arg, at_ms, done_cb, done_arg);
}

static void
hook_counted(const struct config *cfg, const struct roster_rep *rr,
    size_t kpi, enum period p, int32_t start_day, const char *value,
    size_t len, void *arg)
{
	evaluator_counted(arg, cfg, rr, kpi, p, start_day, value, len);
}

static void
hook_counts_unknown(void *arg)
{
	evaluator_counts_unknown(arg);
}

/* The ingest's output: the enriched events topic. */
static void
out_event(uint64_t seq, const struct enriched_event *ev, void *arg)
{
	enriched_add(arg, seq, ev);
}

static bool
out_applied(uint64_t seq, void (*done_cb)(void *, int), void *done_arg,
    void *arg)
{
	return enriched_release(arg, seq, done_cb, done_arg);
}

static void
out_dropped(uint64_t seq, void *arg)
{
	enriched_forget(arg, seq);
}

/* The evaluator's judgements: the scorecard snapshots. */
static void
hook_judged(const struct roster_rep *rep, int64_t at_ms,
    const struct scorecard *cards, void *arg)
{
	snapshot_judged(arg, rep, at_ms, cards);
}

/* The group is left; exit once evaluations in flight have stored their
 * alert state (else an alert sent but not recorded would go out again
 * after the restart). The stop timer bounds the wait. */
static void
drain_evaluations(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *d = arg;
	struct timeval tick = { 0, 50 * 1000 };

	(void)fd;
	(void)what;
	if (evaluator_busy(d->evaluator) > 0) {
		event_base_once(d->base, -1, EV_TIMEOUT, drain_evaluations, d,
		    &tick);
		return;
	}
	log_info("shutdown_complete", "exit=%d", d->exit_code);
	event_base_loopexit(d->base, NULL);
}

static void
boards_flushed(void *arg)
{
	drain_evaluations(-1, 0, arg);
}

/* The ingest has stored its last offsets: the board values it left are
 * written (bounded by the stop timer), then evaluations drain. */
static void
stopped(void *arg)
{
	struct daemon_state *d = arg;

	board_flush_stop(d->boards, boards_flushed, d);
}

/* The stop did not finish: exit without flushing, with a code that says
 * so (unless a fatal error already set one). */
static void
stop_unfinished(struct daemon_state *d)
{
	d->forced = true;
	if (d->exit_code == EXIT_CLEAN)
		d->exit_code = EXIT_UNFINISHED;
	event_base_loopbreak(d->base);
}

static void
stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *d = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout", "seconds=%d exit=%d", STOP_TIMEOUT_S,
	    d->exit_code == EXIT_CLEAN ? EXIT_UNFINISHED : d->exit_code);
	stop_unfinished(d);
}

static void
start_stop(struct daemon_state *d, const char *why)
{
	struct timeval tv = { STOP_TIMEOUT_S, 0 };

	if (d->stopping)
		return;
	d->stopping = true;
	d->stop_deadline_ms = caltime_mono_ms() + STOP_TIMEOUT_S * 1000LL;
	log_info("shutdown_started", "reason=%s", why);
	evtimer_add(d->stop_timer, &tv);
	evaluator_stop(d->evaluator);	/* waiting ones are judged after the restart */
	ingest_stop(d->ingest, stopped, d);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_state *d = arg;

	(void)what;
	if (d->stopping) {
		log_warnx("shutdown_forced", "signal=%d exit=%d", (int)sig,
		    d->exit_code == EXIT_CLEAN ? EXIT_UNFINISHED : d->exit_code);
		stop_unfinished(d);
		return;
	}
	start_stop(d, sig == SIGINT ? "sigint" : "sigterm");
}

/* kafka_fatal_cb: runs inside a librdkafka callback, so it only records
 * the request; the stop starts on the next loop turn. */
static void
on_kafka_fatal(const char *client, const char *reason, void *arg)
{
	struct daemon_state *d = arg;

	(void)client;
	(void)reason;
	if (d->exit_code == EXIT_CLEAN)
		d->exit_code = EXIT_FATAL;
	event_active(d->fatal_ev, EV_TIMEOUT, 0);
}

static void
fatal_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_stop(arg, "kafka_fatal");
}

/* What a producer may still spend flushing: nothing after a forced stop,
 * else at most FLUSH_MAX_MS of what is left of the stop's bound. */
static int
flush_budget(const struct daemon_state *d)
{
	int64_t left;

	if (d->forced)
		return 0;
	if (!d->stopping)
		return FLUSH_MAX_MS;
	left = d->stop_deadline_ms - caltime_mono_ms();
	return left <= 0 ? 0 : left > FLUSH_MAX_MS ? FLUSH_MAX_MS : (int)left;
}

static void
reap_retired(struct daemon_state *d)
{
	const struct config *c;
	const struct roster *r;

	if (ingest_take_retired(d->ingest, &c, &r)) {
		roster_free((struct roster *)r);
		config_free((struct config *)c);
	}
}

/* Once a second: retired configs freed; the loop's stall fence (a stall
 * longer than the group's session timeout may have handed the partitions
 * on; see owner.c) followed. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *d = arg;

	(void)fd;
	(void)what;
	reap_retired(d);
	if (owner_alive(d->owner, caltime_mono_ms()) && d->evaluator != NULL)
		evaluator_owned_grew(d->evaluator);
	if (owner_stalls(d->owner) != d->stalls_seen) {
		metrics_add(d->m_stalls, (double)(owner_stalls(d->owner) -
		    d->stalls_seen));
		d->stalls_seen = owner_stalls(d->owner);
	}
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_state *d = arg;
	struct config *c;
	struct roster *r;
	char *errs = NULL, err[512];

	(void)sig;
	(void)what;
	reap_retired(d);
	if (ingest_has_retired(d->ingest)) {
		/* The previous reload's config is still in use by a batch. */
		log_warnx("reload_deferred", "reason=%s",
		    log_quote("previous config still in use; send SIGHUP again"));
		return;
	}
	c = config_load(d->cfg->path, &errs);
	if (c == NULL) {
		metrics_inc(d->m_reloads_failed);
		log_warnx("reload_failed", "file=%s errors=%s keeping=old",
		    d->cfg->path, log_quote(errs ? errs : "unknown"));
		free(errs);
		return;
	}
	if (config_reloadable(d->cfg, c, err, sizeof(err)) != 0) {
		metrics_inc(d->m_reloads_failed);
		log_warnx("reload_failed", "file=%s reason=%s keeping=old",
		    c->path, log_quote(err));
		config_free(c);
		return;
	}
	if ((r = roster_new(c, err, sizeof(err))) == NULL) {
		metrics_inc(d->m_reloads_failed);
		log_warnx("reload_failed", "file=%s err=%s keeping=old", c->path,
		    log_quote(err));
		config_free(c);
		return;
	}
	ingest_set_config(d->ingest, c, r);
	owner_set_config(d->owner, c);
	d->cfg = c;
	d->roster = r;
	redis_conn_set_timeout(d->conn, (long)c->redis.command_timeout_ms);
	redis_conn_set_timeout(d->reads_conn, (long)c->redis.command_timeout_ms);
	redis_conn_set_timeout(d->ingest_conn,
	    (long)c->redis.command_timeout_ms);
	evaluator_reconfigured(d->evaluator);
	board_flush_reloaded(d->boards);
	if (d->snapshot != NULL)
		snapshot_reconfigured(d->snapshot);
	sinks_set_config(d->sinks, c);
	if (d->digests != NULL)
		digest_run_set_config(d->digests, c);
	log_set_level(c->log.level);
	log_set_format(c->log.format);
	metrics_inc(d->m_reloads_ok);
	log_info("reload_done", "file=%s reps=%zu teams=%zu kpis=%zu", c->path,
	    c->nreps, c->nteams, c->nkpis);
	reap_retired(d);
}

static int
check_config(const char *path)
{
	char *errs = NULL, err[512];
	struct config *c = config_load(path, &errs);
	struct roster *r;

	if (c == NULL) {
		fputs(errs ? errs : "unknown error\n", stderr);
		free(errs);
		return 1;
	}
	if ((r = roster_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		config_free(c);
		return 1;
	}
	if (c->redis.cluster &&
	    redis_cluster_check_layout(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: redis.cluster: %s\n", path, err);
		roster_free(r);
		config_free(c);
		return 1;
	}
	printf("%s: ok (%zu kpis, %zu teams, %zu reps)\n", path, c->nkpis,
	    c->nteams, c->nreps);
	roster_free(r);
	config_free(c);
	return 0;
}

static int
run(const char *path)
{
	struct daemon_state d = { 0 };
	struct config *cfg;
	struct roster *roster;
	char *errs = NULL, err[512];
	struct consumer_handlers h;
	struct redis_conn_opts ro = { 0 };
	struct http_deps hd;
	struct timeval sec = { 1, 0 };

	if ((cfg = config_load(path, &errs)) == NULL) {
		fputs(errs ? errs : "unknown error\n", stderr);
		free(errs);
		return 1;
	}
	log_set_level(cfg->log.level);
	log_set_format(cfg->log.format);
	if ((roster = roster_new(cfg, err, sizeof(err))) == NULL)
		fatalx("startup_failed", "err=%s", log_quote(err));
	/* hiredis writes with write(): a closed socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	log_route_libevent();
	d.base = event_base_new();
	d.cfg = cfg;
	d.roster = roster;

	ro.host = cfg->redis.host;
	ro.port = cfg->redis.port;
	ro.unix_path = cfg->redis.unix_path;
	ro.username = cfg->redis.username;
	ro.password = cfg->redis.password;
	ro.db = cfg->redis.db;
	ro.tls = cfg->redis.tls;
	ro.ca_file = cfg->redis.ca_file;
	ro.timeout_ms = (long)cfg->redis.command_timeout_ms;
	ro.name = "main";
	if (cfg->redis.cluster) {
		if (redis_cluster_check_layout(cfg, err, sizeof(err)) != 0)
			fatalx("startup_failed", "what=redis.cluster err=%s",
			    log_quote(err));
		d.conn = redis_cluster_conn_new(d.base, &ro, cfg->redis.seeds,
		    cfg->redis.nseeds, redis_state, &d);
		ro.name = "http";
		d.reads_conn = redis_cluster_conn_new(d.base, &ro,
		    cfg->redis.seeds, cfg->redis.nseeds, reads_state, &d);
		ro.name = "ingest";
		ro.check_settings = true;
		d.ingest_conn = redis_cluster_conn_new(d.base, &ro,
		    cfg->redis.seeds, cfg->redis.nseeds, ingest_state, &d);
	} else {
		d.conn = redis_conn_new(d.base, &ro, redis_state, &d);
		/* The API's reads on a connection of their own: a burst of
		 * them, or one slow one, times out there without dropping
		 * ingest's. */
		ro.name = "http";
		d.reads_conn = redis_conn_new(d.base, &ro, reads_state, &d);
		/* The counting scripts and watermarks on a connection of
		 * their own: not queued behind the evaluator's and the board
		 * writer's commands. */
		ro.name = "ingest";
		ro.check_settings = true;	/* what counting costs Redis */
		d.ingest_conn = redis_conn_new(d.base, &ro, ingest_state, &d);
	}
	d.owner = owner_new(cfg);
	d.boards = board_flush_new(d.base, d.conn, &d.cfg);
	d.ingest = ingest_new(d.base, d.ingest_conn, d.owner, cfg, roster);
	ingest_set_boards(d.ingest, d.boards);
	h = ingest_handlers(d.ingest);
	if ((d.consumer = consumer_new(d.base, cfg, &h, err, sizeof(err))) == NULL)
		fatalx("startup_failed", "what=kafka_consumer err=%s", log_quote(err));
	if ((d.dlq = dlq_new(d.base, cfg, ingest_dlq_delivered, d.ingest, err,
	    sizeof(err))) == NULL)
		fatalx("startup_failed", "what=kafka_producer err=%s", log_quote(err));
	ingest_attach(d.ingest, d.consumer, d.dlq);
	if (cfg->analytics.enriched) {
		struct ingest_output io = {
			.event = out_event,
			.applied = out_applied,
			.dropped = out_dropped,
		};

		if ((d.enriched = enriched_new(d.base, cfg, err,
		    sizeof(err))) == NULL)
			fatalx("startup_failed", "what=enriched_producer err=%s",
			    log_quote(err));
		io.arg = d.enriched;
		ingest_set_output(d.ingest, &io);
	}
	if ((d.sinks = sinks_new(d.base, cfg, d.conn, err, sizeof(err))) == NULL)
		fatalx("startup_failed", "what=alert_sinks err=%s", log_quote(err));
	/* Scheduled digests follow the wall clock: a replay sends none. */
	if (cfg->clock == CLOCK_MODE_WALL)
		d.digests = digest_run_new(d.base, cfg, d.conn, d.sinks);
	if (cfg->analytics.snapshots && (d.snapshot = snapshot_new(d.base,
	    d.conn, &d.cfg, &d.roster, err, sizeof(err))) == NULL)
		fatalx("startup_failed", "what=snapshot_producer err=%s",
		    log_quote(err));
	{
		struct evaluator_deps ed = {
			.base = d.base,
			.conn = d.conn,
			.sinks = d.sinks,
			.owner = d.owner,
			.cfg = &d.cfg,
			.roster = &d.roster,
			.changes = d.changes = changes_new(),
			.judged = d.snapshot != NULL ? hook_judged : NULL,
			.judged_arg = d.snapshot,
		};

		d.evaluator = evaluator_new(&ed);
	}
	d.contests = contest_close_new(&(struct contest_close_deps){
	    .base = d.base, .conn = d.conn, .sinks = d.sinks,
	    .owner = d.owner, .cfg = &d.cfg });
	{
		struct ingest_hooks ih = {
			.rep_changed = hook_rep_changed,
			.owned_grew = hook_owned_grew,
			.tick = hook_tick,
			.counted = hook_counted,
			.counts_unknown = hook_counts_unknown,
			.backlog = hook_backlog,
			.arg = d.evaluator,
		};

		ingest_set_hooks(d.ingest, &ih);
	}
	hd.cfg = &d.cfg;
	hd.roster = &d.roster;
	hd.ingest = d.ingest;
	hd.owner = d.owner;
	hd.conn = d.conn;
	hd.reads = d.reads_conn;
	if ((d.http = http_new(d.base, cfg, &hd, err, sizeof(err))) == NULL)
		fatalx("startup_failed", "what=http err=%s", log_quote(err));
	if (consumer_start(d.consumer, cfg, err, sizeof(err)) != 0)
		fatalx("startup_failed", "what=subscribe err=%s", log_quote(err));

	d.m_reloads_ok = metrics_counter("paced_config_reloads_total",
	    "result=\"ok\"", "Config reloads on SIGHUP, by result");
	d.m_reloads_failed = metrics_counter("paced_config_reloads_total",
	    "result=\"failed\"", "Config reloads on SIGHUP, by result");
	d.m_stalls = metrics_counter("paced_loop_stalls_total", NULL,
	    "Stalls of the event loop long enough to lose the group's session "
	    "(judging fenced until a rebalance; log owner_fenced)");
	metrics_set(metrics_gauge("paced_build_info", "version=\"" PACED_VERSION "\"",
	    "Build information"), 1);
	d.sig_term = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	d.stop_timer = evtimer_new(d.base, stop_timeout, &d);
	d.fatal_ev = event_new(d.base, -1, 0, fatal_cb, &d);
	kafka_set_fatal_cb(on_kafka_fatal, &d);
	d.reap_timer = event_new(d.base, -1, EV_PERSIST, reap_cb, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_hup, NULL);
	event_add(d.reap_timer, &sec);
	log_info("started", "version=%s config=%s reps=%zu teams=%zu kpis=%zu "
	    "redis=%s brokers=%s", PACED_VERSION, path, cfg->nreps, cfg->nteams,
	    cfg->nkpis, log_quote(cfg->redis.unix_path ? cfg->redis.unix_path :
	    cfg->redis.host), cfg->kafka.brokers);

	event_base_dispatch(d.base);

	/* Teardown, reverse order. The producers flush within what is left
	 * of the stop's bound (nothing after a forced stop). What the DLQ
	 * drops is from batches whose offsets were not stored: it is read
	 * and sent again after the restart. */
	kafka_set_fatal_cb(NULL, NULL);
	http_free(d.http);
	ingest_set_hooks(d.ingest, NULL);
	evaluator_free(d.evaluator);
	snapshot_free(d.snapshot, flush_budget(&d));
	contest_close_free(d.contests);
	changes_free(d.changes);
	consumer_free(d.consumer);
	dlq_free(d.dlq, flush_budget(&d));
	digest_run_free(d.digests);
	sinks_free(d.sinks, flush_budget(&d));
	reap_retired(&d);
	ingest_free(d.ingest);
	d.ingest = NULL;	/* ingest_state may still be called */
	/* After the ingest: releases it still waits for find it gone. What
	 * is dropped here is from batches whose offsets were not stored. */
	enriched_free(d.enriched, flush_budget(&d));
	redis_conn_free(d.reads_conn);
	redis_conn_free(d.ingest_conn);
	redis_conn_free(d.conn);
	board_flush_free(d.boards);	/* after the connection: its replies */
	d.boards = NULL;
	owner_free(d.owner);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_free(d.sig_hup);
	event_free(d.stop_timer);
	event_free(d.fatal_ev);
	event_free(d.reap_timer);
	roster_free((struct roster *)d.roster);
	config_free((struct config *)d.cfg);
	event_base_free(d.base);
	metrics_reset();	/* last: libevent's log callback counts in one */
	return d.exit_code;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int ch;

	if (argc > 1 && strcmp(argv[1], "backtest") == 0)
		return backtest_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "plan") == 0)
		return plan_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:n:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			return check_config(optarg);
		case 'V':
			printf("paced %s\n", PACED_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	return run(config);
}
