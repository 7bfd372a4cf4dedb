"""The `drift-scan/1` JSON document (SPEC 6): same inputs, same bytes.

UTF-8 as it is, but every control or text-reordering character in a string (C1 controls, DEL, bidi
overrides, lone surrogates; JSON itself escapes the C0 ones) is written as a `\\uXXXX` escape
(`drift.text.json_safe`): the same value for a JSON reader, and nothing raw for a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from drift.policy import Policy
from drift.results import Finding, PerFinding, Scan, TenantResult, evidence_item
from drift.text import json_safe

FORMAT = "drift-scan/1"


def render_json(scan: Scan, policy: Policy) -> str:
    """The scan as one JSON document; no clock or machine detail enters it, so reruns match byte for byte."""
    return "".join(json_chunks(scan, policy))


def json_chunks(scan: Scan, policy: Policy) -> Iterator[str]:
    """`render_json` in pieces, one per tenant, so that a fleet's document is written without being held
    whole. Each distinct finding is encoded once: tenants share finding objects."""
    findings = PerFinding(_finding_text)
    yield f'{{"format":{_dump(FORMAT)},"scan":{_dump(scan.id)},"catalog_digest":{_dump(scan.catalog_digest)},"tenants":['
    for i, result in enumerate(scan.tenants):
        yield ("," if i else "") + _tenant_text(result, findings)
    yield "]}\n"


def _tenant_text(result: TenantResult, findings: PerFinding[str]) -> str:
    drift = {
        "uncatalogued": list(result.drift.uncatalogued),
        "modified": list(result.drift.modified),
        "releases": dict(result.drift.releases),
        "stale_copies": dict(result.drift.stale_copies),
    }
    return (
        f'{{"id":{_dump(result.tenant.id)},"name":{_dump(result.tenant.name)},"inventory_digest":{_dump(result.inventory_digest)},'
        f'"signed_by":{_dump(result.signed_by)},"signature":{_dump(result.signature)},"findings":[{",".join(findings.of(result))}],"drift":{_dump(drift)}}}'
    )


def _finding_text(finding: Finding) -> str:
    doc: dict[str, Any] = {
        "fix": finding.fix,
        "status": finding.status,
        "severity": finding.severity,
        "variant": finding.variant,
        "evidence": [evidence_item(e) for e in finding.evidence],
    }
    if finding.reason:
        doc["reason"] = finding.reason
    return _dump(doc)


def _dump(value: Any) -> str:
    return json_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
