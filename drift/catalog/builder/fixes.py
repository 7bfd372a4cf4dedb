"""A fix's variants: the files its landings change and their hashes at the releases with and without it."""

from __future__ import annotations

import fnmatch

from drift.catalog.builder.history import History
from drift.catalog.builder.landings import Landing
from drift.catalog.builder.model import BuiltFix, BuiltRelease, BuiltVariant, Options, Report
from drift.catalog.builder.moves import Moves
from drift.catalog.builder.register import Entry
from drift.catalog.builder.releases import Deployed, deployed_path, hashes_of, with_paths
from drift.catalog.builder.repo import Change


def build_fix(
    history: History, entry: Entry, found: list[Landing], changes: dict[str, list[Change]], options: Options, report: Report,
    moves: Moves, *, undone: int = 0, undone_files: frozenset[str] = frozenset(),
) -> BuiltFix:
    """One variant per landing: the deployed files its commits change, their hashes where it is and where no
    commit of the fix is. `undone` holds the releases a revert took the fix from (`drift.catalog.builder.reverts`):
    their versions of the files are unfixed where no release with the fix holds the same bytes. The files those
    reverts change (`undone_files`, repository paths) are evidence too: a revert may take the fix out of a file
    the fix's commits never touched (where the code moved, or a copy of it), leaving theirs as the fix has them."""
    releases, reach = history.releases, history.reach
    any_commit = 0
    for landing in found:
        for commit in landing.commits:
            any_commit |= reach[commit]
    none_mask = ((1 << len(releases)) - 1) & ~any_commit
    sources = Sources(options)
    reverted_paths = {p for r in undone_files if (p := deployed_path(r, options)) is not None}
    variants = []
    moved_on: dict[tuple[str, str], list[str]] = {}
    for landing in found:
        paths: dict[str, None] = {}
        appearing: set[str] = set()  # added by the landing (or renamed to): absent before the fix
        deleted: set[str] = set()  # removed by the landing itself (or renamed from)
        repo_paths: set[str] = set()
        for commit in landing.commits:
            for change in changes.get(commit, []):
                repo_paths.update(p for p in (change.path, change.old) if p is not None)
                for repo_path, added, gone in ((change.path, change.status in "ARC", change.status == "D"), (change.old, False, change.status == "R")):
                    if repo_path is not None and (deployed := deployed_path(repo_path, options)) is not None:
                        paths[deployed] = None
                        if added:
                            appearing.add(deployed)
                        if gone:
                            deleted.add(deployed)
        followed = moves.later_names(paths, landing)
        artifacts, new_artifacts = _shipped_artifacts(landing.line, releases, landing.mask, sources.artifacts_of(repo_paths))
        paths.update(dict.fromkeys(artifacts))
        appearing.update(new_artifacts)
        # A file the landing deletes, beside other evidence, proves nothing where a release without the fix
        # lacks it too (it came later); alone, its absence is all the fix shows.
        deletions_alone = not followed and not entry.config and all(path in deleted for path in paths)
        # The code the fix changes lived in another file at releases without the fix that lack the path (split
        # out of it, or moved, where git sees no rename): lacking the path there is having the code unfixed.
        for home, origins in moves.earlier_homes(paths, landing, none_mask).items():
            appearing.update(origins)
            report.names.append(
                f"{entry.id}: {home} holds the code the fix touched in {', '.join(origins)} at releases without the fix that lack"
                f" {'it' if len(origins) == 1 else 'them'}: a release without {'it' if len(origins) == 1 else 'them'} is unfixed"
            )
        own = {
            path: _entry(
                path, releases, landing.mask, none_mask, entry.id, report,
                absence=path in appearing or (path in deleted and not deletions_alone), deletes=path in deleted, undone=undone,
                renamed=moves.renamed_away(path, undone) if undone else 0,
            )
            for path in paths
        }
        for path, origins in followed.items():
            moved_on.setdefault((", ".join(origins), path), []).append(landing.line)
            inherited: dict[str, list[str]] = {}
            for origin in origins:
                for token, name in _unfixed_at(origin, releases, none_mask):
                    inherited.setdefault(token, []).append(f"{name} (at {origin})")
            own[path] = _entry(
                path, releases, landing.mask, none_mask, entry.id, report, absence=True, deletes=False, inherited=inherited, undone=undone,
            )
        for evidence in sorted(reverted_paths - own.keys()):
            own[evidence] = _entry(
                evidence, releases, landing.mask, none_mask, entry.id, report, absence=False, deletes=False, undone=undone,
            )
        for path, origins in moves.other_names(paths, none_mask).items():
            if path not in own:
                report.names.append(
                    f"{entry.id}: {path} is judged as {', '.join(origins)} in releases without the fix (git sees one renamed to the other)"
                )
                own[path] = _entry(path, releases, landing.mask, none_mask, entry.id, report, absence=False, deletes=False, other_name=True)
        files = tuple(own[path] for path in sorted(own))
        variants.append(BuiltVariant(landing.line, _fixed_in(landing.line, releases, landing.mask), landing.commits, files))
    for (old_names, path), lines in moved_on.items():
        report.names.append(f"{entry.id}: {old_names} is judged as {path} on {', '.join(dict.fromkeys(lines))} where it moved (it holds the fix's lines)")
    if found and not any(v.files for v in variants) and not entry.config:
        report.no_deployed_files.append(entry.id)
    return BuiltFix(entry, tuple(variants))


