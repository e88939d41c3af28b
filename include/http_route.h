#ifndef PACED_HTTP_ROUTE_H
#define PACED_HTTP_ROUTE_H

/*
 * Which route a request goes to and its parameters, from the parts of
 * the request alone (method, path, query string, Authorization header):
 * no connection, config or Redis. http.c dispatches on it; the HTTP
 * fuzzer calls it with any bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "decode.h"

struct evkeyvalq;

enum http_route {
	HTTP_ROUTE_ERROR,		/* answer code with err */
	HTTP_ROUTE_HEALTHZ,
	HTTP_ROUTE_READYZ,
	HTTP_ROUTE_METRICS,
	HTTP_ROUTE_ALERTS,		/* /v1/alerts[?status=firing] */
	HTTP_ROUTE_SCORECARD,		/* /v1/reps/{rep_id}/scorecard */
	HTTP_ROUTE_STREAM,		/* /v1/stream: its query is stream.c's */
	/* /v1/leaderboards/, /v1/teams/, /v1/managers/: the rest of the
	 * path and the query are http_boards.c's */
	HTTP_ROUTE_BOARDS,
	HTTP_ROUTE_DASH,		/* /, /index.html, /assets/{file}: no token */
	HTTP_ROUTE_ORG,			/* /v1/org, no query */
	HTTP_ROUTE_CONTESTS,		/* /v1/contests, no query */
	HTTP_ROUTE_CONTEST,		/* /v1/contests/{id}[?limit=N] */
	/* /v1/reps/{rep_id}/funnel, /v1/teams/{team_id}/funnel,
	 * /v1/org/funnel: scope, rep_id (the id), period and at */
	HTTP_ROUTE_FUNNEL,
};

enum http_funnel_scope { HTTP_FUNNEL_ORG, HTTP_FUNNEL_TEAM, HTTP_FUNNEL_REP };

/* A contest id in a path: 1 to 64 of a-z 0-9 _ - (the config's rule). */
#define HTTP_CONTEST_ID_MAX	64
/* GET /v1/contests/{id}: limit's default and bounds. */
#define HTTP_CONTEST_LIMIT_DEFAULT	100
#define HTTP_CONTEST_LIMIT_MAX		10000

struct http_request_route {
	enum http_route route;
	int code;			/* HTTP_ROUTE_ERROR: 400, 401, 404, 405 */
	char err[160];			/* HTTP_ROUTE_ERROR: the reason */
	/* HTTP_ROUTE_SCORECARD: the percent-decoded id (rep_id rule
	 * checked, not the roster), the period (day when not given) and
	 * at (has_at false: not given, now) */
	char rep_id[EVENT_REP_MAX + 1];
	enum http_funnel_scope funnel;	/* HTTP_ROUTE_FUNNEL: rep_id is the
					 * rep's or team's id (none: org) */
	enum period period;
	bool has_at;
	int64_t at_ms;
	/* HTTP_ROUTE_CONTEST: the id (its charset checked, not the
	 * config) and the limit of standings lines */
	char contest_id[HTTP_CONTEST_ID_MAX + 1];
	long limit;
};

/*
 * Routes a request into out: get is true for GET and HEAD; path and
 * query are the request URI's (NULL: none); auth is the Authorization
 * header (NULL: none); token the bearer token /v1/ requires (NULL: none).
 * Borrows every string.
 */
void http_route(bool get, const char *path, const char *query,
    const char *auth, const char *token, struct http_request_route *out);

/*
 * Parses the query string qs (NULL or empty: no parameter) into q:
 * every part must be name=value with a name from allowed (NULL-ended),
 * each at most once. 0, or -1 with the reason in err; q is initialised
 * either way and the caller clears it (evhttp_clear_headers).
 */
int http_query_parse(const char *qs, struct evkeyvalq *q,
    const char *const *allowed, char *err, size_t errlen);

#endif
