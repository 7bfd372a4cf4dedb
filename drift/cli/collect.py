"""`drift collect ROOT --tenant ID`: write a tenant's inventory."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.cli.main import done
from drift.cli.progress import progress, progress_shown
from drift.collect import collect as collect_inventory
from drift.collect.catalogneeds import CatalogNeeds, Needs
from drift.collect.gcpause import paused_gc
from drift.collect.hashcache import open_cache
from drift.collect.run import inside
from drift.collect.walk import walk
from drift.errors import InputError, OperationalError
from drift.inventory.jsonwrite import MAX_PATTERN
from drift.inventory.tenantid import tenant_option
from drift.text import clip, shown


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
@click.option("--cache", "cache_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Reuse the hashes of files whose device, inode, size, mtime and ctime are unchanged.")
@click.option("--rehash", is_flag=True, help="With --cache: hash every file again (and rewrite the cache).")
@click.option("--sign", "key_path", type=click.Path(path_type=Path, dir_okay=False), metavar="KEYFILE",
              help="Sign the inventory with this Ed25519 key (the municipality's): OUT.sig beside it.")
@paused_gc()  # the whole command: see drift.collect.gcpause
def collect(
    root: Path, tenant_id: str, out: Path | None, jobs: int | None, excludes: tuple[str, ...], catalog_dir: Path,
    cache_path: Path | None, rehash: bool, key_path: Path | None,
) -> None:
    """Hash every regular file under ROOT into a verifiable inventory."""
    tenant = tenant_option(tenant_id)
    for i, pattern in enumerate(excludes):
        if not pattern or len(pattern) > MAX_PATTERN or not pattern.isprintable():
            raise InputError(f"must be a printable pattern of 1 to {MAX_PATTERN} characters, not {shown(pattern)}", where=f"--exclude[{i}]")
    key = None
    if key_path is not None:  # only then is the signing library needed: the collector itself is the standard library's
        from drift.trust.keys import load_signing_key

        key = load_signing_key(key_path)
    if not root.is_dir():
        raise InputError("not a folder", source=root)
    if rehash and cache_path is None:
        raise click.UsageError("--rehash needs --cache")
    cache = open_cache(cache_path, rehash=rehash) if cache_path is not None else None
    needs: CatalogNeeds | None = None
    if (catalog_dir / "catalog.yaml").is_file():  # from the cache, or read while the tree is walked
        needs = CatalogNeeds(catalog_dir, _collector_needs, cache)
    else:
        click.echo(f"drift: warning: no catalog at {clip(str(catalog_dir))}: no config value is captured, so a scan judges every config "
                   "check unreadable; give --catalog DIR (a copy of the catalog folder)", err=True)
    with needs or contextlib.nullcontext():
        target = out or Path("inventory") / f"{tenant}.json"
        patterns = [*excludes, *inside(root, target, cache_path)]
        # A progress bar needs the whole walk first; without one, files are hashed while the walk goes on.
        tree = walk(root, patterns) if progress_shown() else None
        with progress(tree.size if tree else 0, f"hashing {root}", unit="bytes", files=len(tree.files) if tree else 0) as advance:
            result = collect_inventory(
                root, tenant, tree=tree, excludes=patterns, jobs=jobs, cache=cache, progress=advance if tree else None, catalog=needs,
            )
    if out is None:
        target.parent.mkdir(exist_ok=True)  # the default folder, inventory/, is made; a folder named with --out must exist
    if key is not None:  # the signature first: an inventory is never left without the signature asked for
        from drift.trust.inventories import inventory_signature
        from drift.trust.statement import signature_path

        write_atomic(signature_path(target), inventory_signature(target.name, result.data, key))
    write_atomic(target, result.data)
    if key is not None:
        click.echo(f"{signature_path(target)}: signed by {key.public.fingerprint}", err=True)
    click.echo(
        f"{target}: {result.files} files, {result.unreadable} unreadable, {result.links} links, {result.skipped} skipped"
        + f"; {result.bytes_read:,} bytes of file content read"
        + (f"; cache: {cache.hits} reused, {cache.misses} hashed" if cache is not None else "")
        + (" (files changed during collection: a deployment in progress?)" if result.changing else ""),
        err=True,
    )
    if cache is not None and cache_path is not None:
        for note in cache.notes():
            click.echo(f"drift: note: {cache_path}: {note}", err=True)
        try:
            cache.save(cache_path)
        except OperationalError as exc:  # the inventory is written; a cache that cannot be saved costs time only
            click.echo(f"drift: warning: {exc.render()}", err=True)
    done()



def _collector_needs(catalog_dir: Path) -> Needs:
    """`drift.catalog.collectorneeds.collector_needs`, imported in the process that reads the catalog: the
    catalog's modules and YAML are then never loaded by the one that collects."""
    from drift.catalog.collectorneeds import collector_needs

    return collector_needs(catalog_dir)
