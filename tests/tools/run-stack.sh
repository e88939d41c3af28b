#!/bin/sh
# `make run`: the whole local stack in one terminal. Starts redis-server,
# the mock Kafka broker (paced-devbroker), a webhook receiver
# (paced-webhook), the demo producer and the daemon, each on free loopback
# ports, with state and logs in run/. Ctrl-C (or SIGTERM) stops them in
# reverse order: the daemon first, so it can finish its in-flight Redis
# writes and commit, then the producer, the webhook receiver, the broker
# and Redis. Exits non-zero if a component fails to start or dies.
#
# The demo stream follows the targets (paced-produce --backfill): it sends
# this week's history up to now first, and the daemon starts only once the
# broker holds it, so paced's first judgement of a rep sees its whole week
# (steady reps on pace, lagging and idle ones behind) rather than an empty
# day. Then the plan goes on live.
#
# usage: sh tests/tools/run-stack.sh [BUILD_DIR]   (default: build)
# Environment:
#   PACED_CONFIG           the config (default config/dev.yaml)
#   PACED_RUN_DIR          state and logs (default run)
#   PACED_DEMO_BACKFILL=0  a random stream at PACED_DEMO_RATE events/s
#                          (default 50) instead of the targets' plan
#   PACED_DEMO_KEEP_ALERTS=1  keep the alert state an earlier run left in
#                          Redis (by default it is cleared, so this run's
#                          alerts fire and reach the webhook again)
set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
RUN=${PACED_RUN_DIR:-run}
CONFIG=${PACED_CONFIG:-config/dev.yaml}
RATE=${PACED_DEMO_RATE:-50}
BACKFILL=${PACED_DEMO_BACKFILL:-1}
KEEP_ALERTS=${PACED_DEMO_KEEP_ALERTS:-0}

REDIS_PID=""; BROKER_PID=""; WEBHOOK_PID=""; PACED_PID=""; PRODUCE_PID=""
TAIL_PID=""
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
	stop paced-webhook "$WEBHOOK_PID" 5
	stop paced-devbroker "$BROKER_PID" 10
	stop redis-server "$REDIS_PID" 15
	trap '' INT TERM HUP
}

# A second Ctrl-C while stopping: no more waiting, kill what is left.
on_second_signal() {
	trap '' INT TERM HUP
	say "second signal: killing what is left"
	for pid in "$PACED_PID" "$TAIL_PID" "$PRODUCE_PID" "$WEBHOOK_PID" \
	    "$BROKER_PID" "$REDIS_PID"; do
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

# A config duration (500ms, 10s, 5m, 2h, 1d) in milliseconds.
duration_ms() {
	n=$(printf '%s' "$1" | sed -n 's/^\([0-9][0-9]*\)[a-z]*$/\1/p')
	[ -n "$n" ] || { echo 60000; return; }
	case $1 in
	*ms) echo "$n" ;;
	*s) echo $((n * 1000)) ;;
	*m) echo $((n * 60000)) ;;
	*h) echo $((n * 3600000)) ;;
	*d) echo $((n * 86400000)) ;;
	*) echo 60000 ;;
	esac
}

# wait_for_line FILE PATTERN SECONDS PID NAME: until FILE has a line
# matching PATTERN; fails if PID dies or the time runs out.
wait_for_line() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		alive "$4" || fail "$5 exited at startup" "$1"
		i=$((i + 1)); [ "$i" -le $(($3 * 10)) ] || fail "$5: no \"$2\" in $3 s" "$1"
		sleep 0.1
	done
}

for b in paced-devbroker paced-produce paced-webhook; do
	[ -x "$BUILD/$b" ] || { say "$BUILD/$b is missing: run make first"; exit 1; }
done
command -v redis-server >/dev/null 2>&1 ||
	{ say "redis-server not found: run make deps (Debian package redis-server)"; exit 1; }
[ -f "$CONFIG" ] || { say "$CONFIG is missing"; exit 1; }

mkdir -p "$RUN/redis" || exit 1
rm -f "$RUN/broker.addr" "$RUN/webhook.addr"
# shellcheck disable=SC2046 # two words: the ports
set -- $(free_ports)
REDIS_PORT=$1
HTTP_PORT=$2
HTTP="127.0.0.1:$HTTP_PORT"

# 1. Redis: AOF on, fsync every second, no RDB snapshots.
$DETACH redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN/redis" \
	--appendonly yes --appendfsync everysec --save "" --daemonize no \
	--hash-max-listpack-entries 128 \
	>"$RUN/redis.log" 2>&1 </dev/null &
REDIS_PID=$!
i=0
until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; do
	alive "$REDIS_PID" || fail "redis-server exited at startup" "$RUN/redis.log"
	i=$((i + 1)); [ "$i" -le 100 ] || fail "redis-server did not answer in 10 s" "$RUN/redis.log"
	sleep 0.1
done

# del_matching PATTERN: deletes the keys matching PATTERN.
del_matching() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "$1" |
	while read -r key; do
		redis-cli -p "$REDIS_PORT" del "$key" >/dev/null
	done
}

