/*
 * alert.c: the alert state machine of one rep x KPI x period bucket, the
 * string form of its state, its stable id and its human sentence. The
 * pacing evaluator calls alert_step() on each evaluation (timer or change)
 * and hands any message to the sinks; the state lives wherever the caller
 * keeps it (a Redis hash field). Pure: no I/O, no clock, no allocation, no
 * logging; the caller logs transitions from the action it gets back.
 * The semantics are documented in alert.h.
 */

#include "alert.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "jsontext.h"

/* Version tags of the state string; a new layout gets a new tag and the
 * parser keeps reading the old ones. "a2" added the working time at the
 * last message, at the end so that readers of the first fields by
 * position are not thrown. */
#define STATE_TAG	"a2:"
#define STATE_TAG_A1	"a1:"
/* "a3" is "a2" with the breach under way appended; written only while
 * one is, so a state with none reads the same in every release. */
#define STATE_TAG_A3	"a3:"
_Static_assert(sizeof(STATE_TAG) == sizeof(STATE_TAG_A1) &&
    sizeof(STATE_TAG) == sizeof(STATE_TAG_A3),
    "the parser reads every tag at one length");

const char *
alert_level_name(enum alert_level level)
{
	switch (level) {
	case ALERT_LEVEL_NONE:
		return "none";
	case ALERT_LEVEL_WARNING:
		return "warning";
	case ALERT_LEVEL_CRITICAL:
		return "critical";
	}
	return "unknown";
}

const char *
alert_status_name(enum alert_status status)
{
	switch (status) {
	case ALERT_STATUS_FIRING:
		return "firing";
	case ALERT_STATUS_RESOLVED:
		return "resolved";
	}
	return "unknown";
}

const char *
alert_reason_name(enum alert_reason reason)
{
	switch (reason) {
	case ALERT_REASON_FIRED:
		return "fired";
	case ALERT_REASON_ESCALATED:
		return "escalated";
	case ALERT_REASON_REPEAT:
		return "repeat";
	case ALERT_REASON_RECOVERED:
		return "recovered";
	case ALERT_REASON_PERIOD_ENDED:
		return "period_ended";
	case ALERT_REASON_NOT_EVALUATED:
		return "not_evaluated";
	case ALERT_REASON_REP_REMOVED:
		return "rep_removed";
	}
	return "unknown";
}

const char *
alert_pace_name(enum alert_pace status)
{
	switch (status) {
	case ALERT_PACE_NOT_STARTED:
		return "not_started";
	case ALERT_PACE_AHEAD:
		return "ahead";
	case ALERT_PACE_ON_PACE:
		return "on_pace";
	case ALERT_PACE_BEHIND:
		return "behind";
	case ALERT_PACE_CRITICAL:
		return "critical";
	}
	return "unknown";
}

/*
 * The level a rep that pacing calls behind or critical is at. A critical
 * status is critical whatever the pace: pacing cuts its statuses at the
 * alert thresholds (scorecard.c), so the two disagree only where the
 * status does not come from the pace, a broken cap of a lower-is-better
 * KPI, which no remaining time can mend and which must not wait for the
 * pace to fall.
 */
static enum alert_level
level_of(const struct alert_rules *rules, const struct alert_input *in)
{
	if (in->status == ALERT_PACE_CRITICAL)
		return ALERT_LEVEL_CRITICAL;
	if (!isfinite(in->pace))
		return ALERT_LEVEL_WARNING;
	if (in->pace < rules->critical_below)
		return ALERT_LEVEL_CRITICAL;
	if (in->pace < rules->warning_below)
		return ALERT_LEVEL_WARNING;
	return ALERT_LEVEL_NONE;
}

static void
send_resolved(struct alert_state *st, struct alert_action *out,
    enum alert_reason reason)
{
	out->send = true;
	out->status = ALERT_STATUS_RESOLVED;
	out->severity = st->level;
	out->escalate = st->level == ALERT_LEVEL_CRITICAL;
	out->reason = reason;
	memset(st, 0, sizeof(*st));
}

