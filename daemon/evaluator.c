/*
 * evaluator.c: drives evaluate_rep() on the loop. A job is one rep at one
 * instant: read its counters for the four buckets holding the instant and
 * its alert states (one script call); if a state fires in a bucket
 * that has ended, read that bucket's counter too (a second round trip,
 * only then: the period_ended message carries the bucket's final count);
 * evaluate, write the pace figures for dashboards (pace_write.c),
 * publish the alerts, and store the changed states once the durable sinks
 * accepted them. A job that published holds its rep until Redis has
 * acknowledged every write of those states, sending them again (they are
 * absolute: HSET, HDEL) after a connection lost or an error: the next
 * evaluation of the rep must read the states that match what was sent,
 * or it would send the same messages again. At most MAX_INFLIGHT jobs run at a time and never two
 * for one rep; a config swap bumps a generation that makes older jobs drop
 * their results. Waiting jobs sit in a FIFO ring, a rep queued once
 * however often it changes meanwhile; the pump takes PUMP_BUDGET entries a
 * loop turn at most.
 */
#include "evaluator_int.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "changes.h"
#include "evaluate.h"
#include "jsontext.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "pace_write.h"
#include "redis_conn.h"
#include "redis_writes.h"
#include "repcache.h"
#include "reply.h"
#include "sink.h"
#include "xmalloc.h"

static void pump(struct evaluator *e);
static void pump_turn(struct evaluator *e);


static void
resize(struct evaluator *e)
{
	size_t n = roster_size(roster_of(e));

	if (n <= e->nslots)
		return;
	e->dirty = xreallocarray(e->dirty, n, sizeof(bool));
	e->busy = xreallocarray(e->busy, n, sizeof(bool));
	e->queued_plain = xreallocarray(e->queued_plain, n, sizeof(bool));
	memset(e->dirty + e->nslots, 0, n - e->nslots);
	memset(e->busy + e->nslots, 0, n - e->nslots);
	memset(e->queued_plain + e->nslots, 0, n - e->nslots);
	e->nslots = n;
}

/* The dirty timer's next run, ms from now (0: on the next loop turn). */
static void
dirty_arm(struct evaluator *e, int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	evtimer_add(e->dirty_ev, &tv);
}

static void
dirty_push(struct dirty_q *q, size_t rep)
{
	if (q->n == q->cap && q->head > 0 && q->head >= q->n / 2) {
		/* the runs took half of it from the front: reuse their room
		 * (an entry moves at most once for each one taken before
		 * it: O(1) a mark, amortised) */
		q->n -= q->head;
		memmove(q->list, q->list + q->head, q->n * sizeof(*q->list));
		q->head = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 256;
		q->list = xreallocarray(q->list, q->cap, sizeof(*q->list));
	}
	q->list[q->n++] = rep;
}

/* The reps marked and not taken yet. */
static size_t
dirty_waiting(const struct evaluator *e)
{
	size_t n = 0;

	for (int k = 0; k < DIRTY_QUEUES; k++)
		n += e->dirty_q[k].n - e->dirty_q[k].head;
	return n;
}

/* Rep (< nslots) is judged again about DIRTY_DELAY_MS from now (later
 * when more changed than alerts.reevaluate_per_second allows), once
 * however often it is marked meanwhile. A rep whose last judgement here
 * left an alert firing or a breach under way (or that was not judged
 * here yet) goes first: a rep catching up is resolved soon whatever the
 * rate of events. */
static void
mark_dirty(struct evaluator *e, size_t rep)
{
	if (!e->dirty[rep]) {
		e->dirty[rep] = true;
		dirty_push(&e->dirty_q[repcache_alerting(e->cache, rep) ? 0 : 1],
		    rep);
		metrics_set(e->m_changed, (double)dirty_waiting(e));
	}
	if (e->changes_held)
		return;		/* taken up when released */
	if (!evtimer_pending(e->dirty_ev, NULL))
		dirty_arm(e, DIRTY_DELAY_MS);
}

/* Room for one more entry in the ring, its order kept. */
static void
queue_grow(struct evaluator *e)
{
	size_t cap = e->queue_cap ? e->queue_cap * 2 : 256;
	struct queued *q;

	if (e->nqueue < e->queue_cap)
		return;
	q = xreallocarray(NULL, cap, sizeof(*q));
	for (size_t i = 0; i < e->nqueue; i++)
		q[i] = e->queue[(e->qhead + i) % e->queue_cap];
	free(e->queue);
	e->queue = q;
	e->queue_cap = cap;
	e->qhead = 0;
}

static void
queue_push(struct evaluator *e, const struct queued *q, bool front)
{
	queue_grow(e);
	if (front) {
		e->qhead = (e->qhead + e->queue_cap - 1) % e->queue_cap;
		e->queue[e->qhead] = *q;
	} else {
		e->queue[(e->qhead + e->nqueue) % e->queue_cap] = *q;
	}
	e->nqueue++;
}

static struct queued
queue_pop(struct evaluator *e)
{
	struct queued q = e->queue[e->qhead];

	e->qhead = (e->qhead + 1) % e->queue_cap;
	e->nqueue--;
	return q;
}

/* Queues one evaluation; a rep already waiting without a tick is queued
 * once however often it changes (coalesced). */
static void
enqueue(struct evaluator *e, size_t rep, int64_t at, struct tick *t)
{
	struct queued q = { rep, at, t };

	if (t == NULL) {
		if (e->stopping || e->queued_plain[rep])
			return;
		e->queued_plain[rep] = true;
	}
	queue_push(e, &q, false);
}

static void
tick_settle(struct tick *t)
{
	if (t != NULL && --t->left == 0) {
		t->done(t->arg, t->failed ? -1 : 0);
		free(t);
	}
}

/* Puts the parked entries of rep back at the head of the queue, in the
 * order they were parked. */
