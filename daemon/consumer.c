/*
 * consumer.c: owns the librdkafka consumer handle. The main queue is
 * forwarded to the consumer queue (rd_kafka_poll_set_consumer) and logs to
 * the main queue (log.queue), so every librdkafka callback runs on the loop
 * thread from rd_kafka_consumer_poll. Eager rebalancing (range/roundrobin)
 * is the default: cooperative-sticky has known bugs in librdkafka 2.0.x.
 *
 * Backpressure never stops the polling for long: rebalances and the
 * max.poll.interval.ms deadline are served from rd_kafka_consumer_poll.
 * When the owner has held messages back for HOLD_PAUSE_MS (a stuck DLQ, a
 * slow Redis, an event-clock boundary), every assigned partition is paused
 * and polling goes on; a message that still arrives waits, in order, with
 * the held ones. Pausing makes librdkafka drop what it prefetched and
 * fetch again from the message after the last one polled, so nothing is
 * skipped. The owner's own pause (consumer_pause_all) and ours are kept
 * apart and applied together.
 *
 * librdkafka orders a partition's operations by a version taken when each
 * is issued, and drops one served after a later one as outdated. The group
 * starts a partition's fetcher from its own thread once the committed
 * offset is known; a pause or resume issued meanwhile from the loop can be
 * served first, and the fetcher's start is then dropped: the partition is
 * assigned and never fetched, with no error (librdkafka 2.0; a test saw it
 * after a resume issued right after an assignment). So a partition is
 * paused only once it has delivered a message (its fetcher runs), one that
 * delivers its first while a pause is wanted is paused then, and a pause is
 * lifted before its partition is given up (librdkafka keeps the flag across
 * unassign and assign), never right after an assignment.
 */
#include "consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "kafka_loop.h"
#include "log.h"
#include "xmalloc.h"

#define DRAIN_MAX	2000	/* messages per callback: keeps callbacks short */
#define HOLD_PAUSE_MS	1000	/* backpressure this long: pause, keep polling */

/* One partition of the current assignment. */
struct cpart {
	int32_t partition;
	bool started;		/* a message of it was polled */
	bool paused;		/* librdkafka was told to pause it */
	int64_t idle_since_ms;	/* its fetch state not "active" since; 0 */
};

struct consumer {
	struct event_base *base;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	rd_kafka_queue_t *close_queue;
	struct consumer_handlers h;
	struct kafka_wake *wake;
	struct event *drain_ev;
	bool closing;
	bool closed_reported;
	/* Polled, not taken yet, oldest first: a ring of nheld from hfirst. */
	rd_kafka_message_t **held;
	size_t nheld, hfirst, hcap;
	bool owner_paused;		/* consumer_pause_all */
	bool hold_paused;		/* ours: backpressure lasted */
	bool applied_paused;		/* pause wanted and applied */
	struct cpart *parts;		/* the current assignment */
	size_t nparts;
	size_t unstarted;		/* of parts: no message polled yet */
	int64_t hold_since_ms;		/* backpressure began; 0: none */
	char *topic;			/* the activity topic */
	int partition_count;		/* -1 unknown */

	/* The first partition count comes from a metadata request on a
	 * thread of its own (rd_kafka_metadata blocks; the statistics that
	 * keep it current arrive only every 5 s). */
	pthread_t md_thread;
	bool md_started;
	atomic_int md_count;
	atomic_bool md_stop;
	int md_pipe[2];
	struct event *md_ev;
};

static void
held_push(struct consumer *c, rd_kafka_message_t *m)
{
	if (c->nheld == c->hcap) {
		size_t ncap = c->hcap ? c->hcap * 2 : 8;
		rd_kafka_message_t **v = xcalloc(ncap, sizeof(*v));

		for (size_t i = 0; i < c->nheld; i++)
			v[i] = c->held[(c->hfirst + i) % c->hcap];
		free(c->held);
		c->held = v;
		c->hcap = ncap;
		c->hfirst = 0;
	}
	c->held[(c->hfirst + c->nheld) % c->hcap] = m;
	c->nheld++;
}

