/*
 * The whole generated stream through one daemon, no faults: Redis must
 * equal the oracle exactly, the dead-letter topic must hold each bad event
 * exactly once with its reason and source, the event metrics must equal
 * the oracle's totals, and the scorecard must serve the expected actuals.
 */

#include "harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"

#define DAY_S		86400LL

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static void
url_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* GET the probe's scorecard with the rep id as given (raw or encoded). */
static int
check_scorecard(int port, const char *rep)
{
	const cJSON *probe, *want, *k, *name, *actual, *w;
	cJSON *doc;
	char path[1024], *body = NULL;
	int status, bad = 0, compared = 0, nonzero = 0;

	probe = cJSON_GetObjectItemCaseSensitive(harness_expected(), "probe");
	want = cJSON_GetObjectItemCaseSensitive(probe, "actual");
	snprintf(path, sizeof path, "/v1/reps/%s/scorecard?period=day&at=%s",
	    rep, cJSON_GetObjectItemCaseSensitive(probe, "at")->valuestring);
	if (harness_http_get(port, path, &status, &body) == -1) {
		harness_log("scorecard: GET %s failed", path);
		return 1;
	}
	harness_log("scorecard: GET %s -> %d", path, status);
	if (status != 200 || (doc = cJSON_Parse(body)) == NULL) {
		harness_log("scorecard: status %d, body %.300s", status, body);
		free(body);
		return 1;
	}
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "kpis")) {
		name = cJSON_GetObjectItemCaseSensitive(k, "kpi");
		actual = cJSON_GetObjectItemCaseSensitive(k, "actual");
		if (!cJSON_IsString(name) || !cJSON_IsNumber(actual)) {
			harness_log("scorecard: kpi entry without kpi/actual");
			bad++;
			continue;
		}
		w = cJSON_GetObjectItemCaseSensitive(want, name->valuestring);
		if (w == NULL) {
			harness_log("scorecard: unknown kpi %s",
			    name->valuestring);
			bad++;
			continue;
		}
		compared++;
		if (w->valuedouble != 0)
			nonzero++;
		if (actual->valuedouble - w->valuedouble > 1e-6 ||
		    w->valuedouble - actual->valuedouble > 1e-6) {
			harness_log("scorecard: %s actual %.15g, expected "
			    "%.15g (%s, day %s)", name->valuestring,
			    actual->valuedouble, w->valuedouble,
			    cJSON_GetObjectItemCaseSensitive(probe,
			    "rep")->valuestring,
			    cJSON_GetObjectItemCaseSensitive(probe,
			    "date")->valuestring);
			bad++;
		}
	}
	harness_log("scorecard: %d kpis compared (%d non-zero), %d differ",
	    compared, nonzero, bad);
	if (compared == 0 || nonzero == 0) {
		harness_log("scorecard: body %.300s", body);
		bad++;
	}
	cJSON_Delete(doc);
	free(body);
	return bad;
}

/*
 * The key lifetimes README's key table gives, for every key of the kinds
 * with one: a seen set expires dedupe_window (35 d here) after the later
 * of its UTC day's end and the wall time of the last batch that wrote it
 * (between t0, before the stream was produced, and now); a shard's
 * counter or team hash of a bucket starting on local day
 * D expires retention (400 d for days, 800 d otherwise) after the UTC
 * midnight one day past the bucket's end (the spare day covers every
 * zone); the offsets hash never. Returns the number of keys that differ.
 */
