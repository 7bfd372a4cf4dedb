"""One CSV row per tenant × fix (RFC 4180: quoted where needed, CRLF line ends)."""

from __future__ import annotations

import csv
import io

from drift.formats.evidence import short_evidence
from drift.policy import Policy
from drift.results import Scan

COLUMNS = ("tenant", "name", "prefecture", "fix", "severity", "status", "blocking", "variant", "evidence", "inventory_digest", "scan")


def render_csv(scan: Scan, policy: Policy) -> str:
    """Every finding of the scan as a CSV row, tenants and fixes in id order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for result in scan.tenants:
        t = result.tenant
        for f in result.findings:
            writer.writerow(
                (t.id, t.name, t.prefecture, f.fix, f.severity, f.status, "yes" if policy.blocks(f) else "no",
                 f.variant or "", short_evidence(f), result.inventory_digest, scan.id)
            )
    return out.getvalue()
