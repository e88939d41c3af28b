/*
 * digest_run.c: the scheduled digests on the loop (digest_run.h). One
 * timer, every TICK_MS: it looks at up to SCAN_PER_TICK managers (a
 * cursor goes round the roster's managers) and queues those whose
 * digest is due (digest_due). Jobs run one at a time:
 *
 *  1. the claim: P:digest:<kind>:<manager>:<date> is read and, when
 *     absent, set to "sending" for LEASE_S in one script call. Present
 *     ("sent", or "sending" by another process): nothing to do (a lease
 *     whose holder died lapses, and a later pass sends it);
 *  2. the figures: the pace hashes of the manager's reps, READ_REPS reps
 *     at a time (and, for a morning with positive news, the manager's
 *     news hash);
 *  3. with funnel.coaching, for a morning: the coaching list. The
 *     manager's hysteresis hash P:digest:coach:<manager>, and the window's
 *     day counters (funnel_read.c) of every rep of the teams x roles of
 *     its reps with a funnel, COACH_READ_REPS reps at a time (at most
 *     shards x window days commands each); funnel.c decides each of its
 *     reps' steps from the team's rates, and the hash is rewritten (the
 *     steps below or listed, each "<day>:<before>:<after>") in one
 *     script call;
 *  4. the message (digest.c) goes to every digest webhook, the marker is
 *     set to "sent" until 8 days past the day, and the news read are
 *     deleted.
 *
 * A reload or a failed read drops the job in hand; its lease lapses and
 * it is tried again. The cost per tick is bounded by SCAN_PER_TICK,
 * READ_REPS and COACH_READ_REPS, whatever the roster's size.
 */
#include "digest_run.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "config.h"
#include "digest.h"
#include "evaluate.h"
#include "funnel.h"
#include "funnel_read.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "scorecard.h"
#include "sink.h"
#include "xmalloc.h"

#define TICK_MS		5000
#define SCAN_PER_TICK	256
#define READ_REPS	50
#define LEASE_S		"300"
#define QUEUE_MAX	32
#define COACH_READ_REPS	200
#define DAY_MS		86400000LL

/* The coaching hash rewritten: KEYS[1], ARGV[1] its EXPIREAT, then
 * field, value pairs (none: the hash goes). */
static const char COACH_LUA[] =
    "redis.call('DEL', KEYS[1])\n"
    "for i = 2, #ARGV - 1, 2 do\n"
    "  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
    "end\n"
    "if #ARGV > 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end\n"
    "return 1\n";

