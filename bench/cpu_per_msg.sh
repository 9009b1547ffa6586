#!/usr/bin/env bash
# bench/cpu_per_msg.sh: mailfort alone, CPU time (user+sys of the mailfort process) per message, driven by
# smtp-source on loopback with the same configuration as peer.sh (MX for bench.test, Maildir delivery fsynced,
# SPF/DKIM/DMARC off, no DNS leaving the machine). CPU time per message reads better than msg/s on a shared,
# noisy machine: other processes' load stretches wall time but adds little to our own CPU time.
# Bounded: N messages per round, ROUNDS rounds, loopback only. PERF=1 records a call-graph profile of the
# server for the whole run into $PERF_OUT (default ./perf.data).
# SPDX-License-Identifier: MIT
#
#   N=2000 SESSIONS="1 50" ROUNDS=3 bench/cpu_per_msg.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
BIN=${MAILFORT_BIN:-$root/build/mailfort}
N=${N:-2000}
SESSIONS=${SESSIONS:-"1 10 50"}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-5000}
PATH=$PATH:/usr/sbin
command -v smtp-source >/dev/null || { echo "needs smtp-source (postfix package; bench/peer.sh installs it)" >&2; exit 2; }

# WORK_PARENT: where the data directory goes (default /tmp). A tmpfs (/dev/shm) removes the file system's
# share (inode allocation, fsync) and leaves the code's own CPU time; read the two together.
work=$(mktemp -d "${WORK_PARENT:-/tmp}/mailfort-cpu.XXXXXX")
cleanup() {
  [ -n "${perf_pid:-}" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  [ -n "${mf_pid:-}" ] && kill "$mf_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/mf"
cat >"$work/mf/mailfort.toml" <<TOML
hostname = "mx.bench.test"
domains = ["bench.test"]
data_dir = "$work/mf/data"
[listeners]
mx = "127.0.0.1:$PORT"
submission = ""
submissions = ""
admin = ""
[limits]
max_connections = 12000
max_connections_per_ip = 1000
messages_per_connection = 100000
[greeting]
delay_ms = 0
[ratelimit]
connections_per_minute_per_ip = 0
messages_per_hour_per_ip = 0
recipients_per_hour_per_ip = 0
[auth]
spf = false
dkim = false
dmarc = false
[dns]
servers = ["127.0.0.1:9"]
root_anchor = ""
[monitor]
blocklist_zones = []
TOML
echo user-pw | "$BIN" user add user@bench.test --password-stdin --config "$work/mf/mailfort.toml" >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$BIN" serve --config "$work/mf/mailfort.toml" >"${MF_LOG:-/dev/null}" 2>&1 &
mf_pid=$!
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null && break
  sleep 0.1
done
if [ "${PERF:-0}" = 1 ]; then
  perf record -g -F "${PERF_FREQ:-999}" -p "$mf_pid" -o "${PERF_OUT:-perf.data}" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 1
fi

maildir_count() { { find "$1" -path '*/new/*' -type f 2>/dev/null || true; } | wc -l; }
tck=$(getconf CLK_TCK)
utime() { awk '{print $14}' /proc/"$mf_pid"/stat; }
stime() { awk '{print $15}' /proc/"$mf_pid"/stat; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "mailfort alone: $N messages of $SIZE bytes per round, one per connection, end to end; medians of $ROUNDS"
echo "data directory on: $(findmnt -n -o FSTYPE,TARGET -T "$work" 2>/dev/null || echo '?')"
printf '%-9s %10s %12s %12s %12s   %s\n' sessions msg/s "CPU us/msg" "user us/msg" "sys us/msg" "(rounds: CPU us/msg)"
for s in $SESSIONS; do
  rates=(); cpus=(); users=(); syss=()
  for ((r = 0; r < ROUNDS; r++)); do
    before=$(maildir_count "$work/mf/data/mail")
    u0=$(utime); s0=$(stime); t0=$(date +%s.%N)
    smtp-source -s "$s" -m "$N" -l "$SIZE" -f sender@client.test -t user@bench.test -M client.test "127.0.0.1:$PORT"
    want=$((before + N)); deadline=$(( $(date +%s) + 600 ))
    while [ "$(maildir_count "$work/mf/data/mail")" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
    t1=$(date +%s.%N); u1=$(utime); s1=$(stime)
    rates+=("$(echo "$N / ($t1 - $t0)" | bc -l)")
    cpus+=("$(echo "($u1 - $u0 + $s1 - $s0) * 1000000 / $tck / $N" | bc -l)")
    users+=("$(echo "($u1 - $u0) * 1000000 / $tck / $N" | bc -l)")
    syss+=("$(echo "($s1 - $s0) * 1000000 / $tck / $N" | bc -l)")
  done
  printf '%-9s %10.0f %12.0f %12.0f %12.0f   %s\n' "$s" "$(printf '%s\n' "${rates[@]}" | median)" \
    "$(printf '%s\n' "${cpus[@]}" | median)" "$(printf '%s\n' "${users[@]}" | median)" \
    "$(printf '%s\n' "${syss[@]}" | median)" "$(printf '%.0f ' "${cpus[@]}")"
done
