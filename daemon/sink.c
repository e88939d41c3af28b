/*
 * sink.c: the fan-out behind sinks_publish and its bookkeeping. Each
 * alert goes to both durable backends (sink_kafka.c, sink_redis.c); a
 * publish record counts their answers and, once every alert has both,
 * reports to the caller from a zero-delay timer (a backend may answer from
 * inside its send call, and the caller must never be called back from
 * inside sinks_publish).
 *
 * A backend that does not accept an alert (the Redis connection lost with
 * the XADD in flight, a delivery report in error) is asked again for that
 * alert alone, after a backoff, until it accepts: the publish answers its
 * caller only once both backends took every alert. Never failing a
 * publish half-way matters: the alerts topic may have taken a message
 * whose stream entry failed, and a publish reported failed would have the
 * evaluator judge the rep again and send the message a second time.
 *
 * Webhooks are told only about alerts the durable sinks accepted, once. The
 * evaluator publishes rep by rep, so digests are gathered in a window
 * and cut per manager at its end: one message per manager per
 * evaluation, not one per rep. The evaluator says when it is busy and
 * when it is idle again (sinks_evaluating); a window closes once it is at
 * least DIGEST_MIN_MS old and the evaluator is idle, so one evaluation is
 * never cut in two however long it takes, and evaluations that follow
 * each other within a second (the members of a group at start, partitions
 * whose backlog is read one after the other) make one digest. An
 * evaluator that never rests still gets its digests at DIGEST_MAX_MS.
 */
#include "sink.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "backoff.h"
#include "budget.h"
#include "caltime.h"
#include "log.h"
#include "metrics.h"
#include "pacing.h"
#include "quiet.h"
#include "redis_conn.h"
#include "xmalloc.h"

/* A digest window, from its first alert: open at least this long, and
 * at most this long while the evaluator stays busy. */
#define DIGEST_MIN_MS		1000
#define DIGEST_MAX_MS		10000
/* A backend's retries of the alerts it did not accept. */
#define RETRY_MIN_MS		500
#define RETRY_MAX_MS		30000
/* While busy past the minimum, the window looks again this often. */
#define DIGEST_RECHECK_MS	100
/* Held digests (quiet hours) look for a team at work this often. */
#define QUIET_CHECK_MS		30000

/* An alert_record that owns its strings. */
struct rec_copy {
	struct alert_record r;
	char **notify;
};

#define TO_KAFKA		0x1
#define TO_REDIS		0x2

struct publish;

/* The argument of one backend's answer about one alert. */
struct send_ref {
	struct publish *p;
	size_t i;
	unsigned to;			/* TO_KAFKA or TO_REDIS */
};

struct publish {
	struct sinks *s;
	size_t pending;			/* backend answers still due */
	bool round_failed;		/* an answer of this round was -1 */
	struct rec_copy *recs;		/* the alerts; moved to a digest */
	size_t n;
	unsigned *todo;			/* per alert: TO_* not yet accepted */
	struct send_ref *refs;		/* per alert, [0] kafka [1] redis */
	bool announce;			/* sinks_announce: no digest */
	char *body;			/* its body for every webhook; may be NULL */
	sinks_done_cb *cb;
	void *arg;
	struct event *done_ev;
	struct event *retry_ev;
	struct backoff backoff;
	int rounds;			/* sends of the alerts not accepted */
	TAILQ_ENTRY(publish) entry;
};

TAILQ_HEAD(publish_list, publish);

struct sinks {
	struct event_base *base;
	struct sink_kafka *kafka;
	struct sink_redis *redis;	/* NULL without a Redis connection */
	struct sink_webhook **webhooks;	/* an entry is NULL if its URL is bad */
	size_t nwebhooks;
	struct publish_list publishes;

	struct rec_copy *window;	/* accepted alerts awaiting a digest */
	size_t nwindow, capwindow;
	struct event *window_ev;
	int64_t window_opened_ms;	/* monotonic: its first alert */
	bool evaluating;		/* the evaluator has work */

	/* alerts.max_per_manager_per_day, counted on the local day of the
	 * alert's team */
	struct budget *budget;
	long max_per_day;
	char **team_ids;		/* owned, with their zones */
	struct tzone **team_zones;
	size_t nteams;
	/* alerts.quiet_hours: per team, whether it has them and its
	 * calendar (holidays owned); the digests held meanwhile */
	bool *team_quiet;
	struct pacing_calendar *team_cals;
	struct quiet *held;
	struct event *quiet_ev;

