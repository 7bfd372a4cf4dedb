"""The gate (SPEC 7): a policy file, its waivers, and the decision whether anything blocks.

`decide` takes a scan (just run, or loaded from the store), a policy and today's date, and returns a
`GateResult`; it never prints. The gate fails closed: a tenant with no inventory blocks whatever the
policy says, and so does a scan that judged no tenant or no fix. Inputs that cannot be read (a catalog,
an inventory whose digest does not verify, a policy file) raise `InputError` before anything is decided.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drift.catalog.model import SEVERITIES
from drift.errors import InputError
from drift.policy import (
    BLOCKABLE,
    DEFAULT_BLOCKING,
    DEFAULT_MIN_SEVERITY,
    DEFAULT_UNCATALOGUED,
    UNCATALOGUED_BLOCK,
    UNCATALOGUED_CHOICES,
    UNCATALOGUED_WARN,
    Policy,
    Waiver,
)
from drift.results import Finding, Scan, TenantResult
from drift.scan import NO_INVENTORY
from drift.tenants import check_tenant_id
from drift.text import shown
from drift.yamlio import load_yaml

POLICY_FILE = "drift-policy.yaml"
"""The policy file the gate reads from the current folder when present."""
POLICY_FORMAT = "drift-policy/1"
EXPIRY_WARNING_DAYS = 14
"""A waiver that expires within this many days is warned about."""

_POLICY_KEYS = ("format", "fail_on", "min_severity", "uncatalogued", "waivers")
_WAIVER_KEYS = ("tenant", "fix", "reason", "approved_by", "expires")

NO_INVENTORY_REASON = "no inventory for this tenant"


# Loading


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file; every error names the file and the field (exit 2)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such policy file", source=path)
    return policy_from_dict(load_yaml(path), path)


def policy_from_dict(doc: Any, source: str | Path) -> Policy:
    """A policy from a parsed policy file: unknown keys, missing waiver fields and bad dates are refused.

    An empty file is the default policy.
    """
    if doc is None:
        return Policy(source=str(source))
    if not isinstance(doc, dict):
        raise InputError(f"must be a mapping, not {type(doc).__name__}", source=source)
    for key in doc:
        if key not in _POLICY_KEYS:
            raise InputError(f"unknown key (known: {', '.join(_POLICY_KEYS)})", source=source, where=str(key))
    if "format" in doc and doc["format"] != POLICY_FORMAT:
        raise InputError(f"unknown format {shown(doc['format'])}, expected {shown(POLICY_FORMAT)}", source=source, where="format")
    statuses = DEFAULT_BLOCKING
    if "fail_on" in doc:
        raw = doc["fail_on"]
        if not isinstance(raw, list):
            raise InputError("must be a list of statuses", source=source, where="fail_on")
        statuses = check_statuses(raw, source=source, where="fail_on")
    min_severity = check_severity(doc.get("min_severity", DEFAULT_MIN_SEVERITY), source=source, where="min_severity")
    uncatalogued = check_uncatalogued(doc.get("uncatalogued", DEFAULT_UNCATALOGUED), source=source, where="uncatalogued")
    waivers = _waivers(doc.get("waivers", []), source)
    return Policy(statuses, min_severity, uncatalogued, waivers, str(source))


def check_statuses(values: Collection[Any], *, source: str | Path | None = None, where: str) -> frozenset[str]:
    """The blocking statuses named; each must be one of `missing`, `partial`, `unverifiable`, at least one."""
    chosen: set[str] = set()
    for i, value in enumerate(values):
        if value not in BLOCKABLE:
            raise InputError(f"{shown(value)} cannot block (choose from {', '.join(BLOCKABLE)})", source=source, where=f"{where}[{i}]" if source else where)
        chosen.add(value)
    if not chosen:
        raise InputError(f"name at least one status ({', '.join(BLOCKABLE)})", source=source, where=where)
    return frozenset(chosen)


def check_severity(value: Any, *, source: str | Path | None = None, where: str) -> str:
    """A severity name: `critical`, `high`, `medium` or `low`."""
    if value not in SEVERITIES:
        raise InputError(f"{shown(value)} is not a severity (choose from {', '.join(SEVERITIES)})", source=source, where=where)
    return str(value)


def check_uncatalogued(value: Any, *, source: str | Path | None = None, where: str) -> str:
    """What uncatalogued files do: `block`, `warn` or `ignore`."""
    if value not in UNCATALOGUED_CHOICES:
        raise InputError(f"{shown(value)} is not one of {', '.join(UNCATALOGUED_CHOICES)}", source=source, where=where)
    return str(value)


def _waivers(raw: Any, source: str | Path) -> tuple[Waiver, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError("must be a list of waivers", source=source, where="waivers")
    waivers: list[Waiver] = []
    seen: dict[tuple[str, str], str] = {}
    for i, item in enumerate(raw):
        waiver = _waiver(item, source, f"waivers[{i}]")
        key = (waiver.tenant, waiver.fix)
        if key in seen:
            raise InputError(f"tenant {waiver.tenant} fix {waiver.fix} is waived twice, also at {seen[key]}: keep one", source=source, where=waiver.where)
        seen[key] = waiver.where
        waivers.append(waiver)
    return tuple(waivers)


def _waiver(raw: Any, source: str | Path, where: str) -> Waiver:
    if not isinstance(raw, dict):
        raise InputError(f"must be a mapping of {', '.join(_WAIVER_KEYS)}", source=source, where=where)
    for key in raw:
        if key not in _WAIVER_KEYS:
            raise InputError(f"unknown key (a waiver has {', '.join(_WAIVER_KEYS)})", source=source, where=f"{where}.{key}")
    for key in _WAIVER_KEYS:
        if key not in raw:
            raise InputError("required field is missing: a waiver needs every field", source=source, where=f"{where}.{key}")
    tenant = check_tenant_id(raw["tenant"], source=source, where=f"{where}.tenant")
    fix, reason, approved_by = (_text(raw[key], source, f"{where}.{key}") for key in ("fix", "reason", "approved_by"))
    return Waiver(tenant, fix, reason, approved_by, _date(raw["expires"], source, f"{where}.expires"), where)


def _text(value: Any, source: str | Path, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"must be a non-empty string, not {shown(value)}", source=source, where=where)
    return value.strip()


def _date(value: Any, source: str | Path, where: str) -> dt.date:
    # A YAML timestamp with a time of day is refused: a waiver runs through whole days.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"must be a date (YYYY-MM-DD), not {shown(value)}", source=source, where=where)


# Deciding


@dataclass(frozen=True, slots=True)
class Waived:
    """A blocking finding that a waiver lets pass."""

    finding: Finding
    """The finding, as the scan has it."""
    waiver: Waiver
    """The waiver that applies to it."""


@dataclass(frozen=True, slots=True)
class TenantGate:
    """One tenant at the gate."""

    result: TenantResult
    """The tenant's scan result: every finding, waived or not."""
    blocking: tuple[Finding, ...]
    """Findings that block: the policy's statuses and severities, no waiver in force."""
    waived: tuple[Waived, ...]
    """Findings that would block but pass under a waiver."""
    reasons: tuple[str, ...]
    """Why the tenant blocks beside its findings: no inventory, uncatalogued files under `block`."""
    uncatalogued: tuple[str, ...]
    """The tenant's uncatalogued files, unless the policy ignores them."""

    @property
    def blocks(self) -> bool:
        """True when the tenant stops the gate."""
        return bool(self.blocking or self.reasons)

    @property
    def has_inventory(self) -> bool:
        """False when the registry names the tenant but no inventory was found for it."""
        return self.result.inventory_digest != NO_INVENTORY

    @property
    def id(self) -> str:
        """The tenant id."""
        return self.result.tenant.id


