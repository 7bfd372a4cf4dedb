"""`drift verify FILE...`: check signatures against the trust file, offline."""

from __future__ import annotations

from pathlib import Path

import click

from drift.cli.options import inventory_option
from drift.errors import TrustError
from drift.text import terminal_safe
from drift.trust.trustfile import find_trust
from drift.trust.verify import verify_file


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--trust", "trust_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The trust file (default: trust.yaml in the inventory folder).")
@inventory_option
def verify(files: tuple[Path, ...], trust_path: Path | None, inventory_dir: Path) -> None:
    """Check the signature of each FILE (an inventory, a scan document, or a catalog folder); exit 0 only
    when every one verifies. One line per file: who signed what and when, or why not."""
    trust = find_trust(inventory_dir, trust_path)
    if trust is None:
        raise TrustError("no trust file: give --trust FILE, or put trust.yaml in the inventory folder", source=inventory_dir / "trust.yaml")
    outcomes = [verify_file(path, trust) for path in files]
    for outcome in outcomes:
        click.echo(terminal_safe(outcome.describe()))
    if not all(o.ok for o in outcomes):
        click.get_current_context().exit(1)