static void
pending_clear(struct alert_state *st)
{
	st->pending = ALERT_PENDING_NONE;
	st->pending_count = 0;
	st->pending_since_worked_ms = 0;
}

/* in->worked_ms, never negative: -1 would read as "unknown". */
static int64_t
worked_of(const struct alert_input *in)
{
	return in->worked_ms > 0 ? in->worked_ms : 0;
}

static void
send_firing(struct alert_state *st, struct alert_action *out,
    enum alert_level level, const struct alert_input *in)
{
	out->send = true;
	out->status = ALERT_STATUS_FIRING;
	out->severity = level;
	out->escalate = level == ALERT_LEVEL_CRITICAL;
	out->supersedes = st->level;
	out->reason = level == ALERT_LEVEL_CRITICAL ?
	    ALERT_REASON_ESCALATED : ALERT_REASON_FIRED;
	st->level = level;
	st->fired_at_ms = in->now_ms;
	st->last_sent_ms = in->now_ms;
	st->last_sent_worked_ms = worked_of(in);
	st->repeats = 0;
	pending_clear(st);
}

/*
 * One more evaluation asking for a change in direction dir: true once the
 * breach has lasted rules.min_breach_evals evaluations and
 * rules.min_breach_ms of working time. The count stops at what the rule
 * needs, so that a breach waiting only for its working time changes no
 * state (the backtest relies on a state that does not change).
 */
static bool
breach(const struct alert_rules *rules, struct alert_state *st,
    const struct alert_input *in, enum alert_pending dir)
{
	uint32_t need = rules->min_breach_evals > 1 ? rules->min_breach_evals :
	    1;
	int64_t worked = worked_of(in);

	if (st->pending != dir) {
		st->pending = dir;
		st->pending_count = 0;
		st->pending_since_worked_ms = worked;
	}
	if (st->pending_count < need)
		st->pending_count++;
	if (st->pending_count < need)
		return false;
	if (rules->min_breach_ms <= 0)
		return true;
	/* Working time that went backwards waits until it caught up. */
	if (worked < st->pending_since_worked_ms)
		return false;
	return worked - st->pending_since_worked_ms >= rules->min_breach_ms;
}

double
alert_resolve_at(const struct alert_rules *rules)
{
	double margin = rules->resolve_margin > 0 ? rules->resolve_margin : 0;

	/* The slack keeps 0.8 + 0.05 (0.8500000000000001) at 0.85. */
	return rules->warning_below + margin - (margin > 0 ? 1e-9 : 0);
}

/* Is the rep far enough above the warning threshold to resolve? */
static bool
recovered(const struct alert_rules *rules, const struct alert_input *in)
{
	/* A null pace on pace (a target of 0) cannot be missed. */
	if (!isfinite(in->pace))
		return true;
	return in->pace >= alert_resolve_at(rules);
}

/*
 * The interval counts working time, so that repeats stop with the working
 * day and never page anyone at night; an "a1" state, which does not know
 * its working time, falls back on wall time (see alert.h).
 */
static bool
repeat_due(const struct alert_rules *rules, const struct alert_state *st,
    const struct alert_input *in)
{
	int64_t iv = rules->repeat_interval_ms, worked = worked_of(in);

	if (iv <= 0)
		return false;
	if (st->last_sent_worked_ms == ALERT_WORKED_UNKNOWN) {
		if (in->now_ms < st->last_sent_ms)
			return false;
		/* Subtract the interval from now, guarded, rather than take
		 * the difference of two times, which could overflow for odd
		 * states. */
		if (in->now_ms < INT64_MIN + iv)
			return false;
		return in->now_ms - iv >= st->last_sent_ms;
	}
	/* Both are at least 0 here: the difference cannot overflow. */
	if (worked < st->last_sent_worked_ms)
		return false;
	return worked - st->last_sent_worked_ms >= iv;
}