	struct metric *m_fail_kafka, *m_fail_redis, *m_retries;
};

static void
teams_free(struct sinks *s)
{
	for (size_t i = 0; i < s->nteams; i++) {
		free(s->team_ids[i]);
		tzone_free(s->team_zones[i]);
		free((int32_t *)s->team_cals[i].holidays);
	}
	free(s->team_ids);
	free(s->team_zones);
	free(s->team_quiet);
	free(s->team_cals);
	s->team_ids = NULL;
	s->team_zones = NULL;
	s->team_quiet = NULL;
	s->team_cals = NULL;
	s->nteams = 0;
}

static bool
quiet_named(const struct config_alerts *al, const char *team)
{
	switch (al->quiet_mode) {
	case QUIET_ALL:
		return true;
	case QUIET_NONE:
		return false;
	case QUIET_LISTED:
		for (size_t i = 0; i < al->nquiet_teams; i++)
			if (al->quiet_teams[i] != NULL &&
			    strcmp(al->quiet_teams[i], team) == 0)
				return true;
		return false;
	}
	return false;
}

/* The budget's rules and the teams' zones from cfg (borrowed). */
static void
budget_config(struct sinks *s, const struct config *cfg)
{
	char err[128];

	teams_free(s);
	s->max_per_day = cfg->alerts.max_per_manager_per_day;
	s->team_ids = xcalloc(cfg->nteams ? cfg->nteams : 1,
	    sizeof(*s->team_ids));
	s->team_zones = xcalloc(cfg->nteams ? cfg->nteams : 1,
	    sizeof(*s->team_zones));
	s->team_quiet = xcalloc(cfg->nteams ? cfg->nteams : 1,
	    sizeof(*s->team_quiet));
	s->team_cals = xcalloc(cfg->nteams ? cfg->nteams : 1,
	    sizeof(*s->team_cals));
	for (size_t i = 0; i < cfg->nteams; i++) {
		const struct config_calendar *cc =
		    &cfg->calendars[cfg->teams[i].calendar];
		struct pacing_calendar *pc = &s->team_cals[i];
		int32_t *hol = NULL;

		s->team_ids[i] = xstrdup(cfg->teams[i].id);
		/* Validated at load; a zone that fails here counts in UTC
		 * and has no quiet hours. */
		s->team_zones[i] = tzone_open(cfg->teams[i].timezone, err,
		    sizeof(err));
		s->team_quiet[i] = s->team_zones[i] != NULL &&
		    quiet_named(&cfg->alerts, cfg->teams[i].id);
		pc->working_days = cc->working_days;
		pc->work_start_min = cc->work_start_min;
		pc->work_end_min = cc->work_end_min;
		if (cc->nholidays > 0) {
			hol = xcalloc(cc->nholidays, sizeof(*hol));
			memcpy(hol, cc->holidays, cc->nholidays * sizeof(*hol));
		}
		pc->holidays = hol;
		pc->nholidays = cc->nholidays;
	}
	s->nteams = cfg->nteams;
}

static ssize_t
team_index(const struct sinks *s, const char *team)
{
	if (team == NULL)
		return -1;
	for (size_t i = 0; i < s->nteams; i++)
		if (strcmp(s->team_ids[i], team) == 0)
			return (ssize_t)i;
	return -1;
}

/* May a digest about team go out now? Yes outside quiet hours (a team
 * without them, or one not known, is always at work). */
static bool
team_at_work(void *ctx, const char *team)
{
	struct sinks *s = ctx;
	ssize_t i = team_index(s, team);

	if (i < 0 || !s->team_quiet[i])
		return true;
	return quiet_working(&s->team_cals[i], s->team_zones[i],
	    caltime_wall_ms());
}

