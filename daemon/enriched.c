/*
 * enriched.c: owns the enriched events producer. The ingest path calls
 * enriched_add for each counted event as it classifies it: the message is
 * formatted at once into an arena, tagged with the batch's seq (the
 * ingest's roster and config may be swapped before the batch is applied).
 * When Redis has applied the batch, enriched_release produces its
 * messages (resend mode: a failed delivery is produced again after a
 * pause, never dropped) and calls back once the broker has them all; the
 * ingest stores no offset before that. A dropped batch is forgotten.
 * A 1 s timer keeps the gauges.
 */
#include "enriched.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "jsonout.h"
#include "log.h"
#include "metrics.h"
#include "producer.h"
#include "xmalloc.h"

/* One formatted message: rep_id (the key) then the value, in the arena. */
struct enriched_item {
	uint64_t seq;
	size_t off;
	uint32_t keylen;
	uint32_t valuelen;
};

/* One released batch, until its last acknowledgement. */
struct enriched_release {
	struct enriched *e;
	size_t remaining;
	void (*done_cb)(void *, int);
	void *done_arg;
	struct enriched_release *next, *prev;
};

struct enriched {
	struct event_base *base;
	struct producer *p;
	char *topic;
	char *arena;
	size_t arena_len, arena_cap;
	struct enriched_item *items;
	size_t nitems, items_cap;
	struct enriched_release *releases;	/* waiting for acknowledgements */
	struct event *gauge_ev;
	struct metric *m_delivered, *m_retried, *m_outstanding, *m_oldest;
};

size_t
enriched_format(const struct enriched_event *ee, char *buf, size_t cap)
{
	const struct activity *ev = ee->ev;
	const struct roster_rep *rr = ee->rep;
	struct jsonout o = { buf, cap, 0 };

	JSONOUT_LIT(&o, "{\"schema\":\"paced.enriched\",\"version\":");
	jsonout_i64(&o, ENRICHED_VERSION);
	JSONOUT_LIT(&o, ",\"event_id\":");
	jsonout_str(&o, ev->event_id);
	JSONOUT_LIT(&o, ",\"rep_id\":");
	jsonout_str(&o, rr->rep->id);
	JSONOUT_LIT(&o, ",\"type\":");
	jsonout_str(&o, ev->type);
	JSONOUT_LIT(&o, ",\"occurred_at\":");
	jsonout_time(&o, ev->occurred_at_ms);
	JSONOUT_LIT(&o, ",\"count\":");
	jsonout_i64(&o, ev->count);
	JSONOUT_LIT(&o, ",\"amount\":");
	if (ev->has_amount)
		jsonout_num(&o, ev->amount);
	else
		JSONOUT_LIT(&o, "null");
	JSONOUT_LIT(&o, ",\"kpis\":[");
	for (size_t k = 0; k < ee->nkpis; k++) {
		if (k > 0)
			jsonout_raw(&o, ",", 1);
		jsonout_str(&o, ee->cfg->kpis[ee->kpis[k]].name);
	}
	JSONOUT_LIT(&o, "],\"team_id\":");
	jsonout_str(&o, rr->team->id);
	JSONOUT_LIT(&o, ",\"manager_id\":");
	jsonout_str(&o, rr->manager);
	JSONOUT_LIT(&o, ",\"role\":");
	jsonout_str(&o, rr->role->name);
	JSONOUT_LIT(&o, ",\"timezone\":");
	jsonout_str(&o, rr->team->timezone);
	JSONOUT_LIT(&o, ",\"local_date\":");
	jsonout_date(&o, ee->local_day);
	JSONOUT_LIT(&o, ",\"buckets\":{");
	for (int p = 0; p < PERIOD_COUNT; p++) {
		struct bucket b;

		caltime_bucket_of_day(&rr->calendar->rules, (enum period)p,
		    ee->local_day, &b);
		if (p > 0)
			jsonout_raw(&o, ",", 1);
		jsonout_str(&o, caltime_period_name((enum period)p));
		jsonout_raw(&o, ":", 1);
		jsonout_date(&o, b.start_day);
	}
	JSONOUT_LIT(&o, "},\"received_at\":");
	jsonout_time(&o, ee->received_ms);
	JSONOUT_LIT(&o, ",\"source\":{\"topic\":");
	jsonout_str(&o, ee->topic);
	JSONOUT_LIT(&o, ",\"partition\":");
	jsonout_i64(&o, ee->partition);
	JSONOUT_LIT(&o, ",\"offset\":");
	jsonout_i64(&o, ee->offset);
	JSONOUT_LIT(&o, "}}");
	return o.len;
}

/* ---- gauges and reports ---- */

static void
update_gauges(struct enriched *e)
{
	metrics_set(e->m_outstanding, producer_outstanding(e->p));
	metrics_set(e->m_oldest, (double)producer_oldest_ms(e->p) / 1000.0);
}

static void
gauge_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	update_gauges(arg);
}

static void
release_unlink(struct enriched *e, struct enriched_release *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		e->releases = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
}

/* Tells the owner and frees r. */
static void
release_finish(struct enriched_release *r, int status)
{
	void (*cb)(void *, int) = r->done_cb;
	void *arg = r->done_arg;

	release_unlink(r->e, r);
	free(r);
	cb(arg, status);
}

static void
report_cb(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct enriched *e = arg;
	struct enriched_release *r = opaque;

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* The producer keeps it and produces it again. */
		metrics_inc(e->m_retried);
		return;
	}
	metrics_inc(e->m_delivered);
	if (--r->remaining == 0)
		release_finish(r, 0);
}

/* ---- the batches' messages ---- */