void
alert_step(const struct alert_rules *rules, struct alert_state *st,
    const struct alert_input *in, struct alert_action *out)
{
	enum alert_level want;

	memset(out, 0, sizeof(*out));

	if (in->period_ended) {
		if (st->level != ALERT_LEVEL_NONE)
			send_resolved(st, out, ALERT_REASON_PERIOD_ENDED);
		else
			pending_clear(st);
		return;
	}
	if (in->not_evaluated) {
		if (st->level != ALERT_LEVEL_NONE)
			send_resolved(st, out, ALERT_REASON_NOT_EVALUATED);
		else
			pending_clear(st);
		return;
	}

	switch (in->status) {
	case ALERT_PACE_AHEAD:
	case ALERT_PACE_ON_PACE:
		if (st->level != ALERT_LEVEL_NONE && recovered(rules, in)) {
			if (breach(rules, st, in, ALERT_PENDING_DOWN))
				send_resolved(st, out, ALERT_REASON_RECOVERED);
			return;
		}
		pending_clear(st);
		return;
	case ALERT_PACE_BEHIND:
	case ALERT_PACE_CRITICAL:
		break;
	case ALERT_PACE_NOT_STARTED:
	default:
		return;
	}

	/* Written so that a NaN fraction counts as inside the grace. Once
	 * no working time is left nothing can be mended: the period_ended
	 * resolution is the summary. */
	if (!(in->elapsed >= rules->grace) || in->no_time_left) {
		pending_clear(st);
		return;
	}

	want = level_of(rules, in);
	if (want > st->level) {
		if (breach(rules, st, in, ALERT_PENDING_UP))
			send_firing(st, out, want, in);
		return;
	}
	pending_clear(st);
	if (want == st->level && want != ALERT_LEVEL_NONE &&
	    repeat_due(rules, st, in)) {
		out->send = true;
		out->status = ALERT_STATUS_FIRING;
		out->severity = st->level;
		out->escalate = st->level == ALERT_LEVEL_CRITICAL;
		out->repeat = true;
		out->reason = ALERT_REASON_REPEAT;
		st->last_sent_ms = in->now_ms;
		st->last_sent_worked_ms = worked_of(in);
		if (st->repeats < UINT32_MAX)
			st->repeats++;
	}
	/* Otherwise: nothing new, or a critical alert holding quietly while
	 * the rep is only at warning level (see alert.h). */
}

static bool
pending_valid(const struct alert_state *st)
{
	switch (st->pending) {
	case ALERT_PENDING_NONE:
		return st->pending_count == 0 &&
		    st->pending_since_worked_ms == 0;
	case ALERT_PENDING_UP:
		/* Nothing is above critical. */
		if (st->level == ALERT_LEVEL_CRITICAL)
			return false;
		break;
	case ALERT_PENDING_DOWN:
		/* Only a firing alert resolves. */
		if (st->level == ALERT_LEVEL_NONE)
			return false;
		break;
	default:
		return false;
	}
	return st->pending_count >= 1 && st->pending_since_worked_ms >= 0 &&
	    st->last_sent_worked_ms != ALERT_WORKED_UNKNOWN;
}

static bool
state_valid(const struct alert_state *st)
{
	if (!pending_valid(st))
		return false;
	switch (st->level) {
	case ALERT_LEVEL_NONE:
		return st->fired_at_ms == 0 && st->last_sent_ms == 0 &&
		    st->repeats == 0 && st->last_sent_worked_ms == 0;
	case ALERT_LEVEL_WARNING:
	case ALERT_LEVEL_CRITICAL:
		return st->fired_at_ms >= 0 &&
		    st->last_sent_ms >= st->fired_at_ms &&
		    (st->last_sent_worked_ms >= 0 ||
		    st->last_sent_worked_ms == ALERT_WORKED_UNKNOWN);
	}
	return false;
}

