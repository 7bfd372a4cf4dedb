"""What a collection needs of its catalog, read once and then taken from the cache while the catalog is unchanged.

A collection needs two things of the catalog (`Needs`): the config keys its fixes check,
and the sha256 of its catalogued archives. Reading them means reading the whole catalog folder (a catalog of
40 releases of 8,000 files is 90 MB of manifests): with a cache, that is more than a re-collection of an
unchanged tree takes. So, with `--cache`, the stat of every file in the catalog folder is taken first
(`folder_key`), before any of it is read, and what was read is kept in the cache under those stats
(`drift.collect.hashcache.HashCache.remember`). The next run takes it from there only if the folder holds
exactly the same files with the same device, inode, size, mtime and ctime: any file added, removed, renamed,
written or touched (its ctime moves, and no user call sets it back) reads the catalog again.

The rules of the cache's own records apply (`drift.collect.hashcache`): a file someone other than this user
and root can write, one on a file system not known to write pages back, or one changed within the racy
margin before the collection started makes the catalog uncachable (read every time), and so does a link or
anything but a regular file or folder in the catalog folder.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drift.background import Background
from drift.collect.hashcache import HashCache, racy_from

Needs = tuple[frozenset[tuple[str, str]], frozenset[str]]
"""A collection's needs of a catalog: the (config file, key) pairs of its config checks, and the sha256 of
its archives that have a content hash."""


class CatalogNeeds:
    """The `Needs` of the catalog folder `catalog`: from `cache` when it remembers them for the catalog's
    files as they are, else read by `read(catalog)` in a forked process (`drift.background.Background`) and
    then remembered. `ready` and `result` as a `Background`'s; close it (or use it as a context) when done."""

    def __init__(self, catalog: Path, read: Callable[[Path], Needs], cache: HashCache | None) -> None:
        self._cache = cache
        self._reader = f"{read.__module__}.{read.__qualname__}"  # each reader takes back only what it read
        self._key = folder_key(catalog, cache) if cache is not None else None
        self._value: Needs | None = None
        self._pending: Background[Needs] | None = None
        if cache is not None and self._key is not None:
            self._value = _needs(cache.recall(self._key), self._reader)
        if self._value is None:
            self._pending = Background(read, catalog, what="reading the catalog")

    @property
    def recalled(self) -> bool:
        """True when the needs came from the cache (no catalog file read)."""
        return self._pending is None

    def ready(self) -> bool:
        return self._pending is None or self._value is not None or self._pending.ready()

    def result(self) -> Needs:
        if self._value is None:
            assert self._pending is not None
            self._value = self._pending.result()
            if self._cache is not None and self._key is not None:
                self._cache.remember(self._key, [self._reader, sorted(map(list, self._value[0])), sorted(self._value[1])])
        return self._value

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close()

    def __enter__(self) -> CatalogNeeds:  # noqa: PYI034 - typing.Self is 3.11's; the collector runs on 3.9
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def folder_key(folder: Path, cache: HashCache) -> list[list[Any]] | None:
    """The stat key of every file under `folder`, each `[path, dev, ino, size, mtime_ns, ctime_ns]` (paths
    relative, `/`-separated, in order), or None when it cannot be relied on (see the module docstring: a
    file that `cache` may not cache, a link, a file changed too recently) or read."""
    limit = racy_from(time.time_ns())
    key: list[list[Any]] = []
    pending = [""]
    try:
        while pending:
            rel = pending.pop()
            with os.scandir(os.path.join(folder, rel)) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    path = rel + "/" + entry.name if rel else entry.name
                    if stat.S_ISDIR(st.st_mode):
                        pending.append(path)
                    elif not (stat.S_ISREG(st.st_mode) and st.st_mtime_ns < limit and st.st_ctime_ns < limit and cache.may_cache(st)):
                        return None
                    else:
                        key.append([path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    except (OSError, UnicodeError):
        return None
    return sorted(key)


def _needs(value: Any, reader: str) -> Needs | None:
    """The needs as `CatalogNeeds.result` kept them, or None when `value` is not of that shape or was read by
    another reader."""
    if not (isinstance(value, list) and len(value) == 3 and value[0] == reader and all(isinstance(part, list) for part in value[1:])):
        return None
    _, keys, archives = value
    if not all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair) for pair in keys):
        return None
    if not all(isinstance(sha, str) for sha in archives):
        return None
    return frozenset((file, key) for file, key in keys), frozenset(archives)
