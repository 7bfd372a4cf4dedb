"""What a tenant should have, and where it keeps stale copies: the `Context` its verdicts read (SPEC 5).

Two ways an audited party could make a missing fix look absent rather than missing are closed here:
- deleting (or leaving out of a listing) a fix's file: the file is `removed`, not `not-deployed`, when the
  release the tenant's files match best ships it in a module the tenant deploys;
- renaming a stale file to a name no release knows (`lib/kofu-konbini-8.0.0.jar`, still on a `lib/*`
  classpath): a tenant file at an uncatalogued path whose hash is a known unfixed version of a fix's file
  makes that entry `unfixed`, naming where the copy is. Only hashes that no release holds at any other
  path count, so common contents (an empty file, a licence text shipped in several places) never do.
  A fix file renamed only in case (`WEB-INF/DEBUG.ENABLED`), which Windows still opens by its old name,
  is judged as that file (`Context.twins`): never an absence that proves a fix.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import replace

from drift.catalog.model import Catalog
from drift.collect.archive import content_sha256_bytes
from drift.filedrift import ReleaseIndex
from drift.hashes import ABSENT
from drift.inventory.model import FileRecord
from drift.results import FileDrift
from drift.tenants import Tenant
from drift.verdict import Context


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w"):
        pass
    return buffer.getvalue()


COMMON_TOKENS = frozenset({f"sha256:{hashlib.sha256(b'').hexdigest()}", f"content-sha256:{content_sha256_bytes(_empty_zip())}"})
"""An empty file and an empty archive: never evidence of a stale copy, whatever a catalog says."""


def stale_versions(catalog: Catalog, index: ReleaseIndex) -> dict[str, tuple[str, ...]]:
    """Hash token → the fix file paths it is a known unfixed version of, for tokens that no release holds at
    any other path than those (sorted)."""
    wanted: dict[str, set[str]] = {}
    for fix in catalog.fixes:
        for variant in fix.variants:
            for entry in variant.files:
                for token in entry.unfixed:
                    if token != ABSENT and token not in COMMON_TOKENS:
                        wanted.setdefault(token, set()).add(entry.path)
    held: dict[str, set[str]] = {}
    for prefix, masks in (("sha256:", index.sha_masks), ("content-sha256:", index.content_masks)):
        for path, value in masks:
            token = prefix + value
            if token in wanted:
                held.setdefault(token, set()).add(path)
    stale: dict[str, tuple[str, ...]] = {}
    for token, paths in wanted.items():
        at = held.get(token, set())
        kept = sorted(p for p in paths if at <= {p})
        if kept:
            stale[token] = tuple(kept)
    return stale


class Expectations:
    """Builds each tenant's `Context` against one catalog: the paths of its nearest release with their
    modules (computed once per release), and its stale copies."""

    def __init__(self, catalog: Catalog, index: ReleaseIndex) -> None:
        self._catalog = catalog
        self._number = {label: n for n, label in enumerate(index.labels)}
        self._shipped: dict[tuple[int, ...], dict[str, str | None]] = {}
        self._by_line: dict[str, list[int]] = {}
        for n, release in enumerate(catalog.releases):
            self._by_line.setdefault(release.line, []).append(n)
        self._stale = stale_versions(catalog, index)
        self._folded = {e.path.casefold(): e.path for fix in catalog.fixes for v in fix.variants for e in v.files}
        """A fix file's path with case folded → the path."""

    def context(self, tenant: Tenant, files: Mapping[str, FileRecord], drift: FileDrift) -> tuple[Context, FileDrift]:
        """The tenant's context, and its file drift with its stale copies listed.

        The tenant is expected to have every path that any release its files are attributed to ships
        (`drift.releases`, the one its files match best first), not only the first: a tenant that dresses
        most of its files as another line's release still shows its own line's fixed files, and with them
        that line's paths. A tenant none of whose attributed releases is of the line the registry names for
        it is also expected to have that line's paths; one whose files match no release at all, every path
        of every release. Nothing it lacks can then pass for a file its release never had."""
        numbers = tuple(sorted(self._number[label] for label in drift.releases))
        if not numbers:
            numbers = (-1,)
        elif tenant.line in self._by_line and not any(self._catalog.releases[n].line == tenant.line for n in numbers):
            numbers = tuple(sorted({*numbers, *self._by_line[tenant.line]}))
        copies, stale_files = self._copies(files, drift.uncatalogued)
        twins = self._twins(files, drift.uncatalogued)
        context = Context(shipped=self._shipped_by(numbers), modules=tenant.modules, copies=copies, release=numbers, twins=twins)
        return context, (replace(drift, stale_copies=stale_files) if stale_files else drift)

    def _shipped_by(self, numbers: tuple[int, ...]) -> dict[str, str | None]:
        shipped = self._shipped.get(numbers)
        if shipped is None:
            releases = self._catalog.releases if numbers == (-1,) else tuple(self._catalog.releases[n] for n in numbers)
            shipped = {}
            for r in releases:
                for f in r.files:
                    # Over several releases a path is expected if any of them ships it outside a module.
                    if shipped.get(f.path, "") is not None:
                        shipped[f.path] = f.module
            self._shipped[numbers] = shipped
        return shipped

    def _twins(self, files: Mapping[str, FileRecord], uncatalogued: tuple[str, ...]) -> dict[str, str]:
        """Fix file path the tenant lacks → the uncatalogued tenant path that differs from it only in case (on
        Windows, the same file: renaming `debug.enabled` to `DEBUG.ENABLED` hides nothing)."""
        twins: dict[str, str] = {}
        for path in uncatalogued:
            own = self._folded.get(path.casefold())
            if own is not None and own != path and own not in files:
                twins.setdefault(own, path)
        return twins

    def _copies(self, files: Mapping[str, FileRecord], uncatalogued: tuple[str, ...]) -> tuple[dict[str, tuple[tuple[str, str], ...]], dict[str, str]]:
        """Fix file path → (token, copy path) pairs, and copy path → the fix file it is a stale version of."""
        if not self._stale or not uncatalogued:
            return {}, {}
        by_entry: dict[str, list[tuple[str, str]]] = {}
        stale_files: dict[str, str] = {}
        for path in uncatalogued:
            record = files.get(path)
            if record is None:
                continue
            for token in record.tokens():
                for entry_path in self._stale.get(token, ()):
                    by_entry.setdefault(entry_path, []).append((token, path))
                    stale_files.setdefault(path, entry_path)
        return {p: tuple(pairs) for p, pairs in by_entry.items()}, stale_files
