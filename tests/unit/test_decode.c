#include "decode.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Expected instants, from date -u -d ... +%s. */
#define T_20261123_1405Z	1795442700000LL
#define T_20261123_1905Z	1795460700000LL

#define BASE_HEAD	"{\"event_id\":\"e1\",\"rep_id\":\"r001\","	\
			"\"type\":\"call\","				\
			"\"occurred_at\":\"2026-11-23T14:05:00Z\""
/* The members after rep_id, for events that vary the first two. */
#define TAIL		"\"type\":\"t\","				\
			"\"occurred_at\":\"2026-11-23T14:05:00Z\"}"

static struct activity ev;
static char text[2 * EVENT_BYTES_MAX];

static enum decode_reason
dec(const char *s)
{
	return decode_event(s, strlen(s), &ev);
}

static enum decode_reason
decn(const char *s, size_t len)
{
	return decode_event(s, len, &ev);
}

/* Decodes the base event with more members appended inside the object. */
static enum decode_reason
dec_with(const char *fmt, ...)
{
	char extra[EVENT_BYTES_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), BASE_HEAD "%s}", extra);
	return dec(text);
}

static const char *
rep(char c, size_t n)
{
	static char buf[1024];

	cr_assert_lt(n, sizeof(buf));
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

#define assert_reason(got, want) do {					\
	enum decode_reason got_ = (got), want_ = (want);		\
	cr_assert_eq(got_, want_, "got %s, want %s",			\
	    decode_reason_name(got_), decode_reason_name(want_));	\
} while (0)

Test(decode, minimal_event_and_defaults)
{
	assert_reason(dec(BASE_HEAD "}"), DECODE_OK);
	cr_assert_str_eq(ev.event_id, "e1");
	cr_assert_str_eq(ev.rep_id, "r001");
	cr_assert_str_eq(ev.type, "call");
	cr_assert_eq(ev.occurred_at_ms, T_20261123_1405Z);
	cr_assert_eq(ev.count, 1);
	cr_assert_eq(ev.has_amount, false);
	cr_assert_eq(ev.amount, 0.0);
	cr_assert_str_eq(ev.team_id, "");
	cr_assert_str_eq(ev.manager_id, "");
	cr_assert_str_eq(ev.role, "");
}

Test(decode, full_event)
{
	const char *s =
	    " \r\n\t{ \"event_id\" : "
	    "\"0b6f3c1e-9a7d-4c55-8f0e-2b1d5e6a7c90\",\n"
	    "  \"rep_id\": \"ana.lopez@acme-corp_1\",\n"
	    "  \"type\": \"deal_closed\",\n"
	    "  \"occurred_at\": \"2026-11-23T14:05:00.123-05:00\",\n"
	    "  \"count\": 3, \"amount\": 1250.5,\n"
	    "  \"team_id\": \"east\", \"manager_id\": \"m-east\",\n"
	    "  \"role\": \"ae\"\n"
	    "} \n";

	assert_reason(dec(s), DECODE_OK);
	cr_assert_str_eq(ev.event_id, "0b6f3c1e-9a7d-4c55-8f0e-2b1d5e6a7c90");
	cr_assert_str_eq(ev.rep_id, "ana.lopez@acme-corp_1");
	cr_assert_str_eq(ev.type, "deal_closed");
	cr_assert_eq(ev.occurred_at_ms, T_20261123_1905Z + 123);
	cr_assert_eq(ev.count, 3);
	cr_assert_eq(ev.has_amount, true);
	cr_assert_eq(ev.amount, 1250.5);
	cr_assert_str_eq(ev.team_id, "east");
	cr_assert_str_eq(ev.manager_id, "m-east");
	cr_assert_str_eq(ev.role, "ae");
}

Test(decode, reason_names)
{
	static const char *const want[DECODE_REASON_COUNT] = {
		"ok", "empty", "too_large", "invalid_utf8", "invalid_json",
		"too_deep", "not_object", "nul_in_string", "missing_event_id",
		"bad_event_id", "missing_rep_id", "bad_rep_id", "missing_type",
		"bad_type", "missing_occurred_at", "bad_occurred_at",
		"bad_count", "bad_amount", "bad_hint"
	};
	int i;

	for (i = 0; i < DECODE_REASON_COUNT; i++)
		cr_assert_str_eq(decode_reason_name(i), want[i]);
	cr_assert_str_eq(decode_reason_name(DECODE_REASON_COUNT), "unknown");
	cr_assert_str_eq(decode_reason_name((enum decode_reason)-1), "unknown");
}

