# tests/integration/test_dkim.py: `mailfort dkim keygen|sign|verify` cross-checked with dkimpy (python3-dkim)
# in both directions: mailfort signs -> dkimpy verifies; dkimpy signs -> mailfort verifies, fetching the key
# from a real nsd on loopback (tests/integration/dnsserver.py) through the real resolver.
# SPDX-License-Identifier: MIT
import base64
import json
import os
import stat
import subprocess

import dkim
import pytest

import dnsserver
import mf

DOMAIN = "example.test"
MESSAGE = (b"From: Alice <alice@example.test>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Cc: Carol <carol@example.net>\r\n"
           b"Subject: cross-check with dkimpy\r\n"
           b"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
           b"Message-ID: <xc-1@example.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"  spaced   out   line   \r\n"
           b"\r\n"
           b"-- \r\nAlice\r\n\r\n\r\n")


def run(args, stdin=b"", check_rc=None):
    p = subprocess.run([mf.BIN] + args, input=stdin, capture_output=True, timeout=60)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout, p.stderr)
    return p


def keygen(tmp_path, selector, algo):
    out = tmp_path / f"{selector}.key"
    p = run(["dkim", "keygen", "--domain", DOMAIN, "--selector", selector, "--algo", algo, "--out", str(out)],
            check_rc=0)
    lines = dict(line.split(": ", 1) for line in p.stdout.decode().splitlines())
    assert lines["key"] == str(out)
    assert lines["name"] == f"{selector}._domainkey.{DOMAIN}"
    return out, lines["value"], lines["zone"]


def ed25519_seed_b64(pem_path):
    """dkimpy takes an Ed25519 private key as its base64 32-byte seed: the last 32 bytes of the PKCS#8 DER."""
    der = subprocess.run(["openssl", "pkey", "-in", str(pem_path), "-outform", "DER"], capture_output=True,
                         check=True).stdout
    return base64.b64encode(der[-32:])


@pytest.mark.parametrize("algo", ["ed25519", "rsa2048"])
def test_keygen_writes_0600_refuses_overwrite_and_prints_record(tmp_path, algo):
    out, value, zone = keygen(tmp_path, "k1", algo)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert b"PRIVATE KEY" in out.read_bytes()
    assert value.startswith("v=DKIM1; k=" + ("ed25519" if algo == "ed25519" else "rsa") + "; p=")
    assert zone.startswith(f"k1._domainkey.{DOMAIN}. IN TXT \"")
    before = out.read_bytes()
    p = run(["dkim", "keygen", "--domain", DOMAIN, "--selector", "k1", "--algo", algo, "--out", str(out)])
    assert p.returncode == 2 and b"refusing to overwrite" in p.stderr
    assert out.read_bytes() == before


def test_keygen_default_path_in_data_dir(tmp_path):
    p = run(["--data-dir", str(tmp_path / "var"), "dkim", "keygen", "--domain", DOMAIN, "--selector", "d1",
             "--algo", "ed25519"], check_rc=0)
    path = tmp_path / "var" / "dkim" / f"{DOMAIN}.d1.key"
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"key: {path}".encode() in p.stdout


def test_keygen_rejects_path_tricks(tmp_path):
    p = run(["--data-dir", str(tmp_path), "dkim", "keygen", "--domain", DOMAIN, "--selector", "../../etc/x"])
    assert p.returncode == 2


@pytest.mark.parametrize("algo", ["ed25519", "rsa2048"])
def test_mailfort_signs_dkimpy_verifies(tmp_path, algo):
    key, value, _ = keygen(tmp_path, "mf", algo)
    signed = run(["dkim", "sign", "--domain", DOMAIN, "--selector", "mf", "--key", str(key)], MESSAGE,
                 check_rc=0).stdout
    assert signed.endswith(MESSAGE) and signed.startswith(b"DKIM-Signature: ")
    for line in signed[:len(signed) - len(MESSAGE)].split(b"\r\n"):
        assert len(line) < 78

    def dnsfunc(name, timeout=5):
        assert name == f"mf._domainkey.{DOMAIN}.".encode()
        return value.encode()

    assert dkim.verify(signed, dnsfunc=dnsfunc)
    # Oversigned From: a From added on top breaks the signature for dkimpy too.
    assert not dkim.verify(b"From: Mallory <m@evil.example>\r\n" + signed, dnsfunc=dnsfunc)
    assert not dkim.verify(signed + b"appended\r\n", dnsfunc=dnsfunc)


