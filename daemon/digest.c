/*
 * digest.c: the scheduled digests' rules and message (digest.h); pure.
 * digest_run.c calls it from its timer.
 */
#include "digest.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "xmalloc.h"

#define TEXT_LINES	50	/* bullets in "text"; the arrays hold all */
#define COACH_NAMED	3	/* coaching entries the sentence names */

static const char *const kind_names[] = { "morning", "weekly" };
static const char *const status_names[] = { "not_started", "ahead",
    "on_pace", "behind", "critical" };

const char *
digest_kind_name(enum digest_kind k)
{
	return k < DIGEST_KINDS ? kind_names[k] : "unknown";
}

bool
digest_due(const struct config_alerts *al, enum digest_kind k,
    const struct pacing_calendar *cal, struct tzone *z, int64_t now,
    int32_t *day)
{
	int32_t d = tzone_local_day(z, now);
	int64_t from, until;

	if (k == DIGEST_MORNING) {
		int end = cal->work_end_min;

		if (!al->digest_morning || !pacing_is_working_day(cal, d))
			return false;
		if (end < al->digest_morning_min + 60)
			end = al->digest_morning_min + 60;
		from = tzone_local_to_utc(z, d, al->digest_morning_min);
		until = end >= 1440 ? tzone_local_to_utc(z, d + 1, 0) :
		    tzone_local_to_utc(z, d, end);
	} else if (k == DIGEST_WEEKLY) {
		if (!al->digest_weekly ||
		    caltime_weekday(d) != al->digest_weekly_dow)
			return false;
		from = tzone_local_to_utc(z, d, al->digest_weekly_min);
		until = tzone_local_to_utc(z, d + 1, 0);
	} else
		return false;
	if (now < from || now >= until)
		return false;
	*day = d;
	return true;
}

int32_t
digest_prev_working_day(const struct pacing_calendar *cal, int32_t day)
{
	for (int32_t d = day - 1; d >= day - 14; d--)
		if (pacing_is_working_day(cal, d))
			return d;
	return day - 1;
}

long
digest_coach_before(const char *val, size_t len, int32_t today)
{
	char buf[64], *end;
	long day, before, after;

	if (val == NULL || len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, val, len);
	buf[len] = '\0';
	day = strtol(buf, &end, 10);
	if (*end != ':')
		return 0;
	before = strtol(end + 1, &end, 10);
	if (*end != ':')
		return 0;
	after = strtol(end + 1, &end, 10);
	if (*end != '\0' || before < 0 || after < 0 || day > today)
		return 0;
	return day == today ? before : after;
}

static const char *
status_of(const char *s)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(*status_names);
	    i++)
		if (strcmp(s, status_names[i]) == 0)
			return status_names[i];
	return NULL;
}

int
digest_parse_figures(const char *json, size_t len, struct digest_line *l)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *a, *t, *e, *p, *st;
	int rc = -1;

	if (o == NULL)
		return -1;
	a = cJSON_GetObjectItemCaseSensitive(o, "actual");
	t = cJSON_GetObjectItemCaseSensitive(o, "target");
	e = cJSON_GetObjectItemCaseSensitive(o, "expected_to_date");
	p = cJSON_GetObjectItemCaseSensitive(o, "pace");
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (cJSON_IsNumber(a) && cJSON_IsNumber(t) && cJSON_IsString(st) &&
	    (l->status = status_of(st->valuestring)) != NULL) {
		l->actual = a->valuedouble;
		l->target = t->valuedouble;
		l->expected = cJSON_IsNumber(e) ? e->valuedouble : 0;
		l->has_pace = cJSON_IsNumber(p);
		l->pace = l->has_pace ? p->valuedouble : 0;
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}

