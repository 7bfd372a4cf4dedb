"""`drift collect`: hash every regular file under a deploy root into an inventory (SPEC 4).

It runs on the tenant's production server, so it is careful about what it touches and honest about what it
could not see:
- symbolic links are recorded with their target and never followed; FIFOs, sockets and devices are listed
  and never opened; a file that cannot be read is listed with the reason (see `drift.walk`);
- files are hashed by a pool of threads (hashlib and zlib release the GIL on large buffers), read in 1 MiB
  blocks;
- a file whose size, modification time or change time moves while it is read is read again, a few times,
  then recorded as unreadable ("changed while being read") and the inventory says it was taken while files
  changed;
- only the config keys the catalog's config checks name are read; no other value leaves the tenant;
- with a cache (`drift.hashcache`), a file whose device, inode, size, mtime and ctime are unchanged is not
  read again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from drift import __version__
from drift.archive import ALGORITHM, ArchiveError, content_sha256, is_archive_name
from drift.configfile import ConfigReadError, read_keys
from drift.errors import InputError
from drift.inventory.jsonfile import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable
from drift.walk import Entry, Tree, walk

if TYPE_CHECKING:
    from drift.hashcache import HashCache

_BUFFER = 1 << 20
_IN_MEMORY = 64 << 20
"""Archives up to this size are read into memory once, for both hashes."""
ATTEMPTS = 3
"""Reads of a file that keeps changing before it is recorded as unstable."""


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection found, ready to be written as an inventory."""

    text: str
    """The inventory document."""
    files: int
    """Regular files hashed."""
    unreadable: int
    """Entries it could not read."""
    links: int
    """Symbolic links recorded (not followed)."""
    skipped: int
    """FIFOs, sockets and devices listed (not read)."""
    changing: bool
    """True when some file kept changing while it was read."""
    bytes_read: int
    """Bytes of file content read (a cached file reads none)."""


class _Unstable(Exception):
    """The file changed while it was read."""


