# tests/integration/test_rspamd.py: the milter client against a real rspamd 3.4 proxy worker in milter mode
# (Debian rspamd), started by the test with an offline configuration (no DNS, no maps, only the core and the
# GTUBE test patterns; the milter research notes, section 2.3). rspamd asks for every NR_* flag and answers
# only at end of message: the GTUBE message is refused 554 at end of DATA, a clean one passes, and the "add
# header" test pattern lands in the Junk folder. With `[filter] rspamd = true` mailfort runs rspamd itself (stock
# rules, network modules off): GTUBE refused, clean mail carries rspamd's headers, a killed rspamd means 451 4.7.1
# until it is restarted.
# SPDX-License-Identifier: MIT
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from mf import SLOW, free_port, message, send_message

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
pytestmark = pytest.mark.skipif(not os.path.exists(RSPAMD), reason="rspamd is not installed")

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

CONF = """.include "$CONFDIR/actions.conf"
options {{ pidfile = "$RUNDIR/rspamd.pid"; filters = ""; enable_test_patterns = true;
  url_tld = "{root}/tld.dat";
  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }} }}
logging {{ type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }}
worker "rspamd_proxy" {{ bind_socket = "127.0.0.1:{port}"; milter = yes; timeout = 120s; count = 1;
  upstream "local" {{ default = yes; self_scan = yes; }}
  reject_message = "Spam message rejected"; spam_header = "X-Spam"; }}
"""


@pytest.fixture
def rspamd():
    # Not under pytest's 0700 tmp dir: rspamd drops to _rspamd and must reach its run and log directories.
    root = tempfile.mkdtemp(prefix="mf-rspamd-")
    os.chmod(root, 0o755)
    port = free_port()
    for d in ("run", "log", "db", "local"):
        os.makedirs(f"{root}/{d}")
        shutil.chown(f"{root}/{d}", "_rspamd", "_rspamd")
    with open(f"{root}/tld.dat", "w") as f:
        f.write("com\norg\nnet\ntest\nexample\n")
    with open(f"{root}/rspamd.conf", "w") as f:
        f.write(CONF.format(root=root, port=port))
    proc = subprocess.Popen([RSPAMD, "-f", "-c", f"{root}/rspamd.conf", "-u", "_rspamd", "-g", "_rspamd",
                             f"--var=DBDIR={root}/db", f"--var=RUNDIR={root}/run", f"--var=LOGDIR={root}/log",
                             f"--var=LOCAL_CONFDIR={root}/local"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 20 * SLOW
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    else:
        proc.kill()
    if proc.poll() is not None:
        log = open(f"{root}/log/rspamd.log").read() if os.path.exists(f"{root}/log/rspamd.log") else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"rspamd did not start: {log[-2000:]}")
    yield port
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    shutil.rmtree(root, ignore_errors=True)


def test_rspamd_gtube_clean_and_add_header(make_server, rspamd):
    s = make_server(milters=[{"name": "rspamd", "address": f"inet:127.0.0.1:{rspamd}"}])
    code, text = send_message(s, message(subject="gtube", body=GTUBE))
    assert code == 554, text
    assert "5.7.1" in text
    assert s.wait_log("milter", milter="rspamd", verdict="reject")
    code, text = send_message(s, message(subject="clean", body="Hello Alice, lunch at noon?"))
    assert code == 250, text
    assert b"Subject: clean" in s.wait_maildir("alice")[0]
    code, text = send_message(s, message(subject="addheader", body=ADD_HEADER))
    assert code == 250, text
    junk = s.data / "mail" / "localhost" / "alice" / ".Junk" / "new"
    end = time.time() + 10 * SLOW
    while time.time() < end and not (junk.is_dir() and list(junk.iterdir())):
        time.sleep(0.05)
    files = list(junk.iterdir()) if junk.is_dir() else []
    assert len(files) == 1, s.logs("milter")
    assert b"X-Spam: Yes" in files[0].read_bytes()


# ---- [filter] rspamd = true: mailfort runs and supervises rspamd itself ------------------------------------------

def listening(port, timeout):
    end = time.time() + timeout * SLOW
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def test_supervised_rspamd_filters_and_is_restarted(make_server):
    port = free_port()
    s = make_server(sections={"filter": {"rspamd": True, "rspamd_address": f"127.0.0.1:{port}", "restart_max_s": 1}})
    first = s.wait_log("rspamd_started")[0]
    assert listening(port, 40), "".join(s.raw)[-3000:]
    code, text = send_message(s, message(subject="gtube", body=GTUBE))
    assert code == 554 and "5.7.1" in text, text
    code, text = send_message(s, message(subject="clean", body="Hello Alice, lunch at noon?"))
    assert code == 250, text
    msg = s.wait_maildir("alice")[0]
    assert b"Subject: clean" in msg
    assert b"X-Spamd-Bar:" in msg or b"X-Spam-Status:" in msg or b"X-Rspamd-Queue-Id:" in msg, msg[:1500]
    # rspamd is killed: while it is down the message gets the default action (451 4.7.1), never an accept; it is
    # restarted and filters again.
    os.kill(first["pid"], signal.SIGKILL)  # its workers go too (its process group): the port is free again
    ev = s.wait_log("rspamd_exited", timeout=20)[0]
    assert ev["pid"] == first["pid"]
    code, text = send_message(s, message(subject="gtube2", body=GTUBE))
    assert code in (451, 554), text
    if code == 451:
        assert "4.7.1" in text
        assert s.wait_log("milter_error", milter="rspamd")
    assert len(s.wait_count("rspamd_started", 2, timeout=20)) >= 2
    assert listening(port, 40)
    code, text = send_message(s, message(subject="gtube3", body=GTUBE))
    assert code == 554, text
