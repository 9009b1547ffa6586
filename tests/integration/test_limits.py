# tests/integration/test_limits.py: line, size, recipient, error and time limits (bad-input 26-31, 36-39, 43-47).
# SPDX-License-Identifier: MIT
import socket
import time

import pytest


def session(server, listener="mx"):
    r = server.raw_client(listener)
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.example")[0] == 250
    return r


def start_data(r, rcpt="alice@localhost"):
    assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert r.cmd("DATA")[0] == 354


def test_command_line_too_long_session_continues(server):
    r = session(server)
    code, text = r.cmd("NOOP " + "A" * 600)
    assert code == 500 and "5.5.2" in text
    code, text = r.cmd("NOOP " + "A" * 4000)
    assert code == 500
    assert r.cmd("NOOP")[0] == 250


def test_line_without_crlf_flood(server):
    r = session(server)
    r.send(b"A" * 100000)
    assert r.reply()[0] == 500
    code, text = r.reply()
    assert code == 421
    assert r.expect_closed()


def test_data_line_too_long_not_queued(server):
    r = session(server)
    start_data(r)
    r.send(b"Subject: long\r\n\r\n" + b"x" * 20000 + b"\r\n.\r\n")
    code, text = r.reply()
    assert code in (500, 554) and ("5.5.0" in text or "5.6.0" in text)
    assert r.cmd("NOOP")[0] == 250
    assert server.maildir("alice") == [] and not server.logs("queued")


def test_header_section_too_large(make_server):
    s = make_server(limits={"header_section": 4096})
    r = session(s)
    start_data(r)
    r.send(b"X-a: b\r\n" * 2000 + b"\r\nbody\r\n.\r\n")
    code, text = r.reply()
    assert code == 552 and "5.3.4" in text


def test_size_declared_and_actual(make_server):
    s = make_server(limits={"message_size": 10000})
    r = session(s)
    assert "SIZE 10000" in r.cmd("EHLO x")[1]
    code, text = r.cmd("MAIL FROM:<a@example.org> SIZE=999999999999")
    assert code == 552 and "5.3.4" in text
    for bad in ("abc", "-1", "9" * 21, ""):
        code, text = r.cmd(f"MAIL FROM:<a@example.org> SIZE={bad}")
        assert code == 501 and "5.5.4" in text, bad
    start_data(r)
    r.send(b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 20 + b".\r\n")
    code, text = r.reply()
    assert code == 552 and "5.3.4" in text
    assert list((s.data / "queue" / "tmp").iterdir()) == []
    assert s.queue_files() == []


def test_address_limits(server):
    r = session(server)
    code, text = r.cmd("MAIL FROM:<" + "a" * 65 + "@example.org>")
    assert code == 501 and "5.1.7" in text
    assert r.cmd("MAIL FROM:<a@example.org>")[0] == 250
    code, text = r.cmd("RCPT TO:<" + "a" * 65 + "@localhost>")
    assert code == 501 and "5.1.3" in text
    code, text = r.cmd("RCPT TO:<a@" + "d" * 60 + ("." + "d" * 60) * 4 + ">")
    assert code == 501 and "5.1.3" in text


def test_recipient_limit_keeps_earlier(make_server):
    s = make_server(limits={"recipients": 3, "hard_errors": 1000}, relay={"trusted_networks": ["127.0.0.0/8"]})
    r = session(s)
    r.cmd("MAIL FROM:<a@example.org>")
    codes = [r.cmd(f"RCPT TO:<r{i}@example.net>")[0] for i in range(5)]
    assert codes == [250, 250, 250, 452, 452]
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: many\r\n\r\nx\r\n.\r\n")
    assert r.reply()[0] == 250


def test_five_thousand_recipients_bounded(make_server):
    r = session(make_server(relay={"trusted_networks": ["127.0.0.0/8"]}))
    r.cmd("MAIL FROM:<a@example.org>")
    r.send("".join(f"RCPT TO:<r{i}@example.net>\r\n" for i in range(5000)))
    codes = []
    while True:
        code, _ = r.reply(10)
        if code is None:
            break
        codes.append(code)
        if len(codes) == 5000:
            break
    # the first 100 kept, then 452 4.5.3 for each extra, then 421 at the hard error limit (20)
    assert codes[:100] == [250] * 100
    assert codes[100:119] == [452] * 19 and codes[-1] == 421, codes[95:]
    assert r.expect_closed()


def test_unknown_verbs_hit_error_limit(make_server):
    s = make_server(limits={"soft_errors": 3, "hard_errors": 6, "error_delay_ms": 10})
    r = session(s)
    codes = [r.cmd("XYZZY")[0] for _ in range(6)]
    assert codes[:5] == [500] * 5 and codes[5] == 500
    code, text = r.reply()
    assert code == 421 and "4.7.0" in text
    assert r.expect_closed()
    s.wait_log("reject", rule="too_many_errors")


