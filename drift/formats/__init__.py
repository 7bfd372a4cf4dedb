"""Output formats of a scan: each a function `(scan, policy) -> str`, registered by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from drift.formats.csvout import csv_chunks, render_csv
from drift.formats.jsonout import json_chunks, render_json
from drift.formats.table import render_table
from drift.policy import Policy
from drift.results import Scan

Formatter = Callable[[Scan, Policy], str]

FORMATS: dict[str, Formatter] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
}
"""Format name → formatter."""

NEEDS_ALL_FINDINGS = frozenset({"json", "csv"})
"""Formats that print every finding; the others print only the blocking ones beside the counts."""

_CHUNKED: dict[str, Callable[[Scan, Policy], Iterable[str]]] = {"json": json_chunks, "csv": csv_chunks}


def render_chunks(name: str, scan: Scan, policy: Policy) -> Iterable[str]:
    """`FORMATS[name](scan, policy)` in pieces that join to it: a fleet's JSON or CSV (a gigabyte for
    thousands of tenants × fixes) is written tenant by tenant, never held whole."""
    chunked = _CHUNKED.get(name)
    return chunked(scan, policy) if chunked is not None else (FORMATS[name](scan, policy),)


__all__ = ["FORMATS", "NEEDS_ALL_FINDINGS", "Formatter", "render_chunks"]