bool
alert_state_equal(const struct alert_state *a, const struct alert_state *b)
{
	return a->level == b->level && a->fired_at_ms == b->fired_at_ms &&
	    a->last_sent_ms == b->last_sent_ms && a->repeats == b->repeats &&
	    a->last_sent_worked_ms == b->last_sent_worked_ms &&
	    a->pending == b->pending &&
	    a->pending_count == b->pending_count &&
	    a->pending_since_worked_ms == b->pending_since_worked_ms;
}

/* Appends ":" and v in decimal at o; returns the end. */
static char *
put_num(char *o, int64_t v)
{
	*o++ = ':';
	return o + jsontext_i64(o, v);
}

int
alert_state_format(const struct alert_state *st, char *buf, size_t bufsz)
{
	static const char levels[] = "nwc", pendings[] = "nud";
	/* the longest: the tag, 2 letters, 8 numbers of at most 20
	 * characters and their colons */
	char tmp[sizeof(STATE_TAG) + 2 + 8 * 21 + 8], *o = tmp;
	size_t n;

	if (!state_valid(st))
		return -1;
	/* Unknown worked time goes back as it came: "a1" says just that.
	 * Written by hand: printf cost more than the rest of a judgement. */
	if (st->pending != ALERT_PENDING_NONE)
		o = stpcpy(o, STATE_TAG_A3);
	else if (st->last_sent_worked_ms == ALERT_WORKED_UNKNOWN)
		o = stpcpy(o, STATE_TAG_A1);
	else
		o = stpcpy(o, STATE_TAG);
	*o++ = levels[st->level];
	o = put_num(o, st->fired_at_ms);
	o = put_num(o, st->last_sent_ms);
	o = put_num(o, st->repeats);
	if (st->pending != ALERT_PENDING_NONE ||
	    st->last_sent_worked_ms != ALERT_WORKED_UNKNOWN)
		o = put_num(o, st->last_sent_worked_ms);
	if (st->pending != ALERT_PENDING_NONE) {
		*o++ = ':';
		*o++ = pendings[st->pending];
		o = put_num(o, st->pending_count);
		o = put_num(o, st->pending_since_worked_ms);
	}
	n = (size_t)(o - tmp);
	if (n >= bufsz)
		return -1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return 0;
}

/*
 * Reads a canonical decimal (no sign, no leading zero unless it is "0")
 * from *p up to end, not above max; advances *p past it.
 */
