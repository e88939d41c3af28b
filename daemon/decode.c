/*
 * decode.c: one Kafka message value to a validated struct activity (input
 * contract v1). Called once per consumed message, on the loop thread; pure
 * but for cJSON's own allocations, which are freed before returning.
 *
 * cJSON builds the tree, but it is lenient where the contract is strict: it
 * does not check UTF-8, reads a bad \u escape as U+0000, truncates strings
 * at \u0000, takes any byte <= 0x20 as white space, accepts raw control
 * characters in strings, leading zeros and a byte order mark. So two cheap
 * passes run first and decide every structural reason on their own:
 *
 *  1. utf8_check: the raw bytes are well-formed UTF-8 (no overlong forms,
 *     no UTF-8-encoded surrogates, nothing above U+10FFFF, no truncated
 *     sequence).
 *  2. json_check: the bytes are exactly one RFC 8259 JSON text. On the
 *     way it notes the deepest nesting, the type of the top value, and
 *     whether any string (key or value) holds the escape \u0000.
 *
 * Only then is cJSON called, on input it cannot misread. Reasons are
 * decided in the order of enum decode_reason, so the first rule in that
 * order wins whatever the byte order of the faults; e.g. bad UTF-8 after a
 * syntax error is still invalid_utf8, and a syntax error after nesting 40
 * deep is still invalid_json.
 *
 * Choices the contract leaves open:
 *  - A raw NUL byte is valid UTF-8 but never valid JSON (a control
 *    character in a string, or not white space outside one): invalid_json.
 *    So is any raw byte below 0x20 inside a string, and a byte order mark.
 *  - A \u escape of a lone surrogate (\ud800 not followed by \udc00-\udfff,
 *    or a lone \udc00-\udfff) is invalid_json; cJSON rejects these too.
 *  - White space alone is invalid_json; empty means zero bytes.
 *  - cJSON reads at most 63 bytes of a number token; a longer token is
 *    invalid_json here, so that json_check never accepts what cJSON fails.
 *  - Keys match exactly (case-sensitive). With duplicate keys the first
 *    occurrence wins, as cJSON_GetObjectItemCaseSensitive would pick.
 *  - A JSON null in any field counts as absent: for a required field that
 *    gives missing_*, for an optional one its default.
 *  - count: any JSON number whose value is integral and in 1..10000, so
 *    1e3 and 10.0 count, 1.5 and "3" do not. amount: a number in
 *    0..1e15 (EVENT_AMOUNT_MAX; 1e400 overflows to infinity and is bad
 *    too); -0 reads as 0. The bound tightens the contract's "finite":
 *    two amounts of 1e308 summed to infinity in Redis.
 *  - type: no C0 or C1 control characters and no DEL, beyond 1..64 bytes.
 *
 * cJSON writes a process-wide error position on every parse, so
 * decode_event must stay on one thread.
 */
#include "decode.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"

/* Deepest accepted nesting of arrays and objects; the top object is 1. */
#define DECODE_DEPTH_MAX	32
/* cJSON copies a number into a 64-byte buffer before strtod. */
#define DECODE_NUMBER_MAX	63

/* Word-at-a-time byte tests: b in every byte of a word; non-zero if some
 * byte of v is zero. */
#define JSON_BYTES(b)		(0x0101010101010101ULL * (uint64_t)(b))
#define JSON_HASZERO(v)		\
	(((v) - JSON_BYTES(0x01)) & ~(v) & JSON_BYTES(0x80))

static const char *const decode_reason_names[DECODE_REASON_COUNT] = {
	[DECODE_OK] = "ok",
	[DECODE_EMPTY] = "empty",
	[DECODE_TOO_LARGE] = "too_large",
	[DECODE_INVALID_UTF8] = "invalid_utf8",
	[DECODE_INVALID_JSON] = "invalid_json",
	[DECODE_TOO_DEEP] = "too_deep",
	[DECODE_NOT_OBJECT] = "not_object",
	[DECODE_NUL_IN_STRING] = "nul_in_string",
	[DECODE_MISSING_EVENT_ID] = "missing_event_id",
	[DECODE_BAD_EVENT_ID] = "bad_event_id",
	[DECODE_MISSING_REP_ID] = "missing_rep_id",
	[DECODE_BAD_REP_ID] = "bad_rep_id",
	[DECODE_MISSING_TYPE] = "missing_type",
	[DECODE_BAD_TYPE] = "bad_type",
	[DECODE_MISSING_OCCURRED_AT] = "missing_occurred_at",
	[DECODE_BAD_OCCURRED_AT] = "bad_occurred_at",
	[DECODE_BAD_COUNT] = "bad_count",
	[DECODE_BAD_AMOUNT] = "bad_amount",
	[DECODE_BAD_HINT] = "bad_hint",
};