/* One input per reason; the test also proves the table misses none. */
Test(decode, every_reason_reached)
{
	static const struct {
		const char *s;
		size_t len;		/* 0: strlen */
		enum decode_reason want;
	} cases[] = {
		{ BASE_HEAD "}", 0, DECODE_OK },
		{ "", 0, DECODE_EMPTY },
		{ "{\"a\":\"\xc3\x28\"}", 0, DECODE_INVALID_UTF8 },
		{ "{\"a\":1,}", 0, DECODE_INVALID_JSON },
		/* 32 arrays inside the top object. */
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, DECODE_TOO_DEEP },
		{ "[]", 0, DECODE_NOT_OBJECT },
		{ "{\"a\":\"x\\u0000y\"}", 0, DECODE_NUL_IN_STRING },
		{ "{\"rep_id\":\"r\"}", 0, DECODE_MISSING_EVENT_ID },
		{ "{\"event_id\":7}", 0, DECODE_BAD_EVENT_ID },
		{ "{\"event_id\":\"e\"}", 0, DECODE_MISSING_REP_ID },
		{ "{\"event_id\":\"e\",\"rep_id\":\"r 1\"}", 0,
		    DECODE_BAD_REP_ID },
		{ "{\"event_id\":\"e\",\"rep_id\":\"r\"}", 0,
		    DECODE_MISSING_TYPE },
		{ "{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":[]}", 0,
		    DECODE_BAD_TYPE },
		{ "{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"call\"}", 0,
		    DECODE_MISSING_OCCURRED_AT },
		{ "{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"call\","
		    "\"occurred_at\":\"2026-11-23 14:05\"}", 0,
		    DECODE_BAD_OCCURRED_AT },
		{ BASE_HEAD ",\"count\":0}", 0, DECODE_BAD_COUNT },
		{ BASE_HEAD ",\"amount\":-1}", 0, DECODE_BAD_AMOUNT },
		{ BASE_HEAD ",\"role\":false}", 0, DECODE_BAD_HINT },
	};
	bool seen[DECODE_REASON_COUNT] = { false };
	char *big;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].s);
		assert_reason(decn(cases[i].s, len), cases[i].want);
		seen[cases[i].want] = true;
	}
	/* too_large needs a buffer of its own. */
	big = text;
	memset(big, ' ', EVENT_BYTES_MAX + 1);
	assert_reason(decn(big, EVENT_BYTES_MAX + 1), DECODE_TOO_LARGE);
	seen[DECODE_TOO_LARGE] = true;

	for (i = 0; i < DECODE_REASON_COUNT; i++)
		cr_assert(seen[i], "no input reaches %s",
		    decode_reason_name(i));
}

Test(decode, size_limits)
{
	size_t head = strlen(BASE_HEAD "}");

	assert_reason(decn(NULL, 0), DECODE_EMPTY);
	/* Exactly the limit, padded with white space: fine. */
	memcpy(text, BASE_HEAD "}", head);
	memset(text + head, ' ', EVENT_BYTES_MAX - head);
	assert_reason(decn(text, EVENT_BYTES_MAX), DECODE_OK);
	text[EVENT_BYTES_MAX] = ' ';
	assert_reason(decn(text, EVENT_BYTES_MAX + 1), DECODE_TOO_LARGE);
	/* White space alone is not empty, it is not JSON. */
	assert_reason(dec(" \n"), DECODE_INVALID_JSON);
}

