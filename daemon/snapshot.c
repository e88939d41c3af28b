/*
 * snapshot.c: owns the scorecard snapshots producer. Called by the
 * evaluator (through main.c) for every rep it judges, with the rep's
 * scorecards; its own work is bounded by the evaluator's (at most one
 * snapshot of a rep's open buckets per judgement, at most one read per
 * closed bucket), and it is called nowhere else.
 *
 * Per rep it remembers when its open buckets were last snapshot and, per
 * period, the bucket last judged. A closed bucket gets a final job: read
 * the rep's counters there and the bucket's marker (one place,
 * read_counters, reads rep counters); unless the marker is set, compute
 * the bucket's figures at its last instant, produce them marked final,
 * and once the topic has acknowledged them all, set the marker. A job
 * that fails forgets the bucket judged, so the next judgement of the rep
 * looks at the closed bucket again.
 *
 * The forecast of a rep whose role has a funnel comes from the record's
 * scorecard and the rates funnel_cache.c keeps (told of every rep
 * judged here): no read of its own per snapshot.
 */
#include "snapshot.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "caltime.h"
#include "funnel_cache.h"
#include "jsonout.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "pacing.h"
#include "producer.h"
#include "redis_conn.h"
#include "xmalloc.h"

#define UNKNOWN_DAY	INT32_MIN
/* A forecast of a 16-KPI funnel with 64-byte names fits. */
#define MSG_MAX		8192

struct final_job {
	struct snapshot *s;		/* NULL once s is freed */
	char *rep_id;
	enum period p;
	int32_t start_day;
	int replies;			/* Redis replies owed */
	bool failed, marked;
	double *actual;			/* per KPI */
	size_t nkpis;
	size_t acks;			/* messages not yet acknowledged */
	struct final_job *next, *prev;
};

struct rep_seen {
	int64_t last_ms;		/* open buckets last snapshot; 0: never */
	int32_t known[PERIOD_COUNT];	/* bucket last judged, or UNKNOWN_DAY */
};

struct snapshot {
	struct event_base *base;
	struct redis_conn *conn;
	const struct config *const *cfg;
	const struct roster *const *roster;
	struct producer *p;
	char *topic;
	struct rep_seen *reps;
	size_t nreps;
	struct final_job *jobs;
	struct funnel_cache *fc;
	struct metric *m_open, *m_final, *m_retried, *m_final_failed;
};

static void
job_unlink_free(struct final_job *j)
{
	if (j->s != NULL) {
		if (j->prev != NULL)
			j->prev->next = j->next;
		else
			j->s->jobs = j->next;
		if (j->next != NULL)
			j->next->prev = j->prev;
	}
	free(j->rep_id);
	free(j->actual);
	free(j);
}

static struct rep_seen *
seen_of(struct snapshot *s, size_t index)
{
	if (index >= s->nreps) {
		size_t n = index + 1 > s->nreps * 2 ? index + 1 : s->nreps * 2;

		s->reps = xreallocarray(s->reps, n, sizeof(*s->reps));
		for (size_t k = s->nreps; k < n; k++) {
			s->reps[k].last_ms = 0;
			for (int p = 0; p < PERIOD_COUNT; p++)
				s->reps[k].known[p] = UNKNOWN_DAY;
		}
		s->nreps = n;
	}
	return &s->reps[index];
}

/* ---- message text ---- */

size_t
snapshot_key(const struct roster_rep *rr, const struct config *cfg, size_t k,
    const struct scorecard *card, char *buf, size_t cap)
{
	struct jsonout o = { buf, cap, 0 };
	char date[16];

	caltime_format_date(card->bucket.start_day, date, sizeof(date));
	jsonout_lit(&o, rr->rep->id);
	jsonout_raw(&o, "|", 1);
	jsonout_lit(&o, cfg->kpis[k].name);
	jsonout_raw(&o, "|", 1);
	jsonout_lit(&o, caltime_period_name(card->period));
	jsonout_raw(&o, "|", 1);
	jsonout_lit(&o, date);
	return o.len;
}

