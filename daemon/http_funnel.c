/*
 * http_funnel.c: the funnel routes over HTTP. A request names a rep, a
 * team or the org; the reps it needs (a rep's teammates of its role too,
 * for the team's rates) are read from their day counters over the rolling
 * window (funnel.window, the rep's last local days up to the day of at)
 * and from their counters of the ?period= bucket, one HMGET per counter
 * shard and day that holds them (funnel_read.c plans them and sums the
 * replies), through http.c's read gate. Once every
 * reply is in, funnel.c turns the counts into rates, coaching flags and
 * the forecast, and the answer goes out.
 *
 * Cost: a request sends one command per (shard, window day) and one per
 * (shard, bucket) among the reps it reads: for reps in one time zone at
 * most redis.shards x (window days + 1), whatever their number (a day
 * more per further zone offset); each command carries the fields of the
 * reps of its shard.
 *
 * A reload may swap the config and roster while a request waits: the
 * request then answers 503 (retry) rather than mix two rosters.
 */
#include "http_funnel.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "api_read.h"
#include "caltime.h"
#include "funnel.h"
#include "funnel_read.h"
#include "jsontext.h"
#include "keys.h"
#include "owner.h"
#include "pacing.h"
#include "read_gate.h"
#include "redis_conn.h"
#include "scorecard.h"
#include "xmalloc.h"

#define DAY_MS	86400000LL

/* A rep read by a request; its counts are q->rd.reps[] of its index. */
struct frep {
	const struct roster_rep *rep;
	struct bucket bucket;		/* of ?period= holding at */
	size_t group;			/* its team x role group */
};

/* A team's reps of one role: the team rates of the rep entries. */
struct fgroup {
	size_t team, role;		/* config indices */
	struct funnel_counts win, cur;
	struct funnel_forecast fc;
};

struct freq {
	struct api_read ar;		/* first: the reads' life */
	struct http_funnel *f;		/* valid until ar is orphaned */
	struct evhttp_request *req;
	enum http_funnel_scope scope;
	const struct config *cfg;	/* as at the request, not dereferenced */
	const struct roster *roster;	/* after a reload */
	char id[EVENT_REP_MAX + 1];
	enum period period;
	int64_t at_ms;
	int32_t window_days;
	struct frep *reps;
	size_t nreps;
	struct fgroup *groups;
	size_t ngroups;
	struct funnel_read rd;		/* the reps' counts, by index */
};

struct http_funnel {
	struct http_funnel_deps deps;
	struct api_read_list waiting;
};

static void
reply_json(struct http_funnel *f, struct evhttp_request *req, int code,
    cJSON *obj)
{
	struct evbuffer *buf = jsontext_body(obj);

	f->deps.reply(req, code, buf, f->deps.reply_arg);
	evbuffer_free(buf);
}

static void
reply_error(struct http_funnel *f, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *buf = jsontext_error_body(msg);

	f->deps.reply(req, code, buf, f->deps.reply_arg);
	evbuffer_free(buf);
}

static void
freq_free(struct freq *q)
{
	funnel_read_clear(&q->rd);
	free(q->reps);
	free(q->groups);
	free(q);
}

static const struct config_role *
role_of(const struct freq *q, const struct roster_rep *rep)
{
	return &q->cfg->roles[rep->rep->role];
}

static void answer(struct freq *q);

/* True when a reload swapped the config or roster q was built from. */
static bool
ar_reloaded(const struct api_read *ar)
{
	const struct freq *q = (const struct freq *)ar;

	return *q->f->deps.cfg != q->cfg || *q->f->deps.roster != q->roster;
}

static bool
ar_take(struct api_read *ar, void *cmd, const redisReply *r)
{
	(void)ar;
	if (r->type != REDIS_REPLY_ARRAY)
		return false;
	funnel_read_take(cmd, r);
	return true;
}

static void
ar_answer(struct api_read *ar)
{
	answer((struct freq *)ar);
}