static void
unpark(struct evaluator *e, size_t rep)
{
	size_t w = 0, n = 0;
	struct queued *mine;

	for (size_t i = 0; i < e->nparked; i++)
		n += e->parked[i].rep == rep;
	if (n == 0)
		return;
	mine = xreallocarray(NULL, n, sizeof(*mine));
	n = 0;
	for (size_t i = 0; i < e->nparked; i++) {
		if (e->parked[i].rep == rep)
			mine[n++] = e->parked[i];
		else
			e->parked[w++] = e->parked[i];
	}
	e->nparked = w;
	while (n > 0)		/* front pushes: the last one first */
		queue_push(e, &mine[--n], true);
	free(mine);
}

static void
park(struct evaluator *e, const struct queued *q)
{
	if (e->nparked == e->parked_cap) {
		e->parked_cap = e->parked_cap ? e->parked_cap * 2 : 64;
		e->parked = xreallocarray(e->parked, e->parked_cap,
		    sizeof(*e->parked));
	}
	e->parked[e->nparked++] = *q;
}

static void
job_free(struct job *j)
{
	eval_result_clear(&j->res);
	free(j->actual);
	free(j->prev);
	free(j);
}

/* Frees what the job holds; the job itself and its arrays are kept for
 * the next one (at most MAX_INFLIGHT of them, the same config). */
static void
job_release(struct job *j)
{
	struct evaluator *e = j->e;

	redis_writes_free(j->store);
	free(j->ended);
	free(j->ended_reads);
	if (e == NULL || j->gen != e->gen || e->nspare == MAX_INFLIGHT) {
		job_free(j);
		return;
	}
	eval_result_empty(&j->res);
	e->spare[e->nspare++] = j;
}

/* A job for the config of generation e->gen, zeroed but for its
 * arrays (actual and prev zeroed too, res emptied). */
static struct job *
job_new(struct evaluator *e)
{
	size_t n = (cfg_of(e)->nkpis ? cfg_of(e)->nkpis : 1) * PERIOD_COUNT;
	struct eval_result res;
	double *actual;
	struct eval_state *prev;
	struct job *j;

	if (e->nspare == 0) {
		j = xcalloc(1, sizeof(*j));
		j->actual = xcalloc(n, sizeof(double));
		j->prev = xcalloc(n, sizeof(struct eval_state));
		return j;
	}
	j = e->spare[--e->nspare];
	actual = j->actual;
	prev = j->prev;
	res = j->res;
	memset(j, 0, sizeof(*j));
	memset(actual, 0, n * sizeof(double));
	memset(prev, 0, n * sizeof(struct eval_state));
	j->actual = actual;
	j->prev = prev;
	j->res = res;
	return j;
}

/* The spare jobs (a new config may have other sizes). */
static void
spares_free(struct evaluator *e)
{
	while (e->nspare > 0)
		job_free(e->spare[--e->nspare]);
}

static void
job_finish(struct job *j)
{
	struct evaluator *e = j->e;

	if (e == NULL) {		/* the evaluator is gone */
		job_release(j);
		return;
	}
	if (j->prev_job != NULL)
		j->prev_job->next_job = j->next_job;
	else
		e->jobs = j->next_job;
	if (j->next_job != NULL)
		j->next_job->prev_job = j->prev_job;
	if (j->gen == e->gen && j->rep < e->nslots) {
		e->busy[j->rep] = false;
		unpark(e, j->rep);
	}
	if (j->failed) {
		metrics_inc(e->m_evals_failed);
		/* Try again soon: nothing was stored. */
		if (j->gen == e->gen && j->rep < e->nslots && j->tick == NULL)
			mark_dirty(e, j->rep);
	} else {
		metrics_inc(j->dropped ? e->m_evals_dropped : e->m_evals_ok);
	}
	e->inflight--;
	if (j->failed && j->tick != NULL)
		j->tick->failed = true;
	tick_settle(j->tick);
	job_release(j);
	/* Nothing left of this evaluation: one digest per manager for it. */
	if (e->nqueue == 0 && e->nparked == 0 && e->inflight == 0)
		sinks_evaluating(e->d.sinks, false);
	/* A job judged from the evaluator's copy ends inside the pump,
	 * which takes the next entry itself. */
	if (!e->in_pump)
		event_active(e->pump_ev, EV_TIMEOUT, 0);
}

/* True when the judgement changed a stored state. */
static bool
states_changed(const struct job *j)
{
	size_t n = cfg_of(j->e)->nkpis * PERIOD_COUNT;

	for (size_t s = 0; s < n; s++)
		if (j->res.changed[s])
			return true;
	return false;
}

/* The writes of the changed states and the firing set, built under the
 * job's config (a reload may come before they are sent). */
static void
build_store(struct job *j)
{
	struct evaluator *e = j->e;
	const struct config *cfg = cfg_of(e);
	const struct roster_rep *rr = roster_rep_at(roster_of(e), j->rep);
	char field[EVAL_FIELD_SIZE], val[EVAL_STATE_SIZE];
	char *key = keys_rep_alerts(cfg, rr->rep->id);
	char *fkey = j->res.nalerts > 0 ? keys_alerts_firing(cfg) : NULL;
	struct redis_argv *v;

	/* One HSET of the instant and every changed state, one HDEL of the
	 * states no longer judged. */
	j->store = redis_writes_new(e->d.base, e->d.conn, rr->rep->id);
	v = redis_writes_add(j->store);
	redis_argv_str(v, "HSET");
	redis_argv_str(v, key);
	redis_argv_str(v, EVALUATED_AT_FIELD);
	redis_argv_int(v, j->at);
	for (size_t s = 0; s < cfg->nkpis * PERIOD_COUNT; s++) {
		if (!j->res.changed[s] || !j->res.states[s].present)
			continue;
		evaluate_field(cfg, s / PERIOD_COUNT,
		    (enum period)(s % PERIOD_COUNT), field, sizeof(field));
		eval_state_format(&j->res.states[s], val, sizeof(val));
		redis_argv_str(v, field);
		redis_argv_str(v, val);
	}
	v = NULL;
	for (size_t s = 0; s < cfg->nkpis * PERIOD_COUNT; s++) {
		if (!j->res.changed[s] || j->res.states[s].present)
			continue;
		if (v == NULL) {	/* no longer judged */
			v = redis_writes_add(j->store);
			redis_argv_str(v, "HDEL");
			redis_argv_str(v, key);
		}
		evaluate_field(cfg, s / PERIOD_COUNT,
		    (enum period)(s % PERIOD_COUNT), field, sizeof(field));
		redis_argv_str(v, field);
	}
	for (size_t i = 0; i < j->res.nalerts; i++) {
		const struct eval_alert *a = &j->res.alerts[i];

		if (a->superseded_id[0] != '\0') {
			v = redis_writes_add(j->store);
			redis_argv_str(v, "HDEL");
			redis_argv_str(v, fkey);
			redis_argv_str(v, a->superseded_id);
		}
		v = redis_writes_add(j->store);
		redis_argv_str(v, a->action.status == ALERT_STATUS_FIRING ?
		    "HSET" : "HDEL");
		redis_argv_str(v, fkey);
		redis_argv_str(v, a->alert_id);
		if (a->action.status == ALERT_STATUS_FIRING)
			redis_argv_str(v, a->json);
	}
	free(fkey);
	free(key);
}

