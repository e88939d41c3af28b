/*
 * Integration test harness: a real Redis Cluster on loopback. Each node is
 * a redis-server in cluster mode (AOF everysec, data in the run folder,
 * client and bus ports both picked free), joined by `redis-cli --cluster
 * create`; slots are moved with `redis-cli --cluster reshard` and a
 * primary handed over with CLUSTER FAILOVER. While a cluster runs,
 * harness_redis_cmd follows MOVED and ASK like a cluster client, so the
 * oracle's reads work unchanged, and its SCAN runs on every primary.
 */

#include "harness.h"
#include "harness_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define CLUSTER_MAX_NODES	12

static struct {
	int		 n;
	int		 port[CLUSTER_MAX_NODES];
	int		 bus[CLUSTER_MAX_NODES];
	pid_t		 pid[CLUSTER_MAX_NODES];
	redisContext	*rc[CLUSTER_MAX_NODES];
	char		*yaml;
} C;

void
harness_cluster_reset(void)
{
	for (int i = 0; i < C.n; i++)
		if (C.rc[i] != NULL)
			redisFree(C.rc[i]);
	free(C.yaml);
	memset(&C, 0, sizeof C);
}

bool
harness_cluster_active(void)
{
	return C.n > 0;
}

int
harness_cluster_nodes(void)
{
	return C.n;
}

int
harness_cluster_port(int i)
{
	return i >= 0 && i < C.n ? C.port[i] : -1;
}

const char *
harness_cluster_yaml(void)
{
	return C.yaml;
}

static int
node_index(int port)
{
	for (int i = 0; i < C.n; i++)
		if (C.port[i] == port)
			return i;
	return -1;
}

/* A connected client of node i (cached), or NULL when it is down. */
static redisContext *
node_ctx(int i)
{
	struct timeval tv = { 1, 0 };

	if (C.rc[i] != NULL && C.rc[i]->err) {
		redisFree(C.rc[i]);
		C.rc[i] = NULL;
	}
	if (C.rc[i] == NULL && C.pid[i] > 0 && harness_alive(C.pid[i])) {
		C.rc[i] = redisConnectWithTimeout("127.0.0.1", C.port[i], tv);
		if (C.rc[i] != NULL && C.rc[i]->err) {
			redisFree(C.rc[i]);
			C.rc[i] = NULL;
		}
		if (C.rc[i] != NULL) {
			struct timeval ctv = { 5, 0 };

			redisSetTimeout(C.rc[i], ctv);
		}
	}
	return C.rc[i];
}

/* Sends the formatted command cmd[0..len) to node i; owned reply. */
static redisReply *
node_raw(int i, const char *cmd, size_t len, bool asking)
{
	redisContext *c = node_ctx(i);
	void *r = NULL;

	if (c == NULL)
		return NULL;
	if (asking) {
		redisAppendCommand(c, "ASKING");
		if (redisGetReply(c, &r) != REDIS_OK)
			return NULL;
		freeReplyObject(r);
		r = NULL;
	}
	if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK ||
	    redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

redisReply *
harness_cluster_node_cmd(int i, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int len;
	redisReply *r;

	if (i < 0 || i >= C.n)
		return NULL;
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	r = node_raw(i, cmd, (size_t)len, false);
	free(cmd);
	return r;
}

redisReply *
harness_cluster_vcmd(const char *fmt, va_list ap)
{
	char *cmd = NULL;
	int len, at = -1;
	bool asking = false;
	redisReply *r = NULL;

	if ((len = redisvFormatCommand(&cmd, fmt, ap)) < 0)
		return NULL;
	/* The first live node, then wherever the cluster sends us. */
	for (int i = 0; i < C.n && at == -1; i++)
		if (node_ctx(i) != NULL)
			at = i;
	for (int hop = 0; hop < 16 && at != -1; hop++) {
		char host[64];
		int slot, port;

		r = node_raw(at, cmd, (size_t)len, asking);
		if (r == NULL || r->type != REDIS_REPLY_ERROR)
			break;
		if (sscanf(r->str, "MOVED %d %63[^:]:%d", &slot, host,
		    &port) == 3)
			asking = false;
		else if (sscanf(r->str, "ASK %d %63[^:]:%d", &slot, host,
		    &port) == 3)
			asking = true;
		else if (strncmp(r->str, "TRYAGAIN", 8) == 0 ||
		    strncmp(r->str, "CLUSTERDOWN", 11) == 0) {
			harness_sleep_ms(100);
			freeReplyObject(r);
			r = NULL;
			continue;
		} else
			break;
		freeReplyObject(r);
		r = NULL;
		at = node_index(port);
	}
	free(cmd);
	return r;
}

/* True when node i answers ROLE as a primary. */
static bool
node_is_primary(int i)
{
	redisReply *r = harness_cluster_node_cmd(i, "ROLE");
	bool yes;

	yes = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "master") == 0;
	if (r != NULL)
		freeReplyObject(r);
	return yes;
}

