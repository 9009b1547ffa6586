# tests/integration/test_submission.py: mail from a logged-in user over 587 (STARTTLS + AUTH) and 465 (implicit TLS)
# lands in the Maildir with a Received: header that names the TLS version and cipher; swaks as a second client.
# SPDX-License-Identifier: MIT
import base64
import re
import shutil
import smtplib
import ssl
import subprocess

import pytest

from mf import SLOW, message


def received(msg):
    """The first (our) Received: field, unfolded."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("latin1")
    m = re.match(r"Received:(.*?)\r\n(?![ \t])", head, re.S)
    assert m, head[:500]
    return " ".join(m.group(1).split())


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_starttls_auth_delivers_with_tls_in_received(server, mech):
    with server.smtp("submission") as c:
        c.ehlo("laptop.example")
        assert "auth" not in c.esmtp_features  # never offered before TLS
        assert "starttls" in c.esmtp_features
        c.starttls(context=server.tls_context())
        version, cipher = c.sock.version(), c.sock.cipher()[0]
        c.ehlo("laptop.example")
        assert "starttls" not in c.esmtp_features
        assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        c.user, c.password = "alice@localhost", "alice-pw"
        code, _ = c.auth(mech, getattr(c, "auth_" + mech.lower()), initial_response_ok=(mech == "PLAIN"))
        assert code == 235
        body = message("sub-" + mech, sender="alice@localhost", to="bob@localhost")
        assert c.sendmail("alice@localhost", ["bob@localhost"], body) == {}
    (msg,) = server.wait_mail("bob")
    assert msg.endswith(body.encode())  # the message itself is stored unchanged after our trace field
    rcv = received(msg)
    assert rcv.startswith("from laptop.example ([127.0.0.1])"), rcv
    assert "with ESMTPSA" in rcv and f"using {version} with cipher {cipher}" in rcv, rcv
    tls = server.wait_log("tls", listener="submission")[0]
    assert (tls["version"], tls["cipher"]) == (version, cipher)
    auth = server.wait_log("auth", result="success")[0]
    assert auth["mechanism"] == mech and auth["user"] == "alice@localhost" and auth["listener"] == "submission"
    assert "alice-pw" not in "".join(server.raw)  # a password never reaches the log


def test_starttls_tls12_cipher_named_in_received(server):
    with server.smtp("submission") as c:
        c.ehlo("x")
        c.starttls(context=server.tls_context(maximum_version=ssl.TLSVersion.TLSv1_2))
        assert c.sock.version() == "TLSv1.2"
        cipher = c.sock.cipher()[0]
        c.ehlo("x")
        c.login("alice@localhost", "alice-pw")
        c.sendmail("alice@localhost", ["alice@localhost"], message("tls12", sender="alice@localhost"))
    (msg,) = server.wait_mail("alice")
    assert f"using TLSv1.2 with cipher {cipher}" in received(msg)


def test_auth_login_raw_dialog(server):
    # AUTH LOGIN as a client that does not use an initial response sees it: base64 prompts, then 235
    c = server.smtp("submission")
    c.ehlo("x")
    c.starttls(context=server.tls_context())
    c.ehlo("x")
    code, text = c.docmd("AUTH LOGIN")
    assert code == 334 and base64.b64decode(text).lower().startswith(b"username")
    code, text = c.docmd(base64.b64encode(b"alice@localhost").decode())
    assert code == 334 and base64.b64decode(text).lower().startswith(b"password")
    code, text = c.docmd(base64.b64encode(b"alice-pw").decode())
    assert code == 235 and text.startswith(b"2.7.0")
    assert c.mail("alice@localhost")[0] == 250
    c.close()


def test_submissions_implicit_tls(server):
    with server.smtp("submissions") as c:
        version, cipher = c.sock.version(), c.sock.cipher()[0]
        c.ehlo("laptop")
        assert "starttls" not in c.esmtp_features
        assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        c.login("alice@localhost", "alice-pw")
        c.sendmail("alice@localhost", ["alice@localhost", "bob@localhost"], message("tls465", sender="alice@localhost"))
    for user in ("alice", "bob"):
        (msg,) = server.wait_mail(user)
        rcv = received(msg)
        assert "with ESMTPSA" in rcv and f"using {version} with cipher {cipher}" in rcv, rcv
    assert server.wait_log("tls", listener="submissions")[0]["version"] == version


def test_wrong_password_is_535_and_no_mail(server):
    with server.smtp("submissions") as c:
        c.ehlo("x")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login("alice@localhost", "not-her-password")
        assert e.value.smtp_code == 535 and b"5.7.8" in e.value.smtp_error
        code, text = c.mail("alice@localhost")
        assert code == 530 and b"5.7.0" in text
    fail = server.wait_log("auth", result="failure")[0]
    assert fail["user"] == "alice@localhost" and "not-her-password" not in "".join(server.raw)


def test_test_pki_certificate_verifies_by_name(pki_server):
    # a client that verifies the chain and the name "localhost" against the test CA (scripts/gen-test-pki.sh)
    s = pki_server
    for listener in ("submission", "submissions"):
        ctx = s.tls_context(check_hostname=True)
        if listener == "submissions":
            c = smtplib.SMTP_SSL("localhost", s.ports[listener], timeout=10 * SLOW, context=ctx)
        else:
            c = smtplib.SMTP("localhost", s.ports[listener], timeout=10 * SLOW)
            c.ehlo("x")
            c.starttls(context=ctx)
        peer = c.sock.getpeercert()
        assert ("DNS", "localhost") in peer["subjectAltName"]
        c.ehlo("x")
        c.login("bob@localhost", "bob-pw")
        c.sendmail("bob@localhost", ["alice@localhost"], message("pki-" + listener, sender="bob@localhost"))
        c.quit()
    assert len(s.wait_mail("alice", 2)) == 2
    # the self-signed certificate was not generated: the configured one is used
    assert not (s.data / "tls" / "cert.pem").exists() or not s.logs("tls_self_signed_created")


def swaks(*args):
    return subprocess.run(["swaks", "--silent", "2", "--helo", "swaks.test", "--timeout", str(10 * SLOW), *args],
                          capture_output=True, text=True, timeout=60 * SLOW)


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_swaks_starttls_and_implicit_tls(server):
    r = swaks("--server", f"127.0.0.1:{server.ports['submission']}", "--tls", "--auth", "PLAIN",
              "--auth-user", "alice@localhost", "--auth-password", "alice-pw",
              "--from", "alice@localhost", "--to", "bob@localhost", "--header", "Subject: swaks-587")
    assert r.returncode == 0, r.stdout + r.stderr
    r = swaks("--server", f"127.0.0.1:{server.ports['submissions']}", "--tlsc", "--auth", "LOGIN",
              "--auth-user", "bob@localhost", "--auth-password", "bob-pw",
              "--from", "bob@localhost", "--to", "bob@localhost", "--header", "Subject: swaks-465")
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = server.wait_mail("bob", 2)
    subjects = sorted(re.search(rb"Subject: (\S+)", m).group(1) for m in msgs)
    assert subjects == [b"swaks-465", b"swaks-587"]
    assert all("using TLSv1.3 with cipher" in received(m) for m in msgs)


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_swaks_wrong_password_fails(server):
    r = swaks("--server", f"127.0.0.1:{server.ports['submission']}", "--tls", "--auth", "PLAIN",
              "--auth-user", "alice@localhost", "--auth-password", "wrong",
              "--from", "alice@localhost", "--to", "bob@localhost")
    assert r.returncode != 0 and "535" in r.stdout + r.stderr
    assert server.maildir_messages("bob") == []


# ---- issue 15 item 3: one identity per login --------------------------------------------------------------------------
def _login_raw(c, user, password):
    """AUTH PLAIN with the user name exactly as given (smtplib's login would send it the same way)."""
    blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    return c.docmd("AUTH PLAIN " + blob)


def test_whitespace_and_case_variants_of_a_login_are_one_identity(make_server):
    # Before: " alice@localhost" authenticated (the database trims) but the session kept the padded name, so each
    # variant had its own per-user rate limit and escaped holds. Now the identity is the canonical name the
    # database matched: the variants share one bucket of messages_per_hour_per_user.
    s = make_server(sections={"ratelimit": {"messages_per_hour_per_user": 2}})
    codes = []
    for login in (" alice@localhost", "ALICE@localhost\t", "alice@localhost "):
        with s.smtp("submissions") as c:
            c.ehlo("laptop.example")
            assert _login_raw(c, login, "alice-pw")[0] == 235, login
            codes.append(c.docmd("MAIL FROM:<alice@localhost>")[0])
    assert codes == [250, 250, 450], codes
    ok = s.wait_count("auth", 3, result="success")
    assert [e["user"] for e in ok] == ["alice@localhost"] * 3, ok
    assert ok[0]["login"] == " alice@localhost"
    lim = s.wait_log("reject", rule="messages_per_hour_per_user")[0]
    assert lim["code"] == 450


# ---- issue 15 item 4: send-as on submission --------------------------------------------------------------------------
@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_mismatched_envelope_sender_is_550(server):
    r = swaks("--server", f"127.0.0.1:{server.ports['submission']}", "--tls", "--auth", "PLAIN",
              "--auth-user", "alice@localhost", "--auth-password", "alice-pw",
              "--from", "bob@localhost", "--to", "alice@localhost")
    assert r.returncode != 0 and "550 5.7.1" in r.stdout + r.stderr, r.stdout + r.stderr
    assert server.maildir("alice") == []


def test_header_from_of_another_user_is_550_at_end_of_data(server):
    with server.smtp("submission") as c:
        c.ehlo("laptop.example")
        c.starttls(context=server.tls_context())
        c.ehlo("laptop.example")
        c.login("alice@localhost", "alice-pw")
        for frm in ("bob@localhost", "Alice <alice@localhost>, Bob <bob@localhost>", "ceo@example.org"):
            with pytest.raises(smtplib.SMTPDataError) as e:
                c.sendmail("alice@localhost", ["bob@localhost"], message("forged", sender=frm, to="bob@localhost"))
            assert e.value.smtp_code == 550 and e.value.smtp_error.startswith(b"5.7.1"), e.value
            assert b"From:" in e.value.smtp_error
        # Her own address, in any case and with a display name, is fine.
        assert c.sendmail("alice@localhost", ["bob@localhost"],
                          message("own", sender="Alice <Alice@LOCALHOST>", to="bob@localhost")) == {}
    assert len(server.wait_mail("bob")) == 1
    refused = server.wait_count("reject", 3, rule="from_not_owned")
    assert len(refused) == 3 and all(r["code"] == 550 for r in refused)
    assert server.wait_log("submission_from_refused")[0]["user"] == "alice@localhost"


def test_null_sender_on_submission_refused_unless_configured(make_server):
    s = make_server()
    with s.smtp("submissions") as c:
        c.login("alice@localhost", "alice-pw")
        code, text = c.docmd("MAIL FROM:<>")
        assert code == 550 and text.startswith(b"5.7.1"), (code, text)
    s.wait_log("reject", rule="null_sender_refused")
    allowed = make_server(relay={"allow_null_sender": True})
    with allowed.smtp("submissions") as c:
        c.login("alice@localhost", "alice-pw")
        assert c.docmd("MAIL FROM:<>")[0] == 250
