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
echo
echo "== crash test: kill -9 at random moments under load, ${DURABILITY_ROUNDS:-100} rounds (CI runs 20)"
DURABILITY_ROUNDS=${DURABILITY_ROUNDS:-100} /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  "$here/../tests/integration/test_durability.py" -k kill9_never_loses
if [ -x "$here/../build/bench/dkim_bench" ]; then
  echo
  echo "== DKIM sign/verify vs raw OpenSSL on the same digest"
  "$here/../build/bench/dkim_bench" --benchmark_min_time=0.2
fi
if [ -x "$here/../build/bench/data_reader_bench" ]; then
  echo
  echo "== DATA reader: wire bytes per second (5 KB message, 1 MB of base64 lines, dot-stuffed worst case)"
  "$here/../build/bench/data_reader_bench" --benchmark_min_time=0.2
fi
echo
echo "== IMAP through mailfort's Dovecot: login rate and FETCH of 1,000 messages, auth policy on and off"
/usr/bin/python3 "$here/imap_bench.py"