Test(decode, id_length_boundaries)
{
	char s[1024];

	snprintf(s, sizeof(s), "{\"event_id\":\"%s\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}",
	    rep('e', 128));
	assert_reason(dec(s), DECODE_OK);
	cr_assert_eq(strlen(ev.event_id), 128);
	cr_assert_eq(ev.event_id[127], 'e');

	snprintf(s, sizeof(s), "{\"event_id\":\"%s\",\"rep_id\":\"r\"}",
	    rep('e', 129));
	assert_reason(dec(s), DECODE_BAD_EVENT_ID);
	assert_reason(dec("{\"event_id\":\"\",\"rep_id\":\"r\"}"),
	    DECODE_BAD_EVENT_ID);

	snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"%s\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}",
	    rep('r', 128));
	assert_reason(dec(s), DECODE_OK);
	cr_assert_eq(strlen(ev.rep_id), 128);

	snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"%s\"}",
	    rep('r', 129));
	assert_reason(dec(s), DECODE_BAD_REP_ID);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"\"}"),
	    DECODE_BAD_REP_ID);

	snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"%s\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}",
	    rep('t', 64));
	assert_reason(dec(s), DECODE_OK);
	cr_assert_eq(strlen(ev.type), 64);
	snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"%s\"}", rep('t', 65));
	assert_reason(dec(s), DECODE_BAD_TYPE);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"\"}"), DECODE_BAD_TYPE);
}

Test(decode, event_id_counts_bytes)
{
	char s[512];
	size_t i;

	/* 64 x U+00E9 is 128 bytes (fine); one more ASCII byte is not. */
	s[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(s, "\xc3\xa9");
	snprintf(text, sizeof(text), "{\"event_id\":\"%s\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}", s);
	assert_reason(dec(text), DECODE_OK);
	cr_assert_eq(strlen(ev.event_id), 128);
	strcat(s, "a");
	snprintf(text, sizeof(text), "{\"event_id\":\"%s\"}", s);
	assert_reason(dec(text), DECODE_BAD_EVENT_ID);
}

Test(decode, hint_length_boundaries)
{
	assert_reason(dec_with(",\"team_id\":\"%s\"", rep('t', 128)),
	    DECODE_OK);
	cr_assert_eq(strlen(ev.team_id), 128);
	assert_reason(dec_with(",\"manager_id\":\"%s\"", rep('m', 129)),
	    DECODE_BAD_HINT);
	assert_reason(dec_with(",\"role\":\"\""), DECODE_BAD_HINT);
}

Test(decode, rep_id_charset)
{
	static const char *const good[] = {
		"abcxyzABCXYZ0189", "a.b", "a_b", "a@b", "a-b", ".", "-_.@"
	};
	static const char *const bad[] = {
		"a b", "a/b", "a+b", "a:b", "a\\\"b", "a\\tb", "caf\xc3\xa9",
		"a,b", "a#b"
	};
	char s[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"%s\","
		    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}",
		    good[i]);
		assert_reason(dec(s), DECODE_OK);
		cr_assert_str_eq(ev.rep_id, good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s), "{\"event_id\":\"e\",\"rep_id\":\"%s\","
		    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}",
		    bad[i]);
		assert_reason(dec(s), DECODE_BAD_REP_ID);
	}
}

Test(decode, type_printable)
{
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"r\\u00e9union client\","
	    "\"occurred_at\":\"2026-11-23T14:05:00Z\"}"), DECODE_OK);
	cr_assert_str_eq(ev.type, "r\xc3\xa9union client");
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"a\\nb\"}"), DECODE_BAD_TYPE);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"a\\u0001\"}"), DECODE_BAD_TYPE);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"a\\u007f\"}"), DECODE_BAD_TYPE);
	/* U+0085 (NEL) is a C1 control character. */
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"a\xc2\x85\"}"), DECODE_BAD_TYPE);
	/* U+00A0 is not. */
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":\"a\xc2\xa0\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}"),
	    DECODE_OK);
}

Test(decode, occurred_at)
{
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":\"2026-11-23T14:05:00\"}"),
	    DECODE_BAD_OCCURRED_AT);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":\"\"}"), DECODE_BAD_OCCURRED_AT);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":1795442700}"), DECODE_BAD_OCCURRED_AT);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":null}"), DECODE_MISSING_OCCURRED_AT);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":\"2026-11-23T09:05:00-05:00\"}"), DECODE_OK);
	cr_assert_eq(ev.occurred_at_ms, T_20261123_1405Z);
}

