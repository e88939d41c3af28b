#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with ASan and UBSan
# against the daemon's library built for fuzzing in BUILD, replays every
# input under tests/fuzz/regress/<target>/ through its target, then runs
# each target for SECONDS from its seed corpus tests/fuzz/corpus/<target>/.
# Exits non-zero if a build fails, a regression input fails again, or the
# fuzzer finds a crash, a leak, a timeout or undefined behaviour; the input
# that did it is left in BUILD (crash-*, leak-*, timeout-*): add it to
# tests/fuzz/regress/<target>/ with the fix.
#
# FUZZ_STEP=build only builds the targets (make test does it while the
# other tests run); FUZZ_STEP=run then replays and runs them as built.
# Unset, it does both.
#
# usage: fuzz.sh BUILD [SECONDS] [TARGET...]	(SECONDS per target, default 8)
set -eu

build=${1:?usage: fuzz.sh BUILD [SECONDS] [TARGET...]}
secs=${2:-8}
[ $# -ge 2 ] && shift 2 || shift $#
root=$(cd "$(dirname "$0")/../.." && pwd)
CC=${FUZZ_CC:-clang}
targets=${*:-decode config http reply roster alert_state}
step=${FUZZ_STEP:-both}
case "$step" in
build|run|both) ;;
*) echo "fuzz: FUZZ_STEP is build, run or unset, not $step" >&2; exit 2 ;;
esac

if [ "$step" != run ]; then
	make -C "$root" -s -j2 BUILD="$build" CC="$CC" SAN=fuzz OPT=-O1 \
		"$build/libpaced.a"
	lib=$(cd "$root" && cd "$build" && pwd)/libpaced.a
fi

# The longest input each target is run with: events and JSON stored from
# them reach 64 KiB, so every target that can see one goes past it.
max_len() {
	case "$1" in
	decode|reply|alert_state|http) echo 70000 ;;
	*) echo 8192 ;;
	esac
}

# The Makefile's PKGS: hiredis_ssl and OpenSSL when it found them.
pkgs="rdkafka libevent hiredis yaml-0.1 libcjson icu-i18n libcurl"
pkg-config --exists 'hiredis_ssl >= 1.0.0' 2>/dev/null &&
	pkgs="$pkgs hiredis_ssl openssl"

if [ "$step" != run ]; then
	for t in $targets; do
		out=$build/fuzz/$t
		mkdir -p "$out/corpus"
		# shellcheck disable=SC2046
		$CC -std=c11 -O1 -g -Wall -Wextra -Werror \
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
			-fno-omit-frame-pointer \
			-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I"$root/include" \
			$(pkg-config --cflags $pkgs) \
			"$root/tests/fuzz/fuzz_$t.c" "$lib" \
			$(pkg-config --libs $pkgs) \
			-lm -pthread -o "$out/fuzz_$t"
	done
fi
[ "$step" = build ] && exit 0

# run_target T: T's regression inputs, then T for $secs; 0, or 1 after
# saying what failed.
run_target() {
	t=$1
	out=$build/fuzz/$t
	[ -x "$out/fuzz_$t" ] || {
		echo "fuzz: $t: $out/fuzz_$t not built (FUZZ_STEP=build first)" >&2
		return 1
	}
	set --
	[ -f "$root/tests/fuzz/$t.dict" ] && set -- -dict="$root/tests/fuzz/$t.dict"
	# Every regression input once: the bugs they found stay fixed.
	regress=$root/tests/fuzz/regress/$t
	if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
		"$out/fuzz_$t" -runs=1 "$regress"/* >"$out/regress.log" 2>&1 || {
			cat "$out/regress.log"
			echo "fuzz: $t: a regression input fails again" >&2
			return 1
		}
		echo "fuzz: $t: $(ls "$regress" | wc -l) regression inputs pass"
	fi
	# New inputs go to the first folder; the seeds in the tree stay as
	# they are.
	seeds=
	for d in "$root/tests/fuzz/corpus/$t" "$root/tests/fixtures/$t"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	# shellcheck disable=SC2086
	"$out/fuzz_$t" "$@" -max_total_time="$secs" -max_len="$(max_len "$t")" \
		-timeout=10 -artifact_prefix="$build/fuzz/$t-" -print_final_stats=1 \
		"$out/corpus" $seeds >"$out/run.log" 2>&1 || {
		tail -60 "$out/run.log"
		echo "fuzz: $t: failed; see $out/run.log" >&2
		return 1
	}
	echo "fuzz: $t: $(grep -E '^stat::number_of_executed_units' "$out/run.log" |
		awk '{print $2}') runs in ${secs}s," \
		"$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$out/run.log" | tail -1)"
}

# A libFuzzer run is one process on one core: FUZZ_JOBS lanes (default 2,
# the cores of the machine `make test` is timed on) each run every
# FUZZ_JOBS-th target in turn, each target still for its $secs.
jobs=${FUZZ_JOBS:-2}
lanes=
lane=0
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for t in $targets; do
			[ $((i % jobs)) -eq "$lane" ] && { run_target "$t" || exit 1; }
			i=$((i + 1))
		done
	) &
	lanes="$lanes $!"
	lane=$((lane + 1))
done
rc=0
for pid in $lanes; do
	wait "$pid" || rc=1
done
exit "$rc"
