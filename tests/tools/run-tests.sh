#!/bin/sh
# Runs Criterion test binaries one after another; stops at the first
# failing binary and prints a summary line of binaries passed and failed.
set -u
kind=$1; shift
pass=0; fail=0
for t in "$@"; do
	echo "== $kind: $t"
	if "$t" --jobs 1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "$kind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
