# tests/integration/test_attachments.py: the built-in attachment policy (filter.attachment_policy, issue 18): an
# .exe inside a nested multipart, an RFC 2231-encoded .js name and an encoded-word .scr name are refused 550 5.7.1
# at end of DATA with the file name in the log; a .pdf passes; an archive is reported; the list is configurable.
# SPDX-License-Identifier: MIT
import base64
import time

import pytest

from mf import send_message


def mime(parts_text, boundary="outer"):
    return (f"From: someone@example.org\r\nTo: alice@localhost\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\nThis is MIME.\r\n" + parts_text +
            f"--{boundary}--\r\n")


def part(headers, body, boundary="outer"):
    return f"--{boundary}\r\n{headers}\r\n\r\n{body}\r\n"


TEXT = part("Content-Type: text/plain; charset=utf-8", "Please see the attachment.")
B64 = base64.b64encode(b"%PDF-1.4\n" + b"0" * 300).decode()


NESTED_EXE = mime(TEXT + "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n" +
                  part("Content-Type: text/plain", "x", "inner") +
                  part("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                       "filename=\"invoice.pdf.exe\"\r\nContent-Transfer-Encoding: base64", B64, "inner") +
                  "--inner--\r\n")
RFC2231_JS = mime(TEXT + part("Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n"
                              " filename*=UTF-8''fa%C3%A7ture%2Ejs", "dmFyIHggPSAxOw=="))
ENCODED_SCR = mime(TEXT + part("Content-Type: application/octet-stream;\r\n name=\"=?UTF-8?B?cGhvdG8uc2Ny?=\"",
                               "AAAA"))
PDF = mime(TEXT + part("Content-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64",
                       B64))


@pytest.mark.parametrize("content,name,ext", [
    (NESTED_EXE, "invoice.pdf.exe", "exe"),
    (RFC2231_JS, "fa\u00e7ture.js", "js"),
    (ENCODED_SCR, "photo.scr", "scr"),
])
def test_blocked_attachments_are_refused(server, content, name, ext):
    code, text = send_message(server, content)
    assert code == 550, text
    assert "5.7.1" in text
    ev = server.wait_log("attachment_refused")[0]
    assert ev["extension"] == ext
    assert ev["filename"] == name or ext in ev["filename"]
    assert server.wait_log("reject", rule="attachment_policy")[0]["code"] == 550
    time.sleep(0.2)
    assert server.maildir("alice") == [] and server.queue_files() == []


def test_pdf_passes_and_archives_are_reported(server):
    code, text = send_message(server, PDF)
    assert code == 250, text
    assert server.wait_maildir("alice")
    zipped = mime(TEXT + part("Content-Type: application/zip; name=\"files.zip\"\r\n"
                              "Content-Transfer-Encoding: base64", "UEsDBAoAAAAAAA=="))
    code, text = send_message(server, zipped)
    assert code == 250, text
    ev = server.wait_log("attachment_archive")[0]
    assert ev["filename"] == "files.zip" and ev["type"] == "application/zip"


def test_policy_is_configurable(make_server):
    s = make_server(sections={"filter": {"blocked_extensions": ["pdf"]}})
    code, text = send_message(s, PDF)
    assert code == 550, text
    code, text = send_message(s, NESTED_EXE)  # exe is no longer on the list (its content is not MZ)
    assert code == 250, text
    off = make_server(sections={"filter": {"attachment_policy": False}})
    code, text = send_message(off, NESTED_EXE)
    assert code == 250, text
