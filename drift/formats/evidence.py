"""Short evidence text, shared by the table, the scan's CSV and the agency's export."""

from __future__ import annotations

from collections.abc import Mapping

from drift.results import Finding


def evidence_parts(finding: Finding, states: Mapping[str, str] | None = None) -> list[str]:
    """`path: state` per evidence entry, the state in other words where `states` gives them."""
    return [f"{e.path}: {states.get(e.state, e.state) if states else e.state}" for e in finding.evidence]


def short_evidence(finding: Finding) -> str:
    """`path: state` per entry, `; `-joined, or the finding's reason when there is no evidence."""
    if not finding.evidence:
        return finding.reason
    return "; ".join(evidence_parts(finding))
