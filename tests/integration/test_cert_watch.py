# tests/integration/test_cert_watch.py: the certificate watcher (issue 19): files replaced the way certbot renews
# (new files written beside, then renamed over the live names) are served within seconds on SMTP STARTTLS (seen by
# openssl s_client), 465 and the MTA-STS HTTPS listener, with no restart and no SIGHUP; a broken new pair keeps the
# serving certificate, logs tls_reload_failed and raises the certificate_reload_failed alert.
# SPDX-License-Identifier: MIT
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

import mf
from test_tls_reload import make_cert, served_cn  # the same self-signed pairs and probe as the SIGHUP test

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")


def subject_of_pem(pem):
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True, text=True)
    return out.stdout.strip()


def s_client_smtp(port):
    """The subject openssl s_client sees after STARTTLS on the MX port."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp", "-showcerts"],
                       input="QUIT\r\n", capture_output=True, text=True, timeout=30)
    out = r.stdout
    begin = out.find("-----BEGIN CERTIFICATE-----")
    end = out.find("-----END CERTIFICATE-----")
    assert begin >= 0, out[-2000:] + r.stderr[-2000:]
    return subject_of_pem(out[begin:end + len("-----END CERTIFICATE-----")] + "\n")


def certbot_renew(live_dir, cert, key):
    """Write the new pair beside the live names, then rename over them (key first, as a renewal may)."""
    for src, name in ((key, "privkey.pem"), (cert, "fullchain.pem")):
        tmp = live_dir / f".{name}.new"
        shutil.copy(src, tmp)
        os.rename(tmp, live_dir / name)


def api_alerts(s):
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['admin']}/api/alerts", timeout=10) as r:
        alerts = json.load(r)
    return alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts


def wait_for(fn, want, timeout=10):
    end = time.time() + timeout * mf.SLOW
    got = None
    while time.time() < end:
        got = fn()
        if want in got:
            return time.time()
        time.sleep(0.2)
    raise AssertionError(f"still {got!r}, wanted {want!r}")


def test_certbot_style_renewal_is_served_without_restart(make_server, tmp_path):
    a_cert, a_key = make_cert(tmp_path, "first.test")
    b_cert, b_key = make_cert(tmp_path, "second.test")
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(a_cert, live / "fullchain.pem")
    shutil.copy(a_key, live / "privkey.pem")
    sts_port = mf.free_port()
    s = make_server(tls={"certificate": str(live / "fullchain.pem"), "key": str(live / "privkey.pem")},
                    sections={"mta_sts": {"listen": f"127.0.0.1:{sts_port}"}})
    pid = s.proc.pid
    assert "first.test" in s_client_smtp(s.ports["mx"])
    assert "first.test" in served_cn(s.ports["submissions"])
    assert "first.test" in served_cn(sts_port)

    start = time.time()
    certbot_renew(live, b_cert, b_key)
    seen = wait_for(lambda: s_client_smtp(s.ports["mx"]), "second.test")
    print(f"renewed certificate served on STARTTLS after {seen - start:.2f} s")
    assert seen - start < 5 * mf.SLOW
    assert "second.test" in served_cn(s.ports["submissions"])
    assert "second.test" in served_cn(sts_port)
    ev = s.wait_log("tls_reloaded", trigger="file_change")
    assert ev[0]["certificate"] == str(live / "fullchain.pem")
    assert s.proc.pid == pid and s.proc.poll() is None  # no restart

    # A broken renewal (a key that is not the certificate's): the working certificate stays, logged and alerted.
    c_cert, c_key = make_cert(tmp_path, "third.test")
    certbot_renew(live, c_cert, a_key)
    s.wait_log("tls_reload_failed", trigger="file_change")
    assert "second.test" in s_client_smtp(s.ports["mx"])
    assert "second.test" in served_cn(s.ports["submissions"])
    s.wait_log("alert_raised", name="certificate_reload_failed")
    assert any(a["name"] == "certificate_reload_failed" for a in api_alerts(s))

    # The admin fixes it: the next change loads, and the alert clears.
    certbot_renew(live, c_cert, c_key)
    wait_for(lambda: s_client_smtp(s.ports["mx"]), "third.test")
    s.wait_log("alert_cleared", name="certificate_reload_failed")
    assert not any(a["name"] == "certificate_reload_failed" for a in api_alerts(s))
