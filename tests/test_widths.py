"""Tables line up on a terminal when tenant names are Japanese (East Asian wide characters take two columns)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from wcwidth import wcswidth

from drift.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_scan_table_aligns_japanese_names(tmp_path):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        (tmp_path / "manifests").symlink_to(ROOT / "manifests")
        (tmp_path / "inventory").symlink_to(ROOT / "inventory")
        result = CliRunner().invoke(main, ["scan"], catch_exceptions=False)
    finally:
        os.chdir(old)
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["tenant", "name"])
    rule = lines[head + 1]
    starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
    rows = [line for line in lines[head + 2:] if line.strip()][:123]
    assert any(any(ord(ch) > 0x3000 for ch in row) for row in rows)  # Japanese names are there
    # Every row's cells start at the rule's columns, counted in display columns (wide characters count two).
    for row in rows:
        cells = row.split()
        # the third column (line) starts where the rule says, whatever the name's width
        prefix = row[: row.index(cells[2], len(cells[0]) + len(cells[1]) + 1)]
        assert wcswidth(prefix) == starts[2], row
    assert wcswidth(lines[head]) <= wcswidth(rule) + 2
