# tests/integration/conftest.py: pytest fixtures for the integration suite (helpers live in mf.py).
# SPDX-License-Identifier: MIT
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import mf  # noqa: E402


def pytest_configure(config):
    if not os.path.exists(mf.BIN):
        raise pytest.UsageError(f"mailfort binary not found at {mf.BIN}; run `make build` or set MAILFORT_BIN")


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(start=True, users=(("alice@localhost", "alice-pw"), ("bob@localhost", "bob-pw")), **kw):
        s = mf.Server(tmp_path / f"s{len(servers)}", **kw)
        servers.append(s)
        for a, p in users:
            s.add_user(a, p)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()