def unreleased_variant(
    history: History, commit: str, changes: list[Change], options: Options, fix_id: str, report: Report
) -> BuiltVariant:
    """A landing no release contains yet (a hot fix shipped outside any release): `fixed` is the commit's own
    version of each file it changes, `unfixed` every release's, so every tenant without it is `missing`,
    never `not-applicable`. Its line is that of the latest release it is built on."""
    releases = history.releases
    ancestors = set(history.repo.run("rev-list", commit).decode("ascii").split())
    based_on = [i for i, r in enumerate(releases) if r.tag.commit in ancestors]
    line = releases[max(based_on, key=lambda i: (releases[i].tag.date, i))].line if based_on else releases[0].line if releases else ""
    deployed = Deployed(options)
    paths = {d: None for change in changes for p in (change.path, change.old) if p is not None and (d := deployed(p)) is not None}
    tree = {d: oid for p, oid in history.repo.files(commit).items() if (d := deployed(p)) in paths}
    at_commit = {oid: hashes_of(path, data) for (oid, data), path in with_paths(history.repo, [tree])}
    files = []
    for path in sorted(paths):
        held = at_commit.get(tree[path]) if path in tree else None
        fixed = ["absent"] if held is None else [f"sha256:{held[0]}"] + ([f"content-sha256:{held[1]}"] if held[1] else [])
        added = any(deployed(c.path) == path and c.status in "ARC" for c in changes)
        _, _, unfixed = _entry(path, releases, 0, (1 << len(releases)) - 1, fix_id, report, absence=added, deletes=False)
        both = [t for t in fixed if t in unfixed and t != "absent"]
        for token in both:
            report.conflicts.append(f"{fix_id}: {path}: {token} is in releases without the fix too; kept as unfixed")
        files.append((path, tuple(t for t in fixed if t not in both), unfixed))
    return BuiltVariant(line, "", (commit,), tuple(files))


class Sources:
    """`--artifact-source GLOB=ARTIFACT`: which built outputs the repository paths a landing changes go into."""

    def __init__(self, options: Options) -> None:
        self.rules = options.artifact_sources

    def artifacts_of(self, repo_paths: set[str]) -> tuple[set[str], list[str]]:
        """The artifact globs the paths feed, and every artifact glob some rule names."""
        fed = {artifact for glob, artifact in self.rules if any(fnmatch.fnmatchcase(p, glob) for p in repo_paths)}
        return fed, [artifact for _, artifact in self.rules]


def _shipped_artifacts(line: str, releases: list[BuiltRelease], mask: int, sources: tuple[set[str], list[str]]) -> tuple[list[str], list[str]]:
    """Built outputs that the landing's shipping release changed (their content hash, or bytes for a file that
    is not an archive, differs from the release of that line before it), and which of them appeared or
    disappeared there. An output that an `--artifact-source` rule names goes only to landings that change
    one of its sources; a rebuilt output with the same content goes to none."""
    on_line = [i for i, r in enumerate(releases) if r.line == line]
    shipping = next((i for i in on_line if mask >> i & 1), None)
    if shipping is None:
        return [], []
    before = [i for i in on_line if i < shipping]
    if not before:
        return [], []  # nothing on this line to compare with: no change can be attributed
    new, old = releases[shipping], releases[before[-1]]
    fed, named = sources

    def content(files: dict[str, tuple[str, str, str | None]], path: str) -> str | None:
        held = files.get(path)
        return None if held is None else held[2] or held[1]

    def attributed(path: str) -> bool:
        rules = [g for g in named if fnmatch.fnmatchcase(path, g)]
        return not rules or any(fnmatch.fnmatchcase(path, g) for g in fed)

    changed = sorted(
        p for p in new.artifacts | old.artifacts if content(new.files, p) != content(old.files, p) and attributed(p)
    )
    return changed, [p for p in changed if p not in new.files or p not in old.files]


def _line_order(line: str, releases: list[BuiltRelease]) -> int:
    return next(i for i, r in enumerate(releases) if r.line == line)


