# tests/integration/test_clamav.py: the milter client against real clamd + clamav-milter (Debian clamav-daemon,
# clamav-milter) with a two-signature database written by the test (no freshclam, no network;
# the milter research notes, section 2.4): the EICAR test file as an attachment is refused 550 at end of DATA,
# a clean attachment passes with X-Virus-Status: Clean. The same with `[filter] clamav = true` (mailfort runs and
# supervises clamd + clamav-milter, with the test's signature directory), and an authenticated submission refused
# as malware raises the `outbound_malware` alert naming the user.
# SPDX-License-Identifier: MIT
import base64
import json
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from mf import SLOW, free_port, free_ports, send_message

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


# ---- [filter] clamav = true: mailfort runs clamd + clamav-milter itself ---------------------------------------

@pytest.fixture
def signature_db():
    """A signature directory clamd (as the clamav account) can read: EICAR and the private marker."""
    root = tempfile.mkdtemp(prefix="mf-clamdb-")
    os.chmod(root, 0o755)
    with open(f"{root}/mailfort-test.ndb", "w") as f:
        f.write(f"Mailfort.Test.EICAR:0:*:{EICAR.encode().hex()}\n")
        f.write(f"Mailfort.Test.Marker:0:*:{b'MAILFORT-TEST-VIRUS-SIGNATURE-0001'.hex()}\n")
    if os.geteuid() == 0:
        shutil.chown(root, "clamav", "clamav")
        shutil.chown(f"{root}/mailfort-test.ndb", "clamav", "clamav")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def listening(port, timeout):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False
    return wait(up, timeout)


def supervised_clamav(make_server, db):
    milter_port, clamd_port = free_ports(2)
    s = make_server(sections={"filter": {"clamav": True, "clamav_database": db,
                                         "clamav_address": f"127.0.0.1:{milter_port}",
                                         "clamd_address": f"127.0.0.1:{clamd_port}"}})
    assert listening(milter_port, 40), s.logs()
    return s, milter_port


def test_supervised_clamav_refuses_eicar_and_marks_clean_mail(make_server, signature_db):
    s, _ = supervised_clamav(make_server, signature_db)
    assert s.wait_log("clamd_started") and s.wait_log("clamav_milter_started")
    code, text = send_message(s, with_attachment("eicar.txt", EICAR.encode()))
    assert code == 550, text
    assert "Virus found" in text
    ev = s.wait_log("milter", milter="clamav", verdict="reject")[0]
    assert ev.get("malware") is True and "Mailfort.Test.EICAR" in ev.get("virus", "")
    assert not s.logs("outbound_malware")  # inbound, unauthenticated: no outbound alert
    code, text = send_message(s, with_attachment("notes.txt", b"just some notes\n"))
    assert code == 250, text
    assert b"X-Virus-Status: Clean" in s.wait_maildir("alice")[0]


def test_outbound_malware_from_an_authenticated_user_raises_an_alert(make_server, signature_db):
    s, _ = supervised_clamav(make_server, signature_db)
    c = s.smtp("submission")
    c.ehlo("x")
    c.starttls(context=s.tls_context())
    c.ehlo("x")
    c.login("alice@localhost", "alice-pw")
    content = with_attachment("eicar.txt", EICAR.encode()).replace("From: someone@example.org",
                                                                    "From: alice@localhost")
    with pytest.raises(smtplib.SMTPDataError) as e:
        c.sendmail("alice@localhost", ["bob@localhost"], content)
    assert e.value.smtp_code == 550
    c.quit()
    ev = s.wait_log("outbound_malware")[0]
    assert ev["user"] == "alice@localhost" and ev["milter"] == "clamav" and ev["listener"] == "submission"
    assert "Mailfort.Test.EICAR" in ev.get("virus", "")
    assert s.wait_log("alert_raised", name="outbound_malware")[0]["subject"] == "alice@localhost"
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['admin']}/api/alerts", timeout=10 * SLOW) as r:
        alerts = json.loads(r.read().decode())
    assert [a for a in alerts if a["name"] == "outbound_malware" and a["subject"] == "alice@localhost"]
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['admin']}/metrics", timeout=10 * SLOW) as r:
        assert 'mailfort_outbound_malware_total{milter="clamav"} 1' in r.read().decode()


def test_config_check_flags_clamav_without_signatures(make_server, tmp_path):
    empty = tmp_path / "nosigs"
    empty.mkdir()
    s = make_server(start=False, sections={"filter": {"clamav": True, "clamav_database": str(empty)}})
    r = s.cli("config", "check", check=False)
    assert "filter.clamav_database" in r.stdout + r.stderr, r.stdout + r.stderr
