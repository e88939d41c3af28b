/*
 * bench_stream: the change stream's fan-out. A redis-server (started
 * here on a free loopback port) and the daemon (build/paced, no broker
 * needed for the stream); 1,000 clients open GET /v1/stream (HTTP/1.0,
 * plain sockets, polled from this one thread). Then one change message
 * at a time is PUBLISHed on the changes channel, as the board script
 * does, and the time from the PUBLISH to each client's receipt of the
 * message is taken; the next goes once every client has the last. The
 * figures: p50 and p99 over every (message, client), p50 and p99 of the
 * last client's time per message, and the daemon's CPU (utime + stime
 * from /proc) per message over the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define NCLIENTS	1000
#define NMESSAGES	100
#define CHANNEL		"bench:changes"

struct client {
	int fd;
	bool head_done;		/* the HTTP head was read */
	int frames;		/* SSE blocks ended ("\n\n"), the retry one too */
	char last;		/* the last byte read */
	char head[4];		/* the head's last bytes */
};

static int
connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what c has; counts the SSE blocks ended. -1 when it closed. */
static int
client_read(struct client *c)
{
	char buf[65536];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		if (!c->head_done) {
			memmove(c->head, c->head + 1, 3);
			c->head[3] = buf[i];
			if (memcmp(c->head, "\r\n\r\n", 4) == 0) {
				c->head_done = true;
				c->last = '\0';
			}
			continue;
		}
		if (buf[i] == '\n' && c->last == '\n') {
			c->frames++;
			c->last = '\0';
			continue;
		}
		c->last = buf[i];
	}
	return 0;
}

/* Polls every client until each has at least want frames, or timeout;
 * at[i] gets the time client i got there (once). 0, or -1. */
static int
wait_frames(struct client *cl, struct pollfd *pfd, int want, double *at,
    double timeout_s)
{
	double deadline = benchutil_now_s() + timeout_s;
	int done = 0;

	for (int i = 0; i < NCLIENTS; i++)
		if (cl[i].frames >= want) {
			at[i] = benchutil_now_s();
			done++;
		} else {
			at[i] = 0;
		}
	while (done < NCLIENTS) {
		int n;

		if (benchutil_now_s() > deadline)
			return -1;
		n = poll(pfd, NCLIENTS, 100);
		if (n <= 0)
			continue;
		for (int i = 0; i < NCLIENTS; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (client_read(&cl[i]) != 0) {
				fprintf(stderr, "bench: client %d closed\n", i);
				return -1;
			}
			if (at[i] == 0 && cl[i].frames >= want) {
				at[i] = benchutil_now_s();
				done++;
			}
		}
	}
	return 0;
}

