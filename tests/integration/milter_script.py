#!/usr/bin/python3
# tests/integration/milter_script.py: a real libmilter filter (Debian python3-milter) for test_milter.py.
# SPDX-License-Identifier: MIT
# Usage: milter_script.py PORT MODE RECORD_FILE
# Every mode records what the milter saw (macros, connect, helo, envelope, headers, body) into RECORD_FILE as one
# JSON object per message, then answers at end of message as MODE says:
#   accept        add "X-Milter: seen" and accept
#   reject        setreply 550 5.7.1 (custom, multi-line with %%) and reject
#   reject_plain  reject without a reply text (the MTA's 550 5.7.1)
#   tempfail      tempfail (the MTA's 451 4.7.1)
#   custom_temp   setreply 452 4.3.1 and tempfail
#   discard       discard
#   rcpt_reject   reject at RCPT (the message is refused at end of DATA)
#   headers       add, insert at 0, change Subject, delete X-Remove, add a folded header
#   envelope      change the sender, add bob@localhost, delete alice@localhost
#   replbody      replace the body (LF line ends, two chunks)
#   quarantine    quarantine, then accept
#   progress      send progress for ~2 s, then accept
#   noreply       every event up to end of message without reply (NR_* flags), add a header, accept
import json
import sys
import time

import Milter

PORT, MODE, RECORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def record(obj):
    with open(RECORD, "a") as f:
        f.write(json.dumps(obj) + "\n")


def maybe_noreply(fn):
    return Milter.noreply(fn) if MODE == "noreply" else fn


class TestMilter(Milter.Base):
    def __init__(self):
        self.seen = {"headers": [], "body": "", "rcpts": []}

    @maybe_noreply
    def connect(self, hostname, family, hostaddr):
        self.seen["connect"] = [hostname, str(hostaddr[0]) if hostaddr else None]
        self.seen["j"] = self.getsymval("j")
        self.seen["daemon_name"] = self.getsymval("{daemon_name}")
        return Milter.CONTINUE

    @maybe_noreply
    def hello(self, name):
        self.seen["helo"] = name
        return Milter.CONTINUE

    @maybe_noreply
    def envfrom(self, f, *params):
        self.seen["from"] = f
        self.seen["mail_addr"] = self.getsymval("{mail_addr}")
        self.seen["queue_id"] = self.getsymval("i")
        self.seen["auth_authen"] = self.getsymval("{auth_authen}")
        self.seen["auth_type"] = self.getsymval("{auth_type}")
        return Milter.CONTINUE

    @maybe_noreply
    def envrcpt(self, to, *params):
        self.seen["rcpts"].append(to)
        if MODE == "rcpt_reject":
            self.setreply("550", "5.1.1", "No such user here")
            return Milter.REJECT
        return Milter.CONTINUE

    @maybe_noreply
    def header(self, name, value):
        self.seen["headers"].append([name, value])
        return Milter.CONTINUE

    @maybe_noreply
    def eoh(self):
        return Milter.CONTINUE

    @maybe_noreply
    def body(self, chunk):
        self.seen["body"] += chunk.decode("latin-1")
        return Milter.CONTINUE

    def eom(self):
        record(self.seen)
        if MODE == "reject":
            self.setreply("550", "5.7.1", "Refused by the test milter", "100%% sure")
            return Milter.REJECT
        if MODE == "reject_plain":
            return Milter.REJECT
        if MODE == "tempfail":
            return Milter.TEMPFAIL
        if MODE == "custom_temp":
            self.setreply("452", "4.3.1", "Try again later, says the milter")
            return Milter.TEMPFAIL
        if MODE == "discard":
            return Milter.DISCARD
        if MODE == "headers":
            self.addheader("X-Added", "appended")
            self.addheader("X-Top", "first", 0)
            self.chgheader("Subject", 1, "changed by milter")
            self.chgheader("X-Remove", 1, "")
            self.addheader("X-Folded", "line one\n\tline two")
            return Milter.ACCEPT
        if MODE == "envelope":
            self.chgfrom("<new-sender@example.net>")
            self.addrcpt("<bob@localhost>")
            self.delrcpt("<alice@localhost>")
            return Milter.ACCEPT
        if MODE == "replbody":
            self.replacebody(b"Replaced line one\n")
            self.replacebody(b"Replaced line two\n")
            return Milter.ACCEPT
        if MODE == "quarantine":
            self.quarantine("suspicious")
            return Milter.ACCEPT
        if MODE == "progress":
            for _ in range(4):
                time.sleep(0.5)
                self.progress()
            self.addheader("X-Progress", "done")
            return Milter.ACCEPT
        self.addheader("X-Milter", "seen")
        return Milter.ACCEPT


def main():
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGFROM |
                     Milter.CHGBODY | Milter.QUARANTINE)
    print("ready", flush=True)
    Milter.runmilter("testmilter", f"inet:{PORT}@127.0.0.1", timeout=30)


if __name__ == "__main__":
    main()
