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


def test_discard_mode_accepts_keeps_nothing_and_is_flagged(make_server, tmp_path):
    # The benchmark's null backend: 250 for the message, a `discarded` log line, nothing in the queue or Maildir,
    # an error at start, and `config check` calls it critical.
    s = make_server(sections={"queue": {"discard": True}})
    s.wait_log("discard_mode")
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