/* Today in the zone of a's team (UTC for a team not known). */
static int32_t
budget_day(void *ctx, const struct alert_record *a)
{
	struct sinks *s = ctx;
	int64_t now = caltime_wall_ms();

	for (size_t i = 0; i < s->nteams; i++)
		if (a->team_id != NULL && s->team_zones[i] != NULL &&
		    strcmp(s->team_ids[i], a->team_id) == 0)
			return tzone_local_day(s->team_zones[i], now);
	return (int32_t)(now / 86400000);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
rec_copy(struct rec_copy *dst, const struct alert_record *a)
{
	memset(dst, 0, sizeof(*dst));
	dst->r.alert_id = dup_or_null(a->alert_id);
	dst->r.rep_id = dup_or_null(a->rep_id);
	dst->r.team_id = dup_or_null(a->team_id);
	dst->r.manager_id = dup_or_null(a->manager_id);
	dst->r.status = dup_or_null(a->status);
	dst->r.severity = dup_or_null(a->severity);
	dst->r.kpi = dup_or_null(a->kpi);
	dst->r.period = dup_or_null(a->period);
	dst->r.message = dup_or_null(a->message);
	dst->r.json = dup_or_null(a->json);
	dst->r.superseded_id = dup_or_null(a->superseded_id);
	if (a->nnotify > 0) {
		dst->notify = xcalloc(a->nnotify, sizeof(*dst->notify));
		for (size_t i = 0; i < a->nnotify; i++)
			dst->notify[i] = dup_or_null(a->notify[i]);
	}
	dst->r.notify = (const char *const *)dst->notify;
	dst->r.nnotify = a->nnotify;
}

static void
rec_clear(struct rec_copy *c)
{
	free((char *)c->r.alert_id);
	free((char *)c->r.rep_id);
	free((char *)c->r.team_id);
	free((char *)c->r.manager_id);
	free((char *)c->r.status);
	free((char *)c->r.severity);
	free((char *)c->r.kpi);
	free((char *)c->r.period);
	free((char *)c->r.message);
	free((char *)c->r.json);
	free((char *)c->r.superseded_id);
	for (size_t i = 0; i < c->r.nnotify; i++)
		free(c->notify[i]);
	free(c->notify);
}

static bool
any_digest(const struct sinks *s)
{
	for (size_t i = 0; i < s->nwebhooks; i++)
		if (s->webhooks[i] != NULL && sink_webhook_digest(s->webhooks[i]))
			return true;
	return false;
}

static void
window_clear(struct sinks *s)
{
	for (size_t i = 0; i < s->nwindow; i++)
		rec_clear(&s->window[i]);
	s->nwindow = 0;
}

/* One digest per manager of the n alerts to every digest webhook. */
static void
send_digests(struct sinks *s, const struct alert_record *recs, size_t n)
{
	struct sink_budget bud = { s->budget, s->max_per_day, budget_day, s };
	char **bodies;
	size_t nb;

	if (n == 0)
		return;
	nb = sink_webhook_digests_budget(recs, n, &bud, &bodies);
	for (size_t i = 0; i < s->nwebhooks; i++) {
		if (s->webhooks[i] == NULL || !sink_webhook_digest(s->webhooks[i]))
			continue;
		for (size_t b = 0; b < nb; b++)
			sink_webhook_enqueue(s->webhooks[i], xstrdup(bodies[b]));
	}
	for (size_t b = 0; b < nb; b++)
		free(bodies[b]);
	free(bodies);
}

static void
rec_free(void *p)
{
	rec_clear(p);
	free(p);
}

/*
 * The window closed: the alerts of teams in quiet hours are held (quiet.c
 * merges them), the others go out as one digest per manager.
 */
static void
window_close(struct sinks *s)
{
	struct alert_record *recs;
	size_t n = 0;

	if (s->window_ev != NULL)
		evtimer_del(s->window_ev);
	if (s->nwindow == 0)
		return;
	recs = xcalloc(s->nwindow, sizeof(*recs));
	for (size_t i = 0; i < s->nwindow; i++) {
		struct rec_copy *c;

		if (team_at_work(s, s->window[i].r.team_id)) {
			recs[n++] = s->window[i].r;
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		*c = s->window[i];
		memset(&s->window[i], 0, sizeof(s->window[i]));
		quiet_hold(s->held, c->r.alert_id, c->r.team_id,
		    c->r.status != NULL && strcmp(c->r.status, "firing") == 0,
		    c->r.superseded_id, c);
	}
	send_digests(s, recs, n);
	free(recs);
	window_clear(s);
}

/* Quiet hours over for some team: what it held goes out, merged. */
static void
quiet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sinks *s = arg;
	struct timeval tv = { QUIET_CHECK_MS / 1000, 0 };
	struct alert_record *recs;
	void **items;
	size_t n;

	(void)fd;
	(void)what;
	evtimer_add(s->quiet_ev, &tv);
	if ((n = quiet_release(s->held, team_at_work, s, &items)) == 0)
		return;
	recs = xcalloc(n, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		recs[i] = ((struct rec_copy *)items[i])->r;
	send_digests(s, recs, n);
	for (size_t i = 0; i < n; i++)
		rec_free(items[i]);
	free(items);
	free(recs);
}

static void
window_arm(struct sinks *s, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(s->window_ev, &tv);
}

static void
window_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sinks *s = arg;
	int64_t age = caltime_mono_ms() - s->window_opened_ms;

	(void)fd;
	(void)what;
	if (!s->evaluating || age >= DIGEST_MAX_MS)
		window_close(s);
	else
		window_arm(s, DIGEST_RECHECK_MS);
}

void
sinks_evaluating(struct sinks *s, bool busy)
{
	if (s == NULL)
		return;
	s->evaluating = busy;
	if (!busy && s->nwindow > 0 &&
	    caltime_mono_ms() - s->window_opened_ms >= DIGEST_MIN_MS)
		window_close(s);
}

/* The durable sinks took p's alerts: hand them to the webhooks. */
static void
notify_webhooks(struct sinks *s, struct publish *p)
{
	bool digest = any_digest(s);

	for (size_t i = 0; i < s->nwebhooks; i++) {
		if (s->webhooks[i] == NULL || sink_webhook_digest(s->webhooks[i]))
			continue;
		for (size_t k = 0; k < p->n; k++)
			sink_webhook_enqueue(s->webhooks[i],
			    sink_webhook_single(&p->recs[k].r));
	}
	if (!digest || p->n == 0)
		return;
	if (s->nwindow + p->n > s->capwindow) {
		s->capwindow = s->nwindow + p->n > s->capwindow * 2 ?
		    s->nwindow + p->n : s->capwindow * 2;
		s->window = xreallocarray(s->window, s->capwindow,
		    sizeof(*s->window));
	}
	/* The copies move into the window. */
	memcpy(&s->window[s->nwindow], p->recs, p->n * sizeof(*p->recs));
	s->nwindow += p->n;
	free(p->recs);
	p->recs = NULL;
	p->n = 0;
	if (!evtimer_pending(s->window_ev, NULL)) {
		s->window_opened_ms = caltime_mono_ms();
		window_arm(s, DIGEST_MIN_MS);
	}
}

static void
publish_free(struct publish *p)
{
	if (p->recs != NULL) {
		for (size_t i = 0; i < p->n; i++)
			rec_clear(&p->recs[i]);
		free(p->recs);
	}
	event_free(p->done_ev);
	free(p->body);
	event_free(p->retry_ev);
	free(p->todo);
	free(p->refs);
	free(p);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct publish *p = arg;
	struct sinks *s = p->s;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&s->publishes, p, entry);
	if (p->announce) {
		/* An announcement: its own body, to every webhook. */
		for (size_t i = 0; p->body != NULL && i < s->nwebhooks; i++)
			if (s->webhooks[i] != NULL)
				sink_webhook_enqueue(s->webhooks[i],
				    xstrdup(p->body));
	} else if (p->recs != NULL)
		notify_webhooks(s, p);
	p->cb(0, p->arg);
	publish_free(p);
}