/* A figure for people: whole numbers without decimals. */
static void
num(char *buf, size_t len, double v)
{
	if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static const char *
period_phrase(enum period p, bool ended)
{
	switch (p) {
	case PERIOD_DAY:
		return ended ? "on the last working day" : "today";
	case PERIOD_WEEK:
		return ended ? "last week" : "this week";
	case PERIOD_MONTH:
		return ended ? "last month" : "this month";
	default:
		return ended ? "last quarter" : "this quarter";
	}
}

static void
add_date(cJSON *o, const char *name, int32_t day)
{
	char d[16];

	caltime_format_date(day, d, sizeof(d));
	cJSON_AddStringToObject(o, name, d);
}

static cJSON *
line_json(const struct digest_line *l, bool card)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "rep_id", l->rep_id);
	cJSON_AddStringToObject(o, "kpi", l->kpi);
	cJSON_AddStringToObject(o, "period", caltime_period_name(l->period));
	add_date(o, "period_start", l->start_day);
	cJSON_AddNumberToObject(o, "actual", l->actual);
	cJSON_AddNumberToObject(o, "target", l->target);
	if (card) {
		if (l->target > 0)
			cJSON_AddNumberToObject(o, "percent",
			    round(l->actual / l->target * 1000) / 10);
		else
			cJSON_AddNullToObject(o, "percent");
	} else {
		cJSON_AddNumberToObject(o, "expected_to_date", l->expected);
		if (l->has_pace)
			cJSON_AddNumberToObject(o, "pace", l->pace);
		else
			cJSON_AddNullToObject(o, "pace");
		cJSON_AddNumberToObject(o, "remaining",
		    l->target > l->actual ? l->target - l->actual : 0);
	}
	cJSON_AddStringToObject(o, "status", l->status);
	return o;
}

