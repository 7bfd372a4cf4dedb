"""The folders of a deploy root, opened so that the audited party cannot swap one under the collector.

Race safety (the tenant's server is run by the audited party, who may change the tree while it is read).
Every folder and file is opened relative to its parent folder's descriptor, never by its full path, with
`O_NOFOLLOW | O_NONBLOCK` (and `O_DIRECTORY` for folders), and checked with `fstat` to be the very folder or
regular file the walk saw (same device and inode). When a file has been read, every folder on its way from
the root is checked again (`Folders.stat`) to still be the folder the walk listed, and so it is before any
file is opened again. Whatever changed kind or identity in between (a folder swapped for a symbolic link, a
file for a FIFO, a link or another inode) raises `Changed`, whose message is the reason; nothing is
followed, nothing blocks. Where the platform has no descriptor-relative calls (`FD_RELATIVE` is False:
Windows), `_PathFolders` is the by-path fallback: it checks each folder's identity by path before using it,
which narrows the race but cannot close it.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from drift.errors import OperationalError
from drift.inventory.names import display

if TYPE_CHECKING:  # typing.Self is 3.11+: the collector runs on Python 3.9 too
    from typing import Self

FD_RELATIVE = {os.open, os.stat, os.readlink} <= os.supports_dir_fd and os.scandir in os.supports_fd
"""True where folders and files are opened relative to their folder's descriptor (Linux, the BSDs, macOS)."""

_COMMON = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
FILE_FLAGS = _COMMON | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
"""How a file is opened: read only, never through a link, never blocking (a FIFO), never as a terminal."""
FOLDER_FLAGS = _COMMON | getattr(os, "O_DIRECTORY", 0)


