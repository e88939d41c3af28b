#!/bin/sh
# Joins empty Redis nodes started with `cluster-enabled yes` into one
# Redis Cluster, the hash slots spread evenly over the primaries. Safe to
# run again: a cluster that is already up is left alone.
#
# usage:
#   REDIS_CLUSTER_NODES="redis-c1:6379 redis-c2:6379 redis-c3:6379" \
#   sh deploy/redis/cluster-create.sh
#
# Environment:
#   REDIS_CLUSTER_NODES     host:port of every node (required); names are
#                           resolved here, because CLUSTER MEET takes
#                           addresses only
#   REDIS_CLUSTER_REPLICAS  replicas per primary (default 0: every node is
#                           a primary)
#   REDIS_CLI               path of redis-cli (default: from PATH)
#   REDISCLI_AUTH           the password, when the nodes require one
#   WAIT_SECONDS            how long to wait for the nodes (default 60)
set -eu

: "${REDIS_CLUSTER_NODES:?set REDIS_CLUSTER_NODES to host:port of every node}"
CLI=${REDIS_CLI:-redis-cli}
REPLICAS=${REDIS_CLUSTER_REPLICAS:-0}
WAIT=${WAIT_SECONDS:-60}

# cli HOST:PORT ARGS...
cli() {
	node=$1
	shift
	"$CLI" -h "${node%:*}" -p "${node##*:}" "$@"
}

for n in $REDIS_CLUSTER_NODES; do
	waited=0
	until cli "$n" ping >/dev/null 2>&1; do
		waited=$((waited + 1))
		if [ "$waited" -ge "$WAIT" ]; then
			echo "cluster-create: $n does not answer" >&2
			exit 1
		fi
		sleep 1
	done
done

# shellcheck disable=SC2086
set -- $REDIS_CLUSTER_NODES
first=$1
if cli "$first" cluster info | grep -q '^cluster_state:ok'; then
	echo "cluster-create: the cluster is up already"
	cli "$first" cluster nodes
	exit 0
fi

addrs=""
for n in $REDIS_CLUSTER_NODES; do
	host=${n%:*}
	ip=$(getent hosts "$host" | awk '{ print $1; exit }')
	addrs="$addrs ${ip:-$host}:${n##*:}"
done
# shellcheck disable=SC2086
"$CLI" --cluster create $addrs --cluster-replicas "$REPLICAS" --cluster-yes

waited=0
until cli "$first" cluster info | grep -q '^cluster_state:ok'; do
	waited=$((waited + 1))
	if [ "$waited" -ge "$WAIT" ]; then
		echo "cluster-create: the cluster did not reach state ok" >&2
		exit 1
	fi
	sleep 1
done
echo "cluster-create: ok"
cli "$first" cluster nodes
