# tests/integration/test_control.py: the control channel (<data_dir>/control.sock, daemon/control.hpp): the CLI
# asks the running server to flush, ban, unban, release, reload and report status; with no server it works
# offline and says so; the socket is owner-only and survives garbage.
# SPDX-License-Identifier: MIT
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest



def strict(make_server, **kw):
    return make_server(relaxed=False, sections={"greeting": {"delay_ms": 0}}, **kw)


def ask(s, payload, timeout=10):
    """One raw request line on the socket; returns the reply object (None when the server closed without one)."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(str(s.data / "control.sock"))
    try:
        if payload:
            c.sendall(payload)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        c.close()
    return json.loads(buf) if buf else None


def test_socket_is_owner_only_and_removed_at_stop(make_server):
    s = make_server()
    sock = s.data / "control.sock"
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    s.wait_log("control_listening")
    s.stop()
    assert not sock.exists()
    # a socket left by a killed server is stale: the next start removes it and listens again
    s.start()
    s.kill9()
    assert sock.exists()
    s.start()
    assert ask(s, b'{"verb":"status"}\n')["ok"] is True


def test_status_flush_reload_through_the_server(make_server):
    s = make_server()
    r = s.cli("status", "--format", "json", check=False)
    assert "no running server" not in r.stderr
    st = json.loads(r.stdout)
    assert st["ok"] is True and st["pid"] == s.proc.pid and st["queue"] == 0 and st["uptime_s"] >= 0
    assert st["listeners"]["mx"] == f"127.0.0.1:{s.ports['mx']}" and st["version"]
    s.wait_log("control_request", verb="status", result="ok")

    r = s.cli("queue", "flush")
    assert "server flushing" in r.stdout and "no running server" not in r.stderr
    s.wait_log("control_request", verb="flush", result="ok")

    r = s.cli("reload")
    assert "config admitted" in r.stdout
    s.wait_log("control_request", verb="reload", result="ok")
    s.wait_log("tls_reloaded")


def test_ban_and_unban_take_effect_at_once(make_server):
    s = strict(make_server)
    assert s.raw_client(source="127.0.0.77").reply()[0] == 220
    r = s.cli("ban", "add", "127.0.0.77", "--for", "10m", "--reason", "control test")
    assert "banned 127.0.0.77/32" in r.stdout and "no running server" not in r.stderr
    # no wait for the one-second poll of state.db: the server's own guard holds the ban already
    assert s.raw_client(source="127.0.0.77").reply()[0] == 421
    s.wait_log("control_request", verb="ban", result="ok")
    assert "127.0.0.77/32" in s.cli("ban", "list").stdout
    r = s.cli("ban", "del", "127.0.0.77")
    assert "unbanned 127.0.0.77/32" in r.stdout
    assert s.raw_client(source="127.0.0.77").reply()[0] == 220
    r = s.cli("ban", "del", "127.0.0.77", check=False)
    assert r.returncode == 1 and "not banned" in r.stderr
    s.wait_log("control_request", verb="unban", result="error")


def test_release_of_nobody_held_is_an_error_reply(make_server):
    s = make_server()
    r = s.cli("queue", "release", "nobody@localhost", check=False)
    assert r.returncode == 1 and "not held" in r.stderr and "no running server" not in r.stderr
    s.wait_log("control_request", verb="release", result="error")


def test_garbage_oversized_and_slow_requests(make_server):
    s = make_server()
    for bad in (b"garbage\n", b"[1,2]\n", b'{"verb":"rm"}\n', b'{"verb":7}\n', b"\xff\xfe\n"):
        r = ask(s, bad)
        assert r["ok"] is False and r["error"], bad
    r = ask(s, b'{"verb":"status","pad":"' + b"x" * (70 * 1024) + b'"}\n')
    assert r is None or (r["ok"] is False and "too long" in r["error"])
    t = time.time()
    r = ask(s, b"")  # says nothing: answered after the read timeout, the channel is free again
    assert r["ok"] is False and "slow" in r["error"] and time.time() - t < 6
    s.wait_log("control_error")
    assert ask(s, b'{"verb":"status"}\n')["ok"] is True
    assert s.proc.poll() is None


def test_no_server_falls_back_offline(make_server):
    s = make_server(start=False)
    r = s.cli("queue", "flush")
    assert "no running server: queue flush done offline" in r.stderr
    assert "message(s) left in queue" in r.stdout
    r = s.cli("ban", "add", "192.0.2.9")
    assert "no running server" in r.stderr and "banned 192.0.2.9/32" in r.stdout
    r = s.cli("ban", "del", "192.0.2.9")
    assert "no running server" in r.stderr
    r = s.cli("reload", check=False)
    assert r.returncode == 1 and "no running server" in r.stderr
    # a socket nobody listens on (a dead server's) counts as no server
    s.data.mkdir(parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(s.data / "control.sock"))
    dead.close()
    r = s.cli("queue", "flush")
    assert "no running server" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/setpriv"), reason="needs root and setpriv")
def test_other_uid_is_refused(make_server):
    s = make_server()
    sock = s.data / "control.sock"
    code = ("import socket,sys\n"
            "c=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)\nc.settimeout(10)\n"
            "try:\n c.connect(sys.argv[1])\nexcept PermissionError:\n print('EACCES');sys.exit(0)\n"
            "c.sendall(b'{\"verb\":\"flush\"}\\n')\nprint(c.recv(4096).decode())\n")
    # the test's directories are not open to nobody: a hard link in a directory that is reaches the same socket
    link_dir = tempfile.mkdtemp(dir="/tmp")
    try:
        os.chmod(link_dir, 0o755)
        link = os.path.join(link_dir, "c.sock")
        os.link(sock, link)
        nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                  code, link]
        # as created (0600) another user cannot even connect
        r = subprocess.run(nobody, capture_output=True, text=True, timeout=30)
        assert r.stdout.strip() == "EACCES", r.stdout + r.stderr
        # opened up by hand, the server still refuses it by its credentials (SO_PEERCRED)
        os.chmod(sock, 0o666)
        out = subprocess.run(nobody, capture_output=True, text=True, timeout=30).stdout
        assert '"ok":false' in out.replace(" ", "") and "refused" in out
        s.wait_log("control_refused", uid=65534)
        assert not s.logs("control_request", verb="flush")
    finally:
        shutil.rmtree(link_dir, ignore_errors=True)
