/*
 * synth.c: the synthetic stream of paced-produce, for the roster of a
 * paced config.
 *
 * The synthetic stream comes in two kinds. By default it is random events
 * at --rate. With --backfill it follows the targets instead: every rep
 * works each KPI it has a target for at its profile's share of that target
 * (steady a little above it, lagging at a third, idle not at all), spread
 * over the working hours of its team's calendar and zone. The history of
 * the current week (or of the longest period alerts watch) up to now goes
 * out first, as fast as the broker takes it; then the same plan goes on
 * live, each event sent when its time comes. Plan events have ids derived
 * from what they are, so running the demo again the same day sends the
 * same events, which paced drops as duplicates: the numbers do not double.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "caltime.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "pacing.h"
#include "roster.h"
#include "scorecard.h"
#include "xmalloc.h"

#include "synth.h"

/*
 * The plan's share of each target. Steady reps round their count up (an
 * interval's first event comes at its start), so at any instant they have
 * done at least 1.05 times what is expected by then: on pace, never
 * behind. Lagging reps round down, so they never reach a third of it:
 * below critical_below at the default 0.5. For a cap (better: lower) the
 * roles swap: steady reps stay well under it, lagging ones break it.
 */
#define SYNTH_STEADY_SHARE	1.05
#define SYNTH_LAGGING_SHARE	(1.0 / 3.0)
#define SYNTH_STEADY_CAP_SHARE	0.7
#define SYNTH_LAGGING_CAP_SHARE	1.5

static const char *const synth_profile_names[] = {
	"steady", "lagging", "idle",
};

/*
 * The activity funnel of a steady rep, as relative frequencies: calls and
 * emails dominate, about one call in six becomes a conversation, one
 * conversation in five books a meeting, and the later stages thin out
 * from there. A lagging rep has the same mix at a third of the rate. The
 * plan of --backfill uses the weights only to pick among the types of one
 * KPI (a call or an email for calls).
 */
static const struct {
	const char *type;
	double weight;
} synth_funnel[] = {
	{ "call",			54.0 },
	{ "email",			30.0 },
	{ "conversation",		 9.0 },
	{ "meeting_scheduled",		 1.8 },
	{ "meeting_held",		 1.4 },
	{ "roi_discussion",		 0.9 },
	{ "proposal_sent",		 0.6 },
	{ "sales_accepted_opportunity",	 0.5 },
	{ "deal_closed",		 0.2 },
};
#define SYNTH_NFUNNEL (sizeof(synth_funnel) / sizeof(synth_funnel[0]))

const char *const synth_bad_names[SYNTH_BAD_COUNT] = {
	"malformed_json", "missing_field", "unknown_type", "unknown_rep",
};

/* splitmix64: small, fast, and good enough to make demo data. */
uint64_t
synth_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
double
synth_uniform(uint64_t *s)
{
	return (double)(synth_next(s) >> 11) * 0x1.0p-53;
}

static double
synth_funnel_weight(const char *type)
{
	for (size_t i = 0; i < SYNTH_NFUNNEL; i++)
		if (strcmp(synth_funnel[i].type, type) == 0)
			return synth_funnel[i].weight;
	return 1.0;
}

static bool
synth_type_configured(const struct config *c, const char *type)
{
	for (size_t k = 0; k < c->nkpis; k++) {
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			if (strcmp(c->kpis[k].events[e], type) == 0)
				return true;
		}
	}
	return false;
}

static size_t
synth_type_index(const struct synth *s, const char *type)
{
	for (size_t t = 0; t < s->ntypes; t++)
		if (strcmp(s->types[t].name, type) == 0)
			return t;
	return SIZE_MAX;
}

/* Adds every configured event type not in the table yet, weight 1. */
static void
synth_add_config_types(struct synth *s)
{
	const struct config *c = s->cfg;

	for (size_t k = 0; k < c->nkpis; k++) {
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			double cum = s->ntypes > 0 ?
			    s->types[s->ntypes - 1].cum : 0;

			if (synth_type_index(s, c->kpis[k].events[e]) !=
			    SIZE_MAX)
				continue;
			s->types = xreallocarray(s->types, s->ntypes + 1,
			    sizeof(*s->types));
			s->types[s->ntypes].name = c->kpis[k].events[e];
			s->types[s->ntypes].sent = 0;
			s->types[s->ntypes].cum = cum + 1.0;
			s->ntypes++;
		}
	}
}

