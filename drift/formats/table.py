"""The terminal table: one row per tenant with counts per status, worst first, then the blocking findings.

Every cell is escaped (`drift.text.terminal_safe`: tabulate never sees a raw newline or escape sequence), and
names, paths and notes, which come from the tenant, are cut to a few hundred characters (SPEC 5).
"""

from __future__ import annotations

from itertools import compress, islice

from tabulate import tabulate

from drift.formats.evidence import short_evidence
from drift.policy import Policy
from drift.results import MISSING, NOT_APPLICABLE, PARTIAL, STATUSES, UNVERIFIABLE, PerFinding, Scan, TenantResult
from drift.text import clip, terminal_safe

MAX_BLOCKING_ROWS = 200
"""A terminal shows at most this many blocking findings, then says how many more there are."""


def render_table(scan: Scan, policy: Policy) -> str:
    """Counts per tenant, worst first (most blocking findings, then most missing, partial, unverifiable),
    then every blocking finding with its evidence."""
    blocks = PerFinding(policy.blocks)
    blocking_of = {r.tenant.id: list(compress(r.findings, blocks.of(r))) for r in scan.tenants}
    ordered = sorted(scan.tenants, key=lambda r: _worst_first(r, len(blocking_of[r.tenant.id])))
    blocking_count = sum(map(len, blocking_of.values()))
    blocked_tenants = sum(1 for found in blocking_of.values() if found)
    listed = list(islice(((r, f) for r in ordered for f in blocking_of[r.tenant.id]), MAX_BLOCKING_ROWS))
    head = (
        f"scan {scan.id}\ncatalog {scan.catalog_digest}\n"
        f"{len(scan.tenants)} tenants, {blocked_tenants} with blocking findings "
        f"({', '.join(sorted(policy.statuses))} at {policy.min_severity} or above)\n"
    )
    rows = [
        [clip(r.tenant.id), clip(r.tenant.name), clip(r.tenant.line or ""), len(blocking_of[r.tenant.id]),
         *(r.counts.get(s, 0) for s in STATUSES), len(r.drift.uncatalogued), len(r.drift.modified)]
        for r in ordered
    ]
    headers = ["tenant", "name", "line", "blocking", *(("n/a" if s == NOT_APPLICABLE else s) for s in STATUSES), "uncatalogued", "modified"]
    parts = [head, tabulate(rows, headers=headers, disable_numparse=True) + "\n"]
    if listed:
        block_rows = [
            [clip(r.tenant.id), terminal_safe(f.fix), terminal_safe(f.severity), terminal_safe(f.status), terminal_safe(f.variant or ""),
             terminal_safe(short_evidence(f, clip))]
            for r, f in listed
        ]
        parts.append("\nblocking findings\n")
        parts.append(tabulate(block_rows, headers=["tenant", "fix", "severity", "status", "variant", "evidence"], disable_numparse=True) + "\n")
        if blocking_count > MAX_BLOCKING_ROWS:
            parts.append(f"... and {blocking_count - MAX_BLOCKING_ROWS} more blocking findings: use --format csv or json for all\n")
    return "".join(parts)


def _worst_first(result: TenantResult, blocking: int) -> tuple[int, int, int, int, str]:
    c = result.counts
    return (-blocking, -c.get(MISSING, 0), -c.get(PARTIAL, 0), -c.get(UNVERIFIABLE, 0), result.tenant.id)