static sink_result_cb kafka_result, redis_result;

static void
send_one(struct publish *p, size_t i, unsigned to)
{
	struct send_ref *ref = &p->refs[2 * i + (to == TO_REDIS)];

	if (to == TO_KAFKA)
		sink_kafka_send(p->s->kafka, &p->recs[i].r, kafka_result, ref);
	else
		sink_redis_send(p->s->redis, &p->recs[i].r, redis_result, ref);
}

/* Sends again what was not accepted; every answer is counted before the
 * first send, as a backend may answer from inside it. */
static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct publish *p = arg;

	(void)fd;
	(void)what;
	p->round_failed = false;
	p->rounds++;
	for (size_t i = 0; i < p->n; i++)
		p->pending += (p->todo[i] & TO_KAFKA ? 1 : 0) +
		    (p->todo[i] & TO_REDIS ? 1 : 0);
	for (size_t i = 0; i < p->n; i++) {
		unsigned todo = p->todo[i];

		if (todo & TO_KAFKA)
			send_one(p, i, TO_KAFKA);
		if (todo & TO_REDIS)
			send_one(p, i, TO_REDIS);
	}
}

static void
answered(struct send_ref *ref, int status)
{
	struct publish *p = ref->p;
	struct timeval zero = { 0, 0 };

	if (status != 0)
		p->round_failed = true;
	else
		p->todo[ref->i] &= ~ref->to;
	if (--p->pending > 0)
		return;
	if (!p->round_failed) {
		evtimer_add(p->done_ev, &zero);
		return;
	}
	/* Only the alerts a backend did not take go again: the other one
	 * has them already, and must not get them twice. */
	metrics_inc(p->s->m_retries);
	if (p->rounds == 0)
		log_warnx("sink_retry", "alerts=%zu first=%s retry_ms=%ld",
		    p->n, p->recs[0].r.alert_id, p->backoff.next_ms);
	backoff_arm(&p->backoff, p->retry_ev, true);
}

