#ifndef PACED_ALERT_H
#define PACED_ALERT_H

/*
 * The alert state machine (output contract v1: an alert), one instance per
 * rep x KPI x period bucket. Pure: alert_step() reads the pacing verdict
 * and the wall and working time it is given and says whether to send a
 * message; it does no I/O and keeps no state of its own, so the caller
 * decides where the state lives (a Redis hash field, through
 * alert_state_format/parse) and when a step counts: step a copy, send,
 * and store the copy only once the sinks have taken the message, so that
 * a failed send is retried on the next evaluation rather than lost.
 *
 * Semantics of alert_step():
 *
 *  - Severity. The pacing status says whether the rep is behind at all;
 *    status critical is the critical level, whatever the pace: pacing
 *    takes its thresholds from the same alerts block, so the two differ
 *    only for a lower-is-better KPI whose actual is above its cap, which
 *    pacing calls critical however much of the allowance time has made
 *    (11 no-shows against a cap of 10 on Friday afternoon, pace 0.85).
 *    For status behind the pace (actual / expected_to_date) against the
 *    rules says how far: pace < critical_below is critical, pace <
 *    warning_below is warning; at or above warning_below (the pacing math
 *    cut at another point) it is "behind, but not alerting": it fires
 *    nothing and resolves nothing. A pace that is not a finite number
 *    reads as warning for status behind. A rep with no activity at all
 *    has pace 0 and fires critical.
 *  - not_started (no working time elapsed, nothing expected yet) never
 *    fires and changes nothing, not even a firing alert: only recovery or
 *    the period's end resolve.
 *  - Grace: while the elapsed working fraction of the period is below
 *    rules.grace (or not a number), nothing fires, escalates or repeats;
 *    resolving is still allowed.
 *  - none -> warning fires a warning. none -> critical, and warning ->
 *    critical, fire a critical: an escalation. Every message of a critical
 *    alert (first, repeats, resolution) has escalate set, so it routes to
 *    the manager's manager as well and its audience never changes.
 *  - Escalation opens a new alert (alert ids differ by severity); the
 *    action names the warning alert it supersedes (supersedes = warning),
 *    so a sink that tracks alerts by id can close it.
 *  - Repeat: while the level the rep is at equals the level firing, and
 *    in->worked_ms - last_sent_worked_ms >= rules.repeat_interval_ms, the
 *    same alert is sent again with repeat set. The interval counts the
 *    rep's working time (the time pacing counts: working days and hours,
 *    less holidays and out-of-office days), not wall time: a manager is
 *    not paged at night or on a weekend, and a day alert is not repeated
 *    after the day's hours, when nothing can be done about it any more.
 *    Since pace too moves only with working time or with counted events,
 *    nothing fires outside working time without an event. Never before
 *    the interval; a repeat_interval_ms <= 0 disables repeats. Working
 *    time that went backwards (a clock set back, a holiday added to the
 *    calendar) repeats nothing until it has caught up.
 *  - A state read from an "a1" string, stored before repeats counted
 *    working time, has last_sent_worked_ms ALERT_WORKED_UNKNOWN; its
 *    repeat falls due by the old wall-time rule, now_ms - last_sent_ms >=
 *    repeat_interval_ms (a clock that went backwards repeats nothing).
 *    The evaluator never relies on that: it works the missing value out
 *    from the rep's calendar before stepping and stores the state in the
 *    new form (evaluate.c), so the working-time rule holds from the first
 *    evaluation after an upgrade.
 *  - Critical improving to warning: the critical alert stays firing,
 *    quietly; no downgrade message and no repeats while the rep is only at
 *    warning level (repeats resume if it falls back below critical_below).
 *    A downgrade would close the critical id and open a warning one (two
 *    messages for good news), and a rep hovering at critical_below would
 *    page the manager's manager on every crossing.
 *  - Recovery: status on_pace or ahead while firing sends one resolved
 *    message (reason recovered) with the severity that was firing, and
 *    clears the state; falling behind again later fires again, under the
 *    same alert id as before.
 *  - Period end: period_ended while firing sends one resolved message
 *    (reason period_ended). Once the period has ended nothing fires.
 *  - No longer judged: not_evaluated while firing (a reload took the KPI
 *    or the period out of the alert rules, or the rep has no target for
 *    it any more) sends one resolved message (reason not_evaluated) and
 *    clears the state; nothing else happens, so an alert is never left
 *    open with nothing to close it.
 *
 * A state changes only when the action sends, so out->send is also the
 * "store the state back" flag.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* alert_id(): 16 lower-case hex digits plus NUL. */
