/*
 * evaluate.c: the judgement of one rep at one instant. For each (KPI,
 * period) with a stored state or judged now (it alerts and the rep has a
 * target): a state left from an earlier bucket that still fires is
 * resolved first ("period_ended", with the figures that bucket ended
 * with: the rep's final count in it, which the caller reads, against the
 * target stored with the state); a pair no longer judged has its state
 * resolved if it fires ("not_evaluated") and cleared; then the current
 * bucket's figures step the state machine. Every message gets the
 * contract's JSON here, so the daemon and the backtest send the same
 * bytes.
 */
#include "evaluate.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "xmalloc.h"

_Static_assert((int)ALERT_PACE_NOT_STARTED == (int)PACING_NOT_STARTED &&
    (int)ALERT_PACE_AHEAD == (int)PACING_AHEAD &&
    (int)ALERT_PACE_ON_PACE == (int)PACING_ON_PACE &&
    (int)ALERT_PACE_BEHIND == (int)PACING_BEHIND &&
    (int)ALERT_PACE_CRITICAL == (int)PACING_CRITICAL,
    "alert_pace mirrors pacing_status");

bool
evaluate_alerting(const struct config *cfg, size_t k, enum period p)
{
	const struct config_alerts *a = &cfg->alerts;

	if (!a->periods[p])
		return false;
	if (a->leading_only)
		return cfg->kpis[k].kind == KPI_LEADING;
	if (a->nkpis == 0)
		return true;
	for (size_t i = 0; i < a->nkpis; i++)
		if (strcmp(a->kpis[i], cfg->kpis[k].name) == 0)
			return true;
	return false;
}

void
evaluate_field(const struct config *cfg, size_t k, enum period p, char *buf,
    size_t len)
{
	const char *kpi = cfg->kpis[k].name, *per = caltime_period_name(p);
	size_t a = strlen(kpi), b = strlen(per);

	/* as snprintf("%s:%s") would, without its cost (once per state
	 * stored) */
	if (len == 0)
		return;
	if (a + 1 + b < len) {
		memcpy(buf, kpi, a);
		buf[a] = ':';
		memcpy(buf + a + 1, per, b + 1);
	} else
		snprintf(buf, len, "%s:%s", kpi, per);
}

void
eval_state_format(const struct eval_state *s, char *buf, size_t len)
{
	const double fig[5] = { s->actual, s->target, s->expected, s->pace,
	    s->required_rate };
	char st[ALERT_STATE_SIZE], num[JSONTEXT_NUMBER_SIZE];
	size_t o, n;

	/* Each figure in the fewest digits that read back the same double
	 * (printf's %.17g costs more than the rest of the state). */
	if (len < 16) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	if (alert_state_format(&s->alert, st, sizeof(st)) != 0)
		st[0] = '\0';
	o = jsontext_i64(buf, s->start_day);
	n = strlen(st);
	if (o + 1 + n >= len) {
		buf[o] = '\0';
		return;
	}
	buf[o++] = '|';
	memcpy(buf + o, st, n + 1);
	o += n;
	for (int i = 0; i < 5; i++) {
		n = jsontext_number_exact(num, fig[i]);
		if (o + 1 + n >= len)
			break;		/* cut after the last figure that fits */
		buf[o++] = '|';
		memcpy(buf + o, num, n + 1);
		o += n;
	}
}

/*
 * The seven '|'-separated fields of a state, in place of strtok_r: starts
 * and lengths. 0, or -1 for another count.
 */
