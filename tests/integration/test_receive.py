# tests/integration/test_receive.py: mail in over MX, submission (STARTTLS+AUTH) and submissions (TLS), into Maildir.
# SPDX-License-Identifier: MIT
import shutil
import smtplib
import subprocess

import pytest

from mf import message


def test_mx_delivers_to_maildir_with_received_header(server):
    with server.smtp("mx") as c:
        c.ehlo("client.example")
        c.sendmail("someone@example.org", ["alice@localhost"], message("mx1"))
    (msg,) = server.wait_mail("alice")
    assert b"Subject: mx1" in msg
    first = msg.split(b"\r\n")[0]
    assert first.startswith(b"Received: from client.example ([127.0.0.1])")
    assert b"by mx.test (mailfort) with ESMTP id " in msg
    queued = server.wait_log("queued")
    assert queued[0]["from"] == "someone@example.org"
    delivered = server.wait_log("delivered")
    assert delivered[0]["rcpt"] == "alice@localhost" and delivered[0]["queue_id"] == queued[0]["queue_id"]
    assert server.queue_files() == [] or server.wait_log("delivered")


def test_submission_starttls_auth_plain_and_login(server):
    for mech in ("PLAIN", "LOGIN"):
        with server.smtp("submission") as c:
            c.ehlo("laptop")
            assert "auth" not in c.esmtp_features  # never before TLS
            c.starttls(context=server.tls_context())
            c.ehlo("laptop")
            assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
            c.user, c.password = "alice@localhost", "alice-pw"
            code, _ = c.auth(mech, getattr(c, "auth_" + mech.lower()))
            assert code == 235
            c.sendmail("alice@localhost", ["bob@localhost"], message("sub-" + mech, sender="alice@localhost",
                                                                    to="bob@localhost"))
    msgs = server.wait_mail("bob", 2)
    assert all(b"with ESMTPSA id" in m and b"(using TLSv1.3 with cipher " in m for m in msgs)
    auths = server.wait_count("auth", 2, result="success")
    assert {a["mechanism"] for a in auths} == {"PLAIN", "LOGIN"}
    assert all("password" not in a and "alice-pw" not in str(a) for a in server.logs())


def test_submissions_implicit_tls(server):
    with server.smtp("submissions") as c:
        c.ehlo("laptop")
        assert "starttls" not in c.esmtp_features
        c.login("alice@localhost", "alice-pw")
        c.sendmail("alice@localhost", ["alice@localhost"], message("tls465", sender="alice@localhost"))
    (msg,) = server.wait_mail("alice")
    assert b"with ESMTPSA" in msg


def test_authenticated_relay_is_queued_not_refused(server):
    with server.smtp("submissions") as c:
        c.login("alice@localhost", "alice-pw")
        refused = c.sendmail("alice@localhost", ["friend@example.net"], message("out", sender="alice@localhost"))
        assert refused == {}
    server.wait_log("deferred", rcpt="friend@example.net")
    assert len(server.queue_files()) == 1  # stays queued until outbound delivery exists


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_swaks_submission_and_mx(server):
    base = ["swaks", "--silent", "2", "--from", "alice@localhost", "--to", "bob@localhost", "--helo", "swaks.test"]
    r = subprocess.run(base + ["--server", f"127.0.0.1:{server.ports['submission']}", "--tls", "--auth", "PLAIN",
                               "--auth-user", "alice@localhost", "--auth-password", "alice-pw"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(base + ["--server", f"127.0.0.1:{server.ports['mx']}", "--from", "x@example.org"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    server.wait_mail("bob", 2)


def test_null_sender_postmaster_and_source_route(server):
    r = server.raw_client()
    assert r.reply()[0] == 220
    assert r.cmd("EHLO x")[0] == 250
    assert r.cmd("MAIL FROM:<>")[0] == 250
    assert r.cmd("RCPT TO:<postmaster>")[0] == 250
    assert r.cmd("RCPT TO:<@relay.one,@relay.two:alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: bounce\r\n\r\nbody\r\n.\r\n")
    assert r.reply()[0] == 250
    assert r.cmd("QUIT")[0] == 221
    server.wait_mail("alice")
    server.wait_mail("postmaster")


def test_dot_stuffing_is_exact(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: dots\r\n\r\n..foo\r\n..\r\n...\r\nend\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    assert msg.endswith(b"\r\n\r\n.foo\r\n.\r\n..\r\nend\r\n")


def test_pipelined_transactions_answered_in_order(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    one = "MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n"
    r.send(one)
    assert [r.reply()[0] for _ in range(3)] == [250, 250, 354]
    # bad-input 6: a second transaction pipelined after a real end of data
    r.send("Subject: 1\r\n\r\nx\r\n.\r\n" + one)
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send("Subject: 2\r\n\r\ny\r\n.\r\nQUIT\r\n")
    assert [r.reply()[0] for _ in range(2)] == [250, 221]
    server.wait_mail("alice", 2)


def test_case_insensitive_local_user_and_unknown_user(server):
    with server.smtp() as c:
        c.ehlo("x")
        c.mail("a@example.org")
        assert c.rcpt("ALICE@LocalHost")[0] == 250
        code, text = c.rcpt("nobody@localhost")
        assert code == 550 and b"5.1.1" in text
    server.wait_log("reject", rule="unknown_user")
