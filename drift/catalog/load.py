"""Load and validate a catalog folder (SPEC 3). Every error names the file and the field."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from drift.background import Background
from drift.catalog.fastrelease import Row, parse_release
from drift.catalog.fields import check_keys, date_at, line_at, mapping_at, string_at, strings_at
from drift.catalog.fixfile import read_fix
from drift.catalog.model import (
    Catalog,
    Fix,
    Release,
    ReleaseFile,
    version_key,
)
from drift.errors import CatalogError
from drift.hashes import check_hex
from drift.paths import MAX_INPUT, check_paths, check_relpath, read_regular
from drift.yamlio import load_yaml

CATALOG_FORMAT = "drift-catalog/1"
RELEASE_FORMAT = "drift-release/1"

MODULE_MAX = 64
"""Characters of a module name, at most."""
_MODULE_FORBIDDEN = frozenset(",;|")


def module_problem(value: object) -> str | None:
    """Why `value` cannot be a release file's `module` (SPEC 3), or None when it can: a string of 1 to
    `MODULE_MAX` printable characters, no whitespace, none of `,` `;` `|` (which split a registry's module
    list)."""
    if not isinstance(value, str):
        return f"must be a module name (a string), not {value!r}"
    if not value or len(value) > MODULE_MAX:
        return f"a module name has 1 to {MODULE_MAX} characters, not {len(value)}"
    if not value.isprintable() or any(ch.isspace() for ch in value):
        return f"module name {value!r} holds whitespace or a character that is not printable"
    if not _MODULE_FORBIDDEN.isdisjoint(value):
        return f"module name {value!r} holds one of , ; |"
    return None


def load_catalog(root: str | Path) -> Catalog:
    """Load `catalog.yaml`, every release manifest and every fix under `root`, validating each."""
    root = Path(root)
    head_path, product, lines, forked = _head(root)

    release_files = _catalog_files(root / "releases", depth=2)
    fix_files = _catalog_files(root / "fixes", depth=1)
    every_file = [head_path, *release_files, *fix_files]
    with Background(_fixes_and_digest, root, every_file, fix_files, lines, what="reading the catalog", worth_it=len(fix_files) >= PARALLEL_FIXES) as loaded:
        # Shared by every release: most files are the same line in every manifest, and one ReleaseFile.
        made: _Made = ({}, {})
        releases = [_release(p, lines, made) for p in release_files]
        seen_releases: dict[tuple[str, str], str] = {}
        for release in releases:
            key = (release.line, release.version)
            if key in seen_releases:
                raise CatalogError(f"release {release.version} of {release.line} also in {seen_releases[key]}", source=release.source, where="version")
            seen_releases[key] = release.source
        releases.sort(key=lambda r: (lines.index(r.line), version_key(r.version)))
        fix_list, digest = loaded.result()

    fixes: list[Fix] = []
    seen_ids: dict[str, str] = {}
    for path, fix in zip(fix_files, fix_list, strict=True):
        if isinstance(fix, CatalogError):  # errors are raised in file order, as if each file were read in turn
            raise fix
        for i, name in enumerate((fix.id, *fix.aliases)):
            if name in seen_ids:
                where = "id" if i == 0 else f"aliases[{i - 1}]"
                raise CatalogError(f"duplicate fix id {name!r}, also in {seen_ids[name]}", source=path, where=where)
            seen_ids[name] = str(path)
        fixes.append(fix)
    if isinstance(digest, OSError):
        raise digest
    fixes.sort(key=lambda f: f.id)
    return Catalog(
        product=product,
        lines=tuple(lines),
        forked_from=forked,
        releases=tuple(releases),
        fixes=tuple(fixes),
        digest=digest,
    )


PARALLEL_FIXES = 200
"""From this many fix files on (and with a second core), they are parsed in a second process while this one
parses the release manifests."""


def _head(root: Path) -> tuple[Path, str, list[str], dict[str, str]]:
    """`catalog.yaml`: its path, the product, its lines and which line each was forked from."""
    head_path = root / "catalog.yaml"
    if not head_path.is_file():
        raise CatalogError("no catalog.yaml: not a catalog folder", source=root)
    head = mapping_at(load_yaml(head_path, CatalogError), head_path, "")
    check_keys(head, head_path, "", required={"product", "lines"}, optional={"format", "forked_from"})
    if "format" in head and head["format"] != CATALOG_FORMAT:
        raise CatalogError(f"unknown format {head['format']!r}, expected {CATALOG_FORMAT!r}", source=head_path, where="format")
    product = string_at(head["product"], head_path, "product")
    lines = strings_at(head["lines"], head_path, "lines")
    if not lines:
        raise CatalogError("at least one line is needed", source=head_path, where="lines")
    if len(set(lines)) != len(lines):
        raise CatalogError("a line is listed twice", source=head_path, where="lines")
    return head_path, product, lines, _forked_from(head.get("forked_from", {}), head_path, lines)


def load_config_keys(root: str | Path) -> frozenset[tuple[str, str]]:
    """Every (config file, key) the fixes of the catalog at `root` check, each fix read and validated as
    `load_catalog` reads it, without the release manifests (what a collection needs, quickly)."""
    root = Path(root)
    _, _, lines, _ = _head(root)
    fixes = [read_fix(path, lines) for path in _catalog_files(root / "fixes", depth=1)]
    return frozenset((c.file, c.key) for fix in fixes for v in fix.variants for c in v.config)


def _fixes_and_digest(
    root: Path, every_file: list[Path], fix_files: list[Path], lines: list[str]
) -> tuple[list[Fix | CatalogError], str | OSError]:
    """Each fix file's fix (up to the first error, in its place), and the catalog's digest (or why it could
    not be read: raised only once every other check has passed, as when the digest came last)."""
    fixes: list[Fix | CatalogError] = []
    for path in fix_files:
        try:
            fixes.append(read_fix(path, lines))
        except CatalogError as exc:
            fixes.append(exc)
            return fixes, ""  # nothing after it is looked at, and the error is raised first
    try:
        return fixes, catalog_digest(root, every_file)
    except OSError as exc:
        return fixes, exc


def _catalog_files(folder: Path, depth: int) -> list[Path]:
    """The `.yaml` files at `depth` under `folder` (releases/<line>/<version>.yaml, fixes/<ID>.yaml).

    Anything else there is refused rather than skipped: a fix saved as `.yml`, or a release outside its
    line's folder, would otherwise silently drop out of every verdict.
    """
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() and len(relative.parts) < depth:
            continue
        if any(part.startswith(".") for part in relative.parts) or path.name.endswith("~"):
            continue  # editor and version-control droppings
        if not (path.is_file() and path.suffix == ".yaml" and len(relative.parts) == depth):
            expected = "releases/<line>/<version>.yaml" if depth == 2 else "fixes/<FIX-ID>.yaml"
            raise CatalogError(f"not where a catalog file belongs (expected {expected})", source=path)
        found.append(path)
    return found


def catalog_digest(root: Path, files: list[Path]) -> str:
    """`sha256:` over the sorted records `<path relative to root> NUL <sha256 of its bytes> LF`."""
    records = sorted(
        p.relative_to(root).as_posix().encode("utf-8") + b"\0" + hashlib.sha256(read_regular(p, MAX_INPUT)).hexdigest().encode() + b"\n"
        for p in files
    )
    return "sha256:" + hashlib.sha256(b"".join(records)).hexdigest()


_Made = tuple[dict[str, Row], dict[Row, ReleaseFile]]
"""Across a catalog's releases: each manifest line parsed, as its row; each row's ReleaseFile."""


def _release(path: Path, lines: list[str], made: _Made) -> Release:
    try:
        text = read_regular(path, MAX_INPUT).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read as UTF-8: {exc}", source=path) from exc
    fast = parse_release(text, made[0])
    doc = dict(mapping_at(fast[0] if fast is not None else load_yaml(path, CatalogError), path, ""))
    if fast is not None:
        doc["files"] = fast[1]
    check_keys(doc, path, "", required={"format", "line", "version", "files"}, optional={"date", "notes"})
    if doc["format"] != RELEASE_FORMAT:
        raise CatalogError(f"unknown format {doc['format']!r}, expected {RELEASE_FORMAT!r}", source=path, where="format")
    line = line_at(doc["line"], path, "line", lines)
    version = string_at(doc["version"], path, "version")
    if path.parent.name != line:
        raise CatalogError(f"line {line!r} does not match its folder {path.parent.name!r}", source=path, where="line")
    if path.stem != version:
        raise CatalogError(f"version {version!r} does not match the file name {path.name!r}", source=path, where="version")
    raw_files = doc["files"]
    if not isinstance(raw_files, list):
        raise CatalogError("must be a list", source=path, where="files")
    if not raw_files:
        raise CatalogError("a release with no files: nothing could be judged against it", source=path, where="files")
    files = _release_files_fast(raw_files, path, made[1]) if fast is not None else _release_files(raw_files, path)
    return Release(line=line, version=version, date=date_at(doc.get("date"), path, "date"), files=files, source=str(path))


def _release_files(raw_files: list[Any], path: Path) -> tuple[ReleaseFile, ...]:
    files: list[ReleaseFile] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_files):
        where = f"files[{i}]"
        entry = mapping_at(item, path, where)
        check_keys(entry, path, where, required={"path", "kind", "sha256"}, optional={"content_sha256", "module"})
        rel = check_relpath(entry["path"], source=path, where=f"{where}.path", error=CatalogError)
        if rel in seen:
            raise CatalogError(f"path {rel!r} listed twice", source=path, where=f"{where}.path")
        seen.add(rel)
        content = entry.get("content_sha256")
        kind = string_at(entry["kind"], path, f"{where}.kind")
        sha256 = check_hex(entry["sha256"], source=path, where=f"{where}.sha256", error=CatalogError)
        content = None if content is None else check_hex(content, source=path, where=f"{where}.content_sha256", error=CatalogError)
        module = entry.get("module")
        if "module" in entry and (problem := module_problem(module)) is not None:
            raise CatalogError(problem, source=path, where=f"{where}.module")
        files.append(ReleaseFile(path=rel, kind=kind, sha256=sha256, content_sha256=content, module=module))
    return tuple(files)


def _release_files_fast(rows: list[Row], path: Path, made: dict[Row, ReleaseFile]) -> tuple[ReleaseFile, ...]:
    """Rows from `parse_release`: kinds, hashes and modules are already checked by its pattern; paths are
    checked here all at once. A row seen in another release gets that release's (immutable) ReleaseFile."""
    paths = [row[0] for row in rows]
    check_paths(paths, source=path, field="files", error=CatalogError)
    if len(set(paths)) != len(paths):
        # The item-by-item check names the duplicate.
        as_yaml = [
            {"path": p, "kind": k, "sha256": h, **({"content_sha256": c} if c else {}), **({"module": m} if m else {})}
            for p, k, h, c, m in rows
        ]
        return _release_files(as_yaml, path)
    files: list[ReleaseFile | None] = list(map(made.get, rows))
    if not all(files):
        for i, row in enumerate(rows):
            if files[i] is None:
                p, k, h, c, m = row
                files[i] = made[row] = made.get(row) or ReleaseFile(p, k, h, c or None, m or None)
    return tuple(files)  # type: ignore[arg-type]


def _forked_from(raw: Any, path: Path, lines: list[str]) -> dict[str, str]:
    doc = mapping_at(raw, path, "forked_from")
    result: dict[str, str] = {}
    for child, parent in doc.items():
        where = f"forked_from.{child}"
        result[line_at(child, path, where, lines)] = line_at(parent, path, where, lines)
    return result
