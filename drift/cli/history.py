"""`drift history` and `drift diff`: how stored scans moved. Both only report: they exit 0 whatever they find."""

from __future__ import annotations

from pathlib import Path

import click

from drift.cli.options import db_option
from drift.database import TIMEOUT_ENV
from drift.formats.history import DIFF_FORMATS, HISTORY_FORMATS
from drift.history import diff as diff_runs
from drift.history import history as history_of
from drift.store import Store

_REFS = (
    "A scan is named by its id, a unique prefix of it (the 12 hex digits tables show), `latest`, or REF~N: the Nth run "
    "before REF's (`latest~1`: the run before the latest; `~` alone is `~1`). A run is one `drift scan`; scanning the "
    "same inputs again is a new run of the same stored scan."
)


@click.command(epilog=f"Blocking is the gate's default: missing, partial, unverifiable at high or above, before waivers. "
                      f"{TIMEOUT_ENV} sets the seconds to wait for a scan that holds the database (default 120).")
@click.option("--tenant", "tenant_ids", multiple=True, metavar="ID", help="Show how this tenant's fixes moved (repeatable).")
@click.option("--fix", "fix_ids", multiple=True, metavar="ID", help="Show how this fix moved on every tenant, or on --tenant (repeatable).")
@click.option("--every-scan", "every_run", is_flag=True, help="With --tenant or --fix: a row for every run, not only the changes.")
@click.option("--format", "fmt", type=click.Choice(sorted(HISTORY_FORMATS)), default="table", show_default=True)
@db_option
def history(tenant_ids: tuple[str, ...], fix_ids: tuple[str, ...], every_run: bool, fmt: str, db_path: Path) -> None:
    """List every scan run, oldest first, with its blocking findings; with --tenant or --fix, how their statuses moved.

    A status row is shown for the first run that judged a (tenant, fix) and for every run where its status
    changed: `regressed` (was applied, now is not), `newly-applied`, `newly-blocking`, `unblocked` or `changed`.
    A run whose scan did not judge the pair (`drift scan --tenant/--fix` narrowed it) is skipped. A run is one
    `drift scan`: scanning the same inputs again stores no new scan but is a new run, so a fleet that goes
    back to an earlier state shows the change back.
    """
    with Store(db_path, create=False) as store:
        result = history_of(store, tenants=tenant_ids, fixes=fix_ids, every_run=every_run)
    click.echo(HISTORY_FORMATS[fmt](result, str(db_path)), nl=False)


@click.command(epilog=_REFS + " Blocking is the gate's default (missing, partial, unverifiable at high or above).")
@click.argument("scan_a", default="latest~1", metavar="[SCAN_A]")
@click.argument("scan_b", default="latest", metavar="[SCAN_B]")
@click.option("--format", "fmt", type=click.Choice(sorted(DIFF_FORMATS)), default="table", show_default=True)
@db_option
def diff(scan_a: str, scan_b: str, fmt: str, db_path: Path) -> None:
    """Per tenant, the fixes whose status changed from SCAN_A (default latest~1) to SCAN_B (default latest).

    Changes: `regressed` (applied in SCAN_A, not in SCAN_B: a redeploy that lost a fix), `newly-applied`,
    `newly-blocking` (newly missing, partial or unverifiable, a new tenant's or new fix's blocking findings
    included), `unblocked` and `changed`. Tenants in only one of the scans are named. Exits 0: it reports.
    """
    with Store(db_path, create=False) as store:
        result = diff_runs(store, scan_a, scan_b)
    click.echo(DIFF_FORMATS[fmt](result), nl=False)