/* The claim: the marker's value if any, else nil once set to "sending". */
static const char CLAIM_LUA[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v then return v end\n"
    "redis.call('SET', KEYS[1], 'sending', 'EX', ARGV[1])\n"
    "return false\n";

struct mgr {
	const char *id;			/* borrowed from the config */
	size_t team;
	size_t *reps;			/* indexes into config.reps */
	size_t nreps;
	int32_t done[DIGEST_KINDS];	/* the occasion last settled */
};

/* A team's reps of one role: the coaching list's team rates. */
struct cgroup {
	size_t team, role;
	struct funnel_counts win;
};

/* A rep whose window the coaching list reads. */
struct creader {
	size_t rep;			/* index into config.reps */
	size_t group;
	size_t mine;			/* its index in cmine; or SIZE_MAX */
};

/* One of the manager's reps: its own window. */
struct cmine {
	size_t rep;
	size_t group;
	struct funnel_counts win;
};

/* A stored state of P:digest:coach:<manager>. */
struct cstate {
	char *field, *value;		/* owned */
};

struct job {
	size_t m;
	enum digest_kind k;
	int32_t day;
};

/* What callbacks point at; d is NULL once freed. */
struct dlink {
	struct digest_run *d;
	size_t refs;
};

struct digest_run {
	struct event_base *base;
	const struct config *cfg;
	struct redis_conn *conn;
	struct sinks *sinks;
	struct event *tick_ev;
	struct dlink *link;
	uint64_t gen;			/* bumped by a reload: drops replies */

	struct mgr *mgrs;
	size_t nmgrs, cursor;
	struct tzone **zones;		/* per team */
	struct pacing_calendar *cals;
	size_t nteams;

	struct job queue[QUEUE_MAX];
	size_t nqueue;
	bool busy;
	struct job job;
	char *marker;
	size_t next_rep, pending;
	bool failed;
	struct digest_line *behind, *card;
	size_t nbehind, ncard, capb, capc;
	struct digest_news *news;
	size_t nnews, capn;
	char **strs;			/* owned strings the news point at */
	size_t nstrs, caps;
	char **news_fields;		/* to delete once sent */
	size_t nfields, capf;

	/* The coaching list of a morning job (funnel.coaching). */
	size_t *by_group;		/* config.reps indices by team, role */
	size_t nby_group;
	bool coaching;			/* the job is at step 3 */
	struct cgroup *cgroups;
	size_t ncgroups;
	struct creader *creaders;
	size_t ncreaders, next_creader, chunk_from;
	struct cmine *cmine;
	size_t ncmine;
	struct cstate *cstates;
	size_t ncstates, capcs;
	struct funnel_read coach_rd;	/* the chunk in hand */
	struct digest_coaching *coach;
	size_t ncoach;

	struct metric *m_sent[DIGEST_KINDS], *m_already[DIGEST_KINDS],
	    *m_failed[DIGEST_KINDS];
};

struct read {
	struct dlink *link;
	uint64_t gen;
	size_t rep;			/* index into config.reps; or SIZE_MAX */
	struct funnel_read_cmd *cmd;	/* a coaching read; or NULL */
	bool coach_state;		/* the coaching hash */
	enum period p;
	int32_t start_day;
	bool ended;
	bool news_only;
};

static void job_next(struct digest_run *d);
static void read_more(struct digest_run *d);
static void coach_more(struct digest_run *d);
static void coach_start(struct digest_run *d);
static void take_coach_states(struct digest_run *d,
    const struct redisReply *r);
static void read_cb(const struct redisReply *reply, void *arg);

static struct dlink *
ref(struct digest_run *d)
{
	d->link->refs++;
	return d->link;
}

static struct digest_run *
unref(struct dlink *l)
{
	struct digest_run *d = l->d;

	if (--l->refs == 0 && d == NULL)
		free(l);
	return d;
}

static char *
keep(struct digest_run *d, const char *s)
{
	if (d->nstrs == d->caps) {
		d->caps = d->caps ? d->caps * 2 : 16;
		d->strs = xreallocarray(d->strs, d->caps, sizeof(*d->strs));
	}
	return d->strs[d->nstrs++] = xstrdup(s);
}

static void
job_clear(struct digest_run *d)
{
	for (size_t i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	for (size_t i = 0; i < d->nfields; i++)
		free(d->news_fields[i]);
	d->nstrs = d->nfields = d->nbehind = d->ncard = d->nnews = 0;
	for (size_t i = 0; i < d->ncstates; i++) {
		free(d->cstates[i].field);
		free(d->cstates[i].value);
	}
	free(d->cstates);
	free(d->cgroups);
	free(d->creaders);
	free(d->cmine);
	free(d->coach);
	d->cstates = NULL;
	d->cgroups = NULL;
	d->creaders = NULL;
	d->cmine = NULL;
	d->coach = NULL;
	d->ncstates = d->capcs = d->ncgroups = d->ncreaders = d->ncmine = 0;
	d->next_creader = d->chunk_from = d->ncoach = 0;
	d->coaching = false;
	funnel_read_clear(&d->coach_rd);
	free(d->marker);
	d->marker = NULL;
	d->busy = false;
	d->failed = false;
	d->pending = 0;
	d->next_rep = 0;
}

static void
mgrs_free(struct digest_run *d)
{
	for (size_t i = 0; i < d->nmgrs; i++)
		free(d->mgrs[i].reps);
	free(d->by_group);
	d->by_group = NULL;
	d->nby_group = 0;
	free(d->mgrs);
	d->mgrs = NULL;
	d->nmgrs = 0;
	for (size_t i = 0; i < d->nteams; i++)
		tzone_free(d->zones[i]);
	free(d->zones);
	free(d->cals);
	d->zones = NULL;
	d->cals = NULL;
	d->nteams = 0;
}

struct pair {
	const char *manager;
	size_t rep;
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->manager, y->manager);

	if (c != 0)
		return c;
	return (x->rep > y->rep) - (x->rep < y->rep);
}

static const char *
manager_of(const struct config *cfg, const struct config_rep *r)
{
	return r->manager != NULL ? r->manager : cfg->teams[r->team].manager;
}

struct grouped {
	size_t team, role, rep;
};

static int
grouped_cmp(const void *a, const void *b)
{
	const struct grouped *x = a, *y = b;

	if (x->team != y->team)
		return (x->team > y->team) - (x->team < y->team);
	if (x->role != y->role)
		return (x->role > y->role) - (x->role < y->role);
	return (x->rep > y->rep) - (x->rep < y->rep);
}

/* The reps whose role has a funnel, by team and role: a coaching list
 * finds a team's reps of one role without a walk of the roster. */
static void
by_group_build(struct digest_run *d)
{
	const struct config *cfg = d->cfg;
	struct grouped *g = xcalloc(cfg->nreps ? cfg->nreps : 1, sizeof(*g));
	size_t n = 0;

	for (size_t i = 0; i < cfg->nreps; i++)
		if (cfg->roles[cfg->reps[i].role].nfunnel >= 2)
			g[n++] = (struct grouped){ cfg->reps[i].team,
			    cfg->reps[i].role, i };
	qsort(g, n, sizeof(*g), grouped_cmp);
	d->by_group = xcalloc(n ? n : 1, sizeof(*d->by_group));
	for (size_t i = 0; i < n; i++)
		d->by_group[i] = g[i].rep;
	d->nby_group = n;
	free(g);
}

/* The managers of the roster's reps (their direct reports), each with
 * the zone of its team: the first team it manages, else its first rep's. */
static void
mgrs_build(struct digest_run *d)
{
	const struct config *cfg = d->cfg;
	struct pair *pairs;
	size_t n = 0;
	char err[128];

	mgrs_free(d);
	d->nteams = cfg->nteams;
	d->zones = xcalloc(cfg->nteams ? cfg->nteams : 1, sizeof(*d->zones));
	d->cals = xcalloc(cfg->nteams ? cfg->nteams : 1, sizeof(*d->cals));
	for (size_t i = 0; i < cfg->nteams; i++) {
		d->zones[i] = tzone_open(cfg->teams[i].timezone, err,
		    sizeof(err));
		scorecard_calendar(&cfg->calendars[cfg->teams[i].calendar],
		    &d->cals[i]);
	}
	pairs = xcalloc(cfg->nreps ? cfg->nreps : 1, sizeof(*pairs));
	for (size_t i = 0; i < cfg->nreps; i++) {
		const char *m = manager_of(cfg, &cfg->reps[i]);

		if (m != NULL) {
			pairs[n].manager = m;
			pairs[n++].rep = i;
		}
	}
	qsort(pairs, n, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(pairs[i].manager, pairs[i - 1].manager) != 0)
			d->nmgrs++;
	d->mgrs = xcalloc(d->nmgrs ? d->nmgrs : 1, sizeof(*d->mgrs));
	for (size_t i = 0, m = 0; i < n; m++) {
		struct mgr *g = &d->mgrs[m];
		size_t j = i;

		while (j < n && strcmp(pairs[j].manager, pairs[i].manager) == 0)
			j++;
		g->id = pairs[i].manager;
		g->reps = xcalloc(j - i, sizeof(*g->reps));
		for (size_t k = i; k < j; k++)
			g->reps[g->nreps++] = pairs[k].rep;
		g->team = cfg->reps[g->reps[0]].team;
		for (size_t t = 0; t < cfg->nteams; t++)
			if (cfg->teams[t].manager != NULL &&
			    strcmp(cfg->teams[t].manager, g->id) == 0) {
				g->team = t;
				break;
			}
		for (int k = 0; k < DIGEST_KINDS; k++)
			g->done[k] = INT32_MIN;
		i = j;
	}
	free(pairs);
	d->cursor = 0;
	by_group_build(d);
}

static void
tick_arm(struct digest_run *d)
{
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	evtimer_add(d->tick_ev, &tv);
}

static bool
enabled(const struct config *cfg)
{
	return cfg->alerts.digest_morning || cfg->alerts.digest_weekly;
}

/* Up to SCAN_PER_TICK managers: the due ones are queued. */
static void
scan(struct digest_run *d, int64_t now)
{
	for (size_t i = 0; i < SCAN_PER_TICK && i < d->nmgrs &&
	    d->nqueue < QUEUE_MAX; i++) {
		struct mgr *g = &d->mgrs[d->cursor];
		size_t m = d->cursor;

		d->cursor = (d->cursor + 1) % d->nmgrs;
		if (d->zones[g->team] == NULL)
			continue;
		for (int k = 0; k < DIGEST_KINDS && d->nqueue < QUEUE_MAX;
		    k++) {
			int32_t day;
			bool queued = false;

			if (!digest_due(&d->cfg->alerts, (enum digest_kind)k,
			    &d->cals[g->team], d->zones[g->team], now, &day) ||
			    g->done[k] == day)
				continue;
			for (size_t q = 0; q < d->nqueue; q++)
				if (d->queue[q].m == m && d->queue[q].k ==
				    (enum digest_kind)k && d->queue[q].day == day)
					queued = true;
			if (queued || (d->busy && d->job.m == m &&
			    d->job.k == (enum digest_kind)k))
				continue;
			d->queue[d->nqueue].m = m;
			d->queue[d->nqueue].k = (enum digest_kind)k;
			d->queue[d->nqueue].day = day;
			d->nqueue++;
		}
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct digest_run *d = arg;

	(void)fd;
	(void)what;
	tick_arm(d);
	if (d->nmgrs == 0 || !enabled(d->cfg) || !sinks_have_digest(d->sinks) ||
	    !redis_conn_up(d->conn))
		return;
	scan(d, caltime_wall_ms());
	if (!d->busy)
		job_next(d);
}

static void
job_failed(struct digest_run *d, const char *why)
{
	metrics_inc(d->m_failed[d->job.k]);
	log_warnx("digest_failed", "manager=%s kind=%s why=%s",
	    log_quote(d->mgrs[d->job.m].id), digest_kind_name(d->job.k), why);
	job_clear(d);
}

static void
ignore_cb(const struct redisReply *reply, void *arg)
{
	(void)reply;
	unref(arg);
}

/* The job in hand carries a coaching list. */
static bool
coaching_on(const struct digest_run *d)
{
	return d->job.k == DIGEST_MORNING && d->cfg->funnel.coaching;
}

/* Every figure is in: the message goes out, the marker says so. */
static void
job_finish(struct digest_run *d)
{
	struct mgr *g = &d->mgrs[d->job.m];
	struct redis_argv *v;
	char *body;

	struct digest_coaching_list coach = { d->coach, d->ncoach };

	body = digest_body(d->job.k, g->id, d->job.day, d->behind, d->nbehind,
	    d->card, d->ncard, d->news, d->nnews, coaching_on(d) ? &coach :
	    NULL);
	sinks_post_digest(d->sinks, body);
	free(body);
	v = redis_argv_new();
	redis_argv_str(v, "SET");
	redis_argv_str(v, d->marker);
	redis_argv_str(v, "sent");
	redis_argv_str(v, "EXAT");
	redis_argv_fmt(v, "%lld", (long long)keys_digest_expire_at(d->job.day));
	if (redis_conn_send(d->conn, v, ignore_cb, ref(d)) != 0)
		unref(d->link);
	if (d->nfields > 0) {
		char *key = keys_digest_news(d->cfg, g->id);

		redis_argv_reset(v);
		redis_argv_str(v, "HDEL");
		redis_argv_str(v, key);
		for (size_t i = 0; i < d->nfields; i++)
			redis_argv_str(v, d->news_fields[i]);
		if (redis_conn_send(d->conn, v, ignore_cb, ref(d)) != 0)
			unref(d->link);
		free(key);
	}
	redis_argv_free(v);
	metrics_inc(d->m_sent[d->job.k]);
	log_info("digest_sent", "manager=%s kind=%s behind=%zu scorecard=%zu "
	    "news=%zu coaching=%zu", log_quote(g->id),
	    digest_kind_name(d->job.k), d->nbehind, d->ncard, d->nnews,
	    d->ncoach);
	g->done[d->job.k] = d->job.day;
	job_clear(d);
}

static ssize_t
kpi_index(const struct config *cfg, const char *name, size_t len)
{
	for (size_t k = 0; k < cfg->nkpis; k++)
		if (strlen(cfg->kpis[k].name) == len &&
		    memcmp(cfg->kpis[k].name, name, len) == 0)
			return (ssize_t)k;
	return -1;
}

static void
add_line(struct digest_line **arr, size_t *n, size_t *cap,
    const struct digest_line *l)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*arr = xreallocarray(*arr, *cap, sizeof(**arr));
	}
	(*arr)[(*n)++] = *l;
}