static rd_kafka_message_t *
held_first(const struct consumer *c)
{
	return c->nheld > 0 ? c->held[c->hfirst] : NULL;
}

static void
held_pop(struct consumer *c)
{
	c->hfirst = (c->hfirst + 1) % c->hcap;
	c->nheld--;
}

/* Drops the held messages of partition, keeping the others' order. */
static void
held_drop_partition(struct consumer *c, int32_t partition)
{
	size_t n = c->nheld;

	for (size_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = held_first(c);

		held_pop(c);
		if (m->partition == partition)
			rd_kafka_message_destroy(m);
		else
			held_push(c, m);
	}
}

/* Pauses the started partitions not paused yet, or resumes the paused
 * ones. */
static void
pause_assigned(struct consumer *c, bool pause)
{
	rd_kafka_topic_partition_list_t *l;

	l = rd_kafka_topic_partition_list_new((int)c->nparts);
	for (size_t k = 0; k < c->nparts; k++) {
		struct cpart *p = &c->parts[k];

		if (pause ? p->started && !p->paused : p->paused) {
			rd_kafka_topic_partition_list_add(l, c->topic,
			    p->partition);
			p->paused = pause;
		}
	}
	if (l->cnt > 0) {
		if (pause)
			rd_kafka_pause_partitions(c->rk, l);
		else
			rd_kafka_resume_partitions(c->rk, l);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* The partition of the current assignment, or NULL. */
static struct cpart *
cpart_find(struct consumer *c, int32_t partition)
{
	for (size_t k = 0; k < c->nparts; k++)
		if (c->parts[k].partition == partition)
			return &c->parts[k];
	return NULL;
}

/* A message was polled: its partition's fetcher runs, so it can be paused
 * (at once, if a pause is wanted). */
static void
note_polled(struct consumer *c, const rd_kafka_message_t *m)
{
	struct cpart *p;

	if (c->unstarted == 0 || m->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    (p = cpart_find(c, m->partition)) == NULL || p->started)
		return;
	p->started = true;
	c->unstarted--;
	if (c->applied_paused)
		pause_assigned(c, true);
}

/* Lifts our pause of the partitions given up (librdkafka would keep it for
 * their next assignment) and forgets them. */
static void
forget_assignment(struct consumer *c)
{
	pause_assigned(c, false);
	c->nparts = c->unstarted = 0;
	c->applied_paused = false;
}

/* Tells librdkafka when the owner's pause or ours changed the sum. */
static void
apply_pause(struct consumer *c)
{
	bool want = c->owner_paused || c->hold_paused;

	if (want == c->applied_paused)
		return;
	pause_assigned(c, want);
	c->applied_paused = want;
	log_debug("kafka_pause", "%s paused=%d owner=%d held=%zu", __func__,
	    want, c->owner_paused, c->nheld);
	if (!want)
		consumer_kick(c);
}

/* The owner takes messages again: our pause ends. */
static void
hold_end(struct consumer *c)
{
	c->hold_since_ms = 0;
	if (c->hold_paused) {
		c->hold_paused = false;
		log_info("kafka_hold_resumed", "held=%zu", c->nheld);
		apply_pause(c);
	}
}

/* The owner holds messages back: past HOLD_PAUSE_MS, pause and poll on,
 * so rebalances are served and the group keeps this member. */
static void
hold(struct consumer *c)
{
	rd_kafka_message_t *m;
	int64_t now = caltime_mono_ms();

	if (c->hold_since_ms == 0)
		c->hold_since_ms = now;
	if (!c->hold_paused && now - c->hold_since_ms >= HOLD_PAUSE_MS) {
		c->hold_paused = true;
		log_info("kafka_hold_paused", "held=%zu after_ms=%lld", c->nheld,
		    (long long)(now - c->hold_since_ms));
		apply_pause(c);
	}
	if (!c->hold_paused)
		return;
	/* Callbacks (rebalance, errors, logs) run in here; a message
	 * fetched before the pause took effect waits with the others. */
	while (!c->closing && (m = rd_kafka_consumer_poll(c->rk, 0)) != NULL) {
		note_polled(c, m);
		held_push(c, m);
	}
}

static void
rk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_warnx("kafka_log", "fac=%s msg=%s", fac, log_quote(buf));
	else if (level <= 6)
		log_info("kafka_log", "fac=%s msg=%s", fac, log_quote(buf));
	else
		log_debug("kafka_log", "fac=%s msg=%s", fac, log_quote(buf));
}

static void
rk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[512];

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		/* The owner of the process stops gracefully. */
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		kafka_fatal("consumer", fatal);
		return;
	}
	/* Everything else is transient: librdkafka retries by itself. */
	log_warnx("kafka_error", "code=%s reason=%s",
	    rd_kafka_err2name((rd_kafka_resp_err_t)err), log_quote(reason));
}

