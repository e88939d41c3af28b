/*
 * reply.c against reply trees built by hand the way hiredis builds them:
 * the shapes each command answers are read, and every other shape (an
 * integer or nil where a string belongs, an odd hash, a short script
 * answer, an error) is refused rather than read. Pure.
 */

#include "reply.h"

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evaluate.h"

static redisReply *
str(const char *s)
{
	redisReply *r = calloc(1, sizeof(*r));

	r->type = REDIS_REPLY_STRING;
	r->len = strlen(s);
	r->str = strdup(s);
	return r;
}

static redisReply *
typed(int type, const char *s)
{
	redisReply *r = str(s);

	r->type = type;
	return r;
}

static redisReply *
integer(long long v)
{
	redisReply *r = calloc(1, sizeof(*r));

	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *
nil(void)
{
	redisReply *r = calloc(1, sizeof(*r));

	r->type = REDIS_REPLY_NIL;
	return r;
}

/* An array of n replies, taken. */
static redisReply *
array(size_t n, ...)
{
	redisReply *r = calloc(1, sizeof(*r));
	va_list ap;

	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void
tree_free(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		tree_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static struct config *
two_kpis(void)
{
	static const char y[] =
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "  - {name: revenue, kind: lagging, events: [deal_won], measure: amount}\n"
	    "roles:\n"
	    "  ae: {targets: {calls: {day: 50}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC}\n"
	    "reps:\n"
	    "  - {id: r001, team: east, role: ae}\n";
	char *errs = NULL;
	struct config *c = config_load_buffer("t.yaml", y, sizeof(y) - 1, &errs);

	cr_assert_not_null(c, "%s", errs ? errs : "");
	return c;
}

Test(reply, counters_read_and_wrong_shapes_refused)
{
	struct config *c = two_kpis();
	double actual[2] = { -1, -1 };
	redisReply *r;

	r = array(2, str("12"), str("4500.5"));
	cr_assert_eq(reply_counter_values(c, r, actual), 0);
	cr_assert_eq(actual[0], 12);
	cr_assert_eq(actual[1], 4500.5);
	tree_free(r);
	r = array(2, nil(), str("7"));
	cr_assert_eq(reply_counter_values(c, r, actual), 0);
	cr_assert_eq(actual[0], 12, "nil: nothing counted, left as it was");
	cr_assert_eq(actual[1], 7);
	tree_free(r);

	r = array(2, integer(7), str("1"));
	cr_assert_eq(reply_counter_values(c, r, actual), -1);
	tree_free(r);
	r = array(3, str("1"), str("2"), str("3"));
	cr_assert_eq(reply_counter_values(c, r, actual), -1, "one per KPI");
	tree_free(r);
	r = array(1, str("1"));
	cr_assert_eq(reply_counter_values(c, r, actual), -1);
	tree_free(r);
	r = typed(REDIS_REPLY_ERROR, "WRONGTYPE Operation against a key");
	cr_assert_eq(reply_counter_values(c, r, actual), -1);
	cr_assert_str_eq(reply_error_text(r), "WRONGTYPE Operation against a key");
	tree_free(r);
	cr_assert_eq(reply_counter_values(c, NULL, actual), -1);
	cr_assert_eq(actual[0], 12, "a refused reply writes nothing");
	cr_assert_eq(actual[1], 7);
	config_free(c);
}

Test(reply, alert_states_read)
{
	struct config *c = two_kpis();
	struct eval_state prev[2 * PERIOD_COUNT];
	int64_t last_at = 0;
	redisReply *r;

	memset(prev, 0, sizeof(prev));
	r = array(6, str("calls:week"),
	    str("20415|a2:w:1764000000000:1764000300000:1:5400000|12|50|25|0.5|4.75"),
	    str("_evaluated_at"), str("1764000600000"),
	    str("revenue:day"), str("20415|a9:x|1|2|3|4|5"));
	cr_assert_eq(reply_eval_states(c, r, "_evaluated_at", prev, &last_at), 0);
	cr_assert_eq(last_at, INT64_C(1764000600000));
	cr_assert(prev[0 * PERIOD_COUNT + PERIOD_WEEK].present);
	cr_assert_eq(prev[0 * PERIOD_COUNT + PERIOD_WEEK].alert.level,
	    ALERT_LEVEL_WARNING);
	cr_assert_not(prev[1 * PERIOD_COUNT + PERIOD_DAY].present,
	    "an unreadable state is left not present");
	tree_free(r);

	r = array(2, str("calls:week"), integer(5));
	cr_assert_eq(reply_eval_states(c, r, "_evaluated_at", prev, &last_at), -1);
	tree_free(r);
	config_free(c);
}

Test(reply, hmget_integers)
{
	int64_t v[3] = { -1, -1, -1 };
	bool present[3] = { false, false, false };
	redisReply *r = array(3, str("1042"), nil(), str("7"));

	cr_assert_eq(reply_int64s(r, 3, v, present), 0);
	cr_assert_eq(v[0], 1042);
	cr_assert_eq(v[1], -1);
	cr_assert_eq(v[2], 7);
	cr_assert(present[0] && !present[1] && present[2]);
	cr_assert_eq(reply_int64s(r, 2, v, NULL), -1, "not the count asked");
	tree_free(r);
	r = typed(REDIS_REPLY_STATUS, "OK");
	cr_assert_eq(reply_int64s(r, 0, v, NULL), -1);
	tree_free(r);
}

Test(reply, scripts)
{
	redisReply *r;

	r = array(7, integer(3), integer(1), array(0), integer(0), str("5"),
	    integer(7), nil());
	cr_assert_eq(reply_shard_script(r, 3), 0);
	cr_assert_eq(reply_shard_script(r, 2), -1);
	tree_free(r);
	r = array(4, integer(0), integer(0), array(2, integer(2), integer(5)),
	    integer(0));
	cr_assert_eq(reply_shard_script(r, 4), 0, "refused: no values follow");
	tree_free(r);
	r = array(4, integer(0), integer(0), array(1, str("2")), integer(0));
	cr_assert_eq(reply_shard_script(r, 4), -1);
	tree_free(r);
	r = array(5, str("3"), str("1"), array(0), integer(0), str("5"));
	cr_assert_eq(reply_shard_script(r, 1), -1, "counts must be integers");
	tree_free(r);
	r = array(5, integer(3), integer(1), array(0), str("0"), str("5"));
	cr_assert_eq(reply_shard_script(r, 1), -1, "left out must be an integer");
	tree_free(r);
	r = array(3, integer(3), integer(1), array(0));
	cr_assert_eq(reply_shard_script(r, 0), -1, "left out missing");
	tree_free(r);
}

Test(reply, sha_and_errors)
{
	char sha[41];
	redisReply *r;

	r = str("e0e1f9fabfc9d4800c877a703b823ac0578ff831");
	cr_assert_eq(reply_sha1(r, sha), 0);
	cr_assert_str_eq(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff831");
	cr_assert_null(reply_error_text(r));
	tree_free(r);
	r = str("e0e1f9fabfc9d4800c877a703b823ac0578ff83");
	cr_assert_eq(reply_sha1(r, sha), -1);
	tree_free(r);
	r = typed(REDIS_REPLY_ERROR, "NOSCRIPT No matching script.");
	cr_assert(reply_noscript(r));
	cr_assert_eq(reply_sha1(r, sha), -1);
	tree_free(r);
	r = typed(REDIS_REPLY_STATUS, "NOSCRIPT");
	cr_assert_not(reply_noscript(r));
	tree_free(r);
	cr_assert_not_null(reply_error_text(NULL));
}
