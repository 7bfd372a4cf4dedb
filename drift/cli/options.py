"""Options shared by several commands, with the defaults SPEC 6 gives."""

from __future__ import annotations

from pathlib import Path

import click

catalog_option = click.option(
    "--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
    help="The catalog folder.",
)
inventory_option = click.option(
    "--inventory", "inventory_dir", type=click.Path(path_type=Path), default=Path("inventory"), show_default=True,
    help="The inventory folder: tenants.yaml (or .csv) and one inventory per tenant.",
)
db_option = click.option(
    "--db", "db_path", type=click.Path(path_type=Path), default=Path("drift.db"), show_default=True,
    help="The results database.",
)
