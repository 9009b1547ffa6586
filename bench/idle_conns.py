#!/usr/bin/python3
# bench/idle_conns.py: memory per idle SMTP connection. Opens K connections to a server on loopback, waits until
# each has its 220 greeting, and reports the servers' memory growth (RSS and PSS, summed over the given processes,
# re-read each time so process-per-session servers like Postfix are counted with every smtpd they fork).
# Bounded: at most K sockets, closed at the end; loopback only.
# SPDX-License-Identifier: MIT
#
#   bench/idle_conns.py --port 2525 --pids-cmd 'pgrep -f /tmp/x/pf' --count 1000 --label postfix
import argparse
import resource
import socket
import subprocess
import sys
import time


def mem_kib(pids):
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def pids_of(cmd):
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if p.isdigit()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pids-cmd", required=True, help="shell command printing the server's pids")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--label", default="server")
    ap.add_argument("--greeting-timeout", type=float, default=60)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, a.count + 1024), hard), hard))
    pids = pids_of(a.pids_cmd)
    base_rss, base_pss = mem_kib(pids)
    socks, greeted = [], 0
    t0 = time.time()
    try:
        for i in range(a.count):
            # spread over 127.0.1.0/24 sources (per-IP caps), 64 connections per address
            src = f"127.0.{1 + i // (64 * 250)}.{1 + (i // 64) % 250}"
            s = socket.create_connection(("127.0.0.1", a.port), source_address=(src, 0), timeout=a.greeting_timeout)
            socks.append(s)
        deadline = time.time() + a.greeting_timeout
        for s in socks:
            s.settimeout(max(0.1, deadline - time.time()))
            try:
                if s.recv(512).startswith(b"220"):
                    greeted += 1
            except OSError:
                pass
        time.sleep(1)
        pids = pids_of(a.pids_cmd)
        rss, pss = mem_kib(pids)
        held = sum(1 for s in socks if s.fileno() >= 0)
        per_rss = (rss - base_rss) / max(1, a.count)
        per_pss = (pss - base_pss) / max(1, a.count)
        print(f"{a.label:9s} {a.count:6d} conns  greeted {greeted:6d}  processes {len(pids):5d}  "
              f"RSS +{(rss - base_rss) / 1024:8.1f} MiB ({per_rss:6.1f} KiB/conn)  "
              f"PSS +{(pss - base_pss) / 1024:8.1f} MiB ({per_pss:6.1f} KiB/conn)  [{time.time() - t0:.1f}s, {held} open]")
    finally:
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