# The broker keeps nothing between runs, so partition watermarks an earlier
# run left in Redis point into a log that no longer exists, and paced
# would resume there and skip the new run's first messages: drop them.
# The counters and dedupe sets stay: the demo's events have the same ids
# on every run of a day, so a rerun counts nothing twice.
PREFIX=$(sed -n 's/^ *key_prefix: *"\{0,1\}\([A-Za-z0-9_.-]*\).*/\1/p' "$CONFIG" | head -n 1)
PREFIX=${PREFIX:-paced}
del_matching "$PREFIX:offsets:*"
# The alert state an earlier run left would keep this run's alerts quiet
# (they fire once, then repeat after repeat_interval): start afresh.
if [ "$KEEP_ALERTS" != 1 ]; then
	del_matching "$PREFIX:{rep:*}:alerts"
	redis-cli -p "$REDIS_PORT" del "$PREFIX:alerts:firing" "$PREFIX:alerts" >/dev/null
fi

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

# 3. The webhook receiver: digests' text on its stdout, kept in
# run/webhook.log (the log lines of the receiver itself go to stderr).
: >"$RUN/webhook.log"
$DETACH "$BUILD/paced-webhook" --addr-file "$RUN/webhook.addr" \
	>>"$RUN/webhook.log" 2>"$RUN/webhook.err" </dev/null &
WEBHOOK_PID=$!
i=0
until [ -s "$RUN/webhook.addr" ]; do
	alive "$WEBHOOK_PID" || fail "paced-webhook exited at startup" "$RUN/webhook.err"
	i=$((i + 1)); [ "$i" -le 100 ] || fail "paced-webhook wrote no address in 10 s" "$RUN/webhook.err"
	sleep 0.1
done
WEBHOOK_URL="http://$(head -n 1 "$RUN/webhook.addr")/paced"

# config/dev.yaml reads the addresses from these; the producer loads the
# same file for its roster, so it needs them too.
PACED_BROKERS=$BROKERS
PACED_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
PACED_HTTP_LISTEN=$HTTP
PACED_WEBHOOK_URL=$WEBHOOK_URL
# The demo's contests run this week, Monday to Sunday (UTC dates).
PACED_CONTEST_FROM=$(date -u -d "$(($(date -u +%u) - 1)) days ago" +%F)
PACED_CONTEST_TO=$(date -u -d "$((7 - $(date -u +%u))) days" +%F)
export PACED_BROKERS PACED_REDIS_URL PACED_HTTP_LISTEN PACED_WEBHOOK_URL \
	PACED_CONTEST_FROM PACED_CONTEST_TO

# 4. The demo stream. With the plan, its history is in the broker before
# paced starts: judged on half a week, every rep would look behind.
: >"$RUN/produce.log"
if [ "$BACKFILL" = 1 ]; then
	$DETACH "$BUILD/paced-produce" --synthetic --backfill --config "$CONFIG" \
		--brokers-file "$RUN/broker.addr" \
		>>"$RUN/produce.log" 2>&1 </dev/null &
	PRODUCE_PID=$!
	wait_for_line "$RUN/produce.log" "event=backfill_done" 120 "$PRODUCE_PID" paced-produce
	HISTORY=$(sed -n 's/.*event=backfill_done events=\([0-9]*\).*/\1/p' "$RUN/produce.log" | head -n 1)
	STREAM="this week's history ($HISTORY events), then live at the targets' pace"
else
	$DETACH "$BUILD/paced-produce" --synthetic --config "$CONFIG" \
		--brokers-file "$RUN/broker.addr" --rate "$RATE" \
		>>"$RUN/produce.log" 2>&1 </dev/null &
	PRODUCE_PID=$!
	sleep 1
	alive "$PRODUCE_PID" || fail "paced-produce exited at startup" "$RUN/produce.log"
	STREAM="random stream at $RATE events/s"
fi

# 5. The daemon, its log (and the webhook's digests) shown here. paced
# judges every rep it owns on a timer aligned to evaluate_every, whether
# or not it has read the history yet. Joining the group takes about 3 s
# and reading the history about 1 s, so start it just after a tick when
# the next one is close.
EVERY=$(sed -n 's/^ *evaluate_every: *"\{0,1\}\([0-9][0-9]*[a-z]*\).*/\1/p' "$CONFIG" | head -n 1)
EVERY_MS=$(duration_ms "${EVERY:-1m}")
if [ "$BACKFILL" = 1 ] && [ "$EVERY_MS" -ge 8000 ]; then
	NOW_MS=$(date +%s%3N)
	LEFT=$((EVERY_MS - NOW_MS % EVERY_MS))
	if [ "$LEFT" -lt 6000 ]; then
		W=$((LEFT + 200))
		sleep "$((W / 1000)).$(printf '%03d' $((W % 1000)))"
	fi