#define ALERT_ID_SIZE		17
/* alert_state_format(): longest string plus NUL. */
#define ALERT_STATE_SIZE	128
/* alert_state.last_sent_worked_ms of a firing state read from an "a1"
 * string: the working time at its last message is not known. */
#define ALERT_WORKED_UNKNOWN	INT64_C(-1)
/* alert_message(): room for any sentence with a rep id and a KPI name of
 * up to 128 bytes each. */
#define ALERT_MESSAGE_SIZE	640

/* The pacing verdict for one rep x KPI x bucket (the scorecard's status). */
enum alert_pace {
	ALERT_PACE_NOT_STARTED,
	ALERT_PACE_AHEAD,
	ALERT_PACE_ON_PACE,
	ALERT_PACE_BEHIND,
	ALERT_PACE_CRITICAL,
};

enum alert_level {
	ALERT_LEVEL_NONE,
	ALERT_LEVEL_WARNING,
	ALERT_LEVEL_CRITICAL,
};

enum alert_status {
	ALERT_STATUS_FIRING,
	ALERT_STATUS_RESOLVED,
};

/* Why a message is sent; for logs and metrics. */
enum alert_reason {
	ALERT_REASON_FIRED,		/* none -> warning */
	ALERT_REASON_ESCALATED,		/* none or warning -> critical */
	ALERT_REASON_REPEAT,		/* still firing, interval passed */
	ALERT_REASON_RECOVERED,		/* back on pace */
	ALERT_REASON_PERIOD_ENDED,	/* the bucket closed while firing */
	ALERT_REASON_NOT_EVALUATED,	/* the pair is no longer judged */
	ALERT_REASON_REP_REMOVED,	/* the rep left the roster (the
					 * evaluator, not alert_step) */
};

/* The alerts: config block, as alert_step() needs it. */
struct alert_rules {
	double warning_below;		/* pace */
	double critical_below;		/* pace, below warning_below */
	double grace;			/* share of the working time */
	int64_t repeat_interval_ms;
	/* a change of level (fire, escalate, resolve) needs this many
	 * consecutive evaluations asking for it (0 and 1: one) ... */
	uint32_t min_breach_evals;
	/* ... spanning at least this much working time (0: none) */
	int64_t min_breach_ms;
	/* recovery needs pace >= warning_below + resolve_margin */
	double resolve_margin;
};

/* A change of level asked for but not yet made (see min_breach). */
enum alert_pending {
	ALERT_PENDING_NONE,
	ALERT_PENDING_UP,		/* fire or escalate */
	ALERT_PENDING_DOWN,		/* resolve */
};

/* Per rep x KPI x bucket. All zero is the initial state (nothing firing). */
struct alert_state {
	enum alert_level level;		/* the alert firing, if any */
	int64_t fired_at_ms;		/* this level's alert first fired */
	int64_t last_sent_ms;		/* last firing message sent */
	uint32_t repeats;		/* repeats sent at this level */
	/* in->worked_ms at the last firing message; ALERT_WORKED_UNKNOWN
	 * for an "a1" state */
	int64_t last_sent_worked_ms;
	/* the breach under way: its direction, the consecutive evaluations
	 * it has lasted (at most rules.min_breach_evals) and in->worked_ms
	 * at its first; all zero when none */
	enum alert_pending pending;
	uint32_t pending_count;
	int64_t pending_since_worked_ms;
};

