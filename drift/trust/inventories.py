"""The municipality's signature on an inventory (`drift collect --sign KEYFILE`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from drift.inventory.readers import read_inventory
from drift.trust.envelope import sign, write_signature
from drift.trust.keys import SigningKey
from drift.trust.statement import inventory_statement, now_utc
from drift.trust.verify import file_sha256


def sign_inventory(path: Path, key: SigningKey, now: dt.datetime | None = None) -> Path:
    """Sign the inventory at `path` (read and verified first): `<path>.sig`, vouching for its bytes, its
    tenant, collection time, collector and exclusions."""
    inventory = read_inventory(path)
    fields = {"tenant": inventory.tenant, "collected_at": inventory.collected_at, "collector": inventory.collector, "excluded": inventory.excluded}
    return write_signature(path, inventory_statement(path.name, file_sha256(path), fields, now_utc(now)), key)


def inventory_signature(name: str, data: bytes, key: SigningKey, now: dt.datetime | None = None) -> bytes:
    """The signature file of an inventory named `name` whose bytes are `data` (one the collector just made,
    not yet written: the signature is written first, so that no inventory is ever left without the signature
    it was meant to have)."""
    fields = json.loads(data.decode("utf-8"))
    return sign(inventory_statement(name, hashlib.sha256(data).hexdigest(), fields, now_utc(now)), key)
