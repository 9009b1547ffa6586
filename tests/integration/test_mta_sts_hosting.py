# tests/integration/test_mta_sts_hosting.py: the MTA-STS policy listener (issue 19): HTTPS on loopback serving only
# /.well-known/mta-sts.txt for Host mta-sts.<domain>. The policy is fetched by python (ssl + http.client, the test CA
# verified for mta-sts.st.test) and by mailfort's own fetcher through `mailfort audit domain` against an nsd zone made
# from `mailfort dns-records`, which must then report no MTA-STS finding.
# SPDX-License-Identifier: MIT
import http.client
import json
import socket
import ssl
import subprocess

import pytest

import dnsserver
import mf

SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
ns 3600 IN A 127.0.0.1
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and a leaf for mx.st.test and mta-sts.st.test (EC P-256)."""
    d = tmp_path_factory.mktemp("sts-pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=sts test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                                "subjectAltName=DNS:mx.st.test,DNS:mta-sts.st.test,DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=mx.st.test", cwd=d)
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
            "-extfile", "leaf.ext", "-out", "leaf.pem", cwd=d)
    (d / "chain.pem").write_text((d / "leaf.pem").read_text() + (d / "ca.pem").read_text())
    return {"ca": d / "ca.pem", "chain": d / "chain.pem", "key": d / "leaf.key"}


def start_sts(make_server, pki, mode):
    port = mf.free_port()
    s = make_server(users=(), top={"hostname": "mx.st.test", "domains": ["st.test"]},
                    tls={"certificate": str(pki["chain"]), "key": str(pki["key"])}, cafile=str(pki["ca"]),
                    sections={"mta_sts": {"listen": f"127.0.0.1:{port}", "mode": mode, "max_age": 86400}})
    s.sts_port = port
    return s


@pytest.fixture
def sts(make_server, pki):
    return start_sts(make_server, pki, "testing")


def fetch(port, ca, host="mta-sts.st.test", path="/.well-known/mta-sts.txt", method="GET"):
    ctx = ssl.create_default_context(cafile=str(ca))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
    conn.sock = ctx.wrap_socket(raw, server_hostname="mta-sts.st.test")  # the certificate is checked for this name
    conn.request(method, path, headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def parse_policy(body):
    fields = {}
    for line in body.splitlines():
        k, v = line.split(":", 1)
        fields.setdefault(k.strip(), []).append(v.strip())
    return fields


def test_python_fetches_and_parses_the_policy(sts, pki):
    status, ctype, body = fetch(sts.sts_port, pki["ca"])
    assert status == 200 and ctype.startswith("text/plain")
    assert body.endswith("\r\n") and "\r\n" in body
    p = parse_policy(body)
    assert p == {"version": ["STSv1"], "mode": ["testing"], "mx": ["mx.st.test"], "max_age": ["86400"]}
    ev = sts.wait_log("mta_sts_served", status=200)[0]
    assert ev["host"] == "mta-sts.st.test" and ev["target"] == "/.well-known/mta-sts.txt"
    pol = sts.wait_log("mta_sts_hosting")[0]
    assert pol["policy"] == body and len(pol["id"]) == 32


def test_nothing_else_is_served(sts, pki):
    assert fetch(sts.sts_port, pki["ca"], host="mta-sts.other.test")[0] == 404
    assert fetch(sts.sts_port, pki["ca"], host="st.test")[0] == 404
    assert fetch(sts.sts_port, pki["ca"], path="/")[0] == 404
    assert fetch(sts.sts_port, pki["ca"], path="/.well-known/mta-sts.txt?x")[0] == 404
    assert fetch(sts.sts_port, pki["ca"], method="POST")[0] == 405
    # An oversized head is refused, not buffered: 431 over TLS, then the connection closes.
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", sts.sts_port), timeout=10),
                         server_hostname="mta-sts.st.test") as t:
        t.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.st.test\r\nX: " + b"a" * 9000)
        data = b""
        while True:
            chunk = t.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]


def test_slow_client_is_cut_off(sts, pki):
    """A client that never finishes its request is disconnected at the deadline (10 s), not held forever."""
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", sts.sts_port), timeout=30 * mf.SLOW),
                         server_hostname="mta-sts.st.test") as t:
        t.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n")
        try:
            assert t.recv(100) == b""
        except (ssl.SSLError, ConnectionResetError):
            pass


def test_own_fetcher_and_audit_find_no_mta_sts_problem(make_server, pki, tmp_path):
    """In enforce mode (testing mode is itself a low finding of the auditor, by design)."""
    if not dnsserver.have_nsd():
        pytest.skip("nsd not installed")
    sts = start_sts(make_server, pki, "enforce")
    zone = sts.cli("dns-records").stdout
    assert "_mta-sts.st.test. 3600 IN TXT \"v=STSv1; id=" in zone
    ns = dnsserver.DnsServer(tmp_path / "ns")
    body = "\n".join(l for l in zone.splitlines() if l.strip() and not l.startswith(";"))
    ns.add_zone("st.test", SOA.format(z="st.test") + body + "\nmx.st.test. 300 IN A 127.0.0.1\n")
    ns.start()
    try:
        cfg = tmp_path / "audit.toml"
        cfg.write_text(f'[dns]\nservers = ["{ns.address}"]\nroot_anchor = ""\ntimeout_ms = 3000\n'
                       'special_zones = ["test"]\n')
        r = subprocess.run([mf.BIN, "--config", str(cfg), "audit", "domain", "st.test", "--no-smtp", "--no-dnsbl",
                            "--ca-file", str(pki["ca"]), "--https-port", str(sts.sts_port), "--format", "json"],
                           capture_output=True, text=True, timeout=120 * mf.SLOW)
        rep = json.loads(r.stdout)
        sts_findings = [f for f in rep["findings"] if f["id"].startswith("mta_sts")]
        assert sts_findings == [], rep["findings"]
        checks = {c["id"]: c["status"] for c in rep["checks"]}
        assert checks.get("domain.mta_sts") == "ran", checks
        # The fetch reached our listener (not a test stub).
        sts.wait_log("mta_sts_served", status=200)
    finally:
        ns.stop()
