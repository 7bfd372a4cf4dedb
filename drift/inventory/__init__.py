"""Inventories (SPEC 4): what was collected from one tenant's deploy root, and how it is read and written.

The readers load when first asked for: `drift collect` writes an inventory and never reads one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drift.inventory.model import ConfigValue, FileRecord, Inventory, Link, Skipped, Unreadable

if TYPE_CHECKING:
    from drift.inventory.readers import READERS, find_inventory, read_inventory

__all__ = [
    "READERS", "ConfigValue", "FileRecord", "Inventory", "Link", "Skipped", "Unreadable", "find_inventory", "read_inventory",
]
_READERS = ("READERS", "find_inventory", "read_inventory")


def __getattr__(name: str) -> Any:
    if name in _READERS:
        from drift.inventory import readers

        return getattr(readers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
