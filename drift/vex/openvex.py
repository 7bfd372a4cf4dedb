"""A stored scan as an OpenVEX 0.2.0 document (https://github.com/openvex/spec), as Trivy and Grype read it.

One statement per tenant and fix (see `drift.vex` for the mapping), each naming one product: the tenant's
deployment, whose `@id` is its package URL (`drift.vex.tenant_purl`), repeated as `identifiers.purl` so a
reader that matches products by purl finds it. OpenVEX has no field for a product's name, so each
statement's `status_notes` begins with the tenant's name and code, then says what drift found (status,
variant, evidence or reason).

- `@id` is `urn:drift-audit:openvex:<scan id>` (the URN namespace drift's signatures use), `timestamp` the
  scan's time, `version` 1, `author` `drift`: the document is the same whenever it is rendered.
- A vulnerability is `{name: fix id, description: title, aliases}`, the last two when the catalog the scan
  judged is at hand.
- `affected` statements carry an `action_statement` (`drift.vex.action_statement`); `not_affected` ones the
  justification `component_not_present`.
"""

from __future__ import annotations

from typing import Any

from drift import __version__
from drift.results import Finding, Scan, TenantResult
from drift.vex import (
    AFFECTED,
    COMPONENT_NOT_PRESENT,
    NOT_AFFECTED,
    VEX_STATUS,
    CatalogInfo,
    action_statement,
    render_json,
    rfc3339,
    statements,
    status_note,
    tenant_purl,
)

CONTEXT = "https://openvex.dev/ns/v0.2.0"
"""The OpenVEX 0.2.0 JSON-LD context."""
AUTHOR = "drift"
"""Who states what the document says: the audit, from file hashes alone."""
ID_PREFIX = "urn:drift-audit:openvex:"
"""The document's `@id` is this followed by the scan id."""


def render_openvex(scan: Scan, info: CatalogInfo | None = None) -> str:
    """The scan as an OpenVEX 0.2.0 document (JSON text ending in a newline).

    `info` is what the catalog the scan judged says of its fixes (`drift.vex.catalog_info_for`); without it
    the product is called `product` and vulnerabilities have no description or aliases. Raises `InputError`
    when the scan holds no finding.
    """
    info = info or CatalogInfo()
    vulnerabilities: dict[str, dict[str, Any]] = {}
    products: dict[str, list[dict[str, Any]]] = {}
    body = [
        _statement(result, finding, info, vulnerabilities, products)
        for result, finding in statements(scan)
    ]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": ID_PREFIX + scan.id,
        "author": AUTHOR,
        "timestamp": rfc3339(scan.created_at),
        "version": 1,
        "tooling": f"drift {__version__}: scan {scan.id} of catalog {scan.catalog_digest}",
        "statements": body,
    }
    return render_json(document)


def _statement(
    result: TenantResult,
    finding: Finding,
    info: CatalogInfo,
    vulnerabilities: dict[str, dict[str, Any]],
    products: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    status = VEX_STATUS[finding.status]
    statement: dict[str, Any] = {
        "vulnerability": _vulnerability(finding.fix, info, vulnerabilities),
        "products": _products(result.tenant.id, info, products),
        "status": status,
        "status_notes": status_note(result, finding),
    }
    if status == AFFECTED:
        statement["action_statement"] = action_statement(finding, info.fix(finding.fix))
    elif status == NOT_AFFECTED:
        statement["justification"] = COMPONENT_NOT_PRESENT
    return statement


def _vulnerability(fix_id: str, info: CatalogInfo, made: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The vulnerability object of a fix: the same one (equal JSON) in every statement about it."""
    vulnerability = made.get(fix_id)
    if vulnerability is None:
        fix = info.fix(fix_id)
        vulnerability = {"name": fix_id}
        if fix.title:
            vulnerability["description"] = fix.title
        aliases = [alias for alias in fix.aliases if alias != fix_id]
        if aliases:
            vulnerability["aliases"] = aliases
        made[fix_id] = vulnerability
    return vulnerability


def _products(tenant_id: str, info: CatalogInfo, made: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The statement's products: the tenant's deployment alone."""
    products = made.get(tenant_id)
    if products is None:
        purl = tenant_purl(info.product, tenant_id)
        products = made[tenant_id] = [{"@id": purl, "identifiers": {"purl": purl}}]
    return products