/* A partition of the statistics: ours is fetching or not. */
static void
stats_part(int32_t partition, const char *fetch_state, void *arg)
{
	struct cpart *p = cpart_find(arg, partition);

	if (p == NULL)
		return;
	if (strcmp(fetch_state, "active") == 0)
		p->idle_since_ms = 0;
	else if (p->idle_since_ms == 0)
		p->idle_since_ms = caltime_mono_ms();
}

/* librdkafka's statistics carry the partition count of every topic it
 * knows (the only way to learn it without a blocking metadata request)
 * and each assigned partition's fetch state. */
static int
rk_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct consumer *c = opaque;
	int n;

	(void)rk;
	n = kafka_stats_partitions(json, len, c->topic, stats_part, c);
	if (n > 0 && n != c->partition_count) {
		log_info("kafka_partitions", "topic=%s count=%d", c->topic, n);
		c->partition_count = n;
		if (c->h.partitions != NULL)
			c->h.partitions(n, c->h.arg);
	}
	return 0;	/* librdkafka frees json */
}

static void
rk_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct consumer *c = opaque;

	log_info("kafka_rebalance", "what=%s partitions=%d lost=%d",
	    err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "revoke",
	    parts->cnt, rd_kafka_assignment_lost(rk));
	if (c->closing) {
		/* Offsets were stored before closing started. */
		forget_assignment(c);
		rd_kafka_assign(rk, NULL);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
		c->h.assign(parts, c->h.arg);
	else
		c->h.revoke(parts, rd_kafka_assignment_lost(rk) != 0, c->h.arg);
}

static void
drain(struct consumer *c)
{
	int n;

	if (c->closing) {
		rd_kafka_event_t *ev;

		/* Serve the close queue: rebalance events and the end. */
		while ((ev = rd_kafka_queue_poll(c->close_queue, 0)) != NULL) {
			if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
				forget_assignment(c);
				rd_kafka_assign(c->rk, NULL);
			}
			rd_kafka_event_destroy(ev);
		}
		/* Keep serving the consumer queue for logs and errors. */
		rd_kafka_message_t *m;

		while ((m = rd_kafka_consumer_poll(c->rk, 0)) != NULL)
			rd_kafka_message_destroy(m);
		if (rd_kafka_consumer_closed(c->rk) && !c->closed_reported) {
			c->closed_reported = true;
			c->h.closed(c->h.arg);
		}
		return;
	}
	for (n = 0; n < DRAIN_MAX; n++) {
		rd_kafka_message_t *m;

		if (!c->h.accepting(c->h.arg)) {
			hold(c);
			return;
		}
		if ((m = held_first(c)) != NULL) {
			if (!c->h.message(m, c->h.arg)) {
				hold(c);	/* not ready for it yet */
				return;
			}
			held_pop(c);
		} else if ((m = rd_kafka_consumer_poll(c->rk, 0)) == NULL) {
			hold_end(c);
			return;
		} else {
			note_polled(c, m);
			if (!c->h.message(m, c->h.arg)) {
				held_push(c, m);	/* offered again, first */
				hold(c);
				return;
			}
		}
		rd_kafka_message_destroy(m);
		if (c->closing)
			return;
	}
	/* More may be waiting: continue on the next loop turn. */
	hold_end(c);
	event_active(c->drain_ev, EV_TIMEOUT, 0);
}

