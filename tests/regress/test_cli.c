/*
 * The command line contract: --version, --help, --check-config with every
 * error as file:line:column and exit 1, exit 0 on a good file, exit 2 on
 * a usage error.
 */

#include "../integration/harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char out[65536];

/* Runs build/paced with args; returns the exit code, output in out. */
static int
paced(const char *args)
{
	char cmd[1024];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/paced %s 2>&1", harness_build_dir(), args);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TestSuite(cli, .init = NULL, .fini = harness_teardown);

Test(cli, version_help_and_usage)
{
	cr_assert_eq(harness_setup("cli"), 0);
	cr_assert_eq(paced("--version"), 0);
	cr_assert_eq(strncmp(out, "paced ", 6), 0, "%s", out);
	cr_assert_eq(paced("--help"), 0);
	cr_assert_not_null(strstr(out, "--check-config"), "%s", out);
	cr_assert_eq(paced("--no-such-flag"), 2);
	cr_assert_eq(paced(""), 2);
}

Test(cli, check_config_reports_every_error_with_position)
{
	char args[512];

	cr_assert_eq(harness_setup("cli"), 0);
	snprintf(args, sizeof(args), "--check-config %s/tests/fixtures/config/bad_duration.yaml",
	    harness_root_dir());
	cr_assert_eq(paced(args), 1, "%s", out);
	cr_assert_not_null(strstr(out, "bad_duration.yaml:2:18: redis.dedupe_window: invalid duration"),
	    "%s", out);
	cr_assert_not_null(strstr(out, "bad_duration.yaml:4:13: batch.max_wait"), "%s", out);
	snprintf(args, sizeof(args), "--check-config %s/config/paced.example.yaml",
	    harness_root_dir());
	setenv("PACED_BROKERS", "127.0.0.1:9092", 0);
	cr_assert_eq(paced(args), 0, "%s", out);
	cr_assert_not_null(strstr(out, ": ok ("), "%s", out);
	snprintf(args, sizeof(args), "--check-config %s/no/such/file.yaml",
	    harness_root_dir());
	cr_assert_eq(paced(args), 1, "%s", out);
	cr_assert_not_null(strstr(out, "file.yaml"), "%s", out);
}
