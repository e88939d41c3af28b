/*
 * config_org.c: the org schema of the config file, the lists and maps
 * that config.c's key table hands to a function each: kpis, calendars,
 * roles (targets and schedules), teams, reps (out-of-office days),
 * managers, and the alert lists that name them. Run after the walk of the
 * file in dependency order (config.c's stages), so a team may name a
 * calendar written further down. Called at startup, by --check-config and
 * on SIGHUP.
 */
#include "config_org.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_boards.h"
#include "config_funnel.h"
#include "xmalloc.h"

#define KPI_NAME_MAX		64
#define OOO_RANGE_MAX		366	/* days in one out_of_office range */
#define OOO_MAX_DAYS		3660	/* out_of_office days of one rep */

/* Enum fields store the index of the name; these lists follow the enums. */
static const char *const kind_names[] = { "leading", "lagging", NULL };
static const char *const measure_names[] = { "count", "amount", NULL };
static const char *const better_names[] = { "higher", "lower", NULL };
static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri",
    "sat", "sun", NULL };
static const char *const period_names[] = { "day", "week", "month",
    "quarter", NULL };
static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };

_Static_assert(PERIOD_DAY == 0 && PERIOD_QUARTER == 3, "period order");

static int
check_kpi_name(struct loader *l, const struct where *w, const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > KPI_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		where_error(l, w, "invalid KPI name \"%.*s\" (1 to %d of a-z "
		    "0-9 _)", n > 64 ? 64 : (int)n, s, KPI_NAME_MAX);
		return -1;
	}
	return 0;
}

/* A non-empty list of strings, ids when what names them (NULL: any
 * string). Returns the owned array (NULL entries for bad items), *nout its
 * length. */
static char **
string_list(struct loader *l, const yaml_node_t *n, const char *path,
    const char *what, size_t *nout)
{
	size_t	 cnt;
	char	**v;

	*nout = 0;
	if (seq_open(l, n, path, false, "must not be empty", &cnt) != 0)
		return NULL;
	v = xcalloc(cnt, sizeof(*v));
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ipath = path_index(path, i);

		if (what != NULL)
			v[i] = field_id(l, n, item, ipath, true, what);
		else
			v[i] = field_string(l, n, item, ipath, true);
		free(ipath);
	}
	*nout = cnt;
	return v;
}

/* Reports duplicates among the items of a list of names. */
static void
list_dups(struct loader *l, const yaml_node_t *n, const char *path,
    char *const *v, size_t cnt, const char *what)
{
	struct name_list	 nl;

	names_init(&nl, cnt);
	for (size_t i = 0; i < cnt; i++)
		names_set(l, &nl, i, v[i], seq_at(l, n, i),
		    path_index(path, i));
	names_report(l, &nl, what);
	names_free(&nl);
}

static void
kpi_item(struct loader *l, const struct item *it, void *arg)
{
	struct name_list	*nl = arg;
	struct config_kpi	*k = &l->c->kpis[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp;
	int			 e;

	fp = path_key(it->path, "name");
	k->name = field_string(l, item, v[0], fp, true);
	/* The name is recorded once every KPI is in, after this check. */
	names_set(l, nl, it->i, NULL, v[0], fp);
	if (k->name != NULL && check_kpi_name(l, &nl->w[it->i], k->name) != 0) {
		free(k->name);
		k->name = NULL;
	}
	fp = path_key(it->path, "kind");
	if ((e = field_enum(l, item, v[1], fp, kind_names, true)) >= 0)
		k->kind = (enum kpi_kind)e;
	free(fp);
	fp = path_key(it->path, "measure");
	if ((e = field_enum(l, item, v[3], fp, measure_names, false)) >= 0)
		k->measure = (enum kpi_measure)e;
	free(fp);
	fp = path_key(it->path, "better");
	if ((e = field_enum(l, item, v[4], fp, better_names, false)) >= 0)
		k->better = (enum kpi_better)e;
	free(fp);
	fp = path_key(it->path, "events");
	if (v[2] == NULL)
		node_error(l, item, fp, "required key is missing");
	else {
		k->events = string_list(l, v[2], fp, "event type",
		    &k->nevents);
		if (k->events != NULL)
			list_dups(l, v[2], fp, k->events, k->nevents,
			    "event type");
	}
	free(fp);
}

void
load_kpis(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "name", "kind", "events",
	    "measure", "better", NULL };
	struct config		*c = l->c;
	struct name_list	 nl;
	size_t			 cnt;

	if (seq_open(l, n, path, false, "at least one KPI is required",
	    &cnt) != 0)
		return;
	c->kpis = xcalloc(cnt, sizeof(*c->kpis));
	c->nkpis = cnt;
	names_init(&nl, cnt);
	each_item(l, n, path, keys, kpi_item, &nl);
	for (size_t i = 0; i < cnt; i++)
		nl.v[i] = c->kpis[i].name;
	names_report(l, &nl, "KPI");
	name_index_build(&l->kpi_names, nl.v, cnt);
	names_free(&nl);
}

