"""A fix's variants: the files its landings change and their hashes at the releases with and without it."""

from __future__ import annotations

from drift.catalog.builder.history import History
from drift.catalog.builder.model import BuiltFix, BuiltRelease, BuiltVariant, Options, Report
from drift.catalog.builder.register import Entry
from drift.catalog.builder.releases import Deployed, deployed_path, hashes_of, with_paths
from drift.catalog.builder.repo import Change


def build_fix(
    history: History, entry: Entry, commits: list[str], changes: dict[str, list[Change]], options: Options, report: Report,
    by_hash: dict[int, dict[str, list[str]]],
) -> BuiltFix:
    releases, reach = history.releases, history.reach
    by_line: dict[str, list[str]] = {}
    for commit in commits:
        by_line.setdefault(history.line_of(commit), []).append(commit)
    any_commit = 0
    for commit in commits:
        any_commit |= reach[commit]
    none_mask = ((1 << len(releases)) - 1) & ~any_commit
    variants = []
    for line, line_commits in sorted(by_line.items(), key=lambda item: _line_order(item[0], releases)):
        all_mask = (1 << len(releases)) - 1
        for commit in line_commits:
            all_mask &= reach[commit]
        paths: dict[str, None] = {}
        appearing: set[str] = set()  # added by the landing (or renamed to): absent before the fix
        for commit in line_commits:
            for change in changes.get(commit, []):
                for repo_path, added in ((change.path, change.status in "ARC"), (change.old, False)):
                    if repo_path is not None and (deployed := deployed_path(repo_path, options)) is not None:
                        paths[deployed] = None
                        if added:
                            appearing.add(deployed)
        followed = _followed(paths, releases, all_mask, by_hash)
        paths.update(dict.fromkeys(followed))
        appearing.update(followed)
        artifacts, new_artifacts = _shipped_artifacts(line, releases, all_mask)
        paths.update(dict.fromkeys(artifacts))
        appearing.update(new_artifacts)
        files = tuple(
            _entry(path, releases, all_mask, none_mask, entry.id, report, absence=path in appearing) for path in sorted(paths)
        )
        variants.append(BuiltVariant(line, _fixed_in(line, releases, all_mask), tuple(line_commits), files))
    if commits and not any(v.files for v in variants) and not entry.config:
        report.no_deployed_files.append(entry.id)
    return BuiltFix(entry, tuple(variants))


def unreleased_variant(
    history: History, commit: str, changes: list[Change], options: Options, fix_id: str, report: Report
) -> BuiltVariant:
    """A landing no release contains yet (a hot fix shipped outside any release): `fixed` is the commit's own
    version of each file it changes, `unfixed` every release's, so every tenant without it is `missing`,
    never `not-applicable`. Its line is that of the latest release it is built on."""
    releases = history.releases
    ancestors = history.repo.ancestry({commit: 1})
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
        _, _, unfixed = _entry(path, releases, 0, (1 << len(releases)) - 1, fix_id, report, absence=added)
        both = [t for t in fixed if t in unfixed and t != "absent"]
        for token in both:
            report.conflicts.append(f"{fix_id}: {path}: {token} is in releases without the fix too; kept as unfixed")
        files.append((path, tuple(t for t in fixed if t not in both), unfixed))
    return BuiltVariant(line, "", (commit,), tuple(files))


def _shipped_artifacts(line: str, releases: list[BuiltRelease], mask: int) -> tuple[list[str], list[str]]:
    """Built outputs that the landing's shipping release changed (those that differ between the first
    release of the line that carries it and the release of that line before it), and which of them
    appeared or disappeared there."""
    on_line = [i for i, r in enumerate(releases) if r.line == line]
    shipping = next((i for i in on_line if mask >> i & 1), None)
    if shipping is None:
        return [], []
    before = [i for i in on_line if i < shipping]
    if not before:
        return [], []  # nothing on this line to compare with: no change can be attributed
    new, old = releases[shipping], releases[before[-1]]
    changed = sorted(p for p in new.artifacts | old.artifacts if new.files.get(p) != old.files.get(p))
    return changed, [p for p in changed if p not in new.files or p not in old.files]


def _line_order(line: str, releases: list[BuiltRelease]) -> int:
    return next(i for i, r in enumerate(releases) if r.line == line)


def _fixed_in(line: str, releases: list[BuiltRelease], mask: int) -> str:
    containing = [i for i in range(len(releases)) if mask >> i & 1]
    on_line = [i for i in containing if releases[i].line == line]
    return releases[(on_line or containing)[0]].version if containing else ""


def _followed(paths: dict[str, None], releases: list[BuiltRelease], mask: int, by_hash: dict[int, dict[str, list[str]]]) -> list[str]:
    """Later names of the paths: where a release that carries the fix lacks a path, the files that have a
    hash the path had and never stood beside it in one release (a rename without change). A path with no
    such file was removed."""
    found: list[str] = []
    for path in paths:
        holding = [r for r in releases if path in r.files]
        known = {r.files[path][1] for r in holding}
        for i, release in enumerate(releases):
            if mask >> i & 1 and path not in release.files:
                index = by_hash.get(i)
                if index is None:
                    index = by_hash[i] = {}
                    for other, (_, sha, _) in release.files.items():
                        index.setdefault(sha, []).append(other)
                for sha in known:
                    found.extend(
                        o for o in index.get(sha, ())
                        if o not in paths and o not in found and not any(o in r.files for r in holding)
                    )
    return found


def _entry(
    path: str, releases: list[BuiltRelease], fixed_mask: int, unfixed_mask: int, fix_id: str, report: Report, *, absence: bool
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A file's hashes at the releases with the landing (fixed) and with no commit of the fix (unfixed).

    `absent` stands in `fixed` wherever a release with the landing lacks the file (the fix deleted it, or
    it went later). In `unfixed` it stands only for a file the landing adds (`absence`): a release without
    the fix that lacks a file the fix merely changes (another line never had it, a module was left out)
    tells nothing, and a tenant without the file is `not-deployed`, not `unfixed`.
    """
    fixed: dict[str, list[str]] = {}
    unfixed: dict[str, list[str]] = {}
    for i, release in enumerate(releases):
        target = fixed if fixed_mask >> i & 1 else unfixed if unfixed_mask >> i & 1 else None
        if target is None:
            continue
        held = release.files.get(path)
        if held is None and target is unfixed and not absence:
            continue
        tokens = ["absent"] if held is None else [f"sha256:{held[1]}"] + ([f"content-sha256:{held[2]}"] if held[2] else [])
        for token in tokens:
            target.setdefault(token, []).append(f"{release.line} {release.version}")
    for token in [t for t in fixed if t in unfixed and t != "absent"]:
        report.conflicts.append(
            f"{fix_id}: {path}: {token} is in releases with the fix ({', '.join(fixed[token])}) and without it"
            f" ({', '.join(unfixed[token])}); kept as unfixed"
        )
        del fixed[token]
    return path, tuple(fixed), tuple(unfixed)
