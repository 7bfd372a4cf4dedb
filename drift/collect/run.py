"""`drift collect`: hash every regular file under a deploy root into an inventory (SPEC 4).

It runs on the tenant's production server, which the audited party runs, so it is careful about what it
touches and honest about what it could not see:
- symbolic links are recorded with their target and never followed; FIFOs, sockets and devices are listed
  and never opened; a file that cannot be read is listed with the reason (see `drift.collect.walk`);
- every file is opened relative to its folder's descriptor, and only if it is still the regular file the
  walk saw, every folder above it still the walk's folder (`drift.collect.folders.Folders`); its content, archive
  content hash and config values all come from that one descriptor, read no further than the size `fstat`
  gave it (a file that grew shows in its name's stat after the read; see `drift.collect.readfile`). A file
  or folder that changed kind or identity since the walk is listed as unreadable with the reason ("changed
  kind during collection: now a symbolic link", "replaced during collection (another inode)"): never
  hashed, never followed, and nothing blocks;
- files are hashed while the walk goes on, in batches (about 8 MB or 256 files) by forked worker
  processes, which inherit the folder descriptors and are sent each batch as plain tuples as soon as it
  is full (the heaviest waiting batch first); where there is no `fork` (Windows), by threads (hashlib and
  zlib release the GIL on large buffers); an archive whose bytes the catalog lists is hashed, not inflated.
  A file read while the walk still went on is checked once the walk is over to be still at its name, as
  read, under the same folders (`drift.collect.readfile.recheck`), else read again: a file moved from a
  folder already walked into one walked later is never listed twice, nor under a name it left;
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
import itertools
import os
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drift import __version__
from drift.collect.archive.names import ALGORITHM, archive_names, is_archive_name
from drift.collect.catalogneeds import CatalogNeeds
from drift.collect.folders import Changed, Folders, open_folders
from drift.collect.gcpause import paused_gc
from drift.collect.hashcache import racy_from
from drift.collect.readfile import Answered, Outcome, changed_folders, hash_batch, recheck_cached
from drift.collect.walk import Entry, Listing, Tree, walking
from drift.collect.walkshare import shared_walk
from drift.collect.workers import Work, Workers
from drift.errors import InputError, OperationalError
from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import APPEARED, CONTENT_FROM_CATALOG, FOLDER_CHANGED, ConfigValue, FileRecord, Unreadable, excluded
from drift.inventory.names import recordable

if TYPE_CHECKING:
    from drift.collect.hashcache import HashCache

@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection found, ready to be written as an inventory."""

    data: bytes
    """The inventory document, as written."""
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

    @property
    def text(self) -> str:
        """The inventory document as text."""
        return self.data.decode("utf-8")


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
    catalog: CatalogNeeds | None = None,
) -> CollectResult:
    """Collect the inventory of the deploy root `root` for `tenant`.

    `known_archives` holds the sha256 of archives whose content hash the catalog already has
    (`drift.collect.catalogkeys.catalog_archive_hashes`): an archive with exactly those bytes is hashed, not
    inflated, and listed without a content hash (the scan takes the catalog's). `catalog`, in place of
    `config_keys` and `known_archives`, is both still being read: the walk starts meanwhile, and files are
    read once they are known (the first read waits for them).

    `tree` is the walk of `root` with `excludes` when the caller already made it (to size a progress bar);
    the inventory records `excludes` either way. `progress` is called with the number of bytes of each file
    as it is done. Raises `OperationalError` when the root folder was replaced since the walk.
    """
    if not root.is_dir():
        raise InputError("not a folder", source=root, where="ROOT")
    started_ns = time.time_ns() if tree is None else tree.started_ns  # a walk made before: the stats are its
    needs = _Needs((config_keys, known_archives) if catalog is None else catalog)
    try:
        folders = open_folders(os.path.abspath(root), expect=tree.root if tree is not None else None)
    except Changed as exc:
        raise OperationalError(str(exc), source=root) from exc
    except OSError as exc:
        raise OperationalError(f"cannot open: {exc.strerror or exc}", source=root) from exc
    walked: Iterable[Listing]  # the files, folder by folder
    pools: list[Workers] = []  # the workers, once started
    if tree is None:  # its files are hashed while the walk goes on, the cache asked as each is listed
        tree = Tree()
        if cache is None:
            walked = walking(root, tree, folders, excludes)
        else:  # a re-collection: its walk shared with another process while no worker has started
            walked = shared_walk(root, tree, folders, excludes, cache, may_fork=lambda: not pools)
    else:  # a walk made before: the cache is asked now
        walked = (_asked(cache, Listing(files[0].folder, files, [])) for files in _by_folder(tree.files))
    unreadable: list[Unreadable] = []
    files: dict[str, FileRecord] = {}
    values: dict[str, dict[str, str | None]] = {}
    changing = False
    bytes_read = 0
    content_errors: list[Unreadable] = []
    kept = Answered((), {}, {})  # what the cache answered, checked once the walk is over
    results = _hash_all(walked, jobs or os.cpu_count() or 1, cache, folders, needs, (tree.listed, racy_from(started_ns)), kept, pools)
    with folders, contextlib.closing(results), paused_gc():  # every worker done before the folders are closed
        for rel, st, out in results:
            bytes_read += out.read
            if out.record is not None:
                files[rel] = out.record
                if out.config is not None:
                    values[rel] = out.config
                if out.note is not None:
                    content_errors.append(Unreadable(rel, out.note))
                # An archive not inflated is cached only under an archive's name: the cache keeps no note, and a
                # file known as a zip by its first bytes alone would come back as a plain file with no content hash.
                if (out.note is None or (out.note == CONTENT_FROM_CATALOG and is_archive_name(rel))) and cache is not None and out.seen is not None:
                    cache.store(rel, st, out.record, read=out.seen, started_ns=started_ns)
            else:
                unreadable.append(Unreadable(rel, out.reason))
                changing = changing or out.changed
            if progress is not None:
                progress(st.st_size)
        # Every file read: a folder whose entries changed since it was listed did not show all it held.
        changed, replaced, moved = _looked_again(tree, folders, excludes, {u.path for u in (*tree.unreadable, *unreadable)})
        unreadable += changed
        changing = changing or moved
    cached = {**kept.rows, **kept.noted}  # a row of the cache's table each, written from its columns
    for rel in files.keys() & cached.keys():  # never both (a file read is not answered): as read
        del cached[rel]
    content_errors += (Unreadable(rel, CONTENT_FROM_CATALOG) for rel in kept.noted if rel in cached)
    if progress is not None and cache is not None:
        progress(sum(map(cache.table.sizes.__getitem__, cached.values())))
    for path in replaced:
        files.pop(path, None)
        cached.pop(path, None)
        values.pop(path, None)
    if replaced:  # what the walk recorded there is no longer there: an unreadable entry says so instead
        tree.links[:] = [link for link in tree.links if link.path not in replaced]
        tree.skipped[:] = [item for item in tree.skipped if item.path not in replaced]
        content_errors[:] = [item for item in content_errors if item.path not in replaced]
    rows = sorted(cached.values())  # in path order, as the table's paths are
    unreadable += tree.unreadable  # the walk's, complete now
    changing = changing or tree.changed
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)  # noqa: UP017 - the collector runs on 3.9 too
    # Not captured (unreadable, unparsed): its config checks then say `unreadable`, never a guessed value.
    wanted = needs.get()[1]
    config = [ConfigValue(file, key, values[file][key]) for file, keys in wanted.items() if file in values for key in keys]
    data = dumps_inventory(
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
        columns=cache.table if cache is not None else None,
        rows=rows,
    )
    return CollectResult(
        data=data, files=len(files) + len(rows), unreadable=len(unreadable), links=len(tree.links), skipped=len(tree.skipped),
        changing=changing, bytes_read=bytes_read,
    )