static void
opt_num(struct jsonout *o, const char *name, bool has, double v)
{
	jsonout_lit(o, name);
	if (has)
		jsonout_num(o, v);
	else
		jsonout_lit(o, "null");
}

void
snapshot_forecast(const struct roster_rep *rr, const struct config *cfg,
    const struct scorecard *card, const struct funnel_cache_rates *rates,
    struct snapshot_forecast *out)
{
	const struct config_role *role = &cfg->roles[rr->rep->role];
	size_t last = role->funnel[role->nfunnel - 1];
	struct funnel_forecast_in in;

	memset(out, 0, sizeof(*out));
	memset(&in, 0, sizeof(in));
	out->rates = *rates;
	in.n = role->nfunnel;
	in.top_so_far = card->kpis[role->funnel[0]].actual;
	in.elapsed_fraction = pacing_worktime_fraction(&card->wt);
	for (size_t i = 0; i + 1 < role->nfunnel; i++)
		in.rate[i] = rates->conv[i].used;
	in.deal_size = cfg->funnel.has_revenue ? rates->deal_size :
	    (struct funnel_value){ false, 0 };
	if (cfg->funnel.has_revenue &&
	    card->kpis[cfg->funnel.revenue_kpi].has_target) {
		in.target_kind = FUNNEL_TARGET_REVENUE;
		in.target = card->kpis[cfg->funnel.revenue_kpi].fig.target;
	} else if (card->kpis[last].has_target) {
		in.target_kind = FUNNEL_TARGET_DEALS;
		in.target = card->kpis[last].fig.target;
	}
	funnel_forecast(&in, &out->fc);
	out->elapsed_fraction = in.elapsed_fraction;
}

static void
opt_value(struct jsonout *o, const char *name, const struct funnel_value *v)
{
	opt_num(o, name, v->has, v->v);
}

/* ,"forecast":{...} of a rep whose role has a funnel (mirrors the rep
 * forecast of GET /v1/reps/{id}/funnel, with the rates it used). */
static void
forecast_json(struct jsonout *o, const struct roster_rep *rr,
    const struct config *cfg, const struct snapshot_forecast *f)
{
	const struct config_role *role = &cfg->roles[rr->rep->role];
	const struct funnel_forecast *fc;
	struct funnel_value money;

	if (role->nfunnel == 0)
		return;
	if (f == NULL) {
		jsonout_lit(o, ",\"forecast\":null");
		return;
	}
	fc = &f->fc;
	jsonout_lit(o, ",\"forecast\":{\"top_kpi\":");
	jsonout_str(o, cfg->kpis[role->funnel[0]].name);
	jsonout_lit(o, ",\"elapsed_fraction\":");
	jsonout_num(o, f->elapsed_fraction);
	jsonout_lit(o, ",\"top_so_far\":");
	jsonout_num(o, fc->top_so_far);
	opt_value(o, ",\"projected_top\":", &fc->projected_top);
	opt_value(o, ",\"conversion\":", &fc->conversion);
	opt_value(o, ",\"expected_deals\":", &fc->expected_deals);
	money = funnel_money_value(fc->expected_revenue);
	opt_value(o, ",\"expected_revenue\":", &money);
	jsonout_lit(o, ",\"target_kpi\":");
	jsonout_str(o, fc->target_kind == FUNNEL_TARGET_NONE ? NULL :
	    fc->target_kind == FUNNEL_TARGET_REVENUE ?
	    cfg->kpis[cfg->funnel.revenue_kpi].name :
	    cfg->kpis[role->funnel[role->nfunnel - 1]].name);
	money = fc->target_kind == FUNNEL_TARGET_REVENUE ?
	    funnel_money_value(fc->target) : fc->target;
	opt_value(o, ",\"target\":", &money);
	opt_value(o, ",\"required_activity\":", &fc->required_activity);
	if (cfg->funnel.has_revenue) {
		money = funnel_money_value(f->rates.deal_size);
		opt_value(o, ",\"avg_deal_size\":", &money);
	} else
		jsonout_lit(o, ",\"avg_deal_size\":null");
	jsonout_lit(o, ",\"window_to\":");
	jsonout_date(o, f->rates.window_to);
	jsonout_lit(o, ",\"rates\":[");
	for (size_t i = 0; i + 1 < role->nfunnel; i++) {
		const struct funnel_conv *c = &f->rates.conv[i];

		jsonout_lit(o, i == 0 ? "{\"from\":" : ",{\"from\":");
		jsonout_str(o, cfg->kpis[role->funnel[i]].name);
		jsonout_lit(o, ",\"to\":");
		jsonout_str(o, cfg->kpis[role->funnel[i + 1]].name);
		opt_value(o, ",\"rate_used\":", &c->used);
		jsonout_lit(o, ",\"rate_source\":");
		jsonout_str(o, funnel_source_name(c->source));
		jsonout_lit(o, "}");
	}
	jsonout_lit(o, "]}");
}

