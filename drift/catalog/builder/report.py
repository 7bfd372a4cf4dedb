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
        found = report.backports_found.get(fix_id, {})
        found_text = "; ".join(f"{line}: {', '.join(commits)}" for line, commits in sorted(found.items())) or "none"
        lines.append(f"{fix_id}: no commit found on {', '.join(missing)} (found {found_text}); name it in the register if it landed there")
    for fix_id, found in sorted(report.backports_found.items()):
        if found and fix_id not in report.backports_missing:
            lines.append(f"{fix_id}: backports found: " + "; ".join(f"{line}: {', '.join(c)}" for line, c in sorted(found.items())))
    lines.extend(f"conflict: {c}" for c in report.conflicts)
    lines.extend(f"{fix_id}: changes no deployed file; written without files (not-applicable everywhere)" for fix_id in report.no_deployed_files)
    lines.extend(f"not released: {u}" for u in report.unreleased)
    lines.extend(f"tag skipped: {skipped}" for skipped in report.skipped_tags)
    return "\n".join(lines) + "\n"
