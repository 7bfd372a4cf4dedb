"""A stored scan as a CSAF 2.0 document of the `csaf_vex` profile (OASIS CSAF 2.0, section 4.5), as CISA,
BSI and Red Hat publish them.

- **Products** (`product_tree.full_product_names`): one per tenant, sorted by tenant id, with `product_id`
  `TENANT-<id>`, the name `<product> at <tenant name> (<id>)`, and the tenant's package URL
  (`drift.vex.tenant_purl`) as its identification helper.
- **Vulnerabilities**: one per fix, sorted by id. `ids` holds the fix id (system `<product> fix id`) and
  every alias that is not a CVE id; `cve` the first CVE alias that no earlier fix of the document uses (CSAF
  6.1.23), any other CVE alias going to `ids`. `title` is the fix's title (else its id); `notes` describe
  it and give its severity.
- **Product status** (see `drift.vex` for the mapping), with what the profile requires of each status:
  every `known_affected` product has a `vendor_fix` remediation (`drift.vex.action_statement`; products that
  need the same action share one), and every `known_not_affected` product the flag `component_not_present`.
- **Tracking**: id `drift-scan-<scan hex>` (a CSAF file name as it is), status `final`, version `1`, one
  revision; every date is the scan's time. The publisher is drift (category `other`), under the namespace
  `NAMESPACE`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from drift import __version__
from drift.results import Finding, Scan, TenantResult
from drift.vex import (
    AFFECTED,
    COMPONENT_NOT_PRESENT,
    FIXED,
    NOT_AFFECTED,
    UNDER_INVESTIGATION,
    VEX_STATUS,
    CatalogInfo,
    action_statement,
    render_json,
    rfc3339,
    scan_hex,
    statements,
    tenant_label,
    tenant_purl,
)

CSAF_STATUS = {FIXED: "fixed", AFFECTED: "known_affected", NOT_AFFECTED: "known_not_affected", UNDER_INVESTIGATION: "under_investigation"}
"""VEX status → the CSAF `product_status` list it puts a product in, in the order the document lists them."""
PUBLISHER = {"category": "other", "name": "drift", "namespace": "urn:drift-audit:publisher"}
"""Who publishes the document: the audit. No URL of the auditor is known to drift, so the namespace is the
URN under which drift names its own things (`urn:drift-audit:...`)."""
NAMESPACE = PUBLISHER["namespace"]
TRACKING_PREFIX = "drift-scan-"
"""The document's tracking id is this followed by the scan id's hex digits."""
PRODUCT_PREFIX = "TENANT-"
"""A tenant's `product_id` is this followed by its id."""

_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
_SYSTEM = re.compile(r"([A-Za-z][A-Za-z0-9]*)-")

_MAPPING_NOTE = (
    "Each product is one tenant's deployment; each vulnerability is one fix of the vendor's catalog. "
    "drift judges a fix from the hashes of the files the tenant runs, never from what anyone declares: "
    "applied is fixed; missing and partial are known_affected, with the fix to apply as a vendor_fix remediation; "
    "not-applicable (the fix's edition or modules exclude the tenant, or none of its files are deployed) is "
    "known_not_affected with the flag component_not_present; unverifiable (a file modified, unreadable or "
    "missing without explanation, or no inventory) is under_investigation."
)


def render_csaf(scan: Scan, info: CatalogInfo | None = None) -> str:
    """The scan as a CSAF 2.0 `csaf_vex` document (JSON text ending in a newline).

    `info` is what the catalog the scan judged says of its fixes (`drift.vex.catalog_info_for`); without it
    the product is called `product`, and vulnerabilities are titled by their id and have no aliases. Raises
    `InputError` when the scan holds no finding.
    """
    info = info or CatalogInfo()
    tenants: dict[str, TenantResult] = {}
    by_fix: dict[str, list[tuple[TenantResult, Finding]]] = {}
    for result, finding in statements(scan):
        tenants[result.tenant.id] = result
        by_fix.setdefault(finding.fix, []).append((result, finding))
    counts = Counter(VEX_STATUS[f.status] for pairs in by_fix.values() for _, f in pairs)
    product_tree = {
        "full_product_names": [
            {
                "name": tenant_label(info.product, result),
                "product_id": PRODUCT_PREFIX + tenant_id,
                "product_identification_helper": {"purl": tenant_purl(info.product, tenant_id)},
            }
            for tenant_id, result in sorted(tenants.items())
        ],
    }
    used_cves: set[str] = set()
    vulnerabilities = [_vulnerability(fix_id, by_fix[fix_id], info, used_cves) for fix_id in sorted(by_fix)]
    document = {
        "document": _document_meta(scan, info, len(tenants), counts),
        "product_tree": product_tree,
        "vulnerabilities": vulnerabilities,
    }
    return render_json(document)


