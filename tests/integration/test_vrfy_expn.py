# tests/integration/test_vrfy_expn.py: VRFY never confirms a mailbox, EXPN is refused (bad-input 40, RFC 5321 7.3).
# SPDX-License-Identifier: MIT
import pytest


@pytest.mark.parametrize("listener", ["mx", "submission"])
def test_vrfy_same_answer_for_known_and_unknown(server, listener):
    r = server.session(listener)
    replies = [r.cmd(f"VRFY {who}") for who in ("alice", "alice@localhost", "<alice@localhost>", "nosuchuser",
                                                   "nosuchuser@localhost", "Alice Liddell <alice@localhost>")]
    for code, text in replies:
        assert code == 252 and text.startswith("252 2.1.5"), text
    assert len({text for _, text in replies}) == 1  # not one word differs between a user and a non-user
    assert r.cmd("NOOP")[0] == 250


def test_vrfy_without_argument(server):
    r = server.session()
    code, text = r.cmd("VRFY")
    assert code in (501, 252), text


@pytest.mark.parametrize("arg", ["staff", "postmaster", "alice", "alice@localhost"])
def test_expn_refused(server, arg):
    r = server.session()
    code, text = r.cmd(f"EXPN {arg}")
    assert code == 502 and text.startswith("502 5.5.1"), text
    assert r.cmd("NOOP")[0] == 250  # the session goes on


def test_vrfy_and_expn_not_advertised(server):
    r = server.raw_client()
    r.reply()
    code, text = r.cmd("EHLO x")
    assert code == 250
    assert "VRFY" not in text and "EXPN" not in text
