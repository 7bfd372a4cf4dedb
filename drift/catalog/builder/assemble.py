"""Build a fix catalog from a product's git history and the vendor's fix register (`drift catalog build`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from drift.catalog.builder import gitlog
from drift.catalog.builder.backports import Found, discover
from drift.catalog.builder.fixes import build_fix, unreleased_variant
from drift.catalog.builder.history import History, forks
from drift.catalog.builder.landings import Landing, landings
from drift.catalog.builder.model import Built, BuiltFix, BuiltRelease, BuiltVariant, Options, Report
from drift.catalog.builder.moves import Moves
from drift.catalog.builder.register import Entry
from drift.catalog.builder.releases import read_releases
from drift.catalog.builder.repo import Change, Repository, changed_paths
from drift.catalog.builder.reverts import Restores, Revert, copies, find_reverts, made_again, stand_ins, undone
from drift.catalog.model import version_key
from drift.errors import InputError
from drift.text import clip

__all__ = ["Built", "BuiltFix", "BuiltRelease", "BuiltVariant", "Options", "Report", "build"]


def build(repo: Repository, register: Sequence[Entry], options: Options, register_path: Path) -> Built:
    """Read releases from tags and fixes from the register, find the landings, and derive every fix's hashes."""
    report = Report()
    releases = read_releases(repo, options, report)
    lines = tuple(dict.fromkeys(line for _, line in options.line_rules))
    releases.sort(key=lambda r: (lines.index(r.line), version_key(r.version)))
    history = History(repo, releases)
    resolved = history.resolve([rev for entry in register for rev in entry.commits])
    named: dict[str, list[str]] = {}
    for entry in register:
        for j, rev in enumerate(entry.commits):
            if resolved[rev] is None:
                raise InputError(f"no commit {rev!r} in the repository (fix {entry.id})", source=register_path, where=f"{entry.where}.commits[{j}]")
        named[entry.id] = list(dict.fromkeys(c for rev in entry.commits if (c := resolved[rev]) is not None))
    changes = repo.changes(c for commits in named.values() for c in commits)
    discovered = discover(history, named, changes)
    found = discovered.found
    for fix_id, doubted in discovered.refused.items():
        report.refused.extend(
            f"{fix_id}: {f.commit[:12]} ({f.how}) changes none of the fix's files; not taken as a landing: name it in"
            " the register if it carries the fix" for f in doubted
        )
    released = {
        entry.id: list(dict.fromkeys([c for c in named[entry.id] if history.reach.get(c, 0)] + [f.commit for f in found.get(entry.id, [])]))
        for entry in register
    }
    carries = {
        entry.id: {**{c: frozenset({c}) for c in named[entry.id]}, **{f.commit: f.origins for f in found.get(entry.id, [])}}
        for entry in register
    }
    parts = _parts(history, named)
    landed = landings(history, {fix_id: commits for fix_id, commits in released.items() if commits}, carries, parts)
    extra = {c for lands in landed.values() for landing in lands for c in landing.commits if c not in changes}
    changes.update(repo.changes(extra))
    moves = Moves(history, options)
    reverted = _reverted(history, released, named, landed, changes, report)
    fixes = []
    for entry in register:
        lands = landed.get(entry.id, [])
        unreleased = [c for c in named[entry.id] if not history.reach.get(c, 0)]
        if lands:
            taken, undone_files = reverted.get(entry.id, (0, frozenset()))
            kept = [dataclasses.replace(landing, mask=landing.mask & ~taken) for landing in lands]
            fixes.append(build_fix(history, entry, kept, changes, options, report, moves, undone=taken, undone_files=undone_files))
            report.unreleased.extend(
                f"{entry.id}: {c[:12]} is in no release; the fix is judged by the landings found in releases" for c in unreleased
            )
            _describe(history, entry, lands, named[entry.id], found.get(entry.id, []), report)
        else:
            fixes.append(BuiltFix(entry, tuple(unreleased_variant(history, c, changes.get(c, []), options, entry.id, report) for c in unreleased)))
            report.unreleased.extend(
                f"{entry.id}: {c[:12]} is in no release and no commit carrying it is; judged by the commit's own files"
                " (every release lacks it)" for c in unreleased
            )
    return Built(options.product, lines, tuple(releases), tuple(fixes), report, forks(history, lines))


