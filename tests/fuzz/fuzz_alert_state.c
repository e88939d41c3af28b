/*
 * libFuzzer target for the stored alert state: the values of a rep's
 * alerts hash (eval_state_parse, with alert_state_parse inside) and the
 * firing alerts' JSON the sweep reads back (evaluate_rep_removed). Any
 * bytes must give a state or -1, never a crash; a state read must format
 * and read back the same, and an alert state's text is canonical (it
 * formats back to the very bytes it was read from, but for an "a1"
 * state without an alert, which is written back as "a2").
 */
#include "alert.h"
#include "evaluate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

static bool
same_double(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct alert_state st, st2;
	struct eval_state es, es2;
	struct eval_removed rm;
	char buf[EVAL_STATE_SIZE];

	if (alert_state_parse(s, size, &st) == 0) {
		check(alert_state_format(&st, buf, ALERT_STATE_SIZE) == 0);
		check(alert_state_parse(buf, strlen(buf), &st2) == 0);
		check(alert_state_equal(&st, &st2));
		/* "a1" without an alert is written back as "a2"; "a2" and
		 * "a3" (a breach pending) as they came. */
		if (memcmp(s, "a1:", 3) != 0 || st.level != ALERT_LEVEL_NONE)
			check(strlen(buf) == size && memcmp(buf, s, size) == 0);
	}

	if (eval_state_parse(s, size, &es) == 0) {
		check(es.present);
		eval_state_format(&es, buf, sizeof(buf));
		check(strlen(buf) < sizeof(buf) - 1);
		check(eval_state_parse(buf, strlen(buf), &es2) == 0);
		check(es2.start_day == es.start_day);
		check(alert_state_equal(&es.alert, &es2.alert));
		check(same_double(es.actual, es2.actual));
		check(same_double(es.target, es2.target));
		check(same_double(es.expected, es2.expected));
		check(same_double(es.pace, es2.pace));
		check(same_double(es.required_rate, es2.required_rate));
	}

	/* The brief form accepts no more than the full one, and agrees. */
	if (eval_state_parse_brief(s, size, &es2) == 0) {
		check(eval_state_parse(s, size, &es) == 0);
		check(es2.start_day == es.start_day);
		check(alert_state_equal(&es.alert, &es2.alert));
		check(same_double(es.target, es2.target));
	}

	if (evaluate_rep_removed(s, size, 1764000000000, &rm) == 0) {
		check(rm.rep_id != NULL && rm.kpi != NULL && rm.json != NULL);
		check(strlen(rm.alert_id) == ALERT_ID_SIZE - 1);
		check(rm.severity == ALERT_LEVEL_WARNING ||
		    rm.severity == ALERT_LEVEL_CRITICAL);
		eval_removed_clear(&rm);
	}
	return 0;
}
