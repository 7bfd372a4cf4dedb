"""The re-collection cache of `drift collect --cache FILE`: reuse a file's hashes while its stat is unchanged.

A re-collection of an unchanged tree then reads no file content. The one rule it is built to: the cache may
cost a re-read, it can never make a changed file look unchanged.

Key
    A file's cached record is reused only when its relative path and all of `st_dev`, `st_ino`, `st_size`,
    `st_mtime_ns` and `st_ctime_ns` (from `os.stat(..., follow_symlinks=False)`, taken *before* the file was
    read) equal what was stored, and that stat is a regular file's. The ctime is what makes this safe: any
    write, rename over, chmod or `utime` call sets it to the current time and no user call can set it back,
    so a rewrite that restores the mtime (`touch -r`, `os.utime`, `cp -p`, `rsync -t`) still misses. A file
    replaced by another one (even with the same bytes and times) has a new inode and misses. Anything that
    merely looks different (a remount with a new device number, a chmod) costs a re-read, never a wrong hash.

Racy entries
    Timestamps have a granularity (a kernel tick, 2 s on FAT, 1 s on some network file systems). A file
    written, stat'ed, and written again within one tick keeps the same stat, so a record stored from the
    first stat would hide the second write (git's "racy clean" problem). `store` therefore refuses a file
    whose mtime or ctime is not older than the start of the collection minus `RACY_MARGIN_NS`: any later
    write then gets a timestamp at least a tick past the stored one. Such a file is simply hashed again on
    the next run. A write through a shared memory mapping moves no timestamp while the page it writes is
    still dirty (unwritten since an earlier write, which did move them): the margin therefore also covers
    the time a dirty page may stay unwritten, `vm.dirty_expire_centisecs` plus the flusher's interval
    `vm.dirty_writeback_centisecs` on Linux (35 s by default; 60 s where they cannot be read; with periodic
    writeback turned off, nothing is ever cached). Once written back, the page takes a fault, and a new
    timestamp, at the next write. A file system that never writes pages back (tmpfs, ramfs, or an overlay
    whose upper layer may be one) never takes that fault: a file is cached only on a file system known to
    write back (`WRITEBACK_FILE_SYSTEMS`, by its type in `/proc/self/mountinfo`), never on any other, nor
    where the type cannot be read (outside Linux, a btrfs subvolume). The stat must be taken before the
    read: a write between the stat and the read then stores the new bytes under the old stat, which the next
    run's stat (new ctime) no longer matches. `store` also refuses a record whose size is not the stat's
    size (the file changed while it was read). The margin assumes the file system's clock is this machine's:
    a network file system, whose server sets the times, is not among `WRITEBACK_FILE_SYSTEMS`, so its files
    are never cached.

Reads that match the walk
    `store` takes two stats: the walk's (`os.stat` of the name, the key) and the `fstat` of the descriptor
    the record was read from. It refuses the record unless both are the same regular file with the same
    key: a name swapped for a link, another inode or a FIFO between the walk and the read, or a file
    written in between, can then never put a hash under a stat that did not produce it (the collector
    opens every file relative to its folder's descriptor, without following links, see `drift.collect.walk`).

Who can write it
    A cache entry is believed without reading the file, so whoever can write the cache file can make any
    file read as any content (its stat is there for anyone to see). A cache file is therefore used only when
    nobody but this user and root can have written it: the file is theirs and not writable by its group or
    others, and so is every folder on its way from the root folder, links resolved (a folder writable by
    others is allowed only with the sticky bit, as `/tmp`, where nobody can rename over another's file); a
    link at its name that another user made is not followed. It is read from that resolved path, so that no
    link can be pointed elsewhere after the check. Otherwise it is discarded, saying why, and every file is
    read. It is written readable and writable by this user alone, only into such a folder, replacing
    whatever is at its name (a link there is never followed). Where the platform has no file owners
    (Windows), a cache is never used. Nor is it ever used for a file that anyone but this user and root can
    write (owned by another, or writable by group or others): such a writer can pin a page of it in memory
    through a writable mapping and have the kernel write into it (a read into that page from a FUSE file of
    their own), which moves no timestamp at all. A cache inside the deploy root (whose folders the deployer
    owns) is thus never used: keep it in the collecting account's own folder.

Format
    The file's layout, and why, are `drift.collect.cachefile`'s. A file of another format, or made with
    another content-hash algorithm, or that cannot be read, or whose checksum fails, or holding a single
    entry of the wrong shape, is discarded whole (`HashCache.discarded` says why): a cache is never
    trusted in part. It holds only paths, stat fields, hashes and config key names: never config values,
    never file content.

A cache is used by one thread (the collector's main thread: its workers never see it).
"""

