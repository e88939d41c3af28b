/*
 * http_route.c: the pure part of dispatching an HTTP request (see
 * http_route.h): path, method, bearer token and query parameters to a
 * route with its parameters or a 4xx with its reason. The order of the
 * checks is the order of the answers: 405 for a method other than GET or
 * HEAD, the unauthenticated routes, 401 under /v1/ without the token,
 * then each route's parameters (400), and 404 for any other path.
 */
#include "http_route.h"

#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

static void
route_error(struct http_request_route *out, int code, const char *msg)
{
	out->route = HTTP_ROUTE_ERROR;
	out->code = code;
	snprintf(out->err, sizeof(out->err), "%s", msg);
}

int
http_query_parse(const char *qs, struct evkeyvalq *q,
    const char *const *allowed, char *err, size_t errlen)
{
	struct evkeyval *kv, *kv2;

	TAILQ_INIT(q);
	if (qs == NULL || *qs == '\0')
		return 0;
	/* evhttp skips a part without '=' and still answers 0 or -1
	 * inconsistently across versions: check every part here. */
	for (const char *p = qs; *p != '\0';) {
		size_t n = strcspn(p, "&");

		if (n == 0 || memchr(p, '=', n) == NULL || *p == '=') {
			snprintf(err, errlen, "malformed query string: every "
			    "part must be name=value");
			return -1;
		}
		p += n;
		if (*p != '\0' && *++p == '\0') {
			snprintf(err, errlen, "malformed query string: every "
			    "part must be name=value");
			return -1;
		}
	}
	if (evhttp_parse_query_str(qs, q) != 0) {
		snprintf(err, errlen, "malformed query string");
		return -1;
	}
	TAILQ_FOREACH(kv, q, next) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(kv->key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(err, errlen, "unknown query parameter %.64s",
			    kv->key);
			return -1;
		}
		for (kv2 = TAILQ_NEXT(kv, next); kv2 != NULL;
		    kv2 = TAILQ_NEXT(kv2, next)) {
			if (strcmp(kv->key, kv2->key) == 0) {
				snprintf(err, errlen, "query parameter %s "
				    "given twice", kv->key);
				return -1;
			}
		}
	}
	return 0;
}

/* Compares in time that depends on the length of the expected token
 * only, not on where the given one first differs. */
static bool
token_equal(const char *given, const char *want)
{
	size_t glen = strlen(given), wlen = strlen(want);
	volatile unsigned char diff = glen != wlen;

	for (size_t i = 0; i < wlen; i++)
		diff |= (unsigned char)(want[i] ^ (i < glen ? given[i] : 0));
	return diff == 0;
}

static bool
authorized(const char *auth, const char *token)
{
	if (token == NULL)
		return true;
	return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
	    token_equal(auth + 7, token);
}

/* "<pre>{id}<post>" with the id percent-decoded (an id may hold '@',
 * which clients encode) and checked against the rep_id rule (which team
 * ids follow too). */
static int
id_from_path(const char *path, const char *pre, const char *post, char *rep,
    size_t replen)
{
	size_t prelen = strlen(pre), postlen = strlen(post);
	size_t plen = strlen(path), seglen;
	char seg[3 * EVENT_REP_MAX + 1], *dec;
	size_t declen = 0;
	int rc = -1;

	if (plen <= prelen + postlen || strncmp(path, pre, prelen) != 0 ||
	    strcmp(path + plen - postlen, post) != 0)
		return -1;
	seglen = plen - prelen - postlen;
	if (seglen >= sizeof(seg))
		return -1;
	memcpy(seg, path + prelen, seglen);
	seg[seglen] = '\0';
	if ((dec = evhttp_uridecode(seg, 0, &declen)) == NULL)
		return -1;
	if (declen >= 1 && declen <= EVENT_REP_MAX && declen < replen &&
	    strspn(dec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._@-") == declen) {
		memcpy(rep, dec, declen + 1);
		rc = 0;
	}
	free(dec);
	return rc;
}

static void
route_alerts(const char *query, struct http_request_route *out)
{
	static const char *const allowed[] = { "status", NULL };
	struct evkeyvalq q;
	const char *status;

	out->route = HTTP_ROUTE_ALERTS;
	if (http_query_parse(query, &q, allowed, out->err,
	    sizeof(out->err)) != 0) {
		out->route = HTTP_ROUTE_ERROR;
		out->code = 400;
	} else if ((status = evhttp_find_header(&q, "status")) != NULL &&
	    strcmp(status, "firing") != 0)
		route_error(out, 400, "status must be firing");
	evhttp_clear_headers(&q);
}

/* ?period=&at= of a scorecard or funnel route (out->route already set). */
static void
route_period_at(const char *query, struct http_request_route *out)
{
	static const char *const allowed[] = { "period", "at", NULL };
	struct evkeyvalq q;
	const char *ps, *at;

	out->period = PERIOD_DAY;
	if (http_query_parse(query, &q, allowed, out->err,
	    sizeof(out->err)) != 0) {
		out->route = HTTP_ROUTE_ERROR;
		out->code = 400;
		goto done;
	}
	ps = evhttp_find_header(&q, "period");
	at = evhttp_find_header(&q, "at");
	if (ps != NULL && caltime_period_parse(ps, &out->period) != 0) {
		route_error(out, 400, "period must be day, week, month or "
		    "quarter");
		goto done;
	}
	if (at != NULL) {
		out->has_at = true;
		if (caltime_parse_rfc3339(at, strlen(at), &out->at_ms) != 0)
			route_error(out, 400, "at must be RFC 3339 with an "
			    "offset");
	}
done:
	evhttp_clear_headers(&q);
}

/* "/v1/contests/{id}" and its limit. */
static void
route_contest(const char *path, const char *query,
    struct http_request_route *out)
{
	static const char *const allowed[] = { "limit", NULL };
	const char *id = path + strlen("/v1/contests/"), *s;
	size_t n = strlen(id);
	struct evkeyvalq q;
	char *end;

	if (n < 1 || n > HTTP_CONTEST_ID_MAX ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		route_error(out, 404, "unknown contest");
		return;
	}
	memcpy(out->contest_id, id, n + 1);
	out->route = HTTP_ROUTE_CONTEST;
	out->limit = HTTP_CONTEST_LIMIT_DEFAULT;
	if (http_query_parse(query, &q, allowed, out->err,
	    sizeof(out->err)) != 0) {
		out->route = HTTP_ROUTE_ERROR;
		out->code = 400;
	} else if ((s = evhttp_find_header(&q, "limit")) != NULL) {
		errno = 0;
		out->limit = strtol(s, &end, 10);
		if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
		    out->limit < 1 || out->limit > HTTP_CONTEST_LIMIT_MAX)
			route_error(out, 400, "limit must be an integer from 1 "
			    "to 10000");
	}
	evhttp_clear_headers(&q);
}

