# tests/integration/test_imap.py: mailbox access through Dovecot run by `mailfort serve` ([imap], issue 17): mail
# received on the MX read over IMAPS and POP3+STLS, flags that stick, DMARC quarantine in Junk, no login before
# STARTTLS from a non-local address, TLS 1.0/1.1 refused, Dovecot restarted after SIGKILL and stopped with
# mailfort, users added and removed on IMAP within a second. Real Dovecot from Debian (dovecot-imapd/-pop3d).
# SPDX-License-Identifier: MIT
import contextlib
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


def user_change(server, *args, input=None):
    """Run a `mailfort user ...` command; assert mailfort rewrote Dovecot's passwd-files within a second of it
    (Dovecot is reloaded with them, so the next login sees the change). Returns the command's result."""
    n = len(server.logs("dovecot_users_written"))
    r = server.cli(*args, input=input)
    t0 = time.time()
    server.wait_count("dovecot_users_written", n + 1, timeout=2)
    assert len(server.logs("dovecot_users_written")) > n, f"passwd-files not rewritten after {args}"
    assert time.time() - t0 < 1.0 * mf.SLOW, "passwd-files rewritten more than a second after the change"
    return r


def eventually_logs_in(server, user, password, ok=True, within=10.0):
    """IMAP login succeeds (ok) or fails (not ok) within `within` seconds. One login costs a TLS handshake and an
    argon2id verification per password of the account (about 0.8 s each on a loaded 2-core test machine)."""
    t0 = time.time()
    while True:
        try:
            server.imaps(user, password).logout()
            if ok:
                return
        except imaplib.IMAP4.error:
            if not ok:
                return
        assert time.time() - t0 < within * mf.SLOW, f"login of {user} did not become {'ok' if ok else 'refused'}"
        time.sleep(0.05)


def test_user_added_and_removed_on_imap_within_a_second(imap_server):
    carol = ("carol@localhost", "carol-pw")
    with pytest.raises(imaplib.IMAP4.error):
        imap_server.imaps(*carol)
    user_change(imap_server, "user", "add", carol[0], "--password-stdin", input=carol[1] + "\n")
    eventually_logs_in(imap_server, *carol)
    user_change(imap_server, "user", "del", carol[0])
    eventually_logs_in(imap_server, *carol, ok=False)
    # A new password replaces the old one (same-size rewrite within one second: the mtime is bumped).
    user_change(imap_server, "user", "passwd", ALICE[0], "--password-stdin", input="alice-new\n")
    eventually_logs_in(imap_server, ALICE[0], "alice-new")
    with pytest.raises(imaplib.IMAP4.error):
        imap_server.imaps(*ALICE)


def test_dovecot_config_command_prints_what_serve_runs(imap_server):
    r = imap_server.cli("dovecot", "config")
    written = (imap_server.data / "dovecot" / "dovecot.conf").read_text()

    def settings(text):  # without comments and the per-start policy hooks
        return [l for l in text.splitlines() if not l.startswith(("#", "auth_policy_", "login_access_sockets"))]
    assert settings(r.stdout) == settings(written)
    assert "auth_policy_server_url = http://127.0.0.1:" in written and "login_access_sockets = " in written
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


# ---- bans: the same score and bans as SMTP AUTH (auth policy server, login_access_sockets) ----------------------
def strict_imap(make_imap, **kw):
    """Ban and rate limits at their shipped values (the suite relaxes them), no greeting delay."""
    return make_imap(relaxed=False, sections={"greeting": {"delay_ms": 0}}, **kw)


def imap_fail(server, source, n, user=ALICE[0], passwords=None):
    for i in range(n):
        with pytest.raises(imaplib.IMAP4.error):
            server.imaps(user, (passwords or [f"guess-{j}" for j in range(n)])[i], source=source)


def dropped_at_imap_connect(server, source, port="imaps"):
    """True when Dovecot closes the connection without a greeting (access socket said 0)."""
    try:
        if port == "imaps":
            m = server.imaps(source=source)
        else:
            m = IMAP(server.mport[port], source=source)
        m.logout()
        return False
    except (OSError, imaplib.IMAP4.error, EOFError):
        return True


def smtp_auth_fail(server, source, n):
    import base64
    import smtplib
    c = server.smtp("submissions", source=source)
    c.ehlo("x")
    codes = []
    for _ in range(n):
        codes.append(c.docmd("AUTH PLAIN " + base64.b64encode(b"\0alice@localhost\0guess").decode())[0])
    c.close()
    return codes


