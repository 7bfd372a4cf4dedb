"""The JSON inventory, `drift-inventory/1`, read: its digest verified and every field checked (the layout
`drift collect` writes it in is `drift.inventory.jsonwrite`'s)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from itertools import compress, filterfalse, repeat
from operator import is_not, itemgetter
from pathlib import Path
from typing import Any

from drift.errors import InventoryError
from drift.inventory import filelines
from drift.inventory.filetable import DuplicatePathError, FileTable, file_record
from drift.inventory.jsonwrite import FORMAT, MAX_PATTERN
from drift.inventory.model import ConfigValue, FileRecord, Inventory, Link, Skipped, Unreadable
from drift.paths import MAX_INPUT, check_paths, check_relpath, read_regular
from drift.text import shown

_DIGEST_LINE = re.compile(rb'(?:\r?\n) "digest": "sha256:([0-9a-f]{64})"\r?\n\}\r?\n?\Z')
_MEMBERS = ("format", "tenant", "collected_at", "collector", "content_hash", "config", "unreadable", "files", "digest")
_OPTIONAL = ("changed_during_collection", "excluded", "links", "skipped", "content_errors")
"""Members added after the first inventories were written: absent means false / none."""
SKIPPED_KINDS = ("fifo", "socket", "block-device", "char-device", "other")


def read_json_inventory(path: Path) -> Inventory:
    """Read a JSON inventory, verify its digest, validate every field."""
    try:
        data = read_regular(path, MAX_INPUT)
    except OSError as exc:
        raise InventoryError(f"cannot read: {exc.strerror or exc}", source=path) from exc
    tail_at = max(len(data) - 160, 0)
    match = _DIGEST_LINE.search(data, tail_at)
    if match is None:
        raise InventoryError("no digest line at the end: not a drift inventory, or cut short", source=path, where="digest")
    end = match.end(0) - len(match.group(0).lstrip(b"\r\n"))
    hasher = hashlib.sha256(memoryview(data)[:end])
    if hasher.hexdigest() != match.group(1).decode():
        raise InventoryError("digest does not verify: the inventory was changed after collection", source=path, where="digest")
    digest = "sha256:" + match.group(1).decode()
    hasher.update(memoryview(data)[end:])  # the whole file's, for its signature: no second read
    whole = hasher.hexdigest()
    cut = filelines.split(data)
    if cut is not None:  # the canonical layout: most lines were most likely read before
        files = filelines.files_of(cut)
        if files is not None:
            try:
                doc = json.loads(cut.without_files())
            except (ValueError, RecursionError):
                doc = _loads(data, path)  # invalid: the message must be the whole document's, as read the long way
            return _inventory(doc, path, digest, files, whole)
    inventory = _inventory(_loads(data, path), path, digest, file_sha256=whole)
    if cut is not None:
        filelines.learn(cut)
    return inventory


def _loads(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer too long to convert
        raise InventoryError(f"invalid JSON: {exc}", source=path) from exc
    except RecursionError as exc:
        raise InventoryError("invalid JSON: nested too deeply", source=path) from exc


def _inventory(doc: Any, path: Path, digest: str, known_files: FileTable | None = None, file_sha256: str = "") -> Inventory:
    """The inventory of a parsed document, every field checked; `known_files` are its files when they were
    read from lines seen before (`drift.inventory.filelines`), its files list then being empty."""
    if not isinstance(doc, dict):
        raise InventoryError("must be a JSON object", source=path)
    for key in doc:
        if key not in _MEMBERS and key not in _OPTIONAL:
            raise InventoryError("unknown key", source=path, where=key)
    for key in _MEMBERS:
        if key not in doc:
            raise InventoryError("required field is missing", source=path, where=key)
    if doc["format"] != FORMAT:
        raise InventoryError(f"unknown format {shown(doc['format'])}, expected {shown(FORMAT)}", source=path, where="format")
    for key in ("tenant", "collected_at", "collector", "content_hash"):
        if not isinstance(doc[key], str):
            raise InventoryError("must be a string", source=path, where=key)
    check_collected_at(doc["collected_at"], source=path)
    check_collector(doc["collector"], source=path)
    raw_files = _list(doc, "files", path)
    files: FileTable | None = known_files if known_files is not None and not raw_files else _files_fast(raw_files, path)
    if files is None:
        files = _files_checked(raw_files, path)
    unreadable: dict[str, Unreadable] = {}
    raw_unreadable = _list(doc, "unreadable", path)
    check_paths([u["path"] if isinstance(u, dict) and isinstance(u.get("path"), str) else "" for u in raw_unreadable], source=path, field="unreadable", error=InventoryError)
    for i, item in enumerate(raw_unreadable):
        if set(item) != {"path", "reason"} or not isinstance(item["reason"], str):
            raise InventoryError("needs exactly a path and a reason", source=path, where=f"unreadable[{i}]")
        _text(item["reason"], path, f"unreadable[{i}].reason")
        unreadable[item["path"]] = Unreadable(item["path"], item["reason"])
    config: dict[tuple[str, str], ConfigValue] = {}
    for i, item in enumerate(_list(doc, "config", path)):
        if not isinstance(item, dict) or set(item) != {"file", "key", "value"}:
            raise InventoryError("needs exactly a file, a key and a value", source=path, where=f"config[{i}]")
        if not isinstance(item["file"], str) or not isinstance(item["key"], str) or not isinstance(item["value"], (str, type(None))):
            raise InventoryError("file and key must be strings, value a string or null", source=path, where=f"config[{i}]")
        for field in ("key", "value"):
            _text(item[field], path, f"config[{i}].{field}")
        check_relpath(item["file"], source=path, where=f"config[{i}].file", error=InventoryError)
        config[(item["file"], item["key"])] = ConfigValue(item["file"], item["key"], item["value"])
    changed = doc.get("changed_during_collection", False)
    if not isinstance(changed, bool):
        raise InventoryError("must be true or false", source=path, where="changed_during_collection")
    content_errors = _content_errors(doc.get("content_errors", []), path, files)
    links = _links(doc.get("links", []), path)
    skipped = _skipped(doc.get("skipped", []), path)
    excluded = _excluded(doc.get("excluded", []), path)
    _each_path_once(path, files=files, unreadable=unreadable, links=links, skipped=skipped)
    return Inventory(
        tenant=doc["tenant"],
        collected_at=doc["collected_at"],
        collector=doc["collector"],
        files=files,
        config=config,
        unreadable=unreadable,
        digest=digest,
        file_sha256=file_sha256,
        source=str(path),
        links=links,
        skipped=skipped,
        changed_during_collection=changed,
        content_errors=content_errors,
        excluded=excluded,
    )


_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|\+00:00)")
MAX_COLLECTOR = 100
"""Characters in the `collector` field: a program's name and version."""
MAX_PATTERNS = 1000
"""Recorded `--exclude` patterns: every fix file of a scan is matched against each."""