Test(decode, count)
{
	assert_reason(dec_with(",\"count\":0"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":1"), DECODE_OK);
	cr_assert_eq(ev.count, 1);
	assert_reason(dec_with(",\"count\":10000"), DECODE_OK);
	cr_assert_eq(ev.count, 10000);
	assert_reason(dec_with(",\"count\":10001"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":1.5"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":\"3\""), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":-1"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":-0"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":true"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":[1]"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":1e400"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":4294967297"), DECODE_BAD_COUNT);
	/* Integral values in other spellings are integers. */
	assert_reason(dec_with(",\"count\":1e3"), DECODE_OK);
	cr_assert_eq(ev.count, 1000);
	assert_reason(dec_with(",\"count\":1E+4"), DECODE_OK);
	cr_assert_eq(ev.count, 10000);
	assert_reason(dec_with(",\"count\":7.0"), DECODE_OK);
	cr_assert_eq(ev.count, 7);
	assert_reason(dec_with(",\"count\":250e-2"), DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"count\":null"), DECODE_OK);
	cr_assert_eq(ev.count, 1);
}

Test(decode, amount)
{
	assert_reason(dec_with(",\"amount\":-1"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":-0.001"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":1e400"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":-1e400"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":\"12\""), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":{}"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":0"), DECODE_OK);
	cr_assert_eq(ev.has_amount, true);
	cr_assert_eq(ev.amount, 0.0);
	assert_reason(dec_with(",\"amount\":-0"), DECODE_OK);
	cr_assert_eq(ev.has_amount, true);
	cr_assert_eq(ev.amount, 0.0);
	cr_assert(!signbit(ev.amount), "-0 must read as +0");
	assert_reason(dec_with(",\"amount\":35000.25"), DECODE_OK);
	cr_assert_eq(ev.amount, 35000.25);
	/* Bounded at 1e15: two 1e308 deals summed to infinity in Redis. */
	assert_reason(dec_with(",\"amount\":1e308"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":1e60"), DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":1000000000000000.5"),
	    DECODE_BAD_AMOUNT);
	assert_reason(dec_with(",\"amount\":1e15"), DECODE_OK);
	cr_assert_eq(ev.amount, 1e15);
	assert_reason(dec_with(",\"amount\":999999999999999.9"), DECODE_OK);
	cr_assert_eq(ev.amount, 999999999999999.9);
	assert_reason(dec_with(",\"amount\":null"), DECODE_OK);
	cr_assert_eq(ev.has_amount, false);
}

Test(decode, invalid_utf8)
{
	static const char *const bad[] = {
		"\xc0\x80", "\xc1\xbf",			/* overlong 2 */
		"\xe0\x80\x80", "\xe0\x9f\xbf",		/* overlong 3 */
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",	/* overlong 4 */
		"\xed\xa0\x80", "\xed\xbf\xbf",		/* surrogates */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",	/* > U+10FFFF */
		"\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\x80", "\xbf", "a\x80z",		/* stray continuation */
		"\xc3", "\xe2\x82", "\xf0\x9f\x98",	/* truncated */
		"\xc3\x28", "\xe2\x28\xa1", "\xf0\x28\x8c\x28",
	};
	char s[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s), "{\"event_id\":\"%s\"}", bad[i]);
		cr_assert_eq(dec(s), DECODE_INVALID_UTF8, "case %zu", i);
	}
	/* Truncated at the very end of the buffer, outside any string. */
	assert_reason(dec("{}\xe2\x82"), DECODE_INVALID_UTF8);
	/* Exactly sized on the heap, so that a sanitizer build sees any
	 * read past the last byte. */
	for (i = 0; i < 3; i++) {
		static const char *const tails[] = {
			"{}\xc3", "{}\xe2\x82", "{}\xf0\x9f\x98"
		};
		size_t n = strlen(tails[i]);
		char *h = malloc(n);

		cr_assert_not_null(h);
		memcpy(h, tails[i], n);
		assert_reason(decn(h, n), DECODE_INVALID_UTF8);
		free(h);
	}
	/* Bad UTF-8 outranks a syntax error found earlier. */
	assert_reason(dec("{,\"a\":\"\xff\"}"), DECODE_INVALID_UTF8);
}