static void
add_news(struct digest_run *d, const struct digest_news *n)
{
	if (d->nnews == d->capn) {
		d->capn = d->capn ? d->capn * 2 : 16;
		d->news = xreallocarray(d->news, d->capn, sizeof(*d->news));
	}
	d->news[d->nnews++] = *n;
}

/* One rep's pace hash of one bucket. */
static void
take_figures(struct digest_run *d, const struct read *rd,
    const struct redisReply *r)
{
	const struct config *cfg = d->cfg;
	bool news_on = cfg->alerts.positive_news;

	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const struct redisReply *f = r->element[i], *v = r->element[i + 1];
		struct digest_line l;
		ssize_t k;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    (k = kpi_index(cfg, f->str, f->len)) < 0)
			continue;
		memset(&l, 0, sizeof(l));
		if (digest_parse_figures(v->str, v->len, &l) != 0)
			continue;
		l.rep_id = cfg->reps[rd->rep].id;
		l.kpi = cfg->kpis[k].name;
		l.period = rd->p;
		l.start_day = rd->start_day;
		l.ended = rd->ended;
		if (news_on && l.target > 0 && l.actual >= l.target &&
		    (rd->ended || d->job.k == DIGEST_WEEKLY)) {
			struct digest_news n = { "target_met", l.rep_id, l.kpi,
			    caltime_period_name(rd->p), rd->start_day, l.actual,
			    l.target };

			add_news(d, &n);
		}
		if (d->job.k == DIGEST_WEEKLY) {
			add_line(&d->card, &d->ncard, &d->capc, &l);
			continue;
		}
		if (rd->news_only || !evaluate_alerting(cfg, (size_t)k, rd->p))
			continue;
		if (strcmp(l.status, "behind") == 0 ||
		    strcmp(l.status, "critical") == 0)
			add_line(&d->behind, &d->nbehind, &d->capb, &l);
	}
}

