#include "http_route.h"

#include <criterion/criterion.h>
#include <string.h>

/* The funnel routes: their three paths, the bearer token as on every
 * /v1/ route, ?period= and ?at= and nothing else. */
Test(http_route, funnel_routes)
{
	struct http_request_route rt;

	http_route(true, "/v1/org/funnel", NULL, NULL, NULL, &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_FUNNEL);
	cr_expect_eq(rt.funnel, HTTP_FUNNEL_ORG);
	cr_expect_eq(rt.period, PERIOD_DAY);
	cr_expect_not(rt.has_at);

	http_route(true, "/v1/reps/r%40001/funnel", "period=week&at="
	    "2026-11-23T14:05:00Z", NULL, NULL, &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_FUNNEL);
	cr_expect_eq(rt.funnel, HTTP_FUNNEL_REP);
	cr_expect_str_eq(rt.rep_id, "r@001");
	cr_expect_eq(rt.period, PERIOD_WEEK);
	cr_expect(rt.has_at);

	http_route(true, "/v1/teams/east/funnel", "period=quarter", NULL, NULL,
	    &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_FUNNEL);
	cr_expect_eq(rt.funnel, HTTP_FUNNEL_TEAM);
	cr_expect_str_eq(rt.rep_id, "east");
	cr_expect_eq(rt.period, PERIOD_QUARTER);

	/* The team scorecard still goes to the boards. */
	http_route(true, "/v1/teams/east/scorecard", NULL, NULL, NULL, &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_BOARDS);
	http_route(true, "/v1/reps/r1/scorecard", NULL, NULL, NULL, &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_SCORECARD);

	http_route(true, "/v1/org/funnel", NULL, NULL, "s3cret", &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_ERROR);
	cr_expect_eq(rt.code, 401);
	http_route(true, "/v1/teams/east/funnel", NULL, "Bearer nope",
	    "s3cret", &rt);
	cr_expect_eq(rt.code, 401);
	http_route(true, "/v1/teams/east/funnel", NULL, "Bearer s3cret",
	    "s3cret", &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_FUNNEL);

	http_route(true, "/v1/org/funnel", "period=year", NULL, NULL, &rt);
	cr_expect_eq(rt.route, HTTP_ROUTE_ERROR);
	cr_expect_eq(rt.code, 400);
	http_route(true, "/v1/reps/r1/funnel", "at=noon", NULL, NULL, &rt);
	cr_expect_eq(rt.code, 400);
	http_route(true, "/v1/reps/r1/funnel", "limit=3", NULL, NULL, &rt);
	cr_expect_eq(rt.code, 400);
	http_route(false, "/v1/org/funnel", NULL, NULL, NULL, &rt);
	cr_expect_eq(rt.code, 405);
	http_route(true, "/v1/reps/r%201/funnel", NULL, NULL, NULL, &rt);
	cr_expect_eq(rt.code, 404, "a bad id: %d", rt.code);
}