void
enriched_add(struct enriched *e, uint64_t seq, const struct enriched_event *ev)
{
	const char *rep = ev->rep->rep->id;
	size_t keylen = ev->rep->id_len, need, len;
	struct enriched_item *it;

	for (need = 1024;; need = len + 1) {
		if (e->arena_cap - e->arena_len < keylen + need) {
			while (e->arena_cap - e->arena_len < keylen + need)
				e->arena_cap = e->arena_cap ? e->arena_cap * 2 :
				    65536;
			e->arena = xrealloc(e->arena, e->arena_cap);
		}
		len = enriched_format(ev, e->arena + e->arena_len + keylen,
		    need);
		if (len < need)
			break;
	}
	if (e->nitems == e->items_cap) {
		e->items_cap = e->items_cap ? e->items_cap * 2 : 256;
		e->items = xreallocarray(e->items, e->items_cap,
		    sizeof(*e->items));
	}
	memcpy(e->arena + e->arena_len, rep, keylen);
	it = &e->items[e->nitems++];
	it->seq = seq;
	it->off = e->arena_len;
	it->keylen = (uint32_t)keylen;
	it->valuelen = (uint32_t)len;
	e->arena_len += keylen + len;
}

/* Drops the items [0, n): the arena and the list move down. */
static void
drop_front(struct enriched *e, size_t n)
{
	size_t cut;

	if (n == 0)
		return;
	if (n == e->nitems) {
		e->nitems = 0;
		e->arena_len = 0;
		return;
	}
	cut = e->items[n].off;
	memmove(e->arena, e->arena + cut, e->arena_len - cut);
	e->arena_len -= cut;
	memmove(e->items, e->items + n, (e->nitems - n) * sizeof(*e->items));
	e->nitems -= n;
	for (size_t k = 0; k < e->nitems; k++)
		e->items[k].off -= cut;
}

bool
enriched_release(struct enriched *e, uint64_t seq,
    void (*done_cb)(void *, int), void *done_arg)
{
	struct enriched_release *r;
	size_t first = 0, end;

	/* Items are in seq order: older ones belong to batches dropped. */
	while (first < e->nitems && e->items[first].seq < seq)
		first++;
	for (end = first; end < e->nitems && e->items[end].seq == seq; end++)
		;
	if (end == first) {
		drop_front(e, first);
		return false;
	}
	r = xcalloc(1, sizeof(*r));
	r->e = e;
	r->remaining = end - first;
	r->done_cb = done_cb;
	r->done_arg = done_arg;
	r->next = e->releases;
	if (r->next != NULL)
		r->next->prev = r;
	e->releases = r;
	for (size_t k = first; k < end; k++) {
		const struct enriched_item *it = &e->items[k];
		struct producer_msg m = {
			.topic = e->topic,
			.key = e->arena + it->off,
			.keylen = it->keylen,
			.value = e->arena + it->off + it->keylen,
			.valuelen = it->valuelen,
		};

		/* Resend mode: always 0; the report comes later. */
		(void)producer_send(e->p, &m, r);
	}
	drop_front(e, end);
	update_gauges(e);
	return true;
}

void
enriched_forget(struct enriched *e, uint64_t seq)
{
	size_t k, w = 0, cut_len = 0;

	/* Rare (a failed batch): compact in place. */
	for (k = 0; k < e->nitems; k++) {
		struct enriched_item it = e->items[k];
		size_t n = it.keylen + it.valuelen;

		if (it.seq == seq) {
			cut_len += n;
			continue;
		}
		if (cut_len > 0)
			memmove(e->arena + it.off - cut_len, e->arena + it.off,
			    n);
		it.off -= cut_len;
		e->items[w++] = it;
	}
	e->nitems = w;
	e->arena_len -= cut_len;
}

int
enriched_outstanding(const struct enriched *e)
{
	return producer_outstanding(e->p);
}

struct enriched *
enriched_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	struct enriched *e = xcalloc(1, sizeof(*e));
	struct producer_opts o = {
		.name = "enriched",
		/* 0: librdkafka retries until delivered; the resend queue
		 * covers the permanent errors. A message is a few hundred
		 * bytes: none is ever too large. */
		.message_timeout_ms = 0,
		.resend = true,
		.cut_header = NULL,
		.cb = report_cb,
		.arg = e,
	};
	static const char help[] = "Messages produced to the enriched events topic";
	struct timeval sec = { 1, 0 };

	e->base = base;
	if ((e->p = producer_new(base, cfg, &o, err, errlen)) == NULL) {
		free(e);
		return NULL;
	}
	e->topic = xstrdup(cfg->kafka.topic_enriched);
	e->m_delivered = metrics_counter("paced_enriched_messages_total",
	    "result=\"delivered\"", help);
	e->m_retried = metrics_counter("paced_enriched_messages_total",
	    "result=\"retried\"", help);
	e->m_outstanding = metrics_gauge("paced_enriched_outstanding", NULL,
	    "Messages produced to the enriched events topic and not yet "
	    "acknowledged");
	e->m_oldest = metrics_gauge("paced_enriched_oldest_seconds", NULL,
	    "How long the oldest unacknowledged enriched message has waited");
	e->gauge_ev = event_new(base, -1, EV_PERSIST, gauge_cb, e);
	event_add(e->gauge_ev, &sec);
	log_info("enriched_ready", "topic=%s version=%d", e->topic,
	    ENRICHED_VERSION);
	return e;
}

void
enriched_free(struct enriched *e, int timeout_ms)
{
	if (e == NULL)
		return;
	if (e->gauge_ev != NULL)
		event_free(e->gauge_ev);
	/* Reports served while it flushes may finish releases. */
	producer_free(e->p, timeout_ms);
	while (e->releases != NULL)
		release_finish(e->releases, -1);
	free(e->topic);
	free(e->arena);
	free(e->items);
	free(e);
}
