"""What a catalog build says to the person who ran it: found, not found, and what to check."""

from __future__ import annotations

from pathlib import Path

from drift.catalog.builder.assemble import Built


def render_report(built: Built, out: Path) -> str:
    """A few lines per kind of finding, the ones that need a person first."""
    report = built.report
    lines = [f"{out}: {len(built.releases)} releases on {', '.join(built.lines)}, {len(built.fixes)} fixes"]
    lines.extend(f"warning: --module {rule} matches no deployed file of any release; no file got that module" for rule in report.unmatched_modules)
    for fix_id, missing in sorted(report.backports_missing.items()):
        lines.append(f"{fix_id}: no commit of the fix found on {', '.join(missing)}; name it in the register if it landed there")
    lines.extend(f"check: {r}" for r in report.refused)
    lines.extend(f"check: {r}" for r in report.incomplete)
    lines.extend(f"check: {r}" for r in report.reverted)
    for fix_id, notes in sorted(report.landings.items()):
        lines.extend(f"{fix_id}: landing found on {note}" for note in notes)
    lines.extend(f"conflict: {c}" for c in report.conflicts)
    lines.extend(f"moved: {n}" for n in dict.fromkeys(report.names))
    lines.extend(f"{fix_id}: changes no deployed file; written without files (not-applicable everywhere)" for fix_id in report.no_deployed_files)
    lines.extend(f"not released: {u}" for u in report.unreleased)
    lines.extend(f"tag skipped: {skipped}" for skipped in report.skipped_tags)
    return "\n".join(lines) + "\n"
