/*
 * keys.c: the Redis key layout. Every key name paced uses is formatted
 * here, and every expiry rule is worked out here, so that the public
 * layout of README.md has one home; no other module formats a key (make
 * lint checks). Pure: called by whoever sends a command.
 */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#include "xmalloc.h"

#define JOIN_MAX	12

/* The n strings joined, owned: the key builders of the hot paths, without
 * printf's cost. */
static char *
join(size_t n, const char *const *parts)
{
	size_t len = 0, lens[JOIN_MAX];
	char *out, *o;

	if (n > JOIN_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		len += lens[i] = strlen(parts[i]);
	o = out = xmalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(o, parts[i], lens[i]);
		o += lens[i];
	}
	*o = '\0';
	return out;
}

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
	const char *parts[] = { prefix(cfg), ":{", tag, ":", id, "}:", what,
	    ":", caltime_period_name(p), ":", date };

	caltime_format_date(start_day, date, sizeof(date));
	return join(11, parts);
}

int
keys_shard_of(const struct config *cfg, const char *rep_id)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_INIT, rep_id, strlen(rep_id));
	int n = cfg->redis.shards > 0 ? cfg->redis.shards : 1;

	return (int)(h % (uint64_t)n);
}

/* P:{s:<N>}:<what>:<period>:<date>, a shard's hash of one bucket. */
static char *
shard_bucket_key(const struct config *cfg, int shard, const char *what,
    enum period p, int32_t start_day)
{
	char date[16], num[16];
	const char *parts[] = { prefix(cfg), ":{s:", num, "}:", what, ":",
	    caltime_period_name(p), ":", date };

	caltime_format_date(start_day, date, sizeof(date));
	snprintf(num, sizeof(num), "%d", shard);
	return join(9, parts);
}

char *
keys_shard_counters(const struct config *cfg, int shard, enum period p,
    int32_t start_day)
{
	return shard_bucket_key(cfg, shard, "cnt", p, start_day);
}

char *
keys_shard_teams(const struct config *cfg, int shard, enum period p,
    int32_t start_day)
{
	return shard_bucket_key(cfg, shard, "team", p, start_day);
}

char *
keys_shard_seen(const struct config *cfg, int shard, int32_t utc_day)
{
	char date[16];

	caltime_format_date(utc_day, date, sizeof(date));
	return xasprintf("%s:{s:%d}:seen:%s", prefix(cfg), shard, date);
}

char *
keys_shard_watermarks(const struct config *cfg, int shard, const char *topic)
{
	char num[16];
	const char *parts[] = { prefix(cfg), ":{s:", num, "}:wm:", topic };

	snprintf(num, sizeof(num), "%d", shard);
	return join(5, parts);
}

char *
keys_rep_counters(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day)
{
	return keys_shard_counters(cfg, keys_shard_of(cfg, rep_id), p,
	    start_day);
}

/* <a>|<b> into buf (alen + 1 + blen bytes, no NUL); its length. */
static size_t
pair_to(char *buf, const char *a, size_t alen, const char *b, size_t blen)
{
	memcpy(buf, a, alen);
	buf[alen] = '|';
	memcpy(buf + alen + 1, b, blen);
	return alen + 1 + blen;
}

/* pair_to, owned and NUL-terminated. */
static char *
pair(const char *a, size_t alen, const char *b, size_t blen)
{
	char *out = xmalloc(alen + blen + 2);

	out[pair_to(out, a, alen, b, blen)] = '\0';
	return out;
}

char *
keys_counter_field(const char *rep_id, const char *kpi)
{
	return pair(rep_id, strlen(rep_id), kpi, strlen(kpi));
}

size_t
keys_counter_field_to(char *buf, const char *rep_id, size_t rep_len,
    const char *kpi, size_t kpi_len)
{
	return pair_to(buf, rep_id, rep_len, kpi, kpi_len);
}

char *
keys_team_field(const char *team_id, const char *kpi)
{
	return pair(team_id, strlen(team_id), kpi, strlen(kpi));
}

size_t
keys_team_field_to(char *buf, const char *team_id, size_t team_len,
    const char *kpi, size_t kpi_len)
{
	return pair_to(buf, team_id, team_len, kpi, kpi_len);
}

char *
keys_seen_member(const char *rep_id, const char *event_id, size_t len)
{
	return pair(rep_id, strlen(rep_id), event_id, len);
}

size_t
keys_seen_member_to(char *buf, const char *rep_id, size_t rep_len,
    const char *event_id, size_t len)
{
	return pair_to(buf, rep_id, rep_len, event_id, len);
}

char *
keys_rep_pace(const struct config *cfg, const char *rep_id, enum period p,
    int32_t start_day)
{
	return bucket_key(cfg, "rep", rep_id, "pace", p, start_day);
}

char *
keys_rep_snapshot_final(const struct config *cfg, const char *rep_id,
    enum period p, int32_t start_day)
{
	return bucket_key(cfg, "rep", rep_id, "snapfinal", p, start_day);
}

char *
keys_rep_alerts(const struct config *cfg, const char *rep_id)
{
	const char *parts[] = { prefix(cfg), ":{rep:", rep_id, "}:alerts" };

	return join(4, parts);
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
keys_funnel_team(const struct config *cfg, const char *team_id,
    const char *role)
{
	const char *parts[] = { prefix(cfg), ":funnel:team:", team_id, ":",
	    role };

	return join(5, parts);
}

char *
keys_funnel_rep(const struct config *cfg, const char *rep_id)
{
	const char *parts[] = { prefix(cfg), ":{rep:", rep_id, "}:funnel" };

	return join(4, parts);
}

char *
keys_funnel_step_field(const char *what, const char *from_kpi,
    const char *to_kpi)
{
	const char *parts[] = { what != NULL ? what : "",
	    what != NULL ? ":" : "", from_kpi, "|", to_kpi };

	return join(5, parts);
}

int64_t
keys_funnel_expire_at(int32_t window_to, int64_t now)
{
	int64_t at = keys_expire_at(window_to + 1, 3LL * 86400 * 1000);
	int64_t floor = now + 3LL * 86400;

	return at > floor ? at : floor;
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
keys_webhook_held(const struct config *cfg)
{
	return xasprintf("%s:webhook:held", prefix(cfg));
}

char *
keys_webhook_budget(const struct config *cfg)
{
	return xasprintf("%s:webhook:budget", prefix(cfg));
}

char *
keys_digest_sent(const struct config *cfg, const char *kind,
    const char *manager, int32_t day)
{
	char date[16];

	caltime_format_date(day, date, sizeof(date));
	return xasprintf("%s:digest:%s:%s:%s", prefix(cfg), kind,
	    manager != NULL ? manager : "", date);
}

char *
keys_digest_news(const struct config *cfg, const char *manager)
{
	return xasprintf("%s:digest:news:%s", prefix(cfg),
	    manager != NULL ? manager : "");
}

char *
keys_digest_coach(const struct config *cfg, const char *manager)
{
	return xasprintf("%s:digest:coach:%s", prefix(cfg),
	    manager != NULL ? manager : "");
}

char *
keys_digest_coach_field(const char *rep_id, const char *from_kpi,
    const char *to_kpi)
{
	const char *parts[] = { rep_id, "|", from_kpi, "|", to_kpi };

	return join(5, parts);
}

int64_t
keys_digest_expire_at(int32_t day)
{
	return keys_expire_at(day, 8LL * 86400 * 1000);
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
