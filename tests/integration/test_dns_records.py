# tests/integration/test_dns_records.py: `mailfort dns-records` (issue 19): every record to publish, in zone-file
# syntax and JSON, and `--check` against a real nsd on loopback serving the printed records with one left out and one
# changed: exactly those two are reported, and the exit code says so.
# SPDX-License-Identifier: MIT
import hashlib
import json
import subprocess

import pytest

import dnsserver
import mf

SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
ns 3600 IN A 127.0.0.1
"""


def spki_sha256(cert):
    """TLSA 3 1 1 data computed by openssl, independently of mailfort."""
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def setup(tmp_path, pki):
    """A config for mx.dr.test / dr.test with an Ed25519 DKIM key and the test PKI certificate (not started)."""
    if not dnsserver.have_nsd():
        pytest.skip("nsd not installed")
    key = tmp_path / "dr.test.ed1.key"

    def make(dns_address="127.0.0.1:9"):
        s = mf.Server(tmp_path / f"s-{dns_address.replace(':', '_')}",
                      top={"hostname": "mx.dr.test", "domains": ["dr.test"]},
                      tls={"certificate": str(pki["chain"]), "key": str(pki["key"])},
                      sections={"dns": {"servers": [dns_address], "root_anchor": "", "timeout_ms": 3000,
                                        "special_zones": ["test", "127.in-addr.arpa"]},
                                "dkim": {"keys": [{"domain": "dr.test", "selector": "ed1", "key": str(key)}]},
                                "monitor": {"public_ip": "127.0.0.1"},
                                "mta_sts": {"listen": "", "mode": "testing"}})
        return s

    s = make()
    s.cli("dkim", "keygen", "--domain", "dr.test", "--selector", "ed1", "--algo", "ed25519", "--out", str(key))
    return make, s


def records(server, *args):
    r = server.cli("dns-records", "--format", "json", *args)
    return json.loads(r.stdout)["records"]


def test_prints_every_record(setup, pki):
    _, s = setup
    recs = records(s)
    by = {}
    for r in recs:
        by.setdefault(r["kind"], []).append(r)
    assert by["mx"][0]["name"] == "dr.test" and by["mx"][0]["value"] == "10 mx.dr.test."
    assert by["spf"][0]["value"] == "v=spf1 mx -all"
    assert by["dkim"][0]["name"] == "ed1._domainkey.dr.test"
    assert by["dkim"][0]["value"].startswith("v=DKIM1; k=ed25519; p=")
    dmarc = by["dmarc"][0]
    assert dmarc["name"] == "_dmarc.dr.test" and "rua=mailto:postmaster@dr.test" in dmarc["value"]
    assert "p=quarantine" in dmarc["comment"] and "p=reject" in dmarc["comment"]  # the suggested ladder
    assert by["tls-rpt"][0]["value"] == "v=TLSRPTv1; rua=mailto:postmaster@dr.test"
    assert by["tlsa"][0]["name"] == "_25._tcp.mx.dr.test"
    assert by["tlsa"][0]["value"] == "3 1 1 " + spki_sha256(pki["cert"])
    srv = {r["name"]: r["value"] for r in by["srv"]}
    assert srv["_submission._tcp.dr.test"] == f"0 1 {s.ports['submission']} mx.dr.test."
    assert srv["_submissions._tcp.dr.test"] == f"0 1 {s.ports['submissions']} mx.dr.test."
    assert by["ptr"][0]["name"] == "1.0.0.127.in-addr.arpa" and by["ptr"][0]["at_provider"]
    assert "mta-sts" not in by  # policy hosting is off in this config

    # Zone-file syntax: the same records, comments above them, the PTR commented out (set at the provider).
    text = s.cli("dns-records").stdout
    assert "dr.test. 3600 IN MX 10 mx.dr.test." in text
    assert '_dmarc.dr.test. 3600 IN TXT "v=DMARC1; p=none;' in text
    assert "; 1.0.0.127.in-addr.arpa. 3600 IN PTR mx.dr.test." in text
    # One domain on request; an unknown name is refused.
    assert s.cli("dns-records", "other.test").stdout.count("other.test. 3600 IN MX") == 1
    assert s.cli("dns-records", "bad domain!", check=False).returncode == 2


def test_mta_sts_id_follows_the_policy(setup):
    make, s = setup
    ids = []
    for mode in ("testing", "enforce"):
        s.config.write_text(s.config.read_text().replace('listen = ""', 'listen = "127.0.0.1:1"')
                            .replace('mode = "testing"', f'mode = "{mode}"'))
        recs = records(s)
        sts = [r for r in recs if r["kind"] == "mta-sts"]
        assert len(sts) == 1 and sts[0]["name"] == "_mta-sts.dr.test"
        assert [r["value"] for r in recs if r["kind"] == "mta-sts-host"] == ["mx.dr.test."]
        ids.append(sts[0]["value"])
    assert ids[0] != ids[1] and all(i.startswith("v=STSv1; id=") for i in ids)


def with_dns(s, address):
    """The same config (same listener ports, so the same SRV records) with its lookups sent to this nsd."""
    text = s.config.read_text()
    start = text.index("[dns]")
    line = text.index("servers = ", start)
    end = text.index("\n", line)
    s.config.write_text(text[:line] + f'servers = ["{address}"]' + text[end:])
    return s


def serve_zone(tmp_path, text, name):
    ns = dnsserver.DnsServer(tmp_path / name)
    body = "\n".join(l for l in text.splitlines()
                     if l.strip() and not l.startswith(";") and "in-addr.arpa" not in l)
    ns.add_zone("dr.test", SOA.format(z="dr.test") + body)
    ns.add_zone("0.0.127.in-addr.arpa", SOA.format(z="0.0.127.in-addr.arpa").replace("ns 3600 IN A 127.0.0.1\n", "")
                + "1 300 IN PTR mx.dr.test.\n")
    ns.start()
    return ns


def test_check_reports_exactly_the_missing_and_the_stale_record(setup, tmp_path):
    make, s = setup
    zone = s.cli("dns-records").stdout
    lines = zone.splitlines()
    # Published as printed, except: TLS-RPT left out (missing) and SPF an old value (stale).
    broken = [l for l in lines if not l.startswith("_smtp._tls.dr.test.")]
    broken = [l.replace('"v=spf1 mx -all"', '"v=spf1 a:old.dr.test -all"') for l in broken]
    assert len(broken) == len(lines) - 1 and any("v=spf1 a:old" in l for l in broken)
    ns = serve_zone(tmp_path, "\n".join(broken), "ns1")
    try:
        c = with_dns(s, ns.address)
        r = c.cli("dns-records", "--check", check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        bad = [l for l in r.stdout.splitlines() if l.split(" ", 1)[0] in ("missing", "stale", "error")]
        assert len(bad) == 2, r.stdout
        assert bad[0].startswith("stale") and "IN TXT \"v=spf1 mx -all\"" in bad[0], r.stdout
        assert bad[1].startswith("missing") and bad[1].split()[1] == "_smtp._tls.dr.test.", r.stdout
        assert "found: v=spf1 a:old.dr.test -all" in r.stdout
        oks = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
        kinds = " ".join(oks)
        for what in ("IN MX", "ed1._domainkey", "_dmarc", "IN TLSA 3 1 1", "_submission._tcp", "IN A 127.0.0.1",
                     "IN PTR mx.dr.test."):
            assert what in kinds, r.stdout
        assert "2 problem(s)" in r.stdout
        j = json.loads(c.cli("dns-records", "--check", "--format", "json", check=False).stdout)
        states = {(x["name"], x["kind"]): x["state"] for x in j["records"]}
        assert sorted(k for k, v in states.items() if v != "ok") == [("_smtp._tls.dr.test", "tls-rpt"),
                                                                     ("dr.test", "spf")]
        assert j["problems"] == 2
    finally:
        ns.stop()

    # Everything published: exit 0.
    ns = serve_zone(tmp_path, zone, "ns2")
    try:
        r = with_dns(s, ns.address).cli("dns-records", "--check", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "0 problem(s)" in r.stdout
    finally:
        ns.stop()
