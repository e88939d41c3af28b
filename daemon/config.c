/*
 * config.c: the YAML configuration (config contract v1). Scalar keys are
 * rows of one table (path, type, default, bounds, whether SIGHUP may change
 * them); the lists and maps (kpis, calendars, roles, teams, reps,
 * managers, webhooks, the librdkafka properties) have a small function
 * each, run after the walk in
 * dependency order so a team may name a calendar written further down.
 * Every problem is collected with file:line:column and key path and the
 * file is rejected only at the end, so one run of --check-config shows all
 * of them. Called at startup, by --check-config and on SIGHUP; never on the
 * hot path.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "partitioner.h"
#include "xmalloc.h"

#define CONFIG_MAX_ERRORS	100
#define CONFIG_MAX_BYTES	(16 * 1024 * 1024)
#define ROSTER_MAX_BYTES	(256 * 1024 * 1024)
#define SECRET_MAX_BYTES	(64 * 1024)
#define ID_MAX			128	/* the rep_id bound of events */
#define KPI_NAME_MAX		64
#define TOPIC_MAX		249	/* Kafka's own limit */
#define OOO_RANGE_MAX		366	/* days in one out_of_office range */
#define OOO_MAX_DAYS		3660	/* out_of_office days of one rep */
#define URL_MAX			2048

struct loader;

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
static void load_token_file(struct loader *, yaml_node_t *, const char *);
static void load_kpis(struct loader *, yaml_node_t *, const char *);
static void load_calendars(struct loader *, yaml_node_t *, const char *);
static void load_roles(struct loader *, yaml_node_t *, const char *);
static void load_teams(struct loader *, yaml_node_t *, const char *);
static void load_reps(struct loader *, yaml_node_t *, const char *);
static void load_roster_file(struct loader *, yaml_node_t *, const char *);
static void load_alert_periods(struct loader *, yaml_node_t *, const char *);
static void load_alert_kpis(struct loader *, yaml_node_t *, const char *);
static void load_managers(struct loader *, yaml_node_t *, const char *);
static void load_webhooks(struct loader *, yaml_node_t *, const char *);
static bool properties_equal(const struct config *, const struct config *);
static bool kpis_equal(const struct config *, const struct config *);

/* Enum rows store the index of the name; these lists follow the enums. */
static const char *const level_names[] = { "error", "warn", "info", "debug",
    NULL };
static const char *const format_names[] = { "logfmt", "json", NULL };
static const char *const clock_names[] = { "wall", "event", NULL };
static const char *const unknown_rep_names[] = { "skip", "dlq", NULL };
static const char *const kind_names[] = { "leading", "lagging", NULL };
static const char *const measure_names[] = { "count", "amount", NULL };
static const char *const better_names[] = { "higher", "lower", NULL };
static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri",
    "sat", "sun", NULL };
static const char *const period_names[] = { "day", "week", "month",
    "quarter", NULL };
static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };

_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum clock_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum unknown_rep_policy) == sizeof(int), "enum size");
_Static_assert(PERIOD_DAY == 0 && PERIOD_QUARTER == 3, "period order");
_Static_assert(LOG_LEVEL_DEBUG == 3 && LOG_FORMAT_JSON == 1 &&
    CLOCK_MODE_EVENT == 1 && UNKNOWN_REP_DLQ == 1, "enum order");

#define OFF(f)	offsetof(struct config, f)
#define SECTION(p) \
	{ .path = (p), .type = KEY_SECTION, .flags = KEY_RELOAD }
#define STRING(p, f, fl, d, chk) \
	{ .path = (p), .type = KEY_STRING, .flags = (fl), .off = OFF(f), \
	  .def = (d), .check = (chk) }
#define INT(p, f, fl, d, lo, hi) \
	{ .path = (p), .type = KEY_INT, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi) }
#define LONG(p, f, fl, d, lo, hi) \
	{ .path = (p), .type = KEY_LONG, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi) }
#define BOOL(p, f, fl, d) \
	{ .path = (p), .type = KEY_BOOL, .flags = (fl), .off = OFF(f), \
	  .def = (d) }
#define NUMBER(p, f, fl, d, lo, hi) \
	{ .path = (p), .type = KEY_NUMBER, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi) }
#define DURATION(p, f, fl, d, lo, hi) \
	{ .path = (p), .type = KEY_DURATION, .flags = (fl), .off = OFF(f), \
	  .def = (d), .min = (lo), .max = (hi) }
#define ENUM(p, f, fl, d, n) \
	{ .path = (p), .type = KEY_ENUM, .flags = (fl), .off = OFF(f), \
	  .def = (d), .names = (n) }
#define CUSTOM(p, fl, st, fn, eq) \
	{ .path = (p), .type = KEY_CUSTOM, .flags = (fl), .stage = (st), \
	  .load = (fn), .equal = (eq) }

/*
 * Every key of the file. Stages: 1 needs nothing, 2 needs the KPIs and
 * calendars, 3 needs the teams and roles. docs/config.md mirrors this
 * table; keep them together.
 */
static const struct key_row rows[] = {
	SECTION("kafka"),
	STRING("kafka.brokers", kafka.brokers, 0, "127.0.0.1:9092",
	    check_brokers),
	STRING("kafka.group_id", kafka.group_id, 0, "paced", check_nonempty),
	SECTION("kafka.topics"),
	STRING("kafka.topics.activity", kafka.topic_activity, 0,
	    "sales.activity", check_topic),
	STRING("kafka.topics.dlq", kafka.topic_dlq, 0, "sales.activity.dlq",
	    check_topic),
	STRING("kafka.topics.alerts", kafka.topic_alerts, 0, "sales.alerts",
	    check_topic),
	CUSTOM("kafka.properties", 0, 1, load_properties, properties_equal),
	/* How the producers upstream pick partitions; not a property of
	 * paced's own clients. */
	STRING("kafka.partitioner", kafka.partitioner, 0, "murmur2_random",
	    check_partitioner),

	SECTION("redis"),
	STRING("redis.url", redis.url, KEY_SECRET,
	    "redis://127.0.0.1:6379/0", check_redis_url),
	STRING("redis.username", redis.username, KEY_NULL, NULL,
	    check_nonempty),
	STRING("redis.password", redis.password, KEY_NULL | KEY_SECRET, NULL,
	    check_nonempty),
	/* Compared through redis.password, which it fills. */
	CUSTOM("redis.password_file", KEY_NULL | KEY_SECRET, 1,
	    load_password_file, NULL),
	STRING("redis.key_prefix", redis.key_prefix, 0, "paced",
	    check_key_prefix),
	DURATION("redis.dedupe_window", redis.dedupe_window_ms, KEY_RELOAD,
	    "35d", "1h", NULL),
	SECTION("redis.retention"),
	DURATION("redis.retention.day", redis.retention_ms[PERIOD_DAY],
	    KEY_RELOAD, "400d", "1h", NULL),
	DURATION("redis.retention.week", redis.retention_ms[PERIOD_WEEK],
	    KEY_RELOAD, "800d", "1h", NULL),
	DURATION("redis.retention.month", redis.retention_ms[PERIOD_MONTH],
	    KEY_RELOAD, "800d", "1h", NULL),
	DURATION("redis.retention.quarter",
	    redis.retention_ms[PERIOD_QUARTER], KEY_RELOAD, "800d", "1h", NULL),
	DURATION("redis.command_timeout", redis.command_timeout_ms,
	    KEY_RELOAD, "5s", "100ms", "60s"),

	SECTION("http"),
	STRING("http.listen", http.listen, 0, "127.0.0.1:9464", check_listen),
	CUSTOM("http.token_file", KEY_NULL | KEY_SECRET | KEY_RELOAD, 1,
	    load_token_file, NULL),
	INT("http.max_connections", http.max_connections, 0, "256", "1",
	    "65536"),
	DURATION("http.idle_timeout", http.idle_timeout_ms, 0, "10s", "1s",
	    "1h"),

	SECTION("log"),
	ENUM("log.level", log.level, KEY_RELOAD, "info", level_names),
	ENUM("log.format", log.format, KEY_RELOAD, "logfmt", format_names),
	ENUM("clock", clock, 0, "wall", clock_names),
	ENUM("unknown_rep", unknown_rep, KEY_RELOAD, "skip", unknown_rep_names),

	SECTION("batch"),
	INT("batch.max_messages", batch.max_messages, KEY_RELOAD, "5000",
	    "1", "100000"),
	DURATION("batch.max_wait", batch.max_wait_ms, KEY_RELOAD, "50ms",
	    "1ms", "10s"),

	SECTION("dlq"),
	DURATION("dlq.stuck_after", dlq.stuck_after_ms, KEY_RELOAD, "30s",
	    "1s", "1h"),

	CUSTOM("kpis", KEY_REQUIRED, 1, load_kpis, kpis_equal),
	CUSTOM("calendars", KEY_RELOAD, 1, load_calendars, NULL),
	CUSTOM("roles", KEY_RELOAD | KEY_REQUIRED, 2, load_roles, NULL),
	CUSTOM("teams", KEY_RELOAD | KEY_REQUIRED, 2, load_teams, NULL),
	CUSTOM("reps", KEY_RELOAD, 3, load_reps, NULL),
	CUSTOM("roster_file", KEY_RELOAD, 3, load_roster_file, NULL),
	CUSTOM("managers", KEY_RELOAD, 1, load_managers, NULL),

	SECTION("alerts"),
	CUSTOM("alerts.periods", KEY_RELOAD, 1, load_alert_periods, NULL),
	CUSTOM("alerts.kpis", KEY_RELOAD, 2, load_alert_kpis, NULL),
	NUMBER("alerts.warning_below", alerts.warning_below,
	    KEY_RELOAD | KEY_MIN_EXCL, "0.8", "0", "1"),
	NUMBER("alerts.critical_below", alerts.critical_below,
	    KEY_RELOAD | KEY_MIN_EXCL, "0.5", "0", "1"),
	NUMBER("alerts.grace", alerts.grace, KEY_RELOAD | KEY_MAX_EXCL, "0.2",
	    "0", "1"),
	DURATION("alerts.repeat_interval", alerts.repeat_interval_ms,
	    KEY_RELOAD, "4h", "1s", NULL),
	DURATION("alerts.evaluate_every", alerts.evaluate_every_ms,
	    KEY_RELOAD, "1m", "1s", "1d"),
	/* No upper bound: a pace of 3 is as possible as one of 1.2. */
	NUMBER("alerts.ahead_above", alerts.ahead_above,
	    KEY_RELOAD | KEY_MIN_EXCL, "1.1", "1", NULL),
	BOOL("alerts.escalate_critical", alerts.escalate_critical, KEY_RELOAD,
	    "true"),
	LONG("alerts.stream_maxlen", alerts.stream_maxlen, KEY_RELOAD, "10000",
	    "100", "10000000"),
	CUSTOM("alerts.webhooks", KEY_RELOAD, 1, load_webhooks, NULL),
};
#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

