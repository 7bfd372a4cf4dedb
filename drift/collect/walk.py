"""Walking a deploy root as it is: one stat per entry, links never followed, odd names recorded losslessly.

Each folder is listed, and each file later opened, through `drift.collect.folders`, which checks it to be
the very folder or file the walk saw (its module docstring says how, and what the audited party can and
cannot do by changing the tree meanwhile).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from drift.collect.archive.names import is_archive_name
from drift.collect.folders import Changed, Folder, Folders, Step, at, folder_times, open_folders, out_of_descriptors
from drift.errors import OperationalError
from drift.inventory.model import LEFT_OUT, Link, Skipped, Unreadable, excluded
from drift.inventory.names import display, recordable


class Entry(NamedTuple):
    """A regular file to hash (a tuple: one is made per file, in the walk and again in a worker process)."""

    rel: str
    """Path relative to the root, as the inventory records it."""
    st: os.stat_result
    """The stat taken during the walk (not following links)."""
    folder: Folder
    """The folder it is in."""
    name: str
    """Its name in that folder."""


class Listing(NamedTuple):
    """What the walk found in one folder to hash."""

    folder: Folder
    files: list[Entry]
    """Its regular files to read."""
    answered: list[tuple[str, Any]]
    """Its regular files that the walk's `answer` answered, each as its path and answer (its stat is the
    answerer's to keep: a tree's stats are most of a walk's memory; its name is the path's last part)."""


Answer = Callable[[str, os.stat_result], Any]
"""A walk's question on each regular file it lists, given its path as listed and its stat: an answer that
stands for reading it (a cache's row), or None to read it. It must answer only for a path that
`drift.inventory.names.recordable` keeps as it is (the walk does not check one answered)."""


@dataclass
class Tree:
    """Everything under a root, sorted into what an inventory records."""

    files: list[Entry] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    root: tuple[int, int] | None = None  # the device and inode of the root folder the walk listed
    changed: bool = False  # a folder changed kind or identity while the tree was walked
    started_ns: int = 0
    """`time.time_ns()` when the walk started: the stats in it are no older (a cache's racy rule counts from it)."""
    listed: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per folder listed (by its path on disk, the root's ""), its mtime and ctime just before it was listed."""
    listed_folders: dict[str, Folder] = field(default_factory=dict)
    """Per folder listed, as the walk found it (to look at it again once the collection is over)."""
    names: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)
    """The names the root's listing held, each with its `ident`, by the root's path "" (a name that appears
    there later, or is then another file, folder or link, is named: the root cannot be named itself)."""

    @property
    def size(self) -> int:
        """Bytes in all regular files (for a progress bar)."""
        return sum(e.st.st_size for e in self.files)


def walk(root: Path, excludes: Collection[str] = ()) -> Tree:
    """Walk `root`: regular files with their stat, unreadable entries, links and skipped special files.

    `excludes` are globs matched against the relative path (`*` matches across `/`); a pattern naming a
    folder (`logs` or `logs/`) leaves out everything below it. Paths that an inventory cannot hold as they
    are (not valid UTF-8, control characters, backslashes, a drive prefix) are escaped and listed as
    unreadable, never hashed under a name they do not have. Each folder is listed through a descriptor
    checked to be the folder seen in its parent (see the module docstring).
    """
    tree = Tree()
    try:
        folders = open_folders(os.path.abspath(root))
    except OSError as exc:
        raise OperationalError(f"cannot list folder: {exc.strerror or exc}", source=root) from exc
    with folders:
        for listing in walking(root, tree, folders, excludes):
            tree.files.extend(listing.files)
    return tree


Pending = list[tuple[Folder, str]]
"""Folders a walk has still to list, each with its path on disk."""


def walking(
    root: Path, tree: Tree, folders: Folders, excludes: Collection[str] = (), answer: Answer | None = None, *,
    start: Pending | None = None, share: Callable[[Pending], Pending | None] | None = None,
) -> Iterator[Listing]:
    """`walk`, as it goes, through `folders` (the root's, which the caller opened and closes): the regular
    files of each folder are yielded as soon as it is listed (so that they can be hashed while the walk goes
    on); everything else is put in `tree`, complete once the iterator is. A file whose stat `answer` answers
    is given with that answer, not to be read (`Listing.answered`): the cache's answer is asked for while
    the stat is at hand (not where `excludes` leave something out: there each path is looked at first).

    `start`, when given, are the folders to walk (and everything below them) in place of the root. `share`,
    when given, is handed the folders still to list before each is listed, until it gives back those this
    walk is to go on with (the others are walked elsewhere: `drift.collect.walkshare`); until then it may
    reorder them (the last is listed next).
    """
    root_abs = os.path.abspath(root)
    tree.root = folders.ident
    tree.started_ns = tree.started_ns or time.time_ns()
    stack: Pending = list(start) if start is not None else [((), root_abs)]
    while stack:
        if share is not None:
            shared = share(stack)  # may put the folder to list next last
            if shared is not None:
                stack, share = shared, None
        folder, path = stack.pop()
        rel = folder[-1].rel if folder else ""
        listing = Listing(folder, [], [])
        try:
            with folders.hold(folder) as handle:
                _list(tree, listing, path, handle, excludes, root_abs, stack, answer)
        except Changed as exc:
            if not (folder and excludes and excluded(recordable(rel)[0], excludes)):  # what changes in a folder left out is its own affair
                tree.unreadable.append(Unreadable(recordable(rel)[0], str(exc)))
                tree.changed = True
        except OSError as exc:
            out_of_descriptors(exc)
            if not folder:
                raise OperationalError(f"cannot list folder: {exc.strerror or exc}", source=root) from exc
            if not (excludes and excluded(recordable(rel)[0], excludes)):
                tree.unreadable.append(Unreadable(recordable(rel)[0], f"cannot list folder: {exc.strerror or exc}"))
        if listing.files or listing.answered:
            yield listing


def _list(
    tree: Tree, listing: Listing, path: str, handle: int | str, excludes: Collection[str], root: str,
    stack: list[tuple[Folder, str]], answer: Answer | None,
) -> None:
    """Sort the entries of one folder (opened as `handle`) into `listing` (its regular files) and `tree`; push
    its subfolders on `stack`. What an `--exclude` pattern leaves out is listed, never read: a folder is
    walked all the same, and an entry named like an archive is recorded as unreadable (`LEFT_OUT`), so that
    leaving out a stale archive never hides it."""
    folder, files, answered = listing
    prefix = folder[-1].rel + "/" if folder else ""
    tree.listed[folder[-1].rel if folder else ""] = folder_times(handle)  # before the listing: a change in it shows
    tree.listed_folders[folder[-1].rel if folder else ""] = folder
    listed = list(os.scandir(handle))
    if not folder:
        tree.names[""] = {entry.name: ident(entry) for entry in listed}
    for entry in listed:
        raw = prefix + entry.name
        if answer is not None and not excludes:  # its stat first: the cache's answer while it is at hand
            try:
                st = entry.stat(follow_symlinks=False)  # kept by the entry: taken once
            except OSError:
                pass  # said below
            else:
                if stat.S_ISREG(st.st_mode):
                    answered_with = answer(raw, st)  # only for a recordable path (`Answer`)
                    if answered_with is not None:
                        answered.append((raw, answered_with))
                        continue
        rel, why = recordable(raw)
        if excludes and excluded(rel, excludes):
            try:
                if entry.is_dir(follow_symlinks=False):  # walked all the same; nothing in it is read
                    stack.append(_subfolder(folder, raw, entry.name, entry.stat(follow_symlinks=False), path))
                elif is_archive_name(rel):
                    tree.unreadable.append(Unreadable(rel, LEFT_OUT))
            except OSError:
                pass  # left out: nothing to record of it
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            tree.unreadable.append(Unreadable(rel, f"cannot stat: {exc.strerror or exc}"))
            continue
        mode = st.st_mode
        if stat.S_ISREG(mode):
            if why is not None:
                tree.unreadable.append(Unreadable(rel, why))
            elif answer is not None and excludes and (answered_with := answer(rel, st)) is not None:  # not asked above
                answered.append((rel, answered_with))
            else:
                files.append(Entry(rel, st, folder, entry.name))
        elif stat.S_ISLNK(mode):
            tree.links.append(_link(handle, entry.name, os.path.join(path, entry.name), rel, root))
        elif stat.S_ISDIR(mode):
            stack.append(_subfolder(folder, raw, entry.name, st, path))
        else:
            tree.skipped.append(Skipped(rel, _kind(mode)))


def ident(entry: os.DirEntry[str]) -> tuple[int, str]:
    """What a name of the root is compared by once the collection is over (`Tree.names`): its inode and its
    kind, from the listing itself (no system call where the file system gives it), so that a file that is a
    folder or a link now is named even where the new inode took the old one's number."""
    try:
        if entry.is_dir(follow_symlinks=False):
            kind = "folder"
        elif entry.is_symlink():
            kind = "link"
        else:
            kind = "file" if entry.is_file(follow_symlinks=False) else "other"
    except OSError:  # its kind needed a stat that failed: the inode alone, as then the walk's own stat says why
        kind = "?"
    return entry.inode(), kind


def _subfolder(folder: Folder, raw: str, name: str, st: os.stat_result, path: str) -> tuple[Folder, str]:
    """The walk's stack item of the folder `name` in `folder` (at `path`), whose stat is `st`."""
    return (*folder, Step(raw, name, st.st_dev, st.st_ino)), os.path.join(path, name)


def _link(handle: int | str, name: str, full: str, rel: str, root: str) -> Link:
    """The link as recorded: its target as written, and whether that target lies outside the root (judged
    on the path alone: nothing is followed)."""
    try:
        path, dir_fd = at(handle, name)
        target = os.readlink(path, dir_fd=dir_fd)
    except OSError as exc:
        return Link(rel, f"(cannot read the link: {exc.strerror or exc})", True)
    pointed = os.path.normpath(os.path.join(os.path.dirname(full), target))
    inside = os.path.commonpath([root, pointed]) == root
    return Link(rel, display(target), not inside)


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "other")


_KINDS = {stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket", stat.S_IFBLK: "block-device", stat.S_IFCHR: "char-device"}