static int
parse_hhmm(const char *s, bool end, int *min)
{
	int	 h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '5' || s[4] < '0' ||
	    s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static int
day_cmp(const void *a, const void *b)
{
	int32_t	 x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static void
load_calendar(struct loader *l, struct config_calendar *cal,
    const yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "working_days", "working_hours",
	    "week_start", "fiscal_year_start", "holidays", NULL };
	yaml_node_t	*v[5];
	char		*fp, *s;
	int		 e;

	cal->working_days = 0x1f;
	cal->work_start_min = 9 * 60;
	cal->work_end_min = 17 * 60;
	cal->rules.week_start = 0;
	cal->rules.fiscal_year_start = 1;
	if (n == NULL || node_is_null(n) ||
	    map_fields(l, n, path, keys, v) != 0)
		return;

	if (v[0] != NULL) {
		size_t	 cnt;

		fp = path_key(path, "working_days");
		if (seq_open(l, v[0], fp, false, "must not be empty",
		    &cnt) == 0) {
			cal->working_days = 0;
			for (size_t i = 0; i < cnt; i++) {
				yaml_node_t	*d = seq_at(l, v[0], i);
				char		*ip = path_index(fp, i);

				if ((e = field_enum(l, v[0], d, ip, day_names,
				    true)) >= 0) {
					if (cal->working_days & (1u << e))
						node_error(l, d, ip, "\"%s\" "
						    "is listed twice",
						    day_names[e]);
					cal->working_days |= 1u << e;
				}
				free(ip);
			}
		}
		free(fp);
	}
	if (v[1] != NULL) {
		fp = path_key(path, "working_hours");
		if ((s = field_string(l, n, v[1], fp, true)) != NULL) {
			int	 a, b;

			if (strlen(s) != 11 || s[5] != '-' ||
			    parse_hhmm(s, false, &a) != 0 ||
			    parse_hhmm(s + 6, true, &b) != 0)
				node_error(l, v[1], fp, "invalid hours \"%s\" "
				    "(use HH:MM-HH:MM, e.g. 09:00-17:00)", s);
			else if (a >= b)
				node_error(l, v[1], fp, "the start of \"%s\" "
				    "is not before its end", s);
			else {
				cal->work_start_min = a;
				cal->work_end_min = b;
			}
			free(s);
		}
		free(fp);
	}
	fp = path_key(path, "week_start");
	if ((e = field_enum(l, n, v[2], fp, day_names, false)) >= 0)
		cal->rules.week_start = e;
	free(fp);
	fp = path_key(path, "fiscal_year_start");
	if ((e = field_enum(l, n, v[3], fp, month_names, false)) >= 0)
		cal->rules.fiscal_year_start = e + 1;
	free(fp);
	if (v[4] != NULL) {
		size_t	 cnt, o = 0;

		fp = path_key(path, "holidays");
		if (seq_open(l, v[4], fp, true, NULL, &cnt) == 0) {
			cal->holidays = xcalloc(cnt + 1,
			    sizeof(*cal->holidays));
			for (size_t i = 0; i < cnt && !l->stopped; i++) {
				yaml_node_t	*d = seq_at(l, v[4], i);
				char		*ip = path_index(fp, i);
				int32_t		 day;

				if ((s = field_string(l, v[4], d, ip,
				    true)) != NULL) {
					if (caltime_parse_date(s, &day) != 0)
						node_error(l, d, ip, "invalid "
						    "date \"%s\" (use "
						    "YYYY-MM-DD)", s);
					else
						cal->holidays[o++] = day;
					free(s);
				}
				free(ip);
			}
			qsort(cal->holidays, o, sizeof(*cal->holidays),
			    day_cmp);
			cal->nholidays = 0;
			for (size_t i = 0; i < o; i++)
				if (cal->nholidays == 0 || cal->holidays[i] !=
				    cal->holidays[cal->nholidays - 1])
					cal->holidays[cal->nholidays++] =
					    cal->holidays[i];
		}
		free(fp);
	}
}

static void
calendar_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct config_calendar	*cal = &l->c->calendars[e->i];
	const char		**names = arg;

	if (check_id(l, &e->w, "calendar name", e->name) == 0)
		cal->name = xstrdup(e->name);
	names[e->i] = cal->name;
	load_calendar(l, cal, e->value, e->path);
}

