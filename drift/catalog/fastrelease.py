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
    r'  - \{path: ([A-Za-z0-9_][A-Za-z0-9_./+-]*), kind: ([a-z][a-z0-9_-]*), sha256: "([0-9a-f]{64})"'
    r'(?:, content_sha256: "([0-9a-f]{64})")?\}'
)
_SPLIT = "\nfiles:\n"
_STR = "tag:yaml.org,2002:str"


def parse_release(text: str) -> dict[str, Any] | None:
    """The manifest as YAML would load it, or None when it is not in the canonical layout."""
    head, sep, body = text.partition(_SPLIT)
    if not sep:
        return None
    try:
        header = yaml.load(head, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    if not isinstance(header, dict) or "files" in header:
        return None
    files: list[dict[str, str]] = []
    strings: dict[str, str] = {}
    for line in body.split("\n"):
        if not line:
            continue
        match = _ENTRY.fullmatch(line)
        if match is None:
            return None
        path, kind, sha, content = match.groups()
        if not (_plain_string(path) and _plain_string(kind)):
            return None
        entry = {"path": path, "kind": strings.setdefault(kind, kind), "sha256": sha}
        if content is not None:
            entry["content_sha256"] = content
        files.append(entry)
    header["files"] = files
    return header


@lru_cache(maxsize=4096)
def _plain_string(value: str) -> bool:
    """True when YAML reads this plain scalar as a string (not a number, boolean, null or date)."""
    if "/" in value:
        return True  # no implicit YAML type contains a slash
    return yaml.resolver.Resolver().resolve(yaml.nodes.ScalarNode, value, (True, False)) == _STR
