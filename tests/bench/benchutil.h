#ifndef PACED_BENCHUTIL_H
#define PACED_BENCHUTIL_H

/*
 * What the benches of tests/bench share: clocks, a free loopback port,
 * integer settings from the environment, a redis-server of its own and
 * its figures (INFO). Linked into every bench binary (not a bench
 * itself: its name does not match bench_*.c).
 */

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* Seconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID...). */
double benchutil_clock_s(clockid_t id);
/* Seconds on the monotonic clock. */
double benchutil_now_s(void);
/* A TCP port free on 127.0.0.1 at the time of the call. */
int benchutil_free_port(void);
/* The environment variable name as a positive integer, else dflt. */
int benchutil_env_int(const char *name, int dflt);
/* The number after "field:" in INFO section of rc, 0 when absent. */
double benchutil_info_num(redisContext *rc, const char *section,
    const char *field);
/* Starts a redis-server on 127.0.0.1:port with its files in dir (the
 * append-only file on when aof, automatic rewrites off; no snapshots) and
 * connects to it within 5 s; the server's pid goes to *pid. Returns the
 * connection (owned), or NULL with a message on stderr naming who. */
redisContext *benchutil_redis_start(const char *dir, int port, bool aof,
    const char *who, pid_t *pid);
/* Connects to the redis-server on 127.0.0.1:port, trying for 5 s; the
 * connection (owned), or NULL. */
redisContext *benchutil_redis_wait(int port);
/* A redis_conn state callback: *(bool *)arg = up. */
void benchutil_up_cb(bool up, void *arg);
/* redis-server's CPU seconds so far (system and user). */
double benchutil_server_cpu(redisContext *rc);

#endif
