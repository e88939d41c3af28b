#ifndef PACED_PLAN_H
#define PACED_PLAN_H

/*
 * The target planner (`paced plan`): a revenue goal worked back through
 * the funnel to each rep's activity targets per day, week, month and
 * quarter. Pure: the command line (plan_cmd.c) parses the options into a
 * struct plan_input with the plan_parse_* functions, reads the history
 * (plan_history.c) when asked, and prints what plan_yaml or plan_json
 * return.
 *
 * The arithmetic. deals = revenue / deal size. The funnel is a chain of
 * steps from:to=rate (to = from * rate, rate in (0, 1]) whose last step
 * ends at the deals KPI; walking it back, from = to / rate. Each KPI
 * belongs to one role, and its yearly total is shared by that role's reps.
 * A rep's yearly figure is spread evenly over the period buckets of the
 * plan year that hold at least one working day of the team calendar
 * (day: working days, holidays excluded; week, month, quarter: buckets
 * with a working day), because the pacing engine gives every bucket of a
 * period the same target. Each per-rep, per-period value is rounded up to
 * `decimals` places, so that the team's targets summed over the year meet
 * the goal. Nothing is rounded before that step. An amount KPI named by
 * --revenue-kpi gets the revenue goal itself, shared by the reps of the
 * role that carries the deals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"

#define PLAN_DECIMALS_DEFAULT	1
#define PLAN_DECIMALS_MAX	3
#define PLAN_REPS_MAX		1000000L
/* The largest revenue, deal size or target: beyond 1e15 a double no
 * longer holds every whole number. */
#define PLAN_AMOUNT_MAX		1e15

enum plan_rate_source {
	PLAN_RATE_NONE,			/* not given yet */
	PLAN_RATE_TYPED,		/* from --funnel */
	PLAN_RATE_HISTORY,		/* measured (--from-history) */
};

/* One funnel step: to = from * rate. */
struct plan_step {
	size_t			 from;	/* KPI index */
	size_t			 to;	/* KPI index */
	double			 typed;	/* the --funnel rate; 0: none */
	double			 rate;	/* the rate used; 0 until chosen */
	enum plan_rate_source	 source;
	bool			 has_history;
	double			 hist_from;	/* history totals of the step */
	double			 hist_to;
	char			 note[160];	/* why history was not used */
};

/* A role and its number of reps. */
struct plan_role {
	size_t	 role;		/* index into config.roles */
	long	 reps;
};

/* A KPI given to a role by --assign. */
struct plan_assign {
	size_t	 kpi;
	size_t	 role;
};

struct plan_input {
	double			 revenue;
	double			 deal_size;
	struct plan_step	*steps;		/* top of the funnel first */
	size_t			 nsteps;
	struct plan_role	*roles;		/* none: counted on the roster */
	size_t			 nroles;
	struct plan_assign	*assign;
	size_t			 nassign;
	bool			 has_revenue_kpi;
	size_t			 revenue_kpi;	/* an amount KPI */
	const char		*team;		/* NULL: every team; borrowed */
	int			 year;		/* the fiscal year starting in it */
	int			 decimals;
};

/* One KPI of the funnel, planned. */
struct plan_kpi {
	size_t	 kpi;
	size_t	 role;
	long	 reps;
	double	 total;				/* the team's, a year */
	double	 per_rep;			/* a rep's, a year */
	double	 exact[PERIOD_COUNT];		/* per rep per period */
	double	 value[PERIOD_COUNT];		/* rounded up */
};

struct plan {
	const struct config	*cfg;		/* borrowed */
	const struct plan_input	*in;		/* borrowed */
	size_t			 calendar;	/* index into config.calendars */
	int32_t			 start_day;	/* the plan year, [start, end) */
	int32_t			 end_day;
	int32_t			 buckets[PERIOD_COUNT];	/* with working time */
	double			 deals;
	struct plan_kpi		*kpis;		/* funnel order, top first */
	size_t			 nkpis;
	bool			 has_revenue;	/* in->revenue_kpi is planned */
	struct plan_kpi		 revenue;	/* carried by the deals' role */
	struct plan_role	*roles;		/* the roles planned */
	size_t			 nroles;
};

