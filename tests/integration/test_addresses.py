# tests/integration/test_addresses.py: issue 20, addresses of hosted domains: `mailfort domain` and `mailfort alias`,
# postmaster@ and abuse@ that always resolve (and skip a DMARC reject), alias expansion to local and remote targets
# (one copy each, loops refused once), subaddresses into folders, a catch-all on one domain only, send-as, and the
# `config check` findings. Everything is judged by what a user sees: reply codes, Maildirs, the peer's inbox, logs.
# SPDX-License-Identifier: MIT
import json
import smtplib
import subprocess
import time

import pytest

import dnsserver
import mf
from test_inbound_auth import SOA as AUTH_SOA
from test_outbound import Peer, zone_peer


def deliver(s, rcpts, sender="someone@example.net", subject="hello", frm=None):
    body = mf.message(subject=subject, sender=frm or sender, to=", ".join(rcpts))
    with s.smtp("mx") as c:
        c.ehlo("client.example")
        return c.sendmail(sender, rcpts, body)


def rcpt_code(s, rcpt, sender="someone@example.net"):
    with s.smtp("mx") as c:
        c.ehlo("client.example")
        assert c.mail(sender)[0] == 250
        return c.rcpt(rcpt)


def test_domain_add_list_del(make_server):
    s = make_server()
    r = s.cli("domain", "add", "Example.ORG")
    assert "added domain example.org" in r.stdout and "MX 10 mx.test." in r.stdout
    assert "already hosted" in s.cli("domain", "add", "example.org").stdout
    assert s.cli("domain", "add", "bad/name", check=False).returncode == 2
    got = json.loads(s.cli("domain", "list", "--format", "json").stdout)
    assert {(d["domain"], d["source"]) for d in got} == {("localhost", "config"), ("example.org", "state")}
    # a user of the new domain can be created now, and gets mail at once (no restart)
    s.add_user("carol@example.org", "carol-pw")
    deliver(s, ["carol@example.org"])
    s.wait_maildir("carol", domain="example.org")
    s.cli("domain", "del", "example.org")
    code, _ = rcpt_code(s, "carol@example.org")
    assert code == 554  # no longer hosted: relaying is refused
    assert s.cli("domain", "del", "example.org", check=False).returncode == 1


def test_postmaster_and_abuse_of_two_domains_with_no_user_for_them(make_server):
    s = make_server()
    s.cli("domain", "add", "example.org")
    rcpts = ["postmaster@localhost", "abuse@localhost", "Postmaster@example.org", "abuse@example.org"]
    for r in rcpts:
        assert rcpt_code(s, r)[0] == 250, r
    for i, r in enumerate(rcpts):
        assert deliver(s, [r], subject=f"report-{i}") == {}
    # by default to the first user (alice@localhost, created first), one copy per message
    got = s.wait_maildir("alice", n=4)
    assert len(got) == 4
    assert s.maildir("bob") == []
    ev = s.wait_log("rcpt", to="abuse@example.org")[0]
    assert ev["expanded"] == ["alice@localhost"]


def test_postmaster_target_configurable_and_alias_wins(make_server):
    s = make_server(sections={"address": {"postmaster": "bob@localhost"}})
    deliver(s, ["abuse@localhost"])
    s.wait_maildir("bob")
    s.cli("alias", "add", "postmaster@localhost", "alice@localhost")
    deliver(s, ["postmaster@localhost"], subject="to-alice")
    assert b"to-alice" in s.wait_maildir("alice")[0]


def test_alias_to_two_local_users_and_one_remote(make_server, tmp_path):
    peer = Peer()
    ns = dnsserver.DnsServer(tmp_path / "nsd")
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = make_server(sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
            "outbound": {"allow_private": True, "port": peer.port, "helo_name": "out.mailfort.test"},
            "queue": {"retry_min_s": 1, "retry_max_s": 2, "retry_jitter": 0.0},
        })
        s.cli("alias", "add", "sales@localhost", "alice@localhost", "bob@localhost", "friend@peer.test")
        s.cli("alias", "add", "team@localhost", "sales@localhost", "alice@localhost")
        # the alias and an alias containing it, in one transaction: every target gets one copy
        assert deliver(s, ["sales@localhost", "team@localhost", "alice@localhost"]) == {}
        assert len(s.wait_maildir("alice")) == 1
        assert len(s.wait_maildir("bob")) == 1
        got = peer.wait_messages(1)
        assert len(got) == 1 and got[0]["rcpts"] == ["friend@peer.test"]
        s.wait_log("delivered", rcpt="friend@peer.test")
        listed = json.loads(s.cli("alias", "list", "--format", "json").stdout)
        assert {a["alias"] for a in listed} == {"sales@localhost", "team@localhost"}
    finally:
        peer.close()
        ns.stop()


