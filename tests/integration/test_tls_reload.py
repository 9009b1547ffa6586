# tests/integration/test_tls_reload.py: certificate and key from config, reloaded on SIGHUP without a restart.
# SPDX-License-Identifier: MIT
import shutil
import signal
import socket
import ssl
import subprocess

import pytest

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")


def make_cert(dirpath, cn, days=30):
    key, cert = dirpath / f"{cn}.key", dirpath / f"{cn}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"], check=True, capture_output=True)
    return cert, key


def served_cn(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True, text=True)
    return out.stdout.strip()


def test_configured_certificate_and_sighup_reload(make_server, tmp_path):
    a_cert, a_key = make_cert(tmp_path, "first.test")
    b_cert, b_key = make_cert(tmp_path, "second.test")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    shutil.copy(a_cert, live_cert)
    shutil.copy(a_key, live_key)
    s = make_server(tls={"certificate": str(live_cert), "key": str(live_key)})
    assert "first.test" in served_cn(s.ports["submissions"])
    assert not (s.data / "tls" / "cert.pem").exists()  # no self-signed one when a certificate is configured
    shutil.copy(b_cert, live_cert)
    shutil.copy(b_key, live_key)
    s.proc.send_signal(signal.SIGHUP)
    s.wait_log("tls_reloaded")
    assert "second.test" in served_cn(s.ports["submissions"])
    # a broken pair keeps the working certificate
    live_key.write_text("not a key")
    s.proc.send_signal(signal.SIGHUP)
    s.wait_log("tls_reload_failed")
    assert "second.test" in served_cn(s.ports["submissions"])


def test_missing_certificate_fails_start_clearly(make_server, tmp_path):
    s = make_server(start=False, tls={"certificate": str(tmp_path / "nope.pem"), "key": str(tmp_path / "nope.key")})
    r = subprocess.run([__import__("mf").BIN, "serve", "--config", str(s.config)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "startup_failed" in r.stdout and "nope.pem" in r.stdout


def test_sighup_with_an_insecure_config_keeps_everything_running(make_server, tmp_path):
    # Issue 15 item 9: SIGHUP rechecks the config file; a critical finding (here an open relay) refuses the whole
    # reload, certificate included, and logs config_refused; once fixed, the next SIGHUP reloads.
    a_cert, a_key = make_cert(tmp_path, "first.test")
    b_cert, b_key = make_cert(tmp_path, "second.test")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    shutil.copy(a_cert, live_cert)
    shutil.copy(a_key, live_key)
    s = make_server(tls={"certificate": str(live_cert), "key": str(live_key)})
    good = s.config.read_text()
    s.config.write_text(good + '[relay]\ntrusted_networks = ["0.0.0.0/0"]\n')
    shutil.copy(b_cert, live_cert)
    shutil.copy(b_key, live_key)
    s.proc.send_signal(signal.SIGHUP)
    line = s.wait_log("config_refused")[0]
    assert line["level"] == "error" and line["when"] == "reload"
    assert [f["key"] for f in line["findings"]] == ["relay.trusted_networks"]
    assert "first.test" in served_cn(s.ports["submissions"])
    assert s.logs("tls_reloaded") == []
    # the old configuration still refuses to relay for 127.0.0.1
    r = s.session()
    assert r.cmd("MAIL FROM:<x@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<far@example.net>")[0] // 100 == 5
    assert r.cmd("QUIT")[0] == 221
    # a broken file is refused the same way
    s.config.write_text(good + "[relay]\ntrusted_network = 1\n")
    s.proc.send_signal(signal.SIGHUP)
    assert s.wait_count("config_refused", 2)[1]["errors"]
    s.config.write_text(good)
    s.proc.send_signal(signal.SIGHUP)
    s.wait_log("tls_reloaded")
    assert "second.test" in served_cn(s.ports["submissions"])
