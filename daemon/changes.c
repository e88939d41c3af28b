/*
 * changes.c: the messages of the change stream. Rank messages are
 * finished and published by the board script itself (board_redis.c), in
 * the same call as the board write: this module gives them their id and
 * opening. Status messages are published here from each evaluation: the
 * last pace status of each (rep, KPI, period) judged by this process is
 * kept in memory (a hash of rep x KPI x period entries), and a change is
 * one PUBLISH, pipelined on the evaluator's connection (no reply waited
 * for before the next).
 */
#include "changes.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsontext.h"
#include "keys.h"
#include "log.h"
#include "pacing.h"
#include "redis_conn.h"
#include "xmalloc.h"

static uint64_t instance;
static uint64_t seq;

void
changes_next_id(char *buf, size_t len)
{
	if (instance == 0)
		instance = ((uint64_t)caltime_wall_ms() << 16) ^
		    (uint64_t)getpid();
	snprintf(buf, len, "%016" PRIx64 "-%" PRIu64, instance, ++seq);
}

int
changes_id_valid(const char *s)
{
	size_t h = strspn(s, "0123456789abcdef"), d;

	if (h != 16 || s[h] != '-')
		return 0;
	d = strspn(s + h + 1, "0123456789");
	return d >= 1 && d <= 20 && s[h + 1 + d] == '\0';
}

static void
add_common(cJSON *o, const char *type)
{
	char id[CHANGES_ID_SIZE], at[40];

	changes_next_id(id, sizeof(id));
	caltime_format_utc(caltime_wall_ms(), at, sizeof(at));
	cJSON_AddNumberToObject(o, "v", CHANGES_VERSION);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "at", at);
}

/* Appends s as a JSON string (quoted, escaped as cJSON does) to the
 * growing buffer *buf (*len used, *cap allocated). */
static void
put_json_string(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 2 + 6 * strlen(s) + 1;

	if (need > *cap) {
		*cap = need * 2;
		*buf = xrealloc(*buf, *cap);
	}
	(*buf)[(*len)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char *o = *buf + *len;

		if (*p == '"' || *p == '\\') {
			o[0] = '\\';
			o[1] = (char)*p;
			*len += 2;
		} else if (*p < 0x20) {
			static const char hex[] = "0123456789abcdef";

			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			*len += 6;
		} else {
			o[0] = (char)*p;
			*len += 1;
		}
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = '\0';
}

/* Appends the literal text t. */
static void
put_raw(char **buf, size_t *len, size_t *cap, const char *t)
{
	size_t n = strlen(t);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, t, n + 1);
	*len += n;
}

/* Written by hand, not through cJSON: one per board and batch. */
char *
changes_rank_head(const char *scope, const char *kpi, enum period p,
    int32_t start_day)
{
	char id[CHANGES_ID_SIZE], at[40], date[16], v[16];
	size_t len = 0, cap = 256;
	char *s = xmalloc(cap);

	changes_next_id(id, sizeof(id));
	caltime_format_utc(caltime_wall_ms(), at, sizeof(at));
	caltime_format_date(start_day, date, sizeof(date));
	snprintf(v, sizeof(v), "%d", CHANGES_VERSION);
	s[0] = '\0';
	put_raw(&s, &len, &cap, "{\"v\":");
	put_raw(&s, &len, &cap, v);
	put_raw(&s, &len, &cap, ",\"id\":");
	put_json_string(&s, &len, &cap, id);
	put_raw(&s, &len, &cap, ",\"type\":\"rank\",\"at\":");
	put_json_string(&s, &len, &cap, at);
	put_raw(&s, &len, &cap, ",\"scope\":");
	put_json_string(&s, &len, &cap, scope);
	if (strncmp(scope, "team:", 5) == 0) {
		put_raw(&s, &len, &cap, ",\"team\":");
		put_json_string(&s, &len, &cap, scope + 5);
	}
	put_raw(&s, &len, &cap, ",\"kpi\":");
	put_json_string(&s, &len, &cap, kpi);
	put_raw(&s, &len, &cap, ",\"period\":");
	put_json_string(&s, &len, &cap, caltime_period_name(p));
	put_raw(&s, &len, &cap, ",\"date\":");
	put_json_string(&s, &len, &cap, date);
	return s;	/* the script adds "top", "moves" and '}' */
}

