# tests/integration/test_imap.py: mailbox access through Dovecot run by `mailfort serve` ([imap], issue 17): mail
# received on the MX read over IMAPS and POP3+STLS, flags that stick, DMARC quarantine in Junk, no login before
# STARTTLS from a non-local address, TLS 1.0/1.1 refused, Dovecot restarted after SIGKILL and stopped with
# mailfort, users added and removed on IMAP within a second. Real Dovecot from Debian (dovecot-imapd/-pop3d).
# SPDX-License-Identifier: MIT
import imaplib
import os
import poplib
import shutil
import signal
import socket
import ssl
import time

import pytest

import dnsserver
import imapmf
import mf
from imapmf import ALICE, BOB, IMAP, POP3

pytestmark = pytest.mark.skipif(not imapmf.HAVE_DOVECOT,
                                reason="Dovecot not installed (scripts/install-deps.sh installs dovecot-imapd/-pop3d)")


@pytest.fixture
def make_imap():
    made = []

    def make(users=(ALICE, BOB), start=True, **kw):
        root = imapmf.make_root()
        s = imapmf.ImapServer(root, **kw)
        made.append((s, root))
        for a, p in users:
            s.add_user(a, p)
        if start:
            s.start()
            s.wait_imap_up()
        return s

    yield make
    errors = []
    for s, root in made:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
        shutil.rmtree(root, ignore_errors=True)
    assert not errors, "\n".join(errors)


@pytest.fixture
def imap_server(make_imap):
    return make_imap()


def deliver(server, subject, to="alice@localhost"):
    with server.smtp("mx") as c:
        c.sendmail("someone@example.org", [to], mf.message(subject=subject, to=to))
    server.wait_queue_empty()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_mx_mail_read_over_imaps_and_flags_stick(imap_server):
    deliver(imap_server, "over imap")
    imap_server.wait_maildir("alice")
    m = imap_server.imaps(*ALICE)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"], data
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"Subject: over imap" in data[0][1], data
    typ, _ = m.store("1", "+FLAGS", "(\\Flagged \\Seen)")
    assert typ == "OK"
    m.logout()
    m = imap_server.imaps(*ALICE)
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Flagged" in data[0] and b"\\Seen" in data[0], data
    m.logout()
    # Dovecot moved the file to cur/ with the flags in its name; mailfort's Maildir is Dovecot's.
    cur = list((imap_server.data / "mail" / "localhost" / "alice" / "cur").iterdir())
    assert len(cur) == 1 and cur[0].name.endswith(":2,FS"), cur
    # Bob sees none of it.
    m = imap_server.imaps(*BOB)
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()


def test_mx_mail_read_over_pop3_after_stls(imap_server):
    deliver(imap_server, "over pop3")
    imap_server.wait_maildir("alice")
    p = POP3(imap_server.mport["pop3"])
    assert p.getwelcome().startswith(b"+OK")
    p.stls(context=imap_server.tls_context())
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    count, _ = p.stat()
    assert count == 1
    lines = p.retr(1)[1]
    assert b"Subject: over pop3" in lines, lines
    p.quit()