/* The manager's waiting news: field alert_id, value its JSON. */
static void
take_news(struct digest_run *d, const struct redisReply *r)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const struct redisReply *f = r->element[i], *v = r->element[i + 1];
		struct digest_news n;
		cJSON *o;
		const cJSON *a, *t;
		const char *rep, *kpi, *per;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (d->nfields == d->capf) {
			d->capf = d->capf ? d->capf * 2 : 16;
			d->news_fields = xreallocarray(d->news_fields, d->capf,
			    sizeof(*d->news_fields));
		}
		d->news_fields[d->nfields++] = xstrndup(f->str, f->len);
		if ((o = cJSON_ParseWithLength(v->str, v->len)) == NULL)
			continue;
		rep = cJSON_GetStringValue(cJSON_GetObjectItem(o, "rep_id"));
		kpi = cJSON_GetStringValue(cJSON_GetObjectItem(o, "kpi"));
		per = cJSON_GetStringValue(cJSON_GetObjectItem(o, "period"));
		a = cJSON_GetObjectItem(o, "actual");
		t = cJSON_GetObjectItem(o, "target");
		if (rep != NULL && kpi != NULL && per != NULL) {
			n.kind = "recovered";
			n.rep_id = keep(d, rep);
			n.kpi = keep(d, kpi);
			n.period = keep(d, per);
			n.start_day = -1;
			n.actual = cJSON_IsNumber(a) ? a->valuedouble : 0;
			n.target = cJSON_IsNumber(t) ? t->valuedouble : 0;
			add_news(d, &n);
		}
		cJSON_Delete(o);
	}
}

