# tests/integration/test_inbound_auth.py: SPF, DKIM and DMARC on mail received on the MX listener, end to end:
# a real nsd on loopback serves the senders' zones, messages arrive over SMTP, and the results are read from
# the delivered message's Authentication-Results, the Maildir folder, the reply codes and the logs.
# Also DKIM signing of mail our users submit, checked by dkimpy (python3-dkim).
# SPDX-License-Identifier: MIT
import base64
import os
import smtplib
import sqlite3
import subprocess

import dkim
import pytest

import dnsserver
import mf
from mf import SLOW

pytestmark = pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")

SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
ns 3600 IN A 127.0.0.1
"""


def rsa_key(tmp_path, name):
    key = tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key, base64.b64encode(der).decode()


def txt(value):
    # Zone-file TXT with the value cut into 200-byte strings (a DKIM key is longer than 255).
    parts = [value[i:i + 200] for i in range(0, len(value), 200)]
    return " ".join(f'"{p}"' for p in parts)


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dns")
    key, pub = rsa_key(tmp, "sender")
    ns = dnsserver.DnsServer(tmp / "nsd")
    ns.add_zone("sender.test", SOA.format(z="sender.test") + f"""
@ 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject"
sel._domainkey 300 IN TXT {txt("v=DKIM1; k=rsa; p=" + pub)}
""")
    ns.add_zone("reject.test", SOA.format(z="reject.test") + """
@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject"
""")
    ns.add_zone("quarantine.test", SOA.format(z="quarantine.test") + """
@ 300 IN TXT "v=spf1 -all"
_dmarc 300 IN TXT "v=DMARC1; p=quarantine"
""")
    ns.add_zone("relaxed.test", SOA.format(z="relaxed.test") + """
