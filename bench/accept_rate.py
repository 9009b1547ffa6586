#!/usr/bin/env python3
# bench/accept_rate.py: connection accept rate of `mailfort serve` with the abuse shield on (ban check,
# connection-rate limiter, per-IP caps) against the same with bans and limiters off. Loopback only,
# bounded: ROUNDS x CONNS connections. Prints medians of alternating runs (A B A B) and the ratio.
# SPDX-License-Identifier: MIT
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = os.environ.get("MAILFORT_BIN", str(Path(__file__).resolve().parents[1] / "build" / "mailfort"))
CONNS = int(os.environ.get("CONNS", "3000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = int(os.environ.get("THREADS", "4"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp, shield):
    port = free_port()
    cfg = Path(tmp) / ("on.toml" if shield else "off.toml")
    lines = [f'data_dir = "{tmp}/data-{"on" if shield else "off"}"', "[listeners]", f'mx = "127.0.0.1:{port}"',
             'submission = ""', 'submissions = ""', 'admin = ""', "[greeting]", "delay_ms = 0",
             # no DNS query may leave the machine: a closed loopback port, no DNSBL checks
             "[dns]", 'servers = ["127.0.0.1:9"]', 'root_anchor = ""', "[monitor]", "blocklist_zones = []",
             "[limits]", "max_connections_per_ip = 1000"]
    if shield:  # the shipped ban settings and limits, with the connection rate high enough not to refuse
        lines += ["[ratelimit]", "connections_per_minute_per_ip = 1000000000"]
    else:
        lines += ["[ratelimit]", "connections_per_minute_per_ip = 0", "messages_per_hour_per_ip = 0",
                  "recipients_per_hour_per_ip = 0", "auth_per_minute_per_ip = 0", "[ban]", "enabled = false"]
    cfg.write_text("\n".join(lines) + "\n")
    p = subprocess.Popen([BIN, "serve", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    for line in p.stdout:
        if '"ready"' in line:
            break
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    return p, port


def run(port):
    per = CONNS // THREADS

    def worker():
        for _ in range(per):
            s = socket.create_connection(("127.0.0.1", port))
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"QUIT\r\n")
            f.readline()
            s.close()

    ts = [threading.Thread(target=worker) for _ in range(THREADS)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return per * THREADS / (time.perf_counter() - t0)


def main():
    if not os.path.exists(BIN):
        sys.exit(f"no binary at {BIN}: run make build")
    with tempfile.TemporaryDirectory() as tmp:
        on, on_port = start(tmp, True)
        off, off_port = start(tmp, False)
        try:
            run(on_port)  # warm-up
            run(off_port)
            res = {"on": [], "off": []}
            for _ in range(ROUNDS):
                res["on"].append(run(on_port))
                res["off"].append(run(off_port))
        finally:
            for p in (on, off):
                p.terminate()
                p.wait(10)
    mon, moff = statistics.median(res["on"]), statistics.median(res["off"])
    print(f"accept rate, {CONNS} connections x {ROUNDS} rounds, {THREADS} client threads (connect, 220, QUIT, 221)")
    print(f"  shield on : {mon:8.0f} conn/s  runs: {', '.join(f'{x:.0f}' for x in res['on'])}")
    print(f"  shield off: {moff:8.0f} conn/s  runs: {', '.join(f'{x:.0f}' for x in res['off'])}")
    print(f"  on/off ratio: {mon / moff:.3f}  (overhead {100 * (1 - mon / moff):+.1f}%; target < 5%)")


if __name__ == "__main__":
    main()
