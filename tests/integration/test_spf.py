# tests/integration/test_spf.py: `mailfort spf check` against the RFC 7208 suite served by a real nsd, plus pyspf cross-checks.
# SPDX-License-Identifier: MIT
# Each suite section's zonedata becomes one root zone (".") in its own nsd (the resolver forwards every
# query there, so names such as example.com and OEMCOMPUTER get authoritative answers, NXDOMAIN included).
# Zonedata follows SOURCES.md: SPF-type records are served as TXT when a name lists no TXT entry. What a
# real DNS server cannot serve is skipped with its reason: TIMEOUT entries (the 5 temperror cases) and a TXT
# record with no character-strings (null-text's second record, left out; the case still runs).
# libunbound answers some reverse zones locally (RFC 6761/6303 defaults); the config lists the ones the
# suite uses in dns.special_zones so they reach nsd.
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import dnsserver
import mf

SUITE = mf.CONFORMANCE / "spf" / "rfc7208-tests.yml"

yaml = pytest.importorskip("yaml")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(mf.BIN), reason=f"mailfort not built at {mf.BIN}"),
    pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed"),
]

TIMEOUT_CASES = {"txttimeout", "nospftxttimeout", "alltimeout", "include-temperror", "exists-dnserr"}
SPECIAL_ZONES = ["168.192.in-addr.arpa", "2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"]


def load_sections():
    with open(SUITE, encoding="latin-1") as f:
        return [d for d in yaml.safe_load_all(f) if d and d.get("tests")]


def zname(name):
    """Owner/target name in zone-file syntax, absolute; bytes outside [A-Za-z0-9-_] escaped as \\DDD."""
    name = name.rstrip(".")
    if not name:
        return "."
    out = []
    for label in name.split("."):
        out.append("".join(ch if (ch.isascii() and (ch.isalnum() or ch in "-_")) else "\\%03d" % (ord(ch) & 0xFF)
                           for ch in label))
    return ".".join(out) + "."


def zstring(s):
    b = s.encode("latin-1", "replace")
    return '"' + "".join(chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else "\\%03d" % c for c in b) + '"'


def txt_rdata(v):
    parts = v if isinstance(v, list) else [str(v)]
    chunks = []
    for p in parts:
        p = str(p)
        while len(p.encode("latin-1", "replace")) > 255:
            chunks.append(p[:255])
            p = p[255:]
        chunks.append(p)
    return " ".join(zstring(c) for c in chunks)


def zone_text(zonedata):
    lines = ["@ 3600 IN SOA ns.root-servers.test. hostmaster.test. 1 3600 600 86400 300", "@ 3600 IN NS ns.root-servers.test."]
    for name, items in (zonedata or {}).items():
        items = items or []
        has_txt = any(isinstance(i, dict) and "TXT" in i for i in items)
        owner = zname(name)
        for it in items:
            if not isinstance(it, dict):
                continue  # TIMEOUT: cannot be served; the cases that need it are skipped
            for typ, v in it.items():
                if typ in ("TXT", "SPF"):
                    if v in ("NONE", "TIMEOUT") or v == []:
                        continue
                    if typ == "SPF" and has_txt:
                        continue  # RFC 7208: type SPF is never queried; only served as TXT when no TXT is listed
                    lines.append(f"{owner} IN TXT {txt_rdata(v)}")
                elif typ == "A":
                    lines.append(f"{owner} IN A {v}")
                elif typ == "AAAA":
                    lines.append(f"{owner} IN AAAA {v}")
                elif typ == "MX":
                    lines.append(f"{owner} IN MX {int(v[0])} {zname(str(v[1]))}")
                elif typ == "PTR":
                    lines.append(f"{owner} IN PTR {zname(str(v))}")
                elif typ == "CNAME":
                    lines.append(f"{owner} IN CNAME {zname(str(v))}")
    return "\n".join(lines)


PROBE_ZONE = """
@ 3600 IN SOA ns.probe.test. hostmaster.probe.test. 1 3600 600 86400 300
@ 3600 IN NS ns.probe.test.
"""


