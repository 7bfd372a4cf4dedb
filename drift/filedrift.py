"""File-level drift (SPEC 5): each tenant file against every release manifest of the product.

A fleet's tenants each run some release with a few files changed, so `ReleaseIndex.nearest` first finds
the release a tenant's files are closest to, and the paths where they differ from it (a few C-level
passes over the file table). File drift then visits only those paths, starting from what was computed
once for the release itself; `drift.judge` reuses findings the same way. The results are exactly those
of judging every file on its own: the nearest release only decides how much work is skipped.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import reduce
from itertools import compress, repeat
from operator import and_, attrgetter, is_not, mul, ne, not_, or_
from typing import NamedTuple

from drift.catalog.model import Catalog, Release
from drift.collect.archive import is_archive_name
from drift.inventory.filetable import FileTable
from drift.inventory.model import CONTENT_FROM_CATALOG, LEFT_OUT, RACED, FileRecord, Inventory
from drift.results import FileDrift

_PATH, _SHA256, _CONTENT = attrgetter("path"), attrgetter("sha256"), attrgetter("content_sha256")
_FIELD = 32
"""Bits per release in a spread mask: room for counts up to 2**32 files."""
MAX_PROBES = 64
"""Paths whose hashes vote for a tenant's nearest release."""
_PROBE_CANDIDATES = 500
"""How many of the most varied paths are considered as probes (bounds the index's set-up time)."""


class Unknown(NamedTuple):
    """A file at a path no release knows whose content a scan cannot know."""

    archive: bool
    """Only its content hash is unknown (its sha256 is known): it hides only what is known by content hash."""
    note: str
    """Why, in a few words."""


UNREAD_NOTE = "could not be read"
CHANGED_NOTE = "changed while it was collected"
LEFT_OUT_NOTE = "left out by --exclude"
OUTSIDE_NOTE = "a link to no file of the deploy root that the collector listed"
SPECIAL_NOTE = "a FIFO or device named like an archive"
NO_CONTENT_NOTE = "an archive without a content hash whose bytes no release has"
CONTENT_UNKNOWN_NOTE = (
    "collected without a content hash, as a catalogued release's bytes, but no release of this catalog has those bytes: "
    "collect again with this catalog"
)


@dataclass(frozen=True, slots=True)
class Nearest:
    """The release a tenant's files are closest to, and where they differ from it."""

    release: int
    """The release's index in the catalog."""
    differing: frozenset[str]
    """Paths where the tenant's sha256 or content hash differs from the release's, or that only one of them has."""


class _ReleaseTable:
    """One release's files by path, and its file-drift masks, computed once."""

    __slots__ = ("content", "counts", "files", "index", "mask", "sha", "total")

    def __init__(self, index: ReleaseIndex, number: int, release: Release) -> None:
        self.index = number
        self.files = release.files
        paths = list(map(_PATH, release.files))
        shas = list(map(_SHA256, release.files))
        contents = list(map(_CONTENT, release.files))
        self.sha: dict[str, str] = dict(zip(paths, shas))
        self.content: dict[str, str] = dict(zip(compress(paths, contents), filter(None, contents)))
        self.mask: dict[str, int] = dict(zip(paths, map(index.sha_masks.__getitem__, zip(paths, shas))))
        for path, content in self.content.items():
            self.mask[path] |= index.content_masks[(path, content)]
        self.counts: dict[int, int] = dict(Counter(self.mask.values()))
        self.total: int = index.spread_total(self.counts)

    def derive(self, index: ReleaseIndex, number: int, release: Release) -> _ReleaseTable | None:
        """The table of another release from this one, when it lists the same paths in the same order and
        most of its file objects are this one's (releases of a line differ in a few files); else None."""
        if len(release.files) != len(self.files):
            return None
        changed = list(compress(range(len(self.files)), map(is_not, release.files, self.files)))
        if len(changed) > len(self.files) // 4 or any(release.files[i].path != self.files[i].path for i in changed):
            return None
        table = copy.copy(self)
        table.index, table.files = number, release.files
        table.sha, table.content, table.mask, table.counts = dict(self.sha), dict(self.content), dict(self.mask), dict(self.counts)
        for i in changed:
            f = release.files[i]
            table.sha[f.path] = f.sha256
            if f.content_sha256 is None:
                table.content.pop(f.path, None)
            else:
                table.content[f.path] = f.content_sha256
            old, new = table.mask[f.path], index.mask_of(f.path, f.sha256, f.content_sha256)
            table.mask[f.path] = new
            table.counts[old] -= 1
            if not table.counts[old]:
                del table.counts[old]
            table.counts[new] = table.counts.get(new, 0) + 1
            table.total += index.spread_of(new) - index.spread_of(old)
        return table


