"""Walking a deploy root as it is: one stat per entry, links never followed, odd names recorded losslessly."""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from drift.errors import OperationalError
from drift.inventory.model import Link, Skipped, Unreadable, excluded


@dataclass(frozen=True, slots=True)
class Entry:
    """A regular file to hash."""

    rel: str
    """Path relative to the root, as the inventory records it."""
    full: str
    """Path to open."""
    st: os.stat_result
    """The stat taken during the walk (not following links)."""


@dataclass
class Tree:
    """Everything under a root, sorted into what an inventory records."""

    files: list[Entry] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Bytes in all regular files (for a progress bar)."""
        return sum(e.st.st_size for e in self.files)


def walk(root: Path, excludes: Collection[str] = ()) -> Tree:
    """Walk `root`: regular files with their stat, unreadable entries, links and skipped special files.

    `excludes` are globs matched against the relative path (`*` matches across `/`); a pattern naming a
    folder (`logs` or `logs/`) leaves out everything below it. Paths that an inventory cannot hold as they
    are (not valid UTF-8, control characters, backslashes, a drive prefix) are escaped and listed as
    unreadable, never hashed under a name they do not have.
    """
    tree = Tree()
    root_abs = os.path.abspath(root)
    stack: list[tuple[str, str]] = [(root_abs, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if not prefix:
                raise OperationalError(f"cannot list folder: {exc.strerror or exc}", source=root) from exc
            tree.unreadable.append(Unreadable(recordable(prefix.rstrip("/"))[0], f"cannot list folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            raw = prefix + entry.name
            rel, why = recordable(raw)
            if excluded(rel, excludes):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                tree.unreadable.append(Unreadable(rel, f"cannot stat: {exc.strerror or exc}"))
                continue
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                tree.links.append(_link(entry.path, rel, root_abs))
            elif stat.S_ISDIR(mode):
                stack.append((entry.path, raw + "/"))
            elif stat.S_ISREG(mode):
                if why is not None:
                    tree.unreadable.append(Unreadable(rel, why))
                else:
                    tree.files.append(Entry(rel, entry.path, st))
            else:
                tree.skipped.append(Skipped(rel, _kind(mode)))
    return tree


def _link(full: str, rel: str, root: str) -> Link:
    """The link as recorded: its target as written, and whether that target lies outside the root (judged
    on the path alone: nothing is followed)."""
    try:
        target = os.readlink(full)
    except OSError as exc:
        return Link(rel, f"(cannot read the link: {exc.strerror or exc})", True)
    pointed = os.path.normpath(os.path.join(os.path.dirname(full), target))
    inside = os.path.commonpath([root, pointed]) == root
    return Link(rel, display(target), not inside)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISBLK(mode):
        return "block-device"
    if stat.S_ISCHR(mode):
        return "char-device"
    return "other"


def inside(root: Path, *paths: Path | None) -> list[str]:
    """The given paths that lie inside `root`, relative to it: drift's own output files, to leave out of a
    collection (an inventory or cache written into the tree would otherwise change it on every run)."""
    base = os.path.abspath(root)
    found = []
    for path in paths:
        if path is not None:
            full = os.path.abspath(path)
            if os.path.commonpath([base, full]) == base and full != base:
                found.append(glob.escape(os.path.relpath(full, base).replace(os.sep, "/")))
    return found


def display(name: str) -> str:
    """A name as valid UTF-8 text: undecodable bytes become `\\xNN` escapes (for messages, not paths)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# What an inventory path may not hold (drift.paths.check_relpath): bytes that are not UTF-8 (surrogate
# escapes), control characters, backslashes, and a leading drive prefix such as `c:`.
_UNRECORDABLE = re.compile(r"[\x00-\x1f\x7f\\\udc80-\udcff]|^[A-Za-z]:")
_ESCAPED = re.compile(r"[%:\x00-\x1f\x7f\\\udc80-\udcff]")


def recordable(raw: str) -> tuple[str, str | None]:
    """The path as an inventory can record it, and None, or the path escaped and why it had to be.

    Escaping writes each offending byte, and every `%` and `:`, as `%XX` (hex of the byte), so two different
    names never get one escaped path. Names that need no escaping are kept exactly.
    """
    if _UNRECORDABLE.search(raw) is None:
        return raw, None
    undecodable = any("\udc80" <= ch <= "\udcff" for ch in raw)
    escaped = _ESCAPED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8", "surrogateescape")), raw)
    if undecodable:
        reason = "file name is not valid UTF-8"
    else:
        reason = "file name holds a control character, a backslash or a drive prefix"
    return escaped, f"{reason}; recorded with %XX escapes, not hashed"
