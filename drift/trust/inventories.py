"""The municipality's signature on an inventory (`drift collect --sign KEYFILE`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from drift.inventory.readers import read_inventory
from drift.trust.envelope import INVENTORY, Statement, now_utc, write_signature
from drift.trust.keys import SigningKey
from drift.trust.verify import file_sha256


def sign_inventory(path: Path, key: SigningKey, now: dt.datetime | None = None) -> Path:
    """Sign the inventory at `path` (read and verified first): `<path>.sig`, vouching for its bytes, its
    tenant, collection time, collector and exclusions."""
    inventory = read_inventory(path)
    predicate = {
        "tenant": inventory.tenant,
        "collected_at": inventory.collected_at,
        "collector": inventory.collector,
        "excluded": list(inventory.excluded),
        "signed_at": now_utc(now),
    }
    return write_signature(path, Statement(INVENTORY, path.name, file_sha256(path), predicate), key)
