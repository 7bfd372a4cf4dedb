"""Checks of a catalog file's fields, each raising `CatalogError` naming the file and the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drift.errors import CatalogError
from drift.hashes import check_token


def tokens_at(raw: Any, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise CatalogError("must be a list of hashes", source=path, where=where)
    tokens = tuple(check_token(v, source=path, where=f"{where}[{i}]", error=CatalogError) for i, v in enumerate(raw))
    if len(set(tokens)) != len(tokens):
        raise CatalogError("a hash is listed twice", source=path, where=where)
    return tokens


def mapping_at(raw: Any, path: Path, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise CatalogError(f"must be a mapping, not {type(raw).__name__}", source=path, where=where or None)
    return raw


def check_keys(doc: Mapping[str, Any], path: Path, where: str, *, required: set[str], optional: set[str]) -> None:
    prefix = f"{where}." if where else ""
    for key in doc:
        if key not in required and key not in optional:
            raise CatalogError("unknown key", source=path, where=f"{prefix}{key}")
    for key in sorted(required):
        if key not in doc:
            raise CatalogError("required field is missing", source=path, where=f"{prefix}{key}")


def string_at(raw: Any, path: Path, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CatalogError(f"must be a non-empty string, not {raw!r}", source=path, where=where)
    return raw


def strings_at(raw: Any, path: Path, where: str) -> list[str]:
    if not isinstance(raw, list):
        raise CatalogError("must be a list of strings", source=path, where=where)
    return [string_at(v, path, f"{where}[{i}]") for i, v in enumerate(raw)]


def line_at(raw: Any, path: Path, where: str, lines: list[str]) -> str:
    line = string_at(raw, path, where)
    if line not in lines:
        raise CatalogError(f"line {line!r} is not in catalog.yaml (lines: {', '.join(lines)})", source=path, where=where)
    return line


def date_at(raw: Any, path: Path, where: str) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise CatalogError(f"must be a date (YYYY-MM-DD), not {raw!r}", source=path, where=where)
