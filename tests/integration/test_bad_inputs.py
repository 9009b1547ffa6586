# tests/integration/test_bad_inputs.py: the hostile-input catalogue (the project brief's spec/bad-inputs.md, outside this repository) item by item:
# short scripted dialogs (same runner and format as tests/dialogs/) for the variants not covered elsewhere, a few
# checks a dialog cannot express, and a map that proves every required item has a test that exists.
# SPDX-License-Identifier: MIT
import re
from pathlib import Path

import pytest

from mf import DIALOG_DIR, message, run_dialog

HERE = Path(__file__).resolve().parent

# item -> tests that cover it ("file::function" in tests/integration, or "dialogs/NAME" for a .dialog file)
COVERAGE = {
    1: ["test_smuggling.py::test_fake_end_of_data_never_ends_the_message", "dialogs/01-smuggling-lf-dot-lf"],
    2: ["test_smuggling.py::test_fake_end_of_data_never_ends_the_message", "test_smuggling.py::test_catalogue_impostors"],
    3: ["test_smuggling.py::test_bare_cr_or_lf_anywhere_rejects"],
    4: ["test_mx.py::test_dot_stuffing_is_exact", "dialogs/04-dot-stuffing"],
    5: ["dialogs/05-data-pipelined-before-354"],
    6: ["test_mx.py::test_pipelined_transactions_answered_in_order"],
    8: ["test_abuse.py::test_early_talker_refused_and_patient_client_remembered"],
    9: ["test_starttls.py::test_starttls_injection_refused", "dialogs/09-starttls-injection"],
    10: ["test_starttls.py::test_plaintext_on_implicit_tls_port_and_silent_client",
         "test_starttls.py::test_garbage_instead_of_client_hello"],
    11: ["test_starttls.py::test_starttls_argument_and_twice", "dialogs/11-starttls-extra"],
    12: ["test_starttls.py::test_starttls_argument_and_twice"],
    13: ["test_tls_versions.py::test_old_tls_refused", "test_tls_versions.py::test_weak_tls12_ciphers_refused"],
    14: ["test_auth.py::test_auth_before_tls_refused_and_not_advertised", "dialogs/14-auth-before-tls"],
    15: ["test_auth.py::test_auth_not_offered_on_mx", "dialogs/15-auth-on-mx"],
    16: ["test_auth.py::test_mail_without_auth_refused", "dialogs/16-mail-without-auth"],
    17: ["test_auth.py::test_wrong_password_and_unknown_user_look_the_same",
         "test_abuse.py::test_brute_force_banned_owner_unaffected_ban_survives_restart"],
    18: ["test_auth.py::test_sasl_protocol_errors"],
    19: ["test_auth.py::test_second_auth_and_auth_in_transaction"],
    20: ["test_auth.py::test_authzid_other_user_refused", "test_auth.py::test_sasl_protocol_errors"],
    21: ["test_auth.py::test_sender_must_be_owned"],
    22: ["test_relay.py::test_relay_trick_refused_on_mx", "dialogs/22-relay-denied"],
    23: ["test_mx.py::test_null_sender_postmaster_and_source_route", "dialogs/23-source-route-postmaster-null-sender"],
    24: ["dialogs/24-nul-in-command", "test_bad_inputs.py::test_inline_dialog"],
    25: ["dialogs/25-bare-cr-lf-in-command", "test_bad_inputs.py::test_inline_dialog"],
    26: ["test_limits.py::test_command_line_too_long_session_continues", "dialogs/26-long-command-line"],
    27: ["test_limits.py::test_line_without_crlf_flood", "dialogs/27-no-crlf-flood"],
    28: ["test_limits.py::test_data_line_too_long_not_queued", "dialogs/28-data-line-too-long"],
    29: ["test_limits.py::test_header_section_too_large"],
    30: ["test_limits.py::test_size_declared_and_actual", "dialogs/30-size-parameter"],
    31: ["test_limits.py::test_address_limits", "dialogs/31-long-addresses"],
    34: ["dialogs/34-utf8-without-smtputf8", "test_bad_inputs.py::test_inline_dialog"],
    35: ["dialogs/35-shell-metacharacters", "test_bad_inputs.py::test_shell_metacharacters_never_make_a_path"],
    36: ["test_limits.py::test_recipient_limit_keeps_earlier", "test_limits.py::test_five_thousand_recipients_bounded"],
    37: ["test_limits.py::test_dictionary_attack"],
    38: ["dialogs/38-rcpt-before-mail", "dialogs/38-data-without-rcpt", "dialogs/38-ehlo-without-argument",
         "dialogs/38-nested-mail"],
    39: ["test_limits.py::test_unknown_verbs_hit_error_limit", "test_limits.py::test_junk_command_limit",
         "dialogs/39-unknown-verbs"],
    40: ["test_vrfy_expn.py::test_vrfy_same_answer_for_known_and_unknown", "test_vrfy_expn.py::test_expn_refused"],
    41: ["dialogs/41-http-get", "dialogs/41-http-post", "test_bad_inputs.py::test_inline_dialog"],
    42: ["dialogs/42-xclient", "test_bad_inputs.py::test_xclient_does_not_change_client_identity"],
    43: ["test_limits.py::test_idle_timeout", "test_limits.py::test_timeout_mid_data_leaves_nothing"],
    44: ["test_limits.py::test_slowloris_command_is_not_extended_by_bytes", "test_limits.py::test_slowloris_data_min_rate"],
    45: ["test_limits.py::test_connection_caps"],
    47: ["test_limits.py::test_client_disconnect_mid_data_queues_nothing",
         "test_bad_inputs.py::test_quit_inside_data_is_content"],
    48: ["dialogs/48-too-many-hops", "test_limits.py::test_too_many_hops"],
    54: ["test_durability.py::test_kill9_never_loses_acknowledged_mail", "test_durability.py::test_kill9_mid_data_delivers_nothing"],
}
REQUIRED = [*range(1, 7), *range(8, 32), *range(34, 41), 43, 47, 54]


