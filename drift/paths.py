"""Relative paths that stay inside their root (SPEC 9)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from drift.errors import InputError
from drift.text import shown


def check_relpath(value: object, *, source: str | Path, where: str, error: type[InputError] = InputError) -> str:
    """Return `value` if it is a plain relative POSIX path inside its root, else raise `error`.

    Refused: empty paths, absolute paths (`/x`, `C:/x`, `\\\\host`), `..` or `.` segments, empty segments,
    backslashes, NUL and other control characters, and lone surrogates (a JSON string may hold one; no file
    name, output or database can).
    """
    if not isinstance(value, str) or not value:
        raise error("a path must be a non-empty string", source=source, where=where)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise error(f"path {shown(value)} holds a control character", source=source, where=where)
    if _SURROGATE.search(value):
        raise error(f"path {shown(value)} holds a lone surrogate, which is not text", source=source, where=where)
    if "\\" in value:
        raise error(f"path {shown(value)} holds a backslash; use '/'", source=source, where=where)
    if value.startswith("/") or re.match(r"[A-Za-z]:", value):
        raise error(f"path {shown(value)} is absolute; paths are relative to the deploy root", source=source, where=where)
    for part in value.split("/"):
        if part in ("", ".", ".."):
            raise error(f"path {shown(value)} leaves its root or has an empty segment", source=source, where=where)
    return value


# In all paths joined by newlines (and framed by them), these substrings show that some path needs a
# closer look: absolute, trailing slash, empty segment, empty path, backslash. A segment starting with a
# dot is common (`.htaccess`), so its presence only calls for the pattern that finds `.` and `..` segments.
_SUSPECT_PARTS = ("\n/", "/\n", "//", "\n\n", "\\")
_DOT_SEGMENT = re.compile(r"[\n/]\.\.?[\n/]")
_DRIVE = re.compile(r"\n[A-Za-z]:")
_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 and b != 0x7F)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _controls(joined: str) -> bool:
    """True when the text holds a control character other than the newlines that join it. In UTF-8 a byte
    below 0x20 or 0x7F is always that character itself, so one C-level pass over the bytes says it. A lone
    surrogate (which cannot be encoded) counts too: the slow path names it."""
    try:
        data = joined.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return len(data.translate(None, _NOT_CONTROL)) != joined.count("\n")


def check_paths(paths: Sequence[str], *, source: str | Path, field: str, error: type[InputError] = InputError) -> None:
    """Check many paths at once, with a few substring searches over them all (an inventory has thousands);
    raise `error` naming the first bad one as `field[i]`."""
    if not paths:
        return
    joined = "\n" + "\n".join(paths) + "\n"
    if (
        joined.count("\n") == len(paths) + 1
        and not _controls(joined)
        and not any(part in joined for part in _SUSPECT_PARTS)
        and (("/." not in joined and "\n." not in joined) or _DOT_SEGMENT.search(joined) is None)
        and _DRIVE.search(joined) is None
    ):
        return
    for i, path in enumerate(paths):
        check_relpath(path, source=source, where=f"{field}[{i}]", error=error)


MAX_INPUT = 1 << 30
"""Bytes of any one input file drift reads whole (an inventory, a catalog file, a registry): past this it is
not one."""


class NotARegularFile(OSError):
    """`read_regular` was pointed at a FIFO, a device, a folder or another non-file."""


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path` (a link to one is followed: the user named it), at most
    `limit` of them: a FIFO, a device or a folder is never read (`NotARegularFile`), and nothing can block
    (it is opened without blocking and checked with `fstat` before a byte is read). A file larger than
    `limit` raises `NotARegularFile` too, saying so. Other failures are `OSError`s."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(0, "not a regular file")
        if st.st_size > limit:
            raise NotARegularFile(0, f"larger than {limit:,} bytes")
        parts = []
        left = limit + 1
        step = st.st_size + 1  # the whole file in one read, as a rule (and one more byte: it may have grown)
        while left > 0 and (part := os.read(fd, min(left, step))):
            parts.append(part)
            left -= len(part)
            step = 1 << 20
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(data) > limit:
            raise NotARegularFile(0, f"larger than {limit:,} bytes")
        return data
    finally:
        os.close(fd)
