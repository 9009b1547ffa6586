# tests/integration/test_relay.py: no open relay (bad-input 22, 23); relaying needs AUTH (or a trusted network).
# SPDX-License-Identifier: MIT
import pytest

from mf import message

RELAY_TRICKS = [
    "victim@example.net",
    "victim%example.net@localhost",
    '"victim@example.net"@localhost',
    "@localhost:victim@example.net",
    "example.net!victim@localhost",
    "victim@[8.8.8.8]",
    "victim@[127.0.0.1]",
    "victim@example.net.",
    "victim@localhost@example.net",
    "alice@localhost.",
]


def test_quoted_address_without_domain_is_a_syntax_error(server):
    # '"victim@example.net"' has no domain at all: refused as bad syntax before any relay decision.
    r = server.session(helo="attacker.example")
    assert r.cmd("MAIL FROM:<spammer@example.org>")[0] == 250
    code, text = r.cmd('RCPT TO:<"victim@example.net">')
    assert code == 501 and text[4:9] == "5.1.3", text
    assert r.cmd("DATA")[0] in (503, 554)
    assert r.cmd("QUIT")[0] == 221
    assert server.queue_files() == []


@pytest.mark.parametrize("rcpt", RELAY_TRICKS)
def test_relay_trick_refused_on_mx(server, rcpt):
    r = server.session(helo="attacker.example")
    assert r.cmd("MAIL FROM:<spammer@example.org>")[0] == 250
    code, text = r.cmd(f"RCPT TO:<{rcpt}>")
    assert code in (550, 554) and text[4:9] == "5.7.1", (rcpt, code, text)
    assert r.cmd("DATA")[0] in (503, 554)  # no valid recipient: nothing can be queued
    assert r.cmd("QUIT")[0] == 221
    rej = server.wait_log("reject", rule="relay_denied")[0]
    assert rej["stage"] == "rcpt" and rej["client"].startswith("127.0.0.1:")
    assert server.queue_files() == [] and not server.logs("queued")


def test_source_route_to_local_user_is_not_relay(server):
    r = server.session()
    r.cmd("MAIL FROM:<a@example.org>")
    assert r.cmd("RCPT TO:<@example.net:alice@localhost>")[0] == 250  # RFC 5321 App. C: the route is ignored
    assert r.cmd("RCPT TO:<@localhost:victim@example.net>")[0] in (550, 554)  # but never routes mail out


def test_relay_refused_on_submission_without_auth(server):
    r = server.session("submission")
    code, text = r.cmd("MAIL FROM:<alice@localhost>")
    assert code == 530 and "5.7.0" in text
    code, text = r.cmd("RCPT TO:<victim@example.net>")
    assert code in (503, 530)


@pytest.mark.parametrize("listener", ["submission", "submissions"])
def test_authenticated_relay_is_queued(server, listener):
    c = server.smtp(listener)
    c.ehlo("x")
    if listener == "submission":
        c.starttls(context=server.tls_context())
        c.ehlo("x")
    c.login("alice@localhost", "alice-pw")
    refused = c.sendmail("alice@localhost", ["friend@example.net", "bob@localhost"],
                         message("out", sender="alice@localhost", to="friend@example.net"))
    assert refused == {}
    c.quit()
    server.wait_mail("bob")
    server.wait_log("deferred", rcpt="friend@example.net")  # stays queued: no outbound route on loopback
    assert len(server.queue_files()) == 1
    assert server.wait_log("queued")[0]["from"] == "alice@localhost"


def test_loopback_is_not_trusted_by_default(server):
    r = server.session()
    r.cmd("MAIL FROM:<app@localhost>")
    code, text = r.cmd("RCPT TO:<someone@example.net>")
    assert code in (550, 554) and "5.7.1" in text


def test_trusted_network_may_relay_but_not_with_tricks(make_server):
    s = make_server(relay={"trusted_networks": ["127.0.0.1/32"]})
    r = s.session(helo="app.internal")
    r.cmd("MAIL FROM:<app@localhost>")
    assert r.cmd("RCPT TO:<someone@example.net>")[0] == 250
    # relay tricks stay refused even for a trusted client
    assert r.cmd("RCPT TO:<victim%example.net@localhost>")[0] in (550, 554)
    # another loopback address is not in the trusted /32
    r2 = s.raw_client(source="127.0.0.2")
    r2.reply()
    r2.cmd("EHLO x")
    r2.cmd("MAIL FROM:<app@localhost>")
    assert r2.cmd("RCPT TO:<someone@example.net>")[0] in (550, 554)
