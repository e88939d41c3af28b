/*
 * fuzz_config.c: libFuzzer entry for the configuration loader. Any bytes
 * must give either a config or error text, never a crash, a hang or a
 * leak. Build with clang -fsanitize=fuzzer,address,undefined and seed it
 * with tests/fixtures/config/ and config/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*errs = NULL;
	struct config	*c;

	c = config_load_buffer("fuzz.yaml", (const char *)data, size, &errs);
	/* Exactly one of the two. */
	if ((c == NULL) == (errs == NULL))
		abort();
	config_free(c);
	free(errs);
	return 0;
}
