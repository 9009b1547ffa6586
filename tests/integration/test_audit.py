# tests/integration/test_audit.py: `mailfort audit` against real servers on loopback: mailfort on its defaults,
# a badly configured and a hardened Postfix (Debian's, started here in its own config directory on high ports),
# domain checks against a real nsd with test zones, and `audit config`. Traffic goes to 127.0.0.1 only.
# SPDX-License-Identifier: MIT
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import dnsserver
import mf

pytestmark = pytest.mark.skipif(not os.path.exists(mf.BIN), reason=f"mailfort not built at {mf.BIN}")

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SERIOUS = ("high", "critical")


def audit(*args, timeout=180):
    """Runs `mailfort audit ... --format json`; returns (exit code, report dict)."""
    p = subprocess.run([mf.BIN, "audit", *args, "--format", "json"], capture_output=True, text=True,
                       timeout=timeout * mf.SLOW)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report (exit {p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
    for marker in mf.SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr[-5000:]
    return p.returncode, rep


def ids(rep):
    return {f["id"]: f["severity"] for f in rep["findings"]}


def serious(rep):
    return [(f["id"], f["severity"], f["evidence"]) for f in rep["findings"] if f["severity"] in SERIOUS]


# ---- test PKI --------------------------------------------------------------------------------------------------
def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA (400 days), a leaf for localhost and the test MX names signed by it (365 days), a self-signed
    certificate for the wrong name, and gen-test-pki.sh's expired leaf. Files are world-readable (Postfix's
    daemons read them) in a directory outside pytest's private tree."""
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    d = Path(tempfile.mkdtemp(prefix="mf-audit-pki-"))
    os.chmod(d, 0o755)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "400", "-subj", "/CN=audit test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                                "subjectAltName=DNS:localhost,DNS:mx.clean.test,DNS:mta-sts.clean.test,"
                                "DNS:mx.good.test,DNS:mta-sts.sts.test,DNS:mx.dane.test,DNS:mx.danegood.test,"
                                "IP:127.0.0.1\n")
    openssl("req", "-new", *ec, "-keyout", "good.key", "-out", "good.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "good.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "365",
            "-extfile", "leaf.ext", "-out", "good.pem", cwd=d)
    (d / "chain.pem").write_text((d / "good.pem").read_text() + (d / "ca.pem").read_text())
    # An RSA leaf for the same names: static-RSA key exchange (no forward secrecy) needs an RSA certificate.
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.csr",
            "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "rsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "365",
            "-extfile", "leaf.ext", "-out", "rsa.pem", cwd=d)
    (d / "rsa-chain.pem").write_text((d / "rsa.pem").read_text() + (d / "ca.pem").read_text())
    openssl("req", "-x509", *ec, "-keyout", "wrong.key", "-out", "wrong.pem", "-days", "365",
            "-subj", "/CN=wrong.example", "-addext", "subjectAltName=DNS:wrong.example", cwd=d)
    old = mf.gen_pki(d / "old")
    shutil.copy(old["expired"], d / "expired.pem")
    shutil.copy(old["expired_key"], d / "expired.key")
    for f in d.rglob("*"):
        os.chmod(f, 0o755 if f.is_dir() else 0o644)
    spki = subprocess.run(["openssl", "x509", "-in", str(d / "good.pem"), "-pubkey", "-noout"], check=True,
                          capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki, check=True,
                         capture_output=True).stdout
    yield {"dir": d, "ca": d / "ca.pem", "chain": d / "chain.pem", "key": d / "good.key", "cert": d / "good.pem",
           "rsa_chain": d / "rsa-chain.pem", "rsa_key": d / "rsa.key",
           "wrong": d / "wrong.pem", "wrong_key": d / "wrong.key", "expired": d / "expired.pem",
           "expired_key": d / "expired.key", "tlsa": hashlib.sha256(der).hexdigest()}
    shutil.rmtree(d, ignore_errors=True)


# ---- (a) mailfort itself on its defaults -----------------------------------------------------------------------
def test_mailfort_defaults_have_no_serious_finding(make_server):
    # relaxed=False: the real greeting delay, rate limits and bans; the probes a hardened server punishes
    # run last, so a ban shows as incomplete checks, never as a finding.
    s = make_server(relaxed=False)
    rc, rep = audit("smtp", f"127.0.0.1:{s.ports['mx']}", "--tls-name", "localhost",
                    "--submission-port", str(s.ports["submission"]), "--smtps-port", str(s.ports["submissions"]))
    assert rep["schema"] == "mailfort-audit/1" and rep["completed"], rep
    assert serious(rep) == [], rep["findings"]
    assert rc == 0
    found = ids(rep)
    for bad in ("relay.open", "disclosure.vrfy", "auth.before_tls", "tls.version.tls1_0", "tls.version.tls1_1",
                "tls.starttls.injection", "auth.submission.plaintext", "protocol.early_talker",
                "tls.cipher.weak_accepted", "tls.cipher.no_forward_secrecy"):
        assert bad not in found, (bad, rep["findings"])
    checks = {c["id"]: c["status"] for c in rep["checks"]}
    assert checks["smtp.open_relay"] == "ran" and checks["smtp.tls_versions"] == "ran", checks


