#ifndef PACED_HTTP_H
#define PACED_HTTP_H

/*
 * The HTTP endpoint (libevent evhttp): /healthz, /readyz, /metrics and
 * the read API (/v1/reps/{rep_id}/scorecard). Read-only; answers that
 * need Redis are asynchronous, go through their own connection (a few at
 * a time) and are bounded by its watchdog. Connections are capped
 * (http.max_connections), idle ones closed (http.idle_timeout), and
 * accept() errors such as EMFILE pause the listener with a backoff.
 */

#include "config.h"
#include "roster.h"

struct event_base;
struct ingest;
struct owner;
struct redis_conn;
struct http;

/* What the routes read. The config and roster pointers are read through
 * on every request, so a reload is seen at once. */
struct http_deps {
	const struct config *const *cfg;
	const struct roster *const *roster;
	struct ingest *ingest;		/* readiness */
	const struct owner *owner;	/* the clock */
	struct redis_conn *conn;	/* ingest's: /readyz reports it */
	struct redis_conn *reads;	/* the API's reads; NULL: conn */
};

/* Borrows base and deps' targets. Binds cfg's http.listen; returns owned
 * (free with http_free) or NULL with the reason in err. */
struct http *http_new(struct event_base *base, const struct config *cfg,
    const struct http_deps *deps, char *err, size_t errlen);
/* Frees h; NULL does nothing. */
void http_free(struct http *h);

#endif