int
harness_cluster_primaries(int *idx, int max)
{
	int n = 0;

	for (int i = 0; i < C.n && n < max; i++)
		if (node_is_primary(i))
			idx[n++] = i;
	return n;
}

static bool
all_pong(void *arg)
{
	(void)arg;
	for (int i = 0; i < C.n; i++) {
		redisReply *r = harness_cluster_node_cmd(i, "PING");
		bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

		if (r != NULL)
			freeReplyObject(r);
		if (!ok)
			return false;
	}
	return true;
}

/* Every live node says cluster_state:ok, and the primaries it knows of
 * own every slot. */
bool
harness_cluster_ok(void *arg)
{
	(void)arg;
	for (int i = 0; i < C.n; i++) {
		redisReply *r;
		bool ok;

		if (C.pid[i] <= 0 || !harness_alive(C.pid[i]))
			continue;
		r = harness_cluster_node_cmd(i, "CLUSTER INFO");
		ok = r != NULL && r->type == REDIS_REPLY_STRING &&
		    strstr(r->str, "cluster_state:ok") != NULL &&
		    strstr(r->str, "cluster_slots_ok:16384") != NULL;
		if (r != NULL)
			freeReplyObject(r);
		if (!ok)
			return false;
	}
	return true;
}

int
harness_cluster_start(int primaries, int replicas)
{
	char *argv[8 + CLUSTER_MAX_NODES];
	char addrs[CLUSTER_MAX_NODES][32], reps[16];
	char *log, *yaml;
	int n = primaries * (1 + replicas), a = 0, rc;

	if (n > CLUSTER_MAX_NODES || primaries < 3)
		return -1;
	for (int i = 0; i < n; i++) {
		char port[16], bus[16], *dir, *nlog;

		if ((C.port[i] = harness_free_port()) == -1 ||
		    (C.bus[i] = harness_free_port()) == -1)
			return -1;
		C.n = i + 1;
		snprintf(port, sizeof port, "%d", C.port[i]);
		snprintf(bus, sizeof bus, "%d", C.bus[i]);
		dir = harness_path("redis-%d", C.port[i]);
		nlog = harness_path("redis-%d.log", C.port[i]);
		harness_mkdirs(dir);
		{
			char *sargv[] = { "redis-server", "--port", port,
			    "--cluster-port", bus, "--bind", "127.0.0.1",
			    "--dir", dir, "--cluster-enabled", "yes",
			    "--cluster-config-file", "nodes.conf",
			    "--cluster-node-timeout", "1000",
			    "--appendonly", "yes", "--appendfsync", "everysec",
			    "--save", "", "--daemonize", "no", "--logfile", "",
			    NULL };

			C.pid[i] = harness_spawn(sargv, nlog);
		}
		free(dir);
		free(nlog);
		if (C.pid[i] == -1)
			return -1;
	}
	if (harness_wait_until(all_pong, NULL, HARNESS_WAIT_MS,
	    "every cluster node to answer PING") == -1)
		return -1;
	argv[a++] = "redis-cli";
	argv[a++] = "--cluster";
	argv[a++] = "create";
	for (int i = 0; i < n; i++) {
		snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", C.port[i]);
		argv[a++] = addrs[i];
	}
	snprintf(reps, sizeof reps, "%d", replicas);
	argv[a++] = "--cluster-replicas";
	argv[a++] = reps;
	argv[a++] = "--cluster-yes";
	argv[a] = NULL;
	log = harness_path("redis-cluster.log");
	rc = harness_run(argv, log, HARNESS_WAIT_MS);
	free(log);
	if (rc != 0) {
		harness_log("redis-cli --cluster create exited %d; see "
		    "redis-cluster.log", rc);
		return -1;
	}
	if (harness_wait_until(harness_cluster_ok, NULL, HARNESS_WAIT_MS,
	    "cluster_state:ok on every node") == -1)
		return -1;
	/* paced's seeds: the first nodes (primaries at creation). */
	yaml = xasprintf("  cluster:\n");
	for (int i = 0; i < primaries; i++) {
		char *y = xasprintf("%s    - \"redis://127.0.0.1:%d\"\n", yaml,
		    C.port[i]);

		free(yaml);
		yaml = y;
	}
	C.yaml = yaml;
	harness_redis_use_port(C.port[0]);
	harness_log("redis cluster: %d primaries, %d replicas each, ports "
	    "%d..", primaries, replicas, C.port[0]);
	return 0;
}

