"""Data-driven CLI cases: every folder under tests/cases is one run of drift.

A case folder holds `args` (one line: the drift arguments, run with the case folder as the working
directory), its inputs (`manifests/`, `inventory/`), `expected_exit`, and `expected_stdout` (exact) and/or
`expected_stderr` (a substring that must appear). To add a case, add a folder; nothing here changes.
"""

from __future__ import annotations

import shlex
import shutil
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from drift.cli import main

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def test_every_case_folder_is_complete():
    assert len(NAMES) >= 10
    for name in NAMES:
        case = CASES / name
        assert (case / "args").is_file() and (case / "expected_exit").is_file(), name
        assert (case / "expected_stdout").is_file() or (case / "expected_stderr").is_file(), name
        if (case / "expected_stderr").is_file():
            assert (case / "expected_stderr").read_text(encoding="utf-8").strip(), f"{name}: an empty expected_stderr checks nothing"


@pytest.mark.parametrize("name", NAMES)
def test_case(name, tmp_path, monkeypatch):
    case = shutil.copytree(CASES / name, tmp_path / name)
    monkeypatch.chdir(case)
    monkeypatch.delenv("DRIFT_DEBUG", raising=False)
    args = shlex.split((case / "args").read_text(encoding="utf-8"))

    result = CliRunner().invoke(main, args)

    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(result.exception)))
    assert "Traceback" not in result.stderr
    assert result.exit_code == int((case / "expected_exit").read_text()), result.stderr
    if (case / "expected_stdout").is_file():
        assert result.stdout == (case / "expected_stdout").read_text(encoding="utf-8")
    if (case / "expected_stderr").is_file():
        assert (case / "expected_stderr").read_text(encoding="utf-8").strip() in result.stderr
