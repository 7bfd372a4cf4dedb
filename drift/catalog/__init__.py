"""The fix catalog (SPEC 3): product lines, release manifests and fixes."""

from drift.catalog.load import load_catalog
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
