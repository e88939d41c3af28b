#ifndef PACED_DIGEST_H
#define PACED_DIGEST_H

/*
 * Scheduled digests (alerts.digest), the pure part: when a manager's
 * morning summary or end-of-week scorecard is due, and the message
 * (digest format version 1, README "Scheduled digests"). No clock, no
 * I/O: the caller says what time it is and hands over the figures.
 *
 * When:
 *  - morning: on a working day of the manager's team's calendar (no
 *    holiday), from alerts.digest.morning local time until the end of
 *    that day's working hours (at least an hour after the time): a
 *    process that was down at 08:30 and starts at 10:00 still sends it;
 *    one that starts at 20:00 does not.
 *  - weekly: on the weekday of alerts.digest.weekly, from its local time
 *    until local midnight, working day or not.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "config.h"
#include "pacing.h"

enum digest_kind { DIGEST_MORNING, DIGEST_WEEKLY, DIGEST_KINDS };

/* "morning" or "weekly"; static storage. */
const char *digest_kind_name(enum digest_kind k);

/*
 * True when digest k of alerts al (borrowed) is due at instant now for a
 * manager whose team has calendar cal and zone z (borrowed); *day is then
 * the local day it is for (its occasion).
 */
bool digest_due(const struct config_alerts *al, enum digest_kind k,
    const struct pacing_calendar *cal, struct tzone *z, int64_t now,
    int32_t *day);

/* The last working day of cal before day (up to 14 days back; day - 1
 * when none is). */
int32_t digest_prev_working_day(const struct pacing_calendar *cal,
    int32_t day);

/* One rep x KPI x bucket's figures, from P:{rep:R}:pace:... */
struct digest_line {
	const char *rep_id;		/* borrowed */
	const char *kpi;		/* borrowed */
	enum period period;
	int32_t start_day;		/* the bucket's first local day */
	bool ended;			/* the bucket is over (yesterday's day) */
	double actual, target, expected;
	bool has_pace;
	double pace;
	const char *status;		/* pacing_status_name; borrowed */
};

/* Positive news: a target met, or a recovery from critical. */
struct digest_news {
	const char *kind;		/* "target_met" | "recovered" */
	const char *rep_id;
	const char *kpi;
	const char *period;		/* caltime_period_name */
	int32_t start_day;		/* target_met: the bucket; else -1 */
	double actual, target;
};

/* A rep's funnel step listed for coaching (funnel.coaching): its rate
 * over the window has stayed under its team's for days_below mornings. */
struct digest_coaching {
	const char *rep_id;		/* borrowed, as the rest */
	const char *team_id;
	const char *from_kpi, *to_kpi;
	double rate, team_rate;
	double volume;			/* the rep's count of from_kpi */
	long days_below;
};

/* The coaching list of a morning digest (n entries). */
struct digest_coaching_list {
	const struct digest_coaching *items;	/* borrowed */
	size_t n;
};

/*
 * The digest message (version 1) of kind k for manager (borrowed) on
 * local day `day`: behind[0..nbehind) (morning: who is behind),
 * card[0..ncard) (weekly: every figure of the week), news[0..nnews), and
 * for a morning with funnel.coaching on, coach (borrowed; NULL: coaching
 * off, no "coaching" field). Returns owned JSON text; free with free().
 */
char *digest_body(enum digest_kind k, const char *manager, int32_t day,
    const struct digest_line *behind, size_t nbehind,
    const struct digest_line *card, size_t ncard,
    const struct digest_news *news, size_t nnews,
    const struct digest_coaching_list *coach);

/*
 * A rep's step's stored coaching state, "<day>:<before>:<after>" (the
 * local day of the last check, the count of mornings below before it
 * and after it; val borrowed, NULL: none): the count today's check
 * starts from. A check of an earlier day gives its after; one of today
 * (a digest tried again) its before, so a retry counts the day once.
 * 0 without a state or when it does not parse.
 */
long digest_coach_before(const char *val, size_t len, int32_t today);

/* Parses one pace figure JSON (borrowed) into *l's numbers and status
 * (status points into static storage). 0 or -1. */
int digest_parse_figures(const char *json, size_t len, struct digest_line *l);

#endif
