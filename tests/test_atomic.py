"""Writing a file whole or not at all (SPEC 9), with the permissions a user expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import drift.atomic
from drift.atomic import write_atomic
from drift.errors import InputError, OperationalError


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


def test_a_link_or_file_at_the_temporary_name_is_never_written_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever can write the folder may lay a link (or a file) at the next temporary name: it is left as it
    is, another name is taken, and the file written is the target alone."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"kept\n")
    names = iter([b"\x01" * 6, b"\x02" * 6, b"\x03" * 6])
    monkeypatch.setattr(drift.atomic.os, "urandom", lambda n: next(names))
    (tmp_path / f".out.json.{'01' * 6}.tmp").symlink_to(victim)
    (tmp_path / f".out.json.{'02' * 6}.tmp").write_bytes(b"someone's\n")
    write_atomic(tmp_path / "out.json", b"new\n")
    assert (tmp_path / "out.json").read_bytes() == b"new\n"
    assert victim.read_bytes() == b"kept\n"
    assert (tmp_path / f".out.json.{'02' * 6}.tmp").read_bytes() == b"someone's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim", "out.json", f".out.json.{'01' * 6}.tmp", f".out.json.{'02' * 6}.tmp"])


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old\n")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(drift.atomic.os, "fsync", full)
    with pytest.raises(OperationalError, match="No space left"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
