#!/usr/bin/python3
# bench/filters.py: mailfort's throughput with the content filters it runs ([filter] rspamd + clamav: rspamd,
# clamd and clamav-milter supervised by `mailfort serve`) against the same server with them off. Each round starts
# a fresh mailfort (own data dir, loopback ports), waits until the filters listen, then sends COUNT 5 KB messages
# (one per connection, bench/latency.py's client) at each session count; alternating off/on rounds, medians.
# Bounded: COUNT messages per run (default 300), ROUNDS (default 1); loopback only. Needs root or an account
# that may run rspamd/clamd (as root they run as _rspamd / clamav).
# The signature database is a two-line test database written here (EICAR and a marker) unless --clamav-db names a
# real one (Debian's /var/lib/clamav after freshclam: clamd then needs ~1 GiB of memory and ~20 s to load it,
# and scans cost accordingly). mailfort against Postfix behind the same two milters: FILTERS=1 bench/peer.sh.
# SPDX-License-Identifier: MIT
#
#   bench/filters.py [--count 300] [--sessions 10,50] [--rounds 1] [--clamav-db DIR]
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = os.environ.get("MAILFORT_BIN", str(HERE.parent / "build" / "mailfort"))
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def listening(port, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def start(root, filters, db):
    mx, sub, subs, admin, rspamd, clamav, clamd = free_ports(7)
    data = root / "data"
    lines = [f'hostname = "mx.bench.test"', 'domains = ["bench.test"]', f'data_dir = "{data}"',
             "[listeners]", f'mx = "127.0.0.1:{mx}"', f'submission = "127.0.0.1:{sub}"',
             f'submissions = "127.0.0.1:{subs}"', f'admin = "127.0.0.1:{admin}"',
             "[dns]", 'servers = ["127.0.0.1:9"]', 'root_anchor = ""',
             "[auth]", "spf = false", "dkim = false", "dmarc = false",
             "[monitor]", "blocklist_zones = []", "[imap]", "enabled = false",
             "[greeting]", "delay_ms = 0", "[ban]", "enabled = false",
             "[ratelimit]", "connections_per_minute_per_ip = 0", "messages_per_hour_per_ip = 0",
             "recipients_per_hour_per_ip = 0"]
    if filters:
        lines += ["[filter]", "rspamd = true", "clamav = true", f'rspamd_address = "127.0.0.1:{rspamd}"',
                  f'clamav_address = "127.0.0.1:{clamav}"', f'clamd_address = "127.0.0.1:{clamd}"',
                  f'clamav_database = "{db}"']
    cfg = root / "mailfort.toml"
    cfg.write_text("\n".join(lines) + "\n")
    subprocess.run([BIN, "user", "add", "user@bench.test", "--password-stdin", "--config", str(cfg)],
                   input="bench-pw\n", text=True, check=True, capture_output=True)
    log = open(root / "serve.log", "w")
    proc = subprocess.Popen([BIN, "serve", "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    ok = listening(mx, 30) and (not filters or (listening(rspamd, 120) and listening(clamav, 120)))
    if not ok:
        proc.terminate()
        proc.wait(30)
        sys.exit(f"mailfort (filters={filters}) did not come up; see {root}/serve.log")
    return proc, mx


def run(port, count, sessions):
    out = subprocess.run([sys.executable, str(HERE / "latency.py"), "--port", str(port), "--to", "user@bench.test",
                          "--count", str(count), "--sessions", str(sessions), "--machine"],
                         capture_output=True, text=True, timeout=600)
    p50, p99, rate = out.stdout.split()[:3]
    return float(rate), float(p50), float(p99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--sessions", default="10,50")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--clamav-db", default="")
    a = ap.parse_args()
    sessions = [int(x) for x in a.sessions.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mf-bench-filters-"))
    os.chmod(work, 0o755)
    db = a.clamav_db
    if not db:
        db = str(work / "clamdb")
        os.makedirs(db)
        with open(f"{db}/bench.ndb", "w") as f:
            f.write(f"Bench.EICAR:0:*:{EICAR.encode().hex()}\n")
            f.write(f"Bench.Marker:0:*:{b'MAILFORT-TEST-VIRUS-SIGNATURE-0001'.hex()}\n")
        if os.geteuid() == 0:
            shutil.chown(db, "clamav", "clamav")
            shutil.chown(f"{db}/bench.ndb", "clamav", "clamav")
    results = {}  # (filters, sessions) -> [(rate, p50, p99)]
    try:
        for r in range(a.rounds):
            for filters in (False, True):
                root = work / f"r{r}-{'on' if filters else 'off'}"
                root.mkdir()
                proc, port = start(root, filters, db)
                try:
                    for s in sessions:
                        results.setdefault((filters, s), []).append(run(port, a.count, s))
                finally:
                    proc.terminate()
                    proc.wait(60)
        print(f"{'sessions':>8} {'off msg/s':>10} {'on msg/s':>10} {'on/off':>7} {'off p99 ms':>11} {'on p99 ms':>10}")
        for s in sessions:
            off = results[(False, s)]
            on = results[(True, s)]
            r_off = statistics.median(x[0] for x in off)
            r_on = statistics.median(x[0] for x in on)
            print(f"{s:>8} {r_off:>10.1f} {r_on:>10.1f} {r_on / r_off:>7.2f} "
                  f"{statistics.median(x[2] for x in off):>11.1f} {statistics.median(x[2] for x in on):>10.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