/* The sinks took the job's alerts: count and log them (once). */
static void
alerts_sent(struct job *j)
{
	struct evaluator *e = j->e;
	const struct config *cfg = cfg_of(e);
	const struct roster_rep *rr = roster_rep_at(roster_of(e), j->rep);
	bool same = j->gen == e->gen;

	for (size_t i = 0; i < j->res.nalerts; i++) {
		const struct eval_alert *a = &j->res.alerts[i];

		metrics_inc(e->m_alerts[a->action.status]
		    [a->action.severity == ALERT_LEVEL_CRITICAL]);
		/* After a reload the indices may name other reps or KPIs. */
		log_info("alert", "id=%s status=%s severity=%s reason=%s rep=%s kpi=%s period=%s",
		    a->alert_id, alert_status_name(a->action.status),
		    alert_level_name(a->action.severity),
		    alert_reason_name(a->action.reason),
		    same ? rr->rep->id : "?",
		    same ? cfg->kpis[a->kpi].name : "?",
		    caltime_period_name(a->period));
	}
}

/* Forgets the cache when a rebalance came since it was filled: another
 * member may have written its reps meanwhile. */
static void
cache_check_owner(struct evaluator *e)
{
	if (owner_epoch(e->d.owner) != e->owner_seen) {
		e->owner_seen = owner_epoch(e->d.owner);
		repcache_clear(e->cache);
	}
}

/* Redis acknowledged the job's states: the cache holds them too. */
static void
cache_stored(struct job *j)
{
	struct evaluator *e = j->e;

	if (e == NULL || j->gen != e->gen || j->cache_gen != repcache_generation(e->cache))
		return;
	repcache_stored(e->cache, j->rep, j->res.states, j->res.changed,
	    j->at);
}

/* The states of a job that sent no alert were written once: cached when
 * acknowledged; otherwise the rep is read again at its next evaluation
 * (what Redis holds is judged again, as without the cache). */
static void
stored_once(void *arg, bool ok)
{
	struct job *j = arg;

	if (ok)
		cache_stored(j);
	else if (j->e != NULL)
		repcache_forget(j->e->cache, j->rep);
	job_finish(j);
}

/* Redis acknowledged every write of the states of the sent alerts: the
 * rep may be judged again. */
static void
stored(void *arg)
{
	struct job *j = arg;

	cache_stored(j);
	job_finish(j);
}

static void
published(int status, void *arg)
{
	struct job *j = arg;

	if (j->e == NULL || status != 0) {	/* the sinks were freed */
		j->failed = true;
		job_finish(j);
		return;
	}
	alerts_sent(j);
	j->storing = true;
	redis_writes_start(j->store, stored, j);
}

/* When rr's data began, for evaluate_rep_since(): the start of the local
 * day (the rep's team zone) of its partition's first event, so that the
 * days before the data are not read as zero activity and the first day is
 * judged whole; INT64_MIN while it is not known (every bucket whole). */
static int64_t
data_since(const struct evaluator *e, const struct roster_rep *rr)
{
	int64_t began = owner_data_since(e->d.owner, rr->rep->id);

	if (began == INT64_MIN || rr->zone == NULL)
		return INT64_MIN;
	return tzone_local_to_utc(rr->zone, tzone_local_day(rr->zone, began),
	    0);
}

static void
evaluate_job(struct job *j)
{
	struct evaluator *e = j->e;
	const struct config *cfg = cfg_of(e);
	const struct roster_rep *rr = roster_rep_at(roster_of(e), j->rep);
	struct alert_record *recs;

	if (j->last_at > 0 && j->at < j->last_at) {
		job_finish(j);		/* already judged later than this */
		return;
	}
	if (owner_fenced(e->d.owner) || !owner_owns_rep(e->d.owner, rr)) {
		/* Its partition went to another member (or may have: the
		 * loop stalled) while the rep was read: that member judges. */
		j->dropped = true;
		job_finish(j);
		return;
	}
	evaluate_rep_memo(cfg, rr, j->at, data_since(e, rr), j->actual,
	    j->prev, j->ended, e->memo, &j->res);
	/* the order of its next re-evaluation (a hint: whatever becomes
	 * of the states' write) */
	repcache_note_alerting(e->cache, j->rep, j->res.states);
	metrics_inc(pace_write_send(e->pace, cfg, rr, j->res.cards,
	    repcache_pace_sum(e->cache, j->rep)) ? e->m_pace_written :
	    e->m_pace_same);
	if (e->d.judged != NULL)
		e->d.judged(rr, j->at, j->res.cards, e->d.judged_arg);
	if (e->d.changes != NULL)
		changes_status(e->d.changes, e->d.conn, cfg, rr, j->res.cards);
	if (j->res.nalerts == 0 && cfg->clock == CLOCK_MODE_WALL &&
	    !states_changed(j)) {
		/* Nothing to store: on the wall clock the instant alone is
		 * not written (every later judgement is at a later instant). */
		cache_stored(j);
		job_finish(j);
		return;
	}
	build_store(j);
	if (j->res.nalerts == 0) {
		/* Nothing sent: a lost write is judged again. */
		j->storing = true;
		redis_writes_try(j->store, stored_once, j);
		return;
	}
	recs = xcalloc(j->res.nalerts, sizeof(*recs));
	for (size_t i = 0; i < j->res.nalerts; i++) {
		const struct eval_alert *a = &j->res.alerts[i];

		recs[i].alert_id = a->alert_id;
		recs[i].rep_id = rr->rep->id;
		recs[i].team_id = rr->team->id;
		recs[i].manager_id = rr->manager;
		recs[i].notify = a->notify;
		recs[i].nnotify = a->nnotify;
		recs[i].status = alert_status_name(a->action.status);
		recs[i].severity = alert_level_name(a->action.severity);
		recs[i].kpi = cfg->kpis[a->kpi].name;
		recs[i].period = caltime_period_name(a->period);
		recs[i].message = a->message;
		recs[i].json = a->json;
		recs[i].superseded_id = a->superseded_id;
	}
	sinks_publish(e->d.sinks, recs, j->res.nalerts, published, j);
	free(recs);
}

