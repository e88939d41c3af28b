/*
 * funnel_read.c: the commands that read a set of reps' funnel counts and
 * the sums of their replies (funnel_read.h). Called by http_funnel.c for
 * a funnel request and by digest_run.c for a morning digest's coaching
 * list; they send the commands and hand the replies back.
 */
#include "funnel_read.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_conn.h"
#include "xmalloc.h"

void
funnel_read_init(struct funnel_read *fr, const struct config *cfg,
    int32_t window_days, bool with_bucket, enum period p)
{
	funnel_read_clear(fr);
	fr->cfg = cfg;
	fr->window_days = window_days;
	fr->with_bucket = with_bucket;
	fr->period = p;
}

struct funnel_read_rep *
funnel_read_add(struct funnel_read *fr, const struct config_role *role,
    const char *rep_id, int32_t last_day, int32_t bucket_day)
{
	const struct config *cfg = fr->cfg;
	struct funnel_read_rep *r;

	if (fr->nreps == fr->capreps) {
		fr->capreps = fr->capreps ? fr->capreps * 2 : 16;
		fr->reps = xreallocarray(fr->reps, fr->capreps,
		    sizeof(*fr->reps));
	}
	r = &fr->reps[fr->nreps++];
	memset(r, 0, sizeof(*r));
	r->rep_id = rep_id;
	r->shard = keys_shard_of(cfg, rep_id);
	r->last_day = last_day;
	r->bucket_day = bucket_day;
	for (size_t i = 0; i < role->nfunnel && i < FUNNEL_STEPS_MAX; i++)
		r->kidx[r->nk++] = role->funnel[i];
	if (cfg->funnel.has_revenue)
		r->kidx[r->nk++] = cfg->funnel.revenue_kpi;
	r->win.n = r->cur.n = role->nfunnel;
	return r;
}

/* Adds rep m to the command at *slot (made when -1). */
static void
cmd_add(struct funnel_read *fr, int *slot, bool bucket, int32_t day,
    int shard, size_t m)
{
	struct funnel_read_cmd *c;

	if (*slot < 0) {
		fr->cmds = xreallocarray(fr->cmds, fr->ncmds + 1,
		    sizeof(*fr->cmds));
		fr->cmds[fr->ncmds] = (struct funnel_read_cmd){ fr, NULL,
		    bucket, day, shard, NULL, 0, 0 };
		*slot = (int)fr->ncmds++;
	}
	c = &fr->cmds[*slot];
	if (c->nreps == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->reps = xreallocarray(c->reps, c->cap, sizeof(*c->reps));
	}
	c->reps[c->nreps++] = m;
}

/*
 * For each shard, one command per window day and one per bucket start day
 * among its reps. The days of reps in different zones differ by a day or
 * so: an index over the shards the reps are in and the span of their days
 * finds a command at once.
 */
void
funnel_read_plan(struct funnel_read *fr, void *arg)
{
	int shards = fr->cfg->redis.shards;
	int32_t wlo = 0, whi = 0, blo = 0, bhi = 0;
	int *dense, *widx, *bidx;
	size_t wspan, bspan, nused = 0;

	if (fr->nreps == 0)
		return;
	dense = xcalloc((size_t)shards, sizeof(int));
	for (size_t m = 0; m < fr->nreps; m++) {
		const struct funnel_read_rep *r = &fr->reps[m];

		if (dense[r->shard] == 0)
			dense[r->shard] = (int)++nused;
		if (m == 0 || r->last_day < wlo)
			wlo = r->last_day;
		if (m == 0 || r->last_day > whi)
			whi = r->last_day;
		if (m == 0 || r->bucket_day < blo)
			blo = r->bucket_day;
		if (m == 0 || r->bucket_day > bhi)
			bhi = r->bucket_day;
	}
	wlo -= fr->window_days - 1;
	wspan = (size_t)(whi - wlo + 1);
	bspan = fr->with_bucket ? (size_t)(bhi - blo + 1) : 1;
	widx = xcalloc(nused * wspan, sizeof(int));
	bidx = xcalloc(nused * bspan, sizeof(int));
	memset(widx, 0xff, nused * wspan * sizeof(int));
	memset(bidx, 0xff, nused * bspan * sizeof(int));
	for (size_t m = 0; m < fr->nreps; m++) {
		const struct funnel_read_rep *r = &fr->reps[m];
		size_t s = (size_t)dense[r->shard] - 1;

		for (int32_t d = r->last_day - fr->window_days + 1;
		    d <= r->last_day; d++)
			cmd_add(fr, &widx[s * wspan + (size_t)(d - wlo)], false,
			    d, r->shard, m);
		if (fr->with_bucket)
			cmd_add(fr, &bidx[s * bspan + (size_t)(r->bucket_day -
			    blo)], true, r->bucket_day, r->shard, m);
	}
	for (size_t i = 0; i < fr->ncmds; i++)
		fr->cmds[i].arg = arg;
	free(dense);
	free(widx);
	free(bidx);
}

void
funnel_read_argv(const struct funnel_read_cmd *c, struct redis_argv *v)
{
	const struct funnel_read *fr = c->fr;
	const struct config *cfg = fr->cfg;

	redis_argv_reset(v);
	redis_argv_str(v, "HMGET");
	redis_argv_take(v, keys_shard_counters(cfg, c->shard,
	    c->bucket ? fr->period : PERIOD_DAY, c->day));
	for (size_t k = 0; k < c->nreps; k++) {
		const struct funnel_read_rep *r = &fr->reps[c->reps[k]];

		for (size_t j = 0; j < r->nk; j++)
			redis_argv_take(v, keys_counter_field(r->rep_id,
			    cfg->kpis[r->kidx[j]].name));
	}
}

/* Adds v to field j of counts c of rep r (the funnel's steps, then the
 * revenue KPI). */
static void
count_add(const struct funnel_read_rep *r, struct funnel_counts *c, size_t j,
    double v)
{
	if (j < c->n)
		c->step[j] += v;
	else if (j < r->nk)
		c->revenue += v;
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

void
funnel_read_take(struct funnel_read_cmd *c, const redisReply *r)
{
	struct funnel_read *fr = c->fr;
	size_t e = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < c->nreps; i++) {
		struct funnel_read_rep *rr = &fr->reps[c->reps[i]];

		for (size_t j = 0; j < rr->nk && e < r->elements; j++, e++)
			count_add(rr, c->bucket ? &rr->cur : &rr->win, j,
			    reply_number(r->element[e]));
	}
}

void
funnel_read_clear(struct funnel_read *fr)
{
	for (size_t i = 0; i < fr->ncmds; i++)
		free(fr->cmds[i].reps);
	free(fr->cmds);
	free(fr->reps);
	memset(fr, 0, sizeof(*fr));
}
