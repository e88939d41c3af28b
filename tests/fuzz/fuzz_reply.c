/*
 * libFuzzer target for Redis reply handling: the input describes a reply
 * tree of any shape hiredis can hand over (strings, statuses and errors
 * with their len and a NUL after, integers, nil, arrays nested to any
 * depth up to 5), fed to every parser of a reply: the shape checks and
 * parsers of reply.c the callbacks use (HGETALL of counters and of
 * alert states, the evaluator's read script, HMGET of watermarks and event clocks, the rep script's
 * and the team script's answers, SCRIPT LOAD, errors and NOSCRIPT), plan_history's HGETALL
 * reader, and the Redis Cluster router's CLUSTER SLOTS parser and MOVED/ASK
 * reader. A shape a parser does not expect must give its error, never a
 * crash or a read out of bounds.
 *
 * Input: one byte n (the element count an HMGET or the rep script
 * expects, n % 8), then the tree in prefix order. Each reply starts with
 * a type byte (t % 6: string, array, integer, nil, status, error); a
 * string's length is one byte, or 255 and three more bytes (little
 * endian) for a longer one, then its bytes; an integer is 8 bytes; an
 * array's count is one byte (% 16) and its elements follow.
 */
#include "config.h"
#include "evaluate.h"
#include "log.h"
#include "plan_history.h"
#include "redis_cluster.h"
#include "reply.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH	5

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

struct in {
	const uint8_t *p, *end;
};

static unsigned
next_byte(struct in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static redisReply *
build(struct in *in, int depth)
{
	static const int types[] = { REDIS_REPLY_STRING, REDIS_REPLY_ARRAY,
	    REDIS_REPLY_INTEGER, REDIS_REPLY_NIL, REDIS_REPLY_STATUS,
	    REDIS_REPLY_ERROR };
	redisReply *r = calloc(1, sizeof(*r));
	size_t len;

	check(r != NULL);
	r->type = types[next_byte(in) % 6];
	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		len = next_byte(in);
		if (len == 255) {
			len = next_byte(in);
			len |= (size_t)next_byte(in) << 8;
			len |= (size_t)next_byte(in) << 16;
		}
		if (len > (size_t)(in->end - in->p))
			len = (size_t)(in->end - in->p);
		/* hiredis: exactly len bytes, then a NUL. */
		r->str = malloc(len + 1);
		check(r->str != NULL);
		memcpy(r->str, in->p, len);
		r->str[len] = '\0';
		r->len = len;
		in->p += len;
		break;
	case REDIS_REPLY_INTEGER:
		for (int i = 0; i < 8; i++)
			r->integer = (long long)((unsigned long long)r->integer << 8 |
			    next_byte(in));
		break;
	case REDIS_REPLY_ARRAY:
		r->elements = depth < MAX_DEPTH ? next_byte(in) % 16 : 0;
		if (r->elements > 0) {
			r->element = calloc(r->elements, sizeof(*r->element));
			check(r->element != NULL);
		}
		for (size_t i = 0; i < r->elements; i++)
			r->element[i] = build(in, depth + 1);
		break;
	}
	return r;
}

