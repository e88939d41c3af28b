#include "roster.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "xmalloc.h"

static struct config *
load(const char *path)
{
	char		*errs = NULL;
	struct config	*c = config_load(path, &errs);

	cr_assert_not_null(c, "%s: %s", path, errs != NULL ? errs : "");
	return c;
}

static struct roster *
build(const struct config *c)
{
	char		 err[256] = "";
	struct roster	*r = roster_new(c, err, sizeof(err));

	cr_assert_not_null(r, "roster_new: %s", err);
	return r;
}

Test(roster, lookups)
{
	struct config		*c = load("tests/fixtures/config/roster.yaml");
	struct roster		*r = build(c);
	const struct roster_rep	*rep;

	cr_assert_eq(roster_size(r), 3);
	cr_assert_eq(roster_config(r), c);
	rep = roster_rep(r, "r003");
	cr_assert_not_null(rep);
	cr_assert_str_eq(rep->rep->id, "r003");
	cr_assert_str_eq(rep->team->id, "west");
	cr_assert_str_eq(rep->role->name, "sdr");
	cr_assert_str_eq(rep->calendar->name, "default");
	cr_assert_eq(rep->index, 2);
	cr_assert_eq(rep, roster_rep_at(r, 2));
	rep = roster_rep(r, "r002");
	cr_assert_str_eq(rep->role->name, "ae");
	cr_assert_eq(rep->index, 1);
	for (size_t i = 0; i < roster_size(r); i++) {
		const struct roster_rep *ri = roster_rep_at(r, i);

		cr_assert_eq(ri->rep, &c->reps[i]);
		/* what the hot path keeps instead of working it out again */
		cr_assert_eq(ri->id_len, strlen(ri->rep->id));
		cr_assert_eq(ri->team_id_len, strlen(ri->team->id));
		cr_assert_eq(ri->shard, keys_shard_of(c, ri->rep->id));
	}
	cr_assert_null(roster_rep_at(r, 3));
	roster_free(r);
	config_free(c);
}

Test(roster, unknown_rep_and_type)
{
	struct config	*c = load("tests/fixtures/config/roster.yaml");
	struct roster	*r = build(c);
	size_t		 n = 99;

	cr_assert_null(roster_rep(r, "r004"));
	cr_assert_null(roster_rep(r, ""));
	cr_assert_null(roster_rep(r, "R001"));
	cr_assert_null(roster_kpis_for_type(r, "deal_closed", &n));
	cr_assert_eq(n, 0);
	n = 99;
	cr_assert_null(roster_kpis_for_type(r, "", &n));
	cr_assert_eq(n, 0);
	roster_free(r);
	config_free(c);
}

Test(roster, type_fans_out_to_kpis)
{
	struct config	*c = load("tests/fixtures/config/roster.yaml");
	struct roster	*r = build(c);
	const size_t	*k;
	size_t		 n;

	/* calls = [call, email], meetings = [meeting_held, call] */
	k = roster_kpis_for_type(r, "call", &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(k[0], 0);
	cr_assert_eq(k[1], 1);
	k = roster_kpis_for_type(r, "email", &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(k[0], 0);
	k = roster_kpis_for_type(r, "meeting_held", &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(k[0], 1);
	roster_free(r);
	config_free(c);
}

Test(roster, manager_falls_back_to_team)
{
	char		*errs = NULL;
	static const char text[] =
	    "kpis: [{name: calls, kind: leading, events: [call]}]\n"
	    "roles: {sdr: {}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: America/New_York, manager: m-east}\n"
	    "  - {id: solo, timezone: UTC}\n"
	    "reps:\n"
	    "  - {id: a, team: east, role: sdr}\n"
	    "  - {id: b, team: east, role: sdr, manager: m-b}\n"
	    "  - {id: c, team: solo, role: sdr}\n"
	    "  - {id: d, team: solo, role: sdr, manager: m-d}\n";
	struct config	*c = config_load_buffer("mgr.yaml", text,
	    strlen(text), &errs);
	struct roster	*r;

	cr_assert_not_null(c, "%s", errs);
	r = build(c);
	cr_assert_str_eq(roster_rep(r, "a")->manager, "m-east");
	cr_assert_str_eq(roster_rep(r, "b")->manager, "m-b");
	cr_assert_null(roster_rep(r, "c")->manager);
	cr_assert_str_eq(roster_rep(r, "d")->manager, "m-d");
	roster_free(r);
	config_free(c);
}

Test(roster, zone_shared_per_team)
{
	struct config		*c = load("tests/fixtures/config/roster.yaml");
	struct roster		*r = build(c);
	const struct roster_rep	*a = roster_rep(r, "r001");
	const struct roster_rep	*b = roster_rep(r, "r002");
	const struct roster_rep	*w = roster_rep(r, "r003");
	/* 2026-01-15T12:00:00Z: New York is on EST, Los Angeles on PST. */
	int64_t			 t = (int64_t)(20454 + 14) * 86400000 +
	    12 * 3600000;

	cr_assert_eq(a->zone, b->zone);
	cr_assert_neq(a->zone, w->zone);
	cr_assert_str_eq(tzone_name(a->zone), "America/New_York");
	cr_assert_str_eq(tzone_name(w->zone), "America/Los_Angeles");
	cr_assert_eq(tzone_offset_at(a->zone, t), -5 * 3600000);
	cr_assert_eq(tzone_offset_at(w->zone, t), -8 * 3600000);
	roster_free(r);
	config_free(c);
}

Test(roster, many_reps)
{
	size_t		 cap = 64 + 5000 * 48, len = 0;
	char		*text = xmalloc(cap), *errs = NULL, id[16];
	struct config	*c;
	struct roster	*r;

	len += (size_t)snprintf(text + len, cap - len,
	    "kpis: [{name: calls, kind: leading, events: [call]}]\n"
	    "roles: {sdr: {}}\n"
	    "teams: [{id: t0, timezone: UTC}, {id: t1, timezone: Asia/Tokyo},"
	    " {id: t2, timezone: Europe/Berlin}]\n"
	    "reps:\n");
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "  - {id: rep%d, team: t%d, role: sdr}\n", i, i % 3);
	c = config_load_buffer("many.yaml", text, len, &errs);
	cr_assert_not_null(c, "%s", errs);
	r = build(c);
	cr_assert_eq(roster_size(r), 5000);
	for (int i = 0; i < 5000; i++) {
		const struct roster_rep	*rep;

		snprintf(id, sizeof(id), "rep%d", i);
		rep = roster_rep(r, id);
		cr_assert_not_null(rep, "%s", id);
		cr_assert_eq(rep->index, (size_t)i);
		cr_assert_eq(rep->rep->team, (size_t)(i % 3));
		cr_assert_eq(rep->zone, roster_rep_at(r, (size_t)(i % 3))->zone);
	}
	cr_assert_null(roster_rep(r, "rep5000"));
	cr_assert_null(roster_rep(r, "rep-1"));
	roster_free(r);
	config_free(c);
	free(text);
}

Test(roster, zone_that_no_longer_opens)
{
	struct config	*c = load("tests/fixtures/config/roster.yaml");
	char		 err[256] = "";

	/* The config checked its zones; a later failure still comes back
	 * as an error, not a crash. */
	free(c->teams[1].timezone);
	c->teams[1].timezone = xstrdup("Nowhere/Atlantis");
	cr_assert_null(roster_new(c, err, sizeof(err)));
	cr_assert_str_eq(err, "unknown time zone \"Nowhere/Atlantis\"");
	roster_free(NULL);
	config_free(c);
}
