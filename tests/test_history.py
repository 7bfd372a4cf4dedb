"""History and diff of stored scans: runs, scan references, regressed fixes, and the two commands."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
import yaml

from drift.catalog import load_catalog
from drift.errors import InputError
from drift.history import (
    CHANGED,
    CHANGES,
    FIRST,
    NEWLY_APPLIED,
    NEWLY_BLOCKING,
    REGRESSED,
    UNBLOCKED,
    UNCHANGED,
    classify,
    diff,
    history,
)
from drift.policy import Policy
from drift.scan import iter_scan, select
from drift.store import Store
from drift.tenants import load_registry
from tests.builders import write_yaml
from tests.demo import RELEASES, tenant_row, write_release_inventory
from tests.test_cli import run
from tests.test_scan import write_demo_fleet

DAY1, DAY2, DAY3, DAY4 = (f"2023-06-{d}T00:00:00Z" for d in (14, 15, 16, 17))


def save(root: Path, store: Store, ran_at: str, *, tenant_ids=(), fix_ids=()):
    catalog = load_catalog(root / "manifests")
    tenants, fixes = select(catalog, load_registry(root / "inventory"), tenant_ids, fix_ids)
    return store.save_scan(
        catalog.digest, ran_at, iter_scan(catalog, tenants, root / "inventory", fixes), [f.id for f in fixes] if fix_ids else None
    )


def three_scans(root: Path, store: Store):
    """Day 1: the demo fleet. Day 2: 402206 redeployed from 1.1 down to 1.0 (loses DEMO-0001), 362018 up
    from a half-fixed 2.0 to 2.1. Day 3: 402206 up to 1.3 (regains DEMO-0001, gains DEMO-0002, -0003)."""
    inv = root / "inventory"
    write_demo_fleet(root)
    first = save(root, store, DAY1)
    write_release_inventory(inv, "402206", "1.x", "1.0")
    write_release_inventory(inv, "362018", "2.x", "2.1")
    second = save(root, store, DAY2)
    write_release_inventory(inv, "402206", "1.x", "1.3")
    third = save(root, store, DAY3)
    return first.id, second.id, third.id


def changes_of(result):
    return {(t.tenant, c.fix): (c.change, c.before, c.after) for t in result.tenants for c in t.changes}


# Changes


@pytest.mark.parametrize(
    ("before", "before_blocks", "after", "after_blocks", "expected"),
    [
        ("applied", False, "missing", True, REGRESSED),
        ("applied", False, "partial", True, REGRESSED),
        ("applied", False, "not-applicable", False, REGRESSED),  # SPEC 5: was applied, now is not
        ("applied", False, "missing", False, REGRESSED),  # a low fix lost is still lost
        ("missing", True, "applied", False, NEWLY_APPLIED),
        ("not-applicable", False, "applied", False, NEWLY_APPLIED),
        ("not-applicable", False, "missing", True, NEWLY_BLOCKING),
        ("missing", False, "unverifiable", True, NEWLY_BLOCKING),
        (None, False, "missing", True, NEWLY_BLOCKING),  # a new fix or tenant
        (None, False, "applied", False, None),
        (None, False, "missing", False, None),
        ("missing", True, "not-applicable", False, UNBLOCKED),
        ("missing", True, "partial", True, CHANGED),
        ("missing", False, "not-applicable", False, CHANGED),
        ("missing", True, "missing", True, None),
    ],
)
def test_classify(before, before_blocks, after, after_blocks, expected):
    assert classify(before, before_blocks, after, after_blocks) == expected


def test_diff_of_a_fix_applied_lost_and_regained_across_three_scans(demo_root, tmp_path):
    with Store(tmp_path / "drift.db") as store:
        first, second, third = three_scans(demo_root, store)
        lost = diff(store, first, second)
        regained = diff(store)  # the two latest: second → third
        overall = diff(store, first, third)
        assert diff(store, "latest~2", "latest~1") == lost
    assert changes_of(lost) == {
        ("402206", "DEMO-0001"): (REGRESSED, "applied", "missing"),
        ("362018", "DEMO-0002"): (NEWLY_APPLIED, "partial", "applied"),
        ("362018", "DEMO-0003"): (NEWLY_APPLIED, "missing", "applied"),
    }
    assert lost.counts == {**dict.fromkeys(CHANGES, 0), REGRESSED: 1, NEWLY_APPLIED: 2}
    assert (lost.before.scan, lost.after.scan, lost.compared) == (first, second, 4)
    assert changes_of(regained) == {
        ("402206", "DEMO-0001"): (NEWLY_APPLIED, "missing", "applied"),
        ("402206", "DEMO-0002"): (NEWLY_APPLIED, "missing", "applied"),
        ("402206", "DEMO-0003"): (NEWLY_APPLIED, "missing", "applied"),
    }
    assert (regained.before.scan, regained.after.scan) == (second, third)
    assert REGRESSED not in {c for c, _, _ in changes_of(overall).values()}
    assert [t.tenant for t in overall.tenants] == ["362018", "402206"]


def test_a_fleet_back_to_exactly_its_first_state_is_a_new_run_and_latest(demo_root, tmp_path):
    """Inventories byte-identical to day 1's give day 1's scan id: no scan is added, but it is the latest run."""
    inv = demo_root / "inventory"
    with Store(tmp_path / "drift.db") as store:
        write_demo_fleet(demo_root)
        first = save(demo_root, store, DAY1)
        write_release_inventory(inv, "402206", "1.x", "1.0")
        second = save(demo_root, store, DAY2)
        write_demo_fleet(demo_root)
        again = save(demo_root, store, DAY3)
        assert (again.id, again.new, again.created_at) == (first.id, False, DAY1)
        assert [(r.scan, r.ran_at, r.new) for r in store.runs()] == [(first.id, DAY1, True), (second.id, DAY2, True), (first.id, DAY3, False)]
        assert store.resolve("latest") == first.id
        assert changes_of(diff(store)) == {("402206", "DEMO-0001"): (NEWLY_APPLIED, "missing", "applied")}
        assert [s["id"] for s in store.scans()] == [first.id, second.id]  # every scan once


def test_diff_names_tenants_added_and_removed_and_counts_a_new_tenants_blocking_fixes(demo_root, tmp_path):
    inv = demo_root / "inventory"
    with Store(tmp_path / "drift.db") as store:
        write_demo_fleet(demo_root)
        first = save(demo_root, store, DAY1).id
        rows = [r for r in yaml.safe_load((inv / "tenants.yaml").read_text()) if r["id"] != "141305"]
        rows.append(tenant_row("011002", "2.x", name="札幌市"))
        write_yaml(inv / "tenants.yaml", rows)
        write_release_inventory(inv, "011002", "2.x", "2.0")
        (inv / "141305.json").unlink()
        save(demo_root, store, DAY2)
        result = diff(store, first, "latest")
    assert (result.added, result.removed, result.compared) == (("011002",), ("141305",), 3)
    added = next(t for t in result.tenants if t.tenant == "011002")
    assert added.name == "札幌市" and added.presence == "added"
    # 2.0 carries DEMO-0001 only: its high and critical fixes it lacks block, for the first time.
    assert {(c.fix, c.change, c.before, c.after) for c in added.changes} == {
        ("DEMO-0002", NEWLY_BLOCKING, None, "missing"), ("DEMO-0004", NEWLY_BLOCKING, None, "missing"),
    }
    assert next(t for t in result.tenants if t.tenant == "141305").changes == ()


def test_a_module_taken_out_reads_as_regressed_to_not_applicable(demo_root, tmp_path):
    inv = demo_root / "inventory"
    with Store(tmp_path / "drift.db") as store:
        write_demo_fleet(demo_root)
        save(demo_root, store, DAY1)
        rows = yaml.safe_load((inv / "tenants.yaml").read_text())
        next(r for r in rows if r["id"] == "141305")["modules"] = []
        write_yaml(inv / "tenants.yaml", rows)
        save(demo_root, store, DAY2)
        assert changes_of(diff(store)) == {("141305", "DEMO-0003"): (REGRESSED, "applied", "not-applicable")}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_diff_over_a_random_fleet_equals_comparing_the_loaded_scans(demo_root, tmp_path, seed):
    """40 tenants on random releases, each moved to another random release (or left): diff agrees with a
    brute-force comparison of the two scans loaded whole."""
    rng = random.Random(seed)
    inv = demo_root / "inventory"
    ids = [f"t{n:03d}" for n in range(40)]
    lines = {tid: rng.choice(list(RELEASES)) for tid in ids}
    write_yaml(inv / "tenants.yaml", [tenant_row(tid, lines[tid], edition=rng.choice(["seirei", "standard"])) for tid in ids])
    with Store(tmp_path / "drift.db") as store:
        for tid in ids:
            write_release_inventory(inv, tid, lines[tid], rng.choice(RELEASES[lines[tid]]))
        a = save(demo_root, store, DAY1).id
        for tid in ids:
            if rng.random() < 0.5:
                write_release_inventory(inv, tid, lines[tid], rng.choice(RELEASES[lines[tid]]))
        b = save(demo_root, store, DAY2).id
        result = diff(store, a, b)
        old, new = store.load_scan(a), store.load_scan(b)
    policy = Policy()
    expected = {}
    for o, n in zip(old.tenants, new.tenants, strict=True):
        for fo, fn in zip(o.findings, n.findings, strict=True):
            change = classify(fo.status, policy.blocks(fo), fn.status, policy.blocks(fn))
            if change:
                expected[(o.tenant.id, fo.fix)] = (change, fo.status, fn.status)
    assert changes_of(result) == expected
    assert expected  # the seeds do move something
    assert sum(result.counts.values()) == len(expected)


# Scan references


def test_scan_references(demo_root, tmp_path):
    with Store(tmp_path / "drift.db") as store:
        first, second, third = three_scans(demo_root, store)
        assert [store.resolve(r) for r in ("latest", "latest~1", "latest~", "latest~2", "latest~0")] == [third, second, second, first, third]
        assert store.resolve(second[7:19]) == second
        assert store.resolve(second) == second
        assert store.resolve(f"{third[:19]}~2") == first
        assert store.resolve_run("latest~1").ran_at == DAY2
        with pytest.raises(InputError, match=r"'latest~3': only 2 whole runs before 'latest'"):
            store.resolve("latest~3")
        with pytest.raises(InputError, match="not a scan reference"):
            store.resolve("latest~x")
        with pytest.raises(InputError, match="SCAN_A: no scan 'ffff'"):
            store.resolve("ffff", where="SCAN_A")


def test_an_ambiguous_prefix_asks_for_more_of_the_id(tmp_path):
    db = tmp_path / "drift.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        for n, digit in enumerate("12"):
            conn.execute("INSERT INTO scans (id, created_at, catalog_digest, tenant_count) VALUES (?, ?, 'c', 0)", (f"sha256:abc{digit}", DAY1))
            conn.execute("INSERT INTO runs (scan, ran_at) VALUES (?, ?)", (n + 1, DAY1))
    with Store(db) as store:
        with pytest.raises(InputError, match="'abc' names more than one scan"):
            store.resolve("abc")
        assert store.resolve("abc2") == "sha256:abc2"


# History


def test_history_counts_blocking_findings_per_run(demo_root, tmp_path):
    policy = Policy()
    with Store(tmp_path / "drift.db") as store:
        three_scans(demo_root, store)
        result = history(store)
        assert [r.run.ran_at for r in result.runs] == [DAY1, DAY2, DAY3]
        for summary in result.runs:
            scan = store.load_scan(summary.run.scan)
            blocking = [(t.tenant.id, f.status) for t in scan.tenants for f in t.findings if policy.blocks(f)]
            assert summary.blocking_total == len(blocking)
            assert summary.blocked_tenants == len({tid for tid, _ in blocking})
            assert all(summary.blocking[s] == sum(1 for _, st in blocking if st == s) for s in ("missing", "partial", "unverifiable"))
    assert not result.followed and result.changes == ()


def test_history_of_a_tenant_shows_only_changes(demo_root, tmp_path):
    with Store(tmp_path / "drift.db") as store:
        first, second, third = three_scans(demo_root, store)
        result = history(store, tenants=["402206"])
    rows = [(c.scan, c.fix, c.status, c.before, c.change) for c in result.changes]
    assert rows == [
        (first, "DEMO-0001", "applied", None, FIRST),
        (second, "DEMO-0001", "missing", "applied", REGRESSED),
        (third, "DEMO-0001", "applied", "missing", NEWLY_APPLIED),
        (first, "DEMO-0002", "missing", None, FIRST),
        (third, "DEMO-0002", "applied", "missing", NEWLY_APPLIED),
        (first, "DEMO-0003", "missing", None, FIRST),
        (third, "DEMO-0003", "applied", "missing", NEWLY_APPLIED),
        (first, "DEMO-0004", "missing", None, FIRST),
        (first, "DEMO-0005", "not-applicable", None, FIRST),
    ]
    assert {c.name for c in result.changes} == {"宗像市"}


def test_history_of_a_fix_on_every_run_and_narrowed_scans_skipped(demo_root, tmp_path):
    with Store(tmp_path / "drift.db") as store:
        first, second, third = three_scans(demo_root, store)
        narrowed = save(demo_root, store, DAY4, tenant_ids={"362018"}, fix_ids={"DEMO-0002"}).id
        result = history(store, fixes=["DEMO-0001"], tenants=["402206", "141305"], every_run=True)
        runs = history(store).runs
    assert [(c.tenant, c.scan, c.status, c.change) for c in result.changes] == [
        ("141305", first, "applied", FIRST), ("141305", second, "applied", UNCHANGED), ("141305", third, "applied", UNCHANGED),
        ("402206", first, "applied", FIRST), ("402206", second, "missing", REGRESSED), ("402206", third, "applied", NEWLY_APPLIED),
    ]
    assert (runs[-1].run.scan, runs[-1].run.tenant_count, runs[-1].run.fixes) == (narrowed, 1, ("DEMO-0002",))


def test_history_of_an_unknown_tenant_or_fix_is_an_input_error(demo_root, tmp_path):
    with Store(tmp_path / "drift.db") as store:
        three_scans(demo_root, store)
        with pytest.raises(InputError, match="--tenant: no tenant '999999' in any stored scan"):
            history(store, tenants=["999999"])
        with pytest.raises(InputError, match="--fix: no fix 'NOPE' in any stored scan"):
            history(store, fixes=["NOPE"])


# The commands


def scan_three_times(root: Path) -> None:
    inv = root / "inventory"
    write_demo_fleet(root)
    assert run(root, "scan").exit_code == 0
    write_release_inventory(inv, "402206", "1.x", "1.0")
    write_release_inventory(inv, "362018", "2.x", "2.1")
    assert run(root, "scan").exit_code == 0
    write_release_inventory(inv, "402206", "1.x", "1.3")
    assert run(root, "scan").exit_code == 0


def test_diff_command_reports_and_exits_0(demo_root):
    scan_three_times(demo_root)
    result = run(demo_root, "diff", "latest~2", "latest~1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "4 tenants in both"
    assert lines[2].startswith("1 regressed, 2 newly-applied, 0 newly-blocking, 0 unblocked, 0 changed")
    rows = [line.split() for line in lines[5:]]
    assert ["402206", "宗像市", "DEMO-0001", "critical", "regressed", "applied", "missing"] in rows
    doc = json.loads(run(demo_root, "diff", "--format", "json").stdout)
    assert doc["format"] == "drift-diff/1" and doc["counts"]["newly-applied"] == 3
    assert [t["id"] for t in doc["tenants"]] == ["402206"]
    assert run(demo_root, "diff", "latest", "latest").stdout.endswith("no fix changed status (the same scan: the inputs did not change)\n")


def test_history_command_lists_runs_and_a_tenants_changes(demo_root):
    scan_three_times(demo_root)
    result = run(demo_root, "history", "--tenant", "402206", "--fix", "DEMO-0001")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 runs in drift.db, oldest first; blocking: missing, partial, unverifiable at high or above")
    assert [line.split()[2:5] for line in lines[3:6]] == [["new", "all", "4"]] * 3
    changes = [line.split() for line in lines[lines.index("status of tenant 402206 and fix DEMO-0001, oldest first: only the runs where a status changed (--every-scan for all)") + 3:]]
    assert [row[-3:] for row in changes] == [["critical", "applied", "first"], ["missing", "applied", "regressed"], ["applied", "missing", "newly-applied"]]
    doc = json.loads(run(demo_root, "history", "--format", "json").stdout)
    assert doc["format"] == "drift-history/1" and len(doc["runs"]) == 3 and doc["changes"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history",), "drift.db: --db: no results database here: run `drift scan` first"),
        (("diff",), "drift.db: --db: no results database here: run `drift scan` first"),
    ],
)
def test_commands_without_a_database_exit_2_and_create_none(tmp_path, args, message):
    result = run(tmp_path, *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.strip() == f"drift: error: {message}"
    assert not (tmp_path / "drift.db").exists()


def test_diff_with_one_run_and_history_with_none(demo_root, tmp_path):
    Store(tmp_path / "empty.db").close()
    result = run(tmp_path, "history", "--db", "empty.db")
    assert (result.exit_code, result.stdout) == (0, "no scan stored in empty.db yet: run `drift scan` first\n")
    write_demo_fleet(demo_root)
    run(demo_root, "scan")
    result = run(demo_root, "diff")
    assert result.exit_code == 2
    assert result.stderr.strip() == "drift: error: drift.db: SCAN_A: 'latest~1': only 0 whole runs before 'latest'"
    assert run(demo_root, "history", "--tenant", "nope").exit_code == 2