/* One reply less to wait for: true when it was the last and the job
 * goes on; a failed or outdated job is finished here. */
static bool
reads_done(struct job *j)
{
	if (--j->pending > 0)
		return false;
	if (j->failed || j->gen != j->e->gen) {
		j->failed = true;
		job_finish(j);
		return false;
	}
	return true;
}

static void
ended_reply(const redisReply *r, void *arg)
{
	struct ended_read *er = arg;
	struct job *j = er->j;

	if (j->e == NULL) {
		if (--j->pending == 0)
			job_release(j);
		return;
	}
	if (r == NULL)
		j->failed = true;
	else if (r->type == REDIS_REPLY_STRING)
		j->ended[er->slot] = strtod(r->str, NULL);
	else if (r->type != REDIS_REPLY_NIL)	/* nil: nothing counted */
		j->failed = true;
	if (reads_done(j))
		evaluate_job(j);
}

/*
 * After the first read: a state that fires in a bucket which has ended is
 * resolved (period_ended) with that bucket's final figures, so read the
 * rep's counter of its KPI there. Rare (once per bucket and firing
 * alert), hence a second round trip rather than a wider first one; the
 * bucket may be any earlier one (a daemon stopped over a weekend).
 */
static void
read_ended(struct job *j)
{
	struct evaluator *e = j->e;
	const struct config *cfg = cfg_of(e);
	const struct roster_rep *rr = roster_rep_at(roster_of(e), j->rep);
	size_t nslots = cfg->nkpis * PERIOD_COUNT;
	struct redis_argv *v = e->argv;

	for (size_t s = 0; s < nslots; s++) {
		enum period p = (enum period)(s % PERIOD_COUNT);

		if (!evaluate_ending(&j->prev[s], j->start[p]))
			continue;
		if (j->ended == NULL) {
			j->ended = xcalloc(nslots, sizeof(double));
			j->ended_reads = xcalloc(nslots,
			    sizeof(*j->ended_reads));
		}
		redis_argv_reset(v);
		redis_argv_str(v, "HGET");
		redis_argv_take(v, keys_rep_counters(cfg, rr->rep->id, p,
		    j->prev[s].start_day));
		redis_argv_take(v, keys_counter_field(rr->rep->id,
		    cfg->kpis[s / PERIOD_COUNT].name));
		j->ended_reads[s].j = j;
		j->ended_reads[s].slot = s;
		if (redis_conn_send(e->d.conn, v, ended_reply,
		    &j->ended_reads[s]) != 0) {
			j->failed = true;
			break;
		}
		j->pending++;
	}
	if (j->pending > 0)
		return;
	if (j->failed)
		job_finish(j);
	else
		evaluate_job(j);
}

/* One reply of the first read less to wait for; the last one goes on. */
static void
read_step(struct job *j)
{
	struct evaluator *e = j->e;

	if (!reads_done(j))
		return;
	if (j->cache_gen == repcache_generation(e->cache))
		repcache_fill(e->cache, j->rep, j->cache_epoch, j->start,
		    j->actual, j->prev, j->last_at, caltime_mono_ms());
	read_ended(j);
}

/* HMGET of the rep's fields in one counter bucket. */
static void
counters_reply(const redisReply *r, void *arg)
{
	struct ended_read *rd = arg;
	struct job *j = rd->j;
	struct evaluator *e = j->e;

	if (e == NULL) {
		if (--j->pending == 0)
			job_release(j);
		return;
	}
	if (j->gen == e->gen && reply_counter_values(cfg_of(e), r,
	    j->actual + rd->slot * cfg_of(e)->nkpis) != 0)
		j->failed = true;
	read_step(j);
}

/* HGETALL of the rep's alert states. */
static void
states_reply(const redisReply *r, void *arg)
{
	struct job *j = arg;
	struct evaluator *e = j->e;

	if (e == NULL) {
		if (--j->pending == 0)
			job_release(j);
		return;
	}
	if (j->gen == e->gen && reply_eval_states(cfg_of(e), r,
	    EVALUATED_AT_FIELD, j->prev, &j->last_at) != 0)
		j->failed = true;
	read_step(j);
}

