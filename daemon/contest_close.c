/*
 * contest_close.c: publishing the results of ended contests, exactly
 * once per contest (see contest_close.h). Its timer runs every
 * CLOSE_EVERY_MS; each look sends at most one closing call per contest
 * that is due and not known done here, so the work per tick is bounded by
 * the number of contests (at most CONTESTS_MAX), never by the roster.
 *
 * A contest's result marker (keys_contest_result) goes pending when
 * claimed and sent once the alerts topic and the Redis stream accepted
 * the message. A crash between the two leaves it pending: after the
 * lease the message goes out again, the same bytes with the same
 * result_id, which is all that can be promised with sinks outside Redis
 * (consumers keep the first of a result_id).
 */
#include "contest_close.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "caltime.h"
#include "contest.h"
#include "contest_redis.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "owner.h"
#include "redis_conn.h"
#include "reply.h"
#include "sink.h"
#include "xmalloc.h"

#define CLOSE_EVERY_MS	5000
/* A claim younger than this is left to its holder. */
#define CLOSE_LEASE_MS	60000

/* What is known here of one contest, by id. */
struct known {
	char *id;
	bool sent;		/* the marker reads sent */
	bool busy;		/* a closing of ours is under way */
};

/* One closing under way. */
struct job {
	struct contest_close *cc;	/* NULL: orphaned by a free */
	char *id;
	LIST_ENTRY(job) entry;
};

struct contest_close {
	struct contest_close_deps d;
	int sha;
	struct event *timer;
	struct known *known;
	size_t nknown, capknown;
	LIST_HEAD(, job) jobs;
	struct metric *m_sent, *m_failed;
};

static struct known *
known_of(struct contest_close *cc, const char *id)
{
	for (size_t i = 0; i < cc->nknown; i++)
		if (strcmp(cc->known[i].id, id) == 0)
			return &cc->known[i];
	if (cc->nknown == cc->capknown) {
		cc->capknown = cc->capknown ? cc->capknown * 2 : 8;
		cc->known = xreallocarray(cc->known, cc->capknown,
		    sizeof(*cc->known));
	}
	memset(&cc->known[cc->nknown], 0, sizeof(cc->known[0]));
	cc->known[cc->nknown].id = xstrdup(id);
	return &cc->known[cc->nknown++];
}

static void
job_free(struct job *j)
{
	if (j->cc != NULL)
		LIST_REMOVE(j, entry);
	free(j->id);
	free(j);
}

/* The job ends; busy is cleared, sent set when done. */
static void
job_end(struct job *j, bool sent, const char *why)
{
	struct contest_close *cc = j->cc;

	if (cc != NULL) {
		struct known *k = known_of(cc, j->id);

		k->busy = false;
		if (sent)
			k->sent = true;
		if (why != NULL) {
			metrics_inc(cc->m_failed);
			log_warnx("contest_result_failed", "contest=%s err=%s",
			    j->id, log_quote(why));
		}
	}
	job_free(j);
}

static void
marked(const redisReply *r, void *arg)
{
	struct job *j = arg;
	const char *err = reply_error_text(r);

	/* Not marked: the next claim after the lease sends it again. */
	job_end(j, err == NULL, err);
}

/* The durable sinks answered the result. */
static void
announced(int status, void *arg)
{
	struct job *j = arg;
	struct contest_close *cc = j->cc;
	struct redis_argv *v;

	if (cc == NULL || status != 0) {
		job_end(j, false, status != 0 ? "a durable sink did not "
		    "accept the result; it goes again after the lease" : NULL);
		return;
	}
	metrics_inc(cc->m_sent);
	log_info("contest_result_sent", "contest=%s", j->id);
	v = redis_argv_new();
	redis_argv_str(v, "HSET");
	redis_argv_take(v, keys_contest_result(*cc->d.cfg, j->id));
	redis_argv_str(v, "state");
	redis_argv_str(v, "sent");
	redis_argv_str(v, "sent_at");
	redis_argv_fmt(v, "%" PRId64, caltime_wall_ms());
	if (redis_conn_send(cc->d.conn, v, marked, j) != 0)
		job_end(j, false, "Redis not connected: the marker stays "
		    "pending");
	redis_argv_free(v);
}

