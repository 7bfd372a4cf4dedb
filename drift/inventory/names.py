"""How a file name on a tenant's server is written in an inventory (SPEC 4, 9): shared by the collector, which
records names, and the catalog builder, which records a repository's paths the same way."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


def display(name: str) -> str:
    """A name as valid UTF-8 text: undecodable bytes become `\\xNN` escapes (for messages, not paths)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# What an inventory path may not hold (drift.paths.check_relpath): bytes that are not UTF-8 (surrogate
# escapes), control characters, backslashes, and a leading drive prefix such as `c:`.
_CHARACTERS = r"\x00-\x1f\x7f\\\udc80-\udcff"
_DRIVE = r"^[A-Za-z]:"
_UNRECORDABLE = re.compile(f"[{_CHARACTERS}]|{_DRIVE}")

_ODD = {
    "escaped": (f"[%:{_CHARACTERS}]", 0),
    "character": (f"[{_CHARACTERS}]", 0),
    "drive": (_DRIVE, re.MULTILINE),
}
"""Patterns needed only where a name is odd (`_pattern`)."""


@functools.cache
def _pattern(which: str) -> re.Pattern[str]:
    """One of `_ODD`, compiled when first needed: each costs about half a millisecond, and most
    collections meet no odd name."""
    return re.compile(*_ODD[which])


def all_recordable(paths: Iterable[str]) -> bool:
    """Whether `recordable` keeps every one of `paths` as it is (looked at in two scans of them all, not one
    a path: a cache holds a path a file)."""
    paths = list(paths)
    joined = "".join(paths)
    if joined.isprintable() and "\\" not in joined and ":" not in joined:  # no control character, surrogate, backslash or colon
        return True
    return _pattern("character").search(joined) is None and _pattern("drive").search("\n".join(paths)) is None


def recordable(raw: str) -> tuple[str, str | None]:
    """The path as an inventory can record it, and None, or the path escaped and why it had to be.

    Escaping writes each offending byte, and every `%` and `:`, as `%XX` (hex of the byte), so two different
    names never get one escaped path. Names that need no escaping are kept exactly.
    """
    if _UNRECORDABLE.search(raw) is None:
        return raw, None
    undecodable = any("\udc80" <= ch <= "\udcff" for ch in raw)
    escaped = _pattern("escaped").sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8", "surrogateescape")), raw)
    reason = "file name is not valid UTF-8" if undecodable else "file name holds a control character, a backslash or a drive prefix"
    return escaped, f"{reason}; recorded with %XX escapes, not hashed"
