/*
 * evaluator_sweep.c: the alerts of reps no longer on the roster, resolved
 * by the evaluator (see the comment below and README "Alert lifecycle").
 */
#include "evaluator_int.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "alert.h"
#include "caltime.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_conn.h"
#include "redis_writes.h"
#include "sink.h"
#include "xmalloc.h"

/*
 * Reps removed from the roster. Their alerts would stay in
 * P:alerts:firing (and /v1/alerts) for ever: no evaluation runs for a rep
 * that is not on the roster. So at start and after every reload the
 * evaluator reads the firing set once, and for each alert of a rep not on
 * the roster whose activity partition this member owns (the partitioner
 * places any rep id), publishes a resolved copy of the stored alert
 * (reason rep_removed) through the sinks, then, once the durable sinks
 * accepted it, deletes it from the firing set and deletes the rep's
 * alert states. The pass is repeated at every evaluate_every tick while
 * it cannot finish: Redis or a sink is down, this member owns nothing
 * yet (before the first assignment, or on the wall clock until the
 * partition is caught up), or an alert of a removed rep belongs to
 * another member (which resolves it once it has the same roster).
 */
void
sweep_free(struct sweep *sw)
{
	for (size_t i = 0; i < sw->nrm; i++)
		eval_removed_clear(&sw->rm[i]);
	free(sw->rm);
	redis_writes_free(sw->store);
	free(sw);
}

static void
sweep_end(struct sweep *sw, bool done)
{
	struct evaluator *e = sw->e;

	if (e != NULL) {
		e->sweep = NULL;
		/* A reload since the read asks for a pass of its own. */
		if (done && sw->gen == e->gen)
			e->sweep_due = false;
		if (sw->nrm > 0 && e->nqueue == 0 && e->inflight == 0)
			sinks_evaluating(e->d.sinks, false);
	}
	sweep_free(sw);
}

/* Redis acknowledged the deletions: the pass is over. */
static void
sweep_stored(void *arg)
{
	struct sweep *sw = arg;

	sweep_end(sw, !sw->foreign);
}

static void
sweep_published(int status, void *arg)
{
	struct sweep *sw = arg;
	struct evaluator *e = sw->e;
	const struct config *cfg;
	struct redis_argv *v;

	if (e == NULL || status != 0) {
		sweep_end(sw, false);
		return;
	}
	cfg = cfg_of(e);
	/* The resolved messages went out: their deletions must reach Redis
	 * before another pass reads the firing set, or it would send them
	 * again. */
	sw->store = redis_writes_new(e->d.base, e->d.conn, "removed reps");
	for (size_t i = 0; i < sw->nrm; i++) {
		const struct eval_removed *rm = &sw->rm[i];

		metrics_inc(e->m_alerts[ALERT_STATUS_RESOLVED]
		    [rm->severity == ALERT_LEVEL_CRITICAL]);
		log_info("alert", "id=%s status=resolved severity=%s reason=%s rep=%s kpi=%s period=%s",
		    rm->alert_id, alert_level_name(rm->severity),
		    alert_reason_name(ALERT_REASON_REP_REMOVED), rm->rep_id,
		    rm->kpi, rm->period);
		/* Back on the roster since (two reloads in a row): its
		 * evaluations own the state again; leave it. */
		if (roster_rep(roster_of(e), rm->rep_id) != NULL)
			continue;
		v = redis_writes_add(sw->store);
		redis_argv_str(v, "HDEL");
		redis_argv_take(v, keys_alerts_firing(cfg));
		redis_argv_str(v, rm->alert_id);
		v = redis_writes_add(sw->store);
		redis_argv_str(v, "DEL");
		redis_argv_take(v, keys_rep_alerts(cfg, rm->rep_id));
	}
	redis_writes_start(sw->store, sweep_stored, sw);
}

static void
sweep_reply(const redisReply *r, void *arg)
{
	struct sweep *sw = arg;
	struct evaluator *e = sw->e;
	struct alert_record *recs;
	int64_t now;

	if (e == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    sw->gen != e->gen || owner_fenced(e->d.owner)) {
		sweep_end(sw, false);
		return;
	}
	now = clock_now(owner_clock(e->d.owner));
	if (now <= 0)		/* the event clock before any event */
		now = caltime_wall_ms();
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *v = r->element[i + 1];
		struct eval_removed rm;

		if (v->type != REDIS_REPLY_STRING ||
		    evaluate_rep_removed(v->str, v->len, now, &rm) != 0)
			continue;
		if (roster_rep(roster_of(e), rm.rep_id) != NULL) {
			eval_removed_clear(&rm);
			continue;
		}
		if (!owner_owns(e->d.owner, rm.rep_id)) {
			sw->foreign = true;
			eval_removed_clear(&rm);
			continue;
		}
		sw->rm = xreallocarray(sw->rm, sw->nrm + 1, sizeof(*sw->rm));
		sw->rm[sw->nrm++] = rm;
	}
	if (sw->nrm == 0) {
		sweep_end(sw, !sw->foreign);
		return;
	}
	recs = xcalloc(sw->nrm, sizeof(*recs));
	for (size_t i = 0; i < sw->nrm; i++) {
		const struct eval_removed *rm = &sw->rm[i];

		recs[i].alert_id = rm->alert_id;
		recs[i].rep_id = rm->rep_id;
		recs[i].team_id = rm->team_id;
		recs[i].manager_id = rm->manager_id;
		recs[i].notify = (const char *const *)rm->notify;
		recs[i].nnotify = rm->nnotify;
		recs[i].status = alert_status_name(ALERT_STATUS_RESOLVED);
		recs[i].severity = alert_level_name(rm->severity);
		recs[i].kpi = rm->kpi;
		recs[i].period = rm->period;
		recs[i].message = rm->message;
		recs[i].json = rm->json;
	}
	sinks_publish(e->d.sinks, recs, sw->nrm, sweep_published, sw);
	free(recs);
}

/* Reads the firing set for the alerts of removed reps, if a pass is due
 * and none is running. */
void
sweep_start(struct evaluator *e)
{
	const struct config *cfg = cfg_of(e);
	struct sweep *sw;
	struct redis_argv *v;
	int rc;

	if (!e->sweep_due || e->sweep != NULL || !redis_conn_up(e->d.conn))
		return;
	v = redis_argv_new();
	redis_argv_str(v, "HGETALL");
	redis_argv_take(v, keys_alerts_firing(cfg));
	sw = xcalloc(1, sizeof(*sw));
	sw->e = e;
	sw->gen = e->gen;
	rc = redis_conn_send(e->d.conn, v, sweep_reply, sw);
	redis_argv_free(v);
	if (rc != 0) {
		free(sw);
		return;
	}
	e->sweep = sw;
}
