"""A fast path for release manifests in the canonical layout that `drift` itself writes.

A release of a large product lists thousands of files, and a catalog holds every release: building Python
objects through PyYAML for each of them dominates loading. Manifests whose `files:` list is written one
flow mapping per line, with plain paths, kinds and modules and quoted hashes, are read here with one regular
expression per line. Anything else (comments, other quoting, other key order, a path or module YAML would
read as a non-string) returns None and goes through the YAML parser, so the result is always what YAML would give.

Most lines are the same from one release to the next (a file changes in few releases), so a line already
seen in another manifest is not matched again: its row is looked up by the line's text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from drift.yamlio import _Loader

_ENTRY = re.compile(
    r'  - \{path: ([A-Za-z0-9_][A-Za-z0-9_./+-]*), kind: ([a-z][a-z0-9_-]*), sha256: "([0-9a-f]{64})"'
    r'(?:, content_sha256: "([0-9a-f]{64})")?(?:, module: ([A-Za-z0-9_][A-Za-z0-9_./+-]{0,63}))?\}'
)
_SPLIT = "\nfiles:\n"
_STR = "tag:yaml.org,2002:str"

Row = tuple[str, str, str, str, str]
"""(path, kind, sha256, content_sha256 or "", module or "") of one file."""


def parse_release(text: str, seen: dict[str, Row] | None = None) -> tuple[dict[str, Any], list[Row]] | None:
    """The manifest's other fields as YAML would load them, and its files; None when not in the layout.

    `seen` maps lines already parsed (in other manifests of the same catalog) to their rows; new lines are
    added to it. Equal lines get the same row object, its strings shared."""
    head, sep, body = text.partition(_SPLIT)
    if not sep or (body and not body.endswith("\n")):
        return None
    try:
        header = yaml.load(head, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(header, dict) or "files" in header:
        return None
    known = {} if seen is None else seen
    lines = body.split("\n")
    lines.pop()  # "" after the final newline
    rows: list[Row | None] = list(map(known.get, lines))
    if not all(rows):
        for i, line in enumerate(lines):
            if rows[i] is None:
                row = known.get(line) or _row(line)
                if row is None:
                    return None
                rows[i] = known[line] = row
    return header, rows  # type: ignore[return-value]


def _row(line: str) -> Row | None:
    """The row of one line of the files list; None when the line is not an entry in the layout."""
    match = _ENTRY.fullmatch(line)
    if match is None:
        return None
    path, kind, sha256, content, module = match.groups("")
    if not (plain_string(kind) and ("/" in path or plain_string(path)) and (not module or plain_string(module))):
        return None
    return path, kind, sha256, content, module


@lru_cache(maxsize=4096)
def plain_string(value: str) -> bool:
    """True when YAML reads this plain scalar as a string (not a number, boolean, null or date); no implicit
    YAML type contains a slash."""
    resolved = yaml.resolver.Resolver().resolve(yaml.nodes.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return "/" in value or resolved == _STR
