"""Archives whose exact bytes the catalog lists are hashed, not inflated: the scan takes the catalog's content
hash, gives the same verdicts, and a catalog copy edited on the tenant's server never buys a verdict."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

import drift.collect.hashcache
from drift.filedrift import (
    CHANGED_NOTE,
    CONTENT_UNKNOWN_NOTE,
    LEFT_OUT_NOTE,
    NO_CONTENT_NOTE,
    OUTSIDE_NOTE,
    SPECIAL_NOTE,
    UNREAD_NOTE,
)
from drift.inventory.model import APPEARED, CONTENT_FROM_CATALOG, FOLDER_CHANGED, LEFT_OUT, RACED
from drift.verdict import LISTING_NOTE
from tests.builders import make_jar, tok, write_yaml
from tests.builders import run_cli as run
from tests.demo import demo_site, file_bytes

TENANT = "402206"
ZEROS = "0" * 64
REBUILT_STALE = make_jar({"demo/Core.class": b"core "}, year=2024, built_by="tenant")  # 2.0's classes (before DEMO-0002), new bytes


@pytest.fixture
def site(demo_root: Path) -> Path:
    demo_site(demo_root)
    return demo_root


def _collect(site: Path, *args: str) -> dict:
    result = run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json", *args)
    assert result.exit_code == 0, result.output
    return json.loads((site / "inventory" / f"{TENANT}.json").read_text(encoding="utf-8"))


def _scan(site: Path) -> dict:
    result = run(site, "scan", "--format", "json", "--tenant", TENANT)
    assert result.exit_code == 0, result.output
    tenant = json.loads(result.stdout)["tenants"][0]
    return {"findings": tenant["findings"], "drift": tenant["drift"]}


def _content_only(site: Path) -> None:
    """Make the catalog judge lib/core.jar by content hash alone, as a catalog built with --artifacts does."""
    path = site / "manifests" / "fixes" / "DEMO-0002.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for variant in doc["variants"]:
        for entry in variant["files"]:
            if entry["path"] == "lib/core.jar":
                for key in ("fixed", "unfixed"):
                    entry[key] = [t for t in entry[key] if not t.startswith("sha256:")]
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("stale_name", ["lib/core-2.0.jar", "lib/core.jar.bak"])
def test_a_catalogued_archive_is_not_inflated_and_the_scan_says_the_same(site: Path, stale_name: str) -> None:
    """The tenant renamed its stale jar (release 2.0's exact bytes): known by content hash alone, it is
    found whether or not the collector inflated it, and under a name that gets no content hash at all."""
    _content_only(site)
    (site / "tree" / "lib" / "core.jar").unlink()
    (site / "tree" / stale_name).write_bytes(file_bytes("lib/core.jar", "2.x", "2.0"))
    keys_only = site / "keys-only"  # the catalog's config checks without its releases: every archive inflated
    shutil.copytree(site / "manifests", keys_only)
    shutil.rmtree(keys_only / "releases")
    inflated = _collect(site, "--catalog", str(keys_only))
    assert inflated["content_errors"] == [] and inflated["config"]
    expected = _scan(site)
    skipped = _collect(site)  # with the catalog (manifests/)
    files = {f["path"]: f for f in skipped["files"]}
    assert "content_sha256" not in files[stale_name]
    if stale_name.endswith(".jar"):
        assert skipped["content_errors"] == [{"path": stale_name, "reason": CONTENT_FROM_CATALOG}]
    got = _scan(site)
    assert got == expected
    stale = next(f for f in got["findings"] if f["fix"] == "DEMO-0002")
    jar = next(e for e in stale["evidence"] if e["path"] == "lib/core.jar")
    assert (stale["status"], jar["state"], jar["found_at"]) == ("partial", "unfixed", stale_name)
    assert got["drift"]["stale_copies"] == {stale_name: "lib/core.jar"}


def test_a_cached_recollection_keeps_the_skip_and_inflates_once_the_catalog_no_longer_knows(site: Path) -> None:
    first = _collect(site, "--cache", "cache.json")
    again = _collect(site, "--cache", "cache.json")
    assert again["content_errors"] == first["content_errors"] == [{"path": "lib/core.jar", "reason": CONTENT_FROM_CATALOG}]
    assert again["files"] == first["files"]
    without = _collect(site, "--cache", "cache.json", "--catalog", "nowhere")
    assert without["content_errors"] == []
    assert "content_sha256" in {f["path"]: f for f in without["files"]}["lib/core.jar"]


LEGACY = make_jar({"legacy/Old.class": b"old code"})
LEGACY_REBUILT = make_jar({"legacy/Old.class": b"old code"}, year=2024, built_by="tenant")  # the same classes, other bytes


def _removal_fix(site: Path) -> None:
    """DEMO-0006: the fix removes lib/legacy.jar (which no release of the demo ships any more). A stale copy of
    it anywhere is the one thing that can show the fix is not applied."""
    write_yaml(site / "manifests" / "fixes" / "DEMO-0006.yaml", {
        "format": "drift-fix/1", "id": "DEMO-0006", "title": "Remove the legacy jar", "severity": "critical",
        "variants": [{"line": "2.x", "files": [{"path": "lib/legacy.jar", "fixed": ["absent"], "unfixed": [
            f"sha256:{hashlib.sha256(LEGACY).hexdigest()}", tok(LEGACY, content=True)]}]}],
    })


def _removal(site: Path) -> dict:
    return next(f for f in _scan(site)["findings"] if f["fix"] == "DEMO-0006")


def test_a_stale_copy_is_found_and_an_honest_tree_is_applied(site: Path) -> None:
    _removal_fix(site)
    _collect(site)
    assert _removal(site)["status"] == "applied"
    (site / "tree" / "lib" / "ext").mkdir()
    (site / "tree" / "lib" / "ext" / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
    _collect(site)
    found = _removal(site)
    assert (found["status"], found["evidence"][0]["found_at"]) == ("missing", "lib/ext/legacy-old.jar")


def _edited_copy(site: Path) -> tuple[Path, Path, str]:
    """The catalog copy on the tenant's server, edited by the tenant to list the stale jar's bytes (with a
    content hash) in release 2.2: the copy, that release's manifest, and its text before the edit."""
    copy = site / "server-copy"
    shutil.copytree(site / "manifests", copy)
    release = copy / "releases" / "2.x" / "2.2.yaml"
    pristine = release.read_text(encoding="utf-8")
    sha = hashlib.sha256(LEGACY_REBUILT).hexdigest()
    release.write_text(pristine + f"- path: lib/spare.jar\n  kind: binary\n  sha256: {sha}\n  content_sha256: '{ZEROS}'\n", encoding="utf-8")
    return copy, release, pristine


def test_a_catalog_copy_edited_on_the_server_never_makes_a_stale_copy_disappear(site: Path) -> None:
    """The tenant adds its stale jar's bytes to the catalog copy the collector reads, so that the jar's
    content hash (the only thing that shows it is a stale copy) is never computed."""
    _removal_fix(site)
    (site / "tree" / "lib" / "ext").mkdir()
    (site / "tree" / "lib" / "ext" / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
    copy, _, _ = _edited_copy(site)
    inventory = _collect(site, "--catalog", str(copy))
    assert {"path": "lib/ext/legacy-old.jar", "reason": CONTENT_FROM_CATALOG} in inventory["content_errors"]
    found = _removal(site)
    assert (found["status"], found["reason"]) == ("unverifiable", f"lib/ext/legacy-old.jar: {CONTENT_UNKNOWN_NOTE}: a stale copy there cannot be ruled out")
    assert run(site, "gate", "--tenant", TENANT).exit_code == 1
    # DEMO-0002, whose files are all there and fixed, cannot be changed by a stale copy: still applied
    assert next(f for f in _scan(site)["findings"] if f["fix"] == "DEMO-0002")["status"] == "applied"


@pytest.mark.parametrize(
    ("how", "note"),
    [
        ("a name the inventory cannot record", UNREAD_NOTE),  # Java loads lib/ext/legacy\old.jar all the same
        ("a byte after the end of the zip", NO_CONTENT_NOTE),  # so does it this one
        ("a link to a copy outside the root", OUTSIDE_NOTE),
        ("a sha256sum listing", NO_CONTENT_NOTE),
    ],
)
def test_hiding_a_stale_copy_from_the_collector_never_makes_its_fix_applied(site: Path, tmp_path: Path, how: str, note: str) -> None:
    _removal_fix(site)
    ext = site / "tree" / "lib" / "ext"
    ext.mkdir()
    path = "lib/ext/legacy-old.jar"
    if how == "a name the inventory cannot record":
        (ext / "legacy\\old.jar").write_bytes(LEGACY_REBUILT)
        path = "lib/ext/legacy%5Cold.jar"
    elif how == "a byte after the end of the zip":
        (ext / "legacy-old.jar").write_bytes(LEGACY_REBUILT + b"\0")
    elif how == "a link to a copy outside the root":
        (tmp_path / "elsewhere.jar").write_bytes(LEGACY_REBUILT)
        (ext / "legacy-old.jar").symlink_to(tmp_path / "elsewhere.jar")
    else:
        (ext / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
        tree = site / "tree"
        lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(tree).as_posix()}\n" for p in sorted(tree.rglob("*")) if p.is_file()]
        (site / "inventory" / f"{TENANT}.sha256").write_text("".join(lines), encoding="utf-8")
    if how != "a sha256sum listing":
        _collect(site)
    found = _removal(site)
    if how == "a sha256sum listing":  # a listing cannot show the removed file gone, stale copy or not
        assert found["status"] == "unverifiable" and found["evidence"][0]["note"] == LISTING_NOTE
    else:
        assert (found["status"], found["reason"]) == ("unverifiable", f"{path}: {note}: a stale copy there cannot be ruled out")
    assert run(site, "gate", "--tenant", TENANT).exit_code == 1


@pytest.mark.parametrize("pattern", ["lib/ext", "lib/ext/", "lib/ext/legacy-old.jar", "*-old.jar"])
def test_leaving_a_stale_copy_out_with_exclude_never_makes_its_fix_applied(site: Path, pattern: str) -> None:
    """`--exclude` is the collector's operator's to give, and whoever runs the server may give it: what it
    leaves out is listed, never read, and an archive there is a place a stale copy could be."""
    _removal_fix(site)
    (site / "tree" / "lib" / "ext" / "deeper").mkdir(parents=True)
    (site / "tree" / "lib" / "ext" / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
    (site / "tree" / "lib" / "ext" / "deeper" / "notes.txt").write_text("left out\n", encoding="utf-8")
    inventory = _collect(site, "--exclude", pattern)
    assert {"path": "lib/ext/legacy-old.jar", "reason": LEFT_OUT} in inventory["unreadable"]
    files = {f["path"] for f in inventory["files"]}
    assert "lib/ext/legacy-old.jar" not in files
    assert ("lib/ext/deeper/notes.txt" in files) == pattern.endswith(".jar")  # a folder left out is listed, never read
    found = _removal(site)
    assert (found["status"], found["reason"]) == ("unverifiable", f"lib/ext/legacy-old.jar: {LEFT_OUT_NOTE}: a stale copy there cannot be ruled out")
    assert run(site, "gate", "--tenant", TENANT).exit_code == 1


def test_excluding_a_log_folder_blocks_nothing(site: Path) -> None:
    """A log folder left out holds no archive: nothing of it is recorded, and the removal fix stays applied."""
    _removal_fix(site)
    (site / "tree" / "logs" / "old").mkdir(parents=True)
    (site / "tree" / "logs" / "app.log").write_text("busy\n", encoding="utf-8")
    (site / "tree" / "logs" / "old" / "app.log.1").write_text("older\n", encoding="utf-8")
    inventory = _collect(site, "--exclude", "logs")
    assert not inventory["unreadable"] and not any(f["path"].startswith("logs/") for f in inventory["files"])
    assert _removal(site)["status"] == "applied"
    assert run(site, "gate", "--tenant", TENANT).exit_code == 0


@pytest.mark.parametrize("how", ["a link through a link", "a FIFO"])
def test_a_link_or_special_file_named_like_the_jar_is_counted(site: Path, tmp_path: Path, how: str) -> None:
    _removal_fix(site)
    ext = site / "tree" / "lib" / "ext"
    ext.mkdir()
    (ext / "elsewhere.jar").write_bytes(make_jar({"benign/B.class": b"b"}))  # what the link's text seems to name
    if how == "a link through a link":
        (tmp_path / "elsewhere.jar").write_bytes(LEGACY_REBUILT)  # what it really leads to, beside the tree
        (ext / "up").symlink_to("../..")
        (ext / "legacy-old.jar").symlink_to("up/../elsewhere.jar")
        note = OUTSIDE_NOTE
    else:
        os.mkfifo(ext / "legacy-old.jar")
        note = SPECIAL_NOTE
    _collect(site)
    found = _removal(site)
    assert (found["status"], found["reason"]) == ("unverifiable", f"lib/ext/legacy-old.jar: {note}: a stale copy there cannot be ruled out")


def test_a_stale_jar_under_another_name_is_known_by_its_first_bytes(site: Path) -> None:
    _removal_fix(site)
    (site / "tree" / "lib" / "ext").mkdir()
    (site / "tree" / "lib" / "ext" / "legacy-old.dat").write_bytes(LEGACY_REBUILT)  # Java 8's lib/ext loads any file
    inventory = _collect(site)
    assert "content_sha256" in {f["path"]: f for f in inventory["files"]}["lib/ext/legacy-old.dat"]
    found = _removal(site)
    assert (found["status"], found["evidence"][0]["found_at"]) == ("missing", "lib/ext/legacy-old.dat")


def test_ordinary_unknowns_of_an_honest_tree_block_nothing(site: Path, tmp_path: Path) -> None:
    """A link to a log folder outside the root and a log file the collector cannot read are no place code
    is loaded from: the removal fix stays applied."""
    _removal_fix(site)
    (tmp_path / "var-log").mkdir()
    (site / "tree" / "logs").symlink_to(tmp_path / "var-log")
    (site / "tree" / "app.log").write_text("busy\n", encoding="utf-8")
    os.chmod(site / "tree" / "app.log", 0)
    inventory = _collect(site)
    assert inventory["links"] and (inventory["unreadable"] or os.geteuid() == 0)
    assert _removal(site)["status"] == "applied"
    assert run(site, "gate", "--tenant", TENANT).exit_code == 0


def test_a_stale_jar_under_another_name_left_uninflated_is_never_cached_without_its_note(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale jar is named `legacy-old.dat` (a zip by its first bytes; Java's lib/ext loads it), and the
    catalog copy on the server lists its bytes for one collection with --cache. The cache keeps no note of
    an archive left uninflated: answered from it, the file came back as a plain file with no content hash,
    and the fix read `applied` from then on, even once the catalog copy was put back."""
    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", -60_000_000_000)  # the files here were just written
    _removal_fix(site)
    (site / "tree" / "lib" / "ext").mkdir()
    (site / "tree" / "lib" / "ext" / "legacy-old.dat").write_bytes(LEGACY_REBUILT)
    copy, release, pristine = _edited_copy(site)
    cache = str(tmp_path / "cache.json")
    for edited in (True, True, False):
        if not edited:
            release.write_text(pristine, encoding="utf-8")
        inventory = _collect(site, "--catalog", str(copy), "--cache", cache)
        if edited:
            assert {"path": "lib/ext/legacy-old.dat", "reason": CONTENT_FROM_CATALOG} in inventory["content_errors"]
        else:
            assert "content_sha256" in next(f for f in inventory["files"] if f["path"] == "lib/ext/legacy-old.dat")
        assert _removal(site)["status"] != "applied"
        assert run(site, "gate", "--tenant", TENANT).exit_code == 1


@pytest.mark.parametrize("back", ["at once", "once the collection is over"])
def test_a_stale_jar_moved_out_of_its_folder_while_that_is_listed_never_makes_its_fix_applied(site: Path, monkeypatch: pytest.MonkeyPatch, back: str) -> None:
    """As the collector is about to list the stale jar's folder, the deployer moves the jar into the deploy
    root, listed already, and back once its own folder is listed: the jar is in no listing. Its folder's
    entries changed after it was listed, so it is unreadable ("changed during collection"), and a stale copy
    there cannot be ruled out: the fix that removes the jar is `unverifiable`, not `applied`."""
    import drift.collect.walk

    _removal_fix(site)
    stale = site / "tree" / "lib" / "ext" / "legacy-old.jar"
    stale.parent.mkdir()
    stale.write_bytes(LEGACY_REBUILT)
    real_list = drift.collect.walk._list

    def list_folder(tree_, listing, *rest):  # type: ignore[no-untyped-def]
        folder = listing.folder[-1].rel if listing.folder else ""
        if folder == "lib/ext":
            os.rename(stale, hideout)
            real_list(tree_, listing, *rest)
            if back == "at once":
                os.rename(hideout, stale)
            return
        real_list(tree_, listing, *rest)

    hideout = site / "tree" / "x.tmp"  # in the root, listed first
    monkeypatch.setattr(drift.collect.walk, "_list", list_folder)
    inventory = _collect(site)
    monkeypatch.undo()
    if back != "at once":
        os.rename(hideout, stale)
    assert not any(f["path"].endswith("legacy-old.jar") for f in inventory["files"])  # in no listing
    assert inventory["changed_during_collection"]
    unread = {u["path"]: u["reason"] for u in inventory["unreadable"]}
    if back == "at once":
        assert unread["lib/ext"] == FOLDER_CHANGED
    else:  # its own folder is as listed; the root, where it was, cannot be named unreadable: its new name is
        assert "lib/ext" not in unread and unread["x.tmp"] == APPEARED
    found = _removal(site)
    assert found["status"] == "unverifiable", found
    assert found["reason"].startswith(f"{'lib/ext' if back == 'at once' else 'x.tmp'}: {CHANGED_NOTE}")
    assert run(site, "gate", "--tenant", TENANT).exit_code == 1


def test_a_stale_jar_put_in_place_of_a_name_the_root_held_never_makes_its_fix_applied(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root holds a link `current`. As the collector is about to list the stale jar's folder, the deployer
    renames the jar onto `current`, where it stays: the root's listing held that name (as a link), and the
    jar's folder is as listed. `current` is another file now, so it is named ("replaced there")."""
    import drift.collect.walk

    _removal_fix(site)
    (site / "tree" / "current").symlink_to("lib")
    stale = site / "tree" / "lib" / "ext" / "legacy-old.jar"
    stale.parent.mkdir()
    stale.write_bytes(LEGACY_REBUILT)
    real_list = drift.collect.walk._list

    def list_folder(tree_, listing, *rest):  # type: ignore[no-untyped-def]
        if listing.folder and listing.folder[-1].rel == "lib/ext" and stale.exists():
            os.rename(stale, site / "tree" / "current")
        real_list(tree_, listing, *rest)

    monkeypatch.setattr(drift.collect.walk, "_list", list_folder)
    inventory = _collect(site)
    monkeypatch.undo()
    unread = {u["path"]: u["reason"] for u in inventory["unreadable"]}
    assert unread.get("current") == APPEARED and "lib/ext" not in unread
    found = _removal(site)
    assert found["status"] == "unverifiable" and found["reason"].startswith(f"current: {CHANGED_NOTE}"), found


def test_a_folder_under_the_root_moved_away_while_it_is_listed_never_hides_a_stale_jar(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale jar sits in `ext/`, right under the root. As the collector comes to list `ext`, the deployer
    renames it away, and back at once: `ext` is "removed during collection", and the root, which cannot be
    named, holds the same names as listed. A stale copy in a folder that changed under the collector cannot
    be ruled out."""
    import contextlib

    import drift.collect.folders

    _removal_fix(site)
    own, away = site / "tree" / "ext", site / "tree" / "zz.tmp"
    own.mkdir()
    (own / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
    real_hold = drift.collect.folders._FdFolders.hold
    moved: list[bool] = []

    @contextlib.contextmanager
    def hold(self, folder, **kwargs):  # type: ignore[no-untyped-def]
        if folder and folder[-1].rel == "ext" and not moved:
            moved.append(True)
            os.rename(own, away)
            try:
                with real_hold(self, folder, **kwargs) as handle:
                    yield handle
            finally:
                os.rename(away, own)
            return
        with real_hold(self, folder, **kwargs) as handle:
            yield handle

    monkeypatch.setattr(drift.collect.folders._FdFolders, "hold", hold)
    inventory = _collect(site)
    monkeypatch.undo()
    assert moved and not any(f["path"].startswith("ext/") for f in inventory["files"])
    assert "during collection" in {u["path"]: u["reason"] for u in inventory["unreadable"]}["ext"]
    found = _removal(site)
    assert found["status"] == "unverifiable" and found["reason"].startswith(f"ext: {CHANGED_NOTE}"), found


def test_every_reason_for_something_that_changed_under_the_collector_says_so() -> None:
    """The scan knows a race by the words `RACED` in an unreadable entry's reason."""
    import inspect

    import drift.collect.folders

    source = inspect.getsource(drift.collect.folders)
    for line in source.splitlines():
        if "raise Changed(" in line:
            assert RACED in line, line
    assert RACED in FOLDER_CHANGED and RACED in APPEARED


def test_a_stale_jar_named_dat_that_keeps_changing_while_it_is_read_never_makes_its_fix_applied(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`while :; do touch lib/ext/legacy-old.dat; done` on the server: the stale jar, under a name Java's
    lib/ext loads, changes during every read and is listed unreadable ("changed while being read"). Such a
    file may be a stale copy whatever its name."""
    import drift.collect.readfile

    _removal_fix(site)
    stale = site / "tree" / "lib" / "ext" / "legacy-old.dat"
    stale.parent.mkdir()
    stale.write_bytes(LEGACY_REBUILT)
    real_still_at = drift.collect.readfile._still_at

    def still_at(entry, seen, folders, **kwargs):  # type: ignore[no-untyped-def]
        if entry.name == stale.name:
            os.utime(stale)  # caught mid-read, every time
        return real_still_at(entry, seen, folders, **kwargs)

    monkeypatch.setattr(drift.collect.readfile, "_still_at", still_at)
    inventory = _collect(site, "--jobs", "1")
    monkeypatch.undo()
    assert {u["path"]: u["reason"] for u in inventory["unreadable"]}["lib/ext/legacy-old.dat"].startswith("changed while being read")
    found = _removal(site)
    assert found["status"] == "unverifiable" and found["reason"].startswith(f"lib/ext/legacy-old.dat: {UNREAD_NOTE}"), found
    assert run(site, "gate", "--tenant", TENANT).exit_code == 1


def test_a_stale_jar_in_a_folder_the_collector_may_not_list_never_makes_its_fix_applied(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A collector not running as root meets a folder of the application's account, mode 0700, holding the
    stale jar (the application loads it; the collector cannot list it): "cannot list folder". What it holds
    is not known, so a stale copy there cannot be ruled out."""
    import errno

    import drift.collect.folders

    _removal_fix(site)
    ext = site / "tree" / "lib" / "ext"
    ext.mkdir()
    (ext / "legacy-old.jar").write_bytes(LEGACY_REBUILT)
    real_open = drift.collect.folders.os.open

    def open_(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path == "ext" and flags & getattr(os, "O_DIRECTORY", 0):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(drift.collect.folders.os, "open", open_)
    inventory = _collect(site)
    monkeypatch.undo()
    assert {u["path"]: u["reason"] for u in inventory["unreadable"]}["lib/ext"].startswith("cannot list folder")
    found = _removal(site)
    assert found["status"] == "unverifiable" and found["reason"].startswith(f"lib/ext: {UNREAD_NOTE}"), found
