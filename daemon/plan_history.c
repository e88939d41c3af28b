/*
 * plan_history.c: the measured funnel of `paced plan --from-history`.
 *
 * Called once by plan_cmd.c: connects to the config's Redis with a
 * blocking hiredis context (a command line run, no event loop to block),
 * pipelines one HMGET of each rep's fields per month counter key and sums
 * them per KPI of the catalogue. The keys are read as README's key
 * table documents them, named by keys.c. On Redis Cluster (redis.cluster)
 * it starts at the first seed and follows each MOVED or ASK answer to the
 * node it names, as a cluster client does, one blocking context a node.
 */
#include "plan_history.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "caltime.h"
#include "keys.h"
#include "plan.h"
#include "redis_cluster.h"
#include "redis_tls.h"
#include "reply.h"
#include "xmalloc.h"

#define HISTORY_TIMEOUT_S	10
#define HISTORY_MAX_NODES	32
#define HISTORY_MAX_HOPS	5

/* The cluster nodes a run has connected to. */
struct history_nodes {
	struct {
		char		 host[256];
		int		 port;
		redisContext	*c;
	} v[HISTORY_MAX_NODES];
	int n;
};

/* Sends AUTH and SELECT as the daemon does; 0 or -1 with err. */
static int
handshake(redisContext *c, const struct config *cfg, char *err,
    size_t errlen)
{
	redisReply *r;
	char db[16];

	if (cfg->redis.password != NULL) {
		if (cfg->redis.username != NULL)
			r = redisCommand(c, "AUTH %s %s", cfg->redis.username,
			    cfg->redis.password);
		else
			r = redisCommand(c, "AUTH %s", cfg->redis.password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis: AUTH refused%s%s",
			    r ? ": " : "", r ? r->str : "");
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	if (cfg->redis.db != 0) {
		snprintf(db, sizeof(db), "%d", cfg->redis.db);
		r = redisCommand(c, "SELECT %s", db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis: SELECT %s refused", db);
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

int
plan_history_add_reply(const struct config *cfg, const char *key,
    const redisReply *r, double *totals, char *err, size_t errlen)
{
	size_t i;
	double v;
	int k;

	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis: %s: %s", key,
		    reply_error_text(r));
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "redis: %s: not a hash", key);
		return -1;
	}
	/* HMGET of the rep's fields: one element per KPI, in order */
	for (i = 0; i < r->elements && i < cfg->nkpis; i++) {
		const redisReply *val = r->element[i];

		if (val->type != REDIS_REPLY_STRING)
			continue;
		k = (int)i;
		if (plan_parse_number(val->str, &v) != 0 || v < 0) {
			snprintf(err, errlen, "redis: %s: field of %s holds "
			    "\"%s\", not a count", key, cfg->kpis[k].name,
			    val->str);
			return -1;
		}
		totals[k] += v;
	}
	return 0;
}

/* TLS on c to host (borrowed) when the config asks for it (rediss://,
 * not a unix socket); 0 or -1 with err. */
static int
start_tls(redisContext *c, const struct config *cfg, const char *host,
    char *err, size_t errlen)
{
	char terr[256];

	if (!cfg->redis.tls || cfg->redis.unix_path != NULL)
		return 0;
	if (redis_tls_initiate(c, host, cfg->redis.ca_file, terr,
	    sizeof(terr)) != 0) {
		snprintf(err, errlen, "redis: TLS to %s: %s", host, terr);
		return -1;
	}
	return 0;
}

/* A blocking context to host:port (borrowed) with the config's
 * credentials (and TLS), kept in nodes; NULL with err. */
static redisContext *
node_context(struct history_nodes *nodes, const struct config *cfg,
    const char *host, int port, char *err, size_t errlen)
{
	struct timeval tv = { HISTORY_TIMEOUT_S, 0 };
	redisContext *c;

	for (int i = 0; i < nodes->n; i++)
		if (nodes->v[i].port == port &&
		    strcmp(nodes->v[i].host, host) == 0)
			return nodes->v[i].c;
	if (nodes->n == HISTORY_MAX_NODES) {
		snprintf(err, errlen, "redis: more than %d cluster nodes",
		    HISTORY_MAX_NODES);
		return NULL;
	}
	c = redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "redis: cannot connect to %s:%d: %s",
		    host, port, c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (start_tls(c, cfg, host, err, errlen) != 0) {
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (handshake(c, cfg, err, errlen) != 0) {
		redisFree(c);
		return NULL;
	}
	snprintf(nodes->v[nodes->n].host, sizeof(nodes->v[0].host), "%s",
	    host);
	nodes->v[nodes->n].port = port;
	nodes->v[nodes->n].c = c;
	nodes->n++;
	return c;
}

static void append_hmget(redisContext *c, const struct config *cfg,
    const char *key, const char *rep);

/* r (owned), the answer for key: while it is a MOVED or ASK, asks the
 * node it names (ASKING first for ASK). Returns the last answer (owned),
 * or NULL with err. */
static redisReply *
follow_redirects(struct history_nodes *nodes, const struct config *cfg,
    redisReply *r, const char *key, const char *rep, char *err,
    size_t errlen)
{
	char host[256];
	bool ask;
	int slot, port;

	for (int hop = 0; r->type == REDIS_REPLY_ERROR &&
	    redis_cluster_redirect(r->str, &ask, &slot, host, sizeof(host),
	    &port) == 0; hop++) {
		redisContext *c;
		void *next = NULL;

		freeReplyObject(r);
		if (hop == HISTORY_MAX_HOPS) {
			snprintf(err, errlen, "redis: %s: redirected more than "
			    "%d times", key, HISTORY_MAX_HOPS);
			return NULL;
		}
		if ((c = node_context(nodes, cfg, host, port, err,
		    errlen)) == NULL)
			return NULL;
		if (ask)
			redisAppendCommand(c, "ASKING");
		append_hmget(c, cfg, key, rep);
		if (ask && (redisGetReply(c, &next) != REDIS_OK ||
		    next == NULL)) {
			snprintf(err, errlen, "redis: %s", c->errstr);
			return NULL;
		}
		if (next != NULL)
			freeReplyObject(next);
		if (redisGetReply(c, &next) != REDIS_OK || next == NULL) {
			snprintf(err, errlen, "redis: %s", c->errstr);
			return NULL;
		}
		r = next;
	}
	return r;
}

/* Appends HMGET key <rep>|<kpi>... (every KPI of cfg, in order). */
static void
append_hmget(redisContext *c, const struct config *cfg, const char *key,
    const char *rep)
{
	size_t n = cfg->nkpis + 2;
	const char **argv = xcalloc(n, sizeof(*argv));
	size_t *lens = xcalloc(n, sizeof(*lens));
	char **fields = xcalloc(n, sizeof(*fields));

	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t k = 0; k < cfg->nkpis; k++)
		argv[k + 2] = fields[k] = keys_counter_field(rep,
		    cfg->kpis[k].name);
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	redisAppendCommandArgv(c, (int)n, argv, lens);
	for (size_t k = 0; k < cfg->nkpis; k++)
		free(fields[k]);
	free(fields);
	free(lens);
	free(argv);
}

int
plan_history_read(const struct config *cfg, const char *const *reps,
    size_t nreps, int32_t first_month, int nmonths, double *totals,
    char *err, size_t errlen)
{
	struct timeval tv = { HISTORY_TIMEOUT_S, 0 };
	struct history_nodes *nodes = xcalloc(1, sizeof(*nodes));
	redisContext *c;
	redisReply *r;
	char **keys;
	const char **kreps;
	size_t i, n = 0, nkeys = nreps * (size_t)nmonths;
	int32_t month;
	int m, y, rc = 0;
	unsigned mo, d;

	if (cfg->redis.cluster && cfg->redis.nseeds > 0) {
		if ((c = node_context(nodes, cfg, cfg->redis.seeds[0].host,
		    cfg->redis.seeds[0].port, err, errlen)) == NULL) {
			free(nodes);
			return -1;
		}
	} else {
		if (cfg->redis.unix_path != NULL)
			c = redisConnectUnixWithTimeout(cfg->redis.unix_path, tv);
		else
			c = redisConnectWithTimeout(cfg->redis.host,
			    cfg->redis.port, tv);
		if (c == NULL || c->err) {
			snprintf(err, errlen, "redis: cannot connect to %s: %s",
			    cfg->redis.unix_path ? cfg->redis.unix_path :
			    cfg->redis.host, c ? c->errstr : "out of memory");
			redisFree(c);
			free(nodes);
			return -1;
		}
		if (start_tls(c, cfg, cfg->redis.host, err, errlen) != 0) {
			redisFree(c);
			free(nodes);
			return -1;
		}
		redisSetTimeout(c, tv);
		if (handshake(c, cfg, err, errlen) != 0) {
			redisFree(c);
			free(nodes);
			return -1;
		}
		nodes->v[0].c = c;	/* freed with the nodes */
		nodes->n = 1;
	}
	keys = xcalloc(nkeys ? nkeys : 1, sizeof(*keys));
	kreps = xcalloc(nkeys ? nkeys : 1, sizeof(*kreps));
	month = first_month;
	for (m = 0; m < nmonths; m++) {
		for (i = 0; i < nreps; i++) {
			keys[n] = keys_rep_counters(cfg, reps[i], PERIOD_MONTH,
			    month);
			kreps[n] = reps[i];
			append_hmget(c, cfg, keys[n], reps[i]);
			n++;
		}
		caltime_civil_from_days(month, &y, &mo, &d);
		month = mo == 12 ? caltime_days_from_civil(y + 1, 1, 1) :
		    caltime_days_from_civil(y, mo + 1, 1);
	}
	for (i = 0; i < n; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			if (rc == 0)
				snprintf(err, errlen, "redis: %s", c->errstr);
			rc = -1;
			break;
		}
		if (rc == 0 && (r = follow_redirects(nodes, cfg, r, keys[i],
		    kreps[i], err, errlen)) == NULL) {
			rc = -1;
			continue;
		}
		if (rc == 0 && plan_history_add_reply(cfg, keys[i], r, totals,
		    err, errlen) != 0)
			rc = -1;
		freeReplyObject(r);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(kreps);
	for (int k = 0; k < nodes->n; k++)
		redisFree(nodes->v[k].c);
	free(nodes);
	return rc;
}
