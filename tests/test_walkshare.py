"""A re-collection's walk shared with a forked process: the same inventory as one walk, the same checks once
the walk is over, and an error (never a short inventory) when the other process dies."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

import drift.collect.hashcache
import drift.collect.walk
import drift.collect.walkshare
from drift.collect import collect
from drift.collect.hashcache import open_cache
from drift.errors import OperationalError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="the walk is shared with a forked process")

FOLDERS = [f"app/m{i:02}" for i in range(12)]


@pytest.fixture(autouse=True)
def shared_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small tree, shared all the same; and files just written counted as settled."""
    monkeypatch.setattr(drift.collect.walkshare, "SHARED_FROM", 1)
    monkeypatch.setattr(drift.collect.walkshare, "SHARE_AT", 2)
    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", -60_000_000_000)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "deploy"
    for folder in FOLDERS:
        for name in ("x.java", "y.java", "z.properties"):
            path = root / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{folder}/{name}\n", encoding="utf-8")
    (root / "app" / "m03" / "deeper").mkdir()
    (root / "app" / "m03" / "deeper" / "w.java").write_text("w\n", encoding="utf-8")
    (root / "app" / "m05" / "current").symlink_to("../m04")
    os.mkfifo(root / "app" / "m07" / "pipe")
    (root / "app" / "m09" / "bad\x01name.java").write_text("odd\n", encoding="utf-8")
    return root


def _two_walks(monkeypatch: pytest.MonkeyPatch, marker: Path) -> None:
    """Have the other walk leave `marker` (proof that the walk was shared)."""
    real = drift.collect.walkshare._walk

    def walk(*args: Any) -> Any:
        marker.touch()
        return real(*args)

    monkeypatch.setattr(drift.collect.walkshare, "_walk", walk)


def _doc(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    doc.pop("collected_at"), doc.pop("digest")
    return doc


def test_a_shared_walk_writes_what_one_walk_writes(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = _doc(collect(tree, "402206").text)
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    collect(tree, "402206", cache=cache)
    cache.save(cache_path)
    marker = tmp_path / "shared"
    _two_walks(monkeypatch, marker)
    cache = open_cache(cache_path)
    again = collect(tree, "402206", cache=cache, jobs=2)
    assert marker.exists(), "the walk was not shared"
    assert _doc(again.text) == alone
    assert again.bytes_read == 0
    assert (cache.hits, cache.misses) == (len(alone["files"]), 0)


def test_files_changed_in_either_walk_are_read(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    collect(tree, "402206", cache=cache)
    cache.save(cache_path)
    for folder in FOLDERS:
        (tree / folder / "y.java").write_text("patched\n", encoding="utf-8")
    marker = tmp_path / "shared"
    _two_walks(monkeypatch, marker)
    cache = open_cache(cache_path)
    doc = _doc(collect(tree, "402206", cache=cache, jobs=2).text)
    assert marker.exists()
    assert doc == _doc(collect(tree, "402206").text)
    assert cache.misses == len(FOLDERS)
    cache.save(cache_path)
    assert open_cache(cache_path).lookup(f"{FOLDERS[0]}/y.java", os.stat(tree / FOLDERS[0] / "y.java", follow_symlinks=False)) is not None


def test_the_other_walk_dying_is_an_error_not_a_shorter_inventory(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    collect(tree, "402206", cache=cache)
    cache.save(cache_path)
    monkeypatch.setattr(drift.collect.walkshare, "_walk", lambda *args: os.kill(os.getpid(), 9))
    with pytest.raises(OperationalError, match="ended without a result"):
        collect(tree, "402206", cache=open_cache(cache_path), jobs=2)


def test_a_file_moved_from_one_walks_folder_into_the_others_is_not_listed_twice(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other walk, about to list its first folder, waits for this one to list a folder (whose x.java the
    cache answers), then moves that x.java into the folder it lists. Once both walks are over, the folder
    it left is no longer as listed: its files are checked, and the file is listed once, under its new name."""
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    collect(tree, "402206", cache=cache)
    cache.save(cache_path)
    parent, listed = os.getpid(), tmp_path / "listed"
    listed.mkdir()
    real_list = drift.collect.walk._list
    moved: list[str] = []

    def list_folder(tree_, listing, *rest):  # type: ignore[no-untyped-def]
        folder = listing.folder[-1].rel if listing.folder else ""
        if os.getpid() == parent:
            real_list(tree_, listing, *rest)
            if folder in FOLDERS:
                (listed / folder.replace("/", "_")).touch()
            return
        if folder in FOLDERS and not (listed / "moved").exists():
            deadline = time.monotonic() + 10
            while not any(listed.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.002)
            source = next(p.name for p in listed.iterdir() if p.name != "moved").replace("_", "/")
            os.rename(tree / source / "x.java", tree / folder / "x.java.moved")
            (listed / "moved").write_text(f"{source} {folder}", encoding="utf-8")
        real_list(tree_, listing, *rest)

    monkeypatch.setattr(drift.collect.walk, "_list", list_folder)
    doc = _doc(collect(tree, "402206", cache=open_cache(cache_path), jobs=2).text)
    source, target = (listed / "moved").read_text(encoding="utf-8").split()
    paths = {f["path"] for f in doc["files"]}
    assert f"{target}/x.java.moved" in paths
    assert f"{source}/x.java" not in paths, "the moved file is listed under the name it left"
    moved.append(source)


def test_the_other_walk_takes_the_smaller_part_and_every_folder_is_in_one_part() -> None:
    pending: list[Any] = [((), f"/deploy/m{i:02}") for i in range(40)]
    weights = [100 + 7 * i for i in range(40)]
    theirs, ours = drift.collect.walkshare._halves(pending, weights)
    assert sorted(theirs + ours, key=str) == sorted(pending, key=str)
    weight = dict(zip((path for _, path in pending), weights))
    share = sum(weight[path] for _, path in theirs) / sum(weights)
    assert abs(share - 1 / (1 + drift.collect.walkshare.OTHER_SHARE)) < 0.03
