"""What `drift collect` needs of a catalog, without loading the whole of it.

A collection needs the config keys of the fixes' config checks, read here from the fix files as a scan
reads them (`drift.catalog.load.load_config_keys`: never a key missed), and the sha256 of the catalogued
archives, found in the release manifests' lines by `drift.collect.catalogkeys` (a manifest in another
layout is read with YAML). The release manifests, most of a catalog, are never parsed whole.
"""

from __future__ import annotations

from pathlib import Path

from drift.catalog.load import load_config_keys
from drift.collect.catalogkeys import catalog_archive_hashes


def collector_needs(catalog_dir: Path) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """The (config file, key) pairs the catalog's fixes check, and the sha256 of its archives that have a
    content hash (whose content hash a collection then need not compute)."""
    return load_config_keys(catalog_dir), catalog_archive_hashes(catalog_dir, _archive_hashes)


def _archive_hashes(path: Path) -> set[str]:
    """The sha256 of the files a release manifest in any YAML layout lists with a content hash."""
    from drift.yamlio import load_yaml

    doc = load_yaml(path)
    files = doc.get("files") if isinstance(doc, dict) else None
    return {
        item["sha256"] for item in files or () if isinstance(item, dict)
        and isinstance(item.get("sha256"), str) and isinstance(item.get("content_sha256"), str)
    } if isinstance(files, list) else set()
