# tests/integration/test_outbound.py: outbound delivery end to end: the real mailfort relays to real SMTP peers on
# loopback (127.0.0.x), found through MX records served by a real nsd; retries, bounces, STARTTLS and its policies,
# the smart host with AUTH, and kill -9 during delivery.
# SPDX-License-Identifier: MIT
import base64
import hashlib
import http.server
import socket
import socketserver
import subprocess
import ssl
import threading
import time

import pytest

import dnsserver
import mf
import report_schemas
from mf import SLOW

pytestmark = pytest.mark.skipif(not dnsserver.have_nsd(), reason="nsd not installed")

PEER_IP = "127.0.0.2"
SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
ns 3600 IN A 127.0.0.1
"""


# ---- a scriptable SMTP peer ----------------------------------------------------------------------------------------
class Peer:
    """A small SMTP server on PEER_IP: records what it receives, answers as the test says.

    rcpt(addr) -> reply line for RCPT (default 250); data() -> reply line after the message (default 250);
    tls: an ssl.SSLContext to offer STARTTLS with; auth: (user, password) to require AUTH PLAIN;
    hold: seconds to wait before answering the final dot (to kill the sender meanwhile).
    """

    def __init__(self, ip=PEER_IP, tls=None, auth=None, rcpt=None, data=None, hold=0, size=None, smtputf8=True,
                 pipelining=True):
        self.ip, self.tls, self.auth, self.hold, self.size, self.smtputf8 = ip, tls, auth, hold, size, smtputf8
        self.pipelining = pipelining
        self.rcpt = rcpt or (lambda a: "250 2.1.5 ok")
        self.data = data or (lambda: "250 2.0.0 queued")
        self.messages = []     # dicts: mail_from, rcpts, data (bytes), tls (bool), auth (user or None)
        self.sessions = []     # dicts: tls, ehlo
        self.data_count = 0
        self.lock = threading.Lock()
        peer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                peer._session(self.request)

        class Srv(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in ip else socket.AF_INET

        self.server = Srv((ip, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_messages(self, n=1, timeout=20):
        end = time.time() + timeout * SLOW
        while time.time() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"peer got {len(self.messages)} message(s), expected {n}")

    def _session(self, sock):
        sock.settimeout(30)
        state = {"sock": sock, "buf": b"", "tls": False, "auth": None}

        def send(line):
            state["sock"].sendall(line.encode() + b"\r\n")

        def readline():
            while b"\r\n" not in state["buf"]:
                d = state["sock"].recv(65536)
                if not d:
                    return None
                state["buf"] += d
            line, state["buf"] = state["buf"].split(b"\r\n", 1)
            return line.decode("utf-8", "replace")

        send("220 peer.test ESMTP test peer")
        mail_from, rcpts = None, []
        sess = {"tls": False, "ehlo": None, "with_mail": None}
        with self.lock:
            self.sessions.append(sess)
        try:
            while True:
                line = readline()
                if line is None:
                    return
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    sess["ehlo"] = line[5:]
                    caps = ["250-peer.test", "250-8BITMIME", "250-ENHANCEDSTATUSCODES"]
                    if self.pipelining:
                        caps.insert(1, "250-PIPELINING")
                    if self.smtputf8:
                        caps.append("250-SMTPUTF8")
                    if self.size is not None:
                        caps.append(f"250-SIZE {self.size}")
                    if self.tls is not None and not state["tls"]:
                        caps.append("250-STARTTLS")
                    if self.auth and state["tls"]:
                        caps.append("250-AUTH PLAIN")
                    caps[-1] = "250 " + caps[-1][4:]
                    for c in caps:
                        send(c)
                elif verb == "STARTTLS" and self.tls is not None and not state["tls"]:
                    send("220 2.0.0 go ahead")
                    state["sock"] = self.tls.wrap_socket(state["sock"], server_side=True)
                    state["buf"] = b""
                    state["tls"] = sess["tls"] = True
                elif verb == "AUTH":
                    parts = line.split()
                    ok = False
                    if len(parts) == 3 and parts[1].upper() == "PLAIN" and self.auth:
                        raw = base64.b64decode(parts[2])
                        ok = raw == b"\0" + self.auth[0].encode() + b"\0" + self.auth[1].encode()
                    if ok:
                        state["auth"] = self.auth[0]
                        send("235 2.7.0 ok")
                    else:
                        send("535 5.7.8 bad credentials")
                elif verb == "MAIL":
                    if self.auth and not state["auth"]:
                        send("530 5.7.0 authentication required")
                        continue
                    mail_from = line[10:].split(">")[0].lstrip("<")
                    rcpts = []
                    # What the client sent with MAIL in the same write (RFC 2920: every RCPT and DATA).
                    sess["with_mail"] = [ln.split(b" ")[0].split(b":")[0].decode("ascii", "replace").upper()
                                         for ln in state["buf"].split(b"\r\n") if ln]
                    send("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr = line[8:].split(">")[0].lstrip("<")
                    reply = self.rcpt(addr)
                    if reply.startswith("2"):
                        rcpts.append(addr)
                    send(reply)
                elif verb == "DATA":
                    send("354 go")
                    data = b""
                    while True:
                        while b"\r\n.\r\n" not in b"\r\n" + state["buf"] and b"\r\n.\r\n" not in data + state["buf"]:
                            d = state["sock"].recv(65536)
                            if not d:
                                return
                            state["buf"] += d
                        data += state["buf"]
                        state["buf"] = b""
                        if data.startswith(b".\r\n"):
                            data, state["buf"] = b"", data[3:]
                            break
                        i = data.find(b"\r\n.\r\n")
                        if i >= 0:
                            data, state["buf"] = data[:i + 2], data[i + 5:]
                            break
                    # RFC 5321 4.5.2: undo the transparency dot of every line that starts with one.
                    data = b"\r\n".join(ln[1:] if ln.startswith(b".") else ln for ln in data.split(b"\r\n"))
                    if self.hold:
                        time.sleep(self.hold)
                    reply = self.data()
                    with self.lock:
                        self.data_count += 1
                        if reply.startswith("2"):
                            self.messages.append({"mail_from": mail_from, "rcpts": rcpts, "data": data,
                                                  "tls": state["tls"], "auth": state["auth"]})
                    send(reply)
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                elif verb == "NOOP":
                    send("250 2.0.0 ok")
                else:
                    send("502 5.5.1 unknown")
        except (OSError, ssl.SSLError):
            return
        finally:
            try:
                state["sock"].close()
            except OSError:
                pass


# ---- fixtures --------------------------------------------------------------------------------------------------------
def zone_peer(ip=PEER_IP, extra=""):
    return SOA.format(z="peer.test") + f"""
