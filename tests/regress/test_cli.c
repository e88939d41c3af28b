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
#include <sys/stat.h>
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

/*
 * The systemd unit runs as a dynamic user, which cannot read root-only
 * files: the production config read its HTTP token from /etc/paced. Every
 * secret file the production config names must be a credential the unit
 * loads (LoadCredential=NAME:...), named as ${CREDENTIALS_DIRECTORY}/NAME,
 * and the config must load with the credentials in such a folder.
 */
Test(cli, production_config_reads_secrets_from_credentials)
{
	char path[4096], line[1024], args[4096], unit[65536];
	char *dir, *creds;
	int nsecrets = 0;
	FILE *f;
	size_t n;

	cr_assert_eq(harness_setup("cli"), 0);
	snprintf(path, sizeof(path), "%s/deploy/systemd/paced.service",
	    harness_root_dir());
	cr_assert_not_null(f = fopen(path, "r"));
	n = fread(unit, 1, sizeof(unit) - 1, f);
	unit[n] = '\0';
	fclose(f);
	cr_assert_not_null(strstr(unit, "\nDynamicUser=yes\n"));

	creds = harness_path("credentials");
	cr_assert_eq(mkdir(creds, 0700), 0);
	snprintf(path, sizeof(path), "%s/deploy/paced.production.yaml",
	    harness_root_dir());
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *k = strstr(line, "_file:"), *v, want[256], secret[512];
		size_t len;
		FILE *s;

		if (k == NULL || strstr(line, "roster_file") != NULL ||
		    (strchr(line, '#') != NULL && strchr(line, '#') < k))
			continue;
		v = strstr(k, "${CREDENTIALS_DIRECTORY}/");
		cr_assert_not_null(v, "a secret not from a credential: %s", line);
		v += strlen("${CREDENTIALS_DIRECTORY}/");
		len = strspn(v, "abcdefghijklmnopqrstuvwxyz_");
		cr_assert_gt(len, 0, "%s", line);
		snprintf(want, sizeof(want), "\nLoadCredential=%.*s:", (int)len, v);
		cr_assert_not_null(strstr(unit, want),
		    "the unit does not load the credential of: %s", line);
		snprintf(secret, sizeof(secret), "%s/%.*s", creds, (int)len, v);
		cr_assert_not_null(s = fopen(secret, "w"));
		fprintf(s, "secret-%d\n", nsecrets);
		fclose(s);
		nsecrets++;
	}
	fclose(f);
	cr_assert_geq(nsecrets, 3, "kafka, redis and http secrets expected");
	cr_assert_not_null(strstr(unit, "\nLoadCredential=http_token:"));

	/* The config as installed: its roster next to it. */
	dir = harness_path("etc");
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(args, sizeof(args), "cp %s/deploy/paced.production.yaml "
	    "%s/paced.yaml && cp %s/deploy/roster.example.csv %s/roster.csv",
	    harness_root_dir(), dir, harness_root_dir(), dir);
	cr_assert_eq(system(args), 0);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	setenv("KAFKA_BROKERS", "kafka-1.internal:9093", 1);
	snprintf(args, sizeof(args), "--check-config %s/paced.yaml", dir);
	cr_assert_eq(paced(args), 0, "%s", out);
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(paced(args), 1, "%s", out);
	cr_assert_not_null(strstr(out, "CREDENTIALS_DIRECTORY"), "%s", out);
	free(dir);
	free(creds);
}
