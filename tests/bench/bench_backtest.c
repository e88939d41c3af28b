/*
 * bench_backtest.c: how fast `paced backtest` replays history. Generates
 * in memory a quarter (Q4 2026: a clock change, two holidays) of
 * activity for a 1,000-rep org in five US zones, about 40 events a rep a
 * working day (2.5 million events), with evaluate_every 1m, and times the
 * default (fast) replay of all of it, alerts written to /dev/null. Then,
 * on a slice (an org of 100 reps over one week), it times the fast and the
 * exhaustive replays (every rep at every boundary) and checks that both
 * wrote the same bytes. Exits 1 if they differ.
 *
 * usage: bench_backtest [REPS [DAYS [SLICE_REPS [SLICE_DAYS]]]]
 *	(defaults 1000 92 100 7)
 */
#include "backtest.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"

#define Q4_START_MS	1790812800000LL	/* 2026-10-01T00:00:00Z */
#define DAY_MS		86400000LL

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double
rnd_unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static const char *const zones[] = { "America/New_York", "America/Chicago",
    "America/Denver", "America/Phoenix", "America/Los_Angeles" };
#define NZONES	(sizeof(zones) / sizeof(zones[0]))
/* Standard offsets in hours (only to place events near working hours). */
static const int zone_hours[] = { -5, -6, -7, -7, -8 };

static char *
make_config(unsigned nreps)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fprintf(f,
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call, email]}\n"
	    "  - {name: conversations, kind: leading, events: [conversation]}\n"
	    "  - {name: meetings_scheduled, kind: leading,"
	    " events: [meeting_scheduled]}\n"
	    "  - {name: sales_accepted_opportunities, kind: lagging,"
	    " events: [sales_accepted_opportunity]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal_closed],"
	    " measure: amount}\n"
	    "calendars:\n"
	    "  default:\n"
	    "    working_days: [mon, tue, wed, thu, fri]\n"
	    "    working_hours: \"09:00-17:00\"\n"
	    "    holidays: [\"2026-11-26\", \"2026-12-25\"]\n"
	    "roles:\n"
	    "  sdr:\n"
	    "    targets:\n"
	    "      calls: {day: 35, week: 175, month: 700}\n"
	    "      conversations: {day: 5, week: 25}\n"
	    "      meetings_scheduled: {week: 5, month: 20}\n"
	    "      sales_accepted_opportunities: {month: 8}\n"
	    "  ae:\n"
	    "    targets:\n"
	    "      calls: {day: 25, week: 125}\n"
	    "      conversations: {day: 8, week: 40}\n"
	    "      meetings_scheduled: {week: 8}\n"
	    "      revenue: {quarter: 300000}\n"
	    "teams:\n");
	for (unsigned t = 0; t < 20; t++)
		fprintf(f, "  - {id: team%02u, timezone: %s, calendar: default,"
		    " manager: mgr%02u}\n", t, zones[t % NZONES], t);
	fprintf(f, "managers:\n");
	for (unsigned t = 0; t < 20; t++)
		fprintf(f, "  - {id: mgr%02u, manager: vp%u}\n", t, t % 4);
	for (unsigned v = 0; v < 4; v++)
		fprintf(f, "  - {id: vp%u, manager: cro}\n", v);
	fprintf(f, "  - {id: cro}\nreps:\n");
	for (unsigned r = 0; r < nreps; r++)
		fprintf(f, "  - {id: rep%04u, team: team%02u, role: %s}\n", r,
		    r % 20, r % 3 == 0 ? "ae" : "sdr");
	fprintf(f,
	    "alerts:\n"
	    "  periods: [day, week]\n"
	    "  kpis: leading\n"
	    "  warning_below: 0.8\n"
	    "  critical_below: 0.5\n"
	    "  grace: 0.2\n"
	    "  repeat_interval: 4h\n"
	    "  evaluate_every: 1m\n");
	fclose(f);
	return buf;
}

struct gen_event {
	int64_t at;
	uint32_t rep;
	uint8_t type;
};

