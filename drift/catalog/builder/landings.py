"""Landings (SPEC 3): the commits that bring one fix onto one line.

A commit on the first-parent chain of a line's releases lands there (a line forked after it inherits it: the
line of the first release that contains it is its own). A merge on that chain whose first parent holds no
commit of the fix brings the fix into the line: it is a landing there, and its files are what it changes
against its first parent. On one line, commits that lie on one chain of history form one landing, and
commits that diverge are separate landings.

A fix named by several commits on one chain (`F1` then `F2`) is whole only with all of them. A landing
that carries copies of some alone (a backport of `F1` merged on a side branch and released, `F2`
committed on the maintenance branch) is no landing of the whole fix: landings of one line that carry only
part of it are taken together, as one landing that a release carries by holding them all, and where even
together they lack a part, no release of the line is taken to carry the fix (`Landing.lacking`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drift.catalog.builder.history import History


@dataclass(frozen=True)
class Landing:
    line: str
    commits: tuple[str, ...]
    """Its commits, oldest first."""
    mask: int
    """The releases that carry it: those holding every commit, less the releases of lines with a landing of their own."""
    merge: bool = False
    """A merge that brought the fix into the line."""
    lacking: tuple[str, ...] = ()
    """The named commits of which no commit of this landing carries a copy (then `mask` is 0)."""


def landings(
    history: History, fixes: dict[str, list[str]], carries: dict[str, dict[str, frozenset[str]]] | None = None,
    parts: dict[str, frozenset[str]] | None = None,
) -> dict[str, list[Landing]]:
    """Per fix id (its released commits, found backports included), its landings in line order.

    `carries` says, per fix, which named commits each of its commits carries (a named commit itself, a found
    backport what it was found a copy of); `parts`, per fix named by several commits on one chain, those
    commits: each landing must carry them all, else it is taken with the other such landings of its line."""
    bits, held = history.contains(c for commits in fixes.values() for c in commits)
    brought = history.brought(held)
    direct: dict[str, list[str]] = {}
    for line, items in brought.items():
        for commit, new, _ in items:
            if commit in bits and new & bits[commit]:
                direct.setdefault(commit, []).append(line)
    result: dict[str, list[Landing]] = {}
    for fix_id, commits in fixes.items():
        own = 0
        for commit in commits:
            own |= bits.get(commit, 0)
        per_line: dict[str, list[str]] = {}
        merges: set[str] = set()
        for line, items in brought.items():
            for commit, new, before in items:
                if new & own and not before & own and not bits.get(commit, 0) & own:
                    per_line.setdefault(line, []).append(commit)
                    merges.add(commit)
        for commit in commits:
            if commit not in held:
                continue
            lines = direct.get(commit)
            if lines:
                line = _first_line(history, commit, set(lines))
            elif any(held.get(m, 0) & bits[commit] for m in merges):
                continue  # brought into each line by a merge: those are its landings
            else:
                line = history.line_by_date(commit)
            per_line.setdefault(line, []).append(commit)
        grouped = [(line, _chains(history, per_line[line], bits, held)) for line in history.lines if line in per_line]
        needed = (parts or {}).get(fix_id, frozenset())
        if len(needed) > 1:
            carried = _carried(commits, bits, held, own, (carries or {}).get(fix_id, {}))
            grouped = [(line, _whole(groups, needed, carried, history)) for line, groups in grouped]
        found = [(line, group, any(c in merges for c in group)) for line, groups in grouped for group in groups]
        with_own = {line for line, _, _ in found}
        out = []
        for line, group, merge in found:
            lacking = tuple(sorted(needed - carried(group))) if len(needed) > 1 else ()
            mask = 0 if lacking else (1 << len(history.releases)) - 1
            for commit in group:
                mask &= history.reach[commit]
            for other in with_own - {line}:
                mask &= ~history.line_bits[other]
            out.append(Landing(line, tuple(group), mask, merge, lacking))
        result[fix_id] = out
    return result


def _carried(
    commits: list[str], bits: dict[str, int], held: dict[str, int], own: int, carries: dict[str, frozenset[str]],
) -> Callable[[list[str]], frozenset[str]]:
    """The named commits a landing carries copies of: its commits' own, and for a merge, those of the commits
    of the fix it brings."""
    by_bit = {bits[c]: c for c in commits if c in bits}

    def carried(group: list[str]) -> frozenset[str]:
        found: set[str] = set()
        for commit in group:
            found.update(carries.get(commit, ()))
            brought = held.get(commit, 0) & own if commit not in bits else 0
            while brought:
                low = brought & -brought
                found.update(carries.get(by_bit.get(low, ""), ()))
                brought ^= low
        return frozenset(found)

    return carried


def _whole(groups: list[list[str]], needed: frozenset[str], carried: Callable[[list[str]], frozenset[str]], history: History) -> list[list[str]]:
    """A line's landings with those that carry only part of the fix taken together as one."""
    whole = [g for g in groups if carried(g) >= needed]
    part = [g for g in groups if not carried(g) >= needed]
    if len(part) > 1:
        joined = list(dict.fromkeys(c for g in part for c in g))
        joined.sort(key=lambda c: (history.times.get(c, 0), c))
        part = [joined]
    return whole + part


def _first_line(history: History, commit: str, lines: set[str]) -> str:
    mask = history.reach[commit]
    releases = history.releases
    first = min(
        (i for i in range(len(releases)) if mask >> i & 1 and releases[i].line in lines), key=lambda i: (releases[i].tag.date, i)
    )
    return releases[first].line


def _chains(history: History, commits: list[str], bits: dict[str, int], held: dict[str, int]) -> list[list[str]]:
    """The landings of one line: each commit that no other follows, with the commits before it."""
    unique = list(dict.fromkeys(commits))

    def before(x: str, y: str) -> bool:
        if x == y:
            return False
        if x in bits:
            return bool(held.get(y, 0) & bits[x])
        return history.repo.is_ancestor(x, y)

    last = [y for y in unique if not any(before(y, z) for z in unique)]
    groups = []
    for tip in last:
        group = [x for x in unique if x == tip or before(x, tip)]
        group.sort(key=lambda c: (history.times.get(c, 0), c))
        groups.append(group)
    groups.sort(key=lambda g: min(i for i in range(len(history.releases)) if _all(history, g) >> i & 1) if _all(history, g) else len(history.releases))
    return groups


def _all(history: History, group: list[str]) -> int:
    mask = (1 << len(history.releases)) - 1
    for commit in group:
        mask &= history.reach[commit]
    return mask
