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
#include <stdint.h>

#include "config.h"

struct event_base;
struct redis_conn;
struct sinks;
struct sink_kafka;
struct sink_redis;
struct sink_webhook;

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
	const char *superseded_id;	/* the warning a critical replaces;
					 * NULL or "": none */
};

/* status 0: every durable sink accepted every alert (a sink that did not
 * is asked again, for the alerts it lacks, until it does); -1 only when
 * the sinks were freed first (the caller keeps its state). */
typedef void sinks_done_cb(int status, void *arg);

/* Borrows base, cfg (copied what it needs) and conn. Returns owned (free
 * with sinks_free) or NULL with the reason in err. */
struct sinks *sinks_new(struct event_base *base, const struct config *cfg,
    struct redis_conn *conn, char *err, size_t errlen);
/* Flushes what it can within timeout_ms (blocking: only after the loop
 * stopped) and frees s; publishes still pending get cb(-1). NULL does
 * nothing. */
void sinks_free(struct sinks *s, int timeout_ms);
/* Publishes n alerts (borrowed; copied before return). cb is called once,
 * later, never from inside this call. */
void sinks_publish(struct sinks *s, const struct alert_record *alerts,
    size_t n, sinks_done_cb *cb, void *arg);
/*
 * A message that is not an alert (a contest's result, README "Contest
 * result v1"): json goes to the alerts topic (message key: key) and to
 * the Redis stream as an alert does, with id in the alert_id field and
 * kind in the status field; once both accepted, every webhook, digest or
 * not, gets webhook_body as it is. All borrowed (copied). cb as for
 * sinks_publish.
 */
void sinks_announce(struct sinks *s, const char *id, const char *key,
    const char *kind, const char *json, const char *webhook_body,
    sinks_done_cb *cb, void *arg);
/* The evaluator has work (busy) or has nothing queued or in flight any
 * more: a digest goes out once its first alert is 1 s old and the
 * evaluator is idle, or 10 s after its first alert. NULL does nothing. */
void sinks_evaluating(struct sinks *s, bool busy);
/* Takes the reloadable parts of cfg (webhooks, stream cap). */
void sinks_set_config(struct sinks *s, const struct config *cfg);

/*
 * The backends behind sinks_publish, one file each. The durable ones
 * answer once per alert through a sink_result_cb, possibly from inside the
 * send call; sink.c does the bookkeeping and never answers its own caller
 * synchronously. Webhooks hear only of alerts both durable sinks accepted
 * (a backend that refused is asked again for what it lacks), and digests
 * gather the accepted alerts until the evaluator rests (sinks_evaluating),
 * so a manager gets one per evaluation even though the evaluator
 * publishes rep by rep.
 */

/* 0: the backend accepted the alert; -1: it did not. */
typedef void sink_result_cb(int status, void *arg);

/* sink_kafka.c: the alerts topic, key rep_id, headers paced.alert_id and
 * paced.status; accepted = delivery report OK. Borrows base and cfg
 * (copied). Returns owned (free with sink_kafka_free) or NULL with
 * librdkafka's text in err. */
struct sink_kafka *sink_kafka_new(struct event_base *base,
    const struct config *cfg, char *err, size_t errlen);
/* Borrows a (copied); cb is called exactly once. */
void sink_kafka_send(struct sink_kafka *k, const struct alert_record *a,
    sink_result_cb *cb, void *arg);
/* Waits up to timeout_ms for deliveries (blocking: only after the loop
 * stopped), then frees k; pending callbacks are not called. NULL: nothing. */
void sink_kafka_free(struct sink_kafka *k, int timeout_ms);

/* sink_redis.c: XADD P:alerts MAXLEN ~ stream_maxlen through conn
 * (borrowed, must outlive the sink's commands). Borrows cfg (copied). */
struct sink_redis *sink_redis_new(struct redis_conn *conn,
    const struct config *cfg);
/* Takes the stream cap of cfg (borrowed). */
void sink_redis_set_config(struct sink_redis *r, const struct config *cfg);
/* Borrows a (copied); cb is called exactly once (-1 at once when Redis
 * is down). */
void sink_redis_send(struct sink_redis *r, const struct alert_record *a,
    sink_result_cb *cb, void *arg);
/* Frees r; replies still due are dropped without calling their
 * callbacks. NULL does nothing. */
void sink_redis_free(struct sink_redis *r);

/* sink_webhook.c: one HTTP endpoint with its ordered retry queue. index
 * names it in metrics. Borrows base and w (copied). Returns owned (free
 * with sink_webhook_free) or NULL with the reason in err. */
struct sink_webhook *sink_webhook_new(struct event_base *base, int index,
    const struct config_webhook *w, char *err, size_t errlen);
/* The URL it posts to; borrowed. */
const char *sink_webhook_url(const struct sink_webhook *wh);
/* True when it takes one digest per manager, false for one per alert. */
bool sink_webhook_digest(const struct sink_webhook *wh);
/* Takes token, timeout, retries and digest from w (borrowed, copied); the
 * queue is kept. */
void sink_webhook_set_config(struct sink_webhook *wh,
    const struct config_webhook *w);
/* Queues one JSON body (takes ownership) to POST in order. */
void sink_webhook_enqueue(struct sink_webhook *wh, char *body);
/* Bodies queued or in flight. */
size_t sink_webhook_queued(const struct sink_webhook *wh);
/* Frees wh, dropping what is queued. NULL does nothing. */
void sink_webhook_free(struct sink_webhook *wh);

/*
 * The digest bodies of n alerts (borrowed): one per manager named in the
 * alerts' notify lists (the rep's manager_id when notify is empty), in
 * order of first mention: {"text", "manager_id", "alerts"}. Returns their
 * number and *bodies (owned array of owned strings; free each and it).
 */
size_t sink_webhook_digests(const struct alert_record *alerts, size_t n,
    char ***bodies);
/*
 * The same under a per-manager daily budget (budget.h): each manager's
 * digest keeps what budget_take() lets through, with a line (and the
 * fields "held", "held_before") saying what it held; a manager past the
 * limit gets no digest. day_of gives the manager's local day for the
 * first of its alerts. Borrows bud.
 */
struct budget;
struct sink_budget {
	struct budget *budget;
	long max;
	int32_t (*day_of)(void *ctx, const struct alert_record *a);
	void *ctx;
};
size_t sink_webhook_digests_budget(const struct alert_record *alerts,
    size_t n, const struct sink_budget *bud, char ***bodies);
/* One alert's body {"text", "alert"}; borrows a, returns owned. */
char *sink_webhook_single(const struct alert_record *a);
/* Tests only: the retry backoff bounds (default 1 s .. 5 min) and the
 * queue cap (default 10000) of every webhook; 0 restores a default. */
void sink_webhook_set_backoff(long min_ms, long max_ms);
void sink_webhook_set_queue_max(size_t max);

#endif