def check_collected_at(value: str, *, source: str | Path) -> None:
    """`collected_at` must be an RFC 3339 UTC time (`2023-06-14T01:30:00Z`): it reaches every output, so
    nothing else may stand there."""
    if _RFC3339_UTC.fullmatch(value) is None:
        raise InventoryError(f"must be an RFC 3339 UTC time such as 2023-06-14T01:30:00Z, not {shown(value)}", source=source, where="collected_at")
    try:
        dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InventoryError(f"not a valid time: {shown(value)}", source=source, where="collected_at") from exc


def check_collector(value: str, *, source: str | Path) -> None:
    """`collector` must be a short printable string (a program's name and version)."""
    if not value or len(value) > MAX_COLLECTOR or not value.isprintable():
        raise InventoryError(f"must be a printable string of 1 to {MAX_COLLECTOR} characters, not {shown(value)}", source=source, where="collector")


def _text(value: str | None, path: Path, where: str) -> None:
    """A string that is text: JSON can carry a lone surrogate (`\\ud800`), which no output can encode."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InventoryError(f"holds a lone surrogate at character {exc.start}: not text", source=path, where=where) from exc


def _excluded(raw: Any, path: Path) -> tuple[str, ...]:
    """The recorded `--exclude` patterns: printable strings."""
    if not isinstance(raw, list):
        raise InventoryError("must be a list", source=path, where="excluded")
    if len(raw) > MAX_PATTERNS:
        raise InventoryError(f"more than {MAX_PATTERNS} patterns ({len(raw):,})", source=path, where="excluded")
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item or len(item) > MAX_PATTERN or not item.isprintable():
            raise InventoryError(f"must be a printable pattern of 1 to {MAX_PATTERN} characters", source=path, where=f"excluded[{i}]")
    return tuple(raw)


def _content_errors(raw: Any, path: Path, files: Mapping[str, FileRecord]) -> dict[str, str]:
    """Archives listed with their sha256 but no content hash, and why (each must be a listed file)."""
    if not isinstance(raw, list):
        raise InventoryError("must be a list", source=path, where="content_errors")
    errors: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"content_errors[{i}]"
        if not isinstance(item, dict) or set(item) != {"path", "reason"} or not isinstance(item["reason"], str):
            raise InventoryError("needs exactly a path and a reason", source=path, where=where)
        _text(item["reason"], path, f"{where}.reason")
        if item["path"] not in files or files[item["path"]].content_sha256 is not None:
            raise InventoryError("must name a listed file without a content hash", source=path, where=f"{where}.path")
        errors[item["path"]] = item["reason"]
    return errors


def _links(raw: Any, path: Path) -> dict[str, Link]:
    items = _path_items(raw, path, "links", {"outside", "path", "target"}, "a path, a target and outside")
    for where, item in items.values():
        if not isinstance(item["target"], str) or not isinstance(item["outside"], bool):
            raise InventoryError("target must be a string, outside true or false", source=path, where=where)
        _text(item["target"], path, f"{where}.target")
    return {p: Link(p, item["target"], item["outside"]) for p, (_, item) in items.items()}


def _skipped(raw: Any, path: Path) -> dict[str, Skipped]:
    items = _path_items(raw, path, "skipped", {"kind", "path"}, f"a path and a kind ({', '.join(SKIPPED_KINDS)})")
    for where, item in items.values():
        if item["kind"] not in SKIPPED_KINDS:
            raise InventoryError(f"kind must be one of {', '.join(SKIPPED_KINDS)}", source=path, where=f"{where}.kind")
    return {p: Skipped(p, item["kind"]) for p, (_, item) in items.items()}


def _path_items(raw: Any, path: Path, section: str, keys: set[str], described: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The items of a list member keyed by path: each a mapping of exactly `keys`, its path inside the root,
    listed once. Returns path -> (where, item)."""
    if not isinstance(raw, list):
        raise InventoryError("must be a list", source=path, where=section)
    items: dict[str, tuple[str, dict[str, Any]]] = {}
    for i, item in enumerate(raw):
        where = f"{section}[{i}]"
        if not isinstance(item, dict) or set(item) != keys:
            raise InventoryError(f"needs exactly {described}", source=path, where=where)
        check_relpath(item["path"], source=path, where=f"{where}.path", error=InventoryError)
        if item["path"] in items:
            raise InventoryError(f"path {shown(item['path'])} listed twice", source=path, where=f"{where}.path")
        items[item["path"]] = (where, item)
    return items


