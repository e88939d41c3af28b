#!/bin/sh
# `make run`: the whole local stack in one terminal. Starts redis-server,
# the mock Kafka broker (paced-devbroker), the daemon and the synthetic
# demo producer, each on free loopback ports, with state and logs in run/.
# Ctrl-C (or SIGTERM) stops them in reverse order: the daemon first, so it
# can finish its in-flight Redis writes and commit, then the producer, the
# broker and Redis. Exits non-zero if a component fails to start or dies.
#
# usage: sh tests/tools/run-stack.sh [BUILD_DIR]   (default: build)
# Environment: PACED_CONFIG (default config/dev.yaml), PACED_DEMO_RATE
# (events/s of the demo stream, default 50).
set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
RUN=run
CONFIG=${PACED_CONFIG:-config/dev.yaml}
RATE=${PACED_DEMO_RATE:-50}

REDIS_PID=""; BROKER_PID=""; PACED_PID=""; PRODUCE_PID=""; TAIL_PID=""
STOPPING=0

say() { printf 'run-stack: %s\n' "$*"; }

# Detached from the terminal's process group, so Ctrl-C reaches only this
# script and the shutdown order below holds. setsid does not fork here
# (a background job is no group leader), so $! is the program's own pid.
if command -v setsid >/dev/null 2>&1; then DETACH=setsid; else DETACH=""; fi

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Prints the last lines of a component's log.
tail_log() {
	printf -- '---- %s (last 30 lines) ----\n' "$1"
	tail -n 30 "$1" 2>/dev/null
	printf -- '----\n'
}

# stop NAME PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL.
stop() {
	[ -n "$2" ] || return 0
	if alive "$2"; then
		say "stopping $1 (pid $2)"
		kill -TERM "$2" 2>/dev/null
		(
			i=0
			while [ "$i" -lt "$3" ]; do sleep 1; i=$((i + 1)); done
			kill -KILL "$2" 2>/dev/null && echo "run-stack: $1 did not stop in $3 s, killed"
		) &
		wd=$!
		wait "$2" 2>/dev/null
		# KILL: once a stop signal is being handled, TERM is ignored
		# here and in every subshell started since.
		kill -KILL "$wd" 2>/dev/null
		wait "$wd" 2>/dev/null
	else
		wait "$2" 2>/dev/null
	fi
}

stop_all() {
	[ "$STOPPING" -eq 1 ] && return 0
	STOPPING=1
	trap on_second_signal INT TERM HUP
	stop paced "$PACED_PID" 30
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
	stop paced-produce "$PRODUCE_PID" 35
	stop paced-devbroker "$BROKER_PID" 10
	stop redis-server "$REDIS_PID" 15
	trap '' INT TERM HUP
}

# A second Ctrl-C while stopping: no more waiting, kill what is left.
on_second_signal() {
	trap '' INT TERM HUP
	say "second signal: killing what is left"
	for pid in "$PACED_PID" "$TAIL_PID" "$PRODUCE_PID" "$BROKER_PID" "$REDIS_PID"; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	exit 1
}

# fail MESSAGE [LOG]: tells why, shows the log tail, stops the rest, exits 1.
fail() {
	say "$1"
	[ $# -ge 2 ] && tail_log "$2"
	stop_all
	exit 1
}

on_signal() {
	echo
	stop_all
	say "stopped"
	exit 0
}
trap on_signal INT TERM HUP
trap 'stop_all' EXIT

# Two free loopback ports, both held open while chosen so they differ.
free_ports() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
		return
	fi
	p=$((20000 + $$ % 20000)); found=""
	while [ "$(echo "$found" | wc -w)" -lt 2 ]; do
		ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || found="$found $p"
		p=$((p + 1))
	done
	# shellcheck disable=SC2086 # the words are the ports
	echo $found
}

for b in paced-devbroker paced-produce; do
	[ -x "$BUILD/$b" ] || { say "$BUILD/$b is missing: run make first"; exit 1; }
done
command -v redis-server >/dev/null 2>&1 ||
	{ say "redis-server not found: run make deps (Debian package redis-server)"; exit 1; }
[ -f "$CONFIG" ] || { say "$CONFIG is missing"; exit 1; }

mkdir -p "$RUN/redis" || exit 1
rm -f "$RUN/broker.addr"
# shellcheck disable=SC2046 # two words: the ports
set -- $(free_ports)
REDIS_PORT=$1
HTTP_PORT=$2
HTTP="127.0.0.1:$HTTP_PORT"

# 1. Redis: AOF on, fsync every second, no RDB snapshots.
$DETACH redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN/redis" \
	--appendonly yes --appendfsync everysec --save "" --daemonize no \
	>"$RUN/redis.log" 2>&1 </dev/null &
REDIS_PID=$!
i=0
until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; do
	alive "$REDIS_PID" || fail "redis-server exited at startup" "$RUN/redis.log"
	i=$((i + 1)); [ "$i" -le 100 ] || fail "redis-server did not answer in 10 s" "$RUN/redis.log"
	sleep 0.1