def test_mailfort_rejects_every_smuggling_variant(make_server):
    s = make_server()  # relaxed: no ban, so each variant gets its own verdict
    rc, rep = audit("smtp", f"127.0.0.1:{s.ports['mx']}", "--smuggling", "--smuggling-rcpt", "alice@localhost",
                    "--smuggling-wait", "1.5", "--no-tls-versions", "--fail-on", "low")
    found = ids(rep)
    assert "protocol.smuggling.end_of_data" not in found and "protocol.smuggling.kept_as_content" not in found, \
        rep["findings"]
    checks = {c["id"]: c for c in rep["checks"]}
    assert checks["smtp.smuggling"]["status"] == "ran", checks["smtp.smuggling"]
    assert rc in (0, 1)
    # Pipelining: advertised, a valid group answered in full, content before the 354 refused (554, closed).
    assert not any(i.startswith("protocol.pipelining.") for i in found), rep["findings"]
    assert checks["smtp.pipelining"]["note"].startswith("3 of 3"), checks["smtp.pipelining"]
    assert checks["smtp.pipelining_data"]["status"] == "ran", checks["smtp.pipelining_data"]
    assert "554 5.5.0" in checks["smtp.pipelining_data"]["note"], checks["smtp.pipelining_data"]


def test_unreachable_server_exit_2():
    port = mf.free_port()  # nothing listens there
    rc, rep = audit("smtp", f"127.0.0.1:{port}", "--timeout", "3")
    assert rc == 2 and not rep["completed"]


