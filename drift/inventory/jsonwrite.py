"""The JSON inventory, `drift-inventory/1`, written (`drift.inventory.jsonfile` reads it).

Layout: one JSON object; its members in a fixed order, each list item on a line of its own (keys sorted,
UTF-8), the files last, and last of all the line ` "digest": "sha256:<hex>"`. The digest is the SHA-256 of
every byte of the file before that line, so any later change is detected, and anyone can check it without
drift: `head -n -2 402206.json | sha256sum`.

The collector imports this module and not the reader: what it writes needs nothing of what reading checks.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from drift.inventory.model import ConfigValue, FileRecord, Link, Skipped, Unreadable

FORMAT = "drift-inventory/1"
MAX_PATTERN = 1000
"""Characters in one recorded `--exclude` pattern."""


class FileColumns(Protocol):
    """Files held as columns, in path order (a re-collection's cache: `drift.collect.cachefile.Table`): row
    `i` is the file at `paths[i]`, of `sizes[i]` bytes, whose sha256 is `shas[64 * i : 64 * i + 64]` and
    content hash `contents.get(i)`."""

    @property
    def paths(self) -> Sequence[str]: ...
    @property
    def sizes(self) -> Sequence[int]: ...
    @property
    def shas(self) -> str: ...
    @property
    def contents(self) -> Mapping[int, str]: ...


def dumps_inventory(
    *,
    tenant: str,
    collected_at: str,
    collector: str,
    content_hash: str,
    files: Mapping[str, FileRecord],
    config: list[ConfigValue],
    unreadable: list[Unreadable],
    links: Collection[Link] = (),
    skipped: Collection[Skipped] = (),
    changed_during_collection: bool = False,
    content_errors: Collection[Unreadable] = (),
    excluded: Collection[str] = (),
    columns: FileColumns | None = None,
    rows: Sequence[int] = (),
) -> bytes:
    """The inventory document, digest included, in its one canonical layout: the bytes to write.

    The files are `files` and, besides them, the `rows` of `columns` (ascending), written from the columns
    without a record each (a re-collection's cached files, most of its files). A path in both is listed
    once, as `files` has it.

    The files come last, thousands of lines, each with the `,\\n` after it: the document is joined once and
    encoded once (each copy of a large document costs a fresh process a page fault every 4 KB)."""
    members: list[tuple[str, Any]] = [
        ("format", FORMAT),
        ("tenant", tenant),
        ("collected_at", collected_at),
        ("collector", collector),
        ("content_hash", content_hash),
        ("changed_during_collection", changed_during_collection),
        ("excluded", sorted(set(excluded))),
        ("config", [{"file": c.file, "key": c.key, "value": c.value} for c in sorted(config, key=lambda c: (c.file, c.key))]),
        ("unreadable", [{"path": u.path, "reason": u.reason} for u in sorted(unreadable, key=lambda u: u.path)]),
        ("links", [{"outside": k.outside, "path": k.path, "target": k.target} for k in sorted(links, key=lambda k: k.path)]),
        ("skipped", [{"kind": k.kind, "path": k.path} for k in sorted(skipped, key=lambda k: k.path)]),
        ("content_errors", [{"path": c.path, "reason": c.reason} for c in sorted(content_errors, key=lambda c: c.path)]),
    ]
    parts = ["{\n"]
    for name, value in members:
        if isinstance(value, list) and value:
            items = ",\n".join("  " + _dump(item) for item in value)
            parts.append(f" {_dump(name)}: [\n{items}\n ],\n")
        else:
            parts.append(f" {_dump(name)}: {_dump(value)},\n")
    order = sorted(files)
    lines = _file_lines(files, order)
    if columns is not None and rows:
        lines = _merged(lines, order, columns, rows)
    if lines:
        lines[-1] = lines[-1][:-2] + "\n"  # the last without its comma
        parts.append(' "files": [\n')
        parts += lines
        parts.append(" ],\n")
    else:
        parts.append(' "files": [],\n')
    body = "".join(parts).encode("utf-8")
    return body + f' "digest": "sha256:{hashlib.sha256(body).hexdigest()}"\n}}\n'.encode("ascii")


def _file_lines(files: Mapping[str, FileRecord], order: list[str]) -> list[str]:
    """The lines of `files` in the order of their paths `order` (`_file_line`), each followed by `,\\n`; a file
    without a content hash, most of them, written in place (a call a file would cost a large inventory a third
    more)."""
    return [
        f'  {{"path": {_quoted(path)}, "sha256": "{record[1]}", "size": {record[0]}}},\n' if record[2] is None else f"{_file_line(path, record)},\n"
        for path, record in zip(order, map(files.__getitem__, order))
    ]


def _row_lines(columns: FileColumns, rows: Sequence[int]) -> list[str]:
    """The lines of `rows` of `columns`, as `_file_lines` writes them."""
    paths, sizes, shas, contents = columns.paths, columns.sizes, columns.shas, columns.contents
    return [
        f'  {{"path": {_quoted(paths[row])}, "sha256": "{shas[row * 64 : row * 64 + 64]}", "size": {sizes[row]}}},\n' if row not in contents
        else f"{_file_line(paths[row], FileRecord(sizes[row], shas[row * 64 : row * 64 + 64], contents[row]))},\n"
        for row in rows
    ]


def _merged(lines: list[str], order: list[str], columns: FileColumns, rows: Sequence[int]) -> list[str]:
    """The lines of `rows` of `columns` with `lines` (of the paths `order`, sorted) put in path order among
    them, a row whose path `order` holds left out."""
    theirs = _row_lines(columns, rows)
    if not lines:
        return theirs
    paths = list(map(columns.paths.__getitem__, rows))
    out: list[str] = []
    taken = 0  # rows placed so far
    for path, line in zip(order, lines):
        at = bisect.bisect_left(paths, path, taken)
        out += theirs[taken:at]
        out.append(line)
        taken = at + 1 if at < len(paths) and paths[at] == path else at
    out += theirs[taken:]
    return out


def _file_line(path: str, record: FileRecord) -> str:
    """One file's line: `"  " + _dump({...})` of its path, sha256, size and content hash, written without building
    the dict (the keys in `_dump`'s sorted order)."""
    content = f', "content_sha256": "{record.content_sha256}"' if record.content_sha256 is not None else ""
    return f'  {{{content[2:]}{", " if content else ""}"path": {_quoted(path)}, "sha256": "{record.sha256}", "size": {record.size}}}'


_quoted: Callable[[str], str] = json.encoder.encode_basestring
"""A string as `_dump` writes it (what `json.dumps(s, ensure_ascii=False)` calls), without its setup."""


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
