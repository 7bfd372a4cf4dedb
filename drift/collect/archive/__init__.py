"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`.

`content` specifies and computes the hash; `zipread` reads a zip safely; `limits` holds the bounds on hostile
archives (patch `drift.collect.archive.limits.NAME` to lower one); `errors` the exceptions.
"""

from __future__ import annotations

from drift.collect.archive import limits
from drift.collect.archive.content import (
    ALGORITHM,
    ARCHIVE_SUFFIXES,
    MANIFEST,
    VOLATILE_ATTRIBUTES,
    content_sha256,
    content_sha256_bytes,
    content_sha256_fd,
    is_archive_name,
    normalise_manifest,
)
from drift.collect.archive.errors import ArchiveError, ArchiveRefused

__all__ = [
    "ALGORITHM",
    "ARCHIVE_SUFFIXES",
    "MANIFEST",
    "VOLATILE_ATTRIBUTES",
    "ArchiveError",
    "ArchiveRefused",
    "content_sha256",
    "content_sha256_bytes",
    "content_sha256_fd",
    "is_archive_name",
    "limits",
    "normalise_manifest",
]