/*
 * Builds the type table: the funnel types the config counts, or, when it
 * counts none of them, every configured event type with equal weight. The
 * plan also needs the types outside the funnel.
 */
static void
synth_build_types(struct synth *s)
{
	const struct config *c = s->cfg;
	double cum = 0;

	s->types = xcalloc(SYNTH_NFUNNEL, sizeof(*s->types));
	for (size_t i = 0; i < SYNTH_NFUNNEL; i++) {
		if (!synth_type_configured(c, synth_funnel[i].type))
			continue;
		cum += synth_funnel[i].weight;
		s->types[s->ntypes].name = synth_funnel[i].type;
		s->types[s->ntypes++].cum = cum;
	}
	if (s->ntypes == 0 || s->plan)
		synth_add_config_types(s);
}

/*
 * Which KPI generates which event types in the plan. Amount KPIs generate
 * nothing: their events come from the count KPI on the same type (deals
 * closed carry the revenue). A type goes to the first KPI in config order
 * that counts it, so a type shared by two KPIs is not sent twice.
 */
static void
sched_build_kpis(struct synth *s)
{
	const struct config *c = s->cfg;
	bool *taken = xcalloc(s->ntypes > 0 ? s->ntypes : 1, sizeof(bool));

	s->kpis = xcalloc(c->nkpis > 0 ? c->nkpis : 1, sizeof(*s->kpis));
	s->zeros = xcalloc(c->nkpis > 0 ? c->nkpis : 1, sizeof(double));
	for (size_t k = 0; k < c->nkpis; k++) {
		struct sched_kpi *sk = &s->kpis[k];
		double cum = 0;

		if (c->kpis[k].measure != KPI_MEASURE_COUNT)
			continue;
		sk->types = xcalloc(c->kpis[k].nevents, sizeof(*sk->types));
		sk->cum = xcalloc(c->kpis[k].nevents, sizeof(*sk->cum));
		for (size_t e = 0; e < c->kpis[k].nevents; e++) {
			size_t t = synth_type_index(s, c->kpis[k].events[e]);

			if (t == SIZE_MAX || taken[t])
				continue;
			taken[t] = true;
			cum += synth_funnel_weight(s->types[t].name);
			sk->types[sk->ntypes] = t;
			sk->cum[sk->ntypes++] = cum;
		}
	}
	free(taken);
}

/*
 * Assigns profiles: every twelfth rep in roster order starting with the
 * fifth (r005, r017, r029, r041, r053 in the dev roster) is idle, so the
 * demo always has silent reps to alert on; about a fifth of the others,
 * picked by the seed, lag at a third of the normal rate.
 */
static void
synth_build_reps(struct synth *s)
{
	const struct config *c = s->cfg;
	enum synth_profile *prof = xcalloc(c->nreps, sizeof(*prof));
	size_t *active = xcalloc(c->nreps, sizeof(*active));
	size_t nactive = 0, nlag;
	double cum = 0;
	char idle[1024] = "", lag[1024] = "";

	for (size_t i = 0; i < c->nreps; i++) {
		if (i % 12 == 4)
			prof[i] = SYNTH_IDLE;
		else
			active[nactive++] = i;
	}
	/* A partial Fisher-Yates shuffle picks the laggards. */
	nlag = (c->nreps + 2) / 5;
	if (nlag > nactive)
		nlag = nactive;
	for (size_t i = 0; i < nlag; i++) {
		size_t j = i + (size_t)(synth_next(&s->rng) % (nactive - i));
		size_t t = active[i];

		active[i] = active[j];
		active[j] = t;
		prof[active[i]] = SYNTH_LAGGING;
	}

	s->reps = xcalloc(c->nreps, sizeof(*s->reps));
	for (size_t i = 0; i < c->nreps; i++) {
		const struct roster_rep *rr = roster_rep_at(s->roster, i);
		char *list = prof[i] == SYNTH_IDLE ? idle : lag;
		size_t len = strlen(list);

		if (prof[i] != SYNTH_STEADY && len + 140 < sizeof(idle))
			snprintf(list + len, sizeof(idle) - len, "%s%s",
			    len > 0 ? "," : "", c->reps[i].id);
		if (prof[i] == SYNTH_IDLE)
			continue;
		cum += prof[i] == SYNTH_LAGGING ? 1.0 / 3.0 : 1.0;
		s->reps[s->nreps].id = c->reps[i].id;
		s->reps[s->nreps].team = c->teams[c->reps[i].team].id;
		s->reps[s->nreps].tz = rr->zone;
		s->reps[s->nreps].rr = rr;
		s->reps[s->nreps].profile = prof[i];
		s->reps[s->nreps++].cum = cum;
	}
	s->idle_list = xstrdup(idle);
	s->lag_list = xstrdup(lag);
	log_info("synthetic_profiles", "reps=%zu active=%zu %s=%s %s=%s",
	    c->nreps, s->nreps, synth_profile_names[SYNTH_IDLE],
	    log_quote(idle), synth_profile_names[SYNTH_LAGGING],
	    log_quote(lag));
	free(active);
	free(prof);
}

