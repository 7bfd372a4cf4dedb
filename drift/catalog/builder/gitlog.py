"""Commit messages, the commits that touch some paths, and patch ids per file: what backport discovery reads.

Each question is one `git log` over the commits it is about (never the whole history): messages of the
candidate commits, the candidates that touch a fix's files, and the diffs of those candidates and the fixes.
Messages are kept as raw bytes for matching and decoded for people: by the commit's `encoding` header where
git re-encoded them, else as UTF-8 with replacement characters. Patch ids are drift's own, computed like
`git patch-id --stable` (changed lines with whitespace removed, line numbers and context ignored), per file
and, over the sorted per-file ids, per commit: a backport that conflicts in one file still matches in the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from drift.catalog.builder.repo import Repository, text

_MIN_FILE_PATCH = 24
"""A file's changed lines (whitespace removed) must hold at least this many bytes for its patch id alone to
tie two commits: a one-word change (a version number) would tie unrelated commits."""


@dataclass(frozen=True, slots=True)
class Message:
    """A commit message: as stored (for matching) and as text (for people)."""

    raw: bytes
    shown: str
    author_time: int
    """When it was written (seconds since the epoch): a cherry-pick keeps its original's."""
    author: bytes = b""
    """Its author's email, as stored."""

    def subject(self) -> bytes:
        """The first line, without a leading `[1.1]`-style tag that backports carry."""
        first = self.raw.split(b"\n", 1)[0].strip()
        while first.startswith(b"[") and b"]" in first:
            first = first[first.index(b"]") + 1 :].strip()
        return first


@dataclass(frozen=True, slots=True)
class PatchIds:
    """A commit's patch id, and the patch id of each file it changes (those with enough content alone)."""

    commit: str
    files: dict[str, str]
    """Repository path -> the patch id of its diff."""


def decode_message(raw: bytes, encoding: str) -> str:
    """A message as text: UTF-8 if it is, else its declared encoding, else UTF-8 with replacements."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if encoding:
        try:
            return raw.decode(encoding, "replace")
        except LookupError:
            pass
    return raw.decode("utf-8", "replace")


def messages(repo: Repository, commits: Iterable[str]) -> dict[str, Message]:
    """The message of each commit (one `log --no-walk --stdin -z`)."""
    wanted = sorted(set(commits))
    if not wanted:
        return {}
    out = repo.run(
        "log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H%x00%e%x00%at%x00%ae%x00%B", stdin=("\n".join(wanted) + "\n").encode(),
    )
    fields = out.split(b"\0")
    result = {}
    for i in range(0, len(fields) - 4, 5):
        sha = fields[i].strip().decode("ascii")
        raw = fields[i + 4]
        encoding = fields[i + 1].decode("ascii", "replace").strip()
        result[sha] = Message(raw, decode_message(raw, encoding), int(fields[i + 2] or b"0"), fields[i + 3])
    return result


def touching(repo: Repository, tips: Iterable[str], since: int | None, paths: Iterable[str]) -> dict[str, set[str]]:
    """The commits (merges left out) reachable from the tips, committed at or after `since` (None: all; git
    stops its walk at a commit dated before `since`, so one dated early hides those behind it), that change
    one of the paths, each with those of the paths it changes. One `log --name-only`, the paths matched here:
    git's own matching of hundreds of pathspecs took twenty times as long as listing every change."""
    wanted_paths = set(paths)
    wanted_tips = sorted(set(tips))
    if not wanted_paths or not wanted_tips:
        return {}
    dated = [] if since is None else [f"--since=@{since}"]
    # Each commit is `NUL id NUL`, then `\n` and its paths, each ended by NUL: a path may hold any byte but NUL,
    # and is never empty, so an empty field is where a commit starts.
    fields = repo.run("log", "-z", "--format=%x00%H", "--name-only", "--no-renames", "--no-merges", *dated, *wanted_tips, "--").split(b"\0")
    result: dict[str, set[str]] = {}
    i = 0
    while i + 1 < len(fields):
        if fields[i]:
            i += 1
            continue
        head, i = fields[i + 1], i + 2
        changed: set[str] = set()
        first = True
        while i < len(fields) and fields[i]:
            path = fields[i][1:] if first and fields[i].startswith(b"\n") else fields[i]
            first = False
            changed.add(text(path))
            i += 1
        changed &= wanted_paths
        if changed:
            result[head.strip().decode("ascii")] = changed
    return result


def patch_ids(repo: Repository, commits: Iterable[str]) -> dict[str, PatchIds]:
    """Each commit's patch ids (from `file_diffs`)."""
    return {commit: _ids(files) for commit, files in file_diffs(repo, commits).items()}


def file_diffs(repo: Repository, commits: Iterable[str]) -> dict[str, dict[str, list[bytes]]]:
    """Each commit's diff against its first parent, per file (by its path): its added, removed and context
    lines as written (`+++`, `---`, `@@` and `index` lines left out), a binary file's `index` line (its blob
    ids) in their place. One `log -p --no-walk --stdin` with 3 lines of context, whatever the repository's
    configuration says."""
    wanted = sorted(set(commits))
    if not wanted:
        return {}
    out = repo.run(
        "log", "--no-walk=unsorted", "--stdin", "-p", "-U3", "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv",
        "--diff-merges=first-parent", "--format=%x01%H", stdin=("\n".join(wanted) + "\n").encode(),
    )
    result = {}
    for record in (b"\n" + out).split(b"\n\x01")[1:]:
        head, _, diff = record.partition(b"\n")
        files: dict[str, list[bytes]] = {}
        lines: list[bytes] = []
        index = b""
        for line in diff.split(b"\n"):
            if line.startswith(b"diff --git "):
                lines = files.setdefault(_path_of(line), [])
            elif line.startswith(b"index "):
                index = line
            elif line.startswith(b"Binary files "):
                lines.append(index)  # the blob ids: the same bytes give the same id
            elif line[:1] in (b"+", b"-", b" ", b"\\") and not line.startswith((b"+++ ", b"--- ")):
                lines.append(line)
        result[head.strip().decode("ascii")] = files
    return result


def _ids(files: dict[str, list[bytes]]) -> PatchIds:
    """Patch ids from `file_diffs`' lines: the changed lines with white space removed (context left out), and
    a binary file's blob ids."""
    bodies = {path: b"\n".join(_changed(line) for line in lines if line[:1] in (b"+", b"-") or line.startswith(b"index ")) for path, lines in files.items()}
    ids = {path: hashlib.sha1(body).hexdigest() for path, body in bodies.items()}
    whole = hashlib.sha1("".join(sorted(ids.values())).encode()).hexdigest()
    return PatchIds(whole, {path: ids[path] for path, body in bodies.items() if len(body) >= _MIN_FILE_PATCH})


def _changed(line: bytes) -> bytes:
    """A changed line with its white space removed; a binary file's `index` line as it is."""
    return line[:1] + b"".join(line[1:].split()) if line[:1] in (b"+", b"-") else line


def _path_of(header: bytes) -> str:
    """The new path of a `diff --git a/X b/X` header (quoted names unquoted well enough to compare)."""
    rest = header[len(b"diff --git "):]
    half = rest[len(rest) // 2 + 1:] if len(rest) % 2 == 1 else rest.rpartition(b" b/")[2]
    return text(half[2:] if half.startswith(b"b/") else half)
