/*
 * http_boards.c: leaderboards, team scorecards and a manager's reps over
 * HTTP. A request names its scope and bucket; the routes work out which
 * keys hold the figures (the scope's boards of each bucket its reps are in,
 * or its reps' fields in their shards' counter hashes), send one command
 * per key, and answer
 * once every reply is in. The roster is the truth about who is on a board:
 * a rep of the scope missing from Redis has 0, a rep no longer on the
 * roster is left out. Percent of target, the activity score and "most
 * improved" are computed here from the values and the targets in force
 * (scorecard.c), so a change of targets shows at once and nothing of them
 * is stored.
 *
 * A reload may swap the config and roster while a request waits: the
 * request then answers 503 (retry) rather than mix two rosters.
 *
 * Commands go to the API's read connection through http.c's read gate
 * (read_gate.h): with every other route's reads, at most a few in flight,
 * the rest waiting in order.
 */
#include "http_boards.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "api_read.h"
#include "board.h"
#include "caltime.h"
#include "decode.h"
#include "jsontext.h"
#include "owner.h"
#include "keys.h"
#include "read_gate.h"
#include "redis_conn.h"
#include "scorecard.h"
#include "xmalloc.h"

#define LIMIT_DEFAULT	10
#define LIMIT_MAX	1000
#define ACTIVITY_SCORE	"activity_score"

enum breq_kind { BREQ_BOARD, BREQ_TEAM, BREQ_MANAGER };
enum board_by { BY_VALUE, BY_PERCENT, BY_IMPROVED };

/* One command of a request and how its reply is read. */
struct bcmd {
	struct breq *q;
	bool zset;		/* ZRANGE WITHSCORES, else HMGET counters */
	size_t kpi;		/* zset: the KPI of the board */
	int which;		/* zset: 0 current bucket, 1 previous */
	int32_t day;		/* the bucket's first day */
	size_t shard;		/* counters: the shard; its reps' fields */
};

struct breq {
	struct api_read ar;		/* first: the reads' life */
	struct http_boards *b;		/* valid until ar is orphaned */
	struct evhttp_request *req;
	enum breq_kind kind;
	const struct config *cfg;	/* as at the request, not dereferenced */
	const struct roster *roster;	/* after a reload */
	enum period period;
	int64_t at_ms;
	char scope[BOARD_SCOPE_MAX];
	char id[BOARD_SCOPE_MAX];	/* team or manager */
	int kpi;			/* -1: the activity score */
	enum board_by by;
	long limit;
	bool v1;			/* the read contract v1 form */
	/* the reps, with the first day of their current and previous bucket */
	const struct roster_rep **reps;
	int32_t (*day)[2];
	int *shard;			/* each rep's counter shard */
	size_t nreps;
	double *val[2];			/* nreps x nkpis, current and previous */
	struct bcmd *cmds;
	size_t ncmds;
};

struct http_boards {
	struct http_boards_deps deps;
	struct api_read_list waiting;
};

static void
reply_json(struct http_boards *b, struct evhttp_request *req, int code,
    cJSON *obj)
{
	struct evbuffer *buf = jsontext_body(obj);

	b->deps.reply(req, code, buf, b->deps.reply_arg);
	evbuffer_free(buf);
}

static void
reply_error(struct http_boards *b, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *buf = jsontext_error_body(msg);

	b->deps.reply(req, code, buf, b->deps.reply_arg);
	evbuffer_free(buf);
}

static void
breq_free(struct breq *q)
{
	free(q->reps);
	free(q->day);
	free(q->shard);
	free(q->val[0]);
	free(q->val[1]);
	free(q->cmds);
	free(q);
}

static int
rep_cmp(const void *a, const void *b)
{
	const struct roster_rep *const *x = a, *const *y = b;

	return strcmp((*x)->rep->id, (*y)->rep->id);
}

