"""Judging in worker processes gives the sequential scan's results, errors and all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from drift.background import can_fork
from drift.catalog import load_catalog
from drift.errors import InventoryError, OperationalError
from drift.scan import TenantJudge, run_scan
from drift.tenants import load_registry

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked")


def scan(root: Path, jobs: int):
    return run_scan(load_catalog(root / "manifests"), load_registry(root / "inventory"), root / "inventory", jobs=jobs)


def test_workers_give_the_sequential_results_on_the_reference_fleet():
    sequential, parallel = scan(ROOT, 1), scan(ROOT, 2)
    assert len(parallel.tenants) == 123
    assert (parallel.id, parallel.tenants) == (sequential.id, sequential.tenants)


def test_an_inventory_that_does_not_verify_fails_the_scan_from_a_worker(tmp_path):
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "inventory", tmp_path / "inventory")
    target = tmp_path / "inventory" / "402206.json"
    target.write_text(target.read_text(encoding="utf-8").replace('"size": 1', '"size": 2', 1), encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        scan(tmp_path, 2)
    assert caught.value.source == str(target)
    assert caught.value.where == "digest"


def test_a_worker_that_dies_fails_the_scan_instead_of_hanging(monkeypatch):
    real = TenantJudge.__call__

    def dies_on_one(self, tenant):
        if tenant.id == "402206":
            os._exit(9)  # as a worker killed for memory would
        return real(self, tenant)

    monkeypatch.setattr(TenantJudge, "__call__", dies_on_one)
    with pytest.raises(OperationalError, match="worker process ended unexpectedly"):
        scan(ROOT, 2)