def test_imap_failures_ban_on_smtp_and_imap_owner_unaffected_ban_survives_restart(make_imap):
    s = strict_imap(make_imap)
    imap_fail(s, "127.0.0.3", 5)
    ban = s.wait_log("ban", source="127.0.0.3/32")[0]
    assert ban["reason"] == "auth_failure" and ban["listener"] == "imap", ban
    fails = s.logs("auth", client_ip="127.0.0.3", result="failure")
    assert len(fails) == 5 and all(f["listener"] == "imap" and f["user"] == ALICE[0] for f in fails), fails
    # Refused at IMAP connect (before TLS and the greeting), on POP3 and on SMTP.
    assert dropped_at_imap_connect(s, "127.0.0.3")
    assert dropped_at_imap_connect(s, "127.0.0.3", port="imap")
    s.wait_log("reject", client_ip="127.0.0.3", stage="connect", rule="banned")
    assert s.raw_client("mx", source="127.0.0.3").reply()[0] == 421
    # Alice from her own address still logs in: the account is never locked.
    s.imaps(*ALICE).logout()
    assert s.logs("auth", client_ip="127.0.0.1", result="success", listener="imap")
    s.stop()
    s.start()
    s.wait_imap_up()
    assert dropped_at_imap_connect(s, "127.0.0.3")


def test_brute_force_spread_over_smtp_auth_and_pop3_banned_at_the_same_threshold(make_imap):
    s = strict_imap(make_imap)
    assert smtp_auth_fail(s, "127.0.0.5", 2) == [535, 535]
    for i in range(2):
        p = POP3(s.mport["pop3"], source="127.0.0.5")
        p.stls(context=s.tls_context())
        p.user(ALICE[0])
        with pytest.raises(poplib.error_proto):
            p.pass_(f"pop-guess-{i}")
        p.close()
    assert not s.logs("ban")
    imap_fail(s, "127.0.0.5", 1)  # the fifth failure, whatever the protocol
    ban = s.wait_log("ban", source="127.0.0.5/32")[0]
    assert ban["reason"] == "auth_failure"
    assert dropped_at_imap_connect(s, "127.0.0.5")


def test_smtp_banned_source_dropped_at_imap_connect_and_refused_at_login(make_imap):
    s = strict_imap(make_imap)
    s.cli("ban", "add", "127.0.0.6")
    end = time.time() + 3 * mf.SLOW
    while not dropped_at_imap_connect(s, "127.0.0.6"):
        assert time.time() < end, "a source banned with `mailfort ban add` still reaches IMAP"
        time.sleep(0.1)
    assert not dropped_at_imap_connect(s, "127.0.0.7")


def test_credential_stuffing_scores_faster(make_imap):
    s = strict_imap(make_imap)
    # One source, four accounts: from the third account on each failure scores 2, banned at the fourth failure.
    for user in ("a@localhost", "b@localhost", "c@localhost", "d@localhost"):
        with pytest.raises((imaplib.IMAP4.error, OSError)):  # OSError: already banned, dropped at connect
            s.imaps(user, "Summer2026!", source="127.0.0.8")
    s.wait_log("ban", source="127.0.0.8/32")
    assert s.logs("credential_stuffing", client_ip="127.0.0.8")
    assert len(s.logs("auth", client_ip="127.0.0.8", result="failure")) == 4


def admin_get(server, path):
    import json
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['admin']}{path}", timeout=10 * mf.SLOW) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api/") else body


def test_password_sprayed_from_three_sources_bans_every_source(make_imap):
    s = strict_imap(make_imap)
    # One password over six accounts from three sources, two accounts each: per source neither a brute force
    # (2 failures < 5) nor credential stuffing (2 accounts < 3). Dovecot's pwhash differs per account; the
    # pwspray hash (the password alone, salted with the nonce) links them.
    tries = [("127.0.0.11", ALICE[0]), ("127.0.0.11", BOB[0]), ("127.0.0.12", "carol@localhost"),
             ("127.0.0.12", "dave@localhost"), ("127.0.0.13", "erin@localhost"), ("127.0.0.13", "frank@localhost")]
    for source, user in tries:
        with pytest.raises((imaplib.IMAP4.error, OSError)):  # OSError: already banned, dropped at connect
            s.imaps(user, "Winter2026!", source=source)
    for source in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        s.wait_log("ban", source=f"{source}/32")
        assert s.logs("password_spraying", client_ip=source), source
        assert dropped_at_imap_connect(s, source)
    assert not s.logs("credential_stuffing")
    sprayed = s.logs("password_spraying")
    assert all(e["accounts"] >= 5 and e["listener"] == "imap" for e in sprayed), sprayed
    assert "Winter" not in "".join(s.raw)  # the password is never logged
    # Different wrong passwords on two accounts from one more source: not spraying, not banned.
    for user, pw in ((ALICE[0], "typo-1"), (BOB[0], "typo-2")):
        with pytest.raises(imaplib.IMAP4.error):
            s.imaps(user, pw, source="127.0.0.14")
    assert not s.logs("ban", source="127.0.0.14/32")
    assert not dropped_at_imap_connect(s, "127.0.0.14")
    metrics = admin_get(s, "/metrics")
    assert 'mailfort_login_attacks_total{listener="imap",kind="password_spraying"}' in metrics, metrics[-2000:]


