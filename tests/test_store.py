"""The results database: content-addressed scans, no duplicates, whole or nothing."""

from __future__ import annotations

import sqlite3

import pytest

from drift.catalog import load_catalog
from drift.errors import InputError, InventoryError
from drift.scan import iter_scan, run_scan
from drift.store import Store
from drift.tenants import load_registry
from tests.test_scan import write_demo_fleet


def save(root, store, created_at="2023-06-15T00:00:00Z"):
    catalog = load_catalog(root / "manifests")
    tenants = load_registry(root / "inventory")
    saved = store.save_scan(catalog.digest, created_at, iter_scan(catalog, tenants, root / "inventory"))
    return saved.id, saved.new


def rows(db_path, table):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_stored_scan_loads_back_equal_to_the_scan(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    with Store(tmp_path / "drift.db") as store:
        scan_id, new = save(demo_root, store)
        loaded = store.load_scan(scan_id)
    direct = run_scan(load_catalog(demo_root / "manifests"), load_registry(demo_root / "inventory"), demo_root / "inventory")
    assert new and scan_id == direct.id
    assert loaded.tenants == direct.tenants


def test_rescanning_the_same_inputs_adds_no_rows(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    db = tmp_path / "drift.db"
    with Store(db) as store:
        first, _ = save(demo_root, store)
        counts = [rows(db, t) for t in ("scans", "tenants", "findings")]
        again, new = save(demo_root, store, created_at="2023-06-16T00:00:00Z")
    assert (again, new) == (first, False)
    assert [rows(db, t) for t in ("scans", "tenants", "findings")] == counts


def test_a_changed_inventory_is_a_new_scan_and_latest_finds_it(demo_root, tmp_path):
    from tests.demo import write_release_inventory

    write_demo_fleet(demo_root)
    with Store(tmp_path / "drift.db") as store:
        first, _ = save(demo_root, store)
        write_release_inventory(demo_root / "inventory", "402206", "1.x", "1.3")
        second, new = save(demo_root, store, created_at="2023-06-16T00:00:00Z")
        assert new and second != first
        assert store.resolve("latest") == second
        assert store.resolve(first[7:19]) == first
        assert [s["id"] for s in store.scans()] == [first, second]


def test_a_scan_that_fails_midway_leaves_nothing(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    (demo_root / "inventory" / "402206.json").write_text("{}\n")  # the last tenant in id order
    db = tmp_path / "drift.db"
    with Store(db) as store, pytest.raises(InventoryError):
        save(demo_root, store)
    assert [rows(db, t) for t in ("scans", "tenants", "findings")] == [0, 0, 0]


def test_loading_only_blocking_statuses_keeps_whole_counts(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    with Store(tmp_path / "drift.db") as store:
        scan_id, _ = save(demo_root, store)
        whole = store.load_scan(scan_id)
        part = store.load_scan(scan_id, statuses={"missing"})
    for w, p in zip(whole.tenants, part.tenants, strict=True):
        assert p.counts == w.counts
        assert p.findings == tuple(f for f in w.findings if f.status == "missing")


def test_unknown_scan_reference_is_an_input_error(tmp_path):
    with Store(tmp_path / "drift.db") as store:
        with pytest.raises(InputError, match="no scan stored yet"):
            store.resolve("latest")
        with pytest.raises(InputError, match="no scan 'abc'"):
            store.resolve("abc")


def test_database_from_a_newer_drift_is_refused(tmp_path):
    db = tmp_path / "drift.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="newer"):
        Store(db)


def test_findings_view_gives_one_row_per_tenant_and_fix(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    db = tmp_path / "drift.db"
    with Store(db) as store:
        save(demo_root, store)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT tenant, fix, status FROM findings ORDER BY tenant, fix").fetchall()
        distinct = conn.execute("SELECT count(*) FROM verdicts").fetchone()[0]
    assert len(rows) == 4 * 5
    assert ("362018", "DEMO-0002", "partial") in rows
    assert distinct < len(rows)  # tenants share verdicts


def test_policy_blocks_by_status_and_severity():
    from drift.policy import Policy
    from drift.results import Finding

    policy = Policy(min_severity="high")
    assert policy.blocks(Finding("F", "missing", "critical", None))
    assert policy.blocks(Finding("F", "partial", "high", None))
    assert not policy.blocks(Finding("F", "missing", "medium", None))
    assert not policy.blocks(Finding("F", "applied", "critical", None))