def _looked_again(tree: Tree, folders: Folders, excludes: Collection[str], said: set[str]) -> tuple[list[Unreadable], set[str], bool]:
    """Once every file is read, the folders looked at again (`drift.collect.readfile.changed_folders`): the
    unreadable entries of those whose entries changed since they were listed (`FOLDER_CHANGED`; the root's
    changes are named in it, `APPEARED`), and the paths of those names (whatever the walk recorded there
    is to go), and whether any folder not left out changed (the root too). A folder left out is not looked
    at: what changes there is its own affair. A path already unreadable (`said`) is said once."""
    moved, appeared = changed_folders(tree.listed, tree.listed_folders, folders, tree.names)
    changed = []
    for rel in moved:
        path = recordable(rel)[0]
        if not (excludes and rel and excluded(path, excludes)):
            changed.append(Unreadable(path, FOLDER_CHANGED))
    replaced = {recordable(raw)[0] for raw in appeared}
    changed += (Unreadable(path, APPEARED) for path in sorted(replaced))
    any_moved = bool(changed) or bool(appeared)
    changed = [u for u in changed if u.path and u.path not in said]  # the root ("") is named by what changed in it
    return changed, replaced - said, any_moved


_Given = tuple[Collection[tuple[str, str]], Collection[str]]
"""A collection's needs as a caller gives them: config keys and archive hashes (`drift.collect.catalogneeds.Needs`)."""


