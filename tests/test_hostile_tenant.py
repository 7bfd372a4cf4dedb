"""What the audited party would try, through the real collector on real trees: renaming a stale file, deleting
fix files, excluding them, leaving lines out of a listing. A fix is never `applied` or `not-applicable`
through any of it, and the gate blocks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from drift.collect.archive import content_sha256_bytes
from tests import cachefiles
from tests.builders import run_cli as run
from tests.builders import write_yaml
from tests.demo import file_bytes, release_files

TENANT = "402206"
FIX = "DEMO-0002"  # high; app/print/Job.java and lib/core.jar, landed in 2.1




@pytest.fixture
def site(demo_root: Path) -> Path:
    """The demo catalog, a registry of one konbini tenant on 2.x, and an empty deploy root."""
    write_yaml(demo_root / "inventory" / "tenants.yaml", [
        {"id": TENANT, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    (demo_root / "tree").mkdir()
    return demo_root


def deploy(site: Path, version: str, **changes: bytes | None) -> Path:
    """Write release `version` of 2.x as the tenant's deploy root, with `changes` (path → bytes, None: deleted)."""
    tree = site / "tree"
    shutil.rmtree(tree)
    files: dict[str, bytes | None] = {**release_files("2.x", version), **{k.replace("__", "/").replace("_dot_", "."): v for k, v in changes.items()}}
    for path, data in files.items():
        if data is not None:
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_bytes(data)
    tree.mkdir(exist_ok=True)
    return tree


def collect(site: Path, *excludes: str) -> None:
    args = ["collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json"]
    for pattern in excludes:
        args += ["--exclude", pattern]
    result = run(site, *args)
    assert result.exit_code == 0, result.output


def finding(site: Path) -> dict:
    result = run(site, "scan", "--format", "json", "--tenant", TENANT)
    assert result.exit_code == 0, result.output
    tenant = json.loads(result.stdout)["tenants"][0]
    return next(f for f in tenant["findings"] if f["fix"] == FIX) | {"drift": tenant["drift"]}


def gate(site: Path) -> int:
    return run(site, "gate", "--tenant", TENANT).exit_code


STALE_JAR = file_bytes("lib/core.jar", "2.x", "2.0")


def test_a_stale_jar_is_partial_and_blocks(site):
    deploy(site, "2.2", lib__core_dot_jar=STALE_JAR)
    collect(site)
    assert finding(site)["status"] == "partial"
    assert gate(site) == 1


def test_renaming_the_stale_jar_never_hides_it(site):
    deploy(site, "2.2", lib__core_dot_jar=None, **{"lib__core-2_dot_0_dot_jar": STALE_JAR})
    collect(site)
    found = finding(site)
    assert found["status"] == "partial"
    jar = next(e for e in found["evidence"] if e["path"] == "lib/core.jar")
    assert (jar["state"], jar["found_at"], jar["note"]) == ("unfixed", "lib/core-2.0.jar", "stale copy at lib/core-2.0.jar")
    assert found["drift"]["stale_copies"] == {"lib/core-2.0.jar": "lib/core.jar"}
    assert gate(site) == 1


def test_deleting_every_file_of_a_missing_fix_never_makes_it_not_applicable(site):
    deploy(site, "2.0", app__print__Job_dot_java=None, lib__core_dot_jar=None)
    collect(site)
    found = finding(site)
    assert found["status"] == "unverifiable"
    assert {e["state"] for e in found["evidence"]} == {"removed"}
    assert gate(site) == 1


def test_deleting_the_stale_file_of_a_partial_fix_never_makes_it_applied(site):
    deploy(site, "2.2", lib__core_dot_jar=None)
    collect(site)
    assert finding(site)["status"] == "unverifiable"
    assert gate(site) == 1


@pytest.mark.parametrize("pattern", ["lib/core.jar", "lib", "*.jar", "app/print"])
def test_excluding_a_fix_file_makes_it_unreadable_excluded_at_collection(site, pattern):
    deploy(site, "2.2", lib__core_dot_jar=STALE_JAR)
    collect(site, pattern)
    inventory = json.loads((site / "inventory" / f"{TENANT}.json").read_text(encoding="utf-8"))
    assert pattern in inventory["excluded"]
    found = finding(site)
    assert found["status"] not in ("applied", "not-applicable")
    assert any(e["state"] == "unreadable" and e["note"] == "excluded at collection" for e in found["evidence"])
    assert gate(site) == 1


def test_leaving_lines_out_of_a_sha256sum_listing_never_makes_a_fix_not_applicable(site):
    tree = deploy(site, "2.0")
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(tree).as_posix()}\n"
        for p in sorted(tree.rglob("*")) if p.is_file() and p.relative_to(tree).as_posix() not in ("app/print/Job.java", "lib/core.jar")
    ]
    (site / "inventory" / f"{TENANT}.sha256").write_text("".join(lines), encoding="utf-8")
    assert finding(site)["status"] == "unverifiable"
    assert gate(site) == 1


def test_an_honest_tenant_on_the_fixed_release_passes(site):
    deploy(site, "2.2")
    collect(site)
    assert finding(site)["status"] == "applied"
    assert gate(site) == 0


def test_an_exclude_pattern_an_inventory_cannot_record_is_refused_before_collecting(site):
    deploy(site, "2.2")
    result = run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json", "--exclude", "\x1b[31mlib")
    assert result.exit_code == 2 and "--exclude[0]" in result.stderr and "\x1b" not in result.stderr
    assert not (site / "inventory" / f"{TENANT}.json").exists()


def _forge_cache(cache: Path, path: str, tree: Path, data: bytes) -> None:
    """Put `path`'s stat as it is now in `cache`, with the hashes of `data` (what the deployer wants read)."""
    found = cachefiles.entries(cache)
    st = (tree / path).stat()
    found[path] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, hashlib.sha256(data).hexdigest(), content_sha256_bytes(data)]
    cachefiles.write(cache, found, algorithm=cachefiles.header(cache)["algorithm"], remembered=cachefiles.header(cache).get("remembered"))


@pytest.mark.parametrize("shared", ["a folder writable by others", "a cache file writable by others"])
def test_a_cache_someone_else_could_write_never_puts_a_hash_in_the_inventory(site, shared):
    """The deployer swaps in the stale jar and writes its stat, with the fixed jar's hashes, into the cache:
    a cache entry is believed without reading the file. A cache anyone but the collecting user could have
    written is discarded, so the stale jar is read, and the fix reads `partial`."""
    folder = site / "cache"
    folder.mkdir()
    cache = folder / "cache.json"
    deploy(site, "2.2", lib__core_dot_jar=STALE_JAR)
    result = run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json", "--cache", "cache/cache.json")
    assert result.exit_code == 0, result.output
    assert oct(cache.stat().st_mode & 0o777) == oct(0o600)  # written for this user alone
    if shared == "a folder writable by others":
        folder.chmod(0o777)
    else:
        cache.chmod(0o666)
    _forge_cache(cache, "lib/core.jar", site / "tree", file_bytes("lib/core.jar", "2.x", "2.2"))
    result = run(site, "collect", "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json", "--cache", "cache/cache.json")
    assert result.exit_code == 0, result.output
    assert "cache discarded" in result.output and "writable by its group or others" in result.output
    assert finding(site)["status"] == "partial"
    assert gate(site) == 1