def test_remote_targets_limit_and_expanded_recipients_count(make_server):
    s = make_server(limits={"recipients": 2}, sections={"address": {"max_remote_targets": 1}})
    s.cli("alias", "add", "fans@localhost", "x@peer.test", "y@peer.test")
    code, text = rcpt_code(s, "fans@localhost")
    assert code == 550 and text.startswith(b"5.7.1"), text
    s.wait_log("reject", rule="forward_limit")
    s.cli("alias", "add", "all@localhost", "alice@localhost", "bob@localhost")
    s.add_user("carol@localhost", "carol-pw")
    with s.smtp("mx") as c:
        c.ehlo("client.example")
        c.mail("someone@example.net")
        assert c.rcpt("carol@localhost")[0] == 250
        # all@ is two recipients: with carol that is three, over limits.recipients = 2
        code, text = c.rcpt("all@localhost")
        assert code == 452 and text.startswith(b"4.5.3"), text
        assert c.rcpt("carol@localhost")[0] == 250  # the same mailbox again: nothing new
    with s.smtp("mx") as c:
        c.ehlo("client.example")
        c.mail("someone@example.net")
        assert c.rcpt("all@localhost")[0] == 250


def test_alias_loop_is_refused_once(make_server):
    s = make_server()
    s.cli("alias", "add", "a@localhost", "b@localhost")
    r = s.cli("alias", "add", "b@localhost", "a@localhost")
    assert "(loop)" in r.stdout
    code, text = rcpt_code(s, "a@localhost")
    assert code == 550 and text.startswith(b"5.4.6"), text
    assert len(s.wait_log("reject", rule="alias_loop")) == 1
    # nothing was queued, so nothing can circulate
    assert s.queue_files() == [] and s.maildir("alice") == []
    # a loop with an exit delivers the exit once
    s.cli("alias", "add", "b@localhost", "alice@localhost")
    assert deliver(s, ["a@localhost"]) == {}
    assert len(s.wait_maildir("alice")) == 1


def test_subaddress_into_inbox_or_existing_folder(make_server):
    s = make_server()
    deliver(s, ["alice+news@localhost"], subject="no-folder")
    assert b"no-folder" in s.wait_maildir("alice")[0]
    box = s.data / "mail" / "localhost" / "alice"
    for sub in ("cur", "new", "tmp"):
        (box / ".lists" / sub).mkdir(parents=True)
    deliver(s, ["alice+lists@localhost"], subject="to-folder")
    s.wait_log("delivered", rcpt="alice+lists@localhost")
    files = list((box / ".lists" / "new").iterdir())
    assert len(files) == 1 and b"to-folder" in files[0].read_bytes()
    assert len(s.maildir("alice")) == 1


def test_subaddress_delimiter_configurable_and_off(make_server):
    s = make_server(sections={"address": {"subaddress_delimiter": ""}})
    assert rcpt_code(s, "alice+news@localhost")[0] == 550
    s2 = make_server(sections={"address": {"subaddress_delimiter": "-"}})
    assert rcpt_code(s2, "alice-news@localhost")[0] == 250


def test_catch_all_on_one_domain_only(make_server):
    s = make_server()
    s.cli("domain", "add", "example.org", "--catch-all", "bob@localhost")
    s.cli("domain", "add", "example.com")
    deliver(s, ["whatever@example.org"], subject="caught")
    assert b"caught" in s.wait_maildir("bob")[0]
    assert rcpt_code(s, "whatever@example.com")[0] == 550
    assert rcpt_code(s, "whatever@localhost")[0] == 550
    # config check reports it (the auditor's config audit), and it can be switched off
    r = s.cli("config", "check", str(s.config), "--format", "json", check=False)
    keys = {(d["key"], d["severity"]) for d in json.loads(r.stdout)}
    assert ("address.catch_all", "low") in keys
    s.cli("domain", "catch-all", "example.org")
    assert rcpt_code(s, "whatever@example.org")[0] == 550