static int
by_time(const void *a, const void *b)
{
	const struct gen_event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->rep < y->rep ? -1 : x->rep > y->rep;
}

/*
 * Events of reps [0, nreps) over days [0, ndays) from 2026-10-01, sorted
 * by time within each day. Each rep has a steady level (most near target,
 * some well behind) and every day its own form; some days it logs
 * nothing at all.
 */
static char *
make_events(unsigned nreps, unsigned ndays, size_t *nevents, size_t *nbytes)
{
	static const char *const types[] = { "call", "email", "conversation",
	    "meeting_scheduled", "sales_accepted_opportunity", "deal_closed" };
	double *level = malloc(nreps * sizeof(double));
	struct gen_event *day = NULL;
	size_t cap = 0, total = 0;
	char *buf = NULL, ts[40];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint64_t id = 0;

	for (unsigned r = 0; r < nreps; r++)
		level[r] = rnd_unit() < 0.15 ? 0.35 + 0.3 * rnd_unit() :
		    0.8 + 0.5 * rnd_unit();
	for (unsigned d = 0; d < ndays; d++) {
		int64_t midnight = Q4_START_MS + (int64_t)d * DAY_MS;
		int wd = caltime_weekday((int32_t)(midnight / DAY_MS));
		size_t n = 0;

		if (wd >= 5)
			continue;
		for (unsigned r = 0; r < nreps; r++) {
			double form = level[r] * (0.6 + 0.8 * rnd_unit());
			unsigned k;

			if (rnd_unit() < 0.05)
				continue;	/* a silent day */
			k = (unsigned)(40 * form);
			if (n + k > cap) {
				cap = (n + k) * 2;
				day = realloc(day, cap * sizeof(*day));
			}
			for (unsigned i = 0; i < k; i++) {
				double u = rnd_unit();
				/* Working hours in local time, a few outside. */
				int64_t local_min = 9 * 60 + (int64_t)(u * 8 * 60);
				unsigned ty;

				if (rnd_unit() < 0.03)
					local_min = (int64_t)(rnd_unit() * 24 * 60);
				u = rnd_unit();
				ty = u < 0.72 ? 0 : u < 0.85 ? 1 : u < 0.96 ? 2 :
				    u < 0.99 ? 3 : u < 0.997 ? 4 : 5;
				day[n].at = midnight + local_min * 60000 -
				    (int64_t)zone_hours[(r % 20) % NZONES] *
				    3600000 + (int64_t)(rnd_unit() * 60000);
				day[n].rep = r;
				day[n].type = (uint8_t)ty;
				n++;
			}
		}
		qsort(day, n, sizeof(*day), by_time);
		for (size_t i = 0; i < n; i++) {
			caltime_format_utc(day[i].at, ts, sizeof(ts));
			if (day[i].type == 5)
				fprintf(f, "{\"event_id\":\"ev%09" PRIu64 "\","
				    "\"rep_id\":\"rep%04u\",\"type\":\"%s\","
				    "\"occurred_at\":\"%s\",\"amount\":%u}\n",
				    id++, day[i].rep, types[day[i].type], ts,
				    5000 + (unsigned)(rnd() % 40000));
			else
				fprintf(f, "{\"event_id\":\"ev%09" PRIu64 "\","
				    "\"rep_id\":\"rep%04u\",\"type\":\"%s\","
				    "\"occurred_at\":\"%s\"}\n", id++, day[i].rep,
				    types[day[i].type], ts);
		}
		total += n;
	}
	fclose(f);
	free(day);
	free(level);
	*nevents = total;
	*nbytes = len;
	return buf;
}

struct result {
	char *out;
	size_t outlen;
	struct backtest_stats st;
};

