"""Backports: the commits on the lines a fix's named commits do not reach that carry the same change.

From any named commit, released or not: messages that name it (`(cherry picked from commit …)`, `Backport of
…`, `backport of PR #N as merged into <branch> (<sha>)`), the commits its own message names, and patch ids
per commit and per file. Only candidates are read: commits of releases on the lines that lack a landing,
committed after the fix was written, and (for patch ids) touching one of its files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drift.catalog.builder import gitlog
from drift.catalog.builder.history import History
from drift.catalog.builder.repo import Change

_REFERENCES = (
    # git's own `cherry-pick -x` trailer, and the forms people type for it ("cherry pick from", "cherry-picked from").
    (re.compile(rb"\(cherry[ -]pick(?:ed)? from commit ([0-9a-f]{7,64})\)"), "cherry-pick trailer"),
    (re.compile(rb"^\s*Backport of ([0-9a-f]{7,64})\b", re.MULTILINE | re.IGNORECASE), "Backport-of line"),
    (re.compile(rb"backport of (?:PR|pull request) #?\d+ as merged into \S+ \(([0-9a-f]{7,64})\)", re.IGNORECASE), "backport body"),
)


@dataclass(frozen=True)
class Found:
    """A commit found to carry a fix, and how."""

    commit: str
    how: str


def references(raw: bytes) -> list[tuple[str, str]]:
    """The commit ids a message names as its origin, with the kind of reference."""
    return [(m.decode("ascii"), how) for pattern, how in _REFERENCES for m in pattern.findall(raw)]


def discover(
    history: History, named: dict[str, list[str]], changes: dict[str, list[Change]]
) -> dict[str, list[Found]]:
    """Per fix id, the commits found on lines that its named commits reach no release of."""
    reach, times = history.reach, history.times
    every_release = (1 << len(history.releases)) - 1
    lacking: dict[str, int] = {}
    for fix_id, commits in named.items():
        covered = 0
        for commit in commits:
            covered |= reach.get(commit, 0)
        lacking_lines = [line for line in history.lines if not history.line_bits[line] & covered]
        if lacking_lines:
            lacking[fix_id] = sum(history.line_bits[line] for line in lacking_lines) & every_release
    if not lacking:
        return {}
    own = gitlog.messages(history.repo, {c for f in lacking for c in named[f]})
    since = {f: min((own[c].author_time for c in named[f] if c in own), default=0) for f in lacking}
    earliest = min(since.values())
    union = 0
    for bits in lacking.values():
        union |= bits
    pool = [c for c, bits in reach.items() if bits & union]
    msgs = gitlog.messages(history.repo, pool)
    by_prefix: dict[str, list[str]] = {}
    naming: dict[str, list[tuple[str, str, str]]] = {}
    for commit in pool:
        by_prefix.setdefault(commit[:7], []).append(commit)
        for ref, how in references(msgs[commit].raw) if commit in msgs else ():
            naming.setdefault(ref[:7], []).append((ref, commit, how))
    paths = {f: {p for c in named[f] for ch in changes.get(c, []) for p in (ch.path, ch.old) if p is not None} for f in lacking}
    tips = {r.tag.commit for i, r in enumerate(history.releases) if union >> i & 1}
    touched = gitlog.touching(history.repo, tips, earliest, {p for f in lacking for p in paths[f]})
    wanted = {c for f in lacking for c in named[f]}
    for fix_id, bits in lacking.items():
        wanted.update(c for c, files in touched.items() if reach.get(c, 0) & bits and times.get(c, 0) >= since[fix_id] and files & paths[fix_id])
    ids = gitlog.patch_ids(history.repo, wanted)
    result: dict[str, list[Found]] = {}
    for fix_id, bits in lacking.items():
        found: dict[str, Found] = {}

        def keep(commit: str, how: str, bits: int = bits, found: dict[str, Found] = found, fix_id: str = fix_id) -> None:
            if commit not in named[fix_id] and commit not in found and reach.get(commit, 0) & bits:
                found[commit] = Found(commit, how)

        todo = list(named[fix_id])
        done: set[str] = set()
        while todo:  # messages both ways, and the commits those name in turn
            current = todo.pop()
            if current in done:
                continue
            done.add(current)
            message = own.get(current) or msgs.get(current)
            for ref, how in references(message.raw) if message is not None else ():
                for commit in by_prefix.get(ref[:7], []):
                    if commit.startswith(ref):
                        keep(commit, f"named by {current[:12]}'s {how}")
                        todo.append(commit)
            for ref, commit, how in naming.get(current[:7], []):
                if current.startswith(ref):
                    keep(commit, f"its {how} names {current[:12]}")
                    todo.append(commit)
        candidates = {c for c, files in touched.items() if times.get(c, 0) >= since[fix_id] and files & paths[fix_id]}
        _by_patch_id(named[fix_id], candidates, ids, keep)
        result[fix_id] = sorted(found.values(), key=lambda f: (times.get(f.commit, 0), f.commit))
    return result


def _by_patch_id(named: Sequence[str], candidates: set[str], ids: dict[str, gitlog.PatchIds], keep: Callable[[str, str], None]) -> None:
    """The candidates with a named commit's patch id, or the same patch id for one of its files at the same
    path: a file's change alone ties two commits only where it is made to the same file (two commits that
    each add a licence file, or the same boilerplate, elsewhere are not one fix)."""
    targets = [ids[c] for c in named if c in ids]
    whole = {t.commit for t in targets}
    files = {(path, pid) for t in targets for path, pid in t.files.items()}
    for commit in sorted(candidates):
        own = ids.get(commit)
        if own is None:
            continue
        if own.commit in whole:
            keep(commit, "same patch id")
            continue
        same = sorted(path for path, pid in own.files.items() if (path, pid) in files)
        if same:
            keep(commit, f"same patch id for {', '.join(same[:3])}{' …' if len(same) > 3 else ''}")