Test(decode, valid_utf8)
{
	static const char *const good[] = {
		"\xc2\x80", "\xdf\xbf",			/* U+0080, U+07FF */
		"\xe0\xa0\x80", "\xe2\x82\xac",		/* U+0800, euro */
		"\xed\x9f\xbf", "\xee\x80\x80",		/* around surrogates */
		"\xef\xbf\xbf",				/* U+FFFF */
		"\xf0\x90\x80\x80", "\xf0\x9f\x98\x80",	/* U+10000, emoji */
		"\xf4\x8f\xbf\xbf",			/* U+10FFFF */
	};
	char s[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(s, sizeof(s),
		    "{\"event_id\":\"x%sx\",\"rep_id\":\"r\"," TAIL, good[i]);
		cr_assert_eq(dec(s), DECODE_OK, "case %zu", i);
		cr_assert_eq(strlen(ev.event_id), strlen(good[i]) + 2);
		cr_assert_eq(memcmp(ev.event_id + 1, good[i], strlen(good[i])),
		    0);
	}
}

Test(decode, raw_nul_is_invalid_json)
{
	static const char in_string[] = "{\"event_id\":\"a\0b\"}";
	static const char after[] = BASE_HEAD "}\0";
	static const char before[] = "\0" BASE_HEAD "}";

	assert_reason(decn(in_string, sizeof(in_string) - 1),
	    DECODE_INVALID_JSON);
	assert_reason(decn(after, sizeof(after) - 1), DECODE_INVALID_JSON);
	assert_reason(decn(before, sizeof(before) - 1), DECODE_INVALID_JSON);
	assert_reason(decn("\0", 1), DECODE_INVALID_JSON);
}

Test(decode, raw_control_in_string_is_invalid_json)
{
	assert_reason(dec("{\"event_id\":\"a\tb\"}"), DECODE_INVALID_JSON);
	assert_reason(dec("{\"event_id\":\"a\nb\"}"), DECODE_INVALID_JSON);
	assert_reason(dec("{\"event_id\":\"a\x1f" "b\"}"), DECODE_INVALID_JSON);
	/* DEL is legal raw JSON; type refuses it, event_id does not. */
	assert_reason(dec("{\"event_id\":\"a\x7f" "b\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}"),
	    DECODE_OK);
}

Test(decode, nul_escape)
{
	assert_reason(dec_with(",\"x\":\"\\u0000\""), DECODE_NUL_IN_STRING);
	/* In a key, in the middle, in upper-case hex, in a nested value. */
	assert_reason(dec_with(",\"a\\u0000b\":1"), DECODE_NUL_IN_STRING);
	assert_reason(dec("{\"event_id\":\"e1\\u0000tail\",\"rep_id\":\"r\"}"),
	    DECODE_NUL_IN_STRING);
	assert_reason(dec_with(",\"x\":[{\"y\":\"\\U0000\"}]"),
	    DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":[{\"y\":\"\\u0000\"}]"),
	    DECODE_NUL_IN_STRING);
	/* An escaped backslash then u0000: plain text, no NUL. */
	assert_reason(dec("{\"event_id\":\"a\\\\u0000\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}"),
	    DECODE_OK);
	cr_assert_str_eq(ev.event_id, "a\\u0000");
	/* Three backslashes: an escaped backslash, then \u0000. */
	assert_reason(dec("{\"event_id\":\"a\\\\\\u0000\"}"),
	    DECODE_NUL_IN_STRING);
	/* Four: two escaped backslashes, then text. */
	assert_reason(dec("{\"event_id\":\"\\\\\\\\u0000\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}"),
	    DECODE_OK);
	cr_assert_str_eq(ev.event_id, "\\\\u0000");
	/* \u0001 is not NUL. */
	assert_reason(dec_with(",\"x\":\"\\u0001\""), DECODE_OK);
}

