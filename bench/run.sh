#!/usr/bin/env bash
# bench/run.sh: the benchmarks `make bench` runs. Loopback only; every load is bounded.
# SPDX-License-Identifier: MIT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MAILFORT_BIN=${MAILFORT_BIN:-$here/../build/mailfort}
echo "== abuse shield overhead on the accept path"
/usr/bin/python3 "$here/accept_rate.py"
echo
echo "== mailfort vs Postfix (smtp-source 1/10/50 sessions, latency, memory per idle connection)"
bash "$here/peer.sh"
if [ -x "$here/../build/bench/dkim_bench" ]; then
  echo
  echo "== DKIM sign/verify vs raw OpenSSL on the same digest"
  "$here/../build/bench/dkim_bench" --benchmark_min_time=0.2
fi
