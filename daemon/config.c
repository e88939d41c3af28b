/*
 * config.c: the YAML configuration (config contract v1). Every key is a
 * row of one table (path, type, default, bounds, whether SIGHUP may change
 * it, one line of doc); the engine here walks the file against it, loads
 * scalar rows itself and hands each list or map row to its function
 * (config_org.c, config_roster.c, the librdkafka properties below), run
 * after the walk in dependency order so a team may name a calendar
 * written further down. Problems are collected by config_yaml.c and the
 * file is rejected only at the end, so one run of --check-config shows all
 * of them. Called at startup, by --check-config and on SIGHUP; never on the
 * hot path.
 */
#include "config.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_boards.h"
#include "config_contests.h"
#include "config_funnel.h"
#include "config_kafka.h"
#include "config_org.h"
#include "config_roster.h"
#include "config_yaml.h"
#include "netaddr.h"
#include "redis_tls.h"
#include "partitioner.h"
#include "xmalloc.h"

#define CONFIG_MAX_BYTES	(16 * 1024 * 1024)
#define TOPIC_MAX		249	/* Kafka's own limit */

/* Extra validation of a string row; may also fill derived fields. */
typedef int (*key_check_cb)(struct loader *, yaml_node_t *, const char *,
    const char *);
/* Loads a list or map row. */
typedef void (*key_load_cb)(struct loader *, yaml_node_t *, const char *);
/* Compares a non-reloadable list or map row of two configs. */
typedef bool (*key_equal_cb)(const struct config *, const struct config *);

enum key_type {
	KEY_SECTION,		/* a mapping holding further rows */
	KEY_STRING,
	KEY_INT,
	KEY_LONG,
	KEY_NUMBER,
	KEY_BOOL,
	KEY_DURATION,
	KEY_ENUM,
	KEY_CUSTOM,		/* a list or map: a function of its own */
};

#define KEY_RELOAD	0x01	/* SIGHUP may change it */
#define KEY_SECRET	0x02	/* its value never appears in a message */
#define KEY_NULL	0x04	/* null is allowed and means unset */
#define KEY_MIN_EXCL	0x08	/* number bounds are open */
#define KEY_MAX_EXCL	0x10
#define KEY_REQUIRED	0x20

struct key_row {
	const char		*path;
	enum key_type		 type;
	unsigned		 flags;
	size_t			 off;	/* field in struct config */
	const char		*def;	/* default, as written in a file */
	const char		*min;	/* bounds, as written in a file */
	const char		*max;
	const char *const	*names;	/* KEY_ENUM: names[value] */
	key_check_cb		 check;
	key_load_cb		 load;	/* KEY_CUSTOM */
	key_equal_cb		 equal;	/* KEY_CUSTOM, not KEY_RELOAD */
	int			 stage;	/* KEY_CUSTOM: load order */
	const char		*doc;	/* one line of help */
};

static int check_brokers(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_topic(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_redis_url(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_nonempty(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_key_prefix(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_listen(struct loader *, yaml_node_t *, const char *,
    const char *);
static int check_partitioner(struct loader *, yaml_node_t *, const char *,
    const char *);
static void load_properties(struct loader *, yaml_node_t *, const char *);
static void load_password_file(struct loader *, yaml_node_t *, const char *);
static void load_redis_ca_file(struct loader *, yaml_node_t *, const char *);
static void load_token_file(struct loader *, yaml_node_t *, const char *);
static void load_cluster(struct loader *, yaml_node_t *, const char *);
static bool cluster_equal(const struct config *, const struct config *);
static bool properties_equal(const struct config *, const struct config *);
static bool redis_ca_equal(const struct config *, const struct config *);
static bool kpis_equal(const struct config *, const struct config *);

/* Enum rows store the index of the name; these lists follow the enums. */
static const char *const level_names[] = { "error", "warn", "info", "debug",
    NULL };
static const char *const format_names[] = { "logfmt", "json", NULL };
static const char *const clock_names[] = { "wall", "event", NULL };
static const char *const unknown_rep_names[] = { "skip", "dlq", NULL };

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum clock_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum unknown_rep_policy) == sizeof(int), "enum size");
_Static_assert(LOG_LEVEL_DEBUG == 3 && LOG_FORMAT_JSON == 1 &&
    CLOCK_MODE_EVENT == 1 && UNKNOWN_REP_DLQ == 1, "enum order");

#define OFF(f)	offsetof(struct config, f)
#define SECTION(p, h) \
	{ .path = (p), .type = KEY_SECTION, .flags = KEY_RELOAD, \
	  .doc = (h) }
#define STRING(p, f, fl, d, chk, h) \
	{ .path = (p), .type = KEY_STRING, .flags = (fl), .off = OFF(f), \
	  .def = (d), .check = (chk), .doc = (h) }
#define INT(p, f, fl, d, lo, hi, h) \
	{ .path = (p), .type = KEY_INT, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi), .doc = (h) }
#define LONG(p, f, fl, d, lo, hi, h) \
	{ .path = (p), .type = KEY_LONG, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi), .doc = (h) }
#define BOOL(p, f, fl, d, h) \
	{ .path = (p), .type = KEY_BOOL, .flags = (fl), .off = OFF(f), \
	  .def = (d), .doc = (h) }
#define NUMBER(p, f, fl, d, lo, hi, h) \
	{ .path = (p), .type = KEY_NUMBER, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi), .doc = (h) }
#define DURATION(p, f, fl, d, lo, hi, h) \
	{ .path = (p), .type = KEY_DURATION, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi), .doc = (h) }
#define ENUM(p, f, fl, d, n, h) \
	{ .path = (p), .type = KEY_ENUM, .flags = (fl), .off = OFF(f), \
	  .def = (d), .names = (n), .doc = (h) }
#define CUSTOM(p, fl, st, fn, eq, h) \
	{ .path = (p), .type = KEY_CUSTOM, .flags = (fl), .stage = (st), \
	  .load = (fn), .equal = (eq), .doc = (h) }

/*
 * Every key of the file. Stages: 1 needs nothing, 2 needs the KPIs and
 * calendars, 3 needs the teams and roles, 4 the reps and the score
 * weights. docs/config.md documents each key in a table of its "Keys" part; test_config checks that the two name
 * the same keys.
 */
