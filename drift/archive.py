"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`.

The algorithm, exactly:

1. Read the archive's central directory. Directory entries (names ending in `/`) are left out.
2. For each remaining entry, its entry hash is the SHA-256 of its uncompressed bytes, except:
   - `META-INF/MANIFEST.MF`: the bytes are first normalised: line ends become `\\n`, continuation lines are
     joined, and the attributes Built-By, Build-Jdk, Build-Jdk-Spec, Created-By, Build-Time, Build-Date
     and Bnd-LastModified (names compared without regard to case) are dropped from every section;
   - an entry whose name ends in `.jar .war .ear .zip` (any case) is hashed as an archive itself, by this
     same algorithm, recursively, when it opens as a zip; otherwise by its bytes. "Otherwise" is: it is
     not a zip, it is a corrupt one, or it is nested deeper than MAX_NESTING (8) archives down. A nested
     archive that is *refused* (below) is never hashed by its bytes instead: it refuses the whole archive.
3. The records `<entry name> NUL <entry hash in hex> LF`, UTF-8 encoded, are sorted bytewise and
   concatenated; `content-sha256` is the SHA-256 of that.

Timestamps, compression levels, entry order and other zip metadata therefore do not count: a jar rebuilt
from the same classes at another time has the same content hash.

Refused archives. The hash is computed on live servers, so it runs in bounded time and memory whatever the
archive holds. An archive is refused, with `ArchiveRefused` (an `ArchiveError`; its message is the reason),
and has no content hash, when:

- its entries decompress to more than min(MAX_EXPANDED, max(RATIO_FLOOR, MAX_RATIO x the file's size))
  bytes: 4 GiB, and no more than 200 times the file's size once past 64 MiB (a zip bomb). Bytes are
  counted as they are decompressed, never taken from the headers, and reading stops at the limit. Nested
  archives count in full: a nested archive's own bytes and then everything inside it;
- its end of central directory record (or ZIP64 end record) claims more than MAX_ENTRIES (100,000)
  entries, or its central directory lists more; both are checked before the directory is parsed. An
  archive and the archives it is nested in are held together, so their entries count together against
  MAX_ENTRIES; over the whole file, nested archives included, at most MAX_TOTAL_ENTRIES (1,000,000);
- its central directory is larger than MAX_CENTRAL_DIRECTORY (32 MiB; summed, like the entries, with the
  archives it is nested in);
- an entry's name is absolute (`/x`, `\\x`, `c:x`), has a `..` segment (`/` and `\\` both separate), holds
  a NUL or is empty, directory entries included: nothing is extracted, but such a name is hostile;
- an entry's data overlaps the next entry or the central directory (how a zip bomb without nesting
  multiplies one payload);
- a nested archive (hashed as an archive: read whole into memory to be opened) is bigger than MAX_NESTED
  (256 MiB) uncompressed, summed with the nested archives it sits in. It is refused, not hashed by its
  bytes: a content hash that changed with the limit would report drift that is not there;
- `META-INF/MANIFEST.MF` is bigger than MAX_MANIFEST (16 MiB);
- an LZMA entry needs a dictionary bigger than MAX_LZMA_DICTIONARY (64 MiB; the smaller of the dictionary
  size it declares and its uncompressed size).

An archive is not readable, with a plain `ArchiveError`, when there is no end of central directory record,
when bytes follow that record and its comment (which end record is meant is then a guess), when the
central directory does not fit before it, is too small for the entries the end record claims, or is
damaged, and when an entry's local header, size or CRC disagrees with the central directory, its
compressed data is damaged, it is encrypted, or its compression method is not stored, deflate, bzip2 or
LZMA.

No ordinary archive hashes differently under these rules. Archives that had a content hash before them and
have none now: those over a limit, with a hostile name or with overlapping entries; those with bytes after
the end record (the reader used before ignored them); and those whose entry sizes disagree with the central
directory while the CRC matches. A nested archive of one of the last two kinds is now hashed by its bytes.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

ALGORITHM = "drift-content/1"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".zip")
VOLATILE_ATTRIBUTES = frozenset(
    name.lower()
    for name in ("Built-By", "Build-Jdk", "Build-Jdk-Spec", "Created-By", "Build-Time", "Build-Date", "Bnd-LastModified")
)
MANIFEST = "META-INF/MANIFEST.MF"
MAX_NESTING = 8