size_t
snapshot_format(const struct roster_rep *rr, const struct config *cfg,
    size_t k, const struct scorecard *card, int64_t at_ms, bool final,
    const struct snapshot_forecast *fc, char *buf, size_t cap)
{
	const struct pacing_figures *f = &card->kpis[k].fig;
	struct jsonout o = { buf, cap, 0 };

	jsonout_lit(&o, "{\"schema\":\"paced.scorecard\",\"version\":");
	jsonout_i64(&o, SNAPSHOT_VERSION);
	jsonout_lit(&o, ",\"rep_id\":");
	jsonout_str(&o, rr->rep->id);
	jsonout_lit(&o, ",\"team_id\":");
	jsonout_str(&o, rr->team->id);
	jsonout_lit(&o, ",\"manager_id\":");
	jsonout_str(&o, rr->manager);
	jsonout_lit(&o, ",\"role\":");
	jsonout_str(&o, rr->role->name);
	jsonout_lit(&o, ",\"kpi\":");
	jsonout_str(&o, cfg->kpis[k].name);
	jsonout_lit(&o, ",\"kind\":");
	jsonout_str(&o, cfg->kpis[k].kind == KPI_LEADING ? "leading" :
	    "lagging");
	jsonout_lit(&o, ",\"period\":");
	jsonout_str(&o, caltime_period_name(card->period));
	jsonout_lit(&o, ",\"period_start\":");
	jsonout_date(&o, card->bucket.start_day);
	jsonout_lit(&o, ",\"period_end\":");
	jsonout_date(&o, card->bucket.end_day);
	jsonout_lit(&o, ",\"at\":");
	jsonout_time(&o, at_ms);
	jsonout_lit(&o, ",\"actual\":");
	jsonout_num(&o, card->kpis[k].actual);
	jsonout_lit(&o, ",\"target\":");
	jsonout_num(&o, f->target);
	jsonout_lit(&o, ",\"expected_to_date\":");
	jsonout_num(&o, f->expected_to_date);
	opt_num(&o, ",\"pace\":", f->has_pace, f->pace);
	opt_num(&o, ",\"projected\":", f->has_projected, f->projected);
	opt_num(&o, ",\"required_rate\":", f->has_required_rate,
	    f->required_rate);
	jsonout_lit(&o, ",\"status\":");
	jsonout_str(&o, pacing_status_name(f->status));
	forecast_json(&o, rr, cfg, fc);
	jsonout_lit(&o, final ? ",\"final\":true}" : ",\"final\":false}");
	return o.len;
}

/* The forecast of card's bucket into out; NULL while the rep's rates
 * are not known (or its role has no funnel). */
static const struct snapshot_forecast *
forecast_of(const struct snapshot *s, const struct roster_rep *rr,
    const struct config *cfg, const struct scorecard *card,
    struct snapshot_forecast *out)
{
	struct funnel_cache_rates rates;

	if (cfg->roles[rr->rep->role].nfunnel == 0 ||
	    !funnel_cache_rates(s->fc, rr, &rates))
		return NULL;
	snapshot_forecast(rr, cfg, card, &rates, out);
	return out;
}

