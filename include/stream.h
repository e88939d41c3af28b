/*
 * stream.h: the change stream to browsers, GET /v1/stream (Server-Sent
 * Events), fed by a subscription to the changes channel.
 */
#ifndef PACED_STREAM_H
#define PACED_STREAM_H

#include <stddef.h>

#include "config.h"

struct event_base;
struct evhttp_request;
struct evhttp_connection;
struct stream;

/* Borrows base and cfg (read through: reloads); the Redis address, the
 * channel, http.max_streams and http.stream_heartbeat are taken from
 * start, the one config in force then. Subscribes at once and keeps
 * subscribing (1 s apart) while Redis is away. Returns owned. */
struct stream *stream_new(struct event_base *base, const struct config *start,
    const struct config *const *cfg);
/* Frees s; the streams still open must be gone (evhttp_free first). */
void stream_free(struct stream *s);
/*
 * GET /v1/stream: starts the event stream on req and returns 200, or
 * returns the 4xx/5xx status of a request it refuses and writes why into
 * msg (the caller answers it). The caller checked the token.
 */
int stream_open(struct stream *s, struct evhttp_request *req, char *msg,
    size_t msglen);
/* evhttp closes evcon (its close callback): forgets the stream on it. */
void stream_conn_closed(struct stream *s, struct evhttp_connection *evcon);

#endif