def root_server(workdir, text):
    """An nsd serving `text` as the root zone. dnsserver.DnsServer names zones by their origin without the
    dot and probes the first zone's SOA, so a small probe zone goes first and the root entry is renamed."""
    ns = dnsserver.DnsServer(workdir)
    ns.add_zone("probe.test", PROBE_ZONE)
    ns.add_zone(".", text)
    name, path = ns.zones[-1]
    ns.zones[-1] = (".", path)
    return ns.start()


def write_config(path):
    path.write_text("[dns]\nroot_anchor = \"\"\ntimeout_ms = 3000\nspecial_zones = " +
                    json.dumps(SPECIAL_ZONES) + "\n")
    return str(path)


def spf_check(ns_addr, config, host, mailfrom, helo):
    p = subprocess.run([mf.BIN, "--config", config, "--dns-server", ns_addr, "spf", "check", "--ip", host,
                        "--sender", mailfrom, "--helo", helo, "--format", "json"],
                       capture_output=True, text=True, timeout=30, encoding="latin-1")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return write_config(tmp_path_factory.mktemp("spfcfg") / "mailfort.toml")


def test_rfc7208_suite_over_real_dns(tmp_path, config):
    sections = load_sections()
    ran, skipped, failures = 0, [], []
    for i, sec in enumerate(sections):
        d = tmp_path / f"s{i}"
        ns = root_server(d, zone_text(sec["zonedata"]))
        try:
            cases = []
            for name, t in sec["tests"].items():
                if name in TIMEOUT_CASES:
                    skipped.append((name, "TIMEOUT zonedata: nsd cannot time out"))
                    continue
                cases.append((name, t))
            with ThreadPoolExecutor(max_workers=4) as pool:
                results = list(pool.map(lambda c: spf_check(ns.address, config, c[1]["host"], str(c[1]["mailfrom"]),
                                                            str(c[1]["helo"])), cases))
            for (name, t), got in zip(cases, results):
                ran += 1
                want = t["result"] if isinstance(t["result"], list) else [t["result"]]
                if got["result"] not in want:
                    failures.append(f"{sec['description']}/{name}: got {got['result']} ({got['reason']}), want {want}")
                    continue
                exp = t.get("explanation")
                if exp and got["result"] == "fail":
                    if exp == "DEFAULT":
                        if got["explanation"] != "":
                            failures.append(f"{name}: explanation {got['explanation']!r}, want none")
                    elif got["explanation"].lower() != exp.lower():
                        failures.append(f"{name}: explanation {got['explanation']!r}, want {exp!r}")
        finally:
            ns.stop()
    assert not failures, "\n".join(failures)
    assert ran == 203 - len(TIMEOUT_CASES), (ran, skipped)


CROSS = """
@ 3600 IN SOA ns.root-servers.test. hostmaster.test. 1 3600 600 86400 300
@ 3600 IN NS ns.root-servers.test.
example.org.          IN TXT "v=spf1 include:_spf.example.org mx -all"
_spf.example.org.     IN TXT "v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/64 ~all"
example.org.          IN MX 10 mx.example.org.
mx.example.org.       IN A 198.51.100.25
soft.example.org.     IN TXT "v=spf1 a:mx.example.org ?ip4:203.0.113.0/24 ~all"
"""


@pytest.mark.parametrize("ip,sender,helo", [
    ("192.0.2.10", "alice@example.org", "mx.client.test"),
    ("198.51.100.25", "alice@example.org", "mx.client.test"),
    ("203.0.113.5", "bob@example.org", "mx.client.test"),
    ("203.0.113.5", "bob@soft.example.org", "mx.client.test"),
    ("2001:db8::5", "carol@example.org", "mx.client.test"),
])
def test_agrees_with_pyspf(tmp_path, config, ip, sender, helo):
    spf = pytest.importorskip("spf")
    import dns.resolver
    ns = root_server(tmp_path / "ns", CROSS)
    saved = dns.resolver.default_resolver
    try:
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = ns.port
        dns.resolver.default_resolver = r
        want, _ = spf.check2(i=ip, s=sender, h=helo)
        got = spf_check(ns.address, config, ip, sender, helo)
        assert got["result"] == want, (got, want)
    finally:
        dns.resolver.default_resolver = saved
        ns.stop()