void
load_calendars(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	 *c = l->c;
	const char	**names;
	size_t		  cnt;

	if (map_open(l, n, path, false, "at least one calendar is required",
	    &cnt) != 0)
		return;
	c->calendars = xcalloc(cnt, sizeof(*c->calendars));
	c->ncalendars = cnt;
	names = xcalloc(cnt, sizeof(*names));
	each_entry(l, n, path, calendar_entry, names);
	name_index_build(&l->calendar_names, names, cnt);
	free(names);
}

/* Without a calendars key: Monday to Friday, 09:00-17:00, no holidays. */
void
default_calendar(struct loader *l)
{
	struct config	*c = l->c;
	const char	*name = "default";

	c->calendars = xcalloc(1, sizeof(*c->calendars));
	c->ncalendars = 1;
	c->calendars[0].name = xstrdup(name);
	load_calendar(l, &c->calendars[0], NULL, "calendars.default");
	name_index_build(&l->calendar_names, &name, 1);
}

/* One {day, week, month, quarter} key of a target. */
static void
period_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct config_target	*t = arg;
	yaml_node_t		*pv = e->value;
	enum period		 per;
	char			*s;
	double			 d;

	if (caltime_period_parse(e->name, &per) != 0) {
		struct sbuf	 hint = { NULL, 0, 0 };

		sbuf_add(&hint, "", 0);
		suggest(&hint, e->name, period_names, PERIOD_COUNT);
		node_error(l, e->key, e->path, "unknown period%s", hint.s);
		free(hint.s);
	} else if (t->set[per])
		node_error(l, e->key, e->path, "duplicate key");
	else if (pv->type != YAML_SCALAR_NODE || node_is_null(pv) ||
	    pv->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		node_error(l, pv, e->path, "expected a number, got %s",
		    pv->type == YAML_SCALAR_NODE && !node_is_null(pv) ?
		    "a quoted string" : node_kind(pv));
	else if ((s = scalar_text(l, pv, e->path)) != NULL) {
		if (parse_number(s, &d) != 0)
			node_error(l, pv, e->path, "invalid number \"%s\"", s);
		else if (d < 0)
			node_error(l, pv, e->path, "a target cannot be "
			    "negative");
		else {
			t->set[per] = true;
			t->value[per] = d;
		}
		free(s);
	}
}

/* Where load_targets puts what it loads. */
struct target_out {
	struct config_target	**v;
	size_t			 *n;
};

static void
target_entry(struct loader *l, const struct entry *e, void *arg)
{
	struct target_out	*out = arg;
	struct config_target	*t;
	ssize_t			 kpi;

	kpi = lookup_name(l, &l->kpi_names, &e->w, "KPI", e->name);
	if (kpi < 0)
		return;
	if (e->value->type != YAML_MAPPING_NODE) {
		type_error(l, e->value, e->path, "a mapping of day, week, "
		    "month, quarter");
		return;
	}
	t = &(*out->v)[(*out->n)++];
	t->kpi = (size_t)kpi;
	each_entry(l, e->value, e->path, period_entry, t);
	if (map_len(e->value) == 0)
		node_error(l, e->value, e->path, "give at least one of day, "
		    "week, month, quarter");
}

/*
 * A mapping of KPI name to {day, week, month, quarter}: a role's targets,
 * a rep's overrides or a schedule entry's. Fills owned *out and *nout.
 */
static void
load_targets(struct loader *l, yaml_node_t *n, const char *path,
    struct config_target **out, size_t *nout)
{
	struct target_out	 to = { out, nout };
	size_t			 cnt;

