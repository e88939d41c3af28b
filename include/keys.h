#ifndef PACED_KEYS_H
#define PACED_KEYS_H

/*
 * The Redis key layout, a public interface (README.md, "Redis keys"):
 * every key paced reads or writes is named here, and nowhere else, and so
 * is every key's expiry. P is redis.key_prefix. The counters, dedupe ids
 * and team shares of one counter shard carry the hash tag {s:N}, the other
 * keys of one rep {rep:R}, each leaderboard a tag of its own {board:...};
 * the keys of one topic and the alert set and stream carry none.
 *
 * Each key function returns an owned string; free with free().
 */

#include <stdint.h>

#include "caltime.h"
#include "config.h"

/* The counter shard of rep_id (borrowed): FNV-1a 64 of its bytes modulo
 * redis.shards. Every key of one shard carries the hash tag {s:<N>}: a
 * rep's counters, the ids counted for it and its team's share of the
 * shard's reps live in its shard's keys, and one script call per shard
 * writes a batch. Borrows cfg. */
int keys_shard_of(const struct config *cfg, const char *rep_id);
/* P:{s:N}:cnt:<period>:<date>, the counters of the shard's reps in one
 * bucket (start_day: the bucket's first local day); fields are
 * keys_counter_field. Borrows cfg. */
char *keys_shard_counters(const struct config *cfg, int shard,
    enum period p, int32_t start_day);
/* P:{s:N}:team:<period>:<date>, each team's total over the shard's reps
 * in one bucket; fields are keys_team_field. A team's total is the sum
 * over every shard. Borrows cfg. */
char *keys_shard_teams(const struct config *cfg, int shard, enum period p,
    int32_t start_day);
/* P:{s:N}:seen:<YYYY-MM-DD>, the ids counted for the shard's reps whose
 * occurred_at falls on UTC day utc_day; members are keys_seen_member.
 * Borrows cfg. */
char *keys_shard_seen(const struct config *cfg, int shard, int32_t utc_day);
/* P:{s:N}:wm:<topic>, the shard's watermark: per partition, the next
 * offset such that every earlier event of the shard's reps is counted;
 * written by the counting script with the counts. Borrows cfg and topic. */
char *keys_shard_watermarks(const struct config *cfg, int shard,
    const char *topic);
/* keys_shard_counters of rep_id's shard. Borrows cfg and rep_id. */
char *keys_rep_counters(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day);
/* <rep_id>|<kpi>, a rep's field in a shard's counter hash. Borrows. */
char *keys_counter_field(const char *rep_id, const char *kpi);
/* <team_id>|<kpi>, a team's field in a shard's team hash. Borrows. */
char *keys_team_field(const char *team_id, const char *kpi);
/* <rep_id>|<event_id>, a dedupe set's member (event_id: len bytes, any;
 * rep ids hold no '|'). Borrows. */
char *keys_seen_member(const char *rep_id, const char *event_id,
    size_t len);
/* The same three names written into buf for the hot path, no allocation
 * and no strlen: each string with its length; buf holds at least both
 * lengths plus one. Returns the bytes written (no NUL added). */
size_t keys_counter_field_to(char *buf, const char *rep_id, size_t rep_len,
    const char *kpi, size_t kpi_len);
size_t keys_team_field_to(char *buf, const char *team_id, size_t team_len,
    const char *kpi, size_t kpi_len);
size_t keys_seen_member_to(char *buf, const char *rep_id, size_t rep_len,
    const char *event_id, size_t len);
/* P:{rep:R}:pace:<period>:<date>, the rep's last pace figures in one
 * bucket. Borrows cfg and rep_id. */
char *keys_rep_pace(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day);
/* P:{rep:R}:snapfinal:<period>:<date>, set once the final scorecard
 * snapshot of the rep's bucket is acknowledged by the topic. Borrows cfg
 * and rep_id. */
char *keys_rep_snapshot_final(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day);
/* P:{rep:R}:alerts, the rep's alert states. Borrows cfg and rep_id. */
char *keys_rep_alerts(const struct config *cfg, const char *rep_id);
/* P:{board:<scope>:<kpi>:<period>:<date>}, a leaderboard: a sorted set
 * of rep ids scored by their absolute value of kpi in one bucket. scope is
 * org, team:T, role:R or manager:M; the whole name is the hash tag, so each
 * board has a slot of its own. Borrows all. */
char *keys_board(const struct config *cfg, const char *scope,
    const char *kpi, enum period p, int32_t start_day);
/* The keys of contest id (contests in the config), all under the hash
 * tag {contest:ID} so that one script call reaches them in one slot:
 * P:{contest:ID}:board, the standings (sorted set: member = rep or team
 * id, score = its total); P:{contest:ID}:days, the absolute day values
 * the totals are summed from (hash); P:{contest:ID}:reached, when each
 * member reached a race's goal (hash, ms since the epoch);
 * P:{contest:ID}:result, the result marker (hash: state pending | sent).
 * Borrow cfg and id. */
char *keys_contest_board(const struct config *cfg, const char *id);
char *keys_contest_days(const struct config *cfg, const char *id);
char *keys_contest_reached(const struct config *cfg, const char *id);
char *keys_contest_result(const struct config *cfg, const char *id);
/* EXPIREAT of a contest's keys: redis.retention.day after the UTC
 * midnight a day past last_day, the contest's last local day. */
