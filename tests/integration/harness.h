#ifndef PACED_HARNESS_H
#define PACED_HARNESS_H

/*
 * Integration test harness: one run folder per test under build/tmp/, a
 * loopback redis-server, the dev broker (librdkafka's mock cluster), the
 * stream generator and oracle (tests/tools/gen_stream.py), paced instances
 * and the producer, all as child processes that are killed at teardown
 * (harness_teardown from Criterion's .fini, atexit as a fallback, and
 * PR_SET_PDEATHSIG should the test process die).
 *
 * Binaries are found next to the test executable: build/tests/integration/
 * test_x uses build/paced, build/san/tests/integration/test_x uses
 * build/san/paced. Every wait polls every 100 ms up to a bound; nothing
 * sleeps in place of a condition. Progress and every difference found go
 * to stderr and to <run folder>/harness.log (Criterion's --quiet hides
 * the test's stderr).
 *
 * The functions below live in one file per concern (harness_impl.h lists
 * them); every integration and regression test links them all.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Generous bound for every wait (sanitizer builds are slower). */
#define HARNESS_WAIT_MS		60000
#define HARNESS_PARTITIONS	6	/* per topic, unless set otherwise */
#define HARNESS_MAX_PARTITIONS	64
#define HARNESS_TOPIC		"sales.activity"
#define HARNESS_TOPIC_DLQ	"sales.activity.dlq"
#define HARNESS_TOPIC_ALERTS	"sales.alerts"
#define HARNESS_TOPIC_ENRICHED	"sales.activity.enriched"
#define HARNESS_TOPIC_SCORECARDS	"sales.scorecards"
#define HARNESS_GROUP		"paced-it"

/* One paced instance: its config file, log file and HTTP port. */
struct harness_paced {
	int	 index;
	int	 http_port;
	pid_t	 pid;			/* 0 when not running */
	char	 config[4096];
	char	 log[4096];
};

/* A message header read back from the broker; buffers owned. */
struct harness_header {
	char	*name;
	void	*value;			/* NUL-terminated copy; NULL if null */
	size_t	 len;
};

/* One Kafka message read back from the broker; all buffers owned. */
struct harness_msg {
	int32_t	 partition;
	int64_t	 offset;
	void	*key;			/* NULL: no key; else NUL-terminated */
	size_t	 key_len;
	void	*value;			/* NULL for a null value */
	size_t	 value_len;
	struct harness_header *headers;
	size_t	 nheaders;
};

struct harness_msgs {
	struct harness_msg *v;
	size_t	 n;
};

/*
 * Sets up the run folder build/tmp/<name>-<pid> (older folders of the same
 * name whose process is gone are removed) and finds the binaries. Borrows
 * name. Registers the atexit fallback. Returns 0 or -1.
 */
int harness_setup(const char *name);
/* harness_setup, then redis-server, the dev broker and a generated stream
 * of harness_events() events from seed (PACED_TEST_SEED overrides it).
 * Returns 0 or -1. */
int harness_start_stack(const char *name, unsigned seed);
/* Kills (SIGKILL) every child still running and reaps it; frees clients. */
void harness_teardown(void);

/* Borrowed paths (run folder, build folder, source tree), valid until
 * teardown. */
