/*
 * http_contests.c: GET /v1/contests and GET /v1/contests/{id}. The list
 * comes from the config alone; one contest's standings take three reads
 * on the API's connection (its board, its finishes, its result marker),
 * sent together and answered once all three are in. Every member of the
 * contest is in the standings, 0 when Redis has nothing for it; ranks and
 * ties as on the leaderboards (contest.c).
 *
 * A reload may swap the config while a request waits: the request then
 * answers 503 (retry) rather than rank one config's members with
 * another's.
 *
 * Reads go through http.c's read gate (read_gate.h), with every other
 * route's; api_read.c carries a request from its reads to its answer.
 */
#include "http_contests.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "api_read.h"
#include "caltime.h"
#include "contest.h"
#include "contest_redis.h"
#include "jsontext.h"
#include "keys.h"
#include "owner.h"
#include "read_gate.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define NREADS	3	/* board, reached, result marker */

struct creq {
	struct api_read ar;		/* first: the reads' life */
	struct http_contests *hc;	/* valid until ar is orphaned */
	struct evhttp_request *req;
	const struct config *cfg;	/* as at the request */
	char id[80];
	size_t limit;
	int64_t now_ms;
	redisReply *got[NREADS];	/* owned copies of the answers */
};

struct http_contests {
	struct http_contests_deps d;
	struct api_read_list waiting;
};

static void
reply_json(struct http_contests *hc, struct evhttp_request *req, int code,
    cJSON *obj)
{
	struct evbuffer *buf = jsontext_body(obj);

	hc->d.reply(req, code, buf, hc->d.reply_arg);
	evbuffer_free(buf);
}

static void
reply_error(struct http_contests *hc, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *buf = jsontext_error_body(msg);

	hc->d.reply(req, code, buf, hc->d.reply_arg);
	evbuffer_free(buf);
}

void
http_contests_list(struct http_contests *hc, struct evhttp_request *req)
{
	const struct config *cfg = *hc->d.cfg;
	int64_t now = clock_now(owner_clock(hc->d.owner));
	cJSON *o = cJSON_CreateObject(), *list;
	char ts[40];

	caltime_format_local(now, 0, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "at", ts);
	list = cJSON_AddArrayToObject(o, "contests");
	for (size_t i = 0; i < cfg->ncontests; i++) {
		cJSON *x = cJSON_CreateObject();

		contest_describe(cfg, &cfg->contests[i], now, x);
		cJSON_AddItemToArray(list, x);
	}
	reply_json(hc, req, 200, o);
	cJSON_Delete(o);
}

/* A copy of the parts of reply r this file reads (strings, integers,
 * arrays of them), owned. hiredis frees r once the callback returns. */
static redisReply *
copy_reply(const redisReply *r)
{
	redisReply *c = xcalloc(1, sizeof(*c));

	c->type = r->type;
	c->integer = r->integer;
	if (r->str != NULL) {
		c->str = xmalloc(r->len + 1);
		memcpy(c->str, r->str, r->len);
		c->str[r->len] = '\0';
		c->len = r->len;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		c->element = xcalloc(r->elements, sizeof(*c->element));
		c->elements = r->elements;
		for (size_t i = 0; i < r->elements; i++)
			c->element[i] = copy_reply(r->element[i]);
	}
	return c;
}

static void
copy_free(redisReply *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->elements; i++)
		copy_free(c->element[i]);
	free(c->element);
	free(c->str);
	free(c);
}

static void
creq_free(struct creq *q)
{
	for (int i = 0; i < NREADS; i++)
		copy_free(q->got[i]);
	free(q);
}

