"""A stored scan as VEX (SPEC 6 `drift export openvex`, `drift export csaf`): what each tenant's deployment
says of each fix, in the two formats agencies and scanners exchange fix status in.

Both documents make the same statements, one per tenant and fix the scan judged:

| drift status     | OpenVEX status        | CSAF product status   | with                                          |
|------------------|-----------------------|-----------------------|-----------------------------------------------|
| `applied`        | `fixed`               | `fixed`               |                                               |
| `missing`        | `affected`            | `known_affected`      | an action statement / `vendor_fix` remediation |
| `partial`        | `affected`            | `known_affected`      | the same, saying the fix is only partly there |
| `not-applicable` | `not_affected`        | `known_not_affected`  | justification / flag `component_not_present`  |
| `unverifiable`   | `under_investigation` | `under_investigation` |                                               |

- **The product is the tenant's deployment.** Its identifier is the package URL
  `pkg:generic/<product>?tenant=<tenant id>` (`tenant_purl`): the product is the catalog's, and the tenant is
  a qualifier, not a version, since one deployment holds files of several releases and a purl's version is
  compared as a release by scanners. It depends on nothing but the catalog's product name and the tenant's
  code, so the same tenant has the same identifier in every scan. CSAF's `product_id` is `TENANT-<id>`.
- **Each fix is a vulnerability**, named by its catalog id, with its aliases and title when the catalog the
  scan judged is at hand (`catalog_info`); else those are left out and the product is called `product`.
- **Nothing depends on the clock**: every time is the scan's `created_at`, the documents' identifiers come
  from the scan id, their version is 1, and statements are sorted by tenant, then fix. The same scan (and
  catalog) gives the same bytes.
- Strings from the tenant (a name, an evidence path) are only JSON-escaped (`drift.text.json_safe`): the
  value is kept whole, and no control or reordering character is written raw.

Nothing here prints or writes a file: the CLI (`drift/cli/vex.py`) does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from drift.catalog import load_catalog
from drift.catalog.model import Catalog
from drift.errors import InputError
from drift.formats.evidence import short_evidence
from drift.results import APPLIED, MISSING, NOT_APPLICABLE, PARTIAL, UNVERIFIABLE, Finding, Scan, TenantResult
from drift.text import json_safe, shown

DEFAULT_PRODUCT = "product"
"""The product's name when the catalog the scan judged is not at hand."""

# The four VEX statuses, as OpenVEX spells them (CSAF's product status names are in drift.vex.csaf).
FIXED = "fixed"
AFFECTED = "affected"
NOT_AFFECTED = "not_affected"
UNDER_INVESTIGATION = "under_investigation"

VEX_STATUS: Mapping[str, str] = {
    APPLIED: FIXED,
    MISSING: AFFECTED,
    PARTIAL: AFFECTED,
    NOT_APPLICABLE: NOT_AFFECTED,
    UNVERIFIABLE: UNDER_INVESTIGATION,
}
"""drift's fix status → the VEX status it states (SPEC 6)."""

COMPONENT_NOT_PRESENT = "component_not_present"
"""The justification (OpenVEX) and flag (CSAF) of a `not-applicable` finding: the fix's component is not
deployed there (its edition or modules exclude the tenant, or none of its files are deployed)."""


@dataclass(frozen=True, slots=True)
class FixInfo:
    """What the catalog says of one fix beyond what a stored scan holds."""

    title: str = ""
    """The fix's title ("" when unknown)."""
    aliases: tuple[str, ...] = ()
    """Other names of the defect (a CVE id, a JVN id), in catalog order, each once."""
    fixed_in: tuple[tuple[str, str], ...] = ()
    """(line, first release of the line that ships the fix) for each variant that names one, in catalog order."""


@dataclass(frozen=True, slots=True)
class CatalogInfo:
    """The catalog a scan judged, as far as a VEX document needs it."""

    product: str = DEFAULT_PRODUCT
    """The product's name (`catalog.yaml`'s `product`)."""
    fixes: Mapping[str, FixInfo] = field(default_factory=dict)
    """Fix id → what the catalog says of it; a fix it lacks has no title, aliases or releases."""

    def fix(self, fix_id: str) -> FixInfo:
        """What is known of the fix `fix_id` (nothing, when the catalog is not at hand)."""
        return self.fixes.get(fix_id, _NOTHING)


_NOTHING = FixInfo()


def catalog_info(catalog: Catalog) -> CatalogInfo:
    """What VEX needs of `catalog`: its product name, and each fix's title, aliases and first releases."""
    fixes = {}
    for fix in catalog.fixes:
        fixed_in = tuple((v.line, v.fixed_in) for v in fix.variants if v.fixed_in)
        fixes[fix.id] = FixInfo(fix.title, tuple(dict.fromkeys(fix.aliases)), fixed_in)
    return CatalogInfo(catalog.product, fixes)


