"""The re-collection cache (`drift collect --cache`): a hash is reused only for a provably unchanged file."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path

import pytest

import drift.collect.hashcache
from drift.collect.cachefile import FORMAT
from drift.collect.hashcache import RACY_MARGIN_NS, HashCache, file_system
from drift.errors import OperationalError
from drift.inventory.model import FileRecord
from tests import cachefiles

ALGO = "drift-content/1"


def _later() -> int:
    """A collection start far enough after every file the test just wrote that none of them is racy."""
    return time.time_ns() + 2 * RACY_MARGIN_NS


def _record(path: Path) -> FileRecord:
    data = path.read_bytes()
    return FileRecord(len(data), hashlib.sha256(data).hexdigest(), None)


def _stat(path: Path) -> os.stat_result:
    return os.stat(path, follow_symlinks=False)


def _cached(tmp_path: Path, content: bytes = b"version 1\n") -> tuple[Path, Path, os.stat_result]:
    """A file `f.txt` with `content`, stored in a cache saved at `cache.json`; (file, cache file, stat)."""
    file = tmp_path / "f.txt"
    file.write_bytes(content)
    st = _stat(file)
    cache = HashCache(algorithm=ALGO)
    cache.store("f.txt", st, _record(file), read=st, started_ns=_later())
    cache.save(tmp_path / "cache.json")
    return file, tmp_path / "cache.json", st


def _rewrite_until_ctime_moves(file: Path, content: bytes, old: os.stat_result) -> os.stat_result:
    """Rewrite `file` in place with `content`, restore the old mtime, until the ctime has moved on a tick."""
    deadline = time.monotonic() + 5
    while True:
        time.sleep(0.01)
        with open(file, "r+b") as handle:
            handle.write(content)
            handle.truncate()
        os.utime(file, ns=(old.st_atime_ns, old.st_mtime_ns))
        st = _stat(file)
        if st.st_ctime_ns != old.st_ctime_ns or time.monotonic() > deadline:
            return st


def _changed(st: os.stat_result, **fields: int) -> os.stat_result:
    """`st` with some fields changed (only to probe one key field at a time: a real file cannot do that)."""
    extra = {name: getattr(st, name) for name in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns")}
    visible = {name: getattr(st, name) for name in ("st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size")}
    for name, value in fields.items():
        (extra if name in extra else visible)[name] = value
    seq = (*visible.values(), int(st.st_atime), extra["st_mtime_ns"] // 10**9, extra["st_ctime_ns"] // 10**9)
    return os.stat_result(seq, extra)


def test_hit_on_an_unchanged_file(tmp_path: Path) -> None:
    file, cache_file, _ = _cached(tmp_path)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is None
    assert cache.lookup("f.txt", _stat(file)) == _record(file)
    assert (cache.hits, cache.misses) == (1, 0)


def test_content_sha256_round_trips(tmp_path: Path) -> None:
    file = tmp_path / "a.jar"
    file.write_bytes(b"PK not really")
    record = FileRecord(file.stat().st_size, "a" * 64, "b" * 64)
    cache = HashCache(algorithm=ALGO)
    cache.store("a.jar", _stat(file), record, read=_stat(file), started_ns=_later())
    cache.save(tmp_path / "cache.json")
    assert HashCache.load(tmp_path / "cache.json", algorithm=ALGO).lookup("a.jar", _stat(file)) == record


def test_miss_after_same_size_rewrite_with_the_mtime_restored(tmp_path: Path) -> None:
    file, cache_file, old = _cached(tmp_path, b"version 1\n")
    new = _rewrite_until_ctime_moves(file, b"version 2\n", old)
    assert (new.st_size, new.st_mtime_ns, new.st_ino) == (old.st_size, old.st_mtime_ns, old.st_ino)
    assert new.st_ctime_ns != old.st_ctime_ns, "the file system did not move the ctime in 5 seconds"
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", new) is None
    assert (cache.hits, cache.misses) == (0, 1)


def test_miss_after_a_change_of_size(tmp_path: Path) -> None:
    file, cache_file, old = _cached(tmp_path)
    file.write_bytes(b"version 1, longer\n")
    os.utime(file, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", _stat(file)) is None


def test_miss_after_replacement_by_a_file_with_the_same_content(tmp_path: Path) -> None:
    file, cache_file, old = _cached(tmp_path)
    other = tmp_path / "other.txt"
    other.write_bytes(file.read_bytes())
    os.utime(other, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(other, file)
    new = _stat(file)
    assert new.st_ino != old.st_ino and new.st_mtime_ns == old.st_mtime_ns
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", new) is None


@pytest.mark.parametrize("field", ["st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns"])
def test_each_key_field_alone_makes_a_miss(tmp_path: Path, field: str) -> None:
    _file, cache_file, st = _cached(tmp_path)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", _changed(st)) is not None  # the probe itself changes nothing
    assert cache.lookup("f.txt", _changed(st, **{field: getattr(st, field) + 1})) is None


def test_miss_under_another_path(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("g.txt", st) is None


@pytest.mark.parametrize("which", ["mtime", "ctime"])
def test_racy_entries_are_not_stored(tmp_path: Path, which: str) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"just written\n")
    st = _stat(file)
    if which == "mtime":  # the ctime is safely before the start, but the mtime says it changed since
        started = _later()
        os.utime(file, ns=(st.st_atime_ns, started))
        st = _stat(file)
        assert st.st_ctime_ns < started - RACY_MARGIN_NS
    else:  # written right at the start of the collection
        started = time.time_ns()
    cache = HashCache(algorithm=ALGO)
    cache.store("f.txt", st, _record(file), read=st, started_ns=started)
    assert cache.refused == 1
    cache.save(tmp_path / "cache.json")
    assert HashCache.load(tmp_path / "cache.json", algorithm=ALGO).lookup("f.txt", st) is None


@pytest.mark.skipif(not Path("/proc/sys/vm/dirty_expire_centisecs").exists(), reason="Linux's writeback settings")
def test_the_margin_covers_a_tick_and_a_dirty_page_s_life() -> None:
    """37 s with Linux's default writeback (a dirty page is written once 30 s old, the flusher wakes every 5 s)."""
    expire, interval = (int(Path(f"/proc/sys/vm/dirty_{name}_centisecs").read_text()) for name in ("expire", "writeback"))
    assert RACY_MARGIN_NS == 2_000_000_000 + (expire + interval) * 10_000_000 >= 2_000_000_000


