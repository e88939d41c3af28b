/*
 * board.c: scopes, ranking with ties, percent of target, the activity
 * score; and the leaderboards keys of the config that drive them.
 */
#include "board.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "roster.h"
#include "xmalloc.h"

static const char org[] =
	"kpis:\n"
	"  - {name: calls, kind: leading, events: [call]}\n"
	"  - {name: meetings, kind: leading, events: [meeting]}\n"
	"  - {name: discounts, kind: lagging, events: [discount], better: lower}\n"
	"roles:\n"
	"  sdr: {targets: {calls: {week: 100}}}\n"
	"  ae: {targets: {calls: {week: 50}}}\n"
	"teams:\n"
	"  - {id: east, timezone: UTC, manager: m-east}\n"
	"managers:\n"
	"  - {id: m-sub, manager: m-east}\n"
	"  - {id: m-east, manager: vp}\n"
	"  - {id: vp}\n"
	"reps:\n"
	"  - {id: r1, team: east, role: sdr, groups: {region: emea}}\n"
	"  - {id: r2, team: east, role: ae, manager: m-sub,\n"
	"     groups: {region: apac, segment: smb}}\n";

static struct config *
load(const char *extra, char **errs)
{
	char *buf;
	struct config *c;

	*errs = NULL;
	buf = xasprintf("%s%s", org, extra);
	c = config_load_buffer("board.yaml", buf, strlen(buf), errs);
	free(buf);
	return c;
}

struct names {
	char v[16][BOARD_SCOPE_MAX];
	size_t n;
};

static void
collect(const char *scope, void *arg)
{
	struct names *nm = arg;

	cr_assert_lt(nm->n, 16);
	strcpy(nm->v[nm->n++], scope);
}

