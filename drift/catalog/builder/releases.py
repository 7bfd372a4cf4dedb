"""Releases from tags: the deployed files of each release tag, each distinct blob hashed once."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from drift.catalog.builder.model import BuiltRelease, Options, Report
from drift.catalog.builder.repo import Repository, Tag
from drift.collect.archive import ArchiveError, content_sha256_bytes, is_archive_name
from drift.errors import InputError
from drift.inventory.names import display, recordable
from drift.paths import check_relpath
from drift.text import clip

_PRE_RELEASE = re.compile(r"\d[.\d]*[-_.]?(?:a|b|rc|alpha|beta|pre|preview|dev|snapshot)\d*(?![a-z])", re.IGNORECASE)
_BINARY_SUFFIXES = (".class", ".so", ".dll", ".exe", ".bin")
_CONFIG_SUFFIXES = (".properties", ".ini", ".yaml", ".yml", ".json", ".xml", ".conf", ".cfg", ".toml")


def read_releases(repo: Repository, options: Options, report: Report) -> list[BuiltRelease]:
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
    with_releases = {line for _, line, _ in chosen}
    for pattern, line in options.line_rules:
        if line not in with_releases:
            raise InputError(
                f"{clip(pattern.pattern)}={clip(line)}: no release tag is on that line (a typo?)", where="--line-of",
            )
    deployed = Deployed(options)
    trees: list[dict[str, str]] = []
    matched: set[str] = set()
    for tag, _, _ in chosen:
        tree = repo.files(tag.commit)
        unmatched = [g for g in options.includes if g not in matched]
        if unmatched:
            matched.update(g for g in unmatched if any(fnmatch.fnmatchcase(p, g) for p in tree))
        trees.append({path: oid for repo_path, oid in tree.items() if (path := deployed(repo_path)) is not None})
    if chosen:
        for glob in options.includes:
            if glob not in matched:
                raise InputError(f"{glob!r} matches no file at any release tag (a typo?): the catalog would judge nothing", where="--include")
    # Every distinct blob once, through one cat-file process.
    hashed = {oid: hashes_of(path, data) for (oid, data), path in with_paths(repo, trees)}
    releases = []
    modules = Modules(options)
    for (tag, line, version), tree in zip(chosen, trees, strict=True):
        files = {path: (_kind(path), *hashed[oid]) for path, oid in tree.items()}
        built = _artifacts(options.artifacts / version) if options.artifacts is not None else {}
        files.update(built)
        if not files:
            raise InputError(
                f"release {version} (tag {tag.name}) has no file under {', '.join(repr(g) for g in options.includes)}: nothing could be judged against it",
                where="--include",
            )
        releases.append(BuiltRelease(tag, line, version, dict(sorted(files.items())), frozenset(built), modules.of(files), tree))
        report.releases.append(f"{line} {version} ({tag.name}, {len(files)} files)")
    report.unmatched_modules.extend(f"{glob}={name}" for glob, name in modules.unmatched())
    return releases


def with_paths(repo: Repository, trees: list[dict[str, str]]) -> Iterator[tuple[tuple[str, bytes], str]]:
    """Each distinct blob of the trees with one deployed path that holds it (its name decides archives)."""
    path_of: dict[str, str] = {}
    for tree in trees:
        for path, oid in tree.items():
            path_of.setdefault(oid, path)
    for oid, data in repo.blobs(path_of):
        yield (oid, data), path_of[oid]


class Deployed:
    """Repository path -> deployed path (or None), each path worked out once."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._known: dict[str, str | None] = {}

    def __call__(self, repo_path: str) -> str | None:
        if repo_path not in self._known:
            self._known[repo_path] = deployed_path(repo_path, self.options)
        return self._known[repo_path]


class Modules:
    """Deployed path -> its module by the `--module` rules (first match wins), each path worked out once;
    remembers which rules' globs matched some path."""

    def __init__(self, options: Options) -> None:
        self.rules = options.modules
        self._known: dict[str, str | None] = {}
        self._matched: set[int] = set()

    def of(self, paths: Iterable[str]) -> dict[str, str]:
        """The module of each path that has one, in the paths' order."""
        found = {}
        for path in paths:
            if path not in self._known:
                hits = [i for i, (glob, _) in enumerate(self.rules) if fnmatch.fnmatchcase(path, glob)]
                self._matched.update(hits)
                self._known[path] = self.rules[hits[0]][1] if hits else None
            module = self._known[path]
            if module is not None:
                found[path] = module
        return found

    def unmatched(self) -> list[tuple[str, str]]:
        """The rules whose glob matched none of the paths seen."""
        return [rule for i, rule in enumerate(self.rules) if i not in self._matched]


def deployed_path(repo_path: str, options: Options) -> str | None:
    if not any(fnmatch.fnmatchcase(repo_path, glob) for glob in options.includes):
        return None
    for src, dst in options.maps:
        if repo_path.startswith(src):
            repo_path = dst + repo_path[len(src) :]
            break
    return check_relpath(recordable(repo_path)[0], source="--map", where=display(repo_path))


def hashes_of(path: str, data: bytes) -> tuple[str, str | None]:
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
            sha, content = hashes_of(rel, path.read_bytes())
            found[rel] = ("binary", sha, content)
    return found
