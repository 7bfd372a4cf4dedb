"""Output formats of a scan: each a function `(scan, policy) -> str`, registered by name."""

from __future__ import annotations

from collections.abc import Callable

from drift.formats.csvout import render_csv
from drift.formats.jsonout import render_json
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

__all__ = ["FORMATS", "NEEDS_ALL_FINDINGS", "Formatter"]
