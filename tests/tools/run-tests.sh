#!/bin/sh
# Runs Criterion test binaries, TEST_JOBS of them at a time (default 1),
# each with its output kept apart and printed whole when it ends; then a
# summary line of binaries passed and failed. Exits non-zero if any failed.
#
# The integration tests spend most of their time waiting on brokers,
# Redis and timers, not on the CPU, and each starts its own servers on
# free ports in its own run folder, so several at a time on two cores
# cut the wall time without starving one another.
#
# A binary named in TEST_IDLE (space-separated base names) spends its time
# waiting for the wall clock (a scheduled minute), not the CPU: it starts
# at once, takes no place of the TEST_JOBS, and runs its tests all at
# once (each waits on its own servers and run folder).
#
# usage: run-tests.sh KIND BINARY...
set -u
kind=$1; shift
jobs=${TEST_JOBS:-1}
idle=" ${TEST_IDLE:-} "
out=$(mktemp -d "${TMPDIR:-/tmp}/paced-tests.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT

# run_one INDEX BINARY KIND: output to $out/INDEX.log, result to
# $out/INDEX.rc, and $out/INDEX.KIND once reported (slot or idle).
run_one() {
	start=$(date +%s)
	n=1
	[ "$3" = idle ] && n=4
	"$2" --jobs "$n" >"$out/$1.log" 2>&1
	rc=$?
	echo "$rc $(($(date +%s) - start))" >"$out/$1.rc"
	{
		echo "== $kind: $2"
		cat "$out/$1.log"
		[ "$rc" -eq 0 ] || echo "FAILED: $2"
	} >"$out/$1.report"
	# One report at a time on the terminal.
	while ! mkdir "$out/lock" 2>/dev/null; do sleep 0.1; done
	cat "$out/$1.report"
	rmdir "$out/lock"
	: >"$out/$1.$3"
}

# How many of those holding a place have ended.
ended() { find "$out" -name '*.slot' | wc -l; }

# At most $jobs at a time: a new one starts as soon as any ends (not
# the oldest: a long one must not hold the other places idle).
i=0
slots=0
for t in "$@"; do
	i=$((i + 1))
	case "$idle" in
	*" $(basename "$t") "*)
		run_one "$i" "$t" idle &
		continue ;;
	esac
	while [ $((slots - $(ended))) -ge "$jobs" ]; do sleep 0.2; done
	slots=$((slots + 1))
	run_one "$i" "$t" slot &
done
wait

pass=0; fail=0; i=0
for t in "$@"; do
	i=$((i + 1))
	rc=1; secs=0
	[ -f "$out/$i.rc" ] && read -r rc secs <"$out/$i.rc"
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); result=ok
	else
		fail=$((fail + 1)); result=FAILED
	fi
	printf '%s: %4ss %-6s %s\n' "$kind" "$secs" "$result" "$t"
done
echo "$kind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
