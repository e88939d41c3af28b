/*
 * bench_json.c: re-measures the JSON choice on this machine. Generates
 * realistic activity events in memory, then times, over the same buffers,
 * cJSON (parse and field extraction), json-c (one reused tokener), jansson
 * (json_loadb) and the whole of decode_event (UTF-8 and syntax checks,
 * cJSON, contract validation, RFC 3339). Best of 3 rounds each; every
 * parser must find the same sum of count, which proves it did the work.
 *
 * usage: bench_json [EVENTS]	(default 200000)
 */
#include "decode.h"

#include <cjson/cJSON.h>
/*
 * json-c and jansson declare some of the same names (json_object,
 * json_type, json_object_iter, and the functions json_object_get and
 * json_object_iter_next, which both libraries export). Rename jansson's
 * away while its header is read, and call none of the clashing functions:
 * json_object_getn stands in for jansson's json_object_get.
 */
#define json_object		jansson_object_
#define json_object_get		jansson_object_get_
#define json_object_iter	jansson_object_iter_
#define json_object_iter_next	jansson_object_iter_next_
#define json_type		jansson_type_
#include <jansson.h>
#undef json_object
#undef json_object_get
#undef json_object_iter
#undef json_object_iter_next
#undef json_type
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

#define BENCH_ROUNDS	3

struct corpus {
	char	*buf;
	size_t	*off;
	size_t	*len;
	size_t	 n;
	size_t	 bytes;
	long long count_sum;
};