def test_bad_target_is_usage_error():
    p = subprocess.run([mf.BIN, "audit", "smtp", "127.0.0.1:notaport"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2


# ---- (b) Postfix, badly configured and hardened ------------------------------------------------------------------
class AcceptLoop:
    """Accepts on self.sock in a daemon thread and runs self._conn(connection) in a thread per connection, until
    the socket is closed."""

    def start_accepting(self):
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()


class DovecotAuthStub(AcceptLoop):
    """Answers Postfix's Dovecot SASL handshake (mechanisms PLAIN and LOGIN) on a unix socket, so Postfix
    advertises AUTH; every authentication attempt fails. Enough to show where AUTH is offered."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(16)
        self.start_accepting()

    def _conn(self, c):
        try:
            c.sendall(b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\n"
                      b"COOKIE\t00112233445566778899aabbccddeeff\nDONE\n")
            buf = b""
            while True:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    parts = line.split(b"\t")
                    if parts[0] == b"AUTH" and len(parts) > 1:
                        c.sendall(b"FAIL\t" + parts[1] + b"\n")
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


class Postfix:
    """A private Postfix instance: its own config, queue and data directories, smtpd services on loopback high
    ports, every transport `discard` so nothing leaves. Never the system MTA, never port 25."""

    def __init__(self, name, main, services):
        self.dir = Path(tempfile.mkdtemp(prefix=f"mf-postfix-{name}-"))
        os.chmod(self.dir, 0o755)
        (self.dir / "queue").mkdir()
        (self.dir / "data").mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")
        self.sasl = DovecotAuthStub(self.dir / "auth")
        base = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.dir / "queue"),
            "data_directory": str(self.dir / "data"),
            "maillog_file": str(self.dir / "maillog"),
            "maillog_file_prefixes": str(self.dir),
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": f"mx.{name}.test",
            "mydomain": f"{name}.test",
            "mydestination": "$myhostname, localhost",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "inline:{postmaster=ok, alice=ok}",
            "default_transport": "discard",
            "local_transport": "discard",
            "relay_transport": "discard",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": str(self.dir / "auth"),
            "smtpd_tls_security_level": "may",
            "biff": "no",
        }
        base.update(main)
        (self.dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in base.items()))
        lines, keep = [], True
        for line in Path("/etc/postfix/master.cf.proto").read_text().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if not line[0].isspace():
                f = line.split()
                keep = f[0] not in ("smtp", "maildrop", "uucp", "ifmail", "bsmtp", "scalemail-backend", "mailman",
                                    "submission", "submissions", "smtps", "relay", "lmtp", "virtual") or f[1] == "unix"
                if keep and len(f) >= 5:
                    f[4] = "n"  # no chroot: the private instance lives in /tmp
                    line = " ".join(f)
            if keep:
                lines.append(line)
        self.ports = {}
        for svc, opts in services.items():
            port = mf.free_port()
            self.ports[svc] = port
            lines.append(f"127.0.0.1:{port} inet n - n - - smtpd")
            lines += [f"  -o {k}={v}" for k, v in opts.items()]
        (self.dir / "master.cf").write_text("\n".join(lines) + "\n")

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", str(self.dir), *args], capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("start")
        assert r.returncode == 0, f"postfix start: {r.stdout} {r.stderr} {self.log()}"
        deadline = time.monotonic() + 20
        for port in self.ports.values():
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.settimeout(5)
                        if s.recv(100).startswith(b"220"):
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"postfix not answering on {port}: {self.log()}"
                time.sleep(0.2)
        return self

    def log(self):
        p = self.dir / "maillog"
        return p.read_text()[-4000:] if p.exists() else ""

    def stop(self):
        self.postfix("stop")
        self.sasl.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


need_postfix = pytest.mark.skipif(not os.path.exists(POSTFIX) or os.geteuid() != 0,
                                  reason="postfix not installed (scripts/install-deps.sh) or not root")


@pytest.fixture(scope="module")
def bad_postfix(certs):
    p = Postfix("bad", {
        "mynetworks": "0.0.0.0/0",                          # open relay
        "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
        "disable_vrfy_command": "no",                       # VRFY on
        "smtpd_tls_protocols": ">=TLSv1",                   # TLS 1.0 allowed ...
        "smtpd_tls_mandatory_protocols": ">=TLSv1",
        "tls_medium_cipherlist": "DEFAULT:@SECLEVEL=0",     # ... which OpenSSL 3 refuses at its default level
        "smtpd_forbid_bare_newline": "no",                  # SMTP smuggling
        "smtpd_sasl_auth_enable": "yes",                    # AUTH ...
        "smtpd_tls_auth_only": "no",                        # ... in cleartext
        "smtpd_tls_chain_files": f"{certs['expired_key']}, {certs['expired']}",  # expired certificate
        "smtpd_banner": "$myhostname ESMTP Postfix 3.7.11",  # version disclosure
    }, {
        "mx": {},
        "wrongname": {"smtpd_tls_chain_files": f"{certs['wrong_key']},{certs['wrong']}"},  # self-signed, wrong name
        "submission": {"smtpd_tls_security_level": "may"},
        "tlsrelay": {"smtpd_tls_security_level": "encrypt"},  # 530 before STARTTLS, open relay inside TLS
        # An RSA certificate and Postfix's default medium cipher list: static-RSA suites (no forward secrecy).
        "rsa": {"smtpd_tls_chain_files": f"{certs['rsa_key']},{certs['rsa_chain']}"},
    })
    try:
        yield p.start()
    finally:
        p.stop()


@pytest.fixture(scope="module")
def good_postfix(certs):
    p = Postfix("good", {
        "mynetworks": "192.0.2.1/32",  # not us: loopback must not relay either
        "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        "disable_vrfy_command": "yes",
        "smtpd_tls_protocols": ">=TLSv1.2",
        "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
        "smtpd_forbid_bare_newline": "reject",
        "smtpd_forbid_unauth_pipelining": "yes",
        # ECDSA and RSA certificates; static RSA key exchange excluded (forward secrecy only).
        "smtpd_tls_chain_files": f"{certs['key']}, {certs['chain']}, {certs['rsa_key']}, {certs['rsa_chain']}",
        "smtpd_tls_exclude_ciphers": "kRSA",
        "smtpd_banner": "$myhostname ESMTP",
    }, {
        "mx": {},
        "submission": {"smtpd_tls_security_level": "encrypt", "smtpd_sasl_auth_enable": "yes",
                       "smtpd_tls_auth_only": "yes"},
    })
    try:
        yield p.start()
    finally:
        p.stop()


@need_postfix
def test_bad_postfix_every_fault_found(bad_postfix, certs):
    rc, rep = audit("smtp", f"127.0.0.1:{bad_postfix.ports['mx']}", "--tls-name", "localhost",
                    "--ca-file", str(certs["ca"]), "--submission-port", str(bad_postfix.ports["submission"]),
                    "--smuggling", "--smuggling-wait", "1.5")
    found = ids(rep)
    expect = {
        "relay.open": "critical",
        "disclosure.vrfy": "medium",
        "tls.version.tls1_0": "medium",
        "auth.before_tls": "high",
        "certificate.expired": "critical",
        "protocol.smuggling.end_of_data": "critical",
        "auth.submission.plaintext": "high",
        "disclosure.banner.version": "low",
        "protocol.pipelining.data_sync": "low",             # smtpd_forbid_unauth_pipelining = no (3.7's default)
    }
    for i, sev in expect.items():
        assert found.get(i) == sev, (i, sev, rep["findings"], bad_postfix.log())
    assert rc == 1
    checks = {c["id"]: c for c in rep["checks"]}
    # PIPELINING is advertised and a valid group (MAIL, RSET, NOOP) is answered in full.
    assert "protocol.pipelining.missing" not in found and "protocol.pipelining.broken" not in found, rep["findings"]
    assert checks["smtp.pipelining"]["status"] == "ran" and checks["smtp.pipelining"]["note"].startswith("3 of 3"), \
        checks["smtp.pipelining"]
    ev = next(f["evidence"] for f in rep["findings"] if f["id"] == "protocol.pipelining.data_sync")
    assert ev.startswith("DATA and a header line in one write: 354"), ev


@need_postfix
def test_bad_postfix_wrong_name_self_signed(bad_postfix, certs):
    rc, rep = audit("smtp", f"127.0.0.1:{bad_postfix.ports['wrongname']}", "--tls-name", "mx.bad.test",
                    "--ca-file", str(certs["ca"]), "--no-tls-versions", "--fail-on", "medium")
    found = ids(rep)
    assert found.get("certificate.self_signed") == "medium", rep["findings"]
    assert found.get("certificate.name_mismatch") == "medium", rep["findings"]
    assert rc == 1


@need_postfix
def test_postfix_with_rsa_certificate_offers_no_forward_secrecy(bad_postfix, certs):
    rc, rep = audit("smtp", f"127.0.0.1:{bad_postfix.ports['rsa']}", "--tls-name", "localhost",
                    "--ca-file", str(certs["ca"]), "--no-pipelining")
    f = next((f for f in rep["findings"] if f["id"] == "tls.cipher.no_forward_secrecy"), None)
    assert f and f["severity"] == "low" and "TLSv1.2 AES" in f["evidence"], rep["findings"]
    assert "tls.cipher.weak_accepted" not in ids(rep), rep["findings"]


@need_postfix
def test_open_relay_behind_mandatory_starttls(bad_postfix):
    rc, rep = audit("smtp", f"127.0.0.1:{bad_postfix.ports['tlsrelay']}", "--no-tls-versions")
    assert ids(rep).get("relay.open") == "critical", rep["findings"]
    assert rc == 1


@need_postfix
def test_hardened_postfix_has_no_serious_finding(good_postfix, certs):
    rc, rep = audit("smtp", f"127.0.0.1:{good_postfix.ports['mx']}", "--tls-name", "localhost",
                    "--ca-file", str(certs["ca"]), "--submission-port", str(good_postfix.ports["submission"]),
                    "--smuggling", "--smuggling-rcpt", "postmaster@mx.good.test", "--smuggling-wait", "1.5")
    assert serious(rep) == [], (rep["findings"], good_postfix.log())
    assert rc == 0
    found = ids(rep)
    for bad in ("relay.open", "disclosure.vrfy", "tls.version.tls1_0", "tls.version.tls1_1", "auth.before_tls",
                "certificate.expired", "certificate.self_signed", "certificate.name_mismatch",
                "certificate.untrusted", "protocol.smuggling.end_of_data", "auth.submission.plaintext"):
        assert bad not in found, (bad, rep["findings"])
    checks = {c["id"]: c for c in rep["checks"]}
    assert checks["smtp.smuggling"]["status"] == "ran"
    # Weak and static-RSA suites refused although an RSA certificate is served (smtpd_tls_exclude_ciphers = kRSA).
    assert "tls.cipher.weak_accepted" not in found and "tls.cipher.no_forward_secrecy" not in found, rep["findings"]
    assert checks["smtp.weak_ciphers"]["status"] == "ran" and checks["smtp.static_rsa_ciphers"]["status"] == "ran"
    # smtpd_forbid_unauth_pipelining = yes: content sent before the 354 is refused and the client dropped.
    assert "protocol.pipelining.data_sync" not in found, rep["findings"]
    assert checks["smtp.pipelining_data"]["status"] == "ran", checks["smtp.pipelining_data"]
    assert "554" in checks["smtp.pipelining_data"]["note"], checks["smtp.pipelining_data"]
    assert checks["smtp.pipelining"]["note"].startswith("3 of 3"), checks["smtp.pipelining"]


class WeakTLSServer(AcceptLoop):
    """A small STARTTLS SMTP server (python ssl) that accepts a NULL-encryption suite (ECDHE-ECDSA-NULL-SHA) and a
    static-RSA suite (AES128-SHA, no forward secrecy) from a client that offers nothing better: Debian's OpenSSL 3
    has no 3DES/RC4 any more, and Postfix 3.7 will not serve eNULL, so this is the real server with weak ciphers.
    An ECDSA and an RSA certificate; TLS 1.2 and 1.3 only; relaying is refused."""

    def __init__(self, certs, host, port):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-NULL-SHA:AES128-SHA:@SECLEVEL=0")
        self.ctx.load_cert_chain(str(certs["chain"]), str(certs["key"]))
        self.ctx.load_cert_chain(str(certs["rsa_chain"]), str(certs["rsa_key"]))
        self.sock = socket.create_server((host, port))
        self.address = f"{host}:{port}"
        self.start_accepting()

    def _conn(self, c):
        c.settimeout(15)
        tls, buf = False, b""
        try:
            c.sendall(b"220 weak.test ESMTP\r\n")
            while True:
                while b"\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                line, buf = buf.split(b"\r\n", 1)
                verb = line.split(b" ")[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    c.sendall(b"250-weak.test\r\n" + (b"" if tls else b"250-STARTTLS\r\n") + b"250 SIZE 1000000\r\n")
                elif verb == b"STARTTLS" and not tls:
                    c.sendall(b"220 2.0.0 ready\r\n")
                    c, tls, buf = self.ctx.wrap_socket(c, server_side=True), True, b""
                elif verb == b"QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                elif verb in (b"MAIL", b"RSET", b"NOOP"):
                    c.sendall(b"250 2.0.0 ok\r\n")
                elif verb == b"RCPT":
                    c.sendall(b"550 5.7.1 relay access denied\r\n")
                else:
                    c.sendall(b"502 5.5.2 not implemented\r\n")
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


@pytest.fixture(scope="module")
def weak_server(certs, bad_postfix):
    # 127.0.0.3 on the bad Postfix's port number: Postfix listens on 127.0.0.1 only, so one --mx-port reaches both
    # MX hosts of sweep.test.
    s = WeakTLSServer(certs, "127.0.0.3", bad_postfix.ports["mx"])
    yield s
    s.stop()


@need_postfix
def test_weak_cipher_accepted(weak_server, certs):
    rc, rep = audit("smtp", weak_server.address, "--tls-name", "localhost", "--ca-file", str(certs["ca"]),
                    "--no-pipelining")
    f = next(f for f in rep["findings"] if f["id"] == "tls.cipher.weak_accepted")
    assert f["severity"] == "high" and "NULL" in f["evidence"], f
    f = next(f for f in rep["findings"] if f["id"] == "tls.cipher.no_forward_secrecy")
    assert f["severity"] == "low" and "TLSv1.2 AES128-SHA" in f["evidence"], f
    assert "tls.version.tls1_0" not in ids(rep) and "tls.version.tls1_1" not in ids(rep), rep["findings"]
    assert rc == 1


# ---- (c) domain checks against nsd -----------------------------------------------------------------------------
SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
ns 3600 IN A 127.0.0.1
"""


@pytest.fixture(scope="module")
def zones(tmp_path_factory, certs):
    if not dnsserver.have_nsd():
        pytest.skip("nsd not installed")
    ns = dnsserver.DnsServer(tmp_path_factory.mktemp("audit-dns"))
    common = """
_dmarc 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{z}"
_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{z}"
"""
    ns.add_zone("clean.test", SOA.format(z="clean.test") + """
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 mx -all"
mx 300 IN A 127.0.0.1
_mta-sts 300 IN TXT "v=STSv1; id=20261204"
mta-sts 300 IN A 127.0.0.1
""" + common.format(z="clean.test"))
    # MTA-STS whose policy names another MX than the real one.
    ns.add_zone("sts.test", SOA.format(z="sts.test") + """
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 mx -all"
_mta-sts 300 IN TXT "v=STSv1; id=1"
mta-sts 300 IN A 127.0.0.1
""" + common.format(z="sts.test"))
    # DANE: signed zones, one TLSA that does not match the served key and one that does.
    anchors = []
    for zone, digest in (("dane.test", "00" * 32), ("danegood.test", certs["tlsa"])):
        anchors.append(ns.add_zone(zone, SOA.format(z=zone) + f"""
@ 300 IN MX 10 mx.{zone}.
@ 300 IN TXT "v=spf1 mx -all"
mx 300 IN A 127.0.0.1
_25._tcp.mx 300 IN TLSA 3 1 1 {digest}
""" + common.format(z=zone), sign=True))
    anchor_file = tmp_path_factory.mktemp("audit-anchors") / "anchors.ds"
    anchor_file.write_text("".join(Path(a).read_text() for a in anchors))
    ns.anchor_file = str(anchor_file)
    spf11 = " ".join(f"a:h{i}.spf11.test" for i in range(1, 12))
    hosts = "\n".join(f"h{i} 300 IN A 127.0.0.1" for i in range(1, 12))
    ns.add_zone("spf11.test", SOA.format(z="spf11.test") + f"""
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 {spf11} -all"
{hosts}
""" + common.format(z="spf11.test"))
    ns.add_zone("nonedmarc.test", SOA.format(z="nonedmarc.test") + """
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 mx -all"
_dmarc 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@nonedmarc.test"
""")
    ns.add_zone("nodmarc.test", SOA.format(z="nodmarc.test") + """
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 mx -all"
sub 300 IN MX 10 mx.clean.test.
""")
    # A subdomain without its own DMARC record: the organisational domain's record (and its sp=) applies.
    ns.add_zone("orgdmarc.test", SOA.format(z="orgdmarc.test") + """
@ 300 IN MX 10 mx.clean.test.
@ 300 IN TXT "v=spf1 mx -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@orgdmarc.test"
sub 300 IN MX 10 mx.clean.test.
sub 300 IN TXT "v=spf1 mx -all"
own 300 IN MX 10 mx.clean.test.
_dmarc.own 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@orgdmarc.test"
""")
    # Two MX hosts on two loopback addresses (the same --mx-port): the bad Postfix and the weak-cipher server.
    ns.add_zone("sweep.test", SOA.format(z="sweep.test") + """
@ 300 IN MX 10 mx1.sweep.test.
@ 300 IN MX 20 mx2.sweep.test.
@ 300 IN TXT "v=spf1 mx -all"
mx1 300 IN A 127.0.0.1
mx2 300 IN A 127.0.0.3
""" + common.format(z="sweep.test"))
    ns.add_zone("listed.test", SOA.format(z="listed.test") + """
@ 300 IN MX 10 mx.listed.test.
@ 300 IN TXT "v=spf1 mx -all"
mx 300 IN A 127.0.0.2
""" + common.format(z="listed.test"))
    ns.add_zone("bl.test", SOA.format(z="bl.test") + """
2.0.0.127 300 IN A 127.0.0.2
""")
    ns.add_zone("127.in-addr.arpa", SOA.format(z="127.in-addr.arpa") + """
1.0.0 300 IN PTR mx.clean.test.
""")
    ns.start()
    yield ns
    ns.stop()


@pytest.fixture(scope="module")
def dns_config(tmp_path_factory, zones):
    p = tmp_path_factory.mktemp("audit-cfg") / "mailfort.toml"
    p.write_text(f'[dns]\nservers = ["{zones.address}"]\nroot_anchor = ""\ntimeout_ms = 3000\n'
                 f'trust_anchor = "{zones.anchor_file}"\nspecial_zones = ["test", "127.in-addr.arpa"]\n')
    return str(p)


def _audit_domain(dns_config, domain, *args):
    p = subprocess.run([mf.BIN, "--config", dns_config, "audit", "domain", domain, "--dnsbl", "bl.test",
                        "--format", "json", *args], capture_output=True, text=True, timeout=120 * mf.SLOW)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"no JSON (exit {p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")


@pytest.fixture(scope="module")
def mx_server(tmp_path_factory, certs):
    s = mf.Server(tmp_path_factory.mktemp("audit-mx"), tls={"certificate": str(certs["chain"]),
                                                           "key": str(certs["key"])})
    s.start()
    yield s
    s.stop()


class PolicyServer:
    """HTTPS on loopback serving /.well-known/mta-sts.txt per Host header (the test CA's certificate)."""

    POLICIES = {
        "mta-sts.clean.test": "version: STSv1\r\nmode: enforce\r\nmx: mx.clean.test\r\nmax_age: 86400\r\n",
        "mta-sts.sts.test": "version: STSv1\r\nmode: enforce\r\nmx: mx.other.test\r\nmax_age: 86400\r\n",
    }

    def __init__(self, certs):
        policies = self.POLICIES

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                body = policies.get(host)
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(certs["chain"]), str(certs["key"]))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def policy_server(certs):
    s = PolicyServer(certs)
    yield s
    s.stop()


