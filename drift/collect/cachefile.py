"""A re-collection cache file (`drift.collect.hashcache` gives the rules of its use): who could have
written it, or the folder it is written into (`vetted`, `writers`), and its making and reading (`dumps`,
`parse`): the checksum first, then every column checked whole before any entry is believed; anything
else is a `Discard`.

Written whole through `drift.atomic.write_atomic`: a line naming the format, a JSON line, and the entries'
columns, each one run of bytes::

    drift-hashcache/2 crc32:<8 hex digits>
    {"algorithm":"drift-content/1; drift 0.1.0","contents":0,"entries":18700,"remembered":[[[path, dev, ino, size, mtime_ns, ctime_ns], ...], value]}
    <keys: 32 bytes a file><sizes: 8 bytes a file><sha256s: 64 hex digits a file><content-sha256s: 68 bytes each><paths, UTF-8, one a line>

The first line names the format and gives the CRC-32 of every byte after it: a file cut short or damaged
is discarded before any of it is read. The second is a JSON header: the content-hash algorithm, the
number of entries and of content hashes, and `remembered` (optional), what the collector read of its
catalog under the stat keys of every file of the catalog folder taken before it was read
(`drift.collect.catalogneeds`): the config keys the catalog's checks name and the sha256 of its archives,
and which reader read them. Then the entries, column by column (`Table`), each at the place the counts
give it: a key is the device, inode, mtime and ctime (`KEY`), compared whole with a stat's; a size is
little-endian and unsigned; a content hash (only archives have one) is its row (4 bytes, little-endian)
and its hex digits, in row order; the paths come last, in order, one a line (a recordable path holds no
newline), so that a path held twice or out of order is not the cache drift wrote.

Why this shape, and not the JSON object of one entry a file it was: a re-collection of an unchanged tree
is a walk and the loading of this file. Its columns are sliced, and checked whole at C speed, and a file the
walk has answered for is a row of them (the inventory's line of it is written from the columns): 14 ms for
the 18,700 files of the benchmark tree, where the same entries as JSON took 40–60 ms to parse and check. Nothing in it is taken as a length or a
count but the header's two counts, which must fit the file's size, so a file of a few bytes can make the
reader allocate no more than it holds (a general serializer such as `marshal` allocates whatever length
a crafted file declares). It is believed no more than JSON was: read only when nobody but this user and
root could have written it (`drift.collect.hashcache`, "Who can write it"), only once its checksum holds,
and with every column checked before any entry is used. Not SQLite: every run rewrites the cache whole
anyway (only the entries stored or confirmed in this run are kept, so deleted files drop out), which an
atomic rename does with no transaction, journal or locking of its own, and no half-updated database can
be left behind by a crash. The same entries are written as the same bytes. It holds only paths, stat
fields, hashes and config key names: never config values, never file content.
"""

from __future__ import annotations

import itertools
import json
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
_HEADER_KEYS = frozenset({"algorithm", "contents", "entries"})
_MORE_KEYS = frozenset({"remembered"})
"""Keys the header may also hold: `remembered`, what `HashCache.remember` was given."""
_HEX = b"0123456789abcdef"
_SIZE = 8
"""Bytes a size takes (little-endian, unsigned)."""
_CONTENT = struct.Struct("<I64s")
"""A content hash: its row, and its 64 hex digits."""
_ROW_BYTES = KEY.size + _SIZE + 64 + 1
"""The fewest bytes a row takes: its key, size and sha256, and a path of one character (its newline aside)."""
_HEADER_MAX = 16 << 20
"""The longest header read: `remembered` holds a catalog folder's stat keys and the sha256 of its archives,
a few MB for the largest product. It and its count of lists and objects (one in 32 bytes at most; drift
writes one in several hundred) bound what parsing it can allocate: a file of a few MB of `[]` would
otherwise take gigabytes."""


