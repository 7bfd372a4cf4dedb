"""Judging every fix on every tenant of a large fleet without repeating work.

A finding depends only on the tenant's files at the fix's paths (and its config values and edition and
modules), not on which tenant it is; across a fleet most tenants share those states. `Judge` keys each
fix's finding on exactly what `drift.verdict` reads, and reuses the finding for every tenant with the
same key: the verdicts are those of `drift.verdict.judge_fix`, computed once per distinct state.

Fixes are also taken in groups: a group's findings are reused whole when the tenant's state at all of the
group's paths was seen before, so a tenant that shares its release with others costs a few dozen look-ups,
not one per fix. Given the tenant's nearest release (`drift.filedrift.Nearest`), a group none of whose paths
differ from that release is keyed on the release alone, without looking at its paths at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import chain, compress
from operator import add, attrgetter, ne, or_
from typing import Any, NamedTuple, cast

from drift.catalog.model import Fix
from drift.filedrift import Nearest
from drift.inventory.filetable import FileTable
from drift.inventory.model import Inventory
from drift.results import NOT_APPLICABLE, STATUSES, Finding
from drift.tenants import Tenant
from drift.verdict import NO_CONTEXT, Context, exclusion_reason, judge_fix, unseen

GROUP_SIZE = 32
"""Fixes per group."""

class Judged(NamedTuple):
    """Every fix judged on one tenant."""

    findings: tuple[Finding, ...]
    """In the order of the fixes."""
    counts: dict[str, int]
    """Findings per status, as `count_statuses` counts them."""
    runs: tuple[tuple[Finding, ...], ...]
    """`findings` in consecutive runs that other tenants share (see `TenantResult.runs`)."""


_Entry = tuple[tuple[Finding, ...], tuple[int, ...]]
"""A group's findings, and how many of them have each of `STATUSES`."""
_STATUS = attrgetter("status")
_State = tuple[tuple[str | None, ...], tuple[str | None, ...]]
"""sha256s and content hashes at a plan's paths."""