def test_wrong_password_refused_over_imaps(imap_server):
    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_server.imaps(ALICE[0], "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value) or "failed" in str(e.value).lower(), e.value


def test_login_before_starttls_refused_from_non_local_address(imap_server):
    # 127.0.0.2 -> 127.0.0.1 is not "the same address", so Dovecot does not treat it as a secured local socket.
    m = IMAP(imap_server.mport["imap"], source="127.0.0.2")
    assert "LOGINDISABLED" in m.capabilities, m.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        m.login(*ALICE)
    m.starttls(ssl_context=imap_server.tls_context())
    m.login(*ALICE)  # after STARTTLS the same login works
    m.logout()

    p = POP3(imap_server.mport["pop3"], source="127.0.0.2")
    with pytest.raises(poplib.error_proto):
        p.user(ALICE[0])
        p.pass_(ALICE[1])
    p.close()
    p = POP3(imap_server.mport["pop3"], source="127.0.0.2")
    p.stls(context=imap_server.tls_context())
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    p.quit()


@pytest.mark.parametrize("port", ["imaps", "pop3s"])
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_refused_and_modern_tls_accepted(imap_server, port, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")  # so what is tested is the server's refusal, not the client's
    ctx.minimum_version = version
    ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", imap_server.mport[port]), timeout=10) as sock:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            ctx.wrap_socket(sock).recv(100)
    good = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    good.check_hostname = False
    good.verify_mode = ssl.CERT_NONE
    good.minimum_version = ssl.TLSVersion.TLSv1_2
    good.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", imap_server.mport[port]), timeout=10) as sock:
        with good.wrap_socket(sock) as t:
            assert t.version() == "TLSv1.2"
            assert t.recv(100).startswith(b"* OK" if port == "imaps" else b"+OK")


def test_dovecot_killed_is_restarted_and_stopped_with_mailfort(imap_server):
    pid = imap_server.dovecot_pid()
    os.kill(pid, signal.SIGKILL)
    ev = imap_server.wait_log("dovecot_exited")[0]
    assert ev["pid"] == pid and "signal 9" in ev["status"], ev
    new = imap_server.dovecot_pid(2)
    assert new != pid
    imap_server.wait_imap_up()
    m = imap_server.imaps(*ALICE)
    m.logout()
    imap_server.stop()
    assert not pid_alive(new)
    assert any(l.get("event") == "dovecot_stopped" for l in imap_server.lines)


def test_user_added_and_removed_on_imap_within_a_second(imap_server):
    carol = ("carol@localhost", "carol-pw")
    with pytest.raises(imaplib.IMAP4.error):
        imap_server.imaps(*carol)
    imap_server.add_user(*carol)
    t0 = time.time()
    while True:
        try:
            imap_server.imaps(*carol).logout()
            break
        except imaplib.IMAP4.error:
            assert time.time() - t0 < 1.0 * mf.SLOW, "carol could not log in within a second of `user add`"
            time.sleep(0.05)
    imap_server.cli("user", "del", carol[0])
    t0 = time.time()
    while True:
        try:
            imap_server.imaps(*carol).logout()
            assert time.time() - t0 < 1.0 * mf.SLOW, "carol still logs in a second after `user del`"
            time.sleep(0.05)
        except imaplib.IMAP4.error:
            break
    # A new password replaces the old one at once (same-size rewrite within one second).
    imap_server.cli("user", "passwd", ALICE[0], "--password-stdin", input="alice-new\n")
    t0 = time.time()
    while True:
        try:
            imap_server.imaps(ALICE[0], "alice-new").logout()
            break
        except imaplib.IMAP4.error:
            assert time.time() - t0 < 1.0 * mf.SLOW, "the new password did not work within a second"
            time.sleep(0.05)
    with pytest.raises(imaplib.IMAP4.error):
        imap_server.imaps(*ALICE)


def test_dovecot_config_command_prints_what_serve_runs(imap_server):
    r = imap_server.cli("dovecot", "config")
    written = (imap_server.data / "dovecot" / "dovecot.conf").read_text()
    assert r.stdout == written
    assert "ssl = required" in written and "disable_plaintext_auth = yes" in written


@pytest.fixture(scope="module")
def quarantine_zone(tmp_path_factory):
    if not dnsserver.have_nsd():
        pytest.skip("nsd not installed")
    ns = dnsserver.DnsServer(tmp_path_factory.mktemp("nsd-imap"))
    ns.add_zone("quarantine.test", """@ 3600 IN SOA ns.quarantine.test. hostmaster.quarantine.test. 1 3600 600 86400 300
@ 3600 IN NS ns.quarantine.test.
ns 3600 IN A 127.0.0.1
@ 300 IN TXT "v=spf1 -all"
_dmarc 300 IN TXT "v=DMARC1; p=quarantine"
""")
    ns.start()
    yield ns
    ns.stop()


def test_dmarc_quarantined_mail_is_in_junk(make_imap, quarantine_zone):
    s = make_imap(sections={
        "dns": {"servers": [quarantine_zone.address], "root_anchor": "", "special_zones": ["test"],
                "timeout_ms": 3000},
        "auth": {"spf": True, "dkim": True, "dmarc": True},
    })
    msg = ("From: news@quarantine.test\r\nTo: alice@localhost\r\nSubject: maybe spam\r\n"
           "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <q1@quarantine.test>\r\n\r\nhello\r\n").encode()
    with s.smtp("mx") as c:
        c.ehlo("client.quarantine.test")
        c.sendmail("news@quarantine.test", ["alice@localhost"], msg)
    s.wait_queue_empty()
    m = s.imaps(*ALICE)
    typ, boxes = m.list()
    junk = [b for b in boxes if b.endswith(b'"Junk"') or b.endswith(b" Junk")]
    assert junk and b"\\Junk" in junk[0], boxes
    end = time.time() + 10 * mf.SLOW
    while True:
        typ, data = m.select("Junk")
        if data == [b"1"] or time.time() > end:
            break
        m.close() if typ == "OK" else None
        time.sleep(0.1)
    assert typ == "OK" and data == [b"1"], data
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"maybe spam" in data[0][1]
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()
