"""`drift report html`: a stored scan as one self-contained HTML page for people (and for an email)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.cli.options import (
    catalog_titles,
    db_option,
    find_policy,
    policy_option,
    stored_scan_option,
    timezone_option,
    today_option,
)
from drift.export import LANGS
from drift.gate import decide
from drift.policy import Policy
from drift.report import build_report, render_html
from drift.report.headline import since_previous
from drift.results import Scan
from drift.store import Run, Store
from drift.text import clip
from drift.zones import Zone, zone


@click.group()
def report() -> None:
    """Reports on a stored scan, for people."""


@report.command("html")
@stored_scan_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, metavar="FILE",
              help="Write the page here, whole or not at all.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="The page's language.")
@policy_option("Blocking rule and waivers")
@timezone_option
@click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
              help="Where fix titles come from: used only if it is the catalog the scan judged.")
@db_option
@today_option
def report_html(
    scan_ref: str, out: Path, lang: str, policy_path: Path | None, timezone_name: str, catalog_dir: Path, db_path: Path,
    today: dt.datetime | None,
) -> None:
    """One HTML file: the fleet matrix (tenants x fixes), a headline, and every finding's evidence.

    The page needs no network: styles, script and data are inside it, so it opens offline and can be
    attached to an email. Blocking and waivers follow the gate's policy; the headline compares the scan's
    run with the run before it (as `drift diff` does). Times are shown in --timezone (default: this
    machine's zone) with their offset.
    """
    shown_in = zone(timezone_name)
    policy = find_policy(policy_path) or Policy()
    with Store(db_path, create=False) as store, store.reading():
        run = store.resolve_run(scan_ref)
        scan = store.load_scan(run.scan)
        since = since_previous(store, run, policy)
    titles = catalog_titles(scan, catalog_dir, without="left out")
    gate = decide(_scan_in(scan, shown_in), policy, today.date() if today else dt.date.today())
    run, since = _run_in(run, shown_in), replace(since, previous=since.previous and _run_in(since.previous, shown_in))
    page = render_html(build_report(gate, lang=lang, titles=titles, since=since, run=run)).encode("utf-8")
    write_atomic(out, page)
    head = gate.scan.tenants
    click.echo(f"{clip(str(out))}: {len(head)} tenants, {len(page):,} bytes, scan {scan.id}", err=True)


def _scan_in(scan: Scan, shown_in: Zone) -> Scan:
    """The scan with the times the page shows (when it was stored, when each inventory was collected) in the zone."""
    tenants = tuple(replace(t, collected_at=shown_in.show(t.collected_at)) if t.collected_at else t for t in scan.tenants)
    return replace(scan, created_at=shown_in.show(scan.created_at), tenants=tenants)


def _run_in(run: Run, shown_in: Zone) -> Run:
    """The run with its times in the zone."""
    return replace(run, ran_at=shown_in.show(run.ran_at), created_at=shown_in.show(run.created_at))
