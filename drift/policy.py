"""Which findings block (SPEC 7): statuses, a least severity, uncatalogued files, and waivers.

`drift.gate` loads a policy file into a `Policy` and applies it to a scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from drift.catalog.model import SEVERITIES, severity_rank
from drift.results import MISSING, PARTIAL, UNVERIFIABLE, Finding

BLOCKABLE = (MISSING, PARTIAL, UNVERIFIABLE)
"""The statuses a policy may make block: `applied` and `not-applicable` never do."""
DEFAULT_BLOCKING = frozenset(BLOCKABLE)
DEFAULT_MIN_SEVERITY = "high"

UNCATALOGUED_BLOCK = "block"
UNCATALOGUED_WARN = "warn"
UNCATALOGUED_IGNORE = "ignore"
UNCATALOGUED_CHOICES = (UNCATALOGUED_BLOCK, UNCATALOGUED_WARN, UNCATALOGUED_IGNORE)
"""What uncatalogued files (custom code no fix review covers) do at the gate."""
DEFAULT_UNCATALOGUED = UNCATALOGUED_WARN


@dataclass(frozen=True, slots=True)
class Waiver:
    """An accepted blocking finding: one fix at one tenant, for a reason, approved by someone, until a date."""

    tenant: str
    """The tenant id."""
    fix: str
    """The fix id."""
    reason: str
    """Why the finding may pass."""
    approved_by: str
    """Who accepted it."""
    expires: dt.date
    """The last day the waiver applies; from the next day on the finding blocks again."""
    where: str = ""
    """Where the policy file gives it, e.g. `waivers[2]`."""

    def applies_on(self, day: dt.date) -> bool:
        """True through the expiry date, false from the day after."""
        return day <= self.expires

    def describe(self) -> str:
        """One line: `402206 KOFU-2019-0117 (until 2023-07-31, approved by X: reason)`."""
        return f"{self.tenant} {self.fix} (until {self.expires.isoformat()}, approved by {self.approved_by}: {self.reason})"


@dataclass(frozen=True, slots=True)
class Policy:
    """What blocks."""

    statuses: frozenset[str] = DEFAULT_BLOCKING
    """Statuses that block."""
    min_severity: str = DEFAULT_MIN_SEVERITY
    """The least severe severity that blocks."""
    uncatalogued: str = DEFAULT_UNCATALOGUED
    """What a tenant's uncatalogued files do: `block`, `warn` or `ignore`."""
    waivers: tuple[Waiver, ...] = ()
    """Accepted blocking findings, in the policy file's order."""
    source: str | None = None
    """The policy file it was loaded from; None for the defaults and flags alone."""

    severities: frozenset[str] = field(init=False, repr=False, compare=False)
    """The severities that block: `min_severity` and every more severe one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severities", frozenset(SEVERITIES[: severity_rank(self.min_severity) + 1]))

    def blocks(self, finding: Finding) -> bool:
        """True when the finding's status and severity both block (before any waiver)."""
        return finding.status in self.statuses and finding.severity in self.severities

    def describe(self) -> str:
        """One line: `missing, partial, unverifiable at high or above; uncatalogued files warn`."""
        statuses = ", ".join(s for s in BLOCKABLE if s in self.statuses)
        return f"{statuses} at {self.min_severity} or above; uncatalogued files {self.uncatalogued}"