/* What json_check learnt about a syntactically valid text. */
struct json_shape {
	size_t	max_depth;
	int	top;		/* first byte of the top value: '{', '[', ... */
	int	nul_escape;	/* some string holds \u0000 */
};

const char *
decode_reason_name(enum decode_reason r)
{
	if ((unsigned)r >= DECODE_REASON_COUNT)
		return "unknown";
	return decode_reason_names[r];
}

/*
 * Returns 0 if p..p+len is well-formed UTF-8 (Unicode table 3-7), else -1.
 * Runs of ASCII go eight bytes at a time: events are mostly ASCII.
 */
static int
utf8_check(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint64_t w;
	unsigned char c, lo, hi;
	size_t n, i;

	while (p < end) {
		if ((size_t)(end - p) >= sizeof(w)) {
			memcpy(&w, p, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				p += sizeof(w);
				continue;
			}
		}
		c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		/* Bounds of the second byte narrow the first to exclude
		 * overlongs, surrogates and code points past U+10FFFF. */
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return -1;
		if ((size_t)(end - p) <= n)
			return -1;
		if (p[1] < lo || p[1] > hi)
			return -1;
		for (i = 2; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		}
		p += n + 1;
	}
	return 0;
}

static const unsigned char *
json_skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Reads four hex digits at p (bounds checked by the caller); -1 if bad. */
static long
json_hex4(const unsigned char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Scans the string whose opening quote is at *pp; leaves *pp past the
 * closing quote. Bytes >= 0x80 were checked by utf8_check already.
 */
static int
json_string(const unsigned char **pp, const unsigned char *end,
    struct json_shape *shape)
{
	const unsigned char *p = *pp + 1;
	uint64_t w;
	long u, lo;

	for (;;) {
		/* Plain runs eight bytes at a time: stop at a word holding a
		 * quote, a backslash or a byte below 0x20 (bytes >= 0x80
		 * never match, their top bit masks them out). */
		while (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if (JSON_HASZERO(w ^ JSON_BYTES(0x22)) |
			    JSON_HASZERO(w ^ JSON_BYTES(0x5c)) |
			    ((w - JSON_BYTES(0x20)) & ~w & JSON_BYTES(0x80)))
				break;
			p += 8;
		}
		while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
			p++;
		if (p == end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		/* A backslash: the escape is consumed whole, so the text
		 * \\u0000 is an escaped backslash followed by "u0000". */
		if (end - p < 2)
			return -1;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b':
		case 'f': case 'n': case 'r': case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (end - p < 6 || (u = json_hex4(p + 2)) == -1)
			return -1;
		p += 6;
		if (u == 0)
			shape->nul_escape = 1;
		else if (u >= 0xdc00 && u <= 0xdfff)
			return -1;
		else if (u >= 0xd800 && u <= 0xdbff) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
				return -1;
			lo = json_hex4(p + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			p += 6;
		}
	}
	*pp = p + 1;
	return 0;
}

/* Scans an RFC 8259 number at *pp, no longer than cJSON can read. */
static int
json_number(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *start = *pp, *p = *pp;

	if (p < end && *p == '-')
		p++;
	if (p == end)
		return -1;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else
		return -1;
	if (p < end && *p == '.') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return -1;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p - start > DECODE_NUMBER_MAX)
		return -1;
	*pp = p;
	return 0;
}

static int
json_literal(const unsigned char **pp, const unsigned char *end,
    const char *word, size_t n)
{
	if ((size_t)(end - *pp) < n || memcmp(*pp, word, n) != 0)
		return -1;
	*pp += n;
	return 0;
}

/*
 * Returns 0 if buf..buf+len is exactly one JSON text (RFC 8259) with only
 * white space around it, filling *shape; else -1. Iterative, so depth costs
 * no C stack: one bit per level records object or array, and the whole
 * text is checked even past DECODE_DEPTH_MAX so that a syntax error still
 * outranks too_deep.
 */
static int
json_check(const unsigned char *buf, size_t len, struct json_shape *shape)
{
	enum { VALUE, KEY, AFTER_VALUE } state = VALUE;
	const unsigned char *p = buf, *end = buf + len;
	unsigned char is_obj[EVENT_BYTES_MAX / 8 + 1];
	size_t depth = 0;
	unsigned bit, in_obj;
	int open, closer;

	shape->max_depth = 0;
	shape->nul_escape = 0;
	p = json_skip_ws(p, end);
	if (p == end)
		return -1;
	shape->top = *p;

	for (;;) {
		p = json_skip_ws(p, end);
		switch (state) {
		case VALUE:
			if (p == end)
				return -1;
			switch (*p) {
			case '{':
			case '[':
				/* len <= EVENT_BYTES_MAX bounds depth. */
				open = *p++;
				closer = open == '{' ? '}' : ']';
				bit = 1U << (depth % 8);
				if (open == '{')
					is_obj[depth / 8] |= bit;
				else
					is_obj[depth / 8] &= ~bit;
				if (++depth > shape->max_depth)
					shape->max_depth = depth;
				p = json_skip_ws(p, end);
				if (p < end && *p == closer) {
					p++;
					depth--;
					state = AFTER_VALUE;
				} else
					state = open == '{' ? KEY : VALUE;
				continue;
			case '"':
				if (json_string(&p, end, shape) == -1)
					return -1;
				break;
			case 't':
				if (json_literal(&p, end, "true", 4) == -1)
					return -1;
				break;
			case 'f':
				if (json_literal(&p, end, "false", 5) == -1)
					return -1;
				break;
			case 'n':
				if (json_literal(&p, end, "null", 4) == -1)
					return -1;
				break;
			default:
				if (json_number(&p, end) == -1)
					return -1;
				break;
			}
			state = AFTER_VALUE;
			break;
		case KEY:
			if (p == end || *p != '"' ||
			    json_string(&p, end, shape) == -1)
				return -1;
			p = json_skip_ws(p, end);
			if (p == end || *p != ':')
				return -1;
			p++;
			state = VALUE;
			break;
		case AFTER_VALUE:
			if (depth == 0)
				return p == end ? 0 : -1;
			if (p == end)
				return -1;
			in_obj = is_obj[(depth - 1) / 8] &
			    (1U << ((depth - 1) % 8));
			if (*p == ',') {
				p++;
				state = in_obj ? KEY : VALUE;
			} else if (*p == (in_obj ? '}' : ']')) {
				p++;
				depth--;
			} else
				return -1;
			break;
		}
	}
}

/* The members of the contract, indexes into decode_field_names. */
enum decode_field {
	F_EVENT_ID,
	F_REP_ID,
	F_TYPE,
	F_OCCURRED_AT,
	F_COUNT,
	F_AMOUNT,
	F_TEAM_ID,
	F_MANAGER_ID,
	F_ROLE,
	F_NFIELDS
};

static const char *const decode_field_names[F_NFIELDS] = {
	"event_id", "rep_id", "type", "occurred_at", "count", "amount",
	"team_id", "manager_id", "role"
};

/*
 * One walk over the members instead of a lookup per field: f[i] is the
 * first member named decode_field_names[i], NULL if none or if it is null.
 */
static void
decode_collect(const cJSON *root, const cJSON *f[F_NFIELDS])
{
	const cJSON *it;
	int i;

	for (i = 0; i < F_NFIELDS; i++)
		f[i] = NULL;
	for (it = root->child; it != NULL; it = it->next) {
		for (i = 0; i < F_NFIELDS; i++) {
			if (it->string[0] == decode_field_names[i][0] &&
			    strcmp(it->string, decode_field_names[i]) == 0)
				break;
		}
		if (i < F_NFIELDS && f[i] == NULL)
			f[i] = it;
	}
	for (i = 0; i < F_NFIELDS; i++) {
		if (f[i] != NULL && cJSON_IsNull(f[i]))
			f[i] = NULL;
	}
}

/*
 * Copies a string member of 1..max bytes into dst (max + 1 bytes); returns
 * its length, or 0 if it is not a string or its length is out of range.
 * \u0000 was refused earlier, so strlen is the true length.
 */
static size_t
decode_string(const cJSON *it, char *dst, size_t max)
{
	size_t n;

	if (!cJSON_IsString(it))
		return 0;
	n = strlen(it->valuestring);
	if (n == 0 || n > max)
		return 0;
	memcpy(dst, it->valuestring, n + 1);
	return n;
}

static int
decode_rep_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	    c == '-';
}