@dataclass(frozen=True, slots=True)
class GateResult:
    """What the gate decided, with everything a report needs."""

    scan: Scan
    """The scan judged (narrowed to the gated tenants)."""
    policy: Policy
    """The policy applied."""
    today: dt.date
    """The day waivers were judged against."""
    tenants: tuple[TenantGate, ...]
    """Every gated tenant, in id order."""
    problems: tuple[str, ...]
    """Why the whole gate blocks beside any tenant (a scan that judged no tenant or no fix)."""
    expired: tuple[Waiver, ...]
    """Waivers past their expiry: they no longer apply."""
    expiring: tuple[Waiver, ...]
    """Waivers in use that expire within `EXPIRY_WARNING_DAYS` days."""
    unmatched: tuple[Waiver, ...]
    """Waivers in force that match no blocking finding: no longer needed, or mistyped."""
    passed: bool
    """True when nothing blocks."""

    @property
    def blocking_tenants(self) -> tuple[TenantGate, ...]:
        """The tenants that block, in id order."""
        return tuple(t for t in self.tenants if t.blocks)

    @property
    def waived(self) -> tuple[tuple[TenantGate, Waived], ...]:
        """Every waived finding with its tenant."""
        return tuple((t, w) for t in self.tenants for w in t.waived)

    def expired_waiver(self, tenant: str, fix: str) -> Waiver | None:
        """The expired waiver of this tenant and fix, if there is one (its finding blocks again)."""
        return next((w for w in self.expired if w.tenant == tenant and w.fix == fix), None)


