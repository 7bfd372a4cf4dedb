"""Reverts: a release that holds a `git revert` of a fix's commit does not keep the fix.

SPEC 3's `fixed` holds a fix's version of a file "and every later one that keeps the fix". A commit whose
message says `This reverts commit <id>` (what `git revert` writes, kept by `cherry-pick -x`) undoes the fix
when it names (the id whole or abbreviated, in either case):
- one of the fix's commits (named in the register, or found copies), or a merge that brought it;
- a commit with one of their patch ids (`copies`: a pick no message ties to the fix, merged from a hotfix
  branch);
- a commit or merge that a named merge brings and that changes the merge's files (the register may name a
  pull request's merge; the revert names the commit in it);
- a commit that one of the fix's commits names as its origin (`(cherry picked from commit <id>)`, `Backport
  of <id>`), or that origin's own origin, a few hops deep (the vendor picks a fix from upstream, and later
  picks upstream's revert of it).
A revert in the history of a commit the register names (an attempt reverted on a pull request's branch,
before the fix was made) is how the fix was made, not a revert of it.

A release that holds such a revert is taken not to carry the fix, unless it also holds a commit made after
the revert that makes again exactly what the revert undid, and leaves the change's files, and the revert's,
as they were just before the revert (their blobs compared): a revert of the revert, or the change picked
again, with nothing else changed in those files meanwhile. Patch ids, which ignore context and white space,
are not enough: they would take the fix's line added to another function, or indented into another block,
as the fix made again. Nor is the same diff alone: the same lines around another spot in the file (a
repeated block), or code around the spot rewrapped beyond the diff's context, would pass. Nor is a message
that says a revert was reverted. A release that still holds a revert in force has its versions of the fix's
files, and of the files the revert changed (the code may have moved before it), counted as unfixed where no
release with the fix holds the same bytes; lacking a fix's file there counts only where git sees it renamed.

The history is the vendor's, and a revert is the vendor saying the fix was undone: believing it can only
make drift stricter. A fix made again in another form is not known as the fix: the build prints each revert
and the releases it took the fix from, and those want a look.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from drift.catalog.builder import gitlog
from drift.catalog.builder.backports import references
from drift.catalog.builder.history import History
from drift.catalog.builder.repo import Change, changed_paths
from drift.errors import OperationalError

_REVERTS = re.compile(rb"This reverts commit ([0-9a-f]{7,64})\b")
_MIN_ID = 7
_HOPS = 3
"""Origins named by origins followed this deep."""
_OCTOPUS = 32
"""Above this many reverts, the search for a fix made again does not exclude their common history (git's
`merge-base --octopus` grows with the square of their number)."""


@dataclass(frozen=True, slots=True)
class Revert:
    commit: str
    undoes: str
    """The commit it names as reverted, as written (7 to 64 hex digits)."""
    subject: str
    """Its first line, for people."""


class Reverts:
    """The reverts of the releases' history, found by the commits they name."""

    def __init__(self, found: list[Revert]) -> None:
        self.found = found
        self._by_prefix: dict[str, list[Revert]] = {}
        for revert in found:
            self._by_prefix.setdefault(revert.undoes[:_MIN_ID], []).append(revert)

    def naming(self, ids: Iterable[str]) -> list[tuple[Revert, str]]:
        """Each revert that names one of `ids`, with it: where one of the two ids, of at least 7 digits, starts
        the other (a message may abbreviate either)."""
        return [
            (r, c) for c in ids for r in self._by_prefix.get(c[:_MIN_ID].lower(), ())
            if len(c) >= _MIN_ID and (c.lower().startswith(r.undoes) or r.undoes.startswith(c.lower()))
        ]


def find_reverts(history: History) -> Reverts:
    """Every commit of the releases' history whose message says which commit it reverts (one `git log --grep`
    over the whole history: a `--since` would stop git's walk at any commit dated earlier, and a revert behind
    it would go unseen); one `Revert` per commit named."""
    tips = sorted({r.tag.commit for r in history.releases})
    if not tips:
        return Reverts([])
    # NUL ends every field and every commit: a message may hold any other byte, \x01 included.
    fields = history.repo.run("log", "-z", "--format=%H%x00%e%x00%B", "--fixed-strings", "--grep=This reverts commit ", *tips, "--").split(b"\0")
    found = []
    for i in range(0, len(fields) - 2, 3):
        sha, encoding, raw = fields[i : i + 3]
        subject = gitlog.decode_message(raw.split(b"\n", 1)[0], encoding.decode("ascii", "replace"))
        for named in dict.fromkeys(_REVERTS.findall(raw)):
            found.append(Revert(sha.decode("ascii").strip(), named.decode("ascii"), subject))
    return Reverts(found)


