"""Short evidence text, shared by the table, the scan's CSV and the agency's export."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drift.results import Evidence, Finding


def _same(text: str) -> str:
    return text


def evidence_note(e: Evidence) -> str:
    """What an entry says beside its state: its note, and where its hash was found when that is not its path
    (and the note does not already say so); "" when nothing."""
    if e.found_at is not None and e.found_at not in e.note:
        found_at = f"found at {e.found_at}"
        return f"{e.note}; {found_at}" if e.note else found_at
    return e.note


def evidence_parts(
    finding: Finding, states: Mapping[str, str] | None = None, show: Callable[[str], str] = _same
) -> list[str]:
    """`path: state` per evidence entry, or `path: state (note)` when the entry has a note (see
    `evidence_note`), the state in other words where `states` gives them. `show` writes the path and the
    note (which come from the tenant): a terminal escapes and cuts them, a CSV keeps them whole."""
    parts = []
    for e in finding.evidence:
        state = states.get(e.state, e.state) if states else e.state
        note = evidence_note(e)
        parts.append(f"{show(e.path)}: {state} ({show(note)})" if note else f"{show(e.path)}: {state}")
    return parts


def short_evidence(finding: Finding, show: Callable[[str], str] = _same) -> str:
    """`path: state` per entry, `; `-joined, or the finding's reason when there is no evidence."""
    if not finding.evidence:
        return show(finding.reason)
    return "; ".join(evidence_parts(finding, show=show))
