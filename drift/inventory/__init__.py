"""Inventories (SPEC 4): what was collected from one tenant's deploy root, and how it is read and written."""

from drift.inventory.model import ConfigValue, FileRecord, Inventory, Link, Skipped, Unreadable
from drift.inventory.readers import READERS, find_inventory, read_inventory

__all__ = [
    "READERS", "ConfigValue", "FileRecord", "Inventory", "Link", "Skipped", "Unreadable", "find_inventory", "read_inventory",
]
