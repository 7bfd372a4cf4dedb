"""Where a zip's entries lie: the listed entries must cover the archive, so that a reader walking local
headers and one reading the central directory find the same entries, with the same sizes and offsets.

Part of the safe reading of a zip (`drift.collect.archive.zipread`); the rules are listed in
`drift.collect.archive.content`.
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO

from drift.collect.archive.errors import ArchiveError, ArchiveRefused
from drift.collect.archive.zipread import _LOCAL, _LOCAL_SIZE, _read_exact, _show

_ZIP64_EXTRA = 0x0001
_DESCRIPTOR = 0x08
_DESCRIPTOR_SIZES = (12, 16, 20, 24)
"""A data descriptor after an entry's data: CRC and 32- or 64-bit sizes, with or without its signature."""


def _zip64_fields(extra: bytes) -> int:
    """How many ZIP64 extended information fields an extra block holds (Java reads the first, zipfile each)."""
    count, at = 0, 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        count += tag == _ZIP64_EXTRA
        at += 4 + size
    return count


def _check_layout(stream: IO[bytes], infos: list[zipfile.ZipInfo], ends: list[int], label: str) -> None:
    """The listed entries must cover the archive: no local header before the first, no bytes between one
    entry's data (and its data descriptor) and the next, and one ZIP64 field at most per record. A reader
    that walks local headers (`JarInputStream`, as Tomcat reads a jar inside a war) finds nothing the
    central directory does not list, and Java and zipfile read the same sizes and offsets."""
    first = min((info.header_offset for info in infos), default=0)
    if first < 0:
        raise ArchiveError(f"{label}truncated: its central directory points before the start of the file")
    if first:
        stream.seek(0)
        if _LOCAL in _read_exact(stream, first):
            raise ArchiveError(f"{label}the bytes before its first entry hold a local header the central directory does not list")
    for info, end in zip(infos, ends):
        shown = _show(info.orig_filename)
        stream.seek(info.header_offset)
        header = _read_exact(stream, _LOCAL_SIZE)
        if len(header) != _LOCAL_SIZE or header[:4] != _LOCAL:
            raise ArchiveError(f"{label}entry {shown} has no local header at offset {info.header_offset}")
        flags, name_length, extra_length = struct.unpack("<6xH18xHH", header)
        stream.seek(info.header_offset + _LOCAL_SIZE + name_length)
        if _zip64_fields(info.extra) > 1 or _zip64_fields(_read_exact(stream, extra_length)) > 1:
            raise ArchiveError(f"{label}entry {shown} has more than one ZIP64 field (Java reads the first, zipfile all of them)")
        data_end = info.header_offset + _LOCAL_SIZE + name_length + extra_length + info.compress_size
        gap = end - data_end
        if gap < 0:
            raise ArchiveRefused(f"{label}entry {shown} overlaps the next entry or the central directory")
        if gap and not (flags & _DESCRIPTOR and gap in _DESCRIPTOR_SIZES and _descriptor(stream, data_end, gap, info)):
            raise ArchiveError(f"{label}{gap} bytes after entry {shown} belong to no listed entry")


def _descriptor(stream: IO[bytes], at: int, size: int, info: zipfile.ZipInfo) -> bool:
    """Whether the `size` bytes at `at` are the entry's data descriptor (its CRC, with or without signature)."""
    stream.seek(at)
    data = _read_exact(stream, size)
    if data[:4] == b"PK\x07\x08" and size in (16, 24):
        data = data[4:]
    elif size not in (12, 20):
        return False
    return bool(struct.unpack_from("<I", data)[0] == info.CRC)
