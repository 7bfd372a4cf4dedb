"""File-level drift from a tenant's nearest release equals judging every file on its own, whatever the
catalog and the tenant; the nearest release is found, and where the tenant differs from it is exact."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from drift.catalog.model import Catalog, Release, ReleaseFile
from drift.filedrift import ReleaseIndex, _ReleaseTable
from drift.inventory.filetable import FileTable
from drift.inventory.model import FileRecord

HEX = [c * 64 for c in "0123456789"]
PATHS = [f"app/F{i}.java" for i in range(8)] + ["lib/a.jar", "lib/b.jar"]


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """Two lines of a few releases; each release changes, adds or drops a few files of the one before,
    sharing the unchanged ReleaseFile objects as the loader does."""
    releases = []
    for line in ("1.x", "2.x"):
        files = {p: ReleaseFile(p, "binary" if p.endswith(".jar") else "source", draw(st.sampled_from(HEX)),
                                draw(st.sampled_from(HEX)) if p.endswith(".jar") else None)
                 for p in draw(st.lists(st.sampled_from(PATHS), min_size=1, unique=True))}
        for version in range(draw(st.integers(1, 4))):
            for path in draw(st.lists(st.sampled_from(PATHS), max_size=3, unique=True)):
                if path in files and draw(st.booleans()):
                    del files[path]
                else:
                    files[path] = ReleaseFile(path, "source", draw(st.sampled_from(HEX)),
                                              draw(st.sampled_from([None, *HEX])) if path.endswith(".jar") else None)
            releases.append(Release(line, f"{line[0]}.{version}", None, tuple(files[p] for p in sorted(files))))
    return Catalog("p", ("1.x", "2.x"), {}, tuple(releases), (), "sha256:" + "0" * 64)


@st.composite
def tenants(draw: st.DrawFn, catalog: Catalog) -> dict[str, FileRecord]:
    """A release's files, some changed, dropped, added, or listed without their content hash."""
    release = draw(st.sampled_from(catalog.releases))
    files = {f.path: FileRecord(1, f.sha256, f.content_sha256) for f in release.files}
    for path in draw(st.lists(st.sampled_from([*PATHS, "custom/X.java"]), max_size=4, unique=True)):
        change = draw(st.sampled_from(["sha", "drop", "content", "add"]))
        if change == "drop":
            files.pop(path, None)
        elif change == "content" and path in files:
            files[path] = files[path]._replace(content_sha256=draw(st.sampled_from([None, *HEX])))
        else:
            files[path] = FileRecord(2, draw(st.sampled_from(HEX)), None)
    return files


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_drift_from_the_nearest_release_equals_drift_file_by_file(data):
    catalog = data.draw(catalogs())
    index = ReleaseIndex(catalog)
    for _ in range(3):
        files = data.draw(tenants(catalog))
        nearest = index.nearest(files)
        assert nearest is not None
        release = catalog.releases[nearest.release]
        theirs = {f.path: (f.sha256, f.content_sha256) for f in release.files}
        ours = {p: (r.sha256, r.content_sha256) for p, r in files.items()}
        assert nearest.differing == {p for p in theirs.keys() | ours.keys() if theirs.get(p) != ours.get(p)}
        assert index.file_drift(files, nearest) == index.file_drift(files)
        assert index.file_drift(FileTable.of(files), nearest) == index.file_drift(files)


@settings(max_examples=100, deadline=None)
@given(catalogs(), st.randoms(use_true_random=False))
def test_release_tables_derived_from_one_another_equal_tables_built_whole(catalog, rnd: random.Random):
    index = ReleaseIndex(catalog)
    order = list(range(len(catalog.releases)))
    rnd.shuffle(order)
    for number in order:
        derived = index._table(number)
        whole = _ReleaseTable(index, number, catalog.releases[number])
        assert (derived.sha, derived.content, derived.mask, derived.counts, derived.total) == (
            whole.sha, whole.content, whole.mask, whole.counts, whole.total)


def test_a_tenant_on_a_release_with_one_file_changed_is_nearest_to_that_release():
    rows = {p: ReleaseFile(p, "source", HEX[i]) for i, p in enumerate(PATHS[:6])}
    releases = []
    for version in range(4):  # each release changes one file
        rows[PATHS[version]] = ReleaseFile(PATHS[version], "source", HEX[9 - version])
        releases.append(Release("1.x", f"1.{version}", None, tuple(rows.values())))
    catalog = Catalog("p", ("1.x",), {}, tuple(releases), (), "sha256:" + "0" * 64)
    files = {f.path: FileRecord(1, f.sha256, None) for f in releases[2].files}
    files[PATHS[5]] = FileRecord(1, "f" * 64, None)  # modified locally
    nearest = ReleaseIndex(catalog).nearest(files)
    assert nearest is not None and catalog.releases[nearest.release].version == "1.2"
    assert nearest.differing == {PATHS[5]}
    drift = ReleaseIndex(catalog).file_drift(files, nearest)
    assert drift.modified == (PATHS[5],) and drift.releases == {"1.2": 5}


def test_a_catalog_without_releases_has_no_nearest_release():
    catalog = Catalog("p", ("1.x",), {}, (), (), "sha256:" + "0" * 64)
    files = {"a": FileRecord(1, HEX[0], None)}
    assert ReleaseIndex(catalog).nearest(files) is None
    assert ReleaseIndex(catalog).file_drift(files).uncatalogued == ("a",)
