/*
 * jsonout.c: JSON text into a caller's buffer (enriched events, scorecard
 * snapshots). Pure.
 */
#include "jsonout.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "caltime.h"
#include "jsontext.h"

void
jsonout_raw(struct jsonout *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

void
jsonout_lit(struct jsonout *o, const char *s)
{
	jsonout_raw(o, s, strlen(s));
}

void
jsonout_str(struct jsonout *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (s == NULL) {
		jsonout_lit(o, "null");
		return;
	}
	jsonout_raw(o, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jsonout_raw(o, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			jsonout_raw(o, esc, 2);
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jsonout_raw(o, esc, 6);
		}
	}
	jsonout_raw(o, run, (size_t)(s - run));
	jsonout_raw(o, "\"", 1);
}

void
jsonout_num(struct jsonout *o, double d)
{
	char b[JSONTEXT_NUMBER_SIZE];

	jsonout_raw(o, b, jsontext_number(b, d));
}

void
jsonout_i64(struct jsonout *o, int64_t v)
{
	char b[JSONTEXT_INT_SIZE];

	jsonout_raw(o, b, jsontext_i64(b, v));
}

/* Dates and times hold no character to escape: quoted as they are. */
void
jsonout_time(struct jsonout *o, int64_t ms)
{
	char b[40];

	b[0] = '"';
	caltime_format_utc(ms, b + 1, sizeof(b) - 2);
	jsonout_raw(o, b, strlen(b));
	jsonout_raw(o, "\"", 1);
}

void
jsonout_date(struct jsonout *o, int32_t day)
{
	char b[24];

	b[0] = '"';
	caltime_format_date(day, b + 1, sizeof(b) - 2);
	jsonout_raw(o, b, strlen(b));
	jsonout_raw(o, "\"", 1);
}
