"""The data of the HTML report: one gated scan as a compact JSON document the page embeds once.

A fleet of 1,741 tenants × 300 fixes is half a million cells, but few distinct findings (tenants on the
same release share them, see `drift.judge`). So the page gets:
- `findings`: each distinct finding once, `[fix, status, variant, reason, evidence]`, its evidence entries
  `[path, state, found, expected, found_at, note]` with `expected` an index into `expected` (the same token
  lists recur for every finding of a variant), `found_at` where a stale copy was found (or null) and `note`
  why the state is what it is ("" when the state says it all);
- per tenant, `cells`: one index into `findings` per fix, in the order of `fixes` (-1: not judged);
- `waivers`: the (tenant, fix) cells a waiver in force turns `waived`, and expired waivers, marked;
- `changes`: the cells whose status changed since the run before, `[tenant, fix, kind, status before]`.
Statuses are codes: indexes into `statuses`. Tenants come worst first, fixes most severe first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drift.catalog.model import SEVERITIES, severity_rank
from drift.gate import GateResult, TenantGate
from drift.history import CHANGES
from drift.policy import Waiver
from drift.report.headline import Headline, Since, headline
from drift.report.words import WAIVED, language, page_words, policy_text
from drift.results import APPLIED, MISSING, NOT_APPLICABLE, PARTIAL, UNVERIFIABLE, Evidence, Finding, PerFinding
from drift.scan import NO_INVENTORY
from drift.store import Run

FORMAT = "drift-report/1"
STATUS_ORDER = (MISSING, PARTIAL, UNVERIFIABLE, WAIVED, APPLIED, NOT_APPLICABLE)
"""Cell statuses, worst first: a status's code in the page is its index here."""
_CODE = {status: code for code, status in enumerate(STATUS_ORDER)}
_LACKING = (MISSING, PARTIAL, UNVERIFIABLE)


@dataclass(frozen=True, slots=True)
class Report:
    """One report page's content, before it is written as HTML."""

    lang: str
    """`en` or `ja`."""
    words: Mapping[str, str]
    """Every word the page shows (`drift.report.words.page_words`)."""
    headline: Headline
    """The summary numbers."""
    gate: GateResult
    """The scan, gated under the policy (waivers applied)."""
    run: Run | None
    """The run reported, when it came from the store."""
    narrowed: tuple[str, ...] | None
    """The fixes a scan narrowed with `--fix` judged; None for a whole scan."""
    data: Mapping[str, Any]
    """The JSON document the page embeds (see the module docstring)."""


def build_report(
    gate: GateResult, *, lang: str = "en", titles: Mapping[str, str] | None = None, since: Since | None = None,
    run: Run | None = None,
) -> Report:
    """The report of a gated scan: `titles` maps fix ids to titles (from the catalog the scan judged), `since`
    holds the changes since the run before, `run` the run reported."""
    titles = titles or {}
    since = since or Since(None, None)
    words = page_words(lang)
    reason = language(lang).reason
    tables = _Tables(reason)
    rows = [tables.indexes(t.result.findings) for t in gate.tenants]
    fixes = tables.fix_order()
    fix_index = {fix: i for i, fix in enumerate(fixes)}
    tenant_order = sorted(range(len(gate.tenants)), key=lambda i: _worst(gate.tenants[i]))
    tenant_index = {gate.tenants[i].id: n for n, i in enumerate(tenant_order)}
    tenants = [_tenant(gate.tenants[i], rows[i], tables, fix_index) for i in tenant_order]
    severities = tables.severities
    head = headline(gate, fixes, severities, titles, since)
    data: dict[str, Any] = {
        "format": FORMAT,
        "lang": lang,
        "words": words,
        "scan": _scan(gate, run, words),
        "statuses": list(STATUS_ORDER),
        "severities": list(SEVERITIES),
        "kinds": list(CHANGES),
        "fixes": [{"id": fix, "title": titles.get(fix, ""), "sev": _severity_code(severities[fix])} for fix in fixes],
        "findings": tables.findings_json(fix_index),
        "expected": tables.expected,
        "tenants": tenants,
        "waivers": _waivers(gate, tenant_index, fix_index),
        "changes": _changes(since, tenant_index, fix_index),
        "headline": {
            "tenants": head.tenants, "fixes": head.fixes, "blocking": head.blocking_tenants, "waived": head.waived,
            "no_inventory": head.no_inventory,
        },
    }
    return Report(lang, words, head, gate, run, run.fixes if run else None, data)


