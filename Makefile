# paced: plain Makefile. `make` builds build/paced; `make run` brings up
# the embedded stack; `make test` runs every test, then again under
# AddressSanitizer and UndefinedBehaviorSanitizer.

CC      ?= cc
BUILD   ?= build
SAN     ?=
OPT     ?= -O2

# Debian packages the build, the tests and `make run` need. BUILD_PKGS
# build build/paced and are what deploy/docker/Dockerfile installs
# (tests/tools/check-deploy.sh compares them).
BUILD_PKGS = build-essential pkg-config \
	librdkafka-dev libevent-dev libhiredis-dev libyaml-dev libcjson-dev \
	libicu-dev libcurl4-openssl-dev
DEB_PKGS = $(BUILD_PKGS) clang libclang-rt-14-dev \
	libcriterion-dev redis-server python3 tzdata openssl ca-certificates \
	yamllint docker-compose python3-yaml nodejs chromium fonts-dejavu-core
BENCH_PKGS = libjson-c-dev libjansson-dev python3-confluent-kafka python3-redis

PKGS     = rdkafka libevent hiredis yaml-0.1 libcjson icu-i18n libcurl
# TLS to Redis (rediss://) when hiredis is 1.x with hiredis_ssl; Debian
# 12's hiredis 0.14 has none, and such a build refuses rediss:// urls.
HIREDIS_SSL := $(shell pkg-config --exists 'hiredis_ssl >= 1.0.0' 2>/dev/null && echo 1)
ifeq ($(HIREDIS_SSL),1)
PKGS    += hiredis_ssl openssl
CFLAGS  += -DPACED_HIREDIS_SSL
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  += -std=c11 -pthread $(OPT) -g $(WARN) -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	-Iinclude $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -pthread

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# The library the fuzzers link (tests/tools/fuzz.sh): clang, coverage for
# libFuzzer, and decode.c's extra self-check.
ifeq ($(SAN),fuzz)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
endif

