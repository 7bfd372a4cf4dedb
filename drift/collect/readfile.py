"""Reading one file of the deploy root, as the collector's workers do (`drift.collect.run`).

A file is opened relative to its folder's descriptor, and only if it is still the regular file the walk saw
(`drift.collect.folders.Folders`): a `stat` of its name first, so that nothing else is ever opened, then an
`fstat` of the descriptor. Its content is read no further than that size; its sha256, and for an archive its
content hash, and the asked-for config values all come from the bytes read. After the read, its name must
still lead to the same inode with the same size and times (the descriptor keeps the inode's number from
being reused, so the name's `stat` shows any write or growth), else it is read again, a few times, then
recorded as unreadable. `hash_batch` checks the folders above a batch's files once, after all its reads.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
from collections.abc import Callable, Iterator
from typing import NamedTuple

from drift.collect.archive.names import is_archive_name
from drift.collect.configfile import ConfigReadError, parse_keys
from drift.collect.folders import Changed, Folder, Folders, Seen, check, folder_times, open_in, out_of_descriptors, stat_at
from drift.collect.walk import Entry, ident
from drift.inventory.model import CONTENT_FROM_CATALOG, FileRecord

_BUFFER = 1 << 20
_IN_MEMORY = 64 << 20
"""Archives and config files up to this size are read into memory once (for both hashes, or for the values)."""
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip file starts (a local header, or the end record of an empty zip), whatever its name."""
ATTEMPTS = 3
"""Reads of a file that keeps changing before it is recorded as unstable."""


def _before_open(entry: Entry) -> None:
    """Called after the walk, before each attempt to open a file: a seam where tests make races deterministic."""


class Outcome(NamedTuple):
    """What hashing one file gave (a tuple: the collecting process makes one per file from a worker's)."""

    record: FileRecord | None
    """Its record, or None when it could not be read."""
    reason: str = ""
    """Why it could not be read."""
    changed: bool = False
    """The reason is a change during the collection."""
    read: int = 0
    """Bytes read."""
    note: str | None = None
    """Why an archive has no content hash (its sha256 still counts)."""
    seen: Seen | None = None
    """The `fstat` of the descriptor the record was read from (None for a cached record)."""
    config: dict[str, str | None] | None = None
    """The values of the asked-for config keys, when they were asked for and the file parsed."""


class _Unstable(Exception):
    """The file changed while it was read."""


_CHANGED = "changed while being read"


def hash_batch(batch: list[Entry], folders: Folders, known: frozenset[str], wanted: dict[str, tuple[str, ...]]) -> list[Outcome]:
    """Hash a batch of files. After each read, the file's name must still lead to the file read; the folders
    above it are checked once for the batch, after every read of it (a `stat` for each folder above a file
    fewer, per file). A folder's files are first read through one descriptor of it (`Folders.held`), the
    very folder the next file's own look-up would give. A file whose folders fail that check is read again
    the careful way, which says what changed."""
    outcomes: list[Outcome] = []
    for _, together in itertools.groupby(batch, key=lambda entry: id(entry.folder)):  # the walk's order: folder by folder
        files = list(together)
        with folders.held(files[0].folder) as handle:
            outcomes += [hash_file(entry, wanted.get(entry.rel, ()), folders, known, chain=False, handle=handle) for entry in files]
    moved = _moved_folders(batch, outcomes, folders)
    if moved:
        outcomes = [
            hash_file(entry, wanted.get(entry.rel, ()), folders, known) if out.record is not None and id(entry.folder) in moved else out
            for entry, out in zip(batch, outcomes)
        ]
    return outcomes