static void
read_cb(const struct redisReply *reply, void *arg)
{
	struct read *rd = arg;
	struct digest_run *d = unref(rd->link);

	if (d == NULL || rd->gen != d->gen || !d->busy) {
		free(rd);
		return;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		d->failed = true;
	else if (rd->cmd != NULL)
		funnel_read_take(rd->cmd, reply);
	else if (rd->coach_state)
		take_coach_states(d, reply);
	else if (rd->rep == SIZE_MAX)
		take_news(d, reply);
	else
		take_figures(d, rd, reply);
	free(rd);
	if (--d->pending == 0) {
		if (d->failed)
			job_failed(d, "a read failed");
		else if (d->coaching)
			coach_more(d);
		else
			read_more(d);
		if (!d->busy)
			job_next(d);
	}
}

/* Sends read rd (takes ownership; its job is the one in hand) as command
 * v (borrowed), holding a reference to d until read_cb; on failure drops
 * the reference, frees rd and marks the job failed. Returns 0 or -1. */
static int
send_read(struct digest_run *d, struct redis_argv *v, struct read *rd)
{
	rd->gen = d->gen;
	rd->link = ref(d);
	if (redis_conn_send(d->conn, v, read_cb, rd) == 0) {
		d->pending++;
		return 0;
	}
	unref(rd->link);
	free(rd);
	d->failed = true;
	return -1;
}

/* HGETALL key (takes ownership) for the job in hand. */
static void
send_hgetall(struct digest_run *d, char *key, size_t rep, enum period p,
    int32_t start_day, bool ended, bool news_only)
{
	struct read *rd = xcalloc(1, sizeof(*rd));
	struct redis_argv *v = redis_argv_new();

	rd->rep = rep;
	rd->p = p;
	rd->start_day = start_day;
	rd->ended = ended;
	rd->news_only = news_only;
	redis_argv_str(v, "HGETALL");
	redis_argv_take(v, key);
	(void)send_read(d, v, rd);
	redis_argv_free(v);
}

/* The reads of one rep for the job in hand. */
static void
read_rep(struct digest_run *d, size_t rep)
{
	const struct config *cfg = d->cfg;
	const struct config_rep *r = &cfg->reps[rep];
	const struct period_rules *rules =
	    &cfg->calendars[cfg->teams[r->team].calendar].rules;
	const struct pacing_calendar *cal = &d->cals[r->team];
	int32_t day = d->job.day, prev = digest_prev_working_day(cal, day);
	struct bucket now_b, prev_b;

	if (d->job.k == DIGEST_WEEKLY) {
		caltime_bucket_of_day(rules, PERIOD_WEEK, day, &now_b);
		send_hgetall(d, keys_rep_pace(cfg, r->id, PERIOD_WEEK,
		    now_b.start_day), rep, PERIOD_WEEK, now_b.start_day, false,
		    false);
		return;
	}
	for (int p = 0; p < PERIOD_COUNT; p++) {
		if (!cfg->alerts.periods[p])
			continue;
		caltime_bucket_of_day(rules, (enum period)p, prev, &prev_b);
		if (p == PERIOD_DAY) {
			send_hgetall(d, keys_rep_pace(cfg, r->id, PERIOD_DAY,
			    prev), rep, PERIOD_DAY, prev, true, false);
			continue;
		}
		caltime_bucket_of_day(rules, (enum period)p, day, &now_b);
		send_hgetall(d, keys_rep_pace(cfg, r->id, (enum period)p,
		    now_b.start_day), rep, (enum period)p, now_b.start_day,
		    false, false);
		if (cfg->alerts.positive_news && prev_b.start_day !=
		    now_b.start_day)
			send_hgetall(d, keys_rep_pace(cfg, r->id,
			    (enum period)p, prev_b.start_day), rep,
			    (enum period)p, prev_b.start_day, true, true);
	}
}

/* The manager's stored coaching states: field, value pairs. */
static void
take_coach_states(struct digest_run *d, const struct redisReply *r)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const struct redisReply *f = r->element[i], *v = r->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (d->ncstates == d->capcs) {
			d->capcs = d->capcs ? d->capcs * 2 : 16;
			d->cstates = xreallocarray(d->cstates, d->capcs,
			    sizeof(*d->cstates));
		}
		d->cstates[d->ncstates].field = xstrndup(f->str, f->len);
		d->cstates[d->ncstates++].value = xstrndup(v->str, v->len);
	}
}

