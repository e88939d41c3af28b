#ifndef PACED_EVALUATE_H
#define PACED_EVALUATE_H

/*
 * One rep's evaluation at one instant, pure: from the rep's counters in
 * the buckets holding the instant and the alert state of each alerting
 * (KPI, period), compute the scorecards, step every alert state machine
 * and build the alerts to send (alert contract v1 JSON). The daemon reads
 * and writes the inputs in Redis; the backtest keeps them in memory.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "caltime.h"
#include "config.h"
#include "roster.h"
#include "scorecard.h"

/* The persisted state of one (rep, KPI, period): the bucket it belongs
 * to, the alert state machine and the figures of its last change (their
 * target is the one the bucket's alert was judged by: the period_ended
 * message measures the bucket's final count against it). */
struct eval_state {
	bool present;
	int32_t start_day;
	struct alert_state alert;
	double actual, target, expected, pace, required_rate;
};

/* Longest eval_state_format() output plus NUL. */
#define EVAL_STATE_SIZE	256
/* Hash field name of (kpi, period): "<kpi>:<period>". */
#define EVAL_FIELD_SIZE	96

struct eval_alert {
	char alert_id[ALERT_ID_SIZE];
	struct alert_action action;
	size_t kpi;
	enum period period;
	char message[ALERT_MESSAGE_SIZE];
	const char *notify[2];		/* borrowed from the config */
	size_t nnotify;
	char *json;			/* owned: free with eval_result_clear */
	char superseded_id[ALERT_ID_SIZE];	/* warning id replaced by critical, or "" */
};

struct eval_result {
	struct scorecard cards[PERIOD_COUNT];	/* kpis arrays owned */
	struct eval_alert *alerts;
	size_t nalerts, alerts_cap;
	/* states[k * PERIOD_COUNT + p] after the step; changed[] marks the
	 * ones to store, and a changed state that is not present the ones
	 * to delete (a pair no longer judged). */
	struct eval_state *states;
	bool *changed;
};

/* True when (kpi k, period p) raises alerts under cfg's alerts block. */
bool evaluate_alerting(const struct config *cfg, size_t k, enum period p);
/* Writes "<kpi>:<period>" into buf (EVAL_FIELD_SIZE). */
void evaluate_field(const struct config *cfg, size_t k, enum period p,
    char *buf, size_t len);
/* Formats/parses a persisted state; parse returns 0 or -1. */
void eval_state_format(const struct eval_state *s, char *buf, size_t len);
int eval_state_parse(const char *buf, size_t len, struct eval_state *s);
/* What judging reads back of a state: the bucket, the alert state and the
 * target (the other figures are written for readers and never read back:
 * they stay 0), without the four strtod calls. 0 or -1; stricter than
 * eval_state_parse (no empty field). */
int eval_state_parse_brief(const char *buf, size_t len, struct eval_state *s);
/* What eval_state_parse_brief would read back of in once formatted. */
void eval_state_brief(const struct eval_state *in, struct eval_state *out);

/*
 * True when evaluate_rep() resolves st, a stored state of period p
 * (borrowed), because its bucket ended while it fires (reason
 * period_ended): start_day is the first day of p's bucket holding the
 * instant judged. The message carries the ended bucket's final figures,
 * so the caller passes the rep's value of that KPI in st's bucket
 * (st->start_day) as ended[] of evaluate_rep().
 */
bool evaluate_ending(const struct eval_state *st, int32_t start_day);
/*
 * Evaluates rep at at_ms. actual[p * cfg->nkpis + k] is the rep's value of
 * KPI k in period p's bucket holding at_ms; prev[k * PERIOD_COUNT + p] the
 * stored states (present false when none); ended[k * PERIOD_COUNT + p]
 * the rep's value of KPI k in the bucket of prev[k * PERIOD_COUNT + p],
 * read only where evaluate_ending() is true (NULL when it is nowhere).
 * All borrowed. Fills res (caller's; zero it first, release with
 * eval_result_clear).
 */
void evaluate_rep(const struct config *cfg, const struct roster_rep *rep,
    int64_t at_ms, const double *actual, const struct eval_state *prev,
    const double *ended, struct eval_result *res);
/*
 * evaluate_rep() for a rep whose data began at since_ms (INT64_MIN: as
 * far back as any bucket): a bucket that began before it is judged on the
 * working time since then, its target shrunk by the same share
 * (scorecard_since), so that days paced has no data for do not read as
 * zero activity.
 */
void evaluate_rep_since(const struct config *cfg,
    const struct roster_rep *rep, int64_t at_ms, int64_t since_ms,
    const double *actual, const struct eval_state *prev, const double *ended,
    struct eval_result *res);
/* evaluate_rep_since() with the team's buckets and working time from memo
 * (borrowed, updated; NULL: none), the evaluator's for a pass. */
void evaluate_rep_memo(const struct config *cfg,
    const struct roster_rep *rep, int64_t at_ms, int64_t since_ms,
    const double *actual, const struct eval_state *prev, const double *ended,
    struct scorecard_memo *memo, struct eval_result *res);
/* Frees what res owns and zeroes it. */
/* Frees what res's alerts own and keeps its arrays, for another
 * evaluate_rep_memo under the same config (which zeroes them). */
void eval_result_empty(struct eval_result *res);
void eval_result_clear(struct eval_result *res);

/* The resolution of a firing alert whose rep left the roster. */
struct eval_removed {
	char alert_id[ALERT_ID_SIZE];
	enum alert_level severity;
	/* owned, from the stored alert; manager_id may be NULL */
	char *rep_id, *team_id, *manager_id, *kpi, *period;
	char **notify;
	size_t nnotify;
	char message[ALERT_MESSAGE_SIZE];
	char *json;			/* owned: the message to publish */
};

/*
 * Builds into out (caller's; release with eval_removed_clear) the
 * resolution of json (len bytes, borrowed): the stored alert of a firing
 * message (P:alerts:firing) whose rep is no longer on the roster. A copy
 * of it with status resolved, reason rep_removed, evaluated_at at_ms and
 * a sentence saying so; the rest (ids, notify, figures) as stored.
 * Returns 0, or -1 (out zeroed) when json is not a firing alert.
 */
int evaluate_rep_removed(const char *json, size_t len, int64_t at_ms,
    struct eval_removed *out);
/* Frees what r owns and zeroes it. */
void eval_removed_clear(struct eval_removed *r);

#endif
