/*
 * funnel_cache.c: the window conversion rates of the snapshots' forecast,
 * in memory (funnel_cache.h). snapshot.c tells it of every rep it
 * snapshots (funnel_cache_want) and asks for a rep's rates when it
 * formats a snapshot (funnel_cache_rates); its own timer reads the due
 * groups' window counters, one chunk of FUNNEL_CACHE_CHUNK reps per turn
 * of the loop, one chunk in flight.
 *
 * A pass takes every group due when it starts (each at the day it was
 * wanted for) and reads all their reps; the sums build in the groups'
 * and reps' next counts and become current only when the pass's last
 * chunk is in, so a failed pass leaves the figures before it. A pass
 * that is in keeps its reps (wr) until its hashes are written, a chunk a
 * turn, before the next pass starts. A reload forgets everything (gen):
 * the chunk in flight is dropped on return, and the writes left undone.
 */
#include "funnel_cache.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define UNKNOWN_DAY	INT32_MIN
#define DAY_MS		86400000LL

struct cgroup {
	int32_t day;		/* the day the current figures are for */
	int32_t want_day;	/* the latest day a rep was wanted at */
	int32_t pass_day;	/* the day the pass under way reads */
	bool write;		/* its hash is still to be written */
	struct funnel_counts win, next;
};

/* A rep's window counts live in fc->counts, two rows (win, next) of
 * fc->stride doubles (its funnel's steps, then the revenue), and only
 * for a rep whose role has a funnel: a struct funnel_counts a rep (its
 * room for FUNNEL_STEPS_MAX steps) was most of the daemon's memory per
 * rep. */
struct crep {
	int32_t day;		/* its group's day when its counts came */
	uint32_t slot;		/* its rows in fc->counts; NO_SLOT: none */
};

#define NO_SLOT		UINT32_MAX
enum { WIN, NEXT };

/* A chunk in flight. */
struct flight {
	struct funnel_cache *fc;	/* NULL once fc is freed */
	uint64_t gen;
	struct funnel_read rd;
	int outstanding;
	bool failed;
};

struct funnel_cache {
	struct event_base *base;
	struct redis_conn *conn;
	const struct config *const *cfg;
	const struct roster *const *roster;
	const struct config *for_cfg;	/* what the arrays are sized for */
	const struct roster *for_roster;
	uint64_t gen;
	struct cgroup *groups;		/* team x role */
	size_t ngroups;
	struct crep *reps;		/* by config rep index */
	size_t nreps;
	double *counts;			/* the reps' rows (see struct crep) */
	size_t stride;
	size_t *pass;			/* the pass's reps (roster positions) */
	size_t npass, next, chunk_from;
	bool in_pass;
	size_t *wr;			/* the last pass's reps, to write */
	size_t nwr, wnext;		/* wnext: groups first, then reps */
	struct flight *flight;
	struct event *ev;
	struct metric *m_ok, *m_failed, *m_wfailed;
};

