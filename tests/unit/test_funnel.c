#include "funnel.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static bool
close_to(double got, double want)
{
	return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}

/*
 * A hand-computed example. Funnel calls -> conversations -> meetings ->
 * deals, min_volume 20, coaching_below 0.8.
 *
 *            calls  conv  meetings  deals  revenue
 *   rep        200    40        10      2    60000
 *   team      1000   300        40      8   200000
 *
 * Rates:     calls->conv   conv->meetings   meetings->deals
 *   rep      40/200 = .2   10/40 = .25      2/10 = .2
 *   team     300/1000 = .3 40/300 = .1333   8/40 = .2
 * Step 0: 200 >= 20, .2 < .8 x .3 = .24: below_team, the rep's .2 used.
 * Step 1: 40 >= 20, .25 >= .8 x .1333: the rep's .25.
 * Step 2: 10 < 20: the team's .2, never flagged.
 * Conversion .2 x .25 x .2 = .01; deal size 60000 / 2 = 30000.
 * The bucket: 120 calls with 40% of its working time gone: 300 calls
 * projected, 3 deals, 90000 of revenue. Revenue target 150000: 5 deals,
 * 500 calls in all, 380 more to make.
 */
static const struct funnel_counts rep = { 4, { 200, 40, 10, 2 }, 60000 };
static const struct funnel_counts team = { 4, { 1000, 300, 40, 8 }, 200000 };
static const struct funnel_params params = { 20, 0.8 };

Test(funnel, rates_and_rates_used)
{
	struct funnel_value r[3];
	struct funnel_conv c[3];

	funnel_rates(&team, r);
	cr_expect(r[0].has && close_to(r[0].v, 0.3));
	cr_expect(r[1].has && close_to(r[1].v, 40.0 / 300));
	cr_expect(r[2].has && close_to(r[2].v, 0.2));
	funnel_rep_conversions(&rep, &team, &params, c);
	cr_expect(close_to(c[0].rep.v, 0.2) && close_to(c[0].team.v, 0.3));
	cr_expect(c[0].below_team, ".2 is under .24");
	cr_expect_eq(c[0].source, FUNNEL_SOURCE_REP);
	cr_expect(close_to(c[0].used.v, 0.2));
	cr_expect(close_to(c[1].rep.v, 0.25));
	cr_expect_not(c[1].below_team);
	cr_expect_eq(c[1].source, FUNNEL_SOURCE_REP);
	cr_expect(close_to(c[2].rep.v, 0.2));
	cr_expect_eq(c[2].source, FUNNEL_SOURCE_TEAM, "10 meetings < 20");
	cr_expect(c[2].used.has && close_to(c[2].used.v, 0.2));
	cr_expect_not(c[2].below_team);
	cr_expect_str_eq(funnel_source_name(c[2].source), "team");
}

Test(funnel, thin_volume_takes_the_team_rate)
{
	struct funnel_counts r = { 3, { 5, 5, 0 }, 0 };
	struct funnel_counts t = { 3, { 100, 10, 0 }, 0 };
	struct funnel_conv c[2];

	/* 5 calls, all converted: far above the team, but too few to judge
	 * or to use. The team never converted step 1: no rate at all. */
	funnel_rep_conversions(&r, &t, &params, c);
	cr_expect_eq(c[0].source, FUNNEL_SOURCE_TEAM);
	cr_expect(close_to(c[0].used.v, 0.1));
	cr_expect_not(c[0].below_team);
	cr_expect(c[1].rep.has && close_to(c[1].rep.v, 0));
	cr_expect(c[1].team.has && close_to(c[1].team.v, 0));
	cr_expect_eq(c[1].source, FUNNEL_SOURCE_TEAM);
	t.step[1] = 0;
	funnel_rep_conversions(&r, &t, &params, c);
	cr_expect_not(c[1].team.has, "no volume at the team's step");
	cr_expect_not(c[1].used.has);
	cr_expect_eq(c[1].source, FUNNEL_SOURCE_NONE);
	cr_expect_null(funnel_source_name(c[1].source));
}