@ 300 IN TXT "v=spf1 -all"
""")
    ns.start()
    yield {"ns": ns, "key": key, "pub": pub}
    ns.stop()


@pytest.fixture
def auth_server(make_server, zones):
    return make_server(sections={
        "dns": {"servers": [zones["ns"].address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
        "auth": {"spf": True, "dkim": True, "dmarc": True},
    })


def send(server, sender, body_msg):
    with server.smtp("mx") as c:
        c.ehlo("client.sender.test")
        return c.sendmail(sender, ["alice@localhost"], body_msg)


def ar_of(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    return [l for l in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
            if l.lower().startswith("authentication-results:")]


def msg(frm, subject="hi", extra=""):
    return (f"From: {frm}\r\nTo: alice@localhost\r\nSubject: {subject}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject}@sender.test>\r\n{extra}\r\nhello\r\n").encode()


def test_spf_dkim_dmarc_pass_recorded_in_authentication_results(auth_server, zones):
    m = msg("Sender <a@sender.test>", "signed")
    signed = dkim.sign(m, b"sel", b"sender.test", zones["key"].read_bytes(),
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    send(auth_server, "a@sender.test", signed + m)
    got = auth_server.wait_maildir("alice")[0]
    ar = ar_of(got)
    assert len(ar) == 1, ar
    assert ar[0].startswith("Authentication-Results: mx.test;"), ar
    assert "spf=pass" in ar[0] and "smtp.mailfrom=a@sender.test" in ar[0], ar
    assert "dkim=pass" in ar[0] and "header.d=sender.test" in ar[0] and "header.s=sel" in ar[0], ar
    assert "dmarc=pass" in ar[0] and "header.from=sender.test" in ar[0], ar
    ev = auth_server.wait_log("sender_auth")[0]
    assert ev["spf"] == "pass" and ev["dmarc"] == "pass" and ev["action"] == "none", ev


def test_dmarc_reject_is_550_at_end_of_data_and_nothing_delivered(auth_server):
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(auth_server, "boss@reject.test", msg("boss@reject.test", "forged"))
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error and b"DMARC" in e.value.smtp_error
    rej = auth_server.wait_log("reject", rule="dmarc_reject")[0]
    assert rej["code"] == 550
    assert auth_server.maildir("alice") == []
    assert auth_server.queue_files() == []


def test_dmarc_quarantine_goes_to_junk(auth_server):
    send(auth_server, "news@quarantine.test", msg("news@quarantine.test", "maybe"))
    junk = auth_server.data / "mail" / "localhost" / "alice" / ".Junk" / "new"
    for _ in range(int(100 * SLOW)):
        if junk.is_dir() and any(junk.iterdir()):
            break
        import time
        time.sleep(0.05)
    files = list(junk.iterdir())
    assert len(files) == 1
    assert b"dmarc=fail" in files[0].read_bytes()
    assert auth_server.maildir("alice") == []  # not in the inbox


def test_override_list_delivers_to_inbox(make_server, zones):
    s = make_server(sections={
        "dns": {"servers": [zones["ns"].address], "root_anchor": "", "special_zones": ["test"]},
        "auth": {"spf": True, "dkim": True, "dmarc": True, "dmarc_override": ["reject.test"]},
    })
    send(s, "boss@reject.test", msg("boss@reject.test", "listmail"))
    got = s.wait_maildir("alice")[0]
    assert b"dmarc=fail" in got
    assert s.wait_log("sender_auth")[0].get("dmarc_override") is True


@pytest.mark.parametrize("headers", [
    "From: a@sender.test\r\nFrom: boss@reject.test\r\n",      # two From fields
    "From: a@sender.test, boss@reject.test\r\n",               # two mailboxes
    "",                                                         # no From at all
])
def test_bad_input_49_unusable_from_never_passes(auth_server, headers):
    m = (f"{headers}To: alice@localhost\r\nSubject: x\r\n\r\nhello\r\n").encode()
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(auth_server, "a@sender.test", m)
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error
    assert auth_server.maildir("alice") == []


def test_bad_input_50_forged_authentication_results_removed(auth_server):
    forged = ("Authentication-Results: mx.test; dmarc=pass header.from=sender.test\r\n"
              "Authentication-Results: MX.TEST; spf=pass smtp.mailfrom=a@sender.test\r\n"
              "Authentication-Results: (comment) mx.test; dkim=pass header.d=sender.test\r\n"
              "Authentication-Results: other.example; spf=pass\r\n")
    send(auth_server, "a@sender.test", msg("a@sender.test", "forged-ar", extra=forged))
    got = auth_server.wait_maildir("alice")[0]
    ar = ar_of(got)
    ours = [a for a in ar if a.lower().startswith("authentication-results: mx.test;")]
    assert len(ours) == 1 and "dkim=none" in ours[0], ar       # only ours, which found no signature
    assert any("other.example" in a for a in ar)                # someone else's results are kept
    assert auth_server.wait_log("sender_auth")[0]["forged_results_removed"] == 3


def test_dmarc_report_rows_recorded(auth_server):
    send(auth_server, "a@sender.test", msg("a@sender.test", "r1"))
    send(auth_server, "a@sender.test", msg("a@sender.test", "r2"))
    auth_server.wait_maildir("alice", 2)
    import time
    rows = []
    for _ in range(int(100 * SLOW)):
        db = sqlite3.connect(auth_server.data / "state.db")
        rows = db.execute("SELECT policy_domain, header_from, source_ip, disposition, spf, count FROM dmarc_report"
                          ).fetchall()
        db.close()
        if rows and rows[0][-1] == 2:
            break
        time.sleep(0.05)
    assert rows == [("sender.test", "sender.test", "127.0.0.1", "none", "pass", 2)]


def test_no_dmarc_record_is_delivered_with_none(auth_server):
    send(auth_server, "x@relaxed.test", msg("x@relaxed.test", "nodmarc"))
    ar = ar_of(auth_server.wait_maildir("alice")[0])
    assert "spf=fail" in ar[0] and "dmarc=none" in ar[0], ar


def test_submitted_mail_is_dkim_signed_and_dkimpy_verifies(make_server, zones):
    s = make_server(top={"domains": ["localhost", "sender.test"]},
                    sections={"dkim": {"keys": [{"domain": "sender.test", "selector": "sel",
                                                 "key": str(zones["key"])}]}})
    s.add_user("a@sender.test", "a-pw")
    with s.smtp("submission") as c:
        c.starttls(context=s.tls_context())
        c.login("a@sender.test", "a-pw")
        c.sendmail("a@sender.test", ["alice@localhost"], msg("A <a@sender.test>", "outbound"))
    got = s.wait_maildir("alice")[0]
    # Drop our Received: field (added after signing, as any later hop would) and verify the rest.
    body = got.split(b"\r\n", 2)
    assert body[0].startswith(b"Received:")
    signed = got[got.index(b"DKIM-Signature:"):]
    assert signed.startswith(b"DKIM-Signature:")
    record = ("v=DKIM1; k=rsa; p=" + zones["pub"]).encode()
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record if name == b"sel._domainkey.sender.test." else None)
    assert s.wait_log("dkim_signed")[0]["domain"] == "sender.test"


# ---- issue 15 item 4: DKIM signs only what the user may send -----------------------------------------------------------
def signing_server(make_server, zones, **kw):
    s = make_server(top={"domains": ["localhost", "sender.test"]},
                    sections={"dkim": {"keys": [{"domain": "sender.test", "selector": "sel", "key": str(zones["key"])}],
                                       **kw.pop("dkim", {})}, **kw.pop("sections", {})}, **kw)
    s.add_user("a@sender.test", "a-pw")
    s.add_user("b@sender.test", "b-pw")
    return s


def test_submission_from_another_hosted_user_is_refused_and_not_signed(make_server, zones):
    s = signing_server(make_server, zones)
    with s.smtp("submission") as c:
        c.starttls(context=s.tls_context())
        c.login("a@sender.test", "a-pw")
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("a@sender.test", ["alice@localhost"], msg("B <b@sender.test>", "forged-b"))
        assert e.value.smtp_code == 550 and e.value.smtp_error.startswith(b"5.7.1"), e.value
        c.sendmail("a@sender.test", ["alice@localhost"], msg("A <a@sender.test>", "own"))
    got = s.wait_maildir("alice")
    assert len(got) == 1 and b"Subject: own" in got[0] and b"DKIM-Signature:" in got[0]
    signed = s.wait_log("dkim_signed")
    assert len(signed) == 1 and signed[0]["user"] == "a@sender.test"


def test_trusted_network_mail_of_our_domain_is_signed_when_configured(make_server, zones):
    s = signing_server(make_server, zones, relay={"trusted_networks": ["127.0.0.0/8"]})
    with s.smtp("mx") as c:
        c.ehlo("app.internal")
        c.sendmail("app@sender.test", ["alice@localhost"], msg("App <app@sender.test>", "relayed"))
    got = s.wait_maildir("alice")[0]
    assert b"DKIM-Signature:" in got and b"d=sender.test" in got
    assert s.wait_log("dkim_signed")[0]["trusted_client"] == "127.0.0.1"
    off = signing_server(make_server, zones, relay={"trusted_networks": ["127.0.0.0/8"]},
                         dkim={"sign_trusted": False})
    with off.smtp("mx") as c:
        c.ehlo("app.internal")
        c.sendmail("app@sender.test", ["alice@localhost"], msg("App <app@sender.test>", "relayed2"))
    assert b"DKIM-Signature:" not in off.wait_maildir("alice")[0]
    assert off.logs("dkim_signed") == []


# ---- issue 15 item 0: DNSSEC trouble never switches sender authentication off -----------------------------------------
ROOT_KEY = "/usr/share/dns/root.key"


@pytest.fixture(scope="module")
def paypal(tmp_path_factory):
    # A plain authoritative server for a name the root trust anchor says is signed (com. and paypal.com. are): what a
    # resolver that strips DNSSEC hands on. A validating resolver finds every answer for it bogus.
    tmp = tmp_path_factory.mktemp("paypal")
    key, pub = rsa_key(tmp, "paypal")
    ns = dnsserver.DnsServer(tmp / "nsd")
    ns.add_zone("paypal.com", SOA.format(z="paypal.com") + f"""
