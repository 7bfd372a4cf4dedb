"""Options shared by several commands, with the defaults SPEC 6 gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from drift.errors import InputError
from drift.export import fix_titles
from drift.gate import POLICY_FILE, load_policy
from drift.policy import Policy
from drift.results import Scan
from drift.zones import LOCAL

FC = TypeVar("FC", bound=Callable[..., object])

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

stored_scan_option = click.option(
    "--scan", "scan_ref", default="latest", show_default=True, metavar="ID|latest",
    help="The scan: latest, its id or a unique prefix of it, or REF~N (the Nth run before REF's).",
)


def catalog_named() -> bool:
    """True when the running command's --catalog was given, not left at its default: a named catalog must be
    the scan's, while a default one that is missing or another is only noted."""
    return click.get_current_context().get_parameter_source("catalog_dir") != click.core.ParameterSource.DEFAULT


def catalog_titles(scan: Scan, catalog_dir: Path, *, without: str) -> dict[str, str]:
    """Fix titles: those stored with the scan, else from the catalog the scan judged. A default catalog folder
    that is missing or another catalog leaves them out with a note saying what happens `without` them; a
    catalog named with --catalog must be the scan's one."""
    if scan.titles and not catalog_named():
        return dict(scan.titles)
    try:
        return fix_titles(scan, catalog_dir)
    except InputError as exc:
        if catalog_named():
            raise
        click.echo(f"drift: note: fix titles {without}: {exc.render()}", err=True)
        return {}

trust_option = click.option(
    "--trust", "trust_path", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
    help="The trust file: which keys may sign inventories, catalogs and scans [default: trust.yaml in the inventory folder, when present].",
)


def policy_option(what: str) -> Callable[[FC], FC]:
    """`--policy FILE` (default: `drift-policy.yaml` in the current folder when present), saying what it gives."""
    return click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
                        help=f"{what} [default: {POLICY_FILE} when present].")


def find_policy(path: Path | None) -> Policy | None:
    """The policy file named with --policy, else `drift-policy.yaml` in the current folder when present (as
    `drift gate` finds it), loaded and checked (exit 2 naming the file and field); None when there is neither."""
    if path is None and Path(POLICY_FILE).is_file():
        path = Path(POLICY_FILE)
    return load_policy(path) if path is not None else None


today_option = click.option(
    "--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, hidden=True, help="Judge waivers as on this day (for tests).",
)

timezone_option = click.option(
    "--timezone", "timezone_name", default=LOCAL, show_default=True, metavar="ZONE",
    help="Show scan and collection times in this zone (an IANA name such as Asia/Tokyo or UTC, or local: this machine's), "
         "as RFC 3339 with its offset.",
)
