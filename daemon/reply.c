/*
 * reply.c: shape checks and parsers of the Redis replies the daemon reads
 * (see reply.h). hiredis gives every string, status and error reply a
 * NUL-terminated str with its len, and every array its elements; nothing
 * else about a reply is taken for granted here.
 */
#include "reply.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evaluate.h"
#include "jsontext.h"
#include "log.h"

const char *
reply_error_text(const redisReply *r)
{
	if (r == NULL)
		return "no reply (connection lost or timed out)";
	if (r->type == REDIS_REPLY_ERROR)
		return r->str != NULL ? r->str : "error";
	return NULL;
}

bool
reply_noscript(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

int
reply_hash(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return -1;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i] == NULL ||
		    r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i]->str == NULL)
			return -1;
	return 0;
}

int
reply_counter_values(const struct config *cfg, const redisReply *r,
    double *actual)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != cfg->nkpis)
		return -1;
	for (size_t k = 0; k < r->elements; k++) {
		const redisReply *v = r->element[k];

		if (v == NULL || (v->type != REDIS_REPLY_NIL &&
		    (v->type != REDIS_REPLY_STRING || v->str == NULL)))
			return -1;
	}
	for (size_t k = 0; k < r->elements; k++)
		if (r->element[k]->type == REDIS_REPLY_STRING)
			actual[k] = jsontext_strtod(r->element[k]->str);
	return 0;
}

int
reply_eval_states(const struct config *cfg, const redisReply *r,
    const char *evaluated_at, struct eval_state *prev, int64_t *last_at)
{
	if (reply_hash(r) != 0)
		return -1;
	for (size_t i = 0; i < r->elements; i += 2) {
		const char *f = r->element[i]->str;
		const char *v = r->element[i + 1]->str;
		size_t vl = r->element[i + 1]->len;

		if (strcmp(f, evaluated_at) == 0) {
			*last_at = strtoll(v, NULL, 10);
			continue;
		}
		/* "<kpi>:<period>", as evaluate_field writes it; KPI names
		 * hold no ':' */
		{
			const char *colon = strrchr(f, ':');
			char name[EVAL_FIELD_SIZE];
			enum period p;
			int k;

			if (colon == NULL ||
			    (size_t)(colon - f) >= sizeof(name) ||
			    caltime_period_parse(colon + 1, &p) != 0)
				continue;
			memcpy(name, f, (size_t)(colon - f));
			name[colon - f] = '\0';
			if ((k = config_kpi_index(cfg, name)) < 0)
				continue;
			if (eval_state_parse_brief(v, vl,
			    &prev[(size_t)k * PERIOD_COUNT + (size_t)p]) != 0)
				log_warnx("alert_state_unreadable",
				    "field=%s", log_quote(f));
		}
	}
	return 0;
}

int
reply_int64s(const redisReply *r, size_t n, int64_t *out, bool *present)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const redisReply *v = r->element[i];

		if (v == NULL || v->type != REDIS_REPLY_STRING ||
		    v->str == NULL)
			continue;
		out[i] = strtoll(v->str, NULL, 10);
		if (present != NULL)
			present[i] = true;
	}
	return 0;
}

static bool
is_integer(const redisReply *v)
{
	return v != NULL && v->type == REDIS_REPLY_INTEGER;
}

int
reply_shard_script(const redisReply *r, size_t n)
{
	const redisReply *bad;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
	    !is_integer(r->element[0]) || !is_integer(r->element[1]) ||
	    !is_integer(r->element[3]))
		return -1;
	bad = r->element[2];
	if (bad == NULL || bad->type != REDIS_REPLY_ARRAY)
		return -1;
	for (size_t i = 0; i < bad->elements; i++)
		if (!is_integer(bad->element[i]))
			return -1;
	if (bad->elements > 0)
		return 0;
	if (r->elements - 4 != n)
		return -1;
	for (size_t i = 4; i < r->elements; i++) {
		const redisReply *v = r->element[i];

		if (v == NULL || (v->type != REDIS_REPLY_INTEGER &&
		    v->type != REDIS_REPLY_NIL &&
		    (v->type != REDIS_REPLY_STRING || v->str == NULL)))
			return -1;
	}
	return 0;
}

int
reply_sha1(const redisReply *r, char *sha)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->str == NULL ||
	    r->len != 40 || strspn(r->str, "0123456789abcdef") != 40)
		return -1;
	memcpy(sha, r->str, 40);
	sha[40] = '\0';
	return 0;
}
