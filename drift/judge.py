"""Judging every fix on every tenant of a large fleet without repeating work.

A finding depends only on the tenant's files at the fix's paths (and its config values and edition and
modules), not on which tenant it is; across a fleet most tenants share those states. `Judge` keys each
fix's finding on exactly what `drift.verdict` reads, and reuses the finding for every tenant with the
same key: the verdicts are those of `drift.verdict.judge_fix`, computed once per distinct state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drift.catalog.model import Fix
from drift.inventory.model import Inventory
from drift.results import NOT_APPLICABLE, Finding
from drift.tenants import Tenant
from drift.verdict import exclusion_reason, judge_fix


class Judge:
    """Judges a fixed list of fixes on tenant after tenant, memoising findings by what they depend on."""

    def __init__(self, fixes: Sequence[Fix]) -> None:
        self.fixes = tuple(fixes)
        self._plans: list[tuple[Fix, tuple[str, ...], tuple[tuple[str, str], ...], dict[Any, Finding]]] = []
        for fix in self.fixes:
            paths: dict[str, None] = {}
            checks: dict[tuple[str, str], None] = {}
            for variant in fix.variants:
                paths.update((e.path, None) for e in variant.files)
                paths.update((c.file, None) for c in variant.config)
                checks.update(((c.file, c.key), None) for c in variant.config)
            self._plans.append((fix, tuple(paths), tuple(checks), {}))
        self._exclusions: dict[tuple[str | None, frozenset[str]], tuple[Finding | None, ...]] = {}

    def judge(self, tenant: Tenant, inventory: Inventory) -> tuple[Finding, ...]:
        """Every fix on one tenant, in the order given; equal to `judge_fix` fix by fix."""
        excluded = self._excluded(tenant)
        files, unreadable, config = inventory.files, inventory.unreadable, inventory.config
        findings: list[Finding] = []
        for (fix, paths, checks, memo), not_applicable in zip(self._plans, excluded, strict=True):
            if not_applicable is not None:
                findings.append(not_applicable)
                continue
            key: Any = tuple(map(files.get, paths))
            if unreadable:
                key = (key, tuple(p in unreadable for p in paths))
            if checks:
                key = (key, tuple(map(config.get, checks)))
            finding = memo.get(key)
            if finding is None:
                finding = memo[key] = judge_fix(fix, tenant, inventory)
            findings.append(finding)
        return tuple(findings)

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
