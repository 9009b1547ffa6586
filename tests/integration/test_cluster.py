# tests/integration/test_cluster.py: two mailfort nodes sharing bans and ban scores through a real redis-server.
# SPDX-License-Identifier: MIT
import base64
import shutil
import smtplib
import subprocess
import time

import pytest

from mf import free_port

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server not installed")


@pytest.fixture
def redis(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield port, proc
    proc.terminate()
    proc.wait(10)


def node(make_server, port):
    return make_server(relaxed=False, sections={"greeting": {"delay_ms": 0},
                                                "state": {"backend": "redis",
                                                          "redis_url": f"redis://127.0.0.1:{port}"}})


def fail_auth(server, source, n):
    c = server.smtp("submissions", source=source)
    c.ehlo("x")
    codes = []
    for _ in range(n):
        try:
            codes.append(c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice@localhost\0guess").decode())[0])
        except smtplib.SMTPServerDisconnected:
            codes.append(None)
            break
    try:
        c.close()
    except OSError:
        pass
    return codes


def test_brute_force_split_over_two_nodes_is_banned_once_and_enforced_by_both(make_server, redis):
    port, _ = redis
    a, b = node(make_server, port), node(make_server, port)
    a.wait_log("redis_connected")
    b.wait_log("redis_connected")
    assert fail_auth(a, "127.0.0.21", 2) == [535, 535]
    assert fail_auth(b, "127.0.0.21", 2) == [535, 535]
    assert fail_auth(a, "127.0.0.21", 1)[0] == 535  # the fifth failure overall, on node A
    ban = a.wait_log("ban")[0]
    assert ban["source"] == "127.0.0.21/32"
    time.sleep(1.5)  # B learns the ban within a second
    assert b.raw_client(source="127.0.0.21").reply()[0] == 421
    assert a.raw_client(source="127.0.0.21").reply()[0] == 421
    assert b.raw_client(source="127.0.0.22").reply()[0] == 220  # others unaffected
    # a manual ban on one node is enforced by the other
    a.cli("ban", "add", "127.0.0.23", "--for", "5m")
    time.sleep(1.5)
    assert b.raw_client(source="127.0.0.23").reply()[0] == 421


def test_redis_outage_keeps_nodes_working_and_resyncs(make_server, redis):
    port, proc = redis
    a = node(make_server, port)
    a.wait_log("redis_connected")
    proc.terminate()
    proc.wait(10)
    # local state takes over: a brute force is still banned on this node
    codes = fail_auth(a, "127.0.0.24", 6)
    assert codes[:4] == [535] * 4
    a.wait_log("redis_unavailable")
    a.wait_log("ban", source="127.0.0.24/32")
    assert a.raw_client(source="127.0.0.25").reply()[0] == 220
    # redis comes back: the node reconnects and pushes its bans
    restarted = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        a.wait_log("redis_restored", timeout=15)
        out = subprocess.run(["redis-cli", "-p", str(port), "GET", "mf:ban:127.0.0.24/32"], capture_output=True,
                             text=True).stdout
        assert "auth_failure" in out
    finally:
        restarted.terminate()
        restarted.wait(10)


def test_rate_limits_are_shared_across_nodes(make_server, redis):
    port, _ = redis
    sections = {"greeting": {"delay_ms": 0}, "ratelimit": {"messages_per_hour_per_ip": 3},
                "state": {"backend": "redis", "redis_url": f"redis://127.0.0.1:{port}"}}
    a = make_server(relaxed=False, sections=sections)
    b = make_server(relaxed=False, sections=sections)
    a.wait_log("redis_connected")
    b.wait_log("redis_connected")
    codes = []
    for srv in (a, b, a, b):
        r = srv.raw_client(source="127.0.0.26")
        r.reply()
        r.cmd("EHLO x")
        codes.append(r.cmd("MAIL FROM:<x@example.org>")[0])
        r.close()
    assert codes == [250, 250, 250, 450]  # the fourth message counts against one shared limit
