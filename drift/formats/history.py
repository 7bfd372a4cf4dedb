"""`drift history` and `drift diff` as a terminal table or one JSON document (`drift-history/1`, `drift-diff/1`).

Scans show as the first 12 hex digits of their id: a prefix any scan reference accepts. Table cells are
escaped and names cut short (`drift.text.clip`: a tenant's name holds no escape sequence or newline a
terminal would act on); JSON holds every string whole, its control characters escaped (`json_safe`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tabulate import tabulate

from drift.history import BLOCKABLE, CHANGES, Diff, History, RunSummary
from drift.policy import Policy
from drift.store import Run
from drift.text import clip, json_safe

SHORT_ID = 12
"""Hex digits of a scan id shown in tables."""


def short_id(scan: str) -> str:
    """`sha256:3f2a…` → its first `SHORT_ID` hex digits."""
    return scan.removeprefix("sha256:")[:SHORT_ID]


def _blocking_rule(policy: Policy) -> str:
    return f"{', '.join(sorted(policy.statuses))} at {policy.min_severity} or above"


def render_history_table(history: History, db: str = "the database") -> str:
    """The runs, oldest first, with their blocking findings; then, when asked, how statuses moved."""
    runs = history.runs
    if not runs:
        return f"no scan stored in {clip(db)} yet: run `drift scan` first\n"
    head = f"{len(runs)} run{'s' * (len(runs) != 1)} in {clip(db)}, oldest first; blocking: {_blocking_rule(history.policy)}\n"
    rows = [
        [clip(r.run.ran_at), short_id(r.run.scan), "new" if r.run.new else "again", "all" if r.run.whole else "part", r.run.tenant_count,
         "all" if r.run.fixes is None else len(r.run.fixes), r.blocked_tenants, r.blocking_total, *(r.blocking[s] for s in BLOCKABLE)]
        for r in runs
    ]
    headers = ["ran at", "scan", "stored", "scope", "tenants", "fixes", "blocked tenants", "blocking", *BLOCKABLE]
    parts = [head, tabulate(rows, headers=headers, disable_numparse=True) + "\n"]
    if history.followed:
        what = " and ".join(
            p for p in (
                f"tenant{'s' * (len(history.tenants) > 1)} {', '.join(map(clip, history.tenants))}" if history.tenants else "",
                f"fix{'es' * (len(history.fixes) > 1)} {', '.join(map(clip, history.fixes))}" if history.fixes else "",
            ) if p
        )
        which = "every run that judged it" if history.every_run else "only the runs where a status changed (--every-scan for all)"
        parts.append(f"\nstatus of {what}, oldest first: {which}\n")
        if history.changes:
            change_rows = [
                _cells(c.ran_at, short_id(c.scan), c.tenant, c.name, c.fix, c.severity, c.status, c.before or "", c.change)
                for c in history.changes
            ]
            headers = ["ran at", "scan", "tenant", "name", "fix", "severity", "status", "before", "change"]
            parts.append(tabulate(change_rows, headers=headers, disable_numparse=True) + "\n")
    return "".join(parts)


def render_history_json(history: History) -> str:
    """The `drift-history/1` document."""
    doc = {
        "format": "drift-history/1",
        "policy": _policy(history.policy),
        "runs": [_run_summary(r) for r in history.runs],
        "tenants": list(history.tenants),
        "fixes": list(history.fixes),
        "every_run": history.every_run,
        "changes": [
            {"ran_at": c.ran_at, "scan": c.scan, "tenant": c.tenant, "name": c.name, "fix": c.fix, "severity": c.severity,
             "status": c.status, "before": c.before, "change": c.change}
            for c in history.changes
        ],
    }
    return json_safe(json.dumps(doc, ensure_ascii=False, indent=1)) + "\n"


def _cells(*values: str) -> list[str]:
    """A table row: each cell escaped, and cut to a few hundred characters."""
    return [clip(v) for v in values]


def render_diff_table(diff: Diff) -> str:
    """What changed, per tenant then fix, after a head naming both runs and counting the changes."""
    head = (
        f"from {short_id(diff.before.scan)} (ran {diff.before.ran_at}) to {short_id(diff.after.scan)} (ran {diff.after.ran_at})\n"
        f"{diff.compared} tenant{'s' * (diff.compared != 1)} in both"
        + "".join(f", {len(ids)} {word}: {', '.join(map(clip, ids))}" for word, ids in (("only in the later", diff.added), ("only in the earlier", diff.removed)) if ids)
        + "\n"
        + ", ".join(f"{diff.counts[k]} {k}" for k in CHANGES)
        + f"; blocking: {_blocking_rule(diff.policy)}\n"
    )
    rows = [
        _cells(t.tenant, t.name, c.fix, c.severity, c.change, c.before or "(not judged)", c.after)
        for t in diff.tenants
        for c in t.changes
    ]
    if not rows:
        same = " (the same scan: the inputs did not change)" if diff.before.scan == diff.after.scan else ""
        return head + f"no fix changed status{same}\n"
    headers = ["tenant", "name", "fix", "severity", "change", "before", "after"]
    return head + "\n" + tabulate(rows, headers=headers, disable_numparse=True) + "\n"


def render_diff_json(diff: Diff) -> str:
    """The `drift-diff/1` document."""
    doc = {
        "format": "drift-diff/1",
        "policy": _policy(diff.policy),
        "from": _run(diff.before),
        "to": _run(diff.after),
        "tenants_compared": diff.compared,
        "counts": dict(diff.counts),
        "tenants": [
            {"id": t.tenant, "name": t.name, "presence": t.presence,
             "changes": [{"fix": c.fix, "severity": c.severity, "change": c.change, "before": c.before, "after": c.after} for c in t.changes]}
            for t in diff.tenants
        ],
    }
    return json_safe(json.dumps(doc, ensure_ascii=False, indent=1)) + "\n"


def _policy(policy: Policy) -> dict[str, Any]:
    return {"statuses": sorted(policy.statuses), "min_severity": policy.min_severity}


def _run(run: Run) -> dict[str, Any]:
    return {
        "scan": run.scan, "ran_at": run.ran_at, "created_at": run.created_at, "new": run.new, "whole": run.whole,
        "tenants": run.tenant_count, "fixes": None if run.fixes is None else list(run.fixes), "catalog_digest": run.catalog_digest,
    }


def _run_summary(summary: RunSummary) -> dict[str, Any]:
    return {**_run(summary.run), "blocked_tenants": summary.blocked_tenants, "blocking": dict(summary.blocking)}


HISTORY_FORMATS: dict[str, Callable[[History, str], str]] = {
    "table": render_history_table,
    "json": lambda history, _db: render_history_json(history),
}
"""Format name → renderer of a history (the database's name is for the table's head)."""

DIFF_FORMATS: dict[str, Callable[[Diff], str]] = {"table": render_diff_table, "json": render_diff_json}
"""Format name → renderer of a diff."""
