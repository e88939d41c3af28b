/*
 * pace_write.c: the figures of one judgement into the rep's pace hashes
 * (README "Redis keys": P:{rep:R}:pace:<period>:<date>), one script call
 * per judgement, its JSON written without cJSON (the same text cJSON
 * would print: same keys, same order, same numbers).
 */
#include "pace_write.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <string.h>

#include "jsontext.h"
#include "keys.h"
#include "log.h"
#include "pacing.h"
#include "xmalloc.h"

struct pace_write {
	struct redis_conn *conn;
	int sha;			/* redis_conn script index */
	struct redis_argv *argv;	/* built one call at a time */
	uint64_t gen;			/* failed writes: seeds every sum */
	size_t inflight;		/* writes not answered yet */
	bool orphaned;			/* freed: the last answer frees it */
};

/* KEYS: the pace hashes of one rep; ARGV, per key: its EXPIREAT, its
 * number of fields, then field, value pairs. Expiry is set when a key
 * first appears: HSET then answers that every field is new (a KPI whose
 * target appears sets it again, to the same instant). */
static const char pace_script[] =
	"local a = 1\n"
	"for k = 1, #KEYS do\n"
	"  local n = tonumber(ARGV[a + 1])\n"
	"  if redis.call('HSET', KEYS[k], unpack(ARGV, a + 2, a + 1 + 2 * n)) == n then\n"
	"    redis.call('EXPIREAT', KEYS[k], ARGV[a])\n"
	"  end\n"
	"  a = a + 2 + 2 * n\n"
	"end\n"
	"return 0\n";


/* A write that failed (an error, the connection lost) makes every sum
 * kept by the callers stale: each rep's next figures are written. */
static void
pace_reply(const redisReply *r, void *arg)
{
	struct pace_write *w = arg;

	w->inflight--;
	if (w->orphaned) {
		if (w->inflight == 0)
			free(w);
		return;
	}
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		w->gen++;
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0)
		redis_conn_reset(w->conn, "script missing (NOSCRIPT)");
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static uint64_t
mix_double(uint64_t h, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return mix(h, v);
}

/* A sum of everything a write of cards says (keys, fields, values), in
 * the generation of w; never 0. */
static uint64_t
cards_sum(const struct pace_write *w, const struct config *cfg,
    const struct scorecard *cards)
{
	uint64_t h = mix(0x243f6a8885a308d3ULL, w->gen);

	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &cards[p];

		h = mix(h, ((uint64_t)(uint32_t)card->bucket.start_day << 32) |
		    (uint32_t)card->bucket.end_day);
		for (size_t k = 0; k < cfg->nkpis; k++) {
			const struct scorecard_kpi *sk = &card->kpis[k];
			const struct pacing_figures *f = &sk->fig;

			if (!sk->has_target) {
				h = mix(h, 0);
				continue;
			}
			h = mix(h, 1 | (uint64_t)f->has_pace << 1 |
			    (uint64_t)f->has_projected << 2 |
			    (uint64_t)f->has_required_rate << 3 |
			    (uint64_t)f->status << 8);
			h = mix_double(h, sk->actual);
			h = mix_double(h, f->target);
			h = mix_double(h, f->expected_to_date);
			h = mix_double(h, f->has_pace ? f->pace : 0);
			h = mix_double(h, f->has_projected ? f->projected : 0);
			h = mix_double(h, f->has_required_rate ?
			    f->required_rate : 0);
		}
	}
	return h != 0 ? h : 1;
}

/* Appends "<name>":<number> to a pace figure's JSON text. */
static char *
pace_number(char *o, const char *name, double d)
{
	*o++ = ',';
	*o++ = '"';
	o = stpcpy(o, name);
	*o++ = '"';
	*o++ = ':';
	return o + jsontext_number(o, d);
}

/* One KPI's pace figures as JSON (cJSON's text: same keys, same order,
 * same numbers), written straight into buf. */
static size_t
pace_json(const struct scorecard_kpi *sk, char *buf)
{
	char *o = buf;

	o = stpcpy(o, "{\"actual\":");
	o += jsontext_number(o, sk->actual);
	o = pace_number(o, "target", sk->fig.target);
	o = pace_number(o, "expected_to_date", sk->fig.expected_to_date);
	if (sk->fig.has_pace)
		o = pace_number(o, "pace", sk->fig.pace);
	if (sk->fig.has_projected)
		o = pace_number(o, "projected", sk->fig.projected);
	if (sk->fig.has_required_rate)
		o = pace_number(o, "required_rate", sk->fig.required_rate);
	o = stpcpy(o, ",\"status\":\"");
	o = stpcpy(o, pacing_status_name(sk->fig.status));
	o = stpcpy(o, "\"}");
	return (size_t)(o - buf);
}

#define PACE_JSON_SIZE	(6 * (JSONTEXT_NUMBER_SIZE + 24) + 64)

/* Pace figures for dashboards: one hash per period bucket, all four in
 * one script call, built in one argument vector (the keys first, so the
 * periods with a target are counted before). */
bool
pace_write_send(struct pace_write *w, const struct config *cfg,
    const struct roster_rep *rr, const struct scorecard *cards,
    uint64_t *last)
{
	struct redis_argv *v;
	char json[PACE_JSON_SIZE];
	size_t n[PERIOD_COUNT], nkeys = 0;
	uint64_t sum;

	if (last != NULL) {
		sum = cards_sum(w, cfg, cards);
		if (*last == sum)
			return false;	/* Redis holds these figures */
		*last = sum;
	}

	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &cards[p];

		n[p] = 0;
		for (size_t k = 0; k < cfg->nkpis; k++)
			n[p] += card->kpis[k].has_target;
		nkeys += n[p] > 0;
	}
	if (nkeys == 0)
		return false;
	v = w->argv;
	redis_argv_reset(v);
	redis_argv_str(v, "EVALSHA");
	redis_argv_str(v, redis_conn_script_sha(w->conn, w->sha));
	redis_argv_int(v, (int64_t)nkeys);
	for (int p = 0; p < PERIOD_COUNT; p++)
		if (n[p] > 0)
			redis_argv_take(v, keys_rep_pace(cfg, rr->rep->id,
			    (enum period)p, cards[p].bucket.start_day));
	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &cards[p];

		if (n[p] == 0)
			continue;
		redis_argv_int(v, keys_bucket_expire_at(cfg, (enum period)p,
		    card->bucket.end_day));
		redis_argv_int(v, (int64_t)n[p]);
		for (size_t k = 0; k < cfg->nkpis; k++) {
			const struct scorecard_kpi *sk = &card->kpis[k];

			if (!sk->has_target)
				continue;
			redis_argv_str(v, cfg->kpis[k].name);
			redis_argv_add(v, json, pace_json(sk, json));
		}
	}
	w->inflight++;		/* before: an answer may come at once */
	if (redis_conn_send(w->conn, v, pace_reply, w) != 0) {
		w->inflight--;
		w->gen++;
	}
	return true;
}

struct pace_write *
pace_write_new(struct redis_conn *conn)
{
	struct pace_write *w = xcalloc(1, sizeof(*w));

	w->conn = conn;
	w->sha = redis_conn_add_script(conn, pace_script);
	if (w->sha < 0)
		fatalx("startup_failed", "what=redis_scripts");
	w->argv = redis_argv_new();
	return w;
}

void
pace_write_free(struct pace_write *w)
{
	if (w == NULL)
		return;
	redis_argv_free(w->argv);
	w->argv = NULL;
	if (w->inflight > 0) {	/* the connection answers them later */
		w->orphaned = true;
		return;
	}
	free(w);
}