@ 300 IN MX 10 mx.peer.test.
mx 300 IN A {ip}
{extra}
"""


@pytest.fixture
def ns(tmp_path):
    d = dnsserver.DnsServer(tmp_path / "nsd")
    yield d
    d.stop()


def relay_server(make_server, ns, port, outbound=None, queue=None, relay=None, pki=None, dkim=None, auth=None, **kw):
    sections = {
        "dns": {"servers": [ns.address], "root_anchor": "", "special_zones": ["test"], "timeout_ms": 3000},
        "outbound": {"allow_private": True, "port": port, "helo_name": "out.mailfort.test", **(outbound or {})},
        "queue": {"retry_min_s": 1, "retry_max_s": 2, "retry_jitter": 0.0, **(queue or {})},
        "relay": {"trusted_networks": ["127.0.0.1/32"], **(relay or {})},
    }
    if dkim:
        sections["dkim"] = dkim
    if auth:
        sections["auth"] = auth
    return make_server(sections=sections, **kw)


def send(server, rcpts, sender="alice@localhost", subject="outbound", body="hello\r\n.leading dot\r\nend"):
    msg = mf.message(subject=subject, body=body, sender=sender, to=", ".join(rcpts))
    with server.smtp("mx") as c:
        c.ehlo("client.test")
        c.sendmail(sender, rcpts, msg)
    return msg


def tls_ctx(pki):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(pki["chain"]), str(pki["key"]))
    return ctx


# ---- delivery through MX ---------------------------------------------------------------------------------------------
def test_delivery_via_mx_lookup(make_server, ns):
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["bob@peer.test", "carol@peer.test"])
        got = peer.wait_messages(1)[0]
        assert got["mail_from"] == "alice@localhost"
        assert sorted(got["rcpts"]) == ["bob@peer.test", "carol@peer.test"]
        assert b"\r\n.leading dot\r\n" in got["data"]  # dot-stuffing undone by the peer: content intact
        assert b"Subject: outbound" in got["data"]
        assert peer.sessions[0]["ehlo"] == "out.mailfort.test"
        ev = s.wait_log("delivered", rcpt="bob@peer.test")[0]
        assert f"mx.peer.test[{PEER_IP}]:{peer.port}" in ev["relay"]
        s.wait_log("delivered", rcpt="carol@peer.test")
        assert s.wait_queue_empty() == []
        # No TLS offered and no policy: delivered in plaintext, and the log says so.
        pt = s.wait_log("outbound_plaintext")[0]
        assert pt["policy"] == "none"
    finally:
        peer.close()


def test_private_destination_refused_unless_allowed(make_server, ns):
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"allow_private": False})
        send(s, ["bob@peer.test"])
        ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "allow_private" in ev["reason"], ev
        time.sleep(0.5)
        assert peer.data_count == 0 and peer.sessions == []
        assert len(s.queue_files()) == 1
    finally:
        peer.close()


def test_mx_name_that_reads_as_loopback_address_is_refused(make_server, ns):
    # "127.0.0.2." is a valid DNS name for an MX target: it must get the same address check as an A record.
    peer = Peer()
    try:
        ns.add_zone("peer.test", SOA.format(z="peer.test") + "@ 300 IN MX 10 127.0.0.2.\n")
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"allow_private": False})
        send(s, ["bob@peer.test"])
        ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "allow_private" in ev["reason"], ev
        time.sleep(0.5)
        assert peer.sessions == []
    finally:
        peer.close()


def test_temporary_failure_then_accept_delivers_exactly_once(make_server, ns):
    replies = ["451 4.3.0 try again later", "250 2.0.0 ok"]
    peer = Peer(data=lambda: replies.pop(0) if len(replies) > 1 else replies[0])
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["bob@peer.test"])
        d = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "451 4.3.0 try again later" in d["reason"], d
        s.wait_log("delivered", rcpt="bob@peer.test", timeout=20)
        assert s.wait_queue_empty() == []
        time.sleep(2.5)  # past another retry interval: nothing is sent again
        assert len(peer.messages) == 1 and peer.data_count == 2
    finally:
        peer.close()


def test_permanent_failure_bounces_to_local_sender(make_server, ns):
    peer = Peer()
    peer.rcpt = lambda a: f"550 5.1.1 <{a}>: no such user" if a.startswith("nobody") else "250 2.1.5 ok"
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["nobody@peer.test", "bob@peer.test"], subject="bounce-me")
        peer.wait_messages(1)
        s.wait_log("delivery_failed", rcpt="nobody@peer.test")
        bounce = s.wait_maildir("alice")[0]
        text = bounce.decode("utf-8", "replace")
        assert "Content-Type: multipart/report; report-type=delivery-status" in text
        assert "Final-Recipient: rfc822; nobody@peer.test" in text
        assert "Action: failed" in text and "Status: 5.1.1" in text
        assert "Diagnostic-Code: smtp; 550 5.1.1 <nobody@peer.test>: no such user" in text
        assert "Subject: bounce-me" in text          # the original headers come back
        assert "leading dot" not in text              # the body does not
        assert "bob@peer.test" not in text.split("message/delivery-status", 1)[1].split("text/rfc822-headers")[0]
        assert s.wait_queue_empty() == []
        b = s.wait_log("bounce_queued")[0]
        assert b["rcpts"] == 1
    finally:
        peer.close()


@pytest.mark.parametrize("pipelining", [True, False])
def test_pipelining_per_recipient_results(make_server, ns, pipelining):
    # RFC 2920: with PIPELINING, MAIL + both RCPTs + DATA reach the peer in one write; the replies are matched in
    # order, so the refused recipient bounces and the accepted one is delivered exactly once. Without the
    # extension, MAIL arrives alone.
    peer = Peer(pipelining=pipelining)
    peer.rcpt = lambda a: "550 5.1.1 no such user here" if a.startswith("nobody") else "250 2.1.5 ok"
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["nobody@peer.test", "bob@peer.test", "carol@peer.test"], subject="pipelined")
        got = peer.wait_messages(1)[0]
        assert got["rcpts"] == ["bob@peer.test", "carol@peer.test"]
        sess = [x for x in peer.sessions if x["with_mail"] is not None][0]
        if pipelining:
            assert sess["with_mail"] == ["RCPT", "RCPT", "RCPT", "DATA"], sess
        else:
            assert sess["with_mail"] == [], sess
        ev = s.wait_log("delivery_failed", rcpt="nobody@peer.test")[0]
        assert "550 5.1.1 no such user here" in ev["reason"], ev
        s.wait_log("delivered", rcpt="bob@peer.test")
        s.wait_log("delivered", rcpt="carol@peer.test")
        bounce = s.wait_maildir("alice")[0].decode("utf-8", "replace")
        assert "Final-Recipient: rfc822; nobody@peer.test" in bounce
        assert s.wait_queue_empty() == []
        assert peer.data_count == 1
    finally:
        peer.close()


def test_pipelining_every_recipient_refused_sends_no_message(make_server, ns):
    # Everything refused, yet a (broken) peer answers 354 to the pipelined DATA: the client ends an empty
    # message ("." alone) instead of sending the content, and the recipients bounce.
    peer = Peer(rcpt=lambda a: "550 5.1.1 no")
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["nobody@peer.test"], subject="refused")
        s.wait_log("delivery_failed", rcpt="nobody@peer.test")
        end = time.time() + 5 * SLOW
        while time.time() < end and peer.data_count == 0:
            time.sleep(0.05)
        assert peer.data_count == 1  # the lone "." ended the DATA the peer had opened
        assert [m["data"] for m in peer.messages] == [b""]  # never the content
        assert s.wait_queue_empty() == []
    finally:
        peer.close()


def test_delay_notice_once_per_recipient_never_to_null_sender(make_server, ns):
    # queue.delay_warning_s = 1: the first retry after a second sends the sender one "delayed" DSN; later
    # deferrals send none, and a message from the null sender never gets one.
    peer = Peer(data=lambda: "451 4.3.0 try again later")
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port, queue={"delay_warning_s": 1})
        send(s, ["bob@peer.test"], subject="slow")
        send(s, ["carol@peer.test"], sender="", subject="slow-null")
        ev = s.wait_log("delay_notice_queued", timeout=15)[0]
        assert ev["rcpts"] == 1 and ev["to"] == "alice@localhost", ev
        notice = s.wait_maildir("alice")[0].decode("utf-8", "replace")
        assert "Subject: Delayed Mail (still being retried)" in notice
        assert "Final-Recipient: rfc822; bob@peer.test" in notice
        assert "Action: delayed" in notice and "Status: 4.3.0" in notice
        assert "451 4.3.0 try again later" in notice
        assert "Action: failed" not in notice
        s.wait_log("bounce_suppressed", timeout=15)  # the null sender's notice is suppressed
        n = len(s.logs("deferred", rcpt="bob@peer.test"))
        s.wait_count("deferred", n + 2, rcpt="bob@peer.test", timeout=15)  # two more deferrals ...
        assert len(s.maildir_messages("alice")) == 1  # ... and still one notice
        assert len(s.logs("delay_notice_queued")) == 1
    finally:
        peer.close()


def test_no_bounce_to_null_sender(make_server, ns):
    peer = Peer(rcpt=lambda a: "550 5.1.1 no such user")
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["nobody@peer.test"], sender="")
        s.wait_log("delivery_failed", rcpt="nobody@peer.test")
        s.wait_log("bounce_suppressed")
        assert s.wait_queue_empty() == []
        assert s.logs("bounce_queued") == []
    finally:
        peer.close()


def test_null_mx_bounces_immediately(make_server, ns):
    ns.add_zone("nomail.test", SOA.format(z="nomail.test") + "@ 300 IN MX 0 .\n")
    ns.start()
    s = relay_server(make_server, ns, 2525)
    send(s, ["x@nomail.test"])
    ev = s.wait_log("delivery_failed", rcpt="x@nomail.test")[0]
    assert "null MX" in ev["reason"]
    bounce = s.wait_maildir("alice")[0].decode()
    assert "Status: 5.1.10" in bounce


def test_smtputf8_needed_but_not_offered_bounces_with_reason(make_server, ns):
    peer = Peer(smtputf8=False)
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        r = s.raw_client("mx")
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.test")[0] == 250
        assert r.cmd("MAIL FROM:<alice@localhost> SMTPUTF8")[0] == 250
        assert r.cmd("RCPT TO:<j\u00f6rg@peer.test>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send("Subject: utf8\r\n\r\nhi\r\n.\r\n")
        assert r.reply()[0] == 250
        r.close()
        ev = s.wait_log("delivery_failed")[0]
        assert "SMTPUTF8" in ev["reason"]
        bounce = s.wait_maildir("alice")[0].decode("utf-8", "replace")
        assert "Status: 5.6.7" in bounce
        assert peer.data_count == 0
    finally:
        peer.close()


# ---- STARTTLS and policies ---------------------------------------------------------------------------------------------
def test_starttls_used_when_offered(make_server, ns, pki):
    peer = Peer(tls=tls_ctx(pki))
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["bob@peer.test"])
        got = peer.wait_messages(1)[0]
        assert got["tls"] is True
        ev = s.wait_log("outbound_tls")[0]
        assert ev["version"] in ("TLSv1.2", "TLSv1.3")
        assert ev["verified"] is False  # mx.peer.test is not a name on the test certificate; opportunistic anyway
        assert s.logs("outbound_plaintext") == []
    finally:
        peer.close()


def test_smarthost_with_auth_inside_verified_tls(make_server, ns, pki, tmp_path):
    peer = Peer(ip="127.0.0.1", tls=tls_ctx(pki), auth=("relayuser", "relay-secret"))
    try:
        ns.add_zone("peer.test", zone_peer(ip="192.0.2.1"))  # MX routing would go elsewhere: the smart host wins
        ns.start()
        pw = tmp_path / "smarthost.pw"
        pw.write_text("relay-secret\n")
        s = relay_server(make_server, ns, 25, outbound={"ca_file": str(pki["ca"])},
                         relay={"smarthost": f"127.0.0.1:{peer.port}", "smarthost_user": "relayuser",
                                "smarthost_password_file": str(pw)})
        send(s, ["bob@peer.test"])
        got = peer.wait_messages(1)[0]
        assert got["tls"] is True and got["auth"] == "relayuser"
        ev = s.wait_log("delivered", rcpt="bob@peer.test")[0]
        assert f"127.0.0.1[127.0.0.1]:{peer.port}" in ev["relay"]
        assert s.wait_log("outbound_tls")[0]["verified"] is True
    finally:
        peer.close()


def test_smarthost_ipv6_literal(make_server, ns):
    """relay.smarthost = "[::1]:PORT" reaches the IPv6 peer on that port (one host:port reader for config and
    delivery; delivery once read a bare IPv6 address as host "2001:db8:" and port 1)."""
    peer = Peer(ip="::1")
    try:
        ns.add_zone("peer.test", zone_peer(ip="192.0.2.1"))  # MX routing would go elsewhere: the smart host wins
        ns.start()
        s = relay_server(make_server, ns, 25, relay={"smarthost": f"[::1]:{peer.port}"})
        send(s, ["bob@peer.test"])
        got = peer.wait_messages(1)[0]
        assert got["rcpts"] == ["bob@peer.test"]
        ev = s.wait_log("delivered", rcpt="bob@peer.test")[0]
        assert f"::1[::1]:{peer.port}" in ev["relay"], ev
    finally:
        peer.close()
    # A bare IPv6 address has no port, and "2001:db8::1:25" is not one: the config refuses both, by name.
    for bad in ("2001:db8::1", "2001:db8::1:25"):
        c = make_server(start=False, users=(), relay={"smarthost": bad})
        r = c.cli("config", "check", check=False)
        assert r.returncode != 0, (bad, r.stdout)
        assert "relay.smarthost" in r.stdout + r.stderr and bad in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_smarthost_auth_never_sent_without_verified_tls(make_server, ns, tmp_path):
    peer = Peer(ip="127.0.0.1", auth=("relayuser", "relay-secret"))  # no STARTTLS at all
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        pw = tmp_path / "smarthost.pw"
        pw.write_text("relay-secret\n")
        s = relay_server(make_server, ns, 25,
                         relay={"smarthost": f"127.0.0.1:{peer.port}", "smarthost_user": "relayuser",
                                "smarthost_password_file": str(pw)})
        send(s, ["bob@peer.test"])
        ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "STARTTLS not offered" in ev["reason"], ev
        assert peer.messages == []
    finally:
        peer.close()


# ---- crash safety --------------------------------------------------------------------------------------------------------
def test_kill9_during_delivery_then_restart_no_loss(make_server, ns):
    peer = Peer(hold=3)
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["bob@peer.test"], subject="survivor")
        # Wait until the message is inside DATA at the peer, then kill the sender.
        end = time.time() + 15 * SLOW
        while time.time() < end and not any(t for t in peer.sessions if t["ehlo"]):
            time.sleep(0.02)
        time.sleep(0.3)
        s.kill9()
        assert len(s.queue_files()) == 1  # still queued: nothing was acknowledged to us
        peer.hold = 0
        s.start()
        s.wait_log("delivered", rcpt="bob@peer.test", timeout=20)
        msgs = peer.wait_messages(1)
        assert all(b"Subject: survivor" in m["data"] for m in msgs)
        assert 1 <= len(msgs) <= 2  # at least once; the held first copy may also have been accepted
        assert s.wait_queue_empty() == []
    finally:
        peer.close()


# ---- MTA-STS and DANE ------------------------------------------------------------------------------------------------
STS_IP = "127.0.0.3"


def leaf_cert(pki, names, outdir):
    """A leaf for `names` signed by the test CA; returns (chain_pem, key_pem, '3 1 1' TLSA hex)."""
    outdir.mkdir(parents=True, exist_ok=True)
    key, csr, crt, ext = (outdir / n for n in ("leaf.key", "leaf.csr", "leaf.pem", "leaf.ext"))
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=30)  # noqa: E731
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    run("openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={names[0]}", "-out", str(csr))
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki["ca"]), "-CAkey", str(pki["dir"] / "ca.key"),
        "-CAcreateserial", "-CAserial", str(outdir / "ca.srl"), "-sha256", "-days", "30", "-extfile", str(ext),
        "-out", str(crt))
    chain = outdir / "chain.pem"
    chain.write_bytes(crt.read_bytes() + pki["ca"].read_bytes())
    spki = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                          capture_output=True).stdout
    return chain, key, hashlib.sha256(spki).hexdigest()


def server_ctx(chain, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(chain), str(key))
    return ctx


class StsServer:
    """HTTPS on STS_IP serving /.well-known/mta-sts.txt (or 404 when policy is None)."""

    def __init__(self, ctx, policy):
        self.policy = policy
        self.hits = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                if self.path != "/.well-known/mta-sts.txt" or outer.policy is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = outer.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((STS_IP, 0), H)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def sts_policy(mode, mx="mx.peer.test"):
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n"


@pytest.fixture
def sts_setup(tmp_path, pki):
    chain, key, _ = leaf_cert(pki, ["mta-sts.peer.test", "mx.peer.test"], tmp_path / "leaf")
    return {"ctx": server_ctx(chain, key), "chain": chain, "key": key}


def sts_zone(sts_id="20261204"):
    return zone_peer(extra=f'_mta-sts 300 IN TXT "v=STSv1; id={sts_id};"\nmta-sts 300 IN A {STS_IP}\n')


@pytest.mark.parametrize("starttls", [False, True])
def test_mta_sts_enforce_requires_verified_tls(make_server, ns, pki, sts_setup, starttls):
    sts = StsServer(sts_setup["ctx"], sts_policy("enforce"))
    peer = Peer(tls=sts_setup["ctx"] if starttls else None)
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port,
                         outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"])
        s.wait_log("mta_sts_policy", domain="peer.test", mode="enforce")
        if starttls:
            got = peer.wait_messages(1)[0]
            assert got["tls"] is True
            ev = s.wait_log("outbound_tls")[0]
            assert ev["verified"] is True and ev["policy"] == "mta-sts"
        else:
            # A peer that strips STARTTLS (downgrade): never sent in plaintext, deferred.
            ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
            assert "STARTTLS not offered" in ev["reason"], ev
            time.sleep(1.5 * SLOW)
            assert peer.messages == [] and peer.data_count == 0
            assert s.logs("outbound_plaintext") == []
    finally:
        sts.close()
        peer.close()


def test_mta_sts_enforce_wrong_certificate_defers(make_server, ns, pki):
    # The peer presents the localhost certificate: valid chain, wrong name for mx.peer.test.
    chain, key, _ = leaf_cert(pki, ["mta-sts.peer.test"], pki["dir"] / "sts-only")
    sts = StsServer(server_ctx(chain, key), sts_policy("enforce"))
    peer = Peer(tls=tls_ctx(pki))
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"])
        ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "verification failed" in ev["reason"], ev
        assert peer.messages == []
    finally:
        sts.close()
        peer.close()


def test_mta_sts_enforce_mismatching_mx_defers(make_server, ns, pki, sts_setup):
    sts = StsServer(sts_setup["ctx"], sts_policy("enforce", mx="mail.elsewhere.test"))
    peer = Peer(tls=sts_setup["ctx"])
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"])
        ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
        assert "MTA-STS" in ev["reason"], ev
        s.wait_log("mta_sts_mx_mismatch", mx="mx.peer.test")
        assert peer.sessions == []
    finally:
        sts.close()
        peer.close()


def test_mta_sts_testing_mode_delivers_and_reports(make_server, ns, pki, sts_setup):
    sts = StsServer(sts_setup["ctx"], sts_policy("testing"))
    peer = Peer()  # no STARTTLS
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"])
        peer.wait_messages(1)
        s.wait_log("mta_sts_testing_failure", domain="peer.test")
        s.wait_log("delivered", rcpt="bob@peer.test")
    finally:
        sts.close()
        peer.close()


def test_mta_sts_policy_404_delivers_as_without_policy(make_server, ns, pki, sts_setup):
    sts = StsServer(sts_setup["ctx"], None)
    peer = Peer()
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"])
        peer.wait_messages(1)
        ev = s.wait_log("mta_sts_fetch_failed", domain="peer.test")[0]
        assert "404" in ev["reason"]
        assert sts.hits >= 1
        s.wait_log("delivered", rcpt="bob@peer.test")
        shown = s.cli("tlsrpt", "show").stdout  # TLS-RPT: the fetch error, then a plaintext session without policy
        assert "peer.test  sts  sts-policy-fetch-error" in shown, shown
        assert "peer.test  no-policy-found  starttls-not-supported  mx.peer.test  1" in shown, shown
    finally:
        sts.close()
        peer.close()


def test_mta_sts_cached_policy_used_while_https_down(make_server, ns, pki, sts_setup):
    sts = StsServer(sts_setup["ctx"], sts_policy("enforce"))
    peer = Peer()  # no STARTTLS: only the cached enforce policy can stop a plaintext delivery
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"], subject="first")
        s.wait_log("mta_sts_policy", domain="peer.test")
        s.wait_log("deferred", rcpt="bob@peer.test")
        sts.close()  # the policy server goes away; the cache (max_age 1 day) still applies
        sts = None
        n = len(s.logs("deferred"))
        s.wait_count("deferred", n + 1, timeout=10)
        assert len(s.logs("mta_sts_policy")) == 1
        assert peer.messages == [] and s.logs("outbound_plaintext") == []
    finally:
        if sts:
            sts.close()
        peer.close()


def test_mta_sts_policy_cache_survives_restart(make_server, ns, pki, sts_setup):
    # The policy is stored in state.db with its max_age: after a restart with the policy server gone, the
    # enforce policy still applies and the downgrade peer (no STARTTLS) never gets the message.
    sts = StsServer(sts_setup["ctx"], sts_policy("enforce"))
    peer = Peer()  # strips STARTTLS
    try:
        ns.add_zone("peer.test", sts_zone())
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port})
        send(s, ["bob@peer.test"], subject="before")
        s.wait_log("mta_sts_policy", domain="peer.test", mode="enforce")
        s.wait_log("deferred", rcpt="bob@peer.test")
        sts.close()
        sts = None
        s.stop()
        s.start()
        ev = s.wait_log("mta_sts_policy_loaded", domain="peer.test")[0]
        assert ev["mode"] == "enforce" and ev["expired"] is False, ev
        send(s, ["carol@peer.test"], subject="after")
        d = s.wait_log("deferred", rcpt="carol@peer.test")[0]
        assert "STARTTLS not offered" in d["reason"], d
        s.wait_log("deferred", rcpt="bob@peer.test")
        assert s.logs("mta_sts_fetch_failed") == []  # the cached id matches the TXT record: no fetch needed
        assert peer.messages == [] and peer.data_count == 0 and s.logs("outbound_plaintext") == []
        assert len(s.queue_files()) == 2
    finally:
        if sts:
            sts.close()
        peer.close()


def dane_zone(tlsa_port, tlsa_hex):
    return zone_peer(extra=f"_{tlsa_port}._tcp.mx 300 IN TLSA 3 1 1 {tlsa_hex}\n")


def dane_server(make_server, ns, anchor, port):
    return make_server(sections={
        "dns": {"servers": [ns.address], "root_anchor": "", "trust_anchor": str(anchor), "special_zones": ["test"],
                "timeout_ms": 3000},
        "outbound": {"allow_private": True, "port": port, "dane": True, "mta_sts": False},
        "queue": {"retry_min_s": 1, "retry_max_s": 2, "retry_jitter": 0.0},
        "relay": {"trusted_networks": ["127.0.0.1/32"]}})


@pytest.mark.skipif(not dnsserver.have_ldns(), reason="ldnsutils not installed")
@pytest.mark.parametrize("case", ["match", "mismatch", "no_starttls"])
def test_dane(make_server, ns, pki, tmp_path, case):
    chain, key, tlsa = leaf_cert(pki, ["mx.peer.test"], tmp_path / "dane-leaf")
    peer = Peer(tls=None if case == "no_starttls" else server_ctx(chain, key))
    try:
        published = tlsa if case != "mismatch" else "00" * 32
        anchor = ns.add_zone("peer.test", dane_zone(peer.port, published), sign=True)
        ns.start()
        s = dane_server(make_server, ns, anchor, peer.port)
        s.wait_log("dane_available")
        send(s, ["bob@peer.test"])
        if case == "match":
            peer.wait_messages(1)
            ev = s.wait_log("outbound_tls")[0]
            assert ev["policy"] == "dane" and ev["verified"] is True, ev
        else:
            ev = s.wait_log("deferred", rcpt="bob@peer.test")[0]
            assert ("TLSA" in ev["reason"]) if case == "mismatch" else ("STARTTLS not offered" in ev["reason"]), ev
            time.sleep(1.5 * SLOW)
            assert peer.messages == []
            # Counted for TLS-RPT under the DANE policy, with RFC 8460's result type.
            result = "tlsa-invalid" if case == "mismatch" else "starttls-not-supported"
            assert f"peer.test  tlsa  {result}  mx.peer.test" in s.cli("tlsrpt", "show").stdout
    finally:
        peer.close()


def break_rrsig(rrtype):
    """A tamper function for DnsServer.add_zone: corrupts the signature of the RRSIG covering `rrtype`."""
    def tamper(text):
        out = []
        for line in text.splitlines():
            f = line.split()
            if len(f) > 5 and f[3] == "RRSIG" and f[4] == rrtype:
                sig = f[-1]
                i = len(sig) // 2
                f[-1] = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
                line = "\t".join(f)
            out.append(line)
        return "\n".join(out) + "\n"
    return tamper


def wrong_ds(anchor_file):
    """The same DS record with one digest digit changed: the key the zone is signed with no longer matches."""
    text = open(anchor_file).read().strip()
    d = text[-1]
    return text[:-1] + ("0" if d != "0" else "1") + "\n"


@pytest.mark.skipif(not dnsserver.have_ldns(), reason="ldnsutils not installed")
@pytest.mark.parametrize("case", ["tlsa_rrsig", "ds_mismatch"])
def test_dane_bogus_dnssec_defers(make_server, ns, pki, tmp_path, case):
    # Bogus DNSSEC never degrades to an unauthenticated delivery (RFC 7672 2.2): a TLSA RRset whose signature is
    # broken makes its MX host unusable, and a zone whose DS does not match its key cannot even be routed.
    chain, key, tlsa = leaf_cert(pki, ["mx.peer.test", "mx.bogus.test"], tmp_path / "dane-leaf")
    peer = Peer(tls=server_ctx(chain, key))
    try:
        tamper = break_rrsig("TLSA") if case == "tlsa_rrsig" else None
        anchor = ns.add_zone("peer.test", dane_zone(peer.port, tlsa), sign=True, tamper=tamper)
        if case == "ds_mismatch":
            b = ns.add_zone("bogus.test", SOA.format(z="bogus.test") + f"""
