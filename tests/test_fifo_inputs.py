"""A FIFO (or a link to one) where drift expects a file never blocks it: a key, a signature, an inventory, a
catalog file, a registry, a cache. Each is refused in one line, and the command ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import run_cli as run
from tests.builders import write_yaml
from tests.demo import demo_site

TENANT = "402206"


def drift(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drift", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def site(demo_root: Path) -> Path:
    demo_site(demo_root)
    assert run(demo_root, "key", "generate", "--out", "munakata").exit_code == 0
    write_yaml(demo_root / "trust.yaml", {"keys": [
        {"id": "m", "public_key": (demo_root / "munakata.pub").read_text().strip(), "signs": "inventory", "tenants": [TENANT]},
    ]})
    os.mkfifo(demo_root / "fifo")
    return demo_root


def test_a_fifo_as_the_signing_key_is_refused(site: Path) -> None:
    done = drift(site, "collect", "tree", "--tenant", TENANT, "--out", "x.json", "--sign", "fifo")
    assert done.returncode == 2 and "fifo: cannot read the key: not a regular file" in done.stderr
    assert not (site / "x.json").exists()


def test_a_fifo_as_a_signature_or_an_inventory_is_refused(site: Path) -> None:
    assert run(site, "collect", "tree", "--tenant", TENANT, "--sign", "munakata").exit_code == 0
    sig = site / "inventory" / f"{TENANT}.json.sig"
    sig.unlink()
    sig.symlink_to(site / "fifo")
    verified = drift(site, "verify", f"inventory/{TENANT}.json", "--trust", "trust.yaml")
    assert verified.returncode == 1 and "not a regular file" in verified.stdout + verified.stderr
    scanned = drift(site, "scan", "--format", "json", "--trust", "trust.yaml")
    assert scanned.returncode == 0 and "not a regular file" in scanned.stdout
    inventory = site / "inventory" / f"{TENANT}.json"
    inventory.unlink()
    inventory.symlink_to(site / "fifo")
    scanned = drift(site, "scan")  # a FIFO is not taken for an inventory: the tenant has none
    assert scanned.returncode == 0 and "no inventory for this tenant" in scanned.stdout
    assert drift(site, "gate").returncode == 1


def test_a_fifo_in_the_catalog_registry_or_cache_is_refused(site: Path) -> None:
    (site / "manifests" / "releases" / "2.x" / "zz.yaml").symlink_to(site / "fifo")
    assert drift(site, "scan").returncode == 2
    (site / "manifests" / "releases" / "2.x" / "zz.yaml").unlink()
    registry = site / "inventory" / "tenants.yaml"
    registry.rename(site / "tenants.yaml")
    registry.symlink_to(site / "fifo")
    done = drift(site, "scan")
    assert done.returncode == 2 and "no tenants.yaml or tenants.csv" in done.stderr  # a FIFO is not taken for one
    cached = drift(site, "collect", "tree", "--tenant", TENANT, "--out", "c.json", "--cache", "fifo")
    assert cached.returncode == 0 and "cache discarded (cannot read: not a regular file)" in cached.stderr
