/*
 * Integration test harness: the stream generators (Python, in tests/tools),
 * which write the stream, org.yaml and expected.json into <run>/gen, and
 * the loaded expected.json the checks compare against.
 */

#include "harness.h"
#include "harness_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

static struct {
	char		 gen_dir[PATH_MAX];
	cJSON		*expected;
	char		 prefix[128];
} H;

void
harness_gen_reset(void)
{
	cJSON_Delete(H.expected);
	memset(&H, 0, sizeof H);
	snprintf(H.prefix, sizeof H.prefix, "paced");
}

const char *
harness_gen_dir(void)
{
	return H.gen_dir;
}

const char *
harness_prefix(void)
{
	return H.prefix;
}

int
harness_gen(unsigned seed, int events)
{
	char s_seed[32], s_events[32], now[32], *script, *log, *path, *json;
	const cJSON *pfx;
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(s_seed, sizeof s_seed, "%u", seed);
	snprintf(s_events, sizeof s_events, "%d", events);
	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", harness_run_dir());
	script = xasprintf("%s/tests/tools/gen_stream.py", harness_root_dir());
	log = harness_path("gen.log");
	{
		char *argv[] = { "python3", script, "--seed", s_seed,
		    "--events", s_events, "--now", now, "--out", H.gen_dir,
		    NULL };

		rc = harness_run(argv, log, 300000);
	}
	free(script);
	free(log);
	if (rc != 0) {
		harness_log("gen_stream.py failed (%d); see gen.log", rc);
		return -1;
	}
	path = xasprintf("%s/expected.json", H.gen_dir);
	json = harness_read_file(path, NULL);
	free(path);
	if (json == NULL)
		return -1;
	cJSON_Delete(H.expected);
	H.expected = cJSON_Parse(json);
	free(json);
	if (H.expected == NULL) {
		harness_log("expected.json does not parse");
		return -1;
	}
	pfx = cJSON_GetObjectItemCaseSensitive(H.expected, "prefix");
	if (cJSON_IsString(pfx))
		snprintf(H.prefix, sizeof H.prefix, "%s", pfx->valuestring);
	harness_log("stream: seed %u, %lld messages, now %s", seed,
	    (long long)harness_stream_messages(), now);
	return 0;
}

int
harness_gen_write(const char *name, const char *data)
{
	char *path;
	int rc;

	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", harness_run_dir());
	if (harness_mkdirs(H.gen_dir) == -1) {
		harness_log("mkdir %s: %s", H.gen_dir, strerror(errno));
		return -1;
	}
	path = xasprintf("%s/%s", H.gen_dir, name);
	if ((rc = harness_write_file(path, data)) == -1)
		harness_log("cannot write %s", path);
	free(path);
	return rc;
}

int
harness_gen_script(const char *script, char *const args[])
{
	char *argv[64], *path, *log, *json;
	const cJSON *pfx;
	size_t n = 0, i;
	int rc;

	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", harness_run_dir());
	path = xasprintf("%s/tests/tools/%s", harness_root_dir(), script);
	argv[n++] = "python3";
	argv[n++] = path;
	for (i = 0; args != NULL && args[i] != NULL && n < 60; i++)
		argv[n++] = args[i];
	argv[n++] = "--out";
	argv[n++] = H.gen_dir;
	argv[n] = NULL;
	log = harness_path("gen.log");
	rc = harness_run(argv, log, 300000);
	free(path);
	free(log);
	if (rc != 0) {
		harness_log("%s failed (%d); see gen.log", script, rc);
		return -1;
	}
	path = xasprintf("%s/expected.json", H.gen_dir);
	json = harness_read_file(path, NULL);
	free(path);
	if (json == NULL)
		return -1;
	cJSON_Delete(H.expected);
	H.expected = cJSON_Parse(json);
	free(json);
	if (H.expected == NULL) {
		harness_log("expected.json does not parse");
		return -1;
	}
	pfx = cJSON_GetObjectItemCaseSensitive(H.expected, "prefix");
	if (cJSON_IsString(pfx))
		snprintf(H.prefix, sizeof H.prefix, "%s", pfx->valuestring);
	harness_log("%s: %lld messages", script,
	    (long long)harness_stream_messages());
	return 0;
}

const cJSON *
harness_expected(void)
{
	return H.expected;
}

int64_t
harness_stream_messages(void)
{
	const cJSON *n;

	n = cJSON_GetObjectItemCaseSensitive(H.expected, "activity_messages");
	return cJSON_IsNumber(n) ? (int64_t)n->valuedouble : -1;
}
