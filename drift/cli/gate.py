"""`drift gate`: scan (or read a stored scan), apply the policy, report, and exit 1 when anything blocks."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import click

from drift.atomic import write_atomic
from drift.catalog import load_catalog
from drift.cli.options import catalog_option, db_option, inventory_option, trust_option
from drift.cli.progress import progress
from drift.errors import DriftError, InputError, TrustError
from drift.formats.junit import render_junit, render_junit_error
from drift.formats.sarif import render_sarif, render_sarif_error
from drift.gate import (
    POLICY_FILE,
    GateResult,
    TenantGate,
    check_severity,
    check_statuses,
    check_uncatalogued,
    decide,
    load_policy,
)
from drift.inventory.readers import tenant_of
from drift.policy import BLOCKABLE, UNCATALOGUED_BLOCK, UNCATALOGUED_CHOICES, UNCATALOGUED_WARN, Policy, Waiver
from drift.results import Finding, Scan
from drift.scan import NO_INVENTORY, scan_into, select, unregistered_inventories, vouch_for_catalog
from drift.store import Store
from drift.tenants import load_registry
from drift.text import clip, shown, terminal_safe
from drift.trust.trustfile import find_trust
from drift.verdict import NOT_COLLECTED_NOTE

T = TypeVar("T")

EXIT_BLOCKING = 1
MAX_SUMMARY_TENANTS = 10
"""The summary details at most this many blocking tenants (and as many waived findings); the reports hold all."""
MAX_NAMED_TENANTS = 100
"""Past the tenants shown in detail, the summary names at most this many more by id."""
MAX_SUMMARY_FIXES = 4
"""Per blocking tenant (and in the line of blocking fixes), the summary names at most this many fixes."""


@click.command()
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help=f"The policy file [default: {POLICY_FILE} when present].")
@click.option("--fail-on", metavar="STATUS,...", default=None,
              help=f"Statuses that block, comma-separated, of {', '.join(BLOCKABLE)} [default: all three].")
@click.option("--min-severity", metavar="LEVEL", default=None, help="The least severity that blocks: critical, high, medium, low [default: high].")
@click.option("--uncatalogued", metavar="|".join(UNCATALOGUED_CHOICES), default=None,
              help="Uncatalogued files block the gate, warn, or are ignored [default: warn].")
@click.option("--scan", "scan_ref", metavar="ID|latest", default=None, help="Gate a stored scan instead of scanning.")
@click.option("--tenant", "tenant_ids", multiple=True, metavar="ID", help="Gate only this tenant (repeatable).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None, metavar="FILE", help="Write a JUnit XML report.")
@click.option("--sarif", "sarif_path", type=click.Path(path_type=Path), default=None, metavar="FILE", help="Write a SARIF 2.1.0 log.")
@catalog_option
@inventory_option
@db_option
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default="the machine's cores",
              help="Tenants judged at once, in worker processes.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, hidden=True,
              help="Judge waivers as on this day (for tests).")
@trust_option
def gate(
    policy_path: Path | None, fail_on: str | None, min_severity: str | None, uncatalogued: str | None, scan_ref: str | None,
    tenant_ids: tuple[str, ...], junit_path: Path | None, sarif_path: Path | None, catalog_dir: Path, inventory_dir: Path,
    db_path: Path, jobs: int, today: dt.datetime | None, trust_path: Path | None,
) -> None:
    """Decide whether anything blocks; exit 1 when it does, 0 when nothing does.

    Scans the fleet (or reads a stored scan with --scan) and applies the policy: drift-policy.yaml in the
    current folder when present, then the flags. A tenant with no inventory always blocks; an input that
    cannot be read or verified is an error (exit 2), never a pass.
    """
    try:
        policy = _policy(policy_path, fail_on, min_severity, uncatalogued)
        scan, titles = _scan(scan_ref, tenant_ids, catalog_dir, inventory_dir, db_path, jobs, trust_path)
        result = decide(scan, policy, today.date() if today else dt.date.today(), tenants=tenant_ids)
    except DriftError as exc:
        # A report left by an earlier run must not pass for this one's.
        if junit_path:
            write_atomic(junit_path, render_junit_error(exc.render()))
        if sarif_path:
            write_atomic(sarif_path, render_sarif_error(exc.render()))
        raise
    if junit_path:
        write_atomic(junit_path, render_junit(result))
    if sarif_path:
        write_atomic(sarif_path, render_sarif(result, titles=titles, inventory_dir=None if scan_ref else str(inventory_dir)))
    click.echo(render_summary(result), nl=False)
    if not result.passed:
        click.get_current_context().exit(EXIT_BLOCKING)


def _policy(path: Path | None, fail_on: str | None, min_severity: str | None, uncatalogued: str | None) -> Policy:
    """The policy file (named, or the default one when present), then the flags over it."""
    if path is None and Path(POLICY_FILE).is_file():
        path = Path(POLICY_FILE)
    policy = load_policy(path) if path is not None else Policy()
    if fail_on is not None:
        policy = replace(policy, statuses=check_statuses([s.strip() for s in fail_on.split(",") if s.strip()], where="--fail-on"))
    if min_severity is not None:
        policy = replace(policy, min_severity=check_severity(min_severity, where="--min-severity"))
    if uncatalogued is not None:
        policy = replace(policy, uncatalogued=check_uncatalogued(uncatalogued, where="--uncatalogued"))
    return policy


def _scan(
    scan_ref: str | None, tenant_ids: tuple[str, ...], catalog_dir: Path, inventory_dir: Path, db_path: Path, jobs: int, trust_path: Path | None
) -> tuple[Scan, dict[str, str]]:
    """The scan to gate, and the fix titles when the catalog was read."""
    if scan_ref is not None:
        with Store(db_path) as store:
            scan_id = store.resolve(scan_ref)
            row = store.db.conn.execute("SELECT fixes FROM scans WHERE id = ?", (scan_id,)).fetchone()
            if row is not None and row[0] is not None:
                # A scan narrowed with --fix judged only some fixes: gating it would pass what it never looked at.
                raise InputError(f"scan {scan_id} judged only the fixes {', '.join(_json_list(row[0]))}: gate a whole scan", where="--scan")
            scan = store.load_scan(scan_id)
        trust = find_trust(inventory_dir, trust_path)
        if trust is not None and any(not t.signature for t in scan.tenants if t.inventory_digest != NO_INVENTORY):
            # A stored scan judged without a trust file would pass inventories the trust file might refuse.
            raise TrustError(f"scan {scan_id} was judged without a trust file, and {trust.source} is one: scan again with it "
                             "(drift gate without --scan)", where="--scan")
        return scan, {}
    catalog = load_catalog(catalog_dir)
    registry = load_registry(inventory_dir)
    trust = find_trust(inventory_dir, trust_path)
    tenants, fixes = select(catalog, registry, tenant_ids)
    for path in unregistered_inventories(inventory_dir, registry):
        click.echo(f"drift: note: {clip(str(path))}: no tenant {shown(tenant_of(path) or path.stem)} in the registry; not gated", err=True)
    with Store(db_path) as store, progress(len(tenants), "scanning") as advance:
        vouch_for_catalog(store, catalog_dir, catalog, trust)
        scan = scan_into(store, catalog, tenants, inventory_dir, fixes, some_tenants=bool(tenant_ids), jobs=jobs,
                         progress=lambda _: advance(1), trust=trust)
    return scan, {f.id: f.title for f in catalog.fixes}


def _json_list(text: str) -> list[str]:
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def render_summary(result: GateResult) -> str:
    """A few lines for a terminal: pass or blocked, what blocks where, the waivers, and what to do next.

    Each line is escaped (a newline or an escape sequence in a tenant's name or path shows as `\\n` or `\\e`,
    SPEC 5), and names and paths are cut to a few hundred characters."""
    return "".join(terminal_safe(line) + "\n" for line in _summary_lines(result))


def _summary_lines(result: GateResult) -> Iterator[str]:
    gated = len(result.tenants)
    blocking = sorted(result.blocking_tenants, key=lambda t: (-len(t.blocking) - len(t.reasons), t.id))
    scan = result.scan.id
    if result.passed:
        yield f"drift gate: PASS: nothing blocks at {gated} tenant{_s(gated)} (scan {scan})"
    else:
        verb = "blocks" if len(blocking) == 1 else "block"
        yield f"drift gate: BLOCKED: {len(blocking)} of {gated} tenant{_s(gated)} {verb} (scan {scan})"
    yield f"policy: {result.policy.source or 'defaults'}: {result.policy.describe()}"
    for problem in result.problems:
        yield f"  {problem}"
    if blocking:
        yield from _by_fix(blocking)
    for tenant in blocking[:MAX_SUMMARY_TENANTS]:
        yield f"  {_label(tenant)}: {_what_blocks(tenant)}"
    if len(blocking) > MAX_SUMMARY_TENANTS:
        rest = [t.id for t in blocking[MAX_SUMMARY_TENANTS:]]
        yield f"  and {len(rest)} more: {_listed(rest, MAX_NAMED_TENANTS)}"
    waived = result.waived
    if waived:
        tenants = len({t.id for t, _ in waived})
        yield f"waived: {len(waived)} finding{_s(len(waived))} at {tenants} tenant{_s(tenants)}"
        yield from _capped(waived, lambda tw: f"  {tw[0].id} {tw[1].finding.fix} {tw[1].finding.status}: {_waiver_text(tw[1].waiver)}", "waived findings")
    where = f"{result.policy.source} " if result.policy.source else ""
    for waiver in result.expired:
        yield f"expired waiver, no longer applied: {where}{waiver.where}: {waiver.tenant} {waiver.fix} (it ran through {waiver.expires.isoformat()})"
    for waiver in result.expiring:
        days = (waiver.expires - result.today).days
        yield f"waiver expires in {days} day{_s(days)}: {where}{waiver.where}: {waiver.tenant} {waiver.fix} (on {waiver.expires.isoformat()})"
    for waiver in result.unmatched:
        yield f"waiver matches no blocking finding: {where}{waiver.where}: {waiver.tenant} {waiver.fix}: remove it"
    warned = [t for t in result.tenants if t.uncatalogued and result.policy.uncatalogued == UNCATALOGUED_WARN]
    if warned:
        yield f"warning: uncatalogued files, which no fix review covers, at {len(warned)} tenant{_s(len(warned))}:"
        yield from _capped(warned, lambda t: f"  {_label(t)}: {_listed(t.uncatalogued, 3, clip)}", "tenants with uncatalogued files")
    yield from _next_steps(result, blocking)


def _next_steps(result: GateResult, blocking: list[TenantGate]) -> Iterator[str]:
    policy_file = result.policy.source or POLICY_FILE
    recollect = [t.id for t in blocking if any(_uncollected(f) for f in t.blocking)]
    refused = [t.id for t in blocking if any(f.reason.startswith("inventory signature refused") for f in t.blocking)]
    if any(not _uncollected(f) and not f.reason.startswith("inventory signature refused") for t in blocking for f in t.blocking):
        yield f"Next: apply the fixes and collect new inventories, or waive them in {policy_file} with a reason, approver and expiry."
    if recollect:
        yield (f"Next: collect again at {_listed(recollect, 5)} with the catalog at hand (drift collect ROOT --tenant ID --catalog DIR): "
               "config values the catalog checks were not captured.")
    if refused:
        yield f"Next: collect and sign the inventory of {_listed(refused, 5)} again, with a key the trust file allows for the tenant."
    without = [t.id for t in blocking if not t.has_inventory]
    if without:
        yield (f"Next: collect an inventory for {_listed(without, 5)} (drift collect ROOT --tenant ID, or python3 drift-collect.pyz "
               "ROOT --tenant ID --out ID.json where drift is not installed; see README, Collecting).")
    if any(t.uncatalogued and t.reasons for t in blocking) and result.policy.uncatalogued == UNCATALOGUED_BLOCK:
        yield "Next: have the uncatalogued files reviewed and removed, or let them warn (uncatalogued: warn)."
    if result.expiring:
        yield "Next: renew the expiring waivers, or apply their fixes before they lapse."


def _uncollected(finding: Finding) -> bool:
    """The finding blocks only for config values the collector did not capture (no catalog at hand)."""
    states = [e for e in finding.evidence if e.state not in ("fixed", "not-deployed", "ambiguous")]
    return bool(states) and all(e.note == NOT_COLLECTED_NOTE for e in states)


def _by_fix(blocking: list[TenantGate]) -> Iterator[str]:
    """One line: the fixes that block, at the most tenants first."""
    tenants: Counter[str] = Counter(f.fix for t in blocking for f in t.blocking)
    if tenants:
        ranked = sorted(tenants.items(), key=lambda item: (-item[1], item[0]))
        named = [f"{fix} at {n} tenant{_s(n)}" for fix, n in ranked[:MAX_SUMMARY_FIXES]]
        more = f" and {len(ranked) - MAX_SUMMARY_FIXES} more" if len(ranked) > MAX_SUMMARY_FIXES else ""
        yield f"blocking fixes: {', '.join(named)}{more}"


def _what_blocks(tenant: TenantGate) -> str:
    parts = list(tenant.reasons)
    named = [f"{f.fix} {f.status}" for f in tenant.blocking[:MAX_SUMMARY_FIXES]]
    if len(tenant.blocking) > MAX_SUMMARY_FIXES:
        named.append(f"and {len(tenant.blocking) - MAX_SUMMARY_FIXES} more")
    if named:
        parts.append(", ".join(named))
    return "; ".join(parts)


def _waiver_text(waiver: Waiver) -> str:
    return f"until {waiver.expires.isoformat()}, approved by {waiver.approved_by}: {waiver.reason}"


def _capped(items: Sequence[T], line: Callable[[T], str], what: str) -> Iterator[str]:
    for item in items[:MAX_SUMMARY_TENANTS]:
        yield line(item)
    if len(items) > MAX_SUMMARY_TENANTS:
        yield f"  ... and {len(items) - MAX_SUMMARY_TENANTS} more {what} (--junit and --sarif reports list every one)"


def _label(tenant: TenantGate) -> str:
    t = tenant.result.tenant
    return f"{t.id} {clip(t.name)}".strip()


def _listed(items: Sequence[str], cap: int, show: Callable[[str], str] = str) -> str:
    listed = ", ".join(map(show, items[:cap]))
    return listed + (f" and {len(items) - cap} more" if len(items) > cap else "")


def _s(n: int) -> str:
    return "" if n == 1 else "s"
