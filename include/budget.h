#ifndef PACED_BUDGET_H
#define PACED_BUDGET_H

/*
 * The per-manager budget of webhook digests (alerts.max_per_manager_per_day):
 * how many alert lines one manager may still get on one local day. Pure:
 * no clock, no I/O; the caller says which day it is.
 *
 * Semantics of budget_take():
 *  - A manager gets at most max alert lines a day (digests count their
 *    lines). When a digest holds more than is left, the critical firing
 *    ones go first (escalations and their repeats), then the others in
 *    the order given; the rest are held: they are not sent to this
 *    manager (the durable sinks, /v1/alerts and P:alerts:firing still
 *    hold them) and are counted.
 *  - The digest that reaches the limit says how many of its alerts were
 *    held (note.held_now); later digests of that day are not sent at all
 *    (budget_take returns 0) and what they held is counted too. The first
 *    digest of the next day says how many were held the day before, in
 *    all (note.held_before).
 *  - max <= 0 is no limit.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct budget;

struct budget_note {
	long held_now;		/* held from this digest */
	long held_before;	/* held on the manager's previous day */
	long max;		/* the limit, for the sentence */
};

/* Returns an owned, empty budget (free with budget_free). */
struct budget *budget_new(void);
/* Frees b; NULL does nothing. */
void budget_free(struct budget *b);
/*
 * Manager (borrowed; NULL is a manager too) is about to get the n alerts
 * idx[0..n) on its local day `day`; critical[idx[i]] (borrowed) says
 * which are critical and firing. Reorders idx so that the ones that go
 * come first (critical firing first), returns their number and fills
 * *note (caller's). 0 means: send nothing.
 */
size_t budget_take(struct budget *b, const char *manager, int32_t day,
    long max, const bool *critical, size_t *idx, size_t n,
    struct budget_note *note);

/*
 * A manager's day as an earlier run left it (read back from Redis):
 * manager (borrowed; NULL is a manager too) had used lines and held
 * lines on its local day `day`, held_before still unsaid. Taken when b
 * knows nothing of that manager yet or knows less of that day (the
 * larger counts win); an older day is ignored.
 */
void budget_seed(struct budget *b, const char *manager, int32_t day,
    long used, long held, long held_before);
/* manager's (borrowed) day as it stands: 0, or -1 when b knows nothing
 * of it. Every out-parameter is the caller's. */
int budget_state(const struct budget *b, const char *manager, int32_t *day,
    long *used, long *held, long *held_before);

#endif
