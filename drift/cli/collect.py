"""`drift collect ROOT --tenant ID`: write a tenant's inventory."""

from __future__ import annotations

from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.catalog import load_catalog
from drift.cli.progress import progress
from drift.collect import collect as collect_inventory
from drift.collect import count_files
from drift.errors import InputError
from drift.tenants import check_tenant_id


@click.command()
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option("--tenant", "tenant_id", required=True, help="The tenant id (6-digit local government code or another id).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Where to write (default: inventory/<tenant>.json).")
@click.option("--jobs", type=click.IntRange(min=1), help="Files hashed at once (default: the machine's cores).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Leave out matching paths (repeatable).")
@click.option(
    "--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
    help="The catalog whose config checks say which config keys to capture (skipped if the folder is absent).",
)
def collect(root: Path, tenant_id: str, out: Path | None, jobs: int | None, excludes: tuple[str, ...], catalog_dir: Path) -> None:
    """Hash every regular file under ROOT into a verifiable inventory."""
    tenant = check_tenant_id(tenant_id, source="--tenant", where="ID")
    if not root.is_dir():
        raise InputError("not a folder", source=root)
    keys = load_catalog(catalog_dir).config_keys() if (catalog_dir / "catalog.yaml").is_file() else frozenset()
    target = out or Path("inventory") / f"{tenant}.json"
    with progress(count_files(root, excludes), f"hashing {root}") as advance:
        result = collect_inventory(root, tenant, config_keys=keys, excludes=excludes, jobs=jobs, progress=advance)
    write_atomic(target, result.text)
    click.echo(f"{target}: {result.files} files, {result.unreadable} unreadable, {len(result.skipped)} skipped", err=True)
