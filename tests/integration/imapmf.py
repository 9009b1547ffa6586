# tests/integration/imapmf.py: a mailfort with [imap] on (Dovecot from Debian, started by `mailfort serve`) and
# imaplib/poplib clients that can pick their source address.
# SPDX-License-Identifier: MIT
# Dovecot refuses mail access as uid 0, and mailfort runs Dovecot as its own account, so when the suite runs as
# root every mailfort process of these tests runs as `nobody` (setpriv), in a short temp dir nobody can reach
# (pytest's tmp_path sits under a 0700 directory of root's).
import imaplib
import os
import poplib
import shutil
import socket
import ssl
import tempfile
import time
from pathlib import Path

import mf

DOVECOT = "/usr/sbin/dovecot"
HAVE_DOVECOT = os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap") and \
    os.path.exists("/usr/lib/dovecot/pop3")
ALICE = ("alice@localhost", "alice-pw")
BOB = ("bob@localhost", "bob-pw")


def _source_socket(host, port, timeout, source):
    return socket.create_connection((host, port), timeout, source_address=(source, 0))


class IMAP(imaplib.IMAP4):
    def __init__(self, port, source="127.0.0.1", timeout=10):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=timeout * mf.SLOW)

    def _create_socket(self, timeout):
        return _source_socket(self.host, self.port, timeout, self._source)


class IMAPS(imaplib.IMAP4_SSL):
    def __init__(self, port, ctx, source="127.0.0.1", timeout=10):
        self._source = source
        super().__init__("127.0.0.1", port, ssl_context=ctx, timeout=timeout * mf.SLOW)

    def _create_socket(self, timeout):
        sock = _source_socket(self.host, self.port, timeout, self._source)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class POP3(poplib.POP3):
    def __init__(self, port, source="127.0.0.1", timeout=10):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=timeout * mf.SLOW)

    def _create_socket(self, timeout):
        return _source_socket(self.host, self.port, timeout, self._source)


class ImapServer(mf.Server):
    """mf.Server with Dovecot on four more ports: imap (STARTTLS), imaps, pop3 (STLS), pop3s."""

    def __init__(self, root, sections=None, **kw):
        self.mport = dict(zip(("imap", "imaps", "pop3", "pop3s"), mf.free_ports(4)))
        imap = {"enabled": True, **{k: f"127.0.0.1:{p}" for k, p in self.mport.items()}}
        sections = {k: dict(v) for k, v in (sections or {}).items()}
        sections.setdefault("imap", {}).update(imap)
        super().__init__(root, sections=sections, **kw)
        if os.geteuid() == 0:
            self.wrap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
            shutil.chown(self.root, "nobody", "nogroup")
            shutil.chown(self.config, "nobody", "nogroup")

    def dovecot_pid(self, n=1, timeout=10):
        ev = self.wait_count("dovecot_started", n, timeout=timeout)
        assert len(ev) >= n, f"dovecot_started logged {len(ev)} times, expected {n}: {''.join(self.raw)[-3000:]}"
        return ev[n - 1]["pid"]

    def imaps(self, user=None, password=None, source="127.0.0.1"):
        m = IMAPS(self.mport["imaps"], self.tls_context(), source=source)
        if user:
            m.login(user, password)
        return m

    def wait_imap_up(self, timeout=10):
        end = time.time() + timeout * mf.SLOW
        while True:
            try:
                m = self.imaps()
                m.logout()
                return
            except (OSError, imaplib.IMAP4.error):
                if time.time() > end:
                    raise
                time.sleep(0.05)

    def dovecot_log(self):
        p = self.data / "dovecot" / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""


def make_root():
    """A short temp dir (UNIX socket paths stay short) that the unprivileged user can use."""
    root = Path(tempfile.mkdtemp(prefix="mfi", dir="/tmp"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "nobody", "nogroup")
    return root