def test_domain_clean_zone(dns_config, mx_server, certs, policy_server):
    rc, rep = _audit_domain(dns_config, "clean.test", "--mx-port", str(mx_server.ports["mx"]),
                            "--ca-file", str(certs["ca"]), "--https-port", str(policy_server.port),
                            "--fail-on", "low")
    assert rep["completed"], rep
    assert rep["findings"] == [], rep["findings"]
    assert rc == 0
    checks = {c["id"]: c["status"] for c in rep["checks"]}
    assert checks.get("domain.mx_smtp.mx.clean.test") == "ran", checks


def test_domain_spf_with_11_lookups(dns_config):
    rc, rep = _audit_domain(dns_config, "spf11.test", "--no-smtp")
    assert ids(rep).get("spf.too_many_lookups") == "high", rep["findings"]
    assert "11 DNS-querying terms" in next(f["evidence"] for f in rep["findings"] if f["id"] == "spf.too_many_lookups")
    assert rc == 1


def test_domain_dmarc_none_and_missing(dns_config):
    rc, rep = _audit_domain(dns_config, "nonedmarc.test", "--no-smtp")
    assert ids(rep).get("dmarc.policy.none") == "medium", rep["findings"]
    assert rc == 0  # medium is below the default --fail-on high
    rc, rep = _audit_domain(dns_config, "nodmarc.test", "--no-smtp")
    assert ids(rep).get("dmarc.missing") == "high", rep["findings"]
    assert rc == 1