Test(decode, escapes_and_surrogates)
{
	assert_reason(dec_with(",\"x\":\"\\ud800\""), DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\udbff\\u0041\""),
	    DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\ud800\\ud800\""),
	    DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\udc00\""), DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\udfff\\ud800\""),
	    DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\ud800x\""), DECODE_INVALID_JSON);
	/* A high surrogate then \u0000: the bad pair is found first and
	 * invalid_json outranks nul_in_string anyway. */
	assert_reason(dec_with(",\"x\":\"\\ud800\\u0000\""),
	    DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\u00zz\""), DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\u12\""), DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\x41\""), DECODE_INVALID_JSON);
	assert_reason(dec_with(",\"x\":\"\\'\""), DECODE_INVALID_JSON);

	/* A proper pair is U+1F600, four bytes of UTF-8. */
	assert_reason(dec("{\"event_id\":\"\\ud83d\\ude00\",\"rep_id\":\"r\","
	    "\"type\":\"t\",\"occurred_at\":\"2026-11-23T14:05:00Z\"}"),
	    DECODE_OK);
	cr_assert_str_eq(ev.event_id, "\xf0\x9f\x98\x80");
	assert_reason(dec("{\"event_id\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
	    "\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":\"2026-11-23T14:05:00Z\"}"), DECODE_OK);
	cr_assert_str_eq(ev.event_id, "\"\\/\b\f\n\r\t");
}

/* Builds the base event with a member "deep" nesting n arrays. */
static enum decode_reason
dec_nested(size_t n, const char *open, const char *close)
{
	char deep[4096];
	size_t i, pos = 0;

	for (i = 0; i < n; i++)
		pos += (size_t)snprintf(deep + pos, sizeof(deep) - pos, "%s",
		    open);
	for (i = 0; i < n; i++)
		pos += (size_t)snprintf(deep + pos, sizeof(deep) - pos, "%s",
		    close);
	return dec_with(",\"deep\":%s", deep);
}

Test(decode, nesting)
{
	char s[8192];
	size_t i;

	/* The top object is level 1: 31 more make 32, fine; 32 more, not. */
	assert_reason(dec_nested(31, "[", "]"), DECODE_OK);
	assert_reason(dec_nested(32, "[", "]"), DECODE_TOO_DEEP);

	/* Objects count like arrays. */
	s[0] = '\0';
	for (i = 0; i < 31; i++)
		strcat(s, "{\"k\":");
	strcat(s, "1");
	for (i = 0; i < 31; i++)
		strcat(s, "}");
	assert_reason(dec_with(",\"deep\":%s", s), DECODE_OK);
	assert_reason(dec_with(",\"deep\":{\"k\":%s}", s), DECODE_TOO_DEEP);

	/* Brackets inside strings are text. */
	assert_reason(dec_with(",\"x\":\"%s\"", rep('[', 100)), DECODE_OK);

	/* Deep and broken: the syntax error outranks the depth. */
	memset(s, '[', 5000);
	assert_reason(decn(s, 5000), DECODE_INVALID_JSON);
	/* Deep and a top-level array: too_deep outranks not_object. */
	memset(s, '[', 40);
	memset(s + 40, ']', 40);
	assert_reason(decn(s, 80), DECODE_TOO_DEEP);
	memset(s, '[', 32);
	memset(s + 32, ']', 32);
	assert_reason(decn(s, 64), DECODE_NOT_OBJECT);
}

Test(decode, not_object)
{
	assert_reason(dec("[]"), DECODE_NOT_OBJECT);
	assert_reason(dec("[" BASE_HEAD "}]"), DECODE_NOT_OBJECT);
	assert_reason(dec("\"x\""), DECODE_NOT_OBJECT);
	assert_reason(dec("42"), DECODE_NOT_OBJECT);
	assert_reason(dec(" -1.5e3 "), DECODE_NOT_OBJECT);
	assert_reason(dec("true"), DECODE_NOT_OBJECT);
	assert_reason(dec("null"), DECODE_NOT_OBJECT);
	/* not_object outranks nul_in_string. */
	assert_reason(dec("[\"\\u0000\"]"), DECODE_NOT_OBJECT);
	assert_reason(dec("{}"), DECODE_MISSING_EVENT_ID);
}

Test(decode, invalid_json)
{
	static const char *const bad[] = {
		"{", "}", "{\"event_id\"}", "{\"event_id\":}", "{\"a\" 1}",
		"{\"a\":1 \"b\":2}", "{\"a\":1,}", "{,}", "{'a':1}", "{a:1}",
		"{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":]}",
		"{\"a\":[}", "{\"a\":{]}", "{\"a\":\"x}", "{\"a\":\"x\\\"}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}",
		"{\"a\":-}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":0x10}",
		"{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":tru}", "{\"a\":nul}",
		"{\"a\":True}", "{\"a\":falsey}", "\xef\xbb\xbf{}",
		"{\"a\":1}\x0b", "{\"a\":1}\f", "{\"a\":1}/**/",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dec(bad[i]), DECODE_INVALID_JSON, "case %zu: %s",
		    i, bad[i]);
}