def test_the_margin_is_a_strict_bound(tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"x")
    old = time.time_ns() - 10 * RACY_MARGIN_NS
    os.utime(file, ns=(old, old))
    st = _changed(_stat(file), st_ctime_ns=old)  # ctime cannot be set back on a real file
    for started, kept in ((old + RACY_MARGIN_NS, False), (old + RACY_MARGIN_NS + 1, True)):
        cache = HashCache(algorithm=ALGO)
        cache.store("f.txt", st, _record(file), read=st, started_ns=started)
        assert (cache.refused == 0) is kept


def test_a_record_of_another_size_than_the_stat_is_not_stored(tmp_path: Path) -> None:
    _file, _, st = _cached(tmp_path)
    cache = HashCache(algorithm=ALGO)
    cache.store("f.txt", st, FileRecord(st.st_size + 1, "0" * 64, None), read=st, started_ns=_later())
    cache.store("g.txt", st, FileRecord(None, "0" * 64, None), read=st, started_ns=_later())
    assert cache.refused == 2
    cache.save(tmp_path / "c2.json")
    assert HashCache.load(tmp_path / "c2.json", algorithm=ALGO).lookup("f.txt", st) is None


def test_a_refused_store_drops_a_confirmed_entry(tmp_path: Path) -> None:
    file, cache_file, st = _cached(tmp_path)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", st) is not None
    cache.store("f.txt", st, _record(file), read=st, started_ns=time.time_ns())  # racy now
    cache.save(cache_file)
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", st) is None


def test_a_record_that_is_not_hex_sha256_is_refused_loudly(tmp_path: Path) -> None:
    _file, _, st = _cached(tmp_path)
    with pytest.raises(ValueError):
        HashCache(algorithm=ALGO).store("f.txt", st, FileRecord(st.st_size, "XYZ", None), read=st, started_ns=_later())


def test_a_missing_cache_file_is_an_empty_cache(tmp_path: Path) -> None:
    cache = HashCache.load(tmp_path / "none.json", algorithm=ALGO)
    assert cache.discarded is None
    assert cache.lookup("f.txt", _stat(tmp_path)) is None


ENTRY = [1, 2, 3, 4, 5, "a" * 64, None]
ARCHIVE = [1, 2, 3, 4, 5, "a" * 64, "b" * 64]
HEAD = {"algorithm": ALGO, "contents": 1, "entries": 2}
TWO = {"f.txt": ENTRY, "g.jar": ARCHIVE}


def _spoiled(name: str, value: bytes, at: int = -1) -> dict[str, bytes]:
    """The columns of a good entry `f.txt` and an archive `g.jar`, the column `name` spoiled: its byte `at`
    and on replaced by `value` (its last bytes by default), or its whole with `at` None."""
    columns = cachefiles.columns(TWO)
    old = columns[name]
    start = len(old) - len(value) if at == -1 else at
    columns[name] = old[:start] + value + old[start + len(value) :]
    return columns


_EMPTY_COLUMNS = cachefiles.columns({})


