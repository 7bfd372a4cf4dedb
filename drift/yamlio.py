"""YAML loading: safe only, with the C loader when present, errors naming the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from drift.errors import InputError

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


def load_yaml(path: Path, error: type[InputError] = InputError) -> Any:
    """Parse one YAML file safely; a syntax error or an unreadable file raises `error` naming it."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", source=path) from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else None
        raise error(f"invalid YAML: {exc.problem}", source=path, where=where) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", source=path) from exc
