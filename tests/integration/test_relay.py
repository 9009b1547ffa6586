# tests/integration/test_relay.py: no open relay (bad-input 22, 23), VRFY/EXPN never confirm (40).
# SPDX-License-Identifier: MIT
import pytest

RELAY_TRICKS = [
    "victim@example.net",
    "victim%example.net@localhost",
    '"victim@example.net"@localhost',
    "@localhost:victim@example.net",
    "example.net!victim@localhost",
    "victim@[8.8.8.8]",
    "victim@example.net.",
    "victim@localhost@example.net",
    "alice@localhost.",
]


@pytest.mark.parametrize("rcpt", RELAY_TRICKS)
def test_relay_trick_refused_on_mx(server, rcpt):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO attacker.example")
    assert r.cmd("MAIL FROM:<spammer@example.org>")[0] == 250
    code, text = r.cmd(f"RCPT TO:<{rcpt}>")
    assert code in (550, 554) and "5.7.1" in text, (rcpt, code, text)
    assert r.cmd("DATA")[0] in (503, 554)  # no valid recipient: nothing can be queued
    assert r.cmd("QUIT")[0] == 221
    server.wait_log("reject", rule="relay_denied")
    assert server.queue_files() == []


def test_relay_refused_on_submission_without_auth_and_loopback_not_trusted(server):
    r = server.raw_client("submission")
    r.reply()
    r.cmd("EHLO x")
    code, text = r.cmd("MAIL FROM:<alice@localhost>")
    assert code == 530 and "5.7.0" in text


def test_trusted_network_may_relay(make_server):
    s = make_server(relay={"trusted_networks": ["127.0.0.1/32"]})
    r = s.raw_client()
    r.reply()
    r.cmd("EHLO app.internal")
    r.cmd("MAIL FROM:<app@localhost>")
    assert r.cmd("RCPT TO:<someone@example.net>")[0] == 250
    # relay tricks stay refused even for a trusted client
    assert r.cmd("RCPT TO:<victim%example.net@localhost>")[0] == 550


def test_vrfy_never_confirms_and_expn_refused(server):
    r = server.raw_client()
    r.reply()
    r.cmd("EHLO x")
    known = r.cmd("VRFY alice")
    unknown = r.cmd("VRFY nosuchuser")
    assert known[0] == unknown[0] == 252
    assert known[1] == unknown[1]  # the same words whether or not the user exists
    code, text = r.cmd("EXPN staff")
    assert code == 502 and "5.5.1" in text
    assert r.cmd("EXPN postmaster")[0] == 502