static void
free_tree(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		free_tree(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static const char config_yaml[] =
    "kpis:\n"
    "  - {name: calls, kind: leading, events: [call]}\n"
    "  - {name: revenue, kind: lagging, events: [deal_won], measure: amount}\n"
    "roles:\n"
    "  ae: {targets: {calls: {day: 50}, revenue: {month: 10000}}}\n"
    "teams:\n"
    "  - {id: east, timezone: UTC}\n"
    "reps:\n"
    "  - {id: r001, team: east, role: ae}\n";

static struct config *cfg;

static void
feed(redisReply *r, size_t n)
{
	double actual[8], totals[8];
	struct eval_state prev[8 * PERIOD_COUNT];
	int64_t last_at = 0, ints[8];
	bool present[8];
	char sha[41], err[256], host[64];
	const char *e;
	struct redis_cluster_range *ranges;
	size_t nranges;
	bool ask;
	int slot, port;

	e = reply_error_text(r);
	check(e != NULL || r->type != REDIS_REPLY_ERROR);
	if (reply_noscript(r))
		check(r->type == REDIS_REPLY_ERROR);

	if (reply_hash(r) == 0) {
		check(r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0);
		for (size_t i = 0; i < r->elements; i++)
			check(r->element[i]->type == REDIS_REPLY_STRING);
	}
	memset(actual, 0, sizeof(actual));
	if (reply_counter_values(cfg, r, actual) == 0)
		check(r->type == REDIS_REPLY_ARRAY &&
		    r->elements == cfg->nkpis);
	memset(prev, 0, sizeof(prev));
	check((reply_eval_states(cfg, r, "_evaluated_at", prev, &last_at) ==
	    0) == (reply_hash(r) == 0));

	memset(present, 0, sizeof(present));
	if (reply_int64s(r, n, ints, present) == 0)
		check(r->type == REDIS_REPLY_ARRAY && r->elements == n);
	if (r->type == REDIS_REPLY_ARRAY && r->elements <= 8)
		reply_int64s(r, r->elements, ints, present);

	if (reply_shard_script(r, n) == 0) {
		check(r->elements >= 4);
		check(r->element[0]->type == REDIS_REPLY_INTEGER &&
		    r->element[1]->type == REDIS_REPLY_INTEGER &&
		    r->element[2]->type == REDIS_REPLY_ARRAY &&
		    r->element[3]->type == REDIS_REPLY_INTEGER);
		check(r->element[2]->elements > 0 || r->elements == n + 4);
	}
	if (reply_sha1(r, sha) == 0)
		check(strlen(sha) == 40);

	memset(totals, 0, sizeof(totals));
	err[0] = '\0';
	if (plan_history_add_reply(cfg, "P:{rep:r001}:cnt:month:2026-11-01", r,
	    totals, err, sizeof(err)) != 0)
		check(err[0] != '\0');

	err[0] = '\0';
	if (redis_cluster_parse_slots(r, "seed", &ranges, &nranges, err,
	    sizeof(err)) == 0) {
		check(r->type == REDIS_REPLY_ARRAY && nranges <= r->elements);
		for (size_t i = 0; i < nranges; i++)
			check(ranges[i].first >= 0 &&
			    ranges[i].first <= ranges[i].last &&
			    ranges[i].last < REDIS_CLUSTER_SLOTS &&
			    ranges[i].port >= 1 && ranges[i].port <= 65535 &&
			    memchr(ranges[i].host, '\0',
			    sizeof(ranges[i].host)) != NULL);
		free(ranges);
	} else
		check(err[0] != '\0' && ranges == NULL);
	if (r->type == REDIS_REPLY_ERROR &&
	    redis_cluster_redirect(r->str, &ask, &slot, host, sizeof(host),
	    &port) == 0)
		check(slot >= 0 && slot < REDIS_CLUSTER_SLOTS && port >= 1 &&
		    port <= 65535 && strlen(host) > 0);
	if (r->type == REDIS_REPLY_STRING)
		check(redis_cluster_key_slot(r->str, r->len) <
		    REDIS_CLUSTER_SLOTS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, data + size };
	redisReply *r;
	size_t n;

	if (cfg == NULL) {
		char *errs = NULL;

		log_set_level(LOG_LEVEL_ERROR);
		cfg = config_load_buffer("fuzz.yaml", config_yaml,
		    sizeof(config_yaml) - 1, &errs);
		check(cfg != NULL && cfg->nkpis <= 8);
	}
	n = next_byte(&in) % 8;
	r = build(&in, 0);
	feed(r, n);
	/* Every element as a reply of its own: nested shapes too. */
	for (size_t i = 0; i < r->elements; i++)
		feed(r->element[i], n);
	free_tree(r);
	return 0;
}