static void
job_start(struct evaluator *e, const struct queued *q)
{
	const struct config *cfg = cfg_of(e);
	const struct roster_rep *rr = roster_rep_at(roster_of(e), q->rep);
	struct job *j = job_new(e);
	struct redis_argv *v = e->argv;
	char **fields;

	j->e = e;
	j->gen = e->gen;
	j->rep = q->rep;
	j->tick = q->tick;
	j->at = q->at ? q->at : e->turn_now;
	e->busy[q->rep] = true;
	if (e->inflight++ == 0)
		sinks_evaluating(e->d.sinks, true);
	j->next_job = e->jobs;
	if (e->jobs != NULL)
		e->jobs->prev_job = j;
	e->jobs = j;
	for (int p = 0; p < PERIOD_COUNT; p++) {
		struct bucket b;

		scorecard_bucket_memo(e->memo, rr, (enum period)p, j->at, &b);
		j->start[p] = b.start_day;
	}
	/* Known here: judged without a read. */
	cache_check_owner(e);
	j->cache_gen = repcache_generation(e->cache);
	if (repcache_get(e->cache, j->rep, j->start, caltime_mono_ms(),
	    j->actual, j->prev, &j->last_at)) {
		metrics_inc(e->m_read_cache);
		read_ended(j);
		return;
	}
	metrics_inc(e->m_read_redis);
	j->cache_epoch = repcache_epoch(e->cache, j->rep);
	/* The rep's fields in its four counter buckets (its shard's
	 * hashes), and its alert states: pipelined, one round trip. The
	 * fields are the same in every bucket: built once. */
	fields = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*fields));
	for (size_t k = 0; k < cfg->nkpis; k++)
		fields[k] = keys_counter_field(rr->rep->id, cfg->kpis[k].name);
	for (int p = 0; p < PERIOD_COUNT && !j->failed; p++) {
		redis_argv_reset(v);
		redis_argv_str(v, "HMGET");
		redis_argv_take(v, keys_rep_counters(cfg, rr->rep->id,
		    (enum period)p, j->start[p]));
		for (size_t k = 0; k < cfg->nkpis; k++)
			redis_argv_str(v, fields[k]);
		j->reads[p].j = j;
		j->reads[p].slot = (size_t)p;
		if (redis_conn_send(e->d.conn, v, counters_reply,
		    &j->reads[p]) != 0)
			j->failed = true;
		else
			j->pending++;
	}
	for (size_t k = 0; k < cfg->nkpis; k++)
		free(fields[k]);
	free(fields);
	if (!j->failed) {
		redis_argv_reset(v);
		redis_argv_str(v, "HGETALL");
		redis_argv_take(v, keys_rep_alerts(cfg, rr->rep->id));
		if (redis_conn_send(e->d.conn, v, states_reply, j) != 0)
			j->failed = true;
		else
			j->pending++;
	}
	if (j->pending == 0)
		job_finish(j);
}

/* Settles a queued entry that will not run: its tick (if any) failed, so
 * nothing of it is recorded as judged. */
static void
drop_queued(struct evaluator *e, const struct queued *q)
{
	if (q->tick == NULL) {
		if (q->rep < e->nslots)
			e->queued_plain[q->rep] = false;
		return;
	}
	if (q->rep != SIZE_MAX)
		q->tick->failed = true;
	tick_settle(q->tick);
}

/* Starts queued evaluations: at most MAX_INFLIGHT at a time and
 * PUMP_BUDGET entries per loop turn, O(1) each. */
static void
pump_turn(struct evaluator *e)
{
	size_t budget = PUMP_BUDGET;
	size_t nreps = roster_size(roster_of(e));

	resize(e);
	/* One instant for the turn (a few milliseconds at most): the
	 * buckets and working time of a team are then worked out once for
	 * all its reps in it, not once per rep. */
	e->turn_now = clock_now(owner_clock(e->d.owner));
	if (e->stopping) {	/* all of it at once: no I/O, O(1) each */
		while (e->nparked > 0)
			drop_queued(e, &e->parked[--e->nparked]);
		while (e->nqueue > 0) {
			struct queued q = queue_pop(e);

			drop_queued(e, &q);
		}
		return;
	}
	while (e->nqueue > 0 && e->inflight < MAX_INFLIGHT) {
		struct queued q;

		if (budget-- == 0) {	/* the rest on the next loop turn */
			static const struct timeval now = { 0, 0 };

			evtimer_add(e->pump_later_ev, &now);
			return;
		}
		q = queue_pop(e);
		if (q.rep == SIZE_MAX) {	/* a tick with no owned rep */
			tick_settle(q.tick);
			continue;
		}
		if (q.rep >= nreps) {	/* the roster shrank */
			drop_queued(e, &q);
			continue;
		}
		if (e->busy[q.rep]) {
			park(e, &q);
			continue;
		}
		if (q.tick == NULL)
			e->queued_plain[q.rep] = false;
		job_start(e, &q);
	}
}

/* One turn of the pump; a job that ends inside it (judged from the
 * evaluator's copy) leaves the next entry to it. */