int64_t keys_contest_expire_at(const struct config *cfg, int32_t last_day);
/* P:funnel:team:<team_id>:<role>, a team x role's funnel window
 * figures (hash: per step <from>|<to> its rate, per KPI its count,
 * window_to, updated_at); no hash tag: one key a command. Borrows all. */
char *keys_funnel_team(const struct config *cfg, const char *team_id,
    const char *role);
/* P:{rep:R}:funnel, a rep's funnel window figures (hash: per step
 * <from>|<to> its own rate, used:<from>|<to> the rate its forecast uses
 * and source:<from>|<to> whose, per KPI its count, window_to,
 * updated_at). Borrows cfg and rep_id. */
char *keys_funnel_rep(const struct config *cfg, const char *rep_id);
/* <from>|<to>, a funnel step's field; with a non-NULL what,
 * <what>:<from>|<to>. Borrows all. */
char *keys_funnel_step_field(const char *what, const char *from_kpi,
    const char *to_kpi);
/* EXPIREAT of the funnel hashes of a window whose last local day is
 * window_to, written at now (seconds since the epoch, wall clock): 3 days
 * past the later of the UTC midnight ending the day after window_to (a
 * spare day for zones ahead of UTC) and now, so that a window replayed
 * on the event clock does not expire as it is written. */
int64_t keys_funnel_expire_at(int32_t window_to, int64_t now);
/* P:offsets:<topic>, the next offset to consume per partition. Borrows
 * cfg and topic. */
char *keys_offsets(const struct config *cfg, const char *topic);
/* P:evclock:<topic>, the last evaluate_every boundary judged per
 * partition (clock: event). Borrows cfg and topic. */
char *keys_evclock(const struct config *cfg, const char *topic);
/* P:began:<topic>, when the data began per partition: the earliest
 * occurred_at (ms) of the first batch that counted events from it, or 0
 * when paced consumed it before this was recorded. Written once
 * (HSETNX). Borrows cfg and topic. */
char *keys_began(const struct config *cfg, const char *topic);
/* P:alerts:firing, the alerts firing now. Borrows cfg. */
char *keys_alerts_firing(const struct config *cfg);
/* P:alerts, the stream of every alert message. Borrows cfg. */
char *keys_alerts_stream(const struct config *cfg);
/* P:webhook:held, the digest webhook messages held by quiet hours, to
 * survive a restart. Borrows cfg. */
char *keys_webhook_held(const struct config *cfg);
/* P:webhook:budget, each manager's day of digest lines (the budget).
 * Borrows cfg. */
char *keys_webhook_budget(const struct config *cfg);
/* P:digest:<kind>:<manager>:<YYYY-MM-DD>, the marker that a scheduled
 * digest (kind: morning, weekly) of local day `day` went out to manager.
 * Borrows all. */
char *keys_digest_sent(const struct config *cfg, const char *kind,
    const char *manager, int32_t day);
/* P:digest:news:<manager>, positive news waiting for the manager's next
 * morning digest. Borrows cfg and manager. */
char *keys_digest_news(const struct config *cfg, const char *manager);
/* P:digest:coach:<manager>, the coaching list's hysteresis of the
 * manager's reps: field <rep_id>|<from_kpi>|<to_kpi>, value
 * <day>:<before>:<after> (funnel.coaching). Borrows cfg and manager. */
char *keys_digest_coach(const struct config *cfg, const char *manager);
/* The field of a rep's funnel step in P:digest:coach:<manager>:
 * <rep_id>|<from_kpi>|<to_kpi>. Borrows all. */
char *keys_digest_coach_field(const char *rep_id, const char *from_kpi,
    const char *to_kpi);
/* EXPIREAT of a digest marker of local day `day`, and of a news or
 * coaching hash written on that day: 8 days past the UTC midnight ending
 * it. */
int64_t keys_digest_expire_at(int32_t day);
/* The pub/sub channel of rank and pace status changes (not a key). */
char *keys_changes_channel(const struct config *cfg);

/* The expiry arithmetic of every key that has one: the UTC midnight that
 * ends day (days since 1970-01-01) plus keep_ms (whole seconds), in
 * seconds since the epoch (for EXPIREAT). */
int64_t keys_expire_at(int32_t day, int64_t keep_ms);
/* EXPIREAT of a bucket's keys (rep counters, team totals and
 * contributions, pace figures, leaderboards): redis.retention.<period>
 * after the UTC midnight one day past end_day, the bucket's last local
 * day (a spare day, so that no zone loses a bucket early). Borrows cfg. */
int64_t keys_bucket_expire_at(const struct config *cfg, enum period p,
    int32_t end_day);
/* EXPIREAT of a dedupe set written at now (seconds since the epoch, wall
 * clock): redis.dedupe_window after the later of its UTC day's end and
 * now, so that it outlives the window its ids are accepted in on either
 * clock. The rep script also pushes an expiry back that falls over a
 * day short of this. Borrows cfg. */
int64_t keys_seen_expire_at(const struct config *cfg, int32_t utc_day,
    int64_t now);

#endif
