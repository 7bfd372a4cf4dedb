"""What the collector needs of a catalog, read with the standard library alone and without loading it.

The collector needs two things from a catalog, and neither needs the whole catalog parsed (on a catalog of
40 releases of 8,000 files that is seconds of YAML):

- the (config file, key) pairs of the fixes' config checks (`drift.catalog.model.Catalog.config_keys`),
  read from `fixes/*.yaml` (`catalog_config_keys`);
- the sha256 of every archive that a release manifest lists with a content hash
  (`catalog_archive_hashes`): an archive with exactly those bytes needs no content hash of its own, since
  the scan takes the release's (`drift.filedrift.ReleaseIndex.with_release_content`).

YAML is not in the standard library, so the config keys are read with this parser of the one layout
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
from collections.abc import Callable, Iterable
from pathlib import Path

from drift.errors import InputError
from drift.paths import MAX_INPUT, check_relpath, read_regular
from drift.text import shown

_CONFIG_KEY = re.compile(r"""^(?P<indent>[ ]*)(?:-[ ]+)?(?P<name>config)[ ]*:[ ]*(?P<rest>.*)$""")
_MENTION = re.compile(r"""(?:^|[\s{,?])["']?config["']?\s*:""")
# A line whose key YAML could read as `config` in a way this parser does not follow: an explicit key (`? k`),
# or a double-quoted key with an escape in it ("con\x66ig").
_ODD_KEY = re.compile(r"""^\s*(?:-\s+)?\?(?:\s|$)|"(?:[^"\\]|\\.)*\\(?:[^"\\]|\\.)*"\s*:""")
# A title or description on one line, its whole value one double-quoted string: the only lines whose text
# may say "config:" without being a key (drift catalog build writes titles so).
_TEXT_LINE = re.compile(r"""^[ ]*(?:title|description)[ ]*:[ ]*"(?:[^"\\]|\\.)*"[ ]*$""")
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


_ARCHIVE_ROW = re.compile(rb'sha256: "([0-9a-f]{64})", content_sha256: "[0-9a-f]{64}"')
"""A release file with a content hash, as `drift catalog build` writes it (`drift.catalog.fastrelease`)."""
_NAME = b"content_sha256"
_BEFORE = len(b'sha256: "') + 64 + len(b'", ')
"""Where an `_ARCHIVE_ROW` starts, before its `_NAME`."""


def _archive_rows(data: bytes) -> tuple[list[str], bool]:
    """The sha256 of each `_ARCHIVE_ROW` in a manifest's bytes, and whether `content_sha256` also shows
    elsewhere (another layout). Only archive lines name it, so the search jumps from one to the next
    instead of trying the pattern on every line (a release lists thousands of files, and a catalog dozens
    of releases)."""
    rows = []
    other = False
    at = data.find(_NAME)
    while at >= 0:
        row = _ARCHIVE_ROW.match(data, at - _BEFORE) if at >= _BEFORE else None
        if row is not None:
            rows.append(row.group(1).decode("ascii"))
        else:
            other = True
        at = data.find(_NAME, at + len(_NAME))
    return rows, other


def catalog_archive_hashes(catalog: Path, read_other: Callable[[Path], Iterable[str]] | None = None) -> frozenset[str]:
    """The sha256 of every archive that a release manifest of the catalog folder `catalog` lists with a
    content hash, read from the layout `drift catalog build` writes.

    A manifest that names `content_sha256` in lines of another layout is read with `read_other` (a YAML
    reader, where there is one); without it, those entries are not found, and the collector then hashes
    those archives' content as it would without a catalog: slower, never different. A copy of the catalog on the tenant's server is the
    tenant's to edit, so what this finds only saves work: a scan takes an archive's content hash from its own
    catalog, and an archive whose content hash was skipped for bytes its catalog does not know is never
    taken as evidence of a fix (`drift.verdict.content_unknown`)."""
    found: set[str] = set()
    releases = catalog / "releases"
    if not releases.is_dir():
        return frozenset()
    for path in sorted(releases.rglob("*.y*ml")):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            try:
                data = read_regular(path, MAX_INPUT)
            except OSError as exc:
                raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from exc
            rows, other = _archive_rows(data)
            if read_other is not None and other:
                found.update(read_other(path))
            else:
                found.update(rows)
    return frozenset(found)


def _fix_keys(path: Path) -> list[tuple[str, str]]:
    try:
        text = read_regular(path, MAX_INPUT).decode("utf-8-sig")
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
            if _TEXT_LINE.match(line) is None and (_MENTION.search(line) or _ODD_KEY.search(line)):
                raise InputError(f"a config check this collector cannot read: {_HELP}", source=path, where=f"line {i}")
            continue
        rest = opened.group("rest").split(" #", 1)[0].strip()
        if rest == "[]":
            continue
        if rest:
            raise InputError(f"config must be a list of one-line entries: {_HELP}", source=path, where=f"line {i}")
        # The list's items sit deeper than `config`, or (YAML allows it) at its own column, each starting "- ".
        column = opened.start("name")
        items = None
        while i < len(lines):
            entry_line = lines[i]
            stripped = entry_line.lstrip(" ")
            if stripped and not stripped.startswith("#"):
                at = len(entry_line) - len(stripped)
                if at < column or (at == column and not stripped.startswith("-")):
                    break  # the next key: the list is over
                if items is None:
                    items = at
                if at != items or not stripped.startswith("-"):
                    raise InputError(f"config must be a list of one-line entries: {_HELP}", source=path, where=f"line {i + 1}")
                found.append(_entry(entry_line, path, i + 1))
            i += 1
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
    for name in ("file", "key"):
        if not _is_text(values[name]):
            raise InputError(f"the {name} holds a lone surrogate, which is not text", source=path, where=where)
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
        doc = json.loads(read_regular(path, MAX_INPUT).decode("utf-8-sig"))
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
        if not item[1] or not _is_text(item[1]):
            raise InputError("the key is empty, or holds a lone surrogate", source=path, where=f"[{n}][1]")
        keys.add((check_relpath(item[0], source=path, where=f"[{n}][0]"), item[1]))
    return frozenset(keys)


def _is_text(value: str) -> bool:
    """True unless `value` holds a lone surrogate (a JSON escape can make one; no file or output can hold it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