def recheck(
    batch: list[Entry], outcomes: list[Outcome], folders: Folders, known: frozenset[str], wanted: dict[str, tuple[str, ...]],
) -> list[Outcome]:
    """The outcomes of a batch read while the walk was still going on, checked once the walk is over: each
    file read must still be at its name, as it was read (same inode, size and times), every folder above it
    still the walk's. A file that is not (moved out of a folder already walked, perhaps into one the walk
    listed later, and so listed twice) is read again the careful way, which says what changed. Files read
    after the walk need no such check: their own checks after the read come after it."""
    moved = _moved_folders(batch, outcomes, folders)
    checked = []
    for entry, out in zip(batch, outcomes):
        if out.record is not None and (id(entry.folder) in moved or out.seen is None or not _still_at(entry, out.seen, folders, verify=False)):
            out = hash_file(entry, wanted.get(entry.rel, ()), folders, known)
        checked.append(out)
    return checked


class Answered(NamedTuple):
    """The files of one folder that a cache answered as the walk went on: each path's row of the cache's
    table (`drift.collect.hashcache.HashCache.table`), whose record is never made (the inventory is written
    from the table's columns)."""

    folder: Folder
    rows: dict[str, int]
    noted: dict[str, int]
    """Archives cached without a content hash, whose bytes the catalog knows (`CONTENT_FROM_CATALOG`)."""


def recheck_cached(
    answered: list[Answered], listed: dict[str, tuple[int, int]], settled_ns: int, folders: Folders, known: frozenset[str],
    wanted: dict[str, tuple[str, ...]], walked_stat: Callable[[str], os.stat_result], kept: Answered,
) -> Iterator[tuple[str, os.stat_result, Outcome]]:
    """The files a cache answered while the walk went on, checked once it is over (a file moved from a folder
    already walked into one walked later would otherwise be listed twice): those that stand are put in
    `kept` (its `rows` and `noted`), the others read again, each outcome given with its path and the
    walk's stat (`walked_stat`). A folder whose mtime and ctime are what they were when it was listed
    (`listed`, `drift.collect.walk.Tree`), and were older than `settled_ns` then (a folder changed within a
    timestamp's tick of its listing may keep its times), has had no entry added, removed or renamed since:
    its files stand as the cache gave them, for one `fstat` of the folder. In any other folder, each file's
    name must still lead to the walk's stat, else the file is read again the careful way, which says what
    changed."""
    for folder, rows, noted in answered:
        if _settled(folder, listed, settled_ns, folders):
            kept.rows.update(rows)
            kept.noted.update(noted)
            continue
        name_at = len(folder[-1].rel) + 1 if folder else 0  # a path is its folder's, "/" and its name
        for group, into in ((rows, kept.rows), (noted, kept.noted)):
            for rel, row in group.items():
                st = walked_stat(rel)
                entry = Entry(rel, st, folder, rel[name_at:])
                if _still_at(entry, st, folders):
                    into[rel] = row
                else:
                    yield rel, st, hash_file(entry, wanted.get(rel, ()), folders, known)


def changed_folders(
    listed: dict[str, tuple[int, int]], listed_folders: dict[str, Folder], folders: Folders,
    names: dict[str, dict[str, tuple[int, str]]],
) -> tuple[list[str], list[str]]:
    """The folders (by path) whose mtime or ctime are no longer what they were when the walk listed them, or
    that are no longer where it found them: an entry was added, removed or renamed in them since, so their
    listings are not what they hold (a file moved into a folder already listed, and back once its own folder
    was listed, is in no listing). Where the walk kept a folder's names (`Tree.names`: the root, which
    cannot be named unreadable), the paths of the names in it now that its listing did not hold, or that
    are another file, folder or link now (another inode, or another kind: `drift.collect.walk.ident`),
    instead: a file kept there, under a new name or an old one, from the listing of its own folder to the
    end of the collection. The root is looked at first: a file moved out of it before that leaves its own
    folder changed since its listing. Asked once every file is read."""
    changed, appeared = [], []
    for rel in sorted(listed, key=lambda rel: rel not in names):
        try:
            if rel not in names:
                if folders.times(listed_folders[rel]) == listed[rel]:
                    continue
            else:
                with folders.hold(listed_folders[rel]) as handle:
                    if folder_times(handle) == listed[rel]:
                        continue
                    prefix = rel + "/" if rel else ""
                    held = names[rel]
                    appeared += sorted(prefix + entry.name for entry in os.scandir(handle) if held.get(entry.name) != ident(entry))
                    continue
        except (Changed, OSError):
            pass
        changed.append(rel)
    return changed, appeared


