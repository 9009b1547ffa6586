# tests/integration/test_mx.py: inbound mail on the MX listener into Maildir: trace header, logs, postmaster, null
# sender, source routes, dot-stuffing, pipelining (bad-input 4, 6, 23), unknown users.
# SPDX-License-Identifier: MIT
import os
import shutil
import subprocess

import pytest

from mf import SLOW, message


def test_mx_delivers_to_maildir_with_received_header_and_logs(server):
    body = message("mx1")
    with server.smtp("mx") as c:
        c.ehlo("client.example")
        assert "auth" not in c.esmtp_features and "starttls" in c.esmtp_features
        assert c.sendmail("someone@example.org", ["alice@localhost"], body) == {}
    (msg,) = server.wait_mail("alice")
    first = msg.split(b"\r\n")[0]
    assert first.startswith(b"Received: from client.example ([127.0.0.1])")
    assert b"by mx.test (mailfort) with ESMTP id " in msg and b"with ESMTPS" not in msg
    assert msg.endswith(body.encode())
    # Maildir: one file in new/, nothing left in tmp/
    new = server.data / "mail" / "localhost" / "alice" / "new"
    assert len(os.listdir(new)) == 1 and os.listdir(new.parent / "tmp") == []
    queued = server.wait_log("queued")[0]
    assert queued["from"] == "someone@example.org" and queued["size"] > 0 and queued["listener"] == "mx"
    delivered = server.wait_log("delivered")[0]
    assert delivered["rcpt"] == "alice@localhost" and delivered["queue_id"] == queued["queue_id"]
    assert delivered["mailbox"] == "localhost/alice"
    assert queued["queue_id"].encode() in first + msg.split(b"\r\n")[1]  # the id in Received: is the queue id
    connect = server.wait_log("connect", listener="mx")[0]
    sid = connect["session"]
    assert connect["client"].startswith("127.0.0.1:")
    assert server.wait_log("mail", session=sid)[0]["from"] == "someone@example.org"
    assert server.wait_log("rcpt", session=sid)[0]["to"] == "alice@localhost"
    server.wait_log("disconnect", session=sid)
    # delivered means gone from the queue
    assert server.wait_queue_empty() == []


def test_one_transaction_many_local_recipients(server):
    with server.smtp("mx") as c:
        c.sendmail("someone@example.org", ["alice@localhost", "bob@localhost"], message("multi"))
    assert len(server.wait_mail("alice")) == 1
    assert len(server.wait_mail("bob")) == 1
    assert len(server.wait_count("delivered", 2)) == 2


def test_same_mailbox_twice_in_one_transaction_gets_one_copy(server):
    # RCPT alice and Alice@LOCALHOST name one mailbox; Postfix, Exim and OpenSMTPD deliver one copy
    with server.smtp("mx") as c:
        c.sendmail("someone@example.org", ["alice@localhost", "Alice@LOCALHOST"], message("dup"))
    server.wait_mail("alice")
    server.wait_log("delivered")
    server.wait_count("delivered", 2, timeout=1)
    assert len(server.maildir_messages("alice")) == 1


def test_null_sender_postmaster_and_source_route(server):
    r = server.session()
    assert r.cmd("MAIL FROM:<>")[0] == 250
    assert r.cmd("RCPT TO:<postmaster>")[0] == 250
    assert r.cmd("RCPT TO:<@relay.one,@relay.two:bob@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: bounce\r\n\r\nbody\r\n.\r\n")
    code, text = r.reply()
    assert code == 250 and "2.0.0" in text
    assert r.cmd("QUIT")[0] == 221
    (msg,) = server.wait_mail("bob")
    assert b"Subject: bounce" in msg
    # <postmaster> with no user or alias of that name reaches the first user (issue 20, docs/addresses.md)
    assert len(server.wait_mail("alice")) == 1


def test_dot_stuffing_is_exact(server):
    r = server.session()
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: dots\r\n\r\n..foo\r\n..\r\n...\r\nend\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    assert msg.endswith(b"\r\n\r\n.foo\r\n.\r\n..\r\nend\r\n")


def test_pipelined_transactions_answered_in_order(server):
    r = server.session()
    one = "MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n"
    r.send(one)
    assert [x[0] for x in r.replies(3)] == [250, 250, 354]
    # bad-input 6: a second transaction pipelined after a real end of data is answered in order
    r.send("Subject: 1\r\n\r\nx\r\n.\r\n" + one)
    assert [x[0] for x in r.replies(4)] == [250, 250, 250, 354]
    r.send("Subject: 2\r\n\r\ny\r\n.\r\nQUIT\r\n")
    assert [x[0] for x in r.replies(2)] == [250, 221]
    assert len(server.wait_mail("alice", 2)) == 2


def test_case_insensitive_local_user_and_unknown_user(server):
    with server.smtp() as c:
        c.ehlo("x")
        c.mail("a@example.org")
        assert c.rcpt("ALICE@LocalHost")[0] == 250
        code, text = c.rcpt("nobody@localhost")
        assert code == 550 and text.startswith(b"5.1.1")
    rej = server.wait_log("reject", rule="unknown_user")[0]
    assert rej["code"] == 550 and rej["stage"] == "rcpt" and rej["client"].startswith("127.0.0.1:")


def test_starttls_on_mx_is_optional_and_recorded(server):
    with server.smtp("mx") as c:
        c.ehlo("x")
        c.starttls(context=server.tls_context())
        version = c.sock.version()
        c.ehlo("x")
        assert "auth" not in c.esmtp_features  # still no AUTH on MX inside TLS
        c.sendmail("a@example.org", ["alice@localhost"], message("mx-tls"))
    (msg,) = server.wait_mail("alice")
    assert b"with ESMTPS id" in msg and f"using {version} with cipher".encode() in msg


def test_smtputf8_address_delivered(server):
    r = server.session()
    assert r.cmd("MAIL FROM:<jörg@example.org> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("From: jörg@example.org\r\nSubject: utf8\r\n\r\nGrüße\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    assert "Grüße".encode() in msg


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_swaks_on_mx(server):
    r = subprocess.run(["swaks", "--silent", "2", "--server", f"127.0.0.1:{server.ports['mx']}", "--helo", "swaks.test",
                        "--from", "x@example.org", "--to", "bob@localhost", "--header", "Subject: swaks-mx"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    (msg,) = server.wait_mail("bob")
    assert b"Subject: swaks-mx" in msg and b"Received: from swaks.test" in msg