/* Loads the config and builds the generator; exits on error. */
struct synth *
synth_new(const char *path, uint64_t seed, double bad_ratio, bool plan)
{
	struct synth *s = xcalloc(1, sizeof(*s));
	char *errs = NULL, err[256];
	uint64_t entropy;
	struct timespec ts;

	if ((s->cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "%s", errs != NULL ? errs : "");
		fatalx("config", "path=%s msg=\"cannot load\"", log_quote(path));
	}
	free(errs);
	if (s->cfg->nreps == 0 || s->cfg->nkpis == 0)
		fatalx("config", "path=%s msg=\"no reps or no KPIs\"",
		    log_quote(path));
	if ((s->roster = roster_new(s->cfg, err, sizeof(err))) == NULL)
		fatalx("config", "path=%s msg=\"no roster\" err=%s",
		    log_quote(path), log_quote(err));

	s->rng = seed;
	/* Random ids must differ between runs, or paced would drop a rerun
	 * as duplicates of the last one. */
	if (getentropy(&entropy, sizeof(entropy)) != 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		entropy = (uint64_t)ts.tv_sec * 1000000000ULL +
		    (uint64_t)ts.tv_nsec;
		entropy ^= (uint64_t)getpid() << 32;
	}
	s->idrng = entropy;
	s->bad_ratio = bad_ratio;
	s->plan = plan;

	synth_build_types(s);
	synth_build_reps(s);
	if (plan)
		sched_build_kpis(s);
	if (s->nreps == 0)
		log_warnx("synthetic", "msg=\"every rep is idle\"");
	return s;
}

static void
sched_week_clear(struct sched_week *w)
{
	for (size_t d = 0; d < w->ndays; d++)
		free(w->days[d].target);
	free(w->days);
	free(w->span_target);
	free(w->span_ms);
	memset(w, 0, sizeof(*w));
}

void
synth_free(struct synth *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ring_len; i++) {
		free(s->ring[i].key);
		free(s->ring[i].value);
	}
	for (size_t r = 0; r < s->nreps; r++)
		sched_week_clear(&s->reps[r].week);
	if (s->kpis != NULL) {
		for (size_t k = 0; k < s->cfg->nkpis; k++) {
			free(s->kpis[k].types);
			free(s->kpis[k].cum);
		}
	}
	free(s->kpis);
	free(s->zeros);
	free(s->reps);
	free(s->types);
	free(s->idle_list);
	free(s->lag_list);
	roster_free(s->roster);
	config_free(s->cfg);
	free(s);
}

/* Appends s as a JSON string (quotes included) to buf at *off. */
static void
synth_json_str(char *buf, size_t size, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (*off + 1 < size)
		buf[(*off)++] = '"';
	for (; *s != '\0' && *off + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[(*off)++] = '\\';
			buf[(*off)++] = (char)c;
		} else if (c < 0x20) {
			buf[(*off)++] = '\\';
			buf[(*off)++] = 'u';
			buf[(*off)++] = '0';
			buf[(*off)++] = '0';
			buf[(*off)++] = hex[c >> 4];
			buf[(*off)++] = hex[c & 15];
		} else
			buf[(*off)++] = (char)c;
	}
	if (*off + 1 < size)
		buf[(*off)++] = '"';
	buf[*off] = '\0';
}

void
synth_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = (size_t)n < size - *off ? *off + (size_t)n : size - 1;
}