@ 300 IN MX 10 mx.bogus.test.
mx 300 IN A {PEER_IP}
_{peer.port}._tcp.mx 300 IN TLSA 3 1 1 {tlsa}
""", sign=True)
            both = tmp_path / "anchors.ds"  # peer.test first: the resolver's self-check uses the first anchor
            both.write_text(open(anchor).read().strip() + "\n" + wrong_ds(b))
            anchor = both
        ns.start()
        s = dane_server(make_server, ns, anchor, peer.port)
        s.wait_log("dane_available")
        rcpt = "bob@peer.test" if case == "tlsa_rrsig" else "bob@bogus.test"
        send(s, [rcpt])
        ev = s.wait_log("deferred", rcpt=rcpt)[0]
        if case == "tlsa_rrsig":
            assert "TLSA lookup failed" in ev["reason"], ev
            lf = s.wait_log("dane_lookup_failed", mx="mx.peer.test")[0]
            assert "dnssec" in lf["reason"].lower() or "signature" in lf["reason"].lower(), lf
            assert "peer.test  tlsa  dnssec-invalid  mx.peer.test" in s.cli("tlsrpt", "show").stdout
        else:
            assert "MX lookup of bogus.test failed" in ev["reason"], ev
        s.wait_count("deferred", 2, rcpt=rcpt, timeout=10)  # retried, still deferred
        assert peer.sessions == [] and peer.messages == []  # never connected, so never sent in plaintext
        assert s.logs("outbound_plaintext") == [] and s.logs("delivered") == []
        assert len(s.queue_files()) == 1
    finally:
        peer.close()


@pytest.mark.skipif(not dnsserver.have_ldns(), reason="ldnsutils not installed")
@pytest.mark.parametrize("fallback", ["opportunistic", "mta-sts"])
def test_dane_insecure_tlsa_ignored_falls_back(make_server, ns, pki, tmp_path, fallback):
    # The MX host lives in an unsigned zone: its (mismatching) TLSA record is insecure, so it must be ignored
    # (RFC 7672 2.2) and delivery goes on under MTA-STS when the domain publishes it, else opportunistic STARTTLS.
    # Were the TLSA used, the mismatch would defer the message.
    chain, key, _ = leaf_cert(pki, ["mx.plain.test", "mta-sts.plain.test"], tmp_path / "insecure-leaf")
    ctx = server_ctx(chain, key)
    peer = Peer(tls=ctx)
    sts = StsServer(ctx, sts_policy("enforce", mx="mx.plain.test")) if fallback == "mta-sts" else None
    try:
        plain = SOA.format(z="plain.test") + f"""