class ReleaseIndex:
    """For each known path, which releases have which hash there, as bit masks over `labels`.

    Built once per catalog; judging a tenant's files is then a few dict look-ups per file.
    """

    def __init__(self, catalog: Catalog) -> None:
        versions = Counter(r.version for r in catalog.releases)
        self.labels: tuple[str, ...] = tuple(
            r.version if versions[r.version] == 1 else f"{r.line}/{r.version}" for r in catalog.releases
        )
        self._releases = catalog.releases
        self._lines: tuple[str, ...] = tuple(r.line for r in catalog.releases)
        self._known: frozenset[str] = frozenset(f.path for r in catalog.releases for f in r.files)
        self.sha_masks: dict[tuple[str, str], int] = {}
        self.content_masks: dict[tuple[str, str], int] = {}
        content_of: dict[str, str] = {}
        for bit, release in enumerate(catalog.releases):
            flag = 1 << bit
            for f in release.files:
                key = (f.path, f.sha256)
                self.sha_masks[key] = self.sha_masks.get(key, 0) | flag
                if f.content_sha256 is not None:
                    key = (f.path, f.content_sha256)
                    self.content_masks[key] = self.content_masks.get(key, 0) | flag
                    if content_of.setdefault(f.sha256, f.content_sha256) != f.content_sha256:
                        content_of[f.sha256] = ""  # one set of bytes, two content hashes: the catalog cannot say
        self._content_of = {sha: content for sha, content in content_of.items() if content}
        self._spread: dict[int, int] = {}
        self._tables: dict[int, _ReleaseTable] = {}
        self._probes = _probes(self.sha_masks, (1 << len(catalog.releases)) - 1)

    def with_release_content(self, inventory: Inventory, paths: Iterable[str] | None = None) -> Inventory:
        """The inventory with the content hash of each file of `paths` that lacks one and whose bytes a release
        lists with a content hash (a content hash is a function of the bytes, so those bytes have the
        release's). Without `paths`: the archives the collector did not inflate (its `content_errors`,
        `CONTENT_FROM_CATALOG` among them), or for a plain listing every file. A scan then calls it with the
        files at paths no release knows, where a stale archive may sit under a name that gets no content hash
        (`.jar.bak`): a few look-ups a file, never a pass over all of a tenant's files."""
        table = FileTable.of(inventory.files)
        if paths is None:
            paths = inventory.content_errors if inventory.collected_at is not None else table.paths
        have, shas, content_of = table.content_sha256, table.sha256, self._content_of
        added = {path: content_of[sha] for path in paths if path not in have and (sha := shas.get(path)) is not None and sha in content_of}
        return replace(inventory, files=table.with_content(added)) if added else inventory

    def unknown_content(self, inventory: Inventory) -> dict[str, Unknown]:
        """The entries at paths no release knows whose content a scan cannot know, where a stale copy of an
        archive could hide (`drift.verdict.content_unknown`): every unreadable file or folder, whatever its
        name (Java's `lib/ext` loads a stale jar named `.dat`; a file that kept changing while it was read,
        or one the collecting account may not read, may be one), anything that changed while it was
        collected (a folder whose entries changed, a name in the root, a file or folder removed or replaced:
        a stale copy moved through it is in no listing), a FIFO or device named like an archive, a link
        named like an archive that does not lead to a listed file, and an archive (by name or by its first
        bytes) without a content hash whose bytes no release has (after `with_release_content`). Links to
        log folders and the like are not counted: they lead to files the collector lists where they are;
        what `--exclude` leaves out is counted only where it is named like an archive (the walk lists only
        those)."""
        known = self._known
        table = FileTable.of(inventory.files)
        unknown: dict[str, Unknown] = {}
        for path, item in inventory.unreadable.items():  # whatever its name: Java's lib/ext loads any file
            if RACED in item.reason:  # what was there is not known: a stale copy may have been moved through it
                unknown[path] = Unknown(False, CHANGED_NOTE)
            elif path not in known:
                unknown[path] = Unknown(False, LEFT_OUT_NOTE if item.reason == LEFT_OUT else UNREAD_NOTE)
        for path in inventory.skipped:
            if path not in known and is_archive_name(path):
                unknown[path] = Unknown(False, SPECIAL_NOTE)
        for path, link in inventory.links.items():
            if path not in known and is_archive_name(path) and (link.outside or _link_target(path, link.target, inventory.links) not in table):
                unknown[path] = Unknown(False, OUTSIDE_NOTE)
        archives = inventory.content_errors if inventory.collected_at is not None else (  # a listing: no content hash at all
            p for p in table.paths if p not in known and is_archive_name(p)
        )
        for path in archives:
            if path not in known and path not in table.content_sha256:
                reason = inventory.content_errors.get(path)
                unknown[path] = Unknown(True, CONTENT_UNKNOWN_NOTE if reason == CONTENT_FROM_CATALOG else NO_CONTENT_NOTE)
        return unknown

    def mask_of(self, path: str, sha256: str, content_sha256: str | None) -> int:
        """The releases that have this file at this path (by its bytes, or for archives its content)."""
        mask = self.sha_masks.get((path, sha256), 0)
        if content_sha256 is not None:
            mask |= self.content_masks.get((path, content_sha256), 0)
        return mask

    def spread_total(self, masks: Mapping[int, int]) -> int:
        """Per-release file counts of masks (mask -> files) as one big integer of `_FIELD`-bit fields."""
        return sum(map(mul, map(self.spread_of, masks), masks.values()))

    def nearest(self, files: Mapping[str, FileRecord]) -> Nearest | None:
        """The release the files are closest to (by a vote of a few paths that tell releases apart) and every
        path where they differ from it; None when the catalog has no release."""
        if not self._releases:
            return None
        table = FileTable.of(files)
        votes = [absent if (sha := table.sha256.get(path)) is None else by_sha.get(sha, 0) for path, by_sha, absent in self._probes]
        agreed = reduce(and_, votes, (1 << len(self._releases)) - 1)
        if agreed:  # releases every probe agrees with: the latest of them
            best = agreed.bit_length() - 1
        else:  # the release most probes agree with
            per_bit = _fields(self.spread_total(Counter(votes)), len(self._releases))
            best = max(range(len(self._releases)), key=lambda b: (per_bit.get(b, 0), b))
        release = self._table(best)
        # Paths whose sha256 differs, or that the release lacks: one C-level pass.
        differing = set(compress(table.paths, map(ne, map(release.sha.get, table.paths), table.shas)))
        release_files_there = len(table.paths) - len(differing) + sum(map(release.sha.__contains__, differing))
        if release_files_there != len(release.sha):  # some of the release's files are not there
            differing.update(release.sha.keys() - table.sha256.keys())
        # Same bytes, yet another content hash (or one side has none): only archives, a few per release.
        for path in (table.content_sha256.keys() | release.content.keys()) - differing:
            if table.content_sha256.get(path) != release.content.get(path):
                differing.add(path)
        return Nearest(release.index, frozenset(differing))

    def file_drift(self, files: Mapping[str, FileRecord], nearest: Nearest | None = None) -> FileDrift:
        """Uncatalogued and modified paths, and how many files each release accounts for.

        A file whose bytes (or, for archives, content) several releases share is attributed greedily: the
        release that accounts for the most files is taken first, then the next for the files left (on a tie:
        a release of the first one's line, then the later release), so a mixed deployment shows as its
        main release plus a few others. With `nearest` (from `nearest(files)`), only the differing paths
        are looked at one by one; the result is the same.
        """
        if nearest is None:
            return self._file_drift_each(files)
        table = self._table(nearest.release)
        counts = dict(table.counts)
        total = table.total
        added: dict[int, int] = {}  # masks of the differing files
        unmatched: list[str] = []
        for path in nearest.differing:
            old = table.mask.get(path)
            if old is not None:
                counts[old] -= 1
                if not counts[old]:
                    del counts[old]
                total -= self.spread_of(old)
            record = files.get(path)
            if record is not None:
                new = self.mask_of(path, record.sha256, record.content_sha256)
                if new:
                    counts[new] = counts.get(new, 0) + 1
                    added[new] = added.get(new, 0) + 1
                    total += self.spread_of(new)
                else:
                    unmatched.append(path)
        # Every mask of the release's own files has the release's bit: once that release is attributed, only
        # the differing files' masks can remain.
        return self._drift(unmatched, counts, total, (1 << nearest.release, added))

    def _file_drift_each(self, files: Mapping[str, FileRecord]) -> FileDrift:
        table = FileTable.of(files)
        # One C-level pass: each file's release mask by (path, sha256); 0 where no release has those bytes.
        masks = dict(zip(table.paths, map(self.sha_masks.get, zip(table.paths, table.shas), repeat(0))))
        for path, content in table.content_sha256.items():
            masks[path] |= self.content_masks.get((path, content), 0)
        return self._drift(list(compress(masks, map(not_, masks.values()))), Counter(filter(None, masks.values())), None, None)

    def _drift(self, unmatched: list[str], masks: Mapping[int, int], total: int | None, shortcut: tuple[int, dict[int, int]] | None) -> FileDrift:
        known = self._known
        return FileDrift(
            uncatalogued=tuple(sorted(p for p in unmatched if p not in known)),
            modified=tuple(sorted(p for p in unmatched if p in known)),
            releases=self._attribute(masks, total, shortcut),
        )

    def _table(self, release: int) -> _ReleaseTable:
        table = self._tables.get(release)
        if table is None:
            if self._tables:  # most often a small change to the table of a release close by
                closest = self._tables[min(self._tables, key=lambda built: abs(built - release))]
                table = closest.derive(self, release, self._releases[release])
            if table is None:
                table = _ReleaseTable(self, release, self._releases[release])
            self._tables[release] = table
        return table

    def spread_of(self, mask: int) -> int:
        """`_spread(mask)`, computed once."""
        spread = self._spread.get(mask)
        if spread is None:
            spread = self._spread[mask] = _spread(mask)
        return spread

    def _attribute(self, masks: Mapping[int, int], total: int | None, shortcut: tuple[int, dict[int, int]] | None) -> dict[str, int]:
        """`total`, when given, is `spread_total(masks)`, already known. `shortcut`, when given, is a flag
        that every mask has except some of those listed with it (mask -> files)."""
        remaining = dict(masks)
        result: dict[str, int] = {}
        main_line: str | None = None
        while remaining:
            # Per-release counts in one big-integer sum: each mask spread to one 32-bit field per release.
            per_bit = _fields(self.spread_total(remaining) if total is None else total, len(self.labels))
            bit = max(per_bit, key=lambda b: (per_bit[b], self._lines[b] == main_line, b))
            main_line = main_line or self._lines[bit]
            flag = 1 << bit
            result[self.labels[bit]] = per_bit[bit]
            if shortcut is not None and shortcut[0] == flag:
                remaining = {m: c for m, c in shortcut[1].items() if not m & flag}
            else:
                remaining = {m: c for m, c in remaining.items() if not m & flag}
            total = shortcut = None
        return result