def stand_ins(history: History, commits: Iterable[str], messages: Mapping[str, gitlog.Message], changes: dict[str, list[Change]]) -> dict[str, str]:
    """The commits a revert may name besides `commits` themselves (a fix's), each with the commit of the fix
    whose change it stands for: those a commit's message names as its origin (a cherry-pick trailer, a
    `Backport of` line; `messages` holds the commits'), and their origins in turn (`_HOPS` deep: a fix picked
    from a stable branch that picked it from master), and those a named merge brings (merges among them) that
    change the merge's files (`changes` gains their changes)."""
    own = list(dict.fromkeys(commits))
    result: dict[str, str] = {}
    layer = {c: messages[c] for c in own if c in messages}
    stands = {c: c for c in layer}
    for _ in range(_HOPS):
        named: dict[str, str] = {}
        for commit, message in layer.items():
            for origin, _ in references(message.raw):
                origin = origin.lower()
                if origin not in result and origin not in stands:
                    result[origin] = named[origin] = stands[commit]
        resolved = {rev: full for rev, full in history.resolve(sorted(named)).items() if full is not None and full not in stands}
        layer = gitlog.messages(history.repo, set(resolved.values())) if resolved else {}
        stands = {full: named[rev] for rev, full in resolved.items()}
        for full, fix in stands.items():
            result.setdefault(full, fix)
        if not layer:
            break
    for merge in own:
        if len(history.parents.get(merge, ())) < 2:
            continue
        files = changed_paths(changes.get(merge, []))
        brought = history.repo.run("rev-list", f"{merge}^1..{merge}").decode("ascii").split()  # merges inside it too
        changes.update(history.repo.changes(c for c in brought if c not in changes))
        for inner in brought:
            if changed_paths(changes.get(inner, [])) & files:
                result.setdefault(inner, inner)
    return result


def copies(history: History, reverts: Reverts, fixes: Mapping[str, Iterable[str]], changes: dict[str, list[Change]]) -> dict[str, dict[str, str]]:
    """Per fix, the commits a revert names that no message ties to it but that make one of its commits' changes
    (the same patch id, whole and per file), each with that commit: a copy picked onto a branch the fix's line
    later merged, say, which discovery never looked for. One `diff-tree` of the reverted commits, and one
    `git log -p` of those that touch a fix's files and of those fixes' commits. Taking a commit for a copy too
    readily only makes drift stricter."""
    resolved = history.resolve(sorted({r.undoes for r in reverts.found}))
    targets = sorted({full for full in resolved.values() if full is not None and full in history.parents})
    changes.update(history.repo.changes(c for c in targets if c not in changes))
    by_path: dict[str, set[tuple[str, str]]] = {}
    for fix_id, commits in fixes.items():
        for commit in commits:
            for path in changed_paths(changes.get(commit, [])):
                by_path.setdefault(path, set()).add((fix_id, commit))
    pairs = {(t, fix_id, c) for t in targets for p in changed_paths(changes.get(t, [])) for fix_id, c in by_path.get(p, ()) if t != c}
    if not pairs:
        return {}
    ids = gitlog.patch_ids(history.repo, {x for t, _, c in pairs for x in (t, c)})
    found: dict[str, dict[str, str]] = {}
    for target, fix_id, commit in sorted(pairs):
        if target in ids and commit in ids and (ids[target].commit, ids[target].files) == (ids[commit].commit, ids[commit].files):
            found.setdefault(fix_id, {})[target] = commit
    return found


def undone(
    history: History, names: Mapping[str, str], reverts: Reverts, again: Mapping[str, str], restores: Callable[[str, str, str], bool],
    named: Iterable[str] = (),
) -> tuple[int, list[Revert]]:
    """The releases that hold a revert of a fix still in force, and the reverts that take releases from it.

    `names` maps each commit a revert of the fix may name to the commit of the fix whose change it stands
    for: the fix's commits (copies included, and the merges that brought it) to themselves, and `stand_ins`.
    `again` maps each commit that makes such a change again exactly (`made_again`) to that commit. Such a
    commit made after a revert lifts it where `restores(commit, revert, original)`: it leaves the files of
    the change (and the revert's) as they were just before the revert. A revert of it undoes the fix again.
    A revert is in force in a release that holds it and no commit that lifts it, unless it lies in the history
    of one of `named` (the register's commits)."""
    originals = set(names.values())
    made = {c: o for c, o in again.items() if o in originals}
    every = {**names, **made}
    undoing = [(r, every[c]) for r, c in reverts.naming(every) if history.reach.get(r.commit, 0)]
    if not undoing:
        return 0, []
    bits, held = history.contains(r.commit for r, _ in undoing)
    # A revert in the history of a commit the register names (an attempt reverted on the branch a named merge
    # brings, before the fix was made) is part of how the fix was made, not a revert of it. Only the register's
    # commits: a landing merge or a copy found after a revert says nothing of that kind.
    undoing = [(r, o) for r, o in undoing if not any(c != r.commit and held.get(c, 0) & bits[r.commit] for c in named)]
    mask = 0
    taking = []
    for revert, original in undoing:
        here = history.reach[revert.commit]
        for commit in (c for c, o in made.items() if o == original):  # what it undid, made again after it
            if held.get(commit, 0) & bits[revert.commit] and restores(commit, revert.commit, original):
                here &= ~history.reach.get(commit, 0)
        if here:
            mask |= here
            taking.append(revert)
    return mask, list(dict.fromkeys(taking))