static const struct key_row rows[] = {
	SECTION("kafka", "the Kafka cluster, topics and client properties"),
	STRING("kafka.brokers", kafka.brokers, 0, "127.0.0.1:9092",
	    check_brokers, "bootstrap brokers, comma-separated"),
	STRING("kafka.group_id", kafka.group_id, 0, "paced", check_nonempty,
	    "consumer group shared by all paced processes of a deployment"),
	SECTION("kafka.topics", "the topics paced reads and writes"),
	STRING("kafka.topics.activity", kafka.topic_activity, 0,
	    "sales.activity", check_topic, "activity events in"),
	STRING("kafka.topics.dlq", kafka.topic_dlq, 0, "sales.activity.dlq",
	    check_topic, "bad events out (dead-letter)"),
	STRING("kafka.topics.alerts", kafka.topic_alerts, 0, "sales.alerts",
	    check_topic, "alerts out"),
	STRING("kafka.topics.enriched", kafka.topic_enriched, 0,
	    "sales.activity.enriched", check_topic,
	    "counted events out, normalized (analytics.enriched)"),
	STRING("kafka.topics.scorecards", kafka.topic_scorecards, 0,
	    "sales.scorecards", check_topic,
	    "scorecard snapshots out (analytics.snapshots)"),
	CUSTOM("kafka.properties", 0, 1, load_properties, properties_equal,
	    "librdkafka properties, passed through as strings"),
	/* After kafka.properties, which it adds to (and is compared
	 * through). */
	CUSTOM("kafka.security", KEY_SECRET, 1, load_kafka_security, NULL,
	    "TLS and SASL: protocol, sasl_mechanism, username, password_file, "
	    "ca_file"),
	/* How the producers upstream pick partitions; not a property of
	 * paced's own clients. */
	STRING("kafka.partitioner", kafka.partitioner, 0, "murmur2_random",
	    check_partitioner, "the partitioner of the producers that write "
	    "the activity topic"),

	SECTION("redis", "where Redis is and how long keys live"),
	STRING("redis.url", redis.url, KEY_SECRET,
	    "redis://127.0.0.1:6379/0", check_redis_url, "where Redis is"),
	STRING("redis.username", redis.username, KEY_NULL, NULL,
	    check_nonempty, "ACL user; overrides the url's"),
	STRING("redis.password", redis.password, KEY_NULL | KEY_SECRET, NULL,
	    check_nonempty, "password; overrides the url's"),
	/* Compared through redis.password, which it fills. */
	CUSTOM("redis.password_file", KEY_NULL | KEY_SECRET, 1,
	    load_password_file, NULL, "the password from a file"),
	CUSTOM("redis.ca_file", KEY_NULL, 1, load_redis_ca_file,
	    redis_ca_equal, "CA certificates for a rediss:// url"),
	STRING("redis.key_prefix", redis.key_prefix, 0, "paced",
	    check_key_prefix, "prefix of every key paced writes"),
	INT("redis.shards", redis.shards, 0, "32", "1", "16384",
	    "counter shards: the keys one batch call writes share one"),
	DURATION("redis.dedupe_window", redis.dedupe_window_ms, KEY_RELOAD,
	    "35d", "1h", NULL, "how long an event_id is remembered"),
	SECTION("redis.retention", "lifetime of counters past their bucket"),
	DURATION("redis.retention.day", redis.retention_ms[PERIOD_DAY],
	    KEY_RELOAD, "400d", "1h", NULL,
	    "lifetime of a day counter past the end of its day"),
	DURATION("redis.retention.week", redis.retention_ms[PERIOD_WEEK],
	    KEY_RELOAD, "800d", "1h", NULL, "same for week buckets"),
	DURATION("redis.retention.month", redis.retention_ms[PERIOD_MONTH],
	    KEY_RELOAD, "800d", "1h", NULL, "same for month buckets"),
	DURATION("redis.retention.quarter",
	    redis.retention_ms[PERIOD_QUARTER], KEY_RELOAD, "800d", "1h", NULL,
	    "same for quarter buckets"),
	DURATION("redis.command_timeout", redis.command_timeout_ms,
	    KEY_RELOAD, "5s", "100ms", "60s",
	    "paced's own deadline on each Redis call"),
	CUSTOM("redis.cluster", 0, 1, load_cluster, cluster_equal,
	    "Redis Cluster: true (redis.url is the seed) or a list of "
	    "redis:// seed urls"),

	SECTION("http", "the HTTP listener"),
	STRING("http.listen", http.listen, 0, "127.0.0.1:9464", check_listen,
	    "health, metrics and read API"),
	CUSTOM("http.token_file", KEY_NULL | KEY_SECRET | KEY_RELOAD, 1,
	    load_token_file, NULL, "a bearer token the API requires"),
	INT("http.max_connections", http.max_connections, 0, "256", "1",
	    "65536", "connections open at once; then accepting waits"),
	DURATION("http.idle_timeout", http.idle_timeout_ms, 0, "10s", "1s",
	    "1h", "an idle or stalled connection is closed after this"),
	INT("http.max_streams", http.max_streams, 0, "128", "0", "65536",
	    "change streams (GET /v1/stream) open at once; then 503"),
	DURATION("http.stream_heartbeat", http.stream_heartbeat_ms, 0, "15s",
	    "100ms", "1h", "a comment line on every change stream this often"),

	SECTION("log", "log lines"),
	ENUM("log.level", log.level, KEY_RELOAD, "info", level_names,
	    "lines below this are dropped"),
	ENUM("log.format", log.format, KEY_RELOAD, "logfmt", format_names,
	    "line format"),
	ENUM("clock", clock, 0, "wall", clock_names,
	    "wall time, or the time of the newest event seen"),
	ENUM("unknown_rep", unknown_rep, KEY_RELOAD, "skip", unknown_rep_names,
	    "an event from a rep not on the roster: skipped, or to the DLQ"),

	SECTION("batch", "how events are batched before Redis"),
	INT("batch.max_messages", batch.max_messages, KEY_RELOAD, "20000",
	    "1", "100000", "flush a batch at this many messages"),
	DURATION("batch.max_wait", batch.max_wait_ms, KEY_RELOAD, "10ms",
	    "1ms", "10s", "or when its oldest message is this old"),

	SECTION("dlq", "the dead-letter topic"),
	DURATION("dlq.stuck_after", dlq.stuck_after_ms, KEY_RELOAD, "30s",
	    "1s", "1h", "not ready while a dead-letter message waits longer"),

	SECTION("analytics", "the outputs for downstream analytics"),
	BOOL("analytics.enriched", analytics.enriched, 0, "false",
	    "every counted event, normalized, to kafka.topics.enriched"),
	BOOL("analytics.snapshots", analytics.snapshots, 0, "true",
	    "scorecard snapshots to kafka.topics.scorecards"),
	DURATION("analytics.snapshot_every", analytics.snapshot_every_ms,
	    KEY_RELOAD, "5m", "1s", "1d",
	    "a snapshot of every rep's open buckets this often"),

	CUSTOM("kpis", KEY_REQUIRED, 1, load_kpis, kpis_equal,
	    "the KPIs and the activity types that feed them"),
	CUSTOM("calendars", KEY_RELOAD, 1, load_calendars, NULL,
	    "working days and hours, holidays, week and fiscal year starts"),
	CUSTOM("roles", KEY_RELOAD | KEY_REQUIRED, 2, load_roles, NULL,
	    "targets, schedules and funnel of each role"),
	CUSTOM("teams", KEY_RELOAD | KEY_REQUIRED, 2, load_teams, NULL,
	    "teams: time zone, calendar, manager"),
	CUSTOM("reps", KEY_RELOAD, 3, load_reps, NULL, "the roster inline"),
	CUSTOM("roster_file", KEY_RELOAD, 3, load_roster_file, NULL,
	    "the roster as a CSV file"),
	CUSTOM("managers", KEY_RELOAD, 1, load_managers, NULL,
	    "who each manager reports to"),

	SECTION("alerts", "when alerts fire and where they go"),
	CUSTOM("alerts.periods", KEY_RELOAD, 1, load_alert_periods, NULL,
	    "periods evaluated"),
	CUSTOM("alerts.kpis", KEY_RELOAD, 2, load_alert_kpis, NULL,
	    "KPIs evaluated"),
	NUMBER("alerts.warning_below", alerts.warning_below,
	    KEY_RELOAD | KEY_MIN_EXCL, "0.8", "0", "1",
	    "pace below this warns"),
	NUMBER("alerts.critical_below", alerts.critical_below,
	    KEY_RELOAD | KEY_MIN_EXCL, "0.5", "0", "1",
	    "pace below this is critical"),
	NUMBER("alerts.grace", alerts.grace, KEY_RELOAD | KEY_MAX_EXCL, "0.2",
	    "0", "1", "share of the period's working time before any alert"),
	DURATION("alerts.repeat_interval", alerts.repeat_interval_ms,
	    KEY_RELOAD, "4h", "1s", NULL,
	    "working time before an unchanged alert is repeated"),
	DURATION("alerts.evaluate_every", alerts.evaluate_every_ms,
	    KEY_RELOAD, "1m", "1s", "1d", "pacing timer"),
	DURATION("alerts.min_breach", alerts.min_breach_ms, KEY_RELOAD, "15m",
	    "0s", "1d", "working time a change of level must be asked for"),
	LONG("alerts.min_breach_evaluations", alerts.min_breach_evals,
	    KEY_RELOAD, "2", "1", "100",
	    "consecutive evaluations a change of level must be asked for"),
	NUMBER("alerts.resolve_margin", alerts.resolve_margin, KEY_RELOAD,
	    "0.05", "0", "1", "recovery at a pace of warning_below + this"),
	LONG("alerts.max_per_manager_per_day",
	    alerts.max_per_manager_per_day, KEY_RELOAD, "20", "0", "100000",
	    "alert lines a manager gets a day through digest webhooks"),
	CUSTOM("alerts.quiet_hours", KEY_RELOAD, 3, load_quiet_hours, NULL,
	    "teams whose digests wait for working time"),
	SECTION("alerts.digest", "scheduled digests to the digest webhooks"),
	CUSTOM("alerts.digest.morning", KEY_RELOAD, 1, load_digest_morning,
	    NULL, "local time (HH:MM) of each manager's morning summary; "
	    "null: none"),
	CUSTOM("alerts.digest.weekly", KEY_RELOAD, 1, load_digest_weekly,
	    NULL, "weekday and local time (fri 16:00) of each manager's "
	    "end-of-week scorecard; null: none"),
	BOOL("alerts.digest.positive_news", alerts.positive_news, KEY_RELOAD,
	    "false", "targets met and recoveries from critical in the digests"),
	/* No upper bound: a pace of 3 is as possible as one of 1.2. */
	NUMBER("alerts.ahead_above", alerts.ahead_above,
	    KEY_RELOAD | KEY_MIN_EXCL, "1.1", "1", NULL,
	    "pace at or above this reads ahead"),
	BOOL("alerts.escalate_critical", alerts.escalate_critical, KEY_RELOAD,
	    "true", "a critical alert also notifies the manager's manager"),
	LONG("alerts.stream_maxlen", alerts.stream_maxlen, KEY_RELOAD, "10000",
	    "100", "10000000", "approximate cap of the Redis alert stream"),
	LONG("alerts.reevaluate_per_second", alerts.reevaluate_per_second,
	    KEY_RELOAD, "2000", "1", "1000000",
	    "re-evaluations after new counts a second at most"),
	CUSTOM("alerts.webhooks", KEY_RELOAD, 1, load_webhooks, NULL,
	    "HTTP endpoints that receive alerts"),

	SECTION("leaderboards", "leaderboards and the activity score"),
	CUSTOM("leaderboards.groupings", KEY_RELOAD, 1, load_board_groupings,
	    NULL, "roster groupings with boards of their own: role, manager, "
	    "or a name of the reps' groups"),
	INT("leaderboards.stream_top", boards.stream_top, KEY_RELOAD, "25",
	    "0", "10000", "rank messages cover a board's first positions "
	    "(0: every rep)"),
	DURATION("leaderboards.flush_every", boards.flush_every_ms,
	    KEY_RELOAD, "250ms", "10ms", "10s",
	    "board values of applied batches are written this often"),
	SECTION("leaderboards.activity_score", "the weighted composite score"),
	NUMBER("leaderboards.activity_score.cap", boards.score_cap,
	    KEY_RELOAD | KEY_MIN_EXCL, "150", "0", NULL,
	    "percent of target a KPI counts for at most"),
	CUSTOM("leaderboards.activity_score.weights", KEY_RELOAD, 3,
	    load_score_weights, NULL, "per role: the weight of each KPI"),

	CUSTOM("contests", KEY_RELOAD, 4, load_contests, NULL,
	    "time-bounded competitions on a KPI or the activity score"),

	SECTION("funnel", "conversion rates and the activity-based forecast"),
	DURATION("funnel.window", funnel.window_ms, KEY_RELOAD, "30d", "1d",
	    "400d", "the rolling window the rates are measured over (days)"),
	LONG("funnel.min_volume", funnel.min_volume, KEY_RELOAD, "20", "1",
	    "1000000000", "a rep's volume at a step below which the forecast "
	    "takes its team's rate"),
	NUMBER("funnel.coaching_below", funnel.coaching_below,
	    KEY_RELOAD | KEY_MIN_EXCL, "0.8", "0", "1",
	    "a rep's rate under this x its team's is flagged below_team"),
	BOOL("funnel.coaching", funnel.coaching, KEY_RELOAD, "false",
	    "the morning digest lists the reps whose step rate stays below "
	    "their team's"),
	LONG("funnel.coaching_days", funnel.coaching_days, KEY_RELOAD, "2",
	    "1", "30", "consecutive mornings below before a rep's step is "
	    "listed"),
	NUMBER("funnel.coaching_margin", funnel.coaching_margin, KEY_RELOAD,
	    "0.05", "0", "1", "a listed step clears at coaching_below + this "
	    "x the team's rate"),
	CUSTOM("funnel.revenue", KEY_RELOAD, 2, load_funnel_revenue, NULL,
	    "the amount KPI the average deal size is read from"),
};
#define NROWS	(sizeof(rows) / sizeof(rows[0]))