def test_every_required_item_is_covered_by_an_existing_test():
    missing = [i for i in REQUIRED if i not in COVERAGE]
    assert not missing, f"bad-input items without a test: {missing}"
    for item, refs in COVERAGE.items():
        for ref in refs:
            if ref.startswith("dialogs/"):
                path = DIALOG_DIR / (ref[len("dialogs/"):] + ".dialog")
                assert path.is_file(), f"item {item}: {path} missing"
                assert path.read_text(encoding="latin1").startswith(f"# bad-input {item}"), path
            else:
                file, func = ref.split("::")
                src = (HERE / file).read_text()
                assert re.search(rf"^def {func}\(", src, re.M), f"item {item}: {ref} missing"


# Variants as inline dialogs (format: tests/dialogs/README.md).
INLINE = {
    "24-nul-in-ehlo": "> EHLO a\\x00b\n< 500|501\n> EHLO ok\n< 250",
    "24-nul-in-verb": "> EHLO x\n< 250\n> NO\\x00OP\n< 500|501\n> NOOP\n< 250",
    "24-nul-after-verb": "> EHLO x\n< 250\n> MAIL FROM:<a@example.org>\\x00 SIZE=10\n< 500|501\n"
                         "> RCPT TO:<alice@localhost>\n< 503",
    "25-cr-splits-nothing-rcpt": "> EHLO x\n< 250\n> MAIL FROM:<a@example.org>\n< 250\n"
                                 ">> RCPT TO:<alice@localhost>\\rRCPT TO:<bob@localhost>\\r\\n\n< 500|501|550\n"
                                 "> DATA\n< 503|554\n! queued 0",
    "25-lf-in-ehlo": ">> EHLO x\\nMAIL FROM:<a@example.org>\\r\\n\n< 500|501\n> RCPT TO:<alice@localhost>\n< 503",
    "25-bare-lf-line-end": ">> EHLO x\\nNOOP\\r\\n\n< 500|501|550\n> EHLO ok\n< 250",
    "34-utf8-rcpt-without-smtputf8": "> EHLO x\n< 250\n> MAIL FROM:<a@example.org>\n< 250\n"
                                     "> RCPT TO:<j\\xc3\\xb6rg@localhost>\n< 553 5\\.6\\.7",
    "34-utf8-domain-without-smtputf8": "> EHLO x\n< 250\n> MAIL FROM:<a@b\\xc3\\xbccher.example>\n< 553 5\\.6\\.7",
    "41-get-before-ehlo": "> GET / HTTP/1.0\n< 421|221\n<< closed\n! rule non_smtp_command",
    "41-get-after-ehlo": "> EHLO x\n< 250\n> GET /index.html HTTP/1.1\n< 421|221\n<< closed",
    "41-user-root": "> USER root\n< 421|221\n<< closed",
    "42-xclient-on-submission": "@ submission\n> EHLO x\n< 250\n> XCLIENT ADDR=1.2.3.4 NAME=trusted.example\n"
                                "< 550 5\\.7\\.0\n! rule xclient_denied",
    "42-xclient-before-ehlo": "> XCLIENT ADDR=10.0.0.1\n< 550 5\\.7\\.0|503",
    "38-helo-works": "> HELO old.example\n< 250\n> MAIL FROM:<a@example.org>\n< 250\n> RCPT TO:<alice@localhost>\n"
                     "< 250\n> RSET\n< 250\n> RCPT TO:<alice@localhost>\n< 503 5\\.5\\.1",
    "40-vrfy-on-submission": "@ submission\n> EHLO x\n< 250\n> VRFY alice\n< 252 2\\.1\\.5\n> EXPN alice\n< 502 5\\.5\\.1",
}


