# tests/integration/test_dialogs.py: runs every tests/dialogs/*.dialog against a fresh server (format: README there).
# SPDX-License-Identifier: MIT
import re
from pathlib import Path

import pytest

DIALOGS = sorted((Path(__file__).resolve().parents[1] / "dialogs").glob("*.dialog"))


def unescape(text):
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|r|n|\\)",
                  lambda m: {b"r": b"\r", b"n": b"\n", b"\\": b"\\"}.get(m.group(1)) or bytes([int(m.group(1)[1:], 16)]),
                  text.encode("latin1"))


def code_matches(pattern, code):
    return any(re.fullmatch(p.replace("x", r"\d"), str(code)) for p in pattern.split("|"))


@pytest.mark.parametrize("path", DIALOGS, ids=[p.stem for p in DIALOGS])
def test_dialog(server, path):
    lines = path.read_text(encoding="latin1").splitlines()
    listener = "mx"
    for l in lines:
        if l.startswith("@ "):
            listener = l[2:].strip()
    r = server.raw_client(listener)
    code, text = r.reply()
    assert code == 220, text
    for n, l in enumerate(lines, 1):
        where = f"{path.name}:{n}: {l[:80]}"
        if l.startswith(">> "):
            r.send(unescape(l[3:]))
        elif l.startswith("> "):
            r.send(unescape(l[2:]) + b"\r\n")
        elif l.startswith("<< closed"):
            assert r.expect_closed(), where
        elif l.startswith("< "):
            want = l[2:].split(None, 1)
            code, text = r.reply()
            assert code is not None, f"{where}: connection closed"
            assert code_matches(want[0], code), f"{where}: got {text!r}"
            if len(want) > 1:
                assert text[4:].startswith(want[1]), f"{where}: got {text!r}"
    r.close()
    for l in lines:
        if l.startswith("! rule "):
            server.wait_log("reject", rule=l[7:].strip())
        elif l.startswith("! queued "):
            assert len(server.logs("queued")) == int(l[9:])