Test(decode, number_token_length)
{
	char num[80];

	/* cJSON reads 63 bytes of a number at most. */
	memset(num, '0', sizeof(num));
	num[0] = '1';
	num[63] = '\0';
	assert_reason(dec_with(",\"x\":%s", num), DECODE_OK);
	num[63] = '0';
	num[64] = '\0';
	assert_reason(dec_with(",\"x\":%s", num), DECODE_INVALID_JSON);
}

Test(decode, trailing_bytes)
{
	assert_reason(dec(BASE_HEAD "}x"), DECODE_INVALID_JSON);
	assert_reason(dec(BASE_HEAD "}}"), DECODE_INVALID_JSON);
	assert_reason(dec(BASE_HEAD "}{}"), DECODE_INVALID_JSON);
	assert_reason(dec(BASE_HEAD "},"), DECODE_INVALID_JSON);
	assert_reason(dec(BASE_HEAD "} 1"), DECODE_INVALID_JSON);
	assert_reason(dec(BASE_HEAD "} \t\r\n "), DECODE_OK);
	assert_reason(dec(" \t\r\n " BASE_HEAD "}"), DECODE_OK);
}

Test(decode, unknown_fields_ignored)
{
	assert_reason(dec_with(",\"source\":\"crm\",\"meta\":{\"a\":[1,2,{}],"
	    "\"b\":null},\"flags\":[true,false],\"score\":-1.5e-3,"
	    "\"count_extra\":\"x\",\"Count\":\"x\""), DECODE_OK);
	cr_assert_eq(ev.count, 1);
	/* Keys match exactly: "Event_ID" is not event_id. */
	assert_reason(dec("{\"Event_ID\":\"e\",\"rep_id\":\"r\"}"),
	    DECODE_MISSING_EVENT_ID);
	/* A nested event_id is not the event's. */
	assert_reason(dec("{\"x\":{\"event_id\":\"e\"}}"),
	    DECODE_MISSING_EVENT_ID);
}

Test(decode, null_hints_are_absent)
{
	assert_reason(dec_with(",\"team_id\":null,\"manager_id\":null,"
	    "\"role\":null"), DECODE_OK);
	cr_assert_str_eq(ev.team_id, "");
	cr_assert_str_eq(ev.manager_id, "");
	cr_assert_str_eq(ev.role, "");
	assert_reason(dec_with(",\"team_id\":null,\"role\":\"sdr\""),
	    DECODE_OK);
	cr_assert_str_eq(ev.team_id, "");
	cr_assert_str_eq(ev.role, "sdr");
}

Test(decode, hints_wrong_type)
{
	assert_reason(dec_with(",\"team_id\":7"), DECODE_BAD_HINT);
	assert_reason(dec_with(",\"manager_id\":true"), DECODE_BAD_HINT);
	assert_reason(dec_with(",\"role\":{}"), DECODE_BAD_HINT);
	assert_reason(dec_with(",\"role\":[\"sdr\"]"), DECODE_BAD_HINT);
}

Test(decode, required_null_is_missing_wrong_type_is_bad)
{
	assert_reason(dec("{\"event_id\":null,\"rep_id\":\"r\"}"),
	    DECODE_MISSING_EVENT_ID);
	assert_reason(dec("{\"event_id\":true}"), DECODE_BAD_EVENT_ID);
	assert_reason(dec("{\"event_id\":[\"e\"]}"), DECODE_BAD_EVENT_ID);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":null}"),
	    DECODE_MISSING_REP_ID);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":42}"),
	    DECODE_BAD_REP_ID);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\","
	    "\"type\":null}"), DECODE_MISSING_TYPE);
	assert_reason(dec("{\"event_id\":\"e\",\"rep_id\":\"r\",\"type\":1}"),
	    DECODE_BAD_TYPE);
}

