#!/usr/bin/python3
# bench/latency.py: per-transaction latency (connect, EHLO, MAIL, RCPT, DATA, 5 KB, QUIT) at a given concurrency,
# printed as p50/p99 milliseconds. The client is the same for both servers, so the figures compare servers even
# though a Python client is slower than smtp-source. Bounded: N transactions; loopback only. --starttls upgrades
# every transaction with STARTTLS (smtp-source has no TLS option).
# SPDX-License-Identifier: MIT
#
#   bench/latency.py --port 2525 --to user@bench.test --count 2000 --sessions 10
import argparse
import smtplib
import ssl
import statistics
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--size", type=int, default=5000)
    ap.add_argument("--machine", action="store_true", help="print only: p50_ms p99_ms msgs_per_s")
    ap.add_argument("--starttls", action="store_true",
                    help="EHLO, STARTTLS, EHLO again before MAIL (the certificate is not verified: a bench peer's "
                         "self-signed one; no session resumption, so every transaction pays a full handshake)")
    a = ap.parse_args()
    tls_ctx = None
    if a.starttls:
        tls_ctx = ssl.create_default_context()
        tls_ctx.check_hostname = False
        tls_ctx.verify_mode = ssl.CERT_NONE
    head = (f"From: <sender@client.test>\r\nTo: <{a.to}>\r\nSubject: latency\r\n"
            "Date: Fri, 04 Dec 2026 12:00:00 +0000\r\nMessage-ID: <latency@client.test>\r\n\r\n")
    body = (head + ("x" * 76 + "\r\n") * (a.size // 78)).encode()
    lat, errors = [], [0]
    lock = threading.Lock()
    left = [a.count]

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            t0 = time.perf_counter()
            try:
                with smtplib.SMTP("127.0.0.1", a.port, timeout=30) as c:
                    if tls_ctx is not None:
                        c.starttls(context=tls_ctx)  # smtplib sends EHLO first, and again after the handshake
                    c.sendmail("sender@client.test", [a.to], body)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
            except (OSError, smtplib.SMTPException):
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(a.sessions)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat.sort()
    if not lat:
        print("no transaction succeeded")
        return 1
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    if a.machine:
        if errors[0]:
            print(f"latency.py: {errors[0]} of {a.count} transactions failed", file=sys.stderr)
        print(f"{p(0.50):.3f} {p(0.99):.3f} {len(lat) / wall:.1f}")
        return 0
    print(f"{len(lat)} ok, {errors[0]} errors, {len(lat) / wall:.0f} msg/s; p50 {p(0.50):.2f} ms  p99 {p(0.99):.2f} ms  "
          f"mean {statistics.mean(lat) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
