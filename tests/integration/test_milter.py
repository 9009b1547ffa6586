# tests/integration/test_milter.py: the milter client ([[filter.milter]], issue 18) against a real libmilter
# filter (Debian python3-milter, tests/integration/milter_script.py) and against broken milters (one that hangs,
# one that closes, one that sends garbage): every reply type and modification, and the default action when the
# milter fails, with nothing lost and no session left hanging.
# SPDX-License-Identifier: MIT
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from mf import SLOW, free_port, message

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

try:
    import Milter  # noqa: F401

    HAVE_MILTER = True
except ImportError:
    HAVE_MILTER = False

needs_pymilter = pytest.mark.skipif(not HAVE_MILTER, reason="python3-milter is not installed")


def wait_port(port, timeout=10):
    end = time.time() + timeout * SLOW
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class ScriptMilter:
    """milter_script.py in one MODE on a fresh loopback port; `seen()` is what it recorded per message."""

    def __init__(self, tmp_path, mode):
        self.port = free_port()
        self.record = tmp_path / f"milter-{mode}-{self.port}.jsonl"
        self.proc = subprocess.Popen([PY, os.path.join(HERE, "milter_script.py"), str(self.port), mode,
                                      str(self.record)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port)

    def seen(self):
        if not self.record.exists():
            return []
        return [json.loads(l) for l in self.record.read_text().splitlines() if l.strip()]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class BrokenMilter:
    """A loopback server that misbehaves: 'hang' (accepts, never answers), 'close' (closes at once), 'garbage'
    (answers the negotiation with bytes that are no milter packet), 'bad_reply' (negotiates, then sends an
    invalid custom reply at end of message)."""

    def __init__(self, how):
        self.how = how
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _packet(self, c):
        head = b""
        while len(head) < 4:
            d = c.recv(4 - len(head))
            if not d:
                return None
            head += d
        n = int.from_bytes(head, "big")
        data = b""
        while len(data) < n:
            d = c.recv(n - len(data))
            if not d:
                return None
            data += d
        return data

    def _one(self, c):
        try:
            if self.how == "close":
                c.close()
            elif self.how == "hang":
                while c.recv(65536):
                    pass
            elif self.how == "garbage":
                self._packet(c)
                c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                while c.recv(65536):
                    pass
            elif self.how == "bad_reply":
                self._packet(c)  # OPTNEG
                # v6, add-header only, every step but end of message skipped (no reply awaited for them).
                c.sendall(b"\0\0\0\x0dO" + (6).to_bytes(4, "big") + (1).to_bytes(4, "big") +
                          (0x3FF).to_bytes(4, "big"))
                while True:
                    p = self._packet(c)
                    if p is None:
                        break
                    if p[:1] == b"E":
                        text = b"250 2.0.0 a milter cannot accept with a reply code\0"
                        c.sendall(len(text + b"y").to_bytes(4, "big") + b"y" + text)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def script_milter(tmp_path):
    made = []

    def make(mode):
        m = ScriptMilter(tmp_path, mode)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


@pytest.fixture
def broken_milter():
    made = []

    def make(how):
        m = BrokenMilter(how)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


def milter_cfg(port, name="test", **kw):
    cfg = {"name": name, "address": f"inet:127.0.0.1:{port}"}
    cfg.update(kw)
    return cfg


def send(server, content, rcpts=("alice@localhost",), sender="someone@example.org", timeout=30):
    """One transaction on a raw session; returns the (code, text) of the reply to the end of DATA."""
    r = server.session()
    try:
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        for rc in rcpts:
            assert r.cmd(f"RCPT TO:<{rc}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        data = content.encode() if isinstance(content, str) else content
        r.send(data + b".\r\n")
        return r.reply(timeout)
    finally:
        r.close()


def header_names(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    return [l.split(":", 1)[0] for l in head.split("\r\n") if l and l[0] not in " \t"]


@needs_pymilter
def test_accept_milter_sees_exactly_the_spooled_message(make_server, script_milter):
    m = script_milter("accept")
    s = make_server(milters=[milter_cfg(m.port)])
    body = "line one\r\n..leading dot\r\n" + "x" * 200 + "\r\n"
    big = "".join(f"{i:06d} " + "y" * 90 + "\r\n" for i in range(1500))  # ~150 KiB: several body chunks
    content = message(subject="seen", body=body + big, extra="X-Remove: me\r\n")
    code, text = send(s, content)
    assert code == 250, text
    delivered = s.wait_maildir("alice")[0]
    assert b"X-Milter: seen\r\n" in delivered
    seen = m.seen()
    assert len(seen) == 1
    rec = seen[0]
    assert rec["helo"] == "client.example"
    assert rec["from"] == "<someone@example.org>"
    assert rec["rcpts"] == ["<alice@localhost>"]
    assert rec["j"] == "mx.test" and rec["daemon_name"] == "mailfort"
    assert rec["mail_addr"] == "someone@example.org"
    assert rec["queue_id"]
    # The milter saw the header fields and the body exactly as spooled (dot-unstuffed, CRLF).
    head, _, spooled_body = content.partition("\r\n\r\n")
    assert [h[0] for h in rec["headers"]] == [l.split(":")[0] for l in head.split("\r\n")]
    assert rec["body"] == spooled_body.replace("\r\n..", "\r\n.")
    assert delivered.endswith(rec["body"].encode())
    ev = s.wait_log("milter", milter="test")[0]
    assert ev["verdict"] == "accept" and ev["modifications"] == ["addheader"]


@needs_pymilter
@pytest.mark.parametrize("mode,code,expect", [
    ("reject", 550, "Refused by the test milter"),
    ("reject_plain", 550, "5.7.1 Command rejected"),
    ("tempfail", 451, "4.7.1 Service unavailable"),
    ("custom_temp", 452, "4.3.1 Try again later"),
    ("rcpt_reject", 550, "5.1.1 No such user here"),
])
def test_refusals_are_the_reply_to_data(make_server, script_milter, mode, code, expect):
    m = script_milter(mode)
    s = make_server(milters=[milter_cfg(m.port)])
    got, text = send(s, message(subject=mode))
    assert got == code, text
    assert expect in text
    if mode == "reject":
        assert "100% sure" in text  # "%%" un-escaped
    time.sleep(0.3)
    assert s.maildir("alice") == []
    assert s.queue_files() == []
    ev = s.wait_log("reject", rule="milter")[0]
    assert ev["code"] == code


@needs_pymilter
def test_discard_answers_250_and_delivers_nothing(make_server, script_milter):
    m = script_milter("discard")
    s = make_server(milters=[milter_cfg(m.port)])
    code, text = send(s, message(subject="discard"))
    assert code == 250, text
    s.wait_log("milter", verdict="discard")
    time.sleep(0.3)
    assert s.maildir("alice") == []


@needs_pymilter
def test_header_modifications(make_server, script_milter):
    m = script_milter("headers")
    s = make_server(milters=[milter_cfg(m.port)])
    code, text = send(s, message(subject="original", extra="X-Remove: me\r\n"))
    assert code == 250, text
    msg = s.wait_maildir("alice")[0]
    names = header_names(msg)
    assert names[0] == "Received"  # ours stays on top
    assert names[1] == "X-Top"
    assert b"Subject: changed by milter\r\n" in msg
    assert b"Subject: original" not in msg
    assert "X-Remove" not in names
    assert b"X-Added: appended\r\n" in msg
    assert b"X-Folded: line one\r\n\tline two\r\n" in msg  # LF folds made CRLF
    assert msg.endswith(b"\r\n\r\nhello\r\n")


@needs_pymilter
def test_envelope_modifications(make_server, script_milter):
    m = script_milter("envelope")
    s = make_server(milters=[milter_cfg(m.port)])
    code, text = send(s, message(subject="envelope"))
    assert code == 250, text
    msg = s.wait_maildir("bob")[0]
    assert b"Subject: envelope" in msg
    time.sleep(0.3)
    assert s.maildir("alice") == []
    q = s.wait_log("queued")[0]
    assert q["from"] == "new-sender@example.net" and q["rcpts"] == 1


@needs_pymilter
@pytest.mark.parametrize("big", [False, True])
def test_body_replacement(make_server, script_milter, big):
    m = script_milter("replbody")
    s = make_server(milters=[milter_cfg(m.port)])
    body = ("z" * 98 + "\r\n") * (2000 if big else 1)  # big: the original body is on disk, not in memory
    code, text = send(s, message(subject="replbody", body=body))
    assert code == 250, text
    msg = s.wait_maildir("alice")[0]
    assert msg.endswith(b"Subject: replbody\r\nMessage-ID: <replbody@test>\r\n\r\n"
                        b"Replaced line one\r\nReplaced line two\r\n")
    assert not any(p.name.endswith(".milter1") for p in (s.data / "queue" / "tmp").iterdir())


@needs_pymilter
def test_quarantine_holds_until_release(make_server, script_milter):
    m = script_milter("quarantine")
    s = make_server(milters=[milter_cfg(m.port)])
    code, text = send(s, message(subject="quarantine"))
    assert code == 250, text
    ev = s.wait_log("quarantined")[0]
    assert ev["reason"] == "suspicious"
    assert s.wait_log("milter", verdict="accept")[0]["quarantine"] == "suspicious"
    qid = ev["queue_id"]
    time.sleep(1.5)
    assert s.maildir("alice") == []  # held in the queue
    assert "queue:" + qid in s.cli("queue", "held").stdout
    s.cli("queue", "release", qid)
    assert b"Subject: quarantine" in s.wait_maildir("alice", timeout=15)[0]


@needs_pymilter
def test_progress_keeps_waiting(make_server, script_milter):
    m = script_milter("progress")
    # Each progress reply restarts the 1 s content timeout; the milter takes ~2 s in all.
    s = make_server(milters=[milter_cfg(m.port, content_timeout_s=1)])
    code, text = send(s, message(subject="progress"))
    assert code == 250, text
    assert b"X-Progress: done" in s.wait_maildir("alice")[0]


@needs_pymilter
def test_noreply_milter(make_server, script_milter):
    m = script_milter("noreply")
    s = make_server(milters=[milter_cfg(m.port)])
    code, text = send(s, message(subject="noreply"))
    assert code == 250, text
    assert b"X-Milter: seen" in s.wait_maildir("alice")[0]
    assert m.seen()[0]["rcpts"] == ["<alice@localhost>"]


@needs_pymilter
def test_two_milters_in_order(make_server, script_milter):
    a = script_milter("headers")
    b = script_milter("accept")
    s = make_server(milters=[milter_cfg(a.port, name="first"), milter_cfg(b.port, name="second")])
    code, text = send(s, message(subject="chain", extra="X-Remove: me\r\n"))
    assert code == 250, text
    msg = s.wait_maildir("alice")[0]
    assert b"X-Top: first" in msg and b"X-Milter: seen" in msg
    # The second milter saw the first one's edits.
    names = [h[0] for h in b.seen()[0]["headers"]]
    assert names[0] == "X-Top" and "X-Remove" not in names


@needs_pymilter
def test_listener_selection(make_server, script_milter):
    m = script_milter("reject")
    s = make_server(milters=[milter_cfg(m.port, listeners=["submission"])])
    code, text = send(s, message(subject="not filtered on mx"))
    assert code == 250, text
    s.wait_maildir("alice")


@pytest.mark.parametrize("how", ["hang", "close", "garbage", "bad_reply", "down"])
def test_failing_milter_gets_the_default_action(make_server, broken_milter, how):
    if how == "down":
        port = free_port()  # nothing listens
    else:
        port = broken_milter(how).port
    s = make_server(milters=[milter_cfg(port, command_timeout_s=1, content_timeout_s=1, connect_timeout_s=1)])
    start = time.time()
    code, text = send(s, message(subject=how), timeout=15)
    assert code == 451, text
    assert "4.7.1" in text
    assert time.time() - start < 8 * SLOW  # bounded by the 1 s timeouts, not the 30/300 s defaults
    ev = s.wait_log("milter_error", milter="test")[0]
    assert ev["action"] == "tempfail" and ev["reason"]
    time.sleep(0.2)
    assert s.queue_files() == [] and s.maildir("alice") == []
    # The session is usable afterwards and the server still serves.
    r = s.session()
    assert r.cmd("NOOP")[0] == 250
    r.close()


@pytest.mark.parametrize("action,code", [("accept", 250), ("reject", 550)])
def test_default_action_configurable(make_server, broken_milter, action, code):
    m = broken_milter("garbage")
    s = make_server(milters=[milter_cfg(m.port, default_action=action, command_timeout_s=2)])
    got, text = send(s, message(subject="default-" + action))
    assert got == code, text
    if code == 250:
        s.wait_maildir("alice")


def test_config_check_refuses_bad_milters(make_server, tmp_path):
    s = make_server(start=False, users=(), milters=[{"name": "x", "address": "tcp:127.0.0.1:1", "default_action": "maybe",
                                           "listeners": ["imap"]}])
    r = s.cli("config", "check", str(s.config), check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "inet:host:port" in out and "default_action" in out and "imap" in out


@needs_pymilter
def test_milter_does_not_weaken_smuggling_or_size_rules(make_server, script_milter):
    m = script_milter("accept")
    s = make_server(milters=[milter_cfg(m.port)], limits={"message_size": 20000})
    # A fake end of data behind a bare LF: refused whole at the real end, the milter never asked.
    smuggled = message(subject="smuggle") + "\n.\r\nMAIL FROM:<evil@example.org>\r\n"
    code, text = send(s, smuggled)
    assert code == 550 and "5.5.2" in text, text
    # Over the size limit: 552, the milter never asked.
    code, text = send(s, message(subject="big", body="x" * 998 + "\r\n" + ("y" * 998 + "\r\n") * 30))
    assert code == 552, text
    assert m.seen() == []
    # A message that passes is the one the milter saw, byte for byte after our Received: and the milter's header.
    code, text = send(s, message(subject="ok", body="a\r\n..b"))
    assert code == 250, text
    delivered = s.wait_maildir("alice")[0]
    rec = m.seen()[0]
    assert rec["body"] == "a\r\n.b\r\n"
    assert delivered.endswith(b"\r\n\r\na\r\n.b\r\n")


@needs_pymilter
def test_authenticated_submissions_are_scanned(make_server, script_milter):
    import smtplib

    m = script_milter("reject")
    s = make_server(milters=[milter_cfg(m.port)])
    with s.smtp("submissions") as c:
        c.ehlo("laptop")
        c.user, c.password = "alice@localhost", "alice-pw"
        c.auth("LOGIN", c.auth_login)  # not PLAIN, so that {auth_type} is seen to name the mechanism used
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("alice@localhost", ["bob@localhost"], message("outbound", sender="alice@localhost"))
        assert e.value.smtp_code == 550
    rec = m.seen()[0]
    assert rec["auth_authen"] == "alice@localhost"  # {auth_authen}: rspamd's outbound rules key on it
    assert rec["auth_type"] == "LOGIN"
    assert s.wait_log("milter", listener="submissions")[0]["verdict"] == "reject"


@needs_pymilter
def test_verdicts_and_failures_are_counted(make_server, script_milter, broken_milter):
    import urllib.request

    good = script_milter("accept")
    bad = broken_milter("close")
    s = make_server(milters=[milter_cfg(good.port, name="good"),
                             milter_cfg(bad.port, name="bad", default_action="accept")])
    code, text = send(s, message(subject="counted"))
    assert code == 250, text  # the broken milter's default action is accept
    s.wait_log("milter_error", milter="bad")
    body = urllib.request.urlopen(f"http://127.0.0.1:{s.ports['admin']}/metrics", timeout=10).read().decode()
    assert 'mailfort_milter_verdicts_total{milter="good",verdict="accept"} 1' in body
    assert 'mailfort_milter_failures_total{milter="bad",stage="negotiate"} 1' in body
    assert 'mailfort_milter_duration_seconds_count{milter="good"} 1' in body
