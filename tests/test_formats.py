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
from drift.text import csv_safe, json_safe, terminal_safe


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
                "signed_by": r.signed_by, "signature": r.signature, "findings": [finding(f) for f in r.findings],
                "drift": {"uncatalogued": list(r.drift.uncatalogued), "modified": list(r.drift.modified), "releases": dict(r.drift.releases),
                          **({"stale_copies": dict(r.drift.stale_copies)} if hasattr(r.drift, "stale_copies") else {})}}
               for r in scan.tenants]
    doc = {"format": "drift-scan/1", "scan": scan.id, "catalog_digest": scan.catalog_digest, "tenants": tenants}
    # Controls and reordering characters as \\uXXXX escapes: the same JSON value.
    return json_safe(json.dumps(doc, ensure_ascii=False, separators=(",", ":"))) + "\n"


def plain_csv(scan: Scan, policy: Policy) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in scan.tenants:
        for f in r.findings:
            cells = (r.tenant.id, r.tenant.name, r.tenant.prefecture, f.fix, f.severity, f.status,
                     "yes" if policy.blocks(f) else "no", f.variant or "", short_evidence(f), r.inventory_digest, scan.id)
            # Controls shown as escapes; a cell that would start a formula gets a leading quote.
            writer.writerow([csv_safe(terminal_safe(c)) for c in cells])
    return out.getvalue()


texts = st.text(alphabet=st.sampled_from('ab,"\n\r é宗;=-@+\t\x1b\u202e\x85'), max_size=6)
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


# Evidence notes, and strings from tenants in the table and the CSV (SPEC 5).

STALE = Evidence("app/A.java", "unfixed", "sha256:" + "3" * 64, ("sha256:" + "4" * 64,), found_at="app/old/A.java.bak",
                 note="stale copy at app/old/A.java.bak")
REMOVED_ENTRY = Evidence("app/B.java", "removed", "absent", ("sha256:" + "4" * 64,), note="removed: its release ships it")


def test_evidence_shows_a_note_and_where_a_copy_was_found():
    from drift.formats.evidence import evidence_note, evidence_parts

    found_only = Evidence("app/C.java", "unfixed", "sha256:" + "3" * 64, (), found_at="app/C.java~")
    finding = Finding("FIX-1", "missing", "high", "8.x", (STALE, REMOVED_ENTRY, found_only, MISSING[0].evidence[0]))
    assert evidence_parts(finding) == [
        "app/A.java: unfixed (stale copy at app/old/A.java.bak)",
        "app/B.java: removed (removed: its release ships it)",
        "app/C.java: unfixed (found at app/C.java~)",
        "app/A.java: unfixed",
    ]
    assert evidence_note(found_only._replace(note="renamed")) == "renamed; found at app/C.java~"


HOSTILE = "\x1b[32mPASS\x1b[0m\r\n\u202e"


def hostile_scan() -> Scan:
    evidence = (Evidence("app/A.java", "unfixed", HOSTILE, (), found_at="app/" + HOSTILE + "x" * 1000, note="stale copy: " + HOSTILE),)
    findings = (Finding("FIX-1", "missing", "critical", "8.x", evidence), Finding("FIX-2", "unverifiable", "high", None, (), reason=HOSTILE))
    tenant = Tenant("402206", "=" + HOSTILE, "-" + HOSTILE, "standard", HOSTILE, frozenset())
    result = TenantResult(tenant, "sha256:" + "0" * 64, None, findings, FileDrift((HOSTILE,), (HOSTILE,), {HOSTILE: 1}), count_statuses(findings))
    return Scan("sha256:" + "1" * 64, "sha256:" + "2" * 64, "2023-06-15T00:00:00Z", (result,))


def test_the_table_escapes_every_cell_and_cuts_long_values():
    text = FORMATS["table"](hostile_scan(), Policy())
    assert not any(ch in text for ch in "\x1b\r\u202e")
    assert "=\\e[32mPASS\\e[0m\\r\\n\\u202e" in text  # the name, escaped, in its row
    assert "(1," in text and "characters)" in text  # the 1,000-character path is cut, its length said
    assert all(len(line) < 1000 for line in text.splitlines())


def test_the_csv_escapes_and_neutralises_every_cell():
    rows = list(csv.reader(io.StringIO(FORMATS["csv"](hostile_scan(), Policy()), newline="")))
    assert not any(ch in cell for row in rows for cell in row for ch in "\x1b\r\n\u202e")
    assert rows[1][1:3] == ["'=\\e[32mPASS\\e[0m\\r\\n\\u202e", "'-\\e[32mPASS\\e[0m\\r\\n\\u202e"]
    assert rows[2][COLUMNS.index("evidence")] == "\\e[32mPASS\\e[0m\\r\\n\\u202e"  # FIX-2's reason


def test_the_json_escapes_controls_and_keeps_the_values():
    text = FORMATS["json"](hostile_scan(), Policy())
    assert not any(ch in text.removesuffix("\n") for ch in "\x1b\r\n\u202e\x85")
    doc = json.loads(text)
    assert doc["tenants"][0]["name"] == "=" + HOSTILE
    assert doc["tenants"][0]["findings"][0]["evidence"][0]["found"] == HOSTILE
