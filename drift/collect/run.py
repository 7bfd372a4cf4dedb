"""`drift collect`: hash every regular file under a deploy root into an inventory (SPEC 4).

It runs on the tenant's production server, which the audited party runs, so it is careful about what it
touches and honest about what it could not see:
- symbolic links are recorded with their target and never followed; FIFOs, sockets and devices are listed
  and never opened; a file that cannot be read is listed with the reason (see `drift.collect.walk`);
- every file is opened relative to its folder's descriptor, and only if it is still the regular file the
  walk saw, every folder above it still the walk's folder (`drift.collect.walk.Folders`); its content, archive
  content hash and config values all come from that one descriptor, read no further than the size `fstat`
  gave it (a file that grew shows in its name's stat after the read; see `drift.collect.readfile`). A file
  or folder that changed kind or identity since the walk is listed as unreadable with the reason ("changed
  kind during collection: now a symbolic link", "replaced during collection (another inode)"): never
  hashed, never followed, and nothing blocks;
- files are hashed in batches (about 8 MB or 256 files) by forked worker processes, which inherit the
  folder descriptors and every batch, and are sent only a batch's number; where there is no `fork`
  (Windows), by threads (hashlib and zlib release the GIL on large buffers); an archive whose bytes the
  catalog lists is hashed, not inflated;
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
import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Generator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drift import __version__
from drift.collect.archive import ALGORITHM, is_archive_name
from drift.collect.readfile import Outcome, hash_batch
from drift.collect.walk import Changed, Entry, Folders, Tree, open_folders, walk
from drift.errors import InputError, OperationalError
from drift.inventory.jsonfile import dumps_inventory
from drift.inventory.model import CONTENT_FROM_CATALOG, ConfigValue, FileRecord, Unreadable

if TYPE_CHECKING:
    from drift.collect.hashcache import HashCache

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


def _hash_all(
    entries: list[Entry], jobs: int, cache: HashCache | None, folders: Folders, wanted: dict[str, tuple[str, ...]],
    known: frozenset[str] = frozenset(),
) -> Generator[tuple[Entry, Outcome], None, None]:
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
            yield entry, Outcome(cached, note=CONTENT_FROM_CATALOG if skipped else None)
        else:
            pending.append(entry)
    batches = _batches(pending)
    # Forked before any thread of this pool exists (the first submit starts every worker).
    processes = _process_pool(jobs, folders, (known, wanted, cache is not None), batches) if len(batches) > 1 else None
    executor: ThreadPoolExecutor | ProcessPoolExecutor = processes or ThreadPoolExecutor(max_workers=jobs)
    with executor:
        futures: dict[Future[Any], list[Entry]]
        if processes is None:
            futures = {executor.submit(hash_batch, batch, folders, known, wanted): batch for batch in batches}
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
    return [_to_wire(out, keep_seen) for out in hash_batch(_worker_batches[number], folders, known, wanted)]


def _to_wire(out: Outcome, keep_seen: bool) -> tuple[Any, ...]:
    record = out.record
    fields = None if record is None else (record.size, record.sha256, record.content_sha256)
    return fields, out.reason, out.changed, out.read, out.note, out.seen if keep_seen else None, out.config


def _from_wire(wire: tuple[Any, ...]) -> Outcome:
    fields, reason, changed, read, note, seen, config = wire
    return Outcome(None if fields is None else FileRecord(*fields), reason, changed, read, note, seen, config)


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
