#ifndef PACED_CLASSIFY_H
#define PACED_CLASSIFY_H

/*
 * What becomes of one activity event, decided once for the daemon (ingest)
 * and the backtest: bad (not counted; the daemon sends it to the DLQ),
 * skipped (not an error: an unknown rep or an activity type that counts
 * toward no KPI), or counted (rep, KPIs, local and UTC day). Pure: the
 * caller brings the time limits, and moves the event clock itself (a bad
 * event must never move it).
 */

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "roster.h"

enum classify_outcome {
	CLASSIFY_COUNTED,
	CLASSIFY_BAD,
	CLASSIFY_SKIPPED,
};

/* Why an event is bad: an enum decode_reason, or one of these. */
enum {
	CLASSIFY_BAD_TOO_OLD = DECODE_REASON_COUNT,	/* "too_old" */
	CLASSIFY_BAD_TOO_FAR_IN_FUTURE,		/* "too_far_in_future" */
	/* "counter_refused": never from classify(); the ingest path's, for
	 * an event whose counts the rep script refused (a counter field
	 * holds no number), when it is read again */
	CLASSIFY_BAD_COUNTER_REFUSED,
	CLASSIFY_BAD_COUNT
};

enum classify_skip {
	CLASSIFY_SKIP_UNKNOWN_REP,		/* "unknown_rep" */
	CLASSIFY_SKIP_UNKNOWN_TYPE,		/* "unknown_type" */
	CLASSIFY_SKIP_COUNT
};

struct classified {
	enum classify_outcome outcome;
	int bad;			/* CLASSIFY_BAD: the reason */
	enum classify_skip skip;	/* CLASSIFY_SKIPPED: the reason */
	struct activity ev;		/* valid unless bad */
	/* CLASSIFY_COUNTED: borrowed from the roster. */
	const struct roster_rep *rep;
	const size_t *kpis;
	size_t nkpis;
	int32_t local_day;		/* in the rep's team's zone */
	int32_t utc_day;
};

/* The reason's stable name (the paced.reason header, metric labels);
 * static storage. */
const char *classify_bad_name(int bad);
const char *classify_skip_name(enum classify_skip skip);

/*
 * Classifies len bytes at buf (borrowed) against roster r (borrowed; out
 * borrows from it). An event before oldest_ms is bad (too_old: older than
 * the dedupe window, so counting it could count it twice), one after
 * newest_ms too (too_far_in_future). Fills *out (caller's).
 */
void classify(const struct roster *r, const void *buf, size_t len,
    int64_t oldest_ms, int64_t newest_ms, struct classified *out);

#endif