static int
parse_decimal(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned d;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

static int
expect_colon(const char **p, const char *end)
{
	if (*p == end || **p != ':')
		return -1;
	(*p)++;
	return 0;
}

int
alert_state_parse(const char *buf, size_t len, struct alert_state *st)
{
	const char *p, *end;
	struct alert_state s;
	uint64_t fired, sent, repeats, worked = 0, pcount = 0, psince = 0;
	bool a1 = false, a3 = false;

	/* Every tag is the same length. */
	if (buf == NULL || len < sizeof(STATE_TAG) - 1)
		return -1;
	if (memcmp(buf, STATE_TAG, sizeof(STATE_TAG) - 1) == 0)
		;
	else if (memcmp(buf, STATE_TAG_A1, sizeof(STATE_TAG_A1) - 1) == 0)
		a1 = true;
	else if (memcmp(buf, STATE_TAG_A3, sizeof(STATE_TAG_A3) - 1) == 0)
		a3 = true;
	else
		return -1;
	p = buf + sizeof(STATE_TAG) - 1;
	end = buf + len;

	memset(&s, 0, sizeof(s));
	if (p == end)
		return -1;
	switch (*p++) {
	case 'n':
		s.level = ALERT_LEVEL_NONE;
		break;
	case 'w':
		s.level = ALERT_LEVEL_WARNING;
		break;
	case 'c':
		s.level = ALERT_LEVEL_CRITICAL;
		break;
	default:
		return -1;
	}
	if (expect_colon(&p, end) == -1 ||
	    parse_decimal(&p, end, INT64_MAX, &fired) == -1 ||
	    expect_colon(&p, end) == -1 ||
	    parse_decimal(&p, end, INT64_MAX, &sent) == -1 ||
	    expect_colon(&p, end) == -1 ||
	    parse_decimal(&p, end, UINT32_MAX, &repeats) == -1)
		return -1;
	if (!a1 && (expect_colon(&p, end) == -1 ||
	    parse_decimal(&p, end, INT64_MAX, &worked) == -1))
		return -1;
	if (a3) {
		if (expect_colon(&p, end) == -1 || p == end)
			return -1;
		switch (*p++) {
		case 'u':
			s.pending = ALERT_PENDING_UP;
			break;
		case 'd':
			s.pending = ALERT_PENDING_DOWN;
			break;
		default:	/* "a3" is written only with a breach */
			return -1;
		}
		if (expect_colon(&p, end) == -1 ||
		    parse_decimal(&p, end, UINT32_MAX, &pcount) == -1 ||
		    expect_colon(&p, end) == -1 ||
		    parse_decimal(&p, end, INT64_MAX, &psince) == -1)
			return -1;
	}
	if (p != end)
		return -1;
	s.pending_count = (uint32_t)pcount;
	s.pending_since_worked_ms = (int64_t)psince;
	s.fired_at_ms = (int64_t)fired;
	s.last_sent_ms = (int64_t)sent;
	s.repeats = (uint32_t)repeats;
	s.last_sent_worked_ms = (int64_t)worked;
	/* An "a1" state that fires does not know its working time; one that
	 * does not fire has none to know. */
	if (a1 && s.level != ALERT_LEVEL_NONE)
		s.last_sent_worked_ms = ALERT_WORKED_UNKNOWN;
	if (!state_valid(&s))
		return -1;
	*st = s;
	return 0;
}

/* Hashes s and a NUL after it, so "ab","c" and "a","bc" differ. */
static uint64_t
fnv1a_field(uint64_t h, const char *s)
{
	if (s == NULL)
		s = "";
	return hash_fnv1a(h, s, strlen(s) + 1);
}

void
alert_id(const char *rep, const char *kpi, const char *period,
    int32_t period_start_day, enum alert_level severity,
    char id[ALERT_ID_SIZE])
{
	char day[16];
	uint64_t h = HASH_FNV1A_INIT;

	/* The day as decimal text rather than its bytes: no dependence on
	 * the host's byte order. */
	snprintf(day, sizeof(day), "%" PRId32, period_start_day);
	h = fnv1a_field(h, rep);
	h = fnv1a_field(h, kpi);
	h = fnv1a_field(h, period);
	h = fnv1a_field(h, day);
	h = hash_fnv1a(h, alert_level_name(severity),
	    strlen(alert_level_name(severity)));
	snprintf(id, ALERT_ID_SIZE, "%016" PRIx64, h);
}

/* A bounded appender that remembers whether anything was cut. */
struct text {
	char *buf;
	size_t size;
	size_t len;
	bool cut;
};

static void text_add(struct text *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len) {
		t->cut = true;
		t->len = t->size - 1;
		return;
	}
	t->len += (size_t)n;
}

/*
 * A quantity for people: whole numbers from 10 up, else one decimal
 * without a trailing ".0". With up set it rounds up, for "needs N":
 * rounding a requirement down would promise too little.
 */
static void
quantity(char *buf, size_t size, double v, bool up)
{
	double r;

	if (!isfinite(v)) {
		snprintf(buf, size, "?");
		return;
	}
	if (fabs(v) >= 1e15) {
		/* Nobody logs this many calls; keep the sentence short. */
		snprintf(buf, size, "%.3g", v);
		return;
	}
	if (fabs(v) >= 10) {
		/* The small slack keeps 57.0000000001 from becoming 58. */
		r = up ? ceil(v - 1e-9) : round(v);
		snprintf(buf, size, "%.0f", r);
		return;
	}
	r = up ? ceil(v * 10 - 1e-9) / 10 : round(v * 10) / 10;
	if (r == floor(r))
		snprintf(buf, size, "%.0f", r);
	else
		snprintf(buf, size, "%.1f", r);
}

