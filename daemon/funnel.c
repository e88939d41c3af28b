/*
 * funnel.c: conversion rates, the rate a rep's forecast uses at each
 * step, the coaching flag, the coaching list's hysteresis and the
 * activity-based forecast (see funnel.h for the rules). Pure; called by
 * http_funnel.c once a request's counters are read and by digest_run.c
 * for a morning digest's coaching list.
 */
#include "funnel.h"

#include <math.h>
#include <string.h>

static struct funnel_value
ratio(double num, double den)
{
	struct funnel_value r = { false, 0 };

	if (den > 0) {
		r.has = true;
		r.v = num / den;
	}
	return r;
}

void
funnel_rates(const struct funnel_counts *c, struct funnel_value *rate)
{
	for (size_t i = 0; i + 1 < c->n; i++)
		rate[i] = ratio(c->step[i + 1], c->step[i]);
}

void
funnel_rep_conversions(const struct funnel_counts *rep,
    const struct funnel_counts *team, const struct funnel_params *p,
    struct funnel_conv *out)
{
	for (size_t i = 0; i + 1 < rep->n; i++) {
		struct funnel_conv *c = &out[i];
		bool enough = rep->step[i] >= p->min_volume;

		memset(c, 0, sizeof(*c));
		c->rep = ratio(rep->step[i + 1], rep->step[i]);
		c->team = ratio(team->step[i + 1], team->step[i]);
		if (enough && c->rep.has) {
			c->used = c->rep;
			c->source = FUNNEL_SOURCE_REP;
		} else if (c->team.has) {
			c->used = c->team;
			c->source = FUNNEL_SOURCE_TEAM;
		}
		c->below_team = enough && c->rep.has && c->team.has &&
		    c->rep.v < p->coaching_below * c->team.v;
	}
}

long
funnel_coaching_step(const struct funnel_conv *c, double volume,
    const struct funnel_coaching *p, long before)
{
	double rate, team;
	bool listed = funnel_coaching_listed(p, before);

	if (volume < p->min_volume || !c->rep.has || !c->team.has)
		return 0;
	rate = c->rep.v;
	team = c->team.v;
	if (rate < p->coaching_below * team ||
	    (listed && rate < (p->coaching_below + p->margin) * team))
		return before < FUNNEL_COACHING_DAYS_MAX ? before + 1 :
		    FUNNEL_COACHING_DAYS_MAX;
	return 0;
}

bool
funnel_coaching_listed(const struct funnel_coaching *p, long days)
{
	return days > 0 && days >= p->days;
}

struct funnel_value
funnel_deal_size(const struct funnel_counts *c)
{
	if (c->n == 0)
		return (struct funnel_value){ false, 0 };
	return ratio(c->revenue, c->step[c->n - 1]);
}

/* ceil(x), x first rounded to a whole number it is within rounding error
 * of (500 - 1e-13 needs 500, not 501). */
static double
ceil_tolerant(double x)
{
	double r = round(x);

	if (fabs(x - r) <= 1e-9 * fmax(1.0, fabs(x)))
		return r;
	return ceil(x);
}

void
funnel_forecast(const struct funnel_forecast_in *in,
    struct funnel_forecast *out)
{
	struct funnel_value needed = { false, 0 };

	memset(out, 0, sizeof(*out));
	out->reps = 1;
	out->top_so_far = in->top_so_far;
	if (in->elapsed_fraction > 0) {
		out->projected_top.has = true;
		out->projected_top.v = in->top_so_far / in->elapsed_fraction;
	}
	out->conversion.has = in->n >= 2;
	out->conversion.v = 1;
	for (size_t i = 0; i + 1 < in->n; i++) {
		if (!in->rate[i].has)
			out->conversion.has = false;
		out->conversion.v *= in->rate[i].v;
	}
	if (!out->conversion.has)
		out->conversion.v = 0;
	if (out->projected_top.has && out->conversion.has) {
		out->expected_deals.has = true;
		out->expected_deals.v = out->projected_top.v *
		    out->conversion.v;
		if (in->deal_size.has) {
			out->expected_revenue.has = true;
			out->expected_revenue.v = out->expected_deals.v *
			    in->deal_size.v;
		}
	}
	out->target_kind = in->target_kind;
	if (in->target_kind != FUNNEL_TARGET_NONE) {
		out->target.has = true;
		out->target.v = in->target;
	}
	if (in->target_kind == FUNNEL_TARGET_DEALS)
		needed = (struct funnel_value){ true, in->target };
	else if (in->target_kind == FUNNEL_TARGET_REVENUE &&
	    in->deal_size.has && in->deal_size.v > 0)
		needed = ratio(in->target, in->deal_size.v);
	if (needed.has && out->conversion.has && out->conversion.v > 0) {
		double more = ceil_tolerant(needed.v / out->conversion.v -
		    in->top_so_far);

		out->required_activity.has = true;
		out->required_activity.v = more > 0 ? more : 0;
	}
}

static void
add_value(struct funnel_value *sum, const struct funnel_value *v)
{
	if (!v->has)
		return;
	sum->has = true;
	sum->v += v->v;
}

void
funnel_forecast_add(struct funnel_forecast *sum,
    const struct funnel_forecast *f)
{
	sum->reps += f->reps;
	sum->top_so_far += f->top_so_far;
	add_value(&sum->projected_top, &f->projected_top);
	add_value(&sum->expected_deals, &f->expected_deals);
	add_value(&sum->expected_revenue, &f->expected_revenue);
	add_value(&sum->required_activity, &f->required_activity);
	if (f->target_kind == FUNNEL_TARGET_NONE)
		return;
	if (sum->target_kind == FUNNEL_TARGET_NONE)
		sum->target_kind = f->target_kind;
	if (sum->target_kind == f->target_kind)
		add_value(&sum->target, &f->target);
}

const char *
funnel_source_name(enum funnel_source s)
{
	return s == FUNNEL_SOURCE_REP ? "rep" : s == FUNNEL_SOURCE_TEAM ?
	    "team" : NULL;
}

const char *
funnel_target_name(enum funnel_target t)
{
	return t == FUNNEL_TARGET_REVENUE ? "revenue" :
	    t == FUNNEL_TARGET_DEALS ? "deals" : NULL;
}

double
funnel_money(double v)
{
	double c;

	if (!isfinite(v))
		return v;
	c = round(v * 100.0);
	/* Past 2^53 cents a double holds no cents: the figure as it is. */
	if (fabs(c) >= 9007199254740992.0)
		return v;
	return c / 100.0;
}

struct funnel_value
funnel_money_value(struct funnel_value v)
{
	if (v.has)
		v.v = funnel_money(v.v);
	return v;
}
