"""What git says about the commits of the releases: reachability, first-parent chains, and lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from drift.catalog.builder.model import BuiltRelease
from drift.catalog.builder.repo import Repository


class History:
    """The releases and the commit graph reachable from them (one `rev-list`), each question asked once."""

    def __init__(self, repo: Repository, releases: list[BuiltRelease]) -> None:
        self.repo = repo
        self.releases = releases
        self.order, self.parents, self.times = repo.graph(r.tag.commit for r in releases)
        self.reach = _reach(self.order, self.parents, _tip_bits(releases))
        """Commit -> the bits of the releases (by index) that contain it."""
        self._resolved: dict[str, str | None] = {}
        self._renames: dict[str, set[str]] | None = None
        self.lines = tuple(dict.fromkeys(r.line for r in releases))
        self.line_bits = {line: sum(1 << i for i, r in enumerate(releases) if r.line == line) for line in self.lines}
        """Line -> the bits of its releases."""

    def resolve(self, revs: Sequence[str]) -> dict[str, str | None]:
        missing = [r for r in revs if r not in self._resolved]
        if missing:
            self._resolved.update(self.repo.resolve_all(missing))
        return {r: self._resolved[r] for r in revs}

    def renames(self) -> dict[str, set[str]]:
        """Repository path -> the paths git sees it renamed to or from in the releases' history (one `log -M`,
        the first time it is asked)."""
        if self._renames is None:
            self._renames = self.repo.renames(sorted({r.tag.commit for r in self.releases}))
        return self._renames

    def lines_of_mask(self, mask: int) -> list[str]:
        """The lines with a release among the bits."""
        return [line for line in self.lines if self.line_bits[line] & mask]

    def line_by_date(self, commit: str) -> str:
        """The line of the first release (by date, then catalog order) that contains the commit."""
        mask = self.reach[commit]
        first = min((i for i in range(len(self.releases)) if mask >> i & 1), key=lambda i: (self.releases[i].tag.date, i))
        return self.releases[first].line

    def contains(self, commits: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """The bit of each commit, and for every commit of the graph the bits of those among them in its
        history (itself included): one pass over the graph, parents before children."""
        bits = {c: 1 << i for i, c in enumerate(dict.fromkeys(c for c in commits if c in self.parents))}
        held: dict[str, int] = {}
        parents = self.parents
        for commit in reversed(self.order):
            mask = bits.get(commit, 0)
            for parent in parents[commit]:
                mask |= held.get(parent, 0)
            if mask:
                held[commit] = mask
        return bits, held

    def brought(self, held: dict[str, int]) -> dict[str, list[tuple[str, int, int]]]:
        """Per line, each commit of the first-parent chains of its releases that brings some of the counted
        commits into the line: (commit, bits it brings, bits its first parent already had). The walk stops
        where the chain holds none of them."""
        parents = self.parents
        result: dict[str, list[tuple[str, int, int]]] = {}
        for line in self.lines:
            seen: set[str] = set()
            found: list[tuple[str, int, int]] = []
            tips = [r.tag.commit for r in sorted((r for r in self.releases if r.line == line), key=lambda r: r.tag.date)]
            for tip in tips:
                commit: str | None = tip
                while commit is not None and commit not in seen and held.get(commit, 0):
                    seen.add(commit)
                    first = parents[commit][0] if parents[commit] else None
                    before = held.get(first, 0) if first is not None else 0
                    new = held[commit] & ~before
                    if new:
                        found.append((commit, new, before))
                    commit = first
            result[line] = found
        return result


def _tip_bits(releases: list[BuiltRelease]) -> dict[str, int]:
    bits: dict[str, int] = {}
    for i, release in enumerate(releases):
        bits[release.tag.commit] = bits.get(release.tag.commit, 0) | (1 << i)
    return bits


def _reach(order: list[str], parents: dict[str, list[str]], tips: dict[str, int]) -> dict[str, int]:
    """For every commit, the OR of the bits of the tips it is reachable from (children come first in `order`)."""
    reach: dict[str, int] = dict(tips)
    for commit in order:
        bits = reach.get(commit, 0)
        for parent in parents[commit]:
            reach[parent] = reach.get(parent, 0) | bits
    return reach


def forks(history: History, lines: tuple[str, ...]) -> dict[str, str]:
    """Each line whose first release contains a release of another line forked from that line (the one
    whose contained release is latest)."""
    releases, reach = history.releases, history.reach
    result: dict[str, str] = {}
    for line in lines:
        first = next(i for i, r in enumerate(releases) if r.line == line)
        inside = [i for i, r in enumerate(releases) if r.line != line and reach.get(r.tag.commit, 0) >> first & 1]
        if inside:
            parent = max(inside, key=lambda i: (releases[i].tag.date, i))
            result[line] = releases[parent].line
    return result


def joined(links: dict[str, set[str]], paths: set[str]) -> set[str]:
    """The names `links` join to any of `paths`, in either direction, however many steps away (`paths` left out)."""
    seen = set(paths)
    todo = list(seen)
    while todo:
        for other in links.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen - paths