static void
pump(struct evaluator *e)
{
	if (e->in_pump)
		return;
	e->in_pump = true;
	pump_turn(e);
	e->in_pump = false;
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

/* After every rep was queued (a tick, a timer pass): n of them owned. */
static void
owned_noted(struct evaluator *e, size_t n)
{
	metrics_set(e->m_owned, (double)n);
	metrics_set(e->m_cache_reps, (double)repcache_known(e->cache));
}

/* Enqueues every owned rep; returns how many. */
static size_t
enqueue_owned(struct evaluator *e, int64_t at, struct tick *t)
{
	const struct roster *r = roster_of(e);
	size_t n = 0;

	resize(e);
	for (size_t i = 0; i < roster_size(r); i++) {
		if (!owner_owns_rep(e->d.owner, roster_rep_at(r, i)))
			continue;
		if (t != NULL)
			t->left++;
		enqueue(e, i, at, t);
		n++;
	}
	owned_noted(e, n);
	return n;
}

/* The partitions caught up now that were not when last looked at; marks
 * them seen. Returns how many. */
static size_t
newly_caught_up(struct evaluator *e, bool *fresh)
{
	size_t n = 0;

	for (size_t p = 0; p < e->nparts; p++) {
		bool now = owner_caught_up(e->d.owner, (int32_t)p);

		fresh[p] = now && !e->part_seen[p];
		e->part_seen[p] = now;
		n += fresh[p];
	}
	return n;
}

/* Follows the partition count; false while it is unknown. */
static bool
part_resize(struct evaluator *e)
{
	int np = owner_partition_count(e->d.owner);

	if (np <= 0)
		return false;
	if ((size_t)np != e->nparts) {
		e->part_seen = xreallocarray(e->part_seen, (size_t)np,
		    sizeof(bool));
		e->nparts = (size_t)np;
		e->epoch_seen = owner_epoch(e->d.owner) + 1;	/* unseen */
	}
	if (e->epoch_seen != owner_epoch(e->d.owner)) {
		/* A rebalance since: every partition catches up anew. */
		memset(e->part_seen, 0, e->nparts);
		e->epoch_seen = owner_epoch(e->d.owner);
	}
	return true;
}

/* Partitions caught up as of now, without queuing anything for them. */
static void
note_caught_up(struct evaluator *e)
{
	if (!part_resize(e))
		return;
	for (size_t p = 0; p < e->nparts; p++)
		e->part_seen[p] = owner_caught_up(e->d.owner, (int32_t)p);
}

/* Queues the owned reps of the partitions caught up since the last look:
 * each rep once however many partitions catch up, one by one or together. */
static void
enqueue_newly_owned(struct evaluator *e)
{
	const struct roster *r = roster_of(e);
	bool *fresh;
	size_t owned = 0;

	if (!part_resize(e))
		return;
	fresh = xcalloc(e->nparts, sizeof(bool));
	if (newly_caught_up(e, fresh) > 0) {
		resize(e);
		for (size_t i = 0; i < roster_size(r); i++) {
			const char *id = roster_rep_at(r, i)->rep->id;
			int32_t p;

			if (!owner_owns(e->d.owner, id))
				continue;
			owned++;
			p = owner_partition_of(e->d.owner, id);
			if (p < 0 || (size_t)p >= e->nparts || !fresh[p])
				continue;
			/* This judgement reads every count applied so far: a
			 * re-evaluation marked for some of them would repeat it. */
			e->dirty[i] = false;
			enqueue(e, i, 0, NULL);
		}
		metrics_set(e->m_owned, (double)owned);
	}
	free(fresh);
}

/* The timer for the next multiple of evaluate_every after the one it
 * was set for: libevent's timers run on the monotonic clock, and one may
 * fire a few ms before the wall clock's boundary, which must not count
 * as a tick of its own. (A wall clock set back by more than an interval
 * counts from now.) */
static void
arm_wall(struct evaluator *e)
{
	int64_t every = cfg_of(e)->alerts.evaluate_every_ms;
	int64_t now = caltime_wall_ms();
	int64_t from = e->wall_at > now && e->wall_at - now <= every ?
	    e->wall_at : now;
	int64_t next = (from / every + 1) * every;
	struct timeval tv = { (next - now) / 1000, ((next - now) % 1000) * 1000 };

	e->wall_at = next;
	evtimer_add(e->wall_ev, &tv);
}

/*
 * One step of the wall timer's pass: queues the next reps of the roster
 * (those owned), the share that spreads the pass over half of
 * evaluate_every by this step's time (at least PASS_MIN_STEP, at most
 * PASS_MAX_STEP: after a stalled loop it catches up over several
 * steps). The evaluations themselves go at the pump's pace, behind
 * those queued before (re-evaluations after new counts among them).
 * Flat out, a pass over a large roster took Redis and the CPU from the
 * counting for seconds (100k reps: 6.5 s of wall time); spread, each
 * rep is still judged once a pass, up to half an interval later, and
 * the loop's work per step is bounded whatever the roster.
 */
static void
pass_step(struct evaluator *e)
{
	const struct roster *r = roster_of(e);
	size_t n = roster_size(r), chunk, due, done;
	int64_t every = cfg_of(e)->alerts.evaluate_every_ms, elapsed;
	struct timeval tv = { 0, PASS_STEP_MS * 1000 };

	if (e->pass_left == 0)
		return;
	if (e->stopping || cfg_of(e)->clock != CLOCK_MODE_WALL) {
		e->pass_left = 0;	/* a reload left the wall clock */
		return;
	}
	if (e->pass_left > n)	/* the roster shrank */
		e->pass_left = n;
	if (e->pass_total > n)
		e->pass_total = n;
	resize(e);
	/* Due by the end of this step: the share of the roster its time
	 * into the spread says (a late timer catches up). */
	elapsed = caltime_wall_ms() - e->pass_began + PASS_STEP_MS;
	due = elapsed >= every / 2 ? n :
	    (size_t)((double)n * (double)elapsed / (double)(every / 2));
	done = e->pass_total - e->pass_left;
	chunk = due > done ? due - done : 0;
	if (chunk < PASS_MIN_STEP)
		chunk = PASS_MIN_STEP;
	if (chunk > PASS_MAX_STEP)
		chunk = PASS_MAX_STEP;
	for (; chunk > 0 && e->pass_left > 0; chunk--, e->pass_left--) {
		size_t i = e->pass_next < n ? e->pass_next : 0;

		e->pass_next = i + 1;
		if (!owner_owns_rep(e->d.owner, roster_rep_at(r, i)))
			continue;
		enqueue(e, i, 0, NULL);
		e->pass_owned++;
	}
	if (e->pass_left > 0) {
		evtimer_add(e->pass_ev, &tv);
	} else {
		owned_noted(e, e->pass_owned);
		metrics_set(e->m_pass_seconds,
		    (double)(caltime_wall_ms() - e->pass_began) / 1000.0);
		metrics_inc(e->m_passes);
	}
	pump(e);
}

static void
pass_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pass_step(arg);
}

/* A timer tick: a new pass over the whole roster, from where the last
 * one stopped (one that has not finished by now goes on as this one, so
 * no rep is left out however long passes take). */
static void
pass_begin(struct evaluator *e)
{
	size_t n = roster_size(roster_of(e));

	if (e->pass_left > 0) {
		metrics_inc(e->m_pass_overruns);
		log_warnx("evaluation_pass_overrun",
		    "left=%zu reps=%zu every_ms=%" PRId64, e->pass_left, n,
		    cfg_of(e)->alerts.evaluate_every_ms);
		evtimer_del(e->pass_ev);
	}
	e->pass_left = e->pass_total = n;
	e->pass_owned = 0;
	e->pass_began = caltime_wall_ms();
	pass_step(e);
}

