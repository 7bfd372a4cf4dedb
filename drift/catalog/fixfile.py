"""A fix file (SPEC 3, `fixes/<FIX-ID>.yaml`): read and validated, every error naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drift.catalog.fields import check_keys, date_at, line_at, mapping_at, string_at, strings_at, tokens_at
from drift.catalog.model import SEVERITIES, Applicability, ConfigCheck, FileEntry, Fix, Variant
from drift.errors import CatalogError
from drift.hashes import ABSENT
from drift.paths import check_relpath
from drift.yamlio import load_yaml

FIX_FORMAT = "drift-fix/1"


def read_fix(path: Path, lines: list[str]) -> Fix:
    """The fix file at `path`, every field validated; `lines` are the catalog's lines."""
    doc = mapping_at(load_yaml(path, CatalogError), path, "")
    check_keys(
        doc,
        path,
        "",
        required={"format", "id", "title", "severity", "variants"},
        optional={"published", "aliases", "applies_to", "references", "description"},
    )
    if doc["format"] != FIX_FORMAT:
        raise CatalogError(f"unknown format {doc['format']!r}, expected {FIX_FORMAT!r}", source=path, where="format")
    fix_id = string_at(doc["id"], path, "id")
    if path.stem != fix_id:
        raise CatalogError(f"id {fix_id!r} does not match the file name {path.name!r}", source=path, where="id")
    severity = string_at(doc["severity"], path, "severity")
    if severity not in SEVERITIES:
        raise CatalogError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}", source=path, where="severity")
    raw_variants = doc["variants"]
    if not isinstance(raw_variants, list):
        raise CatalogError("must be a list", source=path, where="variants")
    return Fix(
        id=fix_id,
        title=string_at(doc["title"], path, "title"),
        severity=severity,
        published=date_at(doc.get("published"), path, "published"),
        aliases=tuple(strings_at(doc.get("aliases", []), path, "aliases")),
        applies_to=_applicability(doc.get("applies_to"), path),
        variants=tuple(_variant(v, path, f"variants[{i}]", lines) for i, v in enumerate(raw_variants)),
        source=str(path),
    )


def _variant(raw: Any, path: Path, where: str, lines: list[str]) -> Variant:
    doc = mapping_at(raw, path, where)
    check_keys(doc, path, where, required={"line", "files"}, optional={"fixed_in", "config", "commits"})
    fixed_in = doc.get("fixed_in")
    raw_files = doc["files"]
    if not isinstance(raw_files, list):
        raise CatalogError("must be a list", source=path, where=f"{where}.files")
    entries: list[FileEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_files):
        at = f"{where}.files[{i}]"
        entry = mapping_at(item, path, at)
        check_keys(entry, path, at, required={"path", "fixed", "unfixed"}, optional=set())
        rel = check_relpath(entry["path"], source=path, where=f"{at}.path", error=CatalogError)
        if rel in seen:
            raise CatalogError(f"path {rel!r} listed twice in one variant", source=path, where=f"{at}.path")
        seen.add(rel)
        fixed = tokens_at(entry["fixed"], path, f"{at}.fixed")
        unfixed = tokens_at(entry["unfixed"], path, f"{at}.unfixed")
        for j, value in enumerate(unfixed):
            if value != ABSENT and value in fixed:
                raise CatalogError(f"hash {value} is in both fixed and unfixed", source=path, where=f"{at}.unfixed[{j}]")
        entries.append(FileEntry(path=rel, fixed=fixed, unfixed=unfixed))
    raw_config = doc.get("config", [])
    if not isinstance(raw_config, list):
        raise CatalogError("must be a list", source=path, where=f"{where}.config")
    checks: list[ConfigCheck] = []
    for i, item in enumerate(raw_config):
        at = f"{where}.config[{i}]"
        entry = mapping_at(item, path, at)
        check_keys(entry, path, at, required={"file", "key", "expect"}, optional=set())
        expect = entry["expect"]
        if not isinstance(expect, str):
            hint = f', e.g. "{json.dumps(expect)}"' if isinstance(expect, (bool, int, float)) else ""
            raise CatalogError(f"must be a string: quote the value as the config file spells it{hint}", source=path, where=f"{at}.expect")
        checks.append(
            ConfigCheck(
                file=check_relpath(entry["file"], source=path, where=f"{at}.file", error=CatalogError),
                key=string_at(entry["key"], path, f"{at}.key"),
                expect=expect,
            )
        )
    return Variant(
        line=line_at(doc["line"], path, f"{where}.line", lines),
        fixed_in=None if fixed_in is None else string_at(fixed_in, path, f"{where}.fixed_in"),
        files=tuple(entries),
        config=tuple(checks),
    )


def _applicability(raw: Any, path: Path) -> Applicability:
    if raw is None:
        return Applicability()
    doc = mapping_at(raw, path, "applies_to")
    check_keys(doc, path, "applies_to", required=set(), optional={"editions", "modules"})
    editions = doc.get("editions")
    modules = doc.get("modules")
    return Applicability(
        editions=None if editions is None else frozenset(strings_at(editions, path, "applies_to.editions")),
        modules=None if modules is None else frozenset(strings_at(modules, path, "applies_to.modules")),
    )