/* Frees what in owns (not in itself) and zeroes it; in->team is not
 * freed. */
void plan_input_free(struct plan_input *in);
/*
 * Parses a decimal number (digits, '.', exponent; no hex, inf or nan)
 * from s (borrowed), the whole string. Returns 0 with *out, or -1.
 */
int plan_parse_number(const char *s, double *out);
/*
 * Parses --funnel: "from:to=rate,..." in funnel order, KPIs of cfg's
 * catalogue (count measure, higher is better), each step starting where
 * the last ended. With rates_optional (--from-history) "from:to" without
 * a rate is allowed. Appends to in->steps. Borrows cfg and spec. Returns
 * 0, or -1 with the reason in err.
 */
int plan_parse_funnel(const struct config *cfg, const char *spec,
    bool rates_optional, struct plan_input *in, char *err, size_t errlen);
/* Parses --reps "role=N,...": roles of cfg, 1 <= N <= PLAN_REPS_MAX.
 * Borrows all; 0 or -1 with err. */
int plan_parse_reps(const struct config *cfg, const char *spec,
    struct plan_input *in, char *err, size_t errlen);
/* Parses --revenue-kpi: a KPI of cfg measuring an amount, into
 * in->revenue_kpi. Borrows all; 0 or -1 with err. */
int plan_parse_revenue_kpi(const struct config *cfg, const char *name,
    struct plan_input *in, char *err, size_t errlen);
/* Parses --assign "kpi=role,...". Borrows all; 0 or -1 with err. */
int plan_parse_assign(const struct config *cfg, const char *spec,
    struct plan_input *in, char *err, size_t errlen);

/*
 * --from-history: sets each step's rate from totals[] (per KPI index, a
 * sum over the reps and months read): hist_to / hist_from when hist_from
 * is at least min_volume and the ratio is in (0, 1]; otherwise the typed
 * rate, with the reason in the step's note; a step with neither fails.
 * Borrows all but in (updated). Returns 0, or -1 with err.
 */
int plan_rates_from_history(struct plan_input *in, const double *totals,
    double min_volume, const struct config *cfg, char *err, size_t errlen);
/* Every step without a rate takes its typed one. 0, or -1 with err. */
int plan_rates_typed(struct plan_input *in, const struct config *cfg,
    char *err, size_t errlen);

/*
 * Resolves the roles (in->roles, else the roster's reps of in->team per
 * role), each KPI's role (--assign, else the one role of the plan whose
 * targets in cfg name the KPI), the calendar (in->team's, else the one
 * all teams share) and the plan year, with no figure yet. Borrows cfg
 * and in, which must outlive the plan. Returns an owned plan (free with
 * plan_free) or NULL with the reason in err.
 */
struct plan *plan_new(const struct config *cfg, const struct plan_input *in,
    char *err, size_t errlen);
/* Works p's figures out from the rates now in p->in's steps (every step
 * must have one). Returns 0, or -1 with err. */
int plan_work(struct plan *p, char *err, size_t errlen);
/* Frees p; NULL does nothing. */
void plan_free(struct plan *p);
/* The ids of the roster reps in the plan's roles and team: an owned array
 * of borrowed strings (free the array with free()), *n set. */
const char **plan_rep_ids(const struct plan *p, size_t *n);

/* v rounded up to decimals places, forgiving the last bits of binary
 * arithmetic (16000 / 0.8 is 20000, not 20000.1). */
double plan_round_up(double v, int decimals);

/* The `roles:` block to paste into the config, with the funnel as
 * comments. Returns owned text; free with free(). Borrows p. */
char *plan_yaml(const struct plan *p);
/* The same figures as one JSON object, with the funnel. Returns owned
 * text (one line); free with free(). Borrows p. */
char *plan_json(const struct plan *p);

#endif
