#!/usr/bin/env bash
# bench/run.sh: the benchmarks `make bench` runs. Loopback only; every load is bounded.
# SPDX-License-Identifier: MIT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MAILFORT_BIN=${MAILFORT_BIN:-$here/../build/mailfort}
echo "== abuse shield overhead on the accept path"
/usr/bin/python3 "$here/accept_rate.py"
echo
echo "The side-by-side comparison with Postfix (smtp-source, 1/10/50 sessions, RSS per idle connection)"
echo "is not built yet: see the benchmark issue and bench/README.md."
