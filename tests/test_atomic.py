"""Writing a file whole or not at all (SPEC 9), with the permissions a user expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drift.atomic import write_atomic
from drift.errors import InputError


def test_a_new_file_gets_a_plain_file_s_permissions_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_atomic(target, "a\n")
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    target.chmod(0o640)
    write_atomic(target, "b\n")
    assert (target.read_text(), target.stat().st_mode & 0o777) == ("b\n", 0o640)


def test_a_mode_given_is_the_file_s_mode(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    target.write_text("old")
    target.chmod(0o666)
    write_atomic(target, "new", mode=0o600)
    assert (target.read_text(), target.stat().st_mode & 0o777) == ("new", 0o600)


def test_without_fchmod_the_file_is_written_all_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows before Python 3.13 has no `os.fchmod` (the one-file collector runs there)."""
    monkeypatch.delattr(os, "fchmod")
    write_atomic(tmp_path / "inventory.json", b"{}\n", mode=0o600)
    assert (tmp_path / "inventory.json").read_bytes() == b"{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.json"]


def test_a_folder_that_does_not_exist_is_refused_and_not_made(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_atomic(tmp_path / "no" / "out.csv", "x")
    assert not (tmp_path / "no").exists()
