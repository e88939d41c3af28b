/*
 * Integration test harness: the JSON routes seen from a test. A GET whose
 * body is parsed (asserting through Criterion that it came and is JSON),
 * the fields of an object, numbers compared with a relative tolerance,
 * and day numbers as dates.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void
harness_day_text(int64_t day, char *buf, size_t len)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

cJSON *
harness_get_json(int port, const char *path, int *status)
{
	char *body = NULL;
	cJSON *j;

	cr_assert_eq(harness_http_get(port, path, status, &body), 0,
	    "GET %s failed", path);
	j = cJSON_Parse(body);
	cr_assert_not_null(j, "GET %s (%d): not JSON: %s", path, *status,
	    body);
	free(body);
	return j;
}

cJSON *
harness_get_ok(int port, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	int status = 0;
	cJSON *j;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	j = harness_get_json(port, path, &status);
	cr_assert_eq(status, 200, "GET %s: %d", path, status);
	return j;
}

const cJSON *
harness_item(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

double
harness_num(const cJSON *o, const char *name)
{
	const cJSON *v = harness_item(o, name);

	cr_assert(cJSON_IsNumber(v), "%s is not a number", name);
	return v->valuedouble;
}

const char *
harness_str(const cJSON *o, const char *name)
{
	const cJSON *v = harness_item(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

bool
harness_close_to(double got, double want)
{
	return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}
