/*
 * quiet.c: quiet hours for the webhooks, the hold and its merging rules
 * (quiet.h).
 */
#include "quiet.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct held {
	char *alert_id;
	char *team_id;
	char *rep_id;
	bool firing;
	void *item;
};

struct quiet {
	void (*free_item)(void *);
	struct held *h;
	size_t n, cap;
};

bool
quiet_working(const struct pacing_calendar *cal, struct tzone *z,
    int64_t now)
{
	int32_t day = tzone_local_day(z, now);
	int64_t start, end;

	if (!pacing_is_working_day(cal, day))
		return false;
	start = tzone_local_to_utc(z, day, cal->work_start_min);
	end = tzone_local_to_utc(z, day, cal->work_end_min);
	return now >= start && now < end;
}

bool
quiet_out_of_office(const int32_t *days, size_t n, int32_t day)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (days[mid] == day)
			return true;
		if (days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

struct quiet *
quiet_new(void (*free_item)(void *))
{
	struct quiet *q = xcalloc(1, sizeof(*q));

	q->free_item = free_item;
	return q;
}

static void
held_clear(struct quiet *q, struct held *h)
{
	free(h->alert_id);
	free(h->team_id);
	free(h->rep_id);
	if (h->item != NULL && q->free_item != NULL)
		q->free_item(h->item);
	memset(h, 0, sizeof(*h));
}

/* Removes entry i, keeping the order of the others. */
static void
remove_at(struct quiet *q, size_t i)
{
	held_clear(q, &q->h[i]);
	memmove(&q->h[i], &q->h[i + 1], (q->n - i - 1) * sizeof(*q->h));
	q->n--;
}

void
quiet_free(struct quiet *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n; i++)
		held_clear(q, &q->h[i]);
	free(q->h);
	free(q);
}

static size_t
find(const struct quiet *q, const char *alert_id)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->h[i].alert_id, alert_id) == 0)
			return i;
	return SIZE_MAX;
}

static void
append(struct quiet *q, const char *alert_id, const char *team_id,
    const char *rep_id, bool firing, void *item)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->h = xreallocarray(q->h, q->cap, sizeof(*q->h));
	}
	q->h[q->n].alert_id = xstrdup(alert_id);
	q->h[q->n].team_id = xstrdup(team_id != NULL ? team_id : "");
	q->h[q->n].rep_id = xstrdup(rep_id != NULL ? rep_id : "");
	q->h[q->n].firing = firing;
	q->h[q->n].item = item;
	q->n++;
}

bool
quiet_holds(const struct quiet *q, const char *alert_id)
{
	return alert_id != NULL && find(q, alert_id) != SIZE_MAX;
}

bool
quiet_hold_earlier(struct quiet *q, const char *alert_id,
    const char *team_id, const char *rep_id, bool firing, void *item)
{
	if (alert_id == NULL)
		alert_id = "";
	if (find(q, alert_id) != SIZE_MAX) {
		if (q->free_item != NULL)
			q->free_item(item);
		return false;
	}
	append(q, alert_id, team_id, rep_id, firing, item);
	return true;
}

void
quiet_hold(struct quiet *q, const char *alert_id, const char *team_id,
    const char *rep_id, bool firing, const char *supersedes, void *item)
{
	size_t i;

	if (alert_id == NULL)
		alert_id = "";
	if (supersedes != NULL && supersedes[0] != '\0' &&
	    (i = find(q, supersedes)) != SIZE_MAX)
		remove_at(q, i);
	if ((i = find(q, alert_id)) != SIZE_MAX) {
		if (q->h[i].firing && !firing) {
			/* Fired and resolved while quiet: nothing to say. */
			remove_at(q, i);
			if (q->free_item != NULL)
				q->free_item(item);
			return;
		}
		/* The later message, in the place of the first. */
		if (q->free_item != NULL)
			q->free_item(q->h[i].item);
		q->h[i].item = item;
		q->h[i].firing = firing;
		return;
	}
	append(q, alert_id, team_id, rep_id, firing, item);
}

size_t
quiet_release(struct quiet *q, bool (*working)(void *ctx,
    const char *team_id, const char *rep_id), void *ctx, void ***out)
{
	void **items = NULL;
	size_t n = 0, i = 0;

	*out = NULL;
	while (i < q->n) {
		if (!working(ctx, q->h[i].team_id, q->h[i].rep_id)) {
			i++;
			continue;
		}
		if (items == NULL)
			items = xcalloc(q->n, sizeof(*items));
		items[n++] = q->h[i].item;
		q->h[i].item = NULL;
		remove_at(q, i);
	}
	*out = items;
	return n;
}

size_t
quiet_count(const struct quiet *q)
{
	return q->n;
}