static void *
field_at(struct config *c, const struct key_row *r)
{
	return (char *)c + r->off;
}

/* Parses a duration row's value and checks its bounds. */
static int
set_duration(struct loader *l, const struct key_row *r, const yaml_node_t *n,
    const char *path, const char *text)
{
	int64_t	 v;

	if (duration_in(l, n, path, text, r->min, r->max, &v) != 0)
		return -1;
	memcpy(field_at(l->c, r), &v, sizeof(v));
	return 0;
}

static int
set_int(struct loader *l, const struct key_row *r, const yaml_node_t *n,
    const char *path, const char *text)
{
	long long	 v;
	int		 iv;
	long		 lv;

	if (int_in(l, n, path, text, r->min, r->max, &v) != 0)
		return -1;
	if (r->type == KEY_LONG) {
		lv = (long)v;
		memcpy(field_at(l->c, r), &lv, sizeof(lv));
	} else {
		iv = (int)v;
		memcpy(field_at(l->c, r), &iv, sizeof(iv));
	}
	return 0;
}

static int
set_number(struct loader *l, const struct key_row *r, const yaml_node_t *n,
    const char *path, const char *text)
{
	double	 v, lo = 0, hi = 0;
	bool	 bad;

	if (parse_number(text, &v) != 0) {
		node_error(l, n, path, "invalid number \"%s\"", text);
		return -1;
	}
	if (parse_number(r->min, &lo) != 0 ||
	    (r->max != NULL && parse_number(r->max, &hi) != 0))
		bad = true;
	else
		bad = ((r->flags & KEY_MIN_EXCL) ? v <= lo : v < lo) ||
		    (r->max != NULL &&
		    ((r->flags & KEY_MAX_EXCL) ? v >= hi : v > hi));
	if (bad && r->max == NULL) {
		node_error(l, n, path, "%s is out of range (must be %s %s)",
		    text, (r->flags & KEY_MIN_EXCL) ? ">" : ">=", r->min);
		return -1;
	}
	if (bad) {
		node_error(l, n, path, "%s is out of range (must be %s %s and "
		    "%s %s)", text, (r->flags & KEY_MIN_EXCL) ? ">" : ">=",
		    r->min, (r->flags & KEY_MAX_EXCL) ? "<" : "<=", r->max);
		return -1;
	}
	memcpy(field_at(l->c, r), &v, sizeof(v));
	return 0;
}

