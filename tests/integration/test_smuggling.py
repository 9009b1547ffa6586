# tests/integration/test_smuggling.py: SMTP smuggling (bad-input 1-3): every fake end-of-data of the shared list
# (conformance/smuggling/eod-variants.json, read unchanged) and the extra impostors of the bad-input catalogue.
# SPDX-License-Identifier: MIT
import json

import pytest

from mf import CONFORMANCE

VARIANTS = json.loads((CONFORMANCE / "smuggling" / "eod-variants.json").read_text())["variants"]
# bad-input 2 impostors beyond the shared list; each holds a bare CR or LF
EXTRA = {"crlf-dot-cr-crlf": "\r\n.\r\r\n", "cr-crlf-dot-cr-crlf": "\r\r\n.\r\r\n"}
SMUGGLED = (b"MAIL FROM:<ceo@localhost>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n"
            b"From: ceo@localhost\r\nSubject: smuggled\r\n\r\nwire money\r\n")


def smuggle(server, fake):
    r = server.session(helo="attacker.example")
    assert r.cmd("MAIL FROM:<attacker@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: outer\r\n\r\nhello" + fake + SMUGGLED + b"\r\n.\r\n")
    return r


def assert_refused_whole(server, r):
    code, text = r.reply()
    # one message ending at the real <CR><LF>.<CR><LF>, refused there; the smuggled commands are never answered
    assert code == 550 and text.startswith("550 5.5.2"), (code, text)
    assert r.cmd("NOOP")[0] == 250  # the next reply answers our NOOP, not a smuggled command
    assert r.cmd("QUIT")[0] == 221
    rej = server.wait_log("reject", stage="data")[0]
    assert rej["rule"] in ("bare_lf", "bare_cr", "nul") and rej["smuggling"] is True, rej
    assert rej["code"] == 550 and rej["client"].startswith("127.0.0.1:")
    server.wait_log("disconnect", session=rej["session"])
    assert server.maildir_messages("bob") == []  # the smuggled recipient: nothing, ever
    assert server.maildir_messages("alice") == []  # and the carrier message was refused too
    assert not server.logs("queued") and server.queue_files() == []


def test_variant_list_is_complete():
    assert len(VARIANTS) >= 10 and all(v["bytes"] != "\r\n.\r\n" for v in VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_fake_end_of_data_never_ends_the_message(server, variant):
    fake = variant["bytes"].encode("latin1")
    assert bytes.fromhex(variant["hex"]) == fake
    assert_refused_whole(server, smuggle(server, fake))


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_catalogue_impostors(server, name):
    assert_refused_whole(server, smuggle(server, EXTRA[name].encode("latin1")))


def test_dot_space_line_is_content_not_an_end(server):
    # `\r\n. \r\n` has no bare CR/LF: it is an ordinary line, so either one message (smuggled text as content) or a
    # refusal; never a second transaction
    r = smuggle(server, b"\r\n. \r\n")
    code, text = r.reply()
    assert code in (250, 550), text
    assert r.cmd("NOOP")[0] == 250
    assert server.maildir_messages("bob") == []
    if code == 250:
        (msg,) = server.wait_mail("alice")
        assert b"RCPT TO:<bob@localhost>" in msg


@pytest.mark.parametrize("body", [b"a\nb", b"a\rb", b"trailing\r\n\n", b"\rx", b"x\r"])
def test_bare_cr_or_lf_anywhere_rejects(server, body):
    # bad-input 3: no dot at all, still refused at the end of data
    r = server.session()
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: x\r\n\r\n" + body + b"\r\n.\r\n")
    code, text = r.reply()
    assert code == 550 and "5.5.2" in text
    assert r.cmd("NOOP")[0] == 250
    assert server.maildir_messages("alice") == [] and not server.logs("queued")


def test_session_usable_after_smuggling_reject(server):
    r = server.session()
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    r.cmd("DATA")
    r.send(b"x\n.\n\r\n.\r\n")
    assert r.reply()[0] == 550
    assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: clean\r\n\r\nok\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    assert b"Subject: clean" in msg


@pytest.mark.parametrize("first", [b" ", b"\t", b". "])
def test_content_starting_with_white_space_is_refused(server, first):
    # Issue 15 item 7: a first line beginning with SP/HTAB would continue the Received: field we prepend, so text
    # of the sender's choosing would read as part of our own trace header. Refused whole at the real end of data.
    r = server.session(helo="client.example")
    assert r.cmd("MAIL FROM:<someone@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(first + b"by mx.test with ESMTPS; forged\r\nSubject: folded\r\n\r\nhello\r\n.\r\n")
    code, text = r.reply()
    assert code == 550 and text.startswith("550 5.6.0"), (code, text)
    assert r.cmd("NOOP")[0] == 250  # the session goes on
    assert r.cmd("QUIT")[0] == 221
    assert server.wait_log("reject", stage="data")[0]["rule"] == "leading_whitespace"
    assert server.maildir_messages("alice") == [] and not server.logs("queued")
    # the same message without the leading white space is delivered
    c = server.smtp()
    c.sendmail("someone@example.org", ["alice@localhost"], b"X-Ok: by hand\r\nSubject: fine\r\n\r\nhello\r\n")
    c.quit()
    assert b"Subject: fine" in server.wait_maildir("alice")[0]
