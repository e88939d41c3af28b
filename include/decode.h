#ifndef PACED_DECODE_H
#define PACED_DECODE_H

/*
 * Decoding of an activity event (input contract v1): bytes to a validated
 * struct activity. Pure: no I/O, no allocation that outlives the call, no
 * global state but the reason names.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_ID_MAX	128
#define EVENT_REP_MAX	128
#define EVENT_TYPE_MAX	64
#define EVENT_HINT_MAX	128
#define EVENT_COUNT_MAX	10000
/* Largest amount accepted (bad_amount past it). Past 10^15 a double no
 * longer holds cents exactly, and the bound keeps every sum paced and
 * Redis keep (a bucket, a team total) far from overflowing. */
#define EVENT_AMOUNT_MAX	1e15
/* Largest message accepted; a bigger one is a bad event (too_large). */
#define EVENT_BYTES_MAX	65536

/* Why an event is bad. Names are the paced.reason header and the metric
 * label; keep decode_reason_name() in step. */
enum decode_reason {
	DECODE_OK = 0,
	DECODE_EMPTY,			/* "empty": no bytes at all */
	DECODE_TOO_LARGE,		/* "too_large" */
	DECODE_INVALID_UTF8,		/* "invalid_utf8" */
	DECODE_INVALID_JSON,		/* "invalid_json" */
	DECODE_TOO_DEEP,		/* "too_deep": nesting beyond 32 */
	DECODE_NOT_OBJECT,		/* "not_object" */
	DECODE_NUL_IN_STRING,		/* "nul_in_string": \u0000 anywhere */
	DECODE_MISSING_EVENT_ID,	/* "missing_event_id" */
	DECODE_BAD_EVENT_ID,		/* "bad_event_id": not a string, 1..128 bytes */
	DECODE_MISSING_REP_ID,		/* "missing_rep_id" */
	DECODE_BAD_REP_ID,		/* "bad_rep_id": 1..128 of [A-Za-z0-9._@-] */
	DECODE_MISSING_TYPE,		/* "missing_type" */
	DECODE_BAD_TYPE,		/* "bad_type": not a string, 1..64 bytes */
	DECODE_MISSING_OCCURRED_AT,	/* "missing_occurred_at" */
	DECODE_BAD_OCCURRED_AT,		/* "bad_occurred_at": not RFC 3339 with offset */
	DECODE_BAD_COUNT,		/* "bad_count": not an integer 1..10000 */
	DECODE_BAD_AMOUNT,		/* "bad_amount": not a number in 0..1e15 */
	DECODE_BAD_HINT,		/* "bad_hint": team_id/manager_id/role not a string 1..128 */
	DECODE_REASON_COUNT
};

/* A decoded activity event (not libevent's struct event: both headers may
 * meet in one file). Fixed buffers: decoding allocates nothing per event. */
struct activity {
	char event_id[EVENT_ID_MAX + 1];
	char rep_id[EVENT_REP_MAX + 1];
	char type[EVENT_TYPE_MAX + 1];
	int64_t occurred_at_ms;		/* UTC */
	int32_t count;			/* 1..10000, default 1 */
	bool has_amount;
	double amount;			/* 0..EVENT_AMOUNT_MAX */
	char team_id[EVENT_HINT_MAX + 1];	/* "" when absent */
	char manager_id[EVENT_HINT_MAX + 1];
	char role[EVENT_HINT_MAX + 1];
};

/* Returns the reason's stable name, e.g. "invalid_json"; static storage. */
const char *decode_reason_name(enum decode_reason r);

/*
 * Decodes and validates len bytes at buf (borrowed) into *ev (caller's
 * storage). Returns DECODE_OK or the first rule broken.
 */
enum decode_reason decode_event(const void *buf, size_t len, struct activity *ev);

#endif
