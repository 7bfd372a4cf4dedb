"""`drift collect`: hash every regular file under a deploy root into an inventory (SPEC 4).

It runs on the tenant's production server, which the audited party runs, so it is careful about what it
touches and honest about what it could not see:
- symbolic links are recorded with their target and never followed; FIFOs, sockets and devices are listed
  and never opened; a file that cannot be read is listed with the reason (see `drift.collect.walk`);
- every file is opened relative to its folder's descriptor, and only if it is still the regular file the
  walk saw, every folder above it still the walk's folder (`drift.collect.walk.Folders`); its content, archive
  content hash and config values all come from that one descriptor, read no further than the size `fstat`
  gave it (a file that grew shows in its stat after the read). A file or folder that changed kind or identity since the walk is
  listed as unreadable with the reason ("changed kind during collection: now a symbolic link", "replaced
  during collection (another inode)"): never hashed, never followed, and nothing blocks;
- files are hashed by a pool of threads (hashlib and zlib release the GIL on large buffers), read in 1 MiB
  blocks; archives by forked worker processes, which use the root descriptor they inherit;
- a file whose size, modification time or change time moves while it is read, or whose name or folders no
  longer lead to it afterwards, is read again, a few times, then recorded as unreadable ("changed while
  being read"), and the inventory says it was taken while files changed;
- only the config keys the catalog's config checks name are read, from the bytes that were hashed; no other
  value leaves the tenant;
- with a cache (`drift.collect.hashcache`), a file whose device, inode, size, mtime and ctime are unchanged is not
  read again; a record is stored only when the descriptor it was read from had the walk's exact stat.
  A config file whose keys are captured is read every time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import io
import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Generator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drift import __version__
from drift.collect.archive import ALGORITHM, ArchiveError, content_sha256, content_sha256_fd, is_archive_name
from drift.collect.configfile import ConfigReadError, parse_keys
from drift.collect.walk import Changed, Entry, Folders, Tree, check, open_folders, walk
from drift.errors import InputError, OperationalError
from drift.inventory.jsonfile import dumps_inventory
from drift.inventory.model import CONTENT_FROM_CATALOG, ConfigValue, FileRecord, Unreadable

if TYPE_CHECKING:
    from drift.collect.hashcache import HashCache

_BUFFER = 1 << 20
_IN_MEMORY = 64 << 20
"""Archives and config files up to this size are read into memory once (for both hashes, or for the values)."""
ATTEMPTS = 3
"""Reads of a file that keeps changing before it is recorded as unstable."""


def _before_open(entry: Entry) -> None:
    """Called after the walk, before each attempt to open a file: a seam where tests make races deterministic."""


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
    """True when some file kept changing while it was read, or changed kind or identity since the walk."""
    bytes_read: int
    """Bytes of file content read (a cached file reads none)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What hashing one file gave."""

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
    seen: os.stat_result | None = None
    """The `fstat` of the descriptor the record was read from (None for a cached record)."""
    config: dict[str, str | None] | None = None
    """The values of the asked-for config keys, when they were asked for and the file parsed."""


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
    known_archives: Collection[str] = frozenset(),
) -> CollectResult:
    """Collect the inventory of the deploy root `root` for `tenant`.

    `known_archives` holds the sha256 of archives whose content hash the catalog already has
    (`drift.collect.catalogkeys.catalog_archive_hashes`): an archive with exactly those bytes is hashed, not
    inflated, and listed without a content hash (the scan takes the catalog's).

    `tree` is the walk of `root` with `excludes` when the caller already made it (to size a progress bar);
    the inventory records `excludes` either way. `progress` is called with the number of bytes of each file
    as it is done. Raises `OperationalError` when the root folder was replaced since the walk.
    """
    if not root.is_dir():
        raise InputError("not a folder", source=root, where="ROOT")
    tree = walk(root, excludes) if tree is None else tree
    started_ns = time.time_ns()
    unreadable = list(tree.unreadable)
    files: dict[str, FileRecord] = {}
    values: dict[str, dict[str, str | None]] = {}
    changing = tree.changed
    bytes_read = 0
    wanted: dict[str, tuple[str, ...]] = {}
    for file, key in sorted(config_keys):
        wanted[file] = (*wanted.get(file, ()), key)
    try:
        folders = open_folders(os.path.abspath(root), expect=tree.root)
    except Changed as exc:
        raise OperationalError(str(exc), source=root) from exc
    except OSError as exc:
        raise OperationalError(f"cannot open: {exc.strerror or exc}", source=root) from exc

    content_errors: list[Unreadable] = []
    known = frozenset(known_archives)
    results = _hash_all(tree.files, jobs or os.cpu_count() or 1, cache, folders, wanted, known)
    with folders, contextlib.closing(results):  # every worker done before the folders are closed
        for entry, out in results:
            bytes_read += out.read
            if out.record is not None:
                files[entry.rel] = out.record
                if out.config is not None:
                    values[entry.rel] = out.config
                if out.note is not None:
                    content_errors.append(Unreadable(entry.rel, out.note))
                if (out.note is None or out.note == CONTENT_FROM_CATALOG) and cache is not None and out.seen is not None:
                    cache.store(entry.rel, entry.st, out.record, read=out.seen, started_ns=started_ns)
            else:
                unreadable.append(Unreadable(entry.rel, out.reason))
                changing = changing or out.changed
            if progress is not None:
                progress(entry.st.st_size)
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)  # noqa: UP017 - the collector runs on 3.9 too
    # Not captured (unreadable, unparsed): its config checks then say `unreadable`, never a guessed value.
    config = [ConfigValue(file, key, values[file][key]) for file, keys in wanted.items() if file in values for key in keys]
    text = dumps_inventory(
        tenant=tenant,
        collected_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        collector=f"drift {__version__}",
        content_hash=ALGORITHM,
        files=files,
        config=config,
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


def _hash_all(
    entries: list[Entry], jobs: int, cache: HashCache | None, folders: Folders, wanted: dict[str, tuple[str, ...]],
    known: frozenset[str] = frozenset(),
) -> Generator[tuple[Entry, _Outcome], None, None]:
    """Hash every entry, in completion order. Archives go to forked worker processes: inflating and hashing
    their entries holds the GIL between small buffers, so threads would share one core. Other files go to
    threads: hashlib releases the GIL while it hashes a large buffer. A file whose config keys are wanted
    is always read (its values come from the bytes that are hashed). An archive whose bytes are in `known` is
    not inflated; a cached archive without a content hash is used only while its bytes are still in `known`."""
    pending: list[Entry] = []
    for entry in entries:
        cached = cache.lookup(entry.rel, entry.st, reuse=entry.rel not in wanted) if cache is not None else None
        if cached is not None and cached.content_sha256 is None and is_archive_name(entry.rel) and cached.sha256 not in known:
            cached = None  # skipped for a catalog that knew its bytes; this one does not: inflate it now
        if cached is not None:
            skipped = cached.content_sha256 is None and is_archive_name(entry.rel)
            yield entry, _Outcome(cached, note=CONTENT_FROM_CATALOG if skipped else None)
        else:
            pending.append(entry)
    batches = _batches(pending)
    # Forked before any thread of this pool exists (the first submit starts every worker).
    processes = _process_pool(jobs, folders, (known, wanted, cache is not None), batches) if len(batches) > 1 else None
    executor: ThreadPoolExecutor | ProcessPoolExecutor = processes or ThreadPoolExecutor(max_workers=jobs)
    with executor:
        futures: dict[Future[Any], list[Entry]]
        if processes is None:
            futures = {executor.submit(_hash_batch, batch, folders, known, wanted): batch for batch in batches}
        else:  # a worker has every batch already (forked): it is sent only the batch's number
            futures = {executor.submit(_hash_in_worker, number): batch for number, batch in enumerate(batches)}
        try:
            for future in as_completed(futures):
                outcomes = future.result() if processes is None else map(_from_wire, future.result())
                yield from zip(futures[future], outcomes)
        finally:
            executor.shutdown(cancel_futures=True)


_BATCH_BYTES = 8 << 20
_BATCH_FILES = 256
_INFLATE_WEIGHT = 4
"""Inflating and hashing an archive's entries costs about four times hashing its bytes."""


def _batches(entries: list[Entry]) -> list[list[Entry]]:
    """The entries in batches of about `_BATCH_BYTES` of work (or `_BATCH_FILES` files), the heaviest first:
    one task per file would cost more in scheduling than a small file costs to hash."""
    batches: list[tuple[int, list[Entry]]] = []
    batch: list[Entry] = []
    weight = 0
    for entry in entries:
        cost = entry.st.st_size * (_INFLATE_WEIGHT if is_archive_name(entry.rel) else 1) + 4096
        if cost >= _BATCH_BYTES:
            batches.append((cost, [entry]))
            continue
        batch.append(entry)
        weight += cost
        if weight >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            batches.append((weight, batch))
            batch, weight = [], 0
    if batch:
        batches.append((weight, batch))
    batches.sort(key=lambda item: -item[0])
    return [b for _, b in batches]


def _process_pool(jobs: int, folders: Folders, work: _Work, batches: list[list[Entry]]) -> ProcessPoolExecutor | None:
    """Worker processes, forked: hashing a small file, and inflating an archive's entries, hold the GIL, so
    threads would share one core. Where there is no fork (Windows, or a platform whose os module lacks it),
    threads hash everything: hashlib releases the GIL while it hashes a large buffer."""
    if jobs < 2 or not hasattr(os, "fork") or "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")  # fork: `folders` (open descriptors) is inherited, never pickled
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(folders, work, batches))