static int
state_fields(const char *buf, size_t len, const char *f[7], size_t n[7])
{
	const char *p = buf, *end = buf + len, *bar;
	int k = 0;

	for (;;) {
		bar = memchr(p, '|', (size_t)(end - p));
		if (k == 7)
			return -1;
		f[k] = p;
		n[k] = (size_t)((bar != NULL ? bar : end) - p);
		if (n[k] == 0)
			return -1;
		k++;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return k == 7 ? 0 : -1;
}

int
eval_state_parse_brief(const char *buf, size_t len, struct eval_state *s)
{
	const char *f[7];
	size_t n[7];
	char num[EVAL_STATE_SIZE], *end;
	long day;

	/* A NUL ends the text for eval_state_parse: refused here too. */
	if (len == 0 || len >= EVAL_STATE_SIZE ||
	    memchr(buf, '\0', len) != NULL || state_fields(buf, len, f, n))
		return -1;
	memset(s, 0, sizeof(*s));
	memcpy(num, f[0], n[0]);
	num[n[0]] = '\0';
	day = strtol(num, &end, 10);
	if (*end != '\0' || day < INT32_MIN || day > INT32_MAX)
		return -1;
	s->start_day = (int32_t)day;
	if (alert_state_parse(f[1], n[1], &s->alert) != 0)
		return -1;
	memcpy(num, f[3], n[3]);
	num[n[3]] = '\0';
	s->target = jsontext_strtod(num);
	s->present = true;
	return 0;
}

void
eval_state_brief(const struct eval_state *in, struct eval_state *out)
{
	memset(out, 0, sizeof(*out));
	if (!in->present)
		return;
	out->present = true;
	out->start_day = in->start_day;
	out->alert = in->alert;
	out->target = in->target;
}

int
eval_state_parse(const char *buf, size_t len, struct eval_state *s)
{
	char tmp[EVAL_STATE_SIZE], *fields[7], *p, *save = NULL;
	int n = 0;
	char *end;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	for (p = strtok_r(tmp, "|", &save); p != NULL && n < 7;
	    p = strtok_r(NULL, "|", &save))
		fields[n++] = p;
	if (n != 7 || p != NULL)
		return -1;
	memset(s, 0, sizeof(*s));
	s->start_day = (int32_t)strtol(fields[0], &end, 10);
	if (*end != '\0' ||
	    alert_state_parse(fields[1], strlen(fields[1]), &s->alert) != 0)
		return -1;
	s->actual = strtod(fields[2], NULL);
	s->target = strtod(fields[3], NULL);
	s->expected = strtod(fields[4], NULL);
	s->pace = strtod(fields[5], NULL);
	s->required_rate = strtod(fields[6], NULL);
	s->present = true;
	return 0;
}

static const char *
manager_of(const struct config *cfg, const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->nmanagers; i++)
		if (strcmp(cfg->managers[i].id, id) == 0)
			return cfg->managers[i].manager;
	return NULL;
}