/* Produces KPI k of card (which has a target) with its bucket's forecast
 * fc (or NULL); opaque: the report's. */
static void
produce(struct snapshot *s, const struct roster_rep *rr,
    const struct config *cfg, size_t k, const struct scorecard *card,
    int64_t at_ms, bool final, const struct snapshot_forecast *fc,
    void *opaque)
{
	char key[MSG_MAX], value[MSG_MAX];
	size_t kl = snapshot_key(rr, cfg, k, card, key, sizeof(key));
	size_t vl = snapshot_format(rr, cfg, k, card, at_ms, final, fc, value,
	    sizeof(value));
	struct producer_msg m = {
		.topic = s->topic,
		.key = key,
		.keylen = kl,
		.value = value,
		.valuelen = vl,
	};

	if (kl >= sizeof(key) || vl >= sizeof(value)) {
		/* Ids and names are bounded well below this. */
		log_warnx("snapshot_too_large", "rep=%s kpi=%s",
		    log_quote(rr->rep->id), log_quote(cfg->kpis[k].name));
		return;
	}
	(void)producer_send(s->p, &m, opaque);
}

/* ---- final snapshots ---- */

static void
ignore_reply(const redisReply *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* A final job failed or was refused: the next judgement looks again. */
static void
job_fail(struct final_job *j, const char *why)
{
	struct snapshot *s = j->s;
	const struct roster_rep *rr;

	if (s != NULL) {
		metrics_inc(s->m_final_failed);
		log_warnx("snapshot_final_failed", "rep=%s period=%s why=%s",
		    log_quote(j->rep_id), caltime_period_name(j->p),
		    log_quote(why));
		rr = roster_rep(*s->roster, j->rep_id);
		if (rr != NULL)
			seen_of(s, rr->index)->known[j->p] = UNKNOWN_DAY;
	}
	job_unlink_free(j);
}

/* Every final message of j is acknowledged: set the bucket's marker. */
static void
job_marked(struct final_job *j)
{
	struct snapshot *s = j->s;
	const struct config *cfg = *s->cfg;
	struct bucket b;
	const struct roster_rep *rr = roster_rep(*s->roster, j->rep_id);
	struct redis_argv *v;

	if (rr == NULL) {
		job_unlink_free(j);
		return;
	}
	caltime_bucket_of_day(&rr->calendar->rules, j->p, j->start_day, &b);
	v = redis_argv_new();
	redis_argv_str(v, "SET");
	redis_argv_take(v, keys_rep_snapshot_final(cfg, j->rep_id, j->p,
	    j->start_day));
	redis_argv_str(v, "1");
	redis_argv_str(v, "EXAT");
	redis_argv_fmt(v, "%lld", (long long)keys_bucket_expire_at(cfg, j->p,
	    b.end_day - 1));
	/* Lost: the next restart sends the final again (at least once). */
	(void)redis_conn_send(s->conn, v, ignore_reply, NULL);
	redis_argv_free(v);
	job_unlink_free(j);
}

/* Both replies are in, the marker unset: the bucket's final figures. */
static void
job_produce(struct final_job *j)
{
	struct snapshot *s = j->s;
	const struct config *cfg = *s->cfg;
	const struct roster_rep *rr = roster_rep(*s->roster, j->rep_id);
	struct scorecard card;
	struct snapshot_forecast fcbuf;
	const struct snapshot_forecast *fc;
	struct bucket b;
	int64_t end_ms;

	if (rr == NULL || j->nkpis != cfg->nkpis) {
		job_unlink_free(j);	/* left the roster, or a reload */
		return;
	}
	caltime_bucket_of_day(&rr->calendar->rules, j->p, j->start_day, &b);
	end_ms = tzone_local_to_utc(rr->zone, b.end_day, 0);
	card.kpis = xcalloc(cfg->nkpis ? cfg->nkpis : 1, sizeof(*card.kpis));
	scorecard_compute(cfg, rr, j->p, end_ms - 1, j->actual, &card);
	fc = forecast_of(s, rr, cfg, &card, &fcbuf);
	for (size_t k = 0; k < cfg->nkpis; k++)
		if (card.kpis[k].has_target)
			j->acks++;
	for (size_t k = 0; k < cfg->nkpis; k++)
		if (card.kpis[k].has_target)
			produce(s, rr, cfg, k, &card, end_ms - 1, true, fc,
			    j);
	free(card.kpis);
	if (j->acks == 0)
		job_marked(j);
}

static void
job_reply_done(struct final_job *j)
{
	if (--j->replies > 0)
		return;
	if (j->s == NULL) {
		job_unlink_free(j);
		return;
	}
	if (j->failed)
		job_fail(j, "redis read failed");
	else if (j->marked)
		job_unlink_free(j);	/* sent before */
	else
		job_produce(j);
}

static void
marker_reply(const redisReply *r, void *arg)
{
	struct final_job *j = arg;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		j->failed = true;
	else
		j->marked = r->integer > 0;
	job_reply_done(j);
}

static void
counters_reply(const redisReply *r, void *arg)
{
	struct final_job *j = arg;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != j->nkpis) {
		j->failed = true;
	} else {
		for (size_t k = 0; k < j->nkpis; k++) {
			const redisReply *e = r->element[k];

			if (e->type == REDIS_REPLY_STRING)
				j->actual[k] = strtod(e->str, NULL);
			else if (e->type != REDIS_REPLY_NIL)
				j->failed = true;
		}
	}
	job_reply_done(j);
}

