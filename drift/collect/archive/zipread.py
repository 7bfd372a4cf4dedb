"""Reading a zip archive safely: the end record and central directory checked before zipfile reads them,
entry names checked, each entry's data streamed through its decompressor against the budget of limits.

Which archives are refused, and why, is specified in `drift.collect.archive.content`; the limits are in
`drift.collect.archive.limits`.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from drift.collect.archive import limits
from drift.collect.archive.errors import ArchiveError, ArchiveRefused

_CHUNK = 1 << 20

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


class _Budget:
    """What the archive being hashed has used so far, against the limits."""

    def __init__(self, archive_size: int) -> None:
        self.archive_size = archive_size
        self.expand_limit = min(limits.MAX_EXPANDED, max(limits.RATIO_FLOOR, limits.MAX_RATIO * archive_size))
        self.expanded = 0
        self.total_entries = 0
        self.open_entries = 0
        self.open_directory = 0
        self.nested = 0

    def expand(self, count: int, shown: str) -> None:
        self.expanded += count
        if self.expanded > self.expand_limit:
            if self.expand_limit == limits.MAX_EXPANDED:
                limit = f"the limit of {_size(limits.MAX_EXPANDED)}"
            else:
                limit = (
                    f"the limit for an archive of {_size(self.archive_size)}"
                    f" ({limits.MAX_RATIO} times its size, at least {_size(limits.RATIO_FLOOR)})"
                )
            raise ArchiveRefused(
                f"expands to more than {_size(self.expand_limit)} uncompressed, {limit}; stopped in entry {shown}"
            )

    def hold_nested(self, count: int, shown: str) -> None:
        self.nested += count
        if self.nested > limits.MAX_NESTED:
            raise ArchiveRefused(
                f"nested archive {shown} is bigger than {_size(limits.MAX_NESTED)} uncompressed"
                " (with the nested archives it sits in), the limit for nested archives"
            )


@dataclass(frozen=True, slots=True)
class _Directory:
    """Where an archive's central directory is, by its end record, and how many records it holds."""

    start: int
    size: int
    entries: int


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
    entries, directory_size, directory_offset = struct.unpack("<HII", record[10:20])
    location = at
    # A ZIP64 end record is used when its locator sits just before the end record (as zipfile does).
    if at >= _ZIP64_LOCATOR_SIZE:
        stream.seek(at - _ZIP64_LOCATOR_SIZE)
        locator = _read_exact(stream, _ZIP64_LOCATOR_SIZE)
        if locator[:4] == _ZIP64_LOCATOR:
            _, disk, where64, disks = struct.unpack("<IIQI", locator)
            if disk != 0 or disks > 1:
                raise ArchiveError(f"{label}spans several disks")
            if at < _ZIP64_LOCATOR_SIZE + _ZIP64_EOCD_SIZE:
                raise ArchiveError(f"{label}truncated: no room for the ZIP64 end of central directory record")
            location = at - _ZIP64_LOCATOR_SIZE - _ZIP64_EOCD_SIZE
            stream.seek(location)
            record64 = _read_exact(stream, _ZIP64_EOCD_SIZE)
            if record64[:4] != _ZIP64_EOCD or where64 != location:
                raise ArchiveError(f"{label}the ZIP64 end of central directory record is not where its locator says")
            wide = struct.unpack("<QQQ", record64[32:56])
            # Java reads the ZIP64 record only where a field of the end record is saturated, zipfile always:
            # each field must then read the same both ways, or which directory is meant is a guess.
            if any(narrow not in (full, saturated) for narrow, full, saturated in zip(
                (entries, directory_size, directory_offset), wide, (0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
            )):
                raise ArchiveError(f"{label}its end record and ZIP64 end record name different central directories")
            entries, directory_size = wide[:2]

    allowed = limits.MAX_ENTRIES - budget.open_entries
    if entries > allowed:
        raise ArchiveRefused(f"{label}its end of central directory record claims {entries} entries, {_entry_limit(allowed)}")
    if directory_size > location:
        raise ArchiveError(
            f"{label}the central directory of {directory_size} bytes does not fit in the {location} bytes before its end record"
        )
    room = limits.MAX_CENTRAL_DIRECTORY - budget.open_directory
    if directory_size > room:
        nested = " with the archives it is nested in" if budget.open_directory else ""
        raise ArchiveRefused(
            f"{label}its central directory of {directory_size} bytes is bigger{nested}"
            f" than the limit of {_size(limits.MAX_CENTRAL_DIRECTORY)}"
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
    if allowed == limits.MAX_ENTRIES:
        return f"more than the limit of {limits.MAX_ENTRIES}"
    return f"more than the {allowed} left of the limit of {limits.MAX_ENTRIES} for archives nested one in another"


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
        if dictionary > limits.MAX_LZMA_DICTIONARY:
            raise ArchiveRefused(
                f"entry {shown} needs an LZMA dictionary of {_size(dictionary)},"
                f" more than the limit of {_size(limits.MAX_LZMA_DICTIONARY)}"
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