class _Plan:
    """What the findings of some fixes depend on: their paths and config keys."""

    __slots__ = ("checks", "fixes_at", "memo", "paths", "seen")

    def __init__(self, fixes: Sequence[Fix]) -> None:
        paths: dict[str, list[int]] = {}  # path -> offsets of the fixes that read it
        checks: dict[tuple[str, str], None] = {}
        for offset, fix in enumerate(fixes):
            for variant in fix.variants:
                for path in [*(e.path for e in variant.files), *(c.file for c in variant.config)]:
                    readers = paths.setdefault(path, [])
                    if offset not in readers:
                        readers.append(offset)
                checks.update(((c.file, c.key), None) for c in variant.config)
        self.paths = tuple(paths)
        self.fixes_at = tuple(tuple(readers) for readers in paths.values())
        self.checks = tuple(checks)
        self.memo: dict[Any, Any] = {}
        self.seen: dict[Any, dict[int | None, tuple[_State, tuple[Finding, ...]]]] = {}
        """(profile, extra) -> release -> the state and findings of a tenant with that release's files at
        these paths (release None: the last tenant judged without a nearest release); see `Judge._entry`."""

    def state(self, files: FileTable) -> _State:
        """Each path's sha256 and content hash (None where absent)."""
        return tuple(map(files.sha256.get, self.paths)), tuple(map(files.content_sha256.get, self.paths))

    def extra(self, inventory: Inventory) -> Any:
        """The rest of what the verdicts read: what could not be read at each path, and config values."""
        extra: Any = ()
        if inventory.unseen:
            extra = tuple(unseen(p, inventory) for p in self.paths)
        if not inventory.proves_absence:  # a listing: an absence that would prove a fix proves nothing
            extra = (extra, "listing")
        if self.checks:
            extra = (extra, tuple(map(inventory.config.get, self.checks)))
        return extra

    def key(self, inventory: Inventory, files: FileTable, context: Context) -> Any:
        """Everything in the inventory (whose files are `files`) and the context that the verdicts of these
        fixes read."""
        state = self.state(files)
        return state, self.extra(inventory), context.key(self.paths, state[0])


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
        self._groups_of: dict[str, list[int]] = {}
        for number, (_, group) in enumerate(self._groups):
            for path in group.paths:
                self._groups_of.setdefault(path, []).append(number)

    def judge(self, tenant: Tenant, inventory: Inventory, nearest: Nearest | None = None, context: Context = NO_CONTEXT) -> tuple[Finding, ...]:
        """Every fix on one tenant, in the order given; equal to `judge_fix` fix by fix.

        `nearest` must be `ReleaseIndex.nearest(inventory.files)` of the catalog the fixes come from."""
        return self.judge_counted(tenant, inventory, nearest, context).findings

    def judge_counted(self, tenant: Tenant, inventory: Inventory, nearest: Nearest | None = None, context: Context = NO_CONTEXT) -> Judged:
        """`judge`, with the findings per status and the shared runs they come in."""
        excluded = self._excluded(tenant)
        profile = (tenant.edition, tenant.modules)
        files = FileTable.of(inventory.files)
        as_release: set[int] = set()
        if nearest is not None and not inventory.unseen:
            as_release.update(range(len(self._groups)))
            for path in nearest.differing:
                as_release.difference_update(self._groups_of.get(path, ()))
        runs: list[tuple[Finding, ...]] = []
        counts = [0] * len(STATUSES)
        near = None if nearest is None else nearest.release
        for number, (indexes, group) in enumerate(self._groups):
            entry: _Entry | None
            if number in as_release:
                # Every path of the group as in the release (`nearest` says so): only config values, the
                # context (which release's paths it expects, stale copies, names in another case) and whether
                # the inventory can show an absence can differ.
                copies = tuple(map(context.copies.get, group.paths)) if context.copies else ()
                twins = tuple(map(context.twins.get, group.paths)) if context.twins else ()
                release_key = (
                    profile, "release", near, context.release, copies, twins, inventory.proves_absence,
                    tuple(map(inventory.config.get, group.checks)),
                )
                entry = group.memo.get(release_key)
                if entry is None:  # maybe another release with the same files at these paths
                    entry = group.memo[release_key] = self._entry(group, indexes, excluded, tenant, inventory, files, context, near, exact=True)
            else:
                entry = self._entry(group, indexes, excluded, tenant, inventory, files, context, near, exact=False)
            runs.append(entry[0])
            counts = list(map(add, counts, entry[1]))
        return Judged(tuple(chain.from_iterable(runs)), dict(zip(STATUSES, counts, strict=True)), tuple(runs))

    def _entry(
        self,
        group: _Plan,
        indexes: range,
        excluded: tuple[Finding | None, ...],
        tenant: Tenant,
        inventory: Inventory,
        files: FileTable,
        context: Context,
        near: int | None,
        *,
        exact: bool,
    ) -> _Entry:
        """The group's findings and their counts per status, memoised by the tenant's state at its paths.

        A state not seen before is judged from one seen before with the same profile and extras, that of
        the release nearest `near` (the tenant's nearest release; with `exact`, the tenant's files at the
        group's paths are that release's): only the fixes that read a path whose hashes differ between the
        two are judged again, each through its own memo."""
        profile = (tenant.edition, tenant.modules)
        state, extra = group.state(files), group.extra(inventory)
        around = context.key(group.paths, state[0])
        key = (profile, state, extra, around)
        seen = group.seen.setdefault((profile, extra, around), {})
        entry: _Entry | None = group.memo.get(key)
        if entry is None:
            base = _closest(seen, near)
            if base is None:
                found = tuple(self._one(i, excluded[i], tenant, inventory, files, context) for i in indexes)
            else:
                (shas, contents), base_found = base
                changed = compress(range(len(shas)), map(or_, map(ne, state[0], shas), map(ne, state[1], contents)))
                again = sorted({offset for position in changed for offset in group.fixes_at[position]})
                refound = list(base_found)
                for offset in again:
                    refound[offset] = self._one(indexes[offset], excluded[indexes[offset]], tenant, inventory, files, context)
                found = tuple(refound)
            statuses = Counter(map(_STATUS, found))
            entry = group.memo[key] = (found, tuple(statuses.get(s, 0) for s in STATUSES))
        if exact or near is None:
            seen[near] = (state, entry[0])
        return entry

    def _one(self, index: int, not_applicable: Finding | None, tenant: Tenant, inventory: Inventory, files: FileTable, context: Context) -> Finding:
        if not_applicable is not None:
            return not_applicable
        fix, plan = self._plans[index]
        key = plan.key(inventory, files, context)
        finding: Finding | None = plan.memo.get(key)
        if finding is None:
            finding = plan.memo[key] = judge_fix(fix, tenant, inventory, context)
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


def _closest(seen: dict[int | None, tuple[_State, tuple[Finding, ...]]], near: int | None) -> tuple[_State, tuple[Finding, ...]] | None:
    """The entry of `seen` whose release is nearest `near` (releases of a line are consecutive in the catalog)."""
    if not seen:
        return None
    if near is None or None in seen:
        return seen.get(near) or next(reversed(seen.values()))
    for step in (0, -1, 1, -2, 2):
        found = seen.get(near + step)
        if found is not None:
            return found
    return seen[min(seen, key=lambda release: abs(cast(int, release) - near))]
