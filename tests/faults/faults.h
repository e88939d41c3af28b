#ifndef PACED_FAULTS_H
#define PACED_FAULTS_H

/*
 * The fault suite (tests/faults/): one scenario per test binary, each a
 * steady produced load through real redis-server and the mock cluster
 * while one kind of fault strikes, then every counter checked exact
 * against the generator's oracle, the dead-letter topic checked against
 * the bad events, and the alerts topic checked for any message sent
 * twice. Each scenario prints one line (fault_report):
 *
 *   fault: <scenario> produced=N counted=N duplicates=N bad=N alerts=N
 *          mismatches=N
 *
 * produced: messages on the activity topic (high watermarks); counted:
 * distinct events in Redis's dedupe sets; bad: distinct activity offsets
 * on the dead-letter topic; duplicates: produced - counted - bad -
 * skipped (the stream's duplicates, as Redis and the DLQ show them);
 * alerts: distinct alert messages (alert_id, status, reason) on the
 * alerts topic. mismatches: every difference found, 0 to pass.
 *
 * Scenario sizes: PACED_FAULT_EVENTS (default 12000 events).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

#define FAULT_LOCAL_BROKER	0x1	/* the mock in-process, for injection */
#define FAULT_12_PARTITIONS	0x2	/* 12 partitions a topic, not 6 */
#define FAULT_CLUSTER		0x4	/* a 3-primary Redis Cluster, not one
					 * redis-server */
#define FAULT_REPLICAS		0x8	/* with FAULT_CLUSTER: a replica each */

/* Stream size for a scenario: PACED_FAULT_EVENTS or def. */
int fault_events(int def);
/*
 * The stack: run folder, redis-server, the broker (the dev broker, or
 * with FAULT_LOCAL_BROKER the mock hosted in this process), a generated
 * stream of events, and an org whose every hour is working time with
 * alerts judged every second, so alerts fire during the run. 0 or -1.
 */
int fault_stack(const char *name, unsigned seed, int events, int flags);
/* A paced instance with index i, configured and started; waits ready
 * when wait is true. 0 or -1. */
int fault_paced(struct harness_paced *p, int i, bool wait);
/* A pseudo-random number in [lo, hi] from the scenario's seed. */
int fault_rand(int lo, int hi);
/* Sleeps ms milliseconds (a fault's duration, not a wait for a state). */
void fault_sleep_ms(int ms);
/* Waits for the producer to exit 0 and the daemons to catch up; 0 or -1. */
int fault_finish(pid_t prod);
/*
 * Checks everything against the oracle (copies: how many times the
 * stream was produced; dlq_exact: each bad event on the DLQ exactly once)
 * and prints the scenario's line. Returns the mismatches.
 */
int fault_report(const char *scenario, int copies, bool dlq_exact);
/* Rewrites p's config for consumer group `group` (borrowed): a group
 * without committed offsets, which starts at offset 0. 0 or -1. */
int fault_regroup(struct harness_paced *p, const char *group);
/* The resident set (kB) and the open descriptors of pid; -1 if gone. */
long fault_rss_kb(pid_t pid);
long fault_fds(pid_t pid);
/* Redis INFO memory used_memory, bytes; -1 if unreachable. */
long long fault_redis_memory(void);

#endif
