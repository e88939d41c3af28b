/*
 * Integration test harness, the core: the run folder, setup and teardown
 * (which empty and free the state of the other harness files, see
 * harness_impl.h), the log, file helpers and free ports.
 *
 * Children are tracked by pid (harness_proc.c) and killed with SIGKILL at
 * teardown, which runs from Criterion's .fini, from atexit, and, should
 * the test process die outright, through PR_SET_PDEATHSIG in every child.
 */

#include "harness.h"
#include "harness_impl.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "xmalloc.h"

#define MAX_PORTS	64

static struct {
	bool		 set;
	char		 name[128];
	char		 root[1024];
	char		 build[1024];
	char		 run[2048];
	struct timespec	 t0;
	FILE		*logf;		/* <run>/harness.log */

	int		 ports[MAX_PORTS];
	size_t		 nports;
} H;

void
harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int64_t
harness_elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - H.t0.tv_sec) * 1000 +
	    (now.tv_nsec - H.t0.tv_nsec) / 1000000;
}

void
harness_log(const char *fmt, ...)
{
	va_list ap;
	int64_t ms = harness_elapsed_ms();
	char line[2048];

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%s %3lld.%03llds] %s\n", H.name,
	    (long long)(ms / 1000), (long long)(ms % 1000), line);
	fflush(stderr);
	/* Criterion's --quiet sends the test's stderr to /dev/null. */
	if (H.logf != NULL) {
		fprintf(H.logf, "[%s %3lld.%03llds] %s\n", H.name,
		    (long long)(ms / 1000), (long long)(ms % 1000), line);
		fflush(H.logf);
	}
}

bool
harness_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int
harness_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Cuts the last path component off in place. */
static void
path_up(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == path)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
}

char *
harness_read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			buf = xrealloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

int
harness_write_file(const char *path, const char *data)
{
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fputs(data, f) == EOF)
		rc = -1;
	if (fclose(f) == EOF)
		rc = -1;
	return rc;
}

int
harness_events(void)
{
	const char *s = getenv("PACED_TEST_EVENTS");
	long n;
	char *end;

	if (s == NULL || *s == '\0')
		return 20000;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < 1000 || n > 10000000)
		return 20000;
	return (int)n;
}

int
harness_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len;
	int fd, port, tries;
	size_t i;

	for (tries = 0; tries < 50; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof sin;
		if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
		    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
			close(fd);
			return -1;
		}
		close(fd);
		port = ntohs(sin.sin_port);
		/* The kernel may hand the same port out twice in a row. */
		for (i = 0; i < H.nports; i++)
			if (H.ports[i] == port)
				break;
		if (i < H.nports)
			continue;
		if (H.nports < MAX_PORTS)
			H.ports[H.nports++] = port;
		return port;
	}
	return -1;
}

static void
atexit_teardown(void)
{
	harness_teardown();
}

