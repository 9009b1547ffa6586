# tests/integration/test_auth.py: AUTH only in TLS on submission ports (bad-input 14-21).
# SPDX-License-Identifier: MIT
import base64
import smtplib
import time


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def tls_session(server, listener="submission"):
    c = server.smtp(listener)
    c.ehlo("x")
    if listener == "submission":
        c.starttls(context=server.tls_context())
        c.ehlo("x")
    return c


def test_auth_before_tls_refused_and_not_advertised(server):
    r = server.raw_client("submission")
    r.reply()
    code, text = r.cmd("EHLO x")
    assert "AUTH" not in text
    code, text = r.cmd("AUTH PLAIN " + b64("\0alice@localhost\0alice-pw"))
    assert code in (530, 538) and ("5.7.0" in text or "5.7.11" in text)
    # credentials were never checked: no auth event at all
    assert server.logs("auth") == []
    server.wait_log("reject", rule="auth_before_tls")


def test_auth_not_offered_on_mx(server):
    r = server.raw_client("mx")
    r.reply()
    assert "AUTH" not in r.cmd("EHLO x")[1]
    assert r.cmd("AUTH LOGIN")[0] in (502, 503)
    assert r.cmd("STARTTLS")[0] == 220


def test_mail_without_auth_on_submission(server):
    c = tls_session(server)
    code, text = c.mail("alice@localhost")
    assert code == 530 and b"5.7.0" in text


def test_sasl_errors(server):
    c = tls_session(server)
    assert c.docmd("AUTH PLAIN %%%")[0] == 501
    assert c.docmd("AUTH FOO")[0] == 504
    assert c.docmd("AUTH PLAIN")[0] == 334
    assert c.docmd("*")[0] == 501
    assert c.docmd("AUTH PLAIN " + b64("a\0b"))[0] == 501  # too few NULs
    assert c.docmd("AUTH PLAIN " + b64("a\0b\0c\0d"))[0] == 501  # too many
    assert c.docmd("AUTH LOGIN")[0] == 334
    assert c.docmd("A" * 13000)[0] == 500  # SASL line of 12289+ octets
    assert c.docmd("NOOP")[0] == 250  # the long line was consumed, the session goes on


def test_wrong_password_and_unknown_user_look_the_same(server):
    c = tls_session(server)
    t0 = time.time()
    code1, text1 = c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0wrong"))
    t1 = time.time()
    code2, text2 = c.docmd("AUTH PLAIN " + b64("\0nobody@localhost\0wrong"))
    t2 = time.time()
    assert code1 == code2 == 535 and text1 == text2 and b"5.7.8" in text1
    # argon2id runs for unknown users too; allow generous noise but not a 5x difference
    assert (t2 - t1) > (t1 - t0) / 5
    fails = server.wait_count("auth", 2, result="failure")
    assert len(fails) == 2 and all("wrong" not in str(f) for f in fails)


def test_authzid_other_user_refused(server):
    c = tls_session(server)
    code, _ = c.docmd("AUTH PLAIN " + b64("bob@localhost\0alice@localhost\0alice-pw"))
    assert code == 535
    code, _ = c.docmd("AUTH PLAIN " + b64("alice@localhost\0alice@localhost\0alice-pw"))
    assert code == 235


def test_second_auth_and_auth_in_transaction(server):
    c = tls_session(server)
    c.login("alice@localhost", "alice-pw")
    assert c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0alice-pw"))[0] == 503
    c2 = tls_session(server)
    c2.login("bob@localhost", "bob-pw")
    assert c2.mail("bob@localhost")[0] == 250
    assert c2.docmd("AUTH LOGIN")[0] == 503


def test_sender_must_be_owned(server):
    c = tls_session(server, "submissions")
    c.login("alice@localhost", "alice-pw")
    code, text = c.mail("bob@localhost")
    assert code == 553 and b"5.7.1" in text
    assert c.mail("Alice@LOCALHOST")[0] == 250
    server.wait_log("reject", rule="sender_not_owned")


def test_brute_force_does_not_lock_out_the_owner(server):
    c = tls_session(server)
    for _ in range(5):
        assert c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0guess"))[0] == 535
    c2 = tls_session(server, "submissions")
    c2.login("alice@localhost", "alice-pw")
