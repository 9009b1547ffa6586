# tests/integration/test_filter_services.py: the supervision of the filters `mailfort serve` runs ([filter] rspamd /
# clamav, issue 18) without the filters themselves: a "filter" that dies at once (`false`) is restarted with
# backoff, its milter's default action (451 4.7.1) applies meanwhile (a check that cannot run is never an
# accept), and 5 deaths in 5 minutes raise the `rspamd_flapping` alert (/api/alerts) and count in /metrics.
# SPDX-License-Identifier: MIT
import json
import os
import pwd
import re
import shutil
import urllib.request

import pytest

from mf import SLOW, free_port, message, send_message


def _account(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# As root, mailfort runs rspamd as Debian's _rspamd account (and refuses to start the filter without it).
pytestmark = pytest.mark.skipif(os.geteuid() == 0 and not _account("_rspamd"), reason="no _rspamd account")


def admin(server, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['admin']}{path}", timeout=10 * SLOW) as r:
        body = r.read().decode()
    return json.loads(body) if path.startswith("/api/") else body


def test_a_dying_filter_is_restarted_mail_is_tempfailed_and_flapping_is_an_alert(make_server):
    port = free_port()
    s = make_server(sections={"filter": {"rspamd": True, "rspamd_address": f"127.0.0.1:{port}",
                                         "rspamd_binary": shutil.which("false"), "restart_max_s": 1}})
    code, text = send_message(s, message(subject="while down"))
    assert code == 451 and "4.7.1" in text, text
    assert s.wait_log("milter_error", milter="rspamd")[0]["action"] == "tempfail"
    assert not s.maildir_messages("alice")
    ev = s.wait_log("rspamd_flapping", timeout=30)[0]
    assert ev["deaths"] >= 5
    exited = s.logs("rspamd_exited")
    assert exited[0]["status"] == "exit 1" and exited[0]["restart_in_ms"] == 500
    assert max(e["restart_in_ms"] for e in exited) == 1000  # restart_max_s
    alert = s.wait_log("alert_raised", name="rspamd_flapping")[0]
    assert alert["subject"] == "rspamd" and alert["severity"] == "critical"
    assert [a for a in admin(s, "/api/alerts") if a["name"] == "rspamd_flapping"]
    m = re.search(r'mailfort_child_process_events_total\{process="rspamd",event="exited"\} (\d+)', admin(s, "/metrics"))
    assert m and int(m.group(1)) >= 5