/* Where a message points: file, and line and column when known. */
struct where {
	const char	*file;
	size_t		 line;	/* 0: none */
	size_t		 col;	/* 0: none */
	const char	*path;	/* key path; NULL: none */
};

/* A name and the index of what it names, sorted for bsearch. */
struct name_ref {
	const char	*name;
	size_t		 idx;
};

struct name_index {
	struct name_ref	*v;
	size_t		 n;
};

/* What redis.url says, before redis.username and redis.password apply. */
struct redis_addr {
	char	*host;
	int	 port;
	char	*unix_path;
	char	*username;
	char	*password;
	int	 db;
};

/* One message, kept until the end to be sorted by position. */
struct load_error {
	bool	 other_file;	/* the roster file: sorts last */
	size_t	 line;
	size_t	 col;
	size_t	 seq;
	char	*text;
};

struct loader {
	const char		*name;	/* file name for messages */
	char			*dir;	/* where relative paths start */
	const char		*buf;
	size_t			 len;
	yaml_document_t		 doc;
	bool			 have_doc;
	struct config		*c;
	struct load_error	*errs;
	size_t			 nerrs;
	bool			 stopped;	/* too many errors */
	rd_kafka_conf_t		*rk;	/* throwaway: checks properties */
	yaml_node_t		*seen[NROWS];	/* value node per row */
	yaml_node_t		*seen_key[NROWS];
	struct redis_addr	 url;
	struct name_index	 kpi_names;
	struct name_index	 calendar_names;
	struct name_index	 role_names;
	struct name_index	 team_names;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = b->cap == 0 ? 128 : b->cap;
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	 small[256];
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, (size_t)n);
		return;
	}
	{
		char	*big = xmalloc((size_t)n + 1);

		vsnprintf(big, (size_t)n + 1, fmt, ap);
		sbuf_add(b, big, (size_t)n);
		free(big);
	}
}

static void __attribute__((format(printf, 2, 3)))
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Records one "file:line:column: path: message" line. */
static void
verror(struct loader *l, const struct where *w, const char *fmt, va_list ap)
{
	struct load_error	*e;
	struct sbuf		 b = { NULL, 0, 0 };

	if (l->stopped)
		return;
	if (l->nerrs == CONFIG_MAX_ERRORS) {
		l->stopped = true;
		return;
	}
	if (l->errs == NULL)
		l->errs = xcalloc(CONFIG_MAX_ERRORS, sizeof(*l->errs));
	sbuf_printf(&b, "%s:", w->file);
	if (w->line != 0) {
		sbuf_printf(&b, "%zu:", w->line);
		if (w->col != 0)
			sbuf_printf(&b, "%zu:", w->col);
	}
	sbuf_add(&b, " ", 1);
	if (w->path != NULL && *w->path != '\0')
		sbuf_printf(&b, "%s: ", w->path);
	sbuf_vprintf(&b, fmt, ap);
	sbuf_add(&b, "\n", 1);
	e = &l->errs[l->nerrs];
	e->other_file = strcmp(w->file, l->name) != 0;
	e->line = w->line;
	e->col = w->col;
	e->seq = l->nerrs++;
	e->text = b.s;
}

static int
load_error_cmp(const void *a, const void *b)
{
	const struct load_error	*x = a, *y = b;

	if (x->other_file != y->other_file)
		return x->other_file ? 1 : -1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Appends the errors, in file order, to *errs (NULL: drops them). */
static void
errors_flush(struct loader *l, char **errs)
{
	struct sbuf	 all = { NULL, 0, 0 };

	qsort(l->errs, l->nerrs, sizeof(*l->errs), load_error_cmp);
	sbuf_add(&all, "", 0);
	if (errs != NULL && *errs != NULL) {
		sbuf_add(&all, *errs, strlen(*errs));
		free(*errs);
	}
	for (size_t i = 0; i < l->nerrs; i++) {
		sbuf_add(&all, l->errs[i].text, strlen(l->errs[i].text));
		free(l->errs[i].text);
	}
	if (l->stopped)
		sbuf_printf(&all, "%s: too many errors, stopping\n", l->name);
	free(l->errs);
	if (errs != NULL)
		*errs = all.s;
	else
		free(all.s);
}

static void __attribute__((format(printf, 3, 4)))
where_error(struct loader *l, const struct where *w, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(l, w, fmt, ap);
	va_end(ap);
}

static struct where
node_where(struct loader *l, const yaml_node_t *n, const char *path)
{
	struct where	 w = { .file = l->name, .path = path };

	if (n != NULL) {
		w.line = n->start_mark.line + 1;
		w.col = n->start_mark.column + 1;
	}
	return w;
}

/* An error at node n (NULL: at the file, for a bad default). */
static void __attribute__((format(printf, 4, 5)))
node_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *fmt, ...)
{
	struct where	 w = node_where(l, n, path);
	va_list		 ap;

	va_start(ap, fmt);
	verror(l, &w, fmt, ap);
	va_end(ap);
}

static char *
path_key(const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		return xstrdup(key);
	return xasprintf("%s.%s", parent, key);
}

static char *
path_index(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

static yaml_node_t *
node_get(struct loader *l, int index)
{
	return yaml_document_get_node(&l->doc, index);
}

static bool
node_is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static const char *
node_kind(const yaml_node_t *n)
{
	if (node_is_null(n))
		return "null";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static void
type_error(struct loader *l, const yaml_node_t *n, const char *path,
    const char *want)
{
	node_error(l, n, path, "expected %s, got %s", want, node_kind(n));
}

static size_t
seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

static yaml_node_t *
seq_at(struct loader *l, const yaml_node_t *n, size_t i)
{
	return node_get(l, n->data.sequence.items.start[i]);
}

static size_t
map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start);
}

static bool
env_name_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char	c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/*
 * Expands ${NAME} from the environment; $${ stands for a literal ${.
 * Returns owned text, or NULL with the error recorded. Messages name the
 * variable, never its value: values are often secrets.
 */
static char *
expand_env(struct loader *l, const yaml_node_t *n, const char *path,
    const char *s)
{
	struct sbuf	 b = { NULL, 0, 0 };
	const char	*p = s;

	sbuf_add(&b, "", 0);
	while (*p != '\0') {
		const char	*end, *v;
		char		*name;

		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			sbuf_add(&b, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			sbuf_add(&b, p++, 1);
			continue;
		}
		if ((end = strchr(p + 2, '}')) == NULL) {
			node_error(l, n, path, "unterminated ${ (write $${ for "
			    "a literal ${)");
			goto fail;
		}
		if (!env_name_ok(p + 2, (size_t)(end - (p + 2)))) {
			node_error(l, n, path, "bad variable name in ${...} "
			    "(letters, digits and _)");
			goto fail;
		}
		name = xstrndup(p + 2, (size_t)(end - (p + 2)));
		if ((v = getenv(name)) == NULL) {
			node_error(l, n, path, "environment variable %s is not "
			    "set", name);
			free(name);
			goto fail;
		}
		free(name);
		sbuf_add(&b, v, strlen(v));
		p = end + 1;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/* The scalar's text with ${VAR} expanded, owned; NULL on error. */
static char *
scalar_text(struct loader *l, const yaml_node_t *n, const char *path)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "a string");
		return NULL;
	}
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		node_error(l, n, path, "contains a NUL byte");
		return NULL;
	}
	return expand_env(l, n, path, v);
}

/*
 * A field that must be a non-null string. item is where a missing field is
 * reported. Returns owned text or NULL (an error recorded, unless the field
 * is optional and absent or null).
 */
static char *
field_string(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, bool required)
{
	if (n == NULL || node_is_null(n)) {
		if (required && n == NULL)
			node_error(l, item, path, "required key is missing");
		else if (required)
			node_error(l, n, path, "a value is required");
		return NULL;
	}
	return scalar_text(l, n, path);
}

/* Edit distance, for did-you-mean; long words are not compared. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t	 diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t	 up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * Appends to b either ` (did you mean "x"?)` when a candidate is close to
 * word, or ` (valid: a, b, c)`.
 */
static void
suggest(struct sbuf *b, const char *word, const char *const *cands, size_t n)
{
	size_t		 best = SIZE_MAX, d, shown = 0;
	const char	*pick = NULL;

	for (size_t i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		d = edit_distance(word, cands[i]);
		if (d < best) {
			best = d;
			pick = cands[i];
		}
	}
	if (pick != NULL && best <= 2 && best < strlen(word)) {
		sbuf_printf(b, " (did you mean \"%s\"?)", pick);
		return;
	}
	if (n == 0)
		return;
	sbuf_add(b, " (valid: ", 9);
	for (size_t i = 0; i < n; i++) {
		if (cands[i] == NULL)
			continue;
		if (shown == 16) {
			sbuf_add(b, ", ...", 5);
			break;
		}
		if (shown++ > 0)
			sbuf_add(b, ", ", 2);
		sbuf_add(b, cands[i], strlen(cands[i]));
	}
	sbuf_add(b, ")", 1);
}

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref	*x = a, *y = b;
	int			 r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Indexes n names (NULL ones skipped: items that failed to load). */
static void
name_index_build(struct name_index *ni, const char *const *names, size_t n)
{
	free(ni->v);
	ni->v = xcalloc(n == 0 ? 1 : n, sizeof(*ni->v));
	ni->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		ni->v[ni->n].name = names[i];
		ni->v[ni->n++].idx = i;
	}
	qsort(ni->v, ni->n, sizeof(*ni->v), name_ref_cmp);
}