def collect(
    root: Path,
    tenant: str,
    *,
    tree: Tree | None = None,
    config_keys: Collection[tuple[str, str]] = (),
    excludes: Collection[str] = (),
    jobs: int | None = None,
    cache: HashCache | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> CollectResult:
    """Collect the inventory of the deploy root `root` for `tenant`.

    `tree` is the walk of `root` with `excludes` when the caller already made it (to size a progress bar);
    the inventory records `excludes` either way. `progress` is called with the number of bytes of each file
    as it is done.
    """
    if not root.is_dir():
        raise InputError("not a folder", source=root, where="ROOT")
    tree = walk(root, excludes) if tree is None else tree
    started_ns = time.time_ns()
    unreadable = list(tree.unreadable)
    files: dict[str, FileRecord] = {}
    changing = False
    bytes_read = 0

    content_errors: list[Unreadable] = []
    for entry, (outcome, read, note) in _hash_all(tree.files, jobs or os.cpu_count() or 1, cache):
        bytes_read += read
        if isinstance(outcome, FileRecord):
            files[entry.rel] = outcome
            if note is not None:
                content_errors.append(Unreadable(entry.rel, note))
            elif cache is not None and read:
                cache.store(entry.rel, entry.st, outcome, started_ns=started_ns)
        else:
            unreadable.append(Unreadable(entry.rel, outcome))
            changing = changing or outcome.startswith(_CHANGED)
        if progress is not None:
            progress(entry.st.st_size)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    text = dumps_inventory(
        tenant=tenant,
        collected_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        collector=f"drift {__version__}",
        content_hash=ALGORITHM,
        files=files,
        config=_capture_config(root, files, config_keys),
        unreadable=unreadable,
        links=tree.links,
        skipped=tree.skipped,
        changed_during_collection=changing,
        content_errors=content_errors,
        excluded=excludes,
    )
    return CollectResult(
        text=text, files=len(files), unreadable=len(unreadable), links=len(tree.links), skipped=len(tree.skipped),
        changing=changing, bytes_read=bytes_read,
    )


_CHANGED = "changed while being read"
Outcome = tuple[FileRecord | str, int, str | None]
"""A file's record (or why it could not be read), the bytes read, and why an archive has no content hash."""


def _hash_all(entries: list[Entry], jobs: int, cache: HashCache | None) -> Iterator[tuple[Entry, Outcome]]:
    """Hash every entry, in completion order. Archives go to forked worker processes: inflating and hashing
    their entries holds the GIL between small buffers, so threads would share one core. Other files go to
    threads: hashlib releases the GIL while it hashes a large buffer."""
    pending: list[Entry] = []
    for entry in entries:
        cached = cache.lookup(entry.rel, entry.st) if cache is not None else None
        if cached is not None:
            yield entry, (cached, 0, None)
        else:
            pending.append(entry)
    archives = [e for e in pending if is_archive_name(e.rel)]
    plain = [e for e in pending if not is_archive_name(e.rel)]
    processes = _process_pool(jobs) if len(archives) > 1 else None
    with ThreadPoolExecutor(max_workers=jobs) as threads:
        if processes is None:
            futures = {threads.submit(_hash_file, e): e for e in archives}
        else:
            futures = {processes.submit(_hash_file, e): e for e in archives}
        futures.update({threads.submit(_hash_file, e): e for e in plain})
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            if processes is not None:
                processes.shutdown(cancel_futures=True)


def _process_pool(jobs: int) -> ProcessPoolExecutor | None:
    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def _hash_file(entry: Entry) -> Outcome:
    """The file's record (or the reason it could not be read), the bytes read, and why an archive has no
    content hash (its sha256 still counts: the exact bytes of a release match whatever their content)."""
    read = 0
    for _ in range(ATTEMPTS):
        try:
            record, size, note = _read_once(entry.full)
        except _Unstable:
            read += entry.st.st_size
            continue
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}", read, None
        except Exception as exc:  # noqa: BLE001 - one file the collector cannot handle must not end the collection
            return f"could not be hashed ({type(exc).__name__}: {exc})", read + entry.st.st_size, None
        return record, read + size, note
    return f"{_CHANGED} ({ATTEMPTS} attempts): a deployment in progress?", read, None


def _read_once(path: str) -> tuple[FileRecord, int, str | None]:
    """Hash the file once; raise `_Unstable` when it changed meanwhile."""
    note = None
    with open(path, "rb", buffering=0) as handle:
        before = os.fstat(handle.fileno())
        archive = is_archive_name(path)
        stream: IO[bytes]
        if archive and before.st_size <= _IN_MEMORY:
            # Read once: the same bytes give the sha256 and, opened as a zip, the content hash.
            data = handle.read()
            digest, size, stream = hashlib.sha256(data), len(data), io.BytesIO(data)
        else:
            digest = hashlib.sha256()
            size = 0
            while chunk := handle.read(_BUFFER):
                digest.update(chunk)
                size += len(chunk)
            stream = handle
        content = None
        if archive:
            stream.seek(0)
            try:
                content = content_sha256(stream)
            except ArchiveError as exc:
                note = f"no content hash: {exc}"
        after = os.fstat(handle.fileno())
    if _moved(before, after) or size != after.st_size or _moved(after, os.stat(path, follow_symlinks=False)):
        raise _Unstable(path)
    return FileRecord(size, digest.hexdigest(), content), size, note


def _moved(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) != (b.st_ino, b.st_size, b.st_mtime_ns, b.st_ctime_ns)


def _capture_config(root: Path, files: dict[str, FileRecord], keys: Collection[tuple[str, str]]) -> list[ConfigValue]:
    by_file: dict[str, list[str]] = {}
    for file, key in keys:
        by_file.setdefault(file, []).append(key)
    captured: list[ConfigValue] = []
    for file, wanted in sorted(by_file.items()):
        if file not in files:
            continue
        try:
            values = read_keys(root / file, wanted)
        except (OSError, ConfigReadError):
            # Not captured: its config checks then say `unreadable`, never a guessed value.
            continue
        captured.extend(ConfigValue(file, key, values[key]) for key in sorted(wanted))
    return captured