def test_config_check_flags_postmaster_that_goes_nowhere(make_server):
    s = make_server(start=False, users=())
    s.cli("domain", "add", "example.org")
    r = s.cli("config", "check", str(s.config), "--format", "json", check=False)
    found = [d for d in json.loads(r.stdout) if d["key"] == "address.postmaster"]
    assert any("abuse@example.org goes nowhere" in d["message"] for d in found), found
    s.add_user("alice@localhost", "alice-pw")
    r = s.cli("config", "check", str(s.config), "--format", "json", check=False)
    assert not [d for d in json.loads(r.stdout) if d["key"] == "address.postmaster"]


# ---- send-as ---------------------------------------------------------------------------------------------------------
def submit(s, login, pw, mail_from, header_from, rcpt="bob@localhost", subject="sub"):
    body = mf.message(subject=subject, sender=header_from, to=rcpt)
    with s.smtp("submission") as c:
        c.starttls(context=s.tls_context())
        c.login(login, pw)
        return c.sendmail(mail_from, [rcpt], body)


def test_send_as_own_subaddress_and_allowed_alias_only(make_server, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
                   check=True, capture_output=True)
    s = make_server(sections={"dkim": {"keys": [{"domain": "localhost", "selector": "sel", "key": str(key)}]}})
    s.cli("alias", "add", "sales@localhost", "alice@localhost", "bob@localhost", "--send-as", "alice@localhost")
    s.cli("alias", "add", "support@localhost", "bob@localhost")
    assert s.cli("alias", "add", "x@localhost", "bob@localhost", "--send-as", "nobody@localhost",
                 check=False).returncode == 2
    submit(s, "alice@localhost", "alice-pw", "alice+news@localhost", "alice+news@localhost", subject="sub-tag")
    submit(s, "alice@localhost", "alice-pw", "sales@localhost", "Sales <sales@localhost>", subject="sub-alias")
    got = s.wait_maildir("bob", n=2)
    assert all(b"DKIM-Signature:" in m for m in got)
    # not as bob@ (envelope), not as bob@ in the header, not as an alias she is not allowed to send as
    for mail_from, hdr in (("bob@localhost", "alice@localhost"), ("alice@localhost", "bob@localhost"),
                           ("support@localhost", "support@localhost"), ("alice@localhost", "support@localhost")):
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as e:
            submit(s, "alice@localhost", "alice-pw", mail_from, hdr, subject="forged")
        assert e.value.smtp_code == 550 and e.value.smtp_error.startswith(b"5.7.1"), e.value
    # bob is a target of sales@ but not an allowed sender of it
    with pytest.raises(smtplib.SMTPSenderRefused):
        submit(s, "bob@localhost", "bob-pw", "sales@localhost", "sales@localhost", rcpt="alice@localhost")
    assert len(s.wait_count("dkim_signed", 2)) == 2
    assert not any(b"forged" in m for m in s.maildir("bob"))


# ---- DMARC: reports to postmaster@ are delivered even when DMARC says reject ------------------------------------
@pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")
def test_dmarc_failing_report_to_postmaster_is_delivered(make_server, tmp_path):
    ns = dnsserver.DnsServer(tmp_path / "nsd")
    try:
        ns.add_zone("reject.test", AUTH_SOA.format(z="reject.test") + """
@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject"
""")
        ns.start()
        s = make_server(sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
            "auth": {"spf": True, "dkim": True, "dmarc": True},
        })
        s.cli("domain", "add", "example.org")
        # to a user: refused by the DMARC policy
        with pytest.raises(smtplib.SMTPDataError) as e:
            deliver(s, ["bob@localhost"], sender="x@reject.test", frm="x@reject.test")
        assert e.value.smtp_code == 550
        # to postmaster@ of another hosted domain: delivered
        assert deliver(s, ["postmaster@example.org"], sender="x@reject.test", frm="x@reject.test",
                       subject="report") == {}
        assert b"report" in s.wait_maildir("alice")[0]
        ev = s.wait_log("sender_auth", role_exempt=True)[0]
        assert ev["dmarc"] == "fail"
        # mixed recipients get no exemption
        with pytest.raises(smtplib.SMTPDataError):
            deliver(s, ["abuse@localhost", "bob@localhost"], sender="x@reject.test", frm="x@reject.test")
    finally:
        ns.stop()


