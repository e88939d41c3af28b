/*
 * libFuzzer target for roster_file, the roster as CSV: the input is the
 * file a fixed config names. Any bytes must give either a config whose
 * reps are all named, or error text, never a crash or a leak.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char csv_path[64];
static char yaml[512];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*errs = NULL;
	struct config	*c;
	FILE		*f;

	if (csv_path[0] == '\0') {
		snprintf(csv_path, sizeof(csv_path), "/tmp/fuzz_roster.%ld.csv",
		    (long)getpid());
		snprintf(yaml, sizeof(yaml),
		    "kpis:\n"
		    "  - {name: calls, kind: leading, events: [call]}\n"
		    "roles:\n"
		    "  sdr: {targets: {calls: {day: 50}}}\n"
		    "  ae: {targets: {calls: {week: 10}}}\n"
		    "teams:\n"
		    "  - {id: east, timezone: America/New_York, manager: m-east}\n"
		    "  - {id: west, timezone: UTC}\n"
		    "roster_file: %s\n", csv_path);
	}
	if ((f = fopen(csv_path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	c = config_load_buffer("fuzz.yaml", yaml, strlen(yaml), &errs);
	/* Exactly one of the two. */
	if ((c == NULL) == (errs == NULL))
		abort();
	if (c != NULL)
		for (size_t i = 0; i < c->nreps; i++)
			if (c->reps[i].id == NULL || c->reps[i].id[0] == '\0')
				abort();
	config_free(c);
	free(errs);
	return 0;
}