def test_dovecot_flapping_is_an_alert_at_api_alerts(make_imap):
    s = make_imap(sections={"imap": {"restart_max_s": 1}})
    assert not [a for a in admin_get(s, "/api/alerts") if a["name"] == "dovecot_flapping"]
    for n in range(1, 6):
        os.kill(s.dovecot_pid(n), signal.SIGKILL)
        s.wait_count("dovecot_exited", n)
    s.wait_log("dovecot_flapping")
    end = time.time() + 5 * mf.SLOW
    while True:
        alerts = [a for a in admin_get(s, "/api/alerts") if a["name"] == "dovecot_flapping"]
        if alerts or time.time() > end:
            break
        time.sleep(0.1)
    assert len(alerts) == 1 and alerts[0]["severity"] == "critical" and alerts[0]["subject"] == "dovecot", alerts
    assert s.wait_log("alert_raised", name="dovecot_flapping")
    # It still restarts, and serves.
    s.dovecot_pid(6)
    s.wait_imap_up()


# ---- app passwords ----------------------------------------------------------------------------------------------
def submission_login(server, user, password):
    import smtplib
    with server.smtp("submissions") as c:
        try:
            return c.login(user, password)[0]
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code


def test_app_passwords_work_everywhere_and_revoking_one_leaves_the_others(make_imap):
    s = make_imap()
    phone = user_change(s, "user", "app-password", "add", ALICE[0], "--name", "phone").stdout.strip()
    laptop = user_change(s, "user", "app-password", "add", ALICE[0], "--name", "laptop").stdout.strip()
    assert len(phone) == 24 and phone != laptop
    listed = s.cli("user", "app-password", "list", ALICE[0]).stdout
    assert "phone" in listed and "laptop" in listed and phone not in listed
    eventually_logs_in(s, ALICE[0], phone)
    eventually_logs_in(s, ALICE[0], laptop)
    s.imaps(*ALICE).logout()  # the account password still works without require_app_passwords
    assert submission_login(s, ALICE[0], phone) == 235
    # An app password is alice's only: bob cannot use it.
    with pytest.raises(imaplib.IMAP4.error):
        s.imaps(BOB[0], phone)
    user_change(s, "user", "app-password", "del", ALICE[0], "--name", "phone")
    eventually_logs_in(s, ALICE[0], phone, ok=False)
    s.imaps(ALICE[0], laptop).logout()
    assert submission_login(s, ALICE[0], phone) == 535
    assert submission_login(s, ALICE[0], laptop) == 235


def test_require_app_passwords_refuses_the_account_password(make_imap):
    s = make_imap(sections={"user": {"require_app_passwords": True}})
    with pytest.raises(imaplib.IMAP4.error):
        s.imaps(*ALICE)
    assert submission_login(s, *ALICE) == 535
    pw = user_change(s, "user", "app-password", "add", ALICE[0], "--name", "phone").stdout.strip()
    eventually_logs_in(s, ALICE[0], pw)
    assert submission_login(s, ALICE[0], pw) == 235
    p = POP3(s.mport["pop3"])
    p.stls(context=s.tls_context())
    p.user(ALICE[0])
    p.pass_(pw)
    p.quit()


# ---- mailfort audit imap|pop3 -----------------------------------------------------------------------------------
def audit(proto, port, tls_port, *extra):
    import json
    import subprocess
    r = subprocess.run([mf.BIN, "audit", proto, f"127.0.0.1:{port}", "--tls-port", str(tls_port), "--format", "json",
                        "--fail-on", "low", *extra], capture_output=True, text=True, timeout=120 * mf.SLOW)
    assert r.returncode in (0, 1), (r.returncode, r.stdout, r.stderr)
    return r.returncode, json.loads(r.stdout)