/*
 * The one read of rep counters here: the rep's value of every KPI in
 * period p's bucket starting start_day, into cb as an array of
 * cfg->nkpis replies (nil: nothing counted). Returns 0 or -1 (not sent).
 */
static int
read_counters(struct redis_conn *conn, const struct config *cfg,
    const char *rep_id, enum period p, int32_t start_day,
    redis_reply_cb *cb, void *arg)
{
	struct redis_argv *v = redis_argv_new();
	int rc;

	redis_argv_str(v, "HMGET");
	redis_argv_take(v, keys_rep_counters(cfg, rep_id, p, start_day));
	for (size_t k = 0; k < cfg->nkpis; k++)
		redis_argv_take(v, keys_counter_field(rep_id,
		    cfg->kpis[k].name));
	rc = redis_conn_send(conn, v, cb, arg);
	redis_argv_free(v);
	return rc;
}

static void
final_start(struct snapshot *s, const struct roster_rep *rr, enum period p,
    int32_t start_day)
{
	const struct config *cfg = *s->cfg;
	struct final_job *j;
	struct redis_argv *v;

	if (cfg->nkpis == 0)
		return;
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->rep_id = xstrdup(rr->rep->id);
	j->p = p;
	j->start_day = start_day;
	j->nkpis = cfg->nkpis;
	j->actual = xcalloc(cfg->nkpis, sizeof(double));
	j->next = s->jobs;
	if (j->next != NULL)
		j->next->prev = j;
	s->jobs = j;
	v = redis_argv_new();
	redis_argv_str(v, "EXISTS");
	redis_argv_take(v, keys_rep_snapshot_final(cfg, rr->rep->id, p,
	    start_day));
	if (redis_conn_send(s->conn, v, marker_reply, j) == 0)
		j->replies++;
	redis_argv_free(v);
	if (j->replies == 1 && read_counters(s->conn, cfg, rr->rep->id, p,
	    start_day, counters_reply, j) == 0)
		j->replies++;
	if (j->replies < 2) {
		j->failed = true;
		if (j->replies == 0)
			job_fail(j, "redis not usable");
		/* else the marker's reply finishes it */
	}
}

static void
report_cb(void *opaque, rd_kafka_resp_err_t err, void *arg)
{
	struct snapshot *s = arg;
	struct final_job *j = opaque;

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		metrics_inc(s->m_retried);	/* produced again */
		return;
	}
	if (j == NULL) {
		metrics_inc(s->m_open);
		return;
	}
	metrics_inc(s->m_final);
	if (--j->acks == 0)
		job_marked(j);
}

