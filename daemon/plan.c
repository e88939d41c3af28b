/*
 * plan.c: the target planner's arithmetic and output (`paced plan`).
 *
 * Called by plan_cmd.c once per run: the options are parsed into a
 * struct plan_input, plan_new resolves roles, owners, calendar and year,
 * the rates come from --funnel or from the measured funnel, plan_work
 * works the targets out and plan_yaml or plan_json print them. Pure: no
 * I/O, nothing kept between calls.
 */
#include "plan.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "pacing.h"
#include "xmalloc.h"

void
plan_input_free(struct plan_input *in)
{
	free(in->steps);
	free(in->roles);
	free(in->assign);
	in->steps = NULL;
	in->roles = NULL;
	in->assign = NULL;
	in->nsteps = in->nroles = in->nassign = 0;
}

int
plan_parse_number(const char *s, double *out)
{
	const char *p;
	char *end;
	double d;

	if (s == NULL || *s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && strchr(".eE+-", *p) == NULL)
			return -1;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* The next comma-separated item of *sp into buf; 0, or -1 at the end
 * (or when the item does not fit, with buf empty). */
static int
next_item(const char **sp, char *buf, size_t buflen)
{
	const char *s = *sp, *comma;
	size_t len;

	if (s == NULL)
		return -1;
	comma = strchr(s, ',');
	len = comma ? (size_t)(comma - s) : strlen(s);
	*sp = comma ? comma + 1 : NULL;
	if (len >= buflen) {
		buf[0] = '\0';
		return 0;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int
role_index(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nroles; i++)
		if (strcmp(cfg->roles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A funnel KPI: in the catalogue, counted (not an amount), higher is
 * better. Returns its index or -1 with err. */
static int
funnel_kpi(const struct config *cfg, const char *name, char *err,
    size_t errlen)
{
	int k;

	if (*name == '\0') {
		snprintf(err, errlen, "--funnel: a step names no KPI");
		return -1;
	}
	if ((k = config_kpi_index(cfg, name)) < 0) {
		snprintf(err, errlen, "--funnel: unknown KPI \"%s\" (not in "
		    "the config's kpis)", name);
		return -1;
	}
	if (cfg->kpis[k].measure != KPI_MEASURE_COUNT) {
		snprintf(err, errlen, "--funnel: KPI \"%s\" measures an "
		    "amount; a funnel step counts events", name);
		return -1;
	}
	if (cfg->kpis[k].better != KPI_BETTER_HIGHER) {
		snprintf(err, errlen, "--funnel: KPI \"%s\" is a cap "
		    "(better: lower), not a funnel step", name);
		return -1;
	}
	return k;
}

int
plan_parse_funnel(const struct config *cfg, const char *spec,
    bool rates_optional, struct plan_input *in, char *err, size_t errlen)
{
	const char *sp = spec;
	char item[256], *colon, *eq;
	struct plan_step st;
	size_t i;
	int f, t;

	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "--funnel: empty");
		return -1;
	}
	while (next_item(&sp, item, sizeof(item)) == 0) {
		memset(&st, 0, sizeof(st));
		if ((colon = strchr(item, ':')) == NULL) {
			snprintf(err, errlen, "--funnel: \"%s\": expected "
			    "from:to=rate", item);
			return -1;
		}
		*colon = '\0';
		if ((eq = strchr(colon + 1, '=')) != NULL)
			*eq = '\0';
		if ((f = funnel_kpi(cfg, item, err, errlen)) < 0 ||
		    (t = funnel_kpi(cfg, colon + 1, err, errlen)) < 0)
			return -1;
		if (f == t) {
			snprintf(err, errlen, "--funnel: step %s:%s goes "
			    "nowhere", item, colon + 1);
			return -1;
		}
		if (eq == NULL && !rates_optional) {
			snprintf(err, errlen, "--funnel: step %s:%s has no "
			    "rate (from:to=rate)", item, colon + 1);
			return -1;
		}
		if (eq != NULL && (plan_parse_number(eq + 1, &st.typed) != 0 ||
		    !(st.typed > 0 && st.typed <= 1))) {
			snprintf(err, errlen, "--funnel: step %s:%s: rate "
			    "\"%s\" is not a number in (0, 1]", item,
			    colon + 1, eq + 1);
			return -1;
		}
		if (in->nsteps > 0 && in->steps[in->nsteps - 1].to != (size_t)f) {
			snprintf(err, errlen, "--funnel: step %s:%s does not "
			    "start where the one before ends (%s); give the "
			    "steps in funnel order", item, colon + 1,
			    cfg->kpis[in->steps[in->nsteps - 1].to].name);
			return -1;
		}
		for (i = 0; i < in->nsteps; i++)
			if (in->steps[i].from == (size_t)t) {
				snprintf(err, errlen, "--funnel: KPI \"%s\" "
				    "comes twice (a loop)", colon + 1);
				return -1;
			}
		st.from = (size_t)f;
		st.to = (size_t)t;
		in->steps = xreallocarray(in->steps, in->nsteps + 1,
		    sizeof(*in->steps));
		in->steps[in->nsteps++] = st;
	}
	return 0;
}

/* "name=value" of a comma list: splits item at '=' or fails. */
static char *
split_eq(char *item, const char *opt, char *err, size_t errlen)
{
	char *eq = strchr(item, '=');

	if (eq == NULL || eq == item || eq[1] == '\0') {
		snprintf(err, errlen, "%s: \"%s\": expected name=value", opt,
		    item);
		return NULL;
	}
	*eq = '\0';
	return eq + 1;
}

int
plan_parse_reps(const struct config *cfg, const char *spec,
    struct plan_input *in, char *err, size_t errlen)
{
	const char *sp = spec;
	char item[256], *v;
	double d;
	size_t i;
	int r;

	while (next_item(&sp, item, sizeof(item)) == 0) {
		if ((v = split_eq(item, "--reps", err, errlen)) == NULL)
			return -1;
		if ((r = role_index(cfg, item)) < 0) {
			snprintf(err, errlen, "--reps: unknown role \"%s\" "
			    "(not in the config's roles)", item);
			return -1;
		}
		if (plan_parse_number(v, &d) != 0 || d != floor(d) || d < 0 ||
		    d > PLAN_REPS_MAX) {
			snprintf(err, errlen, "--reps: %s: \"%s\" is not a "
			    "whole number of reps", item, v);
			return -1;
		}
		if (d == 0) {
			snprintf(err, errlen, "--reps: %s: zero reps cannot "
			    "carry a target", item);
			return -1;
		}
		for (i = 0; i < in->nroles; i++)
			if (in->roles[i].role == (size_t)r) {
				snprintf(err, errlen, "--reps: role \"%s\" "
				    "given twice", item);
				return -1;
			}
		in->roles = xreallocarray(in->roles, in->nroles + 1,
		    sizeof(*in->roles));
		in->roles[in->nroles].role = (size_t)r;
		in->roles[in->nroles++].reps = (long)d;
	}
	if (in->nroles == 0) {
		snprintf(err, errlen, "--reps: empty");
		return -1;
	}
	return 0;
}

int
plan_parse_revenue_kpi(const struct config *cfg, const char *name,
    struct plan_input *in, char *err, size_t errlen)
{
	int k;

	if ((k = config_kpi_index(cfg, name)) < 0) {
		snprintf(err, errlen, "--revenue-kpi: unknown KPI \"%s\"",
		    name);
		return -1;
	}
	if (cfg->kpis[k].measure != KPI_MEASURE_AMOUNT) {
		snprintf(err, errlen, "--revenue-kpi: KPI \"%s\" counts "
		    "events; the revenue KPI measures an amount", name);
		return -1;
	}
	in->has_revenue_kpi = true;
	in->revenue_kpi = (size_t)k;
	return 0;
}

int
plan_parse_assign(const struct config *cfg, const char *spec,
    struct plan_input *in, char *err, size_t errlen)
{
	const char *sp = spec;
	char item[256], *v;
	size_t i;
	int k, r;

	while (next_item(&sp, item, sizeof(item)) == 0) {
		if ((v = split_eq(item, "--assign", err, errlen)) == NULL)
			return -1;
		if ((k = config_kpi_index(cfg, item)) < 0) {
			snprintf(err, errlen, "--assign: unknown KPI \"%s\"",
			    item);
			return -1;
		}
		if ((r = role_index(cfg, v)) < 0) {
			snprintf(err, errlen, "--assign: %s: unknown role "
			    "\"%s\"", item, v);
			return -1;
		}
		for (i = 0; i < in->nassign; i++)
			if (in->assign[i].kpi == (size_t)k) {
				snprintf(err, errlen, "--assign: KPI \"%s\" "
				    "given twice", item);
				return -1;
			}
		in->assign = xreallocarray(in->assign, in->nassign + 1,
		    sizeof(*in->assign));
		in->assign[in->nassign].kpi = (size_t)k;
		in->assign[in->nassign++].role = (size_t)r;
	}
	if (in->nassign == 0) {
		snprintf(err, errlen, "--assign: empty");
		return -1;
	}
	return 0;
}

static void
step_name(const struct config *cfg, const struct plan_step *s, char *buf,
    size_t buflen)
{
	snprintf(buf, buflen, "%s:%s", cfg->kpis[s->from].name,
	    cfg->kpis[s->to].name);
}

int
plan_rates_typed(struct plan_input *in, const struct config *cfg, char *err,
    size_t errlen)
{
	char name[160];
	size_t i;

	for (i = 0; i < in->nsteps; i++) {
		struct plan_step *s = &in->steps[i];

		if (s->source != PLAN_RATE_NONE)
			continue;
		if (s->typed <= 0) {
			step_name(cfg, s, name, sizeof(name));
			snprintf(err, errlen, "--funnel: step %s has no "
			    "rate%s%s", name, s->note[0] ? ": " : "", s->note);
			return -1;
		}
		s->rate = s->typed;
		s->source = PLAN_RATE_TYPED;
	}
	return 0;
}

int
plan_rates_from_history(struct plan_input *in, const double *totals,
    double min_volume, const struct config *cfg, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < in->nsteps; i++) {
		struct plan_step *s = &in->steps[i];
		double f = totals[s->from], t = totals[s->to];

		s->has_history = true;
		s->hist_from = f;
		s->hist_to = t;
		s->source = PLAN_RATE_NONE;
		if (f < min_volume)
			snprintf(s->note, sizeof(s->note), "too little "
			    "history (%.0f %s, fewer than %.0f)", f,
			    cfg->kpis[s->from].name, min_volume);
		else if (t <= 0)
			snprintf(s->note, sizeof(s->note), "no %s in the "
			    "history", cfg->kpis[s->to].name);
		else if (t > f)
			snprintf(s->note, sizeof(s->note), "measured rate "
			    "%.4g is above 1 (%.0f %s from %.0f %s)", t / f, t,
			    cfg->kpis[s->to].name, f, cfg->kpis[s->from].name);
		else {
			s->rate = t / f;
			s->source = PLAN_RATE_HISTORY;
			s->note[0] = '\0';
		}
	}
	return plan_rates_typed(in, cfg, err, errlen);
}

double
plan_round_up(double v, int decimals)
{
	double scale = pow(10, decimals), x = v * scale;

	/* A relative tolerance of 1e-9: far below any rounding step of a
	 * target, far above the error of a few divisions. */
	return ceil(x - fabs(x) * 1e-9) / scale;
}

/* The calendar of the plan: the team's, else the one all teams with
 * reps in the plan's roles use, else the only one. */
static int
plan_calendar(struct plan *p, char *err, size_t errlen)
{
	const struct config *cfg = p->cfg;
	const char *team = p->in->team;
	bool found = false;
	size_t i, j;

	if (team != NULL) {
		for (i = 0; i < cfg->nteams; i++)
			if (strcmp(cfg->teams[i].id, team) == 0) {
				p->calendar = cfg->teams[i].calendar;
				return 0;
			}
		snprintf(err, errlen, "--team: unknown team \"%s\"", team);
		return -1;
	}
	for (i = 0; i < cfg->nreps; i++) {
		size_t c = cfg->teams[cfg->reps[i].team].calendar;
		bool in_plan = false;

		for (j = 0; j < p->nroles; j++)
			in_plan |= p->roles[j].role == cfg->reps[i].role;
		if (!in_plan)
			continue;
		if (found && c != p->calendar) {
			snprintf(err, errlen, "the teams use different "
			    "calendars (%s, %s); plan one team at a time "
			    "with --team", cfg->calendars[p->calendar].name,
			    cfg->calendars[c].name);
			return -1;
		}
		p->calendar = c;
		found = true;
	}
	if (!found) {
		if (cfg->ncalendars != 1) {
			snprintf(err, errlen, "no rep on the roster says "
			    "which calendar to use; name a team with --team");
			return -1;
		}
		p->calendar = 0;
	}
	return 0;
}

/* The roles: --reps, else the roster's reps per role (in the team). */
static void
plan_roles(struct plan *p)
{
	const struct config *cfg = p->cfg;
	const struct plan_input *in = p->in;
	size_t i;

	if (in->nroles > 0) {
		p->roles = xcalloc(in->nroles, sizeof(*p->roles));
		memcpy(p->roles, in->roles, in->nroles * sizeof(*p->roles));
		p->nroles = in->nroles;
		return;
	}
	p->roles = xcalloc(cfg->nroles ? cfg->nroles : 1, sizeof(*p->roles));
	for (i = 0; i < cfg->nroles; i++)
		p->roles[i].role = i;
	p->nroles = cfg->nroles;
	for (i = 0; i < cfg->nreps; i++) {
		if (in->team != NULL &&
		    strcmp(cfg->teams[cfg->reps[i].team].id, in->team) != 0)
			continue;
		p->roles[cfg->reps[i].role].reps++;
	}
}

static bool
role_targets_kpi(const struct config_role *r, size_t kpi)
{
	size_t i;

	for (i = 0; i < r->ntargets; i++)
		if (r->targets[i].kpi == kpi)
			return true;
	return false;
}

/* The role that carries KPI k: --assign, else the one role of the plan
 * with a target for it in the config. */
static int
kpi_owner(struct plan *p, size_t k, size_t *role, char *err, size_t errlen)
{
	const struct config *cfg = p->cfg;
	const struct plan_input *in = p->in;
	const char *kn = cfg->kpis[k].name;
	size_t i, n = 0;

	for (i = 0; i < in->nassign; i++)
		if (in->assign[i].kpi == k) {
			*role = in->assign[i].role;
			return 0;
		}
	for (i = 0; i < p->nroles; i++) {
		const struct config_role *r = &cfg->roles[p->roles[i].role];

		if (!role_targets_kpi(r, k))
			continue;
		if (n++ > 0) {
			snprintf(err, errlen, "KPI \"%s\": roles %s and %s "
			    "both have targets for it; name its role with "
			    "--assign %s=ROLE", kn, cfg->roles[*role].name,
			    r->name, kn);
			return -1;
		}
		*role = p->roles[i].role;
	}
	if (n == 0) {
		snprintf(err, errlen, "KPI \"%s\": no role of the plan has a "
		    "target for it in the config; name its role with "
		    "--assign %s=ROLE", kn, kn);
		return -1;
	}
	return 0;
}

static long
role_reps(const struct plan *p, size_t role, bool *listed)
{
	size_t i;

	for (i = 0; i < p->nroles; i++)
		if (p->roles[i].role == role) {
			*listed = true;
			return p->roles[i].reps;
		}
	*listed = false;
	return 0;
}

/* The plan year and its buckets with working time. */
static int
plan_year(struct plan *p, char *err, size_t errlen)
{
	const struct config_calendar *c = &p->cfg->calendars[p->calendar];
	struct pacing_calendar pc = {
		.working_days = c->working_days,
		.work_start_min = c->work_start_min,
		.work_end_min = c->work_end_min,
		.holidays = c->holidays,
		.nholidays = c->nholidays,
	};
	int32_t last[PERIOD_COUNT], day;
	struct bucket b;
	int fm = c->rules.fiscal_year_start, per;

	p->start_day = caltime_days_from_civil(p->in->year, (unsigned)fm, 1);
	p->end_day = caltime_days_from_civil(p->in->year + 1, (unsigned)fm, 1);
	for (per = 0; per < PERIOD_COUNT; per++) {
		p->buckets[per] = 0;
		last[per] = INT32_MIN;
	}
	for (day = p->start_day; day < p->end_day; day++) {
		if (!pacing_is_working_day(&pc, day))
			continue;
		for (per = 0; per < PERIOD_COUNT; per++) {
			caltime_bucket_of_day(&c->rules, (enum period)per, day,
			    &b);
			if (b.start_day != last[per]) {
				last[per] = b.start_day;
				p->buckets[per]++;
			}
		}
	}
	if (p->buckets[PERIOD_DAY] == 0) {
		snprintf(err, errlen, "calendar \"%s\" has no working day in "
		    "the plan year", c->name);
		return -1;
	}
	return 0;
}

struct plan *
plan_new(const struct config *cfg, const struct plan_input *in, char *err,
    size_t errlen)
{
	struct plan *p;
	size_t i, k;
	bool listed;

	if (!(in->revenue > 0 && in->revenue <= PLAN_AMOUNT_MAX) ||
	    !(in->deal_size > 0 && in->deal_size <= PLAN_AMOUNT_MAX)) {
		snprintf(err, errlen, "%s must be above 0 and at most 1e15",
		    in->revenue > 0 && in->revenue <= PLAN_AMOUNT_MAX ?
		    "--deal-size" : "--revenue");
		return NULL;
	}
	if (in->nsteps == 0) {
		snprintf(err, errlen, "--funnel: no step");
		return NULL;
	}
	if (in->decimals < 0 || in->decimals > PLAN_DECIMALS_MAX) {
		snprintf(err, errlen, "--decimals: 0 to %d", PLAN_DECIMALS_MAX);
		return NULL;
	}
	if (in->year < 1971 || in->year > 9998) {
		snprintf(err, errlen, "--year: out of range");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->cfg = cfg;
	p->in = in;
	/* The calendar first: it also checks the team's name. */
	if (in->team != NULL && plan_calendar(p, err, errlen) != 0)
		goto fail;
	plan_roles(p);
	p->nkpis = in->nsteps + 1;
	p->kpis = xcalloc(p->nkpis, sizeof(*p->kpis));
	for (i = 0; i < p->nkpis; i++) {
		struct plan_kpi *pk = &p->kpis[i];

		k = i < in->nsteps ? in->steps[i].from : in->steps[i - 1].to;
		pk->kpi = k;
		if (kpi_owner(p, k, &pk->role, err, errlen) != 0)
			goto fail;
		pk->reps = role_reps(p, pk->role, &listed);
		if (!listed) {
			snprintf(err, errlen, "KPI \"%s\": role %s is not in "
			    "--reps", cfg->kpis[k].name,
			    cfg->roles[pk->role].name);
			goto fail;
		}
		if (pk->reps <= 0) {
			snprintf(err, errlen, "KPI \"%s\": role %s has zero "
			    "reps%s%s", cfg->kpis[k].name,
			    cfg->roles[pk->role].name,
			    in->team ? " in team " : " on the roster",
			    in->team ? in->team : "");
			goto fail;
		}
	}
	/* Keep only the roles that carry a KPI, in funnel order. */
	{
		struct plan_role *keep = xcalloc(p->nkpis, sizeof(*keep));
		size_t n = 0, j;

		for (i = 0; i < p->nkpis; i++) {
			for (j = 0; j < n; j++)
				if (keep[j].role == p->kpis[i].role)
					break;
			if (j == n) {
				keep[n].role = p->kpis[i].role;
				keep[n++].reps = p->kpis[i].reps;
			}
		}
		for (i = 0; i < in->nroles; i++) {
			for (j = 0; j < n; j++)
				if (keep[j].role == in->roles[i].role)
					break;
			if (j == n) {
				snprintf(err, errlen, "--reps: role %s carries "
				    "no KPI of the funnel",
				    cfg->roles[in->roles[i].role].name);
				free(keep);
				goto fail;
			}
		}
		free(p->roles);
		p->roles = keep;
		p->nroles = n;
	}
	if (in->has_revenue_kpi) {
		p->has_revenue = true;
		p->revenue.kpi = in->revenue_kpi;
		p->revenue.role = p->kpis[p->nkpis - 1].role;
		p->revenue.reps = p->kpis[p->nkpis - 1].reps;
	}
	if (plan_calendar(p, err, errlen) != 0 ||
	    plan_year(p, err, errlen) != 0)
		goto fail;
	return p;
fail:
	plan_free(p);
	return NULL;
}

int
plan_work(struct plan *p, char *err, size_t errlen)
{
	const struct plan_input *in = p->in;
	size_t i;
	int per;

	for (i = 0; i < in->nsteps; i++)
		if (!(in->steps[i].rate > 0 && in->steps[i].rate <= 1)) {
			snprintf(err, errlen, "--funnel: step %s:%s has no "
			    "rate", p->cfg->kpis[in->steps[i].from].name,
			    p->cfg->kpis[in->steps[i].to].name);
			return -1;
		}
	p->deals = in->revenue / in->deal_size;
	p->kpis[p->nkpis - 1].total = p->deals;
	for (i = p->nkpis - 1; i-- > 0;)
		p->kpis[i].total = p->kpis[i + 1].total / in->steps[i].rate;
	p->revenue.total = in->revenue;
	for (i = 0; i <= p->nkpis; i++) {
		struct plan_kpi *pk = i < p->nkpis ? &p->kpis[i] : &p->revenue;

		pk->per_rep = pk->total / (double)(pk->reps > 0 ? pk->reps : 1);
		for (per = 0; per < PERIOD_COUNT; per++) {
			pk->exact[per] = pk->per_rep / p->buckets[per];
			pk->value[per] = plan_round_up(pk->exact[per],
			    in->decimals);
			if (!(pk->value[per] <= PLAN_AMOUNT_MAX)) {
				snprintf(err, errlen, "the targets of %s are "
				    "too large to plan (over 1e15)",
				    p->cfg->kpis[pk->kpi].name);
				return -1;
			}
		}
	}
	return 0;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	free(p->kpis);
	free(p->roles);
	free(p);
}

const char **
plan_rep_ids(const struct plan *p, size_t *n)
{
	const struct config *cfg = p->cfg;
	const char **ids = xcalloc(cfg->nreps ? cfg->nreps : 1, sizeof(*ids));
	size_t i, j;

	*n = 0;
	for (i = 0; i < cfg->nreps; i++) {
		if (p->in->team != NULL && strcmp(cfg->teams[cfg->reps[i].team].id,
		    p->in->team) != 0)
			continue;
		for (j = 0; j < p->nroles; j++)
			if (p->roles[j].role == cfg->reps[i].role) {
				ids[(*n)++] = cfg->reps[i].id;
				break;
			}
	}
	return ids;
}

/* A number as YAML and people read it: up to 3 decimals, no trailing
 * zeros. */
static void
fmt_num(double v, char *buf, size_t buflen)
{
	char *dot, *end;

	snprintf(buf, buflen, "%.3f", v);
	if ((dot = strchr(buf, '.')) == NULL)
		return;
	end = buf + strlen(buf) - 1;
	while (end > dot && *end == '0')
		*end-- = '\0';
	if (end == dot)
		*end = '\0';
}

/* Appends to a growing string. */
struct out {
	char	*s;
	size_t	 len;
};

static void out_add(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *piece;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	piece = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(piece, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->s = xrealloc(o->s, o->len + (size_t)n + 1);
	memcpy(o->s + o->len, piece, (size_t)n + 1);
	o->len += (size_t)n;
	free(piece);
}

static const char *
source_name(enum plan_rate_source s)
{
	return s == PLAN_RATE_HISTORY ? "history" :
	    s == PLAN_RATE_TYPED ? "typed" : "none";
}

/* One KPI's line of a role's targets. */
static void
yaml_targets(struct out *o, const struct config *cfg,
    const struct plan_kpi *pk)
{
	char a[64];
	int per;

	out_add(o, "      %s: {", cfg->kpis[pk->kpi].name);
	for (per = 0; per < PERIOD_COUNT; per++) {
		fmt_num(pk->value[per], a, sizeof(a));
		out_add(o, "%s%s: %s", per ? ", " : "",
		    caltime_period_name((enum period)per), a);
	}
	out_add(o, "}\n");
}

char *
plan_yaml(const struct plan *p)
{
	const struct config *cfg = p->cfg;
	const struct plan_input *in = p->in;
	struct out o = { NULL, 0 };
	char a[64], b[64], c[64], d[64], from[16], to[16];
	size_t i, j;

	caltime_format_date(p->start_day, from, sizeof(from));
	caltime_format_date(p->end_day - 1, to, sizeof(to));
	fmt_num(in->revenue, a, sizeof(a));
	fmt_num(in->deal_size, b, sizeof(b));
	fmt_num(p->deals, c, sizeof(c));
	out_add(&o, "# paced plan: revenue %s at %s a deal = %s deals\n",
	    a, b, c);
	out_add(&o, "# year %s..%s, calendar %s: %d working days, %d weeks, "
	    "%d months, %d quarters\n", from, to, cfg->calendars[p->calendar].name,
	    p->buckets[PERIOD_DAY], p->buckets[PERIOD_WEEK],
	    p->buckets[PERIOD_MONTH], p->buckets[PERIOD_QUARTER]);
	out_add(&o, "# funnel, a year (team total, role, per rep):\n");
	for (i = 0; i < p->nkpis; i++) {
		const struct plan_kpi *pk = &p->kpis[i];

		fmt_num(pk->total, a, sizeof(a));
		fmt_num(pk->per_rep, b, sizeof(b));
		out_add(&o, "#   %s %s (%s: %ld reps, %s each)",
		    cfg->kpis[pk->kpi].name, a, cfg->roles[pk->role].name,
		    pk->reps, b);
		if (i < in->nsteps) {
			const struct plan_step *s = &in->steps[i];

			fmt_num(s->rate, d, sizeof(d));
			out_add(&o, " -> %s at %s (%s",
			    cfg->kpis[s->to].name, d, source_name(s->source));
			if (s->has_history) {
				fmt_num(s->hist_from, a, sizeof(a));
				fmt_num(s->hist_to, b, sizeof(b));
				out_add(&o, "; measured %s -> %s", a, b);
			}
			if (s->note[0] != '\0')
				out_add(&o, "; %s", s->note);
			out_add(&o, ")");
		}
		out_add(&o, "\n");
	}
	if (p->has_revenue) {
		fmt_num(p->revenue.total, a, sizeof(a));
		fmt_num(p->revenue.per_rep, b, sizeof(b));
		out_add(&o, "#   %s %s (%s: %ld reps, %s each)\n",
		    cfg->kpis[p->revenue.kpi].name, a,
		    cfg->roles[p->revenue.role].name, p->revenue.reps, b);
	}
	out_add(&o, "# targets per rep, rounded up to %d decimal%s\n",
	    in->decimals, in->decimals == 1 ? "" : "s");
	out_add(&o, "roles:\n");
	for (j = 0; j < p->nroles; j++) {
		out_add(&o, "  %s:\n    targets:\n",
		    cfg->roles[p->roles[j].role].name);
		for (i = 0; i < p->nkpis; i++) {
			const struct plan_kpi *pk = &p->kpis[i];

			if (pk->role == p->roles[j].role)
				yaml_targets(&o, cfg, pk);
		}
		if (p->has_revenue && p->revenue.role == p->roles[j].role)
			yaml_targets(&o, cfg, &p->revenue);
	}
	return o.s;
}

/* One planned KPI: its role, totals and the unrounded per-rep figures. */
static cJSON *
json_kpi(const struct config *cfg, const struct plan_kpi *pk)
{
	cJSON *x = cJSON_CreateObject(), *kx;
	int per;

	cJSON_AddStringToObject(x, "kpi", cfg->kpis[pk->kpi].name);
	cJSON_AddStringToObject(x, "role", cfg->roles[pk->role].name);
	cJSON_AddNumberToObject(x, "reps", (double)pk->reps);
	cJSON_AddNumberToObject(x, "total", pk->total);
	cJSON_AddNumberToObject(x, "per_rep", pk->per_rep);
	kx = cJSON_AddObjectToObject(x, "per_rep_exact");
	for (per = 0; per < PERIOD_COUNT; per++)
		cJSON_AddNumberToObject(kx, caltime_period_name((enum period)per),
		    pk->exact[per]);
	return x;
}

/* A role's targets for one KPI, rounded as in the YAML block. */
static void
json_targets(cJSON *t, const struct config *cfg, const struct plan_kpi *pk)
{
	cJSON *kx = cJSON_AddObjectToObject(t, cfg->kpis[pk->kpi].name);
	int per;

	for (per = 0; per < PERIOD_COUNT; per++)
		cJSON_AddNumberToObject(kx, caltime_period_name((enum period)per),
		    pk->value[per]);
}

char *
plan_json(const struct plan *p)
{
	const struct config *cfg = p->cfg;
	const struct plan_input *in = p->in;
	cJSON *o = cJSON_CreateObject(), *arr, *x, *roles, *r, *t, *h;
	char buf[16];
	size_t i, j;
	int per;

	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddNumberToObject(o, "revenue", in->revenue);
	cJSON_AddNumberToObject(o, "deal_size", in->deal_size);
	cJSON_AddNumberToObject(o, "deals", p->deals);
	cJSON_AddNumberToObject(o, "year", in->year);
	caltime_format_date(p->start_day, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "start", buf);
	caltime_format_date(p->end_day - 1, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "end", buf);
	cJSON_AddStringToObject(o, "calendar", cfg->calendars[p->calendar].name);
	if (in->team != NULL)
		cJSON_AddStringToObject(o, "team", in->team);
	cJSON_AddNumberToObject(o, "decimals", in->decimals);
	x = cJSON_AddObjectToObject(o, "buckets");
	for (per = 0; per < PERIOD_COUNT; per++)
		cJSON_AddNumberToObject(x, caltime_period_name((enum period)per),
		    p->buckets[per]);
	arr = cJSON_AddArrayToObject(o, "funnel");
	for (i = 0; i < p->nkpis; i++)
		cJSON_AddItemToArray(arr, json_kpi(cfg, &p->kpis[i]));
	if (p->has_revenue)
		cJSON_AddItemToObject(o, "revenue_kpi",
		    json_kpi(cfg, &p->revenue));
	arr = cJSON_AddArrayToObject(o, "steps");
	for (i = 0; i < in->nsteps; i++) {
		const struct plan_step *s = &in->steps[i];

		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "from", cfg->kpis[s->from].name);
		cJSON_AddStringToObject(x, "to", cfg->kpis[s->to].name);
		cJSON_AddNumberToObject(x, "rate", s->rate);
		cJSON_AddStringToObject(x, "source", source_name(s->source));
		if (s->has_history) {
			h = cJSON_AddObjectToObject(x, "history");
			cJSON_AddNumberToObject(h, "from", s->hist_from);
			cJSON_AddNumberToObject(h, "to", s->hist_to);
		}
		if (s->note[0] != '\0')
			cJSON_AddStringToObject(x, "note", s->note);
		cJSON_AddItemToArray(arr, x);
	}
	roles = cJSON_AddObjectToObject(o, "roles");
	for (j = 0; j < p->nroles; j++) {
		r = cJSON_AddObjectToObject(roles,
		    cfg->roles[p->roles[j].role].name);
		cJSON_AddNumberToObject(r, "reps", (double)p->roles[j].reps);
		t = cJSON_AddObjectToObject(r, "targets");
		for (i = 0; i < p->nkpis; i++) {
			const struct plan_kpi *pk = &p->kpis[i];

			if (pk->role != p->roles[j].role)
				continue;
			json_targets(t, cfg, pk);
		}
		if (p->has_revenue && p->revenue.role == p->roles[j].role)
			json_targets(t, cfg, &p->revenue);
	}
	return jsontext_take(o);
}
