"""`drift collect`: hash every regular file under a deploy root into an inventory (SPEC 4).

Symbolic links are never followed (they are listed as unreadable with their target, so a fix file behind a
link is `unreadable`, never `fixed`); sockets, FIFOs and devices are skipped; a file that cannot be read
is listed with the reason. Only the config keys the catalog asks for are captured.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from drift import __version__
from drift.archive import ALGORITHM, ArchiveError, content_sha256, is_archive_name
from drift.configfile import ConfigReadError, read_keys
from drift.errors import InputError, OperationalError
from drift.inventory.jsonfile import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable

_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection found, ready to be written as an inventory."""

    text: str
    """The inventory document."""
    files: int
    """Regular files hashed."""
    unreadable: int
    """Entries it could not read."""
    skipped: tuple[str, ...]
    """Sockets, FIFOs and devices left out."""


def collect(
    root: Path,
    tenant: str,
    *,
    config_keys: Collection[tuple[str, str]] = (),
    excludes: Collection[str] = (),
    jobs: int | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> CollectResult:
    """Collect the inventory of the deploy root `root` for `tenant`."""
    if not root.is_dir():
        raise InputError("not a folder", source=root, where="ROOT")
    regular: list[tuple[str, str]] = []
    unreadable: list[Unreadable] = []
    skipped: list[str] = []
    for rel, full, kind, detail in _walk(root, excludes):
        if kind == "file":
            regular.append((rel, full))
        elif kind == "unreadable":
            unreadable.append(Unreadable(rel, detail))
        else:
            skipped.append(rel)
    files: dict[str, FileRecord] = {}
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for (rel, _), outcome in zip(regular, pool.map(lambda item: _hash_file(item[1]), regular), strict=True):
            if isinstance(outcome, FileRecord):
                files[rel] = outcome
            else:
                unreadable.append(Unreadable(rel, outcome))
            if progress is not None:
                progress(1)
    config = _capture_config(root, files, config_keys)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    text = dumps_inventory(
        tenant=tenant,
        collected_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        collector=f"drift {__version__}",
        content_hash=ALGORITHM,
        files=files,
        config=config,
        unreadable=unreadable,
    )
    return CollectResult(text=text, files=len(files), unreadable=len(unreadable), skipped=tuple(sorted(skipped)))


def count_files(root: Path, excludes: Collection[str] = ()) -> int:
    """How many regular files a collection of `root` will hash (for a progress bar)."""
    return sum(1 for _, _, kind, _ in _walk(root, excludes) if kind == "file")


def _walk(root: Path, excludes: Collection[str]) -> Iterator[tuple[str, str, str, str]]:
    """Yield (relative path, full path, kind, detail); kind is file, unreadable or skipped. One stat per entry.

    The relative path is always one an inventory can hold (see `_recordable`); a regular file whose real
    name had to be escaped is listed as unreadable, never hashed under a name it does not have.
    """
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if not prefix:
                raise OperationalError(f"cannot list folder: {exc.strerror or exc}", source=root) from exc
            yield _recordable(prefix.rstrip("/"))[0], folder, "unreadable", f"cannot list folder: {exc.strerror or exc}"
            continue
        for entry in entries:
            raw = prefix + entry.name
            rel, why = _recordable(raw)
            if _excluded(rel, excludes):
                continue
            try:
                if entry.is_symlink():
                    yield rel, entry.path, "unreadable", f"symbolic link to {_display(os.readlink(entry.path))}, not followed"
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                yield rel, entry.path, "unreadable", f"cannot stat: {exc.strerror or exc}"
                continue
            if stat.S_ISDIR(mode):
                stack.append((entry.path, raw + "/"))
            elif stat.S_ISREG(mode):
                if why is not None:
                    yield rel, entry.path, "unreadable", why
                else:
                    yield rel, entry.path, "file", ""
            else:
                yield rel, entry.path, "skipped", ""


def _hash_file(path: str) -> FileRecord | str:
    """The file's record, or the reason it could not be read."""
    try:
        with open(path, "rb", buffering=0) as handle:
            digest = hashlib.sha256()
            size = 0
            while chunk := handle.read(_BUFFER):
                digest.update(chunk)
                size += len(chunk)
            content = None
            if is_archive_name(path):
                handle.seek(0)
                try:
                    content = content_sha256(handle)
                except ArchiveError as exc:
                    return f"archive cannot be content-hashed: {exc}"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return FileRecord(size, digest.hexdigest(), content)


def _capture_config(root: Path, files: dict[str, FileRecord], keys: Collection[tuple[str, str]]) -> list[ConfigValue]:
    by_file: dict[str, list[str]] = {}
    for file, key in keys:
        by_file.setdefault(file, []).append(key)
    captured: list[ConfigValue] = []
    for file, wanted in sorted(by_file.items()):
        if file not in files:
            continue
        try:
            values = read_keys(root / file, wanted)
        except (OSError, ConfigReadError):
            # Not captured: its config checks then say `unreadable`, never a guessed value.
            continue
        captured.extend(ConfigValue(file, key, values[key]) for key in sorted(wanted))
    return captured


def _excluded(rel: str, patterns: Collection[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p.rstrip("/") + "/*") for p in patterns)


def _display(name: str) -> str:
    """A name as valid UTF-8 text: undecodable bytes become `\\xNN` escapes (for messages, not paths)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# What an inventory path may not hold (drift.paths.check_relpath): bytes that are not UTF-8 (surrogate
# escapes), control characters, backslashes, and a leading drive prefix such as `c:`.
_UNRECORDABLE = re.compile(r"[\x00-\x1f\x7f\\\udc80-\udcff]|^[A-Za-z]:")
_ESCAPED = re.compile(r"[%:\x00-\x1f\x7f\\\udc80-\udcff]")


def _recordable(raw: str) -> tuple[str, str | None]:
    """The path as an inventory can record it, and None, or the path escaped and why it had to be.

    Escaping writes each offending byte, and every `%` and `:`, as `%XX` (hex of the byte), so two different
    names never get one escaped path. Names that need no escaping are kept exactly.
    """
    if _UNRECORDABLE.search(raw) is None:
        return raw, None
    undecodable = any("\udc80" <= ch <= "\udcff" for ch in raw)
    escaped = _ESCAPED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8", "surrogateescape")), raw)
    if undecodable:
        reason = "file name is not valid UTF-8"
    else:
        reason = "file name holds a control character, a backslash or a drive prefix"
    return escaped, f"{reason}; recorded with %XX escapes, not hashed"
