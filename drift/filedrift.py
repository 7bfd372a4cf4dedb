"""File-level drift (SPEC 5): each tenant file against every release manifest of the product."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from drift.catalog.model import Catalog
from drift.inventory.model import FileRecord
from drift.results import FileDrift

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
        self._sha: dict[str, dict[str, int]] = {}
        self._content: dict[str, dict[str, int]] = {}
        for bit, release in enumerate(catalog.releases):
            flag = 1 << bit
            for f in release.files:
                by_hash = self._sha.setdefault(f.path, {})
                by_hash[f.sha256] = by_hash.get(f.sha256, 0) | flag
                if f.content_sha256 is not None:
                    by_content = self._content.setdefault(f.path, {})
                    by_content[f.content_sha256] = by_content.get(f.content_sha256, 0) | flag
        self._spread: dict[int, int] = {}

    def file_drift(self, files: Mapping[str, FileRecord]) -> FileDrift:
        """Uncatalogued and modified paths, and how many files each release accounts for.

        A file whose bytes (or, for archives, content) several releases share is attributed greedily: the
        release that accounts for the most files is taken first, then the next for the files left (on a tie:
        a release of the first one's line, then the later release), so a mixed deployment shows as its
        main release plus a few others.
        """
        uncatalogued: list[str] = []
        modified: list[str] = []
        masks: Counter[int] = Counter()
        sha_index, content_index = self._sha, self._content
        for path, record in files.items():
            by_hash = sha_index.get(path)
            if by_hash is None:
                uncatalogued.append(path)
                continue
            mask = by_hash.get(record.sha256, 0)
            if record.content_sha256 is not None:
                mask |= content_index.get(path, {}).get(record.content_sha256, 0)
            if mask:
                masks[mask] += 1
            else:
                modified.append(path)
        return FileDrift(
            uncatalogued=tuple(sorted(uncatalogued)),
            modified=tuple(sorted(modified)),
            releases=self._attribute(masks),
        )

    def _attribute(self, masks: Counter[int]) -> dict[str, int]:
        remaining = dict(masks)
        result: dict[str, int] = {}
        main_line: str | None = None
        while remaining:
            # Per-release counts in one big-integer sum: each mask spread to one 32-bit field per release.
            total = sum(self._spread_of(mask) * count for mask, count in remaining.items())
            field_mask = (1 << _FIELD) - 1
            per_bit = {b: c for b in range(len(self.labels)) if (c := (total >> (b * _FIELD)) & field_mask)}
            bit = max(per_bit, key=lambda b: (per_bit[b], self._lines[b] == main_line, b))
            main_line = main_line or self._lines[bit]
            flag = 1 << bit
            result[self.labels[bit]] = per_bit[bit]
            remaining = {m: c for m, c in remaining.items() if not m & flag}
        return result

    def _spread_of(self, mask: int) -> int:
        spread = self._spread.get(mask)
        if spread is None:
            spread, bits = 0, mask
            while bits:
                low = bits & -bits
                spread |= 1 << ((low.bit_length() - 1) * _FIELD)
                bits ^= low
            self._spread[mask] = spread
        return spread
