"""The collector on a live server: files changing while read, re-collection with a cache, a loop of links."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import drift.collect.hashcache
import drift.collect.readfile
import drift.collect.walkshare
from drift.cli import main
from drift.collect import collect
from drift.collect.hashcache import open_cache
from drift.inventory.jsonfile import read_json_inventory
from tests import cachefiles
from tests.builders import make_jar, sha


def put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture(autouse=True)
def no_racy_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files here were just written (their ctime is now); the cache's racy-entry rule, tested in
    test_hashcache.py, would refuse them all."""
    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", -60_000_000_000)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "deploy"
    for i in range(20):
        put(root / f"app/m{i % 3}/F{i}.java", f"class F{i} {{}}\n" * (i + 1))
    put(root / "conf/print.properties", "print.lock.mode=exclusive\n")
    old = time.time() - 3600  # well past the cache's racy margin
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    return root


def read(text: str, folder: Path):
    path = folder / "402206.json"
    path.write_text(text, encoding="utf-8")
    return read_json_inventory(path)


def test_a_file_rewritten_while_hashed_is_read_again_then_recorded_as_changing(tree: Path, tmp_path: Path, monkeypatch) -> None:
    target = put(tree / "app/busy.log.java", b"x" * (4 << 20))
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            with open(target, "r+b") as handle:
                handle.write(str(n).encode())
            n += 1

    monkeypatch.setattr(drift.collect.readfile, "_BUFFER", 64 << 10)

    class SlowSha256:
        """Hashes as usual, but pauses between blocks, so the writer always lands inside a read."""

        def __init__(self, data: bytes = b"") -> None:
            self._hash = real_sha256(data)

        def update(self, data: bytes) -> None:
            time.sleep(0.001)  # lets the writer thread run
            self._hash.update(data)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    real_sha256 = hashlib.sha256
    monkeypatch.setattr(drift.collect.readfile.hashlib, "sha256", SlowSha256)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = collect(tree, "402206")
    finally:
        stop.set()
        thread.join()
    inventory = read(result.text, tmp_path)
    assert result.changing and inventory.changed_during_collection
    assert "changed while being read" in inventory.unreadable["app/busy.log.java"].reason
    assert "app/busy.log.java" not in inventory.files
    assert len(inventory.files) == 21


def test_a_file_that_settles_is_hashed_after_a_retry(tree: Path, tmp_path: Path, monkeypatch) -> None:
    real = drift.collect.readfile._read_once
    changed_once: set[str] = set()

    def flaky(entry, *args, **kwargs):
        if entry.rel.endswith("F3.java") and entry.rel not in changed_once:
            changed_once.add(entry.rel)  # the first read sees the file change, the second does not
            raise drift.collect.readfile._Unstable(entry.rel)
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(drift.collect.readfile, "_read_once", flaky)
    result = collect(tree, "402206", jobs=1)
    inventory = read(result.text, tmp_path)
    assert "app/m0/F3.java" in inventory.files and not inventory.changed_during_collection