void
http_route(bool get, const char *path, const char *query,
    const char *auth, const char *token, struct http_request_route *out)
{
	memset(out, 0, sizeof(*out));
	if (path == NULL)
		path = "/";
	if (!get)
		route_error(out, 405, "only GET is served");
	else if (strcmp(path, "/healthz") == 0)
		out->route = HTTP_ROUTE_HEALTHZ;
	else if (strcmp(path, "/readyz") == 0)
		out->route = HTTP_ROUTE_READYZ;
	else if (strcmp(path, "/metrics") == 0)
		out->route = HTTP_ROUTE_METRICS;
	else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
	    strncmp(path, "/assets/", 8) == 0)
		out->route = HTTP_ROUTE_DASH;	/* the page's query is its own */
	else if (strncmp(path, "/v1/", 4) == 0 && !authorized(auth, token))
		route_error(out, 401, "missing or wrong bearer token");
	else if (strcmp(path, "/v1/alerts") == 0)
		route_alerts(query, out);
	else if (strcmp(path, "/v1/stream") == 0)
		out->route = HTTP_ROUTE_STREAM;
	else if (strcmp(path, "/v1/org") == 0) {
		if (query != NULL && *query != '\0')
			route_error(out, 400, "/v1/org takes no query parameter");
		else
			out->route = HTTP_ROUTE_ORG;
	}
	else if (strcmp(path, "/v1/contests") == 0) {
		if (query != NULL && *query != '\0')
			route_error(out, 400, "/v1/contests takes no query "
			    "parameter");
		else
			out->route = HTTP_ROUTE_CONTESTS;
	} else if (strncmp(path, "/v1/contests/", 13) == 0)
		route_contest(path, query, out);
	else if (strcmp(path, "/v1/org/funnel") == 0) {
		out->route = HTTP_ROUTE_FUNNEL;
		out->funnel = HTTP_FUNNEL_ORG;
		route_period_at(query, out);
	} else if (id_from_path(path, "/v1/reps/", "/funnel", out->rep_id,
	    sizeof(out->rep_id)) == 0) {
		out->route = HTTP_ROUTE_FUNNEL;
		out->funnel = HTTP_FUNNEL_REP;
		route_period_at(query, out);
	} else if (id_from_path(path, "/v1/teams/", "/funnel", out->rep_id,
	    sizeof(out->rep_id)) == 0) {
		out->route = HTTP_ROUTE_FUNNEL;
		out->funnel = HTTP_FUNNEL_TEAM;
		route_period_at(query, out);
	} else if (id_from_path(path, "/v1/reps/", "/scorecard", out->rep_id,
	    sizeof(out->rep_id)) == 0) {
		out->route = HTTP_ROUTE_SCORECARD;
		route_period_at(query, out);
	}
	else if (strncmp(path, "/v1/leaderboards/", 17) == 0 ||
	    strncmp(path, "/v1/teams/", 10) == 0 ||
	    strncmp(path, "/v1/managers/", 13) == 0)
		out->route = HTTP_ROUTE_BOARDS;
	else
		route_error(out, 404, "no such endpoint");
}
