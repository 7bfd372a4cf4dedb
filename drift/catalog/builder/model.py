"""What a catalog build produces before it is written: releases, fixes and the report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from drift.catalog.builder.register import Entry
from drift.catalog.builder.repo import Tag


@dataclass(frozen=True)
class Options:
    """How to read the repository."""

    includes: tuple[str, ...]
    """Globs of repository paths that are deployed (`*` crosses `/`)."""
    line_rules: tuple[tuple[re.Pattern[str], str], ...]
    """(tag pattern, line): the first pattern found in a tag's name gives its line."""
    tags: re.Pattern[str] = re.compile(r"^v?\d")
    """Tags that are releases."""
    maps: tuple[tuple[str, str], ...] = ()
    """(repository prefix, deployed prefix) rewrites, the first that applies."""
    artifacts: Path | None = None
    """A folder with one folder per release version holding its built outputs."""
    pre_releases: bool = False
    """Whether pre-release tags (rc, beta, ...) are releases too."""
    product: str = "product"
    """The product's name in catalog.yaml."""
    modules: tuple[tuple[str, str], ...] = ()
    """(glob, module): a deployed file's module is that of the first glob that matches its deployed path
    (`*` crosses `/`); a file no glob matches has none (every tenant deploys it)."""
    artifact_sources: tuple[tuple[str, str], ...] = ()
    """(repository glob, artifact glob): the built outputs the repository paths go into. An output a rule
    names goes only to the fixes that change one of its sources."""


@dataclass(frozen=True)
class BuiltRelease:
    """A release as built: its files' tokens by deployed path."""

    tag: Tag
    line: str
    version: str
    files: dict[str, tuple[str, str, str | None]]
    """Deployed path -> (kind, sha256, content-sha256 or None)."""
    artifacts: frozenset[str] = frozenset()
    """The paths among `files` that came from `--artifacts` (built outputs, not the repository)."""
    modules: dict[str, str] = field(default_factory=dict)
    """Deployed path -> its module, for the paths among `files` that a `--module` rule gives one."""
    blobs: dict[str, str] = field(default_factory=dict)
    """Deployed path -> git blob id, for the paths among `files` that came from the repository."""


@dataclass
class Report:
    """What the build found and could not find, for the user to read (and the register to be completed)."""

    releases: list[str] = field(default_factory=list)
    skipped_tags: list[str] = field(default_factory=list)
    landings: dict[str, list[str]] = field(default_factory=dict)
    """Per fix id, one line per line of the product: the commits that bring the fix there, and how each was found."""
    backports_missing: dict[str, list[str]] = field(default_factory=dict)
    """Per fix id, the lines with releases after the fix on which no commit carrying it was found."""
    refused: list[str] = field(default_factory=list)
    """Commits a message ties to a fix that change none of its files, left out of its landings."""
    incomplete: list[str] = field(default_factory=list)
    """Lines where copies of only some of a fix's commits were found."""
    reverted: list[str] = field(default_factory=list)
    """Reverts of a fix's commits, and the releases they take the fix from."""
    conflicts: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    """Files judged under another name: where a moved fix file was followed, and the names it had elsewhere."""
    no_deployed_files: list[str] = field(default_factory=list)
    unreleased: list[str] = field(default_factory=list)
    unmatched_modules: list[str] = field(default_factory=list)
    """`--module` rules (`GLOB=NAME`) whose glob matches no deployed file of any release."""


@dataclass(frozen=True)
class BuiltVariant:
    line: str
    fixed_in: str
    commits: tuple[str, ...]
    files: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    """(path, fixed tokens, unfixed tokens)."""


@dataclass(frozen=True)
class BuiltFix:
    entry: Entry
    variants: tuple[BuiltVariant, ...]


@dataclass(frozen=True)
class Built:
    """The whole catalog, ready to be written."""

    product: str
    lines: tuple[str, ...]
    releases: tuple[BuiltRelease, ...]
    fixes: tuple[BuiltFix, ...]
    report: Report
    forked_from: dict[str, str] = field(default_factory=dict)
    """Line -> the line whose release its first release was built on."""
