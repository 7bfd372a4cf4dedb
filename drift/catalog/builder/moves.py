"""Where a fix's files went in releases that carry the fix but lack the file's path: its later names.

A later name is found by the fix's own lines, not by a likeness of whole files: in a release that carries a
landing but lacks one of its files, a file that no release holding the old path also holds, and that contains
at least half of the lines the landing added to that file (a move often edits a few, such as an import or a
package name; a line that more than a few such files hold, such as `return nil`, says nothing and does not
count), is where the fixed code went. That follows a rename with or without edits, a move into a
vendored library, a chain of moves and a file split in two (to the parts that hold the fixed lines), and never
an unrelated empty file, a copied licence or the stub left behind. Where the landing adds no line that says
anything (it only deletes lines, or adds `}`), or the lines are found in more than a few files, the file is
not followed, and the releases that lack it cannot tell (`absent` in both lists).

The other way, a release without the fix that lacks one of its files may hold it under another name: every
name git sees the file renamed from or to in the releases' history is judged there, and its versions are
`unfixed` (a file renamed just before the fix would otherwise leave the releases before it `not-applicable`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from drift.catalog.builder.history import History, joined
from drift.catalog.builder.landings import Landing
from drift.catalog.builder.model import Options
from drift.catalog.builder.releases import Deployed
from drift.catalog.builder.repo import text

MOST_NAMES = 4
"""More files than this holding a landing's lines means the lines are too common to say where the code went."""

_WORD = re.compile(rb"[A-Za-z0-9]")