static double
cpu_s(pid_t pid)
{
	char path[64], text[4096], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* After the command name's closing parenthesis: field 3 on. */
	if ((p = strrchr(text, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

int
main(int argc, char **argv)
{
	static struct client cl[NCLIENTS];
	static struct pollfd pfd[NCLIENTS];
	static double at[NCLIENTS];
	static double lat[NCLIENTS * NMESSAGES], last[NMESSAGES];
	char dir[] = "/tmp/bench_stream.XXXXXX", cfgpath[256], paced[4096];
	char rport_s[16], *self;
	int rport = benchutil_free_port(), hport = benchutil_free_port(), rc = 1;
	pid_t redis = -1, daemon = -1;
	struct rlimit rl;
	redisContext *rc_pub = NULL;
	double cpu0, cpu1, t0, t1;
	size_t nlat = 0;
	FILE *f;

	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	self = strdup(argv[0]);
	snprintf(paced, sizeof(paced), "%s/../../paced", dirname(self));
	free(self);
	if (mkdtemp(dir) == NULL || rport < 0 || hport < 0) {
		perror("bench: setup");
		return 1;
	}
	snprintf(rport_s, sizeof(rport_s), "%d", rport);
	if ((redis = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execlp("redis-server", "redis-server", "--port", rport_s,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && rc_pub == NULL; i++) {
		redisContext *c;

		usleep(50000);
		c = redisConnect("127.0.0.1", rport);
		if (c != NULL && c->err == 0)
			rc_pub = c;
		else if (c != NULL)
			redisFree(c);
	}
	if (rc_pub == NULL) {
		fprintf(stderr, "bench: redis-server did not start\n");
		goto out;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/paced.yaml", dir);
	if ((f = fopen(cfgpath, "w")) == NULL)
		goto out;
	fprintf(f,
	    "kafka:\n"
	    "  brokers: \"127.0.0.1:1\"\n"
	    "  group_id: bench\n"
	    "  topics: {activity: a, dlq: a.dlq, alerts: a.alerts}\n"
	    "redis:\n"
	    "  url: \"redis://127.0.0.1:%d/0\"\n"
	    "  key_prefix: bench\n"
	    "http: {listen: \"127.0.0.1:%d\", max_connections: 2048, "
	    "max_streams: %d, stream_heartbeat: 1h}\n"
	    "log: {level: warn, format: logfmt}\n"
	    "clock: wall\n"
	    "kpis:\n"
	    "  - {name: calls, kind: leading, events: [call]}\n"
	    "roles:\n"
	    "  sdr: {targets: {calls: {day: 100}}}\n"
	    "teams:\n"
	    "  - {id: east, timezone: UTC}\n"
	    "reps:\n"
	    "  - {id: a1, team: east, role: sdr}\n",
	    rport, hport, NCLIENTS + 16);
	fclose(f);
	if ((daemon = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(paced, paced, "--config", cfgpath, (char *)NULL);
		_exit(127);
	}
	/* The daemon listens: wait for its port. */
	for (int i = 0;; i++) {
		int fd = connect_to(hport);

		if (fd >= 0) {
			close(fd);
			break;
		}
		if (i == 200) {
			fprintf(stderr, "bench: the daemon did not listen\n");
			goto out;
		}
		usleep(50000);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		static const char req[] = "GET /v1/stream HTTP/1.0\r\n\r\n";

		if ((cl[i].fd = connect_to(hport)) < 0 ||
		    write(cl[i].fd, req, sizeof(req) - 1) !=
		    (ssize_t)sizeof(req) - 1) {
			fprintf(stderr, "bench: client %d: %s\n", i,
			    strerror(errno));
			goto out;
		}
		fcntl(cl[i].fd, F_SETFL, fcntl(cl[i].fd, F_GETFL) | O_NONBLOCK);
		pfd[i].fd = cl[i].fd;
		pfd[i].events = POLLIN;
	}
	/* The first stream makes the daemon subscribe: wait for it. */
	for (int i = 0;; i++) {
		redisReply *r = redisCommand(rc_pub, "PUBSUB NUMSUB " CHANNEL);
		bool up = r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == 2 && r->element[1]->integer == 1;

		if (r != NULL)
			freeReplyObject(r);
		if (up)
			break;
		if (i == 200) {
			fprintf(stderr, "bench: the daemon did not subscribe\n");
			goto out;
		}
		usleep(50000);
	}
	/* Every stream open: its "retry:" block came. */
	if (wait_frames(cl, pfd, 1, at, 30) != 0) {
		fprintf(stderr, "bench: not every stream opened\n");
		goto out;
	}
	cpu0 = cpu_s(daemon);
	t0 = benchutil_now_s();
	for (int m = 0; m < NMESSAGES; m++) {
		redisReply *r;
		double pub;

		pub = benchutil_now_s();
		r = redisCommand(rc_pub, "PUBLISH " CHANNEL " {\"v\":1,"
		    "\"id\":\"00000000000000aa-%d\",\"type\":\"rank\","
		    "\"scope\":\"team:east\",\"team\":\"east\",\"kpi\":\"calls\","
		    "\"period\":\"day\",\"date\":\"2026-12-07\","
		    "\"at\":\"2026-12-07T10:00:00.000Z\",\"moves\":[{\"rep\":"
		    "\"a1\",\"old_rank\":2,\"new_rank\":1,\"value\":%d}]}",
		    m + 1, m + 10);
		if (r == NULL) {
			fprintf(stderr, "bench: PUBLISH failed\n");
			goto out;
		}
		freeReplyObject(r);
		if (wait_frames(cl, pfd, m + 2, at, 30) != 0) {
			fprintf(stderr, "bench: message %d did not reach every "
			    "client\n", m + 1);
			goto out;
		}
		last[m] = 0;
		for (int i = 0; i < NCLIENTS; i++) {
			double d = at[i] - pub;

			lat[nlat++] = d;
			if (d > last[m])
				last[m] = d;
		}
	}
	t1 = benchutil_now_s();
	cpu1 = cpu_s(daemon);
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	qsort(last, NMESSAGES, sizeof(*last), cmp_double);
	printf("bench_stream: %d SSE clients, %d messages one at a time, "
	    "redis-server and the daemon on loopback\n", NCLIENTS, NMESSAGES);
	printf("  PUBLISH to a client:       p50 %.2f ms  p99 %.2f ms\n",
	    pct(lat, nlat, 0.5) * 1e3, pct(lat, nlat, 0.99) * 1e3);
	printf("  PUBLISH to the last client: p50 %.2f ms  p99 %.2f ms\n",
	    pct(last, NMESSAGES, 0.5) * 1e3, pct(last, NMESSAGES, 0.99) * 1e3);
	printf("  daemon CPU: %.2f ms per message fanned out to %d clients "
	    "(%.0f%% of one core over %.2f s)\n",
	    (cpu1 - cpu0) * 1e3 / NMESSAGES, NCLIENTS,
	    100 * (cpu1 - cpu0) / (t1 - t0), t1 - t0);
	rc = 0;
out:
	for (int i = 0; i < NCLIENTS; i++)
		if (cl[i].fd > 0)
			close(cl[i].fd);
	if (rc_pub != NULL)
		redisFree(rc_pub);
	if (daemon > 0) {
		kill(daemon, SIGTERM);
		waitpid(daemon, NULL, 0);
	}
	if (redis > 0) {
		kill(redis, SIGTERM);
		waitpid(redis, NULL, 0);
	}
	unlink(cfgpath);
	rmdir(dir);
	return rc;
}