static void
wall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evaluator *e = arg;

	(void)fd;
	(void)what;
	if (cfg_of(e)->clock == CLOCK_MODE_WALL && !e->stopping) {
		note_caught_up(e);
		pass_begin(e);
	}
	sweep_start(e);
	arm_wall(e);
}

void
evaluator_owned_grew(struct evaluator *e)
{
	sweep_start(e);
	if (cfg_of(e)->clock != CLOCK_MODE_WALL || e->stopping)
		return;
	enqueue_newly_owned(e);
	/* At once, not from the pump event: the sinks must hear that the
	 * evaluator is busy before a digest window that is due closes. */
	pump(e);
}

/* Queues the changed reps: a run's share of alerts.reevaluate_per_second
 * (the alerting queue first, each in the order marked); the rest wait
 * for the next run. None while changes are held. */
static void
dirty_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evaluator *e = arg;
	size_t nreps = roster_size(roster_of(e));
	long rate = cfg_of(e)->alerts.reevaluate_per_second;
	size_t budget;

	(void)fd;
	(void)what;
	if (e->changes_held)
		return;		/* evaluator_hold_changes arms it again */
	/* A run's share, and what earlier runs left of theirs (under one
	 * rep): at most one run's worth, so a quiet spell builds no burst. */
	e->dirty_credit += (int64_t)(rate > 0 ? rate : 1) * DIRTY_DELAY_MS;
	budget = (size_t)(e->dirty_credit / 1000);
	e->dirty_credit -= (int64_t)budget * 1000;
	for (int q = 0; q < DIRTY_QUEUES && budget > 0; q++) {
		struct dirty_q *dq = &e->dirty_q[q];
		size_t n = dq->n - dq->head;

		if (n > budget)
			n = budget;
		budget -= n;
		for (size_t k = dq->head; k < dq->head + n; k++) {
			size_t i = dq->list[k];

			if (i >= e->nslots || !e->dirty[i])
				continue;
			e->dirty[i] = false;
			if (i < nreps && owner_owns_rep(e->d.owner,
			    roster_rep_at(roster_of(e), i)))
				enqueue(e, i, 0, NULL);
		}
		/* Reps marked while these are queued wait for the next
		 * run. */
		dq->head += n;
		if (dq->head == dq->n)
			dq->head = dq->n = 0;
	}
	metrics_set(e->m_changed, (double)dirty_waiting(e));
	if (dirty_waiting(e) > 0)
		dirty_arm(e, DIRTY_DELAY_MS);
	else
		e->dirty_credit = 0;
	pump(e);
}

void
evaluator_hold_changes(struct evaluator *e, bool hold)
{
	if (hold == e->changes_held)
		return;
	e->changes_held = hold;
	metrics_set(e->m_held, hold ? 1 : 0);
	log_info("evaluator_changes", "held=%s waiting=%zu",
	    hold ? "yes" : "no", dirty_waiting(e));
	if (!hold && dirty_waiting(e) > 0)
		dirty_arm(e, 0);
}

void
evaluator_rep_changed(struct evaluator *e, size_t rep_index)
{
	/* On the event clock only the ticks evaluate: replays stay exact. */
	if (cfg_of(e)->clock != CLOCK_MODE_WALL)
		return;
	resize(e);
	if (rep_index >= e->nslots)
		return;
	mark_dirty(e, rep_index);
}

void
evaluator_counted(struct evaluator *e, const struct config *cfg,
    const struct roster_rep *rr, size_t kpi, enum period p, int32_t start_day,
    const char *value, size_t len)
{
	char num[64];

	/* A batch of an older config or roster: its indices mean others. */
	if (cfg != cfg_of(e) || roster_rep_at(roster_of(e), rr->index) != rr)
		return;
	if (len == 0 || len >= sizeof(num)) {
		repcache_forget(e->cache, rr->index);
		return;
	}
	memcpy(num, value, len);
	num[len] = '\0';
	repcache_counted(e->cache, rr->index, kpi, p, start_day,
	    jsontext_strtod(num));
}

void
evaluator_counts_unknown(struct evaluator *e)
{
	repcache_clear(e->cache);
}

void
evaluator_tick(struct evaluator *e, int64_t at_ms, void (*done_cb)(void *, int),
    void *arg)
{
	struct tick *t = xcalloc(1, sizeof(*t));

	t->at = at_ms;
	t->done = done_cb;
	t->arg = arg;
	t->left = 1;		/* held until every rep is queued */
	if (e->stopping)
		t->failed = true;	/* judged again after the restart */
	else
		enqueue_owned(e, at_ms, t);
	event_active(e->pump_ev, EV_TIMEOUT, 0);
	/* Settle the hold from the loop, never inside this call. */
	t->left--;
	if (t->left == 0) {
		/* no owned rep: report on the next loop turn */
		t->left = 1;
		enqueue(e, SIZE_MAX, at_ms, t);
	}
}

void
evaluator_reconfigured(struct evaluator *e)
{
	e->gen++;
	spares_free(e);
	scorecard_memo_clear(e->memo);
	repcache_reset(e->cache, roster_size(roster_of(e)), cfg_of(e)->nkpis);
	memset(e->busy, 0, e->nslots);
	/* Their jobs no longer count: back to the queue, in order. */
	while (e->nparked > 0)
		queue_push(e, &e->parked[--e->nparked], true);
	resize(e);
	/* A rep may have left the roster: its alerts are resolved here,
	 * since no evaluation will run for it. */
	e->sweep_due = true;
	sweep_start(e);
}

size_t
evaluator_busy(const struct evaluator *e)
{
	return e->nqueue + e->nparked + e->inflight;
}

void
evaluator_stop(struct evaluator *e)
{
	e->stopping = true;
	/* Settled from the loop, never inside this call. */
	event_active(e->pump_ev, EV_TIMEOUT, 0);
}