const char *harness_run_dir(void);
const char *harness_build_dir(void);
const char *harness_root_dir(void);
/* Returns an owned path "<run dir>/<fmt...>"; free with free(). */
char *harness_path(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Logs a progress line to stderr with the time since setup. */
void harness_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds since setup (monotonic). */
int64_t harness_elapsed_ms(void);
/* Runs base's loop (a test's own) until pred(arg) (NULL: never) or
 * timeout_ms, waking at least every 10 ms; returns pred's last word. */
struct event_base;
bool harness_loop_until(struct event_base *base, bool (*pred)(void *),
    void *arg, int timeout_ms);

/* Stream size: PACED_TEST_EVENTS or 20000. */
int harness_events(void);

/* A loopback TCP port free right now. */
int harness_free_port(void);

/*
 * Starts argv[0] (borrowed argv; argv[0] a path, or a name looked up in
 * PATH) with stdin from /dev/null and stdout and stderr appended to
 * logpath (borrowed). Returns the pid (tracked for teardown) or -1.
 */
pid_t harness_spawn(char *const argv[], const char *logpath);
/* Sends sig to a tracked child; 0 or -1. */
int harness_kill(pid_t pid, int sig);
/* Waits up to timeout_ms for pid to exit; 0 and *status (waitpid form)
 * when it did, -1 on timeout. */
int harness_wait_exit(pid_t pid, int timeout_ms, int *status);
/* True while pid runs (reaps it, and remembers its status, if it ended). */
bool harness_alive(pid_t pid);
/* The waitpid status of a child that ended, or -1 if unknown/running. */
int harness_exit_status(pid_t pid);
/* Runs argv to completion (bounded by timeout_ms); returns its exit code,
 * or -1 on a signal, timeout or failure to start. */
int harness_run(char *const argv[], const char *logpath, int timeout_ms);

/*
 * Waits until pred(arg) is true, polling every 100 ms, at most timeout_ms.
 * Returns 0, or -1 after logging "timed out waiting for <what>".
 */
int harness_wait_until(bool (*pred)(void *), void *arg, int timeout_ms,
    const char *what);

/* redis-server on loopback: AOF on (everysec), no RDB, data in the run
 * folder. The first start picks the port; restarts reuse port and data.
 * Waits until it answers PING. 0 or -1. */
int harness_redis_start(void);
/* Sends sig (SIGKILL, SIGTERM) to redis-server and reaps it. */
void harness_redis_stop(int sig);
/* The port redis-server listens on (0 before the first start). */
int harness_redis_port(void);
/* The running redis-server's pid (to SIGSTOP it, say), or -1. */
pid_t harness_redis_pid(void);
/*
 * With redis-server stopped, cuts the last bytes (up to a quarter of it, at
 * most max_cut) off its newest AOF file, as if the writes of the last
 * moments had never reached the disk (Redis loads the complete prefix).
 * Returns the number of bytes cut, or -1.
 */
int64_t harness_redis_truncate_aof(int64_t max_cut);
/* A synchronous client for assertions, reconnected when broken; borrowed.
 * NULL when Redis cannot be reached. */
redisContext *harness_redis(void);
/* Runs a command; returns an owned reply (freeReplyObject) or NULL. */
redisReply *harness_redis_cmd(const char *fmt, ...);

/*
 * A Redis Cluster on loopback instead of the single redis-server:
 * primaries (at least 3) with replicas each, every node a redis-server in
 * cluster mode (AOF everysec), joined by redis-cli --cluster create; waits
 * for cluster_state:ok. Daemons configured from then on get redis.cluster
 * with the primaries as seeds, and harness_redis_cmd follows MOVED and
 * ASK. Node indices: 0..primaries-1 are the first primaries. 0 or -1.
 */
int harness_cluster_start(int primaries, int replicas);
/* Nodes started, and node i's port (-1: no such node). */
int harness_cluster_nodes(void);
int harness_cluster_port(int i);
/* The indices of the nodes that answer ROLE as primaries, at most max,
 * into idx; returns their number. */
int harness_cluster_primaries(int *idx, int max);
/* A command on node i itself (no redirection); owned reply or NULL. */
redisReply *harness_cluster_node_cmd(int i, const char *fmt, ...);
/* Predicate: every live node says cluster_state:ok with all slots. */
bool harness_cluster_ok(void *arg);
/* redis-cli --cluster reshard of nslots slots from node from to node to;
 * its exit code, or -1. */
int harness_cluster_reshard(int from, int to, int nslots);
/* Moves slot to node to (-1: another primary than its owner) by hand, as
 * redis-cli does but slowly: IMPORTING and MIGRATING, then each key with
 * MIGRATE and a pause of pause_ms, then 2 s with every key moved, then
 * SETSLOT NODE on every primary; so that calls meet TRYAGAIN (keys split)
 * and ASK (keys all moved). Returns the keys moved, or -1. */
int harness_cluster_migrate_slot(int slot, int to, int pause_ms);
/* A replica of node primary, or -1. */
int harness_cluster_replica_of(int primary);
/* CLUSTER FAILOVER on node replica; waits until it is primary and the
 * cluster is ok. 0 or -1. */
int harness_cluster_failover(int replica);
/* Waits until node replica is a primary and the cluster ok. 0 or -1. */
int harness_cluster_wait_promoted(int replica);
/* SIGKILLs node i and reaps it. */
void harness_cluster_kill(int i);

/* Starts the dev broker with the five topics and reads its address.
 * 0 or -1. */
int harness_broker_start(void);
/* Instead of the dev broker: a mock cluster hosted in the test process
 * itself, with the five topics, so the test can inject faults through
 * harness_mock(). 0 or -1. */
int harness_broker_start_local(void);
/* Partitions per topic for the broker started next (after
 * harness_setup, which sets HARNESS_PARTITIONS back): 1..
 * HARNESS_MAX_PARTITIONS. */
void harness_set_partitions(int n);
/* Partitions per topic of the broker. */
int harness_partitions(void);
/* The in-process mock cluster (borrowed), or NULL. */
rd_kafka_mock_cluster_t *harness_mock(void);
/* Bootstrap address; borrowed. */
const char *harness_brokers(void);
/* The file the broker wrote its address to; borrowed. */
const char *harness_brokers_file(void);

/*
 * Runs gen_stream.py --seed seed --events events --now <wall clock> into
 * <run>/gen and loads expected.json. 0 or -1.
 */
int harness_gen(unsigned seed, int events);
/*
 * Runs python3 tests/tools/<script> args... --out <run>/gen (args: a
 * NULL-terminated list, borrowed) and loads the expected.json it writes,
 * taking its "prefix" if any. 0 or -1.
 */
int harness_gen_script(const char *script, char *const args[]);
/* Writes data (borrowed) to <run>/gen/<name>, creating the folder: an
 * org.yaml for harness_paced_config, or a stream for harness_produce_file,
 * when no generator runs. 0 or -1. */
int harness_gen_write(const char *name, const char *data);
/* The loaded expected.json; borrowed. */
const cJSON *harness_expected(void);
/* Number of lines of the generated stream. */
int64_t harness_stream_messages(void);

/*
 * Writes the config of instance `index` (connection part, then extra if
 * not NULL, then the generated org.yaml) and fills *p. 0 or -1. A
 * `batch:` in extra replaces the default batch settings.
 */
/* The host name daemons configured from now on give in redis.url
 * (borrowed; static storage): "localhost" has them resolve it. */
void harness_redis_host(const char *host);
int harness_paced_config(struct harness_paced *p, int index,
    const char *extra);
/* Adds key: value (borrowed, copied) to the kafka.properties of every
 * config written from now on. */
void harness_kafka_property(const char *key, const char *value);
/* Writes p's config again (same index, HTTP port and paths) from the
 * current org.yaml and extra, for a SIGHUP reload. 0 or -1. */
int harness_paced_rewrite(struct harness_paced *p, const char *extra);
/* Starts paced --config p->config, stderr to p->log; 0 or -1. */
int harness_paced_start(struct harness_paced *p);
/* Waits until GET /readyz answers 200; 0 or -1. */
int harness_paced_wait_ready(struct harness_paced *p, int timeout_ms);
/* True when the log of p's current run (after its last start) holds
 * needle (borrowed). */
bool harness_paced_logged(const struct harness_paced *p, const char *needle);
/* Waits until harness_paced_logged(p, needle); 0 or -1. */
int harness_paced_wait_log(const struct harness_paced *p, const char *needle,
    int timeout_ms);
/* Sends sig; with SIGKILL also reaps and clears p->pid. 0 or -1. */
int harness_paced_kill(struct harness_paced *p, int sig);

/*
 * GET path on 127.0.0.1:port (HTTP/1.0, plain socket). Sets *status and,
 * if body is not NULL, *body (owned, NUL-terminated; free()). 0 or -1 on
 * a connection or protocol failure.
 */
int harness_http_get(int port, const char *path, int *status, char **body);
/*
 * The JSON routes (harness_json.c); these assert through Criterion.
 * harness_get_json: GET path on port, *status set, the body parsed (owned;
 * cJSON_Delete). harness_get_ok: the same for a printf-style path,
 * asserting 200.
 */
cJSON *harness_get_json(int port, const char *path, int *status);
cJSON *harness_get_ok(int port, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* o's field name (borrowed); NULL when absent. */
const cJSON *harness_item(const cJSON *o, const char *name);
/* o's number name, asserting it is one. */
double harness_num(const cJSON *o, const char *name);
/* o's string name (borrowed), "" when absent or not a string. */
const char *harness_str(const cJSON *o, const char *name);
/* got within 1e-9 of want (relative; absolute below 1). */
bool harness_close_to(double got, double want);
/* Day number day (days since 1970-01-01) as YYYY-MM-DD in buf. */
void harness_day_text(int64_t day, char *buf, size_t len);

/*
 * A webhook receiver on the test's own event base (harness_hook.c), on a
 * free port of 127.0.0.1: every POST answered 200 and kept parsed (NULL
 * when not JSON; the first 64). Nothing is answered unless the test runs
 * the loop: harness_hook_run_until or harness_hook_drain. Torn down by
 * harness_teardown.
 */
/* Starts it; returns its port or -1. */
int harness_hook_start(void);
/* The posts received so far. */
size_t harness_hook_count(void);
/* Post i (borrowed; NULL past the count or when not JSON). */
const cJSON *harness_hook_post(size_t i);
/* Runs the loop until pred(arg) or timeout_ms (logged with what). */
bool harness_hook_run_until(bool (*pred)(void *), void *arg, int timeout_ms,
    const char *what);
/* Runs the loop for ms, so that the answers go out before the test
 * blocks (a receiver that does not answer within the webhook's timeout
 * gets the message again). */
void harness_hook_drain(int ms);
/* A sample of paced p's /metrics (series as for harness_metric); -1 when
 * absent or unreadable. */
double harness_paced_metric(const struct harness_paced *p,
    const char *series);
/* The weekday ("mon".."sun") three days before today (UTC): a week that
 * starts then holds now well inside it, so no week bucket ends during a
 * test. Static storage. */
const char *harness_week_start_3d_ago(void);
/*
 * Finds the sample `series` (e.g. paced_events_total{outcome="bad"}) in a
 * Prometheus text body; 0 and *v, or -1 when absent. A bare metric name
 * (no '{') matches its samples with any labels and returns their sum.
 */
int harness_metric(const char *body, const char *series, double *v);

/* Runs paced-produce on the generated stream and waits for it to exit;
 * rate 0 means as fast as possible. Returns its exit code or -1. */
int harness_produce(int rate);
/* The same, in the background; returns the pid or -1. */
pid_t harness_produce_start(int rate);
/* Runs paced-produce --keyed on <run>/gen/<name> (KEY<TAB>VALUE lines)
 * and waits for it to exit; returns its exit code or -1. */
int harness_produce_file(const char *name, int rate);

/* High watermarks of topic's partitions into hi[0..n); returns the
 * number of partitions, or -1. */
int harness_watermarks(const char *topic, int64_t *hi, int n);
/* Sum of the daemon's applied offsets (the P:offsets:<activity> hash);
 * -1 when Redis is unreachable. */
int64_t harness_applied(void);
/* The P:offsets:<activity> hash into off[0..n) (-1: no field); 0 or -1. */
int harness_applied_offsets(int64_t *off, int n);
/* The Kafka committed offsets of HARNESS_GROUP for the activity topic's
 * partitions into off[0..n) (RD_KAFKA_OFFSET_INVALID: none); 0 or -1. */
int harness_committed(int64_t *off, int n);
/* Predicate for harness_wait_until: the offsets hash equals every
 * partition's high watermark of the activity topic. arg unused. */
bool harness_caught_up(void *arg);
/* Waits for harness_caught_up and logs how long it took, then for
 * harness_wait_boards; 0 or -1. */
int harness_wait_caught_up(int timeout_ms);
/* The same without waiting for the leaderboards (a test that looks at
 * board values still waiting); on a timeout the same diagnostics. */
int harness_wait_counted(int timeout_ms);
/* Waits until harness_applied() >= n; 0 or -1 (boards may trail: see
 * harness_wait_boards). */
int harness_wait_applied(int64_t n, int timeout_ms);
/* Waits until every daemon started and still running has written the
 * leaderboard values it holds (its paced_board_values_pending is 0; one
 * that does not answer counts as done): boards trail the counters by
 * about leaderboards.flush_every. 0 or -1. */
int harness_wait_boards(int timeout_ms);
/* Logs each running daemon's ingest and board metrics and the end of its
 * log: what a wait that timed out needs to be understood. */
void harness_paced_diagnose(void);

/* Reads the whole topic (every partition from the start to its high
 * watermark). Returns 0 and fills *out (free with harness_msgs_free). */
int harness_read_topic(const char *topic, struct harness_msgs *out);
/* Frees what m holds (not m itself) and empties it. */
void harness_msgs_free(struct harness_msgs *m);
/* Borrowed value of header name in m, or NULL. */
const struct harness_header *harness_msg_header(const struct harness_msg *m,
    const char *name);

/*
 * Compares Redis with expected.json's counters: every expected hash, and
 * no rep or team counter key that is not expected. Prints the first
 * max_report differences; returns the number of differences.
 */
int harness_compare_redis(int max_report);

/*
 * Checks the dead-letter topic against expected.json's bad events: each
 * present exactly once (exact) or at least once, with the original key,
 * the expected paced.reason, and paced.source.partition/offset naming a
 * message of the activity topic with the same key and bytes; no other
 * message. A copy with the header paced.truncated matches when its value
 * is a prefix of the event's and the header holds the event's size.
 * Waits (bounded) for the topic to hold at least the expected count
 * first. Prints the first max_report problems; returns their count.
 */
int harness_check_dlq(bool exact, int max_report);
/* The same; with unknown_rep, the events of reps not on the roster are
 * expected too (unknown_rep: dlq), with paced.reason unknown_rep. */
int harness_check_dlq_with(bool exact, bool unknown_rep, int max_report);
/* DLQ messages seen with paced.truncated by the last check. */
int harness_dlq_truncated(void);

/*
 * Compares /metrics of the instance on port with expected.json's totals
 * (events by outcome, bad events by reason). Returns the number of
 * differences (printed when report), -1 if the endpoint cannot be read.
 */
int harness_check_metrics(int port, bool report);

#endif
