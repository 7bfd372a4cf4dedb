"""The vendor's fix register (`FIXES.yaml`): `- {id, title, severity, commits: [sha...]}` per fix."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drift.catalog.model import SEVERITIES
from drift.errors import InputError
from drift.paths import check_relpath
from drift.yamlio import load_yaml

_REQUIRED = ("id", "title", "severity", "commits")
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
_OPTIONAL = ("published", "aliases", "applies_to", "description", "config")


@dataclass(frozen=True)
class Entry:
    """One fix as the vendor registered it."""

    id: str
    """The fix id."""
    title: str
    """One line on the defect."""
    severity: str
    """One of `SEVERITIES`."""
    commits: tuple[str, ...]
    """Commits as written in the register (one per line the fix landed on, or only the main one)."""
    where: str
    """Where in the register (`[3]`), for messages."""
    published: dt.date | None = None
    """When it was published, if the register says."""
    config: tuple[tuple[str, str, str], ...] = ()
    """(file, key, expected value): deploy-time settings the fix needs, checked in every variant."""
    extra: dict[str, Any] = field(default_factory=dict)
    """`aliases` and `applies_to`, copied to the fix file as written."""


def _config(raw: Any, path: Path, where: str) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(raw, list):
        raise InputError("must be a list of {file, key, expect}", source=path, where=where)
    checks = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict) or set(item) != {"file", "key", "expect"}:
            raise InputError("needs exactly a file, a key and expect", source=path, where=at)
        if not all(isinstance(item[k], str) and item[k] for k in ("file", "key")) or not isinstance(item["expect"], str):
            raise InputError("file, key and expect must be strings (quote the expected value)", source=path, where=at)
        checks.append((check_relpath(item["file"], source=path, where=f"{at}.file"), item["key"], item["expect"]))
    return tuple(checks)


def load_register(path: Path) -> list[Entry]:
    """Load and check the register; a malformed entry or an id given twice is an error naming the entry."""
    doc = load_yaml(path, InputError)
    if not isinstance(doc, list):
        raise InputError("must be a list of fixes", source=path)
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(doc):
        where = f"[{i}]"
        if not isinstance(raw, dict):
            raise InputError("each fix must be a mapping", source=path, where=where)
        for key in raw:
            if key not in _REQUIRED and key not in _OPTIONAL:
                raise InputError("unknown key", source=path, where=f"{where}.{key}")
        for key in _REQUIRED:
            if key not in raw:
                raise InputError("required field is missing", source=path, where=f"{where}.{key}")
        fix_id, title, severity, commits = raw["id"], raw["title"], raw["severity"], raw["commits"]
        if not isinstance(fix_id, str) or not fix_id.strip() or "/" in fix_id:
            raise InputError(f"fix id must be a plain name, not {fix_id!r}", source=path, where=f"{where}.id")
        if fix_id in seen:
            raise InputError(f"fix id {fix_id!r} given twice (also {seen[fix_id]})", source=path, where=f"{where}.id")
        seen[fix_id] = where
        if not isinstance(title, str) or not title.strip():
            raise InputError("must be a non-empty string", source=path, where=f"{where}.title")
        if severity not in SEVERITIES:
            raise InputError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}", source=path, where=f"{where}.severity")
        if not isinstance(commits, list) or not commits:
            raise InputError("must be a non-empty list of commit ids", source=path, where=f"{where}.commits")
        for j, commit in enumerate(commits):
            if not isinstance(commit, str) or not _COMMIT.fullmatch(commit.strip()):
                raise InputError(
                    f"must be a commit id (7 to 64 hex digits), not {commit!r}: a branch or tag name would move",
                    source=path, where=f"{where}.commits[{j}]",
                )
        published = raw.get("published")
        if published is not None and not isinstance(published, dt.date):
            try:
                published = dt.date.fromisoformat(str(published))
            except ValueError as exc:
                raise InputError(f"must be a date (YYYY-MM-DD), not {published!r}", source=path, where=f"{where}.published") from exc
        extra = {k: raw[k] for k in ("aliases", "applies_to") if k in raw}
        config = _config(raw.get("config", []), path, f"{where}.config")
        entries.append(Entry(fix_id, title, severity, tuple(c.strip().lower() for c in commits), where, published, config, extra))
    return entries
