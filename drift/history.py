"""History and diff of stored scans (SPEC 5 `regressed`, SPEC 6 `drift history`, `drift diff`).

Both read the results database only, never print, and return frozen result objects that
`drift.formats.history` renders.

Words:
- a **run** is one completed `drift scan` (see `drift.store`): the same inputs scanned twice are one
  stored scan and two runs, so a fleet that goes A → B → A reads A, B, A;
- a **change** of a (tenant, fix) between two runs is, by precedence:
  - `regressed`: it was `applied` and now is not (SPEC 5; whatever the new status, `not-applicable`
    included: the row shows it, so a module taken out reads differently from a lost fix);
  - `newly-applied`: it is `applied` and was not;
  - `newly-blocking`: it blocks now and did not (a fix or tenant judged for the first time counts as not
    blocking before);
  - `unblocked`: it blocked and does not now, without being applied (e.g. now `not-applicable`);
  - `changed`: any other change of status (e.g. `missing` → `partial`: both block).
  Blocking is the policy's status and severity rule (default: `missing`, `partial`, `unverifiable` at
  `high` or above), before any waiver.
- A (tenant, fix) that a run did not judge (a scan narrowed by `--tenant` or `--fix`, a tenant added to
  the registry later) has no status in that run: it is skipped, never read as a change.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from drift.errors import InputError
from drift.policy import Policy
from drift.results import APPLIED, MISSING, PARTIAL, UNVERIFIABLE, Finding
from drift.store import Run, Store, TenantVerdicts, VerdictMeta
from drift.text import shown

REGRESSED = "regressed"
NEWLY_APPLIED = "newly-applied"
NEWLY_BLOCKING = "newly-blocking"
UNBLOCKED = "unblocked"
CHANGED = "changed"
CHANGES = (REGRESSED, NEWLY_APPLIED, NEWLY_BLOCKING, UNBLOCKED, CHANGED)
"""Kinds of change between two runs, in the order summaries count them."""
FIRST = "first"
"""In a history: the first run that judged the (tenant, fix)."""
UNCHANGED = ""
"""In a history listing every run: the status is the one of the run before."""
BLOCKABLE = (MISSING, PARTIAL, UNVERIFIABLE)
"""The statuses a policy can make block, as history counts them."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run, with its blocking findings counted."""

    run: Run
    """The run and its scan."""
    blocked_tenants: int
    """Tenants with at least one blocking finding."""
    blocking: Mapping[str, int]
    """Blocking findings per status, every blockable status present (zero when none)."""

    @property
    def blocking_total(self) -> int:
        """Every blocking finding of the run."""
        return sum(self.blocking.values())


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The status of one (tenant, fix) in one run of a history."""

    ran_at: str
    scan: str
    tenant: str
    name: str
    """The tenant's name in that run."""
    fix: str
    severity: str
    status: str
    before: str | None
    """The status in the run before that judged the pair; None for the first."""
    change: str
    """One of `CHANGES`, `FIRST`, or `UNCHANGED` (only when every run is listed)."""


@dataclass(frozen=True, slots=True)
class History:
    """Every run, and for the tenants and fixes asked about, how their statuses moved."""

    runs: tuple[RunSummary, ...]
    """Oldest first."""
    tenants: tuple[str, ...]
    """The tenants asked about (none: every tenant, when fixes were asked about)."""
    fixes: tuple[str, ...]
    """The fixes asked about (none: every fix, when tenants were asked about)."""
    every_run: bool
    """True when `changes` lists every run that judged a pair, not only those where its status changed."""
    changes: tuple[StatusChange, ...]
    """Sorted by tenant, fix, then run; empty when neither tenants nor fixes were asked about."""
    policy: Policy
    """What counts as blocking."""

    @property
    def followed(self) -> bool:
        """True when tenants or fixes were asked about."""
        return bool(self.tenants or self.fixes)


@dataclass(frozen=True, slots=True)
class FixChange:
    """One fix of one tenant whose status changed between two runs."""

    fix: str
    severity: str
    change: str
    """One of `CHANGES`."""
    before: str | None
    """None when the fix was not judged on this tenant before (a fix new to the catalog, a new tenant)."""
    after: str


