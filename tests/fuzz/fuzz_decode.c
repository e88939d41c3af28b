/*
 * libFuzzer target for decode_event: any bytes must give a reason, never a
 * crash, a leak or undefined behaviour, and an accepted event must hold
 * what the contract promises. decode.c is built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION so that its own syntax check
 * accepting a text cJSON then refuses is a crash here too.
 */
#include "decode.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* Returns the length of a NUL-terminated field of cap bytes (cap + 1
 * with the terminator), aborting if no NUL is inside it. */
static size_t
field_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap + 1);

	check(nul != NULL);
	return (size_t)(nul - s);
}

static void
check_event(const struct activity *ev)
{
	size_t n, i;
	unsigned char c;

	n = field_len(ev->event_id, EVENT_ID_MAX);
	check(n >= 1);

	n = field_len(ev->rep_id, EVENT_REP_MAX);
	check(n >= 1);
	for (i = 0; i < n; i++) {
		c = (unsigned char)ev->rep_id[i];
		check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '-');
	}

	n = field_len(ev->type, EVENT_TYPE_MAX);
	check(n >= 1);
	for (i = 0; i < n; i++) {
		c = (unsigned char)ev->type[i];
		check(c >= 0x20 && c != 0x7f);
	}

	check(ev->count >= 1 && ev->count <= EVENT_COUNT_MAX);
	if (ev->has_amount)
		check(isfinite(ev->amount) && ev->amount >= 0 &&
		    !signbit(ev->amount));
	else
		check(ev->amount == 0);

	/* Hints: absent is "", present is 1..128 bytes. */
	field_len(ev->team_id, EVENT_HINT_MAX);
	field_len(ev->manager_id, EVENT_HINT_MAX);
	field_len(ev->role, EVENT_HINT_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct activity ev, again;
	enum decode_reason r;
	cJSON *root;

	r = decode_event(data, size, &ev);
	check((unsigned)r < DECODE_REASON_COUNT);
	check(strcmp(decode_reason_name(r), "unknown") != 0);

	/* Pure: the same bytes give the same answer. Bytes past each
	 * terminator are not part of it, so compare field by field. */
	check(decode_event(data, size, &again) == r);
	if (r == DECODE_OK) {
		check_event(&ev);
		check(strcmp(ev.event_id, again.event_id) == 0);
		check(strcmp(ev.rep_id, again.rep_id) == 0);
		check(strcmp(ev.type, again.type) == 0);
		check(strcmp(ev.team_id, again.team_id) == 0);
		check(strcmp(ev.manager_id, again.manager_id) == 0);
		check(strcmp(ev.role, again.role) == 0);
		check(ev.occurred_at_ms == again.occurred_at_ms);
		check(ev.count == again.count);
		check(ev.has_amount == again.has_amount);
		check(memcmp(&ev.amount, &again.amount,
		    sizeof(ev.amount)) == 0);
	}

	/* A top value other than an object passed the syntax check without
	 * reaching cJSON: cJSON must read it whole too. */
	if (r == DECODE_NOT_OBJECT) {
		root = cJSON_ParseWithLength((const char *)data, size);
		check(root != NULL);
		check(!cJSON_IsObject(root));
		cJSON_Delete(root);
	}
	return 0;
}