class _Tables:
    """The distinct findings of a scan, numbered as first seen, and the distinct `expected` lists."""

    def __init__(self, reason: Callable[[str], str]) -> None:
        self.reason = reason
        self.findings: list[Finding] = []
        self.expected: list[list[str]] = []
        self._expected_index: dict[tuple[str, ...], int] = {}
        self._index: PerFinding[int] = PerFinding(self._add)
        self.severities: dict[str, str] = {}
        self.lacking: Counter[str] = Counter()

    def _add(self, finding: Finding) -> int:
        self.findings.append(finding)
        self.severities.setdefault(finding.fix, finding.severity)
        return len(self.findings) - 1

    def indexes(self, findings: tuple[Finding, ...]) -> list[int]:
        """Each finding's number, in order; counts the tenants lacking each fix."""
        numbers = self._index.values(findings)
        for number in numbers:
            finding = self.findings[number]
            if finding.status in _LACKING:
                self.lacking[finding.fix] += 1
        return numbers

    def fix_order(self) -> list[str]:
        """Every fix judged: most severe first, then lacking at the most tenants, then by id."""
        return sorted(self.severities, key=lambda fix: (_rank(self.severities[fix]), -self.lacking[fix], fix))

    def findings_json(self, fix_index: Mapping[str, int]) -> list[list[Any]]:
        return [
            [fix_index[f.fix], _CODE.get(f.status, _CODE[UNVERIFIABLE]), f.variant, self.reason(f.reason) if f.reason else "",
             [self._evidence(e) for e in f.evidence]]
            for f in self.findings
        ]

    def _evidence(self, entry: Evidence) -> list[Any]:
        index = self._expected_index.get(entry.expected)
        if index is None:
            index = self._expected_index[entry.expected] = len(self.expected)
            self.expected.append(list(entry.expected))
        return [entry.path, entry.state, entry.found, index, entry.found_at, entry.note]


def _rank(severity: str) -> int:
    return severity_rank(severity) if severity in SEVERITIES else len(SEVERITIES)


def _severity_code(severity: str) -> int:
    return _rank(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


def _worst(tenant: TenantGate) -> tuple[int, int, str]:
    """Most blocking findings (and reasons) first, then most missing, partial and unverifiable, then by id."""
    counts = tenant.result.counts
    return (-len(tenant.blocking) - len(tenant.reasons), -sum(counts.get(s, 0) for s in _LACKING), tenant.id)


def _tenant(tenant: TenantGate, numbers: list[int], tables: _Tables, fix_index: Mapping[str, int]) -> dict[str, Any]:
    result = tenant.result
    t = result.tenant
    cells = [-1] * len(fix_index)
    for number in numbers:
        cells[fix_index[tables.findings[number].fix]] = number
    drift = result.drift
    return {
        "id": t.id, "name": t.name, "pref": t.prefecture, "ed": t.edition or "", "line": t.line or "",
        "modules": sorted(t.modules),
        "inv": "" if result.inventory_digest == NO_INVENTORY else result.inventory_digest,
        "at": result.collected_at or "",
        "sig": result.signature,
        "block": len(tenant.blocking) + len(tenant.reasons),
        "reasons": [tables.reason(r) for r in tenant.reasons],
        "cells": cells,
        "unc": list(drift.uncatalogued),
        "mod": list(drift.modified),
        "rel": [[version, count] for version, count in drift.releases.items()],
    }


def _scan(gate: GateResult, run: Run | None, words: Mapping[str, str]) -> dict[str, Any]:
    scan = gate.scan
    return {
        "id": scan.id, "created_at": scan.created_at, "catalog_digest": scan.catalog_digest,
        "ran_at": run.ran_at if run else scan.created_at,
        "policy": policy_text(words, gate.policy), "policy_source": gate.policy.source or words["defaults"],
        "today": gate.today.isoformat(),
        "narrowed": len(run.fixes) if run and run.fixes is not None else None,
    }


def _waivers(gate: GateResult, tenants: Mapping[str, int], fixes: Mapping[str, int]) -> list[dict[str, Any]]:
    """The waivers in force on a cell, then the expired ones whose cell is in the scan."""
    found = [_waiver(w.waiver, tenants[t.id], fixes[w.finding.fix], False) for t, w in gate.waived]
    found.extend(
        _waiver(w, tenants[w.tenant], fixes[w.fix], True) for w in gate.expired if w.tenant in tenants and w.fix in fixes
    )
    return found


def _waiver(waiver: Waiver, tenant: int, fix: int, expired: bool) -> dict[str, Any]:
    return {
        "t": tenant, "f": fix, "reason": waiver.reason, "by": waiver.approved_by, "until": waiver.expires.isoformat(),
        "where": waiver.where, "expired": expired,
    }


def _changes(since: Since, tenants: Mapping[str, int], fixes: Mapping[str, int]) -> list[list[Any]]:
    if since.diff is None:
        return []
    return [
        [tenants[t.tenant], fixes[c.fix], CHANGES.index(c.change), c.before]
        for t in since.diff.tenants
        if t.tenant in tenants
        for c in t.changes
        if c.fix in fixes
    ]