static void
forget(struct funnel_cache *fc)
{
	const struct config *cfg = *fc->cfg;
	const struct roster *ro = *fc->roster;
	size_t n = roster_size(ro), maxrep = 0, nslots = 0;

	free(fc->groups);
	free(fc->reps);
	free(fc->counts);
	free(fc->pass);
	free(fc->wr);
	fc->pass = fc->wr = NULL;
	fc->npass = fc->next = fc->chunk_from = 0;
	fc->nwr = fc->wnext = 0;
	fc->in_pass = false;
	fc->gen++;
	fc->for_cfg = cfg;
	fc->for_roster = ro;
	for (size_t i = 0; i < n; i++)
		if (roster_rep_at(ro, i)->index + 1 > maxrep)
			maxrep = roster_rep_at(ro, i)->index + 1;
	fc->ngroups = cfg->nteams * cfg->nroles;
	fc->groups = xcalloc(fc->ngroups ? fc->ngroups : 1,
	    sizeof(*fc->groups));
	for (size_t g = 0; g < fc->ngroups; g++)
		fc->groups[g].day = fc->groups[g].want_day =
		    fc->groups[g].pass_day = UNKNOWN_DAY;
	fc->nreps = maxrep;
	fc->reps = xcalloc(maxrep ? maxrep : 1, sizeof(*fc->reps));
	for (size_t r = 0; r < maxrep; r++) {
		fc->reps[r].day = UNKNOWN_DAY;
		fc->reps[r].slot = NO_SLOT;
	}
	fc->stride = 1;
	for (size_t k = 0; k < cfg->nroles; k++)
		if (cfg->roles[k].nfunnel + 1 > fc->stride)
			fc->stride = cfg->roles[k].nfunnel + 1;
	for (size_t i = 0; i < n; i++) {
		const struct roster_rep *rr = roster_rep_at(ro, i);

		if (cfg->roles[rr->rep->role].nfunnel > 0 &&
		    fc->reps[rr->index].slot == NO_SLOT)
			fc->reps[rr->index].slot = (uint32_t)nslots++;
	}
	fc->counts = xcalloc(nslots ? nslots * 2 * fc->stride : 1,
	    sizeof(*fc->counts));
}

/* r's row `which` (WIN or NEXT) as counts of a funnel of n steps. */
static void
rep_counts(const struct funnel_cache *fc, const struct crep *r, int which,
    size_t n, struct funnel_counts *out)
{
	const double *row = fc->counts + ((size_t)r->slot * 2 +
	    (size_t)which) * fc->stride;

	memset(out, 0, sizeof(*out));
	out->n = n < fc->stride ? n : fc->stride - 1;
	memcpy(out->step, row, out->n * sizeof(*row));
	out->revenue = row[fc->stride - 1];
}

/* Stores c as r's row `which`. */
static void
rep_store(struct funnel_cache *fc, const struct crep *r, int which,
    const struct funnel_counts *c)
{
	double *row = fc->counts + ((size_t)r->slot * 2 + (size_t)which) *
	    fc->stride;
	size_t n = c->n < fc->stride - 1 ? c->n : fc->stride - 1;

	memset(row, 0, fc->stride * sizeof(*row));
	memcpy(row, c->step, n * sizeof(*row));
	row[fc->stride - 1] = c->revenue;
}

/* The arrays follow the config and roster in force. */
static void
follow(struct funnel_cache *fc)
{
	if (fc->for_cfg != *fc->cfg || fc->for_roster != *fc->roster)
		forget(fc);
}

static size_t
group_of(const struct config *cfg, const struct roster_rep *rr)
{
	return (size_t)(rr->team - cfg->teams) * cfg->nroles + rr->rep->role;
}

static bool
due(const struct cgroup *g)
{
	return g->want_day != UNKNOWN_DAY && g->pass_day == UNKNOWN_DAY &&
	    (g->day == UNKNOWN_DAY || g->day < g->want_day);
}

/* The timer runs on the next turn of the loop, unless it is armed
 * (a retry's wait included) or a chunk is in flight. */
static void
kick(struct funnel_cache *fc, int64_t after_ms)
{
	struct timeval tv = { (time_t)(after_ms / 1000),
	    (suseconds_t)(after_ms % 1000) * 1000 };

	if (fc->base == NULL || fc->flight != NULL ||
	    evtimer_pending(fc->ev, NULL))
		return;
	evtimer_add(fc->ev, &tv);
}

void
funnel_cache_want(struct funnel_cache *fc, const struct roster_rep *rr,
    int64_t at_ms)
{
	const struct config *cfg;
	struct cgroup *g;
	int32_t today;

	follow(fc);
	cfg = *fc->cfg;
	if (cfg->roles[rr->rep->role].nfunnel == 0)
		return;
	g = &fc->groups[group_of(cfg, rr)];
	today = tzone_local_day(rr->zone, at_ms);
	if (g->want_day == UNKNOWN_DAY || today > g->want_day)
		g->want_day = today;
	if (due(g))
		kick(fc, 0);
}

