/*
 * The change stream's messages, the pure part: ids (form, growth) and the
 * opening of a rank message the board script completes. Pure.
 */

#include "changes.h"

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* 2026-11-23, a Monday. */
#define D_2026_11_23	20780

Test(changes, ids_have_the_documented_form_and_grow)
{
	char a[CHANGES_ID_SIZE], b[CHANGES_ID_SIZE];
	uint64_t sa, sb;

	changes_next_id(a, sizeof(a));
	changes_next_id(b, sizeof(b));
	cr_expect(changes_id_valid(a), "%s", a);
	cr_expect(changes_id_valid(b), "%s", b);
	cr_expect_eq(strncmp(a, b, 17), 0, "one instance: %s %s", a, b);
	sa = strtoull(a + 17, NULL, 10);
	sb = strtoull(b + 17, NULL, 10);
	cr_expect_gt(sb, sa, "%s then %s", a, b);
}

Test(changes, malformed_ids_are_refused)
{
	static const char *bad[] = {
		"", "1", "-1", "0123456789abcdef", "0123456789abcdef-",
		"0123456789ABCDEF-1", "0123456789abcde-1", "0123456789abcdef0-1",
		"0123456789abcdef-1x", "0123456789abcdef-123456789012345678901",
		"0123456789abcdef--1", "0123456789abcdef-1\n",
	};

	cr_expect(changes_id_valid("0123456789abcdef-1"));
	cr_expect(changes_id_valid("0000000000000000-12345678901234567890"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!changes_id_valid(bad[i]), "\"%s\" taken", bad[i]);
}

/* The opening plus what the script adds is the documented message. */
Test(changes, rank_head_completes_to_the_documented_message)
{
	char *head = changes_rank_head("team:east", "calls", PERIOD_WEEK,
	    D_2026_11_23);
	char *text;
	cJSON *m, *mv;

	cr_assert_not_null(head);
	cr_expect_neq(head[strlen(head) - 1], '}', "%s", head);
	text = malloc(strlen(head) + 128);
	sprintf(text, "%s,\"moves\":[{\"rep\":\"a2\",\"old_rank\":null,"
	    "\"new_rank\":1,\"value\":3}]}", head);
	m = cJSON_Parse(text);
	cr_assert_not_null(m, "not JSON: %s", text);
	cr_expect_eq(cJSON_GetObjectItem(m, "v")->valueint, CHANGES_VERSION);
	cr_expect(changes_id_valid(cJSON_GetObjectItem(m, "id")->valuestring));
	cr_expect_str_eq(cJSON_GetObjectItem(m, "type")->valuestring, "rank");
	cr_expect_str_eq(cJSON_GetObjectItem(m, "scope")->valuestring,
	    "team:east");
	cr_expect_str_eq(cJSON_GetObjectItem(m, "team")->valuestring, "east");
	cr_expect_str_eq(cJSON_GetObjectItem(m, "kpi")->valuestring, "calls");
	cr_expect_str_eq(cJSON_GetObjectItem(m, "period")->valuestring, "week");
	cr_expect_str_eq(cJSON_GetObjectItem(m, "date")->valuestring,
	    "2026-11-23");
	cr_expect_eq(strlen(cJSON_GetObjectItem(m, "at")->valuestring), 24);
	mv = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "moves"), 0);
	cr_expect_str_eq(cJSON_GetObjectItem(mv, "rep")->valuestring, "a2");
	cJSON_Delete(m);
	free(text);
	free(head);
}

Test(changes, org_and_group_boards_carry_no_team)
{
	char *head = changes_rank_head("region:emea", "calls", PERIOD_DAY,
	    D_2026_11_23);

	cr_expect_null(strstr(head, "\"team\""), "%s", head);
	free(head);
	head = changes_rank_head("org", "calls", PERIOD_DAY, D_2026_11_23);
	cr_expect_null(strstr(head, "\"team\""), "%s", head);
	free(head);
}

/* A scope from the roster's groups may hold any text: escaped so that the
 * message still parses and says the same. */
Test(changes, rank_head_escapes_what_it_quotes)
{
	char *head = changes_rank_head("region:a\"b\\c\n\x01", "calls",
	    PERIOD_DAY, D_2026_11_23);
	char *msg = xasprintf("%s}", head);
	cJSON *o = cJSON_Parse(msg);

	cr_assert_not_null(o, "%s", msg);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "scope")->valuestring,
	    "region:a\"b\\c\n\x01");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "rank");
	cr_expect_eq(cJSON_GetObjectItem(o, "v")->valueint, 1);
	cJSON_Delete(o);
	free(msg);
	free(head);
}
