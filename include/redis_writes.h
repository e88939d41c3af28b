#ifndef PACED_REDIS_WRITES_H
#define PACED_REDIS_WRITES_H

/*
 * A list of Redis writes that must all be acknowledged: sent, each reply
 * checked, and the whole list sent again (after a backoff) while any
 * reply is an error or lost with the connection. Only for writes that
 * are safe to repeat (absolute: HSET, HDEL, DEL). The alert states of
 * sent alerts go this way, so that what Redis holds matches what the
 * sinks took before the rep is judged again.
 */

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct redis_argv;
struct redis_conn;
struct redis_writes;

/* Called once, when every write of the list was acknowledged (possibly
 * from inside redis_writes_start when the list is empty). */
typedef void redis_writes_done_cb(void *arg);

struct metric;

/* Registers (and returns) the retries counter: call once at start so
 * that it is exported before the first retry. */
struct metric *redis_writes_metrics(void);

/* Borrows base and conn (both must outlive it) and what (copied: names
 * the list in the log, e.g. a rep id). Returns owned; free with
 * redis_writes_free. */
struct redis_writes *redis_writes_new(struct event_base *base,
    struct redis_conn *conn, const char *what);
/* A new, empty command at the end of the list, owned by w: fill it. */
struct redis_argv *redis_writes_add(struct redis_writes *w);
/* Number of commands in the list. */
size_t redis_writes_count(const struct redis_writes *w);
/* Sends the list once and calls tried(arg, ok) when every reply is in
 * (ok: all acknowledged), possibly from inside this call when not
 * connected. No retry. */
typedef void redis_writes_tried_cb(void *arg, bool ok);
void redis_writes_try(struct redis_writes *w, redis_writes_tried_cb *tried,
    void *arg);
/* Sends the list until Redis acknowledged all of it, then done(arg). */
void redis_writes_start(struct redis_writes *w, redis_writes_done_cb *done,
    void *arg);
/* Frees w; with replies still due it is abandoned instead (no retry, no
 * callback) and frees itself on the last one. NULL does nothing. Safe
 * from inside done. */
void redis_writes_free(struct redis_writes *w);

#endif