_Work = tuple[frozenset[str], dict[str, tuple[str, ...]], bool]
"""What a worker process needs besides its folders: the archive hashes whose content hash is not needed, the
config keys wanted per file, and whether the stat a record was read with is wanted (for the cache)."""
_worker: tuple[Folders, _Work] | None = None
"""In a worker process: its own descriptors of the collection's folders, and its `_Work`."""
_worker_batches: list[list[Entry]] = []
"""In a worker process: every batch of the collection, by number."""


def _start_worker(folders: Folders, work: _Work, batches: list[list[Entry]]) -> None:
    global _worker, _worker_batches  # one per worker process, set once as it starts (forked: nothing pickled)
    _worker, _worker_batches = (folders.forked(), work), batches


def _hash_in_worker(number: int) -> list[tuple[Any, ...]]:
    """A batch's outcomes as plain tuples (`_to_wire`): pickling dataclasses and stat results would cost the
    main process more than hashing a small file does."""
    assert _worker is not None, "the worker process was not started by _process_pool"
    folders, (known, wanted, keep_seen) = _worker
    return [_to_wire(out, keep_seen) for out in _hash_batch(_worker_batches[number], folders, known, wanted)]


def _to_wire(out: _Outcome, keep_seen: bool) -> tuple[Any, ...]:
    record = out.record
    fields = None if record is None else (record.size, record.sha256, record.content_sha256)
    return fields, out.reason, out.changed, out.read, out.note, out.seen if keep_seen else None, out.config


