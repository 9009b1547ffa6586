# tests/integration/conftest.py: pytest fixtures for the integration suite; the Server helper, the raw SMTP client
# and the PKI helper live in mf.py (importable by test files, which a conftest is not meant to be).
# SPDX-License-Identifier: MIT
#
# Run: /usr/bin/python3 -m pytest -q tests/integration
# Env: MAILFORT_BIN (default build/mailfort), MAILFORT_SANITIZED=1 (ASan build: every timeout x3),
#      DURABILITY_ROUNDS (kill -9 rounds in test_durability.py, default 5).
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import mf  # noqa: E402

ALICE = ("alice@localhost", "alice-pw")
BOB = ("bob@localhost", "bob-pw")


def pytest_configure(config):
    if not os.path.exists(mf.BIN):
        raise pytest.UsageError(f"mailfort binary not found at {mf.BIN}; run `make build` or set MAILFORT_BIN")


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(limits={...}, tls={...}, relay={...}, start=True) -> a started mf.Server with
    alice@localhost (alice-pw) and bob@localhost (bob-pw). Every server is stopped with SIGTERM at teardown and the
    test errors if it exited non-zero, died of a signal or printed a sanitizer report."""
    servers = []

    def make(start=True, users=(ALICE, BOB), **kw):
        s = mf.Server(tmp_path / f"s{len(servers)}", **kw)
        servers.append(s)
        for a, p in users:
            s.add_user(a, p)
        if start:
            s.start()
        return s

    yield make
    errors = []
    for s in servers:
        try:
            s.stop()
        except AssertionError as e:  # stop every server even when one of them misbehaved
            errors.append(str(e))
    assert not errors, "\n".join(errors)


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A fresh test CA + localhost leaf + expired leaf from scripts/gen-test-pki.sh (keys never committed)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    return mf.gen_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def pki_server(make_server, pki):
    """A server presenting the test PKI's localhost certificate (chain included); clients verify against the CA."""
    return make_server(tls={"certificate": str(pki["chain"]), "key": str(pki["key"])}, cafile=str(pki["ca"]))