def test_junk_command_limit(make_server):
    s = make_server(limits={"junk_commands": 20})
    r = session(s)
    r.send("NOOP\r\n" * 40)
    codes = []
    while True:
        code, _ = r.reply(5)
        if code is None:
            break
        codes.append(code)
    assert codes[:20] == [250] * 20 and codes[-1] == 421 and len(codes) == 21


def test_dictionary_attack(make_server):
    s = make_server(limits={"unknown_recipients": 10, "hard_errors": 1000})
    r = session(s)
    r.cmd("MAIL FROM:<a@example.org>")
    codes = [r.cmd(f"RCPT TO:<user{i}@localhost>")[0] for i in range(10)]
    assert codes == [550] * 10
    code, text = r.reply()
    assert code == 421
    s.wait_log("reject", rule="too_many_unknown_recipients")


def test_idle_timeout(make_server):
    s = make_server(limits={"command_timeout_s": 2})
    r = session(s)
    t0 = time.time()
    code, text = r.reply(timeout=10)
    assert code == 421 and "4.4.2" in text
    assert 1.5 < time.time() - t0 < 8
    assert r.expect_closed()


def test_timeout_mid_data_leaves_nothing(make_server):
    s = make_server(limits={"command_timeout_s": 2})
    r = session(s)
    start_data(r)
    r.send("Subject: half\r\n\r\nhalf a message")
    code, text = r.reply(timeout=10)
    assert code == 421 and "4.4.2" in text
    assert s.queue_files() == [] and list((s.data / "queue" / "tmp").iterdir()) == []


def test_slowloris_command_is_not_extended_by_bytes(make_server):
    s = make_server(limits={"command_timeout_s": 2})
    r = session(s)
    t0 = time.time()
    reply = (None, "")
    for ch in "NOOP NOOP NOOP NOOP":
        try:
            r.send(ch)
        except OSError:
            break
        reply = r.reply(timeout=0.5)
        if reply[0] is not None:
            break
    if reply[0] is None:
        reply = r.reply(timeout=5)
    assert reply[0] == 421 and time.time() - t0 < 6


def test_slowloris_data_min_rate(make_server):
    s = make_server(limits={"command_timeout_s": 2, "min_data_rate": 1000})
    r = session(s)
    start_data(r)
    t0 = time.time()
    reply = (None, "")
    for _ in range(40):
        try:
            r.send("x")
        except OSError:
            break
        reply = r.reply(timeout=0.3)
        if reply[0] is not None:
            break
    assert reply[0] == 421 and "4.4.2" in reply[1]
    assert time.time() - t0 < 8


def test_connection_caps(make_server):
    s = make_server(limits={"max_connections_per_ip": 5})
    held = [s.raw_client() for _ in range(5)]
    for h in held:
        assert h.reply()[0] == 220
    extra = s.raw_client()
    code, text = extra.reply()
    assert code == 421 and "4.7.0" in text
    assert extra.expect_closed()
    # another source address is still served
    other = socket.create_connection(("127.0.0.1", s.ports["mx"]), source_address=("127.0.0.2", 0), timeout=5)
    assert other.recv(100).startswith(b"220")
    other.close()
    held[0].close()
    time.sleep(0.3)
    again = s.raw_client()
    assert again.reply()[0] == 220
    s.wait_log("reject", rule="too_many_connections_per_ip")


def test_too_many_hops(server):
    r = session(server)
    start_data(r)
    r.send(b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n" * 100 + b"Subject: loop\r\n\r\nx\r\n.\r\n")
    code, text = r.reply()
    assert code == 554 and "5.4.6" in text


def test_client_disconnect_mid_data_queues_nothing(server):
    r = session(server)
    start_data(r)
    r.send("Subject: cut\r\n\r\npartial\r\nQUIT\r\n")  # QUIT inside DATA is content (bad-input 47)
    r.close()
    server.wait_log("reject", rule="incomplete_data")
    assert server.queue_files() == [] and not server.logs("queued")
    assert list((server.data / "queue" / "tmp").iterdir()) == []


def test_messages_per_connection_cap(make_server):
    # bad-input 46: more MAIL transactions than the per-connection cap -> 421 and close
    s = make_server(limits={"messages_per_connection": 2})
    r = session(s)
    for i in range(2):
        start_data(r)
        r.send(f"Subject: {i}\r\n\r\nx\r\n.\r\n")
        assert r.reply()[0] == 250
    code, text = r.cmd("MAIL FROM:<a@example.org>")
    assert code == 421 and "4.7.0" in text
    assert r.expect_closed()
    s.wait_log("reject", rule="messages_per_connection")


def test_total_connection_cap(make_server):
    s = make_server(limits={"max_connections": 3, "max_connections_per_ip": 100})
    held = [s.raw_client(source=f"127.0.0.{30 + i}") for i in range(3)]
    for h in held:
        assert h.reply()[0] == 220
    extra = s.raw_client(source="127.0.0.40")
    assert extra.reply()[0] == 421
    s.wait_log("reject", rule="too_many_connections")