def _from_wire(wire: tuple[Any, ...]) -> _Outcome:
    fields, reason, changed, read, note, seen, config = wire
    return _Outcome(None if fields is None else FileRecord(*fields), reason, changed, read, note, seen, config)


def _hash_batch(batch: list[Entry], folders: Folders, known: frozenset[str], wanted: dict[str, tuple[str, ...]]) -> list[_Outcome]:
    """Hash a batch of files. After each read, the file's name must still lead to the file read; the folders
    above it are checked once for the batch, after every read of it (four `stat` calls a file fewer on a
    tree three folders deep). A file whose folders fail that check is read again the careful way, which
    says what changed."""
    outcomes = [_hash_file(entry, wanted.get(entry.rel, ()), folders, known, chain=False) for entry in batch]
    read_in = {id(entry.folder): entry.folder for entry, out in zip(batch, outcomes) if out.record is not None}  # the walk shares them
    moved = set()
    for key, folder in read_in.items():
        try:
            folders.check(folder)
        except (Changed, OSError):
            moved.add(key)
    if moved:
        outcomes = [
            _hash_file(entry, wanted.get(entry.rel, ()), folders, known) if out.record is not None and id(entry.folder) in moved else out
            for entry, out in zip(batch, outcomes)
        ]
    return outcomes


