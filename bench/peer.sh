#!/usr/bin/env bash
# bench/peer.sh: mailfort against Postfix on the same machine, in one run, driven by Postfix's own
# smtp-source on loopback. Both accept mail for a local domain and deliver it to a Maildir, fsynced;
# same size limit; no TLS (a separate STARTTLS section follows, on a second Postfix service). Alternating runs (mailfort, postfix, mailfort, postfix, ...), medians.
# Also the protocol ceiling (smtp-sink) and an fsync probe, to read the figures against the machine.
# Loopback only; every load is bounded (N messages). Needs root (Postfix runs its own instance).
# SPDX-License-Identifier: MIT
#
# N=20000 SESSIONS="1 10 50" ROUNDS=3 bench/peer.sh
# FILTERS=1: both servers behind the same rspamd + ClamAV (run by mailfort: [filter] rspamd / clamav = true;
#   Postfix's smtpd_milters points at the same two milters). CLAMAV_DB=dir: real signatures (default: a
#   two-line test database written here).
# PARTS="starttls" TLS_N=500 ROUNDS=1 bench/peer.sh     (one part only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
BIN=${MAILFORT_BIN:-$root/build/mailfort}
N=${N:-20000}
SESSIONS=${SESSIONS:-"1 10 50"}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-5000}
# Which parts to run (all by default): throughput ceiling latency starttls idle
PARTS=${PARTS:-"throughput ceiling latency starttls idle"}
want() { [[ " $PARTS " == *" $1 "* ]]; }

if ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ]; then
  echo "installing postfix (peer only: it is configured in a private directory and stopped afterwards)" >&2
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
  systemctl disable --now postfix >/dev/null 2>&1 || true
fi
PATH=$PATH:/usr/sbin
command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null