Test(funnel, forecast_by_hand)
{
	struct funnel_conv c[3];
	struct funnel_forecast_in in;
	struct funnel_forecast f;
	struct funnel_value size = funnel_deal_size(&rep);

	cr_assert(size.has && close_to(size.v, 30000));
	funnel_rep_conversions(&rep, &team, &params, c);
	memset(&in, 0, sizeof(in));
	in.n = 4;
	in.top_so_far = 120;
	in.elapsed_fraction = 0.4;
	for (size_t i = 0; i < 3; i++)
		in.rate[i] = c[i].used;
	in.deal_size = size;
	in.target_kind = FUNNEL_TARGET_REVENUE;
	in.target = 150000;
	funnel_forecast(&in, &f);
	cr_expect(f.projected_top.has && close_to(f.projected_top.v, 300));
	cr_expect(f.conversion.has && close_to(f.conversion.v, 0.01));
	cr_expect(f.expected_deals.has && close_to(f.expected_deals.v, 3));
	cr_expect(f.expected_revenue.has &&
	    close_to(f.expected_revenue.v, 90000));
	cr_expect(f.required_activity.has &&
	    close_to(f.required_activity.v, 380), "required %g",
	    f.required_activity.v);
	cr_expect_str_eq(funnel_target_name(f.target_kind), "revenue");

	/* The deals target instead: 4 deals, 400 calls, 280 more. */
	in.target_kind = FUNNEL_TARGET_DEALS;
	in.target = 4;
	funnel_forecast(&in, &f);
	cr_expect(close_to(f.required_activity.v, 280));
	/* Already past it: nothing more needed. */
	in.top_so_far = 450;
	funnel_forecast(&in, &f);
	cr_expect(f.required_activity.has &&
	    close_to(f.required_activity.v, 0));
	/* No working time gone: no projection, the requirement stands. */
	in.top_so_far = 0;
	in.elapsed_fraction = 0;
	funnel_forecast(&in, &f);
	cr_expect_not(f.projected_top.has);
	cr_expect_not(f.expected_deals.has);
	cr_expect(close_to(f.required_activity.v, 400));
	/* A step without a rate: no conversion, nothing forecast. */
	in.elapsed_fraction = 0.5;
	in.rate[1].has = false;
	funnel_forecast(&in, &f);
	cr_expect_not(f.conversion.has);
	cr_expect_not(f.expected_deals.has);
	cr_expect_not(f.required_activity.has);
}

Test(funnel, group_sums)
{
	struct funnel_forecast sum, a, b;

	memset(&sum, 0, sizeof(sum));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.reps = b.reps = 1;
	a.top_so_far = 120;
	a.projected_top = (struct funnel_value){ true, 300 };
	a.expected_deals = (struct funnel_value){ true, 3 };
	a.target_kind = FUNNEL_TARGET_REVENUE;
	a.target = (struct funnel_value){ true, 150000 };
	a.required_activity = (struct funnel_value){ true, 380 };
	b.top_so_far = 10;
	b.projected_top = (struct funnel_value){ true, 25 };
	b.target_kind = FUNNEL_TARGET_DEALS;	/* another kind: left out */
	b.target = (struct funnel_value){ true, 4 };
	funnel_forecast_add(&sum, &a);
	funnel_forecast_add(&sum, &b);
	cr_expect_eq(sum.reps, 2);
	cr_expect(close_to(sum.top_so_far, 130));
	cr_expect(close_to(sum.projected_top.v, 325));
	cr_expect(sum.expected_deals.has && close_to(sum.expected_deals.v, 3));
	cr_expect_not(sum.expected_revenue.has);
	cr_expect_eq(sum.target_kind, FUNNEL_TARGET_REVENUE);
	cr_expect(close_to(sum.target.v, 150000));
	cr_expect(close_to(sum.required_activity.v, 380));
}