	if (map_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	*out = xcalloc(cnt + 1, sizeof(**out));
	each_entry(l, n, path, target_entry, &to);
}

static int
schedule_cmp(const void *a, const void *b)
{
	const struct config_schedule	*x = a, *y = b;

	return (x->from_day > y->from_day) - (x->from_day < y->from_day);
}

/* What schedule_item fills: the entries and their dates, as text. */
struct schedule_out {
	struct config_schedule	*v;
	struct name_list	 dates;	/* owns the dates */
};

static void
schedule_item(struct loader *l, const struct item *it, void *arg)
{
	struct schedule_out	*so = arg;
	struct config_schedule	*e = &so->v[it->i];
	char			*fp, *s, *date;
	int32_t			 day;

	fp = so->dates.paths[it->i] = path_key(it->path, "from");
	if ((s = field_string(l, it->node, it->v[0], fp, true)) != NULL) {
		if (caltime_parse_date(s, &day) != 0)
			node_error(l, it->v[0], fp, "invalid date \"%s\" (use "
			    "YYYY-MM-DD)", s);
		else {
			e->from_day = day;
			date = xmalloc(11);
			caltime_format_date(day, date, 11);
			so->dates.v[it->i] = date;
			so->dates.w[it->i] = node_where(l, it->v[0], fp);
		}
		free(s);
	}
	fp = path_key(it->path, "targets");
	load_targets(l, it->v[1], fp, &e->targets, &e->ntargets);
	free(fp);
}

/*
 * A list of {from: YYYY-MM-DD, targets: ...}: a role's seasons or a rep's
 * ramp. Fills owned *out (sorted by from day) and *nout; two entries from
 * the same day are an error, so the order is never a tie.
 */
static void
load_schedule(struct loader *l, yaml_node_t *n, const char *path,
    struct config_schedule **out, size_t *nout)
{
	static const char *const keys[] = { "from", "targets", NULL };
	struct schedule_out	 so;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	so.v = *out = xcalloc(cnt + 1, sizeof(*so.v));
	*nout = cnt;
	names_init(&so.dates, cnt);
	each_item(l, n, path, keys, schedule_item, &so);
	names_report(l, &so.dates, "schedule date");
	qsort(so.v, cnt, sizeof(*so.v), schedule_cmp);
	for (size_t i = 0; i < cnt; i++)
		free((char *)so.dates.v[i]);
	names_free(&so.dates);
}

static void
role_entry(struct loader *l, const struct entry *e, void *arg)
{
	static const char *const keys[] = { "targets", "schedule", "funnel",
	    NULL };
	struct config_role	*r = &l->c->roles[e->i];
	const char		**names = arg;
	yaml_node_t		*f[3];
	char			*tpath;

	if (check_id(l, &e->w, "role name", e->name) == 0)
		r->name = xstrdup(e->name);
	names[e->i] = r->name;
	if (node_is_null(e->value) ||
	    map_fields(l, e->value, e->path, keys, f) != 0)
		return;
	tpath = path_key(e->path, "targets");
	load_targets(l, f[0], tpath, &r->targets, &r->ntargets);
	free(tpath);
	if (f[1] != NULL) {
		tpath = path_key(e->path, "schedule");
		load_schedule(l, f[1], tpath, &r->schedule, &r->nschedule);
		free(tpath);
	}
	if (f[2] != NULL) {
		tpath = path_key(e->path, "funnel");
		load_role_funnel(l, f[2], tpath, r);
		free(tpath);
	}
}

void
load_roles(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	 *c = l->c;
	const char	**names;
	size_t		  cnt;

	if (map_open(l, n, path, false, "at least one role is required",
	    &cnt) != 0)
		return;
	c->roles = xcalloc(cnt, sizeof(*c->roles));
	c->nroles = cnt;
	names = xcalloc(cnt, sizeof(*names));
	each_entry(l, n, path, role_entry, names);
	name_index_build(&l->role_names, names, cnt);
	free(names);
}

static void
team_item(struct loader *l, const struct item *it, void *arg)
{
	struct name_list	*nl = arg;
	struct config_team	*t = &l->c->teams[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp, *s;
	char			 err[256];
	ssize_t			 def;

	names_set(l, nl, it->i, NULL, v[0], path_key(it->path, "id"));
	t->id = field_id(l, item, v[0], nl->paths[it->i], true, "team id");
	nl->v[it->i] = t->id;

	fp = path_key(it->path, "timezone");
	if ((s = field_string(l, item, v[1], fp, true)) != NULL) {
		struct tzone	*z;

		z = tzone_open(s, err, sizeof(err));

		if (z == NULL) {
			node_error(l, v[1], fp, "%s", err);
			free(s);
		} else
			t->timezone = s;
		tzone_free(z);
	}
	free(fp);

	fp = path_key(it->path, "calendar");
	def = name_index_find(&l->calendar_names, "default");
	if ((s = field_string(l, item, v[2], fp, false)) != NULL) {
		struct where	 cw = node_where(l, v[2], fp);
		ssize_t		 ci;

		if ((ci = lookup_name(l, &l->calendar_names, &cw,
		    "calendar", s)) >= 0)
			t->calendar = (size_t)ci;
		free(s);
	} else if (v[2] != NULL && !node_is_null(v[2])) {
		/* A bad value, already reported. */
	} else if (def >= 0)
		t->calendar = (size_t)def;
	else
		node_error(l, v[2] != NULL ? v[2] : item, fp,
		    "required key is missing (no calendar is named "
		    "default)");
	free(fp);

	fp = path_key(it->path, "manager");
	t->manager = field_id(l, item, v[3], fp, false, "manager id");
	free(fp);
}

void
load_teams(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "id", "timezone", "calendar",
	    "manager", NULL };
	struct config		*c = l->c;
	struct name_list	 nl;
	size_t			 cnt;

	if (seq_open(l, n, path, false, "at least one team is required",
	    &cnt) != 0)
		return;
	c->teams = xcalloc(cnt, sizeof(*c->teams));
	c->nteams = cnt;
	names_init(&nl, cnt);
	each_item(l, n, path, keys, team_item, &nl);
	names_report(l, &nl, "team");
	name_index_build(&l->team_names, nl.v, cnt);
	names_free(&nl);
}

/* Fills rep r from its fields; each where locates one field. */
void
rep_fill(struct loader *l, struct config_rep *r, const struct where *wteam,
    const struct where *wrole, const char *team, const char *role)
{
	ssize_t	 i;

	if (team != NULL && (i = lookup_name(l, &l->team_names, wteam,
	    "team", team)) >= 0)
		r->team = (size_t)i;
	if (role != NULL && (i = lookup_name(l, &l->role_names, wrole,
	    "role", role)) >= 0)
		r->role = (size_t)i;
}

void
rep_dups(struct loader *l, struct rep_src *src)
{
	struct config	 *c = l->c;
	const char	**names = xcalloc(c->nreps + 1, sizeof(*names));
	struct where	 *w = xcalloc(c->nreps + 1, sizeof(*w));

	for (size_t i = 0; i < c->nreps; i++) {
		names[i] = c->reps[i].id;
		w[i] = src[i].w;
	}
	report_dups(l, names, w, c->nreps, "rep id");
	for (size_t i = 0; i < c->nreps; i++)
		free(src[i].path);
	free(src);
	free(names);
	free(w);
}

/*
 * One out_of_office item: "YYYY-MM-DD" or an inclusive range
 * "YYYY-MM-DD..YYYY-MM-DD". Returns 0 with the first and last day.
 */
static int
ooo_item(struct loader *l, const yaml_node_t *n, const char *path,
    const char *s, int32_t *first, int32_t *last)
{
	const char	*dots = strstr(s, "..");
	char		*a;
	int		 rc;

	if (dots == NULL) {
		if (caltime_parse_date(s, first) == 0) {
			*last = *first;
			return 0;
		}
		node_error(l, n, path, "invalid date \"%s\" (use YYYY-MM-DD or "
		    "a range YYYY-MM-DD..YYYY-MM-DD)", s);
		return -1;
	}
	a = xstrndup(s, (size_t)(dots - s));
	rc = caltime_parse_date(a, first) == 0 &&
	    caltime_parse_date(dots + 2, last) == 0 ? 0 : -1;
	free(a);
	if (rc != 0) {
		node_error(l, n, path, "invalid range \"%s\" (use "
		    "YYYY-MM-DD..YYYY-MM-DD)", s);
		return -1;
	}
	if (*last < *first) {
		node_error(l, n, path, "range \"%s\" ends before it starts",
		    s);
		return -1;
	}
	if (*last - *first + 1 > OOO_RANGE_MAX) {
		node_error(l, n, path, "range \"%s\" spans %ld days (at most "
		    "%d)", s, (long)(*last - *first) + 1, OOO_RANGE_MAX);
		return -1;
	}
	return 0;
}

/* A rep's out_of_office list into sorted, deduplicated day numbers. */
static void
load_ooo(struct loader *l, const yaml_node_t *n, const char *path,
    struct config_rep *r)
{
	size_t	 cnt, cap = 16, o = 0;
	int32_t	*days;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	days = xcalloc(cap, sizeof(*days));
	for (size_t i = 0; i < cnt && !l->stopped; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ip = path_index(path, i), *s;
		int32_t		 first, last;

		if ((s = field_string(l, n, item, ip, true)) != NULL &&
		    ooo_item(l, item, ip, s, &first, &last) == 0) {
			if (o + (size_t)(last - first) + 1 > OOO_MAX_DAYS) {
				node_error(l, item, ip, "more than %d "
				    "out-of-office days", OOO_MAX_DAYS);
				free(s);
				free(ip);
				break;
			}
			while (o + (size_t)(last - first) + 1 > cap) {
				days = xreallocarray(days, cap, 2 *
				    sizeof(*days));
				cap *= 2;
			}
			for (int32_t d = first; d <= last; d++)
				days[o++] = d;
		}
		free(s);
		free(ip);
	}
	qsort(days, o, sizeof(*days), day_cmp);
	r->nout_of_office = 0;
	for (size_t i = 0; i < o; i++)
		if (r->nout_of_office == 0 || days[i] !=
		    days[r->nout_of_office - 1])
			days[r->nout_of_office++] = days[i];
	if (r->nout_of_office == 0) {
		free(days);
		days = NULL;
	}
	r->out_of_office = days;
}

/* The keys of a rep; rep_item reads its fields in this order. */
static const char *const rep_keys[] = { "id", "team", "role", "manager",
    "targets", "schedule", "out_of_office", "groups", NULL };

static void
rep_item(struct loader *l, const struct item *it, void *arg)
{
	struct rep_src		*src = &((struct rep_src *)arg)[it->i];
	struct config_rep	*r = &l->c->reps[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp[8], *team, *role;
	struct where		 wt, wr;

	for (size_t j = 0; j < 8; j++)
		fp[j] = path_key(it->path, rep_keys[j]);
	r->id = field_id(l, item, v[0], fp[0], true, "rep id");
	src->path = fp[0];
	src->w = node_where(l, v[0], fp[0]);
	team = field_string(l, item, v[1], fp[1], true);
	role = field_string(l, item, v[2], fp[2], true);
	wt = node_where(l, v[1], fp[1]);
	wr = node_where(l, v[2], fp[2]);
	rep_fill(l, r, &wt, &wr, team, role);
	r->manager = field_id(l, item, v[3], fp[3], false, "manager id");
	load_targets(l, v[4], fp[4], &r->targets, &r->ntargets);
	if (v[5] != NULL)
		load_schedule(l, v[5], fp[5], &r->schedule, &r->nschedule);
	if (v[6] != NULL)
		load_ooo(l, v[6], fp[6], r);
	if (v[7] != NULL)
		load_rep_groups(l, v[7], fp[7], r);
	free(team);
	free(role);
	for (size_t j = 1; j < 8; j++)
		free(fp[j]);
}

void
load_reps(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config	*c = l->c;
	struct rep_src	*src;
	size_t		 cnt;

	/* Both given: load_roster_file says so. */
	if (seen_node(l, "roster_file") != NULL)
		return;
	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	c->reps = xcalloc(cnt + 1, sizeof(*c->reps));
	c->nreps = cnt;
	src = xcalloc(cnt + 1, sizeof(*src));
	each_item(l, n, path, rep_keys, rep_item, src);
	rep_dups(l, src);
}


void
load_alert_periods(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	bool			 set[PERIOD_COUNT] = { false };
	size_t			 cnt;

	if (seq_open(l, n, path, false, "must not be empty", &cnt) != 0)
		return;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t	*item = seq_at(l, n, i);
		char		*ip = path_index(path, i);
		int		 e;

		if ((e = field_enum(l, n, item, ip, period_names,
		    true)) >= 0) {
			if (set[e])
				node_error(l, item, ip, "\"%s\" is listed "
				    "twice", period_names[e]);
			set[e] = true;
		}
		free(ip);
	}
	memcpy(a->periods, set, sizeof(set));
}

void
load_alert_kpis(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	char			*s;
	size_t			 cnt;

	if (n->type == YAML_SCALAR_NODE) {
		static const char *const modes[] = { "leading", "all", NULL };
		int			 e;

		if ((e = field_enum(l, n, n, path, modes, true)) >= 0)
			a->leading_only = e == 0;
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "leading, all or a list of KPI names");
		return;
	}
	a->leading_only = false;
	a->kpis = string_list(l, n, path, NULL, &cnt);
	a->nkpis = cnt;
	for (size_t i = 0; i < cnt; i++) {
		char		*ip;
		struct where	 w;

		if ((s = a->kpis[i]) == NULL)
			continue;
		ip = path_index(path, i);
		w = node_where(l, seq_at(l, n, i), ip);
		lookup_name(l, &l->kpi_names, &w, "KPI", s);
		free(ip);
	}
	if (a->kpis != NULL)
		list_dups(l, n, path, a->kpis, cnt, "KPI");
}

