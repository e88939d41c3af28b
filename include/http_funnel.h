#ifndef PACED_HTTP_FUNNEL_H
#define PACED_HTTP_FUNNEL_H

/*
 * The funnel routes of the read API: GET /v1/reps/{rep_id}/funnel,
 * GET /v1/teams/{team_id}/funnel and GET /v1/org/funnel: conversion
 * rates over the rolling window and in the ?period= bucket, the coaching
 * flags and the activity-based forecast. Answers are asynchronous (Redis,
 * through the API's read gate) and JSON; errors are {"error": "..."} with
 * a 4xx or 5xx status.
 */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "http_route.h"
#include "roster.h"

struct evbuffer;
struct evhttp_request;
struct http_funnel;
struct owner;
struct read_gate;

/* Sends the answer to req: status code, JSON body (borrowed). */
typedef void http_funnel_reply_cb(struct evhttp_request *req, int code,
    struct evbuffer *body, void *arg);

/* What the routes read; http.c hands on its own. The config and roster
 * are read through on every request, so a reload is seen at once. */
struct http_funnel_deps {
	const struct config *const *cfg;
	const struct roster *const *roster;
	const struct owner *owner;	/* the clock */
	struct read_gate *gate;		/* the API's reads (http.c's) */
	http_funnel_reply_cb *reply;
	void *reply_arg;
};

/* Borrows deps' targets. Returns owned; free with http_funnel_free. */
struct http_funnel *http_funnel_new(const struct http_funnel_deps *deps);
/* Frees f; requests still waiting for Redis are dropped (evhttp frees
 * them). NULL does nothing. */
void http_funnel_free(struct http_funnel *f);
/* Answers req, routed by http_route() to HTTP_ROUTE_FUNNEL (rt
 * borrowed). */
void http_funnel_route(struct http_funnel *f, struct evhttp_request *req,
    const struct http_request_route *rt);

#endif