def catalog_info_for(scan: Scan, catalog_dir: str | Path) -> CatalogInfo:
    """`catalog_info` of the catalog at `catalog_dir`, which must be the one the scan judged (same digest):
    what a document says of a fix then comes from the catalog its verdicts came from. Raises `InputError`
    when the folder holds no catalog, or another one."""
    catalog = load_catalog(catalog_dir)
    if catalog.digest != scan.catalog_digest:
        raise InputError(
            f"catalog {catalog.digest} is not the one scan {scan.id} judged ({scan.catalog_digest})",
            source=catalog_dir, where="--catalog",
        )
    return catalog_info(catalog)


def statements(scan: Scan) -> Iterator[tuple[TenantResult, Finding]]:
    """Every (tenant, finding) of the scan, sorted by tenant id, then fix id: one VEX statement each.

    Raises `InputError` when the scan holds no finding (a VEX document needs at least one statement), or a
    finding whose status drift does not know (never guessed into a VEX status)."""
    found = False
    for result in sorted(scan.tenants, key=lambda r: r.tenant.id):
        for finding in sorted(result.findings, key=lambda f: f.fix):
            if finding.status not in VEX_STATUS:
                raise InputError(
                    f"finding status {shown(finding.status)} of tenant {shown(result.tenant.id)} and fix "
                    f"{shown(finding.fix)} is none of {', '.join(VEX_STATUS)}", where=f"scan {scan.id}",
                )
            found = True
            yield result, finding
    if not found:
        raise InputError("the scan holds no finding: a VEX document needs at least one statement", where=f"scan {scan.id}")


def tenant_purl(product: str, tenant_id: str) -> str:
    """The package URL that names the tenant's deployment of the product: `pkg:generic/<product>?tenant=<id>`,
    each part percent-encoded as the purl specification asks."""
    return f"pkg:generic/{quote(product, safe='')}?tenant={quote(tenant_id, safe='')}"


def tenant_label(product: str, result: TenantResult) -> str:
    """The deployment's name for a person: `<product> at <tenant name> (<tenant id>)`."""
    tenant = result.tenant
    return f"{product} at {tenant.name} ({tenant.id})" if tenant.name else f"{product} at tenant {tenant.id}"


def action_statement(finding: Finding, fix: FixInfo) -> str:
    """What an affected tenant should do: apply the fix of the variant the verdict came from, naming the
    line and the first release of that line that ships it, where known ("Apply the fix of line 8.x (first
    shipped in 8.1.3)"), else "Apply the fix"; a `partial` finding says that part of it is deployed."""
    if finding.variant is None:
        text = "Apply the fix"
    else:
        releases = list(dict.fromkeys(release for line, release in fix.fixed_in if line == finding.variant))
        text = f"Apply the fix of line {finding.variant}"
        if releases:
            text += f" (first shipped in {' or '.join(releases)})"
    if finding.status == PARTIAL:
        text += "; only part of it is deployed"
    return text


def status_note(result: TenantResult, finding: Finding) -> str:
    """How drift came to the finding, for a person: the tenant, the drift status, the variant judged, and the
    evidence (`path: state` per file) or the reason."""
    tenant = result.tenant
    where = f"{tenant.name} ({tenant.id})" if tenant.name else f"tenant {tenant.id}"
    variant = f" on line {finding.variant}" if finding.variant else ""
    detail = short_evidence(finding)
    return f"{where}: drift status {finding.status}{variant}" + (f": {detail}" if detail else "")


def rfc3339(created_at: str) -> str:
    """The scan's time as an RFC 3339 UTC time (`2026-03-31T09:00:00Z`), which both schemas require; a time
    without a zone is taken as UTC (drift stores UTC). Raises `InputError` on anything else."""
    try:
        moment = dt.datetime.fromisoformat(created_at)
    except ValueError:
        raise InputError(f"scan time {shown(created_at)} is not an ISO 8601 time", where="created_at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_hex(scan_id: str) -> str:
    """The scan id without its `sha256:` prefix."""
    return scan_id.rpartition(":")[2]


def render_json(document: Mapping[str, Any]) -> str:
    """The document as JSON: keys in the order given, 2-space indent, a final newline; control and
    reordering characters written as `\\uXXXX` (`json_safe`), everything else as it is (UTF-8)."""
    return json_safe(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


__all__ = [
    "AFFECTED", "COMPONENT_NOT_PRESENT", "DEFAULT_PRODUCT", "FIXED", "NOT_AFFECTED", "UNDER_INVESTIGATION", "VEX_STATUS",
    "CatalogInfo", "FixInfo", "action_statement", "catalog_info", "catalog_info_for", "render_json", "rfc3339", "scan_hex",
    "statements", "status_note", "tenant_label", "tenant_purl",
]