static void
add_number(cJSON *o, const char *name, bool has, double v)
{
	if (has && isfinite(v))
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static struct eval_alert *
alert_push(struct eval_result *res)
{
	if (res->nalerts == res->alerts_cap) {
		res->alerts_cap = res->alerts_cap ? res->alerts_cap * 2 : 4;
		res->alerts = xreallocarray(res->alerts, res->alerts_cap,
		    sizeof(*res->alerts));
	}
	memset(&res->alerts[res->nalerts], 0, sizeof(res->alerts[0]));
	return &res->alerts[res->nalerts++];
}

struct figures {
	double actual, target, expected, pace, projected, required_rate;
	bool has_pace, has_projected, has_required_rate;
};

static void
figures_of(const struct pacing_figures *fig, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	f->actual = fig->actual;
	f->target = fig->target;
	f->expected = fig->expected_to_date;
	f->pace = fig->pace;
	f->has_pace = fig->has_pace;
	f->projected = fig->projected;
	f->has_projected = fig->has_projected;
	f->required_rate = fig->required_rate;
	f->has_required_rate = fig->has_required_rate;
}

/*
 * The figures the bucket of st (KPI k, period p) ended with: the rep's
 * final value in it against the target its alert was judged by, all of
 * the bucket's working time gone by. So expected_to_date is the target,
 * projected the actual, and required_rate 0 if the target was met, else
 * null (no time is left), as pacing says at the end of a period. (The
 * thresholds only set the status, which no message carries.)
 */
static void
ended_figures(const struct config *cfg, const struct roster_rep *rep,
    size_t k, enum period p, const struct eval_state *st, double actual,
    struct figures *f)
{
	struct pacing_worktime wt;
	struct pacing_figures fig;
	struct bucket b;

	caltime_bucket_of_day(&rep->calendar->rules, p, st->start_day, &b);
	/* Counted at the bucket's end, not at the instant judged: the same
	 * whenever the resolution comes. */
	scorecard_worktime(rep, &b, tzone_local_to_utc(rep->zone, b.end_day,
	    0), &wt);
	pacing_evaluate(actual, st->target,
	    cfg->kpis[k].better == KPI_BETTER_LOWER ? PACING_LOWER_IS_BETTER :
	    PACING_HIGHER_IS_BETTER, &wt, NULL, &fig);
	figures_of(&fig, f);
}

bool
evaluate_ending(const struct eval_state *st, int32_t start_day)
{
	return st->present && st->start_day != start_day &&
	    st->alert.level != ALERT_LEVEL_NONE;
}

/* What is still needed to hit target (a cap: what may still be used),
 * never below 0. */
static double
remaining_of(const struct figures *f)
{
	double left = f->target - f->actual;

	return isfinite(left) && left > 0 ? left : 0;
}

/* Builds message and JSON of one action. */
static void
build_alert(const struct config *cfg, const struct roster_rep *rep,
    size_t k, enum period p, int32_t start_day, int64_t at_ms,
    const struct alert_action *act, const struct figures *f,
    struct eval_result *res)
{
	struct eval_alert *a = alert_push(res);
	struct alert_facts facts = {
		.rep_id = rep->rep->id,
		.kpi = cfg->kpis[k].name,
		.period = caltime_period_name(p),
		.actual = f->actual,
		.target = f->target,
		.expected = f->expected,
		.pace = f->pace,
		.required_rate = f->required_rate,
	};
	struct bucket b;
	cJSON *o, *notify;
	char ts[40];
	int64_t start_ms, end_ms;

	a->action = *act;
	a->kpi = k;
	a->period = p;
	alert_id(rep->rep->id, cfg->kpis[k].name, caltime_period_name(p),
	    start_day, act->severity, a->alert_id);
	if (act->supersedes == ALERT_LEVEL_WARNING)
		alert_id(rep->rep->id, cfg->kpis[k].name, caltime_period_name(p),
		    start_day, ALERT_LEVEL_WARNING, a->superseded_id);
	alert_message(&facts, act, a->message, sizeof(a->message));
	if (rep->manager != NULL)
		a->notify[a->nnotify++] = rep->manager;
	if (act->escalate && cfg->alerts.escalate_critical) {
		const char *up = manager_of(cfg, rep->manager);

		if (up != NULL)
			a->notify[a->nnotify++] = up;
	}

	caltime_bucket_of_day(&rep->calendar->rules, p, start_day, &b);
	start_ms = tzone_local_to_utc(rep->zone, b.start_day, 0);
	end_ms = tzone_local_to_utc(rep->zone, b.end_day, 0);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "alert_id", a->alert_id);
	cJSON_AddStringToObject(o, "status", alert_status_name(act->status));
	cJSON_AddStringToObject(o, "severity", alert_level_name(act->severity));
	cJSON_AddStringToObject(o, "reason", alert_reason_name(act->reason));
	cJSON_AddStringToObject(o, "rep_id", rep->rep->id);
	cJSON_AddStringToObject(o, "team_id", rep->team->id);
	if (rep->manager != NULL)
		cJSON_AddStringToObject(o, "manager_id", rep->manager);
	else
		cJSON_AddNullToObject(o, "manager_id");
	notify = cJSON_AddArrayToObject(o, "notify");
	for (size_t i = 0; i < a->nnotify; i++)
		cJSON_AddItemToArray(notify, cJSON_CreateString(a->notify[i]));
	cJSON_AddStringToObject(o, "kpi", cfg->kpis[k].name);
	cJSON_AddStringToObject(o, "period", caltime_period_name(p));
	caltime_format_local(start_ms, tzone_offset_at(rep->zone, start_ms), ts,
	    sizeof(ts));
	cJSON_AddStringToObject(o, "period_start", ts);
	caltime_format_local(end_ms, tzone_offset_at(rep->zone, end_ms), ts,
	    sizeof(ts));
	cJSON_AddStringToObject(o, "period_end", ts);
	cJSON_AddNumberToObject(o, "actual", f->actual);
	cJSON_AddNumberToObject(o, "target", f->target);
	cJSON_AddNumberToObject(o, "expected_to_date", f->expected);
	add_number(o, "pace", f->has_pace, f->pace);
	add_number(o, "projected", f->has_projected, f->projected);
	/* One unit a message (README, alert rules): a day alert says what
	 * is left today, and a rate per working day would say the same in
	 * another unit, so it is null there. */
	add_number(o, "required_rate", f->has_required_rate &&
	    p != PERIOD_DAY, f->required_rate);
	cJSON_AddNumberToObject(o, "remaining", remaining_of(f));
	caltime_format_utc(at_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "evaluated_at", ts);
	cJSON_AddStringToObject(o, "message", a->message);
	a->json = jsontext_take(o);
}

