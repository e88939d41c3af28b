#ifndef PACED_SNAPSHOT_H
#define PACED_SNAPSHOT_H

/*
 * Scorecard snapshots (kafka.topics.scorecards, schema
 * docs/schemas/scorecard-v1.json): per rep x KPI (with a target) x period,
 * the figures of the evaluation (actual, target, expected_to_date, pace,
 * projected, required_rate, status). The evaluator tells it of every rep
 * judged: a rep's open buckets are snapshot at its first evaluation after
 * analytics.snapshot_every; when a rep's bucket has closed (the bucket
 * judged moved on, or, the first time a rep is seen, the bucket before the
 * one judged), the closed bucket's counters are read back and its final
 * figures go out once, marked final, for every bucket; a Redis marker
 * (keys_rep_snapshot_final), written once the topic has them, keeps the
 * final snapshot to one per bucket across restarts and members. Key:
 * <rep_id>|<kpi>|<period>|<period_start>, so a compacted topic keeps each
 * bucket's last snapshot: the final one.
 *
 * Forecast: a rep whose role has a funnel gets, on each record of a
 * bucket, the bucket's activity-based forecast (funnel.c) from the
 * record's scorecard (the top KPI's actual, the working time gone, the
 * targets) and the window rates of funnel_cache.c; null until the cache
 * knows the rep's rates, absent for a role without a funnel.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "funnel.h"
#include "funnel_cache.h"
#include "roster.h"
#include "scorecard.h"

struct event_base;
struct redis_conn;
struct snapshot;

#define SNAPSHOT_VERSION	1

/* A bucket's forecast, as a snapshot carries it. */
struct snapshot_forecast {
	struct funnel_forecast fc;
	double elapsed_fraction;
	struct funnel_cache_rates rates;	/* the rates it used */
};

/* Borrows base, conn and the config and roster read through cfg and
 * roster (reloads). Returns owned (free with snapshot_free) or NULL with
 * librdkafka's message in err. */
struct snapshot *snapshot_new(struct event_base *base, struct redis_conn *conn,
    const struct config *const *cfg, const struct roster *const *roster,
    char *err, size_t errlen);
/* Waits up to timeout_ms for deliveries (blocking: after the loop has
 * stopped), then frees s; Redis replies still owed find it gone. NULL
 * does nothing. */
void snapshot_free(struct snapshot *s, int timeout_ms);
/* The evaluator judged rep at at_ms: cards[PERIOD_COUNT] (borrowed). */
void snapshot_judged(struct snapshot *s, const struct roster_rep *rep,
    int64_t at_ms, const struct scorecard *cards);
/* The roster was swapped: what is known per rep is forgotten. */
void snapshot_reconfigured(struct snapshot *s);

/* Writes the message key of (rep, KPI k, card's period and bucket) into
 * buf (cap bytes); returns its length (cap or more: did not fit). */
size_t snapshot_key(const struct roster_rep *rep, const struct config *cfg,
    size_t k, const struct scorecard *card, char *buf, size_t cap);
/* Writes the message value (JSON) of KPI k of card at at_ms into buf (cap
 * bytes), with fc (borrowed; NULL: "forecast" null, or absent when the
 * rep's role has no funnel); returns its length (cap or more: did not
 * fit). Pure. */
size_t snapshot_format(const struct roster_rep *rep, const struct config *cfg,
    size_t k, const struct scorecard *card, int64_t at_ms, bool final,
    const struct snapshot_forecast *fc, char *buf, size_t cap);
/* The forecast of rep's (a role with a funnel) bucket of card (both
 * borrowed) through rates (borrowed) into out (caller's), as the funnel
 * API computes a rep's. Pure. */
void snapshot_forecast(const struct roster_rep *rep, const struct config *cfg,
    const struct scorecard *card, const struct funnel_cache_rates *rates,
    struct snapshot_forecast *out);

#endif