# The limits (see the module docstring). Read at each call, so that tests can lower them.
MAX_EXPANDED = 4 << 30
"""Uncompressed bytes read for one archive, nested archives included."""
MAX_RATIO = 200
"""... and no more than this many times the archive's size,"""
RATIO_FLOOR = 64 << 20
"""... once past this many bytes."""
MAX_ENTRIES = 100_000
"""Entries listed by an archive and the archives it is nested in."""
MAX_TOTAL_ENTRIES = 1_000_000
"""Entries listed in the whole file, nested archives included."""
MAX_CENTRAL_DIRECTORY = 32 << 20
"""Bytes of central directory of an archive and the archives it is nested in."""
MAX_NESTED = 256 << 20
"""Uncompressed bytes of a nested archive and the nested archives it sits in (all held in memory)."""
MAX_MANIFEST = 16 << 20
"""Uncompressed bytes of a manifest (normalised in memory)."""
MAX_LZMA_DICTIONARY = 64 << 20
"""Dictionary of an LZMA entry (allocated by the decompressor)."""

_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive cannot be content-hashed (corrupt, hostile or too deep); the message is the reason."""


class ArchiveRefused(ArchiveError):
    """The archive is hostile or over a limit. Never hashed by its bytes when nested: the outer archive is refused."""


# What zipfile, the decompressors and short or odd input raise (zlib.error for a damaged deflate stream,
# NotImplementedError for an unknown zip version, struct.error for short headers, UnicodeDecodeError, ...).
_ZIP_ERRORS = (
    zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
    zlib.error, lzma.LZMAError, struct.error,
)

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP64_EOCD_SIZE = 56
_CENTRAL = b"PK\x01\x02"
_CENTRAL_SIZE = 46
_LOCAL = b"PK\x03\x04"
_LOCAL_SIZE = 30
_MAX_COMMENT = 0xFFFF

_ENCRYPTED = 0x01
_PATCHED = 0x20
_STRONG_ENCRYPTION = 0x40
_UTF8_NAME = 0x800

_DRIVE = re.compile(r"[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


def is_archive_name(name: str) -> bool:
    """True for the names whose files get a content hash."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


# A logical manifest line (continuations joined) whose attribute name, stripped of ASCII white space and
# compared without regard to ASCII case, is volatile; with the line end that follows it.
_VOLATILE_LINE = re.compile(
    rb"^[ \t\x0b\x0c]*(?:"
    + b"|".join(re.escape(name.encode("ascii")) for name in sorted(VOLATILE_ATTRIBUTES, key=len, reverse=True))
    + rb")[ \t\x0b\x0c]*(?::[^\n]*)?\n",
    re.IGNORECASE | re.MULTILINE,
)


def normalise_manifest(data: bytes) -> bytes:
    """A manifest's bytes with line ends unified, continuations joined and volatile attributes dropped.

    Exactly: split into lines at `\\n` (after `\\r\\n` and `\\r` became `\\n`); a line starting with a space,
    but the first, is appended without that space to the line before; lines whose part before the first
    `:`, stripped, is a volatile attribute are dropped; the rest are joined with `\\n`. Done with bytes
    operations, in time and memory linear in the size whatever the lines.
    """
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n ", b"")
    kept = _VOLATILE_LINE.sub(b"", text + b"\n")  # every logical line now ends in \n, and is kept with it
    return kept[:-1]


def content_sha256(stream: IO[bytes]) -> str:
    """The content hash, in hex, of the zip archive readable from `stream` (seekable).

    Raises `ArchiveError` with the reason when the archive cannot be read as a zip, and `ArchiveRefused`
    (an `ArchiveError`) when it is hostile or over a limit (see the module docstring).
    """
    try:
        size = stream.seek(0, io.SEEK_END)
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc
    return _archive_hash(stream, _Budget(size), depth=0, where="")


