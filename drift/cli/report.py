"""`drift report html`: a stored scan as one self-contained HTML page for people (and for an email)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from drift.atomic import write_atomic
from drift.cli.options import catalog_titles, db_option, stored_scan_option
from drift.export import LANGS
from drift.gate import POLICY_FILE, decide, load_policy
from drift.policy import Policy
from drift.report import build_report, render_html
from drift.report.headline import since_previous
from drift.store import Store
from drift.text import clip


@click.group()
def report() -> None:
    """Reports on a stored scan, for people."""


@report.command("html")
@stored_scan_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, metavar="FILE",
              help="Write the page here, whole or not at all.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="The page's language.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help=f"Blocking rule and waivers [default: {POLICY_FILE} when present].")
@click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
              help="Where fix titles come from: used only if it is the catalog the scan judged.")
@db_option
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, hidden=True,
              help="Judge waivers as on this day (for tests).")
def report_html(
    scan_ref: str, out: Path, lang: str, policy_path: Path | None, catalog_dir: Path, db_path: Path, today: dt.datetime | None
) -> None:
    """One HTML file: the fleet matrix (tenants x fixes), a headline, and every finding's evidence.

    The page needs no network: styles, script and data are inside it, so it opens offline and can be
    attached to an email. Blocking and waivers follow the gate's policy; the headline compares the scan's
    run with the run before it (as `drift diff` does).
    """
    policy = _policy(policy_path)
    with Store(db_path, create=False) as store, store.reading():
        run = store.resolve_run(scan_ref)
        scan = store.load_scan(run.scan)
        since = since_previous(store, run, policy)
    titles = catalog_titles(scan, catalog_dir, without="left out")
    gate = decide(scan, policy, today.date() if today else dt.date.today())
    page = render_html(build_report(gate, lang=lang, titles=titles, since=since, run=run)).encode("utf-8")
    write_atomic(out, page)
    head = gate.scan.tenants
    click.echo(f"{clip(str(out))}: {len(head)} tenants, {len(page):,} bytes, scan {scan.id}", err=True)


def _policy(path: Path | None) -> Policy:
    """The policy file named, else the one in the current folder when present, else the gate's defaults."""
    if path is None and Path(POLICY_FILE).is_file():
        path = Path(POLICY_FILE)
    return load_policy(path) if path is not None else Policy()
