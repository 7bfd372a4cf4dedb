"""Output formats: every registered format renders, and the table stays readable for large fleets."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.formats import FORMATS, render_chunks
from drift.formats.csvout import COLUMNS
from drift.formats.evidence import short_evidence
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


# JSON and CSV are built from pieces encoded once per distinct finding: they must equal the plain encoding.

def plain_json(scan: Scan) -> str:
    def finding(f: Finding) -> dict:
        doc = {"fix": f.fix, "status": f.status, "severity": f.severity, "variant": f.variant,
               "evidence": [{"path": e.path, "state": e.state, "found": e.found, "expected": list(e.expected),
                             **({"found_at": e.found_at} if e.found_at is not None else {}), **({"note": e.note} if e.note else {})}
                            for e in f.evidence]}
        if f.reason:
            doc["reason"] = f.reason
        return doc

    tenants = [{"id": r.tenant.id, "name": r.tenant.name, "inventory_digest": r.inventory_digest,
                "findings": [finding(f) for f in r.findings],
                "drift": {"uncatalogued": list(r.drift.uncatalogued), "modified": list(r.drift.modified), "releases": dict(r.drift.releases)}}
               for r in scan.tenants]
    doc = {"format": "drift-scan/1", "scan": scan.id, "catalog_digest": scan.catalog_digest, "tenants": tenants}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def plain_csv(scan: Scan, policy: Policy) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in scan.tenants:
        for f in r.findings:
            writer.writerow((r.tenant.id, r.tenant.name, r.tenant.prefecture, f.fix, f.severity, f.status,
                             "yes" if policy.blocks(f) else "no", f.variant or "", short_evidence(f), r.inventory_digest, scan.id))
    return out.getvalue()


texts = st.text(alphabet=st.sampled_from('ab,"\n\r é宗;='), max_size=6)
evidence = st.builds(Evidence, texts, st.sampled_from(["fixed", "unfixed", "modified"]), st.none() | texts, st.lists(texts, max_size=2).map(tuple))
findings = st.builds(Finding, texts, st.sampled_from(["missing", "applied", "partial"]), st.sampled_from(["critical", "low"]),
                     st.none() | texts, st.lists(evidence, max_size=2).map(tuple), texts)


@settings(max_examples=150, deadline=None)
@given(st.lists(findings, min_size=1, max_size=6), st.lists(st.tuples(texts, texts, st.lists(st.integers(0, 5), max_size=6), st.booleans()), max_size=4))
def test_json_and_csv_equal_the_plain_encoding(pool, rows):
    results = []
    for i, (name, prefecture, picks, as_runs) in enumerate(rows):
        chosen = tuple(pool[k % len(pool)] for k in picks)  # tenants share finding objects, as in a scan
        runs = (chosen[:2], chosen[2:]) if as_runs else ()
        tenant = Tenant(f"T{i}{name}", name, prefecture)
        results.append(TenantResult(tenant, "sha256:" + "0" * 64, None, chosen, FileDrift(("u\n",), (), {"1.0": 2}), count_statuses(chosen), runs))
    scan = Scan("sha256:" + "1" * 64, "sha256:" + "2" * 64, "2023-06-15T00:00:00Z", tuple(results))
    assert FORMATS["json"](scan, Policy()) == plain_json(scan)
    assert FORMATS["csv"](scan, Policy()) == plain_csv(scan, Policy())


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_in_pieces_joins_to_the_whole(name):
    scan = scan_with(MISSING[:40])
    assert "".join(render_chunks(name, scan, Policy())) == FORMATS[name](scan, Policy())