/*
 * Stores text into row r's field. n is the value node, or NULL when text
 * is the row's default. Takes ownership of text.
 */
static int
row_set(struct loader *l, const struct key_row *r, const yaml_node_t *n,
    const char *path, char *text)
{
	char	**sp;
	int	  rc = -1, i;

	switch (r->type) {
	case KEY_STRING:
		if (r->check != NULL && r->check(l, (yaml_node_t *)n, path,
		    text) != 0)
			break;
		sp = field_at(l->c, r);
		free(*sp);
		*sp = text;
		return 0;
	case KEY_INT:
	case KEY_LONG:
		rc = set_int(l, r, n, path, text);
		break;
	case KEY_NUMBER:
		rc = set_number(l, r, n, path, text);
		break;
	case KEY_BOOL: {
		bool	 b;

		if ((rc = bool_value(l, n, path, text, &b)) == 0)
			memcpy(field_at(l->c, r), &b, sizeof(b));
		break;
	}
	case KEY_DURATION:
		rc = set_duration(l, r, n, path, text);
		break;
	case KEY_ENUM:
		if ((i = enum_value(l, n, path, r->names, text)) >= 0) {
			memcpy(field_at(l->c, r), &i, sizeof(i));
			rc = 0;
		}
		break;
	default:
		break;
	}
	free(text);
	return rc;
}

/* What a value of type t is called in a message. */
static const char *
row_want(enum key_type t)
{
	switch (t) {
	case KEY_INT:
	case KEY_LONG:
		return "an integer";
	case KEY_NUMBER:
		return "a number";
	case KEY_BOOL:
		return "a boolean";
	case KEY_DURATION:
		return "a duration";
	default:
		return "a string";
	}
}

/* A scalar row from the file. */
static void
row_load(struct loader *l, const struct key_row *r, yaml_node_t *n,
    const char *path)
{
	char	*text, **sp;

	if (node_is_null(n)) {
		if ((r->flags & KEY_NULL) == 0) {
			node_error(l, n, path, "a value is required");
			return;
		}
		sp = field_at(l->c, r);
		free(*sp);
		*sp = NULL;
		return;
	}
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, row_want(r->type));
		return;
	}
	/* Quoted "5000" is a string to YAML, so it is one to us too. */
	if ((r->type == KEY_INT || r->type == KEY_LONG ||
	    r->type == KEY_NUMBER || r->type == KEY_BOOL) &&
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		node_error(l, n, path, "expected %s, got a quoted string",
		    row_want(r->type));
		return;
	}
	if ((text = scalar_text(l, n, path)) == NULL)
		return;
	if ((r->flags & KEY_SECRET) && secret_one_line(l, n, path, text) != 0) {
		free(text);
		return;
	}
	row_set(l, r, n, path, text);
}

static const struct key_row *
row_find(const char *path, size_t *idx)
{
	for (size_t i = 0; i < NROWS; i++)
		if (strcmp(rows[i].path, path) == 0) {
			*idx = i;
			return &rows[i];
		}
	return NULL;
}

