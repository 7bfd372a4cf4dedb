"""Read only the asked-for keys of a config file: `.properties`, `.ini`, `.yaml`/`.yml`, `.json`.

Nothing else of a config file leaves the tenant. Keys in `.ini` files are `section.key`; in YAML and JSON
a dotted path (`print.lock.mode` is the value at `print` → `lock` → `mode`, or a top-level key spelled
`print.lock.mode`, or any mix; a file that sets two spellings to different values is not read). A file of
any other kind, a YAML file with a merge key (`<<`), and a `.properties` value with characters outside
ASCII that are not `\\uXXXX` escapes are not read: Java's readers read them more than one way. Values are returned as text: `true`/`false` for booleans, as a Java program reading
the file would see them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

# _YAML_NOTE: config files come from the tenant, so they are parsed with PyYAML's pure-Python safe loader: the
# C loader (libyaml) crashes the whole process on deeply nested input (`[[[[...` some 25,000 deep), while the
# pure one raises RecursionError, which becomes a ConfigReadError. Config files are few and small.
# PyYAML is imported only when a YAML config file is read: the collector bundle (`drift bundle collector`)
# runs on a plain Python without it, and there a YAML file's keys are not captured (`YAML_MISSING`): its
# config checks are then `unreadable` in a scan, never a guessed value.

YAML_MISSING = "cannot parse yaml: PyYAML is not installed where the collector runs"


class ConfigReadError(Exception):
    """The config file could not be read or parsed; the message is the reason (never a value)."""


MAX_SIZE = 64 << 20
"""Config files bigger than this are not read (their values are not captured)."""
_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_keys(path: Path, keys: Collection[str]) -> dict[str, str | None]:
    """The value of each key in the config file at `path`, None where the file does not set it.

    The file is opened without following a link (a link is refused with `OSError`) and without blocking; it
    must be a regular file of at most `MAX_SIZE` bytes (else `ConfigReadError`), and is read no further than
    the size `fstat` gave (a file that grows meanwhile is refused). The collector does not use this: it
    parses, with `parse_keys`, the very bytes it hashed.
    """
    fd = os.open(path, _FLAGS | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigReadError("not a regular file")
        if st.st_size > MAX_SIZE:
            raise ConfigReadError(f"bigger than {MAX_SIZE >> 20} MiB")
        parts: list[bytes] = []
        left = st.st_size
        while left > 0 and (chunk := os.read(fd, left)):
            parts.append(chunk)
            left -= len(chunk)
        if left or os.read(fd, 1):
            raise ConfigReadError("changed while being read")
    finally:
        os.close(fd)
    return parse_keys(b"".join(parts), path.name, keys)


def parse_keys(data: bytes, name: str, keys: Collection[str]) -> dict[str, str | None]:
    """The value of each key in `data`, the bytes of the config file called `name` (its suffix says the
    format), None where the file does not set it. Raises `ConfigReadError` when it does not parse."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".properties":
        values = parse_properties(data.decode("latin-1"))  # as Properties.load(InputStream) reads it
        if not _not_utf8(data):
            read = parse_properties(data.decode("utf-8"))  # as a Reader or a resource bundle reads it
            if any(values.get(k) != read.get(k) for k in keys):
                raise ConfigReadError(
                    "a value asked for holds characters outside ASCII, which Java reads as ISO-8859-1 (Properties.load)"
                    " or as UTF-8 (a Reader, a resource bundle): written as \\uXXXX escapes, it reads one way"
                )
            values = read
        return {k: values.get(k) for k in keys}
    if suffix == ".ini":
        return _ini(data, keys)
    if suffix in (".yaml", ".yml", ".json"):
        doc = _json(data) if suffix == ".json" else _yaml(data)
        return {k: _dotted(doc, k) for k in keys}
    # Any other kind of file (`.conf` is HOCON to Typesafe Config, `.xml` is Properties.loadFromXML): read
    # as .properties it could say what its program never reads, so its values are not captured.
    raise ConfigReadError(f"not a config format drift reads ({', '.join(CONFIG_SUFFIXES)}): no value is captured")


CONFIG_SUFFIXES = (".properties", ".ini", ".yaml", ".yml", ".json")
"""The config file formats whose values are read."""


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ConfigReadError(f"cannot parse json: {type(exc).__name__}") from exc


def yaml_available() -> bool:
    """True when PyYAML can be imported (always with an installed drift; maybe not for the bundle)."""
    try:
        import yaml  # noqa: F401
    except ImportError:
        return False
    return True