def _reverted(
    history: History, released: dict[str, list[str]], named: dict[str, list[str]], landed: dict[str, list[Landing]],
    changes: dict[str, list[Change]], report: Report,
) -> dict[str, tuple[int, frozenset[str]]]:
    """Per fix, the releases of its landings that hold a revert of it still in force, and the files those
    reverts change (`drift.catalog.builder.reverts`)."""
    reverts = find_reverts(history) if landed else None
    if not reverts or not reverts.found:
        return {}
    messages = gitlog.messages(history.repo, {c for commits in released.values() for c in commits})
    names: dict[str, dict[str, str]] = {}
    for fix_id, lands in landed.items():
        merges = [c for landing in lands for c in landing.commits]  # a merge that brought the fix: `git revert -m 1` undoes it
        own = {c: c for c in dict.fromkeys([*released[fix_id], *merges])}
        names[fix_id] = {**stand_ins(history, released[fix_id], messages, changes), **own}
    for fix_id, found in copies(history, reverts, {f: list(n) for f, n in names.items()}, changes).items():
        names[fix_id] = {**{target: names[fix_id].get(made, made) for target, made in found.items()}, **names[fix_id]}
    undone_by = [(r, names[fix_id][c]) for fix_id in names for r, c in reverts.naming(names[fix_id])]
    again = made_again(history, undone_by, {c for fix in names.values() for c in fix}, changes)
    restores = Restores(history, changes)
    taken: dict[str, tuple[int, list[Revert]]] = {}
    for fix_id, lands in landed.items():
        mask, taking = undone(history, names[fix_id], reverts, again, restores, named.get(fix_id, []))
        covered = 0
        for landing in lands:
            covered |= landing.mask
        if mask & covered:
            taken[fix_id] = (mask & covered, taking)
            report.reverted.extend(_said(history, fix_id, revert, history.reach[revert.commit] & mask & covered) for revert in taking[:_SHOWN])
            if len(taking) > _SHOWN:
                report.reverted.append(f"{fix_id}: and {len(taking) - _SHOWN:,} more reverts of it")
    changes.update(history.repo.changes(r.commit for _, taking in taken.values() for r in taking if r.commit not in changes))
    return {
        fix_id: (mask, frozenset(p for r in taking for p in changed_paths(changes.get(r.commit, []))))
        for fix_id, (mask, taking) in taken.items()
    }


_SHOWN = 5
"""Reverts of one fix printed, the others counted."""


def _said(history: History, fix_id: str, revert: Revert, mask: int) -> str:
    names = [f"{r.line} {r.version}" for i, r in enumerate(history.releases) if mask >> i & 1]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"{fix_id}: {revert.commit[:12]} ({clip(revert.subject, 80)}) reverts {revert.undoes[:12]}: {shown} hold"
        f"{'s' if len(names) == 1 else ''} it and {'is' if len(names) == 1 else 'are'} taken not to carry the fix"
        " (a fix made again in another form is not known as the fix: check those releases)"
    )


def _parts(history: History, named: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Per fix named by several commits that lie on one chain (the parts of one change, not the same change
    made twice), those commits. Commits of the releases' history are placed by one pass over it; others (not
    released) by git."""
    several = {fix_id: commits for fix_id, commits in named.items() if len(commits) > 1}
    bits, held = history.contains(c for commits in several.values() for c in commits)

    def before(x: str, y: str) -> bool:
        if x in bits and y in bits:
            return bool(held.get(y, 0) & bits[x])
        return history.repo.is_ancestor(x, y)  # not in the releases' history: git places it

    return {
        fix_id: frozenset(commits) for fix_id, commits in several.items()
        if all(before(x, y) or before(y, x) for i, x in enumerate(commits) for y in commits[i + 1 :])
    }


def _describe(history: History, entry: Entry, lands: list[Landing], named: list[str], found: list[Found], report: Report) -> None:
    """Per line: the commits that bring the fix there and how each was found; the lines that inherit it; and
    the lines with no commit of it."""
    how = {f.commit: f"found: {f.how}" for f in found}
    notes = []
    covered = 0
    own_lines = {landing.line for landing in lands}
    for landing in lands:
        covered |= landing.mask
        if landing.lacking:
            report.incomplete.append(
                f"{entry.id}: on {landing.line}, no copy of {', '.join(c[:12] for c in landing.lacking)} was found beside the rest of the"
                " fix: no release there is taken to carry it; name the commits that carry the rest in the register if they landed there"
            )
        said = []
        for commit in landing.commits:
            if commit in named:
                said.append(f"{commit[:12]} (named in the register)")
            elif commit in how:
                said.append(f"{commit[:12]} ({how[commit]})")
            else:
                said.append(f"{commit[:12]} (a merge that brings the fix into the line)")
        notes.append(f"{landing.line}: {', '.join(said)}")
    for line in history.lines_of_mask(covered):
        if line not in own_lines:
            notes.append(f"{line}: carried by its history (forked after the fix landed)")
    report.landings[entry.id] = notes
    since = min((t for c in [*named, *(c for landing in lands for c in landing.commits)] if (t := history.times.get(c)) is not None), default=0)
    missing = [line for line in history.lines if not history.line_bits[line] & covered and _latest(history, line) >= since]
    if missing:
        report.backports_missing[entry.id] = missing


def _latest(history: History, line: str) -> int:
    """The commit time of the line's latest release: a line whose releases all came before a fix was written
    cannot carry it, and no commit of it is missing there."""
    return max(history.times.get(r.tag.commit, 0) for r in history.releases if r.line == line)
