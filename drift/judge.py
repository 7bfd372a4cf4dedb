"""Judging every fix on every tenant of a large fleet without repeating work.

A finding depends only on the tenant's files at the fix's paths (and its config values and edition and
modules), not on which tenant it is; across a fleet most tenants share those states. `Judge` keys each
fix's finding on exactly what `drift.verdict` reads, and reuses the finding for every tenant with the
same key: the verdicts are those of `drift.verdict.judge_fix`, computed once per distinct state.

Fixes are also taken in groups: a group's findings are reused whole when the tenant's state at all of the
group's paths was seen before, so a tenant that shares its release with others costs a few dozen look-ups,
not one per fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drift.catalog.model import Fix
from drift.inventory.model import Inventory
from drift.results import NOT_APPLICABLE, Finding
from drift.tenants import Tenant
from drift.verdict import exclusion_reason, judge_fix, unreadable

GROUP_SIZE = 32
"""Fixes per group."""


class _Plan:
    """What the findings of some fixes depend on: their paths and config keys."""

    __slots__ = ("checks", "memo", "paths")

    def __init__(self, fixes: Sequence[Fix]) -> None:
        paths: dict[str, None] = {}
        checks: dict[tuple[str, str], None] = {}
        for fix in fixes:
            for variant in fix.variants:
                paths.update((e.path, None) for e in variant.files)
                paths.update((c.file, None) for c in variant.config)
                checks.update(((c.file, c.key), None) for c in variant.config)
        self.paths = tuple(paths)
        self.checks = tuple(checks)
        self.memo: dict[Any, Any] = {}

    def key(self, inventory: Inventory) -> Any:
        """Everything in the inventory that the verdicts of these fixes read."""
        key: Any = tuple(map(inventory.files.get, self.paths))
        if inventory.unreadable or inventory.links or inventory.skipped:
            key = (key, tuple(unreadable(p, inventory) for p in self.paths))
        if self.checks:
            key = (key, tuple(map(inventory.config.get, self.checks)))
        return key


class Judge:
    """Judges a fixed list of fixes on tenant after tenant, memoising findings by what they depend on."""

    def __init__(self, fixes: Sequence[Fix]) -> None:
        self.fixes = tuple(fixes)
        self._plans = [(fix, _Plan([fix])) for fix in self.fixes]
        self._groups = [
            (range(start, min(start + GROUP_SIZE, len(self.fixes))), _Plan(self.fixes[start : start + GROUP_SIZE]))
            for start in range(0, len(self.fixes), GROUP_SIZE)
        ]
        self._exclusions: dict[tuple[str | None, frozenset[str]], tuple[Finding | None, ...]] = {}

    def judge(self, tenant: Tenant, inventory: Inventory) -> tuple[Finding, ...]:
        """Every fix on one tenant, in the order given; equal to `judge_fix` fix by fix."""
        excluded = self._excluded(tenant)
        profile = (tenant.edition, tenant.modules)
        findings: list[Finding] = []
        for indexes, group in self._groups:
            key = (profile, group.key(inventory))
            found = group.memo.get(key)
            if found is None:
                found = group.memo[key] = tuple(self._one(i, excluded[i], tenant, inventory) for i in indexes)
            findings.extend(found)
        return tuple(findings)

    def _one(self, index: int, not_applicable: Finding | None, tenant: Tenant, inventory: Inventory) -> Finding:
        if not_applicable is not None:
            return not_applicable
        fix, plan = self._plans[index]
        key = plan.key(inventory)
        finding: Finding | None = plan.memo.get(key)
        if finding is None:
            finding = plan.memo[key] = judge_fix(fix, tenant, inventory)
        return finding

    def _excluded(self, tenant: Tenant) -> tuple[Finding | None, ...]:
        profile = (tenant.edition, tenant.modules)
        cached = self._exclusions.get(profile)
        if cached is None:
            cached = tuple(
                Finding(fix.id, NOT_APPLICABLE, fix.severity, None, (), reason=reason) if (reason := exclusion_reason(fix, tenant)) else None
                for fix in self.fixes
            )
            self._exclusions[profile] = cached
        return cached