struct entry {
	char *key;			/* "<rep>\037<kpi>\037<period>" */
	int status;
	int32_t start_day;
	struct entry *next;
};

struct changes {
	struct entry **tab;
	size_t cap, n;
};

struct changes *
changes_new(void)
{
	struct changes *c = xcalloc(1, sizeof(*c));

	c->cap = 256;
	c->tab = xcalloc(c->cap, sizeof(*c->tab));
	return c;
}

void
changes_free(struct changes *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		struct entry *e, *next;

		for (e = c->tab[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(c->tab);
	free(c);
}

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
grow(struct changes *c)
{
	size_t cap = c->cap * 2;
	struct entry **tab = xcalloc(cap, sizeof(*tab));

	for (size_t i = 0; i < c->cap; i++) {
		struct entry *e, *next;

		for (e = c->tab[i]; e != NULL; e = next) {
			size_t b = fnv(e->key) & (cap - 1);

			next = e->next;
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(c->tab);
	c->tab = tab;
	c->cap = cap;
}

/* The entry of key, made (status -1: not seen yet) when missing. */
static struct entry *
lookup(struct changes *c, const char *key)
{
	size_t b = fnv(key) & (c->cap - 1);
	struct entry *e;

	for (e = c->tab[b]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (c->n + 1 > c->cap) {
		grow(c);
		b = fnv(key) & (c->cap - 1);
	}
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->status = -1;
	e->next = c->tab[b];
	c->tab[b] = e;
	c->n++;
	return e;
}

static void
ignore_reply(const struct redisReply *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
publish(struct redis_conn *conn, const char *channel, cJSON *o)
{
	struct redis_argv *v = redis_argv_new();

	redis_argv_str(v, "PUBLISH");
	redis_argv_str(v, channel);
	redis_argv_take(v, jsontext_take(o));
	/* Lost with the connection: the stream is best effort, the boards
	 * and pace hashes stay the truth. */
	(void)redis_conn_send(conn, v, ignore_reply, NULL);
	redis_argv_free(v);
}

size_t
changes_status(struct changes *c, struct redis_conn *conn,
    const struct config *cfg, const struct roster_rep *rr,
    const struct scorecard *cards)
{
	char *channel = NULL;
	size_t sent = 0;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &cards[p];

		for (size_t k = 0; k < cfg->nkpis; k++) {
			const struct scorecard_kpi *sk = &card->kpis[k];
			char key[256], date[16];
			struct entry *e;
			int old;
			cJSON *o;

			if (!sk->has_target)
				continue;
			snprintf(key, sizeof(key), "%s\037%s\037%d",
			    rr->rep->id, cfg->kpis[k].name, p);
			e = lookup(c, key);
			old = e->status;
			e->status = (int)sk->fig.status;
			e->start_day = card->bucket.start_day;
			if (old < 0 || old == e->status)
				continue;
			if (channel == NULL)
				channel = keys_changes_channel(cfg);
			o = cJSON_CreateObject();
			add_common(o, "status");
			cJSON_AddStringToObject(o, "rep", rr->rep->id);
			cJSON_AddStringToObject(o, "team", rr->team->id);
			cJSON_AddStringToObject(o, "kpi", cfg->kpis[k].name);
			cJSON_AddStringToObject(o, "period",
			    caltime_period_name((enum period)p));
			caltime_format_date(card->bucket.start_day, date,
			    sizeof(date));
			cJSON_AddStringToObject(o, "date", date);
			cJSON_AddStringToObject(o, "old_status",
			    pacing_status_name((enum pacing_status)old));
			cJSON_AddStringToObject(o, "new_status",
			    pacing_status_name(sk->fig.status));
			cJSON_AddNumberToObject(o, "value", sk->actual);
			cJSON_AddNumberToObject(o, "target", sk->fig.target);
			publish(conn, channel, o);
			sent++;
		}
	}
	free(channel);
	return sent;
}
