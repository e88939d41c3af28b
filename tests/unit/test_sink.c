/*
 * The webhook bodies: digests grouped per manager in order of first
 * mention, Slack text with its control characters escaped, the alert
 * objects carried as JSON. Pure; the delivery itself is covered by
 * tests/integration/test_sinks.c.
 */

#include "sink.h"
#include "budget.h"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct alert_record
rec(const char *id, const char *mgr, const char *const *notify,
    size_t nnotify, const char *status, const char *message, const char *json)
{
	struct alert_record a;

	memset(&a, 0, sizeof(a));
	a.alert_id = id;
	a.rep_id = "r1";
	a.manager_id = mgr;
	a.notify = notify;
	a.nnotify = nnotify;
	a.status = status;
	a.severity = "warning";
	a.message = message;
	a.json = json;
	return a;
}

static void
free_bodies(char **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i]);
	free(b);
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *
alert_id_at(const cJSON *doc, int i)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "alerts");

	return str(cJSON_GetArrayItem(arr, i), "alert_id");
}

Test(sink_webhook, digests_group_by_manager_in_first_mention_order)
{
	static const char *const n1[] = { "m1" };
	static const char *const n19[] = { "m1", "m9" };
	static const char *const n2[] = { "m2" };
	static const char *const n11[] = { "m1", "m1" };
	struct alert_record a[4];
	char **b;
	cJSON *d;
	size_t n;

	a[0] = rec("A", "m1", n1, 1, "firing", "one", "{\"alert_id\":\"A\"}");
	a[1] = rec("B", "m1", n19, 2, "firing", "two", "{\"alert_id\":\"B\"}");
	a[2] = rec("C", "m2", n2, 1, "resolved", "three", "{\"alert_id\":\"C\"}");
	a[3] = rec("D", "m1", n11, 2, "firing", "four", "{\"alert_id\":\"D\"}");
	n = sink_webhook_digests(a, 4, &b);
	cr_assert_eq(n, 3);

	/* m1: A, B, D (D names m1 twice, counted once). */
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_str_eq(str(d, "manager_id"), "m1");
	cr_expect_str_eq(str(d, "text"),
	    "*paced: 3 pacing alerts for m1* (3 firing, 0 resolved)\n"
	    "\xe2\x80\xa2 one\n\xe2\x80\xa2 two\n\xe2\x80\xa2 four");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "alerts")), 3);
	cr_expect_str_eq(alert_id_at(d, 0), "A");
	cr_expect_str_eq(alert_id_at(d, 1), "B");
	cr_expect_str_eq(alert_id_at(d, 2), "D");
	cJSON_Delete(d);

	/* m9 (first named by B), then m2. */
	cr_assert_not_null(d = cJSON_Parse(b[1]));
	cr_expect_str_eq(str(d, "manager_id"), "m9");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "alerts")), 1);
	cr_expect_str_eq(alert_id_at(d, 0), "B");
	cJSON_Delete(d);
	cr_assert_not_null(d = cJSON_Parse(b[2]));
	cr_expect_str_eq(str(d, "manager_id"), "m2");
	cr_expect_str_eq(str(d, "text"),
	    "*paced: 1 pacing alert for m2* (0 firing, 1 resolved)\n"
	    "\xe2\x80\xa2 three");
	cJSON_Delete(d);
	free_bodies(b, n);
}

Test(sink_webhook, digest_without_notify_uses_the_manager_or_null)
{
	struct alert_record a[3];
	const cJSON *m;
	char **b;
	cJSON *d;
	size_t n;

	a[0] = rec("A", "m3", NULL, 0, "firing", "one", "{\"alert_id\":\"A\"}");
	a[1] = rec("B", NULL, NULL, 0, "firing", "two", "{\"alert_id\":\"B\"}");
	a[2] = rec("C", NULL, NULL, 0, "firing", "three", "{\"alert_id\":\"C\"}");
	n = sink_webhook_digests(a, 3, &b);
	cr_assert_eq(n, 2);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_str_eq(str(d, "manager_id"), "m3");
	cJSON_Delete(d);
	cr_assert_not_null(d = cJSON_Parse(b[1]));
	m = cJSON_GetObjectItemCaseSensitive(d, "manager_id");
	cr_expect(cJSON_IsNull(m), "manager_id is not null");
	cr_expect_str_eq(str(d, "text"),
	    "*paced: 2 pacing alerts* (2 firing, 0 resolved)\n"
	    "\xe2\x80\xa2 two\n\xe2\x80\xa2 three");
	cJSON_Delete(d);
	free_bodies(b, n);

	cr_expect_eq(sink_webhook_digests(a, 0, &b), 0);
	free_bodies(b, 0);
}

