"""Output formats: every registered format renders, and the table stays readable for large fleets."""

from __future__ import annotations

import pytest

from drift.formats import FORMATS
from drift.formats.table import MAX_BLOCKING_ROWS
from drift.policy import Policy
from drift.results import Evidence, FileDrift, Finding, Scan, TenantResult, count_statuses
from drift.tenants import Tenant


def scan_with(findings: tuple[Finding, ...]) -> Scan:
    tenant = Tenant("402206", "宗像市", "福岡県", "standard", "8.x", frozenset({"konbini"}))
    result = TenantResult(tenant, "sha256:" + "0" * 64, None, findings, FileDrift(), count_statuses(findings))
    return Scan("sha256:" + "1" * 64, "sha256:" + "2" * 64, "2023-06-15T00:00:00Z", (result,))


MISSING = tuple(
    Finding(f"FIX-{i:04d}", "missing", "critical", "8.x", (Evidence("app/A.java", "unfixed", "sha256:" + "3" * 64, ("sha256:" + "4" * 64,)),))
    for i in range(MAX_BLOCKING_ROWS + 25)
)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_registered_format_renders_a_scan(name):
    text = FORMATS[name](scan_with(MISSING[:3]), Policy())
    assert "402206" in text and "FIX-0002" in text


def test_table_caps_blocking_findings_and_says_how_many_more():
    lines = FORMATS["table"](scan_with(MISSING), Policy()).splitlines()
    assert lines[-1] == "... and 25 more blocking findings: use --format csv or json for all"
    assert sum(1 for line in lines if line.split()[:1] == ["402206"] and line.split()[1].startswith("FIX-")) == MAX_BLOCKING_ROWS


def test_table_below_the_cap_lists_every_blocking_finding():
    text = FORMATS["table"](scan_with(MISSING[:5]), Policy())
    assert "more blocking findings" not in text
    assert all(f"FIX-{i:04d}" in text for i in range(5))


def test_low_severity_and_applied_findings_do_not_block():
    findings = (
        Finding("FIX-A", "missing", "low", "8.x"),
        Finding("FIX-B", "applied", "critical", "8.x"),
        Finding("FIX-C", "partial", "high", "8.x"),
    )
    text = FORMATS["table"](scan_with(findings), Policy())
    blocking = text.split("blocking findings\n", 1)[1]
    assert "FIX-C" in blocking and "FIX-A" not in blocking and "FIX-B" not in blocking
