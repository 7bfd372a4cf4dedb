"""Build a fix catalog from a product's git history and the vendor's fix register (`drift catalog build`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from drift.catalog.builder.fixes import build_fix, unreleased_variant
from drift.catalog.builder.history import History, find_landings, forks
from drift.catalog.builder.model import Built, BuiltFix, BuiltRelease, BuiltVariant, Options, Report
from drift.catalog.builder.register import Entry
from drift.catalog.builder.releases import read_releases
from drift.catalog.builder.repo import Repository
from drift.catalog.model import version_key

__all__ = ["Built", "BuiltFix", "BuiltRelease", "BuiltVariant", "Options", "Report", "build"]


def build(repo: Repository, register: Sequence[Entry], options: Options, register_path: Path) -> Built:
    """Read releases from tags and fixes from the register, and derive every fix's hashes."""
    report = Report()
    releases = read_releases(repo, options, report)
    lines = tuple(dict.fromkeys(line for _, line in options.line_rules))
    releases.sort(key=lambda r: (lines.index(r.line), version_key(r.version)))
    history = History(repo, releases)
    history.resolve([rev for entry in register for rev in entry.commits])
    landings = [find_landings(history, entry, register_path, report) for entry in register]
    changes = repo.changes(c for released, unreleased in landings for c in released + unreleased)
    by_hash: dict[int, dict[str, list[str]]] = {}
    fixes = tuple(
        build_fix(history, entry, released, changes, options, report, by_hash)
        if released
        else BuiltFix(entry, tuple(unreleased_variant(history, c, changes.get(c, []), options, entry.id, report) for c in unreleased))
        for entry, (released, unreleased) in zip(register, landings, strict=True)
    )
    return Built(options.product, lines, tuple(releases), fixes, report, forks(history, lines))
