"""What `drift catalog build` asks of a git repository.

Whole-repository questions go to one git command each (`rev-list`, `diff-tree --stdin`, `log --stdin`), one
`ls-tree` per release, and blob contents come from one `cat-file --batch` process, each distinct blob once.
Nothing spawns a process per object. Output is read as bytes: paths are decoded as UTF-8 with undecodable
bytes kept as surrogate escapes (so nothing is lost and nothing crashes), messages by `drift.catalog.builder.gitlog`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from drift.errors import InputError, OperationalError


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag and the commit it names."""

    name: str
    """The tag's name."""
    commit: str
    """The commit's full hex id."""
    date: dt.date
    """The commit's date (committer, UTC)."""


@dataclass(frozen=True, slots=True)
class Change:
    """A file a commit changed, against its first parent."""

    status: str
    """`A`dded, `M`odified, `D`eleted, `R`enamed (from `old`), `T`ype changed, `C`opied."""
    path: str
    """The path after the change."""
    old: str | None = None
    """For a rename or copy, the path before."""


def changed_paths(changes: Iterable[Change]) -> set[str]:
    """Every path the changes touch, the paths before a rename or copy included."""
    return {p for change in changes for p in (change.path, change.old) if p is not None}


class Repository:
    """A git repository opened for reading."""

    def __init__(self, path: Path) -> None:
        try:
            git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise InputError("not a git repository", source=path, where="--repo") from exc
        self.path = path

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        """git's standard output, as bytes; a failure is an operational error naming the command."""
        env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
        try:
            done = subprocess.run(["git", *args], cwd=self.path, input=stdin, capture_output=True, check=True, env=env)
        except subprocess.CalledProcessError as exc:
            raise OperationalError(
                f"git {_command(args)} failed: {exc.stderr.decode('utf-8', 'replace').strip()[:300]}", source=self.path
            ) from exc
        except OSError as exc:
            raise OperationalError(f"cannot run git: {exc}", source=self.path) from exc
        return done.stdout

    def _text(self, *args: str, stdin: str | None = None) -> str:
        return text(self.run(*args, stdin=None if stdin is None else stdin.encode("utf-8", "surrogateescape")))

    def tags(self) -> tuple[list[Tag], list[str]]:
        """Every tag that names a commit (annotated tags peeled), and the names of those that do not."""
        out = self._text(
            "for-each-ref",
            "--format=%(refname:short)%09%(*objectname)%09%(objectname)%09%(*objecttype)%09%(objecttype)"
            "%09%(*committerdate:unix)%09%(committerdate:unix)",
            "refs/tags",
        )
        tags, others = [], []
        for line in out.splitlines():
            name, peeled, obj, peeled_type, obj_type, peeled_date, date = line.split("\t")
            if (peeled_type or obj_type) != "commit":
                others.append(f"{name} ({peeled_type or obj_type})")
                continue
            when = int(peeled_date or date or "0")
            tags.append(Tag(name, peeled or obj, dt.datetime.fromtimestamp(when, dt.UTC).date()))
        return tags, others

    def resolve_all(self, revs: Iterable[str]) -> dict[str, str | None]:
        """The full commit id of each revision, or None where there is no such commit (one `cat-file`)."""
        wanted = sorted(set(revs))
        if not wanted:
            return {}
        out = self._text("cat-file", "--batch-check=%(objectname) %(objecttype)", stdin="".join(f"{r}^{{commit}}\n" for r in wanted))
        result: dict[str, str | None] = {}
        for rev, line in zip(wanted, out.splitlines(), strict=True):
            parts = line.split()
            result[rev] = parts[0] if len(parts) == 2 and parts[1] == "commit" else None
        return result

    def renames(self, tips: Sequence[str]) -> dict[str, set[str]]:
        """Repository path -> the paths git sees it renamed to or from in the tips' history (`log -M`)."""
        out = self.run("-c", "core.quotePath=false", "log", "-M", "--diff-filter=R", "--name-status", "-z", "--format=", *tips)
        fields = out.split(b"\0")
        links: dict[str, set[str]] = {}
        i = 0
        while i < len(fields):
            status = fields[i].strip(b"\n")
            if status[:1] == b"R" and status[1:].isdigit() and i + 2 < len(fields):
                old, new = text(fields[i + 1]), text(fields[i + 2])
                links.setdefault(old, set()).add(new)
                links.setdefault(new, set()).add(old)
                i += 3
            else:
                i += 1
        return links

    def in_history_of(self, commit: str, tips: Sequence[str]) -> bool:
        """Whether `commit` is in the history of any of `tips` (one `rev-list`: it lists `commit` only if none
        of them reaches it)."""
        return not self.run("rev-list", "-n1", commit, "--not", *tips).strip()

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether `older` is in `newer`'s history (`newer` itself included)."""
        done = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=self.path, capture_output=True, check=False)
        return done.returncode == 0

    def graph(self, tips: Iterable[str]) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
        """Every commit reachable from the tips, children before parents (`rev-list --topo-order`), each
        commit's parents, and its committer time (one `rev-list --parents --timestamp`)."""
        wanted = sorted(set(tips))
        if not wanted:
            return [], {}, {}
        out = self.run("rev-list", "--topo-order", "--parents", "--timestamp", *wanted)
        order: list[str] = []
        parents: dict[str, list[str]] = {}
        times: dict[str, int] = {}
        for line in out.decode("ascii").splitlines():
            when, commit, *rest = line.split()
            order.append(commit)
            parents[commit] = rest
            times[commit] = int(when)
        return order, parents, times

    def files(self, commit: str) -> dict[str, str]:
        """Every blob of the commit's tree: path -> blob id (submodules and links left out)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", commit)
        result = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, path = record.split(b"\t", 1)
            mode, kind, oid = meta.split()
            if kind == b"blob" and mode != b"120000":
                result[text(path)] = oid.decode("ascii")
        return result

    def blobs(self, oids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Many blobs through one `cat-file --batch`, in the order asked (the ids are fed from a thread, so
        neither pipe fills while the other waits)."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def feed() -> None:
            try:
                stdin.write("".join(f"{oid}\n" for oid in wanted).encode())
            finally:
                stdin.close()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for oid in wanted:
                header = stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob":
                    raise OperationalError(f"git cat-file: no blob {oid}", source=self.path)
                data = stdout.read(int(header[2]))
                stdout.read(1)  # the newline after each object
                yield oid, data
        finally:
            writer.join()
            stdout.close()
            proc.wait()

    def changes(self, commits: Iterable[str]) -> dict[str, list[Change]]:
        """Files each commit changed against its first parent, renames followed (one `diff-tree --stdin`)."""
        wanted = sorted(set(commits))
        if not wanted:
            return {}
        out = self.run(
            "diff-tree", "--stdin", "-r", "-M", "--diff-merges=first-parent", "--root", "--name-status", "-z",
            stdin=("\n".join(wanted) + "\n").encode(),
        )
        result: dict[str, list[Change]] = {c: [] for c in wanted}
        fields = [text(f) for f in out.split(b"\0")]
        i = 0
        current: str | None = None
        while i < len(fields):
            field = fields[i]
            if not field:
                i += 1
                continue
            if _OID.fullmatch(field.strip()):
                current = field.strip()
                i += 1
                continue
            status = field[0]
            if status in "RC":
                old, new = fields[i + 1], fields[i + 2]
                if current is not None:
                    result[current].append(Change(status, new, old))
                i += 3
            else:
                if current is not None:
                    result[current].append(Change(status, fields[i + 1]))
                i += 2
        return result


_OID = re.compile(r"[0-9a-f]{40,64}")


def text(raw: bytes) -> str:
    """git output as text: UTF-8, undecodable bytes kept as surrogate escapes (lossless, never an error)."""
    return raw.decode("utf-8", "surrogateescape")


def _command(args: tuple[str, ...]) -> str:
    """The git command among the arguments, past any `-c NAME=VALUE`."""
    return next((a for a in args if not a.startswith("-") and "=" not in a), args[0] if args else "")