bool
funnel_cache_rates(const struct funnel_cache *fc, const struct roster_rep *rr,
    struct funnel_cache_rates *out)
{
	const struct config *cfg = *fc->cfg;
	struct funnel_params p;
	const struct cgroup *g;
	const struct crep *r;
	struct funnel_counts win;

	if (fc->for_cfg != cfg || fc->for_roster != *fc->roster ||
	    rr->index >= fc->nreps || cfg->roles[rr->rep->role].nfunnel == 0)
		return false;
	g = &fc->groups[group_of(cfg, rr)];
	r = &fc->reps[rr->index];
	if (g->day == UNKNOWN_DAY || r->day != g->day || r->slot == NO_SLOT)
		return false;
	rep_counts(fc, r, WIN, cfg->roles[rr->rep->role].nfunnel, &win);
	p.min_volume = (double)cfg->funnel.min_volume;
	p.coaching_below = cfg->funnel.coaching_below;
	memset(out, 0, sizeof(*out));
	funnel_rep_conversions(&win, &g->win, &p, out->conv);
	out->deal_size = funnel_deal_size(&win);
	if (!out->deal_size.has)
		out->deal_size = funnel_deal_size(&g->win);
	if (!cfg->funnel.has_revenue)
		out->deal_size = (struct funnel_value){ false, 0 };
	out->window_to = g->day - 1;
	return true;
}

/* Every group due joins a pass, with all its reps. */
static void
pass_start(struct funnel_cache *fc)
{
	const struct config *cfg = *fc->cfg;
	const struct roster *ro = *fc->roster;
	size_t n = roster_size(ro);
	bool any = false;

	for (size_t i = 0; i < fc->ngroups; i++) {
		struct cgroup *g = &fc->groups[i];

		if (!due(g))
			continue;
		g->pass_day = g->want_day;
		memset(&g->next, 0, sizeof(g->next));
		g->next.n = cfg->roles[i % cfg->nroles].nfunnel;
		any = true;
	}
	if (!any)
		return;
	fc->pass = xcalloc(n ? n : 1, sizeof(*fc->pass));
	fc->npass = fc->next = fc->chunk_from = 0;
	for (size_t i = 0; i < n; i++) {
		const struct roster_rep *rr = roster_rep_at(ro, i);

		if (cfg->roles[rr->rep->role].nfunnel == 0 ||
		    rr->index >= fc->nreps ||
		    fc->groups[group_of(cfg, rr)].pass_day == UNKNOWN_DAY)
			continue;
		fc->pass[fc->npass++] = i;
	}
	fc->in_pass = true;
}

static void
pass_end(struct funnel_cache *fc, bool ok)
{
	const struct config *cfg = *fc->cfg;
	const struct roster *ro = *fc->roster;

	for (size_t i = 0; ok && i < fc->npass; i++) {
		const struct roster_rep *rr = roster_rep_at(ro, fc->pass[i]);
		struct crep *r = &fc->reps[rr->index];
		double *row;

		if (r->slot == NO_SLOT)
			continue;
		row = fc->counts + (size_t)r->slot * 2 * fc->stride;
		memcpy(row + WIN * fc->stride, row + NEXT * fc->stride,
		    fc->stride * sizeof(*row));
		r->day = fc->groups[group_of(cfg, rr)].pass_day;
	}
	for (size_t i = 0; i < fc->ngroups; i++) {
		struct cgroup *g = &fc->groups[i];

		if (g->pass_day == UNKNOWN_DAY)
			continue;
		if (ok) {
			g->win = g->next;
			g->day = g->pass_day;
			g->write = fc->base != NULL;
		}
		g->pass_day = UNKNOWN_DAY;
	}
	if (ok && fc->base != NULL) {	/* written on the next turns */
		free(fc->wr);
		fc->wr = fc->pass;
		fc->nwr = fc->npass;
		fc->wnext = 0;
	} else
		free(fc->pass);
	fc->pass = NULL;
	fc->npass = fc->next = fc->chunk_from = 0;
	fc->in_pass = false;
	if (fc->m_ok != NULL)
		metrics_inc(ok ? fc->m_ok : fc->m_failed);
}