def content_sha256_bytes(data: bytes) -> str:
    """The content hash, in hex, of a zip archive held in memory."""
    return content_sha256(io.BytesIO(data))


class _Budget:
    """What the archive being hashed has used so far, against the limits."""

    def __init__(self, archive_size: int) -> None:
        self.archive_size = archive_size
        self.expand_limit = min(MAX_EXPANDED, max(RATIO_FLOOR, MAX_RATIO * archive_size))
        self.expanded = 0
        self.total_entries = 0
        self.open_entries = 0
        self.open_directory = 0
        self.nested = 0

    def expand(self, count: int, shown: str) -> None:
        self.expanded += count
        if self.expanded > self.expand_limit:
            if self.expand_limit == MAX_EXPANDED:
                limit = f"the limit of {_size(MAX_EXPANDED)}"
            else:
                limit = (
                    f"the limit for an archive of {_size(self.archive_size)}"
                    f" ({MAX_RATIO} times its size, at least {_size(RATIO_FLOOR)})"
                )
            raise ArchiveRefused(
                f"expands to more than {_size(self.expand_limit)} uncompressed, {limit}; stopped in entry {shown}"
            )

    def hold_nested(self, count: int, shown: str) -> None:
        self.nested += count
        if self.nested > MAX_NESTED:
            raise ArchiveRefused(
                f"nested archive {shown} is bigger than {_size(MAX_NESTED)} uncompressed"
                " (with the nested archives it sits in), the limit for nested archives"
            )


@dataclass(frozen=True, slots=True)
class _Directory:
    """Where an archive's central directory is, by its end record, and how many records it holds."""

    start: int
    size: int
    entries: int


def _archive_hash(stream: IO[bytes], budget: _Budget, *, depth: int, where: str) -> str:
    """The content hash of the archive in `stream`; `where` is its path in the outermost archive (`a.jar!/`)."""
    if depth > MAX_NESTING:
        raise ArchiveError(f"archives nested deeper than {MAX_NESTING}")
    label = f"nested archive {_show(where[:-2])}: " if where else ""
    try:
        directory = _central_directory(stream, budget, label)
    except ArchiveError:
        raise
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"{label}not a readable zip archive: {exc}") from exc
    budget.total_entries += directory.entries
    budget.open_entries += directory.entries
    budget.open_directory += directory.size
    try:
        if budget.total_entries > MAX_TOTAL_ENTRIES:
            raise ArchiveRefused(f"{label}lists more than {MAX_TOTAL_ENTRIES} entries in all, nested archives included")
        try:
            with zipfile.ZipFile(stream) as archive:
                infos = archive.infolist()
                start = archive.start_dir
        except _ZIP_ERRORS as exc:
            raise ArchiveError(f"{label}not a readable zip archive: {exc}") from exc
        if (start, len(infos)) != (directory.start, directory.entries):
            raise ArchiveError(f"{label}the central directory reads two ways")
        _check_names(infos, where)
        ends = _data_ends(infos, start)
        records: list[bytes] = []
        for info, end in zip(infos, ends, strict=True):
            if info.filename.endswith("/"):  # a directory (ZipInfo.is_dir fails on an empty name in 3.11)
                continue
            try:
                digest = _entry_hash(stream, info, end, budget, depth, where)
            except ArchiveError:
                raise
            except _ZIP_ERRORS as exc:
                raise ArchiveError(f"entry {_show(where + info.filename)} cannot be read: {exc}") from exc
            records.append(info.filename.encode("utf-8") + b"\0" + digest.encode("ascii") + b"\n")
    finally:
        budget.open_entries -= directory.entries
        budget.open_directory -= directory.size
    records.sort()
    return hashlib.sha256(b"".join(records)).hexdigest()