# ---- forwarding to a remote address with SRS ---------------------------------------------------------------------
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(secret, local, domain, days_ago=0):
    """An SRS0 address as postsrsd (libsrs2) writes it, computed independently of mailfort."""
    import base64
    import hashlib
    import hmac
    import time
    day = (int(time.time()) // 86400 - days_ago) % 1024
    ts = B32[(day >> 5) & 31] + B32[day & 31]
    mac = hmac.new(secret.encode(), (ts + domain + local).lower().encode(), hashlib.sha1).digest()
    return f"SRS0={base64.b64encode(mac).decode()[:4]}={ts}={domain}={local}@fwd.test"


@pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")
def test_forward_with_srs_passes_spf_and_bounces_come_back(make_server, tmp_path):
    spf = pytest.importorskip("spf")
    import dns.resolver
    peer = Peer()
    ns = dnsserver.DnsServer(tmp_path / "nsd")
    saved = dns.resolver.default_resolver
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.add_zone("orig.test", AUTH_SOA.format(z="orig.test") + """
@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
@ 300 IN MX 10 mx.peer.test.
""")
        ns.add_zone("fwd.test", AUTH_SOA.format(z="fwd.test") + """
@ 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
""")
        ns.start()
        s = make_server(top={"domains": ["localhost", "fwd.test"]}, sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
            "outbound": {"allow_private": True, "port": peer.port, "helo_name": "out.mailfort.test"},
            "queue": {"retry_min_s": 1, "retry_max_s": 2, "retry_jitter": 0.0},
            "address": {"srs_domain": "fwd.test"},
        })
        secret_file = s.data / "srs.secret"
        assert secret_file.stat().st_mode & 0o777 == 0o600
        secret = secret_file.read_text().strip()
        s.cli("alias", "add", "list@localhost", "friend@peer.test", "alice@localhost")
        assert deliver(s, ["list@localhost"], sender="someone@orig.test") == {}
        got = peer.wait_messages(1)[0]
        assert got["rcpts"] == ["friend@peer.test"]
        rewritten = got["mail_from"]
        assert rewritten.startswith("SRS0=") and rewritten.endswith("=orig.test=someone@fwd.test"), rewritten
        assert rewritten == srs0(secret, "someone", "orig.test")  # the postsrsd format, same key, same hash
        s.wait_maildir("alice")  # the local copy is untouched
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = ns.port
        dns.resolver.default_resolver = r
        assert spf.check2(i="127.0.0.1", s=rewritten, h="out.mailfort.test")[0] == "pass"
        assert spf.check2(i="127.0.0.1", s="someone@orig.test", h="out.mailfort.test")[0] == "fail"
        # the receiver bounces to the SRS address: it reaches the original sender
        bounce = b"From: MAILER-DAEMON@peer.test\r\nSubject: Undelivered\r\n\r\nfriend@peer.test: no such user\r\n"
        with s.smtp("mx") as c:
            c.ehlo("mx.peer.test")
            assert c.sendmail("", [rewritten.lower()], bounce) == {}  # case folded by some MTA on the way
        got = peer.wait_messages(2)[1]
        assert got["rcpts"] == ["someone@orig.test"] and got["mail_from"] == "" and b"Undelivered" in got["data"]
        # forged and expired SRS addresses are refused, and nothing is relayed
        forged = srs0("not the key", "victim", "orig.test")
        expired = srs0(secret, "someone", "orig.test", days_ago=30)
        for bad, why in ((forged, "bad_hash"), (expired, "expired"), ("SRS0=xx@fwd.test", "malformed")):
            code, text = rcpt_code(s, bad, sender="")
            assert code == 550 and text.startswith(b"5.7.1"), (bad, text)
            assert s.wait_log("reject", rule="srs_invalid", srs=why)
        assert rcpt_code(s, srs0(secret, "someone", "orig.test", days_ago=20), sender="")[0] == 250
        time.sleep(1)
        assert len(peer.messages) == 2
    finally:
        dns.resolver.default_resolver = saved
        peer.close()
        ns.stop()


def test_srs_secret_with_loose_mode_is_refused(make_server):
    s = make_server(start=False)
    s.data.mkdir(parents=True, exist_ok=True)
    f = s.data / "srs.secret"
    f.write_text("0123456789abcdef0123456789abcdef\n")
    f.chmod(0o644)
    r = subprocess.run([mf.BIN, "serve", "--config", str(s.config)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "srs.secret" in r.stdout + r.stderr