def kept_folders() -> int:
    """Folder descriptors kept open for reuse (the root's is kept besides): an eighth of the files the
    process may open, 16 to 1,024 (a folder deeper than this is opened again level by level every time it
    is checked). Kept folders of the walk, of the hashing thread, and in a forked worker those inherited
    besides its own, stay far under the limit."""
    try:
        import resource  # not on Windows
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    return 1024 if soft == resource.RLIM_INFINITY else max(16, min(1024, soft // 8))


def out_of_descriptors(exc: OSError) -> None:
    """Raise `OperationalError` when `exc` says that the process may open no more files: an inventory whose
    files are missing for a limit of the collector's own is no inventory of the tree (never "unreadable")."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        raise OperationalError(
            f"out of file descriptors ({exc.strerror}): raise the open-file limit (ulimit -n), or collect with --jobs 1"
        ) from exc


class Changed(Exception):
    """A folder or file changed kind or identity since the walk saw it; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Step:
    """A folder on the way down from the root, as the walk saw it."""

    rel: str
    """Its path relative to the root (as on disk: undecodable bytes are surrogates)."""
    name: str
    dev: int
    ino: int


Folder = tuple[Step, ...]
"""A folder: the steps from the root down to it (the root itself is `()`)."""


class Seen(NamedTuple):
    """What the `fstat` of a file's descriptor said when it was read: its kind, identity, size and times, the
    fields that a cache and a check after the walk compare (a tuple: one is made per file, in a worker
    process, and sent back)."""

    st_mode: int
    st_ino: int
    st_dev: int
    st_size: int
    st_mtime_ns: int
    st_ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Seen:
        return cls(st.st_mode, st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def at(handle: int | str, name: str) -> tuple[str, int | None]:
    """The arguments (`path`, `dir_fd`) that name `name` in the folder held as `handle` (see `Folders.hold`)."""
    if isinstance(handle, int):
        return name, handle
    return os.path.join(handle, name), None


def folder_times(handle: int | str) -> tuple[int, int]:
    """The mtime and ctime of the folder held as `handle` (see `Folders.hold`): any entry added, removed or
    renamed in it, and any `utime` of it, moves them on."""
    st = os.fstat(handle) if isinstance(handle, int) else os.stat(handle, follow_symlinks=False)
    return st.st_mtime_ns, st.st_ctime_ns


def open_in(handle: int | str, name: str, seen: os.stat_result) -> int:
    """A descriptor of the file `name` in the folder `handle`, which the walk saw as `seen`: its name is
    stat'ed first, so that nothing but that regular file is ever opened (opening a device can have effects),
    then it is opened without following a link, without blocking and never as a terminal. The caller checks
    the descriptor (`check(os.fstat(fd), seen)`): the name may have changed in between."""
    path, dir_fd = at(handle, name)
    check(stat_at(path, dir_fd), seen)
    try:
        return os.open(path, FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        check(stat_at(path, dir_fd), seen)  # raises Changed if it changed meanwhile
        raise


def stat_at(path: str, dir_fd: int | None, folder: Step | None = None) -> os.stat_result:
    """The stat of `path` (in `dir_fd`), not following a link; `Changed` when it is gone (`folder` is the
    walk's folder when that is what `path` names)."""
    try:
        return os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        gone = f" (folder {display(folder.rel)} is gone)" if folder is not None else ""
        raise Changed(f"removed during collection{gone}") from None


def check(now: os.stat_result, seen: os.stat_result | Step) -> None:
    """Raise `Changed` unless `now` is what the walk saw: the same device and inode, and a regular file (a
    folder when `seen` is a `Step`). The message says what it is now."""
    if isinstance(seen, Step):
        if now.st_ino == seen.ino and now.st_dev == seen.dev and stat.S_ISDIR(now.st_mode):
            return
        what, kind_kept = f"folder {display(seen.rel)} is ", stat.S_ISDIR(now.st_mode)
    else:
        if now.st_ino == seen.st_ino and now.st_dev == seen.st_dev and stat.S_ISREG(now.st_mode):
            return
        what, kind_kept = "", stat.S_ISREG(now.st_mode)
    if not kind_kept:
        raise Changed(f"changed kind during collection: {what}now {_PHRASES.get(stat.S_IFMT(now.st_mode), 'something else')}")
    raise Changed(f"replaced during collection ({what}another inode)")


_PHRASES = {
    stat.S_IFLNK: "a symbolic link", stat.S_IFDIR: "a folder", stat.S_IFREG: "a regular file", stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket", stat.S_IFBLK: "a block device", stat.S_IFCHR: "a character device",
}


class Folders:
    """The folders of one root, handed out checked against what the walk saw (see the module docstring)."""

    ident: tuple[int, int]
    """The device and inode of the root folder."""

    def acquire(self, folder: Folder, *, verify: bool = True) -> int | str:
        """The folder as a new descriptor (or, in the by-path fallback, a path), checked to be the walk's
        folder and every folder above it too; raises `Changed` or `OSError`. Give it back to `release`.

        With `verify` False, a folder whose descriptor is kept open is not checked to still be where the walk
        saw it (a file opened through it is still the walk's own file): for a first read, which `stat` then
        checks. Every folder opened anew is checked either way.
        """
        raise NotImplementedError

    def release(self, handle: int | str) -> None:
        """Close a descriptor that `acquire` gave."""
        if isinstance(handle, int):
            os.close(handle)

    @contextmanager
    def hold(self, folder: Folder, *, verify: bool = True) -> Iterator[int | str]:
        """`acquire` and `release` as a context."""
        handle = self.acquire(folder, verify=verify)
        try:
            yield handle
        finally:
            self.release(handle)

    @contextmanager
    def held(self, folder: Folder) -> Iterator[int | None]:
        """A descriptor of `folder`, as `acquire` with `verify` False gives it, for first reads of its files one
        after the other (`drift.collect.readfile.hash_batch`): what each file's `open` and `stat` with
        `verify` False would look its name up in, without a look-up of the folder a file. None where
        folders are held by path (each file's calls then check its folder by path), or where the folder
        cannot be had now (each file's calls then say why)."""
        yield None

    def stat(self, folder: Folder, name: str, *, verify: bool = True) -> os.stat_result:
        """The stat of `name` in `folder` now (not following a link), the folder and every folder above it
        checked again (with `verify` False, as `acquire` says: the caller then calls `check` later); raises
        `Changed` or `OSError`."""
        with self.hold(folder, verify=verify) as handle:
            return stat_at(*at(handle, name))

    def check(self, folder: Folder) -> None:
        """Check that `folder` and every folder above it are still where the walk saw them; raises `Changed`
        or `OSError`. Every step from the root is checked each time: a folder found in place by an earlier
        check may have been moved since."""
        with self.hold(folder):
            pass

    def times(self, folder: Folder) -> tuple[int, int]:
        """`folder_times` of `folder`, checked as by `check` (raises `Changed` or `OSError`)."""
        with self.hold(folder) as handle:
            return folder_times(handle)

    def open(self, folder: Folder, name: str, seen: os.stat_result, *, verify: bool = True) -> int:
        """A descriptor of the file `name` in `folder`, which the walk saw as `seen` (see `open_in`), the
        folders checked as by `acquire`; raises `Changed` or `OSError`."""
        with self.hold(folder, verify=verify) as handle:
            return open_in(handle, name, seen)

    def forked(self) -> Folders:
        """The folders for a forked worker process: descriptors of its own, from the same root."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every descriptor held."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_folders(root: str, expect: tuple[int, int] | None = None) -> Folders:
    """The folders under the folder `root` (a link naming the root itself is followed: the user named it);
    with `expect`, the root must be that device and inode (the walk's root), else `Changed`."""
    if FD_RELATIVE:
        fd = os.open(root, FOLDER_FLAGS & ~getattr(os, "O_NOFOLLOW", 0))
        folders: Folders = _FdFolders(fd, os.fstat(fd))
    else:
        folders = _PathFolders(root)
    if expect is not None and folders.ident != expect:
        folders.close()
        raise Changed("replaced during collection: the root folder is another folder now")
    return folders


class _FdFolders(Folders):
    """Folders opened relative to their parent's descriptor; the last `kept_folders()` used are kept open.

    The cache and the descriptors in it are only touched under the lock; `acquire` hands out a duplicate,
    so a descriptor in use is never closed under its user.
    """

    def __init__(self, fd: int, st: os.stat_result) -> None:
        self._root = fd
        self.ident = (st.st_dev, st.st_ino)
        self._open: OrderedDict[str, int] = OrderedDict()
        self._keep = kept_folders()
        self._lock = threading.Lock()

    def acquire(self, folder: Folder, *, verify: bool = True) -> int:
        with self._lock:
            return os.dup(self._resolve(folder, verify))

    @contextmanager
    def held(self, folder: Folder) -> Iterator[int | None]:
        try:
            handle = self.acquire(folder, verify=False)  # a duplicate: no other thread closes it under its user
        except (Changed, OSError):
            yield None
            return
        try:
            yield handle
        finally:
            os.close(handle)

    def stat(self, folder: Folder, name: str, *, verify: bool = True) -> os.stat_result:
        with self._lock:
            return stat_at(name, self._resolve(folder, verify))

    def check(self, folder: Folder) -> None:
        with self._lock:
            self._resolve(folder, True)

    def times(self, folder: Folder) -> tuple[int, int]:
        with self._lock:  # the descriptor itself, not a duplicate: nobody closes it while the lock is held
            return folder_times(self._resolve(folder, True))

    def open(self, folder: Folder, name: str, seen: os.stat_result, *, verify: bool = True) -> int:
        with self._lock:  # no duplicate of the folder's descriptor needed
            return open_in(self._resolve(folder, verify), name, seen)

    def _resolve(self, folder: Folder, verify: bool) -> int:
        """The descriptor of `folder`, each step from the root checked (caller holds the lock). Without
        `verify`, a folder kept open is used as it is (the steps above it would only be walked through): the
        way down starts at the deepest one kept."""
        if not folder:
            return self._root
        fd, start = self._root, 0
        if not verify:  # start at the deepest folder kept
            for index in range(len(folder) - 1, -1, -1):
                kept = self._open.get(folder[index].rel)
                if kept is not None:
                    if index == len(folder) - 1:
                        return kept
                    self._open.move_to_end(folder[index].rel)
                    fd, start = kept, index + 1
                    break
        transient = -1  # a level opened on the way down but not kept: closed once the next one is open
        try:
            for index in range(start, len(folder)):
                step = folder[index]
                cached = self._open.get(step.rel)
                if cached is None:
                    opened = self._open_step(fd, step)  # checked as it is opened
                else:
                    if verify:
                        now = stat_at(step.name, fd, step)
                        if now.st_ino != step.ino or now.st_dev != step.dev or not stat.S_ISDIR(now.st_mode):
                            check(now, step)  # raises, saying what it is now
                    self._open.move_to_end(step.rel)
                    opened = cached
                if transient >= 0:
                    os.close(transient)
                    transient = -1
                fd = opened
                if cached is None:
                    if index < len(folder) - 1 and len(self._open) >= self._keep and _above(next(iter(self._open)), folder):
                        # Every folder kept lies on this way down (a tree deeper than the folders kept): keep
                        # the top of it, which the next way down takes too, and pass through this level.
                        transient = opened
                        continue
                    self._open[step.rel] = opened
                    # As each level is opened, not after: a deep folder never holds more than `_keep` + 1
                    # descriptors. The least recently used goes, never `fd`, just used (nor the root's).
                    while len(self._open) > self._keep:
                        os.close(self._open.popitem(last=False)[1])
        except BaseException:
            if transient >= 0:
                os.close(transient)
            raise
        return fd

    @staticmethod
    def _open_step(fd: int, step: Step) -> int:
        """The folder `step` opened in the folder `fd`, checked to be the walk's."""
        try:
            opened = os.open(step.name, FOLDER_FLAGS, dir_fd=fd)
        except OSError:
            check(stat_at(step.name, fd, step), step)  # a link, a file, another folder: Changed
            raise
        try:
            check(os.fstat(opened), step)
        except BaseException:
            os.close(opened)
            raise
        return opened

    def forked(self) -> Folders:
        return _FdFolders(fd := os.dup(self._root), os.fstat(fd))

    def close(self) -> None:
        with self._lock:
            for fd in (*self._open.values(), *([self._root] if self._root >= 0 else [])):
                os.close(fd)
            self._open.clear()
            self._root = -1


class _PathFolders(Folders):
    """The by-path fallback where there are no descriptor-relative calls: each folder's kind and identity
    is checked by path just before it is used, which narrows the race but cannot close it."""

    def __init__(self, root: str, ident: tuple[int, int] | None = None) -> None:
        self._root = root
        st = os.stat(root)
        self.ident = ident or (st.st_dev, st.st_ino)

    def acquire(self, folder: Folder, *, verify: bool = True) -> str:
        now = os.stat(self._root)
        if (now.st_dev, now.st_ino) != self.ident:
            raise Changed("replaced during collection: the root folder is another folder now")
        if not folder:
            return self._root
        step = folder[-1]
        path = os.path.join(self._root, *step.rel.split("/"))
        check(stat_at(path, None, step), step)
        return path

    def forked(self) -> Folders:
        return _PathFolders(self._root, self.ident)


def _above(rel: str, folder: Folder) -> bool:
    """Whether the folder at `rel` is one of the steps down to `folder`."""
    return folder[-1].rel.startswith(rel + "/") or folder[-1].rel == rel
