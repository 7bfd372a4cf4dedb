"""Re-collection cache files (`drift collect --cache`) as tests read, forge and damage them.

A cache file's entries are binary columns (`drift.collect.cachefile`): these helpers give its header and its entries as plain
values, each entry as a list `[dev, ino, size, mtime_ns, ctime_ns, sha256, content_sha256]`, and write a
file from them with a checksum that holds, so that a test reaches the checks that come after it.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from drift.collect.cachefile import FORMAT, KEY, dumps, parse


def header(path: Path) -> dict[str, Any]:
    """The JSON header of the cache file at `path`."""
    lines = path.read_bytes().split(b"\n", 2)
    doc: dict[str, Any] = json.loads(lines[1])
    return doc


def entries(path: Path) -> dict[str, list[Any]]:
    """The entries of the cache file at `path`, by path (read through drift's own parser: it must load)."""
    table, _ = parse(path.read_bytes(), header(path)["algorithm"])
    return {rel: _plain(table.entry(row)) for row, rel in enumerate(table.paths)}


def text(path: Path) -> str:
    """What the cache file at `path` spells out (its hex hashes and paths among it), for a search."""
    return path.read_bytes().decode("utf-8", errors="replace")


def write(path: Path, found: dict[str, list[Any]], *, algorithm: str, remembered: Any = None) -> None:
    """A cache file at `path` holding `found` (entries as `entries` gives them), as drift would write it."""
    path.write_bytes(dumps(algorithm, {rel: _packed(value) for rel, value in found.items()}, remembered))


def write_raw(path: Path, head: Any, parts: dict[str, bytes], *, first: bytes | None = None) -> None:
    """A cache file at `path` of any header and any columns (`parts`, as `columns` gives them), its checksum right."""
    body = json.dumps(head).encode("utf-8") + b"\n" + b"".join(parts[name] for name in ("keys", "sizes", "shas", "contents", "paths"))
    path.write_bytes((first or f"{FORMAT} crc32:{zlib.crc32(body):08x}".encode()) + b"\n" + body)


def columns(found: dict[str, list[Any]]) -> dict[str, bytes]:
    """The columns of `found` as a cache file holds them, by name (a test spoils one and writes them)."""
    paths = sorted(found)
    rows = [_packed(found[rel]) for rel in paths]
    return {
        "keys": b"".join(row[0] for row in rows),
        "sizes": struct.pack(f"<{len(rows)}Q", *(row[1] for row in rows)),
        "shas": "".join(row[2] for row in rows).encode("ascii"),
        "contents": b"".join(struct.pack("<I64s", at, row[3].encode("ascii")) for at, row in enumerate(rows) if row[3] is not None),
        "paths": "\n".join(paths).encode("utf-8", "surrogatepass"),
    }


def _packed(value: list[Any]) -> tuple[bytes, int, str, str | None]:
    dev, ino, size, mtime_ns, ctime_ns, sha, content = value
    return KEY.pack(dev, ino, mtime_ns, ctime_ns), size, sha, content


def _plain(entry: tuple[bytes, int, str, str | None]) -> list[Any]:
    key, size, sha, content = entry
    dev, ino, mtime_ns, ctime_ns = KEY.unpack(key)
    return [dev, ino, size, mtime_ns, ctime_ns, sha, content]