from __future__ import annotations

import bisect
import functools
import os
import stat
import struct
from pathlib import Path
from typing import Any, Final

from drift import __version__
from drift.atomic import write_atomic
from drift.collect.archive.names import ALGORITHM
from drift.collect.cachefile import EMPTY, HEX64, KEY, Discard, Entry, Table, dumps, in_resolved_folder, parse, vetted, writers
from drift.collect.folders import Seen
from drift.collect.gcpause import paused_gc
from drift.errors import OperationalError
from drift.inventory.model import FileRecord
from drift.inventory.names import recordable
from drift.paths import MAX_INPUT, read_regular
from drift.text import clip


def _unwritten_ns() -> int:
    """How long a page written through a shared memory mapping may stay unwritten (see "Racy entries")."""
    try:
        expire, interval = (int(Path(f"/proc/sys/vm/dirty_{name}_centisecs").read_text()) for name in ("expire", "writeback"))
    except (OSError, ValueError):
        return 60_000_000_000
    if interval <= 0:  # periodic writeback turned off: a dirty page may stay so for ever
        return 10**18
    return (max(0, expire) + interval) * 10_000_000


RACY_MARGIN_NS: Final = 2_000_000_000 + _unwritten_ns()
"""A file whose mtime or ctime is this close to (or past) the start of the collection is not cached: a
timestamp's tick (2 s at most) and the time a dirty page may stay unwritten (37 s in all by default)."""

_pack = KEY.pack
_KEY_SIZE = KEY.size