/* a and b as a version-4-shaped UUID. */
static void
synth_format_uuid(uint64_t a, uint64_t b, char *buf, size_t size)
{
	snprintf(buf, size, "%08x-%04x-4%03x-%04x-%012llx",
	    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
	    (unsigned)a & 0xfff, (unsigned)((b >> 48) & 0x3fff) | 0x8000,
	    (unsigned long long)(b & 0xffffffffffffULL));
}

/* A random id, unique within the run by construction. */
void
synth_event_id(struct synth *s, char *buf, size_t size)
{
	uint64_t a = synth_next(&s->idrng), b = synth_next(&s->idrng);

	synth_format_uuid(a, b, buf, size);
}

/*
 * A plan event's id, the same on every run for the same rep, KPI, instant
 * and place, and into *bits 64 more bits from the same seed for its other
 * choices.
 */
void
sched_event_id(const char *rep, const char *kpi, int64_t at, uint32_t seq,
    char *buf, size_t size, uint64_t *bits)
{
	uint64_t h = HASH_FNV1A_INIT, a, b;
	unsigned char sep = 0;

	h = hash_fnv1a(h, rep, strlen(rep));
	h = hash_fnv1a(h, &sep, 1);
	h = hash_fnv1a(h, kpi, strlen(kpi));
	h = hash_fnv1a(h, &sep, 1);
	h = hash_fnv1a(h, &at, sizeof(at));
	h = hash_fnv1a(h, &seq, sizeof(seq));
	a = synth_next(&h);
	b = synth_next(&h);
	*bits = synth_next(&h);
	synth_format_uuid(a, b, buf, size);
}

/* occurred_at = ms, in UTC ("Z") or in the zone's local offset. */
static void
synth_timestamp(struct tzone *tz, bool local, int64_t ms, char *buf,
    size_t size)
{
	int32_t off;
	int64_t l;
	time_t secs;
	struct tm tm;
	int offmin;

	if (tz == NULL || !local) {
		caltime_format_utc(ms, buf, size);
		return;
	}
	off = tzone_offset_at(tz, ms);
	offmin = off / 60000;
	l = ms + (int64_t)offmin * 60000;
	secs = (time_t)(l / 1000);
	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(l % 1000), offmin < 0 ? '-' : '+',
	    abs(offmin) / 60, abs(offmin) % 60);
}

/*
 * Writes one event of rep r, of type, at at_ms, with id to buf. bits
 * decide the optional parts (local or UTC time, the team hint, a deal's
 * amount, an email's count when counts is set). bad selects a defect (or
 * SYNTH_BAD_COUNT for none). Returns the rep id to key it by, valid until
 * the next call.
 */
const char *
synth_format(struct synth *s, const struct synth_rep *r, const char *type,
    int64_t at_ms, const char *id, uint64_t bits, bool counts,
    enum synth_bad bad, char *buf, size_t size)
{
	const char *rep_id = r->id;
	char ts[48];
	size_t off = 0;

	if (bad == SYNTH_BAD_UNKNOWN_TYPE)
		type = "fax_sent";
	if (bad == SYNTH_BAD_UNKNOWN_REP) {
		snprintf(s->unknown_rep, sizeof(s->unknown_rep), "zz%03u",
		    (unsigned)((bits >> 40) % 1000));
		rep_id = s->unknown_rep;
	}
	synth_timestamp(r->tz, (bits & 1) != 0, at_ms, ts, sizeof(ts));

	synth_appendf(buf, size, &off, "{\"event_id\":\"%s\",\"rep_id\":", id);
	synth_json_str(buf, size, &off, rep_id);
	synth_appendf(buf, size, &off, ",\"type\":");
	synth_json_str(buf, size, &off, type);
	/* The missing field is occurred_at: without it nothing is countable. */
	if (bad != SYNTH_BAD_MISSING_FIELD)
		synth_appendf(buf, size, &off, ",\"occurred_at\":\"%s\"", ts);
	if (strcmp(type, "deal_closed") == 0)
		synth_appendf(buf, size, &off, ",\"amount\":%.2f",
		    5000.0 + (double)((bits >> 8) % 1500) * 50.0);
	if (counts && strcmp(type, "email") == 0 && (bits >> 24) % 20 == 0)
		synth_appendf(buf, size, &off, ",\"count\":%u",
		    2 + (unsigned)((bits >> 32) % 3));
	if ((bits & 2) != 0) {
		synth_appendf(buf, size, &off, ",\"team_id\":");
		synth_json_str(buf, size, &off, r->team);
	}
	synth_appendf(buf, size, &off, ",\"source\":\"paced-produce\"}");
	if (bad == SYNTH_BAD_MALFORMED)
		buf[off / 2] = '\0';	/* cut mid-object */
	return rep_id;
}

