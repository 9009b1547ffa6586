# tests/integration/mf.py: start the real `mailfort serve` on loopback in a temp dir, talk to it, read its logs.
# SPDX-License-Identifier: MIT
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

BIN = os.environ.get("MAILFORT_BIN", str(Path(__file__).resolve().parents[2] / "build" / "mailfort"))
SANITIZED = os.environ.get("MAILFORT_SANITIZED") == "1"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SLOW = 3 if SANITIZED else 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
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

    def __init__(self, root, limits=None, tls=None, relay=None, top=None, listeners=None, sections=None,
                 relaxed=True):
        self.root = Path(root)
        self.data = self.root / "data"
        self.ports = {"mx": free_port(), "submission": free_port(), "submissions": free_port()}
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
        extra = {k: dict(v) for k, v in (self.RELAXED.items() if relaxed else [])}
        for k, v in (sections_extra or {}).items():
            extra.setdefault(k, {}).update(v)
        sections.update(extra)
        lines = [f'hostname = "mx.test"', 'domains = ["localhost"]', f"data_dir = {toml_value(self.data)}"]
        for k, v in (top or {}).items():
            lines.append(f"{k} = {toml_value(v)}")
        for name, kv in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in kv.items()]
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "mailfort.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc = None
        self.lines = []
        self.raw = []
        self._lock = threading.Lock()

    # ---- process ---------------------------------------------------------------------------
    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, *args, "--config", str(self.config)], input=input, capture_output=True, text=True,
                           timeout=60 * SLOW)
        if check and r.returncode != 0:
            raise AssertionError(f"mailfort {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def add_user(self, address, password):
        return self.cli("user", "add", address, "--password-stdin", input=password + "\n")

    def start(self, timeout=20):
        self.lines, self.raw = [], []
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
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
        text = "".join(self.raw)
        assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-5000:]
        if sig == signal.SIGTERM:
            assert rc == 0, f"mailfort exited with {rc}: {text[-3000:]}"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

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

    def cert(self):
        return str(self.data / "tls" / "cert.pem")

    def tls_context(self, **kw):
        ctx = ssl.create_default_context(cafile=self.cert())
        ctx.check_hostname = False
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx

    def smtp(self, listener="mx", timeout=10, source="127.0.0.1"):
        port = self.ports[listener]
        if listener == "submissions":
            return smtplib.SMTP_SSL("127.0.0.1", port, timeout=timeout * SLOW, context=self.tls_context(),
                                    source_address=(source, 0))
        return smtplib.SMTP("127.0.0.1", port, timeout=timeout * SLOW, source_address=(source, 0))

    def raw_client(self, listener="mx", source="127.0.0.1"):
        return Raw(self.ports[listener], source=source)


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
        self.send(line + "\r\n")
        return self.reply(timeout)

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


def message(subject="test", body="hello", sender="someone@example.org", to="alice@localhost", extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n{extra}\r\n"
            f"{body}\r\n")