/* Whole percent, rounded down so that a pace just under a threshold
 * never reads as the threshold itself (79.6% is not "80%"). */
static double
percent(double ratio)
{
	return floor(ratio * 100 + 1e-6);
}

static void
period_phrase(char *buf, size_t size, const char *period)
{
	if (strcmp(period, "day") == 0)
		snprintf(buf, size, "today");
	else
		snprintf(buf, size, "this %s", period);
}

int
alert_message(const struct alert_facts *f, const struct alert_action *a,
    char *buf, size_t bufsz)
{
	struct text t = { buf, bufsz, 0, false };
	const char *rep = f->rep_id != NULL ? f->rep_id : "";
	const char *kpi = f->kpi != NULL ? f->kpi : "";
	const char *period = f->period != NULL ? f->period : "period";
	char actual[32], expected[32], target[32], need[32], when[64];
	double left;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	quantity(actual, sizeof(actual), f->actual, false);
	quantity(expected, sizeof(expected), f->expected, false);
	quantity(target, sizeof(target), f->target, false);
	period_phrase(when, sizeof(when), period);

	if (a->status == ALERT_STATUS_RESOLVED &&
	    a->reason == ALERT_REASON_PERIOD_ENDED) {
		text_add(&t, "The %s ended with %s at %s of %s %s", period, rep,
		    actual, target, kpi);
		if (f->target > 0 && isfinite(f->actual))
			text_add(&t, " (%.0f%% of target)",
			    percent(f->actual / f->target));
		text_add(&t, ".");
		return t.cut ? -1 : 0;
	}
	if (a->status == ALERT_STATUS_RESOLVED &&
	    a->reason == ALERT_REASON_REP_REMOVED) {
		/* The bucket may be long gone: no "today" here. */
		text_add(&t, "%s is no longer on the roster: its %s alert on %s "
		    "for the %s is closed.", rep, alert_level_name(a->severity),
		    kpi, period);
		return t.cut ? -1 : 0;
	}
	if (a->status == ALERT_STATUS_RESOLVED &&
	    a->reason == ALERT_REASON_NOT_EVALUATED) {
		text_add(&t, "%s is no longer judged on %s %s: alert closed (%s "
		    "of %s expected by now; target %s).", rep, kpi, when, actual,
		    expected, target);
		return t.cut ? -1 : 0;
	}
	if (a->status == ALERT_STATUS_RESOLVED) {
		text_add(&t, "%s is back on pace for %s %s (%s of %s expected "
		    "by now; target %s).", rep, kpi, when, actual, expected,
		    target);
		return t.cut ? -1 : 0;
	}

	if (isfinite(f->pace))
		text_add(&t, "%s is %sat %.0f%% of the expected %s for %s", rep,
		    a->repeat ? "still " : "", percent(f->pace), kpi, when);
	else
		text_add(&t, "%s is %sbehind on %s for %s", rep,
		    a->repeat ? "still " : "", kpi, when);
	text_add(&t, " (%s of %s expected by now; target %s).", actual,
	    expected, target);

	/* For a day there is no "per remaining day": say what is left. */
	if (strcmp(period, "day") == 0) {
		left = f->target - f->actual;
		if (isfinite(left) && left > 0) {
			quantity(need, sizeof(need), left, true);
			text_add(&t, " Needs %s more today to hit target.",
			    need);
		}
	} else if (isfinite(f->required_rate) && f->required_rate > 0) {
		quantity(need, sizeof(need), f->required_rate, true);
		text_add(&t, " Needs %s a working day to hit target.", need);
	}
	return t.cut ? -1 : 0;
}
