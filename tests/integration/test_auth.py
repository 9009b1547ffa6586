# tests/integration/test_auth.py: AUTH only inside TLS on the submission ports (bad-input 14-21).
# SPDX-License-Identifier: MIT
import base64
import time

import pytest


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def tls_session(server, listener="submission"):
    c = server.smtp(listener)
    c.ehlo("x")
    if listener != "submissions":
        c.starttls(context=server.tls_context())
        c.ehlo("x")
    return c


def test_auth_before_tls_refused_and_not_advertised(server):
    r = server.session("submission")
    code, text = r.cmd("EHLO x")
    assert code == 250 and "AUTH" not in text
    code, text = r.cmd("AUTH PLAIN " + b64("\0alice@localhost\0alice-pw"))
    assert code == 530 and text == "530 5.7.0 Must issue a STARTTLS command first"
    code, text = r.cmd("AUTH LOGIN")
    assert code == 530 and "5.7.0" in text  # no 334 challenge: nothing to be sent in clear
    assert server.logs("auth") == []  # credentials were never checked
    rej = server.wait_log("reject", rule="auth_before_tls")[0]
    assert rej["listener"] == "submission" and rej["client"].startswith("127.0.0.1:")
    assert "alice-pw" not in "".join(server.raw) and b64("\0alice@localhost\0alice-pw") not in "".join(server.raw)


@pytest.mark.parametrize("tls", [False, True])
def test_auth_not_offered_on_mx(server, tls):
    c = server.smtp("mx")
    c.ehlo("x")
    if tls:
        c.starttls(context=server.tls_context())
        c.ehlo("x")
    assert "auth" not in c.esmtp_features
    for cmd in ("AUTH LOGIN", "AUTH PLAIN " + b64("\0alice@localhost\0alice-pw")):
        code, text = c.docmd(cmd)
        assert code == 502 and text.startswith(b"5.5.1"), (cmd, code, text)
    assert c.noop()[0] == 250
    c.close()
    server.wait_log("reject", rule="auth_not_offered")
    assert server.logs("auth") == []


@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_mail_without_auth_refused(server, listener):
    c = tls_session(server, listener)
    code, text = c.mail("alice@localhost")
    assert code == 530 and text.startswith(b"5.7.0")
    server.wait_log("reject", rule="auth_required")


def test_sasl_protocol_errors(server):
    c = tls_session(server)
    code, text = c.docmd("AUTH PLAIN %%%")  # bad base64
    assert code == 501 and text.startswith(b"5.5.2"), text
    code, text = c.docmd("AUTH FOO")
    assert code == 504 and text.startswith(b"5.5.4"), text
    assert c.docmd("AUTH PLAIN")[0] == 334
    assert c.docmd("*")[0] == 501  # client cancels the exchange
    assert c.docmd("AUTH LOGIN")[0] == 334
    assert c.docmd("*")[0] == 501
    assert c.docmd("AUTH PLAIN " + b64("a\0b"))[0] == 501  # too few NULs
    assert c.docmd("AUTH PLAIN " + b64("a\0b\0c\0d"))[0] == 501  # too many
    assert c.docmd("AUTH PLAIN " + b64("nonuls"))[0] == 501
    assert c.docmd("AUTH LOGIN")[0] == 334
    assert c.docmd("A" * 13000)[0] == 500  # SASL line of 12289+ octets
    assert c.noop()[0] == 250  # the long line was consumed, the session goes on
    # after all that the right password still works in this session
    code, _ = c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0alice-pw"))
    assert code == 235
    server.wait_log("auth", result="success")  # the log line may trail the reply


def test_wrong_password_and_unknown_user_look_the_same(server):
    c = tls_session(server)
    t0 = time.time()
    code1, text1 = c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0wrong"))
    t1 = time.time()
    code2, text2 = c.docmd("AUTH PLAIN " + b64("\0nobody@localhost\0wrong"))
    t2 = time.time()
    assert code1 == code2 == 535 and text1 == text2 and text1.startswith(b"5.7.8")
    # the password hash runs for unknown users too; allow generous noise but not a 5x difference
    assert (t2 - t1) > (t1 - t0) / 5
    fails = server.wait_count("auth", 2, result="failure")
    assert len(fails) == 2 and all("wrong" not in str(f) for f in fails)
    assert {f["mechanism"] for f in fails} == {"PLAIN"}


def test_authzid_other_user_refused(server):
    c = tls_session(server)
    code, text = c.docmd("AUTH PLAIN " + b64("bob@localhost\0alice@localhost\0alice-pw"))
    assert code == 535 and text.startswith(b"5.7.8")
    code, _ = c.docmd("AUTH PLAIN " + b64("alice@localhost\0alice@localhost\0alice-pw"))
    assert code == 235  # authzid equal to authcid is fine


def test_second_auth_and_auth_in_transaction(server):
    c = tls_session(server)
    c.login("alice@localhost", "alice-pw")
    code, text = c.docmd("AUTH PLAIN " + b64("\0bob@localhost\0bob-pw"))
    assert code == 503 and text.startswith(b"5.5.1")
    c2 = tls_session(server, "submissions")
    c2.login("bob@localhost", "bob-pw")
    assert c2.mail("bob@localhost")[0] == 250
    code, text = c2.docmd("AUTH LOGIN")
    assert code == 503 and text.startswith(b"5.5.1")


def test_sender_must_be_owned(server):
    c = tls_session(server, "submissions")
    c.login("alice@localhost", "alice-pw")
    code, text = c.mail("bob@localhost")
    assert code == 550 and text.startswith(b"5.7.1")
    code, text = c.mail("ceo@example.org")
    assert code == 550 and text.startswith(b"5.7.1")
    assert c.mail("Alice@LOCALHOST")[0] == 250  # her own address, any case
    rej = server.wait_log("reject", rule="sender_not_owned")[0]
    assert rej["code"] == 550


def test_failed_logins_do_not_lock_out_the_owner(server):
    c = tls_session(server)
    for _ in range(5):
        assert c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0guess"))[0] == 535
    c2 = tls_session(server, "submissions")
    assert c2.login("alice@localhost", "alice-pw")[0] == 235