/* alerts.quiet_hours: all (default), none, or a list of team ids. */
void
load_quiet_hours(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	size_t			 cnt;

	if (n->type == YAML_SCALAR_NODE) {
		static const char *const modes[] = { "all", "none", NULL };
		int			 e;

		if ((e = field_enum(l, n, n, path, modes, true)) >= 0)
			a->quiet_mode = e == 0 ? QUIET_ALL : QUIET_NONE;
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(l, n, path, "all, none or a list of team ids");
		return;
	}
	a->quiet_mode = QUIET_LISTED;
	a->quiet_teams = string_list(l, n, path, NULL, &cnt);
	a->nquiet_teams = cnt;
	for (size_t i = 0; i < cnt; i++) {
		char		*ip;
		struct where	 w;

		if (a->quiet_teams[i] == NULL)
			continue;
		ip = path_index(path, i);
		w = node_where(l, seq_at(l, n, i), ip);
		lookup_name(l, &l->team_names, &w, "team", a->quiet_teams[i]);
		free(ip);
	}
	if (a->quiet_teams != NULL)
		list_dups(l, n, path, a->quiet_teams, cnt, "team");
}

/* "HH:MM" at the start of s, 00:00..23:59, then nothing: 0 or -1. */
static int
local_time(const char *s, int *min)
{
	return strlen(s) == 5 && parse_hhmm(s, false, min) == 0 &&
	    *min < 1440 ? 0 : -1;
}

