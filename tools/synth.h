#ifndef PACED_TOOLS_SYNTH_H
#define PACED_TOOLS_SYNTH_H

/*
 * synth.c: the synthetic stream of paced-produce (--synthetic) and its
 * target-following plan (--backfill, the sched_ functions). Its state is
 * open to produce.c, which sends what it makes and keeps its counts.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "caltime.h"
#include "config.h"
#include "roster.h"

#define SYNTH_RING		32	/* recent events a duplicate may copy */

enum synth_profile {
	SYNTH_STEADY,
	SYNTH_LAGGING,
	SYNTH_IDLE,
};

enum synth_bad {
	SYNTH_BAD_MALFORMED,
	SYNTH_BAD_MISSING_FIELD,
	SYNTH_BAD_UNKNOWN_TYPE,
	SYNTH_BAD_UNKNOWN_REP,
	SYNTH_BAD_COUNT
};

extern const char *const synth_bad_names[SYNTH_BAD_COUNT];

struct synth_type {
	const char *name;	/* borrowed from the funnel or the config */
	double cum;		/* cumulative weight, for sampling */
	uint64_t sent;
};

/* One working day of a rep, in a week plan. */
struct sched_day {
	bool on;		/* a working day the rep is present on */
	int64_t start_ms;	/* its working hours, UTC instants */
	int64_t end_ms;
	double *target;		/* per KPI: the day's target; < 0: none */
};

/*
 * One rep's plan for one week bucket, rebuilt when the week changes. A KPI
 * with a day target is planned day by day; on the days it has none, what
 * its longer targets ask of those days' working time is spread over them
 * as one span.
 */
struct sched_week {
	bool built;
	struct bucket b;
	struct sched_day *days;	/* b.end_day - b.start_day entries */
	size_t ndays;
	double *span_target;	/* per KPI: target over the span; < 0: none */
	int64_t *span_ms;	/* per KPI: working time of its span days */
};

struct synth_rep {
	const char *id;		/* borrowed from the config */
	const char *team;
	struct tzone *tz;	/* borrowed from the roster */
	const struct roster_rep *rr;
	enum synth_profile profile;
	double cum;		/* cumulative weight, for sampling */
	struct sched_week week;	/* --backfill only */
};

/* The event types one KPI's plan draws from. */
struct sched_kpi {
	size_t *types;		/* indices into synth.types */
	double *cum;		/* cumulative funnel weights */
	size_t ntypes;		/* 0: the KPI generates nothing */
};

/* One planned event. */
struct sched_ev {
	int64_t at;
	uint32_t rep;		/* index into synth.reps */
	uint32_t kpi;
	uint32_t seq;		/* its place in its day or span */
};

struct sched_evs {
	struct sched_ev *v;
	size_t n, cap;
};

struct synth {
	struct config *cfg;
	struct roster *roster;
	struct synth_rep *reps;	/* only reps with a non-zero weight */
	size_t nreps;
	struct synth_type *types;
	size_t ntypes;
	double bad_ratio;
	char unknown_rep[32];	/* the rep id of the last unknown_rep event */
	uint64_t rng;		/* choices: deterministic from the seed */
	uint64_t idrng;		/* event ids: different on every run */
	char *idle_list;	/* comma-separated rep ids, for logs */
	char *lag_list;

	bool plan;		/* --backfill: follow the targets */
	struct sched_kpi *kpis;	/* per config KPI */
	double *zeros;		/* nkpis zeros: actual values for targets */

	struct {
		char *key;
		char *value;
	} ring[SYNTH_RING];
	size_t ring_len, ring_next;

	uint64_t dups;
	uint64_t bad[SYNTH_BAD_COUNT];
	uint64_t planned;	/* plan events sent */
};

/* splitmix64: the next value of the sequence in *s. */
uint64_t synth_next(uint64_t *s);
/* Uniform double in [0, 1). */
double synth_uniform(uint64_t *s);
/* Loads the config and builds the generator (plan: --backfill); exits on
 * error. */
struct synth *synth_new(const char *path, uint64_t seed, double bad_ratio,
    bool plan);
void synth_free(struct synth *s);
/* Appends to buf (size bytes, *off used), truncating. */
void synth_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A random id, unique within the run by construction. */
void synth_event_id(struct synth *s, char *buf, size_t size);
/* A plan event's id, the same on every run for the same rep, KPI, instant
 * and place, and into *bits 64 more bits for its other choices. */
void sched_event_id(const char *rep, const char *kpi, int64_t at,
    uint32_t seq, char *buf, size_t size, uint64_t *bits);
/* Writes one event of rep r, of type, at at_ms, with id to buf; bad
 * selects a defect (SYNTH_BAD_COUNT: none). Returns the rep id to key it
 * by, valid until the next call. */
const char *synth_format(struct synth *s, const struct synth_rep *r,
    const char *type, int64_t at_ms, const char *id, uint64_t bits,
    bool counts, enum synth_bad bad, char *buf, size_t size);
/* A random event of the random stream; returns the rep id to key it by
 * and the type's index. */
const char *synth_event(struct synth *s, char *buf, size_t size,
    enum synth_bad bad, size_t *typeidx);
/* Keeps a sent event for the duplicates to copy. */
void synth_remember(struct synth *s, const char *key, const char *value);
/* Adds rep ri's plan events in [from, to) to evs. */
void sched_rep_events(struct synth *s, size_t ri, int64_t from, int64_t to,
    struct sched_evs *evs);
/* qsort order of plan events: rep by rep, each rep's in time order. */
int sched_ev_cmp(const void *a, const void *b);
/* Prints what the plan will show at now; returns the number of teams
 * alerting now. */
int sched_print_expect(struct synth *s, int64_t now, FILE *f);

#endif