static void
ar_error(struct api_read *ar, int code, const char *msg)
{
	struct freq *q = (struct freq *)ar;

	reply_error(q->f, q->req, code, msg);
}

static void
ar_free(struct api_read *ar)
{
	freq_free((struct freq *)ar);
}

static const struct api_read_ops freq_ops = {
	ar_take, ar_reloaded, ar_answer, ar_error, ar_free
};

/* Sends q's commands; on failure answers 503 and frees q. */
static void
freq_send(struct http_funnel *f, struct freq *q)
{
	struct redis_argv *v;

	q->f = f;
	if (!read_gate_up(f->deps.gate)) {
		reply_error(f, q->req, 503, "redis unavailable");
		freq_free(q);
		return;
	}
	api_read_begin(&q->ar, &freq_ops, &f->waiting);
	v = redis_argv_new();
	for (size_t i = 0; i < q->rd.ncmds; i++) {
		struct funnel_read_cmd *c = &q->rd.cmds[i];

		funnel_read_argv(c, v);
		api_read_send(&q->ar, f->deps.gate, v, c);
	}
	redis_argv_free(v);
	api_read_end(&q->ar);
}

static void
add_opt(cJSON *o, const char *name, const struct funnel_value *v)
{
	if (v->has)
		cJSON_AddNumberToObject(o, name, v->v);
	else
		cJSON_AddNullToObject(o, name);
}

static void
add_name(cJSON *o, const char *name, const char *s)
{
	if (s != NULL)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

static void
add_time(cJSON *o, const char *name, const struct roster_rep *rep,
    int64_t ms)
{
	char ts[40];

	caltime_format_local(ms, tzone_offset_at(rep->zone, ms), ts,
	    sizeof(ts));
	cJSON_AddStringToObject(o, name, ts);
}

static void
add_date(cJSON *o, const char *name, int32_t day)
{
	char d[16];

	caltime_format_date(day, d, sizeof(d));
	cJSON_AddStringToObject(o, name, d);
}

/* "funnel", "steps" and the revenue of a rep or a group. */
static void
add_steps(const struct freq *q, cJSON *o, const struct config_role *role,
    const struct funnel_counts *win, const struct funnel_counts *cur)
{
	const struct config *cfg = q->cfg;
	cJSON *names = cJSON_AddArrayToObject(o, "funnel");
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");

	for (size_t i = 0; i < role->nfunnel; i++) {
		cJSON *s = cJSON_CreateObject();

		cJSON_AddItemToArray(names, cJSON_CreateString(
		    cfg->kpis[role->funnel[i]].name));
		cJSON_AddStringToObject(s, "kpi",
		    cfg->kpis[role->funnel[i]].name);
		cJSON_AddNumberToObject(s, "window", win->step[i]);
		cJSON_AddNumberToObject(s, "bucket", cur->step[i]);
		cJSON_AddItemToArray(steps, s);
	}
	if (cfg->funnel.has_revenue) {
		cJSON *r = cJSON_AddObjectToObject(o, "revenue");

		cJSON_AddStringToObject(r, "kpi",
		    cfg->kpis[cfg->funnel.revenue_kpi].name);
		cJSON_AddNumberToObject(r, "window",
		    funnel_money(win->revenue));
		cJSON_AddNumberToObject(r, "bucket",
		    funnel_money(cur->revenue));
	} else
		cJSON_AddNullToObject(o, "revenue");
}

/* One conversion of "conversions": the rates of step i. */
static cJSON *
conv_json(const struct freq *q, const struct config_role *role, size_t i,
    const struct funnel_value *wr, const struct funnel_value *br)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "from",
	    q->cfg->kpis[role->funnel[i]].name);
	cJSON_AddStringToObject(c, "to",
	    q->cfg->kpis[role->funnel[i + 1]].name);
	add_opt(c, "window_rate", wr);
	add_opt(c, "bucket_rate", br);
	return c;
}

