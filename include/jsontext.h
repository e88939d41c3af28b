#ifndef PACED_JSONTEXT_H
#define PACED_JSONTEXT_H

/*
 * cJSON objects to text the rest of paced owns: alert JSON, pace figures,
 * webhook bodies. Running out of memory is fatal, as for xmalloc.
 */

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Takes ownership of o (deleted); returns its one-line text, owned: free
 * with free(). */
char *jsontext_take(cJSON *o);
/* Writes d as cJSON prints it (an integral value in int's range as an
 * integer, else 15 significant digits when they read back as d, else 17;
 * NaN and infinities as null) into buf (at least JSONTEXT_NUMBER_SIZE
 * bytes), with no locale and mostly without printf; returns the length. */
#define JSONTEXT_NUMBER_SIZE	32
size_t jsontext_number(char *buf, double d);
/* Writes v in decimal ("%lld", without printf) and a NUL into buf (at
 * least JSONTEXT_INT_SIZE bytes); returns the length. */
#define JSONTEXT_INT_SIZE	21
size_t jsontext_i64(char *buf, int64_t v);
/* Writes d (finite or not) so that strtod reads back d itself: an
 * integral value below 10^15 as an integer, else the fewer of 15 or 17
 * significant digits that do (printf's %.17g where neither fast way
 * applies); returns the length. buf: JSONTEXT_NUMBER_SIZE bytes. */
size_t jsontext_number_exact(char *buf, double d);
/* strtod(s, NULL) of s (borrowed, NUL-terminated), without strtod for a
 * plain integer of 1 to 15 digits (what Redis answers for a counter). */
double jsontext_strtod(const char *s);
/* obj (borrowed) as one line of JSON text and a newline in a new buffer:
 * an HTTP answer's body. Returns owned (free with evbuffer_free). */
struct evbuffer *jsontext_body(const cJSON *obj);
/* {"error": msg} (msg borrowed) as jsontext_body makes it. */
struct evbuffer *jsontext_error_body(const char *msg);

#endif