static void
wake_cb(void *arg)
{
	drain(arg);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

struct consumer *
consumer_new(struct event_base *base, const struct config *cfg,
    const struct consumer_handlers *h, char *err, size_t errlen)
{
	struct consumer *c = xcalloc(1, sizeof(*c));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	c->base = base;
	c->h = *h;
	c->partition_count = -1;
	c->md_pipe[0] = c->md_pipe[1] = -1;
	atomic_init(&c->md_count, 0);
	atomic_init(&c->md_stop, false);
	c->topic = xstrdup(cfg->kafka.topic_activity);
	/* Our defaults first, then the user's properties, then what the
	 * delivery guarantee depends on, which no property may change. */
	if (kafka_conf_set(conf, "partition.assignment.strategy", "range,roundrobin",
	    err, errlen) != 0 ||
	    kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) != 0 ||
	    kafka_conf_set(conf, "log.queue", "true", err, errlen) != 0 ||
	    kafka_conf_set(conf, "statistics.interval.ms", "5000", err, errlen) != 0 ||
	    /* librdkafka's 500 ms: a fetch that a broker holds until then
	     * (the mock cluster's do) put half a second between an event
	     * and its count at a few thousand events a second */
	    kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, errlen) != 0 ||
	    kafka_conf_properties(conf, cfg, false, err, errlen) != 0 ||
	    kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, err, errlen) != 0 ||
	    kafka_conf_set(conf, "group.id", cfg->kafka.group_id, err, errlen) != 0 ||
	    kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) != 0 ||
	    kafka_conf_set(conf, "enable.auto.commit", "true", err, errlen) != 0 ||
	    kafka_conf_set(conf, "enable.partition.eof", "false", err, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		free(c->topic);
		free(c);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_stats_cb(conf, rk_stats_cb);
	rd_kafka_conf_set_log_cb(conf, rk_log_cb);
	rd_kafka_conf_set_error_cb(conf, rk_error_cb);
	rd_kafka_conf_set_rebalance_cb(conf, rk_rebalance_cb);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
	if (c->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		free(c->topic);
		free(c);
		return NULL;
	}
	rd_kafka_set_log_queue(c->rk, NULL);
	rd_kafka_poll_set_consumer(c->rk);
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	c->drain_ev = event_new(base, -1, 0, drain_cb, c);
	if ((c->wake = kafka_wake_new(base, c->queue, 100, wake_cb, c, err,
	    errlen)) == NULL) {
		consumer_free(c);
		return NULL;
	}
	return c;
}

/* Runs on its own thread: asks the brokers for the activity topic's
 * partition count, retrying, then wakes the loop through md_pipe. */
