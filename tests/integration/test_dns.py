# tests/integration/test_dns.py: dns::resolver (via the dns_probe tool) against a real nsd on loopback.
# SPDX-License-Identifier: MIT
# Covers TXT joining, MX, A/AAAA/CNAME/PTR/TLSA, NXDOMAIN, NODATA, DNSSEC secure / insecure / bogus with a
# trust anchor for a zone signed by ldns-signzone, the TTL cache, the blocking API and bounded timeouts.
import json
import os
import socket
import subprocess
import time

import pytest

import dnsserver
import mf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# dns_probe is built with mailfort (tests/tools): missing, the tests fail rather than skip.
PROBE = os.environ.get("DNS_PROBE_BIN") or os.path.join(os.path.dirname(mf.BIN), "tests", "tools", "dns_probe")

pytestmark = [
    pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed"),
    pytest.mark.skipif(not dnsserver.have_ldns(), reason="ldnsutils (ldns-signzone) not installed"),
]

SOA = """
@       3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@       3600 IN NS  ns.{z}.
ns           IN A   127.0.0.1
"""

PLAIN = SOA + """
@            IN TXT "v=spf1 " "ip4:192.0.2.1" " -all"
@            IN MX  20 mx2.plain.test.
@            IN MX  10 mx1.plain.test.
host         IN A    192.0.2.10
host         IN AAAA 2001:db8::10
alias        IN CNAME host.plain.test.
ptr          IN PTR  host.plain.test.
_25._tcp.mx1 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
long         IN TXT  "{long}" "tail"
"""

SIGNED = SOA + """
@            IN TXT "v=spf1 -all"
@            IN MX  10 mx.signed.test.
"""


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    d = tmp_path_factory.mktemp("nsd")
    server = dnsserver.DnsServer(d)
    server.add_zone("plain.test", PLAIN.format(z="plain.test", long="x" * 255))
    anchor = server.add_zone("signed.test", SIGNED.format(z="signed.test"), sign=True)
    # Same data, but the TXT record is changed after signing: its RRSIG no longer matches.
    bogus_anchor = server.add_zone("bogus.test", SIGNED.replace("signed.test", "bogus.test").format(z="bogus.test"),
                                   sign=True, tamper=lambda t: t.replace('"v=spf1 -all"', '"v=spf1 +all"'))
    server.start()
    server.anchor = anchor
    server.bogus_anchor = bogus_anchor
    yield server
    server.stop()


def probe(server_addr, name, rrtype, *extra, allow_test=True, timeout=10):
    args = [PROBE, name, rrtype, "--server", server_addr]
    if allow_test:
        args += ["--allow-zone", "test"]
    args += list(extra)
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def one(*a, **kw):
    out = probe(*a, **kw)
    assert len(out) == 1, out
    return out[0]


def test_txt_strings_are_joined_without_separator(ns):
    r = one(ns.address, "plain.test", "TXT")
    assert r["status"] == "ok" and r["dnssec"] == "insecure"
    assert r["records"] == ["v=spf1 ip4:192.0.2.1 -all"]
    assert r["ttl"] == 300


def test_txt_full_length_string(ns):
    r = one(ns.address, "long.plain.test", "TXT")
    assert r["records"] == ["x" * 255 + "tail"]


def test_mx_preferences_and_names(ns):
    r = one(ns.address, "plain.test", "MX")
    assert r["status"] == "ok"
    assert sorted(r["records"]) == ["10 mx1.plain.test", "20 mx2.plain.test"]


def test_addresses_cname_ptr_tlsa(ns):
    assert one(ns.address, "host.plain.test", "A")["records"] == ["192.0.2.10"]
    assert one(ns.address, "host.plain.test", "AAAA")["records"] == ["2001:db8::10"]
    # The CNAME is followed: the A query at the alias yields the target's address.
    assert one(ns.address, "alias.plain.test", "A")["records"] == ["192.0.2.10"]
    assert one(ns.address, "ptr.plain.test", "PTR")["records"] == ["host.plain.test"]
    assert one(ns.address, "_25._tcp.mx1.plain.test", "TLSA")["records"] == ["3 1 1 " + "0123456789abcdef" * 4]