def test_audit_reports_nothing_on_mailforts_own_dovecot(imap_server):
    for proto, plain, tls in (("imap", "imap", "imaps"), ("pop3", "pop3", "pop3s")):
        rc, rep = audit(proto, imap_server.mport[plain], imap_server.mport[tls], "--ca-file", imap_server.cert())
        bad = [f for f in rep["findings"] if f["severity"] != "info"]
        assert rc == 0 and not bad, (proto, bad)
        ids = [c["id"] for c in rep["checks"]]
        assert f"{proto}.plaintext_login" in ids and f"{proto}.starttls" in ids and f"{proto}.tls_versions" in ids, ids


def audit_smtp(server, *extra, fmt="json"):
    import json
    import subprocess
    r = subprocess.run([mf.BIN, "audit", "smtp", f"127.0.0.1:{server.ports['mx']}", "--tls-name", "localhost",
                        "--ca-file", server.cert(), "--no-pipelining", "--format", fmt, *extra],
                       capture_output=True, text=True, timeout=180 * mf.SLOW)
    assert r.returncode in (0, 1), (r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout) if fmt == "json" else r.stdout


def test_audit_smtp_also_probes_the_hosts_imap_and_pop3(imap_server):
    p = imap_server.mport
    ports = ["--imap-port", str(p["imap"]), "--imaps-port", str(p["imaps"]), "--pop3-port", str(p["pop3"]),
             "--pop3s-port", str(p["pop3s"])]
    rep = audit_smtp(imap_server, *ports)
    checks = {c["id"]: c for c in rep["checks"]}
    for proto in ("imap", "pop3"):
        assert checks[f"{proto}.offered"]["status"] == "ran", checks
        assert checks[f"{proto}.starttls"]["status"] == "ran" and checks[f"{proto}.tls_versions"]["status"] == "ran"
        assert checks[f"{proto}.implicit_tls"]["status"] == "ran"
    # mailfort's own Dovecot: nothing to report on IMAP/POP3 (a finding there carries its HOST:PORT as subject).
    mine = [f for f in rep["findings"] if any(f["subject"].endswith(f":{port}") for port in p.values())]
    assert not [f for f in mine if f["severity"] != "info"], mine
    assert "imap.offered" in audit_smtp(imap_server, *ports, "--no-tls-versions", fmt="text")
    assert "imap.offered" in audit_smtp(imap_server, *ports, "--no-tls-versions", fmt="html")
    # Ports where nothing listens: "not offered", skipped, not an error; the SMTP audit is unaffected.
    closed = [str(x) for x in mf.free_ports(4)]
    rep = audit_smtp(imap_server, "--imap-port", closed[0], "--imaps-port", closed[1], "--pop3-port", closed[2],
                     "--pop3s-port", closed[3], "--no-tls-versions")
    checks = {c["id"]: c for c in rep["checks"]}
    for proto in ("imap", "pop3"):
        assert checks[f"{proto}.offered"]["status"] == "skipped", checks
        assert "not offered" in checks[f"{proto}.offered"]["note"]
    assert not [c for c in rep["checks"] if c["status"] == "error" and c["id"].split(".")[0] in ("imap", "pop3")]
    text = audit_smtp(imap_server, "--imap-port", closed[0], "--imaps-port", closed[1], "--pop3-port", closed[2],
                      "--pop3s-port", closed[3], "--no-tls-versions", fmt="text")
    assert "not offered" in text