def _central_directory(stream: IO[bytes], budget: _Budget, label: str) -> _Directory:
    """Find and check the central directory by the end record, as zipfile will read it, before zipfile does.

    zipfile allocates an object per central directory record and reads the whole directory at once; here
    the counts and the size are checked first, and the records counted without building anything.
    """
    size = stream.seek(0, io.SEEK_END)
    if size < _EOCD_SIZE:
        raise ArchiveError(f"{label}not a zip archive: {size} bytes, too short for an end of central directory record")
    # Where zipfile looks: the last 22 bytes when they are a record without comment, else the last
    # signature within the last 64 KiB + 22 bytes.
    stream.seek(size - _EOCD_SIZE)
    record = _read_exact(stream, _EOCD_SIZE)
    if record[:4] == _EOCD and record[-2:] == b"\0\0":
        at = size - _EOCD_SIZE
    else:
        window = max(size - _MAX_COMMENT - 1 - _EOCD_SIZE, 0)
        stream.seek(window)
        tail = _read_exact(stream, size - window)
        found = tail.rfind(_EOCD)
        if found < 0:
            raise ArchiveError(f"{label}not a zip archive: no end of central directory record")
        record = tail[found : found + _EOCD_SIZE]
        if len(record) < _EOCD_SIZE:
            raise ArchiveError(f"{label}truncated: the end of central directory record is cut short")
        at = window + found
        (comment,) = struct.unpack("<H", record[20:22])
        ends = at + _EOCD_SIZE + comment
        if ends > size:
            raise ArchiveError(f"{label}truncated: the archive comment runs {ends - size} bytes past the end of the file")
        if ends < size:
            raise ArchiveError(f"{label}{size - ends} bytes follow the end of central directory record and its comment")
    entries, directory_size = struct.unpack("<HI", record[10:16])
    location = at
    # A ZIP64 end record is used when its locator sits just before the end record (as zipfile does).
    if at >= _ZIP64_LOCATOR_SIZE:
        stream.seek(at - _ZIP64_LOCATOR_SIZE)
        locator = _read_exact(stream, _ZIP64_LOCATOR_SIZE)
        if locator[:4] == _ZIP64_LOCATOR:
            _, disk, _, disks = struct.unpack("<IIQI", locator)
            if disk != 0 or disks > 1:
                raise ArchiveError(f"{label}spans several disks")
            if at < _ZIP64_LOCATOR_SIZE + _ZIP64_EOCD_SIZE:
                raise ArchiveError(f"{label}truncated: no room for the ZIP64 end of central directory record")
            stream.seek(at - _ZIP64_LOCATOR_SIZE - _ZIP64_EOCD_SIZE)
            record64 = _read_exact(stream, _ZIP64_EOCD_SIZE)
            if record64[:4] == _ZIP64_EOCD:
                entries, directory_size = struct.unpack("<QQ", record64[32:48])
                location = at - _ZIP64_LOCATOR_SIZE - _ZIP64_EOCD_SIZE

    allowed = MAX_ENTRIES - budget.open_entries
    if entries > allowed:
        raise ArchiveRefused(f"{label}its end of central directory record claims {entries} entries, {_entry_limit(allowed)}")
    if directory_size > location:
        raise ArchiveError(
            f"{label}the central directory of {directory_size} bytes does not fit in the {location} bytes before its end record"
        )
    room = MAX_CENTRAL_DIRECTORY - budget.open_directory
    if directory_size > room:
        nested = " with the archives it is nested in" if budget.open_directory else ""
        raise ArchiveRefused(
            f"{label}its central directory of {directory_size} bytes is bigger{nested}"
            f" than the limit of {_size(MAX_CENTRAL_DIRECTORY)}"
        )
    if directory_size < entries * _CENTRAL_SIZE:
        raise ArchiveError(f"{label}the central directory of {directory_size} bytes is too small for {entries} entries")
    start = location - directory_size
    stream.seek(start)
    data = _read_exact(stream, directory_size)
    if len(data) != directory_size:
        raise ArchiveError(f"{label}truncated: the central directory is cut short")
    count = 0
    offset = 0
    while offset < directory_size:
        if directory_size - offset < _CENTRAL_SIZE or data[offset : offset + 4] != _CENTRAL:
            raise ArchiveError(f"{label}damaged central directory: no record at offset {start + offset}")
        count += 1
        if count > allowed:
            raise ArchiveRefused(f"{label}its central directory lists more than {allowed} entries, {_entry_limit(allowed)}")
        name, extra, comment = struct.unpack_from("<HHH", data, offset + 28)
        offset += _CENTRAL_SIZE + name + extra + comment
    if offset != directory_size:
        raise ArchiveError(f"{label}damaged central directory: its last record runs past its end")
    return _Directory(start, directory_size, count)


