"""File-level drift (SPEC 5): each tenant file against every release manifest of the product."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import compress, repeat
from operator import itemgetter, mul, not_
from typing import cast

from drift.catalog.model import Catalog
from drift.inventory.model import FileRecord
from drift.results import FileDrift

_SHA256, _CONTENT = itemgetter(1), itemgetter(2)
_FIELD = 32
"""Bits per release in a spread mask: room for counts up to 2**32 files."""


class ReleaseIndex:
    """For each known path, which releases have which hash there, as bit masks over `labels`.

    Built once per catalog; judging a tenant's files is then a few dict look-ups per file.
    """

    def __init__(self, catalog: Catalog) -> None:
        versions = Counter(r.version for r in catalog.releases)
        self.labels: tuple[str, ...] = tuple(
            r.version if versions[r.version] == 1 else f"{r.line}/{r.version}" for r in catalog.releases
        )
        self._lines: tuple[str, ...] = tuple(r.line for r in catalog.releases)
        self._known: frozenset[str] = frozenset(f.path for r in catalog.releases for f in r.files)
        self._sha: dict[tuple[str, str], int] = {}
        self._content: dict[tuple[str, str], int] = {}
        for bit, release in enumerate(catalog.releases):
            flag = 1 << bit
            for f in release.files:
                key = (f.path, f.sha256)
                self._sha[key] = self._sha.get(key, 0) | flag
                if f.content_sha256 is not None:
                    key = (f.path, f.content_sha256)
                    self._content[key] = self._content.get(key, 0) | flag
        self._spread: dict[int, int] = {}

    def file_drift(self, files: Mapping[str, FileRecord]) -> FileDrift:
        """Uncatalogued and modified paths, and how many files each release accounts for.

        A file whose bytes (or, for archives, content) several releases share is attributed greedily: the
        release that accounts for the most files is taken first, then the next for the files left (on a tie:
        a release of the first one's line, then the later release), so a mixed deployment shows as its
        main release plus a few others.
        """
        paths = list(files)
        records = list(files.values())
        # One C-level pass: each file's release mask by (path, sha256); 0 where no release has those bytes.
        shas: Iterator[str] = map(_SHA256, records)
        masks = list(map(self._sha.get, zip(paths, shas), repeat(0)))
        for i in compress(range(len(records)), map(_CONTENT, records)):
            masks[i] |= self._content.get((paths[i], cast(str, records[i].content_sha256)), 0)
        unmatched = list(compress(paths, map(not_, masks)))
        known = self._known
        return FileDrift(
            uncatalogued=tuple(sorted(p for p in unmatched if p not in known)),
            modified=tuple(sorted(p for p in unmatched if p in known)),
            releases=self._attribute(Counter(filter(None, masks))),
        )

    def _attribute(self, masks: Counter[int]) -> dict[str, int]:
        remaining = dict(masks)
        result: dict[str, int] = {}
        main_line: str | None = None
        while remaining:
            # Per-release counts in one big-integer sum: each mask spread to one 32-bit field per release.
            for mask in remaining.keys() - self._spread.keys():
                self._spread[mask] = _spread(mask)
            total = sum(map(mul, map(self._spread.__getitem__, remaining), remaining.values()))
            field_mask = (1 << _FIELD) - 1
            per_bit = {b: c for b in range(len(self.labels)) if (c := (total >> (b * _FIELD)) & field_mask)}
            bit = max(per_bit, key=lambda b: (per_bit[b], self._lines[b] == main_line, b))
            main_line = main_line or self._lines[bit]
            flag = 1 << bit
            result[self.labels[bit]] = per_bit[bit]
            remaining = {m: c for m, c in remaining.items() if not m & flag}
        return result


def _spread(mask: int) -> int:
    """The mask with bit i moved to bit i * _FIELD, so that summing spread masks counts per release."""
    spread = 0
    while mask:
        low = mask & -mask
        spread |= 1 << ((low.bit_length() - 1) * _FIELD)
        mask ^= low
    return spread