INSECURE_DOVECOT = """base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = insecure-{port}
protocols = imap pop3
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
disable_plaintext_auth = no
ssl = yes
ssl_min_protocol = TLSv1
ssl_cipher_list = ALL:@SECLEVEL=0
ssl_cert = <{cert}
ssl_key = <{key}
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%n
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextlib.contextmanager
def insecure_dovecot(pki):
    """A Dovecot of our own on loopback with disable_plaintext_auth = no and TLS 1.0 allowed; yields its ports."""
    import grp
    import pwd
    import subprocess
    root = imapmf.make_root()
    ports = dict(zip(("imap", "imaps", "pop3", "pop3s"), mf.free_ports(4)))
    if os.geteuid() == 0:
        who = {"internal": "dovecot", "group": "dovecot", "login": "dovenull", "uid": pwd.getpwnam("nobody").pw_uid,
               "gid": grp.getgrnam("nogroup").gr_gid}
    else:
        me, mygroup = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
        who = {"internal": me, "group": mygroup, "login": me, "uid": os.geteuid(), "gid": os.getegid()}
    for d in ("run", "state", "mail"):
        (root / d).mkdir()
    (root / "users").write_text("")
    conf = root / "dovecot.conf"
    conf.write_text(INSECURE_DOVECOT.format(root=root, port=ports["imap"], cert=pki["chain"], key=pki["key"], **who,
                                            **ports))
    proc = subprocess.Popen([imapmf.DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        end = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", ports["imaps"]), timeout=1).close()
                break
            except OSError:
                assert time.time() < end and proc.poll() is None, (root / "dovecot.log").read_text()
                time.sleep(0.1)
        yield ports
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def test_audit_flags_plaintext_login_and_tls1_on_an_insecure_dovecot(pki):
    with insecure_dovecot(pki) as ports:
        for proto, plain, tls in (("imap", "imap", "imaps"), ("pop3", "pop3", "pop3s")):
            rc, rep = audit(proto, ports[plain], ports[tls], "--ca-file", str(pki["ca"]), "--tls-name", "localhost")
            ids = {f["id"] for f in rep["findings"]}
            assert rc == 1, rep
            assert f"{proto}.auth.plaintext_login" in ids, (proto, ids)
            assert "tls.version.tls1_0" in ids and "tls.version.tls1_1" in ids, (proto, ids)
            sev = {f["id"]: f["severity"] for f in rep["findings"]}
            assert sev[f"{proto}.auth.plaintext_login"] == "high"


def test_audit_smtp_reports_an_insecure_imap_and_pop3_on_the_same_host(imap_server, pki):
    """The IMAP/POP3 probe's findings reach `audit smtp`'s report (JSON, text and HTML)."""
    with insecure_dovecot(pki) as ports:
        args = ["--imap-port", str(ports["imap"]), "--imaps-port", str(ports["imaps"]), "--pop3-port",
                str(ports["pop3"]), "--pop3s-port", str(ports["pop3s"]), "--no-tls-versions"]
        rep = audit_smtp(imap_server, *args)
        text = audit_smtp(imap_server, *args, fmt="text")
        html = audit_smtp(imap_server, *args, fmt="html")
    ids = {f["id"] for f in rep["findings"]}
    assert "imap.auth.plaintext_login" in ids and "pop3.auth.plaintext_login" in ids, ids
    assert "(imap.auth.plaintext_login)" in text and "(pop3.auth.plaintext_login)" in text, text
    assert "imap.auth.plaintext_login" in html


def test_imap_failures_on_one_node_ban_on_the_other_through_redis(make_imap, tmp_path):
    import subprocess
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    port = mf.free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert time.time() < end, "redis-server did not start"
            time.sleep(0.05)
        cluster = {"greeting": {"delay_ms": 0}, "state": {"backend": "redis", "redis_url": f"redis://127.0.0.1:{port}"}}
        a = make_imap(relaxed=False, sections=cluster)
        b = make_imap(relaxed=False, sections=cluster)
        imap_fail(a, "127.0.0.9", 5)
        a.wait_log("ban", source="127.0.0.9/32")
        end = time.time() + 3 * mf.SLOW
        while not dropped_at_imap_connect(b, "127.0.0.9"):
            assert time.time() < end, "the ban made on node a is not enforced by node b's Dovecot"
            time.sleep(0.1)
        assert b.raw_client("mx", source="127.0.0.9").reply()[0] == 421
        b.imaps(*ALICE).logout()
    finally:
        proc.terminate()
        proc.wait(10)


def test_sighup_reloads_the_certificate_in_dovecot_too(imap_server):
    import subprocess
    tls = imap_server.data / "tls"
    before = ssl.DER_cert_to_PEM_cert(imap_server.imaps().sock.getpeercert(binary_form=True))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tls / "key.new"), "-out", str(tls / "cert.new"), "-days", "30", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    for name in ("key", "cert"):
        if os.geteuid() == 0:
            shutil.chown(tls / f"{name}.new", "nobody", "nogroup")
        os.replace(tls / f"{name}.new", tls / f"{name}.pem")
    imap_server.proc.send_signal(signal.SIGHUP)
    imap_server.wait_log("tls_reloaded")
    imap_server.wait_log("dovecot_reloaded")
    end = time.time() + 10 * mf.SLOW
    while True:
        try:
            got = ssl.DER_cert_to_PEM_cert(imap_server.imaps().sock.getpeercert(binary_form=True))
        except (OSError, imaplib.IMAP4.error):
            got = before
        if got != before or time.time() > end:
            break
        time.sleep(0.1)
    assert got != before and got.strip() == (tls / "cert.pem").read_text().strip()