class Restores:
    """Whether a commit leaves a change's files, and every file the revert changed, as they were just before
    the revert (their blobs compared: one `ls-tree` per commit asked about)."""

    def __init__(self, history: History, changes: dict[str, list[Change]]) -> None:
        self._history, self._changes = history, changes
        self._trees: dict[tuple[str, frozenset[str]], dict[str, str]] = {}

    def __call__(self, commit: str, revert: str, original: str) -> bool:
        if revert not in self._changes:
            self._changes.update(self._history.repo.changes([revert]))
        # The change's files and every file the revert changed (a stale copy it also took the fix out of).
        paths = frozenset(changed_paths(self._changes.get(original, [])) | changed_paths(self._changes.get(revert, [])))
        before = self._history.parents.get(revert, [])
        if not paths or not before:
            return False
        return self._blobs(commit, paths) == self._blobs(before[0], paths)

    def _blobs(self, commit: str, paths: frozenset[str]) -> dict[str, str]:
        key = (commit, paths)
        if key not in self._trees:
            out = self._history.repo.run("--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, "--", *sorted(paths))
            found = {}
            for record in out.split(b"\0"):
                if record:
                    meta, path = record.split(b"\t", 1)
                    found[path.decode("utf-8", "surrogateescape")] = meta.split()[2].decode("ascii")
            self._trees[key] = found
        return self._trees[key]


def made_again(history: History, undone_by: list[tuple[Revert, str]], known: set[str], changes: dict[str, list[Change]]) -> dict[str, str]:
    """The commits that make again exactly the change of a commit a revert undid (`undone_by`: each revert with
    that commit; see the module docstring), each with that commit. Among the commits that touch its files and
    are not in the history of every revert (one `git log`: a commit that makes the change again comes after
    the revert it lifts), by their diffs (one more). `known` (the fixes' own commits) are not candidates."""
    if not undone_by:
        return {}
    originals = {original for _, original in undone_by}
    reverting = sorted({r.commit for r, _ in undone_by})
    paths = {c: changed_paths(changes.get(c, [])) for c in originals}
    tips = [*sorted({r.tag.commit for r in history.releases}), *(f"^{b}" for b in _common_ancestor(history, reverting))]
    touched = gitlog.touching(history.repo, tips, None, {p for files in paths.values() for p in files})
    candidates = sorted(set(touched) - known - set(reverting))
    if not candidates:
        return {}
    diffs = _exact_diffs(history, [*candidates, *originals])
    found = {}
    for candidate in candidates:
        for commit in sorted(originals):
            if touched[candidate] == paths[commit] and candidate in diffs and diffs[candidate] == diffs.get(commit):
                found[candidate] = commit
                break
    return found


def _common_ancestor(history: History, commits: list[str]) -> list[str]:
    """A commit in the history of every one of `commits` (none where they share no history, or are more than
    `_OCTOPUS`)."""
    if len(commits) == 1:
        return commits
    if len(commits) > _OCTOPUS:
        return []
    try:
        return history.repo.run("merge-base", "--octopus", *commits).decode("ascii").split()[:1]
    except OperationalError:  # no common ancestor: git exits 1
        return []


def _exact_diffs(history: History, commits: list[str]) -> dict[str, dict[str, str]]:
    """Per commit, per file it changes, a digest of its diff as written (added, removed and context lines with
    their white space; line numbers left out: `gitlog.file_diffs`)."""
    return {
        commit: {path: hashlib.sha256(b"\n".join(lines)).hexdigest() for path, lines in files.items()}
        for commit, files in gitlog.file_diffs(history.repo, commits).items()
    }