/* The closing script answered: sent, busy, or go with the standings. */
static void
claimed(const redisReply *r, void *arg)
{
	struct job *j = arg;
	struct contest_close *cc = j->cc;
	const struct config *cfg;
	const struct config_contest *ct;
	struct contest_line *lines;
	const char *err = reply_error_text(r);
	char *json, *hook, *text, rid[160];

	if (cc == NULL) {
		job_end(j, false, NULL);
		return;
	}
	if (err == NULL && (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    (r->element[0]->type != REDIS_REPLY_STATUS &&
	    r->element[0]->type != REDIS_REPLY_STRING)))
		err = "unexpected reply shape from the contest close script";
	if (err != NULL) {
		if (reply_noscript(r))
			redis_conn_reset(cc->d.conn, "script missing (NOSCRIPT)");
		job_end(j, false, err);
		return;
	}
	if (strcmp(r->element[0]->str, "go") != 0) {
		job_end(j, strcmp(r->element[0]->str, "sent") == 0, NULL);
		return;
	}
	cfg = *cc->d.cfg;
	if ((ct = contest_find(cfg, j->id)) == NULL) {
		job_end(j, false, "the contest left the config while closing");
		return;
	}
	lines = xcalloc(ct->nmembers + 1, sizeof(*lines));
	if (r->elements != 3 || contest_redis_lines(cfg, ct, r->element[1],
	    r->element[2], lines) != 0) {
		free(lines);
		job_end(j, false, "unexpected standings from the contest "
		    "close script");
		return;
	}
	contest_rank(cfg, ct, lines, ct->nmembers);
	contest_result(cfg, ct, lines, ct->nmembers, &json, &hook, &text);
	snprintf(rid, sizeof(rid), "contest:%s:result", ct->id);
	log_info("contest_ended", "contest=%s result=%s", ct->id,
	    log_quote(text));
	sinks_announce(cc->d.sinks, rid, ct->id, "contest_result", json, hook,
	    announced, j);
	free(json);
	free(hook);
	free(text);
	free(lines);
}

static void
look(struct contest_close *cc)
{
	const struct config *cfg = *cc->d.cfg;
	int64_t now = clock_now(owner_clock(cc->d.owner));
	struct redis_argv *v = NULL;

	if (!redis_conn_up(cc->d.conn))
		return;
	for (size_t i = 0; i < cfg->ncontests; i++) {
		const struct config_contest *ct = &cfg->contests[i];
		struct known *k;
		struct job *j;

		if (!contest_due(ct, now))
			continue;
		k = known_of(cc, ct->id);
		if (k->sent || k->busy)
			continue;
		if (v == NULL)
			v = redis_argv_new();
		redis_argv_reset(v);
		redis_argv_str(v, "EVALSHA");
		redis_argv_str(v, redis_conn_script_sha(cc->d.conn, cc->sha));
		redis_argv_str(v, "3");
		redis_argv_take(v, keys_contest_result(cfg, ct->id));
		redis_argv_take(v, keys_contest_board(cfg, ct->id));
		redis_argv_take(v, keys_contest_reached(cfg, ct->id));
		/* The lease runs on the wall clock: the event clock may
		 * stand still. */
		redis_argv_fmt(v, "%" PRId64, caltime_wall_ms());
		redis_argv_fmt(v, "%d", CLOSE_LEASE_MS);
		redis_argv_fmt(v, "%" PRId64,
		    keys_contest_expire_at(cfg, ct->last_day));
		j = xcalloc(1, sizeof(*j));
		j->cc = cc;
		j->id = xstrdup(ct->id);
		LIST_INSERT_HEAD(&cc->jobs, j, entry);
		k->busy = true;
		if (redis_conn_send(cc->d.conn, v, claimed, j) != 0)
			job_end(j, false, NULL);
	}
	redis_argv_free(v);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	look(arg);
}

struct contest_close *
contest_close_new(const struct contest_close_deps *d)
{
	struct contest_close *cc = xcalloc(1, sizeof(*cc));
	struct timeval tv = { CLOSE_EVERY_MS / 1000,
	    (CLOSE_EVERY_MS % 1000) * 1000 };

	cc->d = *d;
	LIST_INIT(&cc->jobs);
	cc->sha = redis_conn_add_script(d->conn, contest_redis_close_script());
	cc->m_sent = metrics_counter("paced_contest_results_total",
	    "outcome=\"sent\"", "Contest results published, by outcome");
	cc->m_failed = metrics_counter("paced_contest_results_total",
	    "outcome=\"failed\"", "Contest results published, by outcome");
	cc->timer = event_new(d->base, -1, EV_PERSIST, timer_cb, cc);
	event_add(cc->timer, &tv);
	return cc;
}

void
contest_close_free(struct contest_close *cc)
{
	struct job *j;

	if (cc == NULL)
		return;
	while ((j = LIST_FIRST(&cc->jobs)) != NULL) {
		LIST_REMOVE(j, entry);
		j->cc = NULL;
	}
	event_free(cc->timer);
	for (size_t i = 0; i < cc->nknown; i++)
		free(cc->known[i].id);
	free(cc->known);
	free(cc);
}