mx 300 IN A {PEER_IP}
_{peer.port}._tcp.mx 300 IN TLSA 3 1 1 {"00" * 32}
"""
        if fallback == "mta-sts":
            # The recipient domain is the unsigned one, publishing MTA-STS.
            plain += f'@ 300 IN MX 10 mx.plain.test.\n_mta-sts 300 IN TXT "v=STSv1; id=1;"\nmta-sts 300 IN A {STS_IP}\n'
        # peer.test is signed (the resolver validates, DANE is on) and its secure MX points into plain.test.
        anchor = ns.add_zone("peer.test", SOA.format(z="peer.test") + "@ 300 IN MX 10 mx.plain.test.\n", sign=True)
        ns.add_zone("plain.test", plain)
        ns.start()
        s = make_server(sections={
            "dns": {"servers": [ns.address], "root_anchor": "", "trust_anchor": str(anchor),
                    "special_zones": ["test"], "timeout_ms": 3000},
            "outbound": {"allow_private": True, "port": peer.port, "dane": True, "mta_sts": True,
                         "ca_file": str(pki["ca"]), "mta_sts_port": sts.port if sts else 443},
            "queue": {"retry_min_s": 1, "retry_max_s": 2, "retry_jitter": 0.0},
            "relay": {"trusted_networks": ["127.0.0.1/32"]}})
        s.wait_log("dane_available")
        rcpt = "bob@plain.test" if fallback == "mta-sts" else "bob@peer.test"
        send(s, [rcpt])
        got = peer.wait_messages(1)[0]
        assert got["tls"] is True and got["rcpts"] == [rcpt]
        ev = s.wait_log("outbound_tls")[0]
        if fallback == "mta-sts":
            s.wait_log("mta_sts_policy", domain="plain.test", mode="enforce")
            assert ev["policy"] == "mta-sts" and ev["verified"] is True, ev
        else:
            assert ev["policy"] == "none", ev
        s.wait_log("delivered", rcpt=rcpt)
        assert s.logs("dane_lookup_failed") == []
    finally:
        if sts:
            sts.close()
        peer.close()


def test_dane_off_when_resolver_does_not_validate(make_server, ns):
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)  # root_anchor "" and no trust anchor
        ev = s.wait_log("dane_unavailable")[0]
        assert ev["level"] == "warning"
        send(s, ["bob@peer.test"])
        peer.wait_messages(1)
    finally:
        peer.close()


# ---- TLS-RPT (RFC 8460) ----------------------------------------------------------------------------------------------
def tlsrpt_attachment(data):
    """(headers, report JSON) of a TLS-RPT mail as the peer received it."""
    import email
    import gzip
    import json
    msg = email.message_from_bytes(data)
    parts = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
    assert len(parts) == 1, msg.as_string()[:2000]
    return msg, json.loads(gzip.decompress(parts[0].get_payload(decode=True)))


def test_tlsrpt_counts_sessions_and_mails_the_report(make_server, ns, pki, sts_setup, tmp_path):
    # mx2.peer.test (preferred) presents a certificate without its name: under MTA-STS enforce that session fails
    # (certificate-host-mismatch) and mx.peer.test takes the message. Two messages: 2 successful sessions,
    # 2 failed ones, reported to the rua of _smtp._tls.peer.test, a mailbox on the same peer.
    sts = StsServer(sts_setup["ctx"], "version: STSv1\r\nmode: enforce\r\nmx: mx.peer.test\r\nmx: mx2.peer.test\r\n"
                                      "max_age: 86400\r\n")
    peer = Peer(tls=sts_setup["ctx"])
    try:
        ns.add_zone("peer.test", SOA.format(z="peer.test") + f"""