/* alerts.digest.morning: a local time "HH:MM", or null (no digest). */
void
load_digest_morning(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	char			*s;

	a->digest_morning = false;
	if (node_is_null(n))
		return;
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "a local time \"HH:MM\" or null");
		return;
	}
	if ((s = scalar_text(l, n, path)) == NULL)
		return;
	if (local_time(s, &a->digest_morning_min) != 0)
		node_error(l, n, path, "expected a local time \"HH:MM\" "
		    "(00:00..23:59) or null, got \"%s\"", s);
	else
		a->digest_morning = true;
	free(s);
}

/* alerts.digest.weekly: "<weekday> HH:MM" (fri 16:00), or null. */
void
load_digest_weekly(struct loader *l, yaml_node_t *n, const char *path)
{
	struct config_alerts	*a = &l->c->alerts;
	char			*s;
	int			 dow = -1;

	a->digest_weekly = false;
	if (node_is_null(n))
		return;
	if (n->type != YAML_SCALAR_NODE) {
		type_error(l, n, path, "\"<weekday> HH:MM\" or null");
		return;
	}
	if ((s = scalar_text(l, n, path)) == NULL)
		return;
	for (int i = 0; i < 7 && strlen(s) > 4; i++)
		if (strncmp(s, day_names[i], 3) == 0 && s[3] == ' ')
			dow = i;
	if (dow < 0 || local_time(s + 4, &a->digest_weekly_min) != 0)
		node_error(l, n, path, "expected \"<weekday> HH:MM\" (a "
		    "weekday mon..sun and a local time, e.g. \"fri 16:00\") "
		    "or null, got \"%s\"", s);
	else {
		a->digest_weekly = true;
		a->digest_weekly_dow = dow;
	}
	free(s);
}