def _key(st: os.stat_result | Seen) -> tuple[int, ...]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class HashCache:
    """The hashes of one deploy root's files, keyed by path and stat; see the module docstring."""

    def __init__(self, *, algorithm: str) -> None:
        """An empty cache (what `--rehash` starts from: nothing is reused, everything stored is saved)."""
        self.algorithm = algorithm
        """The content-hash algorithm the records were made with, e.g. `drift-content/1`."""
        self.discarded: str | None = None
        """Why the cache file was not used, or None (it was used, or there was none)."""
        self.misses = 0
        """Files that were not (read, their records stored anew): counted by `lookup`, or by the caller of
        `answer`."""
        self.refused = 0
        """Records `store` refused: the file was too recently changed, changed while read, or the descriptor
        read was not the file the walk saw."""
        self._old: Table = EMPTY
        self._rows: dict[str, int] = {}  # the row of each path in `_old`
        # What this run keeps, for `save`: the rows answered (a list: one append a file as the walk goes), the
        # entries stored anew, and the paths dropped since (read anyway, or a record refused). See `_entries`.
        self._answered: list[int] = []
        self._stored: dict[str, Entry] = {}
        self._dropped: set[str] = set()
        self._read_anyway = 0
        self._remembered: tuple[Any, Any] | None = None  # as loaded: (files, value)
        self._to_remember: tuple[Any, Any] | None = None
        self._loaded_from: Path | None = None
        self.unknown_file_systems: set[str] = set()
        """The types of the file systems whose files were not cached, for not being known to write back."""
        self.writable_by_others = 0
        """Files not cached because someone other than this user and root could write them."""
        self._owners = (os.getuid() if hasattr(os, "getuid") else -1, 0)
        self._devices: dict[int, bool] = {}  # by device: on a file system known to write pages back?

    @classmethod
    def load(cls, path: Path, *, algorithm: str) -> HashCache:
        """The cache saved at `path`; empty when there is none or it cannot be trusted (never raises)."""
        cache = cls(algorithm=algorithm)
        try:
            real, cache.discarded = vetted(path)
            if cache.discarded is not None:
                return cache
            data = read_regular(real, MAX_INPUT)
        except FileNotFoundError:
            return cache
        except OSError as exc:
            cache.discarded = f"cannot read: {exc.strerror or exc}"
            return cache
        try:
            with paused_gc():  # a cache is a few objects a file, none in a cycle: going over them all again and again would double the load's time
                cache._old, cache._remembered = parse(data, algorithm)
                cache._rows = dict(zip(cache._old.paths, range(len(cache._old.paths))))
        except Discard as why:
            cache.discarded = str(why)
        else:
            cache._loaded_from = path
        return cache

    @property
    def hits(self) -> int:
        """Lookups answered from the cache (but for those read all the same)."""
        return len(self._answered) - self._read_anyway

    def __len__(self) -> int:
        """Files the cache file held."""
        return len(self._old.paths)

    def files_under(self, folder: str) -> int:
        """Files the cache file held under the folder at the path `folder` ("" for the root), at any depth."""
        paths = self._old.paths  # in order
        if not folder:
            return len(paths)
        return bisect.bisect_left(paths, folder + "0") - bisect.bisect_left(paths, folder + "/")  # "0" follows "/"

    def lookup(self, rel: str, st: os.stat_result, *, reuse: bool = True) -> FileRecord | None:
        """The cached record of `rel` if its stat `st` is a regular file's and unchanged, else None (then
        read it and `store`). With `reuse` False the file is to be read anyway (the collector reads a config
        file whose keys it captures every time): None, counted as a miss."""
        row = self.answer(rel, st) if reuse else None
        if row is None:
            self.misses += 1
            return None
        return self.record(row)

    def answer(self, rel: str, st: os.stat_result) -> int | None:
        """`lookup`, but a file it does not answer is not counted (the caller counts `misses` as it reads
        them: a walk asks it of each file as it lists it, `drift.collect.walk.Answer`, and some it then does
        not read), and its answer is the file's row of `table` (`record` makes its record). A path it
        answers for is recordable as it is: a cache holding any other is discarded as it is loaded."""
        row = self._rows.get(rel)
        if row is None or self._old.sizes[row] != st.st_size or not stat.S_ISREG(st.st_mode):
            return None
        try:
            key = _pack(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        except struct.error:  # a time past what a key holds (the year 2262): never stored
            return None
        if (
            not self._old.keys.startswith(key, row * _KEY_SIZE)
            or not (st.st_uid in self._owners and not st.st_mode & 0o022 and self._devices.get(st.st_dev)) and not self._cacheable(st)
        ):
            return None
        self._answered.append(row)
        return row

    def confirm(self, rows: list[int]) -> list[tuple[str, int]]:
        """The paths and rows of `rows`, which this cache answered in a forked process
        (`drift.collect.walkshare`): counted and kept here as `answer` would have."""
        self._answered += rows
        return list(zip(map(self._old.paths.__getitem__, rows), rows))

    @property
    def table(self) -> Table:
        """The entries the cache file held, as columns: the rows `answer` and `confirm` give are its rows."""
        return self._old

    def record(self, row: int) -> FileRecord:
        """The record of the file at `row` (a row `answer` or `confirm` gave)."""
        _, size, sha256, content_sha256 = self._old.entry(row)
        return FileRecord(size, sha256, content_sha256)

    def tally(self) -> tuple[int, set[str]]:
        """What `absorb` takes of this cache's counts: the files others can write, and the file systems not
        known to write back (hits and misses are counted by the caller, from what the walks give)."""
        return self.writable_by_others, set(self.unknown_file_systems)

    def absorb(self, before: tuple[int, set[str]], after: tuple[int, set[str]]) -> None:
        """Count what a forked copy of this cache counted between its `tally` `before` and `after`."""
        self.writable_by_others += after[0] - before[0]
        self.unknown_file_systems |= after[1]

    def walked_stat(self, rel: str) -> os.stat_result:
        """The stat the walk took of `rel`, a file the cache answered: the key it matched (device, inode,
        size, mtime and ctime), of a regular file that only this user can write (what `answer` checked)."""
        key, size = self._old.entry(self._rows[rel])[:2]
        dev, ino, mtime_ns, ctime_ns = KEY.unpack(key)
        return os.stat_result(
            (stat.S_IFREG | 0o600, ino, dev, 1, self._owners[0], 0, size, mtime_ns // 10**9, mtime_ns // 10**9, ctime_ns // 10**9),
            {"st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns},
        )

    def read_anyway(self, rel: str) -> None:
        """`rel`, answered, is read all the same (a config file whose keys are captured, an archive whose
        content hash is needed): not counted as answered (the caller counts it with the files it reads),
        and kept only if stored anew."""
        self._read_anyway += 1
        self._stored.pop(rel, None)
        self._dropped.add(rel)

    def recall(self, files: list[list[Any]]) -> Any:
        """What `remember` was last given with exactly these `files` (see `remember`), or None."""
        if self._remembered is None or self._remembered[0] != files:
            return None
        self._to_remember = self._remembered
        return self._remembered[1]

    def remember(self, files: list[list[Any]], value: Any) -> None:
        """Keep `value` (JSON) with `files`, the stat keys of the files it was read from (`folder_key`), taken
        before they were read: `recall` gives it back while they are the same. One value is kept: the
        collector keeps what it needs of a catalog."""
        self._to_remember = (files, value)

    def notes(self) -> list[str]:
        """What the person collecting should know of how the cache was used."""
        notes = [f"cache discarded ({self.discarded})"] if self.discarded else []
        if self.unknown_file_systems:
            kinds = clip(", ".join(sorted(self.unknown_file_systems)), 200)
            notes.append(f"files on {kinds} are never cached: not known to write pages back, a write through a memory mapping there may move no timestamp")
        if self.writable_by_others:
            notes.append(
                f"files that someone other than this user and root can write are never cached ({self.writable_by_others:,} looked up or"
                " stored): a write by the kernel into a page such a writer pinned in memory moves no timestamp"
            )
        return notes

    def _cacheable(self, st: os.stat_result) -> bool:
        """`may_cache`, counting a file refused for who can write it (`notes`)."""
        if self.may_cache(st):
            return True
        if st.st_uid not in self._owners or st.st_mode & 0o022:
            self.writable_by_others += 1
        return False

    def may_cache(self, st: os.stat_result) -> bool:
        """Whether a file with the stat `st` may be cached: nobody but this user and root can write it (the
        kernel can write into a page that another's writable mapping pinned in memory, and moves no
        timestamp), and it is on a file system known to write pages back (another goes in
        `unknown_file_systems`). The catalog's files are asked too (`drift.collect.catalogneeds`)."""
        if st.st_uid not in self._owners or st.st_mode & 0o022:
            return False
        writes_back = self._devices.get(st.st_dev)
        if writes_back is None:
            kind = file_system(st.st_dev)
            writes_back = self._devices[st.st_dev] = kind in WRITEBACK_FILE_SYSTEMS
            if not writes_back:
                self.unknown_file_systems.add(kind or "unknown")
        return writes_back

    def store(self, rel: str, st: os.stat_result, record: FileRecord, *, read: os.stat_result | Seen, started_ns: int) -> None:
        """Remember `record` for `rel` as read after the stat `st`, unless the file is racy (see above).

        `read` is the `fstat` of the descriptor `record` was read from: unless it is the same regular file
        with the same key as `st`, the record is refused. `started_ns` is `time.time_ns()` taken when the
        collection started. A refused record also drops whatever this run held for `rel`, so it is hashed
        again next time.
        """
        if not HEX64.fullmatch(record.sha256) or not (record.content_sha256 is None or HEX64.fullmatch(record.content_sha256)):
            raise ValueError(f"not a hex SHA-256 record: {record!r}")
        limit = racy_from(started_ns)
        unsafe = (
            not stat.S_ISREG(st.st_mode) or not stat.S_ISREG(read.st_mode) or _key(read) != _key(st)
            or record.size != st.st_size or st.st_mtime_ns >= limit or st.st_ctime_ns >= limit
            or not self._cacheable(st) or recordable(rel)[1] is not None
        )
        try:
            key = None if unsafe else _pack(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
        except struct.error:  # a time past what a key holds (the year 2262)
            key = None
        if key is None:
            self.refused += 1
            self._stored.pop(rel, None)
            self._dropped.add(rel)
        else:
            self._stored[rel] = (key, st.st_size, record.sha256, record.content_sha256)

    def _entries(self) -> dict[str, Entry]:
        """The entries this run keeps: those answered, but for those dropped since, and those stored anew (a
        path answered, read anyway and stored is kept as stored)."""
        old, dropped = self._old, self._dropped
        kept = {old.paths[row]: old.entry(row) for row in self._answered if old.paths[row] not in dropped}
        kept.update(self._stored)
        return kept

    def _unchanged(self) -> bool:
        """Whether `_entries` are the entries loaded (without making them): every path loaded kept, each
        stored anew (a config file read all the same) with the entry it had."""
        old, rows, stored = self._old, self._rows, self._stored
        return (
            all(rel in rows and old.entry(rows[rel]) == entry for rel, entry in stored.items())
            and self._dropped <= stored.keys()
            and len(set(self._answered).union(map(rows.__getitem__, stored))) == len(old.paths)
        )

    def save(self, path: Path) -> None:
        """Write the entries stored or confirmed during this run to `path`, atomically.

        Entries loaded but neither looked up with an unchanged stat nor stored are dropped. It is written
        into the folder `path` leads to now, links resolved, and only if nobody but this user and root can
        change that folder (see "Who can write it"); whatever is at its name (a link the deployer made in
        `/tmp`, say) is replaced, never followed, so no other file is ever written. Raises `drift.errors.OperationalError` when the file cannot be written
        there; the previous file is then intact. Where files have no owners, nothing is written.
        """
        if not hasattr(os, "getuid"):
            return
        real = in_resolved_folder(path)  # whatever is at the name, a link too, is replaced, never followed
        folder = os.path.dirname(real)
        try:
            why = writers(folder, f"its folder {clip(folder, 120)}")
        except FileNotFoundError:
            why = f"its folder {clip(folder, 120)} does not exist"
        if why is not None:
            raise OperationalError(f"cache not saved: {why}", source=path)
        if self._unchanged() and self._to_remember == self._remembered and self._loaded_from == path:
            return  # every entry confirmed, none stored anew: the file already holds these bytes
        write_atomic(real, dumps(self.algorithm, self._entries(), self._to_remember), mode=0o600)


WRITEBACK_FILE_SYSTEMS: Final = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "nilfs2", "reiserfs"})
"""Block-device file systems that write a dirty page back and then protect it, so that the next write
through a memory mapping faults and moves the file's timestamps (see "Racy entries")."""


@functools.lru_cache(maxsize=64)
def file_system(dev: int) -> str | None:
    """The type of the file system mounted from the device `dev` (`st_dev`), from `/proc/self/mountinfo`, or
    None where it cannot be read."""
    wanted = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) > 2 and fields[2] == wanted and "-" in fields[6:]:
                    return fields[fields.index("-", 6) + 1]
    except (OSError, AttributeError):  # not Linux (os.major is POSIX only)
        pass
    return None


def racy_from(started_ns: int) -> int:
    """The time from which a file's or a folder's timestamps are too recent to be relied on, for a collection
    started at `started_ns` (see "Racy entries" above)."""
    return started_ns - RACY_MARGIN_NS


def open_cache(path: Path, *, rehash: bool = False) -> HashCache:
    """The cache for `drift collect --cache PATH` (empty with `rehash`), keyed to this drift's hashing."""
    algorithm = f"{ALGORITHM}; drift {__version__}"
    return HashCache(algorithm=algorithm) if rehash else HashCache.load(path, algorithm=algorithm)
