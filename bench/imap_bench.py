#!/usr/bin/python3
# bench/imap_bench.py: IMAP login rate and a FETCH of 1,000 messages through the Dovecot `mailfort serve` runs,
# with mailfort's auth policy (bans) on, and off: a second Dovecot on the same configuration, passwd-file and
# Maildirs minus the auth_policy_* and login_access_sockets lines. Prints both and the policy's cost in %
# (target: under 10% of login throughput). Loopback only; bounded (LOGINS logins, 1,000 messages).
# As root, mailfort and both Dovecots run as `nobody` (Dovecot refuses mail access as uid 0).
# SPDX-License-Identifier: MIT
#
#   bench/imap_bench.py [--logins 200] [--threads 4] [--messages 1000]
import argparse
import imaplib
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import imapmf  # noqa: E402
import mf  # noqa: E402


def login_rate(port, ctx, user, password, logins, threads):
    done = [0]
    lock = threading.Lock()
    errors = []

    def worker(n):
        for _ in range(n):
            try:
                m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
                m.login(user, password)
                m.logout()
                with lock:
                    done[0] += 1
            except Exception as e:  # noqa: BLE001 (counted and reported)
                errors.append(repr(e))

    per = logins // threads
    t0 = time.time()
    ts = [threading.Thread(target=worker, args=(per,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.time() - t0
    return done[0] / dt, errors


def fetch_all(port, ctx, user, password):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    m.login(user, password)
    typ, data = m.select("INBOX", readonly=True)
    t0 = time.time()
    typ, msgs = m.fetch("1:*", "(RFC822)")
    dt = time.time() - t0
    m.logout()
    return int(data[0]), dt, sum(len(x[1]) for x in msgs if isinstance(x, tuple))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=200)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--messages", type=int, default=1000)
    a = ap.parse_args()
    if not imapmf.HAVE_DOVECOT:
        print("imap bench skipped: Dovecot not installed")
        return
    root = imapmf.make_root()
    s = imapmf.ImapServer(root, sections={"greeting": {"delay_ms": 0}})
    other = None
    try:
        s.add_user("alice@localhost", "alice-pw")
        s.start()
        s.wait_imap_up()
        body = "\r\n".join(["x" * 76] * 52)  # about 4 KB in RFC 5322 lines
        sent = 0
        while sent < a.messages:
            with s.smtp("mx", timeout=60) as c:
                for _ in range(min(100, a.messages - sent)):
                    c.sendmail("bench@example.org", ["alice@localhost"], mf.message(subject=f"m{sent}", body=body))
                    sent += 1
        end = time.time() + 120
        while len(s.maildir("alice")) < a.messages and time.time() < end:
            time.sleep(0.2)
        # The same Dovecot configuration without the policy server and access socket, on other ports.
        conf = (s.data / "dovecot" / "dovecot.conf").read_text()
        ports = mf.free_ports(4)
        alt = root / "nopolicy"
        (alt / "run").mkdir(parents=True)
        (alt / "state").mkdir()
        conf = "\n".join(l for l in conf.splitlines()
                         if not l.startswith(("auth_policy_", "login_access_sockets")))
        conf = re.sub(r"^base_dir = .*$", f"base_dir = {alt}/run", conf, flags=re.M)
        conf = re.sub(r"^state_dir = .*$", f"state_dir = {alt}/state", conf, flags=re.M)
        conf = re.sub(r"^log_path = .*$", f"log_path = {alt}/dovecot.log", conf, flags=re.M)
        conf = re.sub(r"^instance_name = .*$", "instance_name = mailfort-nopolicy", conf, flags=re.M)
        it = iter(ports)
        conf = re.sub(r"^    port = [1-9][0-9]*$", lambda _m: f"    port = {next(it)}", conf, flags=re.M)
        (alt / "dovecot.conf").write_text(conf + "\n")
        if os.geteuid() == 0:
            for p in [alt, alt / "run", alt / "state", alt / "dovecot.conf"]:
                shutil.chown(p, "nobody", "nogroup")
        other = subprocess.Popen([*s.wrap, imapmf.DOVECOT, "-F", "-c", str(alt / "dovecot.conf")])
        alt_imaps = ports[1]
        ctx = s.tls_context()
        end = time.time() + 10
        while True:
            try:
                imaplib.IMAP4_SSL("127.0.0.1", alt_imaps, ssl_context=ctx).logout()
                break
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.1)
        results = {}
        for name, port in (("policy on", s.mport["imaps"]), ("policy off", alt_imaps)):
            login_rate(port, ctx, "alice@localhost", "alice-pw", 20, a.threads)  # warm-up
            rate, errors = login_rate(port, ctx, "alice@localhost", "alice-pw", a.logins, a.threads)
            n, dt, size = fetch_all(port, ctx, "alice@localhost", "alice-pw")
            results[name] = rate
            print(f"{name:10}: {rate:7.1f} logins/s ({a.logins} logins, {a.threads} threads, {len(errors)} errors); "
                  f"FETCH 1:* (RFC822) of {n} messages, {size / 1e6:.1f} MB: {dt:.2f} s")
        cost = (1 - results["policy on"] / results["policy off"]) * 100
        print(f"auth policy cost: {cost:.1f}% of login throughput (target: under 10%)")
    finally:
        if other:
            other.terminate()
            other.wait(10)
        s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
