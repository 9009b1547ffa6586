#!/usr/bin/env bash
# scripts/test.sh: what `make test` runs: every stage, the slow ones overlapped so that two cores stay busy.
# SPDX-License-Identifier: MIT
#
# The integration suites spend most of their time waiting on timers and peers (about half of two cores is idle
# while they run). The builds they do not need yet (ASan, fuzz) and clang-tidy run beside them at nice 19, so
# the tests keep the CPU whenever they want it. Order:
#   1. format-check, release build without unit tests (TESTS=OFF)  (foreground)
#   2. integration, release binary                                 (foreground)
#      ASan build, unit tests included                             (background, nice 19)
#   3. unit + integration, ASan binary                             (foreground)
#      fuzz build, clang-tidy, short run of every fuzz target      (background, nice 19; each target time-bounded)
# The unit tests are built and run once, under ASan+UBSan: building them twice cost about 9 CPU-minutes, and the
# sanitized run is the one that finds more. The integration suite runs on both binaries: the release one is
# what ships, the sanitized one catches memory errors on every path the suite drives.
# The whole is bound by CPU time (three builds), so nothing that the next foreground stage does not need is waited for.
# What keeps that CPU time down (each measured; see the files named): the release and fuzz builds keep line tables
# only (GDEBUG=-g1, Makefile); UBSan's vptr check is off and the unit tests' own files get ASan only
# (cmake/sanitizers.cmake); the integration fixtures add users from a cached argon2id hash (tests/integration/mf.py:
# hashing at every server start was half the suite's CPU).
# Every stage prints its wall time; a failing background stage prints its log. TEST_SERIAL=1 runs the stages one
# after another (for timing one stage, or on a machine where the overlap disturbs something).
set -uo pipefail
set -m  # each background stage gets its own process group, so a failure can stop it with everything it started
cd "$(dirname "$0")/.."
make_=(make --no-print-directory)
logdir=$(mktemp -d)
stop_background() {
  local f
  for f in "$logdir"/*.pid; do
    [ -e "$f" ] && kill -- "-$(cat "$f")" 2>/dev/null
  done
  return 0
}
trap 'stop_background; rm -rf "$logdir"' EXIT
t0=$(date +%s)

stage() {  # stage NAME CMD...: run in the foreground, report time, stop everything on failure
  local name=$1 s
  shift
  s=$(date +%s)
  echo "=== $name"
  if ! "$@"; then
    echo "=== $name: FAILED after $(($(date +%s) - s)) s" >&2
    exit 1
  fi
  echo "=== $name: ok in $(($(date +%s) - s)) s (total $(($(date +%s) - t0)) s)"
}

bg_start() {  # bg_start NAME CMD...: run at nice 19 with output to a log; bg_wait NAME collects it
  local name=$1
  shift
  if [ "${TEST_SERIAL:-}" = 1 ]; then
    stage "$name" "$@"
    return
  fi
  echo "=== $name (in the background)"
  (
    s=$(date +%s)
    if nice -n 19 "$@" >"$logdir/$name.log" 2>&1; then
      echo "ok $(($(date +%s) - s))" >"$logdir/$name.rc"
    else
      echo "FAILED $(($(date +%s) - s))" >"$logdir/$name.rc"
    fi
  ) &
  echo $! >"$logdir/$name.pid"
}

bg_wait() {
  local name=$1 r
  [ -e "$logdir/$name.pid" ] || return 0
  wait "$(cat "$logdir/$name.pid")"
  rm -f "$logdir/$name.pid"
  r=$(cat "$logdir/$name.rc")
  if [ "${r%% *}" != ok ]; then
    tail -n 200 "$logdir/$name.log"
    echo "=== $name: FAILED after ${r#* } s" >&2
    exit 1
  fi
  tail -n 3 "$logdir/$name.log"
  echo "=== $name: ok in ${r#* } s (total $(($(date +%s) - t0)) s)"
}

stage deps "${make_[@]}" deps
stage format-check "${make_[@]}" format-check
stage build "${make_[@]}" build TESTS=OFF GDEBUG=-g1

bg_start asan-build "${make_[@]}" asan-build
stage integration "${make_[@]}" integration-run
bg_wait asan-build

# One background chain: the fuzz build, clang-tidy and the fuzz run, one after another.
bg_start fuzz-and-tidy bash -c "${make_[*]} fuzz-build GDEBUG=-g1 && ${make_[*]} tidy && ${make_[*]} fuzz-run FUZZ_SECONDS=${FUZZ_SECONDS:-10}"
stage asan-unit "${make_[@]}" asan-unit-run
stage asan-integration "${make_[@]}" asan-integration-run
bg_wait fuzz-and-tidy
echo "=== make test: every stage passed in $(($(date +%s) - t0)) s"
