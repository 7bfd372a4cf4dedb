"""The database survives misuse (SPEC 9): concurrent scans, a busy database, a killed scan, old schemas."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import drift.database as database_module
from drift.database import busy_timeout
from drift.errors import InputError, OperationalError
from drift.schema import PENDING, SCHEMA_VERSION
from drift.store import Store
from tests.builders import write_yaml
from tests.demo import RELEASES, tenant_row, write_release_inventory
from tests.test_cli import run
from tests.test_history import DAY1, DAY2, save
from tests.test_scan import write_demo_fleet

ROOT = Path(__file__).resolve().parents[1]


def drift_process(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "drift", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def write_fleet(folder: Path, count: int, seed: int) -> None:
    """`count` tenants, each on a release picked by `seed`: fleets of different seeds differ."""
    rows = []
    for n in range(count):
        line = list(RELEASES)[(n + seed) % 2]
        versions = RELEASES[line]
        rows.append(tenant_row(f"t{n:04d}", line))
        write_release_inventory(folder, f"t{n:04d}", line, versions[(n * 7 + seed) % len(versions)])
    write_yaml(folder / "tenants.yaml", rows)


def stored(db: Path) -> dict[str, object]:
    """What the database holds, read with plain sqlite3: scans, their tenant rows, runs, integrity."""
    with sqlite3.connect(db) as conn:
        scans = conn.execute("SELECT key, id, tenant_count FROM scans ORDER BY key").fetchall()
        return {
            "scans": [sid for _, sid, _ in scans],
            "complete": all(
                count == conn.execute("SELECT count(*) FROM tenants WHERE scan = ?", (key,)).fetchone()[0] for key, _, count in scans
            ),
            "orphans": conn.execute("SELECT count(*) FROM tenants WHERE scan NOT IN (SELECT key FROM scans)").fetchone()[0],
            "pending": conn.execute("SELECT count(*) FROM scans WHERE id LIKE ?", (PENDING + "%",)).fetchone()[0],
            "runs": conn.execute("SELECT count(*) FROM runs").fetchone()[0],
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
        }


# Two writers


def test_two_scan_processes_into_one_database_both_land(demo_root):
    """Both start while the test holds the write lock, so both wait for it and then for each other."""
    write_fleet(demo_root / "a", 30, seed=0)
    write_fleet(demo_root / "b", 30, seed=1)
    db = demo_root / "drift.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        processes = [drift_process(demo_root, "scan", "--inventory", name, "--format", "json", "--jobs", "1") for name in ("a", "b")]
        time.sleep(1.5)  # both load the catalog and block on the lock
        assert all(p.poll() is None for p in processes)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outcomes = [finish(p) for p in processes]
    assert [code for code, _, _ in outcomes] == [0, 0], [err for _, _, err in outcomes]
    ids = [json.loads(out)["scan"] for _, out, _ in outcomes]
    state = stored(db)
    assert ids[0] != ids[1] and sorted(state["scans"]) == sorted(ids)  # type: ignore[arg-type]
    assert state | {"scans": None} == {"scans": None, "complete": True, "orphans": 0, "pending": 0, "runs": 2, "integrity": "ok"}


def test_two_scan_processes_creating_a_new_database_at_once(demo_root):
    """No lock held: both race to create the database and switch it to WAL (SQLite answers `locked` at once
    there, without its busy handler: the store retries)."""
    write_fleet(demo_root / "a", 10, seed=0)
    write_fleet(demo_root / "b", 10, seed=1)
    for attempt in range(3):
        db = f"race{attempt}.db"
        processes = [drift_process(demo_root, "scan", "--inventory", name, "--db", db, "--jobs", "1") for name in ("a", "b")]
        outcomes = [finish(p) for p in processes]
        assert [code for code, _, _ in outcomes] == [0, 0], [err for _, _, err in outcomes]
        state = stored(demo_root / db)
        assert (len(state["scans"]), state["complete"], state["pending"], state["runs"]) == (2, True, 0, 2)  # type: ignore[arg-type]


def test_the_same_inputs_scanned_twice_at_once_are_one_scan_and_two_runs(demo_root):
    write_demo_fleet(demo_root)
    Store(demo_root / "drift.db").close()
    processes = [drift_process(demo_root, "scan", "--jobs", "1") for _ in range(2)]
    assert [finish(p)[0] for p in processes] == [0, 0]
    state = stored(demo_root / "drift.db")
    assert (len(state["scans"]), state["complete"], state["runs"]) == (1, True, 2)  # type: ignore[arg-type]


# Busy past the timeout


def test_a_writer_held_past_the_timeout_is_an_operational_error(demo_root, tmp_path):
    write_demo_fleet(demo_root)
    db = tmp_path / "drift.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(db, timeout=0.2) as store:
            started = time.monotonic()
            with pytest.raises(OperationalError, match=r"database busy past its timeout of 0\.2 s: another process"):
                save(demo_root, store, DAY1)
            assert time.monotonic() - started >= 0.2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored(db)["scans"] == []


def test_scan_busy_past_the_timeout_exits_3_and_readers_do_not_wait(demo_root):
    write_demo_fleet(demo_root)
    assert run(demo_root, "scan").exit_code == 0
    holder = sqlite3.connect(demo_root / "drift.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        write_release_inventory(demo_root / "inventory", "402206", "1.x", "1.3")
        process = drift_process(demo_root, "scan", env={"DRIFT_DB_TIMEOUT": "0.3"})
        code, out, err = finish(process)
        assert (code, out) == (3, "")
        assert err.splitlines() == [
            (
                "drift: error: drift.db: database busy past its timeout of 0.3 s: another process (a scan, most likely)"
                " holds its write lock; set DRIFT_DB_TIMEOUT to wait longer"
            )
        ]
        # A reader is never blocked by a writer (WAL): history and diff answer at once.
        started = time.monotonic()
        assert run(demo_root, "history").exit_code == 0
        assert time.monotonic() - started < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("DRIFT_DB_TIMEOUT", raising=False)
    assert busy_timeout() == 120.0
    monkeypatch.setenv("DRIFT_DB_TIMEOUT", "2.5")
    assert busy_timeout() == 2.5
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("DRIFT_DB_TIMEOUT", bad)
        with pytest.raises(InputError, match="DRIFT_DB_TIMEOUT: .* is not a number of seconds"):
            busy_timeout()


# A scan killed midway

_SLOW_SCAN = """
import sys, time
import drift.scan, drift.store
from drift.cli import main

