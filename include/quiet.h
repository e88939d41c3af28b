#ifndef PACED_QUIET_H
#define PACED_QUIET_H

/*
 * Quiet hours for the webhooks (alerts.quiet_hours): a message for a
 * manager is held while the alert's team is outside its working time (a
 * weekend, a holiday, before or after the hours, in the team's zone) or
 * its rep is out of office, and delivered at the start of the next
 * working period of both, merged with what is still true then. Pure: no
 * clock, no I/O; the caller says what time it is and who is working.
 *
 * Merging, per alert_id, while held:
 *  - a resolution of a held firing message drops both: an alert that
 *    fired and resolved at night is never sent;
 *  - any other later message replaces the held one (a repeat replaces the
 *    firing it repeats; a firing that comes back after a resolution of
 *    an alert delivered by day replaces the resolution: the news of the
 *    morning is that it fires);
 *  - a critical alert replaces a held warning it supersedes (same rep,
 *    KPI, period and bucket: the caller passes the warning's id).
 * Released items keep the order in which they were first held.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caltime.h"
#include "pacing.h"

/* True when instant now is working time of calendar cal in zone z: a
 * working day that is no holiday, and a minute inside the hours. */
bool quiet_working(const struct pacing_calendar *cal, struct tzone *z,
    int64_t now);

/* True when day is one of the n sorted day numbers days (a rep's
 * out_of_office list; borrowed, may be NULL when n is 0). */
bool quiet_out_of_office(const int32_t *days, size_t n, int32_t day);

struct quiet;

/* Returns an owned, empty hold; free_item frees what quiet_hold takes. */
struct quiet *quiet_new(void (*free_item)(void *));
/* Frees q and every item it still holds; NULL does nothing. */
void quiet_free(struct quiet *q);
/*
 * Holds item (owned from now on) of alert alert_id about rep rep_id of
 * team team_id (all borrowed, copied), firing or a resolution, merged as
 * above; supersedes (borrowed, NULL or "": none) is the id of a warning
 * it replaces.
 */
void quiet_hold(struct quiet *q, const char *alert_id, const char *team_id,
    const char *rep_id, bool firing, const char *supersedes, void *item);
/*
 * Adds item (owned from now on), a message held before a restart, as the
 * earliest message of its alert: when alert_id is held already (a later
 * message of it came first), item is freed and false returned.
 */
bool quiet_hold_earlier(struct quiet *q, const char *alert_id,
    const char *team_id, const char *rep_id, bool firing, void *item);
/* True when a message of alert_id (borrowed) is held. */
bool quiet_holds(const struct quiet *q, const char *alert_id);
/*
 * Moves out the items whose team and rep working(ctx, team_id, rep_id)
 * says are at work now: returns their number and *out (owned array,
 * NULL when none; the items are the caller's).
 */
size_t quiet_release(struct quiet *q,
    bool (*working)(void *ctx, const char *team_id, const char *rep_id),
    void *ctx, void ***out);
/* Items held. */
size_t quiet_count(const struct quiet *q);

#endif
