"""Read only the asked-for keys of a config file: `.properties`, `.ini`, `.yaml`/`.yml`, `.json`.

Nothing else of a config file leaves the tenant. Keys in `.ini` files are `section.key`; in YAML and JSON
a dotted path (`print.lock.mode` is the value at `print` → `lock` → `mode`, or a top-level key spelled
`print.lock.mode`). Values are returned as text: `true`/`false` for booleans, as a Java program reading
the file would see them.
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from drift.yamlio import _Loader


class ConfigReadError(Exception):
    """The config file could not be parsed; the message is the reason (never a value)."""


def read_keys(path: Path, keys: Collection[str]) -> dict[str, str | None]:
    """The value of each key in the config file at `path`, None where the file does not set it."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".properties":
        values = parse_properties(data.decode("latin-1") if _not_utf8(data) else data.decode("utf-8"))
        return {k: values.get(k) for k in keys}
    if suffix == ".ini":
        return _ini(data, keys)
    if suffix in (".yaml", ".yml", ".json"):
        try:
            doc = json.loads(data) if suffix == ".json" else yaml.load(data, Loader=_Loader)  # noqa: S506
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigReadError(f"cannot parse {suffix[1:]}: {type(exc).__name__}") from exc
        return {k: _dotted(doc, k) for k in keys}
    # Any other file: read as .properties, the common case for Java deployments.
    values = parse_properties(data.decode("utf-8", "replace"))
    return {k: values.get(k) for k in keys}


def parse_properties(text: str) -> dict[str, str]:
    """Java `.properties`: `key=value`, `key: value` or `key value`; `#`/`!` comments; `\\` continues a line."""
    result: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.lstrip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if _continues(line):
            logical += line[:-1]
            continue
        logical += line
        key, value = _split_property(logical)
        result[key] = value
        logical = ""
    if logical:
        key, value = _split_property(logical)
        result[key] = value
    return result


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    key_chars: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            key_chars.append(line[i + 1])
            i += 2
            continue
        if ch in "=: \t":
            break
        key_chars.append(ch)
        i += 1
    rest = line[i:].lstrip(" \t")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t")
    return "".join(key_chars), rest


def _ini(data: bytes, keys: Collection[str]) -> dict[str, str | None]:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error as exc:
        raise ConfigReadError(f"cannot parse ini: {type(exc).__name__}") from exc
    result: dict[str, str | None] = {}
    for key in keys:
        section, _, option = key.rpartition(".")
        if section and parser.has_option(section, option):
            result[key] = parser.get(section, option)
        else:
            result[key] = parser.defaults().get(key)
    return result


def _dotted(doc: Any, key: str) -> str | None:
    if isinstance(doc, dict) and key in doc:
        return _text(doc[key])
    node = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return _text(node)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