judge, opened, judged = drift.scan.TenantJudge.__call__, drift.store.Store.__init__, []

def slow(self, tenant):
    judged.append(tenant.id)
    if len(judged) == int(sys.argv[1]):
        print("judging", tenant.id, flush=True)
        time.sleep(600)
    return judge(self, tenant)

def small_cache(self, *args, **kwargs):
    opened(self, *args, **kwargs)
    self.db.conn.execute("PRAGMA cache_size = 2")  # uncommitted pages spill into the WAL

drift.scan.TenantJudge.__call__ = slow
drift.store.Store.__init__ = small_cache
main(["scan", "--jobs", "1", *sys.argv[2:]], prog_name="drift")
"""


def test_a_scan_killed_midway_leaves_no_half_scan(demo_root):
    write_fleet(demo_root / "inventory", 60, seed=0)
    db = demo_root / "drift.db"
    assert run(demo_root, "scan").exit_code == 0
    before = stored(db)
    write_fleet(demo_root / "inventory", 60, seed=1)
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SCAN, "50"], cwd=demo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().split() == ["judging", "t0049"]
        wal = db.with_name("drift.db-wal")
        assert wal.stat().st_size > 0  # 49 tenants written, uncommitted, partly in the WAL
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert stored(db) == before  # the first scan whole, nothing of the second
    assert run(demo_root, "scan").exit_code == 0
    after = stored(db)
    assert (len(after["scans"]), after["complete"], after["pending"], after["runs"], after["integrity"]) == (2, True, 0, 2, "ok")  # type: ignore[arg-type]


# Schema versions and migration

SCHEMA_1 = [
    (
        'CREATE TABLE "scans" (\n   "key" INTEGER PRIMARY KEY,\n   "id" TEXT NOT NULL,\n   "created_at" TEXT NOT NULL,\n'
        '   "catalog_digest" TEXT NOT NULL,\n   "fixes" TEXT,\n   "tenant_count" INTEGER\n)'
    ),
    'CREATE UNIQUE INDEX "idx_scans_id"\n    ON "scans" ("id")',
    (
        'CREATE TABLE "verdicts" (\n   "key" INTEGER PRIMARY KEY,\n   "digest" TEXT NOT NULL,\n   "fix" TEXT NOT NULL,\n'
        '   "status" TEXT NOT NULL,\n   "severity" TEXT NOT NULL,\n   "variant" TEXT,\n   "reason" TEXT,\n   "evidence" TEXT NOT NULL\n)'
    ),
    'CREATE UNIQUE INDEX "idx_verdicts_digest"\n    ON "verdicts" ("digest")',
    'CREATE INDEX "idx_verdicts_fix_status"\n    ON "verdicts" ("fix", "status")',
    (
        'CREATE TABLE "tenants" (\n   "scan" INTEGER REFERENCES "scans"("key"),\n   "tenant" TEXT,\n   "name" TEXT,\n'
        '   "prefecture" TEXT,\n   "edition" TEXT,\n   "line" TEXT,\n   "modules" TEXT,\n   "inventory_digest" TEXT,\n'
        '   "collected_at" TEXT,\n   "counts" TEXT,\n   "uncatalogued" TEXT,\n   "modified" TEXT,\n   "releases" TEXT,\n'
        '   "verdicts" TEXT NOT NULL,\n   PRIMARY KEY ("scan", "tenant")\n)'
    ),
    (
        "CREATE VIEW findings AS\nSELECT t.scan AS scan, t.tenant AS tenant, v.fix AS fix, v.status AS status, v.severity AS severity,\n"
        "       v.variant AS variant, v.reason AS reason, v.evidence AS evidence\n"
        "FROM tenants t, json_each(t.verdicts) j JOIN verdicts v ON v.key = j.value"
    ),
]
"""Schema 1, exactly as drift 0.1.0 wrote it before `runs` (its `sqlite_master`)."""


def schema(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())


def schema_1_database(demo_root: Path, db: Path) -> None:
    """A schema-1 database holding two scans: today's rows copied into the schema-1 layout."""
    current = db.with_name("current.db")
    with Store(current) as store:
        write_demo_fleet(demo_root)
        save(demo_root, store, DAY1)
        write_release_inventory(demo_root / "inventory", "402206", "1.x", "1.0")
        save(demo_root, store, DAY2)
    with sqlite3.connect(db) as conn:
        for statement in SCHEMA_1:
            conn.execute(statement)
        conn.execute("ATTACH ? AS current", (str(current),))
        conn.execute("INSERT INTO verdicts SELECT * FROM current.verdicts")
        conn.execute("INSERT INTO scans SELECT key, id, created_at, catalog_digest, fixes, tenant_count FROM current.scans")
        columns = ("scan, tenant, name, prefecture, edition, line, modules, inventory_digest, collected_at, counts, uncatalogued, modified,"
                   " releases, verdicts")
        conn.execute(f"INSERT INTO tenants ({columns}) SELECT {columns} FROM current.tenants")
        conn.execute("PRAGMA user_version = 1")
    current.unlink()