def _entry_limit(allowed: int) -> str:
    if allowed == MAX_ENTRIES:
        return f"more than the limit of {MAX_ENTRIES}"
    return f"more than the {allowed} left of the limit of {MAX_ENTRIES} for archives nested one in another"


def _check_names(infos: list[zipfile.ZipInfo], where: str) -> None:
    """Refuse the archive if an entry's name is hostile (absolute, `..`, NUL), directories included."""
    for info in infos:
        name = info.orig_filename  # zipfile cuts `filename` at a NUL
        if not name:
            raise ArchiveRefused(f"an entry of {_show(where[:-2]) if where else 'the archive'} has an empty name")
        if "\0" in name:
            raise ArchiveRefused(f"entry name {_show(where + name)} holds a NUL")
        if name.startswith(("/", "\\")) or _DRIVE.match(name):
            raise ArchiveRefused(f"entry name {_show(where + name)} is absolute")
        if ".." in _SEPARATORS.split(name):
            raise ArchiveRefused(f"entry name {_show(where + name)} has a '..' segment")


def _data_ends(infos: list[zipfile.ZipInfo], directory_start: int) -> list[int]:
    """For each entry, where its data must end: at the next local header, or at the central directory."""
    ends = [0] * len(infos)
    end = directory_start
    for index in sorted(range(len(infos)), key=lambda i: infos[i].header_offset, reverse=True):
        ends[index] = end
        end = infos[index].header_offset
    return ends


def _entry_hash(stream: IO[bytes], info: zipfile.ZipInfo, end: int, budget: _Budget, depth: int, where: str) -> str:
    shown = _show(where + info.filename)
    chunks = _entry_chunks(stream, info, end, budget, shown)
    if info.filename == MANIFEST:
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_MANIFEST:
                raise ArchiveRefused(f"manifest {shown} is bigger than the limit of {_size(MAX_MANIFEST)}")
            parts.append(chunk)
        return hashlib.sha256(normalise_manifest(b"".join(parts))).hexdigest()
    if is_archive_name(info.filename):
        buffer = io.BytesIO()
        held = 0
        try:
            for chunk in chunks:
                held += len(chunk)
                budget.hold_nested(len(chunk), shown)
                buffer.write(chunk)
            try:
                return _archive_hash(buffer, budget, depth=depth + 1, where=where + info.filename + "!/")
            except ArchiveRefused:
                raise
            except ArchiveError:
                with buffer.getbuffer() as view:
                    return hashlib.sha256(view).hexdigest()
        finally:
            budget.nested -= held
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _Stored:
    eof = False
    needs_input = True

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return data


