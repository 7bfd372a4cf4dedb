"""A PowerShell `Get-FileHash` listing as an inventory, so that a Windows server can be audited with nothing
but PowerShell (`<tenant-id>.hashes.csv`, written in the deploy root's folder):

    Get-ChildItem -Recurse -File -Force | Get-FileHash -Algorithm SHA256 |
      Select-Object Hash, @{n='Path'; e={Resolve-Path -Relative $_.Path}} |
      Export-Csv -NoTypeInformation -Encoding UTF8 402206.hashes.csv

A CSV with a header row naming `Hash` and `Path` (an `Algorithm` column, when there, must say SHA256; other
columns are ignored), a UTF-8 byte order mark allowed. Paths are relative to the deploy root: `\\` becomes
`/`, a leading `.\\` is dropped, case is kept; a drive (`C:`), a rooted or UNC path, or `..` is refused,
naming the line, and so are two paths that differ only in case (one file on Windows), a name ending in a
dot or a space or holding a character Windows never lists (`:*?"<>|`: `x.java::$DATA` is a stream of
`x.java`), a header naming a column twice, and a row the csv module cannot read. Like a `sha256sum` listing it has no sizes, content hashes or config values; its digest is
the SHA-256 of the file's bytes.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from drift.errors import InventoryError
from drift.inventory.model import FileRecord, Inventory
from drift.inventory.sha256sum import listing_inventory, listing_text
from drift.paths import check_relpath
from drift.text import shown

SUFFIX = ".hashes.csv"
"""The file name's ending: `<tenant-id>.hashes.csv`."""
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
_NOT_WINDOWS = re.compile(r'[:*?"<>|]')


def read_filehash(path: Path) -> Inventory:
    """Read a `Get-FileHash` CSV named `<tenant-id>.hashes.csv`."""
    data, text = listing_text(path, "utf-8-sig")  # Export-Csv -Encoding UTF8 writes a byte order mark
    rows = csv.reader(io.StringIO(text, newline=""))
    header = _row(rows, path)
    if header is None:
        raise InventoryError("empty: expected a header row with Hash and Path", source=path, where="line 1")
    names = [h.strip().lower() for h in header]
    if "hash" not in names or "path" not in names:
        raise InventoryError("the header row must name the columns Hash and Path (Get-FileHash | Export-Csv)", source=path, where="line 1")
    twice = sorted({n for n in names if names.count(n) > 1 and n in ("hash", "path", "algorithm")})
    if twice:
        raise InventoryError(f"the header row names {twice[0].capitalize()} twice", source=path, where="line 1")
    at_hash, at_path = names.index("hash"), names.index("path")
    at_algorithm = names.index("algorithm") if "algorithm" in names else None
    files: dict[str, FileRecord] = {}
    folded: dict[str, str] = {}
    while (row := _row(rows, path)) is not None:
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"line {rows.line_num}"  # the row's last line: a quoted cell may hold line breaks
        if len(row) != len(header):
            raise InventoryError(f"{len(row)} cells, the header has {len(header)}", source=path, where=where)
        if at_algorithm is not None and row[at_algorithm].strip().upper() != "SHA256":
            raise InventoryError(f"algorithm {shown(row[at_algorithm])}: only SHA256 hashes can be matched", source=path, where=where)
        digest = row[at_hash].strip()
        if not _HEX.fullmatch(digest):
            raise InventoryError(f"not a SHA-256 hash: {shown(digest)}", source=path, where=where)
        name = _relative(row[at_path], path, where)
        if name in files:
            raise InventoryError(f"path {shown(name)} listed twice", source=path, where=where)
        other = folded.setdefault(name.casefold(), name)
        if other != name:  # one file on Windows, whose names ignore case: a listing of it cannot hold both
            raise InventoryError(f"path {shown(name)} is {shown(other)} in another case: listed twice", source=path, where=where)
        files[name] = FileRecord(None, digest.lower(), None)
    return listing_inventory(path, path.name[: -len(SUFFIX)], "Get-FileHash", data, files)


def _row(rows: Any, path: Path) -> list[str] | None:
    """The next row, or None at the end; a row the csv module cannot read is an error naming its line."""
    try:
        return next(rows, None)
    except csv.Error as exc:  # a cell over the field size limit, a NUL, an unterminated quote
        raise InventoryError(f"not a CSV row: {shown(str(exc))}", source=path, where=f"line {rows.line_num}") from None


def _relative(raw: str, path: Path, where: str) -> str:
    """A Windows path relative to the deploy root as an inventory path; anything rooted is refused."""
    if raw.startswith(("\\", "/")) or _DRIVE.match(raw):
        raise InventoryError(f"path {shown(raw)} is absolute (a drive, a root or a share): write paths relative to the deploy root "
                             "(Resolve-Path -Relative)", source=path, where=where)
    if _NOT_WINDOWS.search(raw):
        raise InventoryError(f"path {shown(raw)} holds a character Windows never lists in a name (a `:` names a stream of a file)",
                             source=path, where=where)
    name = raw.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    name = check_relpath(name, source=path, where=where, error=InventoryError)
    if any(part.endswith((".", " ")) for part in name.split("/")):  # Windows drops them: another name for another file
        raise InventoryError(f"path {shown(name)} has a name ending in a dot or a space, which Windows never lists", source=path, where=where)
    return name
