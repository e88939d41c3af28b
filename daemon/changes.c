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

/*
 * The last status seen, per rep: one entry per rep id (one lookup per
 * evaluation), holding a status per period for each KPI it was judged
 * on. KPIs are named by their index in names[], the KPI names met so
 * far (a reload may reorder or rename them; a name keeps its index).
 */
struct kstat {
	uint16_t name;			/* index into changes.names */
	int8_t status[PERIOD_COUNT];	/* -1: not seen yet */
};

struct entry {
	char *rep;
	struct kstat *k;
	size_t nk;
	struct entry *next;
};

struct changes {
	struct entry **tab;
	size_t cap, n;
	char **names;
	size_t nnames;
	/* map[k]: the names[] index of the config's KPI k (checked by name
	 * at each use: a config may come and go at the same address) */
	uint16_t *map;
	size_t nmap;
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
			free(e->rep);
			free(e->k);
			free(e);
		}
	}
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->map);
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
			size_t b = fnv(e->rep) & (cap - 1);

			next = e->next;
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(c->tab);
	c->tab = tab;
	c->cap = cap;
}

/* The entry of rep, made (nothing seen yet) when missing. */
static struct entry *
lookup(struct changes *c, const char *rep)
{
	size_t b = fnv(rep) & (c->cap - 1);
	struct entry *e;

	for (e = c->tab[b]; e != NULL; e = e->next)
		if (strcmp(e->rep, rep) == 0)
			return e;
	if (c->n + 1 > c->cap) {
		grow(c);
		b = fnv(rep) & (c->cap - 1);
	}
	e = xcalloc(1, sizeof(*e));
	e->rep = xstrdup(rep);
	e->next = c->tab[b];
	c->tab[b] = e;
	c->n++;
	return e;
}

/* The names[] index of cfg's KPI k. */
static uint16_t
name_of(struct changes *c, const struct config *cfg, size_t k)
{
	const char *name = cfg->kpis[k].name;

	if (c->nmap != cfg->nkpis) {
		c->map = xreallocarray(c->map, cfg->nkpis ? cfg->nkpis : 1,
		    sizeof(*c->map));
		for (size_t i = 0; i < cfg->nkpis; i++)
			c->map[i] = UINT16_MAX;
		c->nmap = cfg->nkpis;
	}
	if (c->map[k] != UINT16_MAX && strcmp(c->names[c->map[k]], name) == 0)
		return c->map[k];
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i], name) == 0)
			return c->map[k] = (uint16_t)i;
	c->names = xreallocarray(c->names, c->nnames + 1, sizeof(*c->names));
	c->names[c->nnames] = xstrdup(name);
	return c->map[k] = (uint16_t)c->nnames++;
}

/* The statuses of KPI name in e, made (none seen) when missing. */
static int8_t *
statuses(struct entry *e, uint16_t name)
{
	struct kstat *ks;

	for (size_t i = 0; i < e->nk; i++)
		if (e->k[i].name == name)
			return e->k[i].status;
	e->k = xreallocarray(e->k, e->nk + 1, sizeof(*e->k));
	ks = &e->k[e->nk++];
	ks->name = name;
	memset(ks->status, -1, sizeof(ks->status));
	return ks->status;
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
	struct entry *e = NULL;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		const struct scorecard *card = &cards[p];

		for (size_t k = 0; k < cfg->nkpis; k++) {
			const struct scorecard_kpi *sk = &card->kpis[k];
			char date[16];
			int8_t *st;
			int old;
			cJSON *o;

			if (!sk->has_target)
				continue;
			if (e == NULL)
				e = lookup(c, rr->rep->id);
			st = statuses(e, name_of(c, cfg, k));
			old = st[p];
			st[p] = (int8_t)sk->fig.status;
			if (old < 0 || old == st[p])
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
