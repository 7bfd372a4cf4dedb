"""Write a built catalog: deterministic bytes, the whole folder replaced at once."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from drift.catalog.builder.assemble import Built, BuiltFix, BuiltRelease
from drift.catalog.fastrelease import plain_string
from drift.catalog.fixfile import FIX_FORMAT
from drift.catalog.load import CATALOG_FORMAT, RELEASE_FORMAT
from drift.errors import InputError, OperationalError

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+-]*")
HEADER = "# Written by drift catalog build: rebuild rather than edit.\n"


def write_catalog(built: Built, out: Path) -> None:
    """Write `catalog.yaml`, `releases/` and `fixes/` into a fresh folder, then put it in place of `out`."""
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():  # a mistyped --out must not create folders wherever it points
        raise InputError(f"cannot write {out.name}: {parent} {'is not a folder' if parent.exists() else 'does not exist'}", source=out, where="--out")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as exc:
        raise OperationalError(f"cannot write: {exc.strerror or exc}", source=out) from exc
    try:
        _write(staging / "catalog.yaml", _catalog(built))
        for release in built.releases:
            _write(staging / "releases" / release.line / f"{release.version}.yaml", _release(release))
        for fix in built.fixes:
            _write(staging / "fixes" / f"{fix.entry.id}.yaml", build_fix(fix))
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace(staging: Path, out: Path) -> None:
    """Swap the new folder in: the old one is moved aside first and removed only once the new one is there."""
    old = None
    try:
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rmdir(old)
            os.replace(out, old)
        os.replace(staging, out)
    except OSError as exc:
        if old is not None and not out.exists():
            os.replace(old, out)
        raise OperationalError(f"cannot replace the catalog folder: {exc.strerror or exc}", source=out) from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _catalog(built: Built) -> str:
    text = f"{HEADER}format: {CATALOG_FORMAT}\nproduct: {_scalar(built.product)}\nlines: [{', '.join(_quoted(l) for l in built.lines)}]\n"
    if built.forked_from:
        text += "forked_from: {" + ", ".join(f"{_quoted(c)}: {_quoted(p)}" for c, p in built.forked_from.items()) + "}\n"
    return text


def _release(release: BuiltRelease) -> str:
    out = [
        HEADER,
        (
            f"format: {RELEASE_FORMAT}\nline: {_quoted(release.line)}\nversion: {_quoted(release.version)}\n"
            f"date: {release.tag.date.isoformat()}\nfiles:\n"
        ),
    ]
    modules = release.modules
    for path, (kind, sha, content) in release.files.items():
        extra = f', content_sha256: "{content}"' if content else ""
        if path in modules:
            extra += f", module: {_scalar(modules[path])}"
        out.append(f'  - {{path: {_scalar(path)}, kind: {kind}, sha256: "{sha}"{extra}}}\n')
    return "".join(out)


def build_fix(fix: BuiltFix) -> str:
    entry = fix.entry
    out = [HEADER, f"format: {FIX_FORMAT}\nid: {_scalar(entry.id)}\ntitle: {_quoted(entry.title)}\nseverity: {entry.severity}\n"]
    if entry.published is not None:
        out.append(f"published: {entry.published.isoformat()}\n")
    for key in ("aliases", "applies_to"):
        if key in entry.extra:
            out.append(f"{key}: {json.dumps(entry.extra[key], ensure_ascii=False, sort_keys=True)}\n")
    out.append("variants:\n" if fix.variants else "variants: []\n")
    for variant in fix.variants:
        out.append(f"  - line: {_quoted(variant.line)}\n")
        if variant.fixed_in:  # empty for a landing no release contains yet
            out.append(f"    fixed_in: {_quoted(variant.fixed_in)}\n")
        out.append(f"    commits: {json.dumps(list(variant.commits))}\n")
        out.append("    files:\n" if variant.files else "    files: []\n")
        for path, fixed, unfixed in variant.files:
            out.append(f"      - path: {_scalar(path)}\n        fixed: {json.dumps(list(fixed))}\n        unfixed: {json.dumps(list(unfixed))}\n")
        if entry.config:
            out.append("    config:\n")
            for file, key, expect in entry.config:
                out.append(f"      - {{file: {_scalar(file)}, key: {_quoted(key)}, expect: {_quoted(expect)}}}\n")
    return "".join(out)


def _scalar(value: str) -> str:
    """A plain YAML scalar where YAML reads it back as this string, else a double-quoted one."""
    if _PLAIN.fullmatch(value) and plain_string(value):
        return value
    return _quoted(value)


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
