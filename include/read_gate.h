#ifndef PACED_READ_GATE_H
#define PACED_READ_GATE_H

/*
 * A bound on the commands the HTTP API has in flight on its Redis read
 * connection. Every route's reads go through one gate: at most max are
 * sent at once, the rest wait in order, so a burst of requests (however
 * many commands each needs) queues here instead of piling up on the
 * connection past its command timeout, which would drop it for everyone.
 */

#include <stdbool.h>
#include <stddef.h>

#include "redis_conn.h"

struct read_gate;

/* Borrows conn (it must outlive the gate). Returns owned. */
struct read_gate *read_gate_new(struct redis_conn *conn, int max);
/* Frees g: a read still waiting has its callback called with NULL (in
 * order, from here); one already sent gets its callback from the
 * connection as usual. NULL does nothing. */
void read_gate_free(struct read_gate *g);
/* True while the connection is usable. */
bool read_gate_up(const struct read_gate *g);
/*
 * Sends the command v holds (borrowed; copied when it has to wait) or
 * queues it. As redis_conn_send: cb is called exactly once unless this
 * returns -1 (the connection is down), when it is never called; a read
 * still queued when the connection goes down gets NULL.
 */
int read_gate_send(struct read_gate *g, struct redis_argv *v,
    redis_reply_cb *cb, void *arg);
/* Reads sent and not answered yet; reads waiting. */
size_t read_gate_inflight(const struct read_gate *g);
size_t read_gate_queued(const struct read_gate *g);

#endif
