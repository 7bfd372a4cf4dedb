"""Build a fix catalog from a product's git history and the vendor's fix register (`drift catalog build`)."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drift.archive import ArchiveError, content_sha256_bytes, is_archive_name
from drift.build.register import Entry
from drift.build.repo import Change, Repository, Tag
from drift.catalog.model import version_key
from drift.errors import InputError
from drift.paths import check_relpath

_PRE_RELEASE = re.compile(r"\d[.\d]*[-_.]?(?:a|b|rc|alpha|beta|pre|preview|dev|snapshot)\d*(?![a-z])", re.IGNORECASE)
_CHERRY = re.compile(r"\(cherry picked from commit ([0-9a-f]{7,64})\)")
_BACKPORT = re.compile(r"^Backport of ([0-9a-f]{7,64})\b", re.MULTILINE | re.IGNORECASE)
_BINARY_SUFFIXES = (".class", ".so", ".dll", ".exe", ".bin")
_CONFIG_SUFFIXES = (".properties", ".ini", ".yaml", ".yml", ".json", ".xml", ".conf", ".cfg", ".toml")


@dataclass(frozen=True)
class Options:
    """How to read the repository."""

    includes: tuple[str, ...]
    """Globs of repository paths that are deployed (`*` crosses `/`)."""
    line_rules: tuple[tuple[re.Pattern[str], str], ...]
    """(tag pattern, line): the first pattern found in a tag's name gives its line."""
    tags: re.Pattern[str] = re.compile(r"^v?\d")
    """Tags that are releases."""
    maps: tuple[tuple[str, str], ...] = ()
    """(repository prefix, deployed prefix) rewrites, the first that applies."""
    artifacts: Path | None = None
    """A folder with one folder per release version holding its built outputs."""
    pre_releases: bool = False
    """Whether pre-release tags (rc, beta, ...) are releases too."""
    product: str = "product"
    """The product's name in catalog.yaml."""


@dataclass(frozen=True)
class BuiltRelease:
    """A release as built: its files' tokens by deployed path."""

    tag: Tag
    line: str
    version: str
    files: dict[str, tuple[str, str, str | None]]
    """Deployed path -> (kind, sha256, content-sha256 or None)."""
    artifacts: frozenset[str] = frozenset()
    """The paths among `files` that came from `--artifacts` (built outputs, not the repository)."""


@dataclass
class Report:
    """What the build found and could not find, for the user to read (and the register to be completed)."""

    releases: list[str] = field(default_factory=list)
    skipped_tags: list[str] = field(default_factory=list)
    backports_found: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    backports_missing: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    no_deployed_files: list[str] = field(default_factory=list)
    unreleased: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuiltVariant:
    line: str
    fixed_in: str
    commits: tuple[str, ...]
    files: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    """(path, fixed tokens, unfixed tokens)."""


@dataclass(frozen=True)
class BuiltFix:
    entry: Entry
    variants: tuple[BuiltVariant, ...]


@dataclass(frozen=True)
class Built:
    """The whole catalog, ready to be written."""

    product: str
    lines: tuple[str, ...]
    releases: tuple[BuiltRelease, ...]
    fixes: tuple[BuiltFix, ...]
    report: Report
    forked_from: dict[str, str] = field(default_factory=dict)
    """Line -> the line whose release its first release was built on."""


def build(repo: Repository, register: Sequence[Entry], options: Options, register_path: Path) -> Built:
    """Read releases from tags and fixes from the register, and derive every fix's hashes."""
    report = Report()
    releases = _releases(repo, options, report)
    lines = tuple(dict.fromkeys(line for _, line in options.line_rules))
    releases.sort(key=lambda r: (lines.index(r.line), version_key(r.version)))
    history = _History(repo, releases)
    history.resolve([rev for entry in register for rev in entry.commits])
    landings = [_landings(history, entry, register_path, report) for entry in register]
    changes = repo.changes(c for released, unreleased in landings for c in released + unreleased)
    by_hash: dict[int, dict[str, list[str]]] = {}
    fixes = tuple(
        _fix(history, entry, released, changes, options, report, by_hash)
        if released
        else BuiltFix(entry, tuple(_unreleased(history, c, changes.get(c, []), options, entry.id, report) for c in unreleased))
        for entry, (released, unreleased) in zip(register, landings, strict=True)
    )
    return Built(options.product, lines, tuple(releases), fixes, report, _forks(history, lines))


def _forks(history: _History, lines: tuple[str, ...]) -> dict[str, str]:
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


class _History:
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


def _landings(history: _History, entry: Entry, register_path: Path, report: Report) -> tuple[list[str], list[str]]:
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