static void
add_forecast(const struct freq *q, cJSON *o, const struct config_role *role,
    const struct funnel_forecast *fc, bool rep, double fraction)
{
	cJSON *x = cJSON_AddObjectToObject(o, "forecast");
	struct funnel_value revenue = funnel_money_value(fc->expected_revenue);
	struct funnel_value target = fc->target_kind ==
	    FUNNEL_TARGET_REVENUE ? funnel_money_value(fc->target) :
	    fc->target;

	cJSON_AddStringToObject(x, "top_kpi",
	    q->cfg->kpis[role->funnel[0]].name);
	if (rep)
		cJSON_AddNumberToObject(x, "elapsed_fraction", fraction);
	else
		cJSON_AddNumberToObject(x, "reps", (double)fc->reps);
	cJSON_AddNumberToObject(x, "top_so_far", fc->top_so_far);
	add_opt(x, "projected_top", &fc->projected_top);
	if (rep)
		add_opt(x, "conversion", &fc->conversion);
	add_opt(x, "expected_deals", &fc->expected_deals);
	add_opt(x, "expected_revenue", &revenue);
	add_name(x, "target_kpi", fc->target_kind == FUNNEL_TARGET_NONE ?
	    NULL : fc->target_kind == FUNNEL_TARGET_REVENUE ?
	    q->cfg->kpis[q->cfg->funnel.revenue_kpi].name :
	    q->cfg->kpis[role->funnel[role->nfunnel - 1]].name);
	add_opt(x, "target", &target);
	add_opt(x, "required_activity", &fc->required_activity);
}

/*
 * Rep m's entry: its counts, rates against its team's, the rates its
 * forecast uses, the coaching flags and the forecast, which it also adds
 * to its group's.
 */
static cJSON *
rep_json(struct freq *q, size_t m, struct scorecard *card, double *actual)
{
	const struct config *cfg = q->cfg;
	struct frep *r = &q->reps[m];
	const struct funnel_read_rep *fd = &q->rd.reps[m];
	const struct config_role *role = role_of(q, r->rep);
	struct fgroup *g = &q->groups[r->group];
	struct funnel_params p = { (double)cfg->funnel.min_volume,
	    cfg->funnel.coaching_below };
	struct funnel_conv conv[FUNNEL_STEPS_MAX];
	struct funnel_value br[FUNNEL_STEPS_MAX], size;
	struct funnel_forecast_in in;
	struct funnel_forecast fc;
	size_t last = role->funnel[role->nfunnel - 1];
	cJSON *o = cJSON_CreateObject(), *list;

	cJSON_AddStringToObject(o, "rep_id", r->rep->rep->id);
	cJSON_AddStringToObject(o, "team_id", r->rep->team->id);
	cJSON_AddStringToObject(o, "role", role->name);
	add_steps(q, o, role, &fd->win, &fd->cur);
	funnel_rep_conversions(&fd->win, &g->win, &p, conv);
	funnel_rates(&fd->cur, br);
	list = cJSON_AddArrayToObject(o, "conversions");
	for (size_t i = 0; i + 1 < role->nfunnel; i++) {
		cJSON *c = conv_json(q, role, i, &conv[i].rep, &br[i]);

		add_opt(c, "team_window_rate", &conv[i].team);
		add_opt(c, "rate_used", &conv[i].used);
		add_name(c, "rate_source", funnel_source_name(conv[i].source));
		cJSON_AddBoolToObject(c, "below_team", conv[i].below_team);
		cJSON_AddItemToArray(list, c);
	}
	size = funnel_deal_size(&fd->win);
	if (!size.has)
		size = funnel_deal_size(&g->win);
	if (cfg->funnel.has_revenue)
		add_opt(o, "avg_deal_size", &(struct funnel_value){ size.has,
		    funnel_money(size.v) });
	else
		cJSON_AddNullToObject(o, "avg_deal_size");

	/* The bucket's working time and the targets in force. */
	memset(actual, 0, cfg->nkpis * sizeof(double));
	for (size_t i = 0; i < role->nfunnel; i++)
		actual[role->funnel[i]] = fd->cur.step[i];
	if (cfg->funnel.has_revenue)
		actual[cfg->funnel.revenue_kpi] = fd->cur.revenue;
	scorecard_compute(cfg, r->rep, q->period, q->at_ms, actual, card);
	memset(&in, 0, sizeof(in));
	in.n = role->nfunnel;
	in.top_so_far = fd->cur.step[0];
	in.elapsed_fraction = pacing_worktime_fraction(&card->wt);
	for (size_t i = 0; i + 1 < role->nfunnel; i++)
		in.rate[i] = conv[i].used;
	in.deal_size = cfg->funnel.has_revenue ? size :
	    (struct funnel_value){ false, 0 };
	if (cfg->funnel.has_revenue &&
	    card->kpis[cfg->funnel.revenue_kpi].has_target) {
		in.target_kind = FUNNEL_TARGET_REVENUE;
		in.target = card->kpis[cfg->funnel.revenue_kpi].fig.target;
	} else if (card->kpis[last].has_target) {
		in.target_kind = FUNNEL_TARGET_DEALS;
		in.target = card->kpis[last].fig.target;
	}
	funnel_forecast(&in, &fc);
	funnel_forecast_add(&g->fc, &fc);
	add_forecast(q, o, role, &fc, true, in.elapsed_fraction);
	return o;
}

