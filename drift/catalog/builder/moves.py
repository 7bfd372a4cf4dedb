"""Where a fix's files went in releases that carry the fix but lack the file's path: its later names."""

from __future__ import annotations

from drift.catalog.builder.history import History
from drift.catalog.builder.landings import Landing
from drift.catalog.builder.model import Options
from drift.catalog.builder.releases import Deployed
from drift.catalog.builder.repo import text


class Moves:
    """The later names of files, for every fix of one build: each release's paths by hash and the renames git
    finds between two commits are asked once and kept, since the fixes of one history share their moves."""

    def __init__(self, history: History, options: Options) -> None:
        self.history = history
        self.deployed = Deployed(options)
        self._by_hash: dict[int, dict[str, list[str]]] = {}
        self._renames: dict[tuple[str, str], dict[str, str]] = {}

    def later_names(self, paths: dict[str, None], landing: Landing, carrying: int) -> dict[str, list[str]]:
        """Where a release that carries the landing lacks a path: the files that have a hash the path had and
        never stood beside it in one release (a rename without change), else the name git sees it renamed to
        (with changes) since the latest release in that release's history that carries the fix (`carrying`)
        and holds the path, or since the landing where none does (the line was cut after the rename). A path
        with no such file was removed. A release that holds a name already found, or that comes after a
        release where the path was found removed, needs no new search. Each later name with the paths it
        comes from."""
        releases, reach = self.history.releases, self.history.reach
        found: dict[str, list[str]] = {}
        for path in paths:
            holding = [r for r in releases if path in r.files]
            known = {r.files[path][1] for r in holding}
            names: list[str] = []
            removed: list[int] = []
            for i, release in enumerate(releases):
                if not landing.mask >> i & 1 or path in release.files or any(n in release.files for n in names):
                    continue
                if any(reach.get(releases[j].tag.commit, 0) >> i & 1 for j in removed):
                    continue
                index = self._hashes(i)
                same = [o for sha in known for o in index.get(sha, ()) if not any(o in r.files for r in holding)]
                if not same:
                    bases = [
                        j for j, r in enumerate(releases)
                        if carrying >> j & 1 and path in r.files and reach.get(r.tag.commit, 0) >> i & 1 and j != i
                    ]
                    base = releases[max(bases, key=lambda j: (releases[j].tag.date, j))].tag.commit if bases else landing.commits[-1]
                    new = self._renamed(base, release.tag.commit).get(path)
                    same = [new] if new is not None and new in release.files else []
                if not same:
                    removed.append(i)
                names.extend(same)
                for o in same:
                    if o not in paths and path not in found.setdefault(o, []):
                        found[o].append(path)
        return found

    def _hashes(self, i: int) -> dict[str, list[str]]:
        """Release i's paths by their sha256."""
        index = self._by_hash.get(i)
        if index is None:
            index = self._by_hash[i] = {}
            for other, (_, sha, _) in self.history.releases[i].files.items():
                index.setdefault(sha, []).append(other)
        return index

    def _renamed(self, old: str, new: str) -> dict[str, str]:
        """The renames git finds between two commits (`diff -M --diff-filter=R`), deployed old path -> new."""
        if (old, new) not in self._renames:
            out = self.history.repo.run("diff", "-M", "--name-status", "-z", "--diff-filter=R", old, new)
            fields = [text(f) for f in out.split(b"\0")]
            found = {}
            for i in range(0, len(fields) - 2, 3):
                a, b = self.deployed(fields[i + 1]), self.deployed(fields[i + 2])
                if a is not None and b is not None:
                    found[a] = b
            self._renames[(old, new)] = found
        return self._renames[(old, new)]
