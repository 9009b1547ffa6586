#!/usr/bin/python3
# bench/imap_bench.py: IMAP login rate and a FETCH of 1,000 messages through the Dovecot `mailfort serve` runs,
# with mailfort's auth policy (bans) on, and off: a second Dovecot on the same configuration, passwd-file and
# Maildirs minus the auth_policy_* and login_access_sockets lines. Prints both and the policy's cost in %
# (target: under 10% of login throughput). Loopback only; bounded (ROUNDS x LOGINS logins per side, 1,000
# messages). As root, mailfort and both Dovecots run as `nobody` (Dovecot refuses mail access as uid 0).
# Two measures of the policy's cost:
#  - A/B: login rounds alternate between the two Dovecots (on, off, off, on, ...) and the medians are compared;
#    on a shared machine this is noisy, since a login is mostly one argon2id verification (64 MiB) and a TLS
#    handshake.
#  - Direct: the requests Dovecot makes for one successful login (allow, allow, report) sent to mailfort's policy
#    server over one keep-alive connection, as Dovecot does, N times: the policy's own time per login, against
#    the measured time of a login without it.
# SPDX-License-Identifier: MIT
#
#   bench/imap_bench.py [--logins 60] [--rounds 3] [--threads 2] [--messages 1000] [--policy-logins 500]
import argparse
import http.client
import imaplib
import json
import os
import re
import shutil
import statistics
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


def policy_round_trips(conf, logins):
    """Seconds per login spent in mailfort's policy server: Dovecot's three requests for a successful login."""
    url = re.search(r"^auth_policy_server_url = http://([^/]+)(/\S*)$", conf, re.M)
    header = re.search(r"^auth_policy_server_api_header = ([^:]+): (.*)$", conf, re.M)
    hostport, path = url.group(1), url.group(2)
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    base = {"login": "alice@localhost", "protocol": "imap", "pwhash": "079a", "pwspray": "0123456789abcdef",
            "remote": "127.0.0.1", "session_id": "bench", "tls": True}
    report = dict(base, success=True, policy_reject=False)
    hdrs = {header.group(1): header.group(2), "Content-Type": "application/json"}
    bodies = [("allow", json.dumps(base)), ("allow", json.dumps(base)), ("report", json.dumps(report))]

    def one():
        for cmd, body in bodies:
            conn.request("POST", f"{path}?command={cmd}", body=body, headers=hdrs)
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status

    for _ in range(20):  # warm-up
        one()
    t0 = time.perf_counter()
    for _ in range(logins):
        one()
    dt = time.perf_counter() - t0
    conn.close()
    return dt / logins


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
    ap.add_argument("--logins", type=int, default=60, help="logins per round and side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--policy-logins", type=int, default=500, help="simulated logins against the policy server")
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
        rates = {"policy on": [], "policy off": []}
        sides = (("policy on", s.mport["imaps"]), ("policy off", alt_imaps))
        for _, port in sides:
            login_rate(port, ctx, "alice@localhost", "alice-pw", 2 * a.threads, a.threads)  # warm-up
        all_errors = 0
        for r in range(a.rounds):
            for name, port in (sides if r % 2 == 0 else sides[::-1]):
                rate, errors = login_rate(port, ctx, "alice@localhost", "alice-pw", a.logins, a.threads)
                all_errors += len(errors)
                rates[name].append(rate)
                print(f"round {r + 1} {name:10}: {rate:6.2f} logins/s ({a.logins} logins, {a.threads} threads, "
                      f"{len(errors)} errors)", flush=True)
        # The first FETCH builds Dovecot's index and cache files of the shared Maildir (and reads the files from
        # disk): one unmeasured FETCH per side first, so both are measured warm.
        for name, port in sides:
            n, dt, size = fetch_all(port, ctx, "alice@localhost", "alice-pw")
            print(f"{name:10}: first (cold) FETCH 1:* of {n} messages: {dt:.2f} s")
        for name, port in sides:
            n, dt, size = fetch_all(port, ctx, "alice@localhost", "alice-pw")
            print(f"{name:10}: FETCH 1:* (RFC822) of {n} messages, {size / 1e6:.1f} MB: {dt:.2f} s "
                  f"({n / dt:.0f} messages/s)")
        on, off = statistics.median(rates["policy on"]), statistics.median(rates["policy off"])
        print(f"login rate, median of {a.rounds} rounds: policy on {on:.2f}/s, off {off:.2f}/s, "
              f"ratio on/off {on / off:.3f} (A/B cost {(1 - on / off) * 100:.1f}%; {all_errors} errors)")
        per_login = policy_round_trips((s.data / "dovecot" / "dovecot.conf").read_text(), a.policy_logins)
        login_s = a.threads / off  # wall time of one login without the policy, per thread
        print(f"policy server: {per_login * 1e3:.3f} ms per login (allow, allow, report; {a.policy_logins} logins "
              f"over one keep-alive connection) = {per_login / login_s * 100:.2f}% of a {login_s * 1e3:.0f} ms login "
              f"(target: under 10%)")
    finally:
        if other:
            other.terminate()
            other.wait(10)
        s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
