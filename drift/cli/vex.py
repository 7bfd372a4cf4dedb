"""`drift export openvex` and `drift export csaf`: a stored scan as VEX, for scanners and agencies (SPEC 6).

Both commands belong to the `export` group (`drift/cli/export.py` adds them)."""

from __future__ import annotations

from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.cli.options import catalog_named, db_option, stored_scan_option
from drift.errors import InputError
from drift.results import Scan
from drift.store import Store
from drift.text import clip
from drift.vex import CatalogInfo, catalog_info_for
from drift.vex.csaf import render_csaf
from drift.vex.openvex import render_openvex

out_option = click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False),
    help="Write here, whole or not at all (default: stdout, the same bytes).",
)
vex_catalog_option = click.option(
    "--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
    help="Where the product name and fix titles, aliases and releases come from: used only if it is the catalog the scan judged.",
)


@click.command("openvex")
@stored_scan_option
@out_option
@vex_catalog_option
@db_option
def openvex(scan_ref: str, out: Path | None, catalog_dir: Path, db_path: Path) -> None:
    """A stored scan as an OpenVEX 0.2.0 document: one statement per tenant and fix."""
    scan, info = _load(scan_ref, catalog_dir, db_path)
    _write(render_openvex(scan, info), out, "OpenVEX 0.2.0", scan)


@click.command("csaf")
@stored_scan_option
@out_option
@vex_catalog_option
@db_option
def csaf(scan_ref: str, out: Path | None, catalog_dir: Path, db_path: Path) -> None:
    """A stored scan as a CSAF 2.0 VEX document (profile csaf_vex): each tenant a product, each fix a vulnerability."""
    scan, info = _load(scan_ref, catalog_dir, db_path)
    _write(render_csaf(scan, info), out, "CSAF 2.0 csaf_vex", scan)


def _load(scan_ref: str, catalog_dir: Path, db_path: Path) -> tuple[Scan, CatalogInfo]:
    """The stored scan, and what its catalog says of its fixes. A default catalog folder that is missing or
    holds another catalog leaves that out with a note; a catalog named with --catalog must be the scan's."""
    if not db_path.is_file():
        raise InputError("no results database here: run `drift scan` first", source=db_path, where="--db")
    with Store(db_path) as store:
        scan = store.load_scan(scan_ref)
    try:
        return scan, catalog_info_for(scan, catalog_dir)
    except InputError as exc:
        if catalog_named():
            raise
        click.echo(f"drift: note: product name, fix titles, aliases and releases left out: {exc.render()}", err=True)
        return scan, CatalogInfo()


def _write(document: str, out: Path | None, kind: str, scan: Scan) -> None:
    if out is None:
        click.echo(document.encode("utf-8"), nl=False)  # bytes: UTF-8 whatever the terminal's locale, as --out writes
        return
    write_atomic(out, document)
    statements = sum(len(result.findings) for result in scan.tenants)
    click.echo(f"{clip(str(out))}: {kind}, {statements} statements, scan {scan.id}", err=True)
