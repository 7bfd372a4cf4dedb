"""What a tenant should have, and its stale copies (drift.expected), on real catalog objects."""

from __future__ import annotations

import hashlib

from drift.catalog.model import Applicability, Catalog, FileEntry, Fix, Release, ReleaseFile, Variant
from drift.expected import Expectations, stale_versions
from drift.filedrift import ReleaseIndex
from drift.inventory.model import FileRecord
from drift.tenants import Tenant

OLD, NEW, LICENCE = "a" * 64, "b" * 64, "c" * 64
EMPTY = hashlib.sha256(b"").hexdigest()
CORE, KIOSK = "app/Core.java", "lib/kofu-konbini.jar"


def catalog(*fix_entries: FileEntry) -> Catalog:
    r1 = Release("8.x", "8.0.0", None, (
        ReleaseFile(CORE, "source", OLD), ReleaseFile(KIOSK, "binary", OLD, None, "konbini"),
        ReleaseFile("LICENSE", "doc", LICENCE), ReleaseFile("docs/LICENSE", "doc", LICENCE), ReleaseFile("empty.txt", "doc", EMPTY),
    ))
    r2 = Release("8.x", "8.1.0", None, (ReleaseFile(CORE, "source", NEW), ReleaseFile(KIOSK, "binary", NEW, None, "konbini"), *r1.files[2:]))
    fixes = (Fix("F-1", "t", "high", None, (), Applicability(), (Variant("8.x", "8.1.0", fix_entries),)),)
    return Catalog("kofu", ("8.x",), {}, (r1, r2), fixes, "sha256:" + "0" * 64)


def test_only_hashes_no_release_holds_at_another_path_are_stale_versions():
    cat = catalog(
        FileEntry(KIOSK, (f"sha256:{NEW}",), (f"sha256:{OLD}",)),  # OLD is also app/Core.java's hash in 8.0.0
        FileEntry("LICENSE", (), (f"sha256:{LICENCE}",)),  # shipped at two paths
        FileEntry("empty.txt", (), (f"sha256:{EMPTY}",)),  # an empty file never counts
        FileEntry("gone.txt", (), ("sha256:" + "d" * 64, "absent")),
    )
    assert stale_versions(cat, ReleaseIndex(cat)) == {"sha256:" + "d" * 64: ("gone.txt",)}


def test_a_renamed_stale_file_is_a_stale_copy_and_in_file_drift():
    cat = catalog(FileEntry(KIOSK, (f"sha256:{NEW}",), ("sha256:" + "e" * 64,)))
    index = ReleaseIndex(cat)
    files = {CORE: FileRecord(1, NEW, None), "LICENSE": FileRecord(1, LICENCE, None), "lib/kofu-konbini-8.0.0.jar": FileRecord(1, "e" * 64, None)}
    tenant = Tenant("131211", "足立区", modules=frozenset({"konbini"}))
    context, drift = Expectations(cat, index).context(tenant, files, index.file_drift(files, index.nearest(files)))
    assert context.copies == {KIOSK: (("sha256:" + "e" * 64, "lib/kofu-konbini-8.0.0.jar"),)}
    assert drift.stale_copies == {"lib/kofu-konbini-8.0.0.jar": KIOSK}
    assert context.expects(KIOSK) and context.expects(CORE) and not context.expects("app/Unknown.java")


def test_the_nearest_release_is_the_one_the_files_match_best_and_modules_count():
    cat = catalog()
    index = ReleaseIndex(cat)
    files = {CORE: FileRecord(1, NEW, None), "LICENSE": FileRecord(1, LICENCE, None)}
    expectations = Expectations(cat, index)
    with_kiosk, _ = expectations.context(Tenant("1", "x", modules=frozenset({"konbini"})), files, index.file_drift(files))
    without, _ = expectations.context(Tenant("2", "x", modules=frozenset({"renkei"})), files, index.file_drift(files))
    assert with_kiosk.release == (1,) and with_kiosk.expects(KIOSK)
    assert not without.expects(KIOSK) and without.expects(CORE)


def test_a_tenant_matching_no_release_is_expected_to_have_every_path():
    cat = catalog()
    index = ReleaseIndex(cat)
    files = {CORE: FileRecord(1, "f" * 64, None)}  # every file changed: nothing matches
    context, _ = Expectations(cat, index).context(Tenant("1", "x"), files, index.file_drift(files))
    assert context.release == (-1,) and context.expects(CORE) and context.expects("LICENSE")


def two_lines() -> Catalog:
    """7.4.6 ships three files of its own; 8.2.2 ships the kiosk jar (konbini) that 7.x never had."""
    r7 = Release("7.x", "7.4.6", None, tuple(ReleaseFile(p, "source", "7" * 64) for p in ("app/X7.java", "app/Y7.java", "app/Z7.java"))
                 + (ReleaseFile("LICENSE", "doc", LICENCE), ReleaseFile(CORE, "source", OLD)))
    r8 = Release("8.x", "8.2.2", None, (ReleaseFile(CORE, "source", NEW), ReleaseFile(KIOSK, "binary", NEW, None, "konbini"),
                                       ReleaseFile("LICENSE", "doc", LICENCE)))
    return Catalog("kofu", ("7.x", "8.x"), {}, (r7, r8), (), "sha256:" + "0" * 64)


def test_a_tenant_that_dresses_most_files_as_another_line_still_must_have_its_own_lines_files():
    """Most files made 7.4.6's, the fixed 8.x core kept, the unfixed kiosk jar deleted: the jar is still expected."""
    cat = two_lines()
    index = ReleaseIndex(cat)
    files = {p: FileRecord(1, "7" * 64, None) for p in ("app/X7.java", "app/Y7.java", "app/Z7.java")}
    files |= {"LICENSE": FileRecord(1, LICENCE, None), CORE: FileRecord(1, NEW, None)}
    drift = index.file_drift(files, index.nearest(files))
    assert list(drift.releases) == ["7.4.6", "8.2.2"]  # the best match is the other line's release
    context, _ = Expectations(cat, index).context(Tenant("402206", "x", line="8.x", modules=frozenset({"konbini"})), files, drift)
    assert context.expects(KIOSK)


def test_a_tenant_none_of_whose_files_match_its_registered_line_must_have_that_lines_files():
    cat = two_lines()
    index = ReleaseIndex(cat)
    files = {p: FileRecord(1, "7" * 64, None) for p in ("app/X7.java", "app/Y7.java", "app/Z7.java")} | {"LICENSE": FileRecord(1, LICENCE, None)}
    drift = index.file_drift(files, index.nearest(files))
    expectations = Expectations(cat, index)
    on_8, _ = expectations.context(Tenant("1", "x", line="8.x", modules=frozenset({"konbini"})), files, drift)
    on_7, _ = expectations.context(Tenant("2", "x", line="7.x", modules=frozenset({"konbini"})), files, drift)
    assert on_8.expects(KIOSK) and not on_7.expects(KIOSK)
