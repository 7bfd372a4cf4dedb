"""Inventory readers by file suffix, and finding a tenant's inventory in the inventory folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drift.errors import InventoryError
from drift.inventory.filehash import SUFFIX as FILEHASH_SUFFIX
from drift.inventory.filehash import read_filehash
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.model import Inventory
from drift.inventory.sha256sum import read_sha256sum
from drift.text import shown

READERS: dict[str, Callable[[Path], Inventory]] = {
    ".json": read_json_inventory,
    ".sha256": read_sha256sum,
    FILEHASH_SUFFIX: read_filehash,
}
"""File name ending → reader. Each returns a verified `Inventory` or raises `InventoryError`."""


def suffix_of(path: Path) -> str | None:
    """The reader suffix the file's name ends with (the longest: `.hashes.csv` before any `.csv`), or None."""
    return next((s for s in sorted(READERS, key=len, reverse=True) if path.name.endswith(s) and len(path.name) > len(s)), None)


def tenant_of(path: Path) -> str | None:
    """The tenant id an inventory file's name gives (`402206.json`, `402206.hashes.csv`), or None."""
    suffix = suffix_of(path)
    return None if suffix is None else path.name[: -len(suffix)]


def find_inventory(folder: Path, tenant_id: str) -> Path | None:
    """The one inventory file of a tenant in `folder`, or None; two of them is an error."""
    found = [folder / f"{tenant_id}{suffix}" for suffix in READERS if (folder / f"{tenant_id}{suffix}").is_file()]
    if len(found) > 1:
        raise InventoryError(f"tenant {tenant_id} has {len(found)} inventories ({', '.join(p.name for p in found)}); keep one", source=folder)
    return found[0] if found else None


def read_inventory(path: Path, tenant_id: str | None = None) -> Inventory:
    """Read one inventory by its suffix; when `tenant_id` is given, the inventory must be that tenant's."""
    suffix = suffix_of(path)
    reader = None if suffix is None else READERS[suffix]
    if reader is None:
        raise InventoryError(f"unknown inventory type {shown(path.suffix)} (known: {', '.join(READERS)})", source=path)
    inventory = reader(path)
    if tenant_id is not None and inventory.tenant != tenant_id:
        raise InventoryError(f"inventory is of tenant {shown(inventory.tenant)}, not {shown(tenant_id)}", source=path, where="tenant")
    return inventory