@dataclass(frozen=True, slots=True)
class TenantDiff:
    """One tenant's changes between two runs."""

    tenant: str
    name: str
    presence: str
    """`both`, `added` (only in the later run) or `removed` (only in the earlier one: no changes listed)."""
    changes: tuple[FixChange, ...]
    """Sorted by fix id."""


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed from one run to another."""

    before: Run
    after: Run
    tenants: tuple[TenantDiff, ...]
    """The tenants with a change, added or removed, sorted by id."""
    compared: int
    """Tenants judged in both runs."""
    counts: Mapping[str, int]
    """Changes per kind, every kind of `CHANGES` present."""
    policy: Policy
    """What counts as blocking."""

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(t.tenant for t in self.tenants if t.presence == "added")

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(t.tenant for t in self.tenants if t.presence == "removed")


def classify(before: str | None, before_blocks: bool, after: str, after_blocks: bool) -> str | None:
    """The kind of change from `before` to `after` (None: no change, or nothing worth reporting)."""
    if before == after:
        return None
    if before == APPLIED:
        return REGRESSED
    if before is None:
        return NEWLY_BLOCKING if after_blocks else None
    if after == APPLIED:
        return NEWLY_APPLIED
    if after_blocks and not before_blocks:
        return NEWLY_BLOCKING
    if before_blocks and not after_blocks:
        return UNBLOCKED
    return CHANGED


class _Verdicts:
    """The fix, status, severity and blocking of stored findings, each read once per key; and values computed
    once per distinct verdicts text, remembered across scans by its digest, so a tenant that did not change
    since the last scan costs a hash."""

    def __init__(self, store: Store, policy: Policy, fixes: Collection[str] = ()) -> None:
        self.store = store
        self.policy = policy
        self.fixes = frozenset(fixes)
        self._meta: dict[int, VerdictMeta] = {}
        self._blocks: dict[int, bool] = {}
        self.blocking: set[int] = set()
        """The keys read so far that block."""
        self.followed: set[int] = set()
        """The keys read so far that judge one of `fixes`."""

    def parse(self, texts: Iterable[str]) -> dict[str, tuple[int, ...]]:
        """Verdict keys per distinct verdicts text (tenants in the same state share one), their findings read."""
        parsed = {text: tuple(json.loads(text)) for text in set(texts)}
        wanted = set[int]().union(*parsed.values()) - self._meta.keys()
        if wanted:
            for key, meta in self.store.verdict_meta(wanted).items():
                self._meta[key] = meta
                blocks = self._blocks[key] = self.policy.blocks(Finding(meta.fix, meta.status, meta.severity, None))
                if blocks:
                    self.blocking.add(key)
                if meta.fix in self.fixes:
                    self.followed.add(key)
        return parsed

    def each(self, texts: Iterable[str], compute: Callable[[tuple[int, ...]], T], memo: dict[bytes, T]) -> dict[str, T]:
        """`compute(keys)` per distinct text, looked up in `memo` by the text's digest first."""
        done: dict[str, T] = {}
        todo: dict[str, bytes] = {}
        for text in set(texts):
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if digest in memo:
                done[text] = memo[digest]
            else:
                todo[text] = digest
        for text, keys in self.parse(todo).items():
            done[text] = memo[todo[text]] = compute(keys)
        return done

    def meta(self, key: int) -> VerdictMeta:
        return self._meta[key]

    def blocks(self, key: int) -> bool:
        return self._blocks[key]

    def by_fix(self, keys: Iterable[int]) -> dict[str, int]:
        return {self._meta[k].fix: k for k in keys}


def history(store: Store, *, tenants: Collection[str] = (), fixes: Collection[str] = (), every_run: bool = False,
            policy: Policy | None = None) -> History:
    """Every run with its blocking findings, and how the statuses of the tenants and fixes asked about moved.

    With `tenants`, every fix of those tenants; with `fixes`, those fixes on every tenant; with both, those
    pairs. A tenant or fix that no run judged is an input error.
    """
    policy = policy or Policy()
    with store.reading():
        runs = store.runs()
        verdicts = _Verdicts(store, policy, fixes)
        summaries = tuple(_summaries(store, runs, verdicts))
        changes: list[StatusChange] = []
        if tenants or fixes:
            changes = _timeline(store, runs, verdicts, set(tenants), set(fixes), every_run)
    return History(summaries, tuple(sorted(set(tenants))), tuple(sorted(set(fixes))), every_run, tuple(changes), policy)


def _summaries(store: Store, runs: Sequence[Run], verdicts: _Verdicts) -> Iterable[RunSummary]:
    by_scan: dict[int, tuple[int, dict[str, int]]] = {}
    memo: dict[bytes, Counter[str]] = {}

    def count(keys: tuple[int, ...]) -> Counter[str]:
        return Counter(verdicts.meta(k).status for k in verdicts.blocking.intersection(keys))

    for run in runs:
        if run.scan_key not in by_scan:
            rows = store.tenant_verdicts(run.scan_key)
            per_text = verdicts.each((row.verdicts for row in rows), count, memo)
            total: Counter[str] = Counter()
            for row in rows:
                total.update(per_text[row.verdicts])
            blocked = sum(1 for row in rows if per_text[row.verdicts])
            by_scan[run.scan_key] = (blocked, {s: total.get(s, 0) for s in BLOCKABLE})
        blocked, blocking = by_scan[run.scan_key]
        yield RunSummary(run, blocked, blocking)