Test(board, defaults_and_scopes)
{
	char *errs, err[128];
	struct config *c = load("", &errs);
	struct roster *r;
	struct names nm = { .n = 0 };
	struct board_scope sc;

	cr_assert_not_null(c, "%s", errs);
	cr_expect(c->boards.grouping[BOARD_GROUP_ROLE]);
	cr_expect(c->boards.grouping[BOARD_GROUP_MANAGER]);
	cr_expect_eq(c->boards.score_cap, 150);
	cr_expect_null(c->boards.score_weights);
	r = roster_new(c, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	/* r2: its own manager m-sub, then m-east and vp above it. */
	board_rep_scopes(c, roster_rep(r, "r2"), collect, &nm);
	cr_assert_eq(nm.n, 6);
	cr_expect_str_eq(nm.v[0], "org");
	cr_expect_str_eq(nm.v[1], "team:east");
	cr_expect_str_eq(nm.v[2], "role:ae");
	cr_expect_str_eq(nm.v[3], "manager:m-sub");
	cr_expect_str_eq(nm.v[4], "manager:m-east");
	cr_expect_str_eq(nm.v[5], "manager:vp");
	cr_assert_eq(board_scope_parse("manager:m-east", &sc), 0);
	cr_expect(board_in_scope(c, roster_rep(r, "r2"), &sc));
	cr_expect(board_in_scope(c, roster_rep(r, "r1"), &sc));
	cr_assert_eq(board_scope_parse("manager:m-sub", &sc), 0);
	cr_expect(board_in_scope(c, roster_rep(r, "r2"), &sc));
	cr_expect_not(board_in_scope(c, roster_rep(r, "r1"), &sc));
	cr_assert_eq(board_scope_parse("role:sdr", &sc), 0);
	cr_expect(board_in_scope(c, roster_rep(r, "r1"), &sc));
	cr_expect_not(board_in_scope(c, roster_rep(r, "r2"), &sc));
	roster_free(r);
	config_free(c);
}

Test(board, groupings_none)
{
	char *errs, err[128];
	struct config *c = load("leaderboards: {groupings: []}\n", &errs);
	struct roster *r;
	struct names nm = { .n = 0 };

	cr_assert_not_null(c, "%s", errs);
	r = roster_new(c, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	board_rep_scopes(c, roster_rep(r, "r1"), collect, &nm);
	cr_assert_eq(nm.n, 2);
	cr_expect_str_eq(nm.v[0], "org");
	cr_expect_str_eq(nm.v[1], "team:east");
	roster_free(r);
	config_free(c);
}

Test(board, groupings_of_the_reps_groups)
{
	char *errs, err[128];
	struct config *c = load("leaderboards: {groupings: [region, "
	    "segment]}\n", &errs);
	struct roster *r;
	struct names nm = { .n = 0 };
	struct board_scope sc;

	cr_assert_not_null(c, "%s", errs);
	cr_expect_not(c->boards.grouping[BOARD_GROUP_ROLE]);
	cr_assert_eq(c->boards.ncustom, 2);
	cr_expect(board_grouping_listed(c, "region"));
	cr_expect_not(board_grouping_listed(c, "zone"));
	r = roster_new(c, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	board_rep_scopes(c, roster_rep(r, "r2"), collect, &nm);
	cr_assert_eq(nm.n, 4);
	cr_expect_str_eq(nm.v[2], "region:apac");
	cr_expect_str_eq(nm.v[3], "segment:smb");
	nm.n = 0;
	/* r1 has no segment: no segment board. */
	board_rep_scopes(c, roster_rep(r, "r1"), collect, &nm);
	cr_assert_eq(nm.n, 3);
	cr_expect_str_eq(nm.v[2], "region:emea");
	cr_assert_eq(board_scope_parse("region:emea", &sc), 0);
	cr_expect(board_in_scope(c, roster_rep(r, "r1"), &sc));
	cr_expect_not(board_in_scope(c, roster_rep(r, "r2"), &sc));
	roster_free(r);
	config_free(c);
}

Test(board, rep_groups_errors)
{
	static const char y[] =
	    "kpis: [{name: calls, kind: leading, events: [call]}]\n"
	    "roles: {sdr: {targets: {calls: {day: 1}}}}\n"
	    "teams: [{id: east, timezone: UTC}]\n"
	    "reps:\n"
	    "  - {id: r1, team: east, role: sdr, groups: {Region: x, role: y}}\n"
	    "  - {id: r2, team: east, role: sdr, groups: {region: \"a b\"}}\n"
	    "  - {id: r3, team: east, role: sdr, groups: [emea]}\n";
	char *errs = NULL;
	struct config *c;

	c = config_load_buffer("g.yaml", y, strlen(y), &errs);
	cr_assert_null(c);
	cr_assert_not_null(errs);
	cr_expect_not_null(strstr(errs, "reps[0].groups.Region: invalid "
	    "grouping name"), "%s", errs);
	cr_expect_not_null(strstr(errs, "reps[0].groups.role: invalid "
	    "grouping name"), "%s", errs);
	cr_expect_not_null(strstr(errs, "reps[1].groups.region: invalid "
	    "group value \"a b\""), "%s", errs);
	cr_expect_not_null(strstr(errs, "reps[2].groups"), "%s", errs);
	free(errs);
}

Test(board, scope_parse)
{
	struct board_scope sc;
	char name[BOARD_SCOPE_MAX];

	cr_expect_eq(board_scope_parse("org", &sc), 0);
	cr_expect_eq(sc.kind, BOARD_ORG);
	cr_expect_eq(board_scope_parse("team:east", &sc), 0);
	cr_expect_eq(sc.kind, BOARD_TEAM);
	cr_expect_str_eq(sc.id, "east");
	board_scope_name(&sc, name, sizeof(name));
	cr_expect_str_eq(name, "team:east");
	cr_expect_eq(board_scope_parse("team:", &sc), -1);
	cr_expect_eq(board_scope_parse("org:x", &sc), -1);
	cr_expect_eq(board_scope_parse("", &sc), -1);
	cr_expect_eq(board_scope_parse(":x", &sc), -1);
	cr_expect_eq(board_scope_parse("Region:emea", &sc), -1);
	cr_expect_eq(board_scope_parse("region:emea", &sc), 0);
	cr_expect_eq(sc.kind, BOARD_GROUP);
	cr_expect_str_eq(sc.group, "region");
	cr_expect_str_eq(sc.id, "emea");
	board_scope_name(&sc, name, sizeof(name));
	cr_expect_str_eq(name, "region:emea");
}

Test(board, ranks_share_ties_in_rep_order)
{
	struct board_entry e[] = {
		{ .rep_id = "d", .key = 5, .has_key = true },
		{ .rep_id = "c", .key = 9, .has_key = true },
		{ .rep_id = "b", .key = 5, .has_key = true },
		{ .rep_id = "a", .key = 1, .has_key = true },
		{ .rep_id = "e", .has_key = false },
		{ .rep_id = "f", .key = 5, .has_key = true },
	};
	static const char *order = "cbdfae";
	static const size_t rank[] = { 1, 2, 2, 2, 5, 6 };
	static const bool tied[] = { false, true, true, true, false, false };

	board_rank(e, 6, false);
	for (size_t i = 0; i < 6; i++) {
		cr_expect_eq(e[i].rep_id[0], order[i], "line %zu: %s", i,
		    e[i].rep_id);
		cr_expect_eq(e[i].rank, rank[i], "%s rank %zu", e[i].rep_id,
		    e[i].rank);
		cr_expect_eq(e[i].tied, tied[i], "%s tied", e[i].rep_id);
	}
	/* Lower is better: the smallest first, no key still last. */
	board_rank(e, 6, true);
	cr_expect_str_eq(e[0].rep_id, "a");
	cr_expect_str_eq(e[1].rep_id, "b");
	cr_expect_eq(e[3].rank, 2);
	cr_expect_str_eq(e[4].rep_id, "c");
	cr_expect_str_eq(e[5].rep_id, "e");
}

Test(board, percent_and_activity_score)
{
	char *errs;
	struct config *c = load(
	    "leaderboards:\n"
	    "  activity_score:\n"
	    "    cap: 120\n"
	    "    weights:\n"
	    "      sdr: {calls: 0.7, meetings: 0.3}\n", &errs);
	double pct[3];

	cr_assert_not_null(c, "%s", errs);
	cr_expect_eq(board_percent(45, 60), 75);
	cr_expect_eq(board_percent(3, 0), -1);
	cr_expect(board_score_weighs(c, 0, 0));
	cr_expect_not(board_score_weighs(c, 0, 2));
	cr_expect_not(board_score_weighs(c, 1, 0));
	/* 0.7 x min(200, 120) + 0.3 x 50 = 84 + 15 */
	pct[0] = 200;
	pct[1] = 50;
	pct[2] = -1;
	cr_expect_float_eq(board_activity_score(c, 0, pct), 99, 1e-9);
	/* No target for meetings: it counts 0. */
	pct[1] = -1;
	cr_expect_float_eq(board_activity_score(c, 0, pct), 84, 1e-9);
	/* ae has no weights: no score. */
	cr_expect_eq(board_activity_score(c, 1, pct), -1);
	config_free(c);
}

Test(board, config_errors)
{
	char *errs;
	struct config *c = load(
	    "leaderboards:\n"
	    "  groupings: [role, Region, team]\n"
	    "  activity_score:\n"
	    "    cap: 0\n"
	    "    weights:\n"
	    "      sdr: {calls: -1, discounts: 1, callz: 1}\n"
	    "      cto: {calls: 1}\n", &errs);

	cr_assert_null(c);
	cr_assert_not_null(errs);
	cr_expect_not_null(strstr(errs, "leaderboards.groupings[1]: invalid "
	    "grouping name \"Region\""), "%s", errs);
	cr_expect_not_null(strstr(errs, "leaderboards.groupings[2]: team "
	    "always has boards"), "%s", errs);
	cr_expect_not_null(strstr(errs, "leaderboards.activity_score.cap"),
	    "%s", errs);
	cr_expect_not_null(strstr(errs, "weights.sdr.calls: weight \"-1\""),
	    "%s", errs);
	cr_expect_not_null(strstr(errs, "better lower"), "%s", errs);
	cr_expect_not_null(strstr(errs, "unknown KPI \"callz\""), "%s", errs);
	cr_expect_not_null(strstr(errs, "unknown role \"cto\""), "%s", errs);
	free(errs);
}