class Moves:
    """The later and other names of files, for every fix of one build: trees, the lines of each blob, the
    lines each landing adds and git's renames are read once and kept, since the fixes of one history share
    them."""

    def __init__(self, history: History, options: Options) -> None:
        self.history = history
        self.deployed = Deployed(options)
        self._trees: dict[str, dict[str, str]] = {}
        self._lines: dict[str, frozenset[bytes]] = {}
        self._changed: dict[str, dict[str, set[bytes]]] = {}
        self._removed: dict[str, dict[str, set[bytes]]] = {}
        self._new: dict[tuple[int | str, int], frozenset[str]] = {}
        self._besides: dict[int, frozenset[str]] = {}
        self._links: dict[str, set[str]] | None = None

    def later_names(self, paths: dict[str, None], landing: Landing) -> dict[str, list[str]]:
        """Each later name of the paths (in releases that carry the landing and lack the path), with the
        paths it comes from."""
        releases = self.history.releases
        found: dict[str, list[str]] = {}
        lacking = {
            path: [i for i, r in enumerate(releases) if landing.mask >> i & 1 and path not in r.files] for path in paths
        }
        if not any(lacking.values()):
            return found
        wanted = self._fixed_lines(landing)
        for path, where in lacking.items():
            lines = wanted.get(path)
            if not where or not lines:
                continue
            for name in self._holding(path, where, lines, landing):
                if name not in paths and path not in found.setdefault(name, []):
                    found[name].append(path)
        return found

    def _base(self, path: str, i: int, landing: Landing) -> int | str:
        """What release i's new files are counted against, for a later name of the path: the latest release in
        its history that holds the path, else the landing's last commit (the line was cut after the move)."""
        releases, reach = self.history.releases, self.history.reach
        holding = [j for j, r in enumerate(releases) if j != i and path in r.files and reach.get(r.tag.commit, 0) >> i & 1]
        return max(holding, key=lambda j: (releases[j].tag.date, j)) if holding else landing.commits[-1]

    def _beside(self, holding: int) -> frozenset[str]:
        """Every file of the releases whose bits are set (those that hold one path)."""
        if holding not in self._besides:
            files: set[str] = set()
            for j, release in enumerate(self.history.releases):
                if holding >> j & 1:
                    files.update(release.files)
            self._besides[holding] = frozenset(files)
        return self._besides[holding]

    def _new_files(self, base: int | str, i: int) -> frozenset[str]:
        """The files of release i that the base (a release by index, or a commit) does not have."""
        if (base, i) not in self._new:
            had = self.history.releases[base].files.keys() if isinstance(base, int) else self._tree(base).keys()
            self._new[(base, i)] = frozenset(self.history.releases[i].files.keys() - had)
        return self._new[(base, i)]

    def _holding(self, path: str, where: list[int], lines: frozenset[bytes], landing: Landing) -> list[str]:
        """The files of those releases that are new since their base (`_base`), that no release holding the path also
        holds, and that contain at least half of the `lines` that say where the code is (a line held by more
        than MOST_NAMES of those files, such as `return nil`, does not); none in a release where more than
        MOST_NAMES files do, or where no line says where the code is."""
        releases = self.history.releases
        beside = self._beside(sum(1 << j for j, r in enumerate(releases) if path in r.files))
        result: list[str] = []
        shared: dict[str, frozenset[bytes]] = {}  # blob id -> the lines it holds, for this path
        for i in where:
            release = releases[i]
            tree = release.blobs
            candidates = [o for o in sorted(self._new_files(self._base(path, i, landing), i)) if o not in beside and o not in release.artifacts and o in tree]
            result.extend(self._names_holding(tree, candidates, lines, shared))
        return result

    def _names_holding(self, tree: dict[str, str], candidates: list[str], lines: frozenset[bytes], shared: dict[str, frozenset[bytes]]) -> list[str]:
        """Of the candidate files of a release (`tree`: path -> blob id), those that contain at least half of
        the `lines` that say where the code is (a line more than MOST_NAMES of them hold, such as `return nil`,
        does not); none where more than MOST_NAMES do, or where no line says. `shared` keeps, per blob, the
        lines of `lines` it holds."""
        self._read(tree[o] for o in candidates if tree[o] not in shared)
        held = {}
        for o in candidates:
            oid = tree[o]
            if oid not in shared:
                shared[oid] = lines & self._lines[oid]
            if shared[oid]:
                held[o] = shared[oid]
        holders: dict[bytes, int] = {}
        for h in held.values():
            for line in h:
                holders[line] = holders.get(line, 0) + 1
        telling = frozenset(line for line in lines if holders.get(line, 0) <= MOST_NAMES)
        if not telling:
            return []
        needed = (len(telling) + 1) // 2
        names = [o for o, h in held.items() if len(h & telling) >= needed]
        return names if len(names) <= MOST_NAMES else []

    def other_names(self, paths: dict[str, None], unfixed_mask: int) -> dict[str, list[str]]:
        """Each other name of the paths that a release with no commit of the fix holds where it lacks the path,
        with the paths it comes from: every name git sees the path renamed from or to anywhere in the
        releases' history (`log -M --diff-filter=R`), and theirs in turn. A file renamed just before the fix,
        or after it on a line that never got it, is then `unfixed` under its other name there (never
        `not-deployed`, which would make a release with the vulnerable code read `not-applicable`)."""
        releases = self.history.releases
        found: dict[str, list[str]] = {}
        for path in paths:
            where = [i for i, r in enumerate(releases) if unfixed_mask >> i & 1 and path not in r.files]
            if not where:
                continue
            for name in sorted(self._connected(path)):
                if name not in paths and any(name in releases[i].files for i in where) and path not in found.setdefault(name, []):
                    found[name].append(path)
        return found

    def renamed_away(self, path: str, mask: int) -> int:
        """The releases among `mask` that lack the path and hold a name git sees it renamed to or from."""
        releases = self.history.releases
        names = self._connected(path) if any(mask >> i & 1 and path not in r.files for i, r in enumerate(releases)) else set()
        return sum(1 << i for i, r in enumerate(releases) if mask >> i & 1 and path not in r.files and names & r.files.keys())

    def _connected(self, path: str) -> set[str]:
        """The names joined to the path by renames, in either direction, however many steps away."""
        return joined(self._rename_links(), {path})

    def _rename_links(self) -> dict[str, set[str]]:
        """Deployed path -> the deployed paths git sees it renamed to or from in the releases' history."""
        if self._links is None:
            links: dict[str, set[str]] = {}
            for path, others in self.history.renames().items():
                mine = self.deployed(path)
                if mine is not None:
                    for other in others:
                        theirs = self.deployed(other)
                        if theirs is not None:
                            links.setdefault(mine, set()).add(theirs)
            self._links = links
        return self._links

    def _fixed_lines(self, landing: Landing) -> dict[str, frozenset[bytes]]:
        """Per deployed path, the lines (stripped) the landing adds there that say something (three letters or
        digits at least) and that its last commit still holds."""
        added: dict[str, set[bytes]] = {}
        for commit in landing.commits:
            for path, lines in self._lines_by(commit).items():
                added.setdefault(path, set()).update(lines)
        last = self._tree(landing.commits[-1])
        self._read(last[p] for p in added if p in last)
        return {path: frozenset(lines & self._lines[last[path]]) for path, lines in added.items() if path in last}

    def _lines_by(self, commit: str) -> dict[str, set[bytes]]:
        """The lines a commit adds to each deployed path against its first parent (`diff-tree -p -U3`), each
        stripped and only those that say something; `_removed` keeps those it removes and the lines around
        its changes (the code it touched)."""
        if commit not in self._changed:
            out = self.history.repo.run(
                "-c", "core.quotePath=false", "diff-tree", "-p", "-U3", "--no-renames", "--no-color", "--no-ext-diff", "--root",
                "--diff-merges=first-parent", commit,
            )
            added: dict[str, set[bytes]] = {}
            removed: dict[str, set[bytes]] = {}
            plus: set[bytes] | None = None
            minus: set[bytes] | None = None
            in_header = False
            for line in out.split(b"\n"):
                if line.startswith(b"diff --git "):
                    plus = minus = None
                    in_header = True
                elif in_header and line.startswith(b"--- "):
                    name = line[4:].rstrip(b"\t")
                    deployed = self.deployed(text(name[2:])) if name.startswith(b"a/") else None
                    minus = removed.setdefault(deployed, set()) if deployed is not None else None
                elif in_header and line.startswith(b"+++ "):
                    name = line[4:].rstrip(b"\t")
                    deployed = self.deployed(text(name[2:])) if name.startswith(b"b/") else None
                    plus = added.setdefault(deployed, set()) if deployed is not None else None
                elif line.startswith(b"@@"):
                    in_header = False
                elif not in_header and line[:1] in (b"+", b"-", b" "):
                    stripped = line[1:].strip()
                    into = plus if line[:1] == b"+" else minus
                    if into is not None and len(_WORD.findall(stripped)) >= 3:
                        into.add(stripped)
            self._changed[commit] = added
            self._removed[commit] = removed
        return self._changed[commit]

    def earlier_homes(self, paths: dict[str, None], landing: Landing, unfixed_mask: int) -> dict[str, list[str]]:
        """Each file that holds the code a landing changed in releases without the fix that lack the path it
        changed there (the code was in another file before a split or a move that git does not see as a
        rename), with the paths it stands for: in such a release, a file of the same kind in a folder of the
        same name that holds at least half of the lines the landing removed from the path or kept around its
        changes there (those that say something, and that no more than MOST_NAMES of those files hold). A
        release without the path then has the code unfixed: otherwise it would read `not-applicable`, the
        vulnerable code elsewhere."""
        releases = self.history.releases
        lacking = {path: [i for i, r in enumerate(releases) if unfixed_mask >> i & 1 and path not in r.files] for path in paths}
        found: dict[str, list[str]] = {}
        if not any(lacking.values()):
            return found  # the landing's diff is read only when some release lacks a path
        removed = self._removed_lines(landing)
        for path in paths:
            lines = removed.get(path)
            where = lacking[path]
            if not lines or not where:
                continue
            like = _folder_and_kind(path)
            shared: dict[str, frozenset[bytes]] = {}
            for i in where:
                tree = releases[i].blobs
                candidates = [o for o in sorted(tree) if o not in paths and o not in releases[i].artifacts and _folder_and_kind(o) == like]
                for o in self._names_holding(tree, candidates, lines, shared):
                    if path not in found.setdefault(o, []):
                        found[o].append(path)
        return found

    def _removed_lines(self, landing: Landing) -> dict[str, frozenset[bytes]]:
        """Per deployed path, the lines (stripped, saying something) the landing removes there or keeps around
        its changes, less those it adds: the code it touched, as it was."""
        removed: dict[str, set[bytes]] = {}
        added: dict[str, set[bytes]] = {}
        for commit in landing.commits:
            self._lines_by(commit)
            for path, lines in self._removed.get(commit, {}).items():
                removed.setdefault(path, set()).update(lines)
            for path, lines in self._changed[commit].items():
                added.setdefault(path, set()).update(lines)
        return {path: frozenset(lines - added.get(path, set())) for path, lines in removed.items()}

    def _tree(self, commit: str) -> dict[str, str]:
        """A commit's deployed files: deployed path -> blob id."""
        if commit not in self._trees:
            self._trees[commit] = {d: oid for p, oid in self.history.repo.files(commit).items() if (d := self.deployed(p)) is not None}
        return self._trees[commit]

    def _read(self, oids: Iterable[str]) -> None:
        """Keep the stripped lines of each blob not read yet."""
        missing = [oid for oid in dict.fromkeys(oids) if oid not in self._lines]
        for oid, data in self.history.repo.blobs(missing):
            self._lines[oid] = frozenset(line.strip() for line in data.split(b"\n"))


def _folder_and_kind(path: str) -> tuple[str, str]:
    """The name of a path's folder and its file's extension (`transports`, `c`)."""
    folder, _, name = path.rpartition("/")
    return folder.rpartition("/")[2], name.rpartition(".")[2] if "." in name else ""