/*
 * A random event of the random stream: a rep by weight, a type by the
 * funnel, now. Returns the rep id to key it by and the type's index.
 */
const char *
synth_event(struct synth *s, char *buf, size_t size, enum synth_bad bad,
    size_t *typeidx)
{
	const struct synth_rep *r;
	char id[40];
	double x = synth_uniform(&s->rng) * s->reps[s->nreps - 1].cum;
	size_t lo = 0, hi = s->nreps - 1;

	while (lo < hi) {		/* first rep with cum > x */
		size_t mid = lo + (hi - lo) / 2;

		if (s->reps[mid].cum > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	r = &s->reps[lo];

	x = synth_uniform(&s->rng) * s->types[s->ntypes - 1].cum;
	for (*typeidx = 0; *typeidx + 1 < s->ntypes &&
	    s->types[*typeidx].cum <= x; (*typeidx)++)
		;
	synth_event_id(s, id, sizeof(id));
	return synth_format(s, r, s->types[*typeidx].name, caltime_wall_ms(),
	    id, synth_next(&s->rng), true, bad, buf, size);
}

void
synth_remember(struct synth *s, const char *key, const char *value)
{
	size_t i = s->ring_next;

	if (i < s->ring_len) {
		free(s->ring[i].key);
		free(s->ring[i].value);
	} else
		s->ring_len++;
	s->ring[i].key = xstrdup(key);
	s->ring[i].value = xstrdup(value);
	s->ring_next = (i + 1) % SYNTH_RING;
}

/* ---- the plan (--backfill) ---- */

static bool
sched_away(const struct config_rep *rep, int32_t day)
{
	size_t lo = 0, hi = rep->nout_of_office;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rep->out_of_office[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rep->nout_of_office && rep->out_of_office[lo] == day;
}

/* The share of a target the profile works a KPI at, and which way its
 * counts round. */
static void
sched_share(enum synth_profile prof, enum kpi_better better, double *share,
    bool *up)
{
	if (better == KPI_BETTER_LOWER) {
		*share = prof == SYNTH_STEADY ? SYNTH_STEADY_CAP_SHARE :
		    SYNTH_LAGGING_CAP_SHARE;
		*up = prof != SYNTH_STEADY;
	} else {
		*share = prof == SYNTH_STEADY ? SYNTH_STEADY_SHARE :
		    SYNTH_LAGGING_SHARE;
		*up = prof == SYNTH_STEADY;
	}
}

/*
 * How many events a stretch with units of target gets, and the offset of
 * the j-th in a stretch of len ms. Rounding up puts one at the very start,
 * so the count is ahead of the expected share at every instant; rounding
 * down puts the first a whole interval in, so it is always behind.
 */
static size_t
sched_count(double units, bool up)
{
	if (!(units > 0))
		return 0;
	return (size_t)(up ? ceil(units - 1e-9) : floor(units + 1e-9));
}

static int64_t
sched_offset(size_t j, double units, int64_t len, bool up)
{
	return llround((double)(up ? j : j + 1) * (double)len / units);
}

/*
 * What the targets of periods week and longer (cards sc, computed at an
 * instant of the week) ask of KPI k over ms of the rep's working time:
 * the largest of target * ms / the period's working time, or -1 when no
 * such period has a target. The largest, so that a steady rep is on pace
 * for all of them: in a week with a holiday the week's target falls on
 * fewer days than the day target assumes.
 */
static double
sched_long_share(const struct scorecard *sc, size_t k, int64_t ms)
{
	double best = -1;

	for (int p = PERIOD_WEEK; p < PERIOD_COUNT; p++) {
		double v;

		if (!sc[p].kpis[k].has_target || sc[p].wt.total_ms <= 0)
			continue;
		v = sc[p].kpis[k].fig.target * (double)ms /
		    (double)sc[p].wt.total_ms;
		if (v > best)
			best = v;
	}
	return best;
}

/* Fills rep r's plan of week bucket b. */
static void
sched_week_build(struct synth *s, struct synth_rep *r, const struct bucket *b)
{
	const struct config *cfg = s->cfg;
	const struct roster_rep *rr = r->rr;
	struct sched_week *w = &r->week;
	struct pacing_calendar cal;
	struct scorecard sc[PERIOD_COUNT];
	int64_t inst = -1;

	sched_week_clear(w);
	scorecard_calendar(rr->calendar, &cal);
	w->built = true;
	w->b = *b;
	w->ndays = (size_t)(b->end_day - b->start_day);
	w->days = xcalloc(w->ndays, sizeof(*w->days));
	w->span_target = xcalloc(cfg->nkpis, sizeof(double));
	w->span_ms = xcalloc(cfg->nkpis, sizeof(int64_t));
	for (int p = 0; p < PERIOD_COUNT; p++)
		sc[p].kpis = xcalloc(cfg->nkpis, sizeof(*sc[p].kpis));

	for (size_t i = 0; i < w->ndays; i++) {
		struct sched_day *d = &w->days[i];
		int32_t day = b->start_day + (int32_t)i;

		d->target = xcalloc(cfg->nkpis, sizeof(double));
		d->start_ms = tzone_local_to_utc(rr->zone, day,
		    cal.work_start_min);
		d->end_ms = tzone_local_to_utc(rr->zone, day, cal.work_end_min);
		d->on = pacing_is_working_day(&cal, day) &&
		    !sched_away(rr->rep, day) && d->end_ms > d->start_ms;
		if (d->on && inst < 0)
			inst = d->start_ms;
	}
	if (inst < 0)
		inst = b->start_ms;
	for (int p = PERIOD_WEEK; p < PERIOD_COUNT; p++)
		scorecard_compute(cfg, rr, (enum period)p, inst, s->zeros,
		    &sc[p]);

	/* A KPI with a day target is planned day by day, at the larger of
	 * that target and what the longer periods ask of the day. */
	for (size_t i = 0; i < w->ndays; i++) {
		struct sched_day *d = &w->days[i];

		if (d->on)
			scorecard_compute(cfg, rr, PERIOD_DAY, d->start_ms +
			    (d->end_ms - d->start_ms) / 2, s->zeros, &sc[0]);
		for (size_t k = 0; k < cfg->nkpis; k++) {
			double share;

			d->target[k] = -1;
			if (!d->on || !sc[0].kpis[k].has_target)
				continue;
			share = sched_long_share(sc, k,
			    d->end_ms - d->start_ms);
			d->target[k] = sc[0].kpis[k].fig.target > share ?
			    sc[0].kpis[k].fig.target : share;
		}
	}

	/* The others over the span of the days without a day target. */
	for (size_t k = 0; k < cfg->nkpis; k++) {
		for (size_t i = 0; i < w->ndays; i++)
			if (w->days[i].on && w->days[i].target[k] < 0)
				w->span_ms[k] += w->days[i].end_ms -
				    w->days[i].start_ms;
		w->span_target[k] = sched_long_share(sc, k, w->span_ms[k]);
	}
	for (int p = 0; p < PERIOD_COUNT; p++)
		free(sc[p].kpis);
}

static void
sched_push(struct sched_evs *evs, int64_t at, size_t rep, size_t kpi,
    size_t seq)
{
	if (evs->n == evs->cap) {
		evs->cap = evs->cap > 0 ? evs->cap * 2 : 1024;
		evs->v = xreallocarray(evs->v, evs->cap, sizeof(*evs->v));
	}
	evs->v[evs->n].at = at;
	evs->v[evs->n].rep = (uint32_t)rep;
	evs->v[evs->n].kpi = (uint32_t)kpi;
	evs->v[evs->n].seq = (uint32_t)seq;
	evs->n++;
}

/* The events of rep ri's current week plan that fall in [from, to). */
static void
sched_week_events(struct synth *s, size_t ri, int64_t from, int64_t to,
    struct sched_evs *evs)
{
	const struct config *cfg = s->cfg;
	const struct synth_rep *r = &s->reps[ri];
	const struct sched_week *w = &r->week;

	for (size_t k = 0; k < cfg->nkpis; k++) {
		double share, units;
		bool up;
		size_t n;

		if (s->kpis[k].ntypes == 0)
			continue;
		sched_share(r->profile, cfg->kpis[k].better, &share, &up);
		for (size_t i = 0; i < w->ndays; i++) {
			const struct sched_day *d = &w->days[i];
			int64_t len = d->end_ms - d->start_ms;

			if (!d->on || d->target[k] <= 0 || d->end_ms <= from ||
			    d->start_ms >= to)
				continue;
			units = share * d->target[k];
			n = sched_count(units, up);
			for (size_t j = 0; j < n; j++) {
				int64_t at = d->start_ms +
				    sched_offset(j, units, len, up);

				if (at >= from && at < to)
					sched_push(evs, at, ri, k, j);
			}
		}
		if (!(w->span_target[k] > 0) || w->span_ms[k] <= 0)
			continue;
		units = share * w->span_target[k];
		n = sched_count(units, up);
		for (size_t j = 0; j < n; j++) {
			int64_t o = sched_offset(j, units, w->span_ms[k], up);

			/* Working time to an instant, over the span days. */
			for (size_t i = 0; i < w->ndays; i++) {
				const struct sched_day *d = &w->days[i];
				int64_t len = d->end_ms - d->start_ms;

				if (!d->on || d->target[k] >= 0)
					continue;
				if (o > len) {
					o -= len;
					continue;
				}
				if (d->start_ms + o >= from &&
				    d->start_ms + o < to)
					sched_push(evs, d->start_ms + o, ri, k,
					    j);
				break;
			}
		}
	}
}

/* Adds rep ri's plan events in [from, to) to evs. */
void
sched_rep_events(struct synth *s, size_t ri, int64_t from, int64_t to,
    struct sched_evs *evs)
{
	struct synth_rep *r = &s->reps[ri];
	struct bucket b;
	int64_t t = from;

	while (t < to) {
		scorecard_bucket(r->rr, PERIOD_WEEK, t, &b);
		if (!r->week.built || r->week.b.start_day != b.start_day)
			sched_week_build(s, r, &b);
		sched_week_events(s, ri, from, to, evs);
		if (b.end_ms <= t)
			break;		/* cannot happen; never loop */
		t = b.end_ms;
	}
}

/*
 * Plan events go out rep by rep, each rep's in time order. paced applies
 * one rep's events of a batch in one atomic step, and a history that is
 * contiguous in its partition mostly lands in one batch, so paced rarely
 * judges a rep on part of its history.
 */
int
sched_ev_cmp(const void *a, const void *b)
{
	const struct sched_ev *x = a, *y = b;

	if (x->rep != y->rep)
		return x->rep < y->rep ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->kpi != y->kpi)
		return x->kpi < y->kpi ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * The instant a period bucket's elapsed working share reaches grace (the
 * first working millisecond when grace is 0), or -1 when it has no
 * working time. For the "what to expect" text.
 */
static int64_t
sched_grace_at(const struct pacing_calendar *cal, struct tzone *z,
    const struct bucket *b, const struct pacing_worktime *wt, double grace)
{
	int64_t goal = (int64_t)ceil(grace * (double)wt->total_ms), done = 0;

	if (wt->total_ms <= 0)
		return -1;
	if (goal < 1)
		goal = 1;
	for (int32_t day = b->start_day; day < b->end_day; day++) {
		int64_t s, e;

		if (!pacing_is_working_day(cal, day))
			continue;
		s = tzone_local_to_utc(z, day, cal->work_start_min);
		e = tzone_local_to_utc(z, day, cal->work_end_min);
		if (e <= s)
			continue;
		if (done + (e - s) >= goal)
			return s + (goal - done);
		done += e - s;
	}
	return -1;
}

/* "Mon 09:48" in zone z. */
static void
sched_local_hm(struct tzone *z, int64_t ms, char *buf, size_t size)
{
	static const char *const wd[] = {
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
	};
	int64_t l = ms + tzone_offset_at(z, ms);
	int64_t day = caltime_floor_div(l, 86400000);
	int64_t min = (l - day * 86400000) / 60000;

	snprintf(buf, size, "%s %02d:%02d", wd[caltime_weekday((int32_t)day)],
	    (int)(min / 60), (int)(min % 60));
}

/*
 * Prints what the plan will show at now: per team, its local time and,
 * for each period alerts watch, whether it alerts now or from when; then
 * which reps should alert. Returns the number of teams alerting now.
 */
int
sched_print_expect(struct synth *s, int64_t now, FILE *f)
{
	const struct config *cfg = s->cfg;
	double grace = cfg->alerts.grace;
	bool *alerting = xcalloc(cfg->nteams, sizeof(bool));
	int64_t first = -1;
	int nalerting = 0;
	char hm[32];

	for (size_t t = 0; t < cfg->nteams; t++) {
		const struct roster_rep *rr = NULL;
		struct pacing_calendar cal;
		char line[512];
		size_t off = 0;

		for (size_t i = 0; i < cfg->nreps && rr == NULL; i++)
			if (cfg->reps[i].team == t)
				rr = roster_rep_at(s->roster, i);
		if (rr == NULL)
			continue;
		scorecard_calendar(rr->calendar, &cal);
		sched_local_hm(rr->zone, now, hm, sizeof(hm));
		synth_appendf(line, sizeof(line), &off, "   %-8s %s  %-20s",
		    cfg->teams[t].id, hm, cfg->teams[t].timezone);
		for (int p = 0; p < PERIOD_COUNT; p++) {
			const char *name = caltime_period_name((enum period)p);
			struct pacing_worktime wt;
			struct bucket b;
			double frac;
			int64_t at;
			char cell[64];

			if (!cfg->alerts.periods[p])
				continue;
			caltime_bucket(rr->zone, &rr->calendar->rules,
			    (enum period)p, now, &b);
			pacing_worktime(&cal, NULL, rr->zone, &b, now, &wt);
			frac = pacing_worktime_fraction(&wt);
			if (wt.total_ms <= 0) {
				snprintf(cell, sizeof(cell), p == PERIOD_DAY ?
				    "%s: not a working day" :
				    "%s: no working day", name);
			} else if (frac >= 1) {
				/* No working time left: nothing to mend, no
				 * alert (its end resolves what fired). */
				snprintf(cell, sizeof(cell), "%s over", name);
			} else if (frac > 0 && frac >= grace) {
				alerting[t] = true;
				snprintf(cell, sizeof(cell), "%s %.0f%%: alerting",
				    name, floor(frac * 100));
			} else {
				at = sched_grace_at(&cal, rr->zone, &b, &wt,
				    grace);
				sched_local_hm(rr->zone, at, hm, sizeof(hm));
				snprintf(cell, sizeof(cell),
				    "%s %.0f%%: from %s", name,
				    floor(frac * 100), hm);
				if (at > now && (first < 0 || at < first))
					first = at;
			}
			synth_appendf(line, sizeof(line), &off, "  %-24s",
			    cell);
		}
		while (off > 0 && line[off - 1] == ' ')
			line[--off] = '\0';
		fprintf(f, "%s\n", line);
		nalerting += alerting[t];
	}

	if (nalerting > 0) {
		char idle[1024] = "", lag[1024] = "";
		size_t ioff = 0, loff = 0;

		for (size_t i = 0; i < cfg->nreps; i++) {
			bool is_idle = i % 12 == 4, is_lag = false;

			for (size_t r = 0; r < s->nreps; r++)
				if (s->reps[r].rr->index == i)
					is_lag = s->reps[r].profile ==
					    SYNTH_LAGGING;
			if (!alerting[cfg->reps[i].team])
				continue;
			if (is_idle)
				synth_appendf(idle, sizeof(idle), &ioff, "%s%s",
				    ioff > 0 ? "," : "", cfg->reps[i].id);
			if (is_lag)
				synth_appendf(lag, sizeof(lag), &loff, "%s%s",
				    loff > 0 ? "," : "", cfg->reps[i].id);
		}
		fprintf(f, "   Expect within a minute, in the teams alerting: "
		    "critical alerts for the idle\n   reps (%s) and alerts for "
		    "the lagging ones (%s);\n   steady reps stay on pace, "
		    "no alerts.\n", ioff > 0 ? idle : "none",
		    loff > 0 ? lag : "none");
	} else if (first > 0) {
		caltime_format_utc(first, hm, sizeof(hm));
		fprintf(f, "   No team is past the grace of a period now: the "
		    "first alerts come at %s.\n", hm);
	} else
		fprintf(f, "   No period has working time now: no alerts.\n");
	free(alerting);
	return nalerting;
}
