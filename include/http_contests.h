#ifndef PACED_HTTP_CONTESTS_H
#define PACED_HTTP_CONTESTS_H

/*
 * The contest routes of the read API: GET /v1/contests (every contest of
 * the config with its state) and GET /v1/contests/{id} (its standings,
 * read from its board in Redis). http_route.c has checked the path and
 * the query; errors are {"error": "..."} with a 4xx or 5xx status.
 */

#include <stddef.h>

#include "config.h"

struct evbuffer;
struct evhttp_request;
struct http_contests;
struct owner;
struct read_gate;

/* Sends the answer to req: status code, JSON body (borrowed). */
typedef void http_contests_reply_cb(struct evhttp_request *req, int code,
    struct evbuffer *body, void *arg);

/* What the routes read; the config is read through on every request. */
struct http_contests_deps {
	const struct config *const *cfg;
	const struct owner *owner;	/* the clock */
	struct read_gate *gate;		/* the API's reads (http.c's) */
	http_contests_reply_cb *reply;
	void *reply_arg;
};

/* Borrows deps' targets. Returns owned; free with http_contests_free. */
struct http_contests *http_contests_new(const struct http_contests_deps *d);
/* Frees hc; requests still waiting for Redis are dropped. NULL: nothing. */
void http_contests_free(struct http_contests *hc);
/* GET /v1/contests: answers req at once. */
void http_contests_list(struct http_contests *hc, struct evhttp_request *req);
/* GET /v1/contests/{id} with at most limit lines: 404 for an id the
 * config does not name, else answered once Redis has. Borrows id. */
void http_contests_one(struct http_contests *hc, struct evhttp_request *req,
    const char *id, size_t limit);

#endif