/* Removes run folders of earlier runs of this test whose process is gone. */
static void
clean_old_runs(const char *base)
{
	DIR *d;
	struct dirent *de;
	size_t nlen = strlen(H.name);
	char *end, *path;
	long pid;

	if ((d = opendir(base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, H.name, nlen) != 0 ||
		    de->d_name[nlen] != '-')
			continue;
		pid = strtol(de->d_name + nlen + 1, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", base, de->d_name);
		{
			char *argv[] = { "rm", "-rf", path, NULL };

			harness_run(argv, "/dev/null", 60000);
		}
		free(path);
	}
	closedir(d);
}

int
harness_setup(const char *name)
{
	char exe[1024], probe[1024 + 64], base[1024 + 16];
	ssize_t n;
	static bool registered;

	memset(&H, 0, sizeof H);
	harness_proc_reset();
	harness_redis_reset();
	harness_cluster_reset();
	harness_broker_reset();
	harness_gen_reset();
	harness_paced_reset();
	harness_kafka_reset();
	harness_hook_reset();
	H.set = true;
	clock_gettime(CLOCK_MONOTONIC, &H.t0);
	snprintf(H.name, sizeof H.name, "%s", name);
	signal(SIGPIPE, SIG_IGN);
	if (!registered) {
		atexit(atexit_teardown);
		registered = true;
	}

	/* <build>/tests/<kind>/test_x */
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) == -1) {
		harness_log("readlink /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	snprintf(H.build, sizeof H.build, "%s", exe);
	path_up(H.build);
	path_up(H.build);
	path_up(H.build);

	/* The source tree: the first parent holding the generator. */
	snprintf(H.root, sizeof H.root, "%s", H.build);
	for (;;) {
		snprintf(probe, sizeof probe, "%s/tests/tools/gen_stream.py",
		    H.root);
		if (harness_file_exists(probe))
			break;
		if (strcmp(H.root, "/") == 0) {
			if (getcwd(H.root, sizeof H.root) == NULL)
				return -1;
			break;
		}
		path_up(H.root);
	}

	snprintf(base, sizeof base, "%s/build/tmp", H.root);
	if (harness_mkdirs(base) == -1) {
		harness_log("mkdir %s: %s", base, strerror(errno));
		return -1;
	}
	clean_old_runs(base);
	if (snprintf(H.run, sizeof H.run, "%s/%s-%ld", base, name,
	    (long)getpid()) >= (int)sizeof H.run ||
	    harness_mkdirs(H.run) == -1) {
		harness_log("mkdir %s: %s", H.run, strerror(errno));
		return -1;
	}
	{
		char *logpath = harness_path("harness.log");

		H.logf = fopen(logpath, "a");
		free(logpath);
	}
	harness_log("run folder %s, binaries in %s", H.run, H.build);
	return 0;
}

int
harness_start_stack(const char *name, unsigned seed)
{
	const char *s = getenv("PACED_TEST_SEED");

	if (s != NULL && *s != '\0')
		seed = (unsigned)strtoul(s, NULL, 10);
	if (harness_setup(name) == -1 || harness_redis_start() == -1 ||
	    harness_broker_start() == -1 ||
	    harness_gen(seed, harness_events()) == -1)
		return -1;
	return 0;
}

/*
 * Prints the lines of the logs in the run folder where a sanitizer spoke (the
 * daemons and tools write their stderr there), printed; returns their
 * number. Under -fno-sanitize-recover a report also kills the process,
 * but one in a process the test no longer watches would pass unseen.
 */
static int
sanitizer_reports(void)
{
	static const char *const marks[] = { "ERROR: AddressSanitizer",
	    "ERROR: LeakSanitizer", "runtime error:",
	    "UndefinedBehaviorSanitizer" };
	char line[4096], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(H.run);
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		FILE *f;

		if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", H.run, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]);
			    m++) {
				if (strstr(line, marks[m]) == NULL)
					continue;
				fprintf(stderr, "sanitizer: %s: %s", path, line);
				n++;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

void
harness_teardown(void)
{
	int reports;

	if (!H.set)
		return;
	H.set = false;
	/* Clients go before the servers they talk to. */
	harness_kafka_reset();
	harness_hook_reset();
	harness_redis_reset();
	harness_cluster_reset();
	harness_kill_all();
	reports = sanitizer_reports();
	harness_broker_reset();
	harness_paced_reset();
	harness_gen_reset();
	if (H.logf != NULL) {
		fclose(H.logf);
		H.logf = NULL;
	}
	fflush(stderr);
	/* An assertion here would not fail the test (Criterion ignores it in
	 * a fini); a crash does, and names the test. */
	if (reports > 0)
		abort();
}

const char *
harness_run_dir(void)
{
	return H.run;
}

const char *
harness_build_dir(void)
{
	return H.build;
}

const char *
harness_root_dir(void)
{
	return H.root;
}

char *
harness_path(const char *fmt, ...)
{
	va_list ap;
	char rel[PATH_MAX];

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	return xasprintf("%s/%s", H.run, rel);
}

static void
loop_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool
harness_loop_until(struct event_base *base, bool (*pred)(void *), void *arg,
    int timeout_ms)
{
	struct event *ev = event_new(base, -1, EV_PERSIST, loop_tick, NULL);
	struct timeval tv = { 0, 10 * 1000 };
	int64_t deadline = harness_elapsed_ms() + timeout_ms;
	bool ok = false;

	event_add(ev, &tv);
	while (!(pred != NULL && (ok = pred(arg))) &&
	    harness_elapsed_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return ok;
}
