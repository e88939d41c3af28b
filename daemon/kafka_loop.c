/*
 * kafka_loop.c: the pieces every librdkafka handle of the daemon needs on
 * the loop: a non-blocking pipe that the queue writes into, the libevent
 * read event that drains it, the poll timer, the walk of a statistics
 * document's partitions, and the one place a fatal client error is
 * reported to.
 */
#include "kafka_loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

static kafka_fatal_cb *fatal_cb;
static void *fatal_arg;

struct kafka_wake {
	rd_kafka_queue_t *queue;
	int pipefd[2];
	struct event *pipe_ev, *tick_ev;
	void (*cb)(void *);
	void *arg;
};

int
kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err,
    size_t errlen)
{
	char e[512];

	if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s: %s", k, e);
		return -1;
	}
	return 0;
}

static bool
consumer_only(const char *key)
{
	static const char *const keys[] = {
		"group.id", "group.instance.id", "partition.assignment.strategy",
		"session.timeout.ms", "heartbeat.interval.ms",
		"group.protocol.type", "coordinator.query.interval.ms",
		"max.poll.interval.ms", "enable.auto.commit",
		"auto.commit.interval.ms", "enable.auto.offset.store",
		"queued.min.messages", "queued.max.messages.kbytes",
		"fetch.wait.max.ms", "fetch.message.max.bytes",
		"max.partition.fetch.bytes", "fetch.max.bytes", "fetch.min.bytes",
		"fetch.error.backoff.ms", "isolation.level", "enable.partition.eof",
		"check.crcs", "auto.offset.reset",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

int
kafka_conf_properties(rd_kafka_conf_t *conf, const struct config *cfg,
    bool for_producer, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const struct config_kv *kv = &cfg->kafka.properties[i];
		char e[512];

		if (for_producer && consumer_only(kv->key))
			continue;
		if (rd_kafka_conf_set(conf, kv->key, kv->value, e, sizeof(e)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "kafka.properties.%s: %s", kv->key, e);
			return -1;
		}
	}
	return 0;
}

static void
pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka_wake *w = arg;
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	w->cb(w->arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka_wake *w = arg;

	(void)fd;
	(void)what;
	w->cb(w->arg);
}

struct kafka_wake *
kafka_wake_new(struct event_base *base, rd_kafka_queue_t *q, int tick_ms,
    void (*cb)(void *), void *arg, char *err, size_t errlen)
{
	struct kafka_wake *w = xcalloc(1, sizeof(*w));
	struct timeval tick = { tick_ms / 1000, (tick_ms % 1000) * 1000 };

	w->queue = q;
	w->cb = cb;
	w->arg = arg;
	if (pipe(w->pipefd) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(w);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(w->pipefd[i], F_SETFL, fcntl(w->pipefd[i], F_GETFL) | O_NONBLOCK);
		fcntl(w->pipefd[i], F_SETFD, FD_CLOEXEC);
	}
	rd_kafka_queue_io_event_enable(q, w->pipefd[1], "1", 1);
	w->pipe_ev = event_new(base, w->pipefd[0], EV_READ | EV_PERSIST, pipe_cb, w);
	w->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, w);
	event_add(w->pipe_ev, NULL);
	event_add(w->tick_ev, &tick);
	return w;
}

void
kafka_wake_free(struct kafka_wake *w)
{
	if (w == NULL)
		return;
	rd_kafka_queue_io_event_enable(w->queue, -1, NULL, 0);
	event_free(w->pipe_ev);
	event_free(w->tick_ev);
	close(w->pipefd[0]);
	close(w->pipefd[1]);
	free(w);
}

void
kafka_set_fatal_cb(kafka_fatal_cb *cb, void *arg)
{
	fatal_cb = cb;
	fatal_arg = arg;
}

void
kafka_fatal(const char *client, const char *reason)
{
	log_error("kafka_fatal", "client=%s err=%s", client, log_quote(reason));
	if (fatal_cb != NULL)
		fatal_cb(client, reason, fatal_arg);
}

int
kafka_stats_partitions(const char *json, size_t len, const char *topic,
    kafka_stats_part_cb *cb, void *arg)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *parts, *p;
	int n = 0;

	if (root == NULL)
		return -1;
	parts = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "topics"), topic),
	    "partitions");
	if (!cJSON_IsObject(parts))
		parts = NULL;
	cJSON_ArrayForEach(p, parts) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(p,
		    "fetch_state");
		char *end;
		long id;

		if (p->string == NULL)
			continue;
		id = strtol(p->string, &end, 10);
		if (end == p->string || *end != '\0' || id < 0 || id > INT32_MAX)
			continue;	/* "-1": messages not assigned yet */
		n++;
		if (cb != NULL)
			cb((int32_t)id, cJSON_IsString(st) ? st->valuestring : "",
			    arg);
	}
	cJSON_Delete(root);
	return n;
}
