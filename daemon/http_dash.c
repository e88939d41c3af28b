/*
 * http_dash.c: the dashboard. GET / answers the page and GET
 * /assets/{file} its script, styles and icon: the files of daemon/dash/,
 * built into the binary (tools/embed-assets.sh writes their table at build
 * time). Each answer has its content type, an ETag (FNV-1a of the bytes:
 * a binary with other assets has other tags), Cache-Control: no-cache (the
 * browser asks again each time and gets 304 while the tag matches) and a
 * Content-Security-Policy that allows nothing but this origin's script,
 * styles, images and API calls: no inline script, no other host.
 *
 * GET /v1/org answers what the page offers to pick: the teams with the
 * reps the roster puts in them, the KPIs, whether the activity score is
 * configured. It is read from the config and roster at once, no Redis.
 * http.c checks the bearer token before it calls http_dash_org; the page
 * and its assets hold no data and are served without it.
 *
 * Called by http.c's dispatch on the loop, for every request it routes
 * here.
 */
#include "http_dash.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "dash_assets.h"
#include "hash.h"
#include "jsontext.h"
#include "xmalloc.h"

#define ASSETS_PREFIX	"/assets/"

/* default-src 'none' first: whatever is not named below is refused. */
#define DASH_CSP	"default-src 'none'; script-src 'self'; " \
	"style-src 'self'; img-src 'self'; connect-src 'self'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct http_dash {
	struct http_dash_deps deps;
	char (*etag)[24];		/* per dash_assets[i]: "\"<16 hex>\"" */
};

static const char *
content_type(const char *name)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t s = strlen(types[i].suffix);

		if (n > s && strcmp(name + n - s, types[i].suffix) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

static void
reply_json(struct http_dash *d, struct evhttp_request *req, int code,
    cJSON *obj)
{
	struct evbuffer *buf = jsontext_body(obj);

	d->deps.reply(req, code, "application/json", buf, d->deps.reply_arg);
	evbuffer_free(buf);
}

static void
reply_error(struct http_dash *d, struct evhttp_request *req, int code,
    const char *msg)
{
	struct evbuffer *buf = jsontext_error_body(msg);

	d->deps.reply(req, code, "application/json", buf, d->deps.reply_arg);
	evbuffer_free(buf);
}

/* True when If-None-Match (a list of tags, maybe weak, or "*") names
 * etag. */
static bool
etag_matches(const char *inm, const char *etag)
{
	const char *p;
	size_t n = strlen(etag);

	if (inm == NULL)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	for (p = strstr(inm, etag); p != NULL; p = strstr(p + 1, etag))
		if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
			return true;
	return false;
}

static void
send_asset(struct http_dash *d, struct evhttp_request *req, size_t i)
{
	const struct dash_asset *a = &dash_assets[i];
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match");
	struct evbuffer *body = evbuffer_new();
	int code = 200;

	evhttp_add_header(out, "ETag", d->etag[i]);
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "Content-Security-Policy", DASH_CSP);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	if (etag_matches(inm, d->etag[i]))
		code = 304;
	else
		evbuffer_add_reference(body, a->data, a->len, NULL, NULL);
	d->deps.reply(req, code, content_type(a->name), body,
	    d->deps.reply_arg);
	evbuffer_free(body);
}

static ssize_t
asset_find(const char *name)
{
	for (size_t i = 0; i < dash_nassets; i++)
		if (strcmp(dash_assets[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

bool
http_dash_route(struct http_dash *d, struct evhttp_request *req,
    const char *path)
{
	const char *name;
	ssize_t i;

	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		name = "index.html";
	else if (strncmp(path, ASSETS_PREFIX, sizeof(ASSETS_PREFIX) - 1) == 0)
		name = path + sizeof(ASSETS_PREFIX) - 1;
	else
		return false;
	/* The page reads its own query (team, period, tv): any is fine. */
	if ((i = asset_find(name)) < 0) {
		reply_error(d, req, 404, "no such asset");
		return true;
	}
	send_asset(d, req, (size_t)i);
	return true;
}

void
http_dash_org(struct http_dash *d, struct evhttp_request *req)
{
	const struct config *cfg = *d->deps.cfg;
	const struct roster *roster = *d->deps.roster;
	const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	cJSON *o, *teams, *kpis, *periods, **reps;
	size_t n = roster_size(roster);

	if (qs != NULL && *qs != '\0') {
		reply_error(d, req, 400, "/v1/org takes no query parameter");
		return;
	}
	o = cJSON_CreateObject();
	teams = cJSON_AddArrayToObject(o, "teams");
	reps = xcalloc(cfg->nteams + 1, sizeof(*reps));
	for (size_t t = 0; t < cfg->nteams; t++) {
		const struct config_team *ct = &cfg->teams[t];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "team_id", ct->id);
		if (ct->manager != NULL)
			cJSON_AddStringToObject(e, "manager_id", ct->manager);
		else
			cJSON_AddNullToObject(e, "manager_id");
		cJSON_AddStringToObject(e, "timezone", ct->timezone);
		reps[t] = cJSON_AddArrayToObject(e, "reps");
		cJSON_AddItemToArray(teams, e);
	}
	/* The roster is in config order: each team's reps in that order. */
	for (size_t i = 0; i < n; i++) {
		const struct roster_rep *rep = roster_rep_at(roster, i);
		size_t t = (size_t)(rep->team - cfg->teams);

		if (t < cfg->nteams)
			cJSON_AddItemToArray(reps[t],
			    cJSON_CreateString(rep->rep->id));
	}
	free(reps);
	kpis = cJSON_AddArrayToObject(o, "kpis");
	for (size_t k = 0; k < cfg->nkpis; k++) {
		const struct config_kpi *kpi = &cfg->kpis[k];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "kpi", kpi->name);
		cJSON_AddStringToObject(e, "kind",
		    kpi->kind == KPI_LEADING ? "leading" : "lagging");
		cJSON_AddStringToObject(e, "measure",
		    kpi->measure == KPI_MEASURE_AMOUNT ? "amount" : "count");
		cJSON_AddStringToObject(e, "better",
		    kpi->better == KPI_BETTER_LOWER ? "lower" : "higher");
		cJSON_AddItemToArray(kpis, e);
	}
	cJSON_AddBoolToObject(o, "activity_score",
	    cfg->boards.score_weights != NULL);
	periods = cJSON_AddArrayToObject(o, "periods");
	for (int p = PERIOD_DAY; p <= PERIOD_QUARTER; p++)
		cJSON_AddItemToArray(periods, cJSON_CreateString(
		    caltime_period_name((enum period)p)));
	reply_json(d, req, 200, o);
	cJSON_Delete(o);
}

struct http_dash *
http_dash_new(const struct http_dash_deps *deps)
{
	struct http_dash *d = xcalloc(1, sizeof(*d));

	d->deps = *deps;
	d->etag = xcalloc(dash_nassets + 1, sizeof(*d->etag));
	for (size_t i = 0; i < dash_nassets; i++)
		snprintf(d->etag[i], sizeof(d->etag[i]), "\"%016" PRIx64 "\"",
		    hash_fnv1a(HASH_FNV1A_INIT, dash_assets[i].data,
		    dash_assets[i].len));
	return d;
}

void
http_dash_free(struct http_dash *d)
{
	if (d == NULL)
		return;
	free(d->etag);
	free(d);
}