class _Deflated:
    """zlib's raw inflater with the interface of the bz2 and lzma decompressors (output bounded by max_length)."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(-15)
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return self._inflater.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._inflater.decompress(self._inflater.unconsumed_tail + data, max_length)
        # Output may be pending when the output limit was reached, even with all input consumed.
        self.needs_input = not self._inflater.unconsumed_tail and len(out) < max_length
        return out


def _entry_chunks(stream: IO[bytes], info: zipfile.ZipInfo, end: int, budget: _Budget, shown: str) -> Iterator[bytes]:
    """The entry's uncompressed bytes, in chunks of at most 1 MiB, checked against the budget, size and CRC."""
    if info.flag_bits & _ENCRYPTED:
        raise ArchiveError(f"entry {shown} is encrypted")
    if info.flag_bits & (_PATCHED | _STRONG_ENCRYPTION):
        raise ArchiveError(f"entry {shown} uses compressed patched data or strong encryption")
    method = info.compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        raise ArchiveError(f"entry {shown} uses compression method {method}, not supported")
    stream.seek(info.header_offset)
    header = _read_exact(stream, _LOCAL_SIZE)
    if len(header) != _LOCAL_SIZE or header[:4] != _LOCAL:
        raise ArchiveError(f"entry {shown} has no local header at offset {info.header_offset}")
    flags, name_length, extra_length = struct.unpack("<6xH18xHH", header)
    local_name = _read_exact(stream, name_length).decode("utf-8" if flags & _UTF8_NAME else "cp437")
    if local_name != info.orig_filename:
        raise ArchiveError(f"entry {shown} has another name in its local header: {_show(local_name)}")
    start = info.header_offset + _LOCAL_SIZE + name_length + extra_length
    left = info.compress_size
    if start + left > end:
        raise ArchiveRefused(f"entry {shown} overlaps the next entry or the central directory")
    stream.seek(start)

    decompressor: _Decompressor
    if method == zipfile.ZIP_STORED:
        decompressor = _Stored()
    elif method == zipfile.ZIP_DEFLATED:
        decompressor = _Deflated()
    elif method == zipfile.ZIP_BZIP2:
        decompressor = bz2.BZ2Decompressor()
    else:
        # zip's LZMA: version (2 bytes), properties size (2), properties (5: lc/lp/pb and the dictionary size).
        head = _read_exact(stream, min(left, 9))
        if len(head) != 9 or struct.unpack("<H", head[2:4])[0] != 5 or head[4] >= 9 * 5 * 5:
            raise ArchiveError(f"entry {shown} has a damaged LZMA header")
        left -= 9
        properties, (dictionary,) = head[4], struct.unpack("<I", head[5:9])
        dictionary = max(4096, min(dictionary, info.file_size))
        if dictionary > MAX_LZMA_DICTIONARY:
            raise ArchiveRefused(
                f"entry {shown} needs an LZMA dictionary of {_size(dictionary)},"
                f" more than the limit of {_size(MAX_LZMA_DICTIONARY)}"
            )
        lzma_filter = {
            "id": lzma.FILTER_LZMA1,
            "dict_size": dictionary,
            "lc": properties % 9,
            "lp": properties // 9 % 5,
            "pb": properties // 45,
        }
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter])

    produced = 0
    crc = 0
    while True:
        if decompressor.needs_input:
            if left <= 0:
                break  # all compressed bytes given; without an end-of-stream mark the size and CRC still decide
            data = _read_exact(stream, min(_CHUNK, left))
            if not data:
                raise ArchiveError(f"entry {shown} is truncated")
            left -= len(data)
        else:
            data = b""
        out = decompressor.decompress(data, _CHUNK)
        if out:
            produced += len(out)
            budget.expand(len(out), shown)
            if produced > info.file_size:
                raise ArchiveError(f"entry {shown} holds more than the {info.file_size} bytes of the central directory")
            crc = zlib.crc32(out, crc)
            yield out
        if decompressor.eof:
            break
    if produced != info.file_size:
        raise ArchiveError(f"entry {shown} holds {produced} bytes, not the {info.file_size} of the central directory")
    if crc != info.CRC:
        raise ArchiveError(f"entry {shown} fails its CRC check")


def _read_exact(stream: IO[bytes], count: int) -> bytes:
    """`count` bytes from the stream, fewer only at its end (a raw file may return short reads)."""
    parts: list[bytes] = []
    while count > 0:
        part = stream.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _show(name: str) -> str:
    """A name for a message: quoted, escaped, and cut when very long."""
    if len(name) > 160:
        name = name[:160] + "..."
    return repr(name)


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift and count % (1 << shift) == 0:
            return f"{count >> shift} {unit}"
    return f"{count} bytes"
