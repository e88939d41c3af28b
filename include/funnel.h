#ifndef PACED_FUNNEL_H
#define PACED_FUNNEL_H

/*
 * The funnel's arithmetic: conversion rates from step counts, the rate a
 * rep's forecast uses at each step (its own with enough volume, else its
 * team's), the coaching flag, the average deal size and the
 * activity-based forecast of a bucket. Pure: http_funnel.c reads the
 * counters and the working time and calls these.
 *
 * A funnel of n KPIs (top first) has n - 1 steps; step i converts KPI i
 * into KPI i + 1 at rate count[i + 1] / count[i] (none when count[i] is
 * 0). A rep's forecast takes its own rate at step i when its count[i]
 * over the window is at least min_volume, else its team's (none when the
 * team has no volume either). below_team: the rep has at least
 * min_volume at the step and its rate is under coaching_below x the
 * team's.
 *
 * Coaching (the morning digest's list): a step is listed once it was
 * below_team on funnel.coaching_days consecutive mornings, and stays
 * listed until its rate is back at or above (coaching_below +
 * coaching_margin) x the team's or its volume falls under min_volume
 * (funnel_coaching_step).
 *
 * Forecast of a bucket, at working-time fraction f:
 *	projected_top	  top count so far / f (the top step's run rate over
 *			  the bucket's working time); none while f is 0
 *	conversion	  the product of the rates used, none when one is
 *	expected_deals	  projected_top x conversion
 *	expected_revenue  expected_deals x average deal size
 *	required_activity ceil(deals needed / conversion - top so far), at
 *			  least 0, where deals needed = revenue target /
 *			  average deal size, or the deals target; none
 *			  without a target or when the conversion is 0
 */

#include <stdbool.h>
#include <stddef.h>

#define FUNNEL_STEPS_MAX	16

/* A figure that may be missing. */
struct funnel_value {
	bool has;
	double v;
};

/* What one rep, team or org counted over the window or in a bucket. */
struct funnel_counts {
	size_t n;				/* KPIs of the funnel */
	double step[FUNNEL_STEPS_MAX];		/* top first */
	double revenue;				/* the revenue KPI; 0: none */
};

struct funnel_params {
	double min_volume;
	double coaching_below;
};

enum funnel_source { FUNNEL_SOURCE_NONE, FUNNEL_SOURCE_REP,
    FUNNEL_SOURCE_TEAM };

/* One step of a rep's funnel. */
struct funnel_conv {
	struct funnel_value rep;	/* its own rate over the window */
	struct funnel_value team;	/* its team's */
	struct funnel_value used;	/* what the forecast takes */
	enum funnel_source source;
	bool below_team;
};

enum funnel_target { FUNNEL_TARGET_NONE, FUNNEL_TARGET_REVENUE,
    FUNNEL_TARGET_DEALS };

struct funnel_forecast_in {
	size_t n;			/* KPIs of the funnel */
	double top_so_far;		/* the top KPI's count in the bucket */
	double elapsed_fraction;	/* working time gone, 0..1 */
	struct funnel_value rate[FUNNEL_STEPS_MAX];	/* n - 1 used */
	struct funnel_value deal_size;
	enum funnel_target target_kind;
	double target;
};

struct funnel_forecast {
	size_t reps;			/* group sums: the reps added */
	double top_so_far;
	struct funnel_value projected_top;
	struct funnel_value conversion;
	struct funnel_value expected_deals;
	struct funnel_value expected_revenue;
	enum funnel_target target_kind;
	struct funnel_value target;
	struct funnel_value required_activity;
};

/* rate[i] (caller's, c->n - 1 entries) of c's steps (borrowed). */
void funnel_rates(const struct funnel_counts *c, struct funnel_value *rate);
/* out[i] (caller's, rep->n - 1 entries): a rep's steps against its team
 * (both borrowed, the same funnel). */
void funnel_rep_conversions(const struct funnel_counts *rep,
    const struct funnel_counts *team, const struct funnel_params *p,
    struct funnel_conv *out);
/* The average deal size over the window: c's revenue over its deals (the
 * last KPI); none without deals. */
struct funnel_value funnel_deal_size(const struct funnel_counts *c);
/* A rep's forecast of a bucket into out (caller's). */
void funnel_forecast(const struct funnel_forecast_in *in,
    struct funnel_forecast *out);
/* A money figure (revenue, deal size, a revenue target) as printed:
 * rounded to cents, so that sums and products of amounts show no binary
 * noise (112000.00000000003 is 112000). */
double funnel_money(double v);
/* The same for an optional figure: v rounded when it has one. */
struct funnel_value funnel_money_value(struct funnel_value v);
/* Adds f into sum (a group's: start from a zeroed struct): each figure
 * is the sum of the reps that have it, none when no rep has; the target
 * sums the reps' targets of the first kind seen. */
void funnel_forecast_add(struct funnel_forecast *sum,
    const struct funnel_forecast *f);
/* The coaching list's hysteresis (funnel.coaching*). */
struct funnel_coaching {
	double min_volume;
	double coaching_below;
	double margin;		/* a listed step clears at below + margin */
	long days;		/* consecutive mornings below to be listed */
};

#define FUNNEL_COACHING_DAYS_MAX	100000

/*
 * One morning's check of a rep's step c (from funnel_rep_conversions,
 * borrowed), whose top count over the window is volume: the consecutive
 * mornings the step has been below, from `before` (the count after the
 * last check; 0: clear). Below (rate under coaching_below x the team's,
 * with at least min_volume): before + 1. A listed step (before >= days)
 * whose rate is still under (coaching_below + margin) x the team's: before
 * + 1 too. Anything else, or a volume under min_volume, or a missing rate:
 * 0. The count stops at FUNNEL_COACHING_DAYS_MAX.
 */
long funnel_coaching_step(const struct funnel_conv *c, double volume,
    const struct funnel_coaching *p, long before);
/* True when a step below for `days` consecutive mornings is listed. */
bool funnel_coaching_listed(const struct funnel_coaching *p, long days);
/* "rep", "team" or NULL; "revenue", "deals" or NULL. */
const char *funnel_source_name(enum funnel_source s);
const char *funnel_target_name(enum funnel_target t);

#endif
