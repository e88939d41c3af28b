/*
 * keys.c: the Redis key layout. Every key name paced uses is formatted
 * here, and every expiry rule is worked out here, so that the public
 * layout of README.md has one home; no other module formats a key (make
 * lint checks). Pure: called by whoever sends a command.
 */
#include "keys.h"

#include <stdio.h>

#include "xmalloc.h"

static const char *
prefix(const struct config *cfg)
{
	return cfg->redis.key_prefix != NULL ? cfg->redis.key_prefix : "paced";
}

/* P:{<tag>:<id>}:<what>:<period>:<date>, a bucket's key. */
static char *
bucket_key(const struct config *cfg, const char *tag, const char *id,
    const char *what, enum period p, int32_t start_day)
{
	char date[16];

	caltime_format_date(start_day, date, sizeof(date));
	return xasprintf("%s:{%s:%s}:%s:%s:%s", prefix(cfg), tag, id, what,
	    caltime_period_name(p), date);
}

char *
keys_rep_counters(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day)
{
	return bucket_key(cfg, "rep", rep_id, "cnt", p, start_day);
}

char *
keys_rep_seen(const struct config *cfg, const char *rep_id, int32_t utc_day)
{
	char date[16];

	caltime_format_date(utc_day, date, sizeof(date));
	return xasprintf("%s:{rep:%s}:seen:%s", prefix(cfg), rep_id, date);
}

char *
keys_rep_pace(const struct config *cfg, const char *rep_id, enum period p,
    int32_t start_day)
{
	return bucket_key(cfg, "rep", rep_id, "pace", p, start_day);
}

char *
keys_rep_alerts(const struct config *cfg, const char *rep_id)
{
	return xasprintf("%s:{rep:%s}:alerts", prefix(cfg), rep_id);
}

char *
keys_team_counters(const struct config *cfg, const char *team_id,
    enum period p, int32_t start_day)
{
	return bucket_key(cfg, "team", team_id, "cnt", p, start_day);
}

char *
keys_team_contrib(const struct config *cfg, const char *team_id,
    enum period p, int32_t start_day)
{
	return bucket_key(cfg, "team", team_id, "contrib", p, start_day);
}

char *
keys_board(const struct config *cfg, const char *scope, const char *kpi,
    enum period p, int32_t start_day)
{
	char date[16];

	caltime_format_date(start_day, date, sizeof(date));
	return xasprintf("%s:{board:%s:%s:%s:%s}", prefix(cfg), scope, kpi,
	    caltime_period_name(p), date);
}

char *
keys_contest_board(const struct config *cfg, const char *id)
{
	return xasprintf("%s:{contest:%s}:board", prefix(cfg), id);
}

char *
keys_contest_days(const struct config *cfg, const char *id)
{
	return xasprintf("%s:{contest:%s}:days", prefix(cfg), id);
}

char *
keys_contest_reached(const struct config *cfg, const char *id)
{
	return xasprintf("%s:{contest:%s}:reached", prefix(cfg), id);
}

char *
keys_contest_result(const struct config *cfg, const char *id)
{
	return xasprintf("%s:{contest:%s}:result", prefix(cfg), id);
}

int64_t
keys_contest_expire_at(const struct config *cfg, int32_t last_day)
{
	return keys_expire_at(last_day + 1,
	    cfg->redis.retention_ms[PERIOD_DAY]);
}

char *
keys_offsets(const struct config *cfg, const char *topic)
{
	return xasprintf("%s:offsets:%s", prefix(cfg), topic);
}

char *
keys_evclock(const struct config *cfg, const char *topic)
{
	return xasprintf("%s:evclock:%s", prefix(cfg), topic);
}

char *
keys_began(const struct config *cfg, const char *topic)
{
	return xasprintf("%s:began:%s", prefix(cfg), topic);
}

char *
keys_alerts_firing(const struct config *cfg)
{
	return xasprintf("%s:alerts:firing", prefix(cfg));
}

char *
keys_alerts_stream(const struct config *cfg)
{
	return xasprintf("%s:alerts", prefix(cfg));
}

char *
keys_changes_channel(const struct config *cfg)
{
	return xasprintf("%s:changes", prefix(cfg));
}

int64_t
keys_expire_at(int32_t day, int64_t keep_ms)
{
	return ((int64_t)day + 1) * 86400 + keep_ms / 1000;
}

int64_t
keys_bucket_expire_at(const struct config *cfg, enum period p,
    int32_t end_day)
{
	/* One spare day covers zones ahead of UTC. */
	return keys_expire_at(end_day, cfg->redis.retention_ms[p]);
}

/*
 * The later of the day's end and now: the first alone would do on the
 * wall clock, where too_old refuses what is older than the window; but on
 * the event clock history older than the window (by the wall) is
 * accepted, and its set would expire the moment it was created.
 */
int64_t
keys_seen_expire_at(const struct config *cfg, int32_t utc_day, int64_t now)
{
	int64_t at = keys_expire_at(utc_day, cfg->redis.dedupe_window_ms);
	int64_t floor = now + cfg->redis.dedupe_window_ms / 1000;

	return at > floor ? at : floor;
}
