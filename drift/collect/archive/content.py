"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`.

The algorithm, exactly:

1. Read the archive's central directory. Directory entries (names ending in `/`) are left out. An entry's
   name is the name its central directory record stores, as Java reads it (never the Info-ZIP Unicode
   Path extra field, which Java ignores and Python 3.12's zipfile prefers).
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
- a directory entry holds data (Java's class loader finds `x.class/` when asked for `x.class`);
- an entry's data overlaps the next entry or the central directory (how a zip bomb without nesting
  multiplies one payload);
- a nested archive (hashed as an archive: read whole into memory to be opened) is bigger than MAX_NESTED
  (256 MiB) uncompressed, summed with the nested archives it sits in. It is refused, not hashed by its
  bytes: a content hash that changed with the limit would report drift that is not there;
- `META-INF/MANIFEST.MF` is bigger than MAX_MANIFEST (16 MiB);
- an LZMA entry needs a dictionary bigger than MAX_LZMA_DICTIONARY (64 MiB; the smaller of the dictionary
  size it declares and its uncompressed size).

An archive is not readable, with a plain `ArchiveError`, when there is no end of central directory record,
when bytes follow that record and its comment (which end record is meant is then a guess), when a ZIP64
end record is not where its locator says or names another central directory than the end record does
(Java reads the one, zipfile the other), when an entry has more than one ZIP64 extra field (Java reads
the first, zipfile each), when bytes between entries (beyond an entry's data descriptor), or a local
header before the first entry, belong to no listed entry (a reader that walks local headers, as
`JarInputStream` does, would find an entry the central directory hides), when the
central directory does not fit before it, is too small for the entries the end record claims, or is
damaged, and when an entry's local header, size or CRC disagrees with the central directory, its
compressed data is damaged, it is encrypted, or its compression method is not stored, deflate, bzip2 or
LZMA.

No ordinary archive hashes differently under these rules. Archives that had a content hash before them and
have none now: those over a limit, with a hostile name or with overlapping entries; those with bytes after
the end record (the reader used before ignored them); and those whose entry sizes disagree with the central
directory while the CRC matches. A nested archive of one of the last two kinds is now hashed by its bytes.

The limits named here are the constants of `drift.collect.archive.limits`; the safe reading of a zip is
`drift.collect.archive.zipread`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from typing import IO, Any

from drift.collect.archive import limits
from drift.collect.archive.errors import ArchiveError, ArchiveRefused
from drift.collect.archive.layout import _check_layout
from drift.collect.archive.names import is_archive_name
from drift.collect.archive.zipread import (
    _ZIP_ERRORS,
    _Budget,
    _central_directory,
    _check_names,
    _data_ends,
    _entry_chunks,
    _show,
    _size,
)

VOLATILE_ATTRIBUTES = frozenset(
    name.lower()
    for name in ("Built-By", "Build-Jdk", "Build-Jdk-Spec", "Created-By", "Build-Time", "Build-Date", "Bnd-LastModified")
)
MANIFEST = "META-INF/MANIFEST.MF"
_EMPTY_DEFLATE = 2
"""Bytes of the empty deflate stream some tools write for a directory entry."""


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


def content_sha256_fd(fd: int, size: int) -> str:
    """The content hash, in hex, of the zip archive in the first `size` bytes of the open file `fd`.

    Read with `os.pread` (where there is none, Windows, with `lseek` and `read`): never past `size` (a file
    that grows meanwhile shows no more than its first `size` bytes), and without moving the descriptor's
    offset (where `pread` exists). The collector passes the size `fstat` gave.
    """
    return content_sha256(io.BufferedReader(_Window(fd, size)))


class _Window(io.RawIOBase):
    """The first `size` bytes of the file open as `fd`, as a seekable read-only stream (read with pread)."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd, self._size, self._at = fd, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._at = base + offset
        return self._at

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer) as view:
            count = max(0, min(len(view), self._size - self._at))
            if not count:
                data = b""
            elif hasattr(os, "pread"):
                data = os.pread(self._fd, count, self._at)
            else:  # Windows
                os.lseek(self._fd, self._at, os.SEEK_SET)
                data = os.read(self._fd, count)
            view[: len(data)] = data
        self._at += len(data)
        return len(data)


def _archive_hash(stream: IO[bytes], budget: _Budget, *, depth: int, where: str) -> str:
    """The content hash of the archive in `stream`; `where` is its path in the outermost archive (`a.jar!/`)."""
    if depth > limits.MAX_NESTING:
        raise ArchiveError(f"archives nested deeper than {limits.MAX_NESTING}")
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
        if budget.total_entries > limits.MAX_TOTAL_ENTRIES:
            raise ArchiveRefused(f"{label}lists more than {limits.MAX_TOTAL_ENTRIES} entries in all, nested archives included")
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
        _check_layout(stream, infos, ends, label)
        records: list[bytes] = []
        if len(ends) != len(infos):  # zip's strict= is 3.10+: the collector runs on 3.9 too
            raise AssertionError("one data end per entry")
        for info, end in zip(infos, ends):
            if info.orig_filename.endswith("/"):  # a directory (ZipInfo.is_dir fails on an empty name in 3.11)
                if info.file_size or info.compress_size > _EMPTY_DEFLATE:  # Java loads `x.class/` as `x.class`
                    raise ArchiveRefused(f"directory entry {_show(where + info.orig_filename)} holds data")
                continue
            try:
                digest = _entry_hash(stream, info, end, budget, depth, where)
            except ArchiveError:
                raise
            except _ZIP_ERRORS as exc:
                raise ArchiveError(f"entry {_show(where + info.orig_filename)} cannot be read: {exc}") from exc
            records.append(info.orig_filename.encode("utf-8") + b"\0" + digest.encode("ascii") + b"\n")
    finally:
        budget.open_entries -= directory.entries
        budget.open_directory -= directory.size
    records.sort()
    return hashlib.sha256(b"".join(records)).hexdigest()


def _entry_hash(stream: IO[bytes], info: zipfile.ZipInfo, end: int, budget: _Budget, depth: int, where: str) -> str:
    shown = _show(where + info.orig_filename)
    chunks = _entry_chunks(stream, info, end, budget, shown)
    if info.orig_filename == MANIFEST:
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limits.MAX_MANIFEST:
                raise ArchiveRefused(f"manifest {shown} is bigger than the limit of {_size(limits.MAX_MANIFEST)}")
            parts.append(chunk)
        return hashlib.sha256(normalise_manifest(b"".join(parts))).hexdigest()
    if is_archive_name(info.orig_filename):
        buffer = io.BytesIO()
        held = 0
        try:
            for chunk in chunks:
                held += len(chunk)
                budget.hold_nested(len(chunk), shown)
                buffer.write(chunk)
            try:
                return _archive_hash(buffer, budget, depth=depth + 1, where=where + info.orig_filename + "!/")
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
