#!/bin/sh
# Instructions per event of each stage of bench_ingest (tests/bench/
# bench_ingest.c), counted by callgrind: deterministic where wall-clock
# and CPU time are not on a shared machine. Prints, per stage, its
# inclusive instruction count divided by the events, and the sum.
#
# usage: callgrind-stages.sh [BUILD]	(default build; BENCH_INGEST_* as
# bench_ingest reads them)
set -eu
build=${1:-build}
events=${BENCH_INGEST_EVENTS:-50000}
stages="classify batch_add enriched_add enriched_release redis_apply_counters shard_reply"
out=$(mktemp -d "${TMPDIR:-/tmp}/paced-callgrind.XXXXXX")
trap 'rm -rf "$out"' EXIT
toggles=
for s in $stages; do toggles="$toggles --toggle-collect=$s"; done
# shellcheck disable=SC2086
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" $toggles \
	"$build/tests/bench/bench_ingest" >"$out/bench.txt" 2>"$out/valgrind.txt" || {
	cat "$out/bench.txt" "$out/valgrind.txt"; exit 1; }
cat "$out/bench.txt"
callgrind_annotate --inclusive=yes --threshold=100 "$out/cg.out" >"$out/ann.txt"
# Lines read: "  1,234,567 (12.3%)  daemon/x.c:fn [binary]" (or without
# the percentage in older versions).
awk -v events="$events" -v stages="$stages" '
BEGIN { n = split(stages, s, " ") }
{
	for (i = 1; i <= n; i++)
		if ($0 ~ (":" s[i] " ") && !(s[i] in seen)) {
			v = $1; gsub(",", "", v); seen[s[i]] = v
		}
}
END {
	total = 0
	for (i = 1; i <= n; i++) {
		v = (s[i] in seen) ? seen[s[i]] : 0
		total += v
		printf "  %-22s %10.0f instructions per event\n", s[i], v / events
	}
	printf "  %-22s %10.0f instructions per event\n", "all stages", total / events
}' "$out/ann.txt"
# The heaviest functions inside the stages, once each, per event.
echo "  inside them (inclusive, per event):"
grep -E '^ *[0-9,]+ .*\[' "$out/ann.txt" | head -32 |
	awk -v events="$events" '{ v = $1; gsub(",", "", v);
	printf "    %8.0f  %s\n", v / events, $NF == "" ? $0 : $(NF - 1) }'