/* Appends one bullet; counts them and stops at TEXT_LINES. */
static void
bullet(char **text, size_t *nb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bullet(char **text, size_t *nb, const char *fmt, ...)
{
	va_list ap;
	char line[512], *t;

	if (++*nb > TEXT_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t = xasprintf("%s\n\xe2\x80\xa2 %s", *text, line);	/* U+2022 */
	free(*text);
	*text = t;
}

/* A rate for people: a percentage, one decimal unless whole. */
static void
pct(char *buf, size_t len, double rate)
{
	double p = round(rate * 1000) / 10;

	if (fabs(p - round(p)) >= 0.05)
		snprintf(buf, len, "%.1f%%", p);
	else
		snprintf(buf, len, "%.0f%%", p);
}

/* The coaching list in one sentence: the first COACH_NAMED entries,
 * then how many more. Returns owned; free with free(). */
static char *
coaching_sentence(const struct digest_coaching_list *coach)
{
	char *s = xstrdup("Worth a coaching talk:"), *t;

	for (size_t i = 0; i < coach->n && i < COACH_NAMED; i++) {
		const struct digest_coaching *c = &coach->items[i];
		char r[32], tr[32];

		pct(r, sizeof(r), c->rate);
		pct(tr, sizeof(tr), c->team_rate);
		t = xasprintf("%s%s %s turns %s into %s at %s against the "
		    "team's %s (below for %ld mornings)", s, i == 0 ? "" :
		    i + 1 == coach->n ? " and" : ";", c->rep_id, c->from_kpi,
		    c->to_kpi, r, tr, c->days_below);
		free(s);
		s = t;
	}
	if (coach->n > COACH_NAMED)
		t = xasprintf("%s; and %zu more.", s, coach->n - COACH_NAMED);
	else
		t = xasprintf("%s.", s);
	free(s);
	return t;
}

static cJSON *
coaching_json(const struct digest_coaching *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "rep_id", c->rep_id);
	cJSON_AddStringToObject(o, "team_id", c->team_id);
	cJSON_AddStringToObject(o, "from_kpi", c->from_kpi);
	cJSON_AddStringToObject(o, "to_kpi", c->to_kpi);
	cJSON_AddNumberToObject(o, "rate", c->rate);
	cJSON_AddNumberToObject(o, "team_rate", c->team_rate);
	cJSON_AddNumberToObject(o, "volume", c->volume);
	cJSON_AddNumberToObject(o, "days_below", (double)c->days_below);
	return o;
}

char *
digest_body(enum digest_kind k, const char *manager, int32_t day,
    const struct digest_line *behind, size_t nbehind,
    const struct digest_line *card, size_t ncard,
    const struct digest_news *news, size_t nnews,
    const struct digest_coaching_list *coach)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char date[16], a[32], t[32], *text;
	size_t nb = 0;

	caltime_format_date(day, date, sizeof(date));
	text = k == DIGEST_MORNING ?
	    xasprintf("*paced: morning summary for %s, %s* (%zu behind)",
	    manager, date, nbehind) :
	    xasprintf("*paced: week scorecard for %s, %s*", manager, date);
	for (size_t i = 0; i < nbehind; i++) {
		const struct digest_line *l = &behind[i];

		num(a, sizeof(a), l->actual);
		num(t, sizeof(t), l->target);
		if (l->has_pace)
			bullet(&text, &nb, "%s is %s on %s %s: %s of %s "
			    "(pace %.2f, %.0f%% of target)", l->rep_id,
			    l->status, l->kpi, period_phrase(l->period,
			    l->ended), a, t, l->pace, l->target > 0 ?
			    l->actual / l->target * 100 : 0);
		else
			bullet(&text, &nb, "%s is %s on %s %s: %s of %s",
			    l->rep_id, l->status, l->kpi,
			    period_phrase(l->period, l->ended), a, t);
	}
	if (k == DIGEST_MORNING && nbehind == 0)
		bullet(&text, &nb, "No one is behind.");
	if (k == DIGEST_MORNING && coach != NULL && coach->n > 0) {
		char *sentence = coaching_sentence(coach);

		bullet(&text, &nb, "%s", sentence);
		free(sentence);
	}
	for (size_t i = 0; i < ncard; i++) {
		const struct digest_line *l = &card[i];

		num(a, sizeof(a), l->actual);
		num(t, sizeof(t), l->target);
		bullet(&text, &nb, "%s: %s %s of %s (%.0f%%), %s", l->rep_id,
		    l->kpi, a, t, l->target > 0 ? l->actual / l->target * 100 :
		    0, l->status);
	}
	for (size_t i = 0; i < nnews; i++) {
		const struct digest_news *n = &news[i];

		num(a, sizeof(a), n->actual);
		num(t, sizeof(t), n->target);
		if (strcmp(n->kind, "recovered") == 0)
			bullet(&text, &nb, "Good news: %s recovered from "
			    "critical on %s (%s): %s of %s", n->rep_id, n->kpi,
			    n->period, a, t);
		else
			bullet(&text, &nb, "Good news: %s met the %s target of "
			    "%s: %s of %s", n->rep_id, n->period, n->kpi, a, t);
	}
	if (nb > TEXT_LINES) {
		char *x = xasprintf("%s\n\xe2\x80\xa2 ... and %zu more", text,
		    nb - TEXT_LINES);

		free(text);
		text = x;
	}
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "kind", digest_kind_name(k));
	cJSON_AddStringToObject(o, "manager_id", manager);
	cJSON_AddStringToObject(o, "date", date);
	cJSON_AddStringToObject(o, "text", text);
	free(text);
	if (k == DIGEST_MORNING) {
		arr = cJSON_AddArrayToObject(o, "behind");
		for (size_t i = 0; i < nbehind; i++)
			cJSON_AddItemToArray(arr, line_json(&behind[i], false));
	} else {
		arr = cJSON_AddArrayToObject(o, "scorecard");
		for (size_t i = 0; i < ncard; i++)
			cJSON_AddItemToArray(arr, line_json(&card[i], true));
	}
	if (k == DIGEST_MORNING && coach != NULL) {
		arr = cJSON_AddArrayToObject(o, "coaching");
		for (size_t i = 0; i < coach->n; i++)
			cJSON_AddItemToArray(arr, coaching_json(&coach->items[i]));
	}
	arr = cJSON_AddArrayToObject(o, "news");
	for (size_t i = 0; i < nnews; i++) {
		cJSON *n = cJSON_CreateObject();

		cJSON_AddStringToObject(n, "kind", news[i].kind);
		cJSON_AddStringToObject(n, "rep_id", news[i].rep_id);
		cJSON_AddStringToObject(n, "kpi", news[i].kpi);
		cJSON_AddStringToObject(n, "period", news[i].period);
		if (news[i].start_day >= 0)
			add_date(n, "period_start", news[i].start_day);
		cJSON_AddNumberToObject(n, "actual", news[i].actual);
		cJSON_AddNumberToObject(n, "target", news[i].target);
		cJSON_AddItemToArray(arr, n);
	}
	return jsontext_take(o);
}