/*
 * The pair (k, p) is no longer judged for rep: a reload took it out of
 * the alert rules, or the rep has no target for it now. A state of the
 * current bucket that still fires is resolved (not_evaluated) with its
 * figures now: the scorecard's if the rep still has a target, else the
 * rep's count against the target the alert was judged by (stored with
 * the state). Otherwise nothing would ever close it.
 */
static void
not_judged(const struct config *cfg, const struct roster_rep *rep, size_t k,
    enum period p, const struct alert_rules *rules, int64_t at_ms,
    const struct scorecard *card, struct eval_state *st,
    struct eval_result *res)
{
	const struct scorecard_kpi *sk = &card->kpis[k];
	struct pacing_figures fig;
	struct alert_action act;
	struct alert_input in;
	struct figures f;

	if (!st->present)
		return;
	memset(&in, 0, sizeof(in));
	in.now_ms = at_ms;
	in.not_evaluated = true;
	alert_step(rules, &st->alert, &in, &act);
	if (!act.send)
		return;
	if (sk->has_target)
		fig = sk->fig;
	else
		pacing_evaluate(sk->actual, st->target,
		    cfg->kpis[k].better == KPI_BETTER_LOWER ?
		    PACING_LOWER_IS_BETTER : PACING_HIGHER_IS_BETTER,
		    &card->wt, NULL, &fig);
	figures_of(&fig, &f);
	build_alert(cfg, rep, k, p, st->start_day, at_ms, &act, &f, res);
}

void
evaluate_rep(const struct config *cfg, const struct roster_rep *rep,
    int64_t at_ms, const double *actual, const struct eval_state *prev,
    const double *ended, struct eval_result *res)
{
	evaluate_rep_since(cfg, rep, at_ms, INT64_MIN, actual, prev, ended,
	    res);
}

void
evaluate_rep_since(const struct config *cfg, const struct roster_rep *rep,
    int64_t at_ms, int64_t since_ms, const double *actual,
    const struct eval_state *prev, const double *ended,
    struct eval_result *res)
{
	evaluate_rep_memo(cfg, rep, at_ms, since_ms, actual, prev, ended, NULL,
	    res);
}

void
evaluate_rep_memo(const struct config *cfg, const struct roster_rep *rep,
    int64_t at_ms, int64_t since_ms, const double *actual,
    const struct eval_state *prev, const double *ended,
    struct scorecard_memo *memo, struct eval_result *res)
{
	struct alert_rules rules = {
		.warning_below = cfg->alerts.warning_below,
		.critical_below = cfg->alerts.critical_below,
		.grace = cfg->alerts.grace,
		.repeat_interval_ms = cfg->alerts.repeat_interval_ms,
		.min_breach_evals = (uint32_t)cfg->alerts.min_breach_evals,
		.min_breach_ms = cfg->alerts.min_breach_ms,
		.resolve_margin = cfg->alerts.resolve_margin,
	};
	size_t nslots = cfg->nkpis * PERIOD_COUNT;

