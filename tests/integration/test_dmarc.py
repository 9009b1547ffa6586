# tests/integration/test_dmarc.py: `mailfort dmarc check --from-domain ...` against a real nsd on loopback.
# SPDX-License-Identifier: MIT
# The nsd serves the whole "test" zone, so the RFC 9989 tree walk (which also asks _dmarc.test) gets real
# NXDOMAIN answers. The resolver runs without the root trust anchor (these zones are unsigned and a
# validating resolver would call them bogus) and with "test" in dns.special_zones (libunbound answers the
# RFC 6761 zone locally with NXDOMAIN otherwise).
import json
import os
import subprocess

import pytest

import dnsserver
import mf

pytestmark = [
    pytest.mark.skipif(not os.path.exists(mf.BIN), reason=f"mailfort not built at {mf.BIN} (set MAILFORT_BIN)"),
    pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed"),
]

ZONE = """
@                 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@                 3600 IN NS  ns.test.
ns                     IN A   127.0.0.1
_dmarc.reject          IN TXT "v=DMARC1; p=reject; " "rua=mailto:dmarc@reject.test"
_dmarc.org             IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s"
mail.org               IN A   192.0.2.25
_dmarc.nothing         IN TXT "v=spf1 -all"
_dmarc.two             IN TXT "v=DMARC1; p=reject"
_dmarc.two             IN TXT "v=DMARC1; p=none"
"""


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    server = dnsserver.DnsServer(tmp_path_factory.mktemp("nsd-dmarc"))
    server.add_zone("test", ZONE)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("dmarc-cfg") / "mailfort.toml"
    path.write_text('[dns]\nroot_anchor = ""\nspecial_zones = ["test"]\n')
    return str(path)


def check(ns, config, *args, fmt="text"):
    cmd = [mf.BIN, "--config", config, "--dns-server", ns.address, "dmarc", "check", *args]
    if fmt == "json":
        cmd += ["--format", "json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1), (p.returncode, p.stdout, p.stderr)
    return p


def test_reject_policy_fail_and_pass(ns, config):
    p = check(ns, config, "--from-domain", "reject.test")
    assert p.returncode == 1
    assert p.stdout.strip() == ("dmarc=fail policy=reject requested=reject domain=reject.test "
                                "spf_aligned=no dkim_aligned=no")
    p = check(ns, config, "--from-domain", "reject.test", "--dkim-pass", "other.test", "--dkim-pass", "reject.test")
    assert p.returncode == 0
    assert p.stdout.strip() == ("dmarc=pass policy=none requested=reject domain=reject.test "
                                "spf_aligned=no dkim_aligned=yes")


def test_org_domain_fallback_for_subdomain(ns, config):
    # mail.org.test has no record of its own: the org.test record applies, with its sp, and relaxed SPF
    # alignment lets a sibling name pass while strict DKIM alignment does not.
    p = check(ns, config, "--from-domain", "mail.org.test", "--spf-pass", "bounces.org.test",
              "--dkim-pass", "org.test", fmt="json")
    assert p.returncode == 0, p.stdout
    j = json.loads(p.stdout)
    assert j["result"] == "pass"
    assert j["policy_domain"] == "org.test"
    assert j["requested"] == "quarantine"
    assert j["spf_aligned"] is True
    assert j["dkim_aligned"] is False
    assert j["queries"][:2] == ["_dmarc.mail.org.test", "_dmarc.org.test"]
    p = check(ns, config, "--from-domain", "mail.org.test")
    assert p.stdout.strip() == ("dmarc=fail policy=quarantine requested=quarantine domain=org.test "
                                "spf_aligned=no dkim_aligned=no")


def test_no_record_and_multiple_records(ns, config):
    p = check(ns, config, "--from-domain", "nothing.test", "--dkim-pass", "nothing.test")
    assert p.returncode == 1
    assert p.stdout.strip() == "dmarc=none policy=none requested=- domain=- spf_aligned=no dkim_aligned=no"
    p = check(ns, config, "--from-domain", "two.test", fmt="json")
    assert json.loads(p.stdout)["result"] == "none"


def test_bad_domain_is_a_usage_error(ns, config):
    p = subprocess.run([mf.BIN, "--config", config, "--dns-server", ns.address, "dmarc", "check",
                        "--from-domain", "bad domain"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "not a domain name" in p.stderr