size_t
funnel_cache_chunk(struct funnel_cache *fc, struct funnel_read *rd)
{
	const struct config *cfg;
	const struct roster *ro;
	int32_t window;

	follow(fc);
	cfg = *fc->cfg;
	ro = *fc->roster;
	window = (int32_t)(cfg->funnel.window_ms / DAY_MS);
	if (!fc->in_pass)
		pass_start(fc);
	if (!fc->in_pass)
		return 0;
	if (fc->next >= fc->npass) {
		pass_end(fc, true);	/* its reps left the roster */
		return 0;
	}
	funnel_read_init(rd, cfg, window, false, PERIOD_DAY);
	fc->chunk_from = fc->next;
	while (fc->next < fc->npass &&
	    fc->next - fc->chunk_from < FUNNEL_CACHE_CHUNK) {
		const struct roster_rep *rr = roster_rep_at(ro,
		    fc->pass[fc->next++]);

		funnel_read_add(rd, &cfg->roles[rr->rep->role], rr->rep->id,
		    fc->groups[group_of(cfg, rr)].pass_day - 1, 0);
	}
	funnel_read_plan(rd, NULL);
	return rd->nreps;
}

void
funnel_cache_chunk_done(struct funnel_cache *fc, const struct funnel_read *rd,
    bool ok)
{
	const struct config *cfg = *fc->cfg;
	const struct roster *ro = *fc->roster;

	if (!fc->in_pass)
		return;
	if (!ok) {
		pass_end(fc, false);
		return;
	}
	for (size_t i = 0; i < rd->nreps &&
	    fc->chunk_from + i < fc->npass; i++) {
		const struct roster_rep *rr = roster_rep_at(ro,
		    fc->pass[fc->chunk_from + i]);
		const struct funnel_counts *w = &rd->reps[i].win;
		struct cgroup *g = &fc->groups[group_of(cfg, rr)];

		if (fc->reps[rr->index].slot != NO_SLOT)
			rep_store(fc, &fc->reps[rr->index], NEXT, w);
		for (size_t s = 0; s < w->n && s < g->next.n; s++)
			g->next.step[s] += w->step[s];
		g->next.revenue += w->revenue;
	}
	if (fc->next >= fc->npass)
		pass_end(fc, true);
}

/* ---- on the loop ---- */

static void
flight_release(struct flight *fl)
{
	struct funnel_cache *fc = fl->fc;

	if (--fl->outstanding > 0)
		return;
	if (fc != NULL) {
		fc->flight = NULL;
		if (fl->gen == fc->gen) {
			funnel_cache_chunk_done(fc, &fl->rd, !fl->failed);
			if (fl->failed)
				log_warnx("snapshot_funnel_read_failed",
				    "retry_in_ms=%d", FUNNEL_CACHE_RETRY_MS);
		}
		kick(fc, fl->failed ? FUNNEL_CACHE_RETRY_MS : 0);
	}
	funnel_read_clear(&fl->rd);
	free(fl);
}

static void
reply_cb(const redisReply *r, void *arg)
{
	struct funnel_read_cmd *c = arg;
	struct flight *fl = c->arg;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		fl->failed = true;
	else if (fl->fc != NULL && fl->gen == fl->fc->gen)
		funnel_read_take(c, r);
	flight_release(fl);
}

static void
write_cb(const redisReply *r, void *arg)
{
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		metrics_inc(arg);
}

static void
num(struct redis_argv *v, double x)
{
	redis_argv_fmt(v, "%.15g", x);
}

