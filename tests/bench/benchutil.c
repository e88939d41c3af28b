/*
 * benchutil.c: the helpers every bench of tests/bench uses (benchutil.h).
 */
#include "benchutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

double
benchutil_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
benchutil_now_s(void)
{
	return benchutil_clock_s(CLOCK_MONOTONIC);
}

int
benchutil_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int
benchutil_env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v != NULL && atoi(v) > 0 ? atoi(v) : dflt;
}

double
benchutil_info_num(redisContext *rc, const char *section, const char *field)
{
	redisReply *r = redisCommand(rc, "INFO %s", section);
	double v = 0;
	char *p;

	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    (p = strstr(r->str, field)) != NULL)
		v = strtod(p + strlen(field) + 1, NULL);
	if (r != NULL)
		freeReplyObject(r);
	return v;
}

double
benchutil_server_cpu(redisContext *rc)
{
	return benchutil_info_num(rc, "cpu", "used_cpu_sys") +
	    benchutil_info_num(rc, "cpu", "used_cpu_user");
}

redisContext *
benchutil_redis_start(const char *dir, int port, bool aof, const char *who,
    pid_t *pid)
{
	char portstr[16];
	redisContext *rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((*pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execlp("redis-server", "redis-server", "--port", portstr,
		    "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		    "--appendonly", aof ? "yes" : "no",
		    "--auto-aof-rewrite-percentage", "0", "--loglevel",
		    "warning", "--hash-max-listpack-entries", "128",
		    (char *)NULL);
		_exit(127);
	}
	if ((rc = benchutil_redis_wait(port)) == NULL)
		fprintf(stderr, "%s: redis-server did not start\n", who);
	return rc;
}

redisContext *
benchutil_redis_wait(int port)
{
	redisContext *rc = NULL;

	for (int i = 0; i < 100 && rc == NULL; i++) {
		usleep(50000);
		rc = redisConnect("127.0.0.1", port);
		if (rc != NULL && rc->err) {
			redisFree(rc);
			rc = NULL;
		}
	}
	return rc;
}

void
benchutil_up_cb(bool up, void *arg)
{
	*(bool *)arg = up;
}