def test_domain_dnsbl_listing_and_missing_ptr(dns_config):
    rc, rep = _audit_domain(dns_config, "listed.test", "--no-smtp")
    found = ids(rep)
    assert found.get("dns.dnsbl.listed") == "high", rep["findings"]
    assert found.get("dns.ptr.missing") == "medium", rep["findings"]
    assert "bl.test" in next(f["evidence"] for f in rep["findings"] if f["id"] == "dns.dnsbl.listed")
    assert rc == 1


def test_domain_mta_sts_policy_not_matching_mx(dns_config, certs, policy_server):
    rc, rep = _audit_domain(dns_config, "sts.test", "--no-smtp", "--ca-file", str(certs["ca"]),
                            "--https-port", str(policy_server.port))
    assert ids(rep).get("mta_sts.mx_mismatch") == "critical", rep["findings"]
    assert rc == 1


def test_domain_mta_sts_fetch_needs_a_valid_certificate(dns_config, policy_server):
    # Without the test CA the policy host's certificate does not verify: the policy cannot be used.
    rc, rep = _audit_domain(dns_config, "clean.test", "--no-smtp", "--https-port", str(policy_server.port))
    assert ids(rep).get("mta_sts.fetch_failed") == "high", rep["findings"]
    # The reason comes from the delivery engine's fetcher (outbound::fetch_sts_policy).
    ev = next(f["evidence"] for f in rep["findings"] if f["id"] == "mta_sts.fetch_failed")
    assert "certificate not valid for mta-sts.clean.test" in ev, ev


