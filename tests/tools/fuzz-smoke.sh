#!/bin/sh
# Builds the decode fuzzer (libFuzzer with ASan and UBSan) into BUILD/fuzz
# and runs it from the seed corpus for a bounded number of runs. Exits
# non-zero if the build fails or the fuzzer finds a crash, a leak or
# undefined behaviour; the input that did it is left in BUILD/fuzz.
#
# usage: fuzz-smoke.sh BUILD [RUNS]	(RUNS defaults to 200000)
set -eu

build=${1:?usage: fuzz-smoke.sh BUILD [RUNS]}
runs=${2:-200000}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$build/fuzz
CC=${FUZZ_CC:-clang}

mkdir -p "$out/corpus-decode"

# decode.c aborts where its syntax check and cJSON disagree only in this
# mode; the daemon's own build calls such input invalid_json instead.
# shellcheck disable=SC2046
$CC -std=c11 -O1 -g -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I"$root/include" \
	$(pkg-config --cflags libcjson icu-i18n libevent) \
	"$root/tests/fuzz/fuzz_decode.c" "$root/daemon/decode.c" \
	"$root/daemon/caltime.c" "$root/daemon/xmalloc.c" "$root/daemon/log.c" \
	$(pkg-config --libs libcjson icu-i18n libevent) -lm \
	-o "$out/fuzz_decode"

# JSON and contract tokens help the mutator past the syntax check.
cat >"$out/decode.dict" <<'EOF'
"{"
"}"
"["
"]"
":"
","
"\""
"\\"
"\\u"
"\\u0000"
"\\ud83d\\ude00"
"\\ud800"
"true"
"false"
"null"
"-0"
"1e400"
"1.5"
"10000"
"\"event_id\":"
"\"rep_id\":"
"\"type\":"
"\"occurred_at\":"
"\"count\":"
"\"amount\":"
"\"team_id\":"
"\"manager_id\":"
"\"role\":"
"\"2026-11-23T14:05:00Z\""
"\"2026-11-23T14:05:00.123-05:00\""
"\xc3\xa9"
"\xed\xa0\x80"
"\xf4\x90\x80\x80"
EOF

# New inputs go to the first folder; the seeds in the tree stay as they are.
"$out/fuzz_decode" -runs="$runs" -max_len=4096 -dict="$out/decode.dict" \
	-artifact_prefix="$out/" -print_final_stats=1 \
	"$out/corpus-decode" "$root/tests/fuzz/corpus/decode"

# The config loader: any bytes give a config or error text, never a crash.
mkdir -p "$out/corpus-config"
# shellcheck disable=SC2046
$CC -std=c11 -O1 -g -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer \
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I"$root/include" \
	$(pkg-config --cflags rdkafka yaml-0.1 icu-i18n libevent) \
	"$root/tests/fuzz/fuzz_config.c" "$root/daemon/config.c" \
	"$root/daemon/config_yaml.c" "$root/daemon/config_org.c" \
	"$root/daemon/config_roster.c" "$root/daemon/netaddr.c" \
	"$root/daemon/partitioner.c" \
	"$root/daemon/caltime.c" "$root/daemon/xmalloc.c" "$root/daemon/log.c" \
	$(pkg-config --libs rdkafka yaml-0.1 icu-i18n libevent) -lm \
	-o "$out/fuzz_config"
"$out/fuzz_config" -runs="$((runs / 4))" -max_len=4096 \
	-artifact_prefix="$out/" -print_final_stats=1 \
	"$out/corpus-config" "$root/tests/fixtures/config"