def test_an_empty_file_is_schema_0_and_brought_to_the_current_schema(demo_root, tmp_path):
    db = tmp_path / "drift.db"
    db.write_bytes(b"")
    with Store(db) as store:
        write_demo_fleet(demo_root)
        save(demo_root, store, DAY1)
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema(db) == schema(fresh)


def test_a_schema_1_database_is_migrated_with_its_scans(demo_root, tmp_path):
    db = tmp_path / "drift.db"
    schema_1_database(demo_root, db)
    with sqlite3.connect(db) as conn:
        scans = conn.execute("SELECT id, created_at FROM scans ORDER BY key").fetchall()
    with Store(db) as store:
        assert [(r.scan, r.ran_at, r.new) for r in store.runs()] == [(sid, at, True) for sid, at in scans]
        assert store.resolve("latest") == scans[1][0]
        assert [t.tenant.id for t in store.load_scan("latest~1").tenants] == ["131211", "141305", "362018", "402206"]
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert schema(db) == schema(fresh)
    result = run(tmp_path, "diff", "--format", "json")
    assert result.exit_code == 0
    assert [t["id"] for t in json.loads(result.stdout)["tenants"]] == ["402206"]


def test_a_migration_that_fails_leaves_the_old_schema(demo_root, tmp_path, monkeypatch):
    db = tmp_path / "drift.db"
    schema_1_database(demo_root, db)
    before = schema(db)
    add_runs = database_module.MIGRATIONS[1]

    def half(database, path):
        add_runs(database, path)  # runs created and filled, then the disk fills up
        raise OSError("disk full")

    monkeypatch.setattr(database_module, "MIGRATIONS", (database_module.MIGRATIONS[0], half))
    with pytest.raises(OSError, match="disk full"):
        Store(db)
    assert schema(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_two_connections_migrating_at_once_migrate_once(demo_root, tmp_path):
    db = tmp_path / "drift.db"
    schema_1_database(demo_root, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # both read schema 1, then queue for the lock
    errors: list[Exception] = []

    def open_store() -> None:
        try:
            Store(db).close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    holder.execute("ROLLBACK")
    holder.close()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored(db)["runs"] == 2  # one per scan, not two


def test_a_database_of_a_development_layout_is_refused(tmp_path):
    db = tmp_path / "drift.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE scans (key INTEGER PRIMARY KEY, id TEXT, created_at TEXT, catalog_digest TEXT, fixes TEXT, tenant_count INTEGER)")
        conn.execute("CREATE TABLE findings (scan INTEGER, tenant TEXT, fix TEXT, status TEXT, evidence TEXT)")
        conn.execute("PRAGMA user_version = 1")
    with pytest.raises(InputError, match="development build of drift"):
        Store(db)
    result = run(tmp_path, "history")
    assert result.exit_code == 2 and "scan again into a new --db" in result.stderr


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 100, b"not a database at all" * 100])
def test_a_file_that_is_no_drift_database_is_refused_and_left_alone(tmp_path, content):
    db = tmp_path / "drift.db"
    db.write_bytes(content)
    result = run(tmp_path, "history")
    assert (result.exit_code, result.stderr) == (2, "drift: error: drift.db: --db: not a drift database (file is not a database)\n")
    assert db.read_bytes() == content


def test_someone_elses_database_is_refused_and_left_alone(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = schema(db)
    with pytest.raises(InputError, match=r"--db: not a drift database \(schema 0 holding invoices\)"):
        Store(db)
    assert schema(db) == before


def test_connections_racing_to_create_a_database_all_open_it(tmp_path):
    """Four connections at once on a database that does not exist yet, 60 times: every one opens it (the
    WAL switch is retried), and it is migrated once."""
    errors: list[Exception] = []
    for trial in range(60):
        db = tmp_path / f"race{trial}.db"
        barrier = threading.Barrier(4)

        def open_store(db: Path = db, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                Store(db, timeout=10).close()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert schema(db) == schema(tmp_path / "race0.db")
    assert errors == []
