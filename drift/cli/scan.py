"""`drift scan`: judge every applicable fix on every tenant, store the scan, print it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.catalog import load_catalog
from drift.cli.options import catalog_option, db_option, inventory_option, trust_option
from drift.cli.progress import progress
from drift.errors import TrustError
from drift.formats import FORMATS, NEEDS_ALL_FINDINGS, render_chunks
from drift.inventory.readers import tenant_of
from drift.policy import Policy
from drift.scan import scan_into, select, unregistered_inventories, vouch_for_catalog
from drift.store import Store
from drift.tenants import load_registry
from drift.text import clip, shown
from drift.trust.attest import attest_scan
from drift.trust.keys import load_signing_key
from drift.trust.statement import SCAN
from drift.trust.trustfile import find_trust


@click.command()
@catalog_option
@inventory_option
@db_option
@click.option("--tenant", "tenant_ids", multiple=True, metavar="ID", help="Scan only this tenant (repeatable).")
@click.option("--fix", "fix_ids", multiple=True, metavar="ID", help="Judge only this fix (repeatable).")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table", show_default=True)
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default="the machine's cores",
              help="Tenants judged at once, in worker processes.")
@trust_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write the output here, whole or not at all (default: stdout).")
@click.option("--attest", "attest_key", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="KEYFILE",
              help="Sign the JSON document written with --out (the auditor's key): OUT.sig.")
def scan(
    catalog_dir: Path, inventory_dir: Path, db_path: Path, tenant_ids: tuple[str, ...], fix_ids: tuple[str, ...], fmt: str, jobs: int,
    trust_path: Path | None, out: Path | None, attest_key: Path | None,
) -> None:
    """Judge every applicable fix on every tenant and store the scan."""
    if attest_key is not None and (fmt != "json" or out is None):
        raise click.UsageError("--attest signs the scan document: it needs --format json and --out FILE")
    key = load_signing_key(attest_key) if attest_key is not None else None
    catalog = load_catalog(catalog_dir)
    registry = load_registry(inventory_dir)
    trust = find_trust(inventory_dir, trust_path)
    if trust is not None and SCAN in trust.require and fmt == "json" and out is not None and key is None:
        raise TrustError(f"the trust file requires signed scans: add --attest KEYFILE to write {clip(str(out))}", source=trust.source, where="require")
    tenants, fixes = select(catalog, registry, tenant_ids, fix_ids)
    for path in unregistered_inventories(inventory_dir, registry):
        click.echo(f"drift: note: {clip(str(path))}: no tenant {shown(tenant_of(path) or path.stem)} in the registry; not scanned", err=True)
    policy = Policy()
    keep = None if fmt in NEEDS_ALL_FINDINGS else policy.blocks
    with Store(db_path) as store, progress(len(tenants), "scanning") as advance:
        vouch_for_catalog(store, catalog_dir, catalog, trust)
        result = scan_into(store, catalog, tenants, inventory_dir, fixes, narrowed=bool(fix_ids), some_tenants=bool(tenant_ids), keep=keep, jobs=jobs,
                           progress=lambda _: advance(1), trust=trust)
    if out is None:
        for chunk in render_chunks(fmt, result, policy):
            click.echo(chunk, nl=False)
        return
    write_atomic(out, "".join(render_chunks(fmt, result, policy)))
    if key is not None:
        signed = attest_scan(out, result, policy, key)
        click.echo(f"{clip(str(signed))}: scan {result.id} signed by {key.public.fingerprint}", err=True)
