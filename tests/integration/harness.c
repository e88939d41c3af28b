/*
 * Integration test harness: run folders, child processes (redis-server,
 * the dev broker, paced, the producer, the stream generator), HTTP and
 * Redis clients for assertions, reading topics back from the broker, and
 * the comparisons against the generator's expected.json.
 *
 * Children are tracked by pid and killed with SIGKILL at teardown, which
 * runs from Criterion's .fini, from atexit, and, should the test process
 * die outright, through PR_SET_PDEATHSIG in every child.
 */

#include "harness.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "xmalloc.h"

#define MAX_CHILDREN	64
#define MAX_PORTS	64

struct child {
	pid_t	 pid;
	bool	 done;
	int	 status;
};

static struct {
	bool		 set;
	char		 name[128];
	char		 root[1024];
	char		 build[1024];
	char		 run[2048];
	struct timespec	 t0;

	struct child	 kids[MAX_CHILDREN];
	size_t		 nkids;
	int		 ports[MAX_PORTS];
	size_t		 nports;

	int		 redis_port;
	const char	*redis_host;	/* in paced's redis.url; NULL: address */
	pid_t		 redis_pid;
	redisContext	*rc;

	pid_t		 broker_pid;
	rd_kafka_t	*mock_rk;	/* hosts the in-process broker */
	rd_kafka_mock_cluster_t *mock;
	char		*kafka_props;	/* extra kafka.properties lines */
	char		 brokers[512];
	char		 brokers_file[PATH_MAX];
	rd_kafka_t	*rk_meta;

	char		 gen_dir[PATH_MAX];
	FILE		*logf;		/* <run>/harness.log */
	cJSON		*expected;
	char		 prefix[128];
} H;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
harness_redis_host(const char *host)
{
	H.redis_host = host;
}

double
harness_paced_metric(const struct harness_paced *p, const char *series)
{
	char *body = NULL;
	double v = -1;
	int status;

	if (harness_http_get(p->http_port, "/metrics", &status, &body) == 0 &&
	    status == 200 && harness_metric(body, series, &v) == -1)
		v = -1;
	free(body);
	return v;
}

const char *
harness_week_start_3d_ago(void)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	return names[(tm.tm_wday + 7 - 3) % 7];
}

pid_t
harness_redis_pid(void)
{
	return H.redis_pid > 0 ? H.redis_pid : -1;
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

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int
mkdirs(const char *path)
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

/* Reads a whole file; returns owned bytes (NUL-terminated) or NULL. */
static char *
read_file(const char *path, size_t *lenp)
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

static int
write_file(const char *path, const char *data)
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

static struct child *
child_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < H.nkids; i++)
		if (H.kids[i].pid == pid)
			return &H.kids[i];
	return NULL;
}

/* Reaps pid without blocking; true if it has ended (now or before). */
static bool
child_reap(struct child *c)
{
	int st;
	pid_t r;

	if (c->done)
		return true;
	r = waitpid(c->pid, &st, WNOHANG);
	if (r == c->pid || (r == -1 && errno == ECHILD)) {
		c->done = true;
		c->status = r == c->pid ? st : -1;
		return true;
	}
	return false;
}

