#ifndef PACED_CONFIG_TYPES_H
#define PACED_CONFIG_TYPES_H

/*
 * What a loaded configuration holds: the structs config.c's loader and
 * its parts (config_yaml.c, config_org.c, config_roster.c,
 * config_boards.c, config_contests.c, config_funnel.c) fill in and every
 * stage reads. Types only, so that the parts of the loader need not
 * include config.h, whose functions they do not call.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "log.h"

enum kpi_kind { KPI_LEADING, KPI_LAGGING };
enum kpi_measure { KPI_MEASURE_COUNT, KPI_MEASURE_AMOUNT };
enum unknown_rep_policy { UNKNOWN_REP_SKIP, UNKNOWN_REP_DLQ };
enum kpi_better { KPI_BETTER_HIGHER, KPI_BETTER_LOWER };

struct config_kv {
	char *key;
	char *value;
};

/* A Redis node's address (a Redis Cluster seed). */
struct config_redis_node {
	char *host;
	int port;
	bool tls;		/* rediss:// */
};

struct config_kpi {
	char *name;
	enum kpi_kind kind;
	enum kpi_measure measure;
	char **events;		/* activity types counted by this KPI */
	size_t nevents;
	enum kpi_better better;	/* better: higher (default) | lower (a cap) */
};

struct config_calendar {
	char *name;
	unsigned working_days;	/* bit 0 = Monday ... bit 6 = Sunday */
	int work_start_min;	/* minutes after local midnight */
	int work_end_min;
	struct period_rules rules;	/* week start, fiscal year start */
	int32_t *holidays;	/* sorted day numbers */
	size_t nholidays;
};

struct config_target {
	size_t kpi;			/* index into config.kpis */
	bool set[PERIOD_COUNT];
	double value[PERIOD_COUNT];
};

/* Targets in force from a day on (a ramp step, a season). */
struct config_schedule {
	int32_t from_day;		/* day number of `from: YYYY-MM-DD` */
	struct config_target *targets;
	size_t ntargets;
};

struct config_role {
	char *name;
	struct config_target *targets;
	size_t ntargets;
	struct config_schedule *schedule;	/* sorted by from_day */
	size_t nschedule;
	size_t *funnel;		/* KPI indices, top of the funnel first */
	size_t nfunnel;		/* 0: the role has no funnel */
};

struct config_team {
	char *id;
	char *timezone;		/* IANA name, validated at load */
	size_t calendar;	/* index into config.calendars */
	char *manager;		/* may be NULL */
};

struct config_rep {
	char *id;
	size_t team;		/* index into config.teams */
	size_t role;		/* index into config.roles */
	char *manager;		/* the rep's own manager; NULL: the team's */
	struct config_target *targets;	/* overrides of the role's targets */
	size_t ntargets;
	struct config_schedule *schedule;	/* the rep's own ramp, sorted */
	size_t nschedule;
	int32_t *out_of_office;	/* sorted, deduplicated day numbers */
	size_t nout_of_office;
	struct config_kv *groups;	/* roster groupings: region -> emea */
	size_t ngroups;
};

/* A manager's own manager, for escalation of critical alerts. */
struct config_manager {
	char *id;
	char *manager;		/* may be NULL: top of the tree */
};

struct config_webhook {
	char *url;		/* https://host[:port]/path or http://... */
	char *token;		/* from token_file: sent as a bearer token; may be NULL */
	char *ca_file;		/* CA bundle for https (resolved path); NULL: the system's */
	int64_t timeout_ms;	/* per attempt, default 5s */
	int64_t connect_timeout_ms;	/* connect and TLS handshake, default 5s (at most timeout) */
	int max_retries;	/* default 10; backoff doubles from 1s to 5m */
	bool digest;		/* one message per manager per evaluation (default true) */
};

struct config_alerts {
	bool periods[PERIOD_COUNT];
	bool leading_only;	/* kpis: leading */
	char **kpis;		/* named KPIs; none and !leading_only: all */
	size_t nkpis;
	double warning_below;
	double critical_below;
	double grace;
	int64_t repeat_interval_ms;
	int64_t evaluate_every_ms;
	int64_t min_breach_ms;	/* working time a change must last, 15m */
	long min_breach_evals;	/* evaluations it must last, default 2 */
	double resolve_margin;	/* recovery at warning_below + this, 0.05 */
	long max_per_manager_per_day;	/* digest lines; 0: no limit; 20 */
	/* quiet hours for digest webhooks: every team (the default), none,
	 * or the teams named */
	enum { QUIET_ALL, QUIET_NONE, QUIET_LISTED } quiet_mode;
	char **quiet_teams;
	size_t nquiet_teams;
	/* scheduled digests (alerts.digest): a morning summary at a local
	 * time of the manager's team, an end-of-week scorecard on a weekday
	 * at a local time; positive news in them */
	bool digest_morning;
	int digest_morning_min;		/* minutes after local midnight */
	bool digest_weekly;
	int digest_weekly_dow;		/* 0 = Monday ... 6 = Sunday */
	int digest_weekly_min;
	bool positive_news;
	double ahead_above;	/* default 1.1 */
	bool escalate_critical;	/* default true: critical also tells the manager's manager */
	long stream_maxlen;	/* Redis stream P:alerts cap (~), default 10000 */
	long reevaluate_per_second;	/* after new counts, default 2000 */
	struct config_webhook *webhooks;
	size_t nwebhooks;
};

