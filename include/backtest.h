#ifndef PACED_BACKTEST_H
#define PACED_BACKTEST_H

/*
 * The backtest (`paced backtest`): replays a JSON-lines file of activity
 * events through the engine on the event clock, entirely in memory, and
 * writes the alerts that would have fired (alert contract v1, one JSON
 * object a line, in evaluated_at order). It needs no broker and touches no
 * Redis key or Kafka topic.
 *
 * The clock is the daemon's event clock: the first event sets it; before
 * an event past the next evaluate_every boundary is counted, every
 * boundary up to the event's own is evaluated, for every rep, with exactly
 * the events before it counted. With an until instant the clock goes on
 * after the last event, so that silence at the end is judged too.
 *
 * The data begins with the replay: a bucket that began before the
 * boundary of the first event (a replay that starts mid-week) is judged
 * on the working time since then (scorecard_since), not on days the file
 * does not hold.
 *
 * By default only the reps whose alerts could change at a boundary are
 * evaluated (see backtest.c); the exhaustive mode evaluates every rep at
 * every boundary and must write the same bytes.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "decode.h"

struct backtest_opts {
	bool has_until;
	int64_t until_ms;	/* evaluate boundaries up to this instant */
	bool exhaustive;	/* every rep at every boundary */
};

struct backtest_stats {
	uint64_t read;		/* lines read */
	uint64_t counted;
	uint64_t duplicates;
	uint64_t bad;		/* decode failures and too_old */
	uint64_t bad_reason[DECODE_REASON_COUNT];
	uint64_t too_old;	/* before watermark - dedupe_window */
	uint64_t skipped;
	uint64_t unknown_rep;
	uint64_t unknown_type;
	uint64_t ticks;		/* evaluate_every boundaries passed */
	uint64_t evaluations;	/* evaluate_rep() calls */
	uint64_t wakes;		/* reps woken by the scheduler */
	uint64_t alerts;
	uint64_t model_mismatches;	/* see backtest.c; 0 when all is well */
	double elapsed_s;
};

/*
 * Borrows all. Replays the events read from in (one JSON object a line)
 * for cfg and writes the alerts to out; fills st (caller's). Returns 0, or
 * -1 with the reason in err (roster, read or write failure). Bad lines are
 * counted in st, never fatal.
 */
int backtest_run(const struct config *cfg, FILE *in, FILE *out,
    const struct backtest_opts *opts, struct backtest_stats *st, char *err,
    size_t errlen);
/* Borrows st; writes its one-line summary to f. */
void backtest_stats_print(const struct backtest_stats *st, bool exhaustive,
    FILE *f);
/*
 * The `paced backtest` command; argv[0] is "backtest". Returns the exit
 * code: 0, 1 on a config or I/O error, 2 on a usage error.
 */
int backtest_main(int argc, char **argv);

#endif
