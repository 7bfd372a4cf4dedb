"""Which findings block (SPEC 7). The gate's policy file and waivers build on this."""

from __future__ import annotations

from dataclasses import dataclass, field

from drift.catalog.model import SEVERITIES, severity_rank
from drift.results import MISSING, PARTIAL, UNVERIFIABLE, Finding

DEFAULT_BLOCKING = frozenset({MISSING, PARTIAL, UNVERIFIABLE})
DEFAULT_MIN_SEVERITY = "high"


@dataclass(frozen=True, slots=True)
class Policy:
    """What blocks."""

    statuses: frozenset[str] = DEFAULT_BLOCKING
    """Statuses that block."""
    min_severity: str = DEFAULT_MIN_SEVERITY
    """The least severe severity that blocks."""

    severities: frozenset[str] = field(init=False, repr=False, compare=False)
    """The severities that block: `min_severity` and every more severe one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severities", frozenset(SEVERITIES[: severity_rank(self.min_severity) + 1]))

    def blocks(self, finding: Finding) -> bool:
        """True when the finding's status and severity both block."""
        return finding.status in self.statuses and finding.severity in self.severities
