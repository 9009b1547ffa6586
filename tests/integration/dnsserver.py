# tests/integration/dnsserver.py: a real authoritative DNS server (nsd) on a loopback port, with zones the test writes.
# SPDX-License-Identifier: MIT
"""Usage:

    with DnsServer(tmp_path) as ns:
        ns.add_zone("example.test", '''
            @   3600 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 300
            @   3600 IN NS  ns.example.test.
            @   300  IN TXT "v=spf1 " "-all"
        ''')
        anchor = ns.add_zone("signed.test", text, sign=True)   # returns the DS trust-anchor file
        ns.start()
        ns.address   # "127.0.0.1:PORT" for resolver_options.servers / --dns-server

Zone text is zone-file syntax; `$ORIGIN` and a default `$TTL` are prepended. Signed zones are signed
with ldns-keygen/ldns-signzone (one ECDSA P-256 key with the SEP flag acting as KSK and ZSK);
`tamper(signed_text) -> text` may edit the signed file before nsd loads it (to make data bogus).
nsd is authoritative only: resolvers must forward to it or use it as a stub for the zones.
"""
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import dns.message
import dns.query
import dns.rdatatype

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
LDNS_KEYGEN = shutil.which("ldns-keygen")
LDNS_SIGNZONE = shutil.which("ldns-signzone")


def have_nsd():
    return os.path.exists(NSD)


def have_ldns():
    return bool(LDNS_KEYGEN and LDNS_SIGNZONE)


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (nsd binds both), from this worker's slice (see mf.py)."""
    import mf
    return mf.free_port()


class DnsServer:
    def __init__(self, workdir):
        self.dir = os.path.abspath(str(workdir))
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.zones = []  # (name, file)
        self.anchors = {}  # zone -> DS file
        self.proc = None
        self.log_path = os.path.join(self.dir, "nsd.log")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def add_zone(self, name, text, sign=False, tamper=None, ttl=300):
        """Writes the zone (and signs it when asked). Returns the trust-anchor (DS) file for signed zones."""
        name = name.rstrip(".")
        path = os.path.join(self.dir, f"{name}.zone")
        body = f"$ORIGIN {name}.\n$TTL {ttl}\n" + textwrap.dedent(text).strip() + "\n"
        with open(path, "w") as f:
            f.write(body)
        anchor = None
        if sign:
            if not have_ldns():
                raise RuntimeError("ldns-keygen/ldns-signzone not installed (ldnsutils)")
            keydir = os.path.join(self.dir, f"keys-{name}")
            os.makedirs(keydir, exist_ok=True)
            base = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", name], cwd=keydir, check=True,
                                  capture_output=True, text=True, timeout=30).stdout.strip()
            keybase = os.path.join(keydir, base)
            # -n: NSEC3 off (plain NSEC keeps denial-of-existence simple); default validity 4 weeks.
            subprocess.run([LDNS_SIGNZONE, "-f", path + ".signed", path, keybase], check=True,
                           capture_output=True, text=True, timeout=30)
            signed = path + ".signed"
            if tamper:
                with open(signed) as f:
                    t = f.read()
                with open(signed, "w") as f:
                    f.write(tamper(t))
            path = signed
            anchor = keybase + ".ds"
            self.anchors[name] = anchor
        self.zones.append((name, path))
        return anchor

    def _write_conf(self):
        conf = os.path.join(self.dir, "nsd.conf")
        lines = [
            "server:",
            "  ip-address: 127.0.0.1",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  server-count: 1",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{self.dir}"',
            f'  pidfile: "{self.dir}/nsd.pid"',
            '  database: ""',
            f'  zonelistfile: "{self.dir}/zone.list"',
            f'  xfrdfile: "{self.dir}/xfrd.state"',
            f'  xfrdir: "{self.dir}"',
            f'  logfile: "{self.log_path}"',
            "  verbosity: 1",
            "  hide-version: yes",
            "remote-control:",
            "  control-enable: no",
        ]
        for name, path in self.zones:
            lines += ["zone:", f"  name: {name}", f'  zonefile: "{path}"']
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start(self, timeout=10.0):
        if not have_nsd():
            raise RuntimeError("nsd not installed")
        conf = self._write_conf()
        self.proc = subprocess.Popen([NSD, "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "nsd.stderr"), "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        first = self.zones[0][0] if self.zones else "."
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nsd exited with {self.proc.returncode}: {self.logs()}")
            try:
                q = dns.message.make_query(first + ".", dns.rdatatype.SOA)
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.2)
                if r.answer:
                    return self
            except Exception:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nsd did not answer within {timeout}s: {self.logs()}")

    def logs(self):
        out = []
        for n in ("nsd.log", "nsd.stderr"):
            p = os.path.join(self.dir, n)
            if os.path.exists(p):
                with open(p) as f:
                    out.append(f.read()[-4000:])
        return "\n".join(out)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
