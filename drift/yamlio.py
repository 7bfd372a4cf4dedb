"""YAML loading: safe only, with the C loader when present, errors naming the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from drift.errors import InputError
from drift.paths import MAX_INPUT, read_regular

try:
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_Base):  # type: ignore[misc]
    """A safe loader that refuses a key given twice in one mapping (PyYAML would keep the last silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path, error: type[InputError] = InputError) -> Any:
    """Parse one YAML file safely; a syntax error or an unreadable file raises `error` naming it."""
    try:
        text = read_regular(path, MAX_INPUT)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", source=path) from exc
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else None
        raise error(f"invalid YAML: {exc.problem}", source=path, where=where) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", source=path) from exc
