#ifndef PACED_SINK_H
#define PACED_SINK_H

/*
 * Alert sinks. The evaluator hands one evaluation's alerts (alert contract
 * v1) to sinks_publish, which fans them out: the Kafka alerts topic
 * (idempotent producer, key = rep_id) and the Redis stream P:alerts
 * (capped) are the durable sinks, and the evaluator stores its alert state
 * only once both accepted; webhooks get a digest per manager with its own
 * retry queue, so a webhook that is down never holds up the others and
 * catches up when it returns.
 */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct event_base;
struct redis_conn;
struct sinks;

/* One alert to publish; every pointer is borrowed for the call. */
struct alert_record {
	const char *alert_id;
	const char *rep_id;
	const char *team_id;
	const char *manager_id;		/* the rep's manager; may be NULL */
	const char *const *notify;	/* manager ids to tell */
	size_t nnotify;
	const char *status;		/* "firing" | "resolved" */
	const char *severity;		/* "warning" | "critical" */
	const char *kpi;
	const char *period;
	const char *message;		/* one human sentence */
	const char *json;		/* the whole alert object, one line */
};

/* status 0: every durable sink accepted every alert; -1: at least one did
 * not (the caller keeps its state and publishes again next time). */
typedef void sinks_done_cb(int status, void *arg);

/* Borrows base, cfg (copied what it needs) and conn. Returns owned (free
 * with sinks_free) or NULL with the reason in err. */
struct sinks *sinks_new(struct event_base *base, const struct config *cfg,
    struct redis_conn *conn, char *err, size_t errlen);
/* Flushes what it can within timeout_ms (blocking: only after the loop
 * stopped) and frees s. NULL does nothing. */
void sinks_free(struct sinks *s, int timeout_ms);
/* Publishes n alerts (borrowed; copied before return). cb is called once,
 * later, never from inside this call. */
void sinks_publish(struct sinks *s, const struct alert_record *alerts,
    size_t n, sinks_done_cb *cb, void *arg);
/* Takes the reloadable parts of cfg (webhooks, stream cap). */
void sinks_set_config(struct sinks *s, const struct config *cfg);

#endif
