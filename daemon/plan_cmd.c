/*
 * plan_cmd.c: the `paced plan` command line.
 *
 * Called from main.c when argv[1] is "plan": parses the options, loads
 * the config, reads the measured funnel for --from-history
 * (plan_history.c), works the plan out (plan.c) and prints the roles
 * block or its JSON on stdout. Errors go to stderr: exit 1 for a config
 * that does not load or a Redis that cannot be read, 2 for a usage error
 * or bad input.
 */
#include "plan_cmd.h"

#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "config.h"
#include "plan.h"
#include "plan_history.h"
#include "xmalloc.h"

#define HISTORY_MONTHS_DEFAULT	3
#define HISTORY_MONTHS_MAX	24
#define MIN_VOLUME_DEFAULT	30

static void
plan_usage(FILE *f)
{
	fprintf(f,
	    "usage: paced plan --config FILE --revenue N --deal-size N\n"
	    "                  --funnel FROM:TO=RATE,... [--reps ROLE=N,...]\n"
	    "                  [--assign KPI=ROLE,...] [--revenue-kpi KPI]\n"
	    "                  [--team ID] [--year Y]\n"
	    "                  [--decimals N] [--json]\n"
	    "                  [--from-history [--history-months N]\n"
	    "                   [--min-volume N] [--at YYYY-MM-DD]]\n"
	    "Works a revenue goal back through the funnel to each rep's\n"
	    "targets per day, week, month and quarter, printed as a roles:\n"
	    "block for the config (or JSON with --json).\n");
}

struct plan_opts {
	const char *config, *revenue, *deal_size, *funnel, *reps, *assign;
	const char *team, *year, *decimals, *months, *min_volume, *at;
	const char *revenue_kpi;
	bool json, history;
};

/* A whole number in [lo, hi] from s; 0 or -1. */
static int
whole(const char *s, long lo, long hi, long *out)
{
	double d;

	if (plan_parse_number(s, &d) != 0 || d != floor(d) || d < lo ||
	    d > hi)
		return -1;
	*out = (long)d;
	return 0;
}

/* Options to in; 0 or -1 with err (a usage error). */
static int
parse_input(const struct config *cfg, const struct plan_opts *o,
    struct plan_input *in, char *err, size_t errlen)
{
	int y;
	unsigned m, d;
	long v;

	if (plan_parse_number(o->revenue, &in->revenue) != 0 ||
	    !(in->revenue > 0 && in->revenue <= PLAN_AMOUNT_MAX)) {
		snprintf(err, errlen, "--revenue: \"%s\" is not a number "
		    "above 0 and at most 1e15", o->revenue);
		return -1;
	}
	if (plan_parse_number(o->deal_size, &in->deal_size) != 0 ||
	    !(in->deal_size > 0 && in->deal_size <= PLAN_AMOUNT_MAX)) {
		snprintf(err, errlen, "--deal-size: \"%s\" is not a number "
		    "above 0 and at most 1e15", o->deal_size);
		return -1;
	}
	if (plan_parse_funnel(cfg, o->funnel, o->history, in, err,
	    errlen) != 0)
		return -1;
	if (o->reps != NULL && plan_parse_reps(cfg, o->reps, in, err,
	    errlen) != 0)
		return -1;
	if (o->assign != NULL && plan_parse_assign(cfg, o->assign, in, err,
	    errlen) != 0)
		return -1;
	if (o->revenue_kpi != NULL && plan_parse_revenue_kpi(cfg,
	    o->revenue_kpi, in, err, errlen) != 0)
		return -1;
	in->team = o->team;
	if (o->year != NULL) {
		if (whole(o->year, 1971, 9998, &v) != 0) {
			snprintf(err, errlen, "--year: \"%s\" is not a year",
			    o->year);
			return -1;
		}
		in->year = (int)v;
	} else {
		caltime_civil_from_days((int32_t)(caltime_wall_ms() /
		    86400000), &y, &m, &d);
		in->year = y;
	}
	in->decimals = PLAN_DECIMALS_DEFAULT;
	if (o->decimals != NULL) {
		if (whole(o->decimals, 0, PLAN_DECIMALS_MAX, &v) != 0) {
			snprintf(err, errlen, "--decimals: \"%s\" is not a "
			    "whole number from 0 to %d", o->decimals,
			    PLAN_DECIMALS_MAX);
			return -1;
		}
		in->decimals = (int)v;
	}
	return 0;
}

/* --from-history: the rates of the measured funnel. Returns 0, 1 (Redis)
 * or 2 (bad input), with err. */
static int
history(const struct config *cfg, const struct plan_opts *o,
    struct plan *p, struct plan_input *in, char *err, size_t errlen)
{
	const char **ids;
	double *totals;
	long months = HISTORY_MONTHS_DEFAULT, minv = MIN_VOLUME_DEFAULT;
	int32_t at, first;
	size_t n;
	int y, mi, rc;
	unsigned m, d;

