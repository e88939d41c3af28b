/*
 * The command line contract: --version, --help, --check-config with every
 * error as file:line:column and exit 1, exit 0 on a good file, exit 2 on
 * a usage error; `paced plan`'s worked example and its bad input.
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

		/* Files that are not secrets: the roster, CA bundles. */
		if (k == NULL || strstr(line, "roster_file") != NULL ||
		    strstr(line, "ca_file") != NULL ||
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

/*
 * `paced plan`, the worked example of README: $70M at $35k a deal, down a
 * five-step funnel to 40 SDRs and 20 AEs on the 2027 calendar of
 * tests/fixtures/config/plan.yaml (256 working days, 52 weeks). The
 * block is printed whole, figure for figure.
 */
#define PLAN_ARGS "plan --config %s/tests/fixtures/config/plan.yaml --year 2027 " \
    "--revenue 70000000 --deal-size 35000 --reps sdr=40,ae=20 "
#define PLAN_FUNNEL "--funnel calls:conversations=0.1," \
    "conversations:meetings_scheduled=0.25,meetings_scheduled:meetings_held=0.8," \
    "meetings_held:proposals=0.5,proposals:deals=0.25"

Test(cli, plan_worked_example)
{
	static const char want[] =
	    "# paced plan: revenue 70000000 at 35000 a deal = 2000 deals\n"
	    "# year 2027-01-01..2027-12-31, calendar default: 256 working days, "
	    "52 weeks, 12 months, 4 quarters\n"
	    "# funnel, a year (team total, role, per rep):\n"
	    "#   calls 800000 (sdr: 40 reps, 20000 each) -> conversations at 0.1 (typed)\n"
	    "#   conversations 80000 (sdr: 40 reps, 2000 each) -> meetings_scheduled at 0.25 (typed)\n"
	    "#   meetings_scheduled 20000 (sdr: 40 reps, 500 each) -> meetings_held at 0.8 (typed)\n"
	    "#   meetings_held 16000 (ae: 20 reps, 800 each) -> proposals at 0.5 (typed)\n"
	    "#   proposals 8000 (ae: 20 reps, 400 each) -> deals at 0.25 (typed)\n"
	    "#   deals 2000 (ae: 20 reps, 100 each)\n"
	    "#   revenue 70000000 (ae: 20 reps, 3500000 each)\n"
	    "# targets per rep, rounded up to 1 decimal\n"
	    "roles:\n"
	    "  sdr:\n"
	    "    targets:\n"
	    "      calls: {day: 78.2, week: 384.7, month: 1666.7, quarter: 5000}\n"
	    "      conversations: {day: 7.9, week: 38.5, month: 166.7, quarter: 500}\n"
	    "      meetings_scheduled: {day: 2, week: 9.7, month: 41.7, quarter: 125}\n"
	    "  ae:\n"
	    "    targets:\n"
	    "      meetings_held: {day: 3.2, week: 15.4, month: 66.7, quarter: 200}\n"
	    "      proposals: {day: 1.6, week: 7.7, month: 33.4, quarter: 100}\n"
	    "      deals: {day: 0.4, week: 2, month: 8.4, quarter: 25}\n"
	    "      revenue: {day: 13671.9, week: 67307.7, month: 291666.7, quarter: 875000}\n";
	char args[1024];
	cJSON *o;

	cr_assert_eq(harness_setup("cli"), 0);
	snprintf(args, sizeof(args), PLAN_ARGS PLAN_FUNNEL " --revenue-kpi revenue",
	    harness_root_dir());
	cr_assert_eq(paced(args), 0, "%s", out);
	cr_assert_str_eq(out, want);
	snprintf(args, sizeof(args), PLAN_ARGS PLAN_FUNNEL " --json",
	    harness_root_dir());
	cr_assert_eq(paced(args), 0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(o, "deals")->valuedouble, 2000);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o,
	    "funnel"), 4), "total")->valuedouble, 8000);
	cJSON_Delete(o);
}

/* Every kind of bad input: a clear message and exit 2, never a crash. */
Test(cli, plan_bad_input)
{
	static const struct {
		const char *args, *want;
	} bad[] = {
		{ "--revenue -70000000 --deal-size 35000 " PLAN_FUNNEL,
		    "--revenue: \"-70000000\" is not a number above 0" },
		{ "--revenue 7e7 --deal-size 35k " PLAN_FUNNEL,
		    "--deal-size: \"35k\" is not a number" },
		{ "--revenue 7e7 --deal-size 35000 --funnel calls:chats=0.1",
		    "unknown KPI \"chats\"" },
		{ "--revenue 7e7 --deal-size 35000 --funnel proposals:deals=1.5",
		    "rate \"1.5\" is not a number in (0, 1]" },
		{ "--revenue 7e7 --deal-size 35000 --funnel proposals:deals=0",
		    "is not a number in (0, 1]" },
		{ "--revenue 7e7 --deal-size 35000 --reps ae=0 "
		    "--funnel proposals:deals=0.25", "zero reps" },
		{ "--revenue 7e7 --deal-size 35000 --reps ae=x "
		    "--funnel proposals:deals=0.25", "not a whole number of reps" },
		{ "--revenue 7e7 --deal-size 35000 --year next "
		    "--funnel proposals:deals=0.25", "--year: \"next\"" },
		{ "--revenue 7e7 --deal-size 35000 --team west "
		    "--funnel proposals:deals=0.25", "unknown team \"west\"" },
		{ "--revenue 7e7 --deal-size 35000", "are required" },
	};
	char args[1024];
	size_t i;

	cr_assert_eq(harness_setup("cli"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(args, sizeof(args), "plan --config "
		    "%s/tests/fixtures/config/plan.yaml %s", harness_root_dir(),
		    bad[i].args);
		cr_assert_eq(paced(args), 2, "%s: %s", bad[i].args, out);
		cr_assert_not_null(strstr(out, bad[i].want), "%s: %s",
		    bad[i].args, out);
	}
	/* A config that does not load is exit 1, as for backtest. */
	cr_assert_eq(paced("plan --config /no/such.yaml --revenue 1 "
	    "--deal-size 1 --funnel proposals:deals=0.5"), 1, "%s", out);
	cr_assert_eq(paced("plan --help"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "--from-history"), "%s", out);
}