/* A step's value: the figure, or empty when there is none. */
static void
value(struct redis_argv *v, const struct funnel_value *x)
{
	if (x->has)
		num(v, x->v);
	else
		redis_argv_str(v, "");
}

static void
step_field(struct redis_argv *v, const char *what, const struct config *cfg,
    const struct config_role *role, size_t s)
{
	redis_argv_take(v, keys_funnel_step_field(what,
	    cfg->kpis[role->funnel[s]].name,
	    cfg->kpis[role->funnel[s + 1]].name));
}

/* HSET key (taken) with the counts, window_to and updated_at after the
 * fields v already holds, then its EXPIREAT. */
static void
hash_send(struct funnel_cache *fc, struct redis_argv *v, char *key,
    const struct config_role *role, const struct funnel_counts *c,
    int32_t window_to)
{
	const struct config *cfg = *fc->cfg;
	char date[16];

	for (size_t k = 0; k < role->nfunnel && k < c->n; k++) {
		redis_argv_str(v, cfg->kpis[role->funnel[k]].name);
		num(v, c->step[k]);
	}
	caltime_format_date(window_to, date, sizeof(date));
	redis_argv_str(v, "window_to");
	redis_argv_str(v, date);
	redis_argv_str(v, "updated_at");
	redis_argv_int(v, caltime_wall_ms());
	if (redis_conn_send(fc->conn, v, write_cb, fc->m_wfailed) != 0)
		metrics_inc(fc->m_wfailed);
	redis_argv_reset(v);
	redis_argv_str(v, "EXPIREAT");
	redis_argv_str(v, key);
	redis_argv_int(v, keys_funnel_expire_at(window_to,
	    caltime_wall_ms() / 1000));
	if (redis_conn_send(fc->conn, v, write_cb, fc->m_wfailed) != 0)
		metrics_inc(fc->m_wfailed);
	redis_argv_reset(v);
	free(key);
}

static void
group_write(struct funnel_cache *fc, struct redis_argv *v, size_t gi)
{
	const struct config *cfg = *fc->cfg;
	const struct config_role *role = &cfg->roles[gi % cfg->nroles];
	const struct cgroup *g = &fc->groups[gi];
	struct funnel_value rate[FUNNEL_STEPS_MAX];
	char *key = keys_funnel_team(cfg, cfg->teams[gi / cfg->nroles].id,
	    role->name);

	funnel_rates(&g->win, rate);
	redis_argv_str(v, "HSET");
	redis_argv_str(v, key);
	for (size_t s = 0; s + 1 < role->nfunnel && s + 1 < g->win.n; s++) {
		step_field(v, NULL, cfg, role, s);
		value(v, &rate[s]);
	}
	hash_send(fc, v, key, role, &g->win, g->day - 1);
}

static void
rep_write(struct funnel_cache *fc, struct redis_argv *v, size_t pos)
{
	const struct config *cfg = *fc->cfg;
	const struct roster_rep *rr = roster_rep_at(*fc->roster, pos);
	const struct config_role *role = &cfg->roles[rr->rep->role];
	struct funnel_cache_rates fr;
	struct funnel_counts win;
	char *key;

	if (!funnel_cache_rates(fc, rr, &fr))
		return;
	rep_counts(fc, &fc->reps[rr->index], WIN, role->nfunnel, &win);
	key = keys_funnel_rep(cfg, rr->rep->id);
	redis_argv_str(v, "HSET");
	redis_argv_str(v, key);
	for (size_t s = 0; s + 1 < role->nfunnel; s++) {
		const char *src = funnel_source_name(fr.conv[s].source);

		step_field(v, NULL, cfg, role, s);
		value(v, &fr.conv[s].rep);
		step_field(v, "used", cfg, role, s);
		value(v, &fr.conv[s].used);
		step_field(v, "source", cfg, role, s);
		redis_argv_str(v, src != NULL ? src : "");
	}
	hash_send(fc, v, key, role, &win, fr.window_to);
}