static int
cstate_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cstate *)a)->field,
	    ((const struct cstate *)b)->field);
}

/* The stored state of field (borrowed), or NULL. */
static const char *
cstate_of(const struct digest_run *d, const char *field)
{
	struct cstate key = { (char *)(uintptr_t)field, NULL };
	const struct cstate *c = bsearch(&key, d->cstates, d->ncstates,
	    sizeof(*d->cstates), cstate_cmp);

	return c != NULL ? c->value : NULL;
}

/* The first of by_group with team t and role r, and how many. */
static size_t
group_span(const struct digest_run *d, size_t t, size_t r, size_t *n)
{
	const struct config *cfg = d->cfg;
	size_t lo = 0, hi = d->nby_group, from;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct config_rep *x = &cfg->reps[d->by_group[mid]];

		if (x->team < t || (x->team == t && x->role < r))
			lo = mid + 1;
		else
			hi = mid;
	}
	from = lo;
	while (lo < d->nby_group && cfg->reps[d->by_group[lo]].team == t &&
	    cfg->reps[d->by_group[lo]].role == r)
		lo++;
	*n = lo - from;
	return from;
}

/*
 * Step 3's start: the groups (team x role) of the manager's reps with a
 * funnel, the reps to read (every rep of those groups), and the read of
 * the stored states; then the first chunk.
 */
static void
coach_start(struct digest_run *d)
{
	const struct config *cfg = d->cfg;
	const struct mgr *g = &d->mgrs[d->job.m];

	d->coaching = true;
	d->cmine = xcalloc(g->nreps ? g->nreps : 1, sizeof(*d->cmine));
	d->cgroups = xcalloc(g->nreps ? g->nreps : 1, sizeof(*d->cgroups));
	for (size_t i = 0; i < g->nreps; i++) {
		const struct config_rep *r = &cfg->reps[g->reps[i]];
		size_t k;

		if (cfg->roles[r->role].nfunnel < 2)
			continue;
		for (k = 0; k < d->ncgroups; k++)
			if (d->cgroups[k].team == r->team &&
			    d->cgroups[k].role == r->role)
				break;
		if (k == d->ncgroups) {
			d->cgroups[k].team = r->team;
			d->cgroups[k].role = r->role;
			d->cgroups[k].win.n = cfg->roles[r->role].nfunnel;
			d->ncgroups++;
		}
		d->cmine[d->ncmine].rep = g->reps[i];
		d->cmine[d->ncmine].group = k;
		d->cmine[d->ncmine++].win.n = cfg->roles[r->role].nfunnel;
	}
	for (size_t k = 0; k < d->ncgroups; k++) {
		size_t n, from = group_span(d, d->cgroups[k].team,
		    d->cgroups[k].role, &n);

		d->creaders = xreallocarray(d->creaders, d->ncreaders + n + 1,
		    sizeof(*d->creaders));
		for (size_t i = 0; i < n; i++) {
			struct creader *c = &d->creaders[d->ncreaders++];

			c->rep = d->by_group[from + i];
			c->group = k;
			c->mine = SIZE_MAX;
		}
	}
	/* The manager's reps among them (cmine is in rep order). */
	for (size_t j = 0; j < d->ncreaders; j++) {
		size_t lo = 0, hi = d->ncmine;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (d->cmine[mid].rep < d->creaders[j].rep)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < d->ncmine && d->cmine[lo].rep == d->creaders[j].rep)
			d->creaders[j].mine = lo;
	}
	if (d->ncmine == 0) {
		job_finish(d);
		return;
	}
	{
		struct read *rd = xcalloc(1, sizeof(*rd));
		struct redis_argv *v = redis_argv_new();

		rd->rep = SIZE_MAX;
		rd->coach_state = true;
		redis_argv_str(v, "HGETALL");
		redis_argv_take(v, keys_digest_coach(cfg,
		    d->mgrs[d->job.m].id));
		(void)send_read(d, v, rd);
		redis_argv_free(v);
	}
	coach_more(d);
}

