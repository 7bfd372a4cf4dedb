"""What `drift catalog build` asks of a git repository, through GitPython.

Whole-repository questions go to one git command each (`rev-list`, `ls-tree`, `diff-tree --stdin`, `log -p`
piped to `patch-id`); blob contents come from GitPython's persistent `cat-file --batch` process, each
distinct blob once. Nothing spawns a process per object.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator
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


class Repository:
    """A git repository opened for reading."""

    def __init__(self, path: Path) -> None:
        try:
            self.repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise InputError("not a git repository", source=path, where="--repo") from exc
        self.path = path

    def _git(self, *args: str, stdin: str | None = None) -> str:
        try:
            if stdin is None:
                return str(self.repo.git.execute(["git", *args], stdout_as_string=True))
            done = subprocess.run(["git", *args], cwd=self.path, input=stdin, capture_output=True, text=True, check=True)
            return done.stdout
        except (git.GitCommandError, subprocess.CalledProcessError) as exc:
            raise OperationalError(f"git {args[0]} failed: {str(exc).strip()[:300]}", source=self.path) from exc

    def tags(self) -> tuple[list[Tag], list[str]]:
        """Every tag that names a commit (annotated tags peeled), and the names of those that do not."""
        out = self._git(
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
        out = self._git("cat-file", "--batch-check=%(objectname) %(objecttype)", stdin="".join(f"{r}^{{commit}}\n" for r in wanted))
        result: dict[str, str | None] = {}
        for rev, line in zip(wanted, out.splitlines(), strict=True):
            parts = line.split()
            result[rev] = parts[0] if len(parts) == 2 and parts[1] == "commit" else None
        return result

    def ancestry(self, tips: dict[str, int]) -> dict[str, int]:
        """For every commit reachable from the tips, the OR of the bits of the tips it is reachable from.

        One `rev-list --topo-order --parents` over the tips (children come before their parents), then the
        bits flow from each commit to its parents.
        """
        if not tips:
            return {}
        out = self._git("rev-list", "--topo-order", "--parents", *sorted(set(tips)))
        reach: dict[str, int] = dict(tips)
        for line in out.splitlines():
            commit, *parents = line.split()
            bits = reach.get(commit, 0)
            for parent in parents:
                reach[parent] = reach.get(parent, 0) | bits
        return reach

    def files(self, commit: str) -> dict[str, str]:
        """Every blob of the commit's tree: path -> blob id (submodules and links left out)."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", commit)
        result = {}
        for record in out.split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob" and mode != "120000":
                result[path] = oid
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
        out = self._git("diff-tree", "--stdin", "-r", "-M", "-m", "--first-parent", "--root", "--name-status", "-z", stdin="\n".join(wanted) + "\n")
        result: dict[str, list[Change]] = {c: [] for c in wanted}
        fields = out.split("\0")
        i = 0
        current: str | None = None
        while i < len(fields):
            field = fields[i]
            if not field:
                i += 1
                continue
            if re.fullmatch(r"[0-9a-f]{40,64}", field.strip()):
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

    def messages(self, commits: Iterable[str]) -> dict[str, str]:
        """The full message of each commit (one `log`, the commits on its standard input)."""
        wanted = sorted(set(commits))
        if not wanted:
            return {}
        out = self._git("log", "--no-walk=unsorted", "--stdin", "--format=%H%x00%B%x00%x00", stdin="\n".join(wanted) + "\n")
        result = {}
        for record in out.split("\0\0"):
            record = record.lstrip("\n")
            if record:
                sha, _, body = record.partition("\0")
                result[sha.strip()] = body
        return result

    def patch_ids(self, commits: Iterable[str]) -> dict[str, str]:
        """`git patch-id --stable` of each commit (one `log -p` piped into one `patch-id`)."""
        wanted = sorted(set(commits))
        if not wanted:
            return {}
        try:
            log = subprocess.run(
                ["git", "log", "--no-walk=unsorted", "--stdin", "-p", "--no-color", "--format=commit %H"],
                cwd=self.path, input=("\n".join(wanted) + "\n").encode(), capture_output=True, check=True,
            ).stdout
            ids = subprocess.run(["git", "patch-id", "--stable"], cwd=self.path, input=log, capture_output=True, check=True).stdout
        except subprocess.CalledProcessError as exc:
            raise OperationalError(f"git patch-id failed: {exc.stderr.decode(errors='replace')[:300]}", source=self.path) from exc
        result = {}
        for line in ids.decode().splitlines():
            patch, commit = line.split()
            result[commit] = patch
        return result
