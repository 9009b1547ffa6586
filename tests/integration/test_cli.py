# tests/integration/test_cli.py: user management, config defaults/check, queue commands.
# SPDX-License-Identifier: MIT
import json
import subprocess

from mf import BIN


def run(*args, input=None):
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True, timeout=60)


def test_user_lifecycle(tmp_path):
    d = str(tmp_path / "data")
    assert run("user", "add", "carol@localhost", "--password-stdin", "--data-dir", d, input="pw\n").returncode == 0
    r = run("user", "add", "carol@localhost", "--password-stdin", "--data-dir", d, input="pw\n")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = run("user", "add", "carol@localhost", "--data-dir", d)
    assert r.returncode == 2 and "--password-stdin" in r.stderr
    r = run("user", "add", "dave@example.net", "--password-stdin", "--data-dir", d, input="pw\n")
    assert r.returncode != 0 and "local domain" in r.stderr
    r = run("user", "add", "../x@localhost", "--password-stdin", "--data-dir", d, input="pw\n")
    assert r.returncode != 0
    assert run("user", "list", "--data-dir", d).stdout.split() == ["carol@localhost"]
    assert run("user", "passwd", "carol@localhost", "--password-stdin", "--data-dir", d, input="new\n").returncode == 0
    assert run("user", "del", "carol@localhost", "--data-dir", d).returncode == 0
    assert run("user", "list", "--data-dir", d).stdout.split() == []
    assert run("user", "del", "carol@localhost", "--data-dir", d).returncode == 1
    assert "pw" not in (tmp_path / "data" / "state.db").read_bytes().decode("latin1")  # only argon2id hashes


def test_config_defaults_roundtrip(tmp_path):
    r = run("config", "defaults")
    assert r.returncode == 0 and "[listeners]" in r.stdout
    f = tmp_path / "d.toml"
    f.write_text(r.stdout)
    r = run("config", "check", str(f))
    # the defaults are valid; the only finding is the self-signed certificate (medium)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "finding[medium]" in r.stdout and "tls.certificate" in r.stdout


def test_config_check_reports_file_and_line(tmp_path):
    f = tmp_path / "typo.toml"
    f.write_text('hostname = "mx.example"\n\n[relay]\ntrusted_network = ["10.0.0.0/8"]\n')
    r = run("config", "check", str(f))
    assert r.returncode == 2
    assert f"{f}:4: error: relay.trusted_network: unknown key" in r.stdout
    f.write_text('[limits]\nrecipients = "many"\n')
    r = run("config", "check", str(f))
    assert r.returncode == 2 and f"{f}:2: error: limits.recipients: must be an integer" in r.stdout
    # serve refuses a broken config with the same message
    r = run("serve", "--config", str(f))
    assert r.returncode == 2 and "limits.recipients" in r.stderr


