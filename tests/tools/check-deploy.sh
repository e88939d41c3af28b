#!/bin/sh
# Checks deploy/ on a machine with no Kafka, no container engine and no
# Kubernetes (`make test-deploy`, part of `make test`). What runs for real
# and what is only checked is listed in deploy/README.md ("What was run").
#
#  1. yamllint over every YAML file in deploy/ (deploy/.yamllint.yaml).
#  2. docker-compose (Debian's, 1.29) validates deploy/compose/compose.yaml
#     against the Compose schema, with and without the cluster profile;
#     `config` needs no engine.
#  3. The Kubernetes manifests against the API schemas shipped in the npm
#     package kubernetes-models (tests/tools/k8s-schema), offline once
#     installed under BUILD.
#  4. check-deploy.py: the Dockerfile against the Makefile, README.md and
#     `ldd BUILD/paced`; the manifests' and the compose file's fields that
#     matter, across files.
#  5. `paced --check-config` over the configs the image and the ConfigMap
#     carry.
#  6. For real: the image's health probe (deploy/docker/healthcheck.sh)
#     against a running paced (200 on /healthz, 503 on /readyz with no
#     broker, nothing on a closed port), and deploy/redis/cluster-create.sh
#     joining three loopback redis-servers into a cluster.
#
# usage: sh tests/tools/check-deploy.sh BUILD_DIR
set -u
BUILD=${1:-build}
PACED=$BUILD/paced
OUT=$BUILD/deploy-check
bad=0
step() { echo "== check-deploy: $*"; }
no() { echo "check-deploy: FAIL: $*" >&2; bad=1; }

[ -x "$PACED" ] || { echo "check-deploy: build $PACED first" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

step "yamllint deploy/"
yamllint -s -c deploy/.yamllint.yaml deploy/ || no "yamllint"

step "docker-compose config (default and cluster profiles)"
# A dead DOCKER_HOST proves that no engine is asked.
DOCKER_HOST=unix://$PWD/$OUT/no-engine.sock \
    docker-compose -f deploy/compose/compose.yaml config -q || no "compose config"
DOCKER_HOST=unix://$PWD/$OUT/no-engine.sock \
    docker-compose -f deploy/compose/compose.yaml --profile cluster config -q ||
    no "compose config --profile cluster"

step "Kubernetes schemas (kubernetes-models)"
SCHEMA=$BUILD/k8s-schema
command -v npm >/dev/null 2>&1 || sh tests/tools/deps.sh npm
if ! cmp -s tests/tools/k8s-schema/package-lock.json "$SCHEMA/package-lock.json" ||
    [ ! -d "$SCHEMA/node_modules" ]; then
	rm -rf "$SCHEMA"
	mkdir -p "$SCHEMA"
	cp tests/tools/k8s-schema/package.json tests/tools/k8s-schema/package-lock.json "$SCHEMA/"
	(cd "$SCHEMA" && npm ci --no-audit --no-fund --loglevel=error) || no "npm ci"
fi
cp tests/tools/k8s-schema/validate.mjs "$SCHEMA/"
manifests=""
for f in deploy/k8s/*.yaml; do
	[ "$f" = deploy/k8s/kustomization.yaml ] || manifests="$manifests $f"
done
# shellcheck disable=SC2086
node "$SCHEMA/validate.mjs" $manifests || no "Kubernetes schemas"

step "Dockerfile, manifests and compose file against each other"
python3 tests/tools/check-deploy.py "$BUILD" > "$OUT/configs" || no "check-deploy.py"
cat "$OUT/configs"

step "paced --check-config over the shipped configs"
while read -r tag name path envs; do
	[ "$tag" = "config:" ] || continue
	# shellcheck disable=SC2086
	env $envs "$PACED" --check-config "$path" || no "$name config: $path"
done < "$OUT/configs"
grep -q '^config: k8s ' "$OUT/configs" || no "no ConfigMap config was checked"
grep -q '^config: image ' "$OUT/configs" || no "no image config was checked"

# A free loopback port below 50000 whose port + 10000 is free too (a
# Redis Cluster node also listens there).
free_port() {
	python3 -c '
import random, socket
while True:
    p = random.randrange(20000, 50000)
    try:
        for q in (p, p + 10000):
            socket.socket().bind(("127.0.0.1", q))
    except OSError:
        continue
    print(p)
    break'
}

step "the health probe against a running paced"
HC=deploy/docker/healthcheck.sh
port=$(free_port)
dead=$(free_port)
sed "s/0\.0\.0\.0:9464/127.0.0.1:$port/" "$OUT/image/paced.yaml" > "$OUT/image/probe.yaml"
KAFKA_BROKERS=127.0.0.1:$dead REDIS_URL=redis://127.0.0.1:$dead/0 \
    "$PACED" --config "$OUT/image/probe.yaml" > "$OUT/probe-paced.log" 2>&1 &
ppid=$!
up=0
for _ in $(seq 50); do
	if bash "$HC" 127.0.0.1 "$port" /healthz 2>/dev/null; then up=1; break; fi
	sleep 0.1
done
[ "$up" = 1 ] || no "healthcheck: /healthz of a running paced did not pass"
bash "$HC" 127.0.0.1 "$port" /readyz 2>/dev/null &&
    no "healthcheck: /readyz passed with no broker and no Redis"
kill "$ppid" 2>/dev/null
wait "$ppid" 2>/dev/null
bash "$HC" 127.0.0.1 "$port" /healthz 2>/dev/null &&
    no "healthcheck: passed with paced stopped"
[ "$bad" = 0 ] && echo "healthcheck: 200 passes, 503 and a closed port fail"

step "cluster-create.sh against three redis-servers"
pids=""
nodes=""
for i in 1 2 3; do
	p=$(free_port)
	mkdir -p "$OUT/redis-c$i"
	(cd "$OUT/redis-c$i" && exec redis-server --port "$p" --bind 127.0.0.1 \
	    --cluster-enabled yes --cluster-config-file nodes.conf \
	    --save '' --appendonly no --logfile redis.log) &
	pids="$pids $!"
	nodes="$nodes localhost:$p"
done
REDIS_CLUSTER_NODES=$nodes WAIT_SECONDS=20 sh deploy/redis/cluster-create.sh \
    > "$OUT/cluster-create.log" 2>&1 || no "cluster-create.sh (see $OUT/cluster-create.log)"
first=${nodes# }
first=${first%% *}
masters=$(redis-cli -p "${first##*:}" cluster nodes 2>/dev/null | grep -c master)
state=$(redis-cli -p "${first##*:}" cluster info 2>/dev/null | tr -d '\r' | grep '^cluster_state:')
if [ "$masters" != 3 ] || [ "$state" != "cluster_state:ok" ]; then
	no "cluster-create.sh: $masters primaries, $state"
fi
REDIS_CLUSTER_NODES=$nodes sh deploy/redis/cluster-create.sh 2>&1 |
    grep -q 'up already' || no "cluster-create.sh: a second run did not leave the cluster alone"
# shellcheck disable=SC2086
kill $pids 2>/dev/null
wait 2>/dev/null
[ "$bad" = 0 ] && echo "cluster-create: 3 primaries, cluster_state:ok, second run a no-op"

if [ "$bad" = 0 ]; then
	echo "check-deploy: ok"
else
	echo "check-deploy: FAILED" >&2
fi
exit $bad
