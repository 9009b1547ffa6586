# tests/integration/test_dkim_hostile_bodies.py: issue 14 over the wire. The message_fuzzer reproducer of the
# stack overflow in DKIM body canonicalisation is sent to the MX port as it is, and bodies built to make a
# run of plain bytes end exactly at the canonicaliser's 4 KiB buffer end (the overflow's trigger, at every
# alignment a line can give) arrive DKIM-signed by dkimpy. The server answers each, stays up, verifies the
# signatures (a wrong canonical body would fail them), and under `make asan` prints no sanitizer report
# (the make_server fixture fails the test on one).
# SPDX-License-Identifier: MIT
import smtplib
from pathlib import Path

import dkim
import pytest

import dnsserver
from test_inbound_auth import ar_of, auth_server, msg, send, zones  # noqa: F401 (pytest fixtures)

pytestmark = pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")

REPRO = Path(__file__).resolve().parents[2] / "fuzz/regressions/message_fuzzer/issue14-exact-fill-crash"


def exact_fill_body():
    # 40 lines of 100 bytes (4080 canonical bytes with their CRLFs), then a line whose first byte takes the
    # buffer to 4081 and whose 15-byte run takes it to exactly 4096; then lines of every length 2..64 so a
    # run ends on the buffer's end wherever the first 4 KiB window starts.
    lines = [b"x" * 100] * 40 + [b"b" * 16]
    lines += [bytes([0x61 + n % 26]) * n for _ in range(8) for n in range(2, 65)]
    return b"\r\n".join(lines) + b"\r\n"


def test_fuzzer_reproducer_over_smtp_is_refused_and_server_stays_up(auth_server):
    data = REPRO.read_bytes()[1:]  # byte 0 is the fuzzer's chunking parameter
    with auth_server.smtp("mx") as c:
        c.ehlo("client.sender.test")
        c.mail("a@sender.test")
        c.rcpt("alice@localhost")
        code, text = c.data(data)
        # Its lines end in bare CR: refused whole at the real end of data (anti-smuggling), never delivered.
        assert code == 550 and b"5.5.2" in text, (code, text)
        assert c.noop()[0] == 250
    assert auth_server.logs("queued") == []


@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple")])
def test_bodies_filling_the_canonicalisation_buffer_exactly_verify(auth_server, zones, canon):
    body = exact_fill_body()
    m = msg("Sender <a@sender.test>", "fill-" + canon[1].decode()).replace(b"\r\nhello\r\n", b"\r\n" + body)
    signed = dkim.sign(m, b"sel", b"sender.test", zones["key"].read_bytes(), canonicalize=canon,
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    send(auth_server, "a@sender.test", signed + m)
    got = auth_server.wait_maildir("alice")[0]
    assert got.endswith(body)
    ar = ar_of(got)
    assert len(ar) == 1 and "dkim=pass" in ar[0] and "dmarc=pass" in ar[0], ar
    with auth_server.smtp("mx") as c:  # still serving
        assert c.noop()[0] == 250