/* Returns the index of the first item called name, or -1. */
static ssize_t
name_index_find(const struct name_index *ni, const char *name)
{
	size_t	 lo = 0, hi = ni->n;

	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;

		if (strcmp(ni->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ni->n && strcmp(ni->v[lo].name, name) == 0)
		return (ssize_t)ni->v[lo].idx;
	return -1;
}

/* Appends a did-you-mean or the valid names of an index. */
static void
name_index_suggest(const struct name_index *ni, struct sbuf *b,
    const char *word)
{
	const char	**cands = xcalloc(ni->n + 1, sizeof(*cands));
	size_t		  n = 0;

	for (size_t i = 0; i < ni->n; i++) {
		if (n > 0 && strcmp(cands[n - 1], ni->v[i].name) == 0)
			continue;
		cands[n++] = ni->v[i].name;
	}
	suggest(b, word, cands, n);
	free(cands);
}

/* Looks name up in ni; reports an unknown name at n. Returns idx or -1. */
static ssize_t
lookup_name(struct loader *l, const struct name_index *ni,
    const struct where *w, const char *what, const char *name)
{
	struct sbuf	 hint = { NULL, 0, 0 };
	ssize_t		 i;

	if ((i = name_index_find(ni, name)) >= 0)
		return i;
	sbuf_add(&hint, "", 0);
	name_index_suggest(ni, &hint, name);
	where_error(l, w, "unknown %s \"%s\"%s", what, name, hint.s);
	free(hint.s);
	return -1;
}

/*
 * Reports every repeated name after its first use. wheres[i] locates
 * names[i]; NULL names are skipped.
 */
static void
report_dups(struct loader *l, const char *const *names,
    const struct where *wheres, size_t n, const char *what)
{
	struct name_index	 ni = { NULL, 0 };

	name_index_build(&ni, names, n);
	for (size_t i = 1, run = 0; i < ni.n; i++) {
		const struct name_ref	*first;

		/* A run of one name is sorted by index: its head came first. */
		if (strcmp(ni.v[run].name, ni.v[i].name) != 0) {
			run = i;
			continue;
		}
		first = &ni.v[run];
		if (wheres[first->idx].file == wheres[ni.v[i].idx].file &&
		    wheres[first->idx].col != 0)
			where_error(l, &wheres[ni.v[i].idx], "duplicate %s "
			    "\"%s\" (first at %zu:%zu)", what, ni.v[i].name,
			    wheres[first->idx].line, wheres[first->idx].col);
		else
			where_error(l, &wheres[ni.v[i].idx], "duplicate %s "
			    "\"%s\" (first at line %zu)", what, ni.v[i].name,
			    wheres[first->idx].line);
	}
	free(ni.v);
}

/*
 * The names of a list's items or a mapping's entries and where each was
 * written, gathered for report_dups. A where points into paths, so both
 * live until the report is made.
 */
struct name_list {
	const char	**v;	/* NULL: no usable name */
	struct where	 *w;
	char		**paths;	/* owned */
	size_t		  n;
};

static void
names_init(struct name_list *nl, size_t n)
{
	nl->v = xcalloc(n + 1, sizeof(*nl->v));
	nl->w = xcalloc(n + 1, sizeof(*nl->w));
	nl->paths = xcalloc(n + 1, sizeof(*nl->paths));
	nl->n = n;
}

/* Records name i, written at node n under path (owned from here on). */
static void
names_set(struct loader *l, struct name_list *nl, size_t i, const char *name,
    const yaml_node_t *n, char *path)
{
	nl->v[i] = name;
	nl->paths[i] = path;
	nl->w[i] = node_where(l, n, path);
}

static void
names_report(struct loader *l, const struct name_list *nl, const char *what)
{
	report_dups(l, nl->v, nl->w, nl->n, what);
}

/* Frees the list but not the names, which belong to their items. */
static void
names_free(struct name_list *nl)
{
	for (size_t i = 0; i < nl->n; i++)
		free(nl->paths[i]);
	free(nl->paths);
	free(nl->v);
	free(nl->w);
}

/* Reports repeated keys of a mapping whose keys are user names. */
static void
map_dup_keys(struct loader *l, const yaml_node_t *map, const char *path)
{
	struct name_list	 nl;

	names_init(&nl, map_len(map));
	for (size_t i = 0; i < nl.n; i++) {
		yaml_node_t	*k;
		const char	*name;

		k = node_get(l, map->data.mapping.pairs.start[i].key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		name = (const char *)k->data.scalar.value;
		names_set(l, &nl, i, name, k, path_key(path, name));
	}
	names_report(l, &nl, "key");
	names_free(&nl);
}

/*
 * Splits the mapping of a list item or named entry into the values of keys
 * (NULL-terminated) and reports unknown and repeated keys. Returns -1 when
 * n is not a mapping.
 */
static int
map_fields(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, yaml_node_t **vals)
{
	size_t	 nkeys = 0;

	while (keys[nkeys] != NULL)
		vals[nkeys++] = NULL;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, path, "a mapping");
		return -1;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	    p < n->data.mapping.pairs.top; p++) {
		yaml_node_t	*k = node_get(l, p->key);
		const char	*name;
		char		*kpath;
		size_t		 i;

		if (k->type != YAML_SCALAR_NODE) {
			node_error(l, k, path, "keys must be strings");
			continue;
		}
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i], name) == 0)
				break;
		kpath = path_key(path, name);
		if (i == nkeys) {
			struct sbuf	 hint = { NULL, 0, 0 };

			sbuf_add(&hint, "", 0);
			suggest(&hint, name, keys, nkeys);
			node_error(l, k, kpath, "unknown key%s", hint.s);
			free(hint.s);
		} else if (vals[i] != NULL) {
			node_error(l, k, kpath, "duplicate key");
		} else
			vals[i] = node_get(l, p->value);
		free(kpath);
	}
	return 0;
}

/*
 * The checks that open a list: n must be a list and, when empty is not
 * NULL, hold at least one item (empty is then the message). Null passes
 * silently where null_ok: such keys mean "none". Returns 0 with *cnt when
 * the items may be walked, -1 when there is nothing to load.
 */
static int
seq_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt)
{
	*cnt = 0;
	if (null_ok && node_is_null(n))
		return -1;
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "a list");
		return -1;
	}
	if ((*cnt = seq_len(n)) == 0 && empty != NULL) {
		node_error(l, n, path, "%s", empty);
		return -1;
	}
	return 0;
}

/*
 * The same for a mapping keyed by user names, whose repeated keys it
 * reports as well.
 */
static int
map_open(struct loader *l, const yaml_node_t *n, const char *path,
    bool null_ok, const char *empty, size_t *cnt)
{
	*cnt = 0;
	if (null_ok && (n == NULL || node_is_null(n)))
		return -1;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, path, "a mapping");
		return -1;
	}
	if ((*cnt = map_len(n)) == 0 && empty != NULL) {
		node_error(l, n, path, "%s", empty);
		return -1;
	}
	map_dup_keys(l, n, path);
	return 0;
}

/* One entry of a mapping keyed by user names, as each_entry hands it. */
struct entry {
	size_t		 i;	/* its place among the pairs */
	const char	*name;	/* the key */
	yaml_node_t	*key;
	yaml_node_t	*value;
	const char	*path;	/* the mapping's path and the key */
	struct where	 w;	/* the key's place */
};

typedef void (*entry_cb)(struct loader *, const struct entry *, void *);

/*
 * Calls fn on each entry of mapping n in file order, until too many
 * errors; a key that is not a string is reported and skipped.
 */
static void
each_entry(struct loader *l, const yaml_node_t *n, const char *path,
    entry_cb fn, void *arg)
{
	size_t	 cnt = map_len(n);

	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_pair_t	*p = &n->data.mapping.pairs.start[i];
		struct entry		 e = { .i = i };
		char			*epath;

		e.key = node_get(l, p->key);
		if (e.key->type != YAML_SCALAR_NODE) {
			node_error(l, e.key, path, "keys must be strings");
			continue;
		}
		e.value = node_get(l, p->value);
		e.name = (const char *)e.key->data.scalar.value;
		e.path = epath = path_key(path, e.name);
		e.w = node_where(l, e.key, e.path);
		fn(l, &e, arg);
		free(epath);
	}
}

#define ITEM_KEYS_MAX	8

/* One item of a list of mappings, as each_item hands it. */
struct item {
	size_t		 i;
	yaml_node_t	*node;
	const char	*path;	/* the list's path and [i] */
	yaml_node_t	**v;	/* the value of each key; NULL: absent */
};

typedef void (*item_cb)(struct loader *, const struct item *, void *);

/*
 * Calls fn on each item of list n in order, until too many errors, with
 * the values of keys (NULL-terminated, at most ITEM_KEYS_MAX). An item
 * that is not a mapping is reported by map_fields and skipped.
 */
static void
each_item(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *keys, item_cb fn, void *arg)
{
	yaml_node_t	*v[ITEM_KEYS_MAX];
	size_t		 cnt = seq_len(n), nkeys = 0;

	/* A longer key list is a mistake in this file, not in the input. */
	while (keys[nkeys] != NULL)
		nkeys++;
	if (nkeys > ITEM_KEYS_MAX)
		abort();
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		struct item	 it = { .i = i, .v = v };
		char		*ipath = path_index(path, i);

		it.node = seq_at(l, n, i);
		it.path = ipath;
		if (map_fields(l, it.node, ipath, keys, v) == 0)
			fn(l, &it, arg);
		free(ipath);
	}
}

/* The index of s in names (NULL-terminated); else reports it, -1. */
static int
enum_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *const *names, const char *s)
{
	struct sbuf	 b = { NULL, 0, 0 };
	int		 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	for (i = 0; names[i] != NULL; i++) {
		if (i > 0)
			sbuf_add(&b, ", ", 2);
		sbuf_add(&b, names[i], strlen(names[i]));
	}
	node_error(l, n, path, "invalid value \"%s\" (use %s)", s, b.s);
	free(b.s);
	return -1;
}

/* Reads an enum field; returns its index or -1 (error recorded unless
 * absent/null and optional). */
static int
field_enum(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, const char *const *names, bool required)
{
	char	*s;
	int	 i;

	if ((s = field_string(l, item, n, path, required)) == NULL)
		return -1;
	i = enum_value(l, n, path, names, s);
	free(s);
	return i;
}

static bool
id_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == '-');
}

/* The rep_id charset of the event contract, used for every id. */
static int
check_id(struct loader *l, const struct where *w, const char *what,
    const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0) {
		where_error(l, w, "empty %s", what);
		return -1;
	}
	if (n > ID_MAX) {
		where_error(l, w, "%s of %zu bytes is too long (at most %d)",
		    what, n, ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!id_char(s[i])) {
			where_error(l, w, "invalid %s \"%s\" (1 to %d of "
			    "A-Z a-z 0-9 . _ @ -)", what, s, ID_MAX);
			return -1;
		}
	}
	return 0;
}