/* A group's entry: its role, counts, rates and summed forecast. */
static cJSON *
group_json(const struct freq *q, size_t role_i,
    const struct funnel_counts *win, const struct funnel_counts *cur,
    const struct funnel_forecast *fc)
{
	const struct config_role *role = &q->cfg->roles[role_i];
	struct funnel_value wr[FUNNEL_STEPS_MAX], br[FUNNEL_STEPS_MAX], size;
	cJSON *o = cJSON_CreateObject(), *list;

	cJSON_AddStringToObject(o, "role", role->name);
	add_steps(q, o, role, win, cur);
	funnel_rates(win, wr);
	funnel_rates(cur, br);
	list = cJSON_AddArrayToObject(o, "conversions");
	for (size_t i = 0; i + 1 < role->nfunnel; i++)
		cJSON_AddItemToArray(list, conv_json(q, role, i, &wr[i],
		    &br[i]));
	size = funnel_deal_size(win);
	if (q->cfg->funnel.has_revenue)
		add_opt(o, "avg_deal_size", &(struct funnel_value){ size.has,
		    funnel_money(size.v) });
	else
		cJSON_AddNullToObject(o, "avg_deal_size");
	add_forecast(q, o, role, fc, false, 0);
	return o;
}

static void
counts_add(struct funnel_counts *sum, const struct funnel_counts *c)
{
	sum->n = c->n;
	for (size_t i = 0; i < c->n; i++)
		sum->step[i] += c->step[i];
	sum->revenue += c->revenue;
}

/* The groups of team t (config index), each role once, into arr. */
static cJSON *
team_groups_json(const struct freq *q, size_t t)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < q->ngroups; i++)
		if (q->groups[i].team == t)
			cJSON_AddItemToArray(arr, group_json(q,
			    q->groups[i].role, &q->groups[i].win,
			    &q->groups[i].cur, &q->groups[i].fc));
	return arr;
}

/* The org's groups: per role, the sums of its teams' groups. */
static cJSON *
org_groups_json(const struct freq *q)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t role = 0; role < q->cfg->nroles; role++) {
		struct funnel_counts win, cur;
		struct funnel_forecast fc;
		bool any = false;

		memset(&win, 0, sizeof(win));
		memset(&cur, 0, sizeof(cur));
		memset(&fc, 0, sizeof(fc));
		for (size_t i = 0; i < q->ngroups; i++) {
			const struct fgroup *g = &q->groups[i];

			if (g->role != role)
				continue;
			any = true;
			counts_add(&win, &g->win);
			counts_add(&cur, &g->cur);
			funnel_forecast_add(&fc, &g->fc);
		}
		if (any)
			cJSON_AddItemToArray(arr, group_json(q, role, &win,
			    &cur, &fc));
	}
	return arr;
}

