#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS [--keep]: run every built *_fuzzer for SECONDS each, with its seed corpus and
# the SMTP dictionary; exits 1 if any target crashes (the reproducer lands in fuzz/artifacts/).
# The committed seeds are copied to a scratch directory first. Without --keep (make fuzz) a run never changes
# the committed corpus; with --keep (make fuzz-long) what the run found is merged back into fuzz/corpus/<target>
# minimised (-merge=1: the smallest set of inputs with the same coverage), so the next run starts from it.
# FUZZ_TARGETS="a_fuzzer b_fuzzer" limits the run to those targets. A one-line summary per target
# (executions, coverage, corpus size, crashes) is printed at the end and written to fuzz/artifacts/summary.txt.
# SPDX-License-Identifier: MIT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build-fuzz}
secs=${2:-20}
keep=${3:-}
# BUILD_DIR may be absolute, relative to the current directory, or relative to the repository root.
if [ ! -d "$build" ] && [ -d "$root/$build" ]; then build="$root/$build"; fi
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh BUILD_DIR SECONDS" >&2
  exit 2
fi
mkdir -p "$here/artifacts"
shopt -s nullglob
targets=("$build"/fuzz/*_fuzzer)
if [ -n "${FUZZ_TARGETS:-}" ]; then
  targets=()
  for n in $FUZZ_TARGETS; do targets+=("$build/fuzz/$n"); done
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz/run.sh: no fuzz targets in $build/fuzz (configure with CC=clang CXX=clang++ -DMAILFORT_FUZZ=ON)" >&2
  exit 1
fi

# Longest input per target: enough to cross every limit the target sets, small enough to stay fast.
max_len_for() {
  case "$1" in
    address_fuzzer) echo 1200 ;;         # paths are <= 256 octets; parameter values up to 1000
    command_parser_fuzzer) echo 4096 ;;  # line limit up to 518 plus a 1024-byte discard budget
    data_reader_fuzzer) echo 8192 ;;     # max_bytes up to 4081, header cap 512
    *) echo 4096 ;;
  esac
}

# One target per core at a time (FUZZ_JOBS, default nproc): each gets the full SECONDS.
parallel=${FUZZ_JOBS:-$(nproc)}
results=$(mktemp -d)
run_one() {
  local t=$1 name seeds work log
  name=$(basename "$t")
  seeds="$here/corpus/$name"
  work=$(mktemp -d)
  log="$results/$name.log"
  if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/"; fi
  # fuzz/regressions/<target>/: reproducers of fixed crashes, replayed first on every run and never merged away.
  local extra=()
  if [ -d "$here/regressions/$name" ]; then extra=("$here/regressions/$name"); fi
  if "$t" "$work" "${extra[@]}" -dict="$here/dict/smtp.dict" -max_total_time="$secs" -max_len="$(max_len_for "$name")" \
       -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$here/artifacts/$name-" -print_final_stats=1 \
       >"$log" 2>&1; then
    touch "$results/$name.ok"
  fi
  if [ "$keep" = "--keep" ] && [ -e "$results/$name.ok" ]; then
    # Minimise committed seeds + new finds into a fresh directory, then make it the committed corpus.
    local merged
    merged=$(mktemp -d)
    mkdir -p "$seeds"
    if "$t" -merge=1 "$merged" "$seeds" "$work" -max_len="$(max_len_for "$name")" >"$results/$name.merge.log" 2>&1; then
      mkdir -p "$seeds"
      find "$seeds" -maxdepth 1 -type f -delete
      cp "$merged"/* "$seeds"/ 2>/dev/null || true
    fi
    rm -rf "$merged"
  fi
  rm -rf "$work"
}

echo "fuzz: ${#targets[@]} targets, ${secs}s each, $parallel at a time"
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
  run_one "$t" &
done
wait

status=0
passed=0
failed=0
: >"$here/artifacts/summary.txt"
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if [ -e "$results/$name.ok" ]; then
    execs=$(grep -E "stat::number_of_executed_units" "$results/$name.log" | tail -1 | awk '{print $2}' || true)
    cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$results/$name.log" | tail -1 || true)
    corp=$(find "$here/corpus/$name" -maxdepth 1 -type f 2>/dev/null | wc -l)
    echo "== $name: ${secs}s, $execs executions, $cov, corpus $corp files, 0 crashes" | tee -a "$here/artifacts/summary.txt"
    passed=$((passed + 1))
  else
    echo "!! $name: CRASH (reproducer in fuzz/artifacts/)" >>"$here/artifacts/summary.txt"
    echo "!! $name failed:"
    tail -40 "$results/$name.log"
    failed=$((failed + 1))
    status=1
  fi
done
rm -rf "$results"
echo "fuzz: $passed passed, $failed failed"
exit $status