pid_t
harness_spawn(char *const argv[], const char *logpath)
{
	pid_t parent = getpid(), pid;
	int fd;
	sigset_t none;

	if (H.nkids == MAX_CHILDREN) {
		harness_log("too many children");
		return -1;
	}
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1) {
		harness_log("open %s: %s", logpath, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		harness_log("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int nul;

		/* Die with the test process, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if ((nul = open("/dev/null", O_RDONLY)) != -1)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	H.kids[H.nkids].pid = pid;
	H.kids[H.nkids].done = false;
	H.kids[H.nkids].status = -1;
	H.nkids++;
	return pid;
}

int
harness_kill(pid_t pid, int sig)
{
	struct child *c = child_find(pid);

	if (c == NULL || child_reap(c))
		return -1;
	return kill(pid, sig);
}

int
harness_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	struct child *c = child_find(pid);
	int64_t deadline = harness_elapsed_ms() + timeout_ms;

	if (c == NULL)
		return -1;
	for (;;) {
		if (child_reap(c)) {
			if (status != NULL)
				*status = c->status;
			return 0;
		}
		if (harness_elapsed_ms() >= deadline)
			return -1;
		sleep_ms(20);
	}
}

bool
harness_alive(pid_t pid)
{
	struct child *c = child_find(pid);

	return c != NULL && !child_reap(c);
}

int
harness_exit_status(pid_t pid)
{
	struct child *c = child_find(pid);

	if (c == NULL || !child_reap(c))
		return -1;
	return c->status;
}

static void
kill_and_reap(pid_t pid)
{
	struct child *c = child_find(pid);
	int st;

	if (c == NULL || child_reap(c))
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	c->done = true;
	c->status = st;
}

int
harness_run(char *const argv[], const char *logpath, int timeout_ms)
{
	pid_t pid;
	int st;

	if ((pid = harness_spawn(argv, logpath)) == -1)
		return -1;
	if (harness_wait_exit(pid, timeout_ms, &st) == -1) {
		harness_log("%s: still running after %d ms, killed", argv[0],
		    timeout_ms);
		kill_and_reap(pid);
		return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	harness_log("%s: killed by signal %d", argv[0],
	    WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	return -1;
}

int
harness_wait_until(bool (*pred)(void *), void *arg, int timeout_ms,
    const char *what)
{
	int64_t deadline = harness_elapsed_ms() + timeout_ms;

	for (;;) {
		if (pred(arg))
			return 0;
		if (harness_elapsed_ms() >= deadline) {
			harness_log("timed out after %d ms waiting for %s",
			    timeout_ms, what);
			return -1;
		}
		sleep_ms(100);
	}
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
	H.set = true;
	clock_gettime(CLOCK_MONOTONIC, &H.t0);
	snprintf(H.name, sizeof H.name, "%s", name);
	snprintf(H.prefix, sizeof H.prefix, "paced");
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
		if (file_exists(probe))
			break;
		if (strcmp(H.root, "/") == 0) {
			if (getcwd(H.root, sizeof H.root) == NULL)
				return -1;
			break;
		}
		path_up(H.root);
	}

	snprintf(base, sizeof base, "%s/build/tmp", H.root);
	if (mkdirs(base) == -1) {
		harness_log("mkdir %s: %s", base, strerror(errno));
		return -1;
	}
	clean_old_runs(base);
	if (snprintf(H.run, sizeof H.run, "%s/%s-%ld", base, name,
	    (long)getpid()) >= (int)sizeof H.run || mkdirs(H.run) == -1) {
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
	size_t i;
	int reports;

	if (!H.set)
		return;
	H.set = false;
	if (H.rk_meta != NULL) {
		rd_kafka_destroy(H.rk_meta);
		H.rk_meta = NULL;
	}
	if (H.rc != NULL) {
		redisFree(H.rc);
		H.rc = NULL;
	}
	/* Newest first: clients go before the servers they talk to. */
	for (i = H.nkids; i > 0; i--)
		kill_and_reap(H.kids[i - 1].pid);
	reports = sanitizer_reports();
	if (H.mock != NULL) {
		rd_kafka_mock_cluster_destroy(H.mock);
		H.mock = NULL;
	}
	if (H.mock_rk != NULL) {
		rd_kafka_destroy(H.mock_rk);
		H.mock_rk = NULL;
	}
	free(H.kafka_props);
	H.kafka_props = NULL;
	cJSON_Delete(H.expected);
	H.expected = NULL;
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

/* ---- Redis ---- */

static redisContext *
redis_connect(int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct timeval ctv = { 5, 0 };
	redisContext *c;

	c = redisConnectWithTimeout("127.0.0.1", H.redis_port, tv);
	if (c == NULL)
		return NULL;
	if (c->err) {
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, ctv);
	return c;
}

static bool
redis_pong(void *arg)
{
	redisContext *c;
	redisReply *r;
	bool ok;

	(void)arg;
	if (!harness_alive(H.redis_pid))
		return true;	/* the caller notices */
	if ((c = redis_connect(200)) == NULL)
		return false;
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return ok;
}

int
harness_redis_start(void)
{
	char port[16], *dir, *log;
	int rc;

	if (H.redis_port == 0 && (H.redis_port = harness_free_port()) == -1)
		return -1;
	snprintf(port, sizeof port, "%d", H.redis_port);
	dir = harness_path("redis");
	log = harness_path("redis.log");
	mkdirs(dir);
	{
		char *argv[] = { "redis-server", "--port", port,
		    "--bind", "127.0.0.1", "--dir", dir,
		    "--appendonly", "yes", "--appendfsync", "everysec",
		    "--save", "", "--daemonize", "no", "--logfile", "",
		    NULL };

		H.redis_pid = harness_spawn(argv, log);
	}
	free(dir);
	free(log);
	if (H.redis_pid == -1)
		return -1;
	rc = harness_wait_until(redis_pong, NULL, HARNESS_WAIT_MS,
	    "redis-server to answer PING");
	if (rc == 0 && !harness_alive(H.redis_pid)) {
		harness_log("redis-server exited; see redis.log");
		return -1;
	}
	if (rc == 0)
		harness_log("redis-server pid %ld on port %d",
		    (long)H.redis_pid, H.redis_port);
	return rc;
}

void
harness_redis_stop(int sig)
{
	int st;

	if (H.redis_pid <= 0)
		return;
	if (H.rc != NULL) {
		redisFree(H.rc);
		H.rc = NULL;
	}
	if (sig == SIGKILL) {
		kill_and_reap(H.redis_pid);
	} else {
		harness_kill(H.redis_pid, sig);
		if (harness_wait_exit(H.redis_pid, HARNESS_WAIT_MS, &st) == -1)
			kill_and_reap(H.redis_pid);
	}
	harness_log("redis-server pid %ld stopped (signal %d)",
	    (long)H.redis_pid, sig);
	H.redis_pid = 0;
}

int
harness_redis_port(void)
{
	return H.redis_port;
}

int64_t
harness_redis_truncate_aof(int64_t max_cut)
{
	char *dir, *path = NULL;
	DIR *d;
	struct dirent *de;
	struct stat st;
	long seq, best = -1;
	int64_t cut;
	char *end;
	size_t len;

	if (H.redis_pid > 0 && harness_alive(H.redis_pid))
		return -1;
	dir = harness_path("redis/appendonlydir");
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return -1;
	}
	/* appendonly.aof.<seq>.incr.aof: the highest seq is written last. */
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "appendonly.aof.", 15) != 0 ||
		    len < 10 || strcmp(de->d_name + len - 9, ".incr.aof") != 0)
			continue;
		seq = strtol(de->d_name + 15, &end, 10);
		if (end != de->d_name + len - 9 || seq <= best)
			continue;
		best = seq;
		free(path);
		path = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	free(dir);
	if (path == NULL || stat(path, &st) == -1) {
		free(path);
		return -1;
	}
	cut = st.st_size / 4;
	if (cut > max_cut)
		cut = max_cut;
	if (truncate(path, st.st_size - cut) == -1) {
		harness_log("truncate %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	harness_log("cut %lld of %lld bytes off %s", (long long)cut,
	    (long long)st.st_size, path);
	free(path);
	return cut;
}

redisContext *
harness_redis(void)
{
	if (H.rc != NULL && H.rc->err) {
		redisFree(H.rc);
		H.rc = NULL;
	}
	if (H.rc == NULL)
		H.rc = redis_connect(1000);
	return H.rc;
}

redisReply *
harness_redis_cmd(const char *fmt, ...)
{
	redisContext *c = harness_redis();
	redisReply *r;
	va_list ap;

	if (c == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		redisFree(H.rc);
		H.rc = NULL;
	}
	return r;
}

/* ---- the dev broker ---- */

static bool
addr_file_ready(void *arg)
{
	(void)arg;
	if (!harness_alive(H.broker_pid))
		return true;
	return file_exists(H.brokers_file);
}

int
harness_broker_start(void)
{
	char *bin, *log, *addr;
	char parts[16];
	size_t len;

	snprintf(H.brokers_file, sizeof H.brokers_file, "%s/brokers.addr",
	    H.run);
	snprintf(parts, sizeof parts, "%d", HARNESS_PARTITIONS);
	bin = xasprintf("%s/paced-devbroker", H.build);
	log = harness_path("broker.log");
	{
		char *argv[] = { bin, "--partitions", parts,
		    "--topic", HARNESS_TOPIC, "--topic", HARNESS_TOPIC_DLQ,
		    "--topic", HARNESS_TOPIC_ALERTS,
		    "--addr-file", H.brokers_file, NULL };

		H.broker_pid = harness_spawn(argv, log);
	}
	free(bin);
	free(log);
	if (H.broker_pid == -1)
		return -1;
	if (harness_wait_until(addr_file_ready, NULL, HARNESS_WAIT_MS,
	    "the broker's address file") == -1)
		return -1;
	if (!harness_alive(H.broker_pid)) {
		harness_log("paced-devbroker exited; see broker.log");
		return -1;
	}
	if ((addr = read_file(H.brokers_file, &len)) == NULL)
		return -1;
	while (len > 0 && isspace((unsigned char)addr[len - 1]))
		addr[--len] = '\0';
	snprintf(H.brokers, sizeof H.brokers, "%s", addr);
	free(addr);
	harness_log("broker pid %ld at %s", (long)H.broker_pid, H.brokers);
	return H.brokers[0] != '\0' ? 0 : -1;
}

int
harness_broker_start_local(void)
{
	static const char *const topics[] = { HARNESS_TOPIC,
	    HARNESS_TOPIC_DLQ, HARNESS_TOPIC_ALERTS };
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	size_t i;

	snprintf(H.brokers_file, sizeof H.brokers_file, "%s/brokers.addr",
	    H.run);
	/* The hosting handle has no bootstrap.servers on purpose. */
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
	if ((H.mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
	    sizeof err)) == NULL) {
		harness_log("mock broker: %s", err);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	if ((H.mock = rd_kafka_mock_cluster_new(H.mock_rk, 1)) == NULL) {
		harness_log("mock broker: cannot create the cluster");
		return -1;
	}
	for (i = 0; i < sizeof topics / sizeof topics[0]; i++)
		if (rd_kafka_mock_topic_create(H.mock, topics[i],
		    HARNESS_PARTITIONS, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("mock broker: cannot create %s", topics[i]);
			return -1;
		}
	snprintf(H.brokers, sizeof H.brokers, "%s",
	    rd_kafka_mock_cluster_bootstraps(H.mock));
	if (write_file(H.brokers_file, H.brokers) == -1)
		return -1;
	harness_log("in-process broker at %s", H.brokers);
	return 0;
}

rd_kafka_mock_cluster_t *
harness_mock(void)
{
	return H.mock;
}

const char *
harness_brokers(void)
{
	return H.brokers;
}

const char *
harness_brokers_file(void)
{
	return H.brokers_file;
}

/* ---- the generator ---- */

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
	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", H.run);
	script = xasprintf("%s/tests/tools/gen_stream.py", H.root);
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
	json = read_file(path, NULL);
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

	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", H.run);
	if (mkdirs(H.gen_dir) == -1) {
		harness_log("mkdir %s: %s", H.gen_dir, strerror(errno));
		return -1;
	}
	path = xasprintf("%s/%s", H.gen_dir, name);
	if ((rc = write_file(path, data)) == -1)
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

	snprintf(H.gen_dir, sizeof H.gen_dir, "%s/gen", H.run);
	path = xasprintf("%s/tests/tools/%s", H.root, script);
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
	json = read_file(path, NULL);
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

/* ---- paced ---- */

static int paced_config_write(struct harness_paced *p, const char *extra);

int
harness_paced_config(struct harness_paced *p, int index, const char *extra)
{
	memset(p, 0, sizeof *p);
	p->index = index;
	if ((p->http_port = harness_free_port()) == -1)
		return -1;
	return paced_config_write(p, extra);
}

void
harness_kafka_property(const char *key, const char *value)
{
	char *line = xasprintf("%s    %s: \"%s\"\n",
	    H.kafka_props != NULL ? H.kafka_props : "", key, value);

	free(H.kafka_props);
	H.kafka_props = line;
}

int
harness_paced_rewrite(struct harness_paced *p, const char *extra)
{
	return paced_config_write(p, extra);
}

/* Writes the config of p (index and port set) and its paths. */
static int
paced_config_write(struct harness_paced *p, const char *extra)
{
	char *org, *orgpath, *text, *path, *log;
	int index = p->index;

	orgpath = xasprintf("%s/org.yaml", H.gen_dir);
	org = read_file(orgpath, NULL);
	free(orgpath);
	if (org == NULL) {
		harness_log("no org.yaml: run harness_gen first");
		return -1;
	}
	text = xasprintf(
	    "# paced integration test, instance %d\n"
	    "kafka:\n"
	    "  brokers: \"%s\"\n"
	    "  group_id: " HARNESS_GROUP "\n"
	    "  topics: {activity: %s, dlq: %s, alerts: %s}\n"
	    "  properties:\n"
	    "    session.timeout.ms: \"6000\"\n"
	    "    heartbeat.interval.ms: \"1000\"\n"
	    "    auto.offset.reset: earliest\n"
	    "%s"
	    "redis:\n"
	    "  url: \"redis://%s:%d/0\"\n"
	    "  key_prefix: %s\n"
	    "  dedupe_window: 35d\n"
	    "  command_timeout: 2s\n"
	    "http: {listen: \"127.0.0.1:%d\"}\n"
	    "log: {level: info, format: logfmt}\n"
	    "batch: {max_messages: 500, max_wait: 20ms}\n"
	    "%s%s"
	    "%s",
	    index, H.brokers, HARNESS_TOPIC, HARNESS_TOPIC_DLQ,
	    HARNESS_TOPIC_ALERTS, H.kafka_props != NULL ? H.kafka_props : "",
	    H.redis_host != NULL ? H.redis_host : "127.0.0.1", H.redis_port,
	    H.prefix, p->http_port,
	    extra != NULL ? extra : "",
	    extra != NULL && *extra != '\0' &&
	    extra[strlen(extra) - 1] != '\n' ? "\n" : "", org);
	free(org);
	path = harness_path("paced-%d.yaml", index);
	log = harness_path("paced-%d.log", index);
	snprintf(p->config, sizeof p->config, "%s", path);
	snprintf(p->log, sizeof p->log, "%s", log);
	free(path);
	free(log);
	if (write_file(p->config, text) == -1) {
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

int
harness_paced_start(struct harness_paced *p)
{
	char *bin = xasprintf("%s/paced", H.build);
	char *argv[] = { bin, "--config", p->config, NULL };
	FILE *f;

	if ((f = fopen(p->log, "a")) != NULL) {
		fprintf(f, "==== harness: start at %.3fs\n",
		    harness_elapsed_ms() / 1000.0);
		fclose(f);
	}
	p->pid = harness_spawn(argv, p->log);
	free(bin);
	if (p->pid == -1) {
		p->pid = 0;
		return -1;
	}
	harness_log("paced #%d pid %ld, http %d", p->index, (long)p->pid,
	    p->http_port);
	return 0;
}

static bool
paced_ready(void *arg)
{
	struct harness_paced *p = arg;
	int status;

	if (!harness_alive(p->pid))
		return true;
	return harness_http_get(p->http_port, "/readyz", &status, NULL) == 0 &&
	    status == 200;
}

int
harness_paced_wait_ready(struct harness_paced *p, int timeout_ms)
{
	int64_t t = harness_elapsed_ms();

	if (harness_wait_until(paced_ready, p, timeout_ms, "/readyz") == -1)
		return -1;
	if (!harness_alive(p->pid)) {
		harness_log("paced #%d exited (status %d); see %s", p->index,
		    harness_exit_status(p->pid), p->log);
		return -1;
	}
	harness_log("paced #%d ready after %lld ms", p->index,
	    (long long)(harness_elapsed_ms() - t));
	return 0;
}

bool
harness_paced_logged(const struct harness_paced *p, const char *needle)
{
	static const char mark[] = "==== harness: start at ";
	char *text, *run, *s;
	bool found;

	if ((text = read_file(p->log, NULL)) == NULL)
		return false;
	for (run = text; (s = strstr(run + 1, mark)) != NULL; run = s)
		;
	found = strstr(run, needle) != NULL;
	free(text);
	return found;
}

struct log_wait {
	const struct harness_paced *p;
	const char *needle;
};

static bool
log_has(void *arg)
{
	struct log_wait *w = arg;

	return harness_paced_logged(w->p, w->needle);
}

int
harness_paced_wait_log(const struct harness_paced *p, const char *needle,
    int timeout_ms)
{
	struct log_wait w = { p, needle };
	char what[256];

	snprintf(what, sizeof what, "paced #%d to log %s", p->index, needle);
	return harness_wait_until(log_has, &w, timeout_ms, what);
}

int
harness_paced_kill(struct harness_paced *p, int sig)
{
	if (p->pid <= 0)
		return -1;
	if (sig == SIGKILL) {
		kill_and_reap(p->pid);
		harness_log("paced #%d pid %ld killed", p->index, (long)p->pid);
		p->pid = 0;
		return 0;
	}
	return harness_kill(p->pid, sig);
}

/* ---- HTTP ---- */

int
harness_http_get(int port, const char *path, int *status, char **body)
{
	struct sockaddr_in sin;
	struct timeval tv = { 10, 0 };
	char *req, *buf = NULL, *p;
	size_t len = 0, cap = 0, reqlen, off = 0;
	ssize_t n;
	int fd, maj, min, code;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	req = xasprintf("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n\r\n", path, port);
	reqlen = strlen(req);
	while (off < reqlen) {
		if ((n = write(fd, req + off, reqlen - off)) <= 0) {
			free(req);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	free(req);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%d.%d %d", &maj, &min, &code) != 3 ||
	    (p = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return -1;
	}
	*status = code;
	if (body != NULL)
		*body = xstrdup(p + 4);
	free(buf);
	return 0;
}

int
harness_metric(const char *body, const char *series, double *v)
{
	size_t slen = strlen(series);
	bool any_labels = strchr(series, '{') == NULL;
	const char *line = body, *p;
	char *end;
	double x, sum = 0;
	int found = 0;

	for (; line != NULL && *line != '\0'; line = strchr(line, '\n'),
	    line = line != NULL ? line + 1 : NULL) {
		if (*line == '#' || strncmp(line, series, slen) != 0)
			continue;
		p = line + slen;
		if (any_labels && *p == '{') {
			if ((p = strchr(p, '}')) == NULL)
				continue;
			p++;
		}
		if (*p != ' ')
			continue;
		x = strtod(p + 1, &end);
		if (end == p + 1)
			continue;
		if (!any_labels) {
			*v = x;
			return 0;
		}
		sum += x;
		found++;
	}
	if (found == 0)
		return -1;
	*v = sum;
	return 0;
}

/* ---- producing ---- */

pid_t
harness_produce_start(int rate)
{
	char *bin = xasprintf("%s/paced-produce", H.build);
	char *file = xasprintf("%s/stream.tsv", H.gen_dir);
	char *log = harness_path("produce.log");
	char srate[32];
	pid_t pid;

	snprintf(srate, sizeof srate, "%d", rate);
	{
		char *argv[] = { bin, "--brokers-file", H.brokers_file,
		    "--topic", HARNESS_TOPIC, "--keyed", "--file", file,
		    rate > 0 ? "--rate" : NULL, srate, NULL };

		pid = harness_spawn(argv, log);
	}
	free(bin);
	free(file);
	free(log);
	if (pid != -1)
		harness_log("producing %lld messages (rate %d/s), pid %ld",
		    (long long)harness_stream_messages(), rate, (long)pid);
	return pid;
}

int
harness_produce_file(const char *name, int rate)
{
	char *bin = xasprintf("%s/paced-produce", H.build);
	char *file = xasprintf("%s/%s", H.gen_dir, name);
	char *log = harness_path("produce.log");
	char srate[32];
	int rc;

	snprintf(srate, sizeof srate, "%d", rate);
	{
		char *argv[] = { bin, "--brokers-file", H.brokers_file,
		    "--topic", HARNESS_TOPIC, "--keyed", "--file", file,
		    rate > 0 ? "--rate" : NULL, srate, NULL };

		rc = harness_run(argv, log, 300000);
	}
	harness_log("paced-produce %s exited %d", name, rc);
	free(bin);
	free(file);
	free(log);
	return rc;
}

int
harness_produce(int rate)
{
	pid_t pid = harness_produce_start(rate);
	int st;

	if (pid == -1)
		return -1;
	if (harness_wait_exit(pid, 300000, &st) == -1) {
		kill_and_reap(pid);
		harness_log("paced-produce did not finish");
		return -1;
	}
	if (!WIFEXITED(st)) {
		harness_log("paced-produce killed by signal %d", WTERMSIG(st));
		return -1;
	}
	harness_log("paced-produce exited %d", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

/* ---- Kafka ---- */

static rd_kafka_t *
kafka_new(rd_kafka_type_t type, const char *group)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

#define SET(k, v) do {							\
	if (rd_kafka_conf_set(conf, (k), (v), err, sizeof err) !=	\
	    RD_KAFKA_CONF_OK) {						\
		harness_log("kafka conf %s: %s", (k), err);		\
		rd_kafka_conf_destroy(conf);				\
		return NULL;						\
	}								\
} while (0)
	SET("bootstrap.servers", H.brokers);
	SET("log_level", "3");
	if (group != NULL) {
		SET("group.id", group);
		SET("enable.auto.commit", "false");
		SET("enable.auto.offset.store", "false");
		SET("auto.offset.reset", "earliest");
	}
#undef SET
	if ((rk = rd_kafka_new(type, conf, err, sizeof err)) == NULL) {
		harness_log("rd_kafka_new: %s", err);
		return NULL;
	}
	return rk;
}

int
harness_watermarks(const char *topic, int64_t *hi, int n)
{
	rd_kafka_resp_err_t e;
	int64_t lo;
	int i;

	if (H.rk_meta == NULL &&
	    (H.rk_meta = kafka_new(RD_KAFKA_PRODUCER, NULL)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		e = rd_kafka_query_watermark_offsets(H.rk_meta, topic, i, &lo,
		    &hi[i], 5000);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("watermarks %s/%d: %s", topic, i,
			    rd_kafka_err2str(e));
			return -1;
		}
	}
	return n;
}

/* Reads the offsets hash into off[0..n) (missing fields: -1). */
static int
applied_offsets(int64_t *off, int n)
{
	redisReply *r;
	size_t i;
	long p;
	int k;

	for (k = 0; k < n; k++)
		off[k] = -1;
	r = harness_redis_cmd("HGETALL %s:offsets:%s", H.prefix,
	    HARNESS_TOPIC);
	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		p = strtol(r->element[i]->str, NULL, 10);
		if (p >= 0 && p < n)
			off[p] = strtoll(r->element[i + 1]->str, NULL, 10);
	}
	freeReplyObject(r);
	return 0;
}

int
harness_applied_offsets(int64_t *off, int n)
{
	return applied_offsets(off, n);
}

int
harness_committed(int64_t *off, int n)
{
	rd_kafka_t *rk = kafka_new(RD_KAFKA_CONSUMER, HARNESS_GROUP);
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;
	int i, rc = 0;

	if (rk == NULL)
		return -1;
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, HARNESS_TOPIC, i);
	/* Asks the group coordinator; joins nothing. */
	if ((e = rd_kafka_committed(rk, l, 10000)) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		harness_log("committed offsets: %s", rd_kafka_err2str(e));
		rc = -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		off[i] = l->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR ?
		    l->elems[i].offset : RD_KAFKA_OFFSET_INVALID;
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return rc;
}

int64_t
harness_applied(void)
{
	int64_t off[HARNESS_PARTITIONS], sum = 0;
	int i;

	if (applied_offsets(off, HARNESS_PARTITIONS) == -1)
		return -1;
	for (i = 0; i < HARNESS_PARTITIONS; i++)
		if (off[i] > 0)
			sum += off[i];
	return sum;
}

bool
harness_caught_up(void *arg)
{
	int64_t hi[HARNESS_PARTITIONS], off[HARNESS_PARTITIONS];
	int i;

	(void)arg;
	if (harness_watermarks(HARNESS_TOPIC, hi, HARNESS_PARTITIONS) == -1 ||
	    applied_offsets(off, HARNESS_PARTITIONS) == -1)
		return false;
	for (i = 0; i < HARNESS_PARTITIONS; i++) {
		/* An empty partition needs no field. */
		if (off[i] == -1 && hi[i] == 0)
			continue;
		if (off[i] != hi[i])
			return false;
	}
	return true;
}

int
harness_wait_caught_up(int timeout_ms)
{
	int64_t hi[HARNESS_PARTITIONS], off[HARNESS_PARTITIONS];
	int64_t t = harness_elapsed_ms();
	int i;

	if (harness_wait_until(harness_caught_up, NULL, timeout_ms,
	    "the offsets hash to reach the high watermarks") == 0) {
		harness_log("caught up after %lld ms",
		    (long long)(harness_elapsed_ms() - t));
		return 0;
	}
	if (harness_watermarks(HARNESS_TOPIC, hi, HARNESS_PARTITIONS) != -1 &&
	    applied_offsets(off, HARNESS_PARTITIONS) != -1)
		for (i = 0; i < HARNESS_PARTITIONS; i++)
			harness_log("  partition %d: applied %lld, high "
			    "watermark %lld", i, (long long)off[i],
			    (long long)hi[i]);
	return -1;
}

static bool
applied_at_least(void *arg)
{
	return harness_applied() >= *(int64_t *)arg;
}

int
harness_wait_applied(int64_t n, int timeout_ms)
{
	char what[64];

	snprintf(what, sizeof what, "%lld messages applied", (long long)n);
	return harness_wait_until(applied_at_least, &n, timeout_ms, what);
}

static void *
copy_bytes(const void *p, size_t len)
{
	char *c;

	if (p == NULL)
		return NULL;
	c = xmalloc(len + 1);
	memcpy(c, p, len);
	c[len] = '\0';
	return c;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct harness_msg *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void
msg_copy(struct harness_msg *m, const rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *val;
	size_t size, i, n;

	memset(m, 0, sizeof *m);
	m->partition = rkm->partition;
	m->offset = rkm->offset;
	m->key = copy_bytes(rkm->key, rkm->key_len);
	m->key_len = rkm->key != NULL ? rkm->key_len : 0;
	m->value = copy_bytes(rkm->payload, rkm->len);
	m->value_len = rkm->payload != NULL ? rkm->len : 0;
	if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	n = rd_kafka_header_cnt(hdrs);
	m->headers = xcalloc(n ? n : 1, sizeof *m->headers);
	for (i = 0; i < n; i++) {
		if (rd_kafka_header_get_all(hdrs, i, &name, &val, &size) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		m->headers[i].name = xstrdup(name);
		m->headers[i].value = copy_bytes(val, size);
		m->headers[i].len = val != NULL ? size : 0;
		m->nheaders++;
	}
}

int
harness_read_topic(const char *topic, struct harness_msgs *out)
{
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *tl;
	rd_kafka_message_t *rkm;
	int64_t hi[64], lo[64], next[64];
	char group[64];
	size_t cap = 0;
	int np = HARNESS_PARTITIONS, i, left = 0, rc = 0;
	int64_t deadline = harness_elapsed_ms() + HARNESS_WAIT_MS;

	memset(out, 0, sizeof *out);
	snprintf(group, sizeof group, "harness-reader-%ld", (long)getpid());
	if ((rk = kafka_new(RD_KAFKA_CONSUMER, group)) == NULL)
		return -1;
	tl = rd_kafka_topic_partition_list_new(np);
	for (i = 0; i < np; i++) {
		if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo[i],
		    &hi[i], 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			harness_log("watermarks of %s/%d unavailable", topic,
			    i);
			rc = -1;
			goto out;
		}
		next[i] = lo[i];
		if (hi[i] > lo[i]) {
			rd_kafka_topic_partition_list_add(tl, topic,
			    i)->offset = RD_KAFKA_OFFSET_BEGINNING;
			left++;
		}
	}
	if (left > 0 && rd_kafka_assign(rk, tl) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = -1;
		goto out;
	}
	while (left > 0) {
		if (harness_elapsed_ms() > deadline) {
			harness_log("reading %s: timed out with %d partitions "
			    "short", topic, left);
			rc = -1;
			break;
		}
		if ((rkm = rd_kafka_consumer_poll(rk, 200)) == NULL)
			continue;
		if (rkm->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				harness_log("reading %s: %s", topic,
				    rd_kafka_message_errstr(rkm));
			rd_kafka_message_destroy(rkm);
			continue;
		}
		i = rkm->partition;
		if (i >= 0 && i < np && rkm->offset >= next[i] &&
		    next[i] < hi[i]) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 1024;
				out->v = xreallocarray(out->v, cap,
				    sizeof *out->v);
			}
			msg_copy(&out->v[out->n++], rkm);
			next[i] = rkm->offset + 1;
			if (next[i] >= hi[i])
				left--;
		}
		rd_kafka_message_destroy(rkm);
	}
	if (out->n > 1)		/* an empty topic leaves out->v NULL */
		qsort(out->v, out->n, sizeof *out->v, msg_cmp);
out:
	rd_kafka_topic_partition_list_destroy(tl);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}

void
harness_msgs_free(struct harness_msgs *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->v[i].nheaders; j++) {
			free(m->v[i].headers[j].name);
			free(m->v[i].headers[j].value);
		}
		free(m->v[i].headers);
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof *m);
}

const struct harness_header *
harness_msg_header(const struct harness_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (strcmp(m->headers[i].name, name) == 0)
			return &m->headers[i];
	return NULL;
}

/* ---- comparisons ---- */

/* Printable form of bytes for diffs: static buffer, truncated. */
static const char *
show(const void *p, size_t len)
{
	static char buf[4][200];
	static int k;
	const unsigned char *s = p;
	char *b = buf[k = (k + 1) % 4], *e = b + sizeof buf[0] - 8;
	size_t i;

	for (i = 0; i < len && b < e; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			*b++ = (char)s[i];
		else
			b += snprintf(b, 5, "\\x%02x", s[i]);
	}
	if (i < len)
		b += snprintf(b, 8, "...");
	*b = '\0';
	return buf[k];
}

static bool
number_eq(double want, double got)
{
	return fabs(want - got) <= 1e-6 + 1e-11 * fabs(want);
}

/* Appends to a bounded line buffer. */
static void
line_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Compares one expected hash; returns the number of fields that differ
 * and prints one line for the key when it differs. */
static int
compare_key(const cJSON *want, const char *key, int *reported, int max)
{
	redisReply *r;
	const cJSON *f;
	size_t i;
	int bad = 0;
	double got;
	bool *matched;
	char line[1024] = "";

	r = harness_redis_cmd("HGETALL %s", key);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if ((*reported)++ < max)
			harness_log("redis: %s: HGETALL failed (%s)", key,
			    r != NULL && r->type == REDIS_REPLY_ERROR ?
			    r->str : "no reply");
		if (r != NULL)
			freeReplyObject(r);
		return 1;
	}
	if (r->elements == 0) {
		cJSON_ArrayForEach(f, want)
			if (f->valuedouble != 0) {
				bad++;
				line_add(line, sizeof line, " %s=%.15g",
				    f->string, f->valuedouble);
			}
		if (bad > 0 && (*reported)++ < max)
			harness_log("redis: %s: missing; expected%s", key,
			    line);
		freeReplyObject(r);
		return bad;
	}
	matched = xcalloc(r->elements / 2 + 1, sizeof *matched);
	cJSON_ArrayForEach(f, want) {
		for (i = 0; i + 1 < r->elements; i += 2)
			if (strcmp(r->element[i]->str, f->string) == 0)
				break;
		if (i + 1 >= r->elements) {
			if (f->valuedouble != 0) {
				bad++;
				line_add(line, sizeof line, " %s missing "
				    "(expected %.15g);", f->string,
				    f->valuedouble);
			}
			continue;
		}
		matched[i / 2] = true;
		got = strtod(r->element[i + 1]->str, NULL);
		if (!number_eq(f->valuedouble, got)) {
			bad++;
			line_add(line, sizeof line, " %s = %s, expected %.15g "
			    "(%+g);", f->string, r->element[i + 1]->str,
			    f->valuedouble, got - f->valuedouble);
		}
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		if (matched[i / 2])
			continue;
		got = strtod(r->element[i + 1]->str, NULL);
		if (got != 0) {
			bad++;
			line_add(line, sizeof line, " unexpected %s = %s;",
			    r->element[i]->str, r->element[i + 1]->str);
		}
	}
	if (bad > 0 && (*reported)++ < max)
		harness_log("redis: %s:%s", key, line);
	free(matched);
	freeReplyObject(r);
	return bad;
}

static int
scan_unexpected(const cJSON *counters, const char *pattern, int *reported,
    int max, size_t *nkeys)
{
	redisReply *r;
	char cursor[32] = "0";
	size_t i;
	int bad = 0;

	do {
		r = harness_redis_cmd("SCAN %s MATCH %s COUNT 1000", cursor,
		    pattern);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2) {
			harness_log("redis: SCAN failed");
			if (r != NULL)
				freeReplyObject(r);
			return bad + 1;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			const char *k = r->element[1]->element[i]->str;

			(*nkeys)++;
			if (cJSON_GetObjectItemCaseSensitive(counters, k) !=
			    NULL)
				continue;
			bad++;
			if ((*reported)++ < max)
				harness_log("redis: unexpected key %s", k);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return bad;
}

int
harness_compare_redis(int max_report)
{
	const cJSON *counters, *h;
	char *pat;
	int bad = 0, reported = 0, nexp = 0, nkeys_bad;
	size_t nkeys = 0;

	counters = cJSON_GetObjectItemCaseSensitive(H.expected, "counters");
	if (counters == NULL) {
		harness_log("expected.json has no counters");
		return 1;
	}
	cJSON_ArrayForEach(h, counters) {
		nexp++;
		bad += compare_key(h, h->string, &reported, max_report);
	}
	if (reported > max_report)
		harness_log("redis: %d more differing keys not shown",
		    reported - max_report);
	nkeys_bad = reported;
	reported = 0;
	pat = xasprintf("%s:{rep:*}:cnt:*", H.prefix);
	bad += scan_unexpected(counters, pat, &reported, max_report, &nkeys);
	free(pat);
	pat = xasprintf("%s:{team:*}:cnt:*", H.prefix);
	bad += scan_unexpected(counters, pat, &reported, max_report, &nkeys);
	free(pat);
	if (reported > max_report)
		harness_log("redis: %d more unexpected keys not shown",
		    reported - max_report);
	harness_log("redis: %d expected counter keys (%d differ), %zu counter "
	    "keys in Redis (%d unexpected); %d differences", nexp, nkeys_bad,
	    nkeys, reported, bad);
	return bad;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 into owned bytes (free()); padding tolerated. */
static unsigned char *
b64_decode(const char *s, size_t *lenp)
{
	size_t n = strlen(s), len = 0;
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0, v;

	for (; *s != '\0'; s++) {
		if ((v = b64val((unsigned char)*s)) == -1)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
		}
	}
	*lenp = len;
	return out;
}

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
header_eq(const struct harness_header *h, const char *s)
{
	return h != NULL && h->value != NULL && bytes_eq(h->value, h->len, s,
	    strlen(s));
}

static bool
header_int(const struct harness_header *h, long long *v)
{
	char *end;

	if (h == NULL || h->value == NULL || h->len == 0)
		return false;
	*v = strtoll(h->value, &end, 10);
	return end == (char *)h->value + h->len;
}

struct dlq_wait {
	int64_t want;
	int64_t have;
};

static bool
dlq_filled(void *arg)
{
	struct dlq_wait *w = arg;
	int64_t hi[HARNESS_PARTITIONS];
	int i;

	if (harness_watermarks(HARNESS_TOPIC_DLQ, hi, HARNESS_PARTITIONS) == -1)
		return false;
	w->have = 0;
	for (i = 0; i < HARNESS_PARTITIONS; i++)
		w->have += hi[i];
	return w->have >= w->want;
}

/* The activity message at partition/offset, or NULL. */
static const struct harness_msg *
find_msg(const struct harness_msgs *m, long long part, long long off)
{
	size_t lo = 0, hi = m->n, mid;
	const struct harness_msg *x;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		x = &m->v[mid];
		if (x->partition == part && x->offset == off)
			return x;
		if (x->partition < part ||
		    (x->partition == part && x->offset < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One event the dead-letter topic must hold. */
struct dlq_want {
	const char	*key;
	const char	*reason;
	unsigned char	*val;
	size_t		 vlen;
};

static int dlq_truncated_seen;

/* True when m carries want's bytes: the same, or a copy cut to fit with
 * paced.truncated holding the original size. */
static bool
dlq_matches(const struct harness_msg *m, const struct dlq_want *w)
{
	const struct harness_header *h;
	long long size;

	if (bytes_eq(m->value, m->value_len, w->val, w->vlen))
		return true;
	h = harness_msg_header(m, "paced.truncated");
	return h != NULL && header_int(h, &size) && size == (long long)w->vlen &&
	    m->value_len < w->vlen &&
	    (m->value_len == 0 || memcmp(m->value, w->val, m->value_len) == 0);
}

/* Appends expected.json's list `name` to *v (n entries, cap *cap). */
static void
dlq_want_add(const char *name, const char *reason, struct dlq_want **v,
    size_t *n, size_t *cap)
{
	const cJSON *b, *jv, *jr;

	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(H.expected,
	    name)) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 128;
			*v = xreallocarray(*v, *cap, sizeof **v);
		}
		jv = cJSON_GetObjectItemCaseSensitive(b, "value_b64");
		jr = cJSON_GetObjectItemCaseSensitive(b, "reason");
		(*v)[*n].key = cJSON_GetObjectItemCaseSensitive(b,
		    "key")->valuestring;
		(*v)[*n].reason = jr != NULL ? jr->valuestring : reason;
		(*v)[*n].val = b64_decode(jv->valuestring, &(*v)[*n].vlen);
		(*n)++;
	}
}

int
harness_check_dlq(bool exact, int max_report)
{
	return harness_check_dlq_with(exact, false, max_report);
}

int
harness_dlq_truncated(void)
{
	return dlq_truncated_seen;
}

int
harness_check_dlq_with(bool exact, bool unknown_rep, int max_report)
{
	struct harness_msgs dlq, act;
	struct dlq_wait w;
	struct dlq_want *want = NULL, *x;
	size_t nwant = 0, capwant = 0, i, k;
	bool *used;
	int problems = 0, reported = 0, hits;
	long long part, off;
	const struct harness_msg *m, *src;

#define REPORT(...) do {						\
	problems++;							\
	if (reported++ < max_report)					\
		harness_log(__VA_ARGS__);				\
} while (0)
	dlq_want_add("bad", NULL, &want, &nwant, &capwant);
	if (unknown_rep) {
		size_t before = nwant;

		dlq_want_add("unknown_rep", "unknown_rep", &want, &nwant,
		    &capwant);
		if (nwant == before)
			harness_log("dlq: expected.json lists no unknown_rep "
			    "events");
	}
	dlq_truncated_seen = 0;
	w.want = (int64_t)nwant;
	w.have = 0;
	if (harness_wait_until(dlq_filled, &w, HARNESS_WAIT_MS,
	    "the dead-letter topic to fill") == -1)
		harness_log("dlq: %lld messages, %lld expected",
		    (long long)w.have, (long long)w.want);
	if (harness_read_topic(HARNESS_TOPIC_DLQ, &dlq) == -1)
		goto fail;
	if (harness_read_topic(HARNESS_TOPIC, &act) == -1) {
		harness_msgs_free(&dlq);
		goto fail;
	}
	harness_log("dlq: %zu messages read, %zu events expected; "
	    "activity topic %zu messages", dlq.n, nwant, act.n);
	used = xcalloc(dlq.n + 1, sizeof *used);
	for (k = 0; k < nwant; k++) {
		x = &want[k];
		hits = 0;
		for (i = 0; i < dlq.n; i++) {
			m = &dlq.v[i];
			if (used[i] || !dlq_matches(m, x))
				continue;
			used[i] = true;
			hits++;
			if (harness_msg_header(m, "paced.truncated") != NULL)
				dlq_truncated_seen++;
			if (!bytes_eq(m->key, m->key_len, x->key,
			    strlen(x->key)))
				REPORT("dlq: %s event at %d/%lld: key \"%s\", "
				    "expected \"%s\"", x->reason,
				    m->partition, (long long)m->offset,
				    show(m->key, m->key_len), x->key);
			if (!header_eq(harness_msg_header(m, "paced.reason"),
			    x->reason)) {
				const struct harness_header *h =
				    harness_msg_header(m, "paced.reason");

				REPORT("dlq: %s: paced.reason is \"%s\", "
				    "expected %s", show(x->val, x->vlen),
				    h != NULL ? show(h->value, h->len) :
				    "(none)", x->reason);
			}
			if (!header_int(harness_msg_header(m,
			    "paced.source.partition"), &part) ||
			    !header_int(harness_msg_header(m,
			    "paced.source.offset"), &off)) {
				REPORT("dlq: %s event: source headers missing "
				    "or not decimal", x->reason);
				continue;
			}
			src = find_msg(&act, part, off);
			if (src == NULL || !bytes_eq(src->value,
			    src->value_len, x->val, x->vlen) ||
			    !bytes_eq(src->key, src->key_len, m->key,
			    m->key_len))
				REPORT("dlq: %s event: source %lld/%lld is "
				    "not the original (%s)", x->reason,
				    part, off, src == NULL ? "no such message" :
				    show(src->value, src->value_len));
		}
		if (hits == 0)
			REPORT("dlq: missing %s event: %s", x->reason,
			    show(x->val, x->vlen));
		else if (exact && hits > 1)
			REPORT("dlq: %s event present %d times: %s",
			    x->reason, hits, show(x->val, x->vlen));
	}
	for (i = 0; i < dlq.n; i++) {
		const struct harness_header *h;

		if (used[i])
			continue;
		m = &dlq.v[i];
		h = harness_msg_header(m, "paced.reason");
		REPORT("dlq: unexpected message at %d/%lld, reason %s: %s",
		    m->partition, (long long)m->offset,
		    h != NULL ? show(h->value, h->len) : "(none)",
		    show(m->value, m->value_len));
	}
#undef REPORT
	if (reported > max_report)
		harness_log("dlq: %d more problems not shown",
		    reported - max_report);
	free(used);
	harness_msgs_free(&dlq);
	harness_msgs_free(&act);
	harness_log("dlq: %d problems (%d truncated copies)", problems,
	    dlq_truncated_seen);
	for (k = 0; k < nwant; k++)
		free(want[k].val);
	free(want);
	return problems;
fail:
	for (k = 0; k < nwant; k++)
		free(want[k].val);
	free(want);
	return 1;
}

static int
metric_check(const char *body, const char *series, double want, bool report)
{
	double got;

	if (harness_metric(body, series, &got) == -1) {
		if (want == 0)
			return 0;
		if (report)
			harness_log("metrics: %s absent, expected %.0f",
			    series, want);
		return 1;
	}
	if (got != want) {
		if (report)
			harness_log("metrics: %s = %.0f, expected %.0f",
			    series, got, want);
		return 1;
	}
	return 0;
}

int
harness_check_metrics(int port, bool report)
{
	const cJSON *t, *sk, *br, *x;
	char *body = NULL, series[256];
	int status, bad = 0;
	double skipped = 0;

	if (harness_http_get(port, "/metrics", &status, &body) == -1 ||
	    status != 200) {
		if (report)
			harness_log("metrics: GET /metrics failed");
		free(body);
		return -1;
	}
	t = cJSON_GetObjectItemCaseSensitive(H.expected, "totals");
	sk = cJSON_GetObjectItemCaseSensitive(t, "skipped");
	cJSON_ArrayForEach(x, sk) {
		skipped += x->valuedouble;
		snprintf(series, sizeof series,
		    "paced_skipped_events_total{reason=\"%s\"}", x->string);
		bad += metric_check(body, series, x->valuedouble, report);
	}
	bad += metric_check(body, "paced_events_total{outcome=\"counted\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "counted")->valuedouble,
	    report);
	bad += metric_check(body, "paced_events_total{outcome=\"duplicate\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "duplicate")->valuedouble,
	    report);
	bad += metric_check(body, "paced_events_total{outcome=\"bad\"}",
	    cJSON_GetObjectItemCaseSensitive(t, "bad")->valuedouble, report);
	bad += metric_check(body, "paced_events_total{outcome=\"skipped\"}",
	    skipped, report);
	br = cJSON_GetObjectItemCaseSensitive(t, "bad_by_reason");
	cJSON_ArrayForEach(x, br) {
		snprintf(series, sizeof series,
		    "paced_bad_events_total{reason=\"%s\"}", x->string);
		bad += metric_check(body, series, x->valuedouble, report);
	}
	if (report)
		harness_log("metrics: %d differences (expected counted %.0f, "
		    "duplicate %.0f, bad %.0f, skipped %.0f)", bad,
		    cJSON_GetObjectItemCaseSensitive(t, "counted")->valuedouble,
		    cJSON_GetObjectItemCaseSensitive(t,
		    "duplicate")->valuedouble,
		    cJSON_GetObjectItemCaseSensitive(t, "bad")->valuedouble,
		    skipped);
	free(body);
	return bad;
}