/* Fields every parser pulls out, so that each does comparable work. */
struct fields {
	size_t	strlen_sum;
	long long count_sum;
	double	amount_sum;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	/* xorshift64*: deterministic, so every run sees the same events. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static const char *const types[] = {
	"call", "call", "call", "email", "email", "conversation",
	"meeting_scheduled", "meeting_held", "roi_discussion", "proposal_sent",
	"deal_closed", "sales_accepted_opportunity"
};

static const char *const first_names[] = {
	"ana", "bob", "chen", "dara", "eli", "fatima", "gus", "hana"
};

/* Writes one event of roughly 150 bytes and 5 to 7 members at p. */
static int
gen_event(char *p, size_t cap, long long *count_sum)
{
	char rep[64], extra[96];
	const char *type = types[rng() % (sizeof(types) / sizeof(types[0]))];
	int count = 1, n;
	uint32_t r = rng();

	if (r % 3 == 0)
		snprintf(rep, sizeof(rep), "r%04u", rng() % 5000);
	else
		snprintf(rep, sizeof(rep), "%s.%c%u@acme-corp.com",
		    first_names[rng() % 8], 'a' + (int)(rng() % 26),
		    rng() % 100);

	extra[0] = '\0';
	n = 0;
	if (strcmp(type, "deal_closed") == 0)
		n = snprintf(extra, sizeof(extra), ",\"amount\":%u.%02u",
		    1000 + rng() % 90000, rng() % 100);
	else if (r % 4 == 1) {
		count = 1 + (int)(rng() % 5);
		n = snprintf(extra, sizeof(extra), ",\"count\":%d", count);
	}
	if (r % 5 == 2)
		snprintf(extra + n, sizeof(extra) - (size_t)n,
		    ",\"team_id\":\"team-%u\"", rng() % 40);
	*count_sum += count;

	return snprintf(p, cap,
	    "{\"event_id\":\"%08x-%04x-4%03x-%04x-%08x%04x\","
	    "\"rep_id\":\"%s\",\"type\":\"%s\","
	    "\"occurred_at\":\"2026-11-%02uT%02u:%02u:%02u.%03u%s\"%s}",
	    rng(), rng() & 0xffff, rng() & 0xfff, (rng() & 0x3fff) | 0x8000,
	    rng(), rng() & 0xffff, rep, type, 1 + rng() % 28, rng() % 24,
	    rng() % 60, rng() % 60, rng() % 1000,
	    r % 2 ? "Z" : "-05:00", extra);
}

static void
corpus_make(struct corpus *c, size_t n)
{
	size_t cap = n * 256, i;
	int w;

	c->buf = xmalloc(cap);
	c->off = xcalloc(n, sizeof(*c->off));
	c->len = xcalloc(n, sizeof(*c->len));
	c->n = n;
	c->bytes = 0;
	c->count_sum = 0;
	for (i = 0; i < n; i++) {
		w = gen_event(c->buf + c->bytes, cap - c->bytes, &c->count_sum);
		if (w < 0 || (size_t)w >= cap - c->bytes) {
			fprintf(stderr, "bench_json: event %zu too long\n", i);
			exit(1);
		}
		c->off[i] = c->bytes;
		c->len[i] = (size_t)w;
		/* No NUL between events: parsers must honour the length. */
		c->bytes += (size_t)w;
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run_cjson(const struct corpus *c, struct fields *f)
{
	static const char *const names[] = {
		"event_id", "rep_id", "type", "occurred_at"
	};
	const cJSON *it;
	cJSON *root;
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		root = cJSON_ParseWithLength(c->buf + c->off[i], c->len[i]);
		if (root == NULL)
			return -1;
		for (k = 0; k < 4; k++) {
			it = cJSON_GetObjectItemCaseSensitive(root, names[k]);
			if (!cJSON_IsString(it)) {
				cJSON_Delete(root);
				return -1;
			}
			f->strlen_sum += strlen(it->valuestring);
		}
		it = cJSON_GetObjectItemCaseSensitive(root, "count");
		f->count_sum += cJSON_IsNumber(it) ? it->valueint : 1;
		it = cJSON_GetObjectItemCaseSensitive(root, "amount");
		if (cJSON_IsNumber(it))
			f->amount_sum += it->valuedouble;
		cJSON_Delete(root);
	}
	return 0;
}

static int
run_jsonc(const struct corpus *c, struct fields *f)
{
	static const char *const names[] = {
		"event_id", "rep_id", "type", "occurred_at"
	};
	struct json_tokener *tok;
	struct json_object *root, *it;
	size_t i, k;
	int rc = 0;

	tok = json_tokener_new();
	for (i = 0; i < c->n && rc == 0; i++) {
		json_tokener_reset(tok);
		root = json_tokener_parse_ex(tok, c->buf + c->off[i],
		    (int)c->len[i]);
		if (root == NULL ||
		    json_tokener_get_error(tok) != json_tokener_success) {
			rc = -1;
			break;
		}
		for (k = 0; k < 4; k++) {
			if (!json_object_object_get_ex(root, names[k], &it) ||
			    !json_object_is_type(it, json_type_string)) {
				rc = -1;
				break;
			}
			f->strlen_sum += (size_t)json_object_get_string_len(it);
		}
		if (json_object_object_get_ex(root, "count", &it))
			f->count_sum += json_object_get_int(it);
		else
			f->count_sum += 1;
		if (json_object_object_get_ex(root, "amount", &it))
			f->amount_sum += json_object_get_double(it);
		json_object_put(root);
	}
	json_tokener_free(tok);
	return rc;
}

static int
run_jansson(const struct corpus *c, struct fields *f)
{
	static const char *const names[] = {
		"event_id", "rep_id", "type", "occurred_at"
	};
	json_error_t err;
	json_t *root, *it;
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		root = json_loadb(c->buf + c->off[i], c->len[i], 0, &err);
		if (root == NULL)
			return -1;
		for (k = 0; k < 4; k++) {
			it = json_object_getn(root, names[k],
			    strlen(names[k]));
			if (!json_is_string(it)) {
				json_decref(root);
				return -1;
			}
			f->strlen_sum += json_string_length(it);
		}
		it = json_object_getn(root, "count", 5);
		f->count_sum += json_is_integer(it) ?
		    json_integer_value(it) : 1;
		it = json_object_getn(root, "amount", 6);
		if (json_is_number(it))
			f->amount_sum += json_number_value(it);
		json_decref(root);
	}
	return 0;
}

static int
run_decode(const struct corpus *c, struct fields *f)
{
	struct activity ev;
	enum decode_reason r;
	size_t i;

	for (i = 0; i < c->n; i++) {
		r = decode_event(c->buf + c->off[i], c->len[i], &ev);
		if (r != DECODE_OK) {
			fprintf(stderr, "bench_json: event %zu: %s\n", i,
			    decode_reason_name(r));
			return -1;
		}
		f->strlen_sum += strlen(ev.event_id) + strlen(ev.rep_id) +
		    strlen(ev.type);
		f->count_sum += ev.count;
		if (ev.has_amount)
			f->amount_sum += ev.amount;
	}
	return 0;
}

struct contender {
	const char	*name;
	int		(*run)(const struct corpus *, struct fields *);
	double		 best;		/* seconds */
	struct fields	 got;
};

int
main(int argc, char **argv)
{
	char cjson_name[64], jsonc_name[64], jansson_name[64];
	struct contender ct[] = {
		{ cjson_name, run_cjson, 0, { 0, 0, 0 } },
		{ jsonc_name, run_jsonc, 0, { 0, 0, 0 } },
		{ jansson_name, run_jansson, 0, { 0, 0, 0 } },
		{ "decode_event (full)", run_decode, 0, { 0, 0, 0 } },
	};
	const size_t nct = sizeof(ct) / sizeof(ct[0]);
	struct corpus c;
	struct fields f;
	size_t n = 200000, i, round;
	double t, eps;
	int bad = 0;

	if (argc > 1 && (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench_json [EVENTS]\n");
		return 2;
	}
	snprintf(cjson_name, sizeof(cjson_name), "cJSON %s parse+fields",
	    cJSON_Version());
	snprintf(jsonc_name, sizeof(jsonc_name), "json-c %s reused tokener",
	    json_c_version());
	snprintf(jansson_name, sizeof(jansson_name), "jansson %s json_loadb",
	    JANSSON_VERSION);

	corpus_make(&c, n);
	printf("%zu events, %zu bytes, %.1f bytes/event, count sum %lld\n",
	    c.n, c.bytes, (double)c.bytes / (double)c.n, c.count_sum);

	/* Rounds interleave the parsers so that noise from a shared machine
	 * spreads over all of them. */
	for (round = 0; round < BENCH_ROUNDS; round++) {
		for (i = 0; i < nct; i++) {
			memset(&f, 0, sizeof(f));
			t = now();
			if (ct[i].run(&c, &f) == -1) {
				fprintf(stderr, "bench_json: %s failed\n",
				    ct[i].name);
				return 1;
			}
			t = now() - t;
			if (round == 0 || t < ct[i].best)
				ct[i].best = t;
			ct[i].got = f;
		}
	}

	printf("%-34s %12s %9s %9s\n", "parser (best of 3)", "events/s", "MB/s",
	    "vs cJSON");
	for (i = 0; i < nct; i++) {
		eps = (double)c.n / ct[i].best;
		printf("%-34s %12.0f %9.1f %9.2f\n", ct[i].name, eps,
		    (double)c.bytes / ct[i].best / 1e6,
		    ct[0].best / ct[i].best);
	}

	for (i = 0; i < nct; i++) {
		if (ct[i].got.count_sum != c.count_sum) {
			fprintf(stderr, "bench_json: %s: count sum %lld, "
			    "want %lld\n", ct[i].name, ct[i].got.count_sum,
			    c.count_sum);
			bad = 1;
		}
		/* decode_event's strings are three fields, not four. */
		if (i < 3 && ct[i].got.strlen_sum != ct[0].got.strlen_sum) {
			fprintf(stderr, "bench_json: %s: string bytes differ\n",
			    ct[i].name);
			bad = 1;
		}
	}
	if (!bad)
		printf("all parsers agree: count sum %lld\n", c.count_sum);
	free(c.buf);
	free(c.off);
	free(c.len);
	return bad;
}