def _each_path_once(path: Path, **sections: Mapping[str, object]) -> None:
    """A path is a file, an unreadable entry, a link or a skipped entry: never two of them."""
    names = list(sections)
    for i, small in enumerate(names[1:], start=1):  # files (the large one) comes first
        for key in sections[small]:
            for other in names[:i]:
                if key in sections[other]:
                    raise InventoryError(f"path {shown(key)} is listed in both {other} and {small}", source=path, where=small)


_PATH, _SHA256, _SIZE = itemgetter("path"), itemgetter("sha256"), itemgetter("size")


def _files_fast(raw_files: list[Any], path: Path) -> FileTable | None:
    """The files by path when every item is well formed, checked in a few C-level passes over all of them (a
    fleet scan reads millions); None when any item is not, so that `_files_checked` names it."""
    if not raw_files:
        return FileTable([], [], [], [])
    try:
        # One list per field (cheaper than transposing tuples); only archives have content_sha256.
        paths = list(map(_PATH, raw_files))
        shas = list(map(_SHA256, raw_files))
        sizes = list(map(_SIZE, raw_files))
        contents: list[str | None] = list(map(dict.get, raw_files, repeat("content_sha256")))
        keys = sum(map(len, raw_files))
    except (TypeError, KeyError):
        return None
    present = list(compress(contents, map(is_not, contents, repeat(None))))
    if keys != 3 * len(raw_files) + len(present):
        return None  # an unknown key
    if set(map(type, sizes)) != {int} or min(sizes) < 0:
        return None
    hashes = shas + present if present else shas
    if not _only_hex(hashes) or set(map(len, hashes)) != {64}:  # _only_hex first: it refuses non-strings
        return None
    if set(map(type, paths)) != {str}:
        return None
    try:
        files = FileTable(paths, sizes, shas, contents)
    except DuplicatePathError:
        return None
    _check_new_paths(files, path)
    return files


_CHECKED_PATHS: set[str] = set()
"""Paths already found well formed in this process: a fleet's inventories share most of their paths."""
_MAX_CHECKED_PATHS = 1_000_000


def _check_new_paths(files: FileTable, path: Path) -> None:
    """`check_paths` over the paths not checked before (a C-level pass finds them)."""
    new = list(filterfalse(_CHECKED_PATHS.__contains__, files.paths))
    if not new:
        return
    try:
        check_paths(new, source=path, field="files", error=InventoryError)
    except InventoryError:
        check_paths(files.paths, source=path, field="files", error=InventoryError)  # names the first bad one by its index
        raise
    if len(_CHECKED_PATHS) + len(new) > _MAX_CHECKED_PATHS:
        _CHECKED_PATHS.clear()
    _CHECKED_PATHS.update(new)


def _only_hex(values: list[str]) -> bool:
    """True when every value is a string of lowercase hex digits (one C-level pass over all of them)."""
    try:
        joined = "".join(values).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return False
    return not joined.translate(None, b"0123456789abcdef")


def _files_checked(raw_files: list[Any], path: Path) -> FileTable:
    """The files by path, item by item, naming the first bad field."""
    paths = [item.get("path") if isinstance(item, dict) else None for item in raw_files]
    for i, p in enumerate(paths):
        if not isinstance(p, str):
            raise InventoryError("every file needs a string path", source=path, where=f"files[{i}]")
    check_paths(paths, source=path, field="files", error=InventoryError)  # type: ignore[arg-type]
    files: dict[str, FileRecord] = {}
    for i, item in enumerate(raw_files):
        record = file_record(item, path, i)
        if item["path"] in files:
            raise InventoryError(f"path {shown(item['path'])} listed twice", source=path, where=f"files[{i}].path")
        files[item["path"]] = record
    return FileTable.of(files)


def _list(doc: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = doc[key]
    if not isinstance(value, list):
        raise InventoryError("must be a list", source=path, where=key)
    return value
