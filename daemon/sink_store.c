/*
 * sink_store.c: what the sinks keep in Redis besides the held digests
 * (sink.c): the budget's counts (P:webhook:budget), written after each
 * digest and read back, a page per call, when a process starts; and the
 * positive news (P:digest:news:<manager>) that digest_run.c reads for a
 * manager's morning summary. Called from sink.c's callbacks; Redis is
 * never waited for (down: counted, kept in memory only).
 */
#include "sink.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "keys.h"
#include "metrics.h"
#include "redis_conn.h"
#include "xmalloc.h"

/* Budget counts live 3 days past their last write. */
#define BUDGET_TTL_S		"259200"
/* Fields read per HSCAN. */
#define RESTORE_COUNT		"100"

/* What Redis callbacks point at: st is NULL once freed. */
struct store_link {
	struct sink_store *st;
	size_t refs;
};

struct sink_store {
	struct redis_conn *conn;
	struct budget *budget;
	const struct config *cfg;
	char *budget_key;
	struct metric *m_fail;
	bool restoring, restored;
	struct store_link *link;
};

static struct store_link *
ref(struct sink_store *st)
{
	st->link->refs++;
	return st->link;
}

static struct sink_store *
unref(struct store_link *l)
{
	struct sink_store *st = l->st;

	if (--l->refs == 0 && st == NULL)
		free(l);
	return st;
}

struct sink_store *
sink_store_new(struct redis_conn *conn, struct budget *bud,
    const struct config *cfg, struct metric *m_fail)
{
	struct sink_store *st = xcalloc(1, sizeof(*st));

	st->conn = conn;
	st->budget = bud;
	st->cfg = cfg;
	st->budget_key = keys_webhook_budget(cfg);
	st->m_fail = m_fail;
	st->link = xcalloc(1, sizeof(*st->link));
	st->link->st = st;
	st->restored = conn == NULL;
	return st;
}

void
sink_store_set_config(struct sink_store *st, const struct config *cfg)
{
	st->cfg = cfg;
}

void
sink_store_free(struct sink_store *st)
{
	if (st == NULL)
		return;
	free(st->budget_key);
	st->link->st = NULL;
	if (st->link->refs == 0)
		free(st->link);
	free(st);
}

static void
written_cb(const struct redisReply *reply, void *arg)
{
	struct sink_store *st = unref(arg);

	if (st != NULL && (reply == NULL || reply->type == REDIS_REPLY_ERROR))
		metrics_inc(st->m_fail);
}

static void
send(struct sink_store *st, struct redis_argv *v)
{
	if (redis_conn_send(st->conn, v, written_cb, ref(st)) != 0) {
		unref(st->link);
		metrics_inc(st->m_fail);
	}
}

void
sink_store_budget_taken(struct sink_store *st, const char *manager)
{
	struct redis_argv *v;
	long used, held, before;
	int32_t day;

	if (st->conn == NULL || !redis_conn_up(st->conn) ||
	    budget_state(st->budget, manager, &day, &used, &held, &before) != 0)
		return;
	v = redis_argv_new();
	redis_argv_str(v, "HSET");
	redis_argv_str(v, st->budget_key);
	redis_argv_str(v, manager != NULL ? manager : "");
	redis_argv_fmt(v, "%ld:%ld:%ld:%ld", (long)day, used, held, before);
	send(st, v);
	redis_argv_reset(v);
	redis_argv_str(v, "EXPIRE");
	redis_argv_str(v, st->budget_key);
	redis_argv_str(v, BUDGET_TTL_S);
	send(st, v);
	redis_argv_free(v);
}

static void restore_page(struct sink_store *st, const char *cursor);

