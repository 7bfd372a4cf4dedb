"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`.

The algorithm, exactly:

1. Read the archive's central directory. Directory entries (names ending in `/`) are left out.
2. For each remaining entry, its entry hash is the SHA-256 of its uncompressed bytes, except:
   - `META-INF/MANIFEST.MF`: the bytes are first normalised: line ends become `\\n`, continuation lines are
     joined, and the attributes Built-By, Build-Jdk, Build-Jdk-Spec, Created-By, Build-Time, Build-Date
     and Bnd-LastModified (names compared without regard to case) are dropped from every section;
   - an entry whose name ends in `.jar .war .ear .zip` (any case) is hashed as an archive itself, by this
     same algorithm, recursively, when it opens as a zip; otherwise by its bytes.
3. The records `<entry name> NUL <entry hash in hex> LF`, UTF-8 encoded, are sorted bytewise and
   concatenated; `content-sha256` is the SHA-256 of that.

Timestamps, compression levels, entry order and other zip metadata therefore do not count: a jar rebuilt
from the same classes at another time has the same content hash.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import struct
import zipfile
import zlib
from typing import IO

ALGORITHM = "drift-content/1"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".zip")
VOLATILE_ATTRIBUTES = frozenset(
    name.lower()
    for name in ("Built-By", "Build-Jdk", "Build-Jdk-Spec", "Created-By", "Build-Time", "Build-Date", "Bnd-LastModified")
)
MANIFEST = "META-INF/MANIFEST.MF"
MAX_NESTING = 8
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive cannot be content-hashed (corrupt, hostile or too deep); the message is the reason."""


# What zipfile and its decompressors raise on corrupt or unsupported input (zlib.error for a damaged deflate
# stream, NotImplementedError for an unknown zip version or method, struct.error for short headers, ...).
_ZIP_ERRORS = (
    zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
    zlib.error, lzma.LZMAError, struct.error,
)


def is_archive_name(name: str) -> bool:
    """True for the names whose files get a content hash."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def normalise_manifest(data: bytes) -> bytes:
    """A manifest's bytes with line ends unified, continuations joined and volatile attributes dropped."""
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    logical: list[bytes] = []
    for line in text.split(b"\n"):
        if line.startswith(b" ") and logical:
            logical[-1] += line[1:]
        else:
            logical.append(line)
    kept = [line for line in logical if line.split(b":", 1)[0].strip().lower().decode("utf-8", "replace") not in VOLATILE_ATTRIBUTES]
    return b"\n".join(kept)


def content_sha256(stream: IO[bytes], *, depth: int = 0) -> str:
    """The content hash, in hex, of the zip archive readable from `stream` (seekable).

    Raises `ArchiveError` with the reason when the archive cannot be read as a zip.
    """
    if depth > MAX_NESTING:
        raise ArchiveError(f"archives nested deeper than {MAX_NESTING}")
    try:
        archive = zipfile.ZipFile(stream)
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from exc
    records: list[bytes] = []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                digest = _entry_hash(archive, info, depth)
            except _ZIP_ERRORS as exc:
                raise ArchiveError(f"entry {info.filename!r} cannot be read: {exc}") from exc
            records.append(info.filename.encode("utf-8") + b"\0" + digest.encode("ascii") + b"\n")
    records.sort()
    return hashlib.sha256(b"".join(records)).hexdigest()


def content_sha256_bytes(data: bytes) -> str:
    """The content hash, in hex, of a zip archive held in memory."""
    return content_sha256(io.BytesIO(data))


def _entry_hash(archive: zipfile.ZipFile, info: zipfile.ZipInfo, depth: int) -> str:
    if info.filename == MANIFEST:
        return hashlib.sha256(normalise_manifest(archive.read(info))).hexdigest()
    if is_archive_name(info.filename):
        data = archive.read(info)
        try:
            return content_sha256(io.BytesIO(data), depth=depth + 1)
        except ArchiveError:
            return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with archive.open(info) as entry:
        while chunk := entry.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