/*
 * Reports each cycle of the manager-of relation once, at the manager key
 * of its member written first, listing it from there. up[i] is the index
 * of manager i's manager, or -1.
 */
static void
manager_cycles(struct loader *l, const ssize_t *up, const struct where *w)
{
	struct config	*c = l->c;
	size_t		*stamp = xcalloc(c->nmanagers + 1, sizeof(*stamp));

	for (size_t i = 0; i < c->nmanagers; i++) {
		struct sbuf	 b = { NULL, 0, 0 };
		ssize_t		 j = (ssize_t)i;
		size_t		 first;

		/* Walk up until the top, an earlier walk, or this one. */
		while (j >= 0 && stamp[j] == 0) {
			stamp[j] = i + 1;
			j = up[j];
		}
		if (j < 0 || stamp[j] != i + 1)
			continue;
		first = (size_t)j;
		for (ssize_t k = up[j]; k != j; k = up[k])
			if ((size_t)k < first)
				first = (size_t)k;
		sbuf_printf(&b, "%s", c->managers[first].id);
		j = (ssize_t)first;
		do {
			j = up[j];
			sbuf_printf(&b, " -> %s", c->managers[j].id);
		} while ((size_t)j != first);
		where_error(l, &w[first], "manager cycle: %s", b.s);
		free(b.s);
	}
	free(stamp);
}

/* Each manager's id and its manager's, for the checks of the whole list. */
struct manager_names {
	struct name_list	 ids;
	struct name_list	 ups;
};

static void
manager_item(struct loader *l, const struct item *it, void *arg)
{
	struct manager_names	*mn = arg;
	struct config_manager	*m = &l->c->managers[it->i];
	char			*ipath, *upath;

	ipath = path_key(it->path, "id");
	upath = path_key(it->path, "manager");
	m->id = field_id(l, it->node, it->v[0], ipath, true, "manager id");
	m->manager = field_id(l, it->node, it->v[1], upath, false,
	    "manager id");
	names_set(l, &mn->ids, it->i, m->id, it->v[0], ipath);
	names_set(l, &mn->ups, it->i, m->manager, it->v[1], upath);
}

/*
 * managers: who each manager reports to, for escalation. Every manager
 * named as a manager's manager must be listed too, so a chain always ends
 * at someone listed without one; reps and teams may name managers that
 * are not listed (then nobody is above them).
 */
