# Thin driver over CMake. `make demo` and `make test` are the quick start.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build cli demo test clean install soak

all: build

# Installs the Debian packages when run as root; otherwise says what to run.
deps:
	@scripts/ensure-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Only the CLI, build/msglog: what the demos run.
cli: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target msglog_cli

# The story demo (one process, three replicas), then the network demo (a
# relay and three devices as real processes on 127.0.0.1). The build's
# output is shown only if it fails, so the story comes first.
demo: deps
	@echo "building $(BUILD)/msglog (the output is shown only if it fails)"
	@scripts/quietly.sh $(MAKE) --no-print-directory cli
	@$(BUILD)/msglog demo
	@scripts/demo-net.sh $(BUILD)/msglog

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The long convergence run (not part of `make test`): SCHEDULES random
# schedules of 3 to 8 replicas; a failing one prints its seed.
SCHEDULES ?= 100000
soak: build
	MSGLOG_SCHEDULES=$(SCHEDULES) MSGLOG_MAX_REPLICAS=8 $(BUILD)/tests/api_test_random --jobs 1

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)

# Benchmarks (bench/run.py): `make bench` writes docs/benchmarks.md at 1M ops;
# `make bench-quick` runs the same at tiny scale and only checks the results.
.PHONY: bench bench-quick
bench: deps
	python3 bench/run.py

bench-quick: deps
	python3 bench/run.py --quick

# libFuzzer on every decoder (clang, ASan + UBSan; fuzz/RESULTS.md): each
# target in turn for FUZZ_SECONDS seconds, at nice 19.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

# Crash safety, long mode (tests/crash/test_crash.c; not part of `make test`):
# KILLS kills of a writer process with SIGKILL at random moments, each
# followed by a reopen and a check of its stores, at nice 19. MSGLOG_SEED=<n>
# reuses a run's seed (sleeps and writer choices; where each kill lands still
# depends on timing).
KILLS ?= 1000
.PHONY: crash-long
crash-long: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target crash_test_crash
	MSGLOG_KILLS=$(KILLS) nice -n 19 $(BUILD)/tests/crash_test_crash --jobs 1
