"""The tenant registry (SPEC 4): `tenants.yaml` or `tenants.csv` in the inventory folder.

Both have the columns `id`, `name`, `prefecture`, `edition`, `line` and `modules`. In YAML, `modules` is a
list; in CSV it is one cell whose module names are separated by `;` (or `|`, or spaces):
`402206,宗像市,福岡県,standard,8.x,konbini;madoguchi`.

A module name is 1 to 64 printable characters with no whitespace and none of `,` `;` `|`, so that no name
can read as two in either file. Names, prefectures, editions and lines may hold no control or text-reordering
character (what `drift.text.terminal_safe` would escape): a registry is input, and these strings reach every
output. Anything else is a `RegistryError` naming the file, the row and the field (exit 2).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drift.errors import RegistryError
from drift.inventory.tenantid import tenant_id_problem
from drift.paths import MAX_INPUT, read_regular
from drift.text import shown, unsafe_char

FIELDS = ("id", "name", "prefecture", "edition", "line", "modules")
REQUIRED = ("id", "name")
MODULE_SEPARATORS = re.compile(r"[ ;|]+")
"""What separates module names in the `modules` cell of `tenants.csv`."""
MAX_MODULE = 64
"""Characters in a module name at most."""
_NOT_IN_MODULE = ",;|"


@dataclass(frozen=True, slots=True)
class Tenant:
    """One deployment of the product."""

    id: str
    """The 6-digit local government code, or another id of letters, digits, `.`, `_` and `-`."""
    name: str
    """The municipality's (or deployment's) name."""
    prefecture: str = ""
    """The prefecture, when known."""
    edition: str | None = None
    """The product edition it runs, e.g. `standard` or `seirei`."""
    line: str | None = None
    """The maintenance line it runs, e.g. `8.x`."""
    modules: frozenset[str] = frozenset()
    """The modules it deploys."""


def check_tenant_id(value: object, *, source: str | Path, where: str) -> str:
    """Return a valid tenant id: a 6-digit code must carry its right check digit; other ids are plain names."""
    if isinstance(value, int) and not isinstance(value, bool):
        # An unquoted YAML number: 402206 is read as written, but 011002 is read as octal 4610 and 123 would
        # become "000123"; only a 6-digit number is surely what was written.
        if not 100000 <= value <= 999999:
            raise RegistryError(f"tenant id read as the number {value}: write it in quotes (YAML reads 011002 as octal 4610)", source=source, where=where)
        value = str(value)
    if not isinstance(value, str):
        raise RegistryError(f"tenant id must be a string, not {shown(value)}", source=source, where=where)
    problem = tenant_id_problem(value)
    if problem is not None:
        raise RegistryError(problem, source=source, where=where)
    return value


def check_module(value: str, *, source: str | Path, where: str) -> str:
    """Return a valid module name: 1 to `MAX_MODULE` printable characters, no whitespace, none of `,` `;` `|`."""
    if (
        not value
        or len(value) > MAX_MODULE
        or not value.isprintable()
        or any(ch.isspace() or ch in _NOT_IN_MODULE for ch in value)
        or unsafe_char(value) is not None
    ):
        raise RegistryError(
            f"module name {shown(value)} must be 1 to {MAX_MODULE} printable characters without whitespace "
            "or any of , ; | (tenants.csv separates modules with ; or | or spaces)",
            source=source, where=where,
        )
    return value


def load_registry(folder: str | Path) -> tuple[Tenant, ...]:
    """Load `tenants.yaml` (or `tenants.csv`) from the inventory folder, sorted by id."""
    folder = Path(folder)
    yaml_path, csv_path = folder / "tenants.yaml", folder / "tenants.csv"
    if yaml_path.is_file() and csv_path.is_file():
        raise RegistryError("both tenants.yaml and tenants.csv exist; keep one", source=folder)
    if yaml_path.is_file():
        rows = _yaml_rows(yaml_path)
        source = yaml_path
    elif csv_path.is_file():
        rows = _csv_rows(csv_path)
        source = csv_path
    else:
        raise RegistryError("no tenants.yaml or tenants.csv", source=folder)
    tenants: dict[str, Tenant] = {}
    for where, row in rows:
        tenant = _tenant(row, source, where)
        if tenant.id in tenants:
            raise RegistryError(f"tenant {tenant.id} is listed twice", source=source, where=f"{where}.id")
        tenants[tenant.id] = tenant
    return tuple(tenants[k] for k in sorted(tenants))


def _yaml_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    from drift.yamlio import load_yaml  # here: `drift collect` checks a tenant id and reads no YAML

    doc = load_yaml(path, RegistryError)
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise RegistryError("must be a list of tenants", source=path)
    rows = []
    for i, row in enumerate(doc):
        if not isinstance(row, dict):
            raise RegistryError("each tenant must be a mapping", source=path, where=f"[{i}]")
        rows.append((f"[{i}]", row))
    return rows


def _csv_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        text = read_regular(path, MAX_INPUT).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"cannot read as UTF-8: {exc}", source=path) from exc
    # Lines end at LF, CR or CRLF only (str.splitlines would also cut a cell at U+0085 or U+2028).
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        if None in row:
            raise RegistryError("more cells than columns", source=path, where=f"line {reader.line_num}")
        cleaned: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        if "modules" in cleaned:
            cleaned["modules"] = [m for m in MODULE_SEPARATORS.split(cleaned["modules"]) if m]
        rows.append((f"line {reader.line_num}", cleaned))
    return rows


def _tenant(row: dict[str, Any], source: Path, where: str) -> Tenant:
    for key in row:
        if key not in FIELDS:
            raise RegistryError("unknown key", source=source, where=f"{where}.{key}")
    for key in REQUIRED:
        if key not in row:
            raise RegistryError("required field is missing", source=source, where=f"{where}.{key}")
    modules = row.get("modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
        raise RegistryError("modules must be a list of names", source=source, where=f"{where}.modules")
    in_csv = source.suffix == ".csv"
    for i, module in enumerate(modules):
        check_module(module, source=source, where=f"{where}.modules" if in_csv else f"{where}.modules[{i}]")
    text = {}
    for key in ("name", "prefecture", "edition", "line"):
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise RegistryError(f"must be a string, not {shown(value)}", source=source, where=f"{where}.{key}")
        if value is not None and (bad := unsafe_char(value)) is not None:
            raise RegistryError(
                f"{shown(value)} holds the control or text-reordering character U+{ord(bad):04X}", source=source, where=f"{where}.{key}"
            )
        text[key] = value
    return Tenant(
        id=check_tenant_id(row["id"], source=source, where=f"{where}.id"),
        name=text["name"] or "",
        prefecture=text["prefecture"] or "",
        edition=text["edition"],
        line=text["line"],
        modules=frozenset(modules),
    )
