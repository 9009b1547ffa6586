# Makefile: the commands the README promises. Each target installs what it needs first.
# SPDX-License-Identifier: MIT
JOBS   ?= $(shell nproc)
BUILD  ?= build
PY     := /usr/bin/python3
# Unity builds: each target compiles as a few large translation units, which parses Asio, Beast and OpenSSL
# headers a few times instead of once per file (a cold build takes about half the CPU time).
UNITY  ?= -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16
# Debug information of the optimised builds: -g by default (CMake's own RelWithDebInfo flags). `make test` builds with
# -g1 (line tables only: backtraces and sanitizer reports keep file and line, gdb loses local variables), which
# takes 20% less CPU at -O2 (measured on the unity file of smtp/server*.cpp: 55 against 45 CPU-seconds).
GDEBUG ?= -g
RELFLAGS = -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $(GDEBUG) -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 $(GDEBUG) -DNDEBUG"
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo $(RELFLAGS) $(UNITY)
# TESTS=OFF builds mailfort and the tools the integration tests drive, without the unit tests and benchmarks
# (`make test` does this for its release binary: the unit tests run in the ASan+UBSan build).
TESTS  ?= ON

.PHONY: all deps build run test unit unit-run integration integration-run asan asan-build asan-unit-run \
  asan-integration-run fuzz fuzz-run fuzz-long fuzz-build bench clean format format-check tidy

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DMAILFORT_TESTS=$(TESTS) -DMAILFORT_BENCH=$(TESTS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/mailfort serve

unit: build
	$(MAKE) --no-print-directory unit-run
unit-run:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite runs on PYTEST_WORKERS processes (pytest-xdist): most tests wait on timers and peers, not the CPU (the
# release suite takes about 160 CPU-seconds in 140 s of wall time at 6 workers on two idle cores).
# Tests marked `serial` (heavy load, kill -9 timing) run afterwards, alone.
PYTEST_WORKERS ?= 6
PYTEST := $(PY) -m pytest -q -p no:cacheprovider
integration: build
	$(MAKE) --no-print-directory integration-run
integration-run:
	MAILFORT_BIN=$(CURDIR)/$(BUILD)/mailfort $(PYTEST) -n $(PYTEST_WORKERS) -m "not serial" tests/integration
	MAILFORT_BIN=$(CURDIR)/$(BUILD)/mailfort $(PYTEST) -m serial tests/integration

# Unit tests under ASan+UBSan, then the integration suite against the sanitized binary.
asan: asan-build
	$(MAKE) --no-print-directory asan-unit-run asan-integration-run
asan-build: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILFORT_SANITIZE=ON -DMAILFORT_TESTS=ON -DMAILFORT_BENCH=OFF \
	  $(UNITY) >/dev/null
	cmake --build build-asan -j $(JOBS)
asan-unit-run:
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)
ASAN_ENV := MAILFORT_BIN=$(CURDIR)/build-asan/mailfort MAILFORT_SANITIZED=1 \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan-integration-run:
	$(ASAN_ENV) $(PYTEST) -n $(PYTEST_WORKERS) -m "not serial" tests/integration
	$(ASAN_ENV) $(PYTEST) -m serial tests/integration

fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILFORT_FUZZ=ON $(RELFLAGS) \
	  $(UNITY) >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# Short run of every fuzz target (FUZZ_SECONDS each); crashes land in fuzz/artifacts/.
FUZZ_SECONDS ?= 20
fuzz: fuzz-build
	$(MAKE) --no-print-directory fuzz-run
fuzz-run:
	bash fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Long run before any parser change is called done (issue 14): FUZZ_LONG_SECONDS per target (default 10 min), one
# target per core, and what it finds is merged, minimised, into fuzz/corpus/<target> (commit it). Figures go
# into fuzz/README.md from fuzz/artifacts/summary.txt. FUZZ_TARGETS="x_fuzzer ..." picks targets.
FUZZ_LONG_SECONDS ?= 600
fuzz-long: fuzz-build
	bash fuzz/run.sh build-fuzz $(FUZZ_LONG_SECONDS) --keep

# Style: clang-format over every C++ file; `make format` rewrites, `make format-check` (part of `make test`) fails
# on any difference.
FORMAT_FILES = find src tests fuzz bench \( -name '*.cpp' -o -name '*.hpp' \) -print0
format: deps
	$(FORMAT_FILES) | xargs -0 clang-format -i
format-check: deps
	$(FORMAT_FILES) | xargs -0 clang-format --dry-run --Werror

# clang-tidy (.clang-tidy) on the pure cores: every file the fuzz build compiles, i.e. every parser of untrusted
# input. It reads the unity translation units (a few per library, as the builds compile them), which parses the
# headers a few times instead of once per file: about 30% less CPU. Findings in the included .cpp files are
# reported under their own names (HeaderFilterRegex). TIDY_ARGS='-checks=clang-analyzer-*' adds the static analyzer.
TIDY_ARGS ?=
tidy: deps
	@CC=clang CXX=clang++ cmake -S . -B build-tidy -DMAILFORT_FUZZ=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON $(UNITY) >/dev/null
	run-clang-tidy -quiet -j $(JOBS) -p build-tidy -extra-arg=-Wno-unknown-warning-option $(TIDY_ARGS) \
	  >build-tidy/tidy.log 2>&1 || { grep -E 'error:|warning:' build-tidy/tidy.log; exit 1; }
	@echo "clang-tidy: clean"

# Every stage: format-check, tidy, unit and integration tests (release and ASan+UBSan), a short fuzz run. The
# script overlaps the builds the tests do not need yet with the tests that wait on timers (see its header).
test: deps
	bash scripts/test.sh

bench: build
	bash bench/run.sh

clean:
	rm -rf build build-asan build-fuzz build-tidy