static void
answer(struct freq *q)
{
	const struct config *cfg = q->cfg;
	double *actual = xcalloc(cfg->nkpis + 1, sizeof(double));
	struct scorecard card;
	cJSON *o = cJSON_CreateObject(), *reps = cJSON_CreateArray();
	cJSON *one = NULL;
	const struct frep *first = q->nreps > 0 ? &q->reps[0] : NULL;
	int32_t today = q->nreps > 0 ? q->rd.reps[0].last_day : 0;
	char ts[40];

	card.kpis = xcalloc(cfg->nkpis + 1, sizeof(*card.kpis));
	for (size_t m = 0; m < q->nreps; m++) {
		struct fgroup *g = &q->groups[q->reps[m].group];

		counts_add(&g->win, &q->rd.reps[m].win);
		counts_add(&g->cur, &q->rd.reps[m].cur);
	}
	for (size_t m = 0; m < q->nreps; m++) {
		cJSON *r = rep_json(q, m, &card, actual);

		if (q->scope == HTTP_FUNNEL_REP &&
		    strcmp(q->reps[m].rep->rep->id, q->id) == 0) {
			first = &q->reps[m];
			today = q->rd.reps[m].last_day;
			one = r;
		} else
			cJSON_AddItemToArray(reps, r);
	}
	if (one != NULL) {
		cJSON_Delete(o);
		o = one;
		one = NULL;
	} else if (q->scope == HTTP_FUNNEL_TEAM)
		cJSON_AddStringToObject(o, "team_id", q->id);
	cJSON_AddStringToObject(o, "period", caltime_period_name(q->period));
	if (q->scope != HTTP_FUNNEL_ORG && first != NULL) {
		add_time(o, "period_start", first->rep,
		    first->bucket.start_ms);
		add_time(o, "period_end", first->rep, first->bucket.end_ms);
		add_time(o, "at", first->rep, q->at_ms);
	} else {
		caltime_format_local(q->at_ms, 0, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "at", ts);
	}
	cJSON_AddNumberToObject(o, "window_days", q->window_days);
	if (q->scope != HTTP_FUNNEL_ORG && first != NULL) {
		add_date(o, "window_from", today - q->window_days + 1);
		add_date(o, "window_to", today);
	}
	cJSON_AddNumberToObject(o, "min_volume",
	    (double)cfg->funnel.min_volume);
	cJSON_AddNumberToObject(o, "coaching_below",
	    cfg->funnel.coaching_below);
	if (q->scope == HTTP_FUNNEL_TEAM) {
		cJSON_AddNumberToObject(o, "reps_count", (double)q->nreps);
		cJSON_AddItemToObject(o, "funnels", team_groups_json(q,
		    q->nreps > 0 ? q->reps[0].rep->team - cfg->teams : 0));
		cJSON_AddItemToObject(o, "reps", reps);
		reps = NULL;
	} else if (q->scope == HTTP_FUNNEL_ORG) {
		cJSON *teams;

		cJSON_AddNumberToObject(o, "reps_count", (double)q->nreps);
		cJSON_AddItemToObject(o, "funnels", org_groups_json(q));
		teams = cJSON_AddArrayToObject(o, "teams");
		for (size_t t = 0; t < cfg->nteams; t++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "team_id", cfg->teams[t].id);
			cJSON_AddItemToObject(e, "funnels",
			    team_groups_json(q, t));
			cJSON_AddItemToArray(teams, e);
		}
	}
	cJSON_Delete(reps);
	reply_json(q->f, q->req, 200, o);
	cJSON_Delete(o);
	free(card.kpis);
	free(actual);
}

