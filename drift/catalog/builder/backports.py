"""Backports: the commits on the lines a fix's named commits do not reach that carry the same change.

From any named commit, released or not: messages that name it (`(cherry picked from commit …)`, `Backport of
…`, `backport of PR #N as merged into <branch> (<sha>)`), the commits its own message names, commits with its
author, author time and subject (a patch applied again with `git am`; a `[1.1]` tag before the subject
aside), and patch ids per commit and per file. Only candidates are read: commits of releases on the lines that lack a landing,
committed after the fix was written, and (for patch ids) touching one of its files.

A message is the vendor's word, and the vendor is the audited party: a commit that a message ties to the fix
but that changes none of the files the named commits change (under any name git sees them renamed from or to),
nor makes one of their changes to another file, is not taken (a release carrying only it would read as fixed through files the fix never touched). The build
says so, and the register can name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drift.catalog.builder import gitlog
from drift.catalog.builder.history import History, joined
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
    origins: frozenset[str] = frozenset()
    """The named commits it carries a copy of (all or part of): those its message ties it to, or whose patch
    id (whole, or one file's) it has."""


@dataclass(frozen=True)
class Discovered:
    """Per fix id, the commits found to carry it, and those a message names that change none of its files."""

    found: dict[str, list[Found]]
    refused: dict[str, list[Found]]


def references(raw: bytes) -> list[tuple[str, str]]:
    """The commit ids a message names as its origin, with the kind of reference."""
    return [(m.decode("ascii"), how) for pattern, how in _REFERENCES for m in pattern.findall(raw)]


def discover(history: History, named: dict[str, list[str]], changes: dict[str, list[Change]]) -> Discovered:
    """Per fix id, the commits found on lines that its named commits reach no release of (`changes` gains
    the changes of the commits that messages name)."""
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
        return Discovered({}, {})
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
    by_key: dict[tuple[bytes, int, bytes], list[str]] = {}
    for commit in pool:
        by_prefix.setdefault(commit[:7], []).append(commit)
        if commit in msgs and (key := _same_patch_key(msgs[commit])) is not None:
            by_key.setdefault(key, []).append(commit)
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
    refused: dict[str, list[Found]] = {}
    for fix_id, bits in lacking.items():
        finding = _Finding(history, named[fix_id], bits, paths[fix_id], changes, ids)
        todo = list(named[fix_id])
        done: set[str] = set()
        while todo:  # messages both ways, and the commits those name in turn
            current = todo.pop()
            if current in done:
                continue
            done.add(current)
            message = own.get(current) or msgs.get(current)
            origins = finding.origins(current)
            for ref, how in references(message.raw) if message is not None else ():
                for commit in by_prefix.get(ref[:7], []):
                    if commit.startswith(ref) and finding.by_message(commit, f"named by {current[:12]}'s {how}", origins, older=True):
                        todo.append(commit)
            for ref, commit, how in naming.get(current[:7], []):
                if current.startswith(ref) and finding.by_message(commit, f"its {how} names {current[:12]}", origins, older=False):
                    todo.append(commit)
        for named_commit in named[fix_id]:  # the same patch applied again (`git am`): its author, date and subject
            message = own.get(named_commit)
            key = _same_patch_key(message) if message is not None else None
            for commit in by_key.get(key, ()) if key is not None else ():
                finding.by_message(commit, f"same author, date and subject as {named_commit[:12]}", frozenset({named_commit}), older=True)
        candidates = {c for c, files in touched.items() if times.get(c, 0) >= since[fix_id] and files & paths[fix_id]}
        _by_patch_id(named[fix_id], candidates, ids, finding.keep)
        result[fix_id] = finding.in_order(finding.found)
        if finding.doubted:
            refused[fix_id] = finding.in_order(finding.doubted)
    return Discovered(result, refused)


def _same_patch_key(message: gitlog.Message) -> tuple[bytes, int, bytes] | None:
    """What a patch applied again keeps (`git am`, `cherry-pick` without -x): its author, the time it was
    written and its subject (a `[1.1]` tag put before it aside); None where there is no subject to go by."""
    subject = message.subject()
    return (message.author, message.author_time, subject) if subject and message.author else None


class _Finding:
    """The commits found for one fix so far, on the lines that lack it (`bits`: their releases)."""

    def __init__(
        self, history: History, named: list[str], bits: int, paths: set[str], changes: dict[str, list[Change]],
        ids: dict[str, gitlog.PatchIds],
    ) -> None:
        self.history, self.own, self.bits, self.paths, self.changes, self.ids = history, named, bits, paths, changes, ids
        self.found: dict[str, Found] = {}
        self.doubted: dict[str, Found] = {}
        """Commits a message names that change none of the fix's files, nor any file the same way."""
        self._renamed: set[str] | None = None

    def _new(self, commit: str) -> bool:
        """Whether `commit` is neither named nor found yet, and on a line that lacks the fix."""
        return commit not in self.own and commit not in self.found and bool(self.history.reach.get(commit, 0) & self.bits)

    def origins(self, commit: str) -> frozenset[str]:
        """The named commits `commit` carries: itself if named, else what it was found as a copy of."""
        if commit in self.own:
            return frozenset({commit})
        found = self.found.get(commit)
        return found.origins if found is not None else frozenset()

    def keep(self, commit: str, how: str, origins: frozenset[str]) -> bool:
        """Take `commit`, found as `how` says (a copy of the named `origins`), if it is new and on a line that
        lacks the fix. Found again as a copy of other named commits (a squash whose trailers name two), it
        carries them all."""
        if commit in self.found and origins - self.found[commit].origins:
            known = self.found[commit]
            self.found[commit] = Found(commit, known.how, known.origins | origins)
        if not self._new(commit):
            return False
        self.found[commit] = Found(commit, how, origins)
        return True

    def by_message(self, commit: str, how: str, origins: frozenset[str], *, older: bool) -> bool:
        """`keep` for a commit a message ties to the fix: only if it changes one of the fix's files, or makes
        one of its changes to a file of another name (the code lives elsewhere on an older line), and is not
        in a named commit's own history (a first attempt, later reverted, that a named commit makes again
        is no copy of it, whatever its message, author or subject). That is asked only where the commit may
        be `older` than the message that ties it: one whose own message names a commit comes after it."""
        if commit in self.found:
            return self.keep(commit, how, origins)
        if commit in self.doubted or not self._new(commit):
            return False
        if older and self.history.repo.in_history_of(commit, self.own):
            return False
        if commit not in self.changes:
            self.changes.update(self.history.repo.changes([commit]))
        touched = {p for ch in self.changes[commit] for p in (ch.path, ch.old) if p is not None}
        if not touched & self.paths and not self._same_change(commit) and not touched & self._other_names():
            self.doubted[commit] = Found(commit, how, origins)
            return False
        return self.keep(commit, how, origins)

    def _other_names(self) -> set[str]:
        """Every name git sees one of the fix's files renamed from or to in the releases' history, however
        many steps away (`src/repository.c` before `src/libgit2/repository.c`): a backport on an older line
        changes the file under the name it has there. Read the first time a message-tied commit needs it."""
        if self._renamed is None:
            self._renamed = joined(self.history.renames(), self.paths)
        return self._renamed

    def _same_change(self, commit: str) -> bool:
        """Whether `commit` makes a change of a named commit (a file's patch id, wherever the file is)."""
        if commit not in self.ids:
            self.ids.update(gitlog.patch_ids(self.history.repo, [commit]))
        theirs = self.ids.get(commit)
        if theirs is None:
            return False
        ours = [self.ids[c] for c in self.own if c in self.ids]
        return any(theirs.commit == o.commit or set(theirs.files.values()) & set(o.files.values()) for o in ours)

    def in_order(self, commits: dict[str, Found]) -> list[Found]:
        return sorted(commits.values(), key=lambda f: (self.history.times.get(f.commit, 0), f.commit))


def _by_patch_id(
    named: Sequence[str], candidates: set[str], ids: dict[str, gitlog.PatchIds], keep: Callable[[str, str, frozenset[str]], object],
) -> None:
    """The candidates with a named commit's patch id, or the same patch id for one of its files at the same
    path: a file's change alone ties two commits only where it is made to the same file (two commits that
    each add a licence file, or the same boilerplate, elsewhere are not one fix)."""
    whole: dict[str, set[str]] = {}
    files: dict[tuple[str, str], set[str]] = {}  # a file's change several named commits make ties to none of them
    for c in named:
        if c in ids:
            whole.setdefault(ids[c].commit, set()).add(c)
            for path, pid in ids[c].files.items():
                files.setdefault((path, pid), set()).add(c)
    for commit in sorted(candidates):
        own = ids.get(commit)
        if own is None:
            continue
        if own.commit in whole:
            keep(commit, "same patch id", frozenset(whole[own.commit]))
            continue
        same = sorted(path for path, pid in own.files.items() if (path, pid) in files)
        if same:
            origins = frozenset(c for path, pid in own.files.items() if len(files.get((path, pid), ())) == 1 for c in files[(path, pid)])
            keep(commit, f"same patch id for {', '.join(same[:3])}{' …' if len(same) > 3 else ''}", origins)
