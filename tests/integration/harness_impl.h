#ifndef PACED_HARNESS_IMPL_H
#define PACED_HARNESS_IMPL_H

/*
 * What the harness files share among themselves; tests include harness.h
 * only. Each file keeps its own state: harness_setup empties it through
 * the _reset functions, harness_teardown frees it through the same.
 *
 *   harness.c         run folder, setup and teardown, log, files, ports
 *   harness_proc.c    child processes: spawn, signal, wait, reap
 *   harness_redis.c   redis-server and its AOF, the assertion client
 *   harness_cluster.c a Redis Cluster: nodes, create, reshard, failover
 *   harness_broker.c  the dev broker or in-process mock, the producer
 *   harness_gen.c     the stream generators and expected.json
 *   harness_paced.c   paced configs and instances
 *   harness_http.c    HTTP GET and the Prometheus text parser
 *   harness_json.c    the JSON routes: GET and parse, fields, tolerances
 *   harness_hook.c    a webhook receiver on the test's event base
 *   harness_kafka.c   watermarks, applied and committed offsets, topics
 *   harness_oracle.c  Redis, dead-letter topic and metrics vs expected
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/* harness_hook.c */
void harness_hook_reset(void);

/* harness.c */
void harness_sleep_ms(int ms);
bool harness_file_exists(const char *path);
/* mkdir -p; 0 or -1. */
int harness_mkdirs(const char *path);
/* Reads a whole file; returns owned bytes (NUL-terminated) or NULL. */
char *harness_read_file(const char *path, size_t *lenp);
/* Writes data (borrowed) to path; 0 or -1. */
int harness_write_file(const char *path, const char *data);

/* harness_proc.c */
void harness_proc_reset(void);
/* Kills (SIGKILL) a tracked child and reaps it, if it still runs. */
void harness_kill_and_reap(pid_t pid);
/* The same for every child, newest first. */
void harness_kill_all(void);

/* harness_redis.c */
void harness_redis_reset(void);

/* Points the assertion client and daemon configs at port (a cluster's
 * first node). */
void harness_redis_use_port(int port);

/* harness_cluster.c */
void harness_cluster_reset(void);
bool harness_cluster_active(void);
/* The redis.cluster lines of a daemon's config (borrowed), or NULL. */
const char *harness_cluster_yaml(void);
/* A command routed like a cluster client (MOVED, ASK); owned reply. */
redisReply *harness_cluster_vcmd(const char *fmt, va_list ap);

/* harness_broker.c */
void harness_broker_reset(void);

/* harness_gen.c */
void harness_gen_reset(void);
/* <run>/gen (borrowed); set by the first generator call. */
const char *harness_gen_dir(void);
/* The Redis key prefix: expected.json's "prefix", else "paced". */
const char *harness_prefix(void);

/* harness_paced.c */
void harness_paced_reset(void);

/* harness_kafka.c */
void harness_kafka_reset(void);

#endif
