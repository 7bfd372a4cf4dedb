"""The catalog (SPEC 3): loading the demo catalog, and every validation rule naming the file and the field."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from drift.catalog import load as catalog_load
from drift.catalog import load_catalog
from drift.errors import CatalogError, OperationalError
from tests.builders import refusal, write_yaml
from tests.demo import FIXES, LINES, RELEASES

HEX = "ab" * 32
FIX1 = "fixes/DEMO-0001.yaml"  # one variant per line, one file each (app/print/Job.java)
FIX2 = "fixes/DEMO-0002.yaml"  # two files per variant: app/print/Job.java, lib/core.jar
FIX4 = "fixes/DEMO-0004.yaml"  # a config check; its file is `absent` before the fix
REL = "releases/1.x/1.0.yaml"


@pytest.fixture(autouse=True, params=["one process", "fixes parsed in a second process"])
def fix_parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule holds the same whether the fix files are parsed here or, as for a large catalog, in a
    second process while this one parses the release manifests."""
    if request.param != "one process":
        monkeypatch.setattr(catalog_load, "PARALLEL_FIXES", 1)


@pytest.fixture
def cat(demo_root: Path) -> Path:
    return demo_root / "manifests"


def edit(path: Path, change: Callable[[Any], object]) -> None:
    """Load a YAML file, let `change` mutate the document, write it back."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    write_yaml(path, doc)


def refused(cat: Path, file: str, field: str) -> str:
    """Loading must fail with a message starting `<file>: <field>: `; returns the message."""
    return refusal(CatalogError, lambda: load_catalog(cat), cat / file, field)


# --- loading -------------------------------------------------------------------------------------------


def test_demo_catalog_gives_product_and_lines_in_order(cat):
    catalog = load_catalog(cat)
    assert catalog.product == "demo"
    assert catalog.lines == LINES
    assert catalog.forked_from == {"2.x": "1.x"}


def test_releases_come_by_line_order_then_version(cat):
    releases = load_catalog(cat).releases
    assert [(r.line, r.version) for r in releases] == [(line, v) for line in LINES for v in RELEASES[line]]


def test_version_1_10_sorts_after_1_9(cat):
    for version in ("1.9", "1.10", "1.2.1"):
        copy = cat / "releases" / "1.x" / f"{version}.yaml"
        shutil.copy(cat / REL, copy)
        edit(copy, lambda d, v=version: d.update(version=v))
    versions = [r.version for r in load_catalog(cat).releases if r.line == "1.x"]
    assert versions == ["1.0", "1.1", "1.2", "1.2.1", "1.3", "1.9", "1.10"]


def test_release_files_and_dates_are_loaded(cat):
    release = next(r for r in load_catalog(cat).releases if r.version == "1.0")
    jar = next(f for f in release.files if f.path == "lib/core.jar")
    assert jar.kind == "binary" and jar.content_sha256 is not None
    assert jar.content_sha256 is not None and jar.content_sha256 != jar.sha256
    assert str(release.date) == "2020-01-01"


def test_fixes_are_sorted_by_id(cat):
    write_yaml(cat / "fixes" / "AAA-0001.yaml", {
        "format": "drift-fix/1", "id": "AAA-0001", "title": "first", "severity": "low",
        "variants": [{"line": "1.x", "files": [{"path": "app/Main.java", "fixed": [f"sha256:{HEX}"], "unfixed": []}]}],
    })
    ids = [f.id for f in load_catalog(cat).fixes]
    assert ids == ["AAA-0001", *sorted(f.id for f in FIXES)]


def test_fix_fields_are_loaded(cat):
    fixes = {f.id: f for f in load_catalog(cat).fixes}
    kiosk, lock = fixes["DEMO-0003"], fixes["DEMO-0004"]
    assert kiosk.severity == "medium" and kiosk.applies_to.modules == {"konbini"} and kiosk.applies_to.editions is None
    assert [(v.line, v.fixed_in) for v in kiosk.variants] == [("1.x", "1.3"), ("2.x", "2.1")]
    assert [(c.file, c.key, c.expect) for c in lock.variants[0].config] == [("conf/app.properties", "print.lock", "exclusive")]
    assert lock.variants[0].files[0].unfixed == ("absent",)
    assert load_catalog(cat).config_keys() == {("conf/app.properties", "print.lock")}


def test_digest_is_stable_and_does_not_depend_on_where_the_folder_is(cat, tmp_path):
    other = shutil.copytree(cat, tmp_path / "elsewhere" / "manifests")
    digest = load_catalog(cat).digest
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert load_catalog(cat).digest == digest == load_catalog(other).digest


@pytest.mark.parametrize("file", ["catalog.yaml", REL, FIX1])
def test_digest_changes_when_any_catalog_file_changes(cat, file):
    before = load_catalog(cat).digest
    with (cat / file).open("a", encoding="utf-8") as handle:
        handle.write("# a comment changes the bytes\n")
    assert load_catalog(cat).digest != before


def test_digest_changes_when_a_fix_is_added(cat):
    before = load_catalog(cat).digest
    shutil.copy(cat / FIX1, cat / "fixes" / "DEMO-0009.yaml")
    edit(cat / "fixes" / "DEMO-0009.yaml", lambda d: d.update(id="DEMO-0009"))
    assert load_catalog(cat).digest != before


def test_not_a_catalog_folder_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="no catalog.yaml"):
        load_catalog(tmp_path)


# --- validation: every error names the file and the field ------------------------------------------


def test_broken_yaml_names_the_line(cat):
    (cat / FIX1).write_text("format: drift-fix/1\nid: DEMO-0001\ntitle: [unclosed\nseverity: high\n", encoding="utf-8")
    message = refused(cat, FIX1, "line 4")
    assert "invalid YAML" in message


def test_a_key_given_twice_is_refused_naming_the_line(cat):
    text = (cat / FIX1).read_text(encoding="utf-8")
    (cat / FIX1).write_text(text + "severity: low\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    assert "'severity' is given twice" in refused(cat, FIX1, f"line {line}")


def test_unknown_key_in_catalog_yaml(cat):
    edit(cat / "catalog.yaml", lambda d: d.update(vendor="x"))
    assert "unknown key" in refused(cat, "catalog.yaml", "vendor")


def test_unknown_key_at_the_top_of_a_fix(cat):
    edit(cat / FIX1, lambda d: d.update(owner="x"))
    assert "unknown key" in refused(cat, FIX1, "owner")


def test_unknown_key_in_a_variant(cat):
    edit(cat / FIX2, lambda d: d["variants"][1].update(note="x"))
    refused(cat, FIX2, "variants[1].note")


def test_unknown_key_in_a_file_entry(cat):
    edit(cat / FIX2, lambda d: d["variants"][0]["files"][1].update(hashes=[]))
    refused(cat, FIX2, "variants[0].files[1].hashes")


def test_unknown_key_in_a_config_check(cat):
    edit(cat / FIX4, lambda d: d["variants"][0]["config"][0].update(default="x"))
    refused(cat, FIX4, "variants[0].config[0].default")


def test_unknown_key_at_the_top_of_a_release(cat):
    edit(cat / REL, lambda d: d.update(build="x"))
    refused(cat, REL, "build")


def test_unknown_key_in_a_release_file(cat):
    edit(cat / REL, lambda d: d["files"][2].update(mode="0644"))
    refused(cat, REL, "files[2].mode")


def test_a_release_file_may_name_its_module(cat):
    edit(cat / REL, lambda d: d["files"][2].update(module="konbini"))
    edit(cat / REL, lambda d: d["files"][4].update(module="窓口-2.x"))
    release = next(r for r in load_catalog(cat).releases if r.version == "1.0")
    modules = [f.module for f in release.files]
    assert modules[2] == "konbini" and modules[4] == "窓口-2.x"
    assert modules[:2] + modules[3:4] + modules[5:] == [None] * (len(modules) - 2), "a file without `module` has none"


@pytest.mark.parametrize("name", ["k", "x" * 64, "a/b.c", "madoguchi_2", "窓口"])
def test_module_names_within_the_rules_are_accepted(cat, name):
    edit(cat / REL, lambda d: d["files"][0].update(module=name))
    release = next(r for r in load_catalog(cat).releases if r.version == "1.0")
    assert release.files[0].module == name


@pytest.mark.parametrize(
    "bad",
    ["", "x" * 65, "kon bini", "kon\tbini", "kon\u00a0bini", "kon\x07bini", "konbini,renkei", "konbini;renkei", "konbini|renkei",
     5, 1.5, True, None, ["konbini"], {"name": "konbini"}],
    ids=["empty", "65-chars", "space", "tab", "nbsp", "control", "comma", "semicolon", "bar", "int", "float", "bool", "null", "list", "mapping"],
)
def test_a_malformed_module_is_refused_naming_the_file_and_the_field(cat, bad):
    edit(cat / REL, lambda d: d["files"][3].update(module=bad))
    assert "module" in refused(cat, REL, "files[3].module")


def test_two_files_with_one_fix_id_are_refused(cat):
    # DEMO-0001 claims DEMO-0002 as an alias: the id DEMO-0002 is then defined twice
    edit(cat / FIX1, lambda d: d.update(aliases=["DEMO-0002"]))
    message = refused(cat, FIX2, "id")
    assert "duplicate fix id 'DEMO-0002'" in message and str(cat / FIX1) in message


def test_an_alias_naming_another_fix_is_refused(cat):
    edit(cat / FIX2, lambda d: d.update(aliases=["CVE-2020-1", "DEMO-0001"]))
    assert "duplicate fix id 'DEMO-0001'" in refused(cat, FIX2, "aliases[1]")


def test_two_fixes_with_one_alias_are_refused(cat):
    edit(cat / FIX1, lambda d: d.update(aliases=["CVE-2020-1"]))
    edit(cat / FIX2, lambda d: d.update(aliases=["CVE-2020-1"]))
    assert "duplicate fix id 'CVE-2020-1'" in refused(cat, FIX2, "aliases[0]")


def test_a_hash_in_both_fixed_and_unfixed_is_refused(cat):
    def change(doc: dict) -> None:
        entry = doc["variants"][0]["files"][1]
        entry["unfixed"].append(entry["fixed"][1])  # the content hash, now 3rd of unfixed

    edit(cat / FIX2, change)
    assert "in both fixed and unfixed" in refused(cat, FIX2, "variants[0].files[1].unfixed[2]")


def test_absent_may_stand_in_both_lists(cat):
    edit(cat / FIX4, lambda d: d["variants"][0]["files"][0]["fixed"].append("absent"))
    entry = next(f for f in load_catalog(cat).fixes if f.id == "DEMO-0004").variants[0].files[0]
    assert entry.absence_ambiguous


def test_a_hash_listed_twice_in_one_list_is_refused(cat):
    edit(cat / FIX1, lambda d: d["variants"][0]["files"][0]["unfixed"].extend([f"sha256:{HEX}"] * 2))
    refused(cat, FIX1, "variants[0].files[0].unfixed")


def test_a_variant_line_not_in_catalog_yaml_is_refused(cat):
    edit(cat / FIX2, lambda d: d["variants"][1].update(line="9.x"))
    assert "'9.x' is not in catalog.yaml" in refused(cat, FIX2, "variants[1].line")


def test_a_release_line_not_in_catalog_yaml_is_refused(cat):
    edit(cat / REL, lambda d: d.update(line="9.x"))
    assert "'9.x' is not in catalog.yaml" in refused(cat, REL, "line")


def test_a_release_in_another_lines_folder_is_refused(cat):
    edit(cat / REL, lambda d: d.update(line="2.x"))
    refused(cat, REL, "line")


def test_a_forked_from_line_not_in_catalog_yaml_is_refused(cat):
    edit(cat / "catalog.yaml", lambda d: d.update(forked_from={"2.x": "0.x"}))
    refused(cat, "catalog.yaml", "forked_from.2.x")


@pytest.mark.parametrize(
    "bad",
    [
        f"sha1:{HEX}",  # wrong prefix
        HEX,  # no prefix
        f"sha256:{HEX[:-1]}",  # short hex
        f"sha256:{HEX.upper()}",  # uppercase
        f"sha256:{HEX[:-1]}g",  # not hex
        "ABSENT",
    ],
)
def test_a_malformed_hash_in_a_fix_is_refused(cat, bad):
    edit(cat / FIX2, lambda d: d["variants"][0]["files"][1]["fixed"].insert(0, bad))
    assert "malformed hash" in refused(cat, FIX2, "variants[0].files[1].fixed[0]")


@pytest.mark.parametrize("field", ["sha256", "content_sha256"])
def test_a_malformed_hash_in_a_release_is_refused(cat, field):
    edit(cat / REL, lambda d: d["files"][4].update({field: "sha256:" + HEX}))  # the token form, where hex is due
    assert "malformed hash" in refused(cat, REL, f"files[4].{field}")


@pytest.mark.parametrize(
    ("file", "remove", "field"),
    [
        ("catalog.yaml", lambda d: d.pop("lines"), "lines"),
        (FIX1, lambda d: d.pop("severity"), "severity"),
        (FIX1, lambda d: d.pop("title"), "title"),
        (FIX1, lambda d: d["variants"][0].pop("files"), "variants[0].files"),
        (FIX1, lambda d: d["variants"][0]["files"][0].pop("unfixed"), "variants[0].files[0].unfixed"),
        (FIX4, lambda d: d["variants"][0]["config"][0].pop("expect"), "variants[0].config[0].expect"),
        (REL, lambda d: d.pop("version"), "version"),
        (REL, lambda d: d["files"][0].pop("sha256"), "files[0].sha256"),
    ],
)
def test_a_missing_required_field_is_refused(cat, file, remove, field):
    edit(cat / file, remove)
    assert "required field is missing" in refused(cat, file, field)


@pytest.mark.parametrize("severity", ["urgent", "Critical", ""])
def test_a_bad_severity_is_refused(cat, severity):
    edit(cat / FIX1, lambda d: d.update(severity=severity))
    refused(cat, FIX1, "severity")


@pytest.mark.parametrize(
    "bad",
    ["app/../../etc/passwd", "../app/Main.java", "/etc/passwd", "C:/app/Main.java", "app/\0Main.java", "app\\Main.java", "app//Main.java"],
)
def test_a_fix_file_path_outside_the_root_is_refused(cat, bad):
    edit(cat / FIX2, lambda d: d["variants"][1]["files"][1].update(path=bad))
    refused(cat, FIX2, "variants[1].files[1].path")


@pytest.mark.parametrize("bad", ["../conf/app.properties", "/conf/app.properties", "conf/\0app.properties"])
def test_a_config_file_path_outside_the_root_is_refused(cat, bad):
    edit(cat / FIX4, lambda d: d["variants"][0]["config"][0].update(file=bad))
    refused(cat, FIX4, "variants[0].config[0].file")


@pytest.mark.parametrize("bad", ["lib/../../core.jar", "/lib/core.jar", "lib/\0core.jar"])
def test_a_release_file_path_outside_the_root_is_refused(cat, bad):
    edit(cat / REL, lambda d: d["files"][4].update(path=bad))
    refused(cat, REL, "files[4].path")


def test_a_release_whose_file_name_is_not_its_version_is_refused(cat):
    edit(cat / REL, lambda d: d.update(version="1.0.1"))
    assert "does not match the file name" in refused(cat, REL, "version")


def test_a_fix_whose_file_name_is_not_its_id_is_refused(cat):
    edit(cat / FIX1, lambda d: d.update(id="DEMO-0100"))
    assert "does not match the file name" in refused(cat, FIX1, "id")


@pytest.mark.parametrize(("value", "hint"), [(False, '"false"'), (5, '"5"')])
def test_an_expect_that_is_not_a_string_is_refused_with_the_quoted_spelling(cat, value, hint):
    edit(cat / FIX4, lambda d: d["variants"][0]["config"][0].update(expect=value))
    assert hint in refused(cat, FIX4, "variants[0].config[0].expect")


def test_an_unknown_format_is_refused(cat):
    edit(cat / FIX1, lambda d: d.update(format="drift-fix/2"))
    refused(cat, FIX1, "format")


def test_a_fix_file_that_is_not_a_mapping_is_refused(cat):
    (cat / FIX1).write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="must be a mapping") as caught:
        load_catalog(cat)
    assert caught.value.source == str(cat / FIX1)


@pytest.mark.parametrize("stray", ["fixes/DEMO-0009.yml", "releases/1.5.yaml", "releases/1.x/old/1.0.yaml"])
def test_a_catalog_file_out_of_place_is_refused_not_skipped(cat, stray):
    target = cat / stray
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("format: drift-fix/1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not where a catalog file belongs"):
        load_catalog(cat)


def test_hidden_and_backup_files_are_ignored(cat):
    (cat / "fixes" / ".DEMO-0001.yaml.swp").write_text("x", encoding="utf-8")
    (cat / "fixes" / "DEMO-0001.yaml~").write_text("x", encoding="utf-8")
    (cat / "releases" / ".git").mkdir()
    (cat / "releases" / ".git" / "config").write_text("x", encoding="utf-8")
    assert len(load_catalog(cat).fixes) == 5


def test_with_two_bad_fix_files_the_first_is_named(cat):
    edit(cat / FIX2, lambda d: d.update(severity="dire"))
    edit(cat / FIX4, lambda d: d.update(severity="dire"))
    refused(cat, FIX2, "severity")


def test_a_fix_parsing_process_that_dies_is_an_error_not_a_hang(cat, monkeypatch, fix_parsing):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("fix files are parsed in a second process only with a second core")
    monkeypatch.setattr(catalog_load, "PARALLEL_FIXES", 1)
    monkeypatch.setattr(catalog_load, "_fixes_and_digest", lambda *args: os._exit(9))
    with pytest.raises(OperationalError, match="ended without a result"):
        load_catalog(cat)


def test_a_catalog_file_unreadable_for_the_digest_is_reported_after_every_other_check(cat, monkeypatch):
    def unreadable(*_):
        raise PermissionError(13, "Permission denied", str(cat / FIX2))

    monkeypatch.setattr(catalog_load, "catalog_digest", unreadable)
    edit(cat / FIX4, lambda d: d.update(severity="dire"))
    refused(cat, FIX4, "severity")  # the catalog error first, as when the digest was taken last
    edit(cat / FIX4, lambda d: d.update(severity="high"))
    with pytest.raises(PermissionError):
        load_catalog(cat)
