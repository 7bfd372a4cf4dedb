"""The `drift-scan/1` JSON document (SPEC 6): same inputs, same bytes."""

from __future__ import annotations

import json
from typing import Any

from drift.policy import Policy
from drift.results import Finding, Scan, TenantResult

FORMAT = "drift-scan/1"


def render_json(scan: Scan, policy: Policy) -> str:
    """The scan as one JSON document; no clock or machine detail enters it, so reruns match byte for byte."""
    doc = {
        "format": FORMAT,
        "scan": scan.id,
        "catalog_digest": scan.catalog_digest,
        "tenants": [_tenant(t) for t in scan.tenants],
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def _tenant(result: TenantResult) -> dict[str, Any]:
    return {
        "id": result.tenant.id,
        "name": result.tenant.name,
        "inventory_digest": result.inventory_digest,
        "findings": [_finding(f) for f in result.findings],
        "drift": {
            "uncatalogued": list(result.drift.uncatalogued),
            "modified": list(result.drift.modified),
            "releases": dict(result.drift.releases),
        },
    }


def _finding(finding: Finding) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "fix": finding.fix,
        "status": finding.status,
        "severity": finding.severity,
        "variant": finding.variant,
        "evidence": [{"path": e.path, "state": e.state, "found": e.found, "expected": list(e.expected)} for e in finding.evidence],
    }
    if finding.reason:
        doc["reason"] = finding.reason
    return doc