/* The node id of node i (owned) or NULL. */
static char *
node_id(int i)
{
	redisReply *r = harness_cluster_node_cmd(i, "CLUSTER MYID");
	char *id = NULL;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		id = xstrdup(r->str);
	if (r != NULL)
		freeReplyObject(r);
	return id;
}

int
harness_cluster_reshard(int from, int to, int nslots)
{
	char *fid = node_id(from), *tid = node_id(to), *log, addr[32], ns[16];
	int rc = -1;

	if (fid != NULL && tid != NULL) {
		char *argv[] = { "redis-cli", "--cluster", "reshard", addr,
		    "--cluster-from", fid, "--cluster-to", tid,
		    "--cluster-slots", ns, "--cluster-yes",
		    "--cluster-pipeline", "5", NULL };

		snprintf(addr, sizeof addr, "127.0.0.1:%d", C.port[from]);
		snprintf(ns, sizeof ns, "%d", nslots);
		log = harness_path("redis-cluster.log");
		rc = harness_run(argv, log, HARNESS_WAIT_MS * 2);
		free(log);
		harness_log("reshard of %d slots from node %d to node %d: exit "
		    "%d", nslots, from, to, rc);
	}
	free(fid);
	free(tid);
	return rc;
}

/* The node that owns slot, by CLUSTER SLOTS on a live node; -1. */
static int
slot_owner(int slot)
{
	int owner = -1;

	for (int i = 0; i < C.n && owner == -1; i++) {
		redisReply *r = harness_cluster_node_cmd(i, "CLUSTER SLOTS");

		for (size_t k = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    k < r->elements; k++) {
			const redisReply *e = r->element[k];

			if (e->elements >= 3 && e->element[0]->integer <= slot &&
			    slot <= e->element[1]->integer)
				owner = node_index((int)
				    e->element[2]->element[1]->integer);
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	return owner;
}

static bool
status_ok(redisReply *r)
{
	bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL && !ok)
		harness_log("redis: %s", r->type == REDIS_REPLY_ERROR ?
		    r->str : "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

int
harness_cluster_migrate_slot(int slot, int to, int pause_ms)
{
	int from = slot_owner(slot), moved = 0;
	char *fid, *tid;
	int rc = -1;

	for (int i = 0; i < C.n && to < 0 && from != -1; i++)
		if (i != from && C.pid[i] > 0 && node_is_primary(i))
			to = i;
	if (from == -1 || to < 0 || from == to)
		return -1;
	fid = node_id(from);
	tid = node_id(to);
	if (fid == NULL || tid == NULL ||
	    !status_ok(harness_cluster_node_cmd(to, "CLUSTER SETSLOT %d "
	    "IMPORTING %s", slot, fid)) ||
	    !status_ok(harness_cluster_node_cmd(from, "CLUSTER SETSLOT %d "
	    "MIGRATING %s", slot, tid)))
		goto out;
	for (;;) {
		redisReply *k = harness_cluster_node_cmd(from,
		    "CLUSTER GETKEYSINSLOT %d 1", slot);
		char key[512];

		if (k == NULL || k->type != REDIS_REPLY_ARRAY) {
			if (k != NULL)
				freeReplyObject(k);
			goto out;
		}
		if (k->elements == 0) {
			freeReplyObject(k);
			break;
		}
		snprintf(key, sizeof key, "%s", k->element[0]->str);
		freeReplyObject(k);
		if (!status_ok(harness_cluster_node_cmd(from, "MIGRATE "
		    "127.0.0.1 %d %s 0 5000", C.port[to], key)))
			goto out;
		moved++;
		harness_sleep_ms(pause_ms);
	}
	/* Every key moved, the slot not yet handed over: calls get ASK (2 s:
	 * longer than a recovery's pause after the TRYAGAIN phase). */
	harness_sleep_ms(2000);
	for (int i = 0; i < C.n; i++)
		if (C.pid[i] > 0 && node_is_primary(i))
			(void)status_ok(harness_cluster_node_cmd(i, "CLUSTER "
			    "SETSLOT %d NODE %s", slot, tid));
	rc = moved;
out:
	harness_log("slot %d from node %d to node %d: %d keys moved one by "
	    "one, %s", slot, from, to, moved, rc >= 0 ? "done" : "FAILED");
	free(fid);
	free(tid);
	return rc;
}

/* True when node i reports itself a primary. */
static bool
promoted(void *arg)
{
	return node_is_primary(*(int *)arg);
}

int
harness_cluster_wait_promoted(int replica)
{
	if (harness_wait_until(promoted, &replica, HARNESS_WAIT_MS,
	    "the replica to become primary") == -1)
		return -1;
	harness_log("node %d (port %d) is primary now", replica,
	    C.port[replica]);
	return harness_wait_until(harness_cluster_ok, NULL, HARNESS_WAIT_MS,
	    "cluster_state:ok after the failover");
}

int
harness_cluster_failover(int replica)
{
	redisReply *r = harness_cluster_node_cmd(replica, "CLUSTER FAILOVER");
	bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL)
		freeReplyObject(r);
	if (!ok) {
		harness_log("CLUSTER FAILOVER on node %d refused", replica);
		return -1;
	}
	return harness_cluster_wait_promoted(replica);
}

int
harness_cluster_replica_of(int primary)
{
	char *id = node_id(primary);
	int found = -1;

	for (int i = 0; i < C.n && id != NULL && found == -1; i++) {
		redisReply *r;

		if (i == primary)
			continue;
		r = harness_cluster_node_cmd(i, "CLUSTER NODES");
		if (r != NULL && r->type == REDIS_REPLY_STRING) {
			/* Its own line: "<id> <addr> myself,slave <master> ..." */
			const char *line = strstr(r->str, "myself,slave ");

			if (line != NULL && strncmp(line + 13, id,
			    strlen(id)) == 0)
				found = i;
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	free(id);
	return found;
}

void
harness_cluster_kill(int i)
{
	if (i < 0 || i >= C.n || C.pid[i] <= 0)
		return;
	if (C.rc[i] != NULL) {
		redisFree(C.rc[i]);
		C.rc[i] = NULL;
	}
	harness_kill_and_reap(C.pid[i]);
	harness_log("redis node %d (port %d) killed", i, C.port[i]);
	C.pid[i] = 0;
}
