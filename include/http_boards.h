#ifndef PACED_HTTP_BOARDS_H
#define PACED_HTTP_BOARDS_H

/*
 * The leaderboard and team routes of the read API:
 * GET /v1/leaderboards/{scope}/{kpi}, GET /v1/leaderboards/{kpi} (read
 * contract v1's form), GET /v1/teams/{team_id}/scorecard and
 * GET /v1/managers/{id}/reps. Answers are asynchronous (Redis) and JSON;
 * errors are {"error": "..."} with a 4xx or 5xx status.
 */

#include <stdbool.h>

#include "config.h"
#include "roster.h"

struct evbuffer;
struct evhttp_request;
struct http_boards;

/* Sends the answer to req: status code, JSON body (borrowed). http.c's,
 * so that every answer is counted and sent one way. */
typedef void http_boards_reply_cb(struct evhttp_request *req, int code,
    struct evbuffer *body, void *arg);
struct owner;
struct read_gate;

/* What the routes read; http.c hands on its own. The config and roster
 * are read through on every request, so a reload is seen at once. */
struct http_boards_deps {
	const struct config *const *cfg;
	const struct roster *const *roster;
	const struct owner *owner;	/* the clock */
	struct read_gate *gate;		/* the API's reads (http.c's) */
	http_boards_reply_cb *reply;
	void *reply_arg;
};

/* Borrows deps' targets. Returns owned; free with http_boards_free. */
struct http_boards *http_boards_new(const struct http_boards_deps *deps);
/* Frees b; requests still waiting for Redis are dropped (evhttp frees
 * them). NULL does nothing. */
void http_boards_free(struct http_boards *b);
/* Answers req when path (borrowed) is one of these routes and returns
 * true; else returns false and leaves req alone. */
bool http_boards_route(struct http_boards *b, struct evhttp_request *req,
    const char *path);

#endif