/* The next FUNNEL_CACHE_CHUNK hashes of the last pass (its groups, then
 * its reps), pipelined; the last frees wr. */
static void
write_chunk(struct funnel_cache *fc)
{
	struct redis_argv *v;
	size_t sent = 0;

	follow(fc);
	if (fc->wr == NULL)
		return;
	v = redis_argv_new();
	while (sent < FUNNEL_CACHE_CHUNK && fc->wnext < fc->ngroups + fc->nwr) {
		size_t i = fc->wnext++;

		if (i < fc->ngroups) {
			if (!fc->groups[i].write)
				continue;
			fc->groups[i].write = false;
			group_write(fc, v, i);
		} else
			rep_write(fc, v, fc->wr[i - fc->ngroups]);
		sent++;
	}
	redis_argv_free(v);
	if (fc->wnext < fc->ngroups + fc->nwr)
		return;
	free(fc->wr);
	fc->wr = NULL;
	fc->nwr = fc->wnext = 0;
}

/* The last pass's hashes a chunk a turn, then one chunk of the pass, if
 * there is one to read. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct funnel_cache *fc = arg;
	struct flight *fl;
	struct redis_argv *v;

	(void)fd;
	(void)what;
	if (fc->flight != NULL)
		return;
	if (fc->wr != NULL) {
		write_chunk(fc);
		kick(fc, 0);
		return;
	}
	fl = xcalloc(1, sizeof(*fl));
	if (funnel_cache_chunk(fc, &fl->rd) == 0) {
		funnel_read_clear(&fl->rd);
		free(fl);
		if (fc->wr != NULL)	/* a pass ended without a read */
			kick(fc, 0);
		return;
	}
	fl->fc = fc;
	fl->gen = fc->gen;
	fc->flight = fl;
	fl->outstanding = 1;	/* held while sending */
	v = redis_argv_new();
	for (size_t i = 0; i < fl->rd.ncmds; i++) {
		struct funnel_read_cmd *c = &fl->rd.cmds[i];

		c->arg = fl;
		funnel_read_argv(c, v);
		if (redis_conn_send(fc->conn, v, reply_cb, c) != 0) {
			fl->failed = true;
			break;
		}
		fl->outstanding++;
	}
	redis_argv_free(v);
	flight_release(fl);
}

struct funnel_cache *
funnel_cache_new(struct event_base *base, struct redis_conn *conn,
    const struct config *const *cfg, const struct roster *const *roster)
{
	struct funnel_cache *fc = xcalloc(1, sizeof(*fc));
	static const char help[] = "Passes reading the funnel window counters "
	    "of the scorecard snapshots' forecast";

	fc->base = base;
	fc->conn = conn;
	fc->cfg = cfg;
	fc->roster = roster;
	forget(fc);
	if (base != NULL) {
		fc->ev = evtimer_new(base, tick_cb, fc);
		if (fc->ev == NULL)
			fatalx("startup_failed", "what=evtimer_new");
		fc->m_ok = metrics_counter("paced_snapshot_funnel_reads_total",
		    "outcome=\"ok\"", help);
		fc->m_failed = metrics_counter(
		    "paced_snapshot_funnel_reads_total", "outcome=\"failed\"",
		    help);
		fc->m_wfailed = metrics_counter(
		    "paced_snapshot_funnel_writes_failed_total", NULL,
		    "Funnel window hash writes (HSET, EXPIREAT) that failed");
	}
	return fc;
}

void
funnel_cache_reconfigured(struct funnel_cache *fc)
{
	forget(fc);
}

void
funnel_cache_free(struct funnel_cache *fc)
{
	if (fc == NULL)
		return;
	if (fc->flight != NULL)
		fc->flight->fc = NULL;	/* its replies free it */
	if (fc->ev != NULL)
		event_free(fc->ev);
	free(fc->groups);
	free(fc->reps);
	free(fc->counts);
	free(fc->pass);
	free(fc->wr);
	free(fc);
}