def test_domain_dane_tlsa_mismatch_and_match(dns_config, mx_server, certs):
    rc, rep = _audit_domain(dns_config, "dane.test", "--mx-port", str(mx_server.ports["mx"]),
                            "--ca-file", str(certs["ca"]))
    assert ids(rep).get("dane.mismatch") == "critical", rep["findings"]
    assert rc == 1
    rc, rep = _audit_domain(dns_config, "danegood.test", "--mx-port", str(mx_server.ports["mx"]),
                            "--ca-file", str(certs["ca"]))
    assert "dane.mismatch" not in ids(rep) and "dane.insecure" not in ids(rep), rep["findings"]
    assert {c["id"]: c["status"] for c in rep["checks"]}.get("domain.dane.mx.danegood.test") == "ran", rep["checks"]


def test_domain_nxdomain_cannot_run(dns_config):
    rc, rep = _audit_domain(dns_config, "nonexistent.clean.test", "--no-smtp")
    assert rc == 2 and not rep["completed"]


@need_postfix
def test_domain_tls_version_sweep_per_mx(dns_config, bad_postfix, weak_server, certs):
    # mx1.sweep.test is the bad Postfix (TLS 1.0 and 1.1 accepted), mx2.sweep.test the weak-cipher server
    # (TLS 1.2+ only, NULL encryption accepted): each host gets its own sweep and its own findings.
    rc, rep = _audit_domain(dns_config, "sweep.test", "--mx-port", str(bad_postfix.ports["mx"]),
                            "--ca-file", str(certs["ca"]), "--no-dnsbl")
    assert rep["completed"], rep
    by_host = {}
    for f in rep["findings"]:
        by_host.setdefault(f["subject"].split(" ")[0], set()).add(f["id"])
    assert {"tls.version.tls1_0", "tls.version.tls1_1"} <= by_host.get("mx1.sweep.test", set()), rep["findings"]
    assert "tls.cipher.weak_accepted" not in by_host.get("mx1.sweep.test", set()), rep["findings"]
    assert "tls.cipher.weak_accepted" in by_host.get("mx2.sweep.test", set()), rep["findings"]
    assert not {"tls.version.tls1_0", "tls.version.tls1_1"} & by_host.get("mx2.sweep.test", set()), rep["findings"]
    mx1 = next(f for f in rep["findings"] if f["id"] == "tls.version.tls1_0")
    assert mx1["subject"] == f"mx1.sweep.test (127.0.0.1:{bad_postfix.ports['mx']})", mx1
    checks = {c["id"]: c for c in rep["checks"]}
    s1, s2 = checks["domain.mx_tls_versions.mx1.sweep.test"], checks["domain.mx_tls_versions.mx2.sweep.test"]
    assert s1["status"] == "ran" and "1.0 accepted" in s1["note"] and "1.3 accepted" in s1["note"], s1
    assert s2["status"] == "ran" and "1.0 refused" in s2["note"] and "1.2 accepted" in s2["note"], s2
    assert "weak ciphers accepted" in s2["note"] and "weak ciphers refused" in s1["note"], (s1, s2)
    assert "static RSA accepted" in s2["note"], s2
    assert rc == 1