def test_cached_recollection_reads_no_file_content_and_gives_the_same_inventory(tree: Path, tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.json"
    warm = open_cache(cache_path)
    first = collect(tree, "402206", cache=warm)
    warm.save(cache_path)
    cache = open_cache(cache_path)
    second = collect(tree, "402206", cache=cache)
    assert second.bytes_read == 0 and cache.hits == 21 and cache.misses == 0
    assert json.loads(second.text)["files"] == json.loads(first.text)["files"]


def test_a_changed_file_misses_the_cache_even_with_its_mtime_restored(tree: Path, tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.json"
    warm = open_cache(cache_path)
    collect(tree, "402206", cache=warm)
    warm.save(cache_path)
    target = tree / "app/m0/F0.java"
    stat_before = target.stat()
    target.write_text("class F0 { /* patched */ }\n")  # same size or not, ctime moves
    os.utime(target, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    cache = open_cache(cache_path)
    result = collect(tree, "402206", cache=cache)
    inventory = read(result.text, tmp_path)
    assert cache.misses == 1 and cache.hits == 20
    assert inventory.files["app/m0/F0.java"].sha256 == hashlib.sha256(target.read_bytes()).hexdigest()


def test_cli_cache_and_rehash(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no manifests/ here: no config keys asked for (a config file is read every time)
    runner = CliRunner()
    out, cache = tmp_path / "402206.json", tmp_path / "hash-cache.json"
    args = ["collect", str(tree), "--tenant", "402206", "--out", str(out), "--cache", str(cache)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.stderr
    assert "cache: 0 reused, 21 hashed" in first.stderr
    second = runner.invoke(main, args)
    assert "; 0 bytes of file content read; cache: 21 reused, 0 hashed" in second.stderr
    third = runner.invoke(main, [*args, "--rehash"])
    assert "cache: 0 reused, 21 hashed" in third.stderr
    assert runner.invoke(main, ["collect", str(tree), "--tenant", "402206", "--rehash"]).exit_code == 2


def test_an_inventory_and_cache_written_inside_the_root_are_left_out(tree: Path) -> None:
    runner = CliRunner()
    args = ["collect", str(tree), "--tenant", "402206", "--out", str(tree / "402206.json"), "--cache", str(tree / ".cache.json")]
    assert runner.invoke(main, args).exit_code == 0
    assert runner.invoke(main, args).exit_code == 0
    inventory = read_json_inventory(tree / "402206.json")
    assert "402206.json" not in inventory.files and ".cache.json" not in inventory.files


def test_a_loop_of_links_is_recorded_and_never_followed(tree: Path, tmp_path: Path) -> None:
    os.symlink("b", tree / "a")
    os.symlink("a", tree / "b")
    os.symlink(".", tree / "app/self")
    result = collect(tree, "402206")
    inventory = read(result.text, tmp_path)
    assert set(inventory.links) == {"a", "b", "app/self"}
    assert not inventory.links["app/self"].outside
    assert len(inventory.files) == 21


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root to become another user")
def test_a_file_the_collecting_user_cannot_read_is_unreadable_with_the_reason(tmp_path: Path) -> None:
    """As root the permission check never fails; collect as `nobody`, in a forked child, instead."""
    import tempfile

    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        base.chmod(0o755)
        root = base / "deploy"
        put(root / "app/Open.java", "class Open {}\n")
        secret = put(root / "conf/db.properties", "db.password=hunter2\n")
        secret.chmod(0o600)  # root's, unreadable to nobody
        for folder in (root, root / "app", root / "conf"):
            folder.chmod(0o755)
        (root / "app/Open.java").chmod(0o644)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become nobody, collect, send the text back
            try:
                os.close(reader)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                text = collect(root, "402206", jobs=1).text.encode()
                os.write(writer, text)
            finally:
                os._exit(0)
        os.close(writer)
        chunks = []
        while chunk := os.read(reader, 1 << 16):
            chunks.append(chunk)
        os.close(reader)
        os.waitpid(pid, 0)
        inventory = read(b"".join(chunks).decode(), tmp_path)
        assert "permission denied" in inventory.unreadable["conf/db.properties"].reason.lower()
        assert "conf/db.properties" not in inventory.files and "app/Open.java" in inventory.files
        assert "hunter2" not in b"".join(chunks).decode()
    finally:
        import shutil

        shutil.rmtree(base)


def test_with_the_tree_walked_first_the_racy_rule_counts_from_the_walk(tree: Path, tmp_path: Path, monkeypatch) -> None:
    """A progress bar has the tree walked before the collection starts: a file changed just before the walk
    saw it is as racy as ever, however long the collection waited after the walk."""
    from drift.collect.walk import walk

    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", 500_000_000)
    put(tree / "app/late.java", "written just before the walk\n")
    walked = walk(tree)
    time.sleep(0.6)  # past the margin, counted from the collection's own start
    cache = open_cache(tmp_path / "cache.json")
    collect(tree, "402206", tree=walked, jobs=1, cache=cache)
    cache.save(tmp_path / "cache.json")
    assert "app/late.java" not in cachefiles.entries(tmp_path / "cache.json")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_recollection_after_changes_writes_byte_for_byte_what_a_full_one_writes(tmp_path: Path, jobs: int, monkeypatch) -> None:
    """A re-collection writes the files the cache answered from its columns (never a record each): the same
    bytes as a collection without a cache, whatever changed, and wherever the files read fall among them."""
    monkeypatch.setattr(drift.collect.walkshare, "SHARED_FROM", 1)  # the walk shared with a forked process, as a large tree's is
    root = tmp_path / "deploy"
    known_jar = make_jar({"a/K.class": b"known"})
    for i in range(60):
        put(root / f"app/m{i % 7}/{'sub/' * (i % 3)}F{i:02}.java", f"class F{i} {{}}\n" * (i + 1))
    put(root / "app/m1/lib/core.jar", make_jar({"c/Core.class": b"core"}))
    put(root / "app/m0/lib/other.jar", make_jar({"o/Other.class": b"other"}))
    put(root / "app/m2/known.jar", known_jar)
    put(root / "app/m2/known.jar.txt", "not an archive\n")
    put(root / "conf/print.properties", "print.lock.mode=exclusive\n")
    put(root / "z\u00e9.java", "odd name\n")
    old = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (old, old))
    keys = [("conf/print.properties", "print.lock.mode")]
    moment = dt.datetime(2023, 6, 14, tzinfo=dt.UTC)

    def run(cache=None) -> bytes:
        return collect(root, "402206", config_keys=keys, known_archives={sha(known_jar)}, jobs=jobs, cache=cache, now=moment).data

    cache_path = tmp_path / "cache"
    warm = open_cache(cache_path)
    assert run(warm) == run()
    warm.save(cache_path)
    (root / "app/m3/F03.java").write_text("class F3 { /* patched */ }\n")  # changed
    (root / "app/m6/F06.java").unlink()  # gone
    put(root / "app/m6/F06b.java", "new\n")  # new, next to where one went
    (root / "app/m2/F09.java").rename(root / "app/m5/F09.java")  # moved
    (root / "app/m1/lib/core.jar").write_bytes(make_jar({"c/Core.class": b"core 2"}))  # a jar rebuilt
    cache = open_cache(cache_path)
    again = run(cache)
    assert cache.hits > 50 and cache.misses > 0
    assert again == run()