/* The chunk just read folds into its groups and the manager's reps. */
static void
coach_fold(struct digest_run *d)
{
	for (size_t i = 0; i < d->coach_rd.nreps; i++) {
		const struct creader *c = &d->creaders[d->chunk_from + i];
		const struct funnel_counts *w = &d->coach_rd.reps[i].win;
		struct funnel_counts *sum = &d->cgroups[c->group].win;

		for (size_t s = 0; s < w->n && s < sum->n; s++)
			sum->step[s] += w->step[s];
		if (c->mine != SIZE_MAX)
			d->cmine[c->mine].win = *w;
	}
	funnel_read_clear(&d->coach_rd);
}

/*
 * Every window is in: each of the manager's reps' steps is checked
 * against its team's (funnel_coaching_step), the listed ones make the
 * list, and the hash is rewritten with the steps below or listed.
 */
static void
coach_decide(struct digest_run *d)
{
	const struct config *cfg = d->cfg;
	struct funnel_params p = { (double)cfg->funnel.min_volume,
	    cfg->funnel.coaching_below };
	struct funnel_coaching hp = { (double)cfg->funnel.min_volume,
	    cfg->funnel.coaching_below, cfg->funnel.coaching_margin,
	    cfg->funnel.coaching_days };
	struct redis_argv *v = redis_argv_new();
	int32_t day = d->job.day;
	size_t cap = 0;

	qsort(d->cstates, d->ncstates, sizeof(*d->cstates), cstate_cmp);
	redis_argv_str(v, "EVAL");
	redis_argv_str(v, COACH_LUA);
	redis_argv_str(v, "1");
	redis_argv_take(v, keys_digest_coach(cfg, d->mgrs[d->job.m].id));
	redis_argv_fmt(v, "%lld", (long long)keys_digest_expire_at(day));
	for (size_t i = 0; i < d->ncmine; i++) {
		const struct cmine *m = &d->cmine[i];
		const struct config_rep *r = &cfg->reps[m->rep];
		const struct config_role *role = &cfg->roles[r->role];
		struct funnel_conv conv[FUNNEL_STEPS_MAX];

		funnel_rep_conversions(&m->win, &d->cgroups[m->group].win, &p,
		    conv);
		for (size_t s = 0; s + 1 < role->nfunnel; s++) {
			const char *from = cfg->kpis[role->funnel[s]].name;
			const char *to = cfg->kpis[role->funnel[s + 1]].name;
			char *field = keys_digest_coach_field(r->id, from, to);
			const char *val = cstate_of(d, field);
			long before = digest_coach_before(val, val != NULL ?
			    strlen(val) : 0, day);
			long after = funnel_coaching_step(&conv[s],
			    m->win.step[s], &hp, before);

			if (after == 0) {
				free(field);
				continue;
			}
			redis_argv_take(v, field);
			redis_argv_fmt(v, "%ld:%ld:%ld", (long)day, before,
			    after);
			if (!funnel_coaching_listed(&hp, after))
				continue;
			if (d->ncoach == cap) {
				cap = cap ? cap * 2 : 8;
				d->coach = xreallocarray(d->coach, cap,
				    sizeof(*d->coach));
			}
			d->coach[d->ncoach++] = (struct digest_coaching){
			    r->id, cfg->teams[r->team].id, from, to,
			    conv[s].rep.v, conv[s].team.v, m->win.step[s],
			    after };
		}
	}
	if (redis_conn_send(d->conn, v, ignore_cb, ref(d)) != 0)
		unref(d->link);
	redis_argv_free(v);
}

/* The next COACH_READ_REPS reps' windows, or the list and the end of
 * the job. The window: the funnel.window days before the digest's. */
static void
coach_more(struct digest_run *d)
{
	const struct config *cfg = d->cfg;
	int32_t window = (int32_t)(cfg->funnel.window_ms / DAY_MS);
	struct redis_argv *v;

	if (d->coach_rd.nreps > 0)
		coach_fold(d);
	if (d->next_creader >= d->ncreaders) {
		coach_decide(d);
		job_finish(d);
		return;
	}
	funnel_read_init(&d->coach_rd, cfg, window, false, PERIOD_DAY);
	d->chunk_from = d->next_creader;
	while (d->next_creader < d->ncreaders &&
	    d->next_creader - d->chunk_from < COACH_READ_REPS) {
		const struct config_rep *r =
		    &cfg->reps[d->creaders[d->next_creader++].rep];

		funnel_read_add(&d->coach_rd, &cfg->roles[r->role], r->id,
		    d->job.day - 1, 0);
	}
	funnel_read_plan(&d->coach_rd, NULL);
	v = redis_argv_new();
	for (size_t i = 0; i < d->coach_rd.ncmds; i++) {
		struct read *rd = xcalloc(1, sizeof(*rd));

		rd->rep = SIZE_MAX;
		rd->cmd = &d->coach_rd.cmds[i];
		funnel_read_argv(rd->cmd, v);
		if (send_read(d, v, rd) == -1)
			break;
	}
	redis_argv_free(v);
	if (d->pending == 0)
		job_failed(d, "Redis refused a read");
}

