"""A re-collection cache file (`drift.collect.hashcache`, whose docstring gives the format and its rules):
who could have written it, or the folder it is written into (`vetted`, `writers`), and its reading, the
whole document checked, column by column, before any of it is believed; anything else is a `Discard`."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from drift.inventory.names import all_recordable, display, recordable
from drift.text import clip

FORMAT = "drift-hashcache/1"
"""The file format read and written; any other is discarded."""

Entry = list[Any]
"""A cached file as the cache file holds it: `[dev, ino, size, mtime_ns, ctime_ns, sha256, content_sha256]`
(kept as JSON gives it: a cache of a large tree is loaded, looked up and saved without a conversion)."""

HEX64 = re.compile(r"[0-9a-f]{64}")
_TOP_KEYS = frozenset({"format", "algorithm", "entries"})
_MORE_KEYS = frozenset({"remembered"})
"""Keys a cache file may also hold: `remembered`, what `HashCache.remember` was given."""


class Discard(Exception):
    """Why a cache file is not used."""


def parse(data: bytes, algorithm: str) -> tuple[dict[str, Entry], tuple[Any, Any] | None]:
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise Discard(f"corrupt: not a JSON document ({exc})") from None
    if not isinstance(doc, dict):
        raise Discard("corrupt: not a JSON object")
    if doc.get("format") != FORMAT:
        raise Discard(f"other format {doc.get('format')!r}, not {FORMAT!r}")
    if doc.get("algorithm") != algorithm:
        raise Discard(f"made with content-hash algorithm {doc.get('algorithm')!r}, not {algorithm!r}")
    if not _TOP_KEYS <= set(doc) <= _TOP_KEYS | _MORE_KEYS:
        raise Discard(f"corrupt: keys {sorted(doc)}, not {sorted(_TOP_KEYS)}")
    remembered = doc.get("remembered")
    if remembered is not None and not (isinstance(remembered, list) and len(remembered) == 2):
        raise Discard("corrupt: `remembered` is not a pair")
    raw = doc["entries"]
    if not isinstance(raw, dict):
        raise Discard("corrupt: `entries` is not an object")
    return _entries(raw), None if remembered is None else (remembered[0], remembered[1])


def _entries(raw: dict[str, Any]) -> dict[str, Entry]:
    """Every entry, checked column by column (a cache holds one entry per file of the tree); where a check
    fails, entry by entry, to say which entry and why."""
    if not all_recordable(raw):  # the walk takes a path the cache answers for as recordable (drift.collect.walk)
        bad = next(rel for rel in raw if recordable(rel)[1] is not None)
        raise Discard(f"corrupt entry {clip(display(bad), 120)!r}: a path no inventory can hold as it is")
    values = list(raw.values())
    if "" not in raw and set(map(type, values)) <= {list} and set(map(len, values)) <= {7}:
        columns = list(zip(*values)) or [()] * 7
        numbers, shas, contents = columns[:5], columns[5], columns[6]
        if (
            set(map(type, itertools.chain.from_iterable(numbers))) <= {int}
            and min(itertools.chain.from_iterable(numbers[:3]), default=0) >= 0
            and set(map(type, shas)) <= {str} and _all_hex64(shas)
            and set(map(type, contents)) <= {str, type(None)}
            and _all_hex64(list(filter(None, contents)))
            and "" not in contents
        ):
            return raw
    return {rel: _entry(rel, value) for rel, value in raw.items()}


def _all_hex64(values: Collection[str]) -> bool:
    """Whether every one of `values` is 64 lowercase hex digits (one scan of them all)."""
    joined = "".join(values)
    return set(map(len, values)) <= {64} and joined.isascii() and not joined.encode("ascii").translate(None, b"0123456789abcdef")


def _entry(rel: str, value: Any) -> Entry:
    if not rel:
        raise Discard("corrupt: an entry has an empty path")
    if not isinstance(value, list) or len(value) != 7:
        raise Discard(f"corrupt entry {rel!r}: not a list of 7 fields")
    dev, ino, size, mtime_ns, ctime_ns, sha, content = value
    # `type(...) is int`: a JSON true is a Python bool, which isinstance would take for an int.
    if not all(type(n) is int for n in (dev, ino, size, mtime_ns, ctime_ns)) or min(dev, ino, size) < 0:
        raise Discard(f"corrupt entry {rel!r}: device, inode, size and times must be integers")
    if not isinstance(sha, str) or not HEX64.fullmatch(sha):
        raise Discard(f"corrupt entry {rel!r}: sha256 is not 64 lowercase hex digits")
    if content is not None and (not isinstance(content, str) or not HEX64.fullmatch(content)):
        raise Discard(f"corrupt entry {rel!r}: content-sha256 is neither null nor 64 lowercase hex digits")
    return [dev, ino, size, mtime_ns, ctime_ns, sha, content]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(name for name, _ in pairs if name in seen or seen.add(name))  # type: ignore[func-returns-value]
        raise Discard(f"corrupt: key {clip(display(twice), 120)!r} appears twice")
    return result


def vetted(path: Path) -> tuple[str, str | None]:
    """The file at `path`, every link resolved, and why someone other than this user and root could have
    written it (`drift.collect.hashcache`, "Who can write it"), or None. Read the path given back, never `path` again: a link on
    the way could be pointed elsewhere meanwhile, but nothing on the way to the path given back can change
    unless this user or root changes it. Raises `FileNotFoundError` when there is no such file."""
    if not hasattr(os, "getuid"):
        return str(path), _NO_OWNERS
    named = in_resolved_folder(path)
    st = os.lstat(named)
    if stat.S_ISLNK(st.st_mode) and st.st_uid not in (os.getuid(), 0):
        return named, f"the cache file is a link made by user {st.st_uid}: anyone could have pointed it anywhere"
    real = os.path.realpath(named)
    return real, writers(real, "the cache file")


def in_resolved_folder(path: Path) -> str:
    """`path` with the links of its folder resolved (in order, a `..` after a link as the system takes it),
    its last part as it is: a link there is the cache file's own name, never followed when writing."""
    absolute = os.path.join(os.getcwd(), path)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))


def writers(real: str, what: str) -> str | None:
    """Why someone other than this user and root could change `real` (a path with its links resolved, named
    `what` in the message) or a folder above it, or None. Raises `FileNotFoundError` when it is not there."""
    me = os.getuid()
    for place in (real, *(str(folder) for folder in Path(real).parents)):
        st = os.lstat(place)
        named = what if place == real else f"its folder {clip(place, 120)}"
        if stat.S_ISLNK(st.st_mode):
            return f"{named} was replaced by a link while it was checked"
        if st.st_uid not in (me, 0):
            return f"{named} belongs to user {st.st_uid}, not to this user or root: anyone could have written it"
        if st.st_mode & 0o022 and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
            return f"{named} is writable by its group or others: anyone could have written it (chmod go-w)"
    return None


_NO_OWNERS = "this platform shows no file owners, so a cache cannot be trusted here"