void
load_managers(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "id", "manager", NULL };
	struct config		*c = l->c;
	struct name_index	 ids = { NULL, 0 };
	struct manager_names	 mn;
	ssize_t			*up;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	c->managers = xcalloc(cnt + 1, sizeof(*c->managers));
	c->nmanagers = cnt;
	names_init(&mn.ids, cnt);
	names_init(&mn.ups, cnt);
	up = xcalloc(cnt + 1, sizeof(*up));
	each_item(l, n, path, keys, manager_item, &mn);
	names_report(l, &mn.ids, "manager id");
	name_index_build(&ids, mn.ids.v, cnt);
	for (size_t i = 0; i < cnt; i++) {
		struct sbuf	 hint = { NULL, 0, 0 };
		const char	*m = c->managers[i].manager;

		up[i] = -1;
		if (m == NULL || c->managers[i].id == NULL)
			continue;
		if ((up[i] = name_index_find(&ids, m)) >= 0)
			continue;
		sbuf_add(&hint, "", 0);
		name_index_suggest(&ids, &hint, m);
		where_error(l, &mn.ups.w[i], "manager \"%s\" is not listed in "
		    "managers%s", m, hint.s);
		free(hint.s);
	}
	manager_cycles(l, up, mn.ups.w);
	free(ids.v);
	names_free(&mn.ids);
	names_free(&mn.ups);
	free(up);
}

static void
webhook_item(struct loader *l, const struct item *it, void *arg)
{
	const char		*path = arg;
	struct config_alerts	*a = &l->c->alerts;
	struct config_webhook	*h = &a->webhooks[it->i];
	yaml_node_t		*item = it->node, **v = it->v;
	char			*fp, err[160];

	fp = path_key(it->path, "url");
	if ((h->url = field_string(l, item, v[0], fp, true)) != NULL &&
	    netaddr_webhook_check(h->url, err, sizeof(err)) != 0) {
		node_error(l, v[0], fp, "invalid url: %s", err);
		free(h->url);
		h->url = NULL;
	}
	for (size_t j = 0; j < it->i && h->url != NULL; j++)
		if (a->webhooks[j].url != NULL &&
		    strcmp(a->webhooks[j].url, h->url) == 0) {
			node_error(l, v[0], fp, "the same url as %s[%zu].url",
			    path, j);
			break;
		}
	free(fp);
	fp = path_key(it->path, "token_file");
	if (v[1] != NULL && !node_is_null(v[1]))
		h->token = secret_file(l, v[1], fp);
	free(fp);
	fp = path_key(it->path, "timeout");
	field_duration(l, v[2], fp, "100ms", "60s", &h->timeout_ms);
	free(fp);
	fp = path_key(it->path, "max_retries");
	field_int(l, v[3], fp, "0", "100", &h->max_retries);
	free(fp);
	fp = path_key(it->path, "digest");
	field_bool(l, v[4], fp, &h->digest);
	free(fp);
	fp = path_key(it->path, "ca_file");
	if (v[5] != NULL && !node_is_null(v[5])) {
		h->ca_file = pem_file(l, v[5], fp);
		if (h->ca_file != NULL && h->url != NULL &&
		    strncmp(h->url, "https://", 8) != 0)
			node_error(l, v[5], fp, "a CA file for a url that is "
			    "not https://");
	}
	free(fp);
	fp = path_key(it->path, "connect_timeout");
	field_duration(l, v[6], fp, "100ms", "60s", &h->connect_timeout_ms);
	free(fp);
}

/*
 * alerts.webhooks: HTTP(S) endpoints told of alerts. Messages name the url's
 * key, never the url.
 */
void
load_webhooks(struct loader *l, yaml_node_t *n, const char *path)
{
	static const char *const keys[] = { "url", "token_file", "timeout",
	    "max_retries", "digest", "ca_file", "connect_timeout", NULL };
	struct config_alerts	*a = &l->c->alerts;
	size_t			 cnt;

	if (seq_open(l, n, path, true, NULL, &cnt) != 0)
		return;
	a->webhooks = xcalloc(cnt + 1, sizeof(*a->webhooks));
	a->nwebhooks = cnt;
	/* Every item has the defaults, even one that is not a mapping. */
	for (size_t i = 0; i < cnt; i++) {
		a->webhooks[i].timeout_ms = 5000;
		a->webhooks[i].connect_timeout_ms = 5000;
		a->webhooks[i].max_retries = 10;
		a->webhooks[i].digest = true;
	}
	each_item(l, n, path, keys, webhook_item, (void *)path);
}
