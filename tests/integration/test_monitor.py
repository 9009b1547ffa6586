# tests/integration/test_monitor.py: the admin HTTP listener (/metrics, /healthz, /readyz, /api/*) and the alerts
# derived from what the server sees (issue 8): a scrape after real traffic passes `promtool check metrics` and its
# counters say what the traffic did; an auth-failure burst and a certificate near expiry each raise their alert
# exactly once, in the log and in /api/alerts.
# SPDX-License-Identifier: MIT
import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from mf import SLOW, message

ALICE = ("alice@localhost", "alice-pw")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def get(server, path, token=None):
    """(status, content type, body) of GET path on the server's admin listener."""
    req = urllib.request.Request(f"http://127.0.0.1:{server.ports['admin']}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10 * SLOW) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def metric(text, metric_name, **labels):
    """The value of one sample in a Prometheus text exposition, 0 if absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$", line)
        if not m or m.group(1) != metric_name:
            continue
        have = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return 0.0


def auth_failures(server, n, source="127.0.0.1"):
    c = server.smtp("submissions", source=source)
    c.ehlo("x")
    codes = [c.docmd("AUTH PLAIN " + b64("\0alice@localhost\0wrong"))[0] for _ in range(n)]
    c.close()
    return codes


def test_metrics_after_traffic_pass_promtool_and_count_it(make_server):
    s = make_server()
    status, _, body = get(s, "/healthz")
    assert status == 200
    assert get(s, "/readyz")[0] == 200
    _, _, before = get(s, "/metrics")

    with s.smtp() as c:  # two messages accepted on the MX listener
        for i in range(2):
            c.sendmail("someone@example.org", ["alice@localhost"], message(f"m{i}"))
    with s.smtp() as c:  # one relay attempt refused
        c.ehlo("x")
        c.mail("someone@example.org")
        assert c.rcpt("victim@example.net")[0] == 554
    assert auth_failures(s, 2) == [535, 535]
    with s.smtp("submissions") as c:
        c.login(*ALICE)
    s.wait_maildir("alice", 2)
    s.wait_count("auth", 3)

    status, ctype, text = get(s, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by scripts/install-deps.sh"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    # promtool exits 1 on lint problems and 3 on a parse error; both are failures here.
    assert r.returncode == 0, r.stdout + r.stderr

    def delta(name, **labels):
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert delta("mailfort_messages_accepted_total", listener="mx") == 2
    assert delta("mailfort_smtp_auth_total", listener="submissions", result="failure") == 2
    assert delta("mailfort_smtp_auth_total", listener="submissions", result="success") == 1
    assert delta("mailfort_smtp_rejections_total", reason="relay_denied") == 1
    assert delta("mailfort_messages_delivered_total", transport="maildir") == 2
    assert metric(text, "mailfort_build_info") == 1
    assert metric(text, "mailfort_tls_certificate_expiry_seconds") > 0


def test_api_endpoints_and_bearer_token(make_server):
    token = "t0ken-for-the-admin-api"
    s = make_server(sections={"monitor": {"token": token}})
    assert get(s, "/healthz")[0] == 200  # liveness never needs the token
    assert get(s, "/metrics")[0] == 401
    assert get(s, "/api/status", token="wrong-token-of-enough-length")[0] == 401
    status, ctype, body = get(s, "/api/status", token=token)
    assert status == 200 and "json" in ctype
    st = json.loads(body)
    assert st["hostname"] == "mx.test" and st["queue"] == 0
    for path in ("/api/queue", "/api/bans", "/api/alerts"):
        status, _, body = get(s, path, token=token)
        assert status == 200, path
        json.loads(body)
    assert get(s, "/nope", token=token)[0] == 404


def test_foreign_host_header_is_refused(make_server):
    # Issue 15 item 7: DNS rebinding. A page at rebind.evil.example whose name now resolves to 127.0.0.1 makes a
    # browser on the server send its requests here with that Host: they get 421 and no data, on every path.
    import http.client
    s = make_server()
    port = s.ports["admin"]

    def status(host, path="/api/status"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * SLOW)
        try:
            c.putrequest("GET", path, skip_host=True)
            c.putheader("Host", host)
            c.endheaders()
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    for host in ("rebind.evil.example", f"rebind.evil.example:{port}", "192.0.2.1", "mx.test.evil"):
        code, body = status(host)
        assert code == 421 and "queue" not in body, (host, code, body)
    assert status("rebind.evil.example", "/healthz")[0] == 421
    assert status("rebind.evil.example", "/metrics")[0] == 421
    for host in (f"127.0.0.1:{port}", "localhost", f"[::1]:{port}", f"mx.test:{port}"):  # mx.test: the hostname
        assert status(host)[0] == 200, host
    assert s.wait_log("admin_host_refused")[0]["host"] == "rebind.evil.example"


def test_auth_failure_burst_raises_one_alert(make_server):
    s = make_server(sections={"monitor": {"auth_failures_per_ip": 3}})
    assert auth_failures(s, 3) == [535] * 3
    raised = s.wait_log("alert_raised", name="auth_failure_burst")
    assert raised[0]["subject"] == "127.0.0.1"
    # more failures while the alert is active: still one alert episode
    assert auth_failures(s, 3) == [535] * 3
    s.wait_count("auth", 6)
    time.sleep(0.3)
    assert len(s.logs("alert_raised", name="auth_failure_burst")) == 1
    _, _, body = get(s, "/api/alerts")
    alerts = json.loads(body)
    alerts = alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts
    assert [a["subject"] for a in alerts if a["name"] == "auth_failure_burst"] == ["127.0.0.1"]
    _, _, text = get(s, "/metrics")
    assert metric(text, "mailfort_alerts_raised_total", name="auth_failure_burst") == 1
    assert metric(text, "mailfort_alerts_active") >= 1


def make_cert(tmp_path, days, name):
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True,
                   timeout=60)
    return {"certificate": str(cert), "key": str(key)}


@pytest.mark.parametrize("days,alert,severity", [(20, "cert_expiry_30d", "warning"), (45, "cert_expiry_60d", "warning"),
                                                 (200, None, None)])
def test_certificate_expiry_alert(make_server, tmp_path, days, alert, severity):
    tls = make_cert(tmp_path, days, f"leaf{days}")
    s = make_server(tls=tls)
    s.wait_log("ready")
    time.sleep(0.2)
    raised = [l for l in s.logs("alert_raised") if l["name"].startswith("cert_")]
    if alert is None:
        assert raised == []
        return
    assert [l["name"] for l in raised] == [alert]
    assert raised[0]["subject"] == tls["certificate"]
    if severity:
        assert raised[0]["severity"] == severity
    _, _, body = get(s, "/api/alerts")
    assert alert in body
    _, _, text = get(s, "/metrics")
    left = metric(text, "mailfort_tls_certificate_expiry_seconds", path=tls["certificate"])
    assert (days - 1) * 86400 < left <= days * 86400


class Receiver:
    """A small local HTTP server that records every POST body (the webhook's receiving end)."""

    def __init__(self):
        import http.server
        import threading
        outer = self
        self.bodies = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append((self.path, self.headers.get("Content-Type"), json.loads(self.rfile.read(n))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, n, timeout=10):
        end = time.time() + timeout * SLOW
        while len(self.bodies) < n and time.time() < end:
            time.sleep(0.05)
        return self.bodies

    def close(self):
        self.httpd.shutdown()


def test_alerts_reach_the_webhook_once(make_server):
    rx = Receiver()
    try:
        s = make_server(sections={"monitor": {"auth_failures_per_ip": 2, "webhook": rx.url}})
        assert auth_failures(s, 4) == [535] * 4
        s.wait_log("alert_raised", name="auth_failure_burst")
        got = rx.wait(1)
        time.sleep(0.5)
        burst = [b for b in rx.bodies if b[2]["name"] == "auth_failure_burst"]
        assert len(burst) == 1, rx.bodies
        path, ctype, body = burst[0]
        assert path == "/hook" and ctype == "application/json"
        assert body["state"] == "raised" and body["subject"] == "127.0.0.1" and body["host"] == "mx.test"
        assert got
    finally:
        rx.close()


def test_webhook_receiver_down_is_logged_not_fatal(make_server):
    port = mf_free_port()
    s = make_server(sections={"monitor": {"auth_failures_per_ip": 1, "webhook": f"http://127.0.0.1:{port}/x"}})
    assert auth_failures(s, 1) == [535]
    s.wait_log("webhook_failed")
    assert get(s, "/healthz")[0] == 200


def mf_free_port():
    from mf import free_port
    return free_port()


@pytest.mark.skipif(not shutil.which("nsd") and not os.path.exists("/usr/sbin/nsd"), reason="nsd not installed")
def test_own_address_on_a_blocklist_raises_one_alert(make_server, tmp_path):
    import dnsserver
    soa = "@ 3600 IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300\n@ 3600 IN NS ns.{z}.\nns 300 IN A 127.0.0.1\n"
    ns = dnsserver.DnsServer(tmp_path / "nsd")
    # 192.0.2.99 is listed on bl.test; bl-clean.test lists nothing; refused.test answers Spamhaus's
    # "query refused" code, which must not count as a listing.
    ns.add_zone("bl.test", soa.format(z="bl.test") + "99.2.0.192 300 IN A 127.0.0.2\n"
                "99.2.0.192 300 IN TXT \"listed for testing\"\n")
    ns.add_zone("bl-clean.test", soa.format(z="bl-clean.test"))
    ns.add_zone("refused.test", soa.format(z="refused.test") + "99.2.0.192 300 IN A 127.255.255.254\n")
    ns.start()
    try:
        s = make_server(sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
            "monitor": {"public_ip": "192.0.2.99", "blocklist_zones": ["bl.test", "bl-clean.test", "refused.test"]},
        })
        s.wait_count("blocklist_check", 3)
        results = {l["zone"]: l["result"] for l in s.logs("blocklist_check")}
        assert results == {"bl.test": "listed", "bl-clean.test": "not_listed", "refused.test": "unknown"}
        raised = s.wait_log("alert_raised", name="blocklist_listed")
        assert [l["subject"] for l in raised] == ["bl.test"] and raised[0]["severity"] == "critical"
        _, _, text = get(s, "/metrics")
        assert metric(text, "mailfort_blocklist_listed", zone="bl.test") == 1
        assert metric(text, "mailfort_blocklist_listed", zone="bl-clean.test") == 0
        # `mailfort status` shows the same picture, and exits 1 while an alert is active
        r = s.cli("status", check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "bl.test=listed" in r.stdout and "bl-clean.test=not_listed" in r.stdout
        assert "blocklist_listed" in r.stdout and "queue:" in r.stdout
        r = s.cli("status", "--format", "json", check=False)
        st = json.loads(r.stdout)
        assert st["blocklists"]["bl.test"] == "listed" and st["public_ip"] == "192.0.2.99"
    finally:
        ns.stop()


def test_dnssec_not_validating_alert_when_dane_is_on(make_server):
    s = make_server()  # hermetic: no trust anchor, so the resolver cannot validate
    raised = s.wait_log("alert_raised", name="dnssec_not_validating")
    assert raised[0]["subject"] == "resolver"
    assert s.logs("dane_unavailable")
    r = s.cli("status", check=False)
    assert r.returncode == 1 and "dnssec_not_validating" in r.stdout


def test_status_clean_and_unreachable(make_server):
    # DANE off: the hermetic test resolver does not validate, which would (rightly) raise dnssec_not_validating
    s = make_server(sections={"outbound": {"dane": False}})
    r = s.cli("status")
    assert r.returncode == 0 and "alerts:    0 active" in r.stdout and "days left" in r.stdout
    s.stop()
    r = s.cli("status", check=False)
    assert r.returncode == 2 and "cannot reach" in r.stderr


def test_syslog_log_format(make_server):
    s = make_server(start=False)
    p = subprocess.Popen([mf_bin(), "serve", "--config", str(s.config), "--log-format", "syslog"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        end = time.time() + 20 * SLOW
        while time.time() < end:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if " ready " in line:
                break
    finally:
        p.terminate()
        p.wait(15 * SLOW)
    ready = [l for l in lines if " ready " in l]
    assert ready, "".join(lines)
    # <PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID [SD] MSG; mail facility (2) * 8 + info (6) = 22
    m = re.match(r"<22>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mx\.test mailfort (\d+) ready \[mailfort@32473 [^\]]*\] (\{.*\})$",
                 ready[0].rstrip("\n"))
    assert m, ready[0]
    assert int(m.group(1)) == p.pid
    assert json.loads(m.group(2))["event"] == "ready"
    assert p.returncode == 0


def mf_bin():
    from mf import BIN
    return BIN


def test_outbound_spike_holds_the_user_until_released(make_server):
    s = make_server(sections={"monitor": {"outbound_spike_floor": 3, "outbound_spike_multiplier": 10}})
    with s.smtp("submissions") as c:
        c.login(*ALICE)
        c.sendmail("alice@localhost", ["bob@localhost"], message("normal", sender="alice@localhost"))  # 1 recipient: below the floor
        assert not s.logs("alert_raised", name="outbound_spike")
        c.sendmail("alice@localhost", ["r1@example.net", "r2@example.net", "r3@example.net"], message("spike", sender="alice@localhost"))
    raised = s.wait_log("alert_raised", name="outbound_spike")
    assert raised[0]["subject"] == "alice@localhost" and raised[0]["severity"] == "critical"
    s.wait_log("hold", user="alice@localhost")
    r = s.cli("queue", "held")
    assert "alice@localhost" in r.stdout
    st = json.loads(get(s, "/api/status")[2])
    assert [h["user"] for h in st["held_users"]] == ["alice@localhost"]
    # more mail from the held user is still accepted (and held), without a second alert
    with s.smtp("submissions") as c:
        c.login(*ALICE)
        c.sendmail("alice@localhost", ["r4@example.net"] * 1, message("after", sender="alice@localhost"))
    time.sleep(0.3)
    assert len(s.logs("alert_raised", name="outbound_spike")) == 1
    assert len(s.logs("hold")) == 1
    r = s.cli("queue", "release", "alice@localhost")
    assert "released alice@localhost" in r.stdout
    s.wait_log("hold_released", user="alice@localhost")
    assert s.cli("queue", "release", "alice@localhost", check=False).returncode == 1
    assert "no user is held" in s.cli("queue", "held").stdout
    _, _, text = get(s, "/metrics")
    assert metric(text, "mailfort_outbound_recipients_total", user="alice@localhost") == 5


@pytest.mark.skipif(not shutil.which("nsd") and not os.path.exists("/usr/sbin/nsd"), reason="nsd not installed")
def test_held_user_mail_leaves_only_after_release(make_server, ns_dir):
    """The compromised-account case end to end: after the spike, the user's relayed mail stays queued (the peer
    gets nothing) until `mailfort queue release`; then it is delivered."""
    from test_outbound import Peer, zone_peer, relay_server
    import dnsserver
    peer = Peer()
    ns = dnsserver.DnsServer(ns_dir)
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        s.stop()  # restart with a low spike floor (relay_server writes its own sections)
        text = s.config.read_text().replace("[monitor]\n", "[monitor]\noutbound_spike_floor = 2\n")
        s.config.write_text(text)
        s.start()
        with s.smtp("submissions") as c:
            c.login(*ALICE)
            c.sendmail("alice@localhost", ["a@peer.test", "b@peer.test"], message("spike", sender="alice@localhost"))
        s.wait_log("hold", user="alice@localhost")
        with s.smtp("submissions") as c:
            c.login(*ALICE)
            c.sendmail("alice@localhost", ["held@peer.test"], message("held", sender="alice@localhost"))
        s.wait_count("queued", 2)
        time.sleep(3 * SLOW)
        held_rcpts = [r for m in peer.messages for r in m["rcpts"] if r == "held@peer.test"]
        assert held_rcpts == [], "mail of a held user left the queue"
        assert s.cli("queue", "release", "alice@localhost").returncode == 0
        s.wait_log("hold_released", user="alice@localhost")
        s.wait_log("delivered", rcpt="held@peer.test", timeout=30)
        assert any("held@peer.test" in m["rcpts"] for m in peer.messages)
    finally:
        peer.close()
        ns.stop()


@pytest.fixture
def ns_dir(tmp_path):
    return tmp_path / "nsd"


def spki_sha256(cert_path):
    pub = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                         check=True).stdout
    import hashlib
    return hashlib.sha256(der).hexdigest()


@pytest.mark.skipif(not shutil.which("ldns-signzone"), reason="ldnsutils not installed")
@pytest.mark.parametrize("match", [True, False])
def test_certificate_not_matching_our_published_tlsa_raises_alert(make_server, tmp_path, match):
    import dnsserver
    tls = make_cert(tmp_path, 200, "own")
    published = spki_sha256(tls["certificate"]) if match else "00" * 32
    soa = "@ 3600 IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300\n@ 3600 IN NS ns.{z}.\nns 300 IN A 127.0.0.1\n"
    ns = dnsserver.DnsServer(tmp_path / "nsd")
    anchor = ns.add_zone("own.test", soa.format(z="own.test") + "mx 300 IN A 127.0.0.1\n"
                         f"_25._tcp.mx 300 IN TLSA 3 1 1 {published}\n", sign=True)
    ns.start()
    try:
        s = make_server(tls=tls, top={"hostname": "mx.own.test"}, sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "trust_anchor": str(anchor),
                    "special_zones": ["test"], "timeout_ms": 3000}})
        ev = s.wait_log("tlsa_check")[0]
        assert ev["name"] == "_25._tcp.mx.own.test"
        assert ev["result"] == ("authenticated" if match else "mismatch"), ev
        time.sleep(0.2)
        raised = s.logs("alert_raised", name="dane_tlsa_mismatch")
        if match:
            assert raised == []
        else:
            assert [r["subject"] for r in raised] == ["mx.own.test"] and raised[0]["severity"] == "critical"
            assert "dane_tlsa_mismatch" in get(s, "/api/alerts")[2]
    finally:
        ns.stop()


def test_queue_growth_and_size_alerts_when_the_smart_host_is_down(make_server):
    """The smart host is stopped (a closed port), so relayed mail piles up: queue_growth and queue_size_high are
    each raised once, in the log, /api/alerts and the webhook."""
    rx = Receiver()
    try:
        dead = mf_free_port()
        s = make_server(relay={"smarthost": f"127.0.0.1:{dead}"}, sections={
            "monitor": {"queue_growth_alert": 3, "queue_growth_window_s": 2, "queue_size_alert": 4, "webhook": rx.url},
            "outbound": {"allow_private": True}})
        time.sleep(3 * SLOW)  # growth is measured against samples at least one window old: let some exist
        with s.smtp("submissions") as c:
            c.login(*ALICE)
            for i in range(5):
                c.sendmail("alice@localhost", [f"r{i}@example.net"], message(f"q{i}", sender="alice@localhost"))
        s.wait_log("alert_raised", name="queue_growth", timeout=30)
        s.wait_log("alert_raised", name="queue_size_high", timeout=30)
        time.sleep(2)
        assert len(s.logs("alert_raised", name="queue_growth")) == 1
        assert len(s.logs("alert_raised", name="queue_size_high")) == 1
        assert s.logs("deferred")  # the smart host really is unreachable
        alerts = get(s, "/api/alerts")[2]
        assert "queue_size_high" in alerts
        rx.wait(2)
        names = [b[2]["name"] for b in rx.bodies if b[2]["state"] == "raised"]
        assert names.count("queue_growth") == 1 and names.count("queue_size_high") == 1, rx.bodies
    finally:
        rx.close()