/* Printable: no C0 controls, no DEL, no C1 controls (UTF-8 C2 80..C2 9F). */
static int
decode_printable(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

static enum decode_reason
decode_hint(const cJSON *it, char *dst)
{
	if (it == NULL)
		return DECODE_OK;
	if (decode_string(it, dst, EVENT_HINT_MAX) == 0)
		return DECODE_BAD_HINT;
	return DECODE_OK;
}

/* Checks the members of the top object in the order of the enum. */
static enum decode_reason
decode_fields(const cJSON *root, struct activity *ev)
{
	const cJSON *f[F_NFIELDS];
	enum decode_reason r;
	size_t i, n;
	double v;

	decode_collect(root, f);

	if (f[F_EVENT_ID] == NULL)
		return DECODE_MISSING_EVENT_ID;
	if (decode_string(f[F_EVENT_ID], ev->event_id, EVENT_ID_MAX) == 0)
		return DECODE_BAD_EVENT_ID;

	if (f[F_REP_ID] == NULL)
		return DECODE_MISSING_REP_ID;
	if ((n = decode_string(f[F_REP_ID], ev->rep_id, EVENT_REP_MAX)) == 0)
		return DECODE_BAD_REP_ID;
	for (i = 0; i < n; i++) {
		if (!decode_rep_char((unsigned char)ev->rep_id[i]))
			return DECODE_BAD_REP_ID;
	}

	if (f[F_TYPE] == NULL)
		return DECODE_MISSING_TYPE;
	if ((n = decode_string(f[F_TYPE], ev->type, EVENT_TYPE_MAX)) == 0 ||
	    !decode_printable(ev->type, n))
		return DECODE_BAD_TYPE;

	if (f[F_OCCURRED_AT] == NULL)
		return DECODE_MISSING_OCCURRED_AT;
	if (!cJSON_IsString(f[F_OCCURRED_AT]) ||
	    caltime_parse_rfc3339(f[F_OCCURRED_AT]->valuestring,
	    strlen(f[F_OCCURRED_AT]->valuestring), &ev->occurred_at_ms) != 0)
		return DECODE_BAD_OCCURRED_AT;

	if (f[F_COUNT] != NULL) {
		if (!cJSON_IsNumber(f[F_COUNT]))
			return DECODE_BAD_COUNT;
		v = f[F_COUNT]->valuedouble;
		/* The range test comes first and also refuses NaN, so the
		 * conversion below is defined. */
		if (!(v >= 1 && v <= EVENT_COUNT_MAX) ||
		    (double)(int32_t)v != v)
			return DECODE_BAD_COUNT;
		ev->count = (int32_t)v;
	}

	if (f[F_AMOUNT] != NULL) {
		if (!cJSON_IsNumber(f[F_AMOUNT]))
			return DECODE_BAD_AMOUNT;
		v = f[F_AMOUNT]->valuedouble;
		/* The range test also refuses NaN and infinities. */
		if (!(v >= 0 && v <= EVENT_AMOUNT_MAX))
			return DECODE_BAD_AMOUNT;
		ev->has_amount = true;
		ev->amount = v == 0 ? 0 : v;	/* -0 becomes 0 */
	}

	if ((r = decode_hint(f[F_TEAM_ID], ev->team_id)) != DECODE_OK ||
	    (r = decode_hint(f[F_MANAGER_ID], ev->manager_id)) != DECODE_OK ||
	    (r = decode_hint(f[F_ROLE], ev->role)) != DECODE_OK)
		return r;
	return DECODE_OK;
}

enum decode_reason
decode_event(const void *buf, size_t len, struct activity *ev)
{
	const unsigned char *b = buf, *end;
	struct json_shape shape;
	const char *parse_end;
	cJSON *root;
	enum decode_reason r;

	/* Not a memset: the struct is 600 bytes and this runs per event.
	 * Past each terminator the buffers are left as they were. */
	ev->event_id[0] = ev->rep_id[0] = ev->type[0] = '\0';
	ev->team_id[0] = ev->manager_id[0] = ev->role[0] = '\0';
	ev->occurred_at_ms = 0;
	ev->count = 1;
	ev->has_amount = false;
	ev->amount = 0;
	if (len == 0)
		return DECODE_EMPTY;
	if (len > EVENT_BYTES_MAX)
		return DECODE_TOO_LARGE;
	end = b + len;
	if (utf8_check(b, len) == -1)
		return DECODE_INVALID_UTF8;
	if (json_check(b, len, &shape) == -1)
		return DECODE_INVALID_JSON;
	if (shape.max_depth > DECODE_DEPTH_MAX)
		return DECODE_TOO_DEEP;
	if (shape.top != '{')
		return DECODE_NOT_OBJECT;
	if (shape.nul_escape)
		return DECODE_NUL_IN_STRING;

	root = cJSON_ParseWithLengthOpts(buf, len, &parse_end, 0);
	if (root == NULL || !cJSON_IsObject(root) ||
	    json_skip_ws((const unsigned char *)parse_end, end) != end) {
		/*
		 * json_check accepts only what cJSON parses whole, so this
		 * is malloc failing or a disagreement between the two: a
		 * fuzzing build stops here to show it; the daemon keeps
		 * going and calls the event invalid.
		 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		abort();
#endif
		cJSON_Delete(root);
		return DECODE_INVALID_JSON;
	}
	r = decode_fields(root, ev);
	cJSON_Delete(root);
	return r;
}
