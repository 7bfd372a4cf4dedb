"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`.

`content` specifies and computes the hash; `zipread` reads a zip safely; `limits` holds the bounds on hostile
archives (patch `drift.collect.archive.limits.NAME` to lower one); `errors` the exceptions; `names` which
files get a content hash. All but `names` are loaded when first used (`zipfile` with them): a
re-collection that inflates no archive never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from drift.collect.archive.names import ALGORITHM, ARCHIVE_SUFFIXES, is_archive_name

if TYPE_CHECKING:
    from drift.collect.archive import limits
    from drift.collect.archive.content import (
        MANIFEST,
        VOLATILE_ATTRIBUTES,
        content_sha256,
        content_sha256_bytes,
        content_sha256_fd,
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


def __getattr__(name: str) -> Any:
    """The names of `content`, `errors` and `limits`, loaded when first asked for."""
    if name == "limits":
        return importlib.import_module("drift.collect.archive.limits")
    if name in ("ArchiveError", "ArchiveRefused"):
        return getattr(importlib.import_module("drift.collect.archive.errors"), name)
    if name in __all__:
        return getattr(importlib.import_module("drift.collect.archive.content"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