LIB_SRCS  = $(filter-out daemon/main.c,$(wildcard daemon/*.c))
# The dashboard's files, built into the binary (tools/embed-assets.sh).
DASH_ASSETS = $(sort $(wildcard daemon/dash/*.html daemon/dash/*.js \
	daemon/dash/*.css daemon/dash/*.svg))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/dash_assets.o
# tools/<name>.c is build/paced-<name>; synth.c is part of paced-produce.
TOOLS     = devbroker produce webhook
DEV_BINS  = $(TOOLS:%=$(BUILD)/paced-%)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INT_SRCS  = $(wildcard tests/integration/test_*.c) $(wildcard tests/regress/test_*.c)
INT_ALL   = $(INT_SRCS:tests/%.c=$(BUILD)/tests/%)
# The longest first, so that two at a time end together.
INT_LONG  = %/test_digests %/test_cluster %/test_pacing_week %/test_contests \
	%/test_http_reads_burst %/test_dlq %/test_reload %/test_enriched %/test_kill \
	%/test_group
# Tests that wait for the wall clock (a scheduled minute; the instant a
# past contest settles, then its closing looks) and barely use the CPU:
# they run beside the others, holding no place.
INT_IDLE  = test_digests test_contests
INT_BINS  = $(foreach l,$(INT_LONG),$(filter $(l),$(INT_ALL))) \
	$(filter-out $(INT_LONG),$(INT_ALL))
# The harness, one file per concern, linked into every integration test.
HARNESS_SRCS = $(wildcard tests/integration/harness*.c)
INT_HELPER = $(HARNESS_SRCS:%.c=$(BUILD)/%.o)
# The fault suite (tests/faults/): one scenario a binary, plus the soak.
FAULT_SRCS = $(wildcard tests/faults/test_fault_*.c)
FAULT_BINS = $(FAULT_SRCS:tests/%.c=$(BUILD)/tests/%)
FAULT_SOAK = $(BUILD)/tests/faults/soak
FAULT_OBJS = $(BUILD)/tests/faults/faults.o $(INT_HELPER)
# The bounded form `make test` runs: the quickest scenarios.
FAULT_BOUNDED = $(addprefix $(BUILD)/tests/faults/test_fault_,\
	script_flush request_errors lost_assignment client_kill)
BENCH_SRCS = $(wildcard tests/bench/bench_*.c)
BENCH_BINS = $(BENCH_SRCS:tests/%.c=$(BUILD)/tests/%)
# The end-to-end bench (tests/bench/e2e.py) and its C consumer.
BENCH_E2E = $(BUILD)/tests/bench/rawcount

.SECONDARY:

.PHONY: all deps run test test-unit test-integration test-browser test-faults \
	test-faults-bounded test-run test-san test-bins test-late-bins fuzz \
	fuzz-long lint test-deploy bench clean

all: $(BUILD)/paced $(DEV_BINS)

# Installs missing Debian packages; quick when all are present.
deps:
	@sh tests/tools/deps.sh $(DEB_PKGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/gen/dash_assets.c: $(DASH_ASSETS) tools/embed-assets.sh
	@mkdir -p $(dir $@)
	sh tools/embed-assets.sh $@ $(DASH_ASSETS)

$(BUILD)/gen/dash_assets.o: $(BUILD)/gen/dash_assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libpaced.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/paced: $(BUILD)/daemon/main.o $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/paced-%: $(BUILD)/tools/%.o $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/paced-produce: $(BUILD)/tools/produce.o $(BUILD)/tools/synth.o \
	$(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(INT_HELPER) $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/tests/regress/%: $(BUILD)/tests/regress/%.o $(INT_HELPER) $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/tests/faults/%.o: tests/faults/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/integration -c -o $@ $<

$(BUILD)/tests/faults/%: $(BUILD)/tests/faults/%.o $(FAULT_OBJS) $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(BUILD)/tests/bench/benchutil.o $(BUILD)/libpaced.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs json-c jansson 2>/dev/null)

run: deps all
	@sh tests/tools/run-stack.sh $(BUILD)

test-unit: all $(UNIT_BINS)
	@TEST_JOBS=$${TEST_JOBS:-2} sh tests/tools/run-tests.sh unit $(UNIT_BINS)

# Two at a time on two cores (three finished sooner, but a test that
# waits 30 s for alerts failed once under that load).
test-integration: all $(INT_BINS)
	@TEST_JOBS=$${TEST_JOBS:-2} TEST_IDLE="$(INT_IDLE)" \
	sh tests/tools/run-tests.sh integration $(INT_BINS)

# The dashboard in headless Chromium (tests/browser/dash_check.py, started
# by test_dashboard, which test-integration runs too); its screenshots stay
# in the test's run folder, build/tmp/dashboard-<pid>/.
test-browser: all $(BUILD)/tests/integration/test_dashboard
	@sh tests/tools/run-tests.sh integration $(BUILD)/tests/integration/test_dashboard

# Every fault scenario, then the soak (PACED_SOAK_SECONDS, default 600).
test-faults: all $(FAULT_BINS) $(FAULT_SOAK)
	@rm -f $(BUILD)/tmp/faults.txt
	@TEST_JOBS=1 sh tests/tools/run-tests.sh faults $(FAULT_BINS) $(FAULT_SOAK); \
	rc=$$?; cat $(BUILD)/tmp/faults.txt 2>/dev/null; exit $$rc

# The bounded form of the fault suite, part of `make test`.
test-faults-bounded: all $(FAULT_BOUNDED)
	@rm -f $(BUILD)/tmp/faults.txt
	@TEST_JOBS=$${TEST_JOBS:-2} sh tests/tools/run-tests.sh faults $(FAULT_BOUNDED); \
	rc=$$?; cat $(BUILD)/tmp/faults.txt 2>/dev/null; exit $$rc

# `make run` itself, in a scratch folder: alerts within a minute, clean stop.
test-run: all
	@sh tests/tools/run-smoke.sh $(BUILD)

lint:
	@sh tests/tools/lint.sh

# deploy/ checked without Kafka or a container engine: yamllint, compose
# and Kubernetes schemas, the image recipe against this Makefile and ldd.
test-deploy: $(BUILD)/paced
	@sh tests/tools/check-deploy.sh $(BUILD)

# The same suite, built with clang under ASan and UBSan in its own folder.
test-san:
	$(MAKE) -j2 BUILD=build/san CC=clang SAN=1 OPT=-O1 test-bins
	$(MAKE) BUILD=build/san CC=clang SAN=1 OPT=-O1 test-unit test-integration

# Every binary the unit and integration runs need (make test builds them
# first, two files at a time, then runs the tests one phase after another;
# the sanitizer build's are compiled beside the first build's tests, see
# test-late-bins).
test-bins: all $(UNIT_BINS) $(INT_BINS)

# libFuzzer targets (tests/fuzz/fuzz_*.c): replays tests/fuzz/regress/,
# then runs each for FUZZ_SECONDS (a few by default; hours with fuzz-long).
FUZZ_SECONDS ?= 8
fuzz:
	@sh tests/tools/fuzz.sh build/fuzz $(FUZZ_SECONDS)

fuzz-long: FUZZ_SECONDS = 3600
fuzz-long:
	@sh tests/tools/fuzz.sh build/fuzz $(FUZZ_SECONDS)

# The sanitizer build and the fuzz targets, which `make test` compiles at
# the lowest priority while the first build's tests run: those mostly wait
# on brokers, Redis and timers, and the compilers get only the CPU they
# leave (a test that wants it has it back at once).
test-late-bins:
	$(MAKE) -j2 BUILD=build/san CC=clang SAN=1 OPT=-O1 test-bins
	@FUZZ_STEP=build sh tests/tools/fuzz.sh build/fuzz

test: deps
	$(MAKE) lint
	$(MAKE) -j2 test-bins $(FAULT_BOUNDED)
	@mkdir -p build/tmp; \
	echo "test-late-bins: at nice 19 beside the tests, output in build/tmp/late-bins.log"; \
	nice -n 19 $(MAKE) test-late-bins >build/tmp/late-bins.log 2>&1 & late=$$!; \
	$(MAKE) test-deploy test-unit test-integration test-faults-bounded \
	    test-run; rc=$$?; \
	wait $$late; lrc=$$?; \
	[ $$lrc -eq 0 ] || { tail -n 40 build/tmp/late-bins.log; \
	    echo "test-late-bins failed; see build/tmp/late-bins.log"; }; \
	[ $$rc -eq 0 ] && [ $$lrc -eq 0 ]
	$(MAKE) test-san
	FUZZ_STEP=run $(MAKE) fuzz

bench: deps
	@sh tests/tools/deps.sh $(BENCH_PKGS)
	$(MAKE) all $(BENCH_BINS) $(BENCH_E2E)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	@echo "== tests/bench/e2e.py"; /usr/bin/python3 tests/bench/e2e.py $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