/* The keys valid directly under section path, for an unknown-key hint. */
static void
unknown_key(struct loader *l, const yaml_node_t *k, const char *section,
    const char *path, const char *key)
{
	const char	*cands[NROWS];
	size_t		 n = 0, plen = strlen(section);
	struct sbuf	 hint = { NULL, 0, 0 };

	for (size_t i = 0; i < NROWS; i++) {
		const char	*p = rows[i].path, *rest;

		if (plen > 0) {
			if (strncmp(p, section, plen) != 0 || p[plen] != '.')
				continue;
			rest = p + plen + 1;
		} else
			rest = p;
		if (strchr(rest, '.') == NULL)
			cands[n++] = rest;
	}
	sbuf_add(&hint, "", 0);
	suggest(&hint, key, cands, n);
	node_error(l, k, path, "unknown key%s", hint.s);
	free(hint.s);
}

/* Walks a section mapping: scalar rows load now, list rows wait. */
static void
walk_section(struct loader *l, yaml_node_t *map, const char *path)
{
	if (node_is_null(map))
		return;		/* an empty section: all defaults */
	if (map->type != YAML_MAPPING_NODE) {
		type_error(l, map, path, "a mapping");
		return;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top && !l->stopped; p++) {
		yaml_node_t		*k = node_get(l, p->key);
		yaml_node_t		*v = node_get(l, p->value);
		const struct key_row	*r;
		const char		*name;
		char			*full;
		size_t			 i;

		if (k->type != YAML_SCALAR_NODE) {
			node_error(l, k, path, "keys must be strings");
			continue;
		}
		name = (const char *)k->data.scalar.value;
		full = path_key(path, name);
		if ((r = row_find(full, &i)) == NULL)
			unknown_key(l, k, path, full, name);
		else if (l->seen[i] != NULL)
			node_error(l, k, full, "duplicate key (first at "
			    "%zu:%zu)", l->seen_key[i]->start_mark.line + 1,
			    l->seen_key[i]->start_mark.column + 1);
		else {
			l->seen[i] = v;
			l->seen_key[i] = k;
			if (r->type == KEY_SECTION)
				walk_section(l, v, full);
			else if (r->type != KEY_CUSTOM)
				row_load(l, r, v, full);
		}
		free(full);
	}
}


static int
check_brokers(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	char	 err[512];

	if (*s == '\0') {
		node_error(l, n, path, "must not be empty");
		return -1;
	}
	if (rd_kafka_conf_set(l->rk, "bootstrap.servers", s, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK) {
		node_error(l, n, path, "%s", err);
		return -1;
	}
	return 0;
}

static int
check_topic(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > TOPIC_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWX"
	    "YZabcdefghijklmnopqrstuvwxyz0123456789._-") != len ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		node_error(l, n, path, "invalid topic name \"%.*s\" (1 to %d "
		    "of A-Z a-z 0-9 . _ -)", len > 64 ? 64 : (int)len, s,
		    TOPIC_MAX);
		return -1;
	}
	return 0;
}

static int
check_nonempty(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	if (*s == '\0') {
		node_error(l, n, path, "must not be empty");
		return -1;
	}
	return 0;
}

static int
check_key_prefix(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > 64 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabc"
	    "defghijklmnopqrstuvwxyz0123456789_.-") != len) {
		node_error(l, n, path, "invalid key prefix \"%.*s\" (1 to 64 "
		    "of A-Z a-z 0-9 _ . -)", len > 64 ? 64 : (int)len, s);
		return -1;
	}
	return 0;
}

static int
check_listen(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	char	 err[128], *host;
	int	 port;

	if (netaddr_split_host_port(s, strlen(s), -1, 0, &host, &port, err,
	    sizeof(err)) != 0) {
		node_error(l, n, path, "invalid address \"%s\": %s", s, err);
		return -1;
	}
	free(l->c->http.host);
	l->c->http.host = host;
	l->c->http.port = port;
	return 0;
}

/* Stored as written: the tools that mirror the producers read it back. */
static int
check_partitioner(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	enum partitioner_kind	 k;

	if (partitioner_parse(s, &k) != 0) {
		node_error(l, n, path, "invalid value \"%s\" (use "
		    "murmur2_random, murmur2, consistent_random, "
		    "consistent)", s);
		return -1;
	}
	return 0;
}

static int
check_redis_url(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	char	 err[128];

	netaddr_redis_clear(&l->url);
	if (netaddr_redis_parse(s, &l->url, err, sizeof(err)) != 0) {
		node_error(l, n, path, "invalid url: %s", err);
		return -1;
	}
	if (l->url.tls && !redis_tls_supported()) {
		node_error(l, n, path, "rediss:// (TLS) needs hiredis 1.0 or "
		    "later built with TLS (hiredis_ssl); this paced is built "
		    "against hiredis %s: use redis:// on a private network or "
		    "a unix socket, or build against hiredis 1.x",
		    redis_tls_hiredis_version());
		return -1;
	}
	return 0;
}

static bool
property_is_secret(const char *key)
{
	return (strstr(key, "password") != NULL ||
	    strstr(key, "secret") != NULL || strstr(key, ".pem") != NULL ||
	    strcmp(key, "sasl.oauthbearer.config") == 0);
}

/* Masks each occurrence of secret in s (in place, never longer). */
static void
redact(char *s, const char *secret)
{
	size_t	 n = strlen(secret), keep = n < 3 ? n : 3;
	char	*p = s;

	if (n == 0)
		return;
	/* Search on past each mask: the secret may itself hold a '*'. */
	while ((p = strstr(p, secret)) != NULL) {
		memcpy(p, "***", keep);
		memmove(p + keep, p + n, strlen(p + n) + 1);
		p += keep;
	}
}

/*
 * kafka.properties: each is tried on a throwaway librdkafka conf so its
 * own message (unchanged but for a secret value) reports a bad one. A key
 * ending in _file names a file holding the value of the key without it.
 */