def _still_at(entry: Entry, seen: os.stat_result | Seen, folders: Folders, *, verify: bool = True, handle: int | None = None) -> bool:
    """Whether `entry`'s name still leads to the file `seen` was taken of, unchanged (the folders above it
    checked as `Folders.acquire` says; with `handle`, a descriptor of its folder that `Folders.held` gave,
    the name is looked up there, unchecked as without `verify`)."""
    try:
        return not _moved(seen, folders.stat(entry.folder, entry.name, verify=verify) if handle is None else stat_at(entry.name, handle))
    except (Changed, OSError):
        return False


def _settled(folder: Folder, listed: dict[str, tuple[int, int]], settled_ns: int, folders: Folders) -> bool:
    """Whether `folder` is still the walk's, where it saw it, with the times it was listed with, and those
    older than `settled_ns` (see `recheck_cached`)."""
    then = listed.get(folder[-1].rel if folder else "")
    if then is None or max(then) >= settled_ns:
        return False
    try:
        return folders.times(folder) == then  # each folder from the root checked on the way
    except (Changed, OSError):
        return False


def _moved_folders(batch: list[Entry], outcomes: list[Outcome], folders: Folders) -> set[int]:
    """The folders (by `id`: the walk shares one folder tuple between the files of a folder) above the files
    read that no longer lead from the root to where the walk saw them. A folder above another of them is
    checked on the way down to that one (each check goes from the root, step by step, as a check of its own
    would), and on its own only when a check below it failed: a chain of folders costs one check, not one a
    level."""
    read_in = {id(entry.folder): entry.folder for entry, out in zip(batch, outcomes) if out.record is not None}
    above: set[str] = set()  # folders that lie above another folder read in
    for folder in read_in.values():
        for step in reversed(folder[:-1]):
            if step.rel in above:
                break
            above.add(step.rel)
    moved = set()
    for key, folder in read_in.items():
        if not folder or folder[-1].rel not in above:
            try:
                folders.check(folder)
            except (Changed, OSError):
                moved.add(key)
    if moved:  # which of the folders above a moved one moved too
        for key, folder in read_in.items():
            if folder and folder[-1].rel in above:
                try:
                    folders.check(folder)
                except (Changed, OSError):
                    moved.add(key)
    return moved


def hash_file(
    entry: Entry, keys: tuple[str, ...], folders: Folders, known: frozenset[str] = frozenset(), *, chain: bool = True,
    handle: int | None = None,
) -> Outcome:
    """Hash the walk's file `entry` (a few attempts while it changes); raises only `OperationalError`, when the
    process is out of file descriptors (`drift.collect.folders.out_of_descriptors`). With `chain` False, the
    folders above it are not checked after a first read: the caller does (`hash_batch`), and `handle`, when
    given, is a descriptor of its folder (`Folders.held`) that a first read opens it in."""
    read = 0
    for attempt in range(ATTEMPTS):
        held = handle if attempt == 0 and not chain else None
        try:
            _before_open(entry)
            fd, seen = _open_file(folders, entry, verify=attempt > 0, handle=held)
        except Changed as exc:
            return Outcome(None, str(exc), changed=True, read=read)
        except OSError as exc:
            out_of_descriptors(exc)
            return Outcome(None, f"cannot read: {exc.strerror or exc}", read=read)
        except Exception as exc:  # noqa: BLE001 - one file the collector cannot handle must not end the collection
            return Outcome(None, f"could not be opened ({type(exc).__name__}: {exc})", read=read)
        try:
            return _read_once(entry, fd, seen, keys, folders, read, known, chain=chain or attempt > 0, handle=held)
        except _Unstable:
            read += seen.st_size
        except OSError as exc:
            out_of_descriptors(exc)
            return Outcome(None, f"cannot read: {exc.strerror or exc}", read=read)
        except Exception as exc:  # noqa: BLE001
            return Outcome(None, f"could not be hashed ({type(exc).__name__}: {exc})", read=read + seen.st_size)
        finally:
            os.close(fd)
    return Outcome(None, f"{_CHANGED} ({ATTEMPTS} attempts): a deployment in progress?", changed=True, read=read)