# WORK_PARENT: where both servers keep their queues and Maildirs (default /tmp; see bench/README.md on ext4 without a journal)
work=$(mktemp -d "${WORK_PARENT:-/tmp}/mailfort-bench.XXXXXX")
chmod 755 "$work"  # postfix runs its daemons as the postfix user
cleanup() {
  [ -n "${mf_pid:-}" ] && kill "$mf_pid" 2>/dev/null || true
  postfix -c "$work/pf" stop >/dev/null 2>&1 || true
  [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null || true
  [ -n "${null_pid:-}" ] && kill "$null_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MF_PORT=$(port); PF_PORT=$(port); SINK_PORT=$(port); PF_TLS_PORT=$(port); NULL_PORT=$(port)
FILTERS=${FILTERS:-0}
RSPAMD_PORT=$(port); CLAM_PORT=$(port); CLAMD_PORT=$(port)
if [ "$FILTERS" = 1 ] && [ -z "${CLAMAV_DB:-}" ]; then
  CLAMAV_DB=$work/clamdb
  mkdir -p "$CLAMAV_DB"
  /usr/bin/python3 -c 'import sys
e = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
print("Bench.EICAR:0:*:" + e.encode().hex())' >"$CLAMAV_DB/bench.ndb"
  chown -R clamav:clamav "$CLAMAV_DB"
fi

# One certificate for both servers' STARTTLS (RSA 2048, self-signed; the bench client does not verify it).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test -keyout "$work/tls.key" \
  -out "$work/tls.crt" >/dev/null 2>&1
chmod 644 "$work/tls.crt"

# ---- mailfort: MX for bench.test, one user, shield relaxed for a single-source load ----
mkdir -p "$work/mf"
cat >"$work/mf/mailfort.toml" <<TOML
hostname = "mx.bench.test"
domains = ["bench.test"]
data_dir = "$work/mf/data"
[listeners]
mx = "127.0.0.1:$MF_PORT"
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
# Postfix here checks no SPF/DKIM/DMARC either; and no DNS query may leave the machine (loopback only).
[auth]
spf = false
dkim = false
dmarc = false
[dns]
servers = ["127.0.0.1:9"]
root_anchor = ""
[monitor]
blocklist_zones = []
[tls]
certificate = "$work/tls.crt"
key = "$work/tls.key"
TOML
if [ "$FILTERS" = 1 ]; then
  cat >>"$work/mf/mailfort.toml" <<TOML
[filter]
rspamd = true
clamav = true
rspamd_address = "127.0.0.1:$RSPAMD_PORT"
clamav_address = "127.0.0.1:$CLAM_PORT"
clamd_address = "127.0.0.1:$CLAMD_PORT"
clamav_database = "$CLAMAV_DB"
TOML
fi
echo user-pw | "$BIN" user add user@bench.test --password-stdin --config "$work/mf/mailfort.toml" >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$BIN" serve --config "$work/mf/mailfort.toml" >"$work/mf/log" 2>&1 &
mf_pid=$!

# ---- postfix: private config directory, Maildir delivery through virtual(8) ----
pf=$work/pf
# Postfix forks one smtpd per session: its process limit must cover the largest idle-connection count asked of it.
PF_IDLE_COUNTS=${PF_IDLE_COUNTS:-1000}
PF_PROCESS_LIMIT=$(( $(printf '%s\n' $PF_IDLE_COUNTS 1000 | sort -n | tail -1) + 100 ))
mkdir -p "$pf" "$work/pfmail"
chown postfix:postfix "$work/pfmail" 2>/dev/null || true
cp /etc/postfix/master.cf "$pf/master.cf"
sed -i "s/^smtp      inet.*/127.0.0.1:$PF_PORT inet n - n - - smtpd/" "$pf/master.cf"
# The STARTTLS runs use a second smtpd service, so the plain runs above are unchanged (no TLS at all there).
echo "127.0.0.1:$PF_TLS_PORT inet n - n - - smtpd -o smtpd_tls_security_level=may -o smtpd_tls_cert_file=$work/tls.crt -o smtpd_tls_key_file=$work/tls.key" >>"$pf/master.cf"
cat >"$pf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $work/pfspool
data_directory = $work/pfdata
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.bench.test
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $work/pfmail
virtual_mailbox_maps = static:user/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_transport = virtual
default_transport = error:
relay_transport = error:
local_transport = error:
message_size_limit = 26214400
maillog_file_prefixes = /var, /dev/stdout, /tmp
maillog_file = $work/pf.log
smtpd_tls_security_level = none
default_process_limit = $PF_PROCESS_LIMIT
CF
if [ "$FILTERS" = 1 ]; then
  # The same two milters as mailfort's chain, in the same order, with the same default action.
  printf 'smtpd_milters = inet:127.0.0.1:%s, inet:127.0.0.1:%s\nmilter_default_action = tempfail\nmilter_protocol = 6\n' \
    "$RSPAMD_PORT" "$CLAM_PORT" >>"$pf/main.cf"
fi
mkdir -p "$work/pfspool" "$work/pfdata"
chown postfix "$work/pfdata"
postfix -c "$pf" check >/dev/null 2>&1 || true
postfix -c "$pf" start || { echo "bench: postfix did not start" >&2; exit 1; }

sleep 2
if [ "$FILTERS" = 1 ]; then
  # Wait (bounded) until mailfort's rspamd and clamav-milter listen: both servers use them.
  for p in "$RSPAMD_PORT" "$CLAM_PORT"; do
    for ((i = 0; i < 1200; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
  done
  echo "filters on: rspamd 127.0.0.1:$RSPAMD_PORT, clamav-milter 127.0.0.1:$CLAM_PORT (signatures: $CLAMAV_DB)"
fi
maildir_count() { { find "$1" -path '*/new/*' -type f 2>/dev/null || true; } | wc -l; }

# CPU time (user + system, clock ticks) of each server. mailfort is one process. Postfix is its private master
# and every process under it (smtpd, cleanup, qmgr, trivial-rewrite, virtual, ...): each one's own time plus
# that of the children it has reaped, so a process that exits between two readings is still counted (its
# time moves into the master's cutime/cstime). smtp-source, the client, is counted for neither.
CLK_TCK=$(getconf CLK_TCK)
mf_cpu_ticks() { awk '{print $14+$15}' /proc/"$mf_pid"/stat; }
pf_cpu_ticks() {
  local m
  m=$(awk '{print $1}' "$work/pfspool/pid/master.pid")
  { echo "$m"; pgrep -P "$m" || true; } | while read -r p; do
    awk '{print $14+$15+$16+$17}' /proc/"$p"/stat 2>/dev/null || true
  done | awk '{s+=$1} END {print s+0}'
}

# one run: prints "msgs/s cpu_us_per_msg" for N messages at S sessions
run_one() {
  local which=$1 s=$2 p mailroot before t0 t1 cpu0 cpu1 cpu_of
  if [ "$which" = mailfort ]; then p=$MF_PORT; mailroot=$work/mf/data/mail; cpu_of=mf_cpu_ticks
  else p=$PF_PORT; mailroot=$work/pfmail; cpu_of=pf_cpu_ticks; fi
  before=$(maildir_count "$mailroot")
  cpu0=$($cpu_of)
  t0=$(date +%s.%N)
  smtp-source -s "$s" -m "$N" -l "$SIZE" -f sender@client.test -t user@bench.test -M client.test "127.0.0.1:$p"
  # end to end: until every message is in the Maildir (bounded wait)
  local want=$((before + N)) deadline=$(( $(date +%s) + 600 ))
  while [ "$(maildir_count "$mailroot")" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  cpu1=$($cpu_of)
  local rate cpu
  rate=$(echo "$N / ($t1 - $t0)" | bc -l)
  cpu=$(echo "($cpu1 - $cpu0) * 1000000 / $CLK_TCK / $N" | bc -l)
  printf '%.0f %s\n' "$rate" "$cpu"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if want throughput; then
echo "mailfort vs postfix $(postconf -d -h mail_version 2>/dev/null): $N messages of $SIZE bytes, one per connection,"
echo "Maildir delivery fsynced, end to end (smtp-source start until the last file is in new/), medians of $ROUNDS"
echo "CPU: user + system time of the server's processes per message (the client's not counted)"
printf '%-9s %12s %12s %8s %14s %14s\n' sessions mailfort/s postfix/s ratio "mf CPU us/msg" "pf CPU us/msg"
for s in $SESSIONS; do
  mf=(); pfr=(); cpu=(); pcpu=()
  for ((r = 0; r < ROUNDS; r++)); do
    read -r a c < <(run_one mailfort "$s"); mf+=("$a"); cpu+=("$c")
    read -r b d < <(run_one postfix "$s"); pfr+=("$b"); pcpu+=("$d")
  done
  m=$(printf '%s\n' "${mf[@]}" | median); p=$(printf '%s\n' "${pfr[@]}" | median); c=$(printf '%s\n' "${cpu[@]}" | median)
  pc=$(printf '%s\n' "${pcpu[@]}" | median)
  printf '%-9s %12.0f %12.0f %8.2f %14.0f %14.0f\n' "$s" "$m" "$p" "$(echo "$m / $p" | bc -l)" "$c" "$pc"
done
fi

if want ceiling; then
# protocol ceiling
smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 1024 &
sink_pid=$!
sleep 0.5
t0=$(date +%s.%N); smtp-source -s 50 -m "$N" -l "$SIZE" -f s@c.test -t u@bench.test "127.0.0.1:$SINK_PORT"; t1=$(date +%s.%N)
printf 'protocol ceiling (smtp-sink, 50 sessions): %.0f msg/s\n' "$(echo "$N / ($t1 - $t0)" | bc -l)"
sink_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
kill "$sink_pid" 2>/dev/null || true; sink_pid=
# The null backend: mailfort with queue.discard (answers 250, keeps nothing), so the protocol layers compare alone.
mkdir -p "$work/null/data"
sed -e "s#127.0.0.1:$MF_PORT#127.0.0.1:$NULL_PORT#" -e "s#$work/mf/data#$work/null/data#" "$work/mf/mailfort.toml" \
  >"$work/null/mailfort.toml"
printf '[queue]\ndiscard = true\n' >>"$work/null/mailfort.toml"
# queue.discard is a critical finding: serve refuses it without --allow-insecure (logged as insecure_override).
echo user-pw | "$BIN" user add user@bench.test --password-stdin --config "$work/null/mailfort.toml" >/dev/null
"$BIN" serve --allow-insecure --config "$work/null/mailfort.toml" >"$work/null/log" 2>&1 &
null_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$NULL_PORT") 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s.%N); smtp-source -s 50 -m "$N" -l "$SIZE" -f sender@client.test -t user@bench.test -M client.test "127.0.0.1:$NULL_PORT"; t1=$(date +%s.%N)
null_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
printf 'null backend (mailfort, queue.discard, 50 sessions): %.0f msg/s, %.2f x smtp-sink\n' "$null_rate" \
  "$(echo "$null_rate / $sink_rate" | bc -l)"
kill "$null_pid" 2>/dev/null || true; wait "$null_pid" 2>/dev/null || true; null_pid=
fi

if want latency; then
# ---- latency per transaction (same Python client for both), alternating, medians ----
LAT_N=${LAT_N:-2000}
echo
echo "latency per transaction (connect..QUIT, $SIZE bytes, $LAT_N transactions; bench/latency.py), medians of $ROUNDS"
printf '%-9s %14s %14s %14s %14s\n' sessions "mailfort p50" "postfix p50" "mailfort p99" "postfix p99"
for s in 1 10; do
  m50=(); m99=(); p50=(); p99=()
  for ((r = 0; r < ROUNDS; r++)); do
    read -r a b _ < <(/usr/bin/python3 "$here/latency.py" --machine --port "$MF_PORT" --to user@bench.test --count "$LAT_N" --sessions "$s" --size "$SIZE")
    m50+=("$a"); m99+=("$b")
    read -r a b _ < <(/usr/bin/python3 "$here/latency.py" --machine --port "$PF_PORT" --to user@bench.test --count "$LAT_N" --sessions "$s" --size "$SIZE")
    p50+=("$a"); p99+=("$b")
  done
  printf '%-9s %11.2f ms %11.2f ms %11.2f ms %11.2f ms\n' "$s" "$(printf '%s\n' "${m50[@]}" | median)" \
    "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${m99[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)"
done
fi

if want starttls; then
# ---- STARTTLS: smtp-source has no TLS option, so latency.py --starttls drives both (EHLO, STARTTLS, EHLO, MAIL...);
# a full handshake per transaction (no session resumption), same certificate and client for both, alternating.
TLS_N=${TLS_N:-1000}
echo
echo "STARTTLS per transaction (connect..QUIT, $SIZE bytes, $TLS_N transactions; bench/latency.py --starttls), medians of $ROUNDS"
printf '%-9s %11s %11s %7s %13s %13s %13s %13s\n' sessions "mailfort/s" "postfix/s" ratio "mailfort p50" "postfix p50" \
  "mailfort p99" "postfix p99"
for s in ${TLS_SESSIONS:-1 10}; do
  m50=(); m99=(); mr=(); p50=(); p99=(); pr=()
  for ((r = 0; r < ROUNDS; r++)); do
    read -r a b c < <(/usr/bin/python3 "$here/latency.py" --machine --starttls --port "$MF_PORT" --to user@bench.test \
      --count "$TLS_N" --sessions "$s" --size "$SIZE")
    m50+=("$a"); m99+=("$b"); mr+=("$c")
    read -r a b c < <(/usr/bin/python3 "$here/latency.py" --machine --starttls --port "$PF_TLS_PORT" --to user@bench.test \
      --count "$TLS_N" --sessions "$s" --size "$SIZE")
    p50+=("$a"); p99+=("$b"); pr+=("$c")
  done
  m=$(printf '%s\n' "${mr[@]}" | median); p=$(printf '%s\n' "${pr[@]}" | median)
  printf '%-9s %11.0f %11.0f %7.2f %10.2f ms %10.2f ms %10.2f ms %10.2f ms\n' "$s" "$m" "$p" "$(echo "$m / $p" | bc -l)" \
    "$(printf '%s\n' "${m50[@]}" | median)" "$(printf '%s\n' "${p50[@]}" | median)" \
    "$(printf '%s\n' "${m99[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)"
done
fi

if want idle; then
# ---- memory per idle connection: one event-driven process vs a process per session ----
echo
echo "memory per idle connection (bench/idle_conns.py; Postfix: master + one smtpd per session, PSS counts shared pages once)"
ulimit -n 65536 2>/dev/null || true
for k in ${IDLE_COUNTS:-1000 10000}; do
  /usr/bin/python3 "$here/idle_conns.py" --port "$MF_PORT" --pids-cmd "echo $mf_pid" --count "$k" --label mailfort
done
# Postfix forks one smtpd per session, so 10,000 connections are 10,000 processes (about 12 GiB of PSS at the
# 1,000-connection rate, and minutes of forking on 2 cores): opt in with PF_IDLE_COUNTS="1000 10000" on a machine
# of your own (the process limit above follows it). The processes counted are the private master and its children
# only (another Postfix on the machine is not counted).
for k in $PF_IDLE_COUNTS; do
  /usr/bin/python3 "$here/idle_conns.py" --port "$PF_PORT" --count "$k" \
    --pids-cmd "m=\$(awk '{print \$1}' '$work/pfspool/pid/master.pid'); echo \$m; pgrep -P \$m" --label postfix
done
fi