static void
property_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct name_list	*nl = arg;
	struct config		*c = l->c;
	yaml_node_t		*k = e->key, *v = e->value;
	const char		*key = e->name;
	char			*real, *value, *kpath, err[512];
	size_t			 klen = strlen(key);
	bool			 secret;
	rd_kafka_conf_res_t	 res;

	/* Kept to the end: the duplicate report points into it. */
	kpath = nl->paths[e->i] = xstrdup(e->path);
	if (v->type != YAML_SCALAR_NODE || node_is_null(v)) {
		type_error(l, v, kpath, "a string, number or boolean");
		return;
	}
	if (klen > 5 && strcmp(key + klen - 5, "_file") == 0) {
		real = xstrndup(key, klen - 5);
		secret = true;
		value = secret_file(l, v, kpath);
	} else {
		real = xstrdup(key);
		secret = property_is_secret(real);
		value = scalar_text(l, v, kpath);
	}
	if (value == NULL) {
		free(real);
		return;
	}
	if (secret && secret_one_line(l, v, kpath, value) != 0)
		goto bad;
	if (strcmp(real, "bootstrap.servers") == 0 ||
	    strcmp(real, "metadata.broker.list") == 0 ||
	    strcmp(real, "group.id") == 0) {
		node_error(l, k, kpath, "set kafka.%s instead",
		    strcmp(real, "group.id") == 0 ? "group_id" : "brokers");
		goto bad;
	}
	if (strcmp(real, "enable.auto.offset.store") == 0) {
		node_error(l, k, kpath, "managed by paced: offsets are stored "
		    "only once Redis has applied the events");
		goto bad;
	}
	err[0] = '\0';
	res = rd_kafka_conf_set(l->rk, real, value, err, sizeof(err));
	if (res != RD_KAFKA_CONF_OK) {
		size_t	 el = strlen(err);

		while (el > 0 && (err[el - 1] == '\n' || err[el - 1] == ' '))
			err[--el] = '\0';
		if (secret)
			redact(err, value);
		node_error(l, res == RD_KAFKA_CONF_UNKNOWN ? k : v, kpath,
		    "%s", err);
		goto bad;
	}
	nl->v[e->i] = real;
	nl->w[e->i] = node_where(l, k, kpath);
	c->kafka.properties[c->kafka.nproperties].key = real;
	c->kafka.properties[c->kafka.nproperties++].value = value;
	return;
bad:
	free(real);
	free(value);
}

static void
load_properties(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config		*c = l->c;
	struct name_list	 nl;

	if (node_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, path, "a mapping");
		return;
	}
	/* Not map_open: a repeated property is reported by its real name. */
	names_init(&nl, map_len(n));
	c->kafka.properties = xcalloc(nl.n + 1, sizeof(*c->kafka.properties));
	each_entry(l, n, path, property_entry, &nl);
	names_report(l, &nl, "kafka property");
	names_free(&nl);
}

static void
load_redis_ca_file(struct loader *l, yaml_node_t *n, const char *path)
{
	if (node_is_null(n))
		return;
	free(l->c->redis.ca_file);
	l->c->redis.ca_file = pem_file(l, n, path);
}

static void
load_password_file(struct loader *l, yaml_node_t *n, const char *path)
{
	char	*s;

	if (node_is_null(n))
		return;
	if (seen_node(l, "redis.password") != NULL) {
		node_error(l, seen_key(l, path), path, "give redis.password "
		    "or redis.password_file, not both");
		return;
	}
	if ((s = secret_file(l, n, path)) != NULL) {
		free(l->c->redis.password);
		l->c->redis.password = s;
	}
}

/* A seed of redis.cluster: redis://host[:port], no credentials (they
 * come from redis.url, redis.username, redis.password), no database. */
static void
cluster_seed(struct loader *l, yaml_node_t *item, const char *path,
    struct config_redis_node *out)
{
	struct netaddr_redis	 a = { 0 };
	char			*s, err[128];

	if (item->type != YAML_SCALAR_NODE || node_is_null(item)) {
		type_error(l, item, path, "a redis:// url");
		return;
	}
	if ((s = scalar_text(l, item, path)) == NULL)
		return;
	if (netaddr_redis_parse(s, &a, err, sizeof(err)) != 0)
		node_error(l, item, path, "invalid url: %s", err);
	else if (a.unix_path != NULL)
		node_error(l, item, path, "a cluster seed must be a "
		    "redis://host:port url, not a unix socket");
	else if (a.username != NULL || a.password != NULL)
		node_error(l, item, path, "give credentials in redis.url, "
		    "redis.username or redis.password, not in a seed url");
	else if (a.db != 0)
		node_error(l, item, path, "Redis Cluster has database 0 "
		    "only (the url names %d)", a.db);
	else {
		out->host = a.host;
		out->port = a.port;
		out->tls = a.tls;
		a.host = NULL;
	}
	netaddr_redis_clear(&a);
	free(s);
}

/* redis.cluster: a boolean, or a non-empty list of seed urls. */
static void
load_cluster(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	*c = l->c;
	size_t		 cnt;

	if (node_is_null(n))
		return;
	if (n->type == YAML_SCALAR_NODE) {
		char	*s = scalar_text(l, n, path);
		bool	 b;

		if (s == NULL)
			return;
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			node_error(l, n, path, "expected true, false or a list "
			    "of redis:// urls, got a quoted string");
		else if (bool_value(l, n, path, s, &b) == 0)
			c->redis.cluster = b;
		free(s);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "true, false or a list of redis:// urls");
		return;
	}
	if (seq_open(l, n, path, false, "must not be empty", &cnt) != 0)
		return;
	c->redis.seeds = xcalloc(cnt, sizeof(*c->redis.seeds));
	for (size_t i = 0; i < cnt; i++) {
		char	*ip = path_index(path, i);

		cluster_seed(l, seq_at(l, n, i), ip,
		    &c->redis.seeds[c->redis.nseeds]);
		if (c->redis.seeds[c->redis.nseeds].host != NULL)
			c->redis.nseeds++;
		free(ip);
	}
	c->redis.cluster = true;
}

static void
load_token_file(struct loader *l, yaml_node_t *n, const char *path)
{
	char	*s;

	if (node_is_null(n))
		return;
	if ((s = secret_file(l, n, path)) != NULL) {
		free(l->c->http.token);
		l->c->http.token = s;
	}
}

/* Loads defaults into every row that has one. */
static void
set_defaults(struct loader *l)
{
	struct config	*c = l->c;

	for (size_t i = 0; i < NROWS; i++) {
		const struct key_row	*r = &rows[i];

		if (r->def != NULL && r->type != KEY_CUSTOM)
			row_set(l, r, NULL, r->path, xstrdup(r->def));
	}
	c->alerts.periods[PERIOD_DAY] = true;
	c->alerts.periods[PERIOD_WEEK] = true;
	c->alerts.leading_only = true;
	for (int g = 0; g < BOARD_GROUP_COUNT; g++)
		c->boards.grouping[g] = true;
}

