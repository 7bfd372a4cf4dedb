"""What a scan finds: frozen result objects, rendered by `drift.formats` and stored by `drift.store`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import attrgetter, is_
from typing import Any, Generic, NamedTuple, TypeVar

from drift.tenants import Tenant

T = TypeVar("T")

# Entry states (SPEC 5).
FIXED = "fixed"
UNFIXED = "unfixed"
MODIFIED = "modified"
UNREADABLE = "unreadable"
REMOVED = "removed"
NOT_DEPLOYED = "not-deployed"
AMBIGUOUS = "ambiguous"

# Fix statuses, worst first: the order tables and summaries use.
MISSING = "missing"
PARTIAL = "partial"
UNVERIFIABLE = "unverifiable"
APPLIED = "applied"
NOT_APPLICABLE = "not-applicable"
STATUSES = (MISSING, PARTIAL, UNVERIFIABLE, APPLIED, NOT_APPLICABLE)


class Evidence(NamedTuple):
    """How one file entry or config check of a variant was judged (a tuple: hashed and shared by the
    million in a fleet scan)."""

    path: str
    """The file (for a config check: `<file>#<key>`)."""
    state: str
    """`fixed`, `unfixed`, `modified`, `unreadable`, `removed`, `not-deployed` or `ambiguous`."""
    found: str | None
    """What the tenant has: its hash token (the one that matched, else its sha256), a config value,
    `absent`, or None when nothing could be read."""
    expected: tuple[str, ...]
    """What means fixed: the entry's `fixed` tokens, or the config check's expected value."""
    found_at: str | None = None
    """Where `found` was found when that is not `path`: an uncatalogued stale copy of the file (SPEC 5)."""
    note: str = ""
    """Why the state is what it is, where the state alone does not say (excluded at collection, removed,
    a stale copy), in a few words."""


def evidence_item(e: Evidence) -> dict[str, Any]:
    """One evidence entry as the scan document writes it: `found_at` and `note` only when they say something."""
    item: dict[str, Any] = {"path": e.path, "state": e.state, "found": e.found, "expected": list(e.expected)}
    if e.found_at is not None:
        item["found_at"] = e.found_at
    if e.note:
        item["note"] = e.note
    return item


def evidence_of(item: dict[str, Any]) -> Evidence:
    """`evidence_item` read back."""
    return Evidence(item["path"], item["state"], item["found"], tuple(item["expected"]), item.get("found_at"), item.get("note", ""))


@dataclass(frozen=True, slots=True)
class Finding:
    """One fix judged on one tenant."""

    fix: str
    """The fix id."""
    status: str
    """One of `STATUSES`."""
    severity: str
    """The fix's severity."""
    variant: str | None
    """The line of the variant the status comes from; None when no variant was judged."""
    evidence: tuple[Evidence, ...] = ()
    """Per entry of that variant: path, state, found and expected."""
    reason: str = ""
    """Why, where the evidence alone does not say (e.g. excluded by `applies_to`)."""


@dataclass(frozen=True, slots=True)
class FileDrift:
    """A tenant's files against every release manifest of the product."""

    uncatalogued: tuple[str, ...] = ()
    """Files no release manifest knows: custom code no fix review covers."""
    modified: tuple[str, ...] = ()
    """Known paths whose hash matches no release."""
    releases: Mapping[str, int] = field(default_factory=dict)
    """Release version → how many of the tenant's files are attributed to it (most files first)."""
    stale_copies: Mapping[str, str] = field(default_factory=dict)
    """Uncatalogued path → the fix file it is a known unfixed version of: a stale file kept under a name no
    release knows (see `drift.expected`)."""


@dataclass(frozen=True, slots=True)
class TenantResult:
    """Every applicable fix judged on one tenant, with its file-level drift."""

    tenant: Tenant
    """The tenant, as the registry has it."""
    inventory_digest: str
    """The digest of the inventory judged."""
    collected_at: str | None
    """When the inventory was collected."""
    findings: tuple[Finding, ...]
    """One per fix of the catalog, sorted by fix id; a store may load only some (see `counts`)."""
    drift: FileDrift
    """File-level drift."""
    counts: Mapping[str, int]
    """Findings per status over every fix judged, each of `STATUSES` present."""
    runs: tuple[tuple[Finding, ...], ...] = field(default=(), compare=False, repr=False)
    """`findings` as consecutive runs that other tenants' results share (the same tuple objects), or empty:
    lets `PerFinding.of` look a value up once per run, not once per finding."""
    signed_by: str | None = None
    """The trust file's id of the key whose signature on the inventory verified; None: not signed, or no
    trust file to check it with."""
    signature: str = ""
    """What became of the inventory's signature when a trust file was used: `signed by <key>`, `unsigned`, or
    `refused: <why>` (the tenant is then `unverifiable`); "" without a trust file."""


class PerFinding(Generic[T]):
    """A value computed once per finding object: the tenants of a scan share finding objects (see
    `drift.judge`), so a fleet of millions of findings holds only thousands of distinct ones.

    Keyed by object identity, looked up in one C-level pass per tenant (or, with `of`, once per run of
    findings that results share); each finding seen is kept alive here, so its id() cannot be reused by
    another object meanwhile.
    """

    def __init__(self, compute: Callable[[Finding], T]) -> None:
        self._compute = compute
        self._values: dict[int, T] = {}
        self._alive: list[Finding] = []
        self._runs = PerRun(self.values)

    def of(self, result: TenantResult) -> list[T]:
        """The value for each of the result's findings, in order (by its runs when it has them)."""
        if not result.runs:
            return self.values(result.findings)
        found: list[T] = []
        for run in result.runs:
            found += self._runs(run)
        return found

    def values(self, findings: Sequence[Finding]) -> list[T]:
        """The value for each finding, in order."""
        found: list[T | None] = list(map(self._values.get, map(id, findings)))
        if None in found:
            # Only the positions not seen before are visited one by one (a C-level pass finds them).
            for i in compress(range(len(found)), map(is_, found, repeat(None))):
                finding = findings[i]
                value = self._values.get(id(finding))
                if value is None:
                    value = self._values[id(finding)] = self._compute(finding)
                    self._alive.append(finding)
                found[i] = value
        return found  # type: ignore[return-value]


class PerRun(Generic[T]):
    """A value computed once per run of findings (a tuple that results share: see `TenantResult.runs`),
    keyed by identity; each run seen is kept alive here, so its id() cannot be reused meanwhile."""

    def __init__(self, compute: Callable[[tuple[Finding, ...]], T]) -> None:
        self._compute = compute
        self._values: dict[int, T] = {}
        self._alive: list[tuple[Finding, ...]] = []

    def __call__(self, run: tuple[Finding, ...]) -> T:
        value = self._values.get(id(run))
        if value is None:
            value = self._values[id(run)] = self._compute(run)
            self._alive.append(run)
        return value


def count_statuses(findings: tuple[Finding, ...]) -> dict[str, int]:
    """Findings per status, every status present (zero when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(Counter(map(attrgetter("status"), findings)))
    return counts


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan: a content-addressed id, the catalog judged against, and one result per tenant."""

    id: str
    """`sha256:` over the catalog digest and the inventory digests (see `drift.scan.scan_id`)."""
    catalog_digest: str
    """The catalog's digest."""
    created_at: str
    """When the scan was first run (ISO 8601, UTC)."""
    tenants: tuple[TenantResult, ...]
    """Sorted by tenant id."""
    titles: Mapping[str, str] = field(default_factory=dict)
    """Fix id → title, from the catalog judged (stored with the scan, so exports made away from the catalog
    folder have them); empty for a scan stored before titles were."""
