"""`drift export csv`: a stored scan as the supervising agency's CSV, for Excel on a Japanese desktop."""

from __future__ import annotations

import datetime as dt
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
from drift.cli.vex import csaf, openvex
from drift.errors import InputError
from drift.export import ENCODINGS, EXCEL_MAX_ROWS, LANGS, REPLACEMENT, encode_csv, export_table
from drift.policy import Policy
from drift.store import Store
from drift.text import clip
from drift.zones import zone


@click.group()
def export() -> None:
    """Export a stored scan for others: CSV for the agency, OpenVEX and CSAF for scanners and agencies."""


export.add_command(openvex)
export.add_command(csaf)


@export.command("csv")
@stored_scan_option
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write here, whole or not at all (default: stdout, the same bytes).")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help="Headers and words.")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="utf-8-sig", show_default=True,
              help="utf-8-sig (a BOM) and cp932 both open in Excel on a Japanese desktop.")
@click.option("--replace-unencodable", "replace", is_flag=True,
              help=f"Write a character the encoding cannot hold as its look-alike, else as {REPLACEMENT} (default: exit 2).")
@click.option("--summary", is_flag=True,
              help="One row per tenant: counts per status, blocking yes/no (as the gate judges it), file drift counts.")
@policy_option("Blocking rule and waivers: adds the waiver columns")
@timezone_option
@click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), default=Path("manifests"), show_default=True,
              help="Where fix titles come from: used only if it is the catalog the scan judged.")
@db_option
@today_option
def export_csv(
    scan_ref: str, out: Path | None, lang: str, encoding: str, replace: bool, summary: bool, policy_path: Path | None,
    timezone_name: str, catalog_dir: Path, db_path: Path, today: dt.datetime | None,
) -> None:
    """A stored scan as CSV: one row per tenant and fix, or per tenant (RFC 4180, CRLF line ends).

    Blocking follows the gate's policy: with --policy, or drift-policy.yaml in the current folder, the rows
    also say which findings a waiver in force lets pass, and whose waiver it is. Times are shown in
    --timezone (default: this machine's zone) with their offset.
    """
    shown_in = zone(timezone_name)
    if not db_path.is_file():
        raise InputError("no results database here: run `drift scan` first", source=db_path, where="--db")
    found = find_policy(policy_path)
    policy = found or Policy()
    waivers_on = None if found is None else (today.date() if today else dt.date.today())
    with Store(db_path) as store:
        # A summary needs only the findings that can block; counts per status are stored whole.
        scan = store.load_scan(scan_ref, statuses=policy.statuses if summary else None)
    titles = {} if summary else catalog_titles(scan, catalog_dir, without="left empty")
    table = export_table(scan, lang=lang, summary=summary, titles=titles, policy=policy, waivers_on=waivers_on, zone=shown_in)
    encoded = encode_csv(table, encoding, replace=replace, source=str(out) if out else "stdout")
    if out is not None:
        write_atomic(out, encoded.data)
        click.echo(f"{clip(str(out))}: {encoded.rows} rows, {encoding}, scan {scan.id}", err=True)
    else:
        click.echo(encoded.data, nl=False)  # bytes: written to stdout's binary buffer as they are
    if encoded.replaced:
        click.echo(f"drift: note: {encoded.replaced} characters {encoding} cannot hold replaced in {encoded.replaced_rows} rows", err=True)
    if encoded.rows + 1 > EXCEL_MAX_ROWS:
        click.echo(f"drift: note: {encoded.rows + 1:,} rows: more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}); "
                   "use --summary, or narrow the scan", err=True)
