"""A re-collection's walk shared between two processes.

A re-collection that the cache answers reads no file: it is a walk, one `stat` a file, and the walk is all
the time it takes. So where the cache holds a large tree and a process can be forked, the walk hands half
of the folders still to list (by the files the cache holds under each: `_halves`) to a forked process
(`drift.background.Streamed`), which walks them, and everything below them, as the walk itself would:
through descriptors of its own from the same root (`Folders.forked`), each folder checked to be the one its
parent listed, the cache asked of each file as it is listed. It sends what it finds as it goes, some
`SENT_AT` files at a time, each file the cache answered by its row alone (its path and record are this
process's cache's, loaded before the fork), and once over the rest of its tree and its counts: this walk,
once done, takes what was sent meanwhile while the other goes on. Every folder is listed by exactly one of
the two walks, as by one walk; the checks made once the walk is over (`drift.collect.readfile.recheck_cached`,
the workers' `recheck`) wait for both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Generator, Iterator
from pathlib import Path
from typing import Any

from drift.background import Streamed
from drift.collect.folders import Folder, Folders
from drift.collect.hashcache import HashCache
from drift.collect.walk import Entry, Listing, Pending, Tree, walking

SHARED_FROM = 4096
"""Files a cache holds from which a walk is shared: below that, a fork costs about what it saves."""
SHARE_AT = 16
"""Folders waiting to be listed from which they are shared out however unevenly their files fall; before,
they are shared once none holds more than half of their cached files, the heaviest listed first."""

_Found = list[tuple[Folder, list[tuple[str, str, tuple[int, ...]]], list[int]]]
"""What the other walk sends as it goes, some folders at a time: per folder its files to read (path, name,
stat fields) and the cache's rows of those it answered."""
_Rest = tuple[
    tuple[list[Any], list[Any], list[Any], dict[str, tuple[int, int]], dict[str, Folder], dict[str, dict[str, tuple[int, str]]], bool],
    tuple[tuple[int, set[str]], tuple[int, set[str]]],
]
"""What it sends once it is over: the tree's unreadable entries, links, skipped files, listed folders, the
root's names and whether a folder changed; the cache's counts before and after."""
SENT_AT = 256
"""Files the other walk lists before it sends them (a message costs about what a few files do)."""


def shared_walk(
    root: Path, tree: Tree, folders: Folders, excludes: Collection[str], cache: HashCache, *, may_fork: Callable[[], bool],
) -> Iterator[Listing]:
    """`walking(root, tree, folders, excludes, cache.answer)`, its folders shared with a forked process when
    `cache` holds at least `SHARED_FROM` files and `may_fork()` says so when the time comes (no thread may
    run then: the caller's workers start threads)."""
    other: list[Streamed[_Found, _Rest]] = []

    def share(pending: Pending) -> Pending | None:
        weights = [cache.files_under(folder[-1].rel if folder else "") for folder, _ in pending]
        total = sum(weights)
        if len(pending) < SHARE_AT and (len(pending) < 2 or 2 * max(weights) > total):
            pending.sort(key=lambda item: cache.files_under(item[0][-1].rel if item[0] else ""))  # the heaviest next
            return None
        if not may_fork():
            return pending
        theirs, ours = _halves(pending, weights)
        walk = Streamed(_walk, root, theirs, folders, excludes, cache, tree.started_ns, what="walking half the tree")
        if not walk.forked:  # it would run here, later: walked here now instead
            walk.close()
            return pending
        other.append(walk)
        return ours

    worth_it = len(cache) >= SHARED_FROM and (os.cpu_count() or 1) >= 2 and hasattr(os, "fork")
    try:
        yield from walking(root, tree, folders, excludes, cache.answer, share=share if worth_it else None)
        for walked in other:  # what it sent while this walk went on is taken first, the rest as it comes
            for found in walked.items():
                yield from _taken(found, cache)
            _add(walked.result(), tree, cache)
    finally:
        for walked in other:
            walked.close()


OTHER_SHARE = 1.1
"""How much more a cached file costs the other walk: each page of the cache it looks at is copied for it
(the fork shares them until written, and Python writes a count into every object it uses), and it sends
what it found. So it takes 1 / (1 + 1.1) of the files, 48%: from 1.0 to 1.25 the shared walk of the
benchmark tree (README) took the same time, within its noise; 0.8 (56%) and 1.5 (40%) took longer. With the
cache's columns (it answers with a row, sends rows), 0.7 to 0.9 took the same as 1.1 (61 rounds of 0.85:
1.01x), 1.3 longer."""


def _halves(pending: Pending, weights: list[int]) -> tuple[Pending, Pending]:
    """`pending` in two parts (the other walk's first), the heaviest placed first, so that the other walk's
    cached files times `OTHER_SHARE` are about this walk's."""
    parts: tuple[Pending, Pending] = ([], [])
    loads = [0, 0]
    for weight, item in sorted(zip(weights, pending), key=lambda pair: -pair[0]):
        lighter = 0 if loads[0] * OTHER_SHARE <= loads[1] else 1
        parts[lighter].append(item)
        loads[lighter] += weight
    return parts


def _walk(
    root: Path, start: Pending, folders: Folders, excludes: Collection[str], cache: HashCache, started_ns: int,
) -> Generator[_Found, None, _Rest]:
    """In the forked process: walk `start` through folders of its own, sending what it lists some
    `SENT_AT` files at a time, then the rest of the tree."""
    before = cache.tally()
    tree = Tree(started_ns=started_ns)
    found: _Found = []
    count = 0
    with folders.forked() as own:
        for listing in walking(root, tree, own, excludes, cache.answer, start=start):
            files = [(entry.rel, entry.name, _fields(entry.st)) for entry in listing.files]
            found.append((listing.folder, files, [row for _, row in listing.answered]))
            count += len(files) + len(listing.answered)
            if count >= SENT_AT:
                yield found
                found, count = [], 0
    if found:
        yield found
    return (tree.unreadable, tree.links, tree.skipped, tree.listed, tree.listed_folders, tree.names, tree.changed), (before, cache.tally())


def _taken(found: _Found, cache: HashCache) -> Iterator[Listing]:
    """The other walk's listings, as this process's."""
    for folder, files, answered in found:
        yield Listing(folder, [Entry(rel, _stat(fields), folder, name) for rel, name, fields in files], cache.confirm(answered))


def _add(rest: _Rest, tree: Tree, cache: HashCache) -> None:
    """The other walk's tree and counts, added to `tree` and `cache` (once it is over)."""
    (unreadable, links, skipped, listed, listed_folders, names, changed), counts = rest
    tree.unreadable += unreadable
    tree.links += links
    tree.skipped += skipped
    tree.listed.update(listed)
    tree.listed_folders.update(listed_folders)
    tree.names.update(names)
    tree.changed = tree.changed or changed
    cache.absorb(*counts)


def _fields(st: os.stat_result) -> tuple[int, ...]:
    """What the collection uses of a stat, as plain numbers (a stat result pickles without its nanoseconds)."""
    return st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _stat(fields: tuple[int, ...]) -> os.stat_result:
    mode, ino, dev, nlink, uid, gid, size, mtime_ns, ctime_ns = fields
    return os.stat_result(
        (mode, ino, dev, nlink, uid, gid, size, mtime_ns // 10**9, mtime_ns // 10**9, ctime_ns // 10**9),
        {"st_mtime_ns": mtime_ns, "st_ctime_ns": ctime_ns},
    )