def test_domain_dmarc_organisational_domain_fallback(dns_config):
    # _dmarc.sub.orgdmarc.test does not exist: the record at _dmarc.orgdmarc.test applies, with its sp=none.
    rc, rep = _audit_domain(dns_config, "sub.orgdmarc.test", "--no-smtp")
    found = ids(rep)
    assert "dmarc.missing" not in found, rep["findings"]
    inh = next(f for f in rep["findings"] if f["id"] == "dmarc.inherited")
    assert inh["severity"] == "info" and inh["subject"] == "_dmarc.orgdmarc.test", inh
    assert "sp=none" in inh["title"] and "no record at _dmarc.sub.orgdmarc.test" in inh["evidence"], inh
    none = next(f for f in rep["findings"] if f["id"] == "dmarc.policy.none")
    assert none["severity"] == "medium" and none["subject"] == "_dmarc.orgdmarc.test", none
    # A subdomain with its own record uses it (p=quarantine): no fallback, no finding about sp.
    rc, rep = _audit_domain(dns_config, "own.orgdmarc.test", "--no-smtp")
    assert "dmarc.inherited" not in ids(rep) and "dmarc.policy.none" not in ids(rep), rep["findings"]
    # Neither the subdomain nor its organisational domain publishes one.
    rc, rep = _audit_domain(dns_config, "sub.nodmarc.test", "--no-smtp")
    miss = next(f for f in rep["findings"] if f["id"] == "dmarc.missing")
    assert "_dmarc.nodmarc.test" in miss["evidence"], miss
    assert rc == 1