/* An id field: required unless optional; returns owned text or NULL. */
static char *
field_id(struct loader *l, const yaml_node_t *item, const yaml_node_t *n,
    const char *path, bool required, const char *what)
{
	char		*s = field_string(l, item, n, path, required);
	struct where	 w = node_where(l, n, path);

	if (s != NULL && check_id(l, &w, what, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* "/a/b.yaml" -> "/a", "b.yaml" -> "." */
static char *
dir_of(const char *name)
{
	const char	*slash = strrchr(name, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == name)
		return xstrdup("/");
	return xstrndup(name, (size_t)(slash - name));
}

/* Paths in the file are relative to the file's own folder. */
static char *
resolve(struct loader *l, const char *path)
{
	if (path[0] == '/' || strcmp(l->dir, ".") == 0)
		return xstrdup(path);
	return xasprintf("%s/%s", l->dir, path);
}

/*
 * Reads a whole file of at most max bytes into owned *out (NUL-terminated).
 * regular_only refuses FIFOs and devices, which could block or never end.
 */
static int
read_all(const char *path, bool regular_only, size_t max, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 len = 0, cap = 4096;
	char		*b;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    (regular_only ? O_NONBLOCK : 0))) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (regular_only && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	b = xmalloc(cap);
	for (;;) {
		ssize_t	 r;

		if (len + 1 == cap) {
			if (cap > max) {
				snprintf(err, errlen, "larger than %zu bytes",
				    max);
				goto fail;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		r = read(fd, b + len, cap - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		snprintf(err, errlen, "larger than %zu bytes", max);
		goto fail;
	}
	close(fd);
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
fail:
	close(fd);
	free(b);
	return -1;
}

/*
 * Reads a secret from the file named by node n: trailing newlines trimmed,
 * not empty. Returns owned text or NULL. Messages name the file only.
 */
static char *
read_secret(struct loader *l, const yaml_node_t *n, const char *path,
    const char *file)
{
	char	*full = resolve(l, file), *s, err[128];
	size_t	 len;

	if (read_all(full, true, SECRET_MAX_BYTES, &s, &len, err,
	    sizeof(err)) != 0) {
		node_error(l, n, path, "cannot read %s: %s", full, err);
		free(full);
		return NULL;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (memchr(s, '\0', len) != NULL)
		node_error(l, n, path, "%s holds a NUL byte", full);
	else if (len == 0)
		node_error(l, n, path, "%s is empty", full);
	else {
		free(full);
		return s;
	}
	free(full);
	free(s);
	return NULL;
}

/* The secret in the file named by node n; owned, or NULL on error. */
static char *
secret_file(struct loader *l, const yaml_node_t *n, const char *path)
{
	char	*file, *s;

	if ((file = scalar_text(l, n, path)) == NULL)
		return NULL;
	s = read_secret(l, n, path, file);
	free(file);
	return s;
}

static int
parse_int(const char *s, long long *v)
{
	char	*end;

	if (*s == '\0' || strspn(s, "+-0123456789") != strlen(s))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

static int
parse_number(const char *s, double *v)
{
	char	*end;

	/* strtod alone would also take "inf", "nan" and hex. */
	if (*s == '\0' || strspn(s, "+-.0123456789eE") != strlen(s))
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return (errno != 0 || *end != '\0' || !isfinite(*v)) ? -1 : 0;
}

static void *
field_at(struct config *c, const struct key_row *r)
{
	return (char *)c + r->off;
}

/*
 * Parses a duration within min..max (as written in a file; NULL: no
 * bound) into *v; else reports it at n and returns -1.
 */
static int
duration_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, int64_t *v)
{
	int64_t	 lim;

	if (caltime_parse_duration(text, v) != 0) {
		node_error(l, n, path, "invalid duration \"%s\" (use 500ms, "
		    "30s, 5m, 2h, 35d)", text);
		return -1;
	}
	if (min != NULL && caltime_parse_duration(min, &lim) == 0 &&
	    *v < lim) {
		node_error(l, n, path, "%s is below the minimum %s", text, min);
		return -1;
	}
	if (max != NULL && caltime_parse_duration(max, &lim) == 0 &&
	    *v > lim) {
		node_error(l, n, path, "%s is above the maximum %s", text, max);
		return -1;
	}
	return 0;
}

/* Parses an integer within min..max (as written) into *v, or reports. */
static int
int_in(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, const char *min, const char *max, long long *v)
{
	long long	 lo, hi;

	if (parse_int(text, v) != 0) {
		node_error(l, n, path, "invalid integer \"%s\"", text);
		return -1;
	}
	if (parse_int(min, &lo) != 0 || parse_int(max, &hi) != 0 ||
	    *v < lo || *v > hi) {
		node_error(l, n, path, "%s is out of range (%s to %s)", text,
		    min, max);
		return -1;
	}
	return 0;
}

/* YAML 1.2's core schema booleans; yes/no/on/off are not among them. */
static int
bool_value(struct loader *l, const yaml_node_t *n, const char *path,
    const char *text, bool *v)
{
	if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 ||
	    strcmp(text, "TRUE") == 0)
		*v = true;
	else if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0 ||
	    strcmp(text, "FALSE") == 0)
		*v = false;
	else {
		node_error(l, n, path, "invalid boolean \"%s\" (use true or "
		    "false)", text);
		return -1;
	}
	return 0;
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
	row_set(l, r, n, path, text);
}

/*
 * The text of an optional scalar field of type t (KEY_INT, KEY_BOOL,
 * KEY_DURATION), owned; NULL when absent or null, or with an error
 * recorded. Like rows, a quoted number or boolean is a string.
 */
static char *
field_scalar(struct loader *l, const yaml_node_t *n, const char *path,
    enum key_type t)
{
	if (n == NULL || node_is_null(n))
		return NULL;
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, row_want(t));
		return NULL;
	}
	if (t != KEY_DURATION &&
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		node_error(l, n, path, "expected %s, got a quoted string",
		    row_want(t));
		return NULL;
	}
	return scalar_text(l, n, path);
}

/* An optional duration field within min..max; *v keeps its default
 * when the field is absent, null or bad. */
static void
field_duration(struct loader *l, const yaml_node_t *n, const char *path,
    const char *min, const char *max, int64_t *v)
{
	char	*s = field_scalar(l, n, path, KEY_DURATION);
	int64_t	 d;

	if (s != NULL && duration_in(l, n, path, s, min, max, &d) == 0)
		*v = d;
	free(s);
}

/* An optional integer field within min..max (as written), as above. */
static void
field_int(struct loader *l, const yaml_node_t *n, const char *path,
    const char *min, const char *max, int *v)
{
	char		*s = field_scalar(l, n, path, KEY_INT);
	long long	 i;

	if (s != NULL && int_in(l, n, path, s, min, max, &i) == 0)
		*v = (int)i;
	free(s);
}

/* An optional boolean field, as above. */
static void
field_bool(struct loader *l, const yaml_node_t *n, const char *path, bool *v)
{
	char	*s = field_scalar(l, n, path, KEY_BOOL);
	bool	 b;

	if (s != NULL && bool_value(l, n, path, s, &b) == 0)
		*v = b;
	free(s);
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

/* The row's value node, or NULL when the file leaves it out. */
static yaml_node_t *
seen_node(struct loader *l, const char *path)
{
	size_t	 i;

	if (row_find(path, &i) == NULL)
		return NULL;
	return l->seen[i];
}

/* The row's key node, or NULL. */
static yaml_node_t *
seen_key(struct loader *l, const char *path)
{
	size_t	 i;

	if (row_find(path, &i) == NULL)
		return NULL;
	return l->seen_key[i];
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

/* "1234" within [lo, hi], the whole string. */
static int
parse_port(const char *s, size_t len, int lo, int *port)
{
	int	 v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/*
 * Splits "host:port" or "[v6]:port" (port optional when defport >= 0).
 * Returns 0 with owned *host, or -1 with the reason in err.
 */
static int
split_host_port(const char *s, size_t len, int defport, int minport,
    char **host, int *port, char *err, size_t errlen)
{
	const char	*colon = NULL, *h = s;
	size_t		 hlen;

	if (len > 0 && s[0] == '[') {
		const char	*rb = memchr(s, ']', len);

		if (rb == NULL) {
			snprintf(err, errlen, "missing ] after an IPv6 "
			    "address");
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(rb - h);
		if ((size_t)(rb + 1 - s) < len) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "expected :port after ]");
				return -1;
			}
			colon = rb + 1;
		}
	} else {
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':') {
				if (colon != NULL) {
					snprintf(err, errlen, "write an IPv6 "
					    "address in brackets: [::1]:port");
					return -1;
				}
				colon = s + i;
			}
		hlen = colon != NULL ? (size_t)(colon - s) : len;
	}
	if (hlen == 0) {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	for (size_t i = 0; i < hlen; i++)
		if (h[i] == '/' || h[i] == '@' || h[i] == ' ' ||
		    (unsigned char)h[i] < 0x20) {
			snprintf(err, errlen, "invalid host");
			return -1;
		}
	if (colon == NULL) {
		if (defport < 0) {
			snprintf(err, errlen, "missing :port");
			return -1;
		}
		*port = defport;
	} else if (parse_port(colon + 1, (size_t)(s + len - colon - 1),
	    minport, port) != 0) {
		snprintf(err, errlen, "invalid port (%d to 65535)", minport);
		return -1;
	}
	*host = xstrndup(h, hlen);
	return 0;
}

static int
check_listen(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	char	 err[128], *host;
	int	 port;

	if (split_host_port(s, strlen(s), -1, 0, &host, &port, err,
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

static void
redis_addr_clear(struct redis_addr *a)
{
	free(a->host);
	free(a->unix_path);
	free(a->username);
	free(a->password);
	memset(a, 0, sizeof(*a));
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX escapes of a url's user or password; NULL when bad. */
static char *
pct_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1);
	size_t	 o = 0;

	for (size_t i = 0; i < len; i++) {
		int	 hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
		    (lo = hexval(s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static int
parse_db(const char *s, size_t len, int *db)
{
	long long	 v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*db = (int)v;
	return 0;
}

/*
 * redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N].
 * The url may hold a password, so err never quotes it.
 */
static int
redis_url_parse(const char *url, struct redis_addr *a, char *err,
    size_t errlen)
{
	const char	*p, *auth_end, *at = NULL, *hp;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		const char	*q;

		p = url + 7;
		if (*p != '/') {
			snprintf(err, errlen, "a unix url needs an absolute "
			    "path: unix:///path/redis.sock");
			return -1;
		}
		q = strchr(p, '?');
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
		    parse_db(q + 4, strlen(q + 4), &a->db) != 0)) {
			snprintf(err, errlen, "the only query is ?db=N");
			return -1;
		}
		if ((q != NULL ? (size_t)(q - p) : strlen(p)) < 2) {
			snprintf(err, errlen, "missing socket path");
			return -1;
		}
		a->port = 0;
		a->unix_path = q != NULL ? xstrndup(p, (size_t)(q - p)) :
		    xstrdup(p);
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "unsupported scheme (use redis://host:"
		    "port/db or unix:///path/redis.sock)");
		return -1;
	}
	p = url + 8;
	auth_end = p + strcspn(p, "/?#");
	for (const char *c = p; c < auth_end; c++)
		if (*c == '@')
			at = c;
	hp = p;
	if (at != NULL) {
		const char	*colon = memchr(p, ':', (size_t)(at - p));
		size_t		 ulen;

		ulen = colon != NULL ? (size_t)(colon - p) : (size_t)(at - p);

		if (ulen > 0 && (a->username = pct_decode(p, ulen)) == NULL)
			goto badesc;
		if (colon != NULL && (a->password = pct_decode(colon + 1,
		    (size_t)(at - colon - 1))) == NULL)
			goto badesc;
		if (a->password != NULL && *a->password == '\0') {
			free(a->password);
			a->password = NULL;
		}
		hp = at + 1;
	}
	if (split_host_port(hp, (size_t)(auth_end - hp), 6379, 1, &a->host,
	    &a->port, err, errlen) != 0)
		goto fail;
	if (*auth_end == '/' && auth_end[1] != '\0' &&
	    parse_db(auth_end + 1, strlen(auth_end + 1), &a->db) != 0) {
		snprintf(err, errlen, "the path must be a database number");
		goto fail;
	}
	if (*auth_end == '?' || *auth_end == '#') {
		snprintf(err, errlen, "unexpected query or fragment");
		goto fail;
	}
	return 0;
badesc:
	snprintf(err, errlen, "bad %%-escape in the user or password");
fail:
	redis_addr_clear(a);
	return -1;
}

static int
check_redis_url(struct loader *l, yaml_node_t *n, const char *path,
    const char *s)
{
	char	 err[128];

	redis_addr_clear(&l->url);
	if (redis_url_parse(s, &l->url, err, sizeof(err)) != 0) {
		node_error(l, n, path, "invalid url: %s", err);
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

static int
check_kpi_name(struct loader *l, const struct where *w, const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > KPI_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		where_error(l, w, "invalid KPI name \"%.*s\" (1 to %d of a-z "
		    "0-9 _)", n > 64 ? 64 : (int)n, s, KPI_NAME_MAX);
		return -1;
	}
	return 0;
}

/* A non-empty list of strings, ids when what names them (NULL: any
 * string). Returns the owned array (NULL entries for bad items), *nout its
 * length. */
static char **
string_list(struct loader *l, const yaml_node_t *n, const char *path,
    const char *what, size_t *nout)
{
	size_t	 cnt;
	char	**v;

	*nout = 0;
	if (seq_open(l, n, path, false, "must not be empty", &cnt) != 0)
		return NULL;
	v = xcalloc(cnt, sizeof(*v));
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ipath = path_index(path, i);

		if (what != NULL)
			v[i] = field_id(l, n, item, ipath, true, what);
		else
			v[i] = field_string(l, n, item, ipath, true);
		free(ipath);
	}
	*nout = cnt;
	return v;
}

/* Reports duplicates among the items of a list of names. */
static void
list_dups(struct loader *l, const yaml_node_t *n, const char *path,
    char *const *v, size_t cnt, const char *what)
{
	struct name_list	 nl;

	names_init(&nl, cnt);
	for (size_t i = 0; i < cnt; i++)
		names_set(l, &nl, i, v[i], seq_at(l, n, i),
		    path_index(path, i));
	names_report(l, &nl, what);
	names_free(&nl);
}

static void
kpi_item(struct loader *l, const struct item *it, void *arg)
{
	struct name_list	*nl = arg;
	struct config_kpi	*k = &l->c->kpis[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp;
	int			 e;

	fp = path_key(it->path, "name");
	k->name = field_string(l, item, v[0], fp, true);
	/* The name is recorded once every KPI is in, after this check. */
	names_set(l, nl, it->i, NULL, v[0], fp);
	if (k->name != NULL && check_kpi_name(l, &nl->w[it->i], k->name) != 0) {
		free(k->name);
		k->name = NULL;
	}
	fp = path_key(it->path, "kind");
	if ((e = field_enum(l, item, v[1], fp, kind_names, true)) >= 0)
		k->kind = (enum kpi_kind)e;
	free(fp);
	fp = path_key(it->path, "measure");
	if ((e = field_enum(l, item, v[3], fp, measure_names, false)) >= 0)
		k->measure = (enum kpi_measure)e;
	free(fp);
	fp = path_key(it->path, "better");
	if ((e = field_enum(l, item, v[4], fp, better_names, false)) >= 0)
		k->better = (enum kpi_better)e;
	free(fp);
	fp = path_key(it->path, "events");
	if (v[2] == NULL)
		node_error(l, item, fp, "required key is missing");
	else {
		k->events = string_list(l, v[2], fp, "event type",
		    &k->nevents);
		if (k->events != NULL)
			list_dups(l, v[2], fp, k->events, k->nevents,
			    "event type");
	}
	free(fp);
}

static void
load_kpis(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "name", "kind", "events",
	    "measure", "better", NULL };
	struct config		*c = l->c;
	struct name_list	 nl;
	size_t			 cnt;

	if (seq_open(l, n, path, false, "at least one KPI is required",
	    &cnt) != 0)
		return;
	c->kpis = xcalloc(cnt, sizeof(*c->kpis));
	c->nkpis = cnt;
	names_init(&nl, cnt);
	each_item(l, n, path, keys, kpi_item, &nl);
	for (size_t i = 0; i < cnt; i++)
		nl.v[i] = c->kpis[i].name;
	names_report(l, &nl, "KPI");
	name_index_build(&l->kpi_names, nl.v, cnt);
	names_free(&nl);
}

static int
parse_hhmm(const char *s, bool end, int *min)
{
	int	 h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '5' || s[4] < '0' ||
	    s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static int
day_cmp(const void *a, const void *b)
{
	int32_t	 x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static void
load_calendar(struct loader *l, struct config_calendar *cal,
    const yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "working_days", "working_hours",
	    "week_start", "fiscal_year_start", "holidays", NULL };
	yaml_node_t	*v[5];
	char		*fp, *s;
	int		 e;

	cal->working_days = 0x1f;
	cal->work_start_min = 9 * 60;
	cal->work_end_min = 17 * 60;
	cal->rules.week_start = 0;
	cal->rules.fiscal_year_start = 1;
	if (n == NULL || node_is_null(n) ||
	    map_fields(l, n, path, keys, v) != 0)
		return;

	if (v[0] != NULL) {
		size_t	 cnt;

		fp = path_key(path, "working_days");
		if (seq_open(l, v[0], fp, false, "must not be empty",
		    &cnt) == 0) {
			cal->working_days = 0;
			for (size_t i = 0; i < cnt; i++) {
				yaml_node_t	*d = seq_at(l, v[0], i);
				char		*ip = path_index(fp, i);

				if ((e = field_enum(l, v[0], d, ip, day_names,
				    true)) >= 0) {
					if (cal->working_days & (1u << e))
						node_error(l, d, ip, "\"%s\" "
						    "is listed twice",
						    day_names[e]);
					cal->working_days |= 1u << e;
				}
				free(ip);
			}
		}
		free(fp);
	}
	if (v[1] != NULL) {
		fp = path_key(path, "working_hours");
		if ((s = field_string(l, n, v[1], fp, true)) != NULL) {
			int	 a, b;

			if (strlen(s) != 11 || s[5] != '-' ||
			    parse_hhmm(s, false, &a) != 0 ||
			    parse_hhmm(s + 6, true, &b) != 0)
				node_error(l, v[1], fp, "invalid hours \"%s\" "
				    "(use HH:MM-HH:MM, e.g. 09:00-17:00)", s);
			else if (a >= b)
				node_error(l, v[1], fp, "the start of \"%s\" "
				    "is not before its end", s);
			else {
				cal->work_start_min = a;
				cal->work_end_min = b;
			}
			free(s);
		}
		free(fp);
	}
	fp = path_key(path, "week_start");
	if ((e = field_enum(l, n, v[2], fp, day_names, false)) >= 0)
		cal->rules.week_start = e;
	free(fp);
	fp = path_key(path, "fiscal_year_start");
	if ((e = field_enum(l, n, v[3], fp, month_names, false)) >= 0)
		cal->rules.fiscal_year_start = e + 1;
	free(fp);
	if (v[4] != NULL) {
		size_t	 cnt, o = 0;

		fp = path_key(path, "holidays");
		if (seq_open(l, v[4], fp, true, NULL, &cnt) == 0) {
			cal->holidays = xcalloc(cnt + 1,
			    sizeof(*cal->holidays));
			for (size_t i = 0; i < cnt && !l->stopped; i++) {
				yaml_node_t	*d = seq_at(l, v[4], i);
				char		*ip = path_index(fp, i);
				int32_t		 day;

				if ((s = field_string(l, v[4], d, ip,
				    true)) != NULL) {
					if (caltime_parse_date(s, &day) != 0)
						node_error(l, d, ip, "invalid "
						    "date \"%s\" (use "
						    "YYYY-MM-DD)", s);
					else
						cal->holidays[o++] = day;
					free(s);
				}
				free(ip);
			}
			qsort(cal->holidays, o, sizeof(*cal->holidays),
			    day_cmp);
			cal->nholidays = 0;
			for (size_t i = 0; i < o; i++)
				if (cal->nholidays == 0 || cal->holidays[i] !=
				    cal->holidays[cal->nholidays - 1])
					cal->holidays[cal->nholidays++] =
					    cal->holidays[i];
		}
		free(fp);
	}
}

static void
calendar_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct config_calendar	*cal = &l->c->calendars[e->i];
	const char		**names = arg;

	if (check_id(l, &e->w, "calendar name", e->name) == 0)
		cal->name = xstrdup(e->name);
	names[e->i] = cal->name;
	load_calendar(l, cal, e->value, e->path);
}

static void
load_calendars(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	 *c = l->c;
	const char	**names;
	size_t		  cnt;

	if (map_open(l, n, path, false, "at least one calendar is required",
	    &cnt) != 0)
		return;
	c->calendars = xcalloc(cnt, sizeof(*c->calendars));
	c->ncalendars = cnt;
	names = xcalloc(cnt, sizeof(*names));
	each_entry(l, n, path, calendar_entry, names);
	name_index_build(&l->calendar_names, names, cnt);
	free(names);
}

/* Without a calendars key: Monday to Friday, 09:00-17:00, no holidays. */
static void
default_calendar(struct loader *l)
{
	struct config	*c = l->c;
	const char	*name = "default";

	c->calendars = xcalloc(1, sizeof(*c->calendars));
	c->ncalendars = 1;
	c->calendars[0].name = xstrdup(name);
	load_calendar(l, &c->calendars[0], NULL, "calendars.default");
	name_index_build(&l->calendar_names, &name, 1);
}

/* One {day, week, month, quarter} key of a target. */
static void
period_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct config_target	*t = arg;
	yaml_node_t		*pv = e->value;
	enum period		 per;
	char			*s;
	double			 d;

	if (caltime_period_parse(e->name, &per) != 0) {
		struct sbuf	 hint = { NULL, 0, 0 };

		sbuf_add(&hint, "", 0);
		suggest(&hint, e->name, period_names, PERIOD_COUNT);
		node_error(l, e->key, e->path, "unknown period%s", hint.s);
		free(hint.s);
	} else if (t->set[per])
		node_error(l, e->key, e->path, "duplicate key");
	else if (pv->type != YAML_SCALAR_NODE || node_is_null(pv) ||
	    pv->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		node_error(l, pv, e->path, "expected a number, got %s",
		    pv->type == YAML_SCALAR_NODE && !node_is_null(pv) ?
		    "a quoted string" : node_kind(pv));
	else if ((s = scalar_text(l, pv, e->path)) != NULL) {
		if (parse_number(s, &d) != 0)
			node_error(l, pv, e->path, "invalid number \"%s\"", s);
		else if (d < 0)
			node_error(l, pv, e->path, "a target cannot be "
			    "negative");
		else {
			t->set[per] = true;
			t->value[per] = d;
		}
		free(s);
	}
}

/* Where load_targets puts what it loads. */
struct target_out {
	struct config_target	**v;
	size_t			 *n;
};

static void
target_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct target_out	*out = arg;
	struct config_target	*t;
	ssize_t			 kpi;

	kpi = lookup_name(l, &l->kpi_names, &e->w, "KPI", e->name);
	if (kpi < 0)
		return;
	if (e->value->type != YAML_MAPPING_NODE) {
		type_error(l, e->value, e->path, "a mapping of day, week, "
		    "month, quarter");
		return;
	}
	t = &(*out->v)[(*out->n)++];
	t->kpi = (size_t)kpi;
	each_entry(l, e->value, e->path, period_entry, t);
	if (map_len(e->value) == 0)
		node_error(l, e->value, e->path, "give at least one of day, "
		    "week, month, quarter");
}

/*
 * A mapping of KPI name to {day, week, month, quarter}: a role's targets,
 * a rep's overrides or a schedule entry's. Fills owned *out and *nout.
 */
static void
load_targets(struct loader *l, yaml_node_t *n, const char *path,
    struct config_target **out, size_t *nout)
{
	struct target_out	 to = { out, nout };
	size_t			 cnt;

	if (map_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	*out = xcalloc(cnt + 1, sizeof(**out));
	each_entry(l, n, path, target_entry, &to);
}

static int
schedule_cmp(const void *a, const void *b)
{
	const struct config_schedule	*x = a, *y = b;

	return (x->from_day > y->from_day) - (x->from_day < y->from_day);
}

/* What schedule_item fills: the entries and their dates, as text. */
struct schedule_out {
	struct config_schedule	*v;
	struct name_list	 dates;	/* owns the dates */
};

static void
schedule_item(struct loader *l, const struct item *it, void *arg)
{
	struct schedule_out	*so = arg;
	struct config_schedule	*e = &so->v[it->i];
	char			*fp, *s, *date;
	int32_t			 day;

	fp = so->dates.paths[it->i] = path_key(it->path, "from");
	if ((s = field_string(l, it->node, it->v[0], fp, true)) != NULL) {
		if (caltime_parse_date(s, &day) != 0)
			node_error(l, it->v[0], fp, "invalid date \"%s\" (use "
			    "YYYY-MM-DD)", s);
		else {
			e->from_day = day;
			date = xmalloc(11);
			caltime_format_date(day, date, 11);
			so->dates.v[it->i] = date;
			so->dates.w[it->i] = node_where(l, it->v[0], fp);
		}
		free(s);
	}
	fp = path_key(it->path, "targets");
	load_targets(l, it->v[1], fp, &e->targets, &e->ntargets);
	free(fp);
}

/*
 * A list of {from: YYYY-MM-DD, targets: ...}: a role's seasons or a rep's
 * ramp. Fills owned *out (sorted by from day) and *nout; two entries from
 * the same day are an error, so the order is never a tie.
 */
static void
load_schedule(struct loader *l, yaml_node_t *n, const char *path,
    struct config_schedule **out, size_t *nout)
{
	static const char *const keys[] = { "from", "targets", NULL };
	struct schedule_out	 so;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	so.v = *out = xcalloc(cnt + 1, sizeof(*so.v));
	*nout = cnt;
	names_init(&so.dates, cnt);
	each_item(l, n, path, keys, schedule_item, &so);
	names_report(l, &so.dates, "schedule date");
	qsort(so.v, cnt, sizeof(*so.v), schedule_cmp);
	for (size_t i = 0; i < cnt; i++)
		free((char *)so.dates.v[i]);
	names_free(&so.dates);
}

static void
role_entry(struct loader *l, const struct entry *e, void *arg)
{
	static const char *const keys[] = { "targets", "schedule", NULL };
	struct config_role	*r = &l->c->roles[e->i];
	const char		**names = arg;
	yaml_node_t		*f[2];
	char			*tpath;

	if (check_id(l, &e->w, "role name", e->name) == 0)
		r->name = xstrdup(e->name);
	names[e->i] = r->name;
	if (node_is_null(e->value) ||
	    map_fields(l, e->value, e->path, keys, f) != 0)
		return;
	tpath = path_key(e->path, "targets");
	load_targets(l, f[0], tpath, &r->targets, &r->ntargets);
	free(tpath);
	if (f[1] != NULL) {
		tpath = path_key(e->path, "schedule");
		load_schedule(l, f[1], tpath, &r->schedule, &r->nschedule);
		free(tpath);
	}
}

static void
load_roles(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	 *c = l->c;
	const char	**names;
	size_t		  cnt;

	if (map_open(l, n, path, false, "at least one role is required",
	    &cnt) != 0)
		return;
	c->roles = xcalloc(cnt, sizeof(*c->roles));
	c->nroles = cnt;
	names = xcalloc(cnt, sizeof(*names));
	each_entry(l, n, path, role_entry, names);
	name_index_build(&l->role_names, names, cnt);
	free(names);
}

static void
team_item(struct loader *l, const struct item *it, void *arg)
{
	struct name_list	*nl = arg;
	struct config_team	*t = &l->c->teams[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp, *s;
	char			 err[256];
	ssize_t			 def;

	names_set(l, nl, it->i, NULL, v[0], path_key(it->path, "id"));
	t->id = field_id(l, item, v[0], nl->paths[it->i], true, "team id");
	nl->v[it->i] = t->id;

	fp = path_key(it->path, "timezone");
	if ((s = field_string(l, item, v[1], fp, true)) != NULL) {
		struct tzone	*z;

		z = tzone_open(s, err, sizeof(err));

		if (z == NULL) {
			node_error(l, v[1], fp, "%s", err);
			free(s);
		} else
			t->timezone = s;
		tzone_free(z);
	}
	free(fp);

	fp = path_key(it->path, "calendar");
	def = name_index_find(&l->calendar_names, "default");
	if ((s = field_string(l, item, v[2], fp, false)) != NULL) {
		struct where	 cw = node_where(l, v[2], fp);
		ssize_t		 ci;

		if ((ci = lookup_name(l, &l->calendar_names, &cw,
		    "calendar", s)) >= 0)
			t->calendar = (size_t)ci;
		free(s);
	} else if (v[2] != NULL && !node_is_null(v[2])) {
		/* A bad value, already reported. */
	} else if (def >= 0)
		t->calendar = (size_t)def;
	else
		node_error(l, v[2] != NULL ? v[2] : item, fp,
		    "required key is missing (no calendar is named "
		    "default)");
	free(fp);

	fp = path_key(it->path, "manager");
	t->manager = field_id(l, item, v[3], fp, false, "manager id");
	free(fp);
}

static void
load_teams(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "id", "timezone", "calendar",
	    "manager", NULL };
	struct config		*c = l->c;
	struct name_list	 nl;
	size_t			 cnt;

	if (seq_open(l, n, path, false, "at least one team is required",
	    &cnt) != 0)
		return;
	c->teams = xcalloc(cnt, sizeof(*c->teams));
	c->nteams = cnt;
	names_init(&nl, cnt);
	each_item(l, n, path, keys, team_item, &nl);
	names_report(l, &nl, "team");
	name_index_build(&l->team_names, nl.v, cnt);
	names_free(&nl);
}

/* Where each rep came from, for duplicate reports. */
struct rep_src {
	struct where	 w;
	char		*path;
};

/* Fills rep r from its fields; each where locates one field. */
static void
rep_fill(struct loader *l, struct config_rep *r, const struct where *wteam,
    const struct where *wrole, const char *team, const char *role)
{
	ssize_t	 i;

	if (team != NULL && (i = lookup_name(l, &l->team_names, wteam,
	    "team", team)) >= 0)
		r->team = (size_t)i;
	if (role != NULL && (i = lookup_name(l, &l->role_names, wrole,
	    "role", role)) >= 0)
		r->role = (size_t)i;
}

static void
rep_dups(struct loader *l, struct rep_src *src)
{
	struct config	 *c = l->c;
	const char	**names = xcalloc(c->nreps + 1, sizeof(*names));
	struct where	 *w = xcalloc(c->nreps + 1, sizeof(*w));

	for (size_t i = 0; i < c->nreps; i++) {
		names[i] = c->reps[i].id;
		w[i] = src[i].w;
	}
	report_dups(l, names, w, c->nreps, "rep id");
	for (size_t i = 0; i < c->nreps; i++)
		free(src[i].path);
	free(src);
	free(names);
	free(w);
}

/*
 * One out_of_office item: "YYYY-MM-DD" or an inclusive range
 * "YYYY-MM-DD..YYYY-MM-DD". Returns 0 with the first and last day.
 */
static int
ooo_item(struct loader *l, const yaml_node_t *n, const char *path,
    const char *s, int32_t *first, int32_t *last)
{
	const char	*dots = strstr(s, "..");
	char		*a;
	int		 rc;

	if (dots == NULL) {
		if (caltime_parse_date(s, first) == 0) {
			*last = *first;
			return 0;
		}
		node_error(l, n, path, "invalid date \"%s\" (use YYYY-MM-DD or "
		    "a range YYYY-MM-DD..YYYY-MM-DD)", s);
		return -1;
	}
	a = xstrndup(s, (size_t)(dots - s));
	rc = caltime_parse_date(a, first) == 0 &&
	    caltime_parse_date(dots + 2, last) == 0 ? 0 : -1;
	free(a);
	if (rc != 0) {
		node_error(l, n, path, "invalid range \"%s\" (use "
		    "YYYY-MM-DD..YYYY-MM-DD)", s);
		return -1;
	}
	if (*last < *first) {
		node_error(l, n, path, "range \"%s\" ends before it starts",
		    s);
		return -1;
	}
	if (*last - *first + 1 > OOO_RANGE_MAX) {
		node_error(l, n, path, "range \"%s\" spans %ld days (at most "
		    "%d)", s, (long)(*last - *first) + 1, OOO_RANGE_MAX);
		return -1;
	}
	return 0;
}

/* A rep's out_of_office list into sorted, deduplicated day numbers. */
static void
load_ooo(struct loader *l, const yaml_node_t *n, const char *path,
    struct config_rep *r)
{
	size_t	 cnt, cap = 16, o = 0;
	int32_t	*days;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	days = xcalloc(cap, sizeof(*days));
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ip = path_index(path, i), *s;
		int32_t		 first, last;

		if ((s = field_string(l, n, item, ip, true)) != NULL &&
		    ooo_item(l, item, ip, s, &first, &last) == 0) {
			if (o + (size_t)(last - first) + 1 > OOO_MAX_DAYS) {
				node_error(l, item, ip, "more than %d "
				    "out-of-office days", OOO_MAX_DAYS);
				free(s);
				free(ip);
				break;
			}
			while (o + (size_t)(last - first) + 1 > cap) {
				days = xreallocarray(days, cap, 2 *
				    sizeof(*days));
				cap *= 2;
			}
			for (int32_t d = first; d <= last; d++)
				days[o++] = d;
		}
		free(s);
		free(ip);
	}
	qsort(days, o, sizeof(*days), day_cmp);
	r->nout_of_office = 0;
	for (size_t i = 0; i < o; i++)
		if (r->nout_of_office == 0 || days[i] !=
		    days[r->nout_of_office - 1])
			days[r->nout_of_office++] = days[i];
	if (r->nout_of_office == 0) {
		free(days);
		days = NULL;
	}
	r->out_of_office = days;
}

/* The keys of a rep; rep_item reads its fields in this order. */
static const char *const rep_keys[] = { "id", "team", "role", "manager",
    "targets", "schedule", "out_of_office", NULL };

static void
rep_item(struct loader *l, const struct item *it, void *arg)
{
	struct rep_src		*src = &((struct rep_src *)arg)[it->i];
	struct config_rep	*r = &l->c->reps[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp[7], *team, *role;
	struct where		 wt, wr;

	for (size_t j = 0; j < 7; j++)
		fp[j] = path_key(it->path, rep_keys[j]);
	r->id = field_id(l, item, v[0], fp[0], true, "rep id");
	src->path = fp[0];
	src->w = node_where(l, v[0], fp[0]);
	team = field_string(l, item, v[1], fp[1], true);
	role = field_string(l, item, v[2], fp[2], true);
	wt = node_where(l, v[1], fp[1]);
	wr = node_where(l, v[2], fp[2]);
	rep_fill(l, r, &wt, &wr, team, role);
	r->manager = field_id(l, item, v[3], fp[3], false, "manager id");
	load_targets(l, v[4], fp[4], &r->targets, &r->ntargets);
	if (v[5] != NULL)
		load_schedule(l, v[5], fp[5], &r->schedule, &r->nschedule);
	if (v[6] != NULL)
		load_ooo(l, v[6], fp[6], r);
	free(team);
	free(role);
	for (size_t j = 1; j < 7; j++)
		free(fp[j]);
}

static void
load_reps(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	*c = l->c;
	struct rep_src	*src;
	size_t		 cnt;

	/* Both given: load_roster_file says so. */
	if (seen_node(l, "roster_file") != NULL)
		return;
	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	c->reps = xcalloc(cnt + 1, sizeof(*c->reps));
	c->nreps = cnt;
	src = xcalloc(cnt + 1, sizeof(*src));
	each_item(l, n, path, rep_keys, rep_item, src);
	rep_dups(l, src);
}

/* Trims blanks at both ends of [s, s+len); returns an owned copy. */
static char *
csv_field(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

/*
 * roster_file: CSV with the header rep_id,team,role,manager; manager may
 * be empty; blank lines and lines starting with # are skipped. Errors
 * read ROSTERFILE:LINE: message.
 */
static void
load_roster_csv(struct loader *l, const char *file, const char *buf,
    size_t len)
{
	struct config	*c = l->c;
	struct rep_src	*src;
	size_t		 lineno = 0, cap = 64;
	const char	*p = buf, *end = buf + len;
	bool		 header = false;

	c->reps = xcalloc(cap, sizeof(*c->reps));
	src = xcalloc(cap, sizeof(*src));
	while (p < end && !l->stopped) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t		 ll = nl != NULL ? (size_t)(nl - p) :
		    (size_t)(end - p);
		char		*f[4] = { NULL, NULL, NULL, NULL };
		size_t		 nf = 0, start = 0;
		struct where	 w = { .file = file };

		w.line = ++lineno;
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (memchr(p, '\0', ll) != NULL) {
			where_error(l, &w, "contains a NUL byte");
			goto next;
		}
		for (size_t i = 0; i <= ll; i++) {
			if (i < ll && p[i] != ',')
				continue;
			if (nf < 4)
				f[nf] = csv_field(p + start, i - start);
			nf++;
			start = i + 1;
		}
		if (!header) {
			header = true;
			if (nf != 4 || strcmp(f[0], "rep_id") != 0 ||
			    strcmp(f[1], "team") != 0 ||
			    strcmp(f[2], "role") != 0 ||
			    strcmp(f[3], "manager") != 0)
				where_error(l, &w, "the first line must be the "
				    "header rep_id,team,role,manager");
			goto next;
		}
		if (nf == 1 && (f[0][0] == '\0' || f[0][0] == '#'))
			goto next;
		if (f[0][0] == '#')
			goto next;
		if (nf != 4) {
			where_error(l, &w, "expected 4 fields (rep_id,team,"
			    "role,manager), got %zu", nf);
			goto next;
		}
		if (c->nreps == cap) {
			c->reps = xreallocarray(c->reps, cap, 2 *
			    sizeof(*c->reps));
			src = xreallocarray(src, cap, 2 * sizeof(*src));
			memset(c->reps + cap, 0, cap * sizeof(*c->reps));
			memset(src + cap, 0, cap * sizeof(*src));
			cap *= 2;
		}
		{
			struct config_rep	*r = &c->reps[c->nreps];

			src[c->nreps].w = w;
			c->nreps++;
			if (check_id(l, &w, "rep id", f[0]) == 0) {
				r->id = f[0];
				f[0] = NULL;
			}
			rep_fill(l, r, &w, &w, f[1], f[2]);
			if (f[3][0] != '\0' && check_id(l, &w, "manager id",
			    f[3]) == 0) {
				r->manager = f[3];
				f[3] = NULL;
			}
		}
next:
		for (size_t i = 0; i < 4; i++)
			free(f[i]);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (!header && !l->stopped) {
		struct where	 w = { .file = file, .line = 1 };

		where_error(l, &w, "empty file: the first line must be the "
		    "header rep_id,team,role,manager");
	}
	rep_dups(l, src);
}

static void
load_roster_file(struct loader *l, yaml_node_t *n, const char *path)
{
	char	*file, *full, *buf, err[128];
	size_t	 len;

	if (seen_node(l, "reps") != NULL) {
		node_error(l, seen_key(l, path), path, "give reps or "
		    "roster_file, not both");
		return;
	}
	if ((file = field_string(l, n, n, path, true)) == NULL)
		return;
	full = resolve(l, file);
	if (read_all(full, true, ROSTER_MAX_BYTES, &buf, &len, err,
	    sizeof(err)) != 0)
		node_error(l, n, path, "cannot read %s: %s", full, err);
	else {
		load_roster_csv(l, full, buf, len);
		free(buf);
	}
	free(full);
	free(file);
}

static void
load_alert_periods(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	bool			 set[PERIOD_COUNT] = { false };
	size_t			 cnt;

	if (seq_open(l, n, path, false, "must not be empty", &cnt) != 0)
		return;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ip = path_index(path, i);
		int		 e;

		if ((e = field_enum(l, n, item, ip, period_names,
		    true)) >= 0) {
			if (set[e])
				node_error(l, item, ip, "\"%s\" is listed "
				    "twice", period_names[e]);
			set[e] = true;
		}
		free(ip);
	}
	memcpy(a->periods, set, sizeof(set));
}

static void
load_alert_kpis(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	char			*s;
	size_t			 cnt;

	if (n->type == YAML_SCALAR_NODE) {
		static const char *const modes[] = { "leading", "all", NULL };
		int			 e;

		if ((e = field_enum(l, n, n, path, modes, true)) >= 0)
			a->leading_only = e == 0;
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "leading, all or a list of KPI names");
		return;
	}
	a->leading_only = false;
	a->kpis = string_list(l, n, path, NULL, &cnt);
	a->nkpis = cnt;
	for (size_t i = 0; i < cnt; i++) {
		char		*ip;
		struct where	 w;

		if ((s = a->kpis[i]) == NULL)
			continue;
		ip = path_index(path, i);
		w = node_where(l, seq_at(l, n, i), ip);
		lookup_name(l, &l->kpi_names, &w, "KPI", s);
		free(ip);
	}
	if (a->kpis != NULL)
		list_dups(l, n, path, a->kpis, cnt, "KPI");
}

/*
 * Reports each cycle of the manager-of relation once, at the manager key
 * of its member written first, listing it from there. up[i] is the index
 * of manager i's manager, or -1.
 */
static void
manager_cycles(struct loader *l, const ssize_t *up, const struct where *w)
{
	struct config	*c = l->c;
	size_t		*stamp = xcalloc(c->nmanagers + 1, sizeof(*stamp));

	for (size_t i = 0; i < c->nmanagers; i++) {
		struct sbuf	 b = { NULL, 0, 0 };
		ssize_t		 j = (ssize_t)i;
		size_t		 first;

		/* Walk up until the top, an earlier walk, or this one. */
		while (j >= 0 && stamp[j] == 0) {
			stamp[j] = i + 1;
			j = up[j];
		}
		if (j < 0 || stamp[j] != i + 1)
			continue;
		first = (size_t)j;
		for (ssize_t k = up[j]; k != j; k = up[k])
			if ((size_t)k < first)
				first = (size_t)k;
		sbuf_printf(&b, "%s", c->managers[first].id);
		j = (ssize_t)first;
		do {
			j = up[j];
			sbuf_printf(&b, " -> %s", c->managers[j].id);
		} while ((size_t)j != first);
		where_error(l, &w[first], "manager cycle: %s", b.s);
		free(b.s);
	}
	free(stamp);
}

/* Each manager's id and its manager's, for the checks of the whole list. */
struct manager_names {
	struct name_list	 ids;
	struct name_list	 ups;
};

static void
manager_item(struct loader *l, const struct item *it, void *arg)
{
	struct manager_names	*mn = arg;
	struct config_manager	*m = &l->c->managers[it->i];
	char			*ipath, *upath;

	ipath = path_key(it->path, "id");
	upath = path_key(it->path, "manager");
	m->id = field_id(l, it->node, it->v[0], ipath, true, "manager id");
	m->manager = field_id(l, it->node, it->v[1], upath, false,
	    "manager id");
	names_set(l, &mn->ids, it->i, m->id, it->v[0], ipath);
	names_set(l, &mn->ups, it->i, m->manager, it->v[1], upath);
}

/*
 * managers: who each manager reports to, for escalation. Every manager
 * named as a manager's manager must be listed too, so a chain always ends
 * at someone listed without one; reps and teams may name managers that
 * are not listed (then nobody is above them).
 */
static void
load_managers(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "id", "manager", NULL };
	struct config		*c = l->c;
	struct name_index	 ids = { NULL, 0 };
	struct manager_names	 mn;
	ssize_t			*up;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	c->managers = xcalloc(cnt + 1, sizeof(*c->managers));
	c->nmanagers = cnt;
	names_init(&mn.ids, cnt);
	names_init(&mn.ups, cnt);
	up = xcalloc(cnt + 1, sizeof(*up));
	each_item(l, n, path, keys, manager_item, &mn);
	names_report(l, &mn.ids, "manager id");
	name_index_build(&ids, mn.ids.v, cnt);
	for (size_t i = 0; i < cnt; i++) {
		struct sbuf	 hint = { NULL, 0, 0 };
		const char	*m = c->managers[i].manager;

		up[i] = -1;
		if (m == NULL || c->managers[i].id == NULL)
			continue;
		if ((up[i] = name_index_find(&ids, m)) >= 0)
			continue;
		sbuf_add(&hint, "", 0);
		name_index_suggest(&ids, &hint, m);
		where_error(l, &mn.ups.w[i], "manager \"%s\" is not listed in "
		    "managers%s", m, hint.s);
		free(hint.s);
	}
	manager_cycles(l, up, mn.ups.w);
	free(ids.v);
	names_free(&mn.ids);
	names_free(&mn.ups);
	free(up);
}

static bool
host_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_');
}

/*
 * http://host[:port]/path, host a name, an IPv4 address or [IPv6]. A
 * webhook url often holds a token in its path, so err never quotes it.
 */
static int
webhook_url_check(const char *url, char *err, size_t errlen)
{
	const char	*hp, *path;
	char		*host;
	int		 port, rc = 0;
	unsigned char	 addr[16];

	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(err, errlen, "https is not supported: paced sends "
		    "plain HTTP (use http://, through a TLS proxy if "
		    "needed)");
		return -1;
	}
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "unsupported scheme (use "
		    "http://host[:port]/path)");
		return -1;
	}
	if (strlen(url) > URL_MAX) {
		snprintf(err, errlen, "longer than %d bytes", URL_MAX);
		return -1;
	}
	hp = url + 7;
	if ((path = strchr(hp, '/')) == NULL) {
		snprintf(err, errlen, "missing /path after the host (e.g. "
		    "http://host:8080/paced)");
		return -1;
	}
	if (memchr(hp, '@', (size_t)(path - hp)) != NULL) {
		snprintf(err, errlen, "user:password@ is not supported (give "
		    "a bearer token with token_file)");
		return -1;
	}
	if (split_host_port(hp, (size_t)(path - hp), 80, 1, &host, &port,
	    err, errlen) != 0)
		return -1;
	if (hp[0] == '[') {
		if (inet_pton(AF_INET6, host, addr) != 1) {
			snprintf(err, errlen, "invalid IPv6 address");
			rc = -1;
		}
	} else if (strspn(host, "0123456789.") == strlen(host)) {
		if (inet_pton(AF_INET, host, addr) != 1) {
			snprintf(err, errlen, "invalid IPv4 address");
			rc = -1;
		}
	} else {
		for (const char *p = host; *p != '\0'; p++)
			if (!host_char(*p)) {
				snprintf(err, errlen, "invalid host name (A-Z "
				    "a-z 0-9 . - _; an IPv6 address goes in "
				    "brackets)");
				rc = -1;
				break;
			}
	}
	free(host);
	for (const char *p = path; rc == 0 && *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#') {
			snprintf(err, errlen, "the path holds a space, a "
			    "control character or a #");
			rc = -1;
		}
	return rc;
}

