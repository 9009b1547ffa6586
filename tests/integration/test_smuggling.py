# tests/integration/test_smuggling.py: SMTP smuggling (bad-input 1-3) with every variant of the shared list.
# SPDX-License-Identifier: MIT
import json

import pytest

from mf import SHARED

VARIANTS = json.loads((SHARED / "conformance" / "smuggling" / "eod-variants.json").read_text())["variants"]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_fake_end_of_data_never_ends_the_message(server, variant):
    fake = variant["bytes"].encode("latin1")
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO attacker.example")
    assert r.cmd("MAIL FROM:<attacker@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    smuggled = (b"MAIL FROM:<ceo@localhost>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n"
                b"From: ceo@localhost\r\nSubject: smuggled\r\n\r\nwire money\r\n")
    r.send(b"Subject: outer\r\n\r\nhello" + fake + smuggled + b"\r\n.\r\n")
    code, text = r.reply()
    # the whole thing is one message: refused at the real end of data, smuggled commands never answered
    assert code == 550 and "5.5.2" in text, (code, text)
    assert r.cmd("NOOP")[0] == 250  # the next reply is ours, not an answer to a smuggled command
    assert r.cmd("QUIT")[0] == 221
    rej = server.wait_log("reject", stage="data")
    assert rej[0]["rule"] in ("bare_lf", "bare_cr", "nul") and rej[0]["smuggling"] is True
    assert server.maildir("bob") == [] and server.maildir("alice") == []
    assert not server.logs("queued")


@pytest.mark.parametrize("body", [b"a\nb", b"a\rb", b"trailing\r\n\n", b"\rx"])
def test_bare_cr_or_lf_anywhere_rejects(server, body):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: x\r\n\r\n" + body + b"\r\n.\r\n")
    code, text = r.reply()
    assert code == 550 and "5.5.2" in text
    assert server.maildir("alice") == []


def test_session_usable_after_smuggling_reject(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    r.cmd("DATA")
    r.send(b"x\n.\n\r\n.\r\n")
    assert r.reply()[0] == 550
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    r.cmd("DATA")
    r.send(b"Subject: clean\r\n\r\nok\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    assert b"Subject: clean" in msg
