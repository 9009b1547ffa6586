# tests/integration/test_tls.py: TLS versions and ciphers (bad-input 13), STARTTLS rules (9-12), openssl s_client.
# SPDX-License-Identifier: MIT
import shutil
import socket
import ssl
import subprocess

import pytest


def handshake(server, listener, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # let the client at least offer the old protocol
    ctx.minimum_version = version
    ctx.maximum_version = version
    sock = socket.create_connection(("127.0.0.1", server.ports[listener]), timeout=10)
    try:
        if listener == "submission":
            f = sock.makefile("rb")
            f.readline()
            sock.sendall(b"EHLO x\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert f.readline().startswith(b"220 2.0.0")
        with ctx.wrap_socket(sock) as t:
            return t.version()
    finally:
        sock.close()


@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_tls12_and_13_accepted(server, listener):
    assert handshake(server, listener, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert handshake(server, listener, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


@pytest.mark.parametrize("listener", ["submission", "submissions"])
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls10_and_11_refused(server, listener, version):
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        handshake(server, listener, version)
    server.wait_log("tls_error")


def test_weak_tls12_ciphers_refused(server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-SHA:DES-CBC3-SHA:@SECLEVEL=0")  # no forward secrecy, CBC, 3DES
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        with socket.create_connection(("127.0.0.1", server.ports["submissions"]), timeout=10) as s:
            with ctx.wrap_socket(s):
                pass


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_openssl_s_client_starttls(server):
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{server.ports['mx']}",
                        "-brief"], input="EHLO probe\r\nQUIT\r\n", capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert "Protocol version: TLSv1.3" in out, out
    r = subprocess.run(["openssl", "s_client", "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-connect",
                        f"127.0.0.1:{server.ports['submissions']}"], input="", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "TLSv1.1" not in [l.strip() for l in r.stdout.splitlines() if "Protocol" in l]


def test_starttls_injection_refused(server):
    # bad-input 9: bytes pipelined behind STARTTLS must never be processed inside TLS
    for injected in ("RSET\r\n", "EHLO evil\r\n", "MAIL FROM:<a@b.c>\r\n"):
        r = server.raw_client()
        r.reply()
        r.cmd("EHLO x")
        r.send("STARTTLS\r\n" + injected)
        code, text = r.reply()
        assert code == 554 and "5.5.0" in text, (injected, code, text)
        assert r.expect_closed()
    assert len(server.wait_count("reject", 3, rule="starttls_pipelining")) == 3


def test_starttls_argument_and_twice(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    assert r.cmd("STARTTLS now")[0] == 501
    assert r.cmd("STARTTLS")[0] == 220
    ctx = server.tls_context()
    t = ctx.wrap_socket(r.sock, server_hostname="mx.test")
    t.sendall(b"MAIL FROM:<a@example.org>\r\n")  # bad-input 12: pre-TLS EHLO is forgotten
    assert t.recv(1000).startswith(b"503 5.5.1")
    t.sendall(b"EHLO x\r\n")
    data = b""
    while b"250 " not in data:
        data += t.recv(1000)
    assert b"STARTTLS" not in data
    t.sendall(b"STARTTLS\r\n")  # bad-input 11
    assert t.recv(1000)[:3] in (b"554", b"503")
    t.close()


def test_plaintext_on_implicit_tls_port_and_silent_client(make_server):
    s = make_server(tls={"handshake_timeout_s": 2})
    # bad-input 10: EHLO in plaintext on 465 -> handshake error, close, no SMTP reply
    c = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=10)
    c.sendall(b"EHLO x\r\n")
    data = b""
    try:
        while True:
            d = c.recv(1000)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    assert not data.startswith(b"2") and b"250" not in data
    c.close()
    # a client that connects and sends nothing is dropped at the handshake timeout
    c = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=15)
    assert c.recv(1000) == b""
    c.close()
    assert len(s.wait_log("tls_error")) >= 1


def test_garbage_instead_of_client_hello_after_starttls(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    assert r.cmd("STARTTLS")[0] == 220
    r.send(b"\x16\x03\x01garbage that is not a hello\r\n")
    assert r.expect_closed(10)
    server.wait_log("tls_error")