def _timeline(store: Store, runs: Sequence[Run], verdicts: _Verdicts, tenants: set[str], fixes: set[str], every_run: bool) -> list[StatusChange]:
    last: dict[tuple[str, str], tuple[str, bool]] = {}
    pairs_of: dict[int, list[tuple[str, str, str, int]]] = {}
    memo: dict[bytes, tuple[tuple[str, int], ...]] = {}

    def followed(keys: tuple[int, ...]) -> tuple[tuple[str, int], ...]:
        chosen = verdicts.followed.intersection(keys) if fixes else keys  # a tenant has one finding per fix
        return tuple(sorted(verdicts.by_fix(chosen).items()))

    changes: list[StatusChange] = []
    for run in runs:
        pairs = pairs_of.get(run.scan_key)
        if pairs is None:
            rows = store.tenant_verdicts(run.scan_key, tenants or None)
            per_text = verdicts.each((row.verdicts for row in rows), followed, memo)
            pairs = pairs_of[run.scan_key] = [(row.tenant, row.name, fix, key) for row in rows for fix, key in per_text[row.verdicts]]
        for tenant, name, fix, key in pairs:
            meta = verdicts.meta(key)
            blocks = verdicts.blocks(key)
            before = last.get((tenant, fix))
            last[(tenant, fix)] = (meta.status, blocks)
            change = FIRST if before is None else classify(before[0], before[1], meta.status, blocks)
            if change is None and not every_run:
                continue
            changes.append(StatusChange(
                run.ran_at, run.scan, tenant, name, fix, meta.severity, meta.status, None if before is None else before[0], change or UNCHANGED,
            ))
    seen_tenants = {tenant for tenant, _ in last}
    seen_fixes = {fix for _, fix in last}
    for tid in sorted(tenants - seen_tenants):
        raise InputError(f"no tenant {shown(tid)} in any stored scan", source=store.path, where="--tenant")
    for fid in sorted(fixes - seen_fixes):
        raise InputError(f"no fix {shown(fid)} in any stored scan" + (" of these tenants" if tenants else ""), source=store.path, where="--fix")
    changes.sort(key=lambda c: (c.tenant, c.fix))  # stable: runs stay oldest first within a pair
    return changes


def diff(store: Store, before_ref: str = "latest~1", after_ref: str = "latest", *, policy: Policy | None = None) -> Diff:
    """Per tenant, the fixes whose status changed from the run `before_ref` names to the one `after_ref` names."""
    policy = policy or Policy()
    with store.reading():
        before = store.resolve_run(before_ref, where="SCAN_A")
        after = store.resolve_run(after_ref, where="SCAN_B")
        old = {row.tenant: row for row in store.tenant_verdicts(before.scan_key)}
        new = {row.tenant: row for row in store.tenant_verdicts(after.scan_key)}
        verdicts = _Verdicts(store, policy)
        # Equal texts are equal findings: only the tenants whose verdicts differ need reading.
        differing = [t for t in new if t not in old or old[t].verdicts != new[t].verdicts]
        parsed = verdicts.parse([new[t].verdicts for t in differing] + [old[t].verdicts for t in differing if t in old])
        results = [
            _tenant_diff(new[t], None if t not in old else parsed[old[t].verdicts], parsed[new[t].verdicts], verdicts) for t in differing
        ]
    # A run compares a tenant only with a run that judged it: a tenant that a narrowed run (a gate on one
    # tenant) did not judge is neither new to the fleet after it nor gone from it.
    if not before.whole:
        results = [r for r in results if r.tenant in old]
    if after.whole:
        results.extend(TenantDiff(t, old[t].name, "removed", ()) for t in old if t not in new)
    tenant_diffs = tuple(sorted((r for r in results if r.changes or r.presence != "both"), key=lambda r: r.tenant))
    counts = Counter(c.change for r in tenant_diffs for c in r.changes)
    return Diff(
        before, after, tenant_diffs, compared=len(old.keys() & new.keys()), counts={k: counts.get(k, 0) for k in CHANGES}, policy=policy
    )


def _tenant_diff(tenant: TenantVerdicts, old_keys: tuple[int, ...] | None, new_keys: tuple[int, ...], verdicts: _Verdicts) -> TenantDiff:
    before = {} if old_keys is None else verdicts.by_fix(old_keys)
    changes = []
    for fix, key in sorted(verdicts.by_fix(new_keys).items()):
        old_key = before.get(fix)
        if old_key == key:
            continue
        meta = verdicts.meta(key)
        old_status = None if old_key is None else verdicts.meta(old_key).status
        change = classify(old_status, old_key is not None and verdicts.blocks(old_key), meta.status, verdicts.blocks(key))
        if change is not None:
            changes.append(FixChange(fix, meta.severity, change, old_status, meta.status))
    return TenantDiff(tenant.tenant, tenant.name, "added" if old_keys is None else "both", tuple(changes))