Test(sink_webhook, slack_text_is_escaped_and_json_kept)
{
	static const char *const n1[] = { "m<1>" };
	struct alert_record a;
	char **b, *s;
	cJSON *d;
	const cJSON *al;

	a = rec("A", "m<1>", n1, 1, "firing", "calls < 50% & \"late\"",
	    "{\"alert_id\":\"A\",\"pace\":0.4,\"notify\":[\"m<1>\"]}");
	cr_assert_eq(sink_webhook_digests(&a, 1, &b), 1);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_str_eq(str(d, "text"),
	    "*paced: 1 pacing alert for m&lt;1&gt;* (1 firing, 0 resolved)\n"
	    "\xe2\x80\xa2 calls &lt; 50% &amp; \"late\"");
	/* manager_id is data, not Slack text: unescaped. */
	cr_expect_str_eq(str(d, "manager_id"), "m<1>");
	al = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "alerts"), 0);
	cr_expect_eq(cJSON_GetObjectItem(al, "pace")->valuedouble, 0.4);
	cJSON_Delete(d);
	free_bodies(b, 1);

	s = sink_webhook_single(&a);
	cr_assert_not_null(d = cJSON_Parse(s));
	cr_expect_str_eq(str(d, "text"), "calls &lt; 50% &amp; \"late\"");
	cr_expect_str_eq(str(cJSON_GetObjectItem(d, "alert"), "alert_id"), "A");
	cJSON_Delete(d);
	free(s);
}

Test(sink_webhook, invalid_alert_json_becomes_null)
{
	struct alert_record a;
	char *s;
	cJSON *d;

	a = rec("A", "m1", NULL, 0, "firing", "x", "{not json");
	s = sink_webhook_single(&a);
	cr_assert_not_null(d = cJSON_Parse(s), "body is not JSON: %s", s);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(d, "alert")));
	cJSON_Delete(d);
	free(s);

	a.json = "[1,2]";		/* JSON, but not an alert object */
	s = sink_webhook_single(&a);
	cr_assert_not_null(d = cJSON_Parse(s));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(d, "alert")));
	cJSON_Delete(d);
	free(s);
}

Test(sink_webhook, long_digest_text_is_capped_but_alerts_are_not)
{
	struct alert_record a[60];
	char msgs[60][16], ids[60][8], json[60][32], **b;
	const char *text, *last;
	cJSON *d;
	int lines = 0;

	for (int i = 0; i < 60; i++) {
		snprintf(msgs[i], sizeof(msgs[i]), "m%d", i);
		snprintf(ids[i], sizeof(ids[i]), "%d", i);
		snprintf(json[i], sizeof(json[i]), "{\"alert_id\":\"%d\"}", i);
		a[i] = rec(ids[i], "boss", NULL, 0, "firing", msgs[i], json[i]);
	}
	cr_assert_eq(sink_webhook_digests(a, 60, &b), 1);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "alerts")), 60);
	text = str(d, "text");
	for (const char *p = text; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	/* 50 alert bullets and one "... and 10 more". */
	cr_expect_eq(lines, 51);
	last = strrchr(text, '\n');
	cr_expect_str_eq(last, "\n\xe2\x80\xa2 ... and 10 more");
	cr_expect(strstr(text, "\xe2\x80\xa2 m49\n") != NULL);
	cr_expect(strstr(text, "m50") == NULL);
	cJSON_Delete(d);
	free_bodies(b, 1);
}

/* The manager's day, as the test sets it. */
static int32_t test_day;

static int32_t
day_of_test(void *ctx, const struct alert_record *a)
{
	(void)ctx;
	(void)a;
	return test_day;
}

static double
num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/*
 * The budget, by hand: a limit of 3 lines a day for m1.
 *  day 1, digest 1: A, B (warnings): both go, 1 left.
 *  day 1, digest 2: C (warning), D (critical firing), E (resolved): D
 *      first, the only one that fits; "2 more alerts are held".
 *  day 1, digest 3: F: nothing is sent to m1 (F held, 3 in all); m2,
 *      on its own budget, gets its digest.
 *  day 2, digest 4: G goes, with "3 more alerts were held on the
 *      previous day".
 */
