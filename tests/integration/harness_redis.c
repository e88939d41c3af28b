/*
 * Integration test harness: redis-server on loopback (AOF on, data in the
 * run folder), cutting its AOF short, and the client assertions use.
 */

#include "harness.h"
#include "harness_impl.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

static struct {
	int		 redis_port;
	pid_t		 redis_pid;
	redisContext	*rc;
} H;

void
harness_redis_reset(void)
{
	if (H.rc != NULL)
		redisFree(H.rc);
	memset(&H, 0, sizeof H);
}

pid_t
harness_redis_pid(void)
{
	return H.redis_pid > 0 ? H.redis_pid : -1;
}

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
	harness_mkdirs(dir);
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
		harness_kill_and_reap(H.redis_pid);
	} else {
		harness_kill(H.redis_pid, sig);
		if (harness_wait_exit(H.redis_pid, HARNESS_WAIT_MS, &st) == -1)
			harness_kill_and_reap(H.redis_pid);
	}
	harness_log("redis-server pid %ld stopped (signal %d)",
	    (long)H.redis_pid, sig);
	H.redis_pid = 0;
}

void
harness_redis_use_port(int port)
{
	if (H.rc != NULL) {
		redisFree(H.rc);
		H.rc = NULL;
	}
	H.redis_port = port;
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
	redisContext *c;
	redisReply *r;
	va_list ap;

	if (harness_cluster_active()) {
		va_start(ap, fmt);
		r = harness_cluster_vcmd(fmt, ap);
		va_end(ap);
		return r;
	}
	if ((c = harness_redis()) == NULL)
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