def decide(scan: Scan, policy: Policy, today: dt.date, *, tenants: Collection[str] = ()) -> GateResult:
    """Apply `policy` to `scan` on `today`: which tenants block, which findings are waived, which waivers lapse.

    With `tenants`, only those tenants of the scan are gated, and waivers of other tenants are left
    aside (neither applied nor reported); an id the scan does not hold is a usage error.
    """
    scan = _narrowed(scan, tenants)
    gated = {r.tenant.id for r in scan.tenants}
    in_scope = [w for w in policy.waivers if not tenants or w.tenant in gated]
    in_force: Mapping[tuple[str, str], Waiver] = {(w.tenant, w.fix): w for w in in_scope if w.applies_on(today)}
    used: set[tuple[str, str]] = set()
    verdicts: dict[int, bool] = {}  # findings are shared between tenants: judge each object once

    gates = []
    for result in scan.tenants:
        tid = result.tenant.id
        blocking: list[Finding] = []
        waived: list[Waived] = []
        for finding in result.findings:
            blocks = verdicts.get(id(finding))
            if blocks is None:
                blocks = verdicts[id(finding)] = policy.blocks(finding)
            if not blocks:
                continue
            waiver = in_force.get((tid, finding.fix))
            if waiver is None:
                blocking.append(finding)
            else:
                waived.append(Waived(finding, waiver))
                used.add((tid, finding.fix))
        gates.append(_tenant_gate(result, policy, tuple(blocking), tuple(waived)))

    horizon = today + dt.timedelta(days=EXPIRY_WARNING_DAYS)
    problems = []
    if not scan.tenants:
        problems.append("the scan judged no tenant: nothing was checked")
    elif not any(sum(r.counts.values()) for r in scan.tenants):
        problems.append("the scan judged no fix: the catalog has none")
    return GateResult(
        scan=scan,
        policy=policy,
        today=today,
        tenants=tuple(gates),
        problems=tuple(problems),
        expired=tuple(w for w in in_scope if not w.applies_on(today)),
        expiring=tuple(w for w in in_scope if (w.tenant, w.fix) in used and w.expires <= horizon),
        unmatched=tuple(w for w in in_force.values() if (w.tenant, w.fix) not in used),
        passed=not problems and not any(g.blocks for g in gates),
    )


def _tenant_gate(result: TenantResult, policy: Policy, blocking: tuple[Finding, ...], waived: tuple[Waived, ...]) -> TenantGate:
    reasons = []
    if result.inventory_digest == NO_INVENTORY:
        reasons.append(NO_INVENTORY_REASON)
    uncatalogued = result.drift.uncatalogued if policy.uncatalogued in (UNCATALOGUED_BLOCK, UNCATALOGUED_WARN) else ()
    if uncatalogued and policy.uncatalogued == UNCATALOGUED_BLOCK:
        count = len(uncatalogued)
        reasons.append(f"{count} uncatalogued file{'s' if count != 1 else ''} (no fix review covers {'them' if count != 1 else 'it'})")
    return TenantGate(result, blocking, waived, tuple(reasons), uncatalogued)


def _narrowed(scan: Scan, tenants: Collection[str]) -> Scan:
    if not tenants:
        return scan
    held = {r.tenant.id for r in scan.tenants}
    for tid in tenants:
        if tid not in held:
            raise InputError(f"no tenant {shown(tid)} in scan {scan.id}", where="--tenant")
    return replace(scan, tenants=tuple(r for r in scan.tenants if r.tenant.id in tenants))