static void *
md_main(void *arg)
{
	struct consumer *c = arg;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
	struct timespec pause = { 0, 250 * 1000 * 1000 };

	while (rkt != NULL && !atomic_load(&c->md_stop)) {
		const struct rd_kafka_metadata *md = NULL;
		int n = 0;

		if (rd_kafka_metadata(c->rk, 0, rkt, &md, 1000) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
		    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
			n = md->topics[0].partition_cnt;
		if (md != NULL)
			rd_kafka_metadata_destroy(md);
		if (n > 0) {
			atomic_store(&c->md_count, n);
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (rkt != NULL)
		rd_kafka_topic_destroy(rkt);
	if (write(c->md_pipe[1], "m", 1) < 0) {
		/* cannot happen with a one-byte write to a fresh pipe */
	}
	return NULL;
}

static void
md_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consumer *c = arg;
	char buf[16];
	int n;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	n = atomic_load(&c->md_count);
	if (n > 0 && c->partition_count <= 0) {
		c->partition_count = n;
		log_info("kafka_partitions", "topic=%s count=%d from=metadata",
		    c->topic, n);
		if (c->h.partitions != NULL)
			c->h.partitions(n, c->h.arg);
		consumer_kick(c);
	}
}

int
consumer_start(struct consumer *c, const struct config *cfg, char *err,
    size_t errlen)
{
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(topics, cfg->kafka.topic_activity,
	    RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(c->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "subscribe %s: %s", cfg->kafka.topic_activity,
		    rd_kafka_err2str(e));
		return -1;
	}
	log_info("kafka_subscribed", "topic=%s group=%s brokers=%s",
	    cfg->kafka.topic_activity, cfg->kafka.group_id, cfg->kafka.brokers);
	if (pipe(c->md_pipe) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(c->md_pipe[0], F_SETFL, fcntl(c->md_pipe[0], F_GETFL) | O_NONBLOCK);
	c->md_ev = event_new(c->base, c->md_pipe[0], EV_READ | EV_PERSIST, md_cb, c);
	event_add(c->md_ev, NULL);
	if (pthread_create(&c->md_thread, NULL, md_main, c) != 0) {
		snprintf(err, errlen, "cannot start the metadata thread");
		return -1;
	}
	c->md_started = true;
	return 0;
}

void
consumer_assign(struct consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_resp_err_t e;

	forget_assignment(c);	/* none after an unassign */
	e = rd_kafka_assign(c->rk, parts);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warnx("kafka_assign_failed", "err=%s", rd_kafka_err2str(e));
	free(c->parts);
	c->parts = xcalloc(parts->cnt > 0 ? (size_t)parts->cnt : 1,
	    sizeof(*c->parts));
	c->nparts = 0;
	for (int k = 0; k < parts->cnt; k++)
		if (strcmp(parts->elems[k].topic, c->topic) == 0)
			c->parts[c->nparts++].partition =
			    parts->elems[k].partition;
	c->unstarted = c->nparts;
	/* No partition is paused before it delivers (see the top); ours
	 * applies as they do. The owner's pause was about the old
	 * assignment. */
	c->owner_paused = false;
	apply_pause(c);
	consumer_kick(c);
}

void
consumer_unassign(struct consumer *c)
{
	rd_kafka_resp_err_t e;

	/* Commit what is stored now; the group may hand these partitions to
	 * another member at once. */
	consumer_drop_held(c);	/* it belongs to a partition we give up */
	forget_assignment(c);
	e = rd_kafka_commit(c->rk, NULL, 1);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
	    e != RD_KAFKA_RESP_ERR__NO_OFFSET)
		log_warnx("kafka_commit_failed", "err=%s", rd_kafka_err2str(e));
	rd_kafka_assign(c->rk, NULL);
	c->owner_paused = false;
	consumer_kick(c);
}

void
consumer_pause_all(struct consumer *c, bool pause)
{
	c->owner_paused = pause;
	apply_pause(c);
	if (!pause)
		consumer_kick(c);
}

bool
consumer_paused(const struct consumer *c)
{
	return c->applied_paused;
}

void
consumer_seek(struct consumer *c, const char *topic, int32_t partition,
    int64_t offset)
{
	const struct cpart *p = cpart_find(c, partition);
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_error_t *e;

	/* Nothing polled from it since its assignment: it starts where it
	 * was assigned, and a seek issued now could be served before the
	 * start of its fetcher and drop it (see the top). */
	if (p != NULL && !p->started) {
		log_debug("kafka_seek_skipped", "partition=%d offset=%lld "
		    "why=\"nothing polled since its assignment\"",
		    (int)partition, (long long)offset);
		return;
	}
	/* Messages held back are from before the new position. */
	held_drop_partition(c, partition);
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
	e = rd_kafka_seek_partitions(c->rk, l, 0);
	if (e != NULL) {
		log_warnx("kafka_seek_failed", "partition=%d offset=%lld err=%s",
		    (int)partition, (long long)offset,
		    log_quote(rd_kafka_error_string(e)));
		rd_kafka_error_destroy(e);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

int
consumer_store(struct consumer *c, const char *topic, int32_t partition,
    int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
	e = rd_kafka_offsets_store(c->rk, l);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err)
		e = l->elems[0].err;
	rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_debug("kafka_store_skipped", "partition=%d err=%s",
		    (int)partition, rd_kafka_err2name(e));
		return -1;
	}
	return 0;
}

void
consumer_kick(struct consumer *c)
{
	event_active(c->drain_ev, EV_TIMEOUT, 0);
}

void
consumer_close(struct consumer *c)
{
	rd_kafka_error_t *e;

	if (c->closing)
		return;
	c->closing = true;
	c->close_queue = rd_kafka_queue_new(c->rk);
	e = rd_kafka_consumer_close_queue(c->rk, c->close_queue);
	if (e != NULL) {
		log_warnx("kafka_close_failed", "err=%s",
		    log_quote(rd_kafka_error_string(e)));
		rd_kafka_error_destroy(e);
	}
	log_info("kafka_closing", "group=%s", "leaving");
	consumer_kick(c);
}

int64_t
consumer_lag(struct consumer *c)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	int64_t lag = 0;

	if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	rd_kafka_position(c->rk, parts);
	for (int i = 0; i < parts->cnt; i++) {
		int64_t lo, hi;

		if (rd_kafka_get_watermark_offsets(c->rk, parts->elems[i].topic,
		    parts->elems[i].partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		    hi < 0)
			continue;
		if (parts->elems[i].offset >= 0)
			lag += hi - parts->elems[i].offset;
		else if (lo >= 0)
			lag += hi - lo;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	return lag;
}

void
consumer_drop_held(struct consumer *c)
{
	rd_kafka_message_t *m;

	while ((m = held_first(c)) != NULL) {
		held_pop(c);
		rd_kafka_message_destroy(m);
	}
}

int
consumer_not_fetching(const struct consumer *c, int64_t min_ms)
{
	int64_t now = caltime_mono_ms();
	int n = 0;

	for (size_t k = 0; k < c->nparts; k++)
		if (c->parts[k].idle_since_ms != 0 &&
		    now - c->parts[k].idle_since_ms >= min_ms)
			n++;
	return n;
}

int
consumer_partition_count(const struct consumer *c)
{
	return c->partition_count;
}

int64_t
consumer_partition_lag(struct consumer *c, int32_t partition, int64_t from)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	int64_t lo, hi, pos, lag = -1;

	rd_kafka_topic_partition_list_add(l, c->topic, partition);
	rd_kafka_position(c->rk, l);
	pos = l->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(l);
	if (rd_kafka_get_watermark_offsets(c->rk, c->topic, partition, &lo, &hi) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
		return -1;		/* no fetch answer yet */
	/* Applied, not merely consumed: a batch still on its way to Redis
	 * is lag, or a rep judged at catch-up would miss its counts. */
	if (from >= 0)
		pos = from;
	if (pos >= 0)
		lag = hi > pos ? hi - pos : 0;
	else if (hi == lo)
		lag = 0;		/* an empty partition */
	return lag;
}

int
consumer_assigned(struct consumer *c)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	int n;

	if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	n = parts->cnt;
	rd_kafka_topic_partition_list_destroy(parts);
	return n;
}

rd_kafka_t *
consumer_handle(struct consumer *c)
{
	return c->rk;
}

void
consumer_free(struct consumer *c)
{
	if (c == NULL)
		return;
	if (c->md_started) {
		atomic_store(&c->md_stop, true);
		pthread_join(c->md_thread, NULL);
	}
	if (c->md_ev != NULL)
		event_free(c->md_ev);
	for (int i = 0; i < 2; i++)
		if (c->md_pipe[i] >= 0)
			close(c->md_pipe[i]);
	consumer_drop_held(c);
	free(c->held);
	free(c->parts);
	kafka_wake_free(c->wake);
	if (c->drain_ev != NULL)
		event_free(c->drain_ev);
	if (c->queue != NULL)
		rd_kafka_queue_destroy(c->queue);
	if (c->close_queue != NULL)
		rd_kafka_queue_destroy(c->close_queue);
	if (c->rk != NULL) {
		/* Closed already, or a forced stop: never block on the group. */
		rd_kafka_destroy_flags(c->rk, c->closed_reported ? 0 :
		    RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	}
	free(c->topic);
	free(c);
}