class _Needs:
    """A collection's `Needs`, as its workers use them (`drift.collect.workers.Work`): the archive hashes,
    and the keys wanted per file."""

    def __init__(self, needs: _Given | CatalogNeeds) -> None:
        self._pending = None if isinstance(needs, tuple) else needs
        self._value = self._shaped(needs) if isinstance(needs, tuple) else None

    def ready(self) -> bool:
        """True when `get` would not wait for the catalog."""
        return self._value is not None or self._pending is None or self._pending.ready()

    def get(self) -> Work:
        if self._value is None:
            assert self._pending is not None
            self._value = self._shaped(self._pending.result())
        return self._value

    @staticmethod
    def _shaped(needs: _Given) -> Work:
        config_keys, known_archives = needs
        wanted: dict[str, tuple[str, ...]] = {}
        for file, key in sorted(config_keys):
            wanted[file] = (*wanted.get(file, ()), key)
        return frozenset(known_archives), wanted


def _hash_all(
    walked: Iterable[Listing], jobs: int, cache: HashCache | None, folders: Folders, needs: _Needs,
    listed: tuple[dict[str, tuple[int, int]], int], kept: Answered, pools: list[Workers],
) -> Generator[tuple[str, os.stat_result, Outcome], None, None]:
    """Hash every file, each given as its path, the walk's stat and its outcome, in batches, in completion
    order, each batch handed to the workers as soon as it is full (`walked`, the files folder by folder, may
    be a walk still under way) and the workers are started (put in `pools`): with two batches, once `needs`
    are known. A file whose config keys are wanted is always read (its values come from the bytes that are
    hashed). An archive whose bytes are known is not inflated; a cached archive without a content hash is
    used only while its bytes are still known. A collection of one batch is hashed here, without workers.
    The records the cache gave are checked once the walk is over (`recheck_cached`: `listed` is the walk's
    `Tree.listed`, complete by then, and the time before which a folder's times must lie) and put in
    `kept`; a file among them that no longer stands is read again and given here."""
    waiting: list[tuple[int, list[Entry]]] = []  # batches before the workers start
    pool: Workers | None = None
    done: list[Answered] = []  # files the cache answered, folder by folder
    try:
        for weight, batch in _batches(walked, cache, needs, done):
            waiting.append((weight, batch))
            if pool is None and len(waiting) > 1 and needs.ready():
                pool = Workers(jobs, folders, needs.get())
                pools.append(pool)
            if pool is not None:
                pool.add(waiting)
        if pool is None and len(waiting) > 1:
            pool = Workers(jobs, folders, needs.get())
            pools.append(pool)
        if pool is not None:
            pool.walked()
            pool.add(waiting)  # batches still here when the workers started only after the walk
        if done:  # the walk is over: the workers go on meanwhile
            assert cache is not None
            yield from recheck_cached(done, *listed, folders, *needs.get(), cache.walked_stat, kept)
        if pool is None and waiting:
            known, wanted = needs.get()
            batch = waiting[0][1]
            yield from ((entry.rel, entry.st, out) for entry, out in zip(batch, hash_batch(batch, folders, known, wanted)))
        if pool is not None:
            yield from pool.results()
    finally:
        if pool is not None:
            pool.shutdown()


