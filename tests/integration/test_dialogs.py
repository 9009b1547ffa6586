# tests/integration/test_dialogs.py: runs every tests/dialogs/*.dialog against a fresh server (format: README there).
# SPDX-License-Identifier: MIT
import tomllib

import pytest

from mf import DIALOG_DIR, run_dialog

DIALOGS = sorted(DIALOG_DIR.glob("*.dialog"))


def dialog_config(text):
    """`% section.key = toml-value` lines -> make_server keyword arguments."""
    limits, sections = {}, {}
    for line in text.splitlines():
        if not line.startswith("% "):
            continue
        key, value = line[2:].split("=", 1)
        section, name = key.strip().split(".", 1)
        value = tomllib.loads(f"v = {value.strip()}")["v"]
        (limits if section == "limits" else sections.setdefault(section, {}))[name] = value
    return {"limits": limits, "sections": sections}


def test_dialog_files_are_well_formed():
    assert len(DIALOGS) >= 30, DIALOGS
    for path in DIALOGS:
        lines = path.read_text(encoding="latin1").splitlines()
        assert lines[0].startswith("# bad-input "), f"{path.name}: first line must name the bad-input item"
        for n, l in enumerate(lines, 1):
            assert l == "" or l[:2] in ("# ", "@ ", "> ", ">>", "< ", "<<", "! ", "% ", "~ "), f"{path.name}:{n}: {l}"


@pytest.mark.parametrize("path", DIALOGS, ids=[p.stem for p in DIALOGS])
def test_dialog(make_server, path):
    text = path.read_text(encoding="latin1")
    server = make_server(**dialog_config(text))
    run_dialog(server, text, path.name)