/* The next READ_REPS reps' reads, or the end of the job. */
static void
read_more(struct digest_run *d)
{
	struct mgr *g = &d->mgrs[d->job.m];
	size_t n = 0;

	while (d->next_rep < g->nreps && n < READ_REPS) {
		read_rep(d, g->reps[d->next_rep++]);
		n++;
	}
	if (d->failed && d->pending == 0) {
		job_failed(d, "Redis refused a read");
		return;
	}
	if (d->pending == 0 && coaching_on(d))
		coach_start(d);
	else if (d->pending == 0)
		job_finish(d);
}

static void
claim_cb(const struct redisReply *reply, void *arg)
{
	struct read *rd = arg;
	struct digest_run *d = unref(rd->link);
	uint64_t gen = rd->gen;

	free(rd);
	if (d == NULL || !d->busy || gen != d->gen)
		return;
	d->pending = 0;
	if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
		if (d->job.k == DIGEST_MORNING && d->cfg->alerts.positive_news)
			send_hgetall(d, keys_digest_news(d->cfg,
			    d->mgrs[d->job.m].id), SIZE_MAX, PERIOD_DAY, -1,
			    false, true);
		read_more(d);
	} else if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
		/* Sent, or being sent by another process. */
		if (strcmp(reply->str, "sent") == 0) {
			d->mgrs[d->job.m].done[d->job.k] = d->job.day;
			metrics_inc(d->m_already[d->job.k]);
		}
		job_clear(d);
	} else
		job_failed(d, "the claim failed");
	if (!d->busy)
		job_next(d);
}

/* Starts the next queued job: its claim. */
static void
job_next(struct digest_run *d)
{
	struct redis_argv *v;
	struct read *rd;

	while (!d->busy && d->nqueue > 0) {
		d->job = d->queue[0];
		memmove(&d->queue[0], &d->queue[1],
		    (d->nqueue - 1) * sizeof(d->queue[0]));
		d->nqueue--;
		if (d->job.m >= d->nmgrs)
			continue;
		d->busy = true;
		d->marker = keys_digest_sent(d->cfg, digest_kind_name(d->job.k),
		    d->mgrs[d->job.m].id, d->job.day);
		rd = xcalloc(1, sizeof(*rd));
		rd->gen = d->gen;
		rd->link = ref(d);
		v = redis_argv_new();
		redis_argv_str(v, "EVAL");
		redis_argv_str(v, CLAIM_LUA);
		redis_argv_str(v, "1");
		redis_argv_str(v, d->marker);
		redis_argv_str(v, LEASE_S);
		if (redis_conn_send(d->conn, v, claim_cb, rd) != 0) {
			unref(d->link);
			free(rd);
			job_clear(d);
			redis_argv_free(v);
			return;		/* Redis down: the next tick */
		}
		redis_argv_free(v);
	}
}

struct digest_run *
digest_run_new(struct event_base *base, const struct config *cfg,
    struct redis_conn *conn, struct sinks *sinks)
{
	struct digest_run *d = xcalloc(1, sizeof(*d));

	d->base = base;
	d->conn = conn;
	d->sinks = sinks;
	d->link = xcalloc(1, sizeof(*d->link));
	d->link->d = d;
	for (int k = 0; k < DIGEST_KINDS; k++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"sent\"",
		    digest_kind_name((enum digest_kind)k));
		d->m_sent[k] = metrics_counter("paced_digests_total", labels,
		    "Scheduled digests by kind and result: sent, already_sent "
		    "(by another process or an earlier run), failed (tried "
		    "again once its claim lapses)");
		snprintf(labels, sizeof(labels),
		    "kind=\"%s\",result=\"already_sent\"",
		    digest_kind_name((enum digest_kind)k));
		d->m_already[k] = metrics_counter("paced_digests_total", labels,
		    "Scheduled digests by kind and result: sent, already_sent "
		    "(by another process or an earlier run), failed (tried "
		    "again once its claim lapses)");
		snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"failed\"",
		    digest_kind_name((enum digest_kind)k));
		d->m_failed[k] = metrics_counter("paced_digests_total", labels,
		    "Scheduled digests by kind and result: sent, already_sent "
		    "(by another process or an earlier run), failed (tried "
		    "again once its claim lapses)");
	}
	d->tick_ev = evtimer_new(base, tick_cb, d);
	digest_run_set_config(d, cfg);
	tick_arm(d);
	return d;
}

void
digest_run_set_config(struct digest_run *d, const struct config *cfg)
{
	d->gen++;
	job_clear(d);
	d->nqueue = 0;
	d->cfg = cfg;
	mgrs_build(d);
}

void
digest_run_free(struct digest_run *d)
{
	if (d == NULL)
		return;
	job_clear(d);
	if (d->tick_ev != NULL)
		event_free(d->tick_ev);
	mgrs_free(d);
	free(d->behind);
	free(d->card);
	free(d->news);
	free(d->strs);
	free(d->news_fields);
	d->link->d = NULL;
	if (d->link->refs == 0)
		free(d->link);
	free(d);
}
