"""The content-addressed id of a scan (SPEC 6): anyone holding the same inputs computes the same id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable

from drift.tenants import Tenant


def scan_id(catalog_digest: str, judged: Iterable[tuple[Tenant, str, str]], fixes: Collection[str] | None = None) -> str:
    """The content-addressed scan id of (tenant, inventory digest, signature state) judged against a catalog.

    SHA-256 over these UTF-8 lines: `catalog <catalog digest>`; `fixes <id,id,...>` only when the scan
    was narrowed to some fixes; then, per tenant sorted by id, `tenant <id> <inventory digest>
    <registry digest>`, where the registry digest is `sha256:` over the tenant's registry record (see
    `registry_digest`), followed by ` signature <state>` when a trust file was used (what became of the
    inventory's signature: it changes verdicts, so a scan with another outcome is another scan). Anyone
    holding the same catalog, registry, inventories (and trust file and signatures) gets the same id.
    """
    lines = [f"catalog {catalog_digest}"]
    if fixes is not None:
        lines.append("fixes " + ",".join(sorted(fixes)))
    for tenant, inventory_digest, signature in sorted(judged, key=lambda item: item[0].id):
        line = f"tenant {tenant.id} {inventory_digest} {registry_digest(tenant)}"
        lines.append(f"{line} signature {json.dumps(signature, ensure_ascii=False)}" if signature else line)
    return "sha256:" + hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()


def registry_digest(tenant: Tenant) -> str:
    """`sha256:` over the tenant's whole registry record as canonical JSON (verdicts depend on some of it and
    every output shows the rest): `{"edition": …, "id": …, "line": …, "modules": [sorted], "name": …,
    "prefecture": …}`, keys sorted, no spaces, non-ASCII kept as UTF-8. Every value is a JSON string or a
    list of them, so no value can imitate another split of the record (`["a,b"]` is not `["a", "b"]`)."""
    record = {
        "edition": tenant.edition,
        "id": tenant.id,
        "line": tenant.line,
        "modules": sorted(tenant.modules),
        "name": tenant.name,
        "prefecture": tenant.prefecture,
    }
    encoded = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()