def _document_meta(scan: Scan, info: CatalogInfo, tenant_count: int, counts: Counter[str]) -> dict[str, Any]:
    when = rfc3339(scan.created_at)
    tally = ", ".join(f"{counts[status]} {name}" for status, name in CSAF_STATUS.items())
    summary = (
        f"The fix status of {info.product} at {tenant_count} tenants, as drift judged it in scan {scan.id} "
        f"against catalog {scan.catalog_digest}: {tally}."
    )
    return {
        "category": "csaf_vex",
        "csaf_version": "2.0",
        "lang": "en",
        "title": f"Fix status of {info.product} at {tenant_count} tenants (drift scan {scan_hex(scan.id)[:12]})",
        "publisher": dict(PUBLISHER),
        "notes": [
            {"category": "summary", "title": "Summary", "text": summary},
            {"category": "general", "title": "How drift's statuses are stated", "text": _MAPPING_NOTE},
        ],
        "tracking": {
            "id": TRACKING_PREFIX + scan_hex(scan.id),
            "status": "final",
            "version": "1",
            "initial_release_date": when,
            "current_release_date": when,
            "revision_history": [{"number": "1", "date": when, "summary": f"drift scan {scan.id}"}],
            "generator": {"engine": {"name": "drift", "version": __version__}},
        },
    }


def _vulnerability(
    fix_id: str, pairs: list[tuple[TenantResult, Finding]], info: CatalogInfo, used_cves: set[str]
) -> dict[str, Any]:
    fix = info.fix(fix_id)
    status: dict[str, list[str]] = {}
    actions: dict[str, list[str]] = {}
    for result, finding in pairs:
        product_id = PRODUCT_PREFIX + result.tenant.id
        vex = VEX_STATUS[finding.status]
        status.setdefault(CSAF_STATUS[vex], []).append(product_id)
        if vex == AFFECTED:
            actions.setdefault(action_statement(finding, fix), []).append(product_id)
    cve, ids = _identifiers(fix_id, fix.aliases, info.product, used_cves)
    vulnerability: dict[str, Any] = {"title": fix.title or fix_id}
    if cve is not None:
        vulnerability["cve"] = cve
    vulnerability["ids"] = ids
    severity = pairs[0][1].severity
    notes = [{"category": "description", "title": "Fix", "text": fix.title or f"Fix {fix_id} of the {info.product} catalog"}]
    if severity:
        notes.append({"category": "other", "title": "Severity", "text": f"{severity} (the vendor catalog's rating)"})
    vulnerability["notes"] = notes
    vulnerability["product_status"] = {name: status[name] for name in CSAF_STATUS.values() if name in status}
    not_affected = status.get(CSAF_STATUS[NOT_AFFECTED])
    if not_affected:
        vulnerability["flags"] = [{"label": COMPONENT_NOT_PRESENT, "product_ids": not_affected}]
    if actions:
        vulnerability["remediations"] = [
            {"category": "vendor_fix", "details": details, "product_ids": product_ids}
            for details, product_ids in sorted(actions.items())
        ]
    return vulnerability


def _identifiers(
    fix_id: str, aliases: tuple[str, ...], product: str, used_cves: set[str]
) -> tuple[str | None, list[dict[str, str]]]:
    """The vulnerability's `cve` (None when it has none free) and `ids`: the fix id first, then each other
    alias with the numbering system its prefix names (`JVNDB-2023-000123` → `JVNDB`)."""
    cve = None
    ids = [{"system_name": f"{product} fix id", "text": fix_id}]
    seen = {fix_id}
    for alias in aliases:
        if alias in seen or not alias.strip():
            continue
        seen.add(alias)
        if _CVE.fullmatch(alias) and cve is None and alias not in used_cves:
            cve = alias
            used_cves.add(alias)
            continue
        system = _SYSTEM.match(alias)
        ids.append({"system_name": system.group(1) if system else "alias", "text": alias})
    return cve, ids