/* Checks that span several keys, once every key is in. */
static void
finish(struct loader *l, const yaml_node_t *root)
{
	struct config		*c = l->c;
	struct config_alerts	*a = &c->alerts;
	struct where		 w = node_where(l, root, NULL);

	/* An empty file: point at its start all the same. */
	if (root == NULL)
		w.line = w.col = 1;
	for (size_t i = 0; i < NROWS; i++)
		if ((rows[i].flags & KEY_REQUIRED) && l->seen[i] == NULL) {
			w.path = rows[i].path;
			where_error(l, &w, "required key is missing");
		}
	funnel_config_finish(l);
	if (seen_node(l, "reps") == NULL &&
	    seen_node(l, "roster_file") == NULL) {
		w.path = "reps";
		where_error(l, &w, "required key is missing (or give "
		    "roster_file)");
	}

	c->redis.host = l->url.host;
	c->redis.port = l->url.port;
	c->redis.unix_path = l->url.unix_path;
	c->redis.db = l->url.db;
	c->redis.tls = l->url.tls;
	if (c->redis.ca_file != NULL && !c->redis.tls) {
		yaml_node_t	*cn = seen_node(l, "redis.ca_file");

		node_error(l, cn, "redis.ca_file", "a CA file for a url that "
		    "is not rediss://");
	}
	l->url.host = l->url.unix_path = NULL;
	if (c->redis.username == NULL) {
		c->redis.username = l->url.username;
		l->url.username = NULL;
	}
	if (c->redis.password == NULL) {
		c->redis.password = l->url.password;
		l->url.password = NULL;
	}
	if (c->redis.cluster && c->redis.unix_path != NULL)
		node_error(l, seen_node(l, "redis.url"), "redis.url", "Redis "
		    "Cluster (redis.cluster) needs a redis://host:port url, "
		    "not a unix socket");
	else if (c->redis.cluster && c->redis.db != 0)
		node_error(l, seen_node(l, "redis.url"), "redis.url", "Redis "
		    "Cluster has database 0 only (the url names %d)",
		    c->redis.db);
	else if (c->redis.cluster && c->redis.seeds == NULL &&
	    c->redis.host != NULL) {
		/* redis.cluster: true: the url is the one seed. */
		c->redis.seeds = xcalloc(1, sizeof(*c->redis.seeds));
		c->redis.seeds[0].host = xstrdup(c->redis.host);
		c->redis.seeds[0].port = c->redis.port;
		c->redis.seeds[0].tls = c->redis.tls;
		c->redis.nseeds = 1;
	}
	for (size_t i = 0; i < c->redis.nseeds; i++)
		if (c->redis.seeds[i].tls != c->redis.tls) {
			node_error(l, seen_node(l, "redis.cluster"),
			    "redis.cluster", "seed %zu is %s but redis.url is "
			    "%s: every node is reached the same way, with "
			    "redis.url's scheme", i, c->redis.seeds[i].tls ?
			    "rediss://" : "redis://", c->redis.tls ?
			    "rediss://" : "redis://");
			break;
		}

	if (a->critical_below >= a->warning_below) {
		yaml_node_t	*n = seen_node(l, "alerts.critical_below");

		if (n == NULL)
			n = seen_node(l, "alerts.warning_below");
		node_error(l, n, "alerts.critical_below", "must be below "
		    "alerts.warning_below (%g >= %g)", a->critical_below,
		    a->warning_below);
	}
}

struct config *
config_load_buffer(const char *name, const char *buf, size_t len,
    char **errs)
{
	struct loader	 l;
	yaml_node_t	*root;

	memset(&l, 0, sizeof(l));
	l.name = name;
	l.dir = dir_of(name);
	l.buf = buf;
	l.len = len;
	l.rk = rd_kafka_conf_new();
	l.nrows = NROWS;
	l.paths = xcalloc(NROWS, sizeof(*l.paths));
	l.seen = xcalloc(NROWS, sizeof(*l.seen));
	l.seen_key = xcalloc(NROWS, sizeof(*l.seen_key));
	for (size_t i = 0; i < NROWS; i++)
		l.paths[i] = rows[i].path;
	l.c = xcalloc(1, sizeof(*l.c));
	l.c->path = xstrdup(name);
	set_defaults(&l);

	if (parse_yaml(&l) == 0) {
		root = yaml_document_get_root_node(&l.doc);
		if (root != NULL && node_is_null(root))
			root = NULL;
		if (root != NULL && root->type != YAML_MAPPING_NODE) {
			/* Nothing else can be said about such a file. */
			type_error(&l, root, NULL, "a mapping");
			goto done;
		}
		if (root != NULL)
			walk_section(&l, root, "");
		for (int stage = 1; stage <= 4; stage++) {
			for (size_t i = 0; i < NROWS && !l.stopped; i++)
				if (rows[i].stage == stage &&
				    l.seen[i] != NULL)
					rows[i].load(&l, l.seen[i],
					    rows[i].path);
			if (stage == 1 && seen_node(&l, "calendars") == NULL)
				default_calendar(&l);
		}
		finish(&l, root);
	}
done:
	if (l.have_doc)
		yaml_document_delete(&l.doc);
	rd_kafka_conf_destroy(l.rk);
	netaddr_redis_clear(&l.url);
	free(l.kpi_names.v);
	free(l.calendar_names.v);
	free(l.role_names.v);
	free(l.team_names.v);
	free(l.dir);
	free(l.paths);
	free(l.seen);
	free(l.seen_key);
	if (l.nerrs > 0) {
		errors_flush(&l, errs);
		config_free(l.c);
		return NULL;
	}
	return l.c;
}

struct config *
config_load(const char *path, char **errs)
{
	struct config	*c;
	char		*buf, err[128];
	size_t		 len;

	if (read_all(path, false, CONFIG_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) != 0) {
		char	*line;

		line = xasprintf("%s: cannot read: %s\n", path, err);

		if (errs == NULL)
			free(line);
		else if (*errs == NULL)
			*errs = line;
		else {
			char	*all = xasprintf("%s%s", *errs, line);

			free(*errs);
			free(line);
			*errs = all;
		}
		return NULL;
	}
	c = config_load_buffer(path, buf, len, errs);
	free(buf);
	return c;
}