def _hash_file(entry: Entry, keys: tuple[str, ...], folders: Folders, known: frozenset[str] = frozenset(), *, chain: bool = True) -> _Outcome:
    """Hash the walk's file `entry` (a few attempts while it changes); never raises. With `chain` False, the
    folders above it are not checked after a first read: the caller does (`_hash_batch`)."""
    read = 0
    for attempt in range(ATTEMPTS):
        try:
            _before_open(entry)
            fd, seen = _open_file(folders, entry, verify=attempt > 0)
        except Changed as exc:
            return _Outcome(None, str(exc), changed=True, read=read)
        except OSError as exc:
            return _Outcome(None, f"cannot read: {exc.strerror or exc}", read=read)
        except Exception as exc:  # noqa: BLE001 - one file the collector cannot handle must not end the collection
            return _Outcome(None, f"could not be opened ({type(exc).__name__}: {exc})", read=read)
        try:
            return _read_once(entry, fd, seen, keys, folders, read, known, chain=chain or attempt > 0)
        except _Unstable:
            read += seen.st_size
        except OSError as exc:
            return _Outcome(None, f"cannot read: {exc.strerror or exc}", read=read)
        except Exception as exc:  # noqa: BLE001
            return _Outcome(None, f"could not be hashed ({type(exc).__name__}: {exc})", read=read + seen.st_size)
        finally:
            os.close(fd)
    return _Outcome(None, f"{_CHANGED} ({ATTEMPTS} attempts): a deployment in progress?", changed=True, read=read)


def _read_once(
    entry: Entry, fd: int, before: os.stat_result, keys: tuple[str, ...], folders: Folders, read: int, known: frozenset[str],
    *, chain: bool = True,
) -> _Outcome:
    """Hash the open file once, reading at most its `fstat` size; raise `_Unstable` when it
    changed meanwhile, or when its name or a folder above it no longer leads to it afterwards. An archive
    whose sha256 is in `known` is not inflated."""
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
        while left > 0 and (chunk := os.read(fd, min(_BUFFER, left))):
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
        try:
            content = content_sha256(io.BytesIO(data)) if data is not None else content_sha256_fd(fd, size)
        except ArchiveError as exc:
            note = f"no content hash: {exc}"
    try:
        # The name's stat after the read: its inode is the one read (an open descriptor keeps its number from
        # being reused), so a write, a growth or a rename over it shows here as it would in an fstat.
        moved = _moved(before, folders.stat(entry.folder, entry.name, verify=chain))
    except (Changed, OSError):
        moved = True  # its name or a folder above it was removed or replaced: the next attempt says which
    if moved:
        raise _Unstable(entry.rel)
    config = None
    if keys and data is not None:
        try:
            config = parse_keys(data, entry.name, keys)
        except ConfigReadError:
            pass
    return _Outcome(FileRecord(size, sha, content), read=read + size, note=note, seen=before, config=config)


def _open_file(folders: Folders, entry: Entry, verify: bool) -> tuple[int, os.stat_result]:
    """A descriptor of the walk's regular file `entry` (`drift.collect.walk.open_in`) and its `fstat`, checked to be
    that file; raises `Changed` or `OSError`. `verify` checks the folders above it first (see
    `Folders.acquire`: a first read has them checked after it)."""
    fd = folders.open(entry.folder, entry.name, entry.st, verify=verify)
    try:
        seen = os.fstat(fd)
        check(seen, entry.st)
    except BaseException:
        os.close(fd)
        raise
    return fd, seen


def _moved(a: os.stat_result, b: os.stat_result) -> bool:
    return (
        a.st_ino != b.st_ino or a.st_size != b.st_size or a.st_mtime_ns != b.st_mtime_ns
        or a.st_ctime_ns != b.st_ctime_ns or a.st_dev != b.st_dev
    )


def inside(root: Path, *paths: Path | None) -> list[str]:
    """The given paths that lie inside `root`, relative to it: drift's own output files, to leave out of a
    collection (an inventory or cache written into the tree would otherwise change it on every run)."""
    base = os.path.abspath(root)
    found = []
    for path in paths:
        if path is not None:
            full = os.path.abspath(path)
            try:
                within = os.path.commonpath([base, full]) == base and full != base
            except ValueError:  # Windows: on another drive
                within = False
            if within:
                found.append(glob.escape(os.path.relpath(full, base).replace(os.sep, "/")))
    return found