static void
webhook_item(struct loader *l, const struct item *it, void *arg)
{
	const char		*path = arg;
	struct config_alerts	*a = &l->c->alerts;
	struct config_webhook	*h = &a->webhooks[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp, err[160];

	fp = path_key(it->path, "url");
	if ((h->url = field_string(l, item, v[0], fp, true)) != NULL &&
	    webhook_url_check(h->url, err, sizeof(err)) != 0) {
		node_error(l, v[0], fp, "invalid url: %s", err);
		free(h->url);
		h->url = NULL;
	}
	for (size_t j = 0; j < it->i && h->url != NULL; j++)
		if (a->webhooks[j].url != NULL &&
		    strcmp(a->webhooks[j].url, h->url) == 0) {
			node_error(l, v[0], fp, "the same url as %s[%zu].url",
			    path, j);
			break;
		}
	free(fp);
	fp = path_key(it->path, "token_file");
	if (v[1] != NULL && !node_is_null(v[1]))
		h->token = secret_file(l, v[1], fp);
	free(fp);
	fp = path_key(it->path, "timeout");
	field_duration(l, v[2], fp, "100ms", "60s", &h->timeout_ms);
	free(fp);
	fp = path_key(it->path, "max_retries");
	field_int(l, v[3], fp, "0", "100", &h->max_retries);
	free(fp);
	fp = path_key(it->path, "digest");
	field_bool(l, v[4], fp, &h->digest);
	free(fp);
}

/*
 * alerts.webhooks: HTTP endpoints told of alerts. Messages name the url's
 * key, never the url.
 */
static void
load_webhooks(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "url", "token_file", "timeout",
	    "max_retries", "digest", NULL };
	struct config_alerts	*a = &l->c->alerts;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	a->webhooks = xcalloc(cnt + 1, sizeof(*a->webhooks));
	a->nwebhooks = cnt;
	/* Every item has the defaults, even one that is not a mapping. */
	for (size_t i = 0; i < cnt; i++) {
		a->webhooks[i].timeout_ms = 5000;
		a->webhooks[i].max_retries = 10;
		a->webhooks[i].digest = true;
	}
	each_item(l, n, path, keys, webhook_item, (void *)path);
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
	l->url.host = l->url.unix_path = NULL;
	if (c->redis.username == NULL) {
		c->redis.username = l->url.username;
		l->url.username = NULL;
	}
	if (c->redis.password == NULL) {
		c->redis.password = l->url.password;
		l->url.password = NULL;
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

static void
yaml_error(struct loader *l, const yaml_parser_t *p)
{
	struct where	 w = { .file = l->name };
	const char	*problem = p->problem != NULL ? p->problem : "error";

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("config_yaml", "reason=\"out of memory\"");
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		w.line = 1;
		w.col = 1;
		for (size_t i = 0; i < p->problem_offset && i < l->len; i++) {
			if (l->buf[i] == '\n') {
				w.line++;
				w.col = 1;
			} else
				w.col++;
		}
		where_error(l, &w, "invalid input: %s", problem);
		return;
	}
	w.line = p->problem_mark.line + 1;
	w.col = p->problem_mark.column + 1;
	if (p->context != NULL)
		where_error(l, &w, "YAML syntax error: %s (%s at %zu:%zu)",
		    problem, p->context, p->context_mark.line + 1,
		    p->context_mark.column + 1);
	else
		where_error(l, &w, "YAML syntax error: %s", problem);
}

/* Parses the buffer into l->doc; one document only. */
static int
parse_yaml(struct loader *l)
{
	yaml_parser_t	 p;
	yaml_document_t	 extra;
	yaml_node_t	*root;
	int		 rc = -1;

	if (!yaml_parser_initialize(&p))
		fatalx("config_yaml", "reason=\"out of memory\"");
	yaml_parser_set_input_string(&p, (const unsigned char *)l->buf,
	    l->len);
	if (!yaml_parser_load(&p, &l->doc)) {
		yaml_error(l, &p);
		goto out;
	}
	l->have_doc = true;
	if (!yaml_parser_load(&p, &extra)) {
		yaml_error(l, &p);
		goto out;
	}
	if ((root = yaml_document_get_root_node(&extra)) != NULL)
		node_error(l, root, NULL, "only one YAML document is allowed");
	else
		rc = 0;
	yaml_document_delete(&extra);
out:
	yaml_parser_delete(&p);
	return rc;
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
		for (int stage = 1; stage <= 3; stage++) {
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
	redis_addr_clear(&l.url);
	free(l.kpi_names.v);
	free(l.calendar_names.v);
	free(l.role_names.v);
	free(l.team_names.v);
	free(l.dir);
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
	free(c->kafka.partitioner);
	for (size_t i = 0; i < c->kafka.nproperties; i++) {
		free(c->kafka.properties[i].key);
		free(c->kafka.properties[i].value);
	}
	free(c->kafka.properties);
	free(c->redis.url);
	free(c->redis.host);
	free(c->redis.unix_path);
	free(c->redis.username);
	free(c->redis.password);
	free(c->redis.key_prefix);
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
	for (size_t i = 0; i < c->alerts.nwebhooks; i++) {
		free(c->alerts.webhooks[i].url);
		free(c->alerts.webhooks[i].token);
	}
	free(c->alerts.webhooks);
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

/*
 * KPI indices are held across the daemon: same names in the same order.
 * better only changes how pace reads, so SIGHUP may change it.
 */
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