@ 300 IN MX 10 mx.peer.test.
@ 300 IN MX 5 mx2.peer.test.
mx 300 IN A {PEER_IP}
mx2 300 IN A {PEER_IP}
_mta-sts 300 IN TXT "v=STSv1; id=1;"
mta-sts 300 IN A {STS_IP}
_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@peer.test"
""")
        ns.start()
        # A DKIM key for our host name (mx.test): the report is signed with it.
        key = tmp_path / "rpt.key"
        kg = subprocess.run([mf.BIN, "dkim", "keygen", "--domain", "mx.test", "--selector", "rpt", "--algo",
                             "rsa2048", "--out", str(key)], check=True, capture_output=True, text=True, timeout=30)
        dkim_txt = dict(ln.split(": ", 1) for ln in kg.stdout.splitlines())["value"]
        s = relay_server(make_server, ns, peer.port, outbound={"ca_file": str(pki["ca"]), "mta_sts_port": sts.port},
                         dkim={"keys": [{"domain": "mx.test", "selector": "rpt", "key": str(key)}]})
        for i in range(2):
            send(s, ["bob@peer.test"], subject=f"m{i}")
            s.wait_count("delivered", i + 1, rcpt="bob@peer.test")
        out = s.cli("tlsrpt", "show").stdout
        assert "peer.test  sts  certificate-host-mismatch  mx2.peer.test  2" in out, out
        assert "peer.test  sts  success  mx.peer.test  2" in out, out
        sent = s.cli("tlsrpt", "send").stdout
        assert "1 report(s) queued" in sent, sent
        msgs = peer.wait_messages(3)
        reports = [m for m in msgs if m["rcpts"] == ["tls-reports@peer.test"]]
        assert len(reports) == 1
        assert reports[0]["mail_from"] == ""  # null envelope sender: a report never bounces
        hdr, rep = tlsrpt_attachment(reports[0]["data"])
        submitter = hdr["TLS-Report-Submitter"]
        assert hdr["TLS-Report-Domain"] == "peer.test"
        assert hdr["Subject"] == f"Report Domain: peer.test Submitter: {submitter} Report-ID: <{rep['report-id']}>"
        assert hdr.get_content_type() == "multipart/report" and hdr.get_param("report-type") == "tlsrpt"
        assert "d=mx.test" in hdr["DKIM-Signature"] and "s=rpt" in hdr["DKIM-Signature"]
        try:
            import dkim
        except ImportError:
            dkim = None
        if dkim:  # the signature verifies (dkimpy, the published key record served by this function)
            assert dkim.verify(reports[0]["data"], dnsfunc=lambda name, timeout=5: dkim_txt.encode())
        report_schemas.validate_tlsrpt_json(rep)  # RFC 8460's report schema (issue 15 item 8)
        assert rep["organization-name"] == submitter
        assert rep["date-range"]["start-datetime"].endswith("T00:00:00Z")
        assert rep["date-range"]["end-datetime"].endswith("T23:59:59Z")
        assert "@" in rep["contact-info"]
        assert len(rep["policies"]) == 1, rep
        p = rep["policies"][0]
        assert p["policy"]["policy-type"] == "sts"
        assert p["policy"]["policy-domain"] == "peer.test"
        assert sorted(p["policy"]["mx-host"]) == ["mx.peer.test", "mx2.peer.test"]
        assert "mode: enforce" in p["policy"]["policy-string"]
        assert p["summary"] == {"total-successful-session-count": 2, "total-failure-session-count": 2}, p
        assert len(p["failure-details"]) == 1, p
        d = p["failure-details"][0]
        assert d["result-type"] == "certificate-host-mismatch"
        assert d["receiving-mx-hostname"] == "mx2.peer.test" and d["receiving-ip"] == PEER_IP
        assert d["sending-mta-ip"].startswith("127.") and d["failed-session-count"] == 2
        # The reported day is gone from the store: only the report's own delivery is counted now.
        out = s.cli("tlsrpt", "show").stdout
        assert "certificate-host-mismatch  mx2.peer.test  2" not in out, out
    finally:
        sts.close()
        peer.close()


def test_tlsrpt_no_policy_plaintext_and_no_record(make_server, ns):
    # No policy and no STARTTLS: counted as a no-policy-found failure (starttls-not-supported); the domain
    # publishes no TLSRPT record, so `tlsrpt send` drops the counts without mailing anything.
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        s = relay_server(make_server, ns, peer.port)
        send(s, ["bob@peer.test"])
        s.wait_log("delivered", rcpt="bob@peer.test")
        out = s.cli("tlsrpt", "show").stdout
        assert "peer.test  no-policy-found  starttls-not-supported  mx.peer.test  1" in out, out
        # As the daily timer does: today is not complete, so nothing is reported yet and the counts stay.
        early = s.cli("tlsrpt", "send", "--completed-only").stdout
        assert "0 report(s) queued for 0 domain-day(s)" in early, early
        assert "starttls-not-supported" in s.cli("tlsrpt", "show").stdout
        sent = s.cli("tlsrpt", "send").stdout
        assert "0 report(s) queued" in sent and "1 without a TLSRPT record" in sent, sent
        assert "no TLS sessions recorded" in s.cli("tlsrpt", "show").stdout
        time.sleep(0.5)
        assert len(peer.messages) == 1
    finally:
        peer.close()


def test_tlsrpt_daily_timer_reports_completed_days(make_server, ns):
    # The server's own timer (outbound.tlsrpt_interval_s, 1 s here) reports days before today: a row recorded
    # yesterday (written into state.db as the server would have) is mailed without any CLI.
    import datetime
    import sqlite3
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer(extra='_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@peer.test"'))
        ns.start()
        s = relay_server(make_server, ns, peer.port, outbound={"tlsrpt_interval_s": 1})
        yesterday = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        db = sqlite3.connect(str(s.data / "state.db"), timeout=10)
        db.execute("INSERT INTO tlsrpt_sessions VALUES(?, 'peer.test', 'sts', ?, 'mx.peer.test', 'certificate-expired', "
                   "'127.0.0.1', 'mx.peer.test', '127.0.0.2', 'certificate has expired', 7)",
                   (yesterday, "version: STSv1\nmode: enforce\nmx: mx.peer.test\nmax_age: 86400"))
        db.commit()
        db.close()
        got = peer.wait_messages(1, timeout=15)[0]
        assert got["rcpts"] == ["tls-reports@peer.test"]
        _, rep = tlsrpt_attachment(got["data"])
        assert rep["date-range"]["start-datetime"] == yesterday + "T00:00:00Z"
        p = rep["policies"][0]
        assert p["policy"]["policy-string"] == ["version: STSv1", "mode: enforce", "mx: mx.peer.test", "max_age: 86400"]
        assert p["summary"] == {"total-successful-session-count": 0, "total-failure-session-count": 7}
        assert p["failure-details"][0]["result-type"] == "certificate-expired"
        s.wait_log("tlsrpt_report_queued", domain="peer.test", day=yesterday)
        time.sleep(1.5)  # more timer runs: the day was reported once
        assert len([m for m in peer.messages if m["rcpts"] == ["tls-reports@peer.test"]]) == 1
    finally:
        peer.close()


# ---- DMARC aggregate reports (RFC 7489 7.2) ---------------------------------------------------------------------------
DMARC_ON = {"spf": True, "dkim": True, "dmarc": True}


def dmarc_report_of(data):
    """(headers, XML root) of a DMARC aggregate report mail as the peer received it."""
    import email
    import gzip
    import xml.etree.ElementTree as ET
    msg = email.message_from_bytes(data)
    parts = [p for p in msg.walk() if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, msg.as_string()[:2000]
    return msg, parts[0], ET.fromstring(gzip.decompress(parts[0].get_payload(decode=True)))


def dmarc_records(root):
    """{(source_ip, disposition, dkim, spf, header_from): count} of a report."""
    out = {}
    for rec in root.findall("record"):
        row = rec.find("row")
        pe = row.find("policy_evaluated")
        key = (row.findtext("source_ip"), pe.findtext("disposition"), pe.findtext("dkim"), pe.findtext("spf"),
               rec.findtext("identifiers/header_from"))
        out[key] = int(row.findtext("count"))
    return out


def inbound_mail(server, mail_from, from_header, subject):
    """One message to alice@localhost on the MX listener; True when accepted, False when refused (550)."""
    import smtplib
    m = (f"From: {from_header}\r\nTo: alice@localhost\r\nSubject: {subject}\r\n"
         f"Message-ID: <{subject}@client.test>\r\n\r\nhello\r\n").encode()
    with server.smtp("mx") as c:
        c.ehlo("client.test")
        try:
            c.sendmail(mail_from, ["alice@localhost"], m)
            return True
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 550, e
            return False


def cli_events(out, event, **fields):
    """The log events of that name (and these field values) a CLI command printed (JSON lines on stdout)."""
    import json
    evs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    found = [e for e in evs if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())]
    assert found, f"no {event} {fields} in: {out}"
    return found


def wait_dmarc_rows(server, expect_total):
    """`dmarc report show` once the rows (written on the CPU pool after each message) add up to expect_total."""
    out = ""
    end = time.time() + 10 * SLOW
    while time.time() < end:
        out = server.cli("dmarc", "report", "show").stdout
        total = sum(int(line.split()[-1]) for line in out.splitlines() if line[:2] == "20")
        if total >= expect_total:
            return out
        time.sleep(0.1)
    raise AssertionError(f"DMARC rows did not reach {expect_total}: {out}")


def test_dmarc_report_sent_to_rua_in_the_same_organizational_domain(make_server, ns, tmp_path):
    # peer.test publishes p=reject with a mailto: rua on its own domain (and an https: one, skipped). Two
    # messages pass DMARC through relaxed SPF alignment (MAIL FROM ok.peer.test), one fails and is refused.
    # `dmarc report send --include-today` mails the day's report, DKIM-signed with our host name's key.
    import datetime
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer(extra="""
@ 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
ok 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc 300 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=r; rua=mailto:dmarc-reports@peer.test,https://rua.peer.test/r"
"""))
        ns.start()
        key = tmp_path / "rpt.key"
        kg = subprocess.run([mf.BIN, "dkim", "keygen", "--domain", "mx.test", "--selector", "rpt", "--algo",
                             "rsa2048", "--out", str(key)], check=True, capture_output=True, text=True, timeout=30)
        dkim_txt = dict(ln.split(": ", 1) for ln in kg.stdout.splitlines())["value"]
        s = relay_server(make_server, ns, peer.port, auth=DMARC_ON,
                         dkim={"keys": [{"domain": "mx.test", "selector": "rpt", "key": str(key)}]})
        assert inbound_mail(s, "bounce@ok.peer.test", "News <news@peer.test>", "pass1")
        assert inbound_mail(s, "bounce@ok.peer.test", "news@peer.test", "pass2")
        assert not inbound_mail(s, "boss@peer.test", "boss@peer.test", "forged")
        out = wait_dmarc_rows(s, 3)
        assert "peer.test  peer.test  127.0.0.1  none  dkim=fail  spf=pass  2" in out, out
        assert "peer.test  peer.test  127.0.0.1  reject  dkim=fail  spf=fail  1" in out, out
        # As the daily timer does: today is not complete, so nothing is reported yet and the rows stay.
        early = s.cli("dmarc", "report", "send").stdout
        assert "0 report(s) queued for 0 domain-day(s)" in early, early
        sent = s.cli("dmarc", "report", "send", "--include-today").stdout
        assert "1 report(s) queued for 1 domain-day(s)" in sent, sent
        got = peer.wait_messages(1)[0]
        assert got["rcpts"] == ["dmarc-reports@peer.test"]
        assert got["mail_from"] == ""  # null envelope sender: a report never bounces
        hdr, part, root = dmarc_report_of(got["data"])
        rid = root.findtext("report_metadata/report_id")
        assert hdr["Subject"] == f"Report Domain: peer.test Submitter: mx.test Report-ID: <{rid}>"
        assert hdr["From"] == "DMARC reports <dmarc-noreply@mx.test>"
        assert hdr["To"] == "<dmarc-reports@peer.test>"
        assert hdr["Date"] and hdr["Message-ID"] and hdr.get_content_type() == "multipart/mixed"
        today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        begin = int(today.timestamp())
        assert part.get_filename() == f"mx.test!peer.test!{begin}!{begin + 86399}.xml.gz"
        assert "d=mx.test" in hdr["DKIM-Signature"] and "s=rpt" in hdr["DKIM-Signature"]
        import dkim
        assert dkim.verify(got["data"], dnsfunc=lambda name, timeout=5: dkim_txt.encode())
        assert root.findtext("version") == "1.0"
        assert root.findtext("report_metadata/org_name") == "mx.test"
        assert root.findtext("report_metadata/email") == "postmaster@mx.test"
        assert int(root.findtext("report_metadata/date_range/begin")) == begin
        assert int(root.findtext("report_metadata/date_range/end")) == begin + 86399
        pp = root.find("policy_published")
        assert {c.tag: c.text for c in pp} == {"domain": "peer.test", "adkim": "s", "aspf": "r", "p": "reject",
                                              "sp": "reject", "pct": "100", "fo": "0"}
        assert dmarc_records(root) == {("127.0.0.1", "none", "fail", "pass", "peer.test"): 2,
                                       ("127.0.0.1", "reject", "fail", "fail", "peer.test"): 1}
        # Issue 15 item 8: auth_results carries the raw SPF result (no signatures here: no <dkim>), and the
        # report validates against the RFC 7489 Appendix C schema.
        spf = {(r.findtext("auth_results/spf/domain"), r.findtext("auth_results/spf/scope"),
                r.findtext("auth_results/spf/result")) for r in root.findall("record")}
        assert spf == {("ok.peer.test", "mfrom", "pass"), ("peer.test", "mfrom", "fail")}, spf
        assert root.find("record/auth_results/dkim") is None
        import gzip
        report_schemas.validate_dmarc_xml(gzip.decompress(part.get_payload(decode=True)))
        cli_events(sent, "dmarc_report_rua_skipped", domain="peer.test", rua="https://rua.peer.test/r")
        q = cli_events(sent, "dmarc_report_queued", domain="peer.test")[0]
        assert q["to"] == "dmarc-reports@peer.test" and q["messages"] == 3 and q["dkim"] is True
        # The reported day is gone from the store.
        assert "no DMARC results recorded" in s.cli("dmarc", "report", "show").stdout
    finally:
        peer.close()


def test_dmarc_report_external_destination_needs_its_consent(make_server, ns):
    # a.test and b.test both want reports at agg@reports.test, another organizational domain. Only b.test is
    # authorised there (b.test._report._dmarc.reports.test); a.test's rows are dropped with a log line.
    # b.test's second address limits reports to 10 bytes (!10): it gets none.
    peer = Peer()
    try:
        for d in ("a", "b"):
            ns.add_zone(f"{d}.test", SOA.format(z=f"{d}.test") + f"""