def _read_once(
    entry: Entry, fd: int, before: os.stat_result, keys: tuple[str, ...], folders: Folders, read: int, known: frozenset[str],
    *, chain: bool = True, handle: int | None = None,
) -> Outcome:
    """Hash the open file once, reading at most its `fstat` size; raise `_Unstable` when it
    changed meanwhile, or when its name or a folder above it no longer leads to it afterwards (looked up in
    `handle`, when given: see `_still_at`). An archive (by its name, or by its first bytes) whose sha256 is
    in `known` is not inflated."""
    size = before.st_size
    archive = is_archive_name(entry.rel)
    keep = (archive or bool(keys)) and size <= _IN_MEMORY
    digest = hashlib.sha256()
    data = None
    if keep:  # read whole, once: the same bytes give the sha256, the content hash and the config values
        parts = [os.read(fd, size)] if size else []
        left = size - len(parts[0]) if parts else 0
        while left > 0 and (part := os.read(fd, left)):  # a short read (rare): read on
            parts.append(part)
            left -= len(part)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        digest.update(data)
    else:
        left = size
        first = True
        while left > 0 and (chunk := os.read(fd, min(_BUFFER, left))):
            if first:  # a zip under another name (`legacy.dat`) is an archive all the same: Java loads it
                archive, first = chunk.startswith(_ZIP_MAGIC), False
            digest.update(chunk)
            left -= len(chunk)
    if left:
        raise _Unstable(entry.rel)  # shorter than it was (longer shows in its stat, below)
    note = content = None
    sha = digest.hexdigest()
    if archive and sha in known:
        note = CONTENT_FROM_CATALOG
    elif archive:
        # The same bytes (or, past _IN_MEMORY, the same descriptor up to the same size) give the content hash.
        from drift.collect.archive import (  # here: zipfile only where an archive is inflated
            ArchiveError,
            content_sha256,
            content_sha256_fd,
        )

        try:
            content = content_sha256(io.BytesIO(data)) if data is not None else content_sha256_fd(fd, size)
        except ArchiveError as exc:
            note = f"no content hash: {exc}"
    # The name's stat after the read: its inode is the one read (an open descriptor keeps its number from being
    # reused), so a write, a growth or a rename over it shows here as it would in an fstat. Gone or replaced
    # (the name or a folder above it): the next attempt says which.
    if not _still_at(entry, before, folders, verify=chain, handle=handle):
        raise _Unstable(entry.rel)
    config = None
    if keys and data is not None:
        try:
            config = parse_keys(data, entry.name, keys)
        except ConfigReadError:
            pass
    return Outcome(FileRecord(size, sha, content), read=read + size, note=note, seen=Seen.of(before), config=config)


def _open_file(folders: Folders, entry: Entry, verify: bool, handle: int | None = None) -> tuple[int, os.stat_result]:
    """A descriptor of the walk's regular file `entry` (`drift.collect.folders.open_in`) and its `fstat`, checked to be
    that file; raises `Changed` or `OSError`. `verify` checks the folders above it first (see
    `Folders.acquire`: a first read has them checked after it); `handle`, when given, is a descriptor of
    its folder that `Folders.held` gave, the one `verify` False would have it opened in."""
    fd = folders.open(entry.folder, entry.name, entry.st, verify=verify) if handle is None else open_in(handle, entry.name, entry.st)
    try:
        seen = os.fstat(fd)
        check(seen, entry.st)
    except BaseException:
        os.close(fd)
        raise
    return fd, seen


def _moved(a: os.stat_result | Seen, b: os.stat_result) -> bool:
    return (
        a.st_ino != b.st_ino or a.st_size != b.st_size or a.st_mtime_ns != b.st_mtime_ns
        or a.st_ctime_ns != b.st_ctime_ns or a.st_dev != b.st_dev
    )