	/* A result emptied by eval_result_empty (same config) is used
	 * again, zeroed, rather than allocated anew. */
	if (res->states == NULL) {
		res->states = xcalloc(nslots ? nslots : 1,
		    sizeof(*res->states));
		res->changed = xcalloc(nslots ? nslots : 1, sizeof(bool));
	} else {
		memset(res->states, 0, nslots * sizeof(*res->states));
		memset(res->changed, 0, nslots * sizeof(bool));
	}
	res->nalerts = 0;
	for (int p = 0; p < PERIOD_COUNT; p++) {
		struct scorecard_kpi *kpis = res->cards[p].kpis;

		if (kpis == NULL)
			kpis = xcalloc(cfg->nkpis ? cfg->nkpis : 1,
			    sizeof(struct scorecard_kpi));
		else
			memset(kpis, 0, cfg->nkpis * sizeof(*kpis));
		memset(&res->cards[p], 0, sizeof(res->cards[p]));
		res->cards[p].kpis = kpis;
		scorecard_compute_memo(cfg, rep, (enum period)p, at_ms,
		    actual + (size_t)p * cfg->nkpis, memo, &res->cards[p]);
		scorecard_since_memo(cfg, rep, since_ms, memo, &res->cards[p]);
	}
	for (size_t k = 0; k < cfg->nkpis; k++) {
		for (int pi = 0; pi < PERIOD_COUNT; pi++) {
			enum period p = (enum period)pi;
			size_t slot = k * PERIOD_COUNT + (size_t)p;
			const struct scorecard *card = &res->cards[p];
			const struct scorecard_kpi *sk = &card->kpis[k];
			struct eval_state st = prev[slot];
			struct alert_state before;
			struct alert_action act;
			struct alert_input in;
			struct figures f;

			bool judged = evaluate_alerting(cfg, k, p) &&
			    sk->has_target;

			if (!judged && !st.present)
				continue;
			if (evaluate_ending(&st, card->bucket.start_day)) {
				/* The bucket closed: resolve what still fires,
				 * with the figures it ended with, judged now or
				 * not. */
				memset(&in, 0, sizeof(in));
				in.now_ms = at_ms;
				in.period_ended = true;
				in.elapsed = 1;
				alert_step(&rules, &st.alert, &in, &act);
				if (act.send) {
					ended_figures(cfg, rep, k, p, &st,
					    ended != NULL ? ended[slot] : 0, &f);
					build_alert(cfg, rep, k, p, st.start_day,
					    at_ms, &act, &f, res);
				}
			}
			if (st.present && st.start_day != card->bucket.start_day)
				st.present = false;
			if (!judged) {
				not_judged(cfg, rep, k, p, &rules, at_ms, card,
				    &st, res);
				/* Cleared: the caller forgets the state. */
				memset(&res->states[slot], 0,
				    sizeof(res->states[slot]));
				res->changed[slot] = true;
				continue;
			}
			if (!st.present) {
				memset(&st, 0, sizeof(st));
				st.present = true;
				st.start_day = card->bucket.start_day;
				res->changed[slot] = true;
			}
			if (st.alert.level != ALERT_LEVEL_NONE &&
			    st.alert.last_sent_worked_ms ==
			    ALERT_WORKED_UNKNOWN) {
				/* Stored before repeats counted working time
				 * ("a1"): the bucket's working time at its
				 * last message is what pacing counted then.
				 * Stored in the new form at once, so this is
				 * worked out once. */
				struct pacing_worktime then;

				int64_t gone = scorecard_since_gone(rep,
				    &card->bucket, since_ms);

				scorecard_worktime(rep, &card->bucket,
				    st.alert.last_sent_ms, &then);
				st.alert.last_sent_worked_ms =
				    then.elapsed_ms > gone ?
				    then.elapsed_ms - gone : 0;
				res->changed[slot] = true;
			}
			memset(&in, 0, sizeof(in));
			in.status = (enum alert_pace)sk->fig.status;
			in.pace = sk->fig.has_pace ? sk->fig.pace : NAN;
			in.elapsed = sk->fig.fraction;
			/* Repeats count the rep's working time (alert.h). */
			in.worked_ms = card->wt.elapsed_ms;
			in.now_ms = at_ms;
			in.no_time_left = card->wt.total_ms > 0 &&
			    card->wt.elapsed_ms >= card->wt.total_ms;
			before = st.alert;
			alert_step(&rules, &st.alert, &in, &act);
			/* A breach under way changes the state quietly. */
			if (!alert_state_equal(&before, &st.alert))
				res->changed[slot] = true;
			st.actual = sk->fig.actual;
			st.target = sk->fig.target;
			st.expected = sk->fig.expected_to_date;
			st.pace = sk->fig.has_pace ? sk->fig.pace : 0;
			st.required_rate = sk->fig.has_required_rate ?
			    sk->fig.required_rate : 0;
			if (act.send) {
				figures_of(&sk->fig, &f);
				build_alert(cfg, rep, k, p, st.start_day, at_ms,
				    &act, &f, res);
				res->changed[slot] = true;
			}
			res->states[slot] = st;
		}
	}
}

