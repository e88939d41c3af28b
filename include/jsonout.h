#ifndef PACED_JSONOUT_H
#define PACED_JSONOUT_H

/*
 * JSON text written straight into a caller's buffer, for the messages
 * built on the hot path (enriched events, scorecard snapshots): no
 * allocation; what does not fit is counted, as snprintf does, so the
 * caller can grow its buffer and write again.
 */

#include <stddef.h>
#include <stdint.h>

struct jsonout {
	char *buf;		/* borrowed */
	size_t cap;
	size_t len;		/* bytes written, or needed past cap */
};

/* Raw bytes (n of s, borrowed). */
void jsonout_raw(struct jsonout *o, const char *s, size_t n);
/* A NUL-terminated raw string (borrowed). */
void jsonout_lit(struct jsonout *o, const char *s);
/* jsonout_lit of a string literal, its length known at compile time. */
#define JSONOUT_LIT(o, s)	jsonout_raw((o), "" s "", sizeof(s) - 1)
/* A JSON string of s (borrowed, valid UTF-8), quoted and escaped; NULL
 * writes null. */
void jsonout_str(struct jsonout *o, const char *s);
/* A number as jsontext_number writes it. */
void jsonout_num(struct jsonout *o, double d);
void jsonout_i64(struct jsonout *o, int64_t v);
/* An instant as a quoted UTC RFC 3339 string with milliseconds. */
void jsonout_time(struct jsonout *o, int64_t ms);
/* A day number as a quoted "YYYY-MM-DD". */
void jsonout_date(struct jsonout *o, int32_t day);

#endif