_BATCH_BYTES = 8 << 20
_BATCH_FILES = 256
_INFLATE_WEIGHT = 4
"""Inflating and hashing an archive's entries costs about four times hashing its bytes."""


def _batches(
    walked: Iterable[Listing], cache: HashCache | None, needs: _Needs, done: list[Answered],
) -> Iterator[tuple[int, list[Entry]]]:
    """The files to read, walked folder by folder, in batches of about `_BATCH_BYTES` of work (or
    `_BATCH_FILES` files), each given with its weight as soon as it is full: one task per file would cost
    more in scheduling than a small file costs to hash. The files of a folder that the cache answered are put
    in `done` instead, as one list, once `needs` are known (the walk goes on meanwhile): see `_sifted`."""
    known: Collection[str] = frozenset()
    wanted: dict[str, tuple[str, ...]] = {}
    if cache is not None:
        walked = _walked_ahead(walked, needs)
        known, wanted = needs.get()
    batch: list[Entry] = []
    weight = 0
    for listing in walked:
        if listing.answered:
            assert cache is not None
            done.append(_sifted(listing, cache, known, wanted))
        if cache is not None:
            cache.misses += len(listing.files)
        for entry in listing.files:
            cost = entry.st.st_size * (_INFLATE_WEIGHT if is_archive_name(entry.rel) else 1) + 4096
            if cost >= _BATCH_BYTES:
                yield cost, [entry]
                continue
            batch.append(entry)
            weight += cost
            if weight >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
                yield weight, batch
                batch, weight = [], 0
    if batch:
        yield weight, batch


def _sifted(listing: Listing, cache: HashCache, known: Collection[str], wanted: Mapping[str, object]) -> Answered:
    """The files of `listing` that the cache answered, but for those to read all the same, put in
    `listing.files` (with the stat the walk took: `HashCache.walked_stat`): a config file whose keys are
    wanted (its values come from the bytes that are hashed), and an archive cached without a content hash
    (skipped for a catalog that knew its bytes) whose bytes the catalog no longer knows (inflated now)."""
    rows = dict(listing.answered)
    noted: dict[str, int] = {}
    read = sorted(rows.keys() & wanted.keys())
    for rel in archive_names(rows):
        record = cache.record(rows[rel])
        if record.content_sha256 is None and rel not in wanted:
            if record.sha256 in known:
                noted[rel] = rows.pop(rel)
            else:
                read.append(rel)
    name_at = len(listing.folder[-1].rel) + 1 if listing.folder else 0  # a path is its folder's, "/" and its name
    for rel in read:
        del rows[rel]
        listing.files.append(Entry(rel, cache.walked_stat(rel), listing.folder, rel[name_at:]))
        cache.read_anyway(rel)
    return Answered(listing.folder, rows, noted)


def _asked(cache: HashCache | None, listing: Listing) -> Listing:
    """`listing` of a walk made without the cache, its files that the cache answers moved to `answered`."""
    if cache is None:
        return listing
    files = []
    for entry in listing.files:
        row = cache.answer(entry.rel, entry.st)
        if row is None:
            files.append(entry)
        else:
            listing.answered.append((entry.rel, row))
    return listing._replace(files=files)


def _by_folder(files: list[Entry]) -> Iterator[list[Entry]]:
    """`files` of a walk, folder by folder."""
    for _, together in itertools.groupby(files, key=lambda entry: id(entry.folder)):
        yield list(together)


def _walked_ahead(walked: Iterable[Listing], needs: _Needs) -> Iterable[Listing]:
    """`walked`, the walk (when it is one still under way) gone on until `needs` are known or it is over."""
    walk = iter(walked)
    ahead: list[Listing] = []
    files = 0
    for listing in walk:
        ahead.append(listing)
        files += len(listing.files) + len(listing.answered)
        if files >= _BATCH_FILES and needs.ready():
            break
    return itertools.chain(ahead, walk)


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