/* Replays events; the alerts go to memory, or to /dev/null with sink. */
static int
replay(const char *yaml, const char *events, size_t nbytes,
    const struct backtest_opts *o, bool sink, struct result *res)
{
	char *errs = NULL, err[256];
	struct config *cfg = config_load_buffer("bench.yaml", yaml,
	    strlen(yaml), &errs);
	FILE *in, *out;
	int rc;

	if (cfg == NULL) {
		fprintf(stderr, "bench config: %s", errs ? errs : "?");
		return -1;
	}
	in = fmemopen((void *)events, nbytes, "r");
	if (sink)
		out = fopen("/dev/null", "w");
	else
		out = open_memstream(&res->out, &res->outlen);
	if (in == NULL || out == NULL) {
		fprintf(stderr, "bench: cannot open streams\n");
		config_free(cfg);
		return -1;
	}
	rc = backtest_run(cfg, in, out, o, &res->st, err, sizeof(err));
	fclose(in);
	fclose(out);
	config_free(cfg);
	if (rc != 0)
		fprintf(stderr, "backtest: %s\n", err);
	return rc;
}

static void
show(const char *what, const struct result *r)
{
	printf("  %-10s %8.2f s  events=%" PRIu64 " ticks=%" PRIu64
	    " evaluations=%" PRIu64 " wakes=%" PRIu64 " alerts=%" PRIu64
	    " (%.0f events/s)\n", what, r->st.elapsed_s, r->st.read,
	    r->st.ticks, r->st.evaluations, r->st.wakes, r->st.alerts,
	    r->st.elapsed_s > 0 ? (double)r->st.read / r->st.elapsed_s : 0);
}

int
main(int argc, char **argv)
{
	unsigned nreps = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	unsigned ndays = argc > 2 ? (unsigned)atoi(argv[2]) : 92;
	unsigned sreps = argc > 3 ? (unsigned)atoi(argv[3]) : 100;
	unsigned sdays = argc > 4 ? (unsigned)atoi(argv[4]) : 7;
	struct backtest_opts fast = { .has_until = true }, ex;
	struct result full = { 0 }, a = { 0 }, b = { 0 };
	char *yaml, *events;
	size_t nev, nbytes;
	int same;

	if (nreps == 0 || ndays == 0 || sreps == 0 || sdays == 0) {
		fprintf(stderr, "usage: bench_backtest [REPS [DAYS [SLICE_REPS"
		    " [SLICE_DAYS]]]]\n");
		return 2;
	}
	yaml = make_config(nreps);
	events = make_events(nreps, ndays, &nev, &nbytes);
	printf("quarter: %u reps, %u days, %zu events (%.0f MB), "
	    "evaluate_every 1m\n", nreps, ndays, nev, (double)nbytes / 1e6);
	fast.until_ms = Q4_START_MS + (int64_t)ndays * DAY_MS;
	if (replay(yaml, events, nbytes, &fast, true, &full) != 0)
		return 1;
	show("fast", &full);
	printf("  model_mismatches=%" PRIu64 "\n", full.st.model_mismatches);
	free(full.out);
	free(events);
	free(yaml);

	/* The slice: its own org of the first sreps reps, over sdays. */
	rng_state = 0x9e3779b97f4a7c15ULL;
	yaml = make_config(sreps);
	events = make_events(sreps, sdays, &nev, &nbytes);
	printf("slice: %u reps, %u days, %zu events\n", sreps, sdays, nev);
	fast.until_ms = Q4_START_MS + (int64_t)sdays * DAY_MS;
	ex = fast;
	ex.exhaustive = true;
	if (replay(yaml, events, nbytes, &fast, false, &a) != 0 ||
	    replay(yaml, events, nbytes, &ex, false, &b) != 0)
		return 1;
	show("fast", &a);
	show("exhaustive", &b);
	same = a.outlen == b.outlen && memcmp(a.out, b.out, a.outlen) == 0;
	printf("  exhaustive / fast = %.1fx; outputs %s (%zu bytes, %" PRIu64
	    " alerts)\n", a.st.elapsed_s > 0 ? b.st.elapsed_s / a.st.elapsed_s :
	    0, same ? "identical" : "DIFFER", a.outlen, a.st.alerts);
	free(a.out);
	free(b.out);
	free(events);
	free(yaml);
	return same && full.st.model_mismatches == 0 ? 0 : 1;
}
