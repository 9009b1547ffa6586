# tests/integration/mf.py: start the real `mailfort serve` on loopback in a temp dir, talk to it, read its logs.
# SPDX-License-Identifier: MIT
import json
import re
import os
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

BIN = os.environ.get("MAILFORT_BIN", str(Path(__file__).resolve().parents[2] / "build" / "mailfort"))
SANITIZED = os.environ.get("MAILFORT_SANITIZED") == "1"
CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"  # public test vectors, copied into the repository with their licences
SLOW = 3 if SANITIZED else 1
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                     "runtime error:")
PKI_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen-test-pki.sh"


# Ports for servers under test come from a range below the kernel's ephemeral range (32768-60999 on Debian), one
# slice per pytest-xdist worker: a port handed to one test can then never be taken meanwhile by another worker's
# server, nor by a client socket's ephemeral port, between the check here and the server's bind.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_SLICE = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
_PORT_LO = 10000 + (_SLICE % 9) * 2500
_next_port = [_PORT_LO + (os.getpid() % 500)]
_port_lock = threading.Lock()


def _port_free(port):
    """Free for TCP and UDP on 127.0.0.1 (nsd binds both); a port in TIME_WAIT counts as taken."""
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t.bind(("127.0.0.1", port))
        u.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        t.close()
        u.close()


def free_ports(n):
    """n distinct free ports from this worker's slice, handed out in turn (wrapping within the slice)."""
    out = []
    with _port_lock:
        for _ in range(2500):
            port = _next_port[0]
            _next_port[0] = _PORT_LO + (port + 1 - _PORT_LO) % 2500
            if _port_free(port):
                out.append(port)
                if len(out) == n:
                    return out
    raise RuntimeError("no free port in this worker's range")


def free_port():
    return free_ports(1)[0]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