struct alert_input {
	enum alert_pace status;
	double pace;			/* actual / expected_to_date */
	double elapsed;			/* working share of the period */
	/* working time of the period gone by at now_ms, the rep's own
	 * (pacing_worktime's elapsed_ms); a negative value reads as 0 */
	int64_t worked_ms;
	int64_t now_ms;
	bool period_ended;
	/* no working time of the period is left: nothing can be mended, so
	 * nothing fires, escalates or repeats (resolving still does) */
	bool no_time_left;
	/* the (KPI, period) is no longer judged for this rep (the alert
	 * rules or the rep's target changed): only resolves */
	bool not_evaluated;
};

/* What to send; nothing when send is false (other fields then zero). */
struct alert_action {
	bool send;
	enum alert_status status;
	enum alert_level severity;	/* warning or critical */
	bool escalate;			/* manager's manager too */
	bool repeat;			/* a reminder of one already sent */
	enum alert_level supersedes;	/* warning when escalating */
	enum alert_reason reason;
};

/* Facts that alert_message() puts in words; strings are borrowed. */
struct alert_facts {
	const char *rep_id;
	const char *kpi;
	const char *period;		/* "day", "week", "month"... */
	double actual;
	double target;
	double expected;		/* expected_to_date */
	double pace;
	double required_rate;		/* per remaining working day */
};

/* Returns "none" | "warning" | "critical"; static storage. */
const char *alert_level_name(enum alert_level level);
/* Returns "firing" | "resolved"; static storage. */
const char *alert_status_name(enum alert_status status);
/* Returns "fired" | "escalated" | "repeat" | "recovered" | "period_ended"
 * | "not_evaluated" | "rep_removed"; static storage. */
const char *alert_reason_name(enum alert_reason reason);
/* Returns "not_started" | "ahead" | "on_pace" | "behind" | "critical";
 * static storage. */
const char *alert_pace_name(enum alert_pace status);

/*
 * Advances *st by one evaluation; borrows rules and in, updates *st in
 * place and fills *out (caller's storage). See the semantics above.
 */
void alert_step(const struct alert_rules *rules, struct alert_state *st,
    const struct alert_input *in, struct alert_action *out);

/*
 * Writes *st (borrowed) as a short versioned string ("a2:w:<fired_at>:
 * <last_sent>:<repeats>:<last_sent_worked>") into buf of bufsz bytes; a
 * state whose worked time is unknown (read from "a1") is written back in
 * the "a1:w:<fired_at>:<last_sent>:<repeats>" form it came in. Returns 0,
 * or -1 if it does not fit or *st is not a valid state.
 */
int alert_state_format(const struct alert_state *st, char *buf,
    size_t bufsz);
/* The pace at or above which a firing alert recovers under rules:
 * warning_below + resolve_margin. */
double alert_resolve_at(const struct alert_rules *rules);
/* True when a and b (borrowed) are the same state, field by field. */
bool alert_state_equal(const struct alert_state *a,
    const struct alert_state *b);
/*
 * Reads len bytes at buf (borrowed, need not be NUL-terminated) into *st.
 * Accepts only what alert_state_format() writes: version tag ("a2", or
 * "a1", whose firing states get last_sent_worked_ms ALERT_WORKED_UNKNOWN),
 * canonical decimals, a consistent state, no trailing bytes. Returns 0 or
 * -1 (and leaves *st untouched).
 */
int alert_state_parse(const char *buf, size_t len, struct alert_state *st);

/*
 * Writes the alert id for rep, kpi, period name and the bucket's local
 * start day (days since 1970-01-01), at severity (warning or critical),
 * into id: 16 hex digits of the 64-bit FNV-1a of those fields, the same in
 * every process and release. Borrows the strings.
 */
void alert_id(const char *rep, const char *kpi, const char *period,
    int32_t period_start_day, enum alert_level severity,
    char id[ALERT_ID_SIZE]);

/*
 * Writes the alert's human sentence for *f and *a (borrowed) into buf of
 * bufsz bytes, e.g. "r007 is at 42% of the expected calls for this week
 * (21 of 50 expected by now; target 250). Needs 57 a working day to hit target."
 * Returns 0, or -1 if it was cut short (buf still holds a terminated
 * prefix when bufsz > 0).
 */
int alert_message(const struct alert_facts *f, const struct alert_action *a,
    char *buf, size_t bufsz);

#endif
