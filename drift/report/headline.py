"""The report's headline: how many tenants block, how many lack each critical fix, and what changed since
the run before (`drift.history.diff`). Plain numbers, computed once, shown at the top of the page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drift.gate import GateResult
from drift.history import CHANGES, Diff, diff
from drift.policy import Policy
from drift.results import MISSING, PARTIAL, UNVERIFIABLE
from drift.store import Run, Store

CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class FixLack:
    """How many tenants lack one fix."""

    fix: str
    """The fix id."""
    title: str
    """Its title, when the catalog was at hand."""
    missing: int
    """Tenants where it is missing."""
    partial: int
    """Tenants where it is partly applied."""
    unverifiable: int
    """Tenants where it cannot be verified."""
    waived: int
    """Of those, the findings a waiver in force lets pass."""

    @property
    def lacking(self) -> int:
        """Tenants that lack the fix: missing or partial."""
        return self.missing + self.partial


@dataclass(frozen=True, slots=True)
class Since:
    """What changed since the run before the one reported (None fields when there is none)."""

    previous: Run | None
    """The run before; None when the reported run is the first."""
    diff: Diff | None
    """The changes from it to the reported run; None when there is no run before."""

    @property
    def counts(self) -> Mapping[str, int]:
        """Changes per kind of `drift.history.CHANGES`, every kind present."""
        return self.diff.counts if self.diff is not None else dict.fromkeys(CHANGES, 0)


@dataclass(frozen=True, slots=True)
class Headline:
    """The summary numbers of a report."""

    tenants: int
    """Tenants in the scan."""
    fixes: int
    """Fixes the scan judged."""
    blocking_tenants: int
    """Tenants that block the gate under the policy, waivers applied."""
    waived: int
    """Blocking findings a waiver in force lets pass."""
    no_inventory: int
    """Tenants the registry names with no inventory (they always block)."""
    critical: tuple[FixLack, ...]
    """Every critical fix, most lacking first."""
    since: Since
    """What changed since the run before."""


def since_previous(store: Store, run: Run, policy: Policy) -> Since:
    """What changed from the run before `run` to `run` (blocking as `policy` says, before waivers)."""
    with store.reading():
        runs = store.runs()
        position = next((i for i, r in enumerate(runs) if r.key == run.key), 0)
        earlier = [r for r in runs[:position] if r.whole]  # a narrowed run (a gate on one tenant) is no "before"
        if not earlier:
            return Since(None, None)
        previous = earlier[-1]
        # Runs are named by their scans: the diff compares the two scans' findings, whichever run of each it names.
        return Since(previous, diff(store, previous.scan, run.scan, policy=policy))


def headline(gate: GateResult, fixes: Sequence[str], severities: Mapping[str, str], titles: Mapping[str, str],
             since: Since) -> Headline:
    """The headline of a gated scan: `fixes` are the fix ids judged, with their `severities`."""
    critical = [fix for fix in fixes if severities.get(fix) == CRITICAL]
    counts = {fix: dict.fromkeys((MISSING, PARTIAL, UNVERIFIABLE, "waived"), 0) for fix in critical}
    for tenant in gate.tenants:
        for finding in tenant.result.findings:
            row = counts.get(finding.fix)
            if row is not None and finding.status in row:
                row[finding.status] += 1
        for waived in tenant.waived:
            if waived.finding.fix in counts:
                counts[waived.finding.fix]["waived"] += 1
    lacks = [
        FixLack(fix, titles.get(fix, ""), c[MISSING], c[PARTIAL], c[UNVERIFIABLE], c["waived"]) for fix, c in counts.items()
    ]
    lacks.sort(key=lambda lack: (-lack.lacking, -lack.unverifiable, lack.fix))
    return Headline(
        tenants=len(gate.tenants),
        fixes=len(fixes),
        blocking_tenants=len(gate.blocking_tenants),
        waived=len(gate.waived),
        no_inventory=sum(1 for t in gate.tenants if not t.has_inventory),
        critical=tuple(lacks),
        since=since,
    )