/* ---- the evaluator's calls ---- */

void
snapshot_judged(struct snapshot *s, const struct roster_rep *rr,
    int64_t at_ms, const struct scorecard *cards)
{
	const struct config *cfg = *s->cfg;
	struct rep_seen *rs = seen_of(s, rr->index);
	struct snapshot_forecast fcbuf;
	const struct snapshot_forecast *fc;

	for (int p = 0; p < PERIOD_COUNT; p++) {
		int32_t cur = cards[p].bucket.start_day;
		int32_t closed = UNKNOWN_DAY;

		if (rs->known[p] == UNKNOWN_DAY) {
			struct bucket b;

			/* First sight: the bucket before may lack its final. */
			caltime_bucket_of_day(&rr->calendar->rules,
			    (enum period)p, cur - 1, &b);
			closed = b.start_day;
		} else if (rs->known[p] < cur) {
			closed = rs->known[p];
		}
		if (rs->known[p] == UNKNOWN_DAY || rs->known[p] < cur)
			rs->known[p] = cur;
		if (closed != UNKNOWN_DAY)
			final_start(s, rr, (enum period)p, closed);
	}
	if (rs->last_ms != 0 && at_ms >= rs->last_ms &&
	    at_ms - rs->last_ms < cfg->analytics.snapshot_every_ms)
		return;
	rs->last_ms = at_ms;
	if (cfg->roles[rr->rep->role].nfunnel > 0)
		funnel_cache_want(s->fc, rr, at_ms);
	for (int p = 0; p < PERIOD_COUNT; p++) {
		fc = forecast_of(s, rr, cfg, &cards[p], &fcbuf);
		for (size_t k = 0; k < cfg->nkpis; k++)
			if (cards[p].kpis[k].has_target)
				produce(s, rr, cfg, k, &cards[p], at_ms, false,
				    fc, NULL);
	}
}

void
snapshot_reconfigured(struct snapshot *s)
{
	free(s->reps);
	s->reps = NULL;
	s->nreps = 0;
	funnel_cache_reconfigured(s->fc);
}

struct snapshot *
snapshot_new(struct event_base *base, struct redis_conn *conn,
    const struct config *const *cfg, const struct roster *const *roster,
    char *err, size_t errlen)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));
	struct producer_opts o = {
		.name = "scorecards",
		.message_timeout_ms = 0,	/* retried until delivered */
		.resend = true,
		.cb = report_cb,
		.arg = s,
	};
	static const char help[] = "Scorecard snapshots acknowledged by the topic";

	s->base = base;
	s->conn = conn;
	s->cfg = cfg;
	s->roster = roster;
	if ((s->p = producer_new(base, *cfg, &o, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	s->topic = xstrdup((*cfg)->kafka.topic_scorecards);
	s->fc = funnel_cache_new(base, conn, cfg, roster);
	s->m_open = metrics_counter("paced_snapshots_total", "final=\"false\"",
	    help);
	s->m_final = metrics_counter("paced_snapshots_total", "final=\"true\"",
	    help);
	s->m_retried = metrics_counter("paced_snapshot_retries_total", NULL,
	    "Scorecard snapshot deliveries that failed and are produced again");
	s->m_final_failed = metrics_counter("paced_snapshot_final_failures_total",
	    NULL, "Final snapshots not sent for now (Redis unreadable); the "
	    "rep's next evaluation tries again");
	log_info("snapshots_ready", "topic=%s version=%d", s->topic,
	    SNAPSHOT_VERSION);
	return s;
}

void
snapshot_free(struct snapshot *s, int timeout_ms)
{
	struct final_job *j, *next;

	if (s == NULL)
		return;
	/* Reports served while it flushes may finish jobs. */
	producer_free(s->p, timeout_ms);
	for (j = s->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->replies > 0) {
			j->s = NULL;	/* its replies free it */
			continue;
		}
		free(j->rep_id);
		free(j->actual);
		free(j);
	}
	funnel_cache_free(s->fc);
	free(s->topic);
	free(s->reps);
	free(s);
}
