"""One CSV row per tenant × fix (RFC 4180: quoted where needed, CRLF line ends).

A cell that would start a spreadsheet formula (`=`, `+`, `-`, `@`, TAB, CR: a tenant's name, a path in the
evidence) gets a leading `'` (`drift.text.csv_safe`), and a control or reordering character in a cell is
written as a visible escape (`drift.text.terminal_safe`): the CSV reads as it holds in a spreadsheet and on a
terminal alike (SPEC 5). Every other cell is written as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from drift.formats.evidence import short_evidence
from drift.policy import Policy
from drift.results import Finding, PerFinding, Scan
from drift.text import csv_safe, terminal_safe

COLUMNS = ("tenant", "name", "prefecture", "fix", "severity", "status", "blocking", "variant", "evidence", "inventory_digest", "scan")


def render_csv(scan: Scan, policy: Policy) -> str:
    """Every finding of the scan as a CSV row, tenants and fixes in id order."""
    return "".join(csv_chunks(scan, policy))


def csv_chunks(scan: Scan, policy: Policy) -> Iterator[str]:
    """`render_csv` in pieces, one per tenant. Each field is quoted on its own, so a row is its tenant's
    fields, the finding's (encoded once per distinct finding: tenants share finding objects) and the
    tenant's last two, joined by commas."""

    def finding_fields(f: Finding) -> str:
        return _fields((f.fix, f.severity, f.status, "yes" if policy.blocks(f) else "no", f.variant or "", short_evidence(f)))

    findings = PerFinding(finding_fields)
    yield _fields(COLUMNS) + "\r\n"
    for result in scan.tenants:
        t = result.tenant
        before = _fields((t.id, t.name, t.prefecture)) + ","
        after = "," + _fields((result.inventory_digest, scan.id)) + "\r\n"
        middles = findings.of(result)
        if middles:
            yield before + (after + before).join(middles) + after


def _fields(values: Iterable[str]) -> str:
    """The fields as one CSV line, without its line end (written with the real one, which decides what
    is quoted: a field holding a line break is), each made safe from formula injection."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_safe(terminal_safe(v)) for v in values])
    return out.getvalue().removesuffix("\r\n")
