/*
 * classify.c: one activity event to its outcome (see classify.h). Called
 * by the ingest path for every message and by the backtest for every
 * line, so both decide alike. Pure.
 */
#include "classify.h"

#include "caltime.h"

#define DAY_MS	86400000LL

const char *
classify_bad_name(int bad)
{
	if (bad == CLASSIFY_BAD_TOO_OLD)
		return "too_old";
	if (bad == CLASSIFY_BAD_TOO_FAR_IN_FUTURE)
		return "too_far_in_future";
	if (bad == CLASSIFY_BAD_COUNTER_REFUSED)
		return "counter_refused";
	return decode_reason_name((enum decode_reason)bad);
}

const char *
classify_skip_name(enum classify_skip skip)
{
	return skip == CLASSIFY_SKIP_UNKNOWN_REP ? "unknown_rep" :
	    "unknown_type";
}

void
classify(const struct roster *r, const void *buf, size_t len,
    int64_t oldest_ms, int64_t newest_ms, struct classified *out)
{
	enum decode_reason why = decode_event(buf, len, &out->ev);

	out->rep = NULL;
	out->kpis = NULL;
	out->nkpis = 0;
	if (why != DECODE_OK) {
		out->outcome = CLASSIFY_BAD;
		out->bad = (int)why;
		return;
	}
	if (out->ev.occurred_at_ms < oldest_ms) {
		out->outcome = CLASSIFY_BAD;
		out->bad = CLASSIFY_BAD_TOO_OLD;
		return;
	}
	if (out->ev.occurred_at_ms > newest_ms) {
		out->outcome = CLASSIFY_BAD;
		out->bad = CLASSIFY_BAD_TOO_FAR_IN_FUTURE;
		return;
	}
	if ((out->rep = roster_rep(r, out->ev.rep_id)) == NULL) {
		out->outcome = CLASSIFY_SKIPPED;
		out->skip = CLASSIFY_SKIP_UNKNOWN_REP;
		return;
	}
	out->kpis = roster_kpis_for_type(r, out->ev.type, &out->nkpis);
	if (out->nkpis == 0) {
		out->outcome = CLASSIFY_SKIPPED;
		out->skip = CLASSIFY_SKIP_UNKNOWN_TYPE;
		out->rep = NULL;
		return;
	}
	out->outcome = CLASSIFY_COUNTED;
	out->local_day = tzone_local_day(out->rep->zone, out->ev.occurred_at_ms);
	out->utc_day = (int32_t)caltime_floor_div(out->ev.occurred_at_ms, DAY_MS);
}
