"""`drift scan`: judge every applicable fix on every tenant, store the scan, print it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from drift.catalog import load_catalog
from drift.cli.options import catalog_option, db_option, inventory_option
from drift.cli.progress import progress
from drift.formats import FORMATS, NEEDS_ALL_FINDINGS, render_chunks
from drift.policy import Policy
from drift.scan import scan_into, select, unregistered_inventories
from drift.store import Store
from drift.tenants import load_registry
from drift.text import clip, shown


@click.command()
@catalog_option
@inventory_option
@db_option
@click.option("--tenant", "tenant_ids", multiple=True, metavar="ID", help="Scan only this tenant (repeatable).")
@click.option("--fix", "fix_ids", multiple=True, metavar="ID", help="Judge only this fix (repeatable).")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table", show_default=True)
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default="the machine's cores",
              help="Tenants judged at once, in worker processes.")
def scan(
    catalog_dir: Path, inventory_dir: Path, db_path: Path, tenant_ids: tuple[str, ...], fix_ids: tuple[str, ...], fmt: str, jobs: int
) -> None:
    """Judge every applicable fix on every tenant and store the scan."""
    catalog = load_catalog(catalog_dir)
    registry = load_registry(inventory_dir)
    tenants, fixes = select(catalog, registry, tenant_ids, fix_ids)
    for path in unregistered_inventories(inventory_dir, registry):
        click.echo(f"drift: note: {clip(str(path))}: no tenant {shown(path.stem)} in the registry; not scanned", err=True)
    policy = Policy()
    keep = None if fmt in NEEDS_ALL_FINDINGS else policy.blocks
    with Store(db_path) as store, progress(len(tenants), "scanning") as advance:
        result = scan_into(store, catalog, tenants, inventory_dir, fixes, narrowed=bool(fix_ids), keep=keep, jobs=jobs,
                           progress=lambda _: advance(1))
    for chunk in render_chunks(fmt, result, policy):
        click.echo(chunk, nl=False)
