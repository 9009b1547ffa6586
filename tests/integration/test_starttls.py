# tests/integration/test_starttls.py: STARTTLS rules (bad-input 9-12): no command injection, state reset, arguments,
# garbage instead of a ClientHello, plaintext on 465; openssl s_client -starttls smtp as a real peer.
# SPDX-License-Identifier: MIT
import shutil
import socket
import subprocess

import pytest

from mf import SLOW

needs_openssl = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")


@pytest.mark.parametrize("listener", ["mx", "submission"])
@pytest.mark.parametrize("injected", ["RSET\r\n", "EHLO evil\r\n", "MAIL FROM:<a@example.org>\r\n", "\r\n"])
def test_starttls_injection_refused(server, listener, injected):
    # bad-input 9: bytes pipelined behind STARTTLS in one packet must never be processed inside TLS
    r = server.session(listener)
    r.send("STARTTLS\r\n" + injected)
    code, text = r.reply()
    assert code == 554 and text.startswith("554 5.5.0"), (injected, code, text)
    assert r.expect_closed()
    rej = server.wait_log("reject", rule="starttls_pipelining")[0]
    assert rej["listener"] == listener


def test_starttls_argument_and_twice(server):
    r = server.session()
    code, text = r.cmd("STARTTLS now")
    assert code == 501 and "5.5.4" in text  # bad-input 11
    assert r.cmd("STARTTLS")[0] == 220
    t = server.tls_context().wrap_socket(r.sock, server_hostname="localhost")
    t.settimeout(10 * SLOW)
    f = t.makefile("rb")
    t.sendall(b"MAIL FROM:<a@example.org>\r\n")  # bad-input 12: the pre-TLS EHLO is forgotten
    assert f.readline().startswith(b"503 5.5.1")
    t.sendall(b"EHLO x\r\n")
    lines = [f.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(f.readline())
    assert lines[-1].startswith(b"250 ") and not any(b"STARTTLS" in l for l in lines)
    t.sendall(b"STARTTLS\r\n")  # bad-input 11: already in TLS
    assert f.readline()[:3] in (b"554", b"503")
    t.sendall(b"NOOP\r\n")
    assert f.readline().startswith(b"250")
    t.close()


def test_transaction_state_forgotten_after_starttls(server):
    r = server.session()
    assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("STARTTLS")[0] in (220, 503)  # either refused inside a transaction or it resets everything
    if r.closed:
        return
    t = server.tls_context().wrap_socket(r.sock, server_hostname="localhost")
    t.settimeout(10 * SLOW)
    f = t.makefile("rb")
    t.sendall(b"EHLO x\r\n")
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    t.sendall(b"DATA\r\n")  # the pre-TLS MAIL and RCPT are gone
    assert f.readline()[:3] in (b"503", b"554")
    t.close()


def test_garbage_instead_of_client_hello(server):
    r = server.session()
    assert r.cmd("STARTTLS")[0] == 220
    r.send(b"\x16\x03\x01garbage that is not a hello\r\n")
    assert r.expect_closed(10)
    server.wait_log("tls_error")
    r2 = server.session()  # the server is fine
    assert r2.cmd("NOOP")[0] == 250


def test_plaintext_on_implicit_tls_port_and_silent_client(make_server):
    s = make_server(tls={"handshake_timeout_s": 2})
    # bad-input 10: EHLO in plaintext on 465 -> handshake error, close, no SMTP reply
    c = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=10 * SLOW)
    c.sendall(b"EHLO x\r\n")
    data = b""
    try:
        while len(data) < 100000:
            d = c.recv(1000)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    assert b"250" not in data and not data.startswith(b"2")
    c.close()
    # a client that connects and sends nothing is dropped at the handshake timeout
    c = socket.create_connection(("127.0.0.1", s.ports["submissions"]), timeout=15 * SLOW)
    try:
        assert c.recv(1000) == b""
    except ConnectionResetError:
        pass
    c.close()
    assert len(s.wait_log("tls_error")) >= 1


def s_client(*args, stdin="QUIT\r\n"):
    return subprocess.run(["openssl", "s_client", *args], input=stdin, capture_output=True, text=True,
                          timeout=30 * SLOW)


@needs_openssl
@pytest.mark.parametrize("listener", ["mx", "submission"])
def test_openssl_s_client_starttls(server, listener):
    # -ign_eof: keep reading until the server closes after QUIT, so its replies inside TLS are seen
    r = s_client("-starttls", "smtp", "-connect", f"127.0.0.1:{server.ports[listener]}", "-brief", "-ign_eof",
                 "-crlf", stdin="EHLO probe\nQUIT\n")
    out = r.stdout + r.stderr
    assert "Protocol version: TLSv1.3" in out, out
    assert "250-mx.test" in out and "221 " in out, out


@needs_openssl
def test_openssl_s_client_verifies_test_pki(pki_server, pki):
    r = s_client("-starttls", "smtp", "-connect", f"127.0.0.1:{pki_server.ports['submission']}",
                 "-CAfile", str(pki["ca"]), "-verify_hostname", "localhost", "-verify_return_error", "-brief")
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Verification: OK" in out, out