@pytest.mark.parametrize(
    ("head", "columns", "why"),
    [
        ({"algorithm": "drift-content/2", "contents": 0, "entries": 0}, _EMPTY_COLUMNS, "algorithm"),
        ({"contents": 0, "entries": 0}, _EMPTY_COLUMNS, "corrupt: no header"),
        ({"algorithm": ALGO, "entries": 0}, _EMPTY_COLUMNS, "corrupt: no header"),
        ([], _EMPTY_COLUMNS, "corrupt: no header"),
        ({"algorithm": ALGO, "contents": 0, "entries": 0, "config": {}}, _EMPTY_COLUMNS, "corrupt: no header"),
        ({"algorithm": ALGO, "contents": 0, "entries": 0, "remembered": [1]}, _EMPTY_COLUMNS, "not a pair"),
        ({**HEAD, "entries": "2"}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "entries": True}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "entries": -1}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "entries": 2**31 - 1}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "contents": 3}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "entries": 3}, cachefiles.columns(TWO), "counts of entries are not what the file can hold"),
        ({**HEAD, "entries": 1}, cachefiles.columns(TWO), "other than the 1 paths"),
        ({**HEAD, "contents": 0}, cachefiles.columns(TWO), "a path no inventory can hold"),
        (HEAD, _spoiled("paths", b"\xff"), "not UTF-8"),
        (HEAD, cachefiles.columns({"f.txt": ENTRY, "h\\b.jar": ARCHIVE}), "corrupt entry 'h\\\\b.jar': a path no inventory can hold"),
        (HEAD, _spoiled("paths", b"f.txt"), "corrupt entry 'f.txt': out of order, or held twice"),
        (HEAD, _spoiled("paths", b"a.jar"), "corrupt entry 'a.jar': out of order, or held twice"),
        (HEAD, cachefiles.columns({"": ENTRY, "g.jar": ARCHIVE}), "an entry has an empty path"),
        (HEAD, _spoiled("shas", b"A"), "corrupt entry 'g.jar': sha256"),
        (HEAD, _spoiled("contents", b"B"), "corrupt entry 'g.jar': content-sha256"),
        (HEAD, _spoiled("contents", b"\x02", 0), "a content-sha256 is given for no entry"),
        ({"algorithm": ALGO, "contents": 0, "entries": 1}, cachefiles.columns({"": ENTRY}), "corrupt"),
    ],
)
def test_an_untrusted_cache_loads_empty_and_says_why(tmp_path: Path, head: object, columns: dict[str, bytes], why: str) -> None:
    """Each column spoiled, its checksum right: the good entry `f.txt` is discarded with the bad."""
    _file, cache_file, st = _cached(tmp_path)
    cachefiles.write_raw(cache_file, head, columns)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and why in cache.discarded
    assert len(cache.discarded) < 200
    assert cache.lookup("f.txt", st) is None


def test_a_header_nested_deep_or_a_huge_count_is_discarded_in_a_line(tmp_path: Path) -> None:
    """What only this user could have written, but still not a traceback nor a huge allocation."""
    _file, cache_file, _st = _cached(tmp_path)
    for depth, pad, why in ((100_000, 0, "more nested, than any drift writes"), (5_000, 200_000, "corrupt: no header")):
        body = b"[" * depth + b'"' + b"x" * pad + b'"' + b"]" * depth + b"\n"  # the second padded to pass the count
        cache_file.write_bytes(f"{FORMAT} crc32:{zlib.crc32(body):08x}\n".encode() + body)
        cache = HashCache.load(cache_file, algorithm=ALGO)
        assert cache.discarded is not None and why in cache.discarded
    cachefiles.write_raw(cache_file, {**HEAD, "entries": int("9" * 4000)}, cachefiles.columns(TWO))
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and len(cache.discarded) < 200
    for remembered in ([[]] * 100_000, [["x" * 70] * 300_000, {}]):  # lists by the thousand; a header past 16 MB
        cachefiles.write_raw(cache_file, {**HEAD, "remembered": remembered}, cachefiles.columns(TWO))
        cache = HashCache.load(cache_file, algorithm=ALGO)
        assert cache.discarded is not None and "larger, or more nested, than any drift writes" in cache.discarded


