"""What `drift collect` needs of a catalog, without loading the whole of it.

A collection needs the config keys of the fixes' config checks and the sha256 of the catalogued archives
(`drift.collect.catalogkeys`, which reads the layout `drift catalog build` writes with the standard library
alone). Files written in another layout are read here with YAML instead, so that `drift collect`, unlike the
one-file collector, takes any valid catalog without missing a key.
"""

from __future__ import annotations

from pathlib import Path

from drift.collect.catalogkeys import catalog_archive_hashes, catalog_config_keys
from drift.errors import InputError


def collector_needs(catalog_dir: Path) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """The (config file, key) pairs the catalog's fixes check, and the sha256 of its archives that have a
    content hash (whose content hash a collection then need not compute)."""
    try:
        keys = catalog_config_keys(catalog_dir)
    except InputError:  # fix files in another layout: read them all, as a scan would
        from drift.catalog.load import load_catalog

        keys = load_catalog(catalog_dir).config_keys()
    return keys, catalog_archive_hashes(catalog_dir, _archive_hashes)


def _archive_hashes(path: Path) -> set[str]:
    """The sha256 of the files a release manifest in any YAML layout lists with a content hash."""
    from drift.yamlio import load_yaml

    doc = load_yaml(path)
    files = doc.get("files") if isinstance(doc, dict) else None
    return {
        item["sha256"] for item in files or () if isinstance(item, dict)
        and isinstance(item.get("sha256"), str) and isinstance(item.get("content_sha256"), str)
    } if isinstance(files, list) else set()
