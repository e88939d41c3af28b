#ifndef PACED_HTTP_DASH_H
#define PACED_HTTP_DASH_H

/*
 * The dashboard: GET / (the page), GET /assets/{file} (its script, styles
 * and icon, built into the binary from daemon/dash/) and GET /v1/org (the
 * teams, reps and KPIs the page offers). The page and its assets need no
 * token; /v1/org is part of the API and sits behind it like the rest of
 * /v1/ (http.c checks the token before calling http_dash_org).
 */

#include <stdbool.h>

#include "config.h"
#include "roster.h"

struct evbuffer;
struct evhttp_request;
struct http_dash;

/* Sends the answer to req: status code, content type and body (both
 * borrowed). http.c's, so that every answer is counted and sent one way. */
typedef void http_dash_reply_cb(struct evhttp_request *req, int code,
    const char *ctype, struct evbuffer *body, void *arg);

/* What the routes read. The config and roster are read through on every
 * request, so a reload is seen at once. */
struct http_dash_deps {
	const struct config *const *cfg;
	const struct roster *const *roster;
	http_dash_reply_cb *reply;
	void *reply_arg;
};

/* Borrows deps' targets. Returns owned; free with http_dash_free. */
struct http_dash *http_dash_new(const struct http_dash_deps *deps);
/* Frees d; NULL does nothing. */
void http_dash_free(struct http_dash *d);
/* Answers req when path (borrowed) is the page or one of its assets and
 * returns true; else returns false and leaves req alone. */
bool http_dash_route(struct http_dash *d, struct evhttp_request *req,
    const char *path);
/* Answers GET /v1/org on req. */
void http_dash_org(struct http_dash *d, struct evhttp_request *req);

#endif
