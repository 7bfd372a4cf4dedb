"""A fix that removes a file (`absent` in `fixed`): its only evidence is an absence, so nothing but a real
absence may prove it. A plain listing cannot show one (a hidden file, a link, a file the lister could not
read is left out without a word), and a file renamed only in case is, on Windows, still the same file."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.builders import run_cli as run
from tests.builders import write_yaml
from tests.demo import release_files
from tests.test_filehash import listing

TENANT = "402206"
DEBUG = b"// remote shell for support staff\nclass Debug { void open() { shell(); } }\n"
MARKER = "WEB-INF/debug.enabled"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def site(demo_root: Path) -> Path:
    """The demo catalog with 2.x 2.2 also shipping `app/debug/Debug.java` and an empty marker file, and two
    fixes that remove them (DEMO-0091, DEMO-0092), and a registry of one tenant on 2.x."""
    manifests = demo_root / "manifests"
    release = manifests / "releases" / "2.x" / "2.2.yaml"
    doc = yaml.safe_load(release.read_text(encoding="utf-8"))
    doc["files"] += [{"path": "app/debug/Debug.java", "kind": "source", "sha256": _sha(DEBUG)},
                     {"path": MARKER, "kind": "config", "sha256": _sha(b"")}]
    release.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    for fix_id, path, data in (("DEMO-0091", "app/debug/Debug.java", DEBUG), ("DEMO-0092", MARKER, b"")):
        write_yaml(manifests / "fixes" / f"{fix_id}.yaml", {
            "format": "drift-fix/1", "id": fix_id, "title": f"remove {path}", "severity": "critical",
            "variants": [{"line": "2.x", "fixed_in": "2.3", "files": [{"path": path, "fixed": ["absent"], "unfixed": [f"sha256:{_sha(data)}"]}]}],
        })
    assert run(demo_root, "catalog", "validate").exit_code == 0
    write_yaml(demo_root / "inventory" / "tenants.yaml", [
        {"id": TENANT, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    return demo_root


def _statuses(site: Path) -> dict[str, str]:
    result = run(site, "scan", "--format", "json")
    assert result.exit_code == 0, result.output
    return {f["fix"]: f["status"] for f in json.loads(result.stdout)["tenants"][0]["findings"]}


def _deploy(site: Path, files: dict[str, bytes]) -> Path:
    tree = site / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    for path, data in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(data)
    return tree


def _sha256sum(files: dict[str, bytes]) -> bytes:
    return "".join(f"{_sha(data)}  ./{path}\n" for path, data in sorted(files.items())).encode()


@pytest.mark.parametrize("kind", ["sha256sum", "Get-FileHash", "empty sha256sum", "empty Get-FileHash"])
def test_a_listing_that_lacks_a_removed_file_does_not_prove_its_removal(site: Path, kind: str) -> None:
    """The tenant runs 2.2 with both files still there, but the listing leaves them out (hidden, or links,
    or simply not listed): the removal fixes are `unverifiable`, never `applied`, and the gate blocks."""
    files = release_files("2.x", "2.2")
    if kind.startswith("empty"):
        files = {}
    if kind.endswith("sha256sum"):
        (site / "inventory" / f"{TENANT}.sha256").write_bytes(_sha256sum(files))
    else:
        (site / "inventory" / f"{TENANT}.hashes.csv").write_bytes(listing(files))
    statuses = _statuses(site)
    assert statuses["DEMO-0091"] == statuses["DEMO-0092"] == "unverifiable"
    assert run(site, "gate").exit_code == 1


def test_a_listing_that_holds_a_removed_file_shows_it_unfixed(site: Path) -> None:
    files = {**release_files("2.x", "2.2"), "app/debug/Debug.java": DEBUG}
    (site / "inventory" / f"{TENANT}.sha256").write_bytes(_sha256sum(files))
    assert _statuses(site)["DEMO-0091"] == "missing"


def test_the_collector_does_show_an_absence(site: Path) -> None:
    """What the collector walked, it lists whole (links, unreadable files and exclusions are written down), so
    a file it did not find is gone: the removal is `applied`."""
    _deploy(site, release_files("2.x", "2.2"))
    assert run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json").exit_code == 0
    statuses = _statuses(site)
    assert statuses["DEMO-0091"] == statuses["DEMO-0092"] == "applied"


@pytest.mark.parametrize(("name", "data", "status"), [
    ("WEB-INF/DEBUG.ENABLED", b"", "missing"),  # empty: never a stale copy elsewhere, but this is the same file on Windows
    ("app/debug/DEBUG.JAVA", DEBUG, "missing"),  # a known unfixed version, under the name in another case
    ("app/debug/Debug.Java", b"class Debug { void open() { shell(); } }\n", "unverifiable"),
])
def test_a_removed_file_renamed_only_in_case_is_still_there(site: Path, name: str, data: bytes, status: str) -> None:
    """Windows opens `WEB-INF/debug.enabled` by either case: renaming it to `DEBUG.ENABLED` hides nothing."""
    fix = "DEMO-0092" if name.startswith("WEB-INF") else "DEMO-0091"
    _deploy(site, {**release_files("2.x", "2.2"), name: data})
    assert run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json").exit_code == 0
    result = run(site, "scan", "--format", "json")
    finding = next(f for f in json.loads(result.stdout)["tenants"][0]["findings"] if f["fix"] == fix)
    assert finding["status"] == status
    assert finding["evidence"][0]["found_at"] == name


def test_a_listing_and_an_inventory_of_the_same_files_in_one_scan_are_judged_each_as_it_can_show(site: Path) -> None:
    """Findings are shared between tenants with the same files (`drift.judge`): a listing's must never be
    taken from a collected tenant's, whose absence does prove the removal."""
    other = "131016"
    write_yaml(site / "inventory" / "tenants.yaml", [
        {"id": TENANT, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
        {"id": other, "name": "足立区", "prefecture": "東京都", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    files = release_files("2.x", "2.2")
    _deploy(site, files)
    assert run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json").exit_code == 0
    (site / "inventory" / f"{other}.sha256").write_bytes(_sha256sum(files))
    result = run(site, "scan", "--format", "json")
    assert result.exit_code == 0, result.output
    by_tenant = {t["id"]: {f["fix"]: f["status"] for f in t["findings"]} for t in json.loads(result.stdout)["tenants"]}
    assert by_tenant[TENANT]["DEMO-0091"] == "applied"
    assert by_tenant[other]["DEMO-0091"] == "unverifiable"