@pytest.mark.parametrize("name", sorted(INLINE))
def test_inline_dialog(server, name):
    run_dialog(server, INLINE[name], name)


def test_quit_inside_data_is_content(server):
    # bad-input 47: QUIT (and any command) inside DATA is message content, the real end of data ends it
    r = server.session()
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: quit\r\n\r\nQUIT\r\nRSET\r\nMAIL FROM:<x@example.org>\r\n.\r\n")
    code, text = r.reply()
    assert code == 250, text
    assert r.cmd("QUIT")[0] == 221
    (msg,) = server.wait_mail("alice")
    assert msg.endswith(b"\r\n\r\nQUIT\r\nRSET\r\nMAIL FROM:<x@example.org>\r\n")


def test_xclient_does_not_change_client_identity(server):
    # bad-input 42: after a refused XCLIENT the client is still who it was
    r = server.session(helo="real.example")
    code, text = r.cmd("XCLIENT ADDR=1.2.3.4 NAME=spoofed.example HELO=spoofed.example")
    assert code == 550 and "5.7.0" in text
    r.cmd("MAIL FROM:<a@example.org>")
    r.cmd("RCPT TO:<alice@localhost>")
    r.cmd("DATA")
    r.send(message("xclient"))
    r.send(".\r\n")
    assert r.reply()[0] == 250
    (msg,) = server.wait_mail("alice")
    head = msg.split(b"\r\n\r\n")[0]
    assert b"from real.example ([127.0.0.1])" in head and b"1.2.3.4" not in head and b"spoofed" not in head
    assert all(q["client"].startswith("127.0.0.1:") for q in server.logs("queued"))


def test_shell_metacharacters_never_make_a_path(server):
    # bad-input 35: whatever an address holds, no Maildir path outside mail/<domain>/<user> appears
    r = server.session()
    for sender in ("<;sleep 66;>", "<$(reboot)@localhost>", "<`id`@example.org>", "<a|b@example.org>"):
        r.cmd(f"MAIL FROM:{sender}")
        r.cmd("RSET")
    r.cmd("MAIL FROM:<a@example.org>")
    for rcpt in ("../../etc@localhost", "..@localhost", "a/b@localhost", "alice/../bob@localhost", "$(id)@localhost"):
        code, _ = r.cmd(f"RCPT TO:<{rcpt}>")
        assert code >= 500, rcpt
    mail = server.data / "mail"
    created = sorted(str(p.relative_to(mail)) for p in mail.rglob("*") if p.is_dir()) if mail.exists() else []
    assert all(re.fullmatch(r"localhost(/[a-z]+(/(new|cur|tmp))?)?", c) for c in created), created
