"""Reverts: a release that holds a `git revert` of a fix's commit does not keep the fix.

SPEC 3's `fixed` holds a fix's version of a file "and every later one that keeps the fix". A commit whose
message says `This reverts commit <id>` (what `git revert` writes, kept by `cherry-pick -x`) of one of the
fix's commits undoes it: a release that holds that revert is taken not to carry the fix, unless it also
holds a commit made after the revert that applies the fix again: one of the fix's commits, or a commit
with the reverted commit's patch id on its files (a revert of the revert, or the change picked again; a
message saying so is not enough), and no revert of that one in turn. Its files then
count as unfixed where no release with the fix holds the same bytes. The history is the vendor's, and a
revert is the vendor saying the fix was undone: believing it can only make drift stricter. The build says
which releases it took the fix from (a fix applied again in another form is not known as the fix: those
releases read `missing` or `partial`, and want a look).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from drift.catalog.builder import gitlog
from drift.catalog.builder.history import History
from drift.catalog.builder.repo import Change

_REVERTS = re.compile(rb"This reverts commit ([0-9a-f]{7,40})\b")
_MIN_ID = 7


@dataclass(frozen=True, slots=True)
class Revert:
    commit: str
    undoes: str
    """The commit it reverts."""
    subject: str
    """Its first line, for people."""


def find_reverts(history: History, since: int) -> list[Revert]:
    """Every commit of the releases' history, committed at or after `since`, whose message says which commit
    it reverts (one `git log --grep`); one `Revert` per commit named, the names as written (7 to 40 hex)."""
    tips = sorted({r.tag.commit for r in history.releases})
    if not tips:
        return []
    out = history.repo.run(
        "log", "-z", "--format=%x01%H%x00%e%x00%B", "--fixed-strings", "--grep=This reverts commit ", f"--since=@{since}", *tips, "--",
    )
    found = []
    for record in out.split(b"\x01")[1:]:
        sha, encoding, raw = (record.split(b"\0", 2) + [b"", b""])[:3]
        subject = gitlog.decode_message(raw.split(b"\n", 1)[0], encoding.decode("ascii", "replace"))
        for named in dict.fromkeys(_REVERTS.findall(raw)):
            found.append(Revert(sha.decode("ascii").strip(), named.decode("ascii"), subject))
    return found


def undone(history: History, commits: Iterable[str], reverts: list[Revert], changes: dict[str, list[Change]]) -> tuple[int, list[Revert]]:
    """The releases that hold a revert of the fix still in force, and the reverts that take releases from it.

    The fix is applied by `commits` (its commits, copies included; `changes` gives the files each changes),
    and again by any commit made after a revert of one of them with that commit's patch id, on the same files
    (a revert of the revert, or the change picked again). A revert is a commit whose message names one of
    those. It is in force in a release that holds it and no commit made after it that applies again what it
    reverted (a fix of two commits, both reverted, is not back when one is). A message that says a revert was
    reverted is not enough: the commit must make the change again."""
    own = list(dict.fromkeys(commits))
    first = _reverting(own, reverts, exclude=set(own))
    if not first:
        return 0, []
    again = _picked_again(history, first, own, changes)
    applying = [*own, *again]
    undoing = [r for r in _reverting(applying, reverts, exclude=set(applying)) if history.reach.get(r.commit, 0)]
    bits, held = history.contains(r.commit for r in undoing)
    mask = 0
    taking = []
    for revert in undoing:
        target = _full(revert.undoes, applying)
        original = again.get(target or "", target)
        here = history.reach[revert.commit]
        for commit in (c for c, made in again.items() if made == original):  # what it reverted, made again after it
            if held.get(commit, 0) & bits[revert.commit]:
                here &= ~history.reach.get(commit, 0)
        if here:
            mask |= here
            taking.append(revert)
    return mask, taking


def _picked_again(history: History, reverts: list[Revert], own: list[str], changes: dict[str, list[Change]]) -> dict[str, str]:
    """The commits made since the first of `reverts` that make again the change of a commit of `own` that one of
    them reverts, each with that commit: the same patch id, whole and per file, on the same files (one `git log`
    of the commits that touch those files, and one of their diffs)."""
    undone_commits = {c for r in reverts if (c := _full(r.undoes, own)) is not None}
    paths = {c: {p for change in changes.get(c, []) for p in (change.path, change.old) if p is not None} for c in undone_commits}
    since = min(history.times.get(r.commit, 0) for r in reverts)
    tips = sorted({r.tag.commit for r in history.releases})
    touched = gitlog.touching(history.repo, tips, since, {p for files in paths.values() for p in files})
    candidates = sorted(set(touched) - set(own) - {r.commit for r in reverts})
    if not candidates:
        return {}
    ids = gitlog.patch_ids(history.repo, [*candidates, *undone_commits])
    found = {}
    for c in candidates:
        for u in sorted(undone_commits):
            if c in ids and u in ids and touched[c] == paths[u] and (ids[c].commit, ids[c].files) == (ids[u].commit, ids[u].files):
                found[c] = u
                break
    return found


def _reverting(commits: list[str], reverts: list[Revert], exclude: set[str]) -> list[Revert]:
    """The reverts that name one of `commits` (by its full id, or a prefix of at least 7 digits)."""
    return [r for r in reverts if r.commit not in exclude and _full(r.undoes, commits) is not None]


def _full(named: str, commits: list[str]) -> str | None:
    """The one of `commits` that `named` (a full id or a prefix) names, if any."""
    if len(named) < _MIN_ID:
        return None
    return next((c for c in commits if c.startswith(named)), None)