done

# The broker keeps nothing between runs, so partition watermarks an earlier
# run left in Redis point into a log that no longer exists, and paced
# would resume there and skip the new run's first messages: drop them.
# The counters and dedupe sets stay, so a day's numbers accumulate.
PREFIX=$(sed -n 's/^ *key_prefix: *"\{0,1\}\([A-Za-z0-9_.-]*\).*/\1/p' "$CONFIG" | head -n 1)
PREFIX=${PREFIX:-paced}
redis-cli -p "$REDIS_PORT" --scan --pattern "$PREFIX:offsets:*" |
while read -r key; do
	redis-cli -p "$REDIS_PORT" del "$key" >/dev/null
done

# 2. The broker; it writes its bootstrap address once it listens.
$DETACH "$BUILD/paced-devbroker" --addr-file "$RUN/broker.addr" \
	>"$RUN/broker.log" 2>&1 </dev/null &
BROKER_PID=$!
i=0
until [ -s "$RUN/broker.addr" ]; do
	alive "$BROKER_PID" || fail "paced-devbroker exited at startup" "$RUN/broker.log"
	i=$((i + 1)); [ "$i" -le 100 ] || fail "paced-devbroker wrote no address in 10 s" "$RUN/broker.log"
	sleep 0.1
done
BROKERS=$(head -n 1 "$RUN/broker.addr")

# config/dev.yaml reads the addresses from these; the producer loads the
# same file for its roster, so it needs them too.
PACED_BROKERS=$BROKERS
PACED_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
PACED_HTTP_LISTEN=$HTTP
export PACED_BROKERS PACED_REDIS_URL PACED_HTTP_LISTEN

# 3. The daemon, its log shown here and kept in run/paced.log.
if [ -x "$BUILD/paced" ]; then
	: >"$RUN/paced.log"
	$DETACH "$BUILD/paced" --config "$CONFIG" >>"$RUN/paced.log" 2>&1 </dev/null &
	PACED_PID=$!
	tail -n +1 -f --pid="$PACED_PID" "$RUN/paced.log" &
	TAIL_PID=$!
	i=0
	until curl -fsS -o /dev/null "http://$HTTP/healthz" 2>/dev/null; do
		alive "$PACED_PID" || fail "paced exited at startup" "$RUN/paced.log"
		i=$((i + 1))
		if [ "$i" -gt 150 ]; then
			say "warning: paced does not answer /healthz after 15 s; going on"
			break
		fi
		sleep 0.1
	done
else
	say "warning: $BUILD/paced is not built; running the stack without the daemon"
fi

# 4. The demo stream.
$DETACH "$BUILD/paced-produce" --synthetic --config "$CONFIG" \
	--brokers-file "$RUN/broker.addr" --rate "$RATE" \
	>"$RUN/produce.log" 2>&1 </dev/null &
PRODUCE_PID=$!
sleep 1
alive "$PRODUCE_PID" || fail "paced-produce exited at startup" "$RUN/produce.log"

# The sample counter key uses today's date in r001's team zone (east).
TZ_EAST=$(sed -n 's/.*id: *east,.*timezone: *\([A-Za-z_/+-]*\).*/\1/p' "$CONFIG" | head -n 1)
TODAY=$(TZ=${TZ_EAST:-UTC} date +%F)

cat <<EOF

================================================================ paced stack
 HTTP      http://$HTTP
             curl -s http://$HTTP/healthz
             curl -s http://$HTTP/readyz
             curl -s http://$HTTP/metrics | grep '^paced_'
             curl -s 'http://$HTTP/v1/reps/r001/scorecard?period=day'
 Redis     127.0.0.1:$REDIS_PORT   (data in $RUN/redis, AOF everysec)
             redis-cli -p $REDIS_PORT hgetall '$PREFIX:{rep:r001}:cnt:day:$TODAY'
 Kafka     $BROKERS   (mock broker, in memory; also in $RUN/broker.addr)
 Producer  synthetic stream at $RATE events/s from $CONFIG
 Logs      $RUN/paced.log (shown here), $RUN/produce.log, $RUN/broker.log, $RUN/redis.log
 Stop      Ctrl-C
=============================================================================

EOF

# Watch the components; a trapped signal interrupts the wait at once.
while :; do
	sleep 1 &
	wait $! 2>/dev/null
	for c in "paced:$PACED_PID:paced.log" "paced-produce:$PRODUCE_PID:produce.log" \
	    "paced-devbroker:$BROKER_PID:broker.log" "redis-server:$REDIS_PID:redis.log"; do
		name=${c%%:*}; rest=${c#*:}; pid=${rest%%:*}; log=${rest#*:}
		[ -n "$pid" ] || continue
		alive "$pid" || fail "$name exited unexpectedly" "$RUN/$log"
	done
done
