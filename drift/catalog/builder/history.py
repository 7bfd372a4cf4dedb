"""What git says about the commits of the releases: reachability, lines, landings and backports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from drift.catalog.builder.model import BuiltRelease, Report
from drift.catalog.builder.register import Entry
from drift.catalog.builder.repo import Repository
from drift.errors import InputError

_CHERRY = re.compile(r"\(cherry picked from commit ([0-9a-f]{7,64})\)")
_BACKPORT = re.compile(r"^Backport of ([0-9a-f]{7,64})\b", re.MULTILINE | re.IGNORECASE)


class History:
    """The releases and what git says about the commits reachable from them, each asked once."""

    def __init__(self, repo: Repository, releases: list[BuiltRelease]) -> None:
        self.repo = repo
        self.releases = releases
        self.reach = repo.ancestry(_tip_bits(releases))
        self._resolved: dict[str, str | None] = {}
        self._messages: dict[str, str] | None = None
        self._patch_ids: dict[str, str] | None = None
        self._trailers: dict[str, list[tuple[str, str]]] | None = None
        self.candidates = [c for c, bits in self.reach.items() if bits]
        """Every commit in some release."""
        self._by_prefix: dict[str, list[str]] = {}
        for commit in self.candidates:
            self._by_prefix.setdefault(commit[:7], []).append(commit)

    def resolve(self, revs: Sequence[str]) -> dict[str, str | None]:
        missing = [r for r in revs if r not in self._resolved]
        if missing:
            self._resolved.update(self.repo.resolve_all(missing))
        return {r: self._resolved[r] for r in revs}

    def carriers(self, main: str) -> list[str]:
        """Commits that carry the same change as `main` by their messages: those whose cherry-pick trailer or
        `Backport of` line names `main`, and those that `main`'s own message names (and theirs, in turn)."""
        if self._trailers is None:
            self._trailers = {}
            for commit, message in self.messages().items():
                for ref in _references(message):
                    self._trailers.setdefault(ref[:7], []).append((ref, commit))
        by_prefix = self._by_prefix
        found: list[str] = []
        todo = [main]
        while todo:
            current = todo.pop()
            named = [c for ref in _references(self.messages().get(current, "")) for c in by_prefix.get(ref[:7], []) if c.startswith(ref)]
            naming = [c for ref, c in self._trailers.get(current[:7], []) if current.startswith(ref)]
            for commit in named + naming:
                if commit != main and commit not in found:
                    found.append(commit)
                    todo.append(commit)
        return found

    def messages(self) -> dict[str, str]:
        if self._messages is None:
            self._messages = self.repo.messages(self.candidates)
        return self._messages

    def patch_ids(self) -> dict[str, str]:
        if self._patch_ids is None:
            self._patch_ids = self.repo.patch_ids(self.candidates)
        return self._patch_ids

    def line_of(self, commit: str) -> str:
        """The line of the first release (by date, then catalog order) that contains the commit."""
        mask = self.reach[commit]
        first = min((i for i in range(len(self.releases)) if mask >> i & 1), key=lambda i: (self.releases[i].tag.date, i))
        return self.releases[first].line


def find_landings(history: History, entry: Entry, register_path: Path, report: Report) -> tuple[list[str], list[str]]:
    """The entry's released commits (with the backports found when it names only one), and its commits
    that no release contains."""
    resolved = history.resolve(list(entry.commits))
    commits: list[str] = []
    unreleased: list[str] = []
    for j, rev in enumerate(entry.commits):
        commit = resolved[rev]
        if commit is None:
            raise InputError(f"no commit {rev!r} in the repository (fix {entry.id})", source=register_path, where=f"{entry.where}.commits[{j}]")
        if history.reach.get(commit, 0):
            commits.append(commit)
        else:
            unreleased.append(commit)
            report.unreleased.append(
                f"{entry.id}: {commit[:12]} is in no release; judged by the commit's own files (every release lacks it)"
            )
    if len(entry.commits) == 1 and commits:
        commits += _backports(history, entry, commits[0], report)
    return commits, unreleased


def _tip_bits(releases: list[BuiltRelease]) -> dict[str, int]:
    bits: dict[str, int] = {}
    for i, release in enumerate(releases):
        bits[release.tag.commit] = bits.get(release.tag.commit, 0) | (1 << i)
    return bits


def forks(history: History, lines: tuple[str, ...]) -> dict[str, str]:
    """Each line whose first release contains a release of another line forked from that line (the one
    whose contained release is latest)."""
    releases, reach = history.releases, history.reach
    forks: dict[str, str] = {}
    for line in lines:
        first = next(i for i, r in enumerate(releases) if r.line == line)
        inside = [i for i, r in enumerate(releases) if r.line != line and reach.get(r.tag.commit, 0) >> first & 1]
        if inside:
            parent = max(inside, key=lambda i: (releases[i].tag.date, i))
            forks[line] = releases[parent].line
    return forks


def _references(message: str) -> list[str]:
    """Commit ids a message names as its origin: `(cherry picked from commit …)` and `Backport of …`."""
    return _CHERRY.findall(message) + _BACKPORT.findall(message)


def _backports(history: History, entry: Entry, main: str, report: Report) -> list[str]:
    """Commits on other lines that carry the main commit: cherry-pick trailers, `Backport of`, patch-id.

    A line with a release that already contains the main commit (it forked after the fix) needs none.
    """
    releases = history.releases
    covered = {releases[i].line for i in range(len(releases)) if history.reach[main] >> i & 1}
    lines = [line for line in dict.fromkeys(r.line for r in releases) if line not in covered]
    found: dict[str, list[str]] = {}
    for commit in history.carriers(main):
        line = history.line_of(commit)
        if line not in covered:
            found.setdefault(line, []).append(commit)
    if any(line not in found for line in lines):
        ids = history.patch_ids()
        target = ids.get(main)
        if target is not None:
            for commit in history.candidates:
                if commit != main and ids.get(commit) == target:
                    line = history.line_of(commit)
                    if line not in covered and line not in found:
                        found[line] = [commit]
    report.backports_found[entry.id] = {line: [c[:12] for c in commits] for line, commits in sorted(found.items())}
    missing = [line for line in lines if line not in found]
    if missing:
        report.backports_missing[entry.id] = missing
    return sorted({c for commits in found.values() for c in commits})