static int
check_lifetimes(long long t0)
{
	long long t1 = (long long)time(NULL);
	static const char *const patterns[] = { "*:seen:*", "*}:cnt:*",
	    "*}:team:*" };
	int bad = 0, checked = 0;
	redisReply *keys, *t;

	for (size_t pi = 0; pi < sizeof(patterns) / sizeof(patterns[0]);
	    pi++) {
		keys = harness_redis_cmd("KEYS %s", patterns[pi]);
		cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
		for (size_t k = 0; k < keys->elements; k++) {
			const char *key = keys->element[k]->str;
			const char *date = strrchr(key, ':') + 1;
			long long want, want_hi;
			enum period p;
			int32_t day, end;
			int y;
			unsigned m, d;

			cr_assert_eq(caltime_parse_date(date, &day), 0, "%s",
			    key);
			if (pi == 0) {
				long long e = (day + 1) * DAY_S;

				want = (e > t0 ? e : t0) + 35 * DAY_S;
				want_hi = (e > t1 ? e : t1) + 35 * DAY_S;
			} else {
				char name[16];
				const char *pe = date - 1, *ps = pe;

				while (ps > key && ps[-1] != ':')
					ps--;
				snprintf(name, sizeof(name), "%.*s",
				    (int)(pe - ps), ps);
				cr_assert_eq(caltime_period_parse(name, &p), 0,
				    "%s", key);
				caltime_civil_from_days(day, &y, &m, &d);
				switch (p) {
				case PERIOD_DAY:
					end = day + 1;
					break;
				case PERIOD_WEEK:
					end = day + 7;
					break;
				case PERIOD_MONTH:
					end = caltime_days_from_civil(y + (m == 12),
					    m % 12 + 1, 1);
					break;
				default:
					end = caltime_days_from_civil(y + (m > 9),
					    (m + 2) % 12 + 1, 1);
					break;
				}
				want = (end + 1) * DAY_S + (p == PERIOD_DAY ?
				    400 : 800) * DAY_S;
				want_hi = want;
			}
			t = harness_redis_cmd("EXPIRETIME %s", key);
			cr_assert(t != NULL && t->type == REDIS_REPLY_INTEGER);
			if ((t->integer < want || t->integer > want_hi) &&
			    bad++ < 5)
				harness_log("lifetime: %s expires at %lld, want "
				    "%lld..%lld", key, t->integer, want, want_hi);
			checked++;
			freeReplyObject(t);
		}
		freeReplyObject(keys);
	}
	t = harness_redis_cmd("KEYS *:offsets:*");
	cr_assert(t != NULL && t->type == REDIS_REPLY_ARRAY && t->elements == 1);
	keys = harness_redis_cmd("TTL %s", t->element[0]->str);
	cr_assert(keys != NULL && keys->type == REDIS_REPLY_INTEGER);
	if (keys->integer != -1) {
		harness_log("lifetime: %s has a TTL", t->element[0]->str);
		bad++;
	}
	freeReplyObject(keys);
	freeReplyObject(t);
	harness_log("lifetimes: %d keys checked, %d differ", checked, bad);
	return checked > 0 ? bad : 1;
}

static bool
metrics_match(void *arg)
{
	return harness_check_metrics(*(int *)arg, false) == 0;
}

Test(exact, whole_stream, .fini = harness_teardown, .timeout = 300)
{
	struct harness_paced p;
	const char *rep;
	char encoded[512];
	long long t0 = (long long)time(NULL);

	cr_assert_eq(harness_start_stack("exact", 1), 0);
	cr_assert_eq(harness_paced_config(&p, 0, NULL), 0);
	cr_assert_eq(harness_paced_start(&p), 0);
	cr_assert_eq(harness_paced_wait_ready(&p, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_produce(0), 0);
	cr_assert_eq(harness_wait_caught_up(HARNESS_WAIT_MS), 0);

	cr_expect_eq(harness_compare_redis(20), 0, "Redis differs from the "
	    "oracle");
	cr_expect_eq(harness_check_dlq(true, 20), 0, "dead-letter topic "
	    "differs");
	cr_expect_eq(check_lifetimes(t0), 0, "key lifetimes differ from README");
	/* Counters may trail the offsets hash by one flush. */
	harness_wait_until(metrics_match, &p.http_port, 10000,
	    "metrics to match the totals");
	cr_expect_eq(harness_check_metrics(p.http_port, true), 0,
	    "metrics differ from the totals");
	/* Every assigned partition fetched (the gauge exists: -1 if not). */
	cr_expect_eq(harness_paced_metric(&p,
	    "paced_kafka_partitions_not_fetching"), 0);
	/* Every batch applied went through each stage once. */
	{
		double applied = harness_paced_metric(&p,
		    "paced_batches_total{result=\"applied\"}");
		static const char *const stages[] = { "filling", "counters",
		    "counted", "wait_dlq", "watermark" };

		cr_expect_gt(applied, 0);
		for (size_t k = 0; k < sizeof(stages) / sizeof(stages[0]);
		    k++) {
			char series[96];
			double n, sum;

			snprintf(series, sizeof(series), "paced_batch_stage_"
			    "seconds_count{stage=\"%s\"}", stages[k]);
			n = harness_paced_metric(&p, series);
			snprintf(series, sizeof(series), "paced_batch_stage_"
			    "seconds_sum{stage=\"%s\"}", stages[k]);
			sum = harness_paced_metric(&p, series);
			harness_log("stage %s: %.0f batches, %.3f s in all",
			    stages[k], n, sum);
			cr_expect_geq(n, applied, "stage %s", stages[k]);
			cr_expect_geq(sum, 0, "stage %s", stages[k]);
		}
	}
	rep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    harness_expected(), "probe"), "rep")->valuestring;
	cr_expect_eq(check_scorecard(p.http_port, rep), 0,
	    "scorecard differs");
	/* A client may percent-encode the id ('@' as %40): same resource. */
	url_encode(rep, encoded, sizeof encoded);
	cr_expect_eq(check_scorecard(p.http_port, encoded), 0,
	    "scorecard differs for the percent-encoded rep id %s", encoded);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}