static void
schedule_free(struct config_schedule *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].targets);
	free(v);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->kafka.brokers);
	free(c->kafka.group_id);
	free(c->kafka.topic_activity);
	free(c->kafka.topic_dlq);
	free(c->kafka.topic_alerts);
	free(c->kafka.topic_enriched);
	free(c->kafka.topic_scorecards);
	free(c->kafka.partitioner);
	for (size_t i = 0; i < c->kafka.nproperties; i++) {
		free(c->kafka.properties[i].key);
		free(c->kafka.properties[i].value);
	}
	free(c->kafka.properties);
	free(c->redis.url);
	free(c->redis.host);
	free(c->redis.unix_path);
	free(c->redis.ca_file);
	free(c->redis.username);
	free(c->redis.password);
	free(c->redis.key_prefix);
	for (size_t i = 0; i < c->redis.nseeds; i++)
		free(c->redis.seeds[i].host);
	free(c->redis.seeds);
	free(c->http.listen);
	free(c->http.host);
	free(c->http.token);
	for (size_t i = 0; i < c->nkpis; i++) {
		for (size_t j = 0; j < c->kpis[i].nevents; j++)
			free(c->kpis[i].events[j]);
		free(c->kpis[i].events);
		free(c->kpis[i].name);
	}
	free(c->kpis);
	for (size_t i = 0; i < c->ncalendars; i++) {
		free(c->calendars[i].name);
		free(c->calendars[i].holidays);
	}
	free(c->calendars);
	for (size_t i = 0; i < c->nroles; i++) {
		free(c->roles[i].name);
		free(c->roles[i].targets);
		schedule_free(c->roles[i].schedule, c->roles[i].nschedule);
		free(c->roles[i].funnel);
	}
	free(c->roles);
	for (size_t i = 0; i < c->nteams; i++) {
		free(c->teams[i].id);
		free(c->teams[i].timezone);
		free(c->teams[i].manager);
	}
	free(c->teams);
	for (size_t i = 0; i < c->nreps; i++) {
		free(c->reps[i].id);
		free(c->reps[i].manager);
		free(c->reps[i].targets);
		schedule_free(c->reps[i].schedule, c->reps[i].nschedule);
		free(c->reps[i].out_of_office);
		for (size_t j = 0; j < c->reps[i].ngroups; j++) {
			free(c->reps[i].groups[j].key);
			free(c->reps[i].groups[j].value);
		}
		free(c->reps[i].groups);
	}
	free(c->reps);
	for (size_t i = 0; i < c->nmanagers; i++) {
		free(c->managers[i].id);
		free(c->managers[i].manager);
	}
	free(c->managers);
	for (size_t i = 0; i < c->alerts.nkpis; i++)
		free(c->alerts.kpis[i]);
	free(c->alerts.kpis);
	for (size_t i = 0; i < c->alerts.nquiet_teams; i++)
		free(c->alerts.quiet_teams[i]);
	free(c->alerts.quiet_teams);
	for (size_t i = 0; i < c->alerts.nwebhooks; i++) {
		free(c->alerts.webhooks[i].url);
		free(c->alerts.webhooks[i].token);
		free(c->alerts.webhooks[i].ca_file);
	}
	free(c->alerts.webhooks);
	free(c->boards.score_weights);
	for (size_t i = 0; i < c->boards.ncustom; i++)
		free(c->boards.custom[i]);
	free(c->boards.custom);
	contests_config_free(c);
	free(c);
}

int
config_kpi_index(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nkpis; i++)
		if (c->kpis[i].name != NULL && strcmp(c->kpis[i].name,
		    name) == 0)
			return (int)i;
	return -1;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
properties_equal(const struct config *a, const struct config *b)
{
	if (a->kafka.nproperties != b->kafka.nproperties)
		return false;
	for (size_t i = 0; i < a->kafka.nproperties; i++)
		if (!str_equal(a->kafka.properties[i].key,
		    b->kafka.properties[i].key) ||
		    !str_equal(a->kafka.properties[i].value,
		    b->kafka.properties[i].value))
			return false;
	return true;
}

static bool
cluster_equal(const struct config *a, const struct config *b)
{
	if (a->redis.cluster != b->redis.cluster ||
	    a->redis.nseeds != b->redis.nseeds)
		return false;
	for (size_t i = 0; i < a->redis.nseeds; i++)
		if (!str_equal(a->redis.seeds[i].host, b->redis.seeds[i].host) ||
		    a->redis.seeds[i].port != b->redis.seeds[i].port ||
		    a->redis.seeds[i].tls != b->redis.seeds[i].tls)
			return false;
	return true;
}

/*
 * KPI indices are held across the daemon: same names in the same order.
 * better only changes how pace reads, so SIGHUP may change it.
 */
static bool
redis_ca_equal(const struct config *a, const struct config *b)
{
	return str_equal(a->redis.ca_file, b->redis.ca_file);
}

static bool
kpis_equal(const struct config *a, const struct config *b)
{
	if (a->nkpis != b->nkpis)
		return false;
	for (size_t i = 0; i < a->nkpis; i++) {
		const struct config_kpi	*x = &a->kpis[i];
		const struct config_kpi	*y = &b->kpis[i];

		if (!str_equal(x->name, y->name) || x->kind != y->kind ||
		    x->measure != y->measure || x->nevents != y->nevents)
			return false;
		for (size_t j = 0; j < x->nevents; j++)
			if (!str_equal(x->events[j], y->events[j]))
				return false;
	}
	return true;
}

int
config_reloadable(const struct config *old, const struct config *next,
    char *err, size_t errlen)
{
	size_t	 o = 0;

	if (errlen > 0)
		err[0] = '\0';
	for (size_t i = 0; i < NROWS; i++) {
		const struct key_row	*r = &rows[i];
		const char		*a = (const char *)old + r->off;
		const char		*b = (const char *)next + r->off;
		bool			 same = true;

		if (r->flags & KEY_RELOAD)
			continue;
		switch (r->type) {
		case KEY_STRING:
			same = str_equal(*(char *const *)(const void *)a,
			    *(char *const *)(const void *)b);
			break;
		case KEY_INT:
		case KEY_ENUM:
			same = memcmp(a, b, sizeof(int)) == 0;
			break;
		case KEY_LONG:
			same = memcmp(a, b, sizeof(long)) == 0;
			break;
		case KEY_BOOL:
			same = memcmp(a, b, sizeof(bool)) == 0;
			break;
		case KEY_NUMBER:
			same = memcmp(a, b, sizeof(double)) == 0;
			break;
		case KEY_DURATION:
			same = memcmp(a, b, sizeof(int64_t)) == 0;
			break;
		case KEY_CUSTOM:
			same = r->equal == NULL || r->equal(old, next);
			break;
		default:
			break;
		}
		if (same)
			continue;
		if (o < errlen) {
			int	 w = snprintf(err + o, errlen - o, "%s%s",
			    o == 0 ? "needs a restart to change: " : ", ",
			    r->path);

			if (w > 0)
				o += (size_t)w;
		}
	}
	return o == 0 ? 0 : -1;
}

int
config_key(size_t i, const char **path, const char **doc)
{
	if (i >= NROWS)
		return -1;
	*path = rows[i].path;
	*doc = rows[i].doc;
	return rows[i].type == KEY_SECTION ? 1 : 0;
}
