#include "metrics.h"

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

static char *
render(void)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	metrics_render(b);
	n = evbuffer_get_length(b);
	s = calloc(1, n + 1);
	evbuffer_remove(b, s, n);
	evbuffer_free(b);
	return s;
}

Test(metrics, counters_share_one_family_header)
{
	struct metric *a = metrics_counter("paced_x_total", "k=\"a\"", "X things");
	struct metric *b = metrics_counter("paced_x_total", "k=\"b\"", "X things");
	char *s;

	metrics_inc(a);
	metrics_add(b, 41);
	metrics_inc(b);
	cr_assert_eq(metrics_value(b), 42);
	cr_assert_eq(metrics_counter("paced_x_total", "k=\"a\"", "X things"), a);
	s = render();
	cr_assert_not_null(strstr(s, "# TYPE paced_x_total counter\n"));
	cr_assert_not_null(strstr(s, "paced_x_total{k=\"a\"} 1\n"));
	cr_assert_not_null(strstr(s, "paced_x_total{k=\"b\"} 42\n"));
	/* HELP/TYPE written once for the family */
	cr_assert_null(strstr(strstr(s, "# HELP paced_x_total") + 1, "# HELP paced_x_total"));
	free(s);
	metrics_reset();
}

Test(metrics, histogram_buckets_are_cumulative)
{
	static const double bounds[] = { 1, 5 };
	struct metric *h = metrics_histogram("paced_h", NULL, "H", bounds, 2);
	char *s;

	metrics_observe(h, 0.5);
	metrics_observe(h, 3);
	metrics_observe(h, 3);
	metrics_observe(h, 10);
	s = render();
	cr_assert_not_null(strstr(s, "paced_h_bucket{le=\"1\"} 1\n"));
	cr_assert_not_null(strstr(s, "paced_h_bucket{le=\"5\"} 3\n"));
	cr_assert_not_null(strstr(s, "paced_h_bucket{le=\"+Inf\"} 4\n"));
	cr_assert_not_null(strstr(s, "paced_h_sum 16.5\n"));
	cr_assert_not_null(strstr(s, "paced_h_count 4\n"));
	free(s);
	metrics_reset();
}

Test(metrics, gauge_set_overwrites)
{
	struct metric *g = metrics_gauge("paced_g", "a=\"1\"", "G");
	char *s;

	metrics_set(g, 7);
	metrics_set(g, 3);
	s = render();
	cr_assert_not_null(strstr(s, "# TYPE paced_g gauge\npaced_g{a=\"1\"} 3\n"));
	free(s);
	metrics_reset();
}