static int
team_index(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nteams; i++)
		if (strcmp(cfg->teams[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Adds rep to q's reps, in its team x role group. */
static void
add_rep(struct freq *q, const struct roster_rep *rep)
{
	const struct config *cfg = q->cfg;
	const struct config_role *role = role_of(q, rep);
	struct frep *r = &q->reps[q->nreps++];
	size_t team = (size_t)(rep->team - cfg->teams), g;

	r->rep = rep;
	scorecard_bucket(rep, q->period, q->at_ms, &r->bucket);
	funnel_read_add(&q->rd, role, rep->rep->id,
	    tzone_local_day(rep->zone, q->at_ms), r->bucket.start_day);
	for (g = 0; g < q->ngroups; g++)
		if (q->groups[g].team == team &&
		    q->groups[g].role == rep->rep->role)
			break;
	if (g == q->ngroups) {
		memset(&q->groups[g], 0, sizeof(q->groups[g]));
		q->groups[g].team = team;
		q->groups[g].role = rep->rep->role;
		q->ngroups++;
	}
	r->group = g;
}

void
http_funnel_route(struct http_funnel *f, struct evhttp_request *req,
    const struct http_request_route *rt)
{
	struct freq *q = xcalloc(1, sizeof(*q));
	const struct roster_rep *self = NULL;
	size_t total;
	int team = -1;

	q->req = req;
	q->scope = rt->funnel;
	q->cfg = *f->deps.cfg;
	q->roster = *f->deps.roster;
	q->period = rt->period;
	q->at_ms = rt->has_at ? rt->at_ms :
	    clock_now(owner_clock(f->deps.owner));
	q->window_days = (int32_t)(q->cfg->funnel.window_ms / DAY_MS);
	snprintf(q->id, sizeof(q->id), "%s", rt->rep_id);
	funnel_read_init(&q->rd, q->cfg, q->window_days, true, q->period);
	if (q->scope == HTTP_FUNNEL_REP) {
		if ((self = roster_rep(q->roster, q->id)) == NULL) {
			reply_error(f, req, 404, "rep not on the roster");
			goto bad;
		}
		if (role_of(q, self)->nfunnel == 0) {
			reply_error(f, req, 404, "the rep's role has no funnel "
			    "(roles.<role>.funnel)");
			goto bad;
		}
		team = (int)(self->team - q->cfg->teams);
	} else if (q->scope == HTTP_FUNNEL_TEAM &&
	    (team = team_index(q->cfg, q->id)) < 0) {
		reply_error(f, req, 404, "unknown team");
		goto bad;
	}
	total = roster_size(q->roster);
	q->reps = xcalloc(total + 1, sizeof(*q->reps));
	q->groups = xcalloc(total + 1, sizeof(*q->groups));
	for (size_t i = 0; i < total; i++) {
		const struct roster_rep *rep = roster_rep_at(q->roster, i);

		if (role_of(q, rep)->nfunnel == 0 ||
		    (team >= 0 && rep->team != &q->cfg->teams[team]) ||
		    (self != NULL && rep->rep->role != self->rep->role))
			continue;
		add_rep(q, rep);
	}
	if (q->nreps == 0) {
		q->f = f;
		answer(q);
		freq_free(q);
		return;
	}
	funnel_read_plan(&q->rd, q);
	freq_send(f, q);
	return;
bad:
	freq_free(q);
}

struct http_funnel *
http_funnel_new(const struct http_funnel_deps *deps)
{
	struct http_funnel *f = xcalloc(1, sizeof(*f));

	f->deps = *deps;
	TAILQ_INIT(&f->waiting);
	return f;
}

void
http_funnel_free(struct http_funnel *f)
{
	if (f == NULL)
		return;
	/* The replies still to come free what they hold. */
	api_read_orphan_all(&f->waiting);
	free(f);
}