static void
kafka_result(int status, void *arg)
{
	struct send_ref *ref = arg;

	if (status != 0)
		metrics_inc(ref->p->s->m_fail_kafka);
	answered(ref, status);
}

static void
redis_result(int status, void *arg)
{
	struct send_ref *ref = arg;

	if (status != 0)
		metrics_inc(ref->p->s->m_fail_redis);
	answered(ref, status);
}

static void
webhooks_free(struct sinks *s)
{
	for (size_t i = 0; i < s->nwebhooks; i++)
		sink_webhook_free(s->webhooks[i]);
	free(s->webhooks);
	s->webhooks = NULL;
	s->nwebhooks = 0;
}

struct sinks *
sinks_new(struct event_base *base, const struct config *cfg,
    struct redis_conn *conn, char *err, size_t errlen)
{
	struct sinks *s = xcalloc(1, sizeof(*s));
	const struct config_alerts *al = &cfg->alerts;

	s->base = base;
	TAILQ_INIT(&s->publishes);
	s->window_ev = evtimer_new(base, window_cb, s);
	s->budget = budget_new();
	budget_config(s, cfg);
	s->held = quiet_new(rec_free);
	s->quiet_ev = evtimer_new(base, quiet_cb, s);
	{
		struct timeval tv = { QUIET_CHECK_MS / 1000, 0 };

		evtimer_add(s->quiet_ev, &tv);
	}
	s->m_fail_kafka = metrics_counter("paced_sink_failures_total",
	    "sink=\"kafka\"", "Alerts a durable sink did not accept");
	s->m_fail_redis = metrics_counter("paced_sink_failures_total",
	    "sink=\"redis\"", "Alerts a durable sink did not accept");
	s->m_retries = metrics_counter("paced_sink_retries_total", NULL,
	    "Rounds of sending again the alerts a durable sink did not "
	    "accept (only to that sink)");
	if (al->nwebhooks > 0)
		s->webhooks = xcalloc(al->nwebhooks, sizeof(*s->webhooks));
	for (size_t i = 0; i < al->nwebhooks; i++) {
		s->webhooks[i] = sink_webhook_new(base, (int)i, &al->webhooks[i],
		    err, errlen);
		if (s->webhooks[i] == NULL) {
			s->nwebhooks = i;
			sinks_free(s, 0);
			return NULL;
		}
		s->nwebhooks = i + 1;
	}
	if ((s->kafka = sink_kafka_new(base, cfg, err, errlen)) == NULL) {
		sinks_free(s, 0);
		return NULL;
	}
	if (conn != NULL)
		s->redis = sink_redis_new(conn, cfg);
	return s;
}

void
sinks_free(struct sinks *s, int timeout_ms)
{
	struct publish *p;

	if (s == NULL)
		return;
	/* Backends first: after their free no answer reaches a publish. */
	sink_kafka_free(s->kafka, timeout_ms);
	sink_redis_free(s->redis);
	/* Whatever is still pending is answered "not accepted", so the
	 * callers can release what they hold for it. */
	while ((p = TAILQ_FIRST(&s->publishes)) != NULL) {
		TAILQ_REMOVE(&s->publishes, p, entry);
		p->cb(-1, p->arg);
		publish_free(p);
	}
	if (s->nwindow > 0)
		log_warnx("webhook_digests_dropped", "alerts=%zu", s->nwindow);
	window_clear(s);
	free(s->window);
	if (s->window_ev != NULL)
		event_free(s->window_ev);
	webhooks_free(s);
	budget_free(s->budget);
	if (s->held != NULL && quiet_count(s->held) > 0)
		log_warnx("webhook_quiet_dropped", "alerts=%zu",
		    quiet_count(s->held));
	quiet_free(s->held);
	if (s->quiet_ev != NULL)
		event_free(s->quiet_ev);
	teams_free(s);
	free(s);
}

