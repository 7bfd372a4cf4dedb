"""The collector against a tree changed under it by the audited party, between the walk and the read.

Races are made deterministic: `drift.collect.readfile._before_open` (called after the walk, before each attempt to
open a file) or a hash object that changes the tree while a file is being read does the swap at a known
moment, on real temporary trees. Whatever changed kind or identity must be listed as unreadable with the
reason, never recorded with a hash, never followed (nothing from outside the root is ever read); nothing may
hang or read without bound; the cache must never keep a hash from a read that did not match the walk. Each test runs the fd-relative code (Linux) and, where it
says so, the by-path fallback (`drift.collect.folders.FD_RELATIVE = False`, what Windows runs) too.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import select
import signal
import time
import tracemalloc
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import drift.collect.folders
import drift.collect.hashcache
import drift.collect.readfile
import drift.collect.run
import drift.collect.walk
from drift.cli import main
from drift.collect import collect
from drift.collect.archive import content_sha256_bytes
from drift.collect.folders import Step
from drift.collect.hashcache import open_cache
from drift.collect.walk import Entry
from drift.errors import OperationalError
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.model import APPEARED, FOLDER_CHANGED, Inventory
from tests import cachefiles
from tests.builders import make_jar

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"  # its config checks ask for conf/print.properties
BIG = b"BIG" + bytes(range(256)) * (3 << 12)  # ~3 MiB, read in many blocks
INSIDE = {
    "app/Main.java": b"class Main {}\n",
    "app/deep/x/One.java": b"class One {}\n",
    "app/deep/x/Two.java": b"class Two {}\n",
    "lib/big.bin": BIG,
    "lib/a.jar": make_jar({"A.class": b"\xca\xfe inside a"}),
    "lib/b.jar": make_jar({"B.class": b"\xca\xfe inside b"}),
    "lib/notes.txt": b"inside notes\n",
    "conf/print.properties": b"print.lock.mode=exclusive\n",
}
OUTSIDE_SECRET = "OUTSIDE-Secret-Value-77"
OUTSIDE = {
    "big.bin": b"BIG" + bytes(reversed(range(256))) * (3 << 12),
    "a.jar": make_jar({"A.class": b"\xca\xfe OUTSIDE a"}),
    "b.jar": make_jar({"B.class": b"\xca\xfe OUTSIDE b"}),
    "notes.txt": b"outside notes\n",
    "outside-only.txt": b"never under the root\n",
    "print.properties": f"print.lock.mode={OUTSIDE_SECRET}\n".encode(),
    "deep/x/One.java": b"class One { /* outside */ }\n",
    "deep/x/Two.java": b"class Two { /* outside */ }\n",
}
LIB = ["lib/a.jar", "lib/b.jar", "lib/big.bin", "lib/notes.txt"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def outside_hashes() -> set[str]:
    found = {sha(data) for data in OUTSIDE.values()}
    return found | {content_sha256_bytes(data) for name, data in OUTSIDE.items() if name.endswith(".jar")}


def assert_nothing_from_outside(text: str) -> None:
    for digest in outside_hashes():
        assert digest not in text
    assert OUTSIDE_SECRET not in text and "outside-only" not in text


def put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(autouse=True)
def no_racy_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files were just written; the cache's racy-entry rule (test_hashcache.py) would refuse them all."""
    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", -60_000_000_000)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two files a batch: these trees then take several batches, so that more than one job means worker
    processes (forked while the walk goes on) and one job a thread, as on a real tree."""
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 2)


@pytest.fixture(params=[True, False], ids=["fd-relative", "by-path-fallback"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param and not drift.collect.folders.FD_RELATIVE:
        pytest.skip("no descriptor-relative calls on this platform")
    monkeypatch.setattr(drift.collect.folders, "FD_RELATIVE", request.param)
    return bool(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "deploy"
    for rel, data in INSIDE.items():
        put(base / rel, data)
    for rel, data in OUTSIDE.items():
        put(tmp_path / "outside" / rel, data)
    return base


def read(text: str, folder: Path) -> Inventory:
    path = folder / "402206.json"
    path.write_text(text, encoding="utf-8")
    return read_json_inventory(path)


def swap_lib(root: Path) -> None:
    """`lib` becomes a symbolic link to a folder outside the root (the real one moved out of the root)."""
    if not (root / "lib").is_symlink():
        os.rename(root / "lib", root.parent / "stash")
        os.symlink(root.parent / "outside", root / "lib")


def restore_lib(root: Path) -> None:
    os.unlink(root / "lib")
    os.rename(root.parent / "stash", root / "lib")


Hook = Callable[[Callable[[Entry], bool], Callable[[], None]], None]


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Hook:
    """`hook(when, action)`: run `action` once, just before the first file for which `when` holds is opened,
    in whichever process (parent or forked worker) gets there first; the others wait until it is done."""
    marker = tmp_path / "hook-marker"

    def install(when: Callable[[Entry], bool], action: Callable[[], None]) -> None:
        def before_open(entry: Entry) -> None:
            if not when(entry) or (marker / "done").exists():
                return
            try:
                os.mkdir(marker)
            except FileExistsError:
                while not (marker / "done").exists():
                    time.sleep(0.001)
                return
            action()
            (marker / "done").touch()

        monkeypatch.setattr(drift.collect.readfile, "_before_open", before_open)

    return install


def in_child(run: Callable[[], dict[str, Any]], timeout: float = 60) -> dict[str, Any]:
    """`run()` in a forked child, its Python allocations traced; fails the test if it takes over `timeout`
    seconds (a collector that blocked on a FIFO) instead of hanging the test run."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setpgid(0, 0)  # its own process group, worker processes included: killed together
            os.close(reader)
            tracemalloc.start()
            try:
                out = run()
                out["peak"] = tracemalloc.get_traced_memory()[1]
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                out = {"error": repr(exc)}
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # (whichever of the two runs first)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([reader], [], [], left)[0]:
                os.killpg(pid, signal.SIGKILL)
                pytest.fail(f"the collection did not finish within {timeout} s: it blocked")
            chunk = os.read(reader, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    out: dict[str, Any] = json.loads(b"".join(chunks))
    assert "error" not in out, out.get("error")
    return out


# --- a folder swapped for a link to a folder outside the root --------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2], ids=["threads", "worker-processes"])
def test_a_folder_swapped_for_a_link_before_its_files_are_opened(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, mode: bool, jobs: int
) -> None:
    hook(lambda e: e.rel.startswith("lib/"), lambda: swap_lib(root))
    result = collect(root, "402206", jobs=jobs)
    inventory = read(result.text, tmp_path)
    assert_nothing_from_outside(result.text)
    for rel in LIB:
        assert rel not in inventory.files
        assert inventory.unreadable[rel].reason == "changed kind during collection: folder lib is now a symbolic link"
    assert inventory.changed_during_collection and result.changing
    assert inventory.files["app/Main.java"].sha256 == sha(INSIDE["app/Main.java"])
    assert set(inventory.files) == set(INSIDE) - set(LIB)


def test_a_folder_swapped_for_a_link_while_a_big_file_in_it_is_read(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: bool
) -> None:
    """The attack as reproduced: the swap lands in the middle of hashing a big file. The bytes read are the
    walk's file (it is read through its own descriptor), but its path no longer leads to it: not recorded."""
    monkeypatch.setattr(drift.collect.readfile, "_BUFFER", 64 << 10)
    real = hashlib.sha256

    class SwapMidRead:
        def __init__(self) -> None:
            self._hash = real()

        def update(self, data: bytes) -> None:
            if data[:3] == b"BIG":
                swap_lib(root)
            self._hash.update(data)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    monkeypatch.setattr(drift.collect.readfile, "hashlib", types.SimpleNamespace(sha256=SwapMidRead))
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    result = collect(root, "402206", jobs=1, excludes=["lib/*.jar", "lib/notes.txt"], cache=cache)
    cache.save(cache_path)
    inventory = read(result.text, tmp_path)
    assert_nothing_from_outside(result.text)
    assert "lib/big.bin" not in inventory.files
    assert inventory.unreadable["lib/big.bin"].reason == "changed kind during collection: folder lib is now a symbolic link"
    assert "lib/big.bin" not in cachefiles.entries(cache_path)
    assert_nothing_from_outside(cachefiles.text(cache_path))

    # Restored (the file's own stat never changed): the cache holds nothing for it, so it is read, truly.
    restore_lib(root)
    monkeypatch.setattr(drift.collect.readfile, "hashlib", hashlib)
    for _ in range(2):
        cache = open_cache(cache_path)
        again = read(collect(root, "402206", jobs=1, cache=cache).text, tmp_path)
        cache.save(cache_path)
        assert again.files["lib/big.bin"].sha256 == sha(BIG) and not again.unreadable
    assert cache.hits == len(INSIDE)  # the second time, every file (big.bin included) from the cache


def test_a_folder_above_replaced_by_another_folder_is_caught_through_kept_descriptors(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, mode: bool
) -> None:
    """`app` (two levels up) becomes another folder holding the same names, after the collector opened (and
    kept) descriptors of `app/deep/x` for the first file there: the second file there is refused, and so is
    the first, whose folders are checked with its batch's, after the change."""
    seen: list[str] = []

    def replace_app() -> None:
        os.rename(root / "app", tmp_path / "app-moved")
        os.mkdir(root / "app")
        os.rename(tmp_path / "outside" / "deep", root / "app" / "deep")

    def second_in_x(entry: Entry) -> bool:
        if entry.rel.startswith("app/deep/x/"):
            seen.append(entry.rel)
        return len(seen) == 2

    hook(second_in_x, replace_app)
    result = collect(root, "402206", jobs=1)
    inventory = read(result.text, tmp_path)
    first, second = seen[:2]
    # The by-path fallback checks the folder itself, not each one above it: it names the folder it holds.
    changed = "app" if mode else "app/deep/x"
    for refused in (first, second):
        assert inventory.unreadable[refused].reason == f"replaced during collection (folder {changed} is another inode)"
    assert_nothing_from_outside(result.text)


def test_a_folder_swapped_for_a_link_while_the_tree_is_walked(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: bool
) -> None:
    real_list = drift.collect.walk._list

    def list_then_swap(tree, listing, *rest):  # type: ignore[no-untyped-def]
        real_list(tree, listing, *rest)
        if not listing.folder:  # the root was listed, `lib` seen as a folder: swap it before it is listed itself
            swap_lib(root)

    monkeypatch.setattr(drift.collect.walk, "_list", list_then_swap)
    result = collect(root, "402206")
    inventory = read(result.text, tmp_path)
    assert inventory.unreadable["lib"].reason == "changed kind during collection: folder lib is now a symbolic link"
    assert not any(p.startswith("lib/") for p in [*inventory.files, *inventory.unreadable])
    assert inventory.changed_during_collection
    assert_nothing_from_outside(result.text)


# --- a file swapped for a FIFO, a link to /dev/zero, another file -----------------------------------------


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def test_a_file_swapped_for_a_fifo_does_not_block(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, mode: bool
) -> None:
    hook(lambda e: e.rel == "app/Main.java", lambda: replace_with_fifo(root / "app/Main.java"))
    out = in_child(lambda: {"text": collect(root, "402206", jobs=2).text})
    inventory = read(out["text"], tmp_path)
    assert inventory.unreadable["app/Main.java"].reason == "changed kind during collection: now a FIFO"
    assert "app/Main.java" not in inventory.files and inventory.changed_during_collection


def test_a_fifo_that_slips_in_between_the_check_and_the_open_is_caught_on_the_descriptor(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name still looks like the walk's file when checked, and is a FIFO when opened: opened without
    blocking, the descriptor's fstat refuses it."""
    target = root / "app/Main.java"
    walk_stat = os.stat(target)
    real_stat_at = drift.collect.folders.stat_at
    fooled: list[bool] = []

    def stale_stat_at(path: str, dir_fd: int | None, folder: Step | None = None) -> os.stat_result:
        if os.path.basename(path) == "Main.java" and not fooled:
            fooled.append(True)
            replace_with_fifo(target)
            return walk_stat
        return real_stat_at(path, dir_fd, folder)

    monkeypatch.setattr(drift.collect.folders, "stat_at", stale_stat_at)
    out = in_child(lambda: {"text": collect(root, "402206", jobs=1).text})
    assert read(out["text"], tmp_path).unreadable["app/Main.java"].reason == "changed kind during collection: now a FIFO"


@pytest.mark.parametrize("slip", [False, True], ids=["swapped-before", "slips-in-after-the-check"])
def test_a_file_swapped_for_a_link_to_dev_zero_is_never_read(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, slip: bool
) -> None:
    target = root / "lib/notes.txt"
    walk_stat = os.stat(target)

    def to_dev_zero() -> None:
        target.unlink()
        os.symlink("/dev/zero", target)

    if slip:  # the check sees the walk's file; the open meets the link (O_NOFOLLOW refuses it)
        real_stat_at = drift.collect.folders.stat_at
        fooled: list[bool] = []

        def stale_stat_at(path: str, dir_fd: int | None, folder: Step | None = None) -> os.stat_result:
            if os.path.basename(path) == "notes.txt" and not fooled:
                fooled.append(True)
                to_dev_zero()
                return walk_stat
            return real_stat_at(path, dir_fd, folder)

        monkeypatch.setattr(drift.collect.folders, "stat_at", stale_stat_at)
    else:
        hook(lambda e: e.rel == "lib/notes.txt", to_dev_zero)
    out = in_child(lambda: {"text": collect(root, "402206", jobs=1).text}, timeout=60)
    inventory = read(out["text"], tmp_path)
    assert inventory.unreadable["lib/notes.txt"].reason == "changed kind during collection: now a symbolic link"
    assert out["peak"] < 64 << 20  # the biggest file is 3 MiB: nothing was read without bound
    assert sha(b"\0" * 4096) not in out["text"] and sha(b"") not in out["text"]


def test_a_file_replaced_by_another_file_is_unreadable_with_the_reason(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, mode: bool
) -> None:
    def replace() -> None:
        put(tmp_path / "new-notes.txt", b"replacement notes\n")
        os.replace(tmp_path / "new-notes.txt", root / "lib/notes.txt")

    hook(lambda e: e.rel == "lib/notes.txt", replace)
    result = collect(root, "402206", jobs=1)
    inventory = read(result.text, tmp_path)
    assert inventory.unreadable["lib/notes.txt"].reason == "replaced during collection (another inode)"
    assert sha(b"replacement notes\n") not in result.text and sha(INSIDE["lib/notes.txt"]) not in result.text
    assert inventory.changed_during_collection


def test_reads_never_go_past_the_size_fstat_gave(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that grows while it is read: each attempt hashes exactly the size its descriptor had, sees one
    byte more, and is read again; after three attempts it is unreadable. Nothing appended is ever hashed."""
    target = root / "lib/big.bin"
    monkeypatch.setattr(drift.collect.readfile, "_BUFFER", 64 << 10)
    real = hashlib.sha256
    attempts: list[list[int]] = []  # per attempt: [size when the read started, bytes hashed]

    class Growing:
        def __init__(self) -> None:
            self._hash = real()
            self._mine = False

        def update(self, data: bytes) -> None:
            if data[:3] == b"BIG":
                self._mine = True
                attempts.append([target.stat().st_size, 0])
                with open(target, "ab") as handle:
                    handle.write(b"APPENDED" * (1 << 17))  # 1 MiB more, during the read
            if self._mine:
                attempts[-1][1] += len(data)
            self._hash.update(data)

        def hexdigest(self) -> str:
            return self._hash.hexdigest()

    monkeypatch.setattr(drift.collect.readfile, "hashlib", types.SimpleNamespace(sha256=Growing))
    inventory = read(collect(root, "402206", jobs=1).text, tmp_path)
    assert inventory.unreadable["lib/big.bin"].reason.startswith("changed while being read (3 attempts)")
    assert len(attempts) == 3 and all(size == hashed for size, hashed in attempts), attempts


# --- the walk and the hashing at once -----------------------------------------------------------------------


def _two_folders(tmp_path: Path) -> Path:
    """A deploy root of two folders, `p` (with `x.java`, which the tests move) and `q`."""
    base = tmp_path / "deploy"
    for rel in ("p/x.java", "p/y.java", "q/z.java"):
        put(base / rel, rel.encode())
    return base


def _listed_once_under_its_new_name(result: Any, listed: list[str], tmp_path: Path) -> None:
    """`x.java`, moved from the folder walked first (`listed`) into the second, is listed once, under its new
    name; its old name is unreadable ("removed during collection"), and the inventory says the tree changed."""
    first, second = listed
    inventory = read(result.text, tmp_path)
    assert f"{first}/x.java" not in inventory.files
    assert inventory.unreadable[f"{first}/x.java"].reason == "removed during collection"
    assert inventory.files[f"{second}/x.java"].sha256 == sha(f"{first}/x.java".encode())
    assert inventory.changed_during_collection and result.changing


@pytest.mark.parametrize("jobs", [1, 2], ids=["threads", "worker-processes"])
def test_a_file_moved_into_a_folder_not_yet_walked_after_it_was_read_is_not_listed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Files are read while the walk goes on. A file read from a folder already walked, then moved into one
    the walk lists later, would be listed under both names: once the walk is over, a file read before is
    checked to be still at its name, as read."""
    base = _two_folders(tmp_path)
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 1)
    read_marker = tmp_path / "p-read"
    real_read, real_list = drift.collect.readfile._read_once, drift.collect.walk._list
    listed: list[str] = []

    def read_once(entry: Entry, *args: Any, **kwargs: Any) -> Any:
        out = real_read(entry, *args, **kwargs)
        if entry.rel == f"{listed[0]}/x.java" if listed else False:
            read_marker.touch()  # (in whichever process read it)
        return out

    def list_folder(tree, listing, *rest):  # type: ignore[no-untyped-def]
        folder = listing.folder
        if folder and listed:  # the second folder, about to be listed: the first's x.java is read by now
            deadline = time.monotonic() + 10
            while not read_marker.exists() and time.monotonic() < deadline:
                time.sleep(0.002)
            assert read_marker.exists(), "the first folder's file was never read"
            os.rename(base / listed[0] / "x.java", base / folder[-1].rel / "x.java")
        if folder:
            listed.append(folder[-1].rel)
        real_list(tree, listing, *rest)

    monkeypatch.setattr(drift.collect.readfile, "_read_once", read_once)
    monkeypatch.setattr(drift.collect.walk, "_list", list_folder)
    result = collect(base, "402206", jobs=jobs)
    _listed_once_under_its_new_name(result, listed, tmp_path)


@pytest.mark.parametrize("jobs", [1, 2], ids=["threads", "worker-processes"])
def test_a_file_the_cache_answered_moved_into_a_folder_not_yet_walked_is_not_listed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A file the cache answers is not read, so nothing checks it after a read: once the walk is over, the
    folder of each file the cache answered must still have the times it was listed with, else each of its
    files is checked to be still at its name."""
    base = _two_folders(tmp_path)
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    collect(base, "402206", jobs=jobs, cache=cache)
    cache.save(cache_path)
    real_list = drift.collect.walk._list
    listed: list[str] = []

    def list_folder(tree, listing, *rest):  # type: ignore[no-untyped-def]
        folder = listing.folder
        if folder and listed:  # the second folder, about to be listed: move the first one's x.java into it
            os.rename(base / listed[0] / "x.java", base / folder[-1].rel / "x.java")
        if folder:
            listed.append(folder[-1].rel)
        real_list(tree, listing, *rest)

    monkeypatch.setattr(drift.collect.walk, "_list", list_folder)
    cache = open_cache(cache_path)
    result = collect(base, "402206", jobs=jobs, cache=cache)
    _listed_once_under_its_new_name(result, listed, tmp_path)


def test_the_files_the_cache_answered_cost_one_check_a_folder_when_nothing_changed(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    first = collect(root, "402206", jobs=1, cache=cache).text
    cache.save(cache_path)
    looked: list[str] = []
    real_stat = drift.collect.folders._FdFolders.stat

    def counting(self, folder, name, **kwargs):  # type: ignore[no-untyped-def]
        looked.append(name)
        return real_stat(self, folder, name, **kwargs)

    monkeypatch.setattr(drift.collect.folders._FdFolders, "stat", counting)
    cache = open_cache(cache_path)
    again = collect(root, "402206", jobs=1, cache=cache).text
    assert cache.hits == len(INSIDE) and looked == []
    assert read(again, tmp_path).files == read(first, tmp_path).files


@pytest.mark.parametrize(("limit", "jobs"), [(200, 1), (100, 2)], ids=["thread", "workers"])
def test_a_deep_folder_chain_under_a_low_open_file_limit_is_collected_whole(tmp_path: Path, limit: int, jobs: int) -> None:
    """The walk and the hashing each keep at most an eighth of the process's open-file limit of folders open
    (16 at least), however deep the tree, each way down past the folders kept passing through the levels
    below them: a chain of 300 folders is collected whole under a limit of 200 open files with one job (the
    walk and a hashing thread in one process), and under 100 with two worker processes, each holding the
    folders it inherited beside its own (which lost 280 of 300 files, listed unreadable, when 64 were kept
    whatever the limit)."""
    base = chain(tmp_path / "deploy", 300)

    def run() -> dict[str, Any]:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        return {"text": collect(base, "402206", jobs=jobs).text}

    inventory = read(in_child(run)["text"], tmp_path)
    assert len(inventory.files) == 300 and not inventory.unreadable


def test_running_out_of_descriptors_is_an_error_not_an_unreadable_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the collector cannot open because the process may open no more files says nothing about the
    tree: the collection ends with an operational error (exit 3, nothing written), never an inventory that
    lists the file unreadable."""
    real_open = os.open

    def exhausted(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if path == "notes.txt":
            raise OSError(errno.EMFILE, "Too many open files")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(drift.collect.folders.os, "open", exhausted)
    with pytest.raises(OperationalError, match="out of file descriptors"):
        collect(root, "402206", jobs=1)


def test_the_folders_of_a_batch_are_checked_once_along_a_chain_and_each_on_its_own_once_one_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a batch's reads, a folder above another folder read in is checked on the way down to it: a
    chain of 40 folders costs one check from the root. When that check fails, each folder above is checked
    on its own. Here `a/b/c` is moved out of the root before `a/b/c/F2` is read (through the folder
    descriptor kept from the walk) and its file rewritten outside; `a/b` leaves the root too and `c` joins it
    outside: neither file is recorded, `a/b/F1` (read before) once `a/b` is checked on its own."""
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 256)  # one batch: hashed in this process
    checks: list[str] = []
    real_check = drift.collect.folders._FdFolders.check

    def counting(self: Any, folder: Any) -> None:
        checks.append(folder[-1].rel if folder else "")
        real_check(self, folder)

    monkeypatch.setattr(drift.collect.folders._FdFolders, "check", counting)
    base = chain(tmp_path / "deploy", 40)
    collect(base, "402206", jobs=1)
    assert len(checks) == 1, checks

    root, out1, out2 = tmp_path / "root", tmp_path / "out1", tmp_path / "out2"
    (root / "a/b/c").mkdir(parents=True)
    out1.mkdir()
    out2.mkdir()
    put(root / "a/b/F1", b"one\n")
    put(root / "a/b/c/F2", b"two\n")

    def before_open(entry: Entry) -> None:
        if entry.rel == "a/b/c/F2" and not (out1 / "c").exists():
            os.rename(root / "a/b/c", out1 / "c")
            (out1 / "c/F2").write_bytes(b"OUTSIDE content\n")  # the same inode, written outside the root
            os.rename(root / "a/b", out2 / "b")
            os.rename(out1 / "c", out2 / "b/c")

    monkeypatch.setattr(drift.collect.readfile, "_before_open", before_open)
    inventory = read(collect(root, "402206", jobs=1).text, tmp_path)
    assert inventory.changed_during_collection
    assert not inventory.files and set(inventory.unreadable) == {"a/b/F1", "a/b/c/F2", "a", "a/b", "a/b/c"}, inventory  # a/b checked on its own
    assert {inventory.unreadable[folder].reason for folder in ("a", "a/b", "a/b/c")} == {FOLDER_CHANGED}


def chain(base: Path, levels: int) -> Path:
    """`base` with a chain of `levels` folders `d/d/d/...`, one file in each."""
    deep = base
    for level in range(levels):
        deep = deep / "d"
        put(deep / f"f{level}.txt", b"%d" % level)
    return base


def test_a_deep_folder_chain_opens_each_folder_about_once(tmp_path: Path) -> None:
    """A tenant's tree 400 folders deep is walked and read without opening its folders again and again (the
    least recently used folder kept is the top of the chain, which the next way down needs first): with
    room for them under the open-file limit, each folder is opened once for the walk and the reads. (It
    took 30 s at 1,200 levels.)"""
    base = chain(tmp_path / "deploy", 400)

    def run() -> dict[str, Any]:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 8192 <= hard or hard == resource.RLIM_INFINITY:
            resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))
        if drift.collect.folders.kept_folders() < 400:
            return {"skip": f"an open-file limit of {soft} (at most {hard}) keeps fewer than 400 folders open"}
        real_open, opened = os.open, [0]

        def counting(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            opened[0] += bool(flags & os.O_DIRECTORY)
            return real_open(path, flags, *args, **kwargs)

        os.open = counting  # a forked child of its own: the tests' process keeps its os.open
        text = collect(base, "402206", jobs=1).text
        return {"text": text, "opened": opened[0]}

    out = in_child(run)
    if "skip" in out:
        pytest.skip(out["skip"])
    assert len(read(out["text"], tmp_path).files) == 400
    assert out["opened"] <= 2 * 400, out["opened"]


# --- the cache ----------------------------------------------------------------------------------------------


def test_the_cache_keeps_no_hash_from_a_read_that_did_not_match_the_walk(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook
) -> None:
    """Rewritten in place between the walk and the read (same inode): the inventory has the bytes read, but
    the descriptor's stat is not the walk's, so the cache stores nothing for it; the next run reads it again."""
    target = root / "lib/notes.txt"
    hook(lambda e: e.rel == "lib/notes.txt", lambda: target.write_bytes(b"rewritten notes, longer\n"))
    cache_path = tmp_path / "cache.json"
    cache = open_cache(cache_path)
    first = read(collect(root, "402206", jobs=1, cache=cache).text, tmp_path)
    cache.save(cache_path)
    assert first.files["lib/notes.txt"].sha256 == sha(b"rewritten notes, longer\n")
    assert cache.refused == 1 and "lib/notes.txt" not in cachefiles.entries(cache_path)

    monkeypatch.setattr(drift.collect.readfile, "_before_open", lambda entry: None)
    cache = open_cache(cache_path)
    second = read(collect(root, "402206", jobs=1, cache=cache).text, tmp_path)
    assert second.files["lib/notes.txt"].sha256 == sha(b"rewritten notes, longer\n")
    assert cache.misses == 1 and cache.hits == len(INSIDE) - 1


# --- config values ------------------------------------------------------------------------------------------

KEYS = {("conf/print.properties", "print.lock.mode")}


def test_a_config_file_swapped_for_a_link_outside_gives_no_value(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook, mode: bool
) -> None:
    target = root / "conf/print.properties"

    def to_link() -> None:
        target.unlink()
        os.symlink(tmp_path / "outside/print.properties", target)

    hook(lambda e: e.rel == "conf/print.properties", to_link)
    result = collect(root, "402206", jobs=1, config_keys=KEYS)
    inventory = read(result.text, tmp_path)
    assert OUTSIDE_SECRET not in result.text and inventory.config == {}
    assert inventory.unreadable["conf/print.properties"].reason == "changed kind during collection: now a symbolic link"


def test_a_config_file_replaced_by_another_file_gives_no_value(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook
) -> None:
    target = root / "conf/print.properties"
    hook(lambda e: e.rel == "conf/print.properties", lambda: os.replace(tmp_path / "outside/print.properties", target))
    result = collect(root, "402206", jobs=1, config_keys=KEYS)
    assert OUTSIDE_SECRET not in result.text and read(result.text, tmp_path).config == {}


def test_a_config_value_comes_from_the_bytes_that_were_hashed(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook
) -> None:
    target = root / "conf/print.properties"
    hook(lambda e: e.rel == "conf/print.properties", lambda: target.write_bytes(b"print.lock.mode=shared\n"))
    inventory = read(collect(root, "402206", jobs=1, config_keys=KEYS).text, tmp_path)
    assert inventory.files["conf/print.properties"].sha256 == sha(b"print.lock.mode=shared\n")
    assert inventory.config[("conf/print.properties", "print.lock.mode")].value == "shared"


# --- the command line ---------------------------------------------------------------------------------------


def test_cli_collect_through_a_swapped_folder_and_config_file_then_restored(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Hook
) -> None:
    out, cache_path = tmp_path / "402206.json", tmp_path / "cache.json"
    args = ["collect", str(root), "--tenant", "402206", "--out", str(out)]
    args += ["--cache", str(cache_path), "--catalog", str(MANIFESTS)]
    config = root / "conf/print.properties"

    def attack() -> None:  # once: the hook may run in the parent and in each worker process
        swap_lib(root)
        if not config.is_symlink():
            os.rename(config, tmp_path / "print.properties.real")
            os.symlink(tmp_path / "outside/print.properties", config)

    # When the config file is opened (the walk, which may still be under way, has listed it, not always lib/).
    hook(lambda e: e.rel == "conf/print.properties", attack)
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    inventory = read_json_inventory(out)
    assert_nothing_from_outside(out.read_text(encoding="utf-8"))
    assert_nothing_from_outside(cachefiles.text(cache_path))
    assert "conf/print.properties" not in inventory.files
    assert "now a symbolic link" in inventory.unreadable["conf/print.properties"].reason
    # A file of lib/ read before the swap keeps its true hash; one after it is unreadable or never seen.
    assert all(inventory.files[rel].sha256 == sha(INSIDE[rel]) for rel in LIB if rel in inventory.files)
    assert "files changed during collection" in first.stderr

    monkeypatch.setattr(drift.collect.readfile, "_before_open", lambda entry: None)
    restore_lib(root)
    config.unlink()
    os.rename(tmp_path / "print.properties.real", config)
    for _ in range(2):  # read, then from the cache: the true hashes both times
        again = CliRunner().invoke(main, args)
        assert again.exit_code == 0, again.output
        inventory = read_json_inventory(out)
        assert {rel: inventory.files[rel].sha256 for rel in INSIDE} == {rel: sha(data) for rel, data in INSIDE.items()}
        assert inventory.config[("conf/print.properties", "print.lock.mode")].value == "exclusive"
        assert not inventory.unreadable and not inventory.changed_during_collection
    assert "cache: 7 reused, 1 hashed" in again.stderr  # the config file is read every time


def test_a_root_file_that_is_a_folder_now_is_named_even_under_its_old_inode_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every file is read, a file of the root is replaced by a folder holding a stale jar, and the file
    system gives the folder the file's old inode number (ext4 reuses a freed one at once). The root's names
    are compared by inode and kind: the folder is named, never taken for the file the walk saw."""
    root = tmp_path / "deploy"
    (root / "app").mkdir(parents=True)
    (root / "app" / "F.java").write_text("class F {}\n")
    (root / "r2.txt").write_text("old\n")
    old_inode = (root / "r2.txt").stat().st_ino
    real_ident = drift.collect.walk.ident

    def same_number(entry: os.DirEntry[str]) -> tuple[int, str]:
        inode, kind = real_ident(entry)
        return (old_inode if entry.name == "r2.txt" else inode), kind

    real_look = drift.collect.run._looked_again

    def replaced_then_looked(*args: Any, **kwargs: Any) -> Any:
        (root / "r2.txt").unlink()
        (root / "r2.txt").mkdir()
        (root / "r2.txt" / "in.jar").write_bytes(b"stale")
        return real_look(*args, **kwargs)

    monkeypatch.setattr(drift.collect.readfile, "ident", same_number)
    monkeypatch.setattr(drift.collect.run, "_looked_again", replaced_then_looked)
    inventory = read(collect(root, "402206", jobs=1).text, tmp_path)
    assert inventory.unreadable["r2.txt"].reason == APPEARED
    assert "r2.txt" not in inventory.files and inventory.changed_during_collection