@pytest.mark.parametrize(
    ("first", "why"),
    [
        (b"drift-hashcache/3 crc32:00000000", "other format 'drift-hashcache/3', not 'drift-hashcache/2'"),
        (b'{"algorithm": "drift-content/1", "entries": {', "other format, not 'drift-hashcache/2' (an older drift's"),
        (b"drift-hashcache/2 crc32:0000000", "corrupt: its first line"),
        (b"drift-hashcache/2 crc32:00000000", "checksum does not match"),
    ],
)
def test_a_cache_of_another_format_or_a_wrong_checksum_loads_empty(tmp_path: Path, first: bytes, why: str) -> None:
    _file, cache_file, st = _cached(tmp_path)
    cachefiles.write_raw(cache_file, {"algorithm": ALGO, "contents": 0, "entries": 1}, cachefiles.columns(cachefiles.entries(cache_file)), first=first)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and why in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_a_cache_with_one_bad_entry_is_discarded_whole(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    found = cachefiles.entries(cache_file)
    found["z.txt"] = [1, 2, 3, 4, 5, "z" * 64, None]
    cachefiles.write_raw(cache_file, {"algorithm": ALGO, "contents": 0, "entries": 2}, cachefiles.columns(found))
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and "'z.txt': sha256" in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_a_cache_holding_a_path_twice_is_discarded_whole(tmp_path: Path) -> None:
    """A path held twice (the last would win) is not the cache drift wrote."""
    _file, cache_file, st = _cached(tmp_path)
    one = cachefiles.columns(cachefiles.entries(cache_file))
    two = {name: value * 2 for name, value in one.items()}
    two["paths"] = one["paths"] + b"\n" + one["paths"]
    cachefiles.write_raw(cache_file, {"algorithm": ALGO, "contents": 0, "entries": 2}, two)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and "'f.txt': out of order, or held twice" in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_a_damaged_byte_anywhere_discards_the_cache(tmp_path: Path) -> None:
    """The checksum covers the header and every entry: no byte after the first line can change unseen."""
    _file, cache_file, st = _cached(tmp_path)
    data = cache_file.read_bytes()
    start = data.index(b"\n") + 1
    for at in range(start, len(data), max(1, (len(data) - start) // 40)):
        cache_file.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
        cache = HashCache.load(cache_file, algorithm=ALGO)
        assert cache.discarded is not None and "corrupt" in cache.discarded, at
        assert cache.lookup("f.txt", st) is None


def test_a_truncated_cache_loads_empty(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    data = cache_file.read_bytes()
    for cut in (0, 1, len(data) // 2, len(data) - 3):
        cache_file.write_bytes(data[:cut])
        cache = HashCache.load(cache_file, algorithm=ALGO)
        assert cache.discarded is not None and "corrupt" in cache.discarded, cut
        assert cache.lookup("f.txt", st) is None


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe garbage", b"NaN", b'{"format": "drift-hashcache/1", "format": "drift-hashcache/1"}'],
)
def test_a_file_that_is_no_cache_loads_empty(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "cache.json").write_bytes(data)
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert cache.discarded is not None and "other format, not 'drift-hashcache/2'" in cache.discarded


def test_an_unreadable_cache_loads_empty(tmp_path: Path) -> None:
    (tmp_path / "cache.json").mkdir()
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert cache.discarded is not None and cache.discarded.startswith("cannot read")


def test_a_discarded_cache_is_rewritten_on_save(tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"x")
    (tmp_path / "cache.json").write_text("{ truncat")
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    cache.store("f.txt", _stat(file), _record(file), read=_stat(file), started_ns=_later())
    cache.save(tmp_path / "cache.json")
    again = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert again.discarded is None and again.lookup("f.txt", _stat(file)) == _record(file)


def test_entries_not_seen_in_a_run_are_dropped_on_save(tmp_path: Path) -> None:
    for name in ("keep.txt", "gone.txt", "changed.txt"):
        (tmp_path / name).write_bytes(name.encode())
    first = HashCache(algorithm=ALGO)
    stats = {name: _stat(tmp_path / name) for name in ("keep.txt", "gone.txt", "changed.txt")}
    for name, st in stats.items():
        first.store(name, st, _record(tmp_path / name), read=st, started_ns=_later())
    first.save(tmp_path / "cache.json")

    (tmp_path / "gone.txt").unlink()
    (tmp_path / "changed.txt").write_bytes(b"new and longer")
    second = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert second.lookup("keep.txt", _stat(tmp_path / "keep.txt")) is not None
    assert second.lookup("changed.txt", _stat(tmp_path / "changed.txt")) is None  # and not stored (say racy)
    second.save(tmp_path / "cache.json")

    assert sorted(cachefiles.entries(tmp_path / "cache.json")) == ["keep.txt"]
    third = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert third.lookup("keep.txt", stats["keep.txt"]) == _record(tmp_path / "keep.txt")


def test_the_file_is_deterministic_and_holds_only_paths_stats_and_hashes(tmp_path: Path) -> None:
    for name in ("b.txt", "a/z.txt", "a.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"secret=Hunter2 " + name.encode())
    texts = []
    for order in (("b.txt", "a/z.txt", "a.txt"), ("a.txt", "b.txt", "a/z.txt")):
        cache = HashCache(algorithm=ALGO)
        for name in order:
            cache.store(name, _stat(tmp_path / name), _record(tmp_path / name), read=_stat(tmp_path / name), started_ns=_later())
        cache.save(tmp_path / "cache.json")
        texts.append((tmp_path / "cache.json").read_bytes())
    assert texts[0] == texts[1]
    assert b"Hunter2" not in texts[0]
    assert texts[0].startswith(FORMAT.encode() + b" crc32:")
    assert cachefiles.header(tmp_path / "cache.json") == {"algorithm": ALGO, "contents": 0, "entries": 3}
    assert list(cachefiles.entries(tmp_path / "cache.json")) == ["a.txt", "a/z.txt", "b.txt"]


def test_an_empty_cache_saves_and_loads(tmp_path: Path) -> None:
    HashCache(algorithm=ALGO).save(tmp_path / "cache.json")
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert cache.discarded is None and cachefiles.entries(tmp_path / "cache.json") == {} and len(cache) == 0


def test_an_odd_path_round_trips(tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"x")
    rel = 'we\u00efrd "name" 100%.txt'  # a quote, non-ASCII and a percent sign
    cache = HashCache(algorithm=ALGO)
    cache.store(rel, _stat(file), _record(file), read=_stat(file), started_ns=_later())
    cache.save(tmp_path / "cache.json")
    assert HashCache.load(tmp_path / "cache.json", algorithm=ALGO).lookup(rel, _stat(file)) == _record(file)


@pytest.mark.parametrize("rel", ["bad\udcff.txt", "c:/boot.ini", "a\\b.txt", "tab\there"])
def test_a_path_no_inventory_can_hold_is_never_cached(tmp_path: Path, rel: str) -> None:
    """The walk takes a path the cache answers for as recordable: such a path is never stored, and a cache
    file holding one is discarded whole."""
    file = tmp_path / "f.txt"
    file.write_bytes(b"x")
    cache = HashCache(algorithm=ALGO)
    cache.store(rel, _stat(file), _record(file), read=_stat(file), started_ns=_later())
    assert cache.refused == 1
    _file, cache_file, st = _cached(tmp_path)
    found = cachefiles.entries(cache_file)
    cachefiles.write_raw(cache_file, {"algorithm": ALGO, "contents": 0, "entries": 2}, cachefiles.columns({**found, rel: found["f.txt"]}))
    cache_file.chmod(0o600)
    loaded = HashCache.load(cache_file, algorithm=ALGO)
    assert loaded.discarded is not None
    assert ("not UTF-8" if "\udcff" in rel else "no inventory can hold") in loaded.discarded
    assert loaded.lookup("f.txt", st) is None


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "f.txt"]
    cache = HashCache.load(cache_file, algorithm=ALGO)
    cache.lookup("f.txt", st)
    cache.save(cache_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "f.txt"]


def test_a_failing_save_keeps_the_old_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file, cache_file, st = _cached(tmp_path)
    before = cache_file.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:  # only this: undo() would also take back conftest's tmpfs setting
        patched.setattr(os, "replace", refuse)  # what drift.atomic.write_atomic renames with
        with pytest.raises(OperationalError, match="No space left"):
            HashCache(algorithm=ALGO).save(cache_file)  # would write an empty cache
    assert cache_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "f.txt"]
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", st) == _record(file)


def test_hits_and_misses_are_counted(tmp_path: Path) -> None:
    names = ["a.txt", "b.txt", "c.txt"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    cache = HashCache(algorithm=ALGO)
    for name in names:
        cache.store(name, _stat(tmp_path / name), _record(tmp_path / name), read=_stat(tmp_path / name), started_ns=_later())
    cache.save(tmp_path / "cache.json")
    (tmp_path / "c.txt").write_bytes(b"changed size")
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    for name in [*names, "new.txt"]:
        cache.lookup(name, _stat(tmp_path / name) if name != "new.txt" else _stat(tmp_path / "a.txt"))
    assert (cache.hits, cache.misses) == (2, 2)


def test_a_rehash_starts_empty_but_still_saves(tmp_path: Path) -> None:
    file, cache_file, st = _cached(tmp_path)
    cache = HashCache(algorithm=ALGO)  # --rehash: what the file holds is not consulted
    assert cache.lookup("f.txt", st) is None
    cache.store("f.txt", st, _record(file), read=st, started_ns=_later())
    cache.save(cache_file)
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", st) == _record(file)


def test_a_symlink_stat_is_never_a_hit(tmp_path: Path) -> None:
    file, cache_file, st = _cached(tmp_path)
    (tmp_path / "link").symlink_to(file)
    link = _stat(tmp_path / "link")
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", _changed(st, st_mode=link.st_mode)) is None
    cache.store("link", link, FileRecord(link.st_size, "0" * 64, None), read=link, started_ns=_later())
    assert cache.refused == 1


def test_a_fifo_or_folder_stat_is_never_a_hit(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    cache = HashCache.load(cache_file, algorithm=ALGO)
    for other in (_stat(tmp_path / "fifo"), _stat(tmp_path)):
        # Only the mode differs from the stored key: still no hit, whatever else matches.
        assert cache.lookup("f.txt", _changed(st, st_mode=other.st_mode)) is None
    assert (cache.hits, cache.misses) == (0, 2)


@pytest.mark.parametrize(
    ("field", "delta"),
    [("st_ino", 1), ("st_dev", 1), ("st_size", 1), ("st_mtime_ns", 1), ("st_ctime_ns", 1)],
)
def test_a_record_read_from_another_descriptor_than_the_walk_saw_is_not_stored(tmp_path: Path, field: str, delta: int) -> None:
    """The collector hands `store` the fstat of the descriptor it read: any key field off and nothing is kept."""
    file, _, st = _cached(tmp_path)
    cache = HashCache(algorithm=ALGO)
    read = _changed(st, **{field: getattr(st, field) + delta})
    cache.store("f.txt", st, _record(file), read=read, started_ns=_later())
    assert cache.refused == 1
    cache.save(tmp_path / "c2.json")
    assert HashCache.load(tmp_path / "c2.json", algorithm=ALGO).lookup("f.txt", st) is None


def test_a_record_read_from_a_fifo_is_not_stored(tmp_path: Path) -> None:
    file, _, st = _cached(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    cache = HashCache(algorithm=ALGO)
    cache.store("f.txt", st, _record(file), read=_changed(st, st_mode=_stat(tmp_path / "fifo").st_mode), started_ns=_later())
    assert cache.refused == 1


def test_a_file_read_all_the_same_is_kept_only_as_it_is_stored_again(tmp_path: Path) -> None:
    """A config file the cache answers is read all the same (its values come from its bytes): stored again
    with the entry it had, the file is left as it is; refused, or never stored, its entry drops out."""
    file, cache_file, st = _cached(tmp_path)
    before = os.stat(cache_file)
    again = HashCache.load(cache_file, algorithm=ALGO)
    assert again.lookup("f.txt", st) == _record(file)
    again.read_anyway("f.txt")
    again.store("f.txt", st, _record(file), read=st, started_ns=_later())
    assert (again.hits, again.refused) == (0, 0)
    again.save(cache_file)
    after = os.stat(cache_file)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    for refused in (True, False):
        again = HashCache.load(cache_file, algorithm=ALGO)
        assert again.lookup("f.txt", st) is not None
        again.read_anyway("f.txt")
        if refused:
            again.store("f.txt", st, _record(file), read=st, started_ns=st.st_mtime_ns)  # racy: refused
            assert again.refused == 1
        again.save(tmp_path / "out.json")
        assert cachefiles.entries(tmp_path / "out.json") == {}


def test_a_lookup_without_reuse_is_a_miss_and_keeps_nothing(tmp_path: Path) -> None:
    _file, cache_file, st = _cached(tmp_path)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", st, reuse=False) is None
    assert (cache.hits, cache.misses) == (0, 1)
    cache.save(cache_file)
    assert HashCache.load(cache_file, algorithm=ALGO).lookup("f.txt", st) is None  # only a store keeps it


def test_a_run_that_confirms_every_entry_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    file, cache_file, st = _cached(tmp_path)
    before = os.stat(cache_file)
    again = HashCache.load(cache_file, algorithm=ALGO)
    assert again.lookup("f.txt", st) == _record(file)
    again.save(cache_file)
    after = os.stat(cache_file)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    again.save(tmp_path / "elsewhere.json")  # another file: written
    assert (tmp_path / "elsewhere.json").read_bytes() == cache_file.read_bytes()
    unused = HashCache.load(cache_file, algorithm=ALGO)
    unused.save(cache_file)  # nothing confirmed: the entry drops out
    assert cachefiles.entries(cache_file) == {}


@pytest.mark.parametrize(("column", "bad"), [("shas", b"A"), ("shas", b" "), ("contents", b"g"), ("contents", b"\x00")])
def test_a_bad_field_in_any_column_discards_the_cache_and_names_the_entry(tmp_path: Path, column: str, bad: bytes) -> None:
    found = {f"f{i:02}.txt": [1, 2, 3, 4, 5, "a" * 64, "c" * 64 if i % 2 else None] for i in range(50)}
    columns = cachefiles.columns(found)
    at = 7 * 64 + 10 if column == "shas" else 3 * 68 + 4 + 10  # f07.txt: row 7, the fourth content hash
    columns[column] = columns[column][:at] + bad + columns[column][at + 1 :]
    cachefiles.write_raw(tmp_path / "cache.json", {"algorithm": ALGO, "contents": 25, "entries": 50}, columns)
    cache = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert cache.discarded is not None and "'f07.txt'" in cache.discarded
    del found["f07.txt"]
    cachefiles.write(tmp_path / "cache.json", found, algorithm=ALGO)
    assert len(HashCache.load(tmp_path / "cache.json", algorithm=ALGO)) == 49


def test_a_cache_in_a_sticky_folder_writable_by_all_is_used(tmp_path: Path) -> None:
    """As in `/tmp`: nobody can rename over another's file there."""
    shared = tmp_path / "shared"
    shared.mkdir()
    _file, cache_file, st = _cached(shared)
    shared.chmod(0o1777)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is None
    assert cache.lookup("f.txt", st) is not None


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o777])
def test_a_cache_file_its_group_or_others_can_write_is_discarded(tmp_path: Path, mode: int) -> None:
    _file, cache_file, st = _cached(tmp_path)
    cache_file.chmod(mode)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded == "the cache file is writable by its group or others: anyone could have written it (chmod go-w)"
    assert cache.lookup("f.txt", st) is None


def test_a_cache_behind_a_link_is_judged_where_it_really_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _file, cache_file, st = _cached(shared)
    (tmp_path / "link.json").symlink_to(cache_file)
    assert HashCache.load(tmp_path / "link.json", algorithm=ALGO).lookup("f.txt", st) is not None
    shared.chmod(0o777)
    cache = HashCache.load(tmp_path / "link.json", algorithm=ALGO)
    assert cache.discarded is not None and f"its folder {shared} is writable" in cache.discarded


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("owned", ["the cache file", "its folder"])
def test_a_cache_another_user_owns_is_discarded(tmp_path: Path, owned: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _file, cache_file, st = _cached(shared)
    os.chown(cache_file if owned == "the cache file" else shared, 65534, 65534)
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and "belongs to user 65534" in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_a_dot_dot_after_a_link_is_judged_where_the_system_takes_it(tmp_path: Path) -> None:
    """`safe/current/../cache.json`, `current` a link to `shared/r1`: the system opens `shared/cache.json`
    (a `..` goes up from where the link leads), whatever `safe/cache.json` is."""
    safe, shared = tmp_path / "safe", tmp_path / "shared"
    safe.mkdir()
    (shared / "r1").mkdir(parents=True)
    _file, _trusted, st = _cached(safe)
    _cached(shared)
    shared.chmod(0o777)
    (safe / "current").symlink_to(shared / "r1")
    cache = HashCache.load(safe / "current" / ".." / "cache.json", algorithm=ALGO)
    assert cache.discarded is not None and f"its folder {shared} is writable" in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_where_files_have_no_owners_a_cache_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: nothing shows who could have written the file."""
    _file, cache_file, st = _cached(tmp_path)
    monkeypatch.delattr(os, "getuid")
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.discarded is not None and "no file owners" in cache.discarded
    assert cache.lookup("f.txt", st) is None


def test_the_cache_is_saved_for_this_user_alone(tmp_path: Path) -> None:
    _file, cache_file, _st = _cached(tmp_path)
    assert cache_file.stat().st_mode & 0o777 == 0o600


ORIGINAL_FILE_SYSTEMS = drift.collect.hashcache.WRITEBACK_FILE_SYSTEMS


@pytest.mark.skipif(not Path("/dev/shm").is_dir() or file_system(os.stat("/dev/shm").st_dev) != "tmpfs", reason="no tmpfs at /dev/shm")
def test_files_on_tmpfs_are_never_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """tmpfs never writes a page back, so a page written once through a memory mapping stays writable: a
    later write through it moves no timestamp, and a stat cannot tell the file changed."""
    monkeypatch.setattr(drift.collect.hashcache, "WRITEBACK_FILE_SYSTEMS", ORIGINAL_FILE_SYSTEMS)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        file = Path(shm) / "f.txt"
        file.write_bytes(b"in memory\n")
        st = _stat(file)
        cache = HashCache(algorithm=ALGO)
        cache.store("f.txt", st, _record(file), read=st, started_ns=_later())
        assert cache.refused == 1 and cache.lookup("f.txt", st) is None
        assert cache.notes() == [
            "files on tmpfs are never cached: not known to write pages back, a write through a memory mapping there may move no timestamp"
        ]


def test_the_file_system_is_read_from_the_mount_table() -> None:
    mounts = Path("/proc/self/mountinfo").read_text().splitlines() if Path("/proc/self/mountinfo").exists() else []
    root = next((line.split(" - ")[1].split()[0] for line in mounts if line.split()[4] == "/"), None)
    assert file_system(os.stat("/").st_dev) == root
    assert file_system(os.makedev(4095, 1048575)) is None  # a device nothing is mounted from


def test_a_cache_is_saved_only_into_a_folder_nobody_else_can_change(tmp_path: Path) -> None:
    """Saved where the path leads when saving, links resolved: a link on the way that the deployer points
    into a folder of theirs (or at a file of the collecting user's elsewhere) never has this user write there."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (tmp_path / "current").symlink_to(shared)
    cache = HashCache(algorithm=ALGO)
    with pytest.raises(OperationalError, match=f"cache not saved: its folder {shared} is writable"):
        cache.save(tmp_path / "current" / "cache.json")
    assert list(shared.iterdir()) == []
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "current").unlink()
    (tmp_path / "current").symlink_to(home)
    cache.save(tmp_path / "current" / "cache.json")
    assert [p.name for p in home.iterdir()] == ["cache.json"] and (tmp_path / "current").is_symlink()


def test_a_link_at_the_cache_s_name_is_replaced_when_saving_never_followed(tmp_path: Path) -> None:
    """The deployer makes the cache's name in a sticky folder (`/tmp`) a link to a file the collecting user
    (root) owns: saving replaces the link, and that file is left as it was."""
    sticky, home = tmp_path / "sticky", tmp_path / "home"
    sticky.mkdir()
    home.mkdir()
    sticky.chmod(0o1777)
    victim = home / "profile.sh"
    victim.write_text("echo hello\n")
    (sticky / "cache.json").symlink_to(victim)
    HashCache(algorithm=ALGO).save(sticky / "cache.json")
    assert victim.read_text() == "echo hello\n"
    assert not (sticky / "cache.json").is_symlink() and cachefiles.entries(sticky / "cache.json") == {}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a link to another user needs root")
def test_a_link_another_user_made_at_the_cache_s_name_is_not_read(tmp_path: Path) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    _file, cache_file, st = _cached(tmp_path)
    (sticky / "cache.json").symlink_to(cache_file)
    os.lchown(sticky / "cache.json", 65534, 65534)
    cache = HashCache.load(sticky / "cache.json", algorithm=ALGO)
    assert cache.discarded == "the cache file is a link made by user 65534: anyone could have pointed it anywhere"
    assert cache.lookup("f.txt", st) is None


@pytest.mark.parametrize("who", ["group or others can write it", "another user owns it"])
def test_a_file_someone_else_can_write_is_never_cached(tmp_path: Path, who: str) -> None:
    """Such a writer can pin a page of it in memory through a writable mapping and have the kernel write into
    it (a read from a FUSE file of their own), which moves no timestamp."""
    file = tmp_path / "f.txt"
    file.write_bytes(b"x\n")
    if who == "group or others can write it":
        file.chmod(0o666)
    elif hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(file, 65534, 65534)
    else:
        pytest.skip("giving a file to another user needs root")
    st = _stat(file)
    cache = HashCache(algorithm=ALGO)
    cache.store("f.txt", st, _record(file), read=st, started_ns=_later())
    assert cache.refused == 1 and cache.lookup("f.txt", st) is None
    assert any(note.startswith("files that someone other than this user and root can write are never cached (1 ") for note in cache.notes())


def test_content_hashes_and_every_field_round_trip(tmp_path: Path) -> None:
    """Archives keep their content hash, other files none, each by its own row, whatever the order stored."""
    for name in ("z.jar", "a.txt", "m/b.jar"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(name.encode() * 3)
    records = {
        "z.jar": FileRecord(15, "1" * 64, "2" * 64), "a.txt": FileRecord(15, "3" * 64, None), "m/b.jar": FileRecord(21, "4" * 64, "5" * 64),
    }
    cache = HashCache(algorithm=ALGO)
    for name, record in records.items():
        cache.store(name, _stat(tmp_path / name), record, read=_stat(tmp_path / name), started_ns=_later())
    cache.save(tmp_path / "cache.json")
    loaded = HashCache.load(tmp_path / "cache.json", algorithm=ALGO)
    assert loaded.discarded is None and len(loaded) == 3 and loaded.files_under("m") == 1
    for name, record in records.items():
        assert loaded.lookup(name, _stat(tmp_path / name)) == record
        assert loaded.walked_stat(name).st_mtime_ns == _stat(tmp_path / name).st_mtime_ns


@pytest.mark.parametrize("field", ["st_mtime_ns", "st_ctime_ns"])
def test_a_stat_past_what_a_key_holds_is_never_cached_nor_answered(tmp_path: Path, field: str) -> None:
    """A time past the year 2262 (ext4 keeps times to 2446) does not fit a key: such a file is read every time."""
    file, cache_file, st = _cached(tmp_path)
    huge = _changed(st, **{field: 2**63})
    cache = HashCache.load(cache_file, algorithm=ALGO)
    assert cache.lookup("f.txt", huge) is None
    cache.store("f.txt", huge, _record(file), read=huge, started_ns=_later() + 2**64)
    assert cache.refused == 1