Test(sink_webhook, budget_per_manager_per_day)
{
	static const char *const n1[] = { "m1" };
	static const char *const n2[] = { "m2" };
	struct budget *bu = budget_new();
	struct sink_budget bud = { bu, 3, day_of_test, NULL, NULL };
	struct alert_record a[3];
	char **b;
	cJSON *d;
	const char *text;
	size_t n;

	test_day = 1;
	a[0] = rec("A", "m1", n1, 1, "firing", "a", "{\"alert_id\":\"A\"}");
	a[1] = rec("B", "m1", n1, 1, "firing", "b", "{\"alert_id\":\"B\"}");
	n = sink_webhook_digests_budget(a, 2, &bud, &b);
	cr_assert_eq(n, 1);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "alerts")), 2);
	cr_expect_null(strstr(str(d, "text"), "held"));
	cJSON_Delete(d);
	free_bodies(b, n);

	a[0] = rec("C", "m1", n1, 1, "firing", "c", "{\"alert_id\":\"C\"}");
	a[1] = rec("D", "m1", n1, 1, "firing", "d", "{\"alert_id\":\"D\"}");
	a[1].severity = "critical";
	a[2] = rec("E", "m1", n1, 1, "resolved", "e", "{\"alert_id\":\"E\"}");
	n = sink_webhook_digests_budget(a, 3, &bud, &b);
	cr_assert_eq(n, 1);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "alerts")), 1);
	cr_expect_str_eq(alert_id_at(d, 0), "D");
	text = str(d, "text");
	cr_expect_not_null(strstr(text, "2 more alerts are held: the limit "
	    "of 3 a day is reached"), "%s", text);
	cr_expect_eq(num_of(d, "held"), 2);
	cJSON_Delete(d);
	free_bodies(b, n);

	a[0] = rec("F", "m1", n1, 1, "firing", "f", "{\"alert_id\":\"F\"}");
	a[1] = rec("X", "m2", n2, 1, "firing", "x", "{\"alert_id\":\"X\"}");
	n = sink_webhook_digests_budget(a, 2, &bud, &b);
	cr_assert_eq(n, 1, "m1 gets nothing more today");
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_str_eq(str(d, "manager_id"), "m2");
	cJSON_Delete(d);
	free_bodies(b, n);

	test_day = 2;
	a[0] = rec("G", "m1", n1, 1, "firing", "g", "{\"alert_id\":\"G\"}");
	n = sink_webhook_digests_budget(a, 1, &bud, &b);
	cr_assert_eq(n, 1);
	cr_assert_not_null(d = cJSON_Parse(b[0]));
	cr_expect_str_eq(alert_id_at(d, 0), "G");
	text = str(d, "text");
	cr_expect_not_null(strstr(text, "3 more alerts were held on the "
	    "previous day (limit: 3 a day)."), "%s", text);
	cr_expect_eq(num_of(d, "held_before"), 3);
	cr_expect_eq(num_of(d, "held"), 0);
	cJSON_Delete(d);
	free_bodies(b, n);
	budget_free(bu);
}

/* The managers told of, in order, by the taken hook. */
static char told[64];

static void
taken(void *ctx, const char *manager)
{
	(void)ctx;
	strncat(told, manager != NULL ? manager : "-", sizeof(told) -
	    strlen(told) - 1);
	strncat(told, ",", sizeof(told) - strlen(told) - 1);
}

/*
 * A restart in the middle of a day: the counts written by the taken
 * hook (day:used:held:held_before) seed the new process's budget, which
 * goes on where the old one stopped; a seed of an older day is ignored
 * and one of the same day keeps the larger counts.
 */
Test(sink_webhook, budget_survives_a_restart_through_its_state)
{
	static const char *const n1[] = { "m1" };
	struct budget *old = budget_new(), *fresh = budget_new();
	struct sink_budget bud = { old, 3, day_of_test, NULL, taken };
	struct alert_record a[3];
	long used, held, before;
	int32_t day;
	char **b;
	size_t n;

	told[0] = '\0';
	test_day = 7;
	a[0] = rec("A", "m1", n1, 1, "firing", "a", "{\"alert_id\":\"A\"}");
	a[1] = rec("B", "m1", n1, 1, "firing", "b", "{\"alert_id\":\"B\"}");
	n = sink_webhook_digests_budget(a, 2, &bud, &b);
	free_bodies(b, n);
	cr_expect_str_eq(told, "m1,");
	cr_assert_eq(budget_state(old, "m1", &day, &used, &held, &before), 0);
	cr_expect_eq(day, 7);
	cr_expect_eq(used, 2);
	cr_expect_eq(held, 0);
	cr_expect_eq(budget_state(old, "m2", &day, &used, &held, &before), -1);

	/* The new process: seeded, then an older day and smaller counts. */
	budget_seed(fresh, "m1", 7, 2, 0, 0);
	budget_seed(fresh, "m1", 6, 9, 9, 9);
	budget_seed(fresh, "m1", 7, 1, 0, 0);
	bud.budget = fresh;
	a[0] = rec("C", "m1", n1, 1, "firing", "c", "{\"alert_id\":\"C\"}");
	a[1] = rec("D", "m1", n1, 1, "firing", "d", "{\"alert_id\":\"D\"}");
	n = sink_webhook_digests_budget(a, 2, &bud, &b);
	cr_assert_eq(n, 1);
	cr_expect_not_null(strstr(b[0], "1 more alert is held"), "%s", b[0]);
	free_bodies(b, n);
	cr_assert_eq(budget_state(fresh, "m1", &day, &used, &held, &before), 0);
	cr_expect_eq(used, 3);
	cr_expect_eq(held, 1);
	budget_free(old);
	budget_free(fresh);
}
