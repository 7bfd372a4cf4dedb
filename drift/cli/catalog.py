"""`drift catalog`: work with the fix catalog."""

from __future__ import annotations

from pathlib import Path

import click

from drift.catalog import load_catalog
from drift.cli.options import catalog_option


@click.group()
def catalog() -> None:
    """Work with the fix catalog (catalog.yaml, releases/, fixes/)."""


@catalog.command()
@catalog_option
def validate(catalog_dir: Path) -> None:
    """Check every catalog file; exit 2 naming the file and field of the first error."""
    loaded = load_catalog(catalog_dir)
    releases = len(loaded.releases)
    click.echo(
        f"{catalog_dir}: valid: product {loaded.product}, lines {', '.join(loaded.lines)}, "
        f"{releases} releases, {len(loaded.fixes)} fixes\ndigest {loaded.digest}"
    )