def test_config_check_flags_insecure_choices(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[relay]\ntrusted_networks = ["0.0.0.0/0"]\n[tls]\nmin_version = "1.0"\n')
    r = run("config", "check", str(f), "--format", "json")
    assert r.returncode == 1
    found = json.loads(r.stdout)
    sev = {(d["key"], d["severity"]) for d in found}
    assert ("relay.trusted_networks", "critical") in sev
    assert ("tls.min_version", "high") in sev
    f.write_text('[tls]\nmin_version = "0.9"\n')
    assert run("config", "check", str(f)).returncode == 2


def test_etc_config_is_the_defaults():
    from pathlib import Path
    etc = Path(__file__).resolve().parents[2] / "etc" / "mailfort.toml"
    assert etc.read_text() == run("config", "defaults").stdout


def test_queue_commands(make_server):
    s = make_server()
    with s.smtp("submissions") as c:
        c.login("alice@localhost", "alice-pw")
        c.sendmail("alice@localhost", ["far@example.net"], "Subject: q\r\n\r\nx\r\n")
    s.wait_log("deferred")
    r = s.cli("queue", "list")
    assert "1 message(s) in queue" in r.stdout and "<alice@localhost>" in r.stdout
    qid = r.stdout.split()[0]
    r = s.cli("queue", "show", qid)
    assert "recipient: <far@example.net> pending" in r.stdout and "Subject: q" in r.stdout
    assert s.cli("queue", "show", "nonsense", check=False).returncode == 2
    assert s.cli("queue", "delete", qid).returncode == 0
    assert "0 message(s)" in s.cli("queue", "list").stdout


def test_queue_show_never_prints_terminal_escapes(make_server):
    # Issue 15 item 7: header bytes are the sender's; `queue show` prints them through the printable filter, so an
    # ESC sequence (here: clear the screen, then a fake line in red) reaches the terminal as text.
    s = make_server()
    evil = (b"From: alice@localhost\r\nSubject: hi\x1b[2J\x1b[31mfake: ok\x07\r\nX-Eight: caf\xc3\xa9\x9b31m \\x1b\r\n"
            b"\r\nbody \x1b[2J\r\n")
    with s.smtp("submissions") as c:
        c.login("alice@localhost", "alice-pw")
        c.sendmail("alice@localhost", ["far@example.net"], evil, mail_options=["BODY=8BITMIME"])
    s.wait_log("deferred")  # the remote recipient cannot be reached: the message stays queued
    qid = s.cli("queue", "list").stdout.split()[0]
    r = subprocess.run([BIN, "queue", "show", qid, "--config", str(s.config)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert b"\x1b" not in out and b"\x07" not in out and b"\x9b" not in out, out
    assert b"Subject: hi\\x1b[2J\\x1b[31mfake: ok\\x07\n" in out, out
    assert b"X-Eight: caf\\xc3\\xa9\\x9b31m \\x5cx1b\n" in out, out  # a literal backslash is escaped too
    assert all(0x20 <= b < 0x7f or b == 0x0a for b in out), out


def test_discard_mode_accepts_keeps_nothing_and_is_flagged(make_server, tmp_path):
    # The benchmark's null backend: 250 for the message, a `discarded` log line, nothing in the queue or Maildir,
    # an error at start, and `config check` calls it critical.
    # queue.discard is a critical finding, so serve needs --allow-insecure (the benchmark passes it too).
    s = make_server(sections={"queue": {"discard": True}}, serve_args=["--allow-insecure"])
    s.wait_log("discard_mode")
    assert s.logs("insecure_override")[0]["findings"][0]["key"] == "queue.discard"
    c = s.smtp()
    c.sendmail("someone@example.org", ["alice@localhost"], b"Subject: gone\r\n\r\nthrown away\r\n")
    c.quit()
    line = s.wait_log("discarded")[0]
    assert line["rcpts"] == 1 and line["from"] == "someone@example.org"
    assert s.logs("queued") == []
    assert s.maildir_messages("alice") == []
    f = tmp_path / "discard.toml"
    f.write_text("[queue]\ndiscard = true\n")
    r = run("config", "check", str(f), "--format", "json")
    assert r.returncode == 1
    assert ("queue.discard", "critical") in {(d["key"], d["severity"]) for d in json.loads(r.stdout)}


def test_serve_refuses_a_critical_finding(make_server):
    # Issue 15 item 9: an open relay in the file stops `serve` before anything is bound, with the finding, its fix
    # and the override named; nothing listens.
    s = make_server(start=False, relay={"trusted_networks": ["0.0.0.0/0"]})
    r = subprocess.run([BIN, "serve", "--config", str(s.config)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{s.config}:" in r.stderr and "finding[critical]: relay.trusted_networks: open relay" in r.stderr
    assert "Remove it" in r.stderr and "--allow-insecure" in r.stderr
    events = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    refused = [e for e in events if e["event"] == "config_refused"]
    assert refused and refused[0]["when"] == "start" and refused[0]["level"] == "error"
    assert not any(e["event"] in ("listen", "ready") for e in events)
    # A public submission listener with only the self-signed certificate is refused too (critical).
    from mf import free_port
    s2 = make_server(start=False, listeners={"submission": f"0.0.0.0:{free_port()}"})
    r = subprocess.run([BIN, "serve", "--config", str(s2.config)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "finding[critical]: listeners.submission" in r.stderr


def test_serve_allow_insecure_starts_loudly(make_server):
    s = make_server(relay={"trusted_networks": ["0.0.0.0/0"]}, serve_args=["--allow-insecure"])
    line = s.logs("insecure_override")[0]
    assert line["level"] == "error" and line["when"] == "start" and "never in production" in line["note"]
    assert [f["key"] for f in line["findings"]] == ["relay.trusted_networks"]
    assert "open relay" in line["findings"][0]["message"]


def test_serve_starts_on_the_embedded_defaults(tmp_path):
    # The defaults (only the ports moved off the fixed ones, so parallel tests never collide) pass the gate.
    from mf import free_ports
    import signal
    import time
    text = run("config", "defaults").stdout
    ports = free_ports(4)
    for old, new in zip(("127.0.0.1:2525", "127.0.0.1:2587", "127.0.0.1:2465", "127.0.0.1:9025"), ports):
        assert f'"{old}"' in text
        text = text.replace(f'"{old}"', f'"127.0.0.1:{new}"')
    # ... and no DNS query leaves the machine (network rule): a closed loopback resolver, no DNSBL zones.
    for old, new in (("servers = []", 'servers = ["127.0.0.1:9"]'),
                     ('blocklist_zones = ["zen.spamhaus.org", "b.barracudacentral.org"]', "blocklist_zones = []")):
        assert old in text
        text = text.replace(old, new, 1)
    f = tmp_path / "defaults.toml"
    f.write_text(text)
    p = subprocess.Popen([BIN, "serve", "--config", str(f), "--data-dir", str(tmp_path / "var")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        end = time.time() + 30
        while time.time() < end:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if '"event":"ready"' in line.replace(" ", ""):
                break
    finally:
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=30)
    out = "".join(lines) + rest
    assert p.returncode == 0, out
    assert '"ready"' in out and "config_refused" not in out and "insecure_override" not in out


def test_user_add_hash_stdin(tmp_path):
    """A migration adds users with the argon2id hash another system stored (Dovecot's {ARGON2ID} scheme): the
    password is never known to the admin, and AUTH accepts it (every fixture user in this suite is added this way)."""
    from mf import password_hash
    d = str(tmp_path / "data")
    h = password_hash("pw")
    assert h.startswith("$argon2id$v=19$m=65536,t=2,p=1$")
    r = run("user", "add", "carol@localhost", "--hash-stdin", "--data-dir", d, input=h + "\n")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run("user", "add", "dave@localhost", "--hash-stdin", "--data-dir", d, input="{ARGON2ID}" + h + "\n")
    assert r.returncode == 0, r.stderr
    for bad in ("$2y$10$" + "a" * 53, "pw", h.replace("$argon2id$", "$argon2i$"), h[:-1] + ":"):
        r = run("user", "add", "erin@localhost", "--hash-stdin", "--data-dir", d, input=bad + "\n")
        assert r.returncode == 2 and "not an argon2id hash" in r.stderr, (bad, r.stderr)
    r = run("user", "add", "erin@localhost", "--hash-stdin", "--password-stdin", "--data-dir", d, input=h + "\n")
    assert r.returncode == 2 and "not both" in r.stderr
    assert run("user", "list", "--data-dir", d).stdout.split() == ["carol@localhost", "dave@localhost"]
