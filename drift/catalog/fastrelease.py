"""A fast path for release manifests in the canonical layout that `drift` itself writes.

A release of a large product lists thousands of files, and a catalog holds every release: building Python
objects through PyYAML for each of them dominates loading. Manifests whose `files:` list is written one
flow mapping per line, with plain paths and quoted hashes, are read here with one regular expression per
line. Anything else (comments, other quoting, other key order, a path YAML would read as a non-string)
returns None and goes through the YAML parser, so the result is always what YAML would give.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from drift.yamlio import _Loader

_ENTRY = re.compile(
    r'^  - \{path: ([A-Za-z0-9_][A-Za-z0-9_./+-]*), kind: ([a-z][a-z0-9_-]*), sha256: "([0-9a-f]{64})"'
    r'(?:, content_sha256: "([0-9a-f]{64})")?\}\n',
    re.MULTILINE,
)
_SPLIT = "\nfiles:\n"
_STR = "tag:yaml.org,2002:str"

Row = tuple[str, str, str, str]
"""(path, kind, sha256, content_sha256 or "") of one file."""


def parse_release(text: str) -> tuple[dict[str, Any], list[Row]] | None:
    """The manifest's other fields as YAML would load them, and its files; None when not in the layout."""
    head, sep, body = text.partition(_SPLIT)
    if not sep or (body and not body.endswith("\n")):
        return None
    try:
        header = yaml.load(head, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(header, dict) or "files" in header:
        return None
    rows: list[Row] = _ENTRY.findall(body)
    # Each match is one whole line, so as many matches as lines means every line is an entry.
    if len(rows) != body.count("\n"):
        return None
    if not all(map(plain_string, {row[0] for row in rows if "/" not in row[0]} | {row[1] for row in rows})):
        return None
    return header, rows


@lru_cache(maxsize=4096)
def plain_string(value: str) -> bool:
    """True when YAML reads this plain scalar as a string (not a number, boolean, null or date); no implicit
    YAML type contains a slash."""
    resolved = yaml.resolver.Resolver().resolve(yaml.nodes.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return "/" in value or resolved == _STR