static void
restore_cb(const struct redisReply *reply, void *arg)
{
	struct sink_store *st = unref(arg);
	const struct redisReply *items;

	if (st == NULL)
		return;
	st->restoring = false;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY)
		return;		/* tried again at the next call */
	items = reply->element[1];
	for (size_t i = 0; i + 1 < items->elements; i += 2) {
		const struct redisReply *f = items->element[i];
		const struct redisReply *v = items->element[i + 1];
		long day, used, held, before;
		char *m, buf[96];

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING || v->len >= sizeof(buf)) {
			metrics_inc(st->m_fail);
			continue;
		}
		memcpy(buf, v->str, v->len);
		buf[v->len] = '\0';
		if (sscanf(buf, "%ld:%ld:%ld:%ld", &day, &used, &held,
		    &before) != 4) {
			metrics_inc(st->m_fail);
			continue;
		}
		m = f->len > 0 ? xstrndup(f->str, f->len) : NULL;
		budget_seed(st->budget, m, (int32_t)day, used, held, before);
		free(m);
	}
	if (strcmp(reply->element[0]->str, "0") == 0) {
		st->restored = true;
		return;
	}
	restore_page(st, reply->element[0]->str);
}

static void
restore_page(struct sink_store *st, const char *cursor)
{
	struct redis_argv *v;

	if (st->conn == NULL || st->restoring || !redis_conn_up(st->conn))
		return;
	v = redis_argv_new();
	redis_argv_str(v, "HSCAN");
	redis_argv_str(v, st->budget_key);
	redis_argv_str(v, cursor);
	redis_argv_str(v, "COUNT");
	redis_argv_str(v, RESTORE_COUNT);
	if (redis_conn_send(st->conn, v, restore_cb, ref(st)) == 0)
		st->restoring = true;
	else
		unref(st->link);
	redis_argv_free(v);
}

bool
sink_store_budget_restore(struct sink_store *st)
{
	if (!st->restored)
		restore_page(st, "0");
	return st->restored;
}

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void
sink_store_news(struct sink_store *st, const struct alert_record *a,
    int32_t day)
{
	struct redis_argv *v;
	const char *reason;
	cJSON *o, *n;
	char *key, *val;

	if (st->conn == NULL || a->manager_id == NULL || a->status == NULL ||
	    strcmp(a->status, "resolved") != 0 || a->severity == NULL ||
	    strcmp(a->severity, "critical") != 0 || a->json == NULL ||
	    (o = cJSON_Parse(a->json)) == NULL)
		return;
	reason = jstr(o, "reason");
	if (reason == NULL || strcmp(reason, "recovered") != 0 ||
	    !redis_conn_up(st->conn)) {
		cJSON_Delete(o);
		return;
	}
	n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "kind", "recovered");
	cJSON_AddStringToObject(n, "rep_id", a->rep_id != NULL ? a->rep_id : "");
	cJSON_AddStringToObject(n, "kpi", a->kpi != NULL ? a->kpi : "");
	cJSON_AddStringToObject(n, "period", a->period != NULL ? a->period : "");
	cJSON_AddItemToObject(n, "actual", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(o, "actual"), true));
	cJSON_AddItemToObject(n, "target", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(o, "target"), true));
	cJSON_AddStringToObject(n, "at", jstr(o, "evaluated_at") != NULL ?
	    jstr(o, "evaluated_at") : "");
	val = cJSON_PrintUnformatted(n);
	cJSON_Delete(n);
	cJSON_Delete(o);
	key = keys_digest_news(st->cfg, a->manager_id);
	v = redis_argv_new();
	redis_argv_str(v, "HSET");
	redis_argv_str(v, key);
	redis_argv_str(v, a->alert_id != NULL ? a->alert_id : "");
	redis_argv_str(v, val);
	send(st, v);
	redis_argv_reset(v);
	redis_argv_str(v, "EXPIREAT");
	redis_argv_str(v, key);
	redis_argv_fmt(v, "%lld", (long long)keys_digest_expire_at(day));
	send(st, v);
	redis_argv_free(v);
	free(key);
	free(val);
}