/* Roster groupings that get boards of their own (org and team always do). */
enum board_grouping { BOARD_GROUP_ROLE, BOARD_GROUP_MANAGER, BOARD_GROUP_COUNT };

struct config_boards {
	bool grouping[BOARD_GROUP_COUNT];	/* default: all */
	char **custom;			/* further groupings, from reps' groups */
	size_t ncustom;
	double score_cap;		/* percent of target counted at most */
	int stream_top;			/* rank messages: the first positions */
	int64_t flush_every_ms;		/* board values written this often */
	double *score_weights;		/* nroles x nkpis, a row per role; NULL: none */
};

/* A contest (config_contests.c): a time-bounded competition on one KPI
 * or on the activity score, among reps or among teams. */
enum contest_kind { CONTEST_RACE, CONTEST_HIGHEST };

struct config_contest {
	char *id;		/* 1 to 64 of a-z 0-9 _ -: names its keys */
	char *name;		/* shown to people; the id when not given */
	int kpi;		/* index into config.kpis; -1: activity score */
	enum contest_kind kind;
	double goal;		/* race: the total that wins; highest: 0 */
	int32_t first_day;	/* local days it counts, both included */
	int32_t last_day;
	char *timezone;		/* of its start and end (IANA) */
	int64_t starts_ms;	/* first_day 00:00 in timezone */
	int64_t ends_ms;	/* the midnight after last_day in timezone */
	int64_t settle_ms;	/* after ends_ms, before the result goes out */
	bool teams;		/* members are teams, else reps */
	size_t *members;	/* indices into reps or teams, as listed */
	size_t nmembers;
	size_t *rep_member;	/* sorted rep indices taking part, and */
	size_t *rep_slot;	/* the index in members each counts for */
	size_t nrep_member;
};

struct config {
	char *path;		/* the file it came from */

	struct {
		char *brokers;
		char *group_id;
		char *topic_activity;
		char *topic_dlq;
		char *topic_alerts;
		char *topic_enriched;	/* counted events, normalized (analytics) */
		char *topic_scorecards;	/* scorecard snapshots (analytics) */
		char *partitioner;	/* the producers': murmur2_random (default) | consistent_random */
		struct config_kv *properties;	/* passed to librdkafka as-is */
		size_t nproperties;
	} kafka;

	struct {
		char *url;		/* redis://[user:pass@]host:port/db or unix:///path */
		char *host;		/* parsed from url; NULL for unix */
		int port;
		char *unix_path;	/* NULL for tcp */
		bool tls;		/* rediss:// */
		char *ca_file;		/* for rediss://; NULL: the system's CAs */
		char *username;		/* may be NULL */
		char *password;		/* may be NULL; never logged */
		int db;
		char *key_prefix;
		int shards;		/* counter shards (keys_shard_of) */
		int64_t dedupe_window_ms;
		int64_t retention_ms[PERIOD_COUNT];	/* counter key lifetime past bucket end */
		int64_t command_timeout_ms;	/* our watchdog on every call */
		bool cluster;		/* Redis Cluster: routed by slot */
		struct config_redis_node *seeds;	/* cluster: where to read the slot map */
		size_t nseeds;
	} redis;

	struct {
		char *listen;		/* host:port */
		char *host;
		int port;
		char *token;		/* from token_file; NULL: no auth */
		int max_connections;	/* open at once; then stop accepting */
		int64_t idle_timeout_ms;	/* idle or stalled connection */
		int max_streams;	/* GET /v1/stream open at once */
		int64_t stream_heartbeat_ms;	/* comment line this often */
	} http;

	struct {
		enum log_level level;
		enum log_format format;
	} log;

	enum clock_mode clock;
	enum unknown_rep_policy unknown_rep;

	struct {
		int max_messages;	/* flush a batch at this many messages */
		int64_t max_wait_ms;	/* or when the oldest is this old */
	} batch;

	struct {
		/* not ready while a DLQ message waits longer than this */
		int64_t stuck_after_ms;
	} dlq;

	struct {
		bool enriched;		/* produce to kafka.topic_enriched */
		bool snapshots;		/* produce to kafka.topic_scorecards */
		int64_t snapshot_every_ms;	/* each rep's open buckets this often */
	} analytics;

	struct {
		int64_t window_ms;	/* rolling window, whole days */
		long min_volume;	/* a rep's step volume for its own rate */
		double coaching_below;	/* below_team under this x the team's */
		bool coaching;		/* the morning digest's coaching list */
		long coaching_days;	/* mornings below before a flag */
		double coaching_margin;	/* a flag clears at below + this */
		bool has_revenue;	/* revenue_kpi names an amount KPI */
		size_t revenue_kpi;
	} funnel;

	struct config_kpi *kpis;
	size_t nkpis;
	struct config_calendar *calendars;
	size_t ncalendars;
	struct config_role *roles;
	size_t nroles;
	struct config_team *teams;
	size_t nteams;
	struct config_rep *reps;
	size_t nreps;
	struct config_manager *managers;
	size_t nmanagers;
	struct config_alerts alerts;
	struct config_boards boards;
	struct config_contest *contests;
	size_t ncontests;
};

#endif
