"""A plain `sha256sum` listing as an inventory, so a tenant can be audited without installing anything.

Each line is `<64 hex>  <path>` (or `<64 hex> *<path>`, binary mode); a leading `./` on paths is dropped,
and GNU's escaped lines (starting with a backslash) are unescaped. The digest is the SHA-256 of the
listing's bytes. Such a listing has no sizes, no content hashes and no config values: config checks are
`unreadable`, and a jar rebuilt locally is `modified`, not matched by content.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from drift.errors import InventoryError
from drift.inventory.filetable import FileTable
from drift.inventory.model import FileRecord, Inventory
from drift.paths import MAX_INPUT, check_relpath, read_regular
from drift.text import shown

_LINE = re.compile(r"(\\?)([0-9a-fA-F]{64}) [ *](.+)")
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"\\": "\\", "n": "\n", "r": "\r"}


def listing_text(path: Path, encoding: str = "utf-8") -> tuple[bytes, str]:
    """A listing's bytes (its digest is theirs) and its text; unreadable or not UTF-8 is an `InventoryError`."""
    try:
        data = read_regular(path, MAX_INPUT)
    except OSError as exc:
        raise InventoryError(f"cannot read: {exc.strerror or exc}", source=path) from exc
    try:
        return data, data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InventoryError(f"not UTF-8 at byte {exc.start}", source=path) from exc


def read_sha256sum(path: Path) -> Inventory:
    """Read a `sha256sum` listing named `<tenant-id>.sha256`."""
    data, text = listing_text(path)
    files: dict[str, FileRecord] = {}
    # Lines end at LF only (a CR before it is dropped): str.splitlines would also split names at U+2028 and the like.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise InventoryError("expected '<64 hex>  <path>'", source=path, where=f"line {number}")
        escaped, digest, name = match.groups()
        if escaped:
            name = _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), name)
        name = name.removeprefix("./")
        check_relpath(name, source=path, where=f"line {number}", error=InventoryError)
        if name in files:
            raise InventoryError(f"path {shown(name)} listed twice", source=path, where=f"line {number}")
        files[name] = FileRecord(None, digest.lower(), None)
    return listing_inventory(path, path.stem, "sha256sum", data, files)


def listing_inventory(path: Path, tenant: str, collector: str, data: bytes, files: dict[str, FileRecord]) -> Inventory:
    """The inventory a plain listing gives: files with their sha256 alone, no time, no config values; its
    digest (and whole-file hash) that of the listing's bytes."""
    whole = hashlib.sha256(data).hexdigest()
    return Inventory(
        tenant=tenant, collected_at=None, collector=collector, files=FileTable.of(files), config={}, unreadable={},
        digest=f"sha256:{whole}", file_sha256=whole, source=str(path), proves_absence=False,
    )
