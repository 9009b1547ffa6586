# tests/integration/test_load.py: 1,000 idle connections and 200 slow-loris clients held open while a legitimate
# client still gets its greeting and delivers within a bound; the server's memory stays bounded (issue 7).
# Bounded: 1,200 sockets from 127.0.1.x/127.0.2.x, one legitimate message, everything closed at the end.
# SPDX-License-Identifier: MIT
import resource
import socket
import threading
import time

import pytest

from mf import SANITIZED, SLOW, message

IDLE, LORIS, PER_IP = 1000, 200, 20


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_many(port, n, net):
    socks = []
    for i in range(n):
        src = f"127.0.{net}.{1 + i // PER_IP}"
        socks.append(socket.create_connection(("127.0.0.1", port), source_address=(src, 0), timeout=10 * SLOW))
    return socks


@pytest.mark.serial
def test_idle_and_slowloris_do_not_starve_a_legitimate_client(make_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))
    # + 50 spare, + 2 x 50 that limits.listener_reserve keeps for the submission listeners
    s = make_server(limits={"max_connections": IDLE + LORIS + 150, "max_connections_per_ip": PER_IP,
                            "command_timeout_s": 120})
    port = s.ports["mx"]
    with s.smtp() as c:  # warm-up: one session, so the baseline includes a connection's code paths
        c.noop()
    time.sleep(0.2)
    base = rss_kib(s.proc.pid)

    idle = open_many(port, IDLE, 1)
    loris = open_many(port, LORIS, 2)
    stop = threading.Event()

    def trickle():
        # each slow client sends "EHLO slow.example" one byte at a time, never finishing a line in time
        payload = b"EHLO slow.example.with.a.long.name.that.takes.a.while"
        i = 0
        while not stop.is_set() and i < len(payload):
            for x in loris:
                try:
                    x.send(payload[i:i + 1])
                except OSError:
                    pass
            i += 1
            stop.wait(0.5)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        s.wait_count("connect", IDLE + LORIS + 1, timeout=60)
        held = rss_kib(s.proc.pid)
        # the legitimate client: greeting and delivery within a bound while 1,200 connections are held
        t0 = time.time()
        with s.smtp(source="127.0.3.1", timeout=10) as c:
            c.sendmail("someone@example.org", ["alice@localhost"], message("legit"))
        elapsed = time.time() - t0
        assert elapsed < 5 * SLOW, f"legitimate delivery took {elapsed:.1f}s under load"
        s.wait_maildir("alice", 1)
        print(f"held {IDLE + LORIS} connections: RSS {base} -> {held} KiB; legitimate delivery {elapsed:.2f}s")
        if not SANITIZED:  # ASan's shadow memory and quarantine make RSS meaningless
            per_conn = (held - base) * 1024 / (IDLE + LORIS)
            # the bench target is < 32 KiB per idle connection; the test allows twice that for allocator noise
            assert per_conn < 64 * 1024, f"{per_conn / 1024:.1f} KiB per held connection (base {base} KiB, held {held} KiB)"
        assert len(s.logs("reject", rule="too_many_connections")) == 0
    finally:
        stop.set()
        t.join(5)
        for x in idle + loris:
            x.close()
    # everything held is released: the server still answers at once
    with s.smtp(source="127.0.3.2") as c:
        assert c.noop()[0] == 250