def _releases(repo: Repository, options: Options, report: Report) -> list[BuiltRelease]:
    chosen: list[tuple[Tag, str, str]] = []
    seen: dict[tuple[str, str], str] = {}
    tags, not_commits = repo.tags()
    report.skipped_tags.extend(f"{name}: names no commit" for name in not_commits if options.tags.search(name.split(" ")[0]))
    for tag in sorted(tags, key=lambda t: t.name):
        if not options.tags.search(tag.name):
            continue
        if not options.pre_releases and _PRE_RELEASE.search(tag.name):
            report.skipped_tags.append(f"{tag.name}: a pre-release (--pre-releases takes it)")
            continue
        line = next((line for pattern, line in options.line_rules if pattern.search(tag.name)), None)
        if line is None:
            raise InputError(f"tag {tag.name!r} matches no --line-of rule", where="--line-of")
        version = tag.name[1:] if tag.name[:1] in "vV" and tag.name[1:2].isdigit() else tag.name
        if (line, version) in seen:
            raise InputError(f"tags {seen[(line, version)]!r} and {tag.name!r} are both release {version} of {line}", where="--tags")
        seen[(line, version)] = tag.name
        chosen.append((tag, line, version))
    deployed = _Deployed(options)
    trees: list[dict[str, str]] = []
    for tag, _, _ in chosen:
        trees.append({path: oid for repo_path, oid in repo.files(tag.commit).items() if (path := deployed(repo_path)) is not None})
    # Every distinct blob once, through one cat-file process.
    hashed = {oid: _hashes(path, data) for (oid, data), path in _with_paths(repo, trees)}
    releases = []
    for (tag, line, version), tree in zip(chosen, trees, strict=True):
        files = {path: (_kind(path), *hashed[oid]) for path, oid in tree.items()}
        built = _artifacts(options.artifacts / version) if options.artifacts is not None else {}
        files.update(built)
        releases.append(BuiltRelease(tag, line, version, dict(sorted(files.items())), frozenset(built)))
        report.releases.append(f"{line} {version} ({tag.name}, {len(files)} files)")
    return releases


def _with_paths(repo: Repository, trees: list[dict[str, str]]) -> Iterator[tuple[tuple[str, bytes], str]]:
    """Each distinct blob of the trees with one deployed path that holds it (its name decides archives)."""
    path_of: dict[str, str] = {}
    for tree in trees:
        for path, oid in tree.items():
            path_of.setdefault(oid, path)
    for oid, data in repo.blobs(path_of):
        yield (oid, data), path_of[oid]


class _Deployed:
    """Repository path -> deployed path (or None), each path worked out once."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._known: dict[str, str | None] = {}

    def __call__(self, repo_path: str) -> str | None:
        if repo_path not in self._known:
            self._known[repo_path] = _deployed(repo_path, self.options)
        return self._known[repo_path]


def _deployed(repo_path: str, options: Options) -> str | None:
    if not any(fnmatch.fnmatchcase(repo_path, glob) for glob in options.includes):
        return None
    for src, dst in options.maps:
        if repo_path.startswith(src):
            repo_path = dst + repo_path[len(src) :]
            break
    return check_relpath(repo_path, source="--map", where=repo_path)


def _hashes(path: str, data: bytes) -> tuple[str, str | None]:
    content = None
    if is_archive_name(path):
        try:
            content = content_sha256_bytes(data)
        except ArchiveError:
            content = None
    return hashlib.sha256(data).hexdigest(), content


def _kind(path: str) -> str:
    if is_archive_name(path) or path.endswith(_BINARY_SUFFIXES):
        return "binary"
    return "config" if path.lower().endswith(_CONFIG_SUFFIXES) else "source"


def _artifacts(folder: Path) -> dict[str, tuple[str, str, str | None]]:
    if not folder.is_dir():
        return {}
    found: dict[str, tuple[str, str, str | None]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = check_relpath(path.relative_to(folder).as_posix(), source=folder, where="--artifacts")
            sha, content = _hashes(rel, path.read_bytes())
            found[rel] = ("binary", sha, content)
    return found


def _fix(
    history: _History, entry: Entry, commits: list[str], changes: dict[str, list[Change]], options: Options, report: Report,
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
                    if repo_path is not None and (deployed := _deployed(repo_path, options)) is not None:
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


def _unreleased(
    history: _History, commit: str, changes: list[Change], options: Options, fix_id: str, report: Report
) -> BuiltVariant:
    """A landing no release contains yet (a hot fix shipped outside any release): `fixed` is the commit's own
    version of each file it changes, `unfixed` every release's, so every tenant without it is `missing`,
    never `not-applicable`. Its line is that of the latest release it is built on."""
    releases = history.releases
    ancestors = history.repo.ancestry({commit: 1})
    based_on = [i for i, r in enumerate(releases) if r.tag.commit in ancestors]
    line = releases[max(based_on, key=lambda i: (releases[i].tag.date, i))].line if based_on else releases[0].line if releases else ""
    deployed = _Deployed(options)
    paths = {d: None for change in changes for p in (change.path, change.old) if p is not None and (d := deployed(p)) is not None}
    tree = {d: oid for p, oid in history.repo.files(commit).items() if (d := deployed(p)) in paths}
    at_commit = {oid: _hashes(path, data) for (oid, data), path in _with_paths(history.repo, [tree])}
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


def _references(message: str) -> list[str]:
    """Commit ids a message names as its origin: `(cherry picked from commit …)` and `Backport of …`."""
    return _CHERRY.findall(message) + _BACKPORT.findall(message)


def _backports(history: _History, entry: Entry, main: str, report: Report) -> list[str]:
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