	if (o->months != NULL && whole(o->months, 1, HISTORY_MONTHS_MAX,
	    &months) != 0) {
		snprintf(err, errlen, "--history-months: \"%s\" is not a "
		    "whole number from 1 to %d", o->months, HISTORY_MONTHS_MAX);
		return 2;
	}
	if (o->min_volume != NULL && whole(o->min_volume, 1, 1000000000L,
	    &minv) != 0) {
		snprintf(err, errlen, "--min-volume: \"%s\" is not a whole "
		    "number above 0", o->min_volume);
		return 2;
	}
	if (o->at != NULL) {
		if (caltime_parse_date(o->at, &at) != 0) {
			snprintf(err, errlen, "--at: \"%s\" is not a date "
			    "(YYYY-MM-DD)", o->at);
			return 2;
		}
	} else
		at = (int32_t)(caltime_wall_ms() / 86400000);
	/* The months before the one holding --at: whole months only. */
	caltime_civil_from_days(at, &y, &m, &d);
	mi = y * 12 + (int)m - 1 - (int)months;
	y = mi / 12;
	m = (unsigned)(mi % 12) + 1;
	first = caltime_days_from_civil(y, m, 1);
	ids = plan_rep_ids(p, &n);
	totals = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*totals));
	rc = plan_history_read(cfg, ids, n, first, (int)months, totals, err,
	    errlen);
	if (rc == 0 && plan_rates_from_history(in, totals, (double)minv, cfg,
	    err, errlen) != 0)
		rc = 2;
	else if (rc != 0)
		rc = 1;
	free(totals);
	free(ids);
	return rc;
}

int
plan_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "revenue", required_argument, NULL, 'r' },
		{ "deal-size", required_argument, NULL, 'd' },
		{ "funnel", required_argument, NULL, 'f' },
		{ "reps", required_argument, NULL, 'n' },
		{ "assign", required_argument, NULL, 'a' },
		{ "revenue-kpi", required_argument, NULL, 'R' },
		{ "team", required_argument, NULL, 't' },
		{ "year", required_argument, NULL, 'y' },
		{ "decimals", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "from-history", no_argument, NULL, 'H' },
		{ "history-months", required_argument, NULL, 'M' },
		{ "min-volume", required_argument, NULL, 'V' },
		{ "at", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct plan_opts o = { 0 };
	struct plan_input in = { 0 };
	struct config *cfg;
	struct plan *p = NULL;
	char *errs = NULL, *text, err[512];
	int ch, rc = 2;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.config = optarg; break;
		case 'r': o.revenue = optarg; break;
		case 'd': o.deal_size = optarg; break;
		case 'f': o.funnel = optarg; break;
		case 'n': o.reps = optarg; break;
		case 'a': o.assign = optarg; break;
		case 'R': o.revenue_kpi = optarg; break;
		case 't': o.team = optarg; break;
		case 'y': o.year = optarg; break;
		case 'D': o.decimals = optarg; break;
		case 'j': o.json = true; break;
		case 'H': o.history = true; break;
		case 'M': o.months = optarg; break;
		case 'V': o.min_volume = optarg; break;
		case 'A': o.at = optarg; break;
		case 'h':
			plan_usage(stdout);
			return 0;
		default:
			plan_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.config == NULL || o.revenue == NULL ||
	    o.deal_size == NULL || o.funnel == NULL) {
		fprintf(stderr, "paced plan: %s\n", optind != argc ?
		    "unexpected argument" : "--config, --revenue, --deal-size "
		    "and --funnel are required");
		plan_usage(stderr);
		return 2;
	}
	if (!o.history && (o.months || o.min_volume || o.at)) {
		fprintf(stderr, "paced plan: --history-months, --min-volume "
		    "and --at go with --from-history\n");
		return 2;
	}
	if ((cfg = config_load(o.config, &errs)) == NULL) {
		fputs(errs ? errs : "unknown error\n", stderr);
		free(errs);
		return 1;
	}
	if (parse_input(cfg, &o, &in, err, sizeof(err)) != 0 ||
	    (p = plan_new(cfg, &in, err, sizeof(err))) == NULL)
		goto out;
	if (o.history) {
		if ((rc = history(cfg, &o, p, &in, err, sizeof(err))) != 0)
			goto out;
		rc = 2;
	} else if (plan_rates_typed(&in, cfg, err, sizeof(err)) != 0)
		goto out;
	if (plan_work(p, err, sizeof(err)) != 0)
		goto out;
	text = o.json ? plan_json(p) : plan_yaml(p);
	fputs(text, stdout);
	if (o.json)
		fputc('\n', stdout);
	free(text);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "paced plan: %s\n", err);
	plan_free(p);
	plan_input_free(&in);
	config_free(cfg);
	return rc;
}