void
eval_result_empty(struct eval_result *res)
{
	for (size_t i = 0; i < res->nalerts; i++) {
		free(res->alerts[i].json);
		res->alerts[i].json = NULL;
	}
	res->nalerts = 0;
}

void
eval_result_clear(struct eval_result *res)
{
	for (int p = 0; p < PERIOD_COUNT; p++)
		free(res->cards[p].kpis);
	for (size_t i = 0; i < res->nalerts; i++)
		free(res->alerts[i].json);
	free(res->alerts);
	free(res->states);
	free(res->changed);
	memset(res, 0, sizeof(*res));
}

static char *
json_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static void
json_set_string(cJSON *o, const char *name, const char *value)
{
	if (cJSON_GetObjectItemCaseSensitive(o, name) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(o, name,
		    cJSON_CreateString(value));
	else
		cJSON_AddStringToObject(o, name, value);
}

int
evaluate_rep_removed(const char *json, size_t len, int64_t at_ms,
    struct eval_removed *out)
{
	struct alert_action act = { .send = true,
	    .status = ALERT_STATUS_RESOLVED,
	    .reason = ALERT_REASON_REP_REMOVED };
	struct alert_facts facts;
	const cJSON *id, *sev, *st, *notify, *n;
	cJSON *o;
	char ts[40];

	memset(out, 0, sizeof(*out));
	if ((o = cJSON_ParseWithLength(json, len)) == NULL)
		return -1;
	id = cJSON_GetObjectItemCaseSensitive(o, "alert_id");
	sev = cJSON_GetObjectItemCaseSensitive(o, "severity");
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	notify = cJSON_GetObjectItemCaseSensitive(o, "notify");
	if (!cJSON_IsString(id) || strlen(id->valuestring) !=
	    ALERT_ID_SIZE - 1 || !cJSON_IsString(sev) ||
	    !cJSON_IsString(st) || strcmp(st->valuestring, "firing") != 0)
		goto bad;
	if (strcmp(sev->valuestring, "warning") == 0)
		act.severity = ALERT_LEVEL_WARNING;
	else if (strcmp(sev->valuestring, "critical") == 0)
		act.severity = ALERT_LEVEL_CRITICAL;
	else
		goto bad;
	act.escalate = act.severity == ALERT_LEVEL_CRITICAL;
	memcpy(out->alert_id, id->valuestring, ALERT_ID_SIZE);
	out->severity = act.severity;
	out->rep_id = json_string(o, "rep_id");
	out->team_id = json_string(o, "team_id");
	out->manager_id = json_string(o, "manager_id");
	out->kpi = json_string(o, "kpi");
	out->period = json_string(o, "period");
	if (out->rep_id == NULL || out->team_id == NULL || out->kpi == NULL ||
	    out->period == NULL)
		goto bad;
	if (cJSON_IsArray(notify)) {
		out->notify = xcalloc((size_t)cJSON_GetArraySize(notify) + 1,
		    sizeof(char *));
		cJSON_ArrayForEach(n, notify)
			if (cJSON_IsString(n))
				out->notify[out->nnotify++] =
				    xstrdup(n->valuestring);
	}
	memset(&facts, 0, sizeof(facts));
	facts.rep_id = out->rep_id;
	facts.kpi = out->kpi;
	facts.period = out->period;
	alert_message(&facts, &act, out->message, sizeof(out->message));
	json_set_string(o, "status", alert_status_name(act.status));
	json_set_string(o, "reason", alert_reason_name(act.reason));
	caltime_format_utc(at_ms, ts, sizeof(ts));
	json_set_string(o, "evaluated_at", ts);
	json_set_string(o, "message", out->message);
	out->json = jsontext_take(o);
	return 0;
bad:
	cJSON_Delete(o);
	eval_removed_clear(out);
	return -1;
}

void
eval_removed_clear(struct eval_removed *r)
{
	free(r->rep_id);
	free(r->team_id);
	free(r->manager_id);
	free(r->kpi);
	free(r->period);
	for (size_t i = 0; i < r->nnotify; i++)
		free(r->notify[i]);
	free(r->notify);
	free(r->json);
	memset(r, 0, sizeof(*r));
}