def test_nxdomain_and_nodata(ns):
    nx = one(ns.address, "missing.plain.test", "A")
    assert nx["status"] == "nxdomain" and nx["records"] == []
    nodata = one(ns.address, "host.plain.test", "MX")
    assert nodata["status"] == "nodata" and nodata["records"] == []


def test_special_use_test_zone_is_blocked_by_default(ns):
    # RFC 6761: libunbound answers "test." itself unless the zone is explicitly allowed.
    r = one(ns.address, "plain.test", "TXT", allow_test=False)
    assert r["status"] == "nxdomain"


def test_dnssec_secure_with_trust_anchor(ns):
    out = probe(ns.address, "signed.test", "TXT", "--trust-anchor", ns.anchor, "--validate")
    assert out[0] == {"validates_dnssec": True}
    r = out[1]
    assert r["status"] == "ok" and r["dnssec"] == "secure"
    assert r["records"] == ["v=spf1 -all"]


def test_dnssec_secure_denial(ns):
    r = one(ns.address, "missing.signed.test", "TXT", "--trust-anchor", ns.anchor)
    assert r["status"] == "nxdomain" and r["dnssec"] == "secure"


def test_zone_outside_anchor_is_insecure(ns):
    r = one(ns.address, "plain.test", "TXT", "--trust-anchor", ns.anchor)
    assert r["status"] == "ok" and r["dnssec"] == "insecure"


def test_signed_zone_without_anchor_is_insecure(ns):
    r = one(ns.address, "signed.test", "TXT")
    assert r["dnssec"] == "insecure" and r["records"] == ["v=spf1 -all"]


def test_tampered_data_is_bogus_and_dropped(ns):
    r = one(ns.address, "bogus.test", "TXT", "--trust-anchor", ns.bogus_anchor)
    assert r["dnssec"] == "bogus"
    assert r["status"] == "servfail"
    assert r["records"] == []  # the forged "+all" must never reach a caller
    assert r["why_bogus"]
    # Untampered data in the same zone still validates.
    mx = one(ns.address, "bogus.test", "MX", "--trust-anchor", ns.bogus_anchor)
    assert mx["status"] == "ok" and mx["dnssec"] == "secure"


def test_wrong_anchor_makes_zone_bogus(ns):
    # signed.test anchored with bogus.test's key material renamed: the DS matches no DNSKEY.
    wrong = os.path.join(ns.dir, "wrong-anchor.ds")
    with open(ns.bogus_anchor) as f:
        text = f.read().replace("bogus.test.", "signed.test.")
    with open(wrong, "w") as f:
        f.write(text)
    out = probe(ns.address, "signed.test", "TXT", "--trust-anchor", wrong, "--validate")
    assert out[0] == {"validates_dnssec": False}
    assert out[1]["dnssec"] == "bogus" and out[1]["records"] == []


def test_cache_serves_second_lookup(ns):
    out = probe(ns.address, "plain.test", "MX", "--repeat", "2")
    assert [o["from_cache"] for o in out] == [False, True]
    assert sorted(out[0]["records"]) == sorted(out[1]["records"])


def test_sync_api_matches_async(ns):
    a = one(ns.address, "plain.test", "TXT")
    s = one(ns.address, "plain.test", "TXT", "--sync")
    assert (s["status"], s["records"], s["dnssec"]) == (a["status"], a["records"], a["dnssec"])


@pytest.mark.parametrize("mode", [[], ["--sync"]])
def test_timeout_when_server_is_silent(mode):
    # A bound UDP socket that never reads: queries vanish, only our timer ends the lookup.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        r = one(f"127.0.0.1:{s.getsockname()[1]}", "silent.example", "A", "--timeout-ms", "700", *mode)
        took = time.monotonic() - start
    finally:
        s.close()
    assert r["status"] == "timeout" and r["records"] == []
    assert 0.6 <= took < 5


def test_closed_port_is_bounded():
    port = dnsserver.free_port()  # nothing listens: ICMP port unreachable or silence, never a hang
    start = time.monotonic()
    r = one(f"127.0.0.1:{port}", "closed.example", "TXT", "--timeout-ms", "1500")
    assert r["status"] in ("timeout", "servfail")
    assert time.monotonic() - start < 5