def _yaml(data: bytes) -> Any:
    try:
        import yaml  # see _YAML_NOTE
    except ImportError:
        raise ConfigReadError(YAML_MISSING) from None
    class Loader(yaml.SafeLoader):
        """SafeLoader that refuses merge keys (`<<`): PyYAML, SnakeYAML and Jackson resolve them differently
        (nested, repeated, or not at all), so a value reached through one is a guess."""

        def flatten_mapping(self, node: Any) -> None:
            if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
                raise ConfigReadError("uses a merge key (<<), which YAML libraries resolve differently: no value is captured")
            super().flatten_mapping(node)

    try:
        return yaml.load(data, Loader=Loader)
    except (ValueError, RecursionError, yaml.YAMLError) as exc:
        raise ConfigReadError(f"cannot parse yaml: {type(exc).__name__}") from exc


def parse_properties(text: str) -> dict[str, str]:
    """Java `.properties`: `key=value`, `key: value` or `key value`; `#`/`!` comments; `\\` continues a line.

    As `java.util.Properties.load` reads it (Java 9 and later): lines end at `\\n`, `\\r` or `\\r\\n` only;
    whitespace is space, tab and form feed; a line is a comment wherever the logical line is still empty,
    right after a lone `\\` continuation too; escapes (`\\uXXXX`, `\\t`, `\\n`, `\\r`, `\\f`, `\\` before any
    other character) are decoded in keys and values. A malformed `\\uXXXX` raises `ConfigReadError`, as
    Java refuses the file.
    """
    result: dict[str, str] = {}
    logical = ""
    continuing = False
    for raw in _LINE_END.split(text):
        line = raw.lstrip(_WHITESPACE)
        if not logical and (not line or line[0] in "#!"):  # nothing of a logical line yet: blank, or a comment
            continue
        if _continues(line):
            logical += line[:-1]
            continuing = True
            continue
        logical += line
        key, value = _split_property(logical)
        result[key] = value
        logical, continuing = "", False
    if continuing and logical:
        key, value = _split_property(logical)
        result[key] = value
    return result


_LINE_END = re.compile(r"\r\n|\r|\n")
_WHITESPACE = " \t\f"
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|u|.|$)", re.DOTALL)
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "=:" or ch in _WHITESPACE:
            break
        i += 1
    key, rest = line[:i], line[i:].lstrip(_WHITESPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_WHITESPACE)
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            if len(code) != 5:
                raise ConfigReadError("cannot parse properties: malformed \\uxxxx escape")
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)


def _ini(data: bytes, keys: Collection[str]) -> dict[str, str | None]:
    import configparser  # here: a collection without an ini file to read never loads it

    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = data.decode("utf-8", "replace")
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError:
        # Keys before any section header (common in hand-kept .ini files) belong to no section.
        try:
            parser.read_string(f"[{configparser.DEFAULTSECT}]\n{text}")
        except configparser.Error as exc:
            raise ConfigReadError(f"cannot parse ini: {type(exc).__name__}") from exc
    except configparser.Error as exc:
        raise ConfigReadError(f"cannot parse ini: {type(exc).__name__}") from exc
    result: dict[str, str | None] = {}
    for key in keys:
        result[key] = parser.defaults().get(key)
        # Section and option names may both hold dots (`[Session]` `session.save_path`): try every split,
        # the longest section name first.
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            section, option = ".".join(parts[:cut]), ".".join(parts[cut:])
            if parser.has_option(section, option):
                result[key] = parser.get(section, option)
                break
    return result


def _dotted(doc: Any, key: str) -> str | None:
    """The value at the dotted key, spelled any way: `print.lock.mode` may be a top-level key, or `print` →
    `lock` → `mode`, or `print` → `lock.mode`. Where two spellings set different values, which one the
    program reads depends on its library (SnakeYAML reads the nested one, Spring the later one): the file
    is then not read (`ConfigReadError`), never a guessed value."""
    parts = key.split(".")
    if len(parts) > _MAX_KEY_PARTS:
        raise ConfigReadError(f"a key of more than {_MAX_KEY_PARTS} dotted parts is not looked up")
    found: list[str | None] = []
    for cuts in itertools.product((False, True), repeat=len(parts) - 1):
        names = [parts[0]]
        for cut, part in zip(cuts, parts[1:]):
            if cut:
                names.append(part)
            else:
                names[-1] += "." + part
        node = doc
        for name in names:
            if not isinstance(node, dict) or name not in node:
                break
            node = node[name]
        else:
            found.append(_text(node))
    values = set(found)
    if len(values) > 1:
        raise ConfigReadError("a key is set two ways (as one dotted key and as nested keys) to different values")
    return found[0] if found else None


_MAX_KEY_PARTS = 12


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
