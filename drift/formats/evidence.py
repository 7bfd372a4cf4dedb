"""Short evidence text, shared by the table and CSV outputs."""

from __future__ import annotations

from drift.results import Finding


def short_evidence(finding: Finding) -> str:
    """`path: state` per entry, `; `-joined, or the finding's reason when there is no evidence."""
    if not finding.evidence:
        return finding.reason
    return "; ".join(f"{e.path}: {e.state}" for e in finding.evidence)
