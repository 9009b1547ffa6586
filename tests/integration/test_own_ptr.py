# tests/integration/test_own_ptr.py: our own reverse DNS, checked at start (issue 19): with monitor.public_ip and a
# real nsd serving the reverse zone, a PTR naming the hostname that resolves back is `ok`; a PTR naming another host
# raises the ptr_mismatch alert with what to ask the provider for.
# SPDX-License-Identifier: MIT
import pytest

import dnsserver

SOA = """@ 3600 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 300
@ 3600 IN NS ns.{z}.
"""


@pytest.fixture
def ns(tmp_path):
    if not dnsserver.have_nsd():
        pytest.skip("nsd not installed")
    d = dnsserver.DnsServer(tmp_path / "ns")
    d.add_zone("ptr.test", SOA.format(z="ptr.test") + "mx 300 IN A 127.0.0.1\nother 300 IN A 127.0.0.1\n")
    d.add_zone("127.in-addr.arpa", SOA.format(z="127.in-addr.arpa") + "1.0.0 300 IN PTR mx.ptr.test.\n")
    d.start()
    yield d
    d.stop()


def server_for(make_server, ns, hostname):
    return make_server(users=(), top={"hostname": hostname},
                       sections={"dns": {"servers": [ns.address], "root_anchor": "", "timeout_ms": 3000,
                                         "special_zones": ["test", "127.in-addr.arpa"]},
                                 "monitor": {"public_ip": "127.0.0.1"}})


def test_matching_ptr_is_ok(make_server, ns):
    s = server_for(make_server, ns, "mx.ptr.test")
    ev = s.wait_log("ptr_check")[0]
    assert ev["result"] == "ok" and ev["ptr"] == ["mx.ptr.test"], ev
    assert not s.logs("alert_raised", name="ptr_mismatch")


def test_ptr_naming_another_host_raises_an_alert(make_server, ns):
    s = server_for(make_server, ns, "other.ptr.test")
    ev = s.wait_log("ptr_check")[0]
    assert ev["result"] == "mismatch", ev
    assert "1.0.0.127.in-addr.arpa PTR other.ptr.test." in ev["problem"]
    s.wait_log("alert_raised", name="ptr_mismatch")