class Table(NamedTuple):
    """A cache file's entries, column by column: row `i` is the file at `paths[i]`. Loaded as a few objects
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
    paths = sorted(entries)
    rows = list(map(entries.__getitem__, paths))
    contents = [_CONTENT.pack(at, row[3].encode("ascii")) for at, row in enumerate(rows) if row[3] is not None]
    header: dict[str, Any] = {"algorithm": algorithm, "contents": len(contents), "entries": len(rows)}
    if remembered is not None:
        header["remembered"] = remembered
    body = b"".join((
        json.dumps(header, separators=(",", ":")).encode("utf-8"),
        b"\n",
        b"".join(row[0] for row in rows),
        struct.pack(f"<{len(rows)}Q", *(row[1] for row in rows)),
        "".join(row[2] for row in rows).encode("ascii"),
        b"".join(contents),
        "\n".join(paths).encode("utf-8"),
    ))
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
    line = data[end + 1 : split] if split >= 0 else b""
    if len(line) > _HEADER_MAX or line.count(b"[") + line.count(b"{") > len(line) // 32 + 64:
        raise Discard("corrupt: its header is larger, or more nested, than any drift writes")
    try:
        header = json.loads(line.decode("utf-8")) if split >= 0 else None
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        header = None
    if not isinstance(header, dict) or not _HEADER_KEYS <= header.keys() <= _HEADER_KEYS | _MORE_KEYS:
        raise Discard("corrupt: no header of the keys " + ", ".join(sorted(_HEADER_KEYS | _MORE_KEYS)))
    if header["algorithm"] != algorithm:
        raise Discard(f"made with content-hash algorithm {clip(str(header['algorithm']), 80)!r}, not {algorithm!r}")
    remembered = header.get("remembered")
    if remembered is not None and not (isinstance(remembered, list) and len(remembered) == 2):
        raise Discard("corrupt: `remembered` is not a pair")
    return _table(memoryview(data)[split + 1 :], header["entries"], header["contents"]), None if remembered is None else (remembered[0], remembered[1])


def _table(body: memoryview, count: Any, found: Any) -> Table:
    """The entries of `count` rows and `found` content hashes that `body` holds, every column checked whole
    (where one fails, entry by entry, to say which entry and why)."""
    if not (type(count) is int and type(found) is int and 0 <= found <= count and count * _ROW_BYTES <= len(body)):
        raise Discard("corrupt: its header's counts of entries are not what the file can hold")
    at = count * KEY.size
    keys = bytes(body[:at])
    sizes = struct.unpack(f"<{count}Q", body[at : at + count * _SIZE])
    at += count * _SIZE
    shas = bytes(body[at : at + count * 64])
    at += count * 64
    held = body[at : at + found * _CONTENT.size]
    at += found * _CONTENT.size
    try:
        text = str(body[at:], "utf-8")
    except UnicodeDecodeError:
        raise Discard("corrupt: its paths are not UTF-8") from None
    paths = tuple(text.split("\n")) if count else ()
    if len(paths) != count or text and not count:
        raise Discard(f"corrupt: it holds other than the {count:,} paths its header gives")
    if not all(map(operator.lt, paths, itertools.islice(paths, 1, None))):  # a path held twice is not the cache drift wrote
        at = next(at for at in range(1, count) if not paths[at - 1] < paths[at])
        raise Discard(f"corrupt entry {_named(paths[at])}: out of order, or held twice")
    if count and not paths[0]:
        raise Discard("corrupt: an entry has an empty path")
    if not all_recordable(paths):  # the walk takes a path the cache answers for as recordable (drift.collect.walk)
        bad = next(rel for rel in paths if recordable(rel)[1] is not None)
        raise Discard(f"corrupt entry {_named(bad)}: a path no inventory can hold as it is")
    if shas.translate(None, _HEX):
        bad = paths[next(at for at, byte in enumerate(shas) if byte not in _HEX) // 64]
        raise Discard(f"corrupt entry {_named(bad)}: sha256 is not 64 lowercase hex digits")
    contents: dict[int, str] = {}
    last = -1
    for row, content in _CONTENT.iter_unpack(held):
        if not last < row < count:
            raise Discard("corrupt: a content-sha256 is given for no entry, or out of order")
        last = row
        if content.translate(None, _HEX):
            raise Discard(f"corrupt entry {_named(paths[row])}: content-sha256 is not 64 lowercase hex digits")
        contents[row] = content.decode("ascii")
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
