#ifndef PACED_EVCLOCK_H
#define PACED_EVCLOCK_H

/*
 * The event-clock gate, shared by the daemon (clock: event) and the
 * backtest: time follows the events, and every evaluate_every boundary
 * the watermark passes is judged with exactly the events before it
 * counted. So before an event past the next boundary is counted, every
 * boundary up to the event's own must be judged. The first event starts
 * the clock at its own boundary (nothing before it is judged), or, after
 * a restart, at the boundary judged last before it. Plain data, pure; the
 * caller judges the boundaries (at once in the backtest, through the
 * evaluator in the daemon) and says so with evclock_judged.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evclock {
	int64_t every_ms;	/* evaluate_every; > 0 */
	bool started;		/* an event has set done */
	bool restored;		/* saved: the boundary judged before a restart */
	int64_t saved;
	int64_t done;		/* boundaries up to this index are judged */
};

/* Resets c for boundaries every_ms apart. */
void evclock_init(struct evclock *c, int64_t every_ms);
/* The index of the last boundary at or before at_ms. */
int64_t evclock_index(const struct evclock *c, int64_t at_ms);
/* The instant of boundary idx. */
int64_t evclock_at(const struct evclock *c, int64_t idx);
/*
 * An event at at_ms is to be counted: returns true when it may be now,
 * false when the boundaries after done up to *target must be judged
 * first (call evclock_judged as they are, then offer it again).
 */
bool evclock_admit(struct evclock *c, int64_t at_ms, int64_t *target);
/* The boundaries up to index idx are judged. */
void evclock_judged(struct evclock *c, int64_t idx);
/* Before the first event: the boundaries the partitions read judged last
 * (saved, n of them; borrowed); the clock starts at the lowest. n == 0
 * forgets any earlier restore. */
void evclock_restore(struct evclock *c, const int64_t *saved, size_t n);

#endif
