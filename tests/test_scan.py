"""Scans of the demo product: verdicts equal what each release carries, and outputs are reproducible."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.catalog import load_catalog
from drift.formats import FORMATS
from drift.policy import Policy
from drift.scan import run_scan
from drift.tenants import load_registry
from tests.builders import make_jar, write_inventory, write_yaml
from tests.demo import FIXES, RELEASES, carried, release_config, release_files, tenant_row, write_release_inventory

ALL_RELEASES = [(line, v) for line, versions in RELEASES.items() for v in versions]


def scan_of(root: Path, **kwargs):
    return run_scan(load_catalog(root / "manifests"), load_registry(root / "inventory"), root / "inventory", **kwargs)


def statuses(result) -> dict[str, str]:
    return {f.fix: f.status for f in result.findings}


@pytest.mark.parametrize(("line", "version"), ALL_RELEASES)
def test_tenant_on_a_release_has_exactly_the_fixes_that_release_carries(demo_root, line, version):
    inv = demo_root / "inventory"
    write_yaml(inv / "tenants.yaml", [tenant_row("402206", line)])
    write_release_inventory(inv, "402206", line, version)
    found = statuses(scan_of(demo_root).tenants[0])
    expected = {f.id: ("applied" if f in carried(line, version) else "missing") for f in FIXES}
    assert found == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ALL_RELEASES), st.integers(min_value=0, max_value=2**32))
def test_shuffled_inventory_order_changes_no_verdict(demo_root, release, seed):
    line, version = release
    inv = demo_root / "inventory"
    (inv / "402206.sha256").unlink(missing_ok=True)
    write_yaml(inv / "tenants.yaml", [tenant_row("402206", line)])
    files = release_files(line, version)
    write_inventory(inv, "402206", files, config=release_config(files))
    before = scan_of(demo_root).tenants[0]
    # The same files as a sha256sum listing in random order (config aside: a listing has none).
    (inv / "402206.json").unlink()
    lines = [f"{__import__('hashlib').sha256(b).hexdigest()}  ./{p}" for p, b in files.items()]
    random.Random(seed).shuffle(lines)
    (inv / "402206.sha256").write_text("\n".join(lines) + "\n")
    after = scan_of(demo_root).tenants[0]
    for a, b in zip(before.findings, after.findings, strict=True):
        if not any("#" in e.path for e in a.evidence):
            assert (a.fix, a.status, a.variant) == (b.fix, b.status, b.variant)
    assert before.drift == after.drift


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(5)))
def test_tenant_order_in_the_registry_changes_nothing(demo_root, order):
    inv = demo_root / "inventory"
    ids = ["402206", "131211", "141305", "362018", "acme-lab"]
    rows = [tenant_row(tid, ALL_RELEASES[i][0]) for i, tid in enumerate(ids)]
    for i, tid in enumerate(ids):
        write_release_inventory(inv, tid, *ALL_RELEASES[i])
    write_yaml(inv / "tenants.yaml", rows)
    baseline = FORMATS["json"](scan_of(demo_root), Policy())
    write_yaml(inv / "tenants.yaml", [rows[i] for i in order])
    assert FORMATS["json"](scan_of(demo_root), Policy()) == baseline


def write_demo_fleet(root: Path) -> None:
    inv = root / "inventory"
    rows = [
        tenant_row("402206", "1.x", edition="standard", name="宗像市"),
        tenant_row("141305", "2.x", name="川崎市"),
        tenant_row("131211", "2.x", edition="standard", modules=(), name="足立区"),
        tenant_row("362018", "2.x", edition="standard", name="徳島市"),
    ]
    write_yaml(inv / "tenants.yaml", rows)
    write_release_inventory(inv, "402206", "1.x", "1.1")
    write_release_inventory(inv, "141305", "2.x", "2.2", app__custom__Link_dot_java=b"class Link {}\n")
    jar = release_files("2.x", "2.1")["lib/core.jar"]
    write_release_inventory(inv, "362018", "2.x", "2.0", lib__core_dot_jar=jar)  # source stale, jar fixed
    # 131211 has no inventory: its applicable fixes are unverifiable.


def test_demo_fleet_verdicts(demo_root):
    write_demo_fleet(demo_root)
    scan = scan_of(demo_root)
    by_id = {t.tenant.id: t for t in scan.tenants}
    assert [t.tenant.id for t in scan.tenants] == ["131211", "141305", "362018", "402206"]
    assert statuses(by_id["362018"])["DEMO-0002"] == "partial"
    assert statuses(by_id["131211"]) == {
        "DEMO-0001": "unverifiable", "DEMO-0002": "unverifiable", "DEMO-0003": "not-applicable",
        "DEMO-0004": "unverifiable", "DEMO-0005": "not-applicable",
    }
    assert by_id["141305"].drift.uncatalogued == ("app/custom/Link.java",)
    assert by_id["141305"].drift.releases == {"2.2": 6}
    assert statuses(by_id["402206"])["DEMO-0005"] == "not-applicable"


def test_rebuilt_jar_counts_as_applied(demo_root):
    inv = demo_root / "inventory"
    write_yaml(inv / "tenants.yaml", [tenant_row("402206", "1.x")])
    rebuilt = make_jar({"demo/Core.class": b"core DEMO-0002"}, year=2023, built_by="someone-else")
    assert rebuilt != release_files("1.x", "1.2")["lib/core.jar"]
    write_release_inventory(inv, "402206", "1.x", "1.2", lib__core_dot_jar=rebuilt)
    result = scan_of(demo_root).tenants[0]
    assert statuses(result)["DEMO-0002"] == "applied"
    assert result.drift.modified == ()


def test_locally_modified_file_is_unverifiable_and_modified(demo_root):
    inv = demo_root / "inventory"
    write_yaml(inv / "tenants.yaml", [tenant_row("402206", "1.x")])
    write_release_inventory(inv, "402206", "1.x", "1.3", app__konbini__Kiosk_dot_java=b"// hot-patched on site\n")
    result = scan_of(demo_root).tenants[0]
    assert statuses(result)["DEMO-0003"] == "unverifiable"
    assert result.drift.modified == ("app/konbini/Kiosk.java",)


def test_mixed_release_deployment_shows_in_release_counts(demo_root):
    inv = demo_root / "inventory"
    write_yaml(inv / "tenants.yaml", [tenant_row("402206", "1.x")])
    old_kiosk = release_files("1.x", "1.0")["app/konbini/Kiosk.java"]
    write_release_inventory(inv, "402206", "1.x", "1.3", app__konbini__Kiosk_dot_java=old_kiosk)
    releases = scan_of(demo_root).tenants[0].drift.releases
    assert list(releases) == ["1.3", "1.2"] and releases["1.3"] == 4 and releases["1.2"] == 1


def test_narrowing_by_tenant_and_fix(demo_root):
    write_demo_fleet(demo_root)
    scan = scan_of(demo_root, tenant_ids={"362018"}, fix_ids={"DEMO-0002"})
    assert [(t.tenant.id, [f.fix for f in t.findings]) for t in scan.tenants] == [("362018", ["DEMO-0002"])]
    assert scan.id != scan_of(demo_root, tenant_ids={"362018"}).id


def test_json_is_byte_identical_across_runs_and_folders(demo_root, tmp_path_factory):
    write_demo_fleet(demo_root)
    first = FORMATS["json"](scan_of(demo_root), Policy())
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.copytree(demo_root / "manifests", elsewhere / "manifests")
    shutil.copytree(demo_root / "inventory", elsewhere / "inventory")
    assert FORMATS["json"](scan_of(elsewhere), Policy()) == first
    doc = json.loads(first)
    assert doc["format"] == "drift-scan/1" and doc["scan"].startswith("sha256:")


def test_json_matches_the_golden_document(demo_root):
    """Pins the document byte for byte: another machine with the same inputs must print the same."""
    write_demo_fleet(demo_root)
    golden = Path(__file__).parent / "golden" / "demo_scan.json"
    text = FORMATS["json"](scan_of(demo_root), Policy())
    if os.environ.get("DRIFT_UPDATE_GOLDEN"):  # pragma: no cover - rewrite, then review the diff
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_scan_id_changes_with_any_inventory(demo_root):
    write_demo_fleet(demo_root)
    before = scan_of(demo_root).id
    write_release_inventory(demo_root / "inventory", "402206", "1.x", "1.2")
    assert scan_of(demo_root).id != before


def test_scan_id_changes_when_the_registry_changes_applicability(demo_root):
    write_demo_fleet(demo_root)
    before = scan_of(demo_root)
    rows = json.loads(json.dumps(__import__("yaml").safe_load((demo_root / "inventory" / "tenants.yaml").read_text())))
    rows[0]["edition"] = "seirei"
    write_yaml(demo_root / "inventory" / "tenants.yaml", rows)
    after = scan_of(demo_root)
    assert after.id != before.id


def test_two_registries_that_split_modules_differently_give_two_scan_ids():
    from drift.scanid import registry_digest, scan_id
    from drift.tenants import Tenant

    joined = Tenant("402206", "宗像市", "福岡県", "standard", "8.x", frozenset({"konbini,madoguchi"}))
    split = Tenant("402206", "宗像市", "福岡県", "standard", "8.x", frozenset({"konbini", "madoguchi"}))
    assert registry_digest(joined) != registry_digest(split)
    assert scan_id("sha256:" + "0" * 64, [(joined, "none", "")]) != scan_id("sha256:" + "0" * 64, [(split, "none", "")])


_FIELD = st.text(alphabet=st.sampled_from(["a", ",", "\t", "\n", '"', "\\", " ", "{", "}", "宗"]), max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.tuples(_FIELD, _FIELD, _FIELD, st.none() | _FIELD, st.none() | _FIELD, st.frozensets(_FIELD, max_size=3)),
       st.tuples(_FIELD, _FIELD, _FIELD, st.none() | _FIELD, st.none() | _FIELD, st.frozensets(_FIELD, max_size=3)))
def test_registry_records_that_differ_never_share_a_digest(a, b):
    from drift.scanid import registry_digest
    from drift.tenants import Tenant

    if a != b:
        assert registry_digest(Tenant(*a)) != registry_digest(Tenant(*b))


def test_unknown_tenant_or_fix_filter_is_a_usage_error(demo_root):
    from drift.errors import InputError

    write_demo_fleet(demo_root)
    with pytest.raises(InputError, match="no tenant '999999'"):
        scan_of(demo_root, tenant_ids={"999999"})
    with pytest.raises(InputError, match="no fix 'NOPE'"):
        scan_of(demo_root, fix_ids={"NOPE"})