/* sinks_publish, and sinks_announce (announce, with body: borrowed). */
static void
publish_start(struct sinks *s, const struct alert_record *alerts, size_t n,
    bool announce, const char *body, sinks_done_cb *cb, void *arg)
{
	struct publish *p = xcalloc(1, sizeof(*p));
	struct timeval zero = { 0, 0 };
	unsigned all = TO_KAFKA | (s->redis != NULL ? TO_REDIS : 0);

	p->s = s;
	p->cb = cb;
	p->arg = arg;
	p->announce = announce;
	p->body = body != NULL ? xstrdup(body) : NULL;
	p->done_ev = evtimer_new(s->base, done_cb, p);
	p->retry_ev = evtimer_new(s->base, retry_cb, p);
	backoff_init(&p->backoff, RETRY_MIN_MS, RETRY_MAX_MS);
	TAILQ_INSERT_TAIL(&s->publishes, p, entry);
	if (n == 0) {
		evtimer_add(p->done_ev, &zero);
		return;
	}
	/* Copies: a retry may come long after the caller's call. */
	p->recs = xcalloc(n, sizeof(*p->recs));
	p->todo = xcalloc(n, sizeof(*p->todo));
	p->refs = xcalloc(2 * n, sizeof(*p->refs));
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		rec_copy(&p->recs[i], &alerts[i]);
		p->todo[i] = all;
		p->refs[2 * i] = (struct send_ref){ p, i, TO_KAFKA };
		p->refs[2 * i + 1] = (struct send_ref){ p, i, TO_REDIS };
	}
	/* All answers are counted before the first send: a backend may
	 * answer from inside its send call. */
	p->pending = n * (s->redis != NULL ? 2 : 1);
	for (size_t i = 0; i < n; i++) {
		send_one(p, i, TO_KAFKA);
		if (s->redis != NULL)
			send_one(p, i, TO_REDIS);
	}
}

void
sinks_publish(struct sinks *s, const struct alert_record *alerts, size_t n,
    sinks_done_cb *cb, void *arg)
{
	publish_start(s, alerts, n, false, NULL, cb, arg);
}

void
sinks_announce(struct sinks *s, const char *id, const char *key,
    const char *kind, const char *json, const char *webhook_body,
    sinks_done_cb *cb, void *arg)
{
	struct alert_record r = { .alert_id = id, .rep_id = key,
	    .status = kind, .severity = "", .json = json };

	publish_start(s, &r, 1, true, webhook_body, cb, arg);
}

void
sinks_set_config(struct sinks *s, const struct config *cfg)
{
	const struct config_alerts *al = &cfg->alerts;
	struct sink_webhook **next;
	char err[256];

	if (s->redis != NULL)
		sink_redis_set_config(s->redis, cfg);
	budget_config(s, cfg);
	/* A webhook whose URL is unchanged keeps its queue and connection;
	 * any other is replaced. */
	next = xcalloc(al->nwebhooks > 0 ? al->nwebhooks : 1, sizeof(*next));
	for (size_t i = 0; i < al->nwebhooks; i++) {
		const struct config_webhook *w = &al->webhooks[i];

		if (i < s->nwebhooks && s->webhooks[i] != NULL && w->url != NULL &&
		    strcmp(sink_webhook_url(s->webhooks[i]), w->url) == 0) {
			sink_webhook_set_config(s->webhooks[i], w);
			next[i] = s->webhooks[i];
			s->webhooks[i] = NULL;
			continue;
		}
		if ((next[i] = sink_webhook_new(s->base, (int)i, w, err,
		    sizeof(err))) == NULL)
			log_warnx("webhook_config_failed", "webhook=%zu err=%s",
			    i, log_quote(err));
	}
	webhooks_free(s);
	s->webhooks = next;
	s->nwebhooks = al->nwebhooks;
	if (s->nwindow > 0 && !any_digest(s))
		window_clear(s);
}
