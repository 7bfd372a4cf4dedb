"""The fix catalog (SPEC 3): product lines, release manifests and fixes.

`load_catalog` is imported when first used: a collection reads a catalog's config keys without it (and
without PyYAML's load time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drift.catalog.model import (
    Applicability,
    Catalog,
    ConfigCheck,
    FileEntry,
    Fix,
    Release,
    ReleaseFile,
    Variant,
)

if TYPE_CHECKING:
    from drift.catalog.load import load_catalog

__all__ = [
    "Applicability",
    "Catalog",
    "ConfigCheck",
    "FileEntry",
    "Fix",
    "Release",
    "ReleaseFile",
    "Variant",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    if name == "load_catalog":
        from drift.catalog.load import load_catalog

        return load_catalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
