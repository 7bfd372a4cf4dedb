"""The config keys a catalog asks for, read with the standard library alone (for the one-file collector).

The collector needs one thing from a catalog: the (config file, key) pairs of the fixes' config checks
(`drift.catalog.model.Catalog.config_keys`). YAML is not in the standard library, so the bundle
(`drift bundle collector`) reads them from `fixes/*.yaml` with this parser of the one layout
`drift catalog build` writes::

    config:
      - {file: conf/print.properties, key: "print.lock.release_on_timeout", expect: "false"}

A `config:` key (at any indent, on a line of its own, or `config: []`) opens the list; each entry is one
flow mapping on one line with exactly `file`, `key` and `expect`, each a double-quoted string (JSON
escapes) or a plain scalar that YAML reads as a string. Anything else that names `config` as a key (a block
mapping, a flow list, a single-quoted value, a value YAML would read as a number, a date or a boolean) is
refused with `InputError` naming the file and line: the collector would rather stop than miss a key. Such
a catalog can still be used through `--config-keys FILE` (`read_config_keys`), a JSON list of
`[file, key]` pairs, or `drift collect` on a machine with drift installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from drift.errors import InputError
from drift.paths import check_relpath
from drift.text import shown

_CONFIG_KEY = re.compile(r"""^(?P<indent>[ ]*)(?:-[ ]+)?config[ ]*:[ ]*(?P<rest>.*)$""")
_MENTION = re.compile(r"""(?:^|[\s{,])["']?config["']?\s*:""")
_ENTRY = re.compile(r"^(?P<indent>[ ]*)-[ ]+\{(?P<body>.*)\}[ ]*(?:#.*)?$")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PLAIN = r"[A-Za-z0-9_][A-Za-z0-9_./+-]*"
_PAIR = re.compile(rf"[ ]*(?P<name>[A-Za-z_]+|{_QUOTED})[ ]*:[ ]+(?P<value>{_QUOTED}|{_PLAIN})[ ]*(?:,|$)")
_FIELDS = ("file", "key", "expect")
# PyYAML's implicit resolvers (YAML 1.1): a plain scalar matching one of them is not a string.
_NOT_STRING = re.compile(
    r"""(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)"""
    r"""|(?:~|null|Null|NULL)"""
    r"""|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"""
    r"""|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"""
    r"""|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"""
    r"""|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?.*"""
)
_HELP = "write config checks as drift catalog build does ({file: ..., key: \"...\", expect: \"...\"}, one a line), or give --config-keys FILE"


def catalog_config_keys(catalog: Path) -> frozenset[tuple[str, str]]:
    """Every (config file, key) that the fix files of the catalog folder `catalog` check.

    Raises `InputError` (exit 2) naming the file, and the line, when the folder is not a catalog or a fix
    file says more about config checks than this parser reads (see the module docstring)."""
    if not (catalog / "catalog.yaml").is_file():
        raise InputError("no catalog.yaml: not a catalog folder", source=catalog)
    fixes = catalog / "fixes"
    if not fixes.is_dir():
        return frozenset()
    keys: set[tuple[str, str]] = set()
    for path in sorted(fixes.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            keys.update(_fix_keys(path))
    return frozenset(keys)


def _fix_keys(path: Path) -> list[tuple[str, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=path) from exc
    found: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        opened = _CONFIG_KEY.match(line)
        if opened is None:
            if _MENTION.search(line.split("#", 1)[0] if not line.lstrip().startswith(("title", "description")) else ""):
                raise InputError(f"a config check this collector cannot read: {_HELP}", source=path, where=f"line {i}")
            continue
        rest = opened.group("rest").split(" #", 1)[0].strip()
        if rest == "[]":
            continue
        if rest:
            raise InputError(f"config must be a list of one-line entries: {_HELP}", source=path, where=f"line {i}")
        indent = len(opened.group("indent"))
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip(" ")) > indent):
            entry_line = lines[i]
            i += 1
            if not entry_line.strip() or entry_line.lstrip().startswith("#"):
                continue
            found.append(_entry(entry_line, path, i))
    return found


def _entry(line: str, path: Path, number: int) -> tuple[str, str]:
    where = f"line {number}"
    match = _ENTRY.match(line)
    if match is None:
        raise InputError(f"not a one-line config entry: {_HELP}", source=path, where=where)
    body = match.group("body")
    values: dict[str, str] = {}
    at = 0
    while at < len(body):
        pair = _PAIR.match(body, at)
        if pair is None:
            raise InputError(f"cannot read {shown(body[at:])}: {_HELP}", source=path, where=where)
        at = pair.end()
        name, value = _scalar(pair.group("name"), path, where), _scalar(pair.group("value"), path, where)
        if name not in _FIELDS or name in values:
            raise InputError(f"a config entry has exactly the keys file, key and expect, not {shown(name)}", source=path, where=where)
        values[name] = value
    if len(values) != len(_FIELDS):
        raise InputError("a config entry has exactly the keys file, key and expect", source=path, where=where)
    return check_relpath(values["file"], source=path, where=f"{where}: file"), values["key"]


def _scalar(token: str, path: Path, where: str) -> str:
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except ValueError:
            raise InputError(f"a double-quoted value this collector cannot read: {shown(token)}", source=path, where=where) from None
        if not isinstance(value, str):  # pragma: no cover - a JSON string literal is a str
            raise InputError("not a string", source=path, where=where)
        return value
    if _NOT_STRING.fullmatch(token):
        raise InputError(f"{shown(token)} is not a string in YAML: quote it", source=path, where=where)
    return token


def read_config_keys(path: Path) -> frozenset[tuple[str, str]]:
    """The pairs of `--config-keys FILE`: a JSON list of `[file, key]` lists (two strings each, the file a
    relative path). Raises `InputError` naming the file and the item."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from exc
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError
        raise InputError(f"not a JSON document: {exc}", source=path) from exc
    if not isinstance(doc, list):
        raise InputError("must be a JSON list of [file, key] pairs", source=path)
    keys: set[tuple[str, str]] = set()
    for n, item in enumerate(doc):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise InputError(f"must be a [file, key] pair of strings, not {shown(item)}", source=path, where=f"[{n}]")
        if not item[1]:
            raise InputError("the key is empty", source=path, where=f"[{n}][1]")
        keys.add((check_relpath(item[0], source=path, where=f"[{n}][0]"), item[1]))
    return frozenset(keys)