/* The index of rep id in q->reps (sorted by id), or -1. */
static ssize_t
rep_find(const struct breq *q, const char *id, size_t len)
{
	size_t lo = 0, hi = q->nreps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *m = q->reps[mid]->rep->id;
		int c = strncmp(m, id, len);

		if (c == 0 && m[len] != '\0')
			c = 1;
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void
add_cmd(struct breq *q, bool zset, size_t kpi, int which, int32_t day,
    size_t shard)
{
	for (size_t i = 0; i < q->ncmds; i++) {
		struct bcmd *c = &q->cmds[i];

		if (c->zset == zset && c->kpi == kpi && c->which == which &&
		    c->day == day && c->shard == shard)
			return;
	}
	q->cmds = xreallocarray(q->cmds, q->ncmds + 1, sizeof(*q->cmds));
	q->cmds[q->ncmds] = (struct bcmd){ q, zset, kpi, which, day, shard };
	q->ncmds++;
}

static double
reply_number(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return (double)r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtod(r->str, NULL);
	return 0;
}

/* True when rep m's field is in counters command c (HMGET order: the
 * request's reps in order, each with every KPI). */
static bool
cmd_holds(const struct bcmd *c, size_t m)
{
	return c->q->shard[m] == (int)c->shard && c->q->day[m][0] == c->day;
}

/* A reply into q's values. */
static void
cmd_read(struct bcmd *c, const redisReply *r)
{
	struct breq *q = c->q;
	size_t nk = q->cfg->nkpis;

	if (!c->zset) {
		size_t j = 0;

		for (size_t m = 0; m < q->nreps; m++) {
			if (!cmd_holds(c, m))
				continue;
			for (size_t k = 0; k < nk && j < r->elements; k++, j++)
				if (r->element[j]->type == REDIS_REPLY_STRING)
					q->val[0][m * nk + k] =
					    reply_number(r->element[j]);
		}
		return;
	}
	for (size_t j = 0; j + 1 < r->elements; j += 2) {
		const redisReply *f = r->element[j], *v = r->element[j + 1];
		ssize_t m;

		if (f->type != REDIS_REPLY_STRING)
			continue;
		if ((m = rep_find(q, f->str, f->len)) < 0 ||
		    q->day[m][c->which] != c->day)
			continue;
		q->val[c->which][(size_t)m * c->q->cfg->nkpis + c->kpi] =
		    reply_number(v);
	}
}

static void answer(struct breq *q);

/* True when a reload swapped the config or roster q was built from:
 * its pointers into them may be gone. */
static bool
ar_reloaded(const struct api_read *ar)
{
	const struct breq *q = (const struct breq *)ar;

	return *q->b->deps.cfg != q->cfg || *q->b->deps.roster != q->roster;
}

static bool
ar_take(struct api_read *ar, void *cmd, const redisReply *r)
{
	(void)ar;
	if (r->type != REDIS_REPLY_ARRAY)
		return false;
	cmd_read(cmd, r);
	return true;
}

static void
ar_answer(struct api_read *ar)
{
	answer((struct breq *)ar);
}

static void
ar_error(struct api_read *ar, int code, const char *msg)
{
	struct breq *q = (struct breq *)ar;

	reply_error(q->b, q->req, code, msg);
}

static void
ar_free(struct api_read *ar)
{
	breq_free((struct breq *)ar);
}

static const struct api_read_ops breq_ops = {
	ar_take, ar_reloaded, ar_answer, ar_error, ar_free
};

/* Sends q's commands; on failure answers 503 and frees q. */
static void
breq_send(struct http_boards *b, struct breq *q)
{
	struct redis_argv *v;

	q->b = b;
	if (q->ncmds == 0) {
		answer(q);
		breq_free(q);
		return;
	}
	if (!read_gate_up(b->deps.gate)) {
		reply_error(b, q->req, 503, "redis unavailable");
		breq_free(q);
		return;
	}
	api_read_begin(&q->ar, &breq_ops, &b->waiting);
	v = redis_argv_new();
	for (size_t i = 0; i < q->ncmds; i++) {
		struct bcmd *c = &q->cmds[i];

		redis_argv_reset(v);
		if (c->zset) {
			redis_argv_str(v, "ZRANGE");
			redis_argv_take(v, keys_board(q->cfg, q->scope,
			    q->cfg->kpis[c->kpi].name, q->period, c->day));
			redis_argv_str(v, "0");
			redis_argv_str(v, "-1");
			redis_argv_str(v, "WITHSCORES");
		} else {
			redis_argv_str(v, "HMGET");
			redis_argv_take(v, keys_shard_counters(q->cfg,
			    (int)c->shard, q->period, c->day));
			for (size_t m = 0; m < q->nreps; m++) {
				if (!cmd_holds(c, m))
					continue;
				for (size_t k = 0; k < q->cfg->nkpis; k++)
					redis_argv_take(v, keys_counter_field(
					    q->reps[m]->rep->id,
					    q->cfg->kpis[k].name));
			}
		}
		api_read_send(&q->ar, b->deps.gate, v, c);
	}
	redis_argv_free(v);
	api_read_end(&q->ar);
}

static void
add_opt(cJSON *o, const char *name, bool has, double v)
{
	if (has)
		cJSON_AddNumberToObject(o, name, v);
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

static const char *
by_name(enum board_by by, bool v1)
{
	return by == BY_VALUE ? "value" : by == BY_IMPROVED ? "improved" :
	    v1 ? "percent_to_target" : "percent";
}

/* A rep's line of a board, before ranking. */
struct bline {
	double value, target, percent, prev, prev_at_share, share;
	bool has_target;
};

static void
answer_board(struct breq *q)
{
	const struct config *cfg = q->cfg;
	size_t nk = cfg->nkpis, n = 0;
	struct board_entry *e = xcalloc(q->nreps + 1, sizeof(*e));
	struct bline *l = xcalloc(q->nreps + 1, sizeof(*l));
	struct scorecard card;
	double *pct = xcalloc(nk + 1, sizeof(double));
	cJSON *o = cJSON_CreateObject(), *list;
	char ts[40];
	bool lower = q->kpi >= 0 && cfg->kpis[q->kpi].better ==
	    KPI_BETTER_LOWER;

	card.kpis = xcalloc(nk + 1, sizeof(*card.kpis));
	for (size_t m = 0; m < q->nreps; m++) {
		const struct roster_rep *rep = q->reps[m];
		const double *cur = &q->val[0][m * nk];
		struct bline *bl = &l[n];

		scorecard_compute(cfg, rep, q->period, q->at_ms, cur, &card);
		if (q->kpi < 0) {
			for (size_t k = 0; k < nk; k++)
				pct[k] = card.kpis[k].has_target ?
				    board_percent(cur[k],
				    card.kpis[k].fig.target) : -1;
			bl->value = board_activity_score(cfg, rep->rep->role,
			    pct);
			if (bl->value < 0)
				continue;	/* the role has no score */
		} else {
			const struct scorecard_kpi *sk = &card.kpis[q->kpi];

			bl->value = cur[q->kpi];
			bl->has_target = sk->has_target;
			bl->target = sk->fig.target;
			bl->percent = sk->has_target ?
			    board_percent(bl->value, sk->fig.target) : -1;
			bl->share = pacing_worktime_fraction(&card.wt);
			bl->prev = q->val[1][m * nk + q->kpi];
			bl->prev_at_share = bl->prev * bl->share;
		}
		e[n].rep_id = rep->rep->id;
		e[n].index = m;
		e[n].has_key = true;
		e[n].key = q->by == BY_VALUE ? bl->value : q->by == BY_IMPROVED ?
		    bl->value - bl->prev_at_share : bl->percent;
		if (q->by == BY_PERCENT && bl->percent < 0)
			e[n].has_key = false;
		n++;
	}
	/* l[i] goes with e[i]: sorting e moves it, so carry l by rep. */
	{
		struct bline *byrep = xcalloc(q->nreps + 1, sizeof(*byrep));

		for (size_t i = 0; i < n; i++)
			byrep[e[i].index] = l[i];
		board_rank(e, n, lower);
		for (size_t i = 0; i < n; i++)
			l[i] = byrep[e[i].index];
		free(byrep);
	}
	cJSON_AddStringToObject(o, "scope", q->scope);
	cJSON_AddStringToObject(o, "kpi", q->kpi < 0 ? ACTIVITY_SCORE :
	    cfg->kpis[q->kpi].name);
	cJSON_AddStringToObject(o, "period", caltime_period_name(q->period));
	cJSON_AddStringToObject(o, q->v1 ? "rank_by" : "by",
	    by_name(q->by, q->v1));
	caltime_format_local(q->at_ms, 0, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "at", ts);
	cJSON_AddNumberToObject(o, "size", (double)n);
	list = cJSON_AddArrayToObject(o, "entries");
	for (size_t i = 0; i < n && (long)i < q->limit; i++) {
		const struct roster_rep *rep = q->reps[e[i].index];
		const struct bline *bl = &l[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "rank", (double)e[i].rank);
		cJSON_AddBoolToObject(x, "tied", e[i].tied);
		cJSON_AddStringToObject(x, "rep_id", rep->rep->id);
		cJSON_AddStringToObject(x, "team_id", rep->team->id);
		if (q->kpi < 0) {
			cJSON_AddStringToObject(x, "role", rep->role->name);
			cJSON_AddNumberToObject(x, "score", bl->value);
		} else {
			cJSON_AddNumberToObject(x, "value", bl->value);
			add_opt(x, "target", bl->has_target, bl->target);
			add_opt(x, "percent_to_target", bl->percent >= 0,
			    bl->percent);
		}
		if (q->by == BY_IMPROVED) {
			cJSON_AddNumberToObject(x, "previous_value", bl->prev);
			cJSON_AddNumberToObject(x, "elapsed_fraction",
			    bl->share);
			cJSON_AddNumberToObject(x, "previous_at_share",
			    bl->prev_at_share);
			cJSON_AddNumberToObject(x, "improvement",
			    bl->value - bl->prev_at_share);
		}
		cJSON_AddItemToArray(list, x);
	}
	reply_json(q->b, q->req, 200, o);
	cJSON_Delete(o);
	free(card.kpis);
	free(pct);
	free(l);
	free(e);
}

static void
add_kpi_figures(cJSON *e, const struct config_kpi *kpi, double actual,
    bool has_target, const struct pacing_figures *f)
{
	cJSON_AddStringToObject(e, "kpi", kpi->name);
	cJSON_AddNumberToObject(e, "actual", actual);
	add_opt(e, "target", has_target, f->target);
	add_opt(e, "expected_to_date", has_target, f->expected_to_date);
	add_opt(e, "pace", has_target && f->has_pace, f->pace);
	add_opt(e, "projected", has_target && f->has_projected, f->projected);
	add_opt(e, "required_rate", has_target && f->has_required_rate,
	    f->required_rate);
	add_opt(e, "percent_to_target", has_target && f->target > 0,
	    board_percent(actual, f->target));
	if (has_target)
		cJSON_AddStringToObject(e, "status",
		    pacing_status_name(f->status));
	else
		cJSON_AddNullToObject(e, "status");
}

/*
 * A team's figures: the sums of its reps' actuals and targets (each
 * target as in force for the rep, out-of-office days prorated), run
 * through the pacing math over the team calendar's working time.
 */
static void
answer_team(struct breq *q)
{
	const struct config *cfg = q->cfg;
	size_t nk = cfg->nkpis;
	double *act = xcalloc(nk + 1, sizeof(double));
	double *tgt = xcalloc(nk + 1, sizeof(double));
	bool *has = xcalloc(nk + 1, sizeof(bool));
	struct scorecard card;
	cJSON *o = cJSON_CreateObject(), *kpis, *reps;

	card.kpis = xcalloc(nk + 1, sizeof(*card.kpis));
	cJSON_AddStringToObject(o, "team_id", q->id);
	cJSON_AddStringToObject(o, "period", caltime_period_name(q->period));
	reps = cJSON_CreateArray();
	for (size_t m = 0; m < q->nreps; m++) {
		const double *cur = &q->val[0][m * nk];
		cJSON *r = cJSON_CreateObject(), *a;

		scorecard_compute(cfg, q->reps[m], q->period, q->at_ms, cur,
		    &card);
		cJSON_AddStringToObject(r, "rep_id", q->reps[m]->rep->id);
		a = cJSON_AddObjectToObject(r, "actual");
		for (size_t k = 0; k < nk; k++) {
			act[k] += cur[k];
			if (card.kpis[k].has_target) {
				has[k] = true;
				tgt[k] += card.kpis[k].fig.target;
			}
			cJSON_AddNumberToObject(a, cfg->kpis[k].name, cur[k]);
		}
		cJSON_AddItemToArray(reps, r);
	}
	cJSON_AddNumberToObject(o, "reps_count", (double)q->nreps);
	if (q->nreps > 0) {
		const struct roster_rep *rep = q->reps[0];
		struct pacing_calendar cal;
		struct pacing_absence none = { NULL, 0 };
		struct pacing_thresholds th = {
			.ahead_above = cfg->alerts.ahead_above,
			.warning_below = cfg->alerts.warning_below,
			.critical_below = cfg->alerts.critical_below,
		};
		struct pacing_worktime wt;

		if (th.ahead_above < th.warning_below)
			th.ahead_above = PACING_AHEAD_ABOVE;
		scorecard_calendar(rep->calendar, &cal);
		scorecard_bucket(rep, q->period, q->at_ms, &card.bucket);
		pacing_worktime(&cal, &none, rep->zone, &card.bucket, q->at_ms,
		    &wt);
		add_time(o, "period_start", rep, card.bucket.start_ms);
		add_time(o, "period_end", rep, card.bucket.end_ms);
		add_time(o, "at", rep, q->at_ms);
		cJSON_AddNumberToObject(o, "elapsed_fraction",
		    pacing_worktime_fraction(&wt));
		kpis = cJSON_AddArrayToObject(o, "kpis");
		for (size_t k = 0; k < nk; k++) {
			struct pacing_figures f;
			cJSON *e = cJSON_CreateObject();

			memset(&f, 0, sizeof(f));
			if (has[k])
				pacing_evaluate(act[k], tgt[k],
				    cfg->kpis[k].better == KPI_BETTER_LOWER ?
				    PACING_LOWER_IS_BETTER :
				    PACING_HIGHER_IS_BETTER, &wt, &th, &f);
			add_kpi_figures(e, &cfg->kpis[k], act[k], has[k], &f);
			cJSON_AddItemToArray(kpis, e);
		}
	} else {
		cJSON_AddArrayToObject(o, "kpis");
	}
	cJSON_AddItemToObject(o, "reps", reps);
	reply_json(q->b, q->req, 200, o);
	cJSON_Delete(o);
	free(card.kpis);
	free(act);
	free(tgt);
	free(has);
}

/* Every rep under a manager, each with its scorecard figures. */
static void
answer_manager(struct breq *q)
{
	const struct config *cfg = q->cfg;
	size_t nk = cfg->nkpis;
	struct scorecard card;
	cJSON *o = cJSON_CreateObject(), *reps;

	card.kpis = xcalloc(nk + 1, sizeof(*card.kpis));
	cJSON_AddStringToObject(o, "manager_id", q->id);
	cJSON_AddStringToObject(o, "period", caltime_period_name(q->period));
	cJSON_AddNumberToObject(o, "reps_count", (double)q->nreps);
	reps = cJSON_AddArrayToObject(o, "reps");
	for (size_t m = 0; m < q->nreps; m++) {
		const struct roster_rep *rep = q->reps[m];
		const double *cur = &q->val[0][m * nk];
		cJSON *r = cJSON_CreateObject(), *kpis;

		scorecard_compute(cfg, rep, q->period, q->at_ms, cur, &card);
		cJSON_AddStringToObject(r, "rep_id", rep->rep->id);
		cJSON_AddStringToObject(r, "team_id", rep->team->id);
		cJSON_AddStringToObject(r, "role", rep->role->name);
		if (rep->manager != NULL)
			cJSON_AddStringToObject(r, "manager_id", rep->manager);
		else
			cJSON_AddNullToObject(r, "manager_id");
		cJSON_AddBoolToObject(r, "direct", rep->manager != NULL &&
		    strcmp(rep->manager, q->id) == 0);
		add_time(r, "period_start", rep, card.bucket.start_ms);
		add_time(r, "period_end", rep, card.bucket.end_ms);
		kpis = cJSON_AddArrayToObject(r, "kpis");
		for (size_t k = 0; k < nk; k++) {
			cJSON *e = cJSON_CreateObject();

			add_kpi_figures(e, &cfg->kpis[k], cur[k],
			    card.kpis[k].has_target, &card.kpis[k].fig);
			cJSON_AddItemToArray(kpis, e);
		}
		cJSON_AddItemToArray(reps, r);
	}
	reply_json(q->b, q->req, 200, o);
	cJSON_Delete(o);
	free(card.kpis);
}

static void
answer(struct breq *q)
{
	if (q->kind == BREQ_BOARD)
		answer_board(q);
	else if (q->kind == BREQ_TEAM)
		answer_team(q);
	else
		answer_manager(q);
}

/*
 * The reps of q's scope (sorted by id) and, for each, the first day of
 * its current and previous bucket; then the commands that read them.
 */
static void
gather_reps(struct breq *q, const struct board_scope *sc)
{
	const struct config *cfg = q->cfg;
	size_t total = roster_size(q->roster), nk = cfg->nkpis;

	q->reps = xcalloc(total + 1, sizeof(*q->reps));
	for (size_t i = 0; i < total; i++) {
		const struct roster_rep *rep = roster_rep_at(q->roster, i);

		if (board_in_scope(cfg, rep, sc))
			q->reps[q->nreps++] = rep;
	}
	if (q->nreps > 1)
		qsort(q->reps, q->nreps, sizeof(*q->reps), rep_cmp);
	q->day = xcalloc(q->nreps + 1, sizeof(*q->day));
	q->shard = xcalloc(q->nreps + 1, sizeof(*q->shard));
	for (size_t m = 0; m < q->nreps; m++)
		q->shard[m] = keys_shard_of(cfg, q->reps[m]->rep->id);
	q->val[0] = xcalloc(q->nreps * nk + 1, sizeof(double));
	q->val[1] = xcalloc(q->nreps * nk + 1, sizeof(double));
	for (size_t m = 0; m < q->nreps; m++) {
		const struct roster_rep *rep = q->reps[m];
		struct bucket cur, prev;

		scorecard_bucket(rep, q->period, q->at_ms, &cur);
		caltime_bucket_of_day(&rep->calendar->rules, q->period,
		    cur.start_day - 1, &prev);
		q->day[m][0] = cur.start_day;
		q->day[m][1] = prev.start_day;
		if (q->kind != BREQ_BOARD) {
			add_cmd(q, false, 0, 0, cur.start_day,
			    (size_t)q->shard[m]);
			continue;
		}
		for (size_t k = 0; k < nk; k++) {
			if (q->kpi >= 0 ? k != (size_t)q->kpi :
			    !board_score_weighs(cfg, rep->rep->role, k))
				continue;
			add_cmd(q, true, k, 0, cur.start_day, 0);
			if (q->by == BY_IMPROVED)
				add_cmd(q, true, k, 1, prev.start_day, 0);
		}
	}
}

/* True when some team, rep or managers entry names manager id. */
static bool
manager_known(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nmanagers; i++)
		if (cfg->managers[i].id != NULL &&
		    strcmp(cfg->managers[i].id, id) == 0)
			return true;
	for (size_t i = 0; i < cfg->nteams; i++)
		if (cfg->teams[i].manager != NULL &&
		    strcmp(cfg->teams[i].manager, id) == 0)
			return true;
	for (size_t i = 0; i < cfg->nreps; i++)
		if (cfg->reps[i].manager != NULL &&
		    strcmp(cfg->reps[i].manager, id) == 0)
			return true;
	return false;
}

static int
team_index(const struct config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->nteams; i++)
		if (strcmp(cfg->teams[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int
role_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nroles; i++)
		if (strcmp(cfg->roles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* period and at of the query into q; else answers 400 and returns -1. */
static int
parse_common(struct http_boards *b, struct evhttp_request *req,
    struct evkeyvalq *qs, struct breq *q)
{
	const char *ps = evhttp_find_header(qs, "period");
	const char *at = evhttp_find_header(qs, "at");

	q->period = PERIOD_DAY;
	if (ps != NULL && caltime_period_parse(ps, &q->period) != 0) {
		reply_error(b, req, 400,
		    "period must be day, week, month or quarter");
		return -1;
	}
	q->at_ms = clock_now(owner_clock(b->deps.owner));
	if (at != NULL && caltime_parse_rfc3339(at, strlen(at), &q->at_ms) !=
	    0) {
		reply_error(b, req, 400, "at must be RFC 3339 with an offset");
		return -1;
	}
	return 0;
}

/* A role or manager scope: 404 with unknown when the id is not known,
 * with off when its grouping has no boards; else 0. */
static int
grouping_check(struct http_boards *b, struct evhttp_request *req,
    bool known, const char *unknown, bool on, const char *off)
{
	if (!known || !on) {
		reply_error(b, req, 404, !known ? unknown : off);
		return -1;
	}
	return 0;
}

/* Checks scope sc against cfg; answers 4xx and returns -1 when bad. */
static int
scope_check(struct http_boards *b, struct evhttp_request *req,
    const struct config *cfg, const struct board_scope *sc)
{
	switch (sc->kind) {
	case BOARD_ORG:
		return 0;
	case BOARD_TEAM:
		if (team_index(cfg, sc->id) >= 0)
			return 0;
		reply_error(b, req, 404, "unknown team");
		return -1;
	case BOARD_ROLE:
		return grouping_check(b, req, role_index(cfg, sc->id) >= 0,
		    "unknown role", cfg->boards.grouping[BOARD_GROUP_ROLE],
		    "no role boards: leaderboards.groupings leaves out role");
	case BOARD_MANAGER:
		return grouping_check(b, req, manager_known(cfg, sc->id),
		    "unknown manager", cfg->boards.grouping[BOARD_GROUP_MANAGER],
		    "no manager boards: leaderboards.groupings leaves out "
		    "manager");
	case BOARD_GROUP:
		if (!board_grouping_listed(cfg, sc->group)) {
			reply_error(b, req, 404, "unknown grouping: "
			    "leaderboards.groupings does not name it");
			return -1;
		}
		for (size_t i = 0; i < cfg->nreps; i++) {
			const char *v = board_rep_group(&cfg->reps[i],
			    sc->group);

			if (v != NULL && strcmp(v, sc->id) == 0)
				return 0;
		}
		reply_error(b, req, 404, "no rep on the roster is in that group");
		return -1;
	}
	return -1;
}

/* A new request of kind for req, its query parsed into qs (clear with
 * breq_close). Returns owned. */
static struct breq *
breq_open(struct http_boards *b, struct evhttp_request *req,
    enum breq_kind kind, struct evkeyvalq *qs)
{
	const char *uq = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct breq *q = xcalloc(1, sizeof(*q));

	evhttp_parse_query_str(uq != NULL ? uq : "", qs);
	q->req = req;
	q->kind = kind;
	q->cfg = *b->deps.cfg;
	q->roster = *b->deps.roster;
	return q;
}

/* Clears qs; sends q (taken) for the reps of sc, or frees it when sc is
 * NULL (the request was answered with an error). */
static void
breq_close(struct http_boards *b, struct breq *q, struct evkeyvalq *qs,
    const struct board_scope *sc)
{
	evhttp_clear_headers(qs);
	if (sc == NULL) {
		breq_free(q);
		return;
	}
	gather_reps(q, sc);
	q->b = b;
	breq_send(b, q);
}

static void
route_board(struct http_boards *b, struct evhttp_request *req,
    const char *scope, const char *kpi, bool v1)
{
	const struct config *cfg = *b->deps.cfg;
	struct evkeyvalq qs;
	const char *s;
	struct board_scope sc;
	struct breq *q = breq_open(b, req, BREQ_BOARD, &qs);
	char *end;

	q->v1 = v1;
	if (parse_common(b, req, &qs, q) != 0)
		goto bad;
	if (v1 && (s = evhttp_find_header(&qs, "scope")) != NULL)
		scope = s;
	if (board_scope_parse(scope, &sc) != 0) {
		reply_error(b, req, 400, "scope must be org, team:ID, role:NAME, "
		    "manager:ID or GROUPING:VALUE");
		goto bad;
	}
	if (scope_check(b, req, cfg, &sc) != 0)
		goto bad;
	board_scope_name(&sc, q->scope, sizeof(q->scope));
	s = evhttp_find_header(&qs, v1 ? "rank_by" : "by");
	if (s == NULL || strcmp(s, "value") == 0)
		q->by = BY_VALUE;
	else if (strcmp(s, v1 ? "percent_to_target" : "percent") == 0)
		q->by = BY_PERCENT;
	else if (!v1 && strcmp(s, "improved") == 0)
		q->by = BY_IMPROVED;
	else {
		reply_error(b, req, 400, v1 ? "rank_by must be value or "
		    "percent_to_target" : "by must be value, percent or "
		    "improved");
		goto bad;
	}
	q->limit = LIMIT_DEFAULT;
	if ((s = evhttp_find_header(&qs, "limit")) != NULL) {
		q->limit = strtol(s, &end, 10);
		if (*s == '\0' || *end != '\0' || q->limit < 1 ||
		    q->limit > LIMIT_MAX) {
			reply_error(b, req, 400, "limit must be an integer "
			    "from 1 to 1000");
			goto bad;
		}
	}
	if (strcmp(kpi, ACTIVITY_SCORE) == 0 &&
	    config_kpi_index(cfg, kpi) < 0) {
		q->kpi = -1;
		if (cfg->boards.score_weights == NULL) {
			reply_error(b, req, 404, "no activity score: "
			    "leaderboards.activity_score.weights is not set");
			goto bad;
		}
		if (q->by != BY_VALUE) {
			reply_error(b, req, 400, "the activity score is "
			    "ranked by value only");
			goto bad;
		}
	} else if ((q->kpi = config_kpi_index(cfg, kpi)) < 0) {
		reply_error(b, req, 404, "unknown KPI");
		goto bad;
	}
	breq_close(b, q, &qs, &sc);
	return;
bad:
	breq_close(b, q, &qs, NULL);
}

static void
route_people(struct http_boards *b, struct evhttp_request *req,
    const char *id, enum breq_kind kind)
{
	const struct config *cfg = *b->deps.cfg;
	struct evkeyvalq qs;
	struct board_scope sc;
	struct breq *q = breq_open(b, req, kind, &qs);

	q->kpi = -1;
	if (parse_common(b, req, &qs, q) != 0)
		goto bad;
	memset(&sc, 0, sizeof(sc));
	sc.kind = kind == BREQ_TEAM ? BOARD_TEAM : BOARD_MANAGER;
	snprintf(sc.id, sizeof(sc.id), "%s", id);
	snprintf(q->id, sizeof(q->id), "%s", id);
	if (kind == BREQ_TEAM && team_index(cfg, id) < 0) {
		reply_error(b, req, 404, "unknown team");
		goto bad;
	}
	if (kind == BREQ_MANAGER && !manager_known(cfg, id)) {
		reply_error(b, req, 404, "unknown manager");
		goto bad;
	}
	breq_close(b, q, &qs, &sc);
	return;
bad:
	breq_close(b, q, &qs, NULL);
}

/*
 * Splits path (after "/v1/") into at most max percent-decoded segments
 * (owned, into seg); returns their number, or -1 when a segment is empty,
 * too long or not of the id charset (with ':' for scopes).
 */
static int
split_path(const char *path, char **seg, int max)
{
	int n = 0;

	while (*path != '\0') {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		char raw[3 * BOARD_SCOPE_MAX];
		size_t declen = 0;
		char *dec;

		if (n == max || len == 0 || len >= sizeof(raw))
			goto bad;
		memcpy(raw, path, len);
		raw[len] = '\0';
		if ((dec = evhttp_uridecode(raw, 0, &declen)) == NULL)
			goto bad;
		seg[n++] = dec;
		if (declen == 0 || declen >= BOARD_SCOPE_MAX ||
		    strspn(dec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789._@-:") != declen)
			goto bad;
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
bad:
	while (n > 0)
		free(seg[--n]);
	return -1;
}

bool
http_boards_route(struct http_boards *b, struct evhttp_request *req,
    const char *path)
{
	char *seg[4];
	int n;
	bool mine = true;

	if (strncmp(path, "/v1/leaderboards/", 17) != 0 &&
	    strncmp(path, "/v1/teams/", 10) != 0 &&
	    strncmp(path, "/v1/managers/", 13) != 0)
		return false;
	if ((n = split_path(path + 4, seg, 4)) < 0) {
		reply_error(b, req, 404, "no such endpoint (or a bad id)");
		return true;
	}
	if (strcmp(seg[0], "leaderboards") == 0 && n == 2)
		route_board(b, req, "org", seg[1], true);
	else if (strcmp(seg[0], "leaderboards") == 0 && n == 3)
		route_board(b, req, seg[1], seg[2], false);
	else if (strcmp(seg[0], "teams") == 0 && n == 3 &&
	    strcmp(seg[2], "scorecard") == 0)
		route_people(b, req, seg[1], BREQ_TEAM);
	else if (strcmp(seg[0], "managers") == 0 && n == 3 &&
	    strcmp(seg[2], "reps") == 0)
		route_people(b, req, seg[1], BREQ_MANAGER);
	else
		mine = false;
	if (!mine)
		reply_error(b, req, 404, "no such endpoint");
	while (n > 0)
		free(seg[--n]);
	return true;
}

struct http_boards *
http_boards_new(const struct http_boards_deps *deps)
{
	struct http_boards *b = xcalloc(1, sizeof(*b));

	b->deps = *deps;
	TAILQ_INIT(&b->waiting);
	return b;
}

void
http_boards_free(struct http_boards *b)
{
	if (b == NULL)
		return;
	/* The replies still to come free what they hold. */
	api_read_orphan_all(&b->waiting);
	free(b);
}