# ---- audit config and output formats ----------------------------------------------------------------------------
def test_audit_config_defaults_and_open_relay(tmp_path):
    rc, rep = audit("config")
    assert rep["kind"] == "config" and rc == 0 and serious(rep) == [], rep
    bad = tmp_path / "bad.toml"
    bad.write_text('[relay]\ntrusted_networks = ["0.0.0.0/0"]\n[tls]\nmin_version = "1.0"\n')
    rc, rep = audit("config", str(bad))
    assert rc == 1, rep
    assert any(f["id"] == "config.relay.trusted_networks" and f["severity"] in SERIOUS for f in rep["findings"])
    broken = tmp_path / "broken.toml"
    broken.write_text("no_such_key = 1\n")
    rc, rep = audit("config", str(broken))
    assert rc == 2 and not rep["completed"]


def test_text_and_html_formats(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[relay]\ntrusted_networks = ["0.0.0.0/0"]\n')
    p = subprocess.run([mf.BIN, "audit", "config", str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "score by control area" in p.stdout and "\x1b[" not in p.stdout, p.stdout
    out = tmp_path / "report.html"
    p = subprocess.run([mf.BIN, "audit", "config", str(bad), "--format", "html", "--output", str(out)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and p.stdout == ""
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="summary"' in html and "Overall score" in html


# ---- (d) the HTML report in headless Chromium --------------------------------------------------------------------
CHROMIUM = shutil.which("chromium")


def png_pixels(path):
    """(width, height, rows of (r, g, b)) for an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    import struct
    import zlib
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev, stride = zlib.decompress(idat), [], bytearray(w * bpp), w * bpp
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (Debian package chromium)")
def test_html_report_renders_in_chromium(tmp_path, make_server):
    s = make_server()
    html = tmp_path / "report.html"
    p = subprocess.run([mf.BIN, "audit", "smtp", f"127.0.0.1:{s.ports['mx']}", "--tls-name", "localhost",
                        "--no-tls-versions", "--format", "html", "--output", str(html)],
                       capture_output=True, text=True, timeout=120 * mf.SLOW)
    assert p.returncode in (0, 1), p.stderr
    shot = tmp_path / "report.png"
    # --no-sandbox: the test runs as root; --user-data-dir keeps the profile in the test's temp directory.
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
                        f"--screenshot={shot}", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), r.stderr[-3000:]
    w, h, rows = png_pixels(shot)
    assert (w, h) == (1200, 900)
    # The summary box (#summary: border #3a5bd9, background #eef3ff) is on screen without scrolling, in the top
    # half, and is not empty: the overall score is drawn inside it (dark text pixels on the light background).
    border = [(x, y) for y in range(0, h // 2) for x in range(0, w, 2) if rows[y][x] == (0x3a, 0x5b, 0xd9)]
    assert len(border) > 500, "summary box not visible"
    top = min(y for _, y in border)
    bottom = max(y for _, y in border)
    inside = [rows[y][x] for y in range(top + 5, bottom - 5) for x in range(60, 600, 3)]
    assert sum(1 for px in inside if px == (0xee, 0xf3, 0xff)) > 1000, "summary background missing"
    assert sum(1 for px in inside if max(px) < 120) > 200, "nothing written in the summary"
