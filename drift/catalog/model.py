"""The catalog's model: frozen dataclasses, built only by `drift.catalog.load`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from drift.hashes import ABSENT

SEVERITIES = ("critical", "high", "medium", "low")
"""Severities, most severe first."""


def severity_rank(severity: str) -> int:
    """0 for critical, 3 for low: smaller is more severe."""
    return SEVERITIES.index(severity)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders `8.10.0` after `8.9.2`: digit runs compare as numbers."""
    parts = [p for p in re.split(r"(\d+)", version) if p not in ("", ".")]
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """One deployed file of a release."""

    path: str
    """Path relative to the deploy root."""
    kind: str
    """What the file is: `source`, `binary`, `config`, ..."""
    sha256: str
    """SHA-256 of the file's bytes, hex."""
    content_sha256: str | None = None
    """For zip-family archives, the content hash (see `drift.archive`), hex."""
    module: str | None = None
    """The product module that ships it; None: every tenant has it (SPEC 3)."""


@dataclass(frozen=True, slots=True)
class Release:
    """One release of one line: every file it deploys."""

    line: str
    """The maintenance line, e.g. `8.x`."""
    version: str
    """The release version, e.g. `8.2.1`."""
    date: dt.date | None
    """Release date, when the manifest gives one."""
    files: tuple[ReleaseFile, ...]
    """Every deployed file, in manifest order."""
    source: str = ""
    """The manifest file it was loaded from."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file a fix variant touches, with the hashes that mean fixed and unfixed."""

    path: str
    """Path relative to the deploy root."""
    fixed: tuple[str, ...]
    """Tokens (`sha256:…`, `content-sha256:…`, `absent`) that mean the fix is there."""
    unfixed: tuple[str, ...]
    """Tokens that mean the fix is not there."""
    fixed_set: frozenset[str] = field(init=False, repr=False, compare=False)
    """`fixed` as a set, for matching."""
    unfixed_set: frozenset[str] = field(init=False, repr=False, compare=False)
    """`unfixed` as a set, for matching."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed_set", frozenset(self.fixed))
        object.__setattr__(self, "unfixed_set", frozenset(self.unfixed))

    @property
    def absence_ambiguous(self) -> bool:
        """`absent` stands in both lists: the file's absence proves nothing."""
        return ABSENT in self.fixed_set and ABSENT in self.unfixed_set


@dataclass(frozen=True, slots=True)
class ConfigCheck:
    """A deploy-time setting a fix needs."""

    file: str
    """The config file, relative to the deploy root."""
    key: str
    """The setting's key."""
    expect: str
    """The value that means the fix is in force."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One landing of a fix on a line (a backport is another variant)."""

    line: str
    """The line it landed on."""
    fixed_in: str | None
    """First release of the line that ships it (informative)."""
    files: tuple[FileEntry, ...]
    """The files that carry the fix."""
    config: tuple[ConfigCheck, ...] = ()
    """Settings the fix needs."""


@dataclass(frozen=True, slots=True)
class Applicability:
    """Which tenants a fix applies to; `None` means no restriction on that axis."""

    editions: frozenset[str] | None = None
    """Editions it applies to."""
    modules: frozenset[str] | None = None
    """Modules it applies to: a tenant needs at least one of them."""


@dataclass(frozen=True, slots=True)
class Fix:
    """A known defect fix."""

    id: str
    """The fix id, e.g. `KOFU-2019-0117`."""
    title: str
    """One line on the defect."""
    severity: str
    """One of `SEVERITIES`."""
    published: dt.date | None
    """When the fix was published."""
    aliases: tuple[str, ...]
    """Other ids of the same fix."""
    applies_to: Applicability
    """Which tenants it applies to."""
    variants: tuple[Variant, ...]
    """One per landing, in catalog order."""
    source: str = ""
    """The fix file it was loaded from."""


@dataclass(frozen=True)
class Catalog:
    """A product's whole fix catalog."""

    product: str
    """The product's name."""
    lines: tuple[str, ...]
    """Maintenance lines, in order."""
    forked_from: dict[str, str]
    """Line → the line it forked from."""
    releases: tuple[Release, ...]
    """Every release, by line order, then version."""
    fixes: tuple[Fix, ...]
    """Every fix, sorted by id."""
    digest: str
    """`sha256:<hex>` over every catalog file (see `drift.catalog.load.catalog_digest`)."""

    def config_keys(self) -> frozenset[tuple[str, str]]:
        """Every (config file, key) a fix checks: what a collector captures."""
        return frozenset((c.file, c.key) for fix in self.fixes for v in fix.variants for c in v.config)
