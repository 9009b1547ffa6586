# tests/integration/test_tls_versions.py: TLS 1.2 and 1.3 accepted, TLS 1.0/1.1 and weak ciphers refused
# (bad-input 13) on the STARTTLS ports and on implicit TLS, with python's ssl and with openssl s_client.
# SPDX-License-Identifier: MIT
import shutil
import socket
import ssl
import subprocess

import pytest

from mf import SLOW

LISTENERS = ["mx", "submission", "submissions"]
OLD = [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1]


def client_context(version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version in OLD:
        # Debian's OpenSSL will not even offer TLS 1.0/1.1 at its default security level: lower it on the client
        # only, so that what is tested is the server's refusal
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    if ciphers:
        ctx.set_ciphers(ciphers)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def handshake(server, listener, ctx):
    sock = socket.create_connection(("127.0.0.1", server.ports[listener]), timeout=10 * SLOW)
    try:
        if listener != "submissions":
            f = sock.makefile("rb")
            assert f.readline().startswith(b"220")
            sock.sendall(b"EHLO x\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert f.readline().startswith(b"220 2.0.0")
        with ctx.wrap_socket(sock) as t:
            t.sendall(b"EHLO x\r\n" if listener == "submissions" else b"NOOP\r\n")
            reply = t.recv(1000)
            return t.version(), t.cipher()[0], reply
    finally:
        sock.close()


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_modern_tls_accepted(server, listener, version):
    got, cipher, reply = handshake(server, listener, client_context(version))
    assert got == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    assert reply.startswith(b"220" if listener == "submissions" else b"250"), reply
    assert server.wait_log("tls", listener=listener, version=got)[0]["cipher"] == cipher


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("version", OLD, ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_refused(server, listener, version):
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)) as e:
        handshake(server, listener, client_context(version))
    # the client did offer the old version: the failure is the server's refusal, not a client that could not try
    assert "NO_PROTOCOLS_AVAILABLE" not in str(e.value), e.value
    server.wait_log("tls_error", listener=listener)
    assert not server.logs("tls", listener=listener)


@pytest.mark.parametrize("ciphers", ["AES128-SHA:AES256-SHA", "DES-CBC3-SHA", "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA",
                                     "aNULL:eNULL"])
def test_weak_tls12_ciphers_refused(server, ciphers):
    try:
        ctx = client_context(ssl.TLSVersion.TLSv1_2, ciphers + ":@SECLEVEL=0")
    except ssl.SSLError:
        pytest.skip(f"this OpenSSL cannot offer {ciphers} at all")
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        handshake(server, "submissions", ctx)


needs_openssl = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")


def s_client(server, listener, *args):
    target = ["-connect", f"127.0.0.1:{server.ports[listener]}"]
    if listener != "submissions":
        target += ["-starttls", "smtp"]
    return subprocess.run(["openssl", "s_client", *target, *args], input="", capture_output=True, text=True,
                          timeout=30 * SLOW)


@needs_openssl
@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_openssl_s_client_old_versions_refused(server, listener):
    for flag in ("-tls1_1", "-tls1"):
        r = s_client(server, listener, flag, "-cipher", "ALL:@SECLEVEL=0")
        out = r.stdout + r.stderr
        assert r.returncode != 0, out
        assert "no protocols available" not in out, out  # the client really offered it
        assert "Cipher is (NONE)" in out, out  # no session was established
        assert "alert protocol version" in out or "unsupported protocol" in out, out


@needs_openssl
@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_openssl_s_client_modern_versions(server, listener):
    for flag, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        r = s_client(server, listener, flag, "-brief")
        out = r.stdout + r.stderr
        assert f"Protocol version: {name}" in out, out


@needs_openssl
@pytest.mark.parametrize("listener", ["mx", "submissions"])
def test_tls12_cipher_order_is_the_servers(server, listener):
    # Issue 15 item 7: the client lists our suites in reverse order (ChaCha20, then AES-256, then AES-128); with
    # the server's order in force it still gets our first choice, ECDHE-ECDSA-AES128-GCM-SHA256 (the self-signed
    # certificate is ECDSA). testssl.sh calls the opposite "no cipher order".
    reverse = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"
    r = s_client(server, listener, "-tls1_2", "-cipher", reverse, "-brief")
    out = r.stdout + r.stderr
    assert "Protocol version: TLSv1.2" in out, out
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in out, out
    r = s_client(server, listener, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
                 "-brief")
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in r.stdout + r.stderr
    # a suite the client offers alone is still agreed (the order decides among shared suites only)
    r = s_client(server, listener, "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", "-brief")
    assert "Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305" in r.stdout + r.stderr


@needs_openssl
@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_tls12_no_session_ticket(server, listener, tmp_path):
    # Issue 15 item 7: no stateless session ticket for TLS 1.2 (forward secrecy: no long-lived ticket key), while
    # the session still gets an ID for cache-based resumption.
    sess = tmp_path / "sess.pem"
    r = s_client(server, listener, "-tls1_2", "-sess_out", str(sess))
    out = r.stdout + r.stderr
    assert "Protocol  : TLSv1.2" in out or "Protocol: TLSv1.2" in out or "TLSv1.2" in out, out
    assert "TLS session ticket" not in out, out
    info = subprocess.run(["openssl", "sess_id", "-in", str(sess), "-noout", "-text"], capture_output=True,
                          text=True, timeout=30)
    assert info.returncode == 0, info.stderr
    assert "TLS session ticket" not in info.stdout, info.stdout
    sid = [l for l in info.stdout.splitlines() if l.strip().startswith("Session-ID:")]
    assert sid and sid[0].split(":", 1)[1].strip(), info.stdout  # a session ID instead