Test(decode, reasons_follow_enum_order)
{
	char deep[81];

	/* "[" x 40 then "]" x 39. */
	memset(deep, '[', 40);
	memset(deep + 40, ']', 39);
	deep[79] = '\0';
	/* Every field is wrong: the first in the enum wins. */
	assert_reason(dec("{\"amount\":-1,\"count\":0,\"type\":1,"
	    "\"rep_id\":\"a b\",\"team_id\":1}"), DECODE_MISSING_EVENT_ID);
	assert_reason(dec("{\"amount\":-1,\"count\":0,\"occurred_at\":1,"
	    "\"type\":1,\"rep_id\":\"a b\",\"event_id\":\"e\"}"),
	    DECODE_BAD_REP_ID);
	assert_reason(dec_with(",\"role\":1,\"amount\":-1,\"count\":0"),
	    DECODE_BAD_COUNT);
	assert_reason(dec_with(",\"role\":1,\"amount\":-1"), DECODE_BAD_AMOUNT);
	/* Structure before fields: \u0000 in an otherwise empty object. */
	assert_reason(dec("{\"x\":\"\\u0000\"}"), DECODE_NUL_IN_STRING);
	/* invalid_json outranks too_deep and nul_in_string: 40 levels,
	 * one closer and the object's end short. */
	snprintf(text, sizeof(text), "{\"x\":\"\\u0000\",\"y\":%s", deep);
	assert_reason(dec(text), DECODE_INVALID_JSON);
	/* Closed properly, too_deep outranks nul_in_string. */
	strcat(text, "]}");
	assert_reason(dec(text), DECODE_TOO_DEEP);
}

Test(decode, duplicate_keys_first_wins)
{
	assert_reason(dec("{\"event_id\":\"first\",\"event_id\":\"second\","
	    "\"rep_id\":\"r\",\"type\":\"t\","
	    "\"occurred_at\":\"2026-11-23T14:05:00Z\","
	    "\"count\":2,\"count\":3}"), DECODE_OK);
	cr_assert_str_eq(ev.event_id, "first");
	cr_assert_eq(ev.count, 2);
	/* A bad first occurrence is not rescued by a good second one. */
	assert_reason(dec_with(",\"count\":0,\"count\":1"), DECODE_BAD_COUNT);
	/* A null first occurrence is absence, whatever follows. */
	assert_reason(dec_with(",\"count\":null,\"count\":0"), DECODE_OK);
	cr_assert_eq(ev.count, 1);
}

/* Strings and UTF-8 are scanned a word at a time: put each special byte
 * at every offset of a 20-byte event_id. */
Test(decode, string_scan_every_offset)
{
	char id[32], want[32], s[256];
	size_t k;

	for (k = 0; k < 20; k++) {
		memset(id, 'a', 20);
		id[20] = '\0';
		id[k] = '\t';
		snprintf(s, sizeof(s), "{\"event_id\":\"%s\"}", id);
		cr_assert_eq(dec(s), DECODE_INVALID_JSON, "tab at %zu", k);

		id[k] = '\x01';
		snprintf(s, sizeof(s), "{\"event_id\":\"%s\"}", id);
		cr_assert_eq(dec(s), DECODE_INVALID_JSON, "0x01 at %zu", k);

		id[k] = '\xff';
		snprintf(s, sizeof(s), "{\"event_id\":\"%s\"}", id);
		cr_assert_eq(dec(s), DECODE_INVALID_UTF8, "0xff at %zu", k);

		/* An escaped quote after k spaces. */
		memset(want, ' ', k);
		want[k] = '\0';
		snprintf(s, sizeof(s),
		    "{\"event_id\":\"%s\\\"!\",\"rep_id\":\"r\"," TAIL, want);
		cr_assert_eq(dec(s), DECODE_OK, "quote at %zu", k);
		strcat(want, "\"!");
		cr_assert_str_eq(ev.event_id, want);

		/* Multi-byte text around k is plain content. */
		memset(id, 'b', 20);
		id[20] = '\0';
		memcpy(id + (k < 17 ? k : 17), "\xe2\x82\xac", 3);
		snprintf(s, sizeof(s),
		    "{\"event_id\":\"%s\",\"rep_id\":\"r\"," TAIL, id);
		cr_assert_eq(dec(s), DECODE_OK, "euro at %zu", k);
		cr_assert_str_eq(ev.event_id, id);
	}
}
