"""Relative paths that stay inside their root (SPEC 9)."""

from __future__ import annotations

import re
from pathlib import Path

from drift.errors import InputError


def check_relpath(value: object, *, source: str | Path, where: str, error: type[InputError] = InputError) -> str:
    """Return `value` if it is a plain relative POSIX path inside its root, else raise `error`.

    Refused: empty paths, absolute paths (`/x`, `C:/x`, `\\\\host`), `..` or `.` segments, empty segments,
    backslashes, NUL and other control characters.
    """
    if not isinstance(value, str) or not value:
        raise error("a path must be a non-empty string", source=source, where=where)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise error(f"path {value!r} holds a control character", source=source, where=where)
    if "\\" in value:
        raise error(f"path {value!r} holds a backslash; use '/'", source=source, where=where)
    if value.startswith("/") or re.match(r"[A-Za-z]:", value):
        raise error(f"path {value!r} is absolute; paths are relative to the deploy root", source=source, where=where)
    for part in value.split("/"):
        if part in ("", ".", ".."):
            raise error(f"path {value!r} leaves its root or has an empty segment", source=source, where=where)
    return value