static void
answer(struct creq *q)
{
	struct http_contests *hc = q->hc;
	const struct config *cfg = q->cfg;
	const struct config_contest *ct = contest_find(cfg, q->id);
	struct contest_line *lines;
	const redisReply *st = q->got[2];
	cJSON *o;

	lines = xcalloc(ct->nmembers + 1, sizeof(*lines));
	if (contest_redis_lines(cfg, ct, q->got[0], q->got[1], lines) != 0 ||
	    (st->type != REDIS_REPLY_NIL && st->type != REDIS_REPLY_STRING)) {
		free(lines);
		reply_error(hc, q->req, 502, "unexpected reply from Redis");
		return;
	}
	contest_rank(cfg, ct, lines, ct->nmembers);
	o = cJSON_CreateObject();
	contest_describe(cfg, ct, q->now_ms, o);
	if (st->type == REDIS_REPLY_STRING)
		cJSON_AddStringToObject(o, "result", st->str);
	else
		cJSON_AddNullToObject(o, "result");
	cJSON_AddNumberToObject(o, "size", (double)ct->nmembers);
	cJSON_AddItemToObject(o, "entries", contest_standings(cfg, ct, lines,
	    ct->nmembers, q->limit));
	reply_json(hc, q->req, 200, o);
	cJSON_Delete(o);
	free(lines);
}

static bool
ar_take(struct api_read *ar, void *cmd, const redisReply *r)
{
	(void)ar;
	*(redisReply **)cmd = copy_reply(r);
	return true;
}

static bool
ar_reloaded(const struct api_read *ar)
{
	const struct creq *q = (const struct creq *)ar;

	return *q->hc->d.cfg != q->cfg;
}

static void
ar_answer(struct api_read *ar)
{
	answer((struct creq *)ar);
}

static void
ar_error(struct api_read *ar, int code, const char *msg)
{
	struct creq *q = (struct creq *)ar;

	reply_error(q->hc, q->req, code, msg);
}

static void
ar_free(struct api_read *ar)
{
	creq_free((struct creq *)ar);
}

static const struct api_read_ops creq_ops = {
	ar_take, ar_reloaded, ar_answer, ar_error, ar_free
};

void
http_contests_one(struct http_contests *hc, struct evhttp_request *req,
    const char *id, size_t limit)
{
	const struct config *cfg = *hc->d.cfg;
	struct redis_argv *v;
	struct creq *q;

	if (contest_find(cfg, id) == NULL) {
		reply_error(hc, req, 404, "unknown contest");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->hc = hc;
	q->req = req;
	q->cfg = cfg;
	q->limit = limit;
	q->now_ms = clock_now(owner_clock(hc->d.owner));
	snprintf(q->id, sizeof(q->id), "%s", id);
	if (!read_gate_up(hc->d.gate)) {
		reply_error(hc, req, 503, "redis unavailable");
		creq_free(q);
		return;
	}
	api_read_begin(&q->ar, &creq_ops, &hc->waiting);
	v = redis_argv_new();
	for (int i = 0; i < NREADS; i++) {
		redis_argv_reset(v);
		if (i == 0) {
			redis_argv_str(v, "ZRANGE");
			redis_argv_take(v, keys_contest_board(cfg, id));
			redis_argv_str(v, "0");
			redis_argv_str(v, "-1");
			redis_argv_str(v, "WITHSCORES");
		} else if (i == 1) {
			redis_argv_str(v, "HGETALL");
			redis_argv_take(v, keys_contest_reached(cfg, id));
		} else {
			redis_argv_str(v, "HGET");
			redis_argv_take(v, keys_contest_result(cfg, id));
			redis_argv_str(v, "state");
		}
		api_read_send(&q->ar, hc->d.gate, v, &q->got[i]);
	}
	redis_argv_free(v);
	api_read_end(&q->ar);
}

struct http_contests *
http_contests_new(const struct http_contests_deps *d)
{
	struct http_contests *hc = xcalloc(1, sizeof(*hc));

	hc->d = *d;
	TAILQ_INIT(&hc->waiting);
	return hc;
}

void
http_contests_free(struct http_contests *hc)
{
	if (hc == NULL)
		return;
	/* The replies still to come free what they hold. */
	api_read_orphan_all(&hc->waiting);
	free(hc);
}
