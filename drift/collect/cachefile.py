"""A re-collection cache file (`drift.collect.hashcache` gives the rules of its use): who could have
written it, or the folder it is written into (`vetted`, `writers`), and its making and reading (`dumps`,
`parse`): the checksum first, then every column checked whole before any entry is believed; anything
else is a `Discard`.

Three parts, written whole through `drift.atomic.write_atomic`::

    drift-hashcache/2 crc32:<8 hex digits>
    {"algorithm":"drift-content/1; drift 0.1.0","entries":18700,"remembered":[[[path, dev, ino, size, mtime_ns, ctime_ns], ...], value]}
    <the entries' five columns: Python's `marshal`, version 2, of (paths, keys, sizes, sha256s, content-sha256s)>

The first line names the format and gives the CRC-32 of every byte after it: a file cut short or
damaged is discarded before any of it is read. The second is a JSON header: the content-hash
algorithm, the number of entries, and `remembered` (optional), what the collector read of its catalog
under the stat keys of every file of the catalog folder taken before it was read
(`drift.collect.catalogneeds`): the config keys the catalog's checks name and the sha256 of its
archives, and which reader read them. Then the entries, column by column (`Table`):
the paths in order (a path held twice or out of order is not the cache drift wrote), the stat keys as
one bytes object of 32 a file (device, inode, mtime and ctime, `KEY`, compared whole with a
stat's), the sizes, the sha256s as one string of 64 hex digits a file, and the content-sha256s of the
files that have one (archives) by row.

Why this shape, and not the JSON object of one entry a file it was: a re-collection of an unchanged
tree is a walk and the loading of this file. Five objects load and are checked at C speed, a file's
record made only once the walk has answered for it: 14 ms for the 18,700 files of the benchmark tree,
where the same entries as JSON took 40–60 ms to parse and check. `marshal` makes only plain values (it
runs no code, unlike `pickle`), is part of every Python, and its version 2 writes the same bytes for
the same entries. What it loads is believed no more than JSON was: the file is read only when nobody
but this user and root could have written it (`drift.collect.hashcache`, "Who can write it"), only once its checksum holds, and every column
is checked whole before any entry is used. Not SQLite: every run rewrites the cache whole anyway (only
the entries stored or confirmed in this run are kept, so deleted files drop out), which an atomic
rename does with no transaction, journal or locking of its own, and no half-updated database can be
left behind by a crash. It holds only paths, stat fields, hashes and config key names: never config
values, never file content.
"""

from __future__ import annotations

import itertools
import json
import marshal
import operator
import os
import re
import stat
import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple, Optional

from drift.inventory.names import all_recordable, display, recordable
from drift.text import clip

FORMAT = "drift-hashcache/2"
"""The file format read and written; any other is discarded."""

HEX64 = re.compile(r"[0-9a-f]{64}")

KEY = struct.Struct("<QQqq")
"""A file's stat key as an entry holds it: its device, inode, mtime and ctime in nanoseconds, packed into 32
bytes (compared whole with a stat's)."""

Entry = tuple[bytes, int, str, Optional[str]]  # noqa: UP045 - the collector runs on 3.9 too
"""A cached file: `(KEY of its stat, size, sha256, content_sha256)`."""

_FIRST = re.compile(rb"drift-hashcache/2 crc32:([0-9a-f]{8})")
_MARSHAL = 2
"""The `marshal` version of the entries: the same bytes for the same entries (version 3 on marks interned
strings, which depends on how a string was made), read by every Python 3."""
_HEADER_KEYS = frozenset({"algorithm", "entries"})
_MORE_KEYS = frozenset({"remembered"})
"""Keys the header may also hold: `remembered`, what `HashCache.remember` was given."""
_HEX = b"0123456789abcdef"


class Table(NamedTuple):
    """A cache file's entries, column by column: row `i` is the file at `paths[i]`. Loaded as five objects
    (most of a cache's loading was making and checking four numbers and two strings a file), and read a
    row at a time as the walk asks (`HashCache.answer`)."""

    paths: tuple[str, ...]
    """The paths, in order (so that the files under a folder are one run of them)."""
    keys: bytes
    """`KEY.size` bytes a row: the stat key."""
    sizes: tuple[int, ...]
    shas: str
    """64 lowercase hex digits a row: the sha256."""
    contents: dict[int, str]
    """The content-sha256 of the rows that have one (archives)."""

    def entry(self, row: int) -> Entry:
        """Row `row` as an entry."""
        return self.keys[row * KEY.size : (row + 1) * KEY.size], self.sizes[row], self.shas[row * 64 : row * 64 + 64], self.contents.get(row)


EMPTY = Table((), b"", (), "", {})


class Discard(Exception):
    """Why a cache file is not used."""