def _fixed_in(line: str, releases: list[BuiltRelease], mask: int) -> str:
    containing = [i for i in range(len(releases)) if mask >> i & 1]
    on_line = [i for i in containing if releases[i].line == line]
    return releases[(on_line or containing)[0]].version if containing else ""


def _entry(
    path: str, releases: list[BuiltRelease], fixed_mask: int, unfixed_mask: int, fix_id: str, report: Report, *,
    absence: bool, deletes: bool, inherited: dict[str, list[str]] | None = None, other_name: bool = False, undone: int = 0,
    renamed: int = 0,
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A file's hashes at the releases with the landing (fixed) and with no commit of the fix (unfixed).

    `absent` stands in `fixed` only where the landing itself deletes the file. A release with the landing that
    lacks a file the landing did not delete (removed later by other commits, or never there) proves nothing:
    `absent` then stands in both lists. In `unfixed` it stands otherwise only for a file the landing adds, or
    deletes beside other evidence (a release without the fix that never had a file the fix deletes proves
    nothing either), or whose code another file holds at releases without the fix that lack it (`absence`,
    see `Moves.earlier_homes`); a release without the fix that lacks a file the fix merely changes (another
    line never had it, a module was left out) tells nothing, and a tenant without the file is `not-deployed`,
    not `unfixed`.
    A release whose version of the file is also held by a release without the fix (a revert, a rebuilt
    archive with unchanged content) adds none of its hashes to `fixed`: they are reported and stay unfixed.
    A later name of a fix's file `inherits` the old name's hashes from releases without the fix: they are
    unfixed at the new name too (a stale copy moved there, or the old bytes a release put back there).
    An `other_name` of a fix's file (a name git sees it renamed from or to, held by a release without the
    fix) holds only its versions: a release with the fix that lacks it says nothing (no `absent` in either list).
    A release in `undone` (a revert took the fix from it) adds its versions to `unfixed`, but for those a release
    with the fix holds (the revert left that file as the fix has it); lacking the file there, where it holds a
    name git sees it renamed to or from (`renamed`), puts `absent` in `unfixed` the same way (a release that
    dropped the file, a module, says nothing).
    """
    fixed: dict[str, list[str]] = {}
    unfixed: dict[str, list[str]] = {t: list(names) for t, names in (inherited or {}).items()}
    carrying: list[tuple[str, list[str]]] = []
    reverted: list[tuple[str, list[str]]] = []
    ambiguous = False
    for i, release in enumerate(releases):
        in_fixed, in_unfixed = fixed_mask >> i & 1, unfixed_mask >> i & 1
        if not (in_fixed or in_unfixed or undone >> i & 1):
            continue
        held = release.files.get(path)
        name = f"{release.line} {release.version}"
        if not (in_fixed or in_unfixed):  # a revert took the fix from it
            if held is not None:
                reverted.append((f"{name} (reverted)", _tokens(held)))
            elif renamed >> i & 1:  # the file under another name there
                reverted.append((f"{name} (reverted)", ["absent"]))
            continue
        if held is None:
            if in_fixed and not other_name:
                if deletes:
                    carrying.append((name, ["absent"]))
                else:
                    ambiguous = True
            elif absence:
                unfixed.setdefault("absent", []).append(name)
            continue
        tokens = _tokens(held)
        if in_fixed:
            carrying.append((name, tokens))
        else:
            for token in tokens:
                unfixed.setdefault(token, []).append(name)
    for name, tokens in carrying:
        clash = [t for t in tokens if t in unfixed and t != "absent"]
        if clash:
            report.conflicts.append(
                f"{fix_id}: {path}: at {name}, which has the fix, {clash[0]} is also in releases without it"
                f" ({', '.join(unfixed[clash[0]][:5])}); kept as unfixed"
            )
            continue
        for token in tokens:
            fixed.setdefault(token, []).append(name)
    for name, tokens in reverted:
        for token in tokens:
            if token not in fixed:
                unfixed.setdefault(token, []).append(name)
    if ambiguous:
        fixed.setdefault("absent", [])
        unfixed.setdefault("absent", [])
    return path, tuple(fixed), tuple(unfixed)


def _unfixed_at(path: str, releases: list[BuiltRelease], unfixed_mask: int) -> list[tuple[str, str]]:
    """(token, release) for each hash the path has at the releases with no commit of the fix."""
    found: list[tuple[str, str]] = []
    for i, release in enumerate(releases):
        held = release.files.get(path)
        if unfixed_mask >> i & 1 and held is not None:
            found.extend((t, f"{release.line} {release.version}") for t in _tokens(held))
    return found


def _tokens(held: tuple[str, str, str | None]) -> list[str]:
    """A release file's hashes as catalog tokens: its sha256, and its content hash where it is an archive."""
    return [f"sha256:{held[1]}"] + ([f"content-sha256:{held[2]}"] if held[2] else [])