@pytest.fixture(scope="module")
def keyed_dns(tmp_path_factory):
    """nsd serving example.test with an Ed25519 and an RSA-2048 key made by `mailfort dkim keygen`."""
    d = tmp_path_factory.mktemp("dkim")
    keys = {}
    zone = ["@ 3600 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 300",
            "@ 3600 IN NS ns.example.test.",
            "ns 3600 IN A 127.0.0.1"]
    for sel, algo in (("ed", "ed25519"), ("rsa", "rsa2048")):
        key, value, zone_line = keygen(d, sel, algo)
        keys[sel] = key
        rdata = zone_line.split(" IN TXT ", 1)[1]
        zone.append(f"{sel}._domainkey 300 IN TXT {rdata}")
    server = dnsserver.DnsServer(d / "nsd")
    server.add_zone(DOMAIN, "\n".join(zone) + "\n")
    server.start()
    cfg = d / "mailfort.toml"
    # Test zones are unsigned and under the special-use .test TLD: no root anchor, and resolve .test.
    cfg.write_text('[dns]\nroot_anchor = ""\nspecial_zones = ["test"]\ntimeout_ms = 3000\n')
    yield server, keys, cfg
    server.stop()


def mf_verify(keyed, msg, *extra):
    server, _, cfg = keyed
    return run(["--config", str(cfg), "--dns-server", server.address, "dkim", "verify"] + list(extra), msg)


@pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")
@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple")])
def test_dkimpy_signs_mailfort_verifies(keyed_dns, canon):
    _, keys, _ = keyed_dns
    rsa_pem = keys["rsa"].read_bytes()
    msg = dkim.sign(MESSAGE, b"rsa", DOMAIN.encode(), rsa_pem, canonicalize=canon) + MESSAGE
    msg = dkim.sign(msg, b"ed", DOMAIN.encode(), ed25519_seed_b64(keys["ed"]), canonicalize=canon,
                    signature_algorithm=b"ed25519-sha256") + msg
    p = mf_verify(keyed_dns, msg)
    lines = p.stdout.decode().splitlines()
    assert lines == [f"d={DOMAIN} s=ed a=ed25519-sha256 result=pass",
                     f"d={DOMAIN} s=rsa a=rsa-sha256 result=pass"], p.stderr
    assert p.returncode == 0

    # Same message with the body changed: both fail, exit 1; JSON says why.
    p = mf_verify(keyed_dns, msg.replace(b"Hello Bob", b"Hello Eve"), "--format", "json")
    assert p.returncode == 1
    res = json.loads(p.stdout)
    assert [r["result"] for r in res] == ["fail", "fail"]
    assert all(r["reason"] == "body hash mismatch" for r in res)
    assert res[0]["d"] == DOMAIN and res[0]["s"] == "ed" and len(res[0]["header_b"]) >= 8


@pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")
def test_dkimpy_l_tag_with_appended_content_is_not_pass(keyed_dns):
    _, keys, _ = keyed_dns
    msg = dkim.sign(MESSAGE, b"rsa", DOMAIN.encode(), keys["rsa"].read_bytes(), length=True) + MESSAGE
    p = mf_verify(keyed_dns, msg)  # l= covers the whole body: pass
    assert p.returncode == 0, p.stdout
    p = mf_verify(keyed_dns, msg + b"Click https://evil.example/\r\n")
    assert p.returncode == 1
    assert b"result=policy" in p.stdout and b"unsigned content appended" in p.stdout


@pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")
def test_missing_key_and_unsigned(keyed_dns):
    _, keys, _ = keyed_dns
    msg = dkim.sign(MESSAGE, b"nokey", DOMAIN.encode(), keys["rsa"].read_bytes()) + MESSAGE
    p = mf_verify(keyed_dns, msg)
    assert p.returncode == 1 and b"s=nokey a=rsa-sha256 result=permerror" in p.stdout
    p = mf_verify(keyed_dns, MESSAGE)
    assert p.returncode == 1 and p.stdout == b"result=none\n"


def test_verify_unreachable_dns_is_temperror(tmp_path):
    """The RFC 8463 example with the DNS unreachable: the keys cannot be fetched, so every signature is
    temperror (never pass, never a crash), exit 1."""
    msg = (mf.CONFORMANCE / "dkim/messages/stalwart-001-rfc8463-ed25519-and-rsa.eml").read_bytes()
    cfg = tmp_path / "mailfort.toml"
    cfg.write_text('[dns]\nroot_anchor = ""\ntimeout_ms = 500\n')
    p = run(["--config", str(cfg), "--dns-server", "127.0.0.1:9", "dkim", "verify", "--at", "1667843664"], msg)
    assert p.returncode == 1, p.stderr
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 2
    assert all("result=temperror" in line for line in lines), lines