@ 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc 300 IN TXT "v=DMARC1; p=none; rua=mailto:agg@reports.test,mailto:small@reports.test!10"
""")
        ns.add_zone("reports.test", SOA.format(z="reports.test") + f"""
@ 300 IN MX 10 mx.reports.test.
mx 300 IN A {PEER_IP}
b.test._report._dmarc 300 IN TXT "v=DMARC1"
""")
        ns.start()
        s = relay_server(make_server, ns, peer.port, auth=DMARC_ON)
        assert inbound_mail(s, "x@a.test", "x@a.test", "from-a")
        assert inbound_mail(s, "x@b.test", "x@b.test", "from-b")
        wait_dmarc_rows(s, 2)
        sent = s.cli("dmarc", "report", "send", "--include-today").stdout
        assert "1 report(s) queued for 2 domain-day(s)" in sent and "1 without a usable rua" in sent, sent
        assert "1 too big for the destination" in sent, sent
        got = peer.wait_messages(1)[0]
        assert got["rcpts"] == ["agg@reports.test"]
        hdr, _, root = dmarc_report_of(got["data"])
        assert hdr["Subject"].startswith("Report Domain: b.test Submitter: mx.test ")
        assert root.findtext("policy_published/domain") == "b.test"
        assert dmarc_records(root) == {("127.0.0.1", "none", "fail", "pass", "b.test"): 1}
        for to in ("agg@reports.test", "small@reports.test"):
            ev = cli_events(sent, "dmarc_report_rua_unauthorized", domain="a.test", to=to)[0]
            assert ev["name"] == "a.test._report._dmarc.reports.test"
        cli_events(sent, "dmarc_report_no_rua", domain="a.test")
        big = cli_events(sent, "dmarc_report_too_big", domain="b.test", to="small@reports.test")[0]
        assert big["limit"] == 10 and big["size"] > 10
        assert "no DMARC results recorded" in s.cli("dmarc", "report", "show").stdout
        time.sleep(0.5)
        assert len(peer.messages) == 1
    finally:
        peer.close()


def test_dmarc_report_daily_timer_reports_completed_days(make_server, ns):
    # The server's own timer (auth.dmarc_report_interval_s, 1 s here) reports days before today: rows recorded
    # yesterday (written into state.db as the server would have) are mailed once, without any CLI.
    import datetime
    import sqlite3
    peer = Peer()
    try:
        ns.add_zone("peer.test", zone_peer(extra='_dmarc 300 IN TXT "v=DMARC1; p=quarantine; pct=50; '
                                                 'rua=mailto:dmarc-reports@peer.test"'))
        ns.start()
        s = relay_server(make_server, ns, peer.port, auth={**DMARC_ON, "dmarc_report_interval_s": 1,
                                                          "dmarc_report_contact": "dmarc-admin@mx.test"})
        yday = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
        yesterday = yday.strftime("%Y-%m-%d")
        db = sqlite3.connect(str(s.data / "state.db"), timeout=10)
        db.executemany("INSERT INTO dmarc_report (day, policy_domain, header_from, source_ip, disposition, dkim, spf, "
                       "count) VALUES(?, 'peer.test', ?, ?, ?, ?, ?, ?)",
                       [(yesterday, "peer.test", "192.0.2.7", "quarantine", "fail", "fail", 4),
                        (yesterday, "sub.peer.test", "2001:db8::1", "none", "pass", "fail", 9)])
        db.commit()
        db.close()
        got = peer.wait_messages(1, timeout=15)[0]
        assert got["rcpts"] == ["dmarc-reports@peer.test"]
        _, part, root = dmarc_report_of(got["data"])
        begin = int(yday.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
        assert int(root.findtext("report_metadata/date_range/begin")) == begin
        assert part.get_filename() == f"mx.test!peer.test!{begin}!{begin + 86399}.xml.gz"
        assert root.findtext("report_metadata/email") == "dmarc-admin@mx.test"
        assert root.findtext("policy_published/p") == "quarantine" and root.findtext("policy_published/pct") == "50"
        # IPv6 in the full form, the only one RFC 7489's IPAddress pattern accepts; rows without raw results still
        # carry the <spf> the schema requires.
        assert dmarc_records(root) == {("192.0.2.7", "quarantine", "fail", "fail", "peer.test"): 4,
                                       ("2001:db8:0:0:0:0:0:1", "none", "pass", "fail", "sub.peer.test"): 9}
        import gzip
        report_schemas.validate_dmarc_xml(gzip.decompress(part.get_payload(decode=True)))
        s.wait_log("dmarc_report_queued", domain="peer.test", day=yesterday)
        time.sleep(1.5)  # more timer runs: the day was reported once
        assert len([m for m in peer.messages if m["rcpts"] == ["dmarc-reports@peer.test"]]) == 1
    finally:
        peer.close()


# ---- queue CLI -------------------------------------------------------------------------------------------------------
def test_queue_cli_shows_recipient_state_and_flush_retries(make_server, ns):
    replies = ["451 4.7.1 greylisted, come back later"]
    peer = Peer(data=lambda: replies[0])
    try:
        ns.add_zone("peer.test", zone_peer())
        ns.start()
        # A long first retry, so the message sits deferred until `queue flush` makes it due.
        s = relay_server(make_server, ns, peer.port, queue={"retry_min_s": 3600, "retry_max_s": 3600})
        send(s, ["bob@peer.test"], subject="cli")
        s.wait_log("deferred", rcpt="bob@peer.test")
        qid = s.queue_files()[0]
        out = s.cli("queue", "list").stdout
        assert qid in out and "1/1 pending" in out and "next: " in out and "greylisted" in out, out
        show = s.cli("queue", "show", qid).stdout
        assert "recipient: <bob@peer.test> pending attempts=1 next=" in show, show
        assert 'last_error="451 4.7.1 greylisted, come back later"' in show, show
        replies[0] = "250 2.0.0 ok"
        flushed = s.cli("queue", "flush")
        # the running server's own runner retries it (control channel): no second runner, delivered once
        assert "server flushing" in flushed.stdout and "no running server" not in flushed.stderr, flushed
        s.wait_log("control_request", verb="flush", result="ok")
        s.wait_log("delivered", rcpt="bob@peer.test", timeout=15)
        assert s.wait_queue_empty() == []
        time.sleep(1)
        assert len(peer.messages) == 1
        assert len(s.logs("delivered", rcpt="bob@peer.test")) == 1
    finally:
        peer.close()