/* A rep's step at `rate` against a team's 0.30, with `volume` at its top. */
static struct funnel_conv
step_at(double rate, double volume)
{
	struct funnel_counts r = { 2, { volume, rate * volume }, 0 };
	struct funnel_counts t = { 2, { 1000, 300 }, 0 };
	struct funnel_conv c;

	funnel_rep_conversions(&r, &t, &params, &c);
	return c;
}

static const struct funnel_coaching coach = { 20, 0.8, 0.05, 2 };

Test(funnel, coaching_listed_after_days_below)
{
	struct funnel_conv low = step_at(0.20, 100);	/* 0.20 < 0.24 */
	long d;

	d = funnel_coaching_step(&low, 100, &coach, 0);
	cr_expect_eq(d, 1);
	cr_expect_not(funnel_coaching_listed(&coach, d));
	d = funnel_coaching_step(&low, 100, &coach, d);
	cr_expect_eq(d, 2);
	cr_expect(funnel_coaching_listed(&coach, d));
	d = funnel_coaching_step(&low, 100, &coach, d);
	cr_expect_eq(d, 3);
	cr_expect(funnel_coaching_listed(&coach, d));
	cr_expect_eq(funnel_coaching_step(&low, 100, &coach,
	    FUNNEL_COACHING_DAYS_MAX), FUNNEL_COACHING_DAYS_MAX);
	cr_expect_not(funnel_coaching_listed(&coach, 0));
}

Test(funnel, coaching_margin_holds_a_listed_step)
{
	/* 0.24 <= 0.25 < 0.255: above the threshold, under threshold +
	 * margin. */
	struct funnel_conv band = step_at(0.25, 100);

	cr_expect_eq(funnel_coaching_step(&band, 100, &coach, 2), 3);
	cr_expect_eq(funnel_coaching_step(&band, 100, &coach, 5), 6);
	/* Not yet listed: the band does not count as below. */
	cr_expect_eq(funnel_coaching_step(&band, 100, &coach, 1), 0);
	cr_expect_eq(funnel_coaching_step(&band, 100, &coach, 0), 0);
}

Test(funnel, coaching_clears)
{
	/* At (0.8 + 0.05) x 0.30 = 0.255 exactly, and above it. */
	struct funnel_conv at = step_at(0.255, 1000);
	struct funnel_conv high = step_at(0.40, 100);
	struct funnel_conv low = step_at(0.10, 100);

	cr_expect_eq(funnel_coaching_step(&at, 1000, &coach, 4), 0);
	cr_expect_eq(funnel_coaching_step(&high, 100, &coach, 4), 0);
	/* Low volume clears, however low the rate. */
	low = step_at(0.10, 19);
	cr_expect_eq(funnel_coaching_step(&low, 19, &coach, 4), 0);
	cr_expect_eq(funnel_coaching_step(&low, 19, &coach, 0), 0);
	/* No rate (no volume at all) clears too. */
	low = step_at(0, 0);
	cr_expect_eq(funnel_coaching_step(&low, 0, &coach, 3), 0);
}

Test(funnel, money_rounded_to_cents)
{
	struct funnel_value v = { true, 0.1 + 0.2 }, none = { false, 0.125 };

	cr_assert_eq(funnel_money(112000.00000000003), 112000.0);
	cr_assert_eq(funnel_money(4 * 28000.000000000004), 112000.0);
	cr_assert_eq(funnel_money(25000.0 / 3), 8333.33);
	cr_assert_eq(funnel_money(-0.004), 0.0);
	cr_assert_eq(funnel_money(1e300), 1e300);
	cr_assert(isinf(funnel_money(INFINITY)));
	cr_assert_eq(funnel_money_value(v).v, 0.3);
	cr_assert(funnel_money_value(v).has);
	cr_assert_eq(funnel_money_value(none).v, 0.125);
	cr_assert(!funnel_money_value(none).has);
}