def _fields(total: int, count: int) -> dict[int, int]:
    """The non-zero `_FIELD`-bit fields of a spread total, by release index."""
    field_mask = (1 << _FIELD) - 1
    return {b: c for b in range(count) if (c := (total >> (b * _FIELD)) & field_mask)}


_BIT_BYTES = bytes.maketrans(b"01", b"\x00\x01")


def _spread(mask: int) -> int:
    """The mask with bit i moved to bit i * _FIELD, so that summing spread masks counts per release (built
    as little-endian bytes, one _FIELD-bit word per bit, in a few C-level steps)."""
    bits = format(mask, "b")[::-1].encode("ascii").translate(_BIT_BYTES)
    words = bytearray(_FIELD // 8 * len(bits))
    words[:: _FIELD // 8] = bits
    return int.from_bytes(words, "little")


def _probes(sha_masks: Mapping[tuple[str, str], int], every: int) -> tuple[tuple[str, dict[str, int], int], ...]:
    """Up to `MAX_PROBES` paths that tell releases apart: each as (path, sha256 -> releases with it, releases
    without the path). Taken greedily from the most varied paths, each only if it splits a group of releases
    that the ones before could not tell apart."""
    by_path: dict[str, dict[str, int]] = {}
    for (path, sha), mask in sha_masks.items():
        by_path.setdefault(path, {})[sha] = mask
    varied = sorted(by_path.items(), key=lambda item: (-len(item[1]), item[0]))[:_PROBE_CANDIDATES]
    groups = [every]
    probes: list[tuple[str, dict[str, int], int]] = []
    for path, by_sha in varied:
        absent = every & ~reduce(or_, by_sha.values(), 0)
        parts = [*by_sha.values(), absent] if absent else list(by_sha.values())
        split = [g & part for g in groups for part in parts if g & part]
        if len(split) > len(groups):
            groups = split
            probes.append((path, by_sha, absent))
            if len(probes) == MAX_PROBES or len(groups) == every.bit_count():
                break
    return tuple(probes)


def _link_target(path: str, target: str, links: Mapping[str, object]) -> str:
    """The path, relative to the deploy root, of the file a link at `path` leads to, walked one name at a
    time from the link's folder; "" when the target is absolute, leaves the root, or passes through another
    link (which the collector never follows, so where it leads is unknown)."""
    if target.startswith("/") or "\\" in target:
        return ""
    parts = path.split("/")[:-1]
    for name in target.split("/"):
        if name in ("", "."):
            continue
        if name == "..":
            if not parts:
                return ""
            parts.pop()
            continue
        parts.append(name)
        if "/".join(parts) in links:
            return ""
    return "/".join(parts)
