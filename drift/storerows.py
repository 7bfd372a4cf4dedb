"""How a tenant's result becomes a row of the `tenants` table and back (JSON columns, compact)."""

from __future__ import annotations

import json
from typing import Any

from drift.results import Evidence, FileDrift, Finding, TenantResult, evidence_item
from drift.tenants import Tenant


def tenant_row(key: int | None, result: TenantResult) -> tuple[Any, ...]:
    t = result.tenant
    return (
        key, t.id, t.name, t.prefecture, t.edition, t.line, dumps_compact(sorted(t.modules)),
        result.inventory_digest, result.collected_at, dumps_compact(dict(result.counts)),
        dumps_compact(list(result.drift.uncatalogued)), dumps_compact(list(result.drift.modified)), dumps_compact(dict(result.drift.releases)),
        dumps_compact(dict(result.drift.stale_copies)), result.signed_by, result.signature,
    )


def evidence_json(evidence: tuple[Evidence, ...]) -> str:
    """Evidence as the JSON list the scan document uses."""
    return dumps_compact([evidence_item(e) for e in evidence])


def tenant_result(row: tuple[Any, ...], findings: tuple[Finding, ...]) -> TenantResult:
    tid, name, prefecture, edition, line, modules, digest, collected_at, counts, uncatalogued, modified, releases, stale, signed_by, signature = row
    return TenantResult(
        tenant=Tenant(tid, name or "", prefecture or "", edition, line, frozenset(json.loads(modules))),
        inventory_digest=digest,
        collected_at=collected_at,
        findings=findings,
        drift=FileDrift(tuple(json.loads(uncatalogued)), tuple(json.loads(modified)), json.loads(releases), json.loads(stale or "{}")),
        counts=json.loads(counts),
        signed_by=signed_by,
        signature=signature or "",
    )


def dumps_compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