fi
if [ -x "$BUILD/paced" ]; then
	: >"$RUN/paced.log"
	$DETACH "$BUILD/paced" --config "$CONFIG" >>"$RUN/paced.log" 2>&1 </dev/null &
	PACED_PID=$!
	tail -n +1 -f --pid="$PACED_PID" "$RUN/paced.log" "$RUN/webhook.log" &
	TAIL_PID=$!
	i=0
	until curl -fsS -o /dev/null "http://$HTTP/readyz" 2>/dev/null; do
		alive "$PACED_PID" || fail "paced exited at startup" "$RUN/paced.log"
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			say "warning: paced is not ready after 30 s; going on"
			break
		fi
		sleep 0.1
	done
else
	say "warning: $BUILD/paced is not built; running the stack without the daemon"
fi

# The sample counter key uses today's date in r001's team zone (east).
TZ_EAST=$(sed -n 's/.*id: *east,.*timezone: *\([A-Za-z_/+-]*\).*/\1/p' "$CONFIG" | head -n 1)
TODAY=$(TZ=${TZ_EAST:-UTC} date +%F)
EXPECT=""
[ "$BACKFILL" = 1 ] && EXPECT=$("$BUILD/paced-produce" --expect --config "$CONFIG" 2>/dev/null)

# What the analytics topics have received so far: counted from the
# daemon's metrics (no Kafka CLI client ships), once the history is read
# (consumer lag 0), waiting at most 15 s.
ENRICHED=0; SNAPSHOTS=0
i=0
while [ -n "$PACED_PID" ] && [ "$i" -lt 150 ]; do
	METRICS=$(curl -fsS "http://$HTTP/metrics" 2>/dev/null)
	ENRICHED=$(printf '%s\n' "$METRICS" |
		sed -n 's/^paced_enriched_messages_total{result="delivered"} \([0-9]*\).*/\1/p')
	SNAPSHOTS=$(printf '%s\n' "$METRICS" |
		sed -n 's/^paced_snapshots_total{[^}]*} \([0-9]*\).*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')
	LAG=$(printf '%s\n' "$METRICS" | sed -n 's/^paced_consumer_lag \([0-9]*\).*/\1/p')
	[ "${LAG:-1}" = 0 ] && [ "${ENRICHED:-0}" != 0 ] && break
	i=$((i + 1))
	sleep 0.1
done

cat <<EOF

================================================================ paced stack
 Dashboard http://$HTTP/   (a team's board, scorecards and alerts, live;
           TV mode: http://$HTTP/?tv=1)
 HTTP      http://$HTTP
             curl -s http://$HTTP/healthz
             curl -s http://$HTTP/readyz
             curl -s http://$HTTP/metrics | grep '^paced_'
             curl -s 'http://$HTTP/v1/reps/r001/scorecard?period=day'
             curl -s 'http://$HTTP/v1/alerts?status=firing'
             curl -s http://$HTTP/v1/contests/call-race
             curl -s 'http://$HTTP/v1/teams/east/funnel?period=week'
 Redis     127.0.0.1:$REDIS_PORT   (data in $RUN/redis, AOF everysec)
             redis-cli -p $REDIS_PORT hget '$PREFIX:{s:4}:cnt:day:$TODAY' 'r001|calls'
             redis-cli -p $REDIS_PORT XRANGE $PREFIX:alerts - +
 Kafka     $BROKERS   (mock broker, in memory; also in $RUN/broker.addr)
 Analytics sales.activity.enriched: ${ENRICHED:-0} enriched events acknowledged so far
           sales.scorecards: ${SNAPSHOTS:-0} scorecard snapshots acknowledged so far
             curl -s http://$HTTP/metrics | grep -E '^paced_(enriched|snapshot)'
 Producer  $STREAM, from $CONFIG
 Webhook   $WEBHOOK_URL: digests per manager printed in
           $RUN/webhook.log (shown here after "==> $RUN/webhook.log <==")
 Logs      $RUN/paced.log (shown here), $RUN/produce.log, $RUN/broker.log, $RUN/redis.log
 Stop      Ctrl-C
EOF
if [ -n "$EXPECT" ]; then
	cat <<EOF
 Alerts    evaluated every ${EVERY:-1m}; none in the first share of a period's working
           time (alerts.grace); where each team is now:
$EXPECT
EOF
fi
cat <<EOF
=============================================================================

EOF

# Watch the components; a trapped signal interrupts the wait at once.
while :; do
	sleep 1 &
	wait $! 2>/dev/null
	for c in "paced:$PACED_PID:paced.log" "paced-produce:$PRODUCE_PID:produce.log" \
	    "paced-webhook:$WEBHOOK_PID:webhook.err" \
	    "paced-devbroker:$BROKER_PID:broker.log" "redis-server:$REDIS_PID:redis.log"; do
		name=${c%%:*}; rest=${c#*:}; pid=${rest%%:*}; log=${rest#*:}
		[ -n "$pid" ] || continue
		alive "$pid" || fail "$name exited unexpectedly" "$RUN/$log"
	done
done