@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject"
sel._domainkey 300 IN TXT {txt("v=DKIM1; k=rsa; p=" + pub)}
""")
    ns.start()
    yield {"ns": ns, "key": key, "pub": pub}
    ns.stop()


@pytest.mark.skipif(not os.path.exists(ROOT_KEY), reason="dns-root-data not installed")
def test_dnssec_stripping_upstream_still_enforces_dmarc(make_server, paypal):
    s = make_server(sections={
        "dns": {"servers": [paypal["ns"].address], "root_anchor": ROOT_KEY, "timeout_ms": 2000},
        "auth": {"spf": True, "dkim": True, "dmarc": True},
    })
    # A forged From: ceo@paypal.com (p=reject) is refused, as with a validating resolver (it was delivered: every
    # answer was bogus, DMARC temperror, accepted).
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(s, "ceo@paypal.com", msg("CEO <ceo@paypal.com>", "wire-transfer"))
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error and b"DMARC" in e.value.smtp_error
    # ... and the log and the alert say which way the server resolves.
    warn = s.wait_log("dnssec_unavailable")[0]
    assert warn["dane"] == "off" and "unvalidated" in warn["sender_auth"]
    assert s.wait_log("alert_raised", name="dnssec_not_validating")
    # A correctly signed one passes (DKIM aligned; SPF fails from 127.0.0.1).
    m = msg("Service <service@paypal.com>", "receipt")
    signed = dkim.sign(m, b"sel", b"paypal.com", paypal["key"].read_bytes(),
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    send(s, "bounce@paypal.com", signed + m)
    ar = ar_of(s.wait_maildir("alice")[0])
    assert "dkim=pass" in ar[0] and "dmarc=pass" in ar[0], ar
    # The CLI resolves the same way (a note on stderr says the answers are unvalidated).
    cfg = s.root / "cli.toml"
    cfg.write_text(f'[dns]\nroot_anchor = "{ROOT_KEY}"\ntimeout_ms = 2000\n')
    r = subprocess.run([mf.BIN, "--config", str(cfg), "--dns-server", paypal["ns"].address, "dmarc", "check",
                        "--from-domain", "paypal.com", "--discovery", "psl"],  # nsd holds paypal.com only, not com
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout.startswith("dmarc=fail policy=reject"), (r.stdout, r.stderr)
    assert "unvalidated" in r.stderr


def test_dns_failure_is_451_by_default_and_accept_when_configured(make_server):
    # Every lookup fails (a closed port): SPF, DKIM and DMARC end in temperror. Deferred, never delivered unchecked.
    dns_down = {"servers": ["127.0.0.1:9"], "root_anchor": "", "timeout_ms": 300}
    s = make_server(sections={"dns": dns_down, "auth": {"spf": True, "dkim": True, "dmarc": True}})
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(s, "ceo@example.org", msg("ceo@example.org", "dns-down"))
    assert e.value.smtp_code == 451 and e.value.smtp_error.startswith(b"4.7.5"), e.value
    assert s.wait_log("reject", rule="auth_temperror")[0]["code"] == 451
    assert s.maildir("alice") == [] and s.queue_files() == []
    lax = make_server(sections={"dns": dns_down, "auth": {"spf": True, "dkim": True, "dmarc": True,
                                                           "temperror": "accept"}})
    send(lax, "ceo@example.org", msg("ceo@example.org", "dns-down-accepted"))
    assert "dmarc=temperror" in ar_of(lax.wait_maildir("alice")[0])[0]