def dumps(algorithm: str, entries: dict[str, Entry], remembered: tuple[Any, Any] | None) -> bytes:
    """The cache file of `entries` and what was `remembered`."""
    header: dict[str, Any] = {"algorithm": algorithm, "entries": len(entries)}
    if remembered is not None:
        header["remembered"] = remembered
    paths = sorted(entries)
    rows = list(map(entries.__getitem__, paths))
    columns = (
        tuple(paths), b"".join(row[0] for row in rows), tuple(row[1] for row in rows), "".join(row[2] for row in rows).encode("ascii"),
        {at: row[3] for at, row in enumerate(rows) if row[3] is not None},
    )
    body = json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n" + marshal.dumps(columns, _MARSHAL)
    return f"{FORMAT} crc32:{zlib.crc32(body):08x}\n".encode("ascii") + body


def parse(data: bytes, algorithm: str) -> tuple[Table, tuple[Any, Any] | None]:
    """The entries and the remembered value of the cache file `data`, made with the content-hash `algorithm`."""
    end = data.find(b"\n", 0, 64)
    first = _FIRST.fullmatch(data, 0, end) if end >= 0 else None
    if first is None:
        name = data[:32].split(b" ", 1)[0]
        if FORMAT.encode("ascii").startswith(name):  # this format's name, or what is left of it
            raise Discard(f"corrupt: its first line is not `{FORMAT} crc32:<8 hex digits>` (cut short, or damaged)")
        if name.startswith(b"drift-hashcache/") and name.isascii() and name.decode("ascii").isprintable():
            raise Discard(f"other format {name.decode('ascii')!r}, not {FORMAT!r}")
        raise Discard(f"other format, not {FORMAT!r} (an older drift's, or not a cache file)")
    if zlib.crc32(memoryview(data)[end + 1 :]) != int(first.group(1), 16):
        raise Discard("corrupt: its checksum does not match what it holds (cut short or damaged)")
    split = data.find(b"\n", end + 1)
    try:
        header = json.loads(data[end + 1 : split].decode("utf-8")) if split >= 0 else None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError
        header = None
    if not isinstance(header, dict) or not _HEADER_KEYS <= header.keys() <= _HEADER_KEYS | _MORE_KEYS:
        raise Discard("corrupt: no header of the keys " + ", ".join(sorted(_HEADER_KEYS | _MORE_KEYS)))
    if header["algorithm"] != algorithm:
        raise Discard(f"made with content-hash algorithm {clip(str(header['algorithm']), 80)!r}, not {algorithm!r}")
    remembered = header.get("remembered")
    if remembered is not None and not (isinstance(remembered, list) and len(remembered) == 2):
        raise Discard("corrupt: `remembered` is not a pair")
    try:
        columns = marshal.loads(memoryview(data)[split + 1 :])
    except (EOFError, ValueError, TypeError):
        raise Discard("corrupt: its entries cannot be read") from None
    return _table(columns, header["entries"]), None if remembered is None else (remembered[0], remembered[1])


def _table(columns: Any, count: Any) -> Table:
    """The entries' columns as loaded, each checked whole (where one fails, entry by entry, to say which
    entry and why), with `count` rows."""
    if not (type(columns) is tuple and list(map(type, columns)) == [tuple, bytes, tuple, bytes, dict] and type(count) is int):
        raise Discard("corrupt: its entries are not five columns")
    paths, keys, sizes, shas, contents = columns
    if not len(paths) == len(sizes) == count or len(keys) != count * KEY.size or len(shas) != count * 64:
        raise Discard(f"corrupt: its columns do not all hold the {count:,} entries its header gives")
    if not set(map(type, paths)) <= {str}:
        raise Discard("corrupt: a path is not a string")
    if not all(map(operator.lt, paths, itertools.islice(paths, 1, None))):  # a path held twice is not the cache drift wrote
        at = next(at for at in range(1, count) if not paths[at - 1] < paths[at])
        raise Discard(f"corrupt entry {_named(paths[at])}: out of order, or held twice")
    if not all_recordable(paths):  # the walk takes a path the cache answers for as recordable (drift.collect.walk)
        bad = next(rel for rel in paths if recordable(rel)[1] is not None)
        raise Discard(f"corrupt entry {_named(bad)}: a path no inventory can hold as it is")
    if count and not paths[0]:
        raise Discard("corrupt: an entry has an empty path")
    if not set(map(type, sizes)) <= {int} or min(sizes, default=0) < 0:
        bad = next(rel for rel, size in zip(paths, sizes) if type(size) is not int or size < 0)
        raise Discard(f"corrupt entry {_named(bad)}: its size is not a whole number of bytes")
    if shas.translate(None, _HEX):
        bad = paths[next(at for at, byte in enumerate(shas) if byte not in _HEX) // 64]
        raise Discard(f"corrupt entry {_named(bad)}: sha256 is not 64 lowercase hex digits")
    for row, content in contents.items():
        if type(row) is not int or not 0 <= row < count:
            raise Discard("corrupt: a content-sha256 is given for no entry")
        if type(content) is not str or not HEX64.fullmatch(content):
            raise Discard(f"corrupt entry {_named(paths[row])}: content-sha256 is not 64 lowercase hex digits")
    return Table(paths, keys, sizes, shas.decode("ascii"), contents)


def _named(rel: str) -> str:
    return repr(clip(display(rel), 120))


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