class Server:
    """One mailfort process with its own data dir and ports."""

    # Abuse-resistance defaults are relaxed for the suite (every test talks from 127.0.0.1 and many
    # misbehave on purpose); test_abuse.py turns them back on with their real values.
    RELAXED = {
        "greeting": {"delay_ms": 0},
        "ratelimit": {"connections_per_minute_per_ip": 0, "messages_per_hour_per_ip": 0,
                      "recipients_per_hour_per_ip": 0, "auth_per_minute_per_ip": 0},
        "ban": {"enabled": False},
    }

    # Tests never send DNS queries off the machine (network rule): unless a test passes its own [dns] (a test
    # nsd on loopback), lookups go to a closed loopback port and sender authentication is off.
    HERMETIC = {
        "dns": {"servers": ["127.0.0.1:9"], "root_anchor": ""},
        "auth": {"spf": False, "dkim": False, "dmarc": False},
        "monitor": {"blocklist_zones": []},
        "imap": {"enabled": False},  # Dovecot only where a test asks for it (test_imap.py)
        "mta_sts": {"listen": ""},  # the MTA-STS HTTPS listener only where a test asks for it (test_mta_sts_hosting.py)
    }

    def __init__(self, root, limits=None, tls=None, relay=None, top=None, listeners=None, sections=None,
                 relaxed=True, cafile=None, serve_args=(), milters=()):
        self.root = Path(root)
        self.serve_args = list(serve_args)  # extra `mailfort serve` options, e.g. --allow-insecure
        self.cafile = cafile  # None: trust the self-signed certificate the server generates in DATA/tls/
        self.data = self.root / "data"
        self.ports = dict(zip(("mx", "submission", "submissions", "admin"), free_ports(4)))
        sections_extra = sections
        sections = {"listeners": {k: f"127.0.0.1:{p}" for k, p in self.ports.items()}}
        if listeners:
            sections["listeners"].update(listeners)
        sections["limits"] = {"error_delay_ms": 50}
        sections["limits"].update(limits or {})
        if tls:
            sections["tls"] = tls
        if relay:
            sections["relay"] = relay
        extra = {k: dict(v) for k, v in self.HERMETIC.items()}
        for k, v in (self.RELAXED.items() if relaxed else []):
            extra.setdefault(k, {}).update(v)
        for k, v in (sections_extra or {}).items():
            extra.setdefault(k, {}).update(v)
        sections.update(extra)
        top = {"hostname": "mx.test", "domains": ["localhost"], "data_dir": str(self.data), **(top or {})}
        lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
        for name, kv in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in kv.items()]
        for m in milters:  # [[filter.milter]] tables (test_milter.py)
            lines.append("[[filter.milter]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in m.items()]
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "mailfort.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc = None
        self.lines = []
        self.raw = []
        self._lock = threading.Lock()
        self.wrap = []  # a command prefix for every mailfort process (test_imap.py: setpriv to an unprivileged user)

    # ---- process ---------------------------------------------------------------------------
    def cli(self, *args, input=None, check=True):
        r = subprocess.run([*self.wrap, BIN, *args, "--config", str(self.config)], input=input, capture_output=True,
                           text=True, timeout=60 * SLOW)
        if check and r.returncode != 0:
            raise AssertionError(f"mailfort {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def add_user(self, address, password):
        """`user add --hash-stdin` with the argon2id hash mailfort made of this password once per test process:
        argon2id costs about 0.15 s of CPU and 64 MiB per hash, which at two users per server was about half the
        suite's CPU. test_cli.py covers `user add --password-stdin` itself."""
        return self.cli("user", "add", address, "--hash-stdin", input=password_hash(password) + "\n")

    def start(self, timeout=20):
        self.lines, self.raw = [], []
        self.proc = subprocess.Popen([*self.wrap, BIN, "serve", "--config", str(self.config), *self.serve_args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        self.wait_log("ready", timeout=timeout * SLOW)
        return self

    def _reader(self, proc):
        for line in proc.stdout:
            with self._lock:
                self.raw.append(line)
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    pass

    def stop(self, sig=signal.SIGTERM):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        time.sleep(0.05)
        rc = self.proc.returncode
        self.proc = None
        self.check_output()
        if sig == signal.SIGTERM:
            text = "".join(self.raw)
            assert rc == 0, f"mailfort exited with {rc} (negative: killed by that signal): {text[-3000:]}"

    def check_output(self):
        """Fail on any sanitizer report, whatever the exit code (ASan may be told not to abort)."""
        text = "".join(self.raw)
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report ({marker}): {text[-5000:]}"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        self.check_output()

    # ---- logs ------------------------------------------------------------------------------
    def logs(self, event=None, **fields):
        with self._lock:
            out = list(self.lines)
        return [l for l in out if (event is None or l.get("event") == event)
                and all(l.get(k) == v for k, v in fields.items())]

    def wait_log(self, event, timeout=10, **fields):
        end = time.time() + timeout * SLOW
        while time.time() < end:
            found = self.logs(event, **fields)
            if found:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("mailfort exited: " + "".join(self.raw)[-3000:])
            time.sleep(0.02)
        raise AssertionError(f"no log event {event} {fields}; last lines: {''.join(self.raw[-20:])}")

    def wait_count(self, event, n, timeout=10, **fields):
        end = time.time() + timeout * SLOW
        while time.time() < end and len(self.logs(event, **fields)) < n:
            time.sleep(0.02)
        return self.logs(event, **fields)

    # ---- mail ------------------------------------------------------------------------------
    def maildir_messages(self, user, domain="localhost"):
        """Every message delivered to user@domain (files in new/), oldest name first."""
        return self.maildir(user, domain)

    def wait_maildir(self, user, n=1, domain="localhost", timeout=10):
        """The messages in user's inbox once there are at least n (delivery is asynchronous)."""
        end = time.time() + timeout * SLOW
        msgs = self.maildir(user, domain)
        while len(msgs) < n and time.time() < end:
            time.sleep(0.02)
            msgs = self.maildir(user, domain)
        assert len(msgs) >= n, f"{len(msgs)} message(s) in {user}@{domain}'s inbox, expected {n}"
        return msgs

    def maildir(self, user, domain="localhost"):
        d = self.data / "mail" / domain / user / "new"
        if not d.is_dir():
            return []
        return [p.read_bytes() for p in sorted(d.iterdir())]

    def wait_mail(self, user, count=1, timeout=10):
        end = time.time() + timeout * SLOW
        while time.time() < end:
            msgs = self.maildir(user)
            if len(msgs) >= count:
                return msgs
            time.sleep(0.02)
        raise AssertionError(f"{user} has {len(self.maildir(user))} messages, wanted {count}")

    def queue_files(self):
        d = self.data / "queue" / "active"
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []

    def wait_queue_empty(self, timeout=10):
        """Delivery removes queue files asynchronously (batched): poll until active/ is empty."""
        end = time.time() + timeout * SLOW
        while time.time() < end and self.queue_files():
            time.sleep(0.02)
        return self.queue_files()

    def cert(self):
        return str(self.cafile or self.data / "tls" / "cert.pem")

    def tls_context(self, check_hostname=False, **kw):
        """A client context that trusts only this server's certificate (or the test CA when one is used)."""
        ctx = ssl.create_default_context(cafile=self.cert())
        ctx.check_hostname = check_hostname
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def smtp(self, listener="mx", timeout=10, source="127.0.0.1"):
        port = self.ports[listener]
        if listener == "submissions":
            return smtplib.SMTP_SSL("127.0.0.1", port, timeout=timeout * SLOW, context=self.tls_context(),
                                    source_address=(source, 0))
        return smtplib.SMTP("127.0.0.1", port, timeout=timeout * SLOW, source_address=(source, 0))

    smtp_client = smtp
    ssl_context = tls_context

    def raw_client(self, listener="mx", source="127.0.0.1", timeout=5):
        return Raw(self.ports[listener], source=source, timeout=timeout)

    def session(self, listener="mx", helo="client.example"):
        """A raw client past the banner and EHLO."""
        r = self.raw_client(listener)
        code, text = r.reply()
        assert code == 220, text
        code, text = r.cmd(f"EHLO {helo}")
        assert code == 250, text
        return r


class Raw:
    """A byte-level SMTP client: send exactly what a test says, read replies as they come."""

    def __init__(self, port, timeout=5, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW, source_address=(source, 0))
        self.buf = b""
        self.closed = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.closed = True
            return False
        if not d:
            self.closed = True
            return False
        self.buf += d
        return True

    def reply(self, timeout=5):
        """One complete (possibly multi-line) reply as (code, text); (None, '') if the server closed."""
        end = time.time() + timeout * SLOW
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                if self.closed or time.time() > end:
                    return (None, "") if not lines else (int(lines[-1][:3]), "\n".join(lines))
                self._fill(max(0.01, end - time.time()))
            line, self.buf = self.buf.split(b"\r\n", 1)
            line = line.decode("latin1")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line, timeout=5):
        self.send(line + ("\r\n" if isinstance(line, str) else b"\r\n"))  # str is sent as UTF-8
        return self.reply(timeout)

    def replies(self, n, timeout=5):
        return [self.reply(timeout) for _ in range(n)]

    def expect_closed(self, timeout=5):
        end = time.time() + timeout * SLOW
        while not self.closed and time.time() < end:
            self._fill(0.1)
        return self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


_HASHES = {}


def password_hash(password):
    """The argon2id hash `mailfort user add --password-stdin` stores for password (made once, then cached)."""
    if password not in _HASHES:
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([BIN, "user", "add", "x@localhost", "--password-stdin", "--data-dir", d],
                               input=password + "\n", capture_output=True, text=True, timeout=60 * SLOW)
            assert r.returncode == 0, r.stderr
            db = sqlite3.connect(Path(d) / "state.db")
            try:
                _HASHES[password] = db.execute("SELECT hash FROM users").fetchone()[0]
            finally:
                db.close()
    return _HASHES[password]


def message(subject="test", body="hello", sender="someone@example.org", to="alice@localhost", extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n{extra}\r\n"
            f"{body}\r\n")


def send_message(server, content, sender="someone@example.org", rcpt="alice@localhost", timeout=60, session=None):
    """One message through a fresh session (or `session`, e.g. one already authenticated): MAIL, RCPT, DATA, the
    content and the final dot. Returns the reply to the end of DATA as (code, text); the session is closed."""
    r = session or server.session()
    try:
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(content.encode() + b".\r\n")
        return r.reply(timeout)
    finally:
        r.close()


def gen_pki(outdir):
    """Run scripts/gen-test-pki.sh; returns a dict of paths (ca, cert, key, chain, expired, expired_key)."""
    out = Path(outdir)
    subprocess.run(["bash", str(PKI_SCRIPT), str(out)], check=True, capture_output=True, timeout=60)
    return {"dir": out, "ca": out / "ca.pem", "cert": out / "localhost.pem", "key": out / "localhost.key",
            "chain": out / "chain.pem", "expired": out / "expired.pem", "expired_key": out / "expired.key"}


# ---- scripted dialogs (format: tests/dialogs/README.md) ------------------------------------------------------------
DIALOG_DIR = Path(__file__).resolve().parents[1] / "dialogs"


def unescape(text):
    """Decode the dialog escapes \\r \\n \\t \\\\ \\xHH; every other character stands for its latin-1 byte."""
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|r|n|t|\\)",
                  lambda m: {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"\\": b"\\"}.get(m.group(1))
                  or bytes([int(m.group(1)[1:], 16)]),
                  text.encode("latin1"))


def expand(text):
    """`{A*600}` or `{X-a: b\\r\\n*100}` repeats a text: long inputs stay readable in a dialog file."""
    return re.sub(r"\{([^{}*]+)\*(\d+)\}", lambda m: m.group(1) * int(m.group(2)), text)


def code_matches(pattern, code):
    return code is not None and any(re.fullmatch(p.replace("x", r"\d"), str(code)) for p in pattern.split("|"))


def run_dialog(server, text, name="dialog"):
    """Play one dialog against a running server; AssertionError names the failing line."""
    lines = text.splitlines()
    listener = "mx"
    for l in lines:
        if l.startswith("@ "):
            words = l[2:].split()
            listener = words[-1]  # `@ mx` or `@ port mx`
    r = server.raw_client(listener)
    timeout = 5
    try:
        code, reply = r.reply()
        assert code == 220, f"{name}: banner {reply!r}"
        for n, l in enumerate(lines, 1):
            where = f"{name}:{n}: {l[:80]}"
            if l.startswith(">> "):
                try:
                    r.send(unescape(expand(l[3:])))
                except OSError as e:
                    raise AssertionError(f"{where}: send failed: {e}")
            elif l.startswith("> "):
                try:
                    r.send(unescape(expand(l[2:])) + b"\r\n")
                except OSError as e:
                    raise AssertionError(f"{where}: send failed: {e}")
            elif l.startswith("<< closed"):
                assert r.expect_closed(timeout), f"{where}: still open"
            elif l.startswith("< "):
                want = l[2:].split(None, 1)
                code, reply = r.reply(timeout)
                assert code is not None, f"{where}: connection closed or no reply"
                assert code_matches(want[0], code), f"{where}: got {reply!r}"
                if len(want) > 1:
                    texts = [x[4:] for x in reply.split("\n")]  # any line of a multi-line reply may match
                    assert any(re.match(want[1], t) for t in texts), f"{where}: got {reply!r}"
            elif l.startswith("~ timeout "):
                timeout = float(l.split()[2])
        for n, l in enumerate(lines, 1):
            where = f"{name}:{n}: {l[:80]}"
            if l.startswith("! rule "):
                server.wait_log("reject", rule=l[7:].strip())
            elif l.startswith("! queued "):
                # The log line may trail the 250 by a moment on a loaded machine: wait for it, then check the count.
                want_n, deadline = int(l[9:]), time.monotonic() + 5 * SLOW
                while len(server.logs("queued")) < want_n and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert len(server.logs("queued")) == want_n, f"{where}: {len(server.logs('queued'))} queued"
            elif l.startswith("! log "):
                event, *kv = l[6:].split()
                server.wait_log(event, **dict(x.split("=", 1) for x in kv))
    finally:
        r.close()
