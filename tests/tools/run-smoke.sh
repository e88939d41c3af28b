#!/bin/sh
# `make run`, checked: starts tests/tools/run-stack.sh (the whole local
# stack with the demo data) in a scratch run folder, requires the banner
# and the dashboard page at the address it gives, then, for the teams the
# banner says can alert at this hour, firing alerts in the daemon's log
# and a manager digest at the webhook receiver within a minute of the
# banner; then SIGTERM (what Ctrl-C does; a
# background job of a script ignores SIGINT) must stop it all
# cleanly, the daemon with exit=0.
#
# The demo runs on the wall clock, so what can alert depends on the hour:
# when no team can (a Monday morning before the week's grace share, say),
# only the start, the counting and the stop are checked, and it says so.
#
# usage: sh tests/tools/run-smoke.sh [BUILD_DIR]   (default: build)
set -u

cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/paced-run-smoke.XXXXXX") || exit 1
RUN=$tmp/run
OUT=$tmp/stack.out
WAIT_BANNER=90
WAIT_ALERTS=60

say() { printf 'run-smoke: %s\n' "$*"; }

PACED_RUN_DIR=$RUN sh tests/tools/run-stack.sh "$BUILD" >"$OUT" 2>&1 &
STACK=$!

finish() {
	say "$1"
	if [ "$2" -ne 0 ]; then
		printf -- '---- make run output (last 60 lines) ----\n'
		tail -n 60 "$OUT"
		printf -- '----\n'
	fi
	kill -TERM "$STACK" 2>/dev/null
	wait "$STACK" 2>/dev/null
	[ "$2" -eq 0 ] && rm -rf "$tmp"
	exit "$2"
}

# wait_for SECONDS COMMAND...: polls COMMAND every half second.
wait_for() {
	n=$(($1 * 2)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		kill -0 "$STACK" 2>/dev/null || return 1
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

banner() { grep -q '^=* paced stack' "$OUT" && grep -q '^====*$' "$OUT"; }
firing() { grep -q 'event=alert .*status=firing' "$RUN/paced.log" 2>/dev/null; }
digest() { grep -q 'POST /paced: digest for .* (answered 200)' "$RUN/webhook.log" 2>/dev/null; }
counted() { grep -q 'event=partition_caught_up' "$RUN/paced.log" 2>/dev/null; }

wait_for "$WAIT_BANNER" banner || finish "no banner within ${WAIT_BANNER}s" 1
say "stack up; run folder $RUN"
# The dashboard the banner names answers with the page and its script.
DASH=$(sed -n 's/^ Dashboard *\(http:[^ ]*\).*/\1/p' "$OUT" | head -n 1)
[ -n "$DASH" ] || finish "no dashboard address in the banner" 1
curl -fsS "$DASH" 2>/dev/null | grep -q '<script src="/assets/app.js"' ||
	finish "$DASH does not answer with the dashboard page" 1
curl -fsS -o /dev/null "${DASH}assets/app.js" 2>/dev/null ||
	finish "${DASH}assets/app.js does not answer" 1
say "dashboard at $DASH"
wait_for 30 counted || finish "the daemon never caught up with the demo history" 1

if grep -q ': alerting' "$OUT"; then
	teams=$(grep ': alerting' "$OUT" | awk '{print $1}' | tr '\n' ' ')
	say "teams that can alert now: $teams"
	wait_for "$WAIT_ALERTS" firing || finish "no firing alert within ${WAIT_ALERTS}s" 1
	wait_for "$WAIT_ALERTS" digest || finish "no webhook digest within ${WAIT_ALERTS}s" 1
	# Every alert of the demo is for a lagging or idle rep: the banner
	# names them, and a steady rep must stay quiet.
	expected=$(grep -o '(r[0-9][r0-9,]*)' "$OUT" | tr -d '()' | tr ',\n' '  ')
	for rep in $(grep -o 'event=alert .*status=firing.* rep=[^ ]*' "$RUN/paced.log" |
	    sed 's/.* rep=//' | sort -u); do
		case " $expected " in
		*" $rep "*) ;;
		*) finish "alert for $rep, which the demo keeps on pace" 1 ;;
		esac
	done
	say "$(grep -c 'event=alert .*status=firing' "$RUN/paced.log") firing alerts, $(grep -c 'digest for' "$RUN/webhook.log") digests"
else
	say "no team can alert at this hour (see the banner): start, counting and stop checked only"
fi

kill -TERM "$STACK"
wait "$STACK"
rc=$?
[ "$rc" -eq 0 ] || finish "make run exited $rc after Ctrl-C" 1
grep -q 'event=shutdown_complete exit=0' "$RUN/paced.log" ||
	finish "the daemon did not stop cleanly" 1
say "ok"
rm -rf "$tmp"
