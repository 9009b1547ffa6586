# tests/integration/test_clamav.py: the milter client against real clamd + clamav-milter (Debian clamav-daemon,
# clamav-milter) with a two-signature database written by the test (no freshclam, no network;
# the milter research notes, section 2.4): the EICAR test file as an attachment is refused 550 at end of DATA,
# a clean attachment passes with X-Virus-Status: Clean. (mailfort does not start them itself yet: [filter] clamav.)
# SPDX-License-Identifier: MIT
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from mf import SLOW, free_port, send_message

CLAMD = "/usr/sbin/clamd"
MILTER = "/usr/sbin/clamav-milter"
pytestmark = pytest.mark.skipif(not (os.path.exists(CLAMD) and os.path.exists(MILTER)),
                                reason="clamav-daemon / clamav-milter are not installed")

# The EICAR test file, assembled so that this source file is not itself a test virus.
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def wait(cond, timeout):
    end = time.time() + timeout * SLOW
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def clamav_milter():
    root = tempfile.mkdtemp(prefix="mf-clam-")
    os.chmod(root, 0o755)
    for d in ("db", "run"):
        os.makedirs(f"{root}/{d}")
    with open(f"{root}/db/mailfort-test.ndb", "w") as f:
        f.write(f"Mailfort.Test.EICAR:0:*:{EICAR.encode().hex()}\n")
        f.write(f"Mailfort.Test.Marker:0:*:{b'MAILFORT-TEST-VIRUS-SIGNATURE-0001'.hex()}\n")
    for p in ("db", "run"):
        shutil.chown(f"{root}/{p}", "clamav", "clamav")
    shutil.chown(f"{root}/db/mailfort-test.ndb", "clamav", "clamav")
    port = free_port()
    with open(f"{root}/clamd.conf", "w") as f:
        f.write(f"LocalSocket {root}/run/clamd.sock\nDatabaseDirectory {root}/db\nPidFile {root}/run/clamd.pid\n"
                f"LogFile {root}/run/clamd.log\nUser clamav\nBytecode no\nForeground yes\n")
    with open(f"{root}/clamav-milter.conf", "w") as f:
        f.write(f"MilterSocket inet:{port}@127.0.0.1\nClamdSocket unix:{root}/run/clamd.sock\nUser clamav\n"
                f"PidFile {root}/run/clamav-milter.pid\nOnInfected Reject\nOnFail Defer\n"
                f"RejectMsg \"Virus found: %v\"\nAddHeader Replace\nMaxFileSize 25M\nForeground yes\n"
                f"LogFile {root}/run/milter.log\n")
    procs = [subprocess.Popen([CLAMD, "-c", f"{root}/clamd.conf"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        if not wait(lambda: os.path.exists(f"{root}/run/clamd.sock") or procs[0].poll() is not None, 30):
            pytest.fail("clamd did not start")
        if procs[0].poll() is not None:
            log = open(f"{root}/run/clamd.log").read() if os.path.exists(f"{root}/run/clamd.log") else ""
            pytest.fail(f"clamd exited: {log[-2000:]}")
        procs.append(subprocess.Popen([MILTER, "-c", f"{root}/clamav-milter.conf"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))

        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return procs[1].poll() is not None

        if not wait(listening, 20) or procs[1].poll() is not None:
            log = open(f"{root}/run/milter.log").read() if os.path.exists(f"{root}/run/milter.log") else ""
            pytest.fail(f"clamav-milter did not start: {log[-2000:]}")
        yield port
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def with_attachment(name, data):
    b64 = base64.b64encode(data).decode()
    return ("From: someone@example.org\r\nTo: alice@localhost\r\nSubject: file\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
            f"--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n")


def test_clamav_eicar_refused_clean_passes(make_server, clamav_milter):
    s = make_server(milters=[{"name": "clamav", "address": f"inet:127.0.0.1:{clamav_milter}"}])
    code, text = send_message(s, with_attachment("eicar.txt", EICAR.encode()))
    assert code == 550, text
    assert "Virus found" in text
    assert s.wait_log("milter", milter="clamav", verdict="reject")
    code, text = send_message(s, with_attachment("notes.txt", b"just some notes\n"))
    assert code == 250, text
    msg = s.wait_maildir("alice")[0]
    assert b"X-Virus-Status: Clean" in msg