struct evaluator *
evaluator_new(const struct evaluator_deps *d)
{
	struct evaluator *e = xcalloc(1, sizeof(*e));
	static const char *const st[] = { "firing", "resolved" };
	static const char *const sev[] = { "warning", "critical" };
	static const char reads_help[] = "Rep evaluations by where their "
	    "counters and alert states came from: the evaluator's copy (no "
	    "Redis read) or a Redis read";
	static const char pace_help[] = "Rep evaluations by what became of "
	    "their pace figures: written, or not written because Redis holds "
	    "the same since the rep's last read (outside working hours, a "
	    "replayed instant)";
	char labels[96];

	e->d = *d;
	e->memo = scorecard_memo_new();
	e->cache = repcache_new(roster_size(roster_of(e)), cfg_of(e)->nkpis);
	e->owner_seen = owner_epoch(d->owner);
	e->argv = redis_argv_new();
	e->pace = pace_write_new(d->conn);
	e->wall_ev = evtimer_new(d->base, wall_cb, e);
	e->dirty_ev = evtimer_new(d->base, dirty_cb, e);
	e->pump_ev = event_new(d->base, -1, 0, pump_cb, e);
	e->pump_later_ev = evtimer_new(d->base, pump_cb, e);
	e->pass_ev = evtimer_new(d->base, pass_cb, e);
	for (int s = 0; s < 2; s++) {
		for (int v = 0; v < 2; v++) {
			snprintf(labels, sizeof(labels),
			    "status=\"%s\",severity=\"%s\"", st[s], sev[v]);
			e->m_alerts[s][v] = metrics_counter("paced_alerts_total",
			    labels, "Alerts accepted by the durable sinks");
		}
	}
	(void)redis_writes_metrics();
	e->m_evals_ok = metrics_counter("paced_evaluations_total",
	    "result=\"ok\"", "Rep evaluations, by result");
	e->m_evals_failed = metrics_counter("paced_evaluations_total",
	    "result=\"failed\"", "Rep evaluations, by result");
	e->m_read_cache = metrics_counter("paced_evaluation_reads_total",
	    "from=\"cache\"", reads_help);
	e->m_read_redis = metrics_counter("paced_evaluation_reads_total",
	    "from=\"redis\"", reads_help);
	e->m_pace_written = metrics_counter("paced_pace_writes_total",
	    "outcome=\"written\"", pace_help);
	e->m_pace_same = metrics_counter("paced_pace_writes_total",
	    "outcome=\"unchanged\"", pace_help);
	e->m_cache_reps = metrics_gauge("paced_evaluator_cached_reps", NULL,
	    "Reps whose counters and alert states the evaluator holds (judged "
	    "without a Redis read while their buckets stay the same)");
	e->m_changed = metrics_gauge("paced_evaluator_changed_reps", NULL,
	    "Reps with new counts waiting to be judged again");
	e->m_held = metrics_gauge("paced_evaluator_changes_held", NULL,
	    "1 while re-evaluations after new counts wait: the ingest is "
	    "behind (over batch.max_messages unapplied)");
	e->m_evals_dropped = metrics_counter("paced_evaluations_dropped_total",
	    NULL, "Rep evaluations dropped before judging: the rep's partition "
	    "was revoked, or the loop stalled (owner_fenced), meanwhile");
	e->m_owned = metrics_gauge("paced_owned_reps", NULL,
	    "Reps this member evaluates (their partition is assigned here)");
	e->m_pass_seconds = metrics_gauge("paced_evaluation_pass_seconds",
	    NULL, "The last evaluate_every pass on the wall clock: from its "
	    "tick to its last rep queued (spread over half the interval)");
	e->m_passes = metrics_counter("paced_evaluation_passes_total", NULL,
	    "evaluate_every passes on the wall clock that queued every rep");
	e->m_pass_overruns = metrics_counter(
	    "paced_evaluation_pass_overruns_total", NULL, "evaluate_every "
	    "ticks that came before the last pass had queued every rep (it "
	    "goes on as the new pass)");
	resize(e);
	e->sweep_due = true;	/* reps removed while paced was down */
	arm_wall(e);
	return e;
}

void
evaluator_free(struct evaluator *e)
{
	if (e == NULL)
		return;
	/* Jobs still waiting on Redis or the sinks free themselves when their
	 * callbacks run (both hand NULL/-1 to what is pending when freed);
	 * their ticks are not settled: whoever asked is going away too. */
	for (struct job *j = e->jobs, *next; j != NULL; j = next) {
		next = j->next_job;
		j->e = NULL;
		if (j->tick != NULL && --j->tick->left == 0)
			free(j->tick);
		j->tick = NULL;
		/* Storing: its writes are abandoned (they free themselves
		 * when their replies come), nothing calls it back. */
		if (j->storing)
			job_release(j);
	}
	while (e->nparked > 0)
		queue_push(e, &e->parked[--e->nparked], true);
	while (e->nqueue > 0) {
		struct queued q = queue_pop(e);

		if (q.tick != NULL && --q.tick->left == 0)
			free(q.tick);
	}
	if (e->sweep != NULL && e->sweep->store != NULL)
		sweep_free(e->sweep);	/* storing: nothing calls it back */
	else if (e->sweep != NULL)	/* freed by its pending callback */
		e->sweep->e = NULL;
	event_free(e->wall_ev);
	event_free(e->dirty_ev);
	event_free(e->pump_ev);
	event_free(e->pump_later_ev);
	event_free(e->pass_ev);
	free(e->dirty);
	for (int q = 0; q < DIRTY_QUEUES; q++)
		free(e->dirty_q[q].list);
	free(e->busy);
	free(e->queued_plain);
	free(e->queue);
	free(e->parked);
	free(e->part_seen);
	scorecard_memo_free(e->memo);
	spares_free(e);
	repcache_free(e->cache);
	pace_write_free(e->pace);
	redis_argv_free(e->argv);
	free(e);
}
