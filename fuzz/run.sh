#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS: run every built *_fuzzer for SECONDS each, with its seed corpus and the
# SMTP dictionary; exits non-zero if any target crashes (the reproducer lands in fuzz/artifacts/).
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/artifacts"
status=0
shopt -s nullglob
targets=("$build"/fuzz/*_fuzzer)
if ((${#targets[@]} == 0)); then
  echo "fuzz/run.sh: no fuzz targets in $build/fuzz" >&2
  exit 1
fi
passed=0
failed=0
for t in "${targets[@]}"; do
  name=$(basename "$t")
  seeds="$here/corpus/$name"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds/." "$work/" 2>/dev/null || true
  echo "== $name: ${secs}s"
  if "$t" "$work" -dict="$here/dict/smtp.dict" -max_total_time="$secs" -max_len=4096 -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$here/artifacts/$name-" -print_final_stats=1 >"$work.log" 2>&1; then
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work.log" | tail -1 || true
    passed=$((passed + 1))
  else
    echo "!! $name failed:"
    tail -40 "$work.log"
    failed=$((failed + 1))
    status=1
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
exit $status
